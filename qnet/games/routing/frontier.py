"""Waiting-time–throughput Pareto frontier: oracle, certified classical, quantum (paper Fig. 3).

For each splitting probability p of a grid (all strategies at the same p have the same
baseline throughput, eq. 10), :func:`pareto_frontier` computes

* the oracle w-threshold payoff A*(p) (eq. B1, :mod:`.oracle`),
* the certified upper bound on the best deterministic classical payoff (Prop. 7 /
  ``tight``, :mod:`.classical`) and its upper concave envelope over [0, 1/2], the
  shared-randomness benchmark (Thm 9),
* the best validated quantum strategy of the chosen family: degree-n polynomial angles
  (App. D3, :mod:`.quantum`; the default here) or the optimal line family θ(x) =
  ½·atan2(a + x b) (:mod:`.optimal`, issue 12; `qnet frontier`'s default), optionally the
  other family's payoff too, and a certified upper bound on every quantum strategy,

then the waiting-time gaps ΔWq = (A* − A)/2 (Lemma 1, eq. 4) of the classical envelope and
of the quantum strategy, the normalized throughput 𝒯(p)/[φmax(1 − ρ)] (eq. 10), the
certified advantage region (p where the quantum payoff minus its adaptive-quadrature error
bound exceeds the classical envelope; Thm 2), the largest reduction ΔWq_cl − ΔWq_qu, where
it occurs, and the relative reduction there.

The envelope of bounds taken at grid points is the paper's benchmark (App. D2d), but by
itself it only bounds mixtures of grid strategies. ``dual_check=True`` adds the dual
(Lagrangian) certificate of :func:`.classical.certify_envelope`, which covers every
shared-randomness mixture, and the comparison is then made against the larger bound.

Quantum optimization along the grid (continuation; the optimum moves continuously in p):
``restarts`` seeded random starts plus the structured start are run at *anchor* points —
the grid points nearest to the multiples of ``anchor_spacing``, and the first and last
point — and every point is warm-started
from its neighbours' optima in a forward and then a backward sweep, keeping the best
validated optimum. Every reported quantum payoff is the adaptive-quadrature value of a
strategy that passed :func:`.quantum.optimize_quantum`'s validation.

Examples:
    >>> from qnet.queues.model import SystemParams
    >>> fr = pareto_frontier([0.15, 0.2, 0.25], SystemParams(), method="paper", restarts=4)
    >>> fr.advantage_region, round(float(fr.gap_classical[1] - fr.gap_quantum[1]), 2)
    ((0.15, 0.25), 0.07)
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray

from qnet.games.routing.classical import (
    certified_classical_bound,
    certify_envelope,
    classical_envelope,
)
from qnet.games.routing.optimal import LineStrategy, QuantumBound, optimal_sweep
from qnet.games.routing.oracle import oracle_payoff
from qnet.games.routing.quantum import (
    PolynomialStrategy,
    QuantumGame,
    QuantumResult,
    optimize_quantum,
)
from qnet.queues.model import SystemParams, baseline_throughput_warmup, normalized_throughput

__all__ = ["Frontier", "p_grid_from_range", "pareto_frontier"]

Method = Literal["tight", "paper"]
Family = Literal["polynomial", "optimal"]


@dataclass(frozen=True)
class Frontier:
    """Per-p frontier arrays and the advantage summary (paper Thm 4, Fig. 3).

    Payoffs and gaps are in the time unit of the parameters (1/μ when μ = 1).

    Attributes:
        params: the system parameters.
        method, epsilon: classical certificate ("tight" or "paper") and, for "paper", the
            ε of the θ_A grid start (None for "tight").
        degree, quadrature_points, restarts, seed, anchor_spacing: quantum settings.
        p: the splitting-probability grid (sorted, in (0, 1/2)).
        oracle_payoff, oracle_error: A*(p) and its deterministic error bound.
        classical_best: best deterministic classical payoff found at p.
        classical_bound: certified upper bound on A_cl*(p).
        classical_envelope: upper concave envelope of ``classical_bound`` over [0, 1/2]
            (exact end points included), the shared-randomness benchmark.
        classical_achieved: upper concave envelope of ``classical_best``: a payoff that
            classical routers with a shared random bit actually attain (a lower bound on
            the benchmark; its distance to ``classical_envelope`` is the certificate's
            slack after concavification).
        quantum_payoff: adaptive-quadrature payoff of the quantum strategy at p.
        quantum_error: its error bound (≤ 1e-8).
        quantum_converged: the optimizer's converged flag per p.
        quantum_strategies: the strategies (D31).
        dual_check: whether the envelope was checked by the dual certificate.
        classical_dual_bound: with ``dual_check``, the dual (Lagrangian) upper bound on the
            shared-randomness value at p (:func:`.classical.certify_envelope`; covers
            mixtures with p' off the grid or above 1/2), else None.
        classical_benchmark: the classical value quantum must beat:
            ``classical_envelope``, or with ``dual_check`` its maximum with the dual bound.
        gap_classical, gap_quantum: ΔWq = (A* − A)/2 for the benchmark and quantum (eq. 4).
        gap_classical_achieved: ΔWq of ``classical_achieved``.
        reduction: gap_classical − gap_quantum = (A_qu − benchmark)/2.
        throughput: normalized throughput 𝒯(p)/[φmax(1 − ρ)] (eq. 10).
        baseline_throughput: 𝒯(p) itself (eq. 10).
        advantage: per p, quantum_payoff − quantum_error > classical_benchmark.
        advantage_region: (smallest, largest) p with advantage, or None.
        advantage_contiguous: every grid point between those two has advantage.
        max_reduction: largest ``reduction`` over the grid.
        p_at_max_reduction: the p where it occurs.
        relative_reduction_at_max: max_reduction / gap_classical at that p.
        quantum_family: "polynomial" (degree-n angles, App. D3) or "optimal" (the line family
            θ(x) = ½·atan2(a + x b), :mod:`.optimal`); the quantum arrays above are its.
        quantum_upper_bound: with ``quantum_bound``, the certified upper bound on every
            quantum strategy's payoff at p (:func:`.optimal.certify_quantum`), else None.
        quantum_other_family, quantum_other_payoff: with ``compare_families``, the other
            family and its adaptive payoff per p (for Fig. 3), else None.
    """

    params: SystemParams
    method: str
    epsilon: float | None
    degree: int
    quadrature_points: int
    restarts: int
    seed: int
    anchor_spacing: float
    p: NDArray[np.float64]
    oracle_payoff: NDArray[np.float64]
    oracle_error: NDArray[np.float64]
    classical_best: NDArray[np.float64]
    classical_bound: NDArray[np.float64]
    classical_envelope: NDArray[np.float64]
    classical_achieved: NDArray[np.float64]
    dual_check: bool
    classical_dual_bound: NDArray[np.float64] | None
    classical_benchmark: NDArray[np.float64]
    quantum_payoff: NDArray[np.float64]
    quantum_error: NDArray[np.float64]
    quantum_converged: NDArray[np.bool_]
    quantum_strategies: tuple[PolynomialStrategy | LineStrategy, ...]
    gap_classical: NDArray[np.float64]
    gap_quantum: NDArray[np.float64]
    gap_classical_achieved: NDArray[np.float64]
    reduction: NDArray[np.float64]
    throughput: NDArray[np.float64]
    baseline_throughput: NDArray[np.float64]
    advantage: NDArray[np.bool_]
    advantage_region: tuple[float, float] | None
    advantage_contiguous: bool
    max_reduction: float
    p_at_max_reduction: float
    relative_reduction_at_max: float
    quantum_family: str = "polynomial"
    quantum_upper_bound: NDArray[np.float64] | None = None
    quantum_other_family: str | None = None
    quantum_other_payoff: NDArray[np.float64] | None = None

    def __post_init__(self) -> None:
        for value in vars(self).values():
            if isinstance(value, np.ndarray):
                value.setflags(write=False)  # frozen means the arrays too

    def to_dict(self) -> dict[str, object]:
        """Plain-JSON form: settings, per-p lists and the summary (keys in README)."""
        return {
            "params": {
                "lam": self.params.lam,
                "mu": self.params.mu,
                "alpha": self.params.alpha,
                "phi_max": self.params.phi_max,
                "rho": self.params.rho,
            },
            "certificate": self.method,
            "epsilon": self.epsilon,
            "degree": self.degree,
            "quadrature_points": self.quadrature_points,
            "restarts": self.restarts,
            "seed": self.seed,
            "anchor_spacing": self.anchor_spacing,
            "p": self.p.tolist(),
            "oracle_payoff": self.oracle_payoff.tolist(),
            "oracle_error": self.oracle_error.tolist(),
            "classical_best": self.classical_best.tolist(),
            "classical_bound": self.classical_bound.tolist(),
            "classical_envelope": self.classical_envelope.tolist(),
            "classical_achieved": self.classical_achieved.tolist(),
            "dual_check": self.dual_check,
            "classical_dual_bound": (
                None if self.classical_dual_bound is None else self.classical_dual_bound.tolist()
            ),
            "classical_benchmark": self.classical_benchmark.tolist(),
            "quantum_payoff": self.quantum_payoff.tolist(),
            "quantum_error": self.quantum_error.tolist(),
            "quantum_converged": self.quantum_converged.tolist(),
            "quantum_strategies": [s.to_dict() for s in self.quantum_strategies],
            "gap_classical": self.gap_classical.tolist(),
            "gap_quantum": self.gap_quantum.tolist(),
            "gap_classical_achieved": self.gap_classical_achieved.tolist(),
            "reduction": self.reduction.tolist(),
            "throughput": self.throughput.tolist(),
            "baseline_throughput": self.baseline_throughput.tolist(),
            "advantage": self.advantage.tolist(),
            "advantage_region": list(self.advantage_region) if self.advantage_region else None,
            "advantage_contiguous": self.advantage_contiguous,
            "max_reduction": self.max_reduction,
            "p_at_max_reduction": self.p_at_max_reduction,
            "relative_reduction_at_max": self.relative_reduction_at_max,
            "quantum_family": self.quantum_family,
            "quantum_upper_bound": _list_or_none(self.quantum_upper_bound),
            "quantum_other_family": self.quantum_other_family,
            "quantum_other_payoff": _list_or_none(self.quantum_other_payoff),
        }


def _list_or_none(arr: NDArray[np.float64] | None) -> list[float] | None:
    return None if arr is None else arr.tolist()


def p_grid_from_range(start: float, stop: float, step: float) -> NDArray[np.float64]:
    """Grid start, start + step, ..., up to stop inclusive (rounded to 12 decimals)."""
    for name, v in (("p_start", start), ("p_stop", stop), ("p_step", step)):
        if not (isinstance(v, int | float) and math.isfinite(v)):
            raise ValueError(f"{name} must be a finite number, got {v!r}")
    if not step > 0:
        raise ValueError(f"p_step must be > 0, got {step!r}")
    if stop < start:
        raise ValueError(f"p_stop must be >= p_start, got p_start={start!r}, p_stop={stop!r}")
    n = int(math.floor((stop - start) / step + 1e-9)) + 1
    if n > 100_000:
        raise ValueError(f"p grid would have {n} points; allowed at most 100000")
    return np.round(start + step * np.arange(n), 12)


def _check_grid(p_grid: ArrayLike) -> NDArray[np.float64]:
    try:
        pg = np.atleast_1d(np.asarray(p_grid, dtype=float))
    except (TypeError, ValueError) as err:
        raise ValueError(f"p grid must be numbers in (0, 1/2), got {p_grid!r}") from err
    if pg.ndim != 1 or pg.size == 0:
        raise ValueError("p grid must be a non-empty 1-D list of splitting probabilities")
    bad = ~np.isfinite(pg) | (pg <= 0.0) | (pg >= 0.5)
    if np.any(bad):
        raise ValueError(
            f"p grid values must lie in the open interval (0, 1/2), got {pg[bad][0]!r} "
            "(the classical envelope is defined on [0, 1/2])"
        )
    pg = np.unique(pg)
    return pg


def _anchors(pg: NDArray[np.float64], spacing: float) -> set[int]:
    idx = {0, pg.size - 1}
    for target in np.arange(spacing, 0.5, spacing):
        idx.add(int(np.argmin(np.abs(pg - target))))
    return idx


def _better(new: QuantumResult, old: QuantumResult | None) -> bool:
    if old is None:
        return True
    if new.converged != old.converged:
        return new.converged
    return new.payoff_adaptive > old.payoff_adaptive + 1e-12


def _quantum_sweep(
    pg: NDArray[np.float64],
    params: SystemParams,
    degree: int,
    quadrature_points: int,
    restarts: int,
    seed: int,
    correlation_tensor: ArrayLike,
    anchor_spacing: float,
    progress: Callable[[str, float], None] | None,
) -> list[QuantumResult]:
    game = QuantumGame(params, degree, quadrature_points, correlation_tensor)
    anchors = _anchors(pg, anchor_spacing)
    seeds = np.random.SeedSequence(seed).generate_state(pg.size)
    best: list[QuantumResult | None] = [None] * pg.size
    common = {
        "params": params,
        "degree": degree,
        "quadrature_points": quadrature_points,
        "correlation_tensor": game.tensor,
        "game": game,
    }
    for i in range(pg.size):  # forward sweep
        warm = best[i - 1].strategy if i > 0 and best[i - 1] is not None else None
        anchor = i in anchors or warm is None
        res = optimize_quantum(
            float(pg[i]),
            restarts=restarts if anchor else 0,
            seed=int(seeds[i]),
            warm_start=warm,
            structured_start=anchor,
            **common,
        )
        best[i] = res
        if progress is not None:
            progress("quantum optimum, forward sweep", (i + 1) / pg.size)
    for i in range(pg.size - 2, -1, -1):  # backward sweep
        nxt = best[i + 1]
        assert nxt is not None
        res = optimize_quantum(
            float(pg[i]),
            restarts=0,
            seed=int(seeds[i]),
            warm_start=nxt.strategy,
            structured_start=False,
            **common,
        )
        if _better(res, best[i]):
            best[i] = res
        if progress is not None:
            progress("quantum optimum, backward sweep", (pg.size - i) / pg.size)
    return [b for b in best if b is not None]


def pareto_frontier(
    p_grid: ArrayLike,
    params: SystemParams,
    *,
    method: Method = "tight",
    epsilon: float = 0.01,
    degree: int = 2,
    quadrature_points: int = 60,
    restarts: int = 20,
    seed: int = 1,
    correlation_tensor: ArrayLike = ((1.0, 0.0), (0.0, 1.0)),
    anchor_spacing: float = 0.05,
    progress: Callable[[str, float], None] | None = None,
    dual_check: bool = False,
    quantum: Family = "polynomial",
    quantum_bound: bool = False,
    compare_families: bool = False,
) -> Frontier:
    """ΔWq of certified classical and quantum strategies against throughput (Thm 4, Fig. 3).

    Args:
        p_grid: splitting probabilities in (0, 1/2) (sorted and de-duplicated).
        params: system parameters (λ, μ, α, φmax).
        method: classical certificate, "tight" (sound, default) or "paper" (Prop. 7).
        epsilon: "paper" only: θ_A grid start offset ε (units 1/μ).
        degree: quantum polynomial degree n ≥ 0 (paper: 2).
        quadrature_points: Gauss–Laguerre points (paper: 60).
        restarts: seeded random SLSQP starts at each anchor point (paper: 20).
        seed: root seed; point i uses ``SeedSequence(seed).generate_state(len(p))[i]``.
        correlation_tensor: X–Z correlation tensor of the shared pair (I = ideal pair).
        anchor_spacing: spacing in p of the anchor points that get random restarts.
        progress: optional callback ``progress(stage, fraction_done)``.
        dual_check: also bound the shared-randomness value by the dual certificate
            (:func:`.classical.certify_envelope`, about 20 ms per p) and compare
            quantum with the larger of the two bounds.
        quantum: quantum family, "polynomial" (the paper's, default here so existing
            callers keep their numbers) or "optimal" (the line family; `qnet frontier`'s
            default). ``degree``, ``quadrature_points`` and ``restarts`` concern the
            polynomial family; both use ``seed`` and ``anchor_spacing``.
        quantum_bound: also certify an upper bound on every quantum strategy per p.
        compare_families: also compute the other family (its payoff only).
    """
    pg = _check_grid(p_grid)
    if method not in ("tight", "paper"):
        raise ValueError(f"method (certificate) must be 'tight' or 'paper', got {method!r}")
    if isinstance(restarts, bool) or int(restarts) != restarts or restarts < 1:
        raise ValueError(f"restarts must be an integer >= 1, got {restarts!r}")
    if not (isinstance(anchor_spacing, int | float) and 0 < anchor_spacing <= 0.5):
        raise ValueError(f"anchor_spacing must lie in (0, 0.5], got {anchor_spacing!r}")
    if isinstance(seed, bool) or int(seed) != seed or seed < 0:
        raise ValueError(f"seed must be an integer >= 0, got {seed!r}")
    if quantum not in ("polynomial", "optimal"):
        raise ValueError(f"quantum (family) must be 'optimal' or 'polynomial', got {quantum!r}")
    if quantum_bound and not np.array_equal(np.asarray(correlation_tensor, dtype=float), np.eye(2)):
        raise ValueError(
            "quantum_bound is certified for the ideal pair only (correlation_tensor = identity)"
        )

    oracle = oracle_payoff(pg, params)
    certs = []
    for i, p in enumerate(pg):
        certs.append(certified_classical_bound(float(p), params, method, epsilon=epsilon))
        if progress is not None:
            progress(f"classical certificate ({method})", (i + 1) / pg.size)
    bound = np.array([c.bound for c in certs])
    env_obj = classical_envelope(pg, bound, params, [c.strategy for c in certs])
    env = env_obj.envelope
    dual = None
    benchmark = env
    if dual_check:
        if progress is not None:
            progress("dual check of the classical envelope", 0.0)
        dual = np.asarray(certify_envelope(env_obj, params), dtype=float)
        benchmark = np.maximum(env, dual)
    best_found = np.array([c.best_value for c in certs])
    achieved = classical_envelope(pg, best_found, params).envelope
    families: dict[str, tuple[list, NDArray[np.float64], NDArray[np.float64]]] = {}
    for family in (quantum, "optimal" if quantum == "polynomial" else "polynomial"):
        if family != quantum and not compare_families:
            break
        if family == "polynomial":
            runs: list = _quantum_sweep(
                pg,
                params,
                degree,
                quadrature_points,
                int(restarts),
                int(seed),
                correlation_tensor,
                float(anchor_spacing),
                progress,
            )
        else:
            runs = optimal_sweep(
                pg,
                params,
                correlation_tensor,
                seed=int(seed),
                anchor_spacing=float(anchor_spacing),
                progress=progress,
            )
        families[family] = (
            runs,
            np.array([r.payoff_adaptive for r in runs]),
            np.array([r.adaptive_error for r in runs]),
        )
    runs, q_val, q_err = families[quantum]
    other = next((f for f in families if f != quantum), None)
    upper = None
    if quantum_bound:
        optimal_runs = families["optimal"][0] if "optimal" in families else [None] * pg.size
        qb = QuantumBound(params)
        vals = []
        for i, (p, res) in enumerate(zip(pg, optimal_runs, strict=True)):
            vals.append(qb.certify(float(p), res).bound)
            if progress is not None:
                progress("quantum upper bound", (i + 1) / pg.size)
        upper = np.array(vals)
    a_star = np.asarray(oracle.value, dtype=float)
    gap_cl = (a_star - benchmark) / 2
    gap_qu = (a_star - q_val) / 2
    reduction = gap_cl - gap_qu
    advantage = q_val - q_err > benchmark
    hits = np.flatnonzero(advantage)
    region = (float(pg[hits[0]]), float(pg[hits[-1]])) if hits.size else None
    contiguous = bool(hits.size == 0 or hits.size == hits[-1] - hits[0] + 1)
    k = int(np.argmax(reduction))
    return Frontier(
        params=params,
        method=method,
        epsilon=float(epsilon) if method == "paper" else None,
        degree=int(degree),
        quadrature_points=int(quadrature_points),
        restarts=int(restarts),
        seed=int(seed),
        anchor_spacing=float(anchor_spacing),
        p=pg,
        oracle_payoff=a_star,
        oracle_error=np.asarray(oracle.error_bound, dtype=float),
        classical_best=best_found,
        classical_bound=bound,
        classical_envelope=env,
        classical_achieved=achieved,
        dual_check=bool(dual_check),
        classical_dual_bound=dual,
        classical_benchmark=benchmark,
        quantum_payoff=q_val,
        quantum_error=q_err,
        quantum_converged=np.array([r.converged for r in runs]),
        quantum_strategies=tuple(r.strategy for r in runs),
        gap_classical=gap_cl,
        gap_quantum=gap_qu,
        gap_classical_achieved=(a_star - achieved) / 2,
        reduction=reduction,
        throughput=np.atleast_1d(np.asarray(normalized_throughput(pg, params), dtype=float)),
        baseline_throughput=np.atleast_1d(
            np.asarray(baseline_throughput_warmup(pg, params), dtype=float)
        ),
        advantage=advantage,
        advantage_region=region,
        advantage_contiguous=contiguous,
        max_reduction=float(reduction[k]),
        p_at_max_reduction=float(pg[k]),
        relative_reduction_at_max=float(reduction[k] / gap_cl[k]) if gap_cl[k] > 0 else math.nan,
        quantum_family=quantum,
        quantum_upper_bound=upper,
        quantum_other_family=other,
        quantum_other_payoff=families[other][1] if other is not None else None,
    )
