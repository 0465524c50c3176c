"""Every value of the sum-threshold game at one C_t, and its curves against C_t.

What ``qnet game sum-threshold`` prints: the classical optimum and the C_t minimizing it
(eq. 5), the annealing cross-check over N bins (Section 4.3), the linear and quadratic
relative angles (eq. 6), the best quantum value bracketed on refining bins
(:mod:`.bounds`), and win probability against C_t for each family.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from qnet.games.sum_threshold.bounds import BinBound, bin_bounds
from qnet.games.sum_threshold.classical import (
    anneal,
    best_threshold_pair,
    check_c_t,
    classical_minimum,
)
from qnet.games.sum_threshold.quantum import optimize_angles
from qnet.queues.model import (
    SystemParams,
    baseline_throughput_power,
    baseline_throughput_warmup,
)

__all__ = [
    "Curves",
    "SumThresholdReport",
    "c_grid",
    "curves",
    "qos_report",
    "sum_threshold_report",
]

#: Refining grids of the convergence table (nested: each doubles the last).
CONVERGENCE_BINS = (8, 16, 32, 64, 128, 256, 512)


def c_grid(start: float, stop: float, points: int) -> list[float]:
    """``points`` equally spaced C_t in [start, stop] ⊂ (0, 1)."""
    check_c_t(start)
    check_c_t(stop)
    if not stop > start:
        raise ValueError(f"c_stop = {stop:g} must be > c_start = {start:g}")
    if not 2 <= points <= 200:
        raise ValueError(f"points = {points} is out of range: allowed [2, 200]")
    return [float(c) for c in np.linspace(start, stop, points)]


@dataclass(frozen=True)
class Curves:
    """Win probability against C_t for each strategy family (the PNG's data)."""

    c_t: list[float]
    classical: list[float]
    linear: list[float]
    quadratic: list[float]
    optimal_lower: list[float]
    optimal_upper: list[float]
    bins: int


def curves(
    c_values: Sequence[float],
    bins: int = 128,
    progress: Callable[[str, float], None] | None = None,
) -> Curves:
    """Classical, linear, quadratic and bin-optimal quantum win probability at each C_t."""
    out: dict[str, list[float]] = {k: [] for k in ("cl", "lin", "quad", "lo", "up")}
    lin_init, quad_init = None, None
    for k, c in enumerate(c_values):
        lin = optimize_angles(c, starts=4 if lin_init is None else 2, init=lin_init)
        quad_start = quad_init if quad_init is not None else lin.coefficients
        quad = optimize_angles(c, quadratic=True, starts=2, init=quad_start)
        lin_alt = optimize_angles(c, starts=1, init=quad.coefficients[:3])
        lin = lin if lin.bias >= lin_alt.bias else lin_alt
        if quad.bias < lin.bias:  # the quadratic family contains the linear one
            quad = optimize_angles(c, quadratic=True, starts=1, init=lin.coefficients)
        lin_init, quad_init = lin.coefficients, quad.coefficients
        bound = bin_bounds(c, bins)
        out["cl"].append(best_threshold_pair(c).win_probability)
        out["lin"].append(lin.win_probability)
        out["quad"].append(quad.win_probability)
        out["lo"].append(bound.lower)
        out["up"].append(bound.upper)
        if progress is not None:
            progress("curves", (k + 1) / len(c_values))
    return Curves(list(c_values), out["cl"], out["lin"], out["quad"], out["lo"], out["up"], bins)


@dataclass(frozen=True)
class SumThresholdReport:
    """The game's values at ``c_t`` (default: the classical minimum C_min) and its curves."""

    C_min: float
    c_t: float
    classical_win_probability: float
    classical_thresholds: dict[str, float]
    annealing_win_probability: float
    annealing_bins: int
    annealing_seed: int
    quantum_win_probability_linear: float
    linear_coefficients: list[float]
    quantum_win_probability_quadratic: float
    quadratic_coefficients: list[float]
    quantum_win_probability_optimal: float
    quantum_upper_bound: float
    optimal_bins: int
    optimal_rank: int
    oracle_split_probability: float
    convergence: list[dict[str, float]]
    curves: Curves
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready dict (the ``--json`` output)."""
        return asdict(self)


def _bound_row(b: BinBound) -> dict[str, float]:
    return {"bins": b.n, "method": b.method, "lower": b.lower, "upper": b.upper, "rank": b.rank}


def sum_threshold_report(
    c_t: float | None = None,
    bins: int = 512,
    c_values: Sequence[float] = (),
    curve_bins: int = 128,
    anneal_bins: int = 1000,
    anneal_sweeps: int = 20,
    seed: int = 0,
    progress: Callable[[str, float], None] | None = None,
) -> SumThresholdReport:
    """All values at ``c_t`` (C_min when None) plus curves over ``c_values`` (Section 4)."""
    minimum = classical_minimum()
    c = minimum.c_t if c_t is None else check_c_t(c_t)
    best = best_threshold_pair(c)
    if progress is not None:
        progress("annealing", 0.0)
    ann = anneal(c, n=anneal_bins, sweeps=anneal_sweeps, seed=seed)
    lin = optimize_angles(c)
    quad = optimize_angles(c, quadratic=True)
    grids = sorted({n for n in CONVERGENCE_BINS if n < bins} | {bins})
    runs = []
    for k, n in enumerate(grids):
        if progress is not None:
            progress(f"bins {n}", k / len(grids))
        runs.append(bin_bounds(c, n))
    top = runs[-1]
    notes = [
        "classical: exact value of the best threshold pair; exhaustive bin searches and "
        "annealing are checks (no proof that thresholds are optimal in the continuum)",
        "optimal: value of a playable bin-constant strategy (rigorous lower bound); "
        "upper bound: dual certificate of the bin SDP + boundary-cell residual (rigorous)",
    ]
    return SumThresholdReport(
        C_min=minimum.c_t,
        c_t=c,
        classical_win_probability=best.win_probability,
        classical_thresholds={"alpha": best.alpha, "beta": best.beta, "sign": best.sign},
        annealing_win_probability=ann.win_probability,
        annealing_bins=anneal_bins,
        annealing_seed=seed,
        quantum_win_probability_linear=lin.win_probability,
        linear_coefficients=list(lin.coefficients),
        quantum_win_probability_quadratic=quad.win_probability,
        quadratic_coefficients=list(quad.coefficients),
        quantum_win_probability_optimal=top.lower,
        quantum_upper_bound=top.upper,
        optimal_bins=top.n,
        optimal_rank=top.rank,
        oracle_split_probability=c * (1.0 - float(np.log(c))),
        convergence=[_bound_row(b) for b in runs],
        curves=curves(c_values, curve_bins, progress) if c_values else curves([], curve_bins),
        notes=notes,
    )


def qos_report(
    w_l: float,
    params: SystemParams,
    ks: Sequence[float] = (2.0, 3.0),
    c_values: Sequence[float] = tuple(np.linspace(0.02, 0.95, 32)),
    bins: int = 64,
    theorem_p: Sequence[float] = (0.1, 0.2, 0.3, 0.5, 0.7, 0.9),
) -> dict[str, Any]:
    """The QoS framing at limit W_l (Section 4.5) with the exact A12 wait: p each needs, R_k.

    Families are the game's best strategies traced over C_t (classical threshold pair,
    linear relative angle, bin-optimal quantum on ``bins`` bins); ``threshold_pairs`` are
    the best threshold pairs for the QoS problem itself (not for the game). ``throughput``
    gives each one's baseline throughput at the p it needs: warm-up model (eq. 10) and
    T(t) = t^k (A25-A26).
    """
    from qnet.games.sum_threshold import qos

    edges = np.linspace(0.0, 1.0, bins + 1)
    lin_state: dict[str, tuple[float, ...]] = {}

    def classical(c: float) -> qos.Moments:
        b = best_threshold_pair(c)
        return qos.threshold_pair_moments(b.alpha, b.beta, b.sign, params)

    def linear(c: float) -> qos.Moments:
        s = optimize_angles(c, starts=2, init=lin_state.get("d"))
        lin_state["d"] = s.coefficients
        return qos.relative_angle_moments(s.phases, params)

    def optimal(c: float) -> qos.Moments:
        b = bin_bounds(c, bins)
        corr = np.cos(b.phases_a[:, None] - b.phases_b[None, :])
        return qos.bin_moments(edges, edges, corr, params)

    fams: dict[str, dict[str, float]] = {}
    for name, member in (("classical", classical), ("linear", linear), ("optimal", optimal)):
        p, c, m = qos.family_p_at_limit(w_l, params, member, c_values)
        fams[name] = {"p": p, "c_t": c, "wait": m.wait}
    det, mixed = qos.best_pairs_at_limit(w_l, params)
    p_c = fams["classical"]["p"]
    ratios = {
        f"k={k:g}": {q: qos.throughput_ratio(p_c, fams[q]["p"], k) for q in ("linear", "optimal")}
        for k in ks
    }
    vs_pairs = {
        f"k={k:g}": {q: qos.throughput_ratio(mixed, fams[q]["p"], k) for q in ("linear", "optimal")}
        for k in ks
    }
    needed = {
        "w_oracle": qos.oracle_p_at_limit(w_l, params, "w"),
        "sum_oracle": qos.oracle_p_at_limit(w_l, params, "sum"),
        "threshold_pairs": mixed,
        **{f"game_{name}": fams[name]["p"] for name in fams},
    }
    throughput = {
        name: {
            "p": p,
            "warmup": float(baseline_throughput_warmup(p, params)),
            **{f"t^{k:g}": float(baseline_throughput_power(p, params, k)) for k in ks},
        }
        for name, p in needed.items()
    }
    rows = qos.theorem_check(theorem_p, params)
    return {
        "lam": params.lam,
        "mu": params.mu,
        "w_limit": w_l,
        "p_sum_oracle": needed["sum_oracle"],
        "p_w_oracle": needed["w_oracle"],
        "p_threshold_pairs": det,
        "p_threshold_pairs_shared_coin": mixed,
        "families": fams,
        "R_k": ratios,
        "R_k_vs_threshold_pairs": vs_pairs,
        "throughput": throughput,
        "theorem_4_1": [
            {"p": r.p, "wait_sum_threshold": r.wait_sum, "wait_w_threshold": r.wait_w} for r in rows
        ],
    }
