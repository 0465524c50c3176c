"""The noise reference: ideal quantum and certified classical curves over p, and the
quantum curve on noisy pairs (isotropic eq. N1, or re-optimized angles on a tensor T)."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

from qnet.games.routing.classical import (
    ThresholdStrategy,
    best_classical_value_at_half,
    certified_classical_bound,
    classical_envelope,
)
from qnet.games.routing.classical.certificates import Method
from qnet.games.routing.frontier import Family, Frontier, pareto_frontier
from qnet.games.routing.noise_aware.hull import _XTOL
from qnet.games.routing.optimal import LineStrategy, UnvalidatedOptimum
from qnet.games.routing.quantum import PolynomialStrategy
from qnet.physics.noise import readout_factor
from qnet.queues.model import SystemParams, mean_splitting_benefit

__all__ = [
    "NoiseReference",
    "QuantumCurve",
    "effective_visibility",
    "noise_reference",
    "quantum_curve",
]


def _check_unit(name: str, value: float) -> float:
    try:
        v = float(value)
    except (TypeError, ValueError) as err:
        raise ValueError(f"{name} must be a number in [0, 1], got {value!r}") from err
    if not 0.0 <= v <= 1.0:
        raise ValueError(f"{name} must be in [0, 1], got {value!r}")
    return v


def _check_target(p: float) -> float:
    try:
        v = float(p)
    except (TypeError, ValueError) as err:
        raise ValueError(f"p (splitting probability) must be in (0, 1/2), got {p!r}") from err
    if not 0.0 < v < 0.5:
        raise ValueError(
            f"p (splitting probability) must be in (0, 1/2), got {p!r} "
            "(the classical envelope is defined on [0, 1/2])"
        )
    return v


def effective_visibility(
    visibility: float, readout_error_a: float = 0.0, readout_error_b: float = 0.0
) -> float:
    """Effective visibility η = v (1 − 2e_A)(1 − 2e_B) of a Werner pair read out noisily (N1)."""
    return _check_unit("visibility", visibility) * readout_factor(readout_error_a, readout_error_b)


# ---------------------------------------------------------------------------- reference
@dataclass(frozen=True)
class NoiseReference:
    """The ideal inputs every noisy evaluation at fixed system parameters uses.

    Attributes:
        params: system parameters.
        method: classical certificate of the benchmark C(p), "tight" or "paper".
        frontier: the ideal frontier (quantum strategies and certified envelope per p).
        quantum_p: ideal-pair splitting probabilities p'' of the quantum strategies
            (p'' = 0, constant equal angles, then the frontier grid).
        quantum_payoff: their ideal-pair payoffs Q (adaptive quadrature, eq. D32).
        quantum_strategies: the angles: degree-n polynomials (D31) or line strategies
            θ = ½·atan2(a + x b) (``frontier.quantum_family``).
        quantum_error: largest adaptive-quadrature error bound of ``quantum_payoff``.
        classical_p, classical_payoff, classical_strategies: achievable deterministic
            classical points (best threshold pair found by the tight search at each grid
            p, plus the exact end points p = 0 and p = 1/2).
        epsilon: θ_A grid offset of the "paper" certificate (unused by "tight").
    """

    params: SystemParams
    method: str
    frontier: Frontier
    quantum_p: NDArray[np.float64]
    quantum_payoff: NDArray[np.float64]
    quantum_strategies: tuple[PolynomialStrategy | LineStrategy, ...]
    quantum_error: float
    classical_p: NDArray[np.float64]
    classical_payoff: NDArray[np.float64]
    classical_strategies: tuple[ThresholdStrategy, ...]
    epsilon: float = 0.01

    def certified_envelope(self, p: float) -> float:
        """C(p): concave envelope of the certified classical bounds at the grid and at p (Thm 9)."""
        p = float(p)
        hit = np.flatnonzero(np.abs(self.frontier.p - p) <= _XTOL)
        if hit.size:
            return float(self.frontier.classical_envelope[hit[0]])
        cert = certified_classical_bound(
            p,
            self.params,
            self.method,  # type: ignore[arg-type]
            epsilon=self.epsilon,
        )
        grid = np.append(self.frontier.p, p)
        bounds = np.append(self.frontier.classical_bound, cert.bound)
        return float(classical_envelope(grid, bounds, self.params).envelope[-1])


def noise_reference(
    p_targets: ArrayLike,
    params: SystemParams,
    *,
    method: Method = "tight",
    epsilon: float = 0.01,
    degree: int = 2,
    quadrature_points: int = 60,
    restarts: int = 20,
    seed: int = 1,
    quantum_step: float = 0.0025,
    anchor_spacing: float = 0.05,
    progress: Callable[[str, float], None] | None = None,
    quantum: Family = "polynomial",
) -> NoiseReference:
    """Ideal frontier on the targets plus a p'' grid of step ``quantum_step`` (App. D3, Thm 9).

    The quantum strategies at p'' < p are what the noise-aware strategy needs (eq. N1), so
    the frontier is computed on the union of ``p_targets`` and {step, 2 step, ...} < 1/2.
    ``quantum`` is the family of the angles: "polynomial" (degree-n, App. D3; default, so
    existing callers keep their numbers) or "optimal" (the line family, issue 12).
    ``progress(stage, fraction)`` is passed to the frontier computation.
    """
    targets = np.atleast_1d(np.asarray(p_targets, dtype=float))
    for p in targets:
        _check_target(p)
    if not (isinstance(quantum_step, int | float) and 0.0 < quantum_step <= 0.25):
        raise ValueError(f"quantum_step must be in (0, 0.25], got {quantum_step!r}")
    if method not in ("tight", "paper"):
        raise ValueError(f"method (certificate) must be 'tight' or 'paper', got {method!r}")
    fine = np.round(np.arange(quantum_step, 0.5 - 1e-9, quantum_step), 12)
    grid = np.unique(np.concatenate([targets, fine[(fine > 0) & (fine < 0.5)]]))
    frontier = pareto_frontier(
        grid,
        params,
        method=method,
        epsilon=epsilon,
        degree=degree,
        quadrature_points=quadrature_points,
        restarts=restarts,
        seed=seed,
        anchor_spacing=anchor_spacing,
        quantum=quantum,
        **({"progress": progress} if progress is not None else {}),
    )
    ew = mean_splitting_benefit(params)
    zero: PolynomialStrategy | LineStrategy = (
        LineStrategy((1.0, 0.0), (0.0, 0.0), (1.0, 0.0), (0.0, 0.0))
        if quantum == "optimal"
        else PolynomialStrategy((0.0,) * (degree + 1), (0.0,) * (degree + 1))
    )
    q_p = np.concatenate([[0.0], frontier.p])
    q_val = np.concatenate([[-ew], frontier.quantum_payoff])
    certs = [certified_classical_bound(float(p), params, "tight") for p in frontier.p]
    v_half, s_half = best_classical_value_at_half(params)
    c_p = np.concatenate([[0.0], frontier.p, [0.5]])
    c_val = np.concatenate([[-ew], [c.best_value for c in certs], [v_half]])
    c_str = (ThresholdStrategy(math.inf, math.inf, 1), *(c.strategy for c in certs), s_half)
    return NoiseReference(
        params=params,
        method=method,
        frontier=frontier,
        quantum_p=q_p,
        quantum_payoff=q_val,
        quantum_strategies=(zero, *frontier.quantum_strategies),
        quantum_error=float(np.max(frontier.quantum_error)),
        classical_p=c_p,
        classical_payoff=c_val,
        classical_strategies=c_str,
        epsilon=float(epsilon),
    )


# ---------------------------------------------------------------------------- strategies


@dataclass(frozen=True)
class QuantumCurve:
    """Exhibited quantum strategies on one kind of pair and the points (p, A) they reach.

    Attributes:
        tensor: the pair's X–Z correlation tensor T (readout errors included).
        p: splitting probability of each strategy on that pair (eq. D33 with T).
        payoff: its payoff on that pair (eq. D32 with T).
        strategies: the angles (polynomial, D31, or line strategies).
        ideal_p: each strategy's splitting probability on an ideal pair, when the curve is
            the image (N1) of the ideal frontier (isotropic T); None otherwise.
        error: largest quadrature error bound of ``payoff``.
    """

    tensor: NDArray[np.float64]
    p: NDArray[np.float64]
    payoff: NDArray[np.float64]
    strategies: tuple[PolynomialStrategy | LineStrategy, ...]
    ideal_p: NDArray[np.float64] | None
    error: float


def _isotropic_curve(ref: NoiseReference, eta: float) -> QuantumCurve:
    """The ideal frontier mapped by eq. N1 to pairs with T = η·I."""
    qx = ref.quantum_p if eta == 1.0 else 0.5 * (1.0 - eta * (1.0 - 2.0 * ref.quantum_p))
    return QuantumCurve(
        tensor=eta * np.eye(2),
        p=qx,
        payoff=eta * ref.quantum_payoff,
        strategies=ref.quantum_strategies,
        ideal_p=ref.quantum_p,
        error=eta * ref.quantum_error,
    )


def quantum_curve(
    ref: NoiseReference,
    tensor: ArrayLike,
    *,
    restarts: int = 4,
    seed: int = 1,
    anchor_spacing: float = 0.05,
) -> QuantumCurve:
    """Noise-aware angles for pairs with X–Z correlation tensor T (App. D3 re-run on T).

    For T = η·I the ideal frontier maps exactly (eq. N1). Otherwise (e.g. a pair that
    dephased in memory, T = diag(ZZ, XX) from :func:`qnet.physics.noise.stored_pair`, times the
    readout factor) the reference's family is re-optimized on T at every p of the
    reference grid that T can reach (p > (1 − σ_max(T))/2): polynomial angles, or the line
    family's best response u(x) ∝ T V K (1, x)ᵀ (docs/optimal-strategies.md, "Noisy
    pairs"); plus the best constant angles (n_A, n_B = the top singular vectors of T,
    p = (1 − σ_max)/2, A = −σ_max E[w]).
    """
    t = np.asarray(tensor, dtype=float)
    if t.shape != (2, 2) or not np.all(np.isfinite(t)):
        raise ValueError(f"tensor must be a finite 2x2 matrix (X-Z plane), got shape {t.shape}")
    u, sv, vt = np.linalg.svd(t)
    if sv[0] > 1.0 + 1e-9:
        raise ValueError(f"tensor must have spectral norm <= 1, got {sv[0]:.6g}")
    if np.allclose(t, t[0, 0] * np.eye(2), rtol=0.0, atol=1e-15) and 0.0 <= t[0, 0] <= 1.0:
        return _isotropic_curve(ref, float(t[0, 0]))
    grid = ref.frontier.p[ref.frontier.p > 0.5 * (1.0 - sv[0]) + 1e-6]
    if grid.size == 0:
        raise ValueError("tensor reaches none of the reference grid's p (it is too weak)")
    family: Family = ref.frontier.quantum_family  # type: ignore[assignment]
    try:
        fr = _frontier_on_tensor(ref, grid, t, family, restarts, seed, anchor_spacing)
    except UnvalidatedOptimum:
        # nearly rank-1 T: the line family's optimum jumps like a threshold and cannot be
        # validated; the polynomial angles re-optimized on T are played instead (valid,
        # possibly weaker; such a pair is nearly classical anyway)
        family = "polynomial"
        fr = _frontier_on_tensor(ref, grid, t, family, restarts, seed, anchor_spacing)
    const: PolynomialStrategy | LineStrategy
    if family == "optimal":
        const = LineStrategy((u[0, 0], u[1, 0]), (0.0, 0.0), (vt[0, 0], vt[0, 1]), (0.0, 0.0))
    else:
        deg1 = ref.frontier.degree + 1
        th_a = 0.5 * math.atan2(u[1, 0], u[0, 0])
        th_b = 0.5 * math.atan2(vt[0, 1], vt[0, 0])
        const = PolynomialStrategy((th_a,) + (0.0,) * (deg1 - 1), (th_b,) + (0.0,) * (deg1 - 1))
    ew = mean_splitting_benefit(ref.params)
    return QuantumCurve(
        tensor=t,
        p=np.concatenate([[0.5 * (1.0 - sv[0])], fr.p]),
        payoff=np.concatenate([[-sv[0] * ew], fr.quantum_payoff]),
        strategies=(const, *fr.quantum_strategies),
        ideal_p=None,
        error=float(np.max(fr.quantum_error)),
    )


def _frontier_on_tensor(
    ref: NoiseReference,
    grid: np.ndarray,
    tensor: np.ndarray,
    family: Family,
    restarts: int,
    seed: int,
    anchor_spacing: float,
) -> Frontier:
    """The reference's frontier settings re-run on pairs with tensor T in ``family``."""
    return pareto_frontier(
        grid,
        ref.params,
        method=ref.method,  # type: ignore[arg-type]
        degree=ref.frontier.degree,
        quadrature_points=ref.frontier.quadrature_points,
        restarts=restarts,
        seed=seed,
        correlation_tensor=tensor,
        anchor_spacing=anchor_spacing,
        quantum=family,
    )
