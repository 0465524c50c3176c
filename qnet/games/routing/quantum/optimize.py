"""The polynomial quantum optimizer: SLSQP at a target p from seeded restarts and warm
starts, each optimum validated by adaptive quadrature (App. D3, D31)."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.optimize import minimize

from qnet.games.routing.quantum import adaptive
from qnet.games.routing.quantum.adaptive import (
    ADAPTIVE_TOL,
    AdaptiveEvaluation,
    adaptive_evaluation,
)
from qnet.games.routing.quantum.polynomial import (
    PolynomialStrategy,
    QuantumGame,
    _check_degree,
    _check_tensor,
)
from qnet.queues.model import SystemParams, check_probability

__all__ = [
    "CONSTRAINT_TOL",
    "QuantumResult",
    "VALIDATION_TOL",
    "optimize_quantum",
]


#: Fixed-rule and adaptive values may differ by at most this much for an optimum to count.
VALIDATION_TOL = 1e-4
#: Largest allowed |p(a, b) − p| for an optimum to count as meeting the constraint.
CONSTRAINT_TOL = 1e-7


@dataclass(frozen=True)
class QuantumResult:
    """Best validated polynomial strategy at a target splitting probability (App. D3).

    Attributes:
        p: target splitting probability.
        payoff: game payoff A of ``strategy`` by the fixed Gauss–Laguerre rule (D32, D35).
        payoff_adaptive: the same payoff by adaptive quadrature (the number to report;
            absolute error ≤ ``adaptive_error``).
        splitting_probability: achieved p of ``strategy`` by adaptive quadrature (D33);
            a_0 is polished after validation so this equals ``p`` to ~1e-12.
        strategy: the polynomial measurement angles (D31).
        converged: the returned optimum passed validation and is a first-order optimum
            (SLSQP reported success, or the gradient of A projected on the constraint's
            tangent space is ≤ 1e-6 of ‖∇A‖). When no optimum passes validation,
            ``strategy`` is the degree-0 strategy (constant angles, exact for any rule)
            and this flag is False.
        restarts: number of SLSQP starts run (random restarts, plus the warm start and
            the structured start when used).
        rejected: distinct optima discarded because the fixed-rule and adaptive values
            disagreed by more than ``validation_tol`` (or the adaptive one was unreliable).
        adaptive_error: error bound of the adaptive values.
    """

    p: float
    payoff: float
    payoff_adaptive: float
    splitting_probability: float
    strategy: PolynomialStrategy
    converged: bool
    restarts: int
    rejected: int = 0
    adaptive_error: float = field(default=float("nan"))

    def to_dict(self) -> dict[str, object]:
        """Plain-JSON form."""
        return {
            "p": self.p,
            "payoff": self.payoff,
            "payoff_adaptive": self.payoff_adaptive,
            "splitting_probability": self.splitting_probability,
            "strategy": self.strategy.to_dict(),
            "converged": self.converged,
            "restarts": self.restarts,
            "rejected": self.rejected,
            "adaptive_error": self.adaptive_error,
        }


def _shift_for(alpha: float, beta: float, p: float) -> float | None:
    """Shift s of θ_A with α cos 2s + β sin 2s = 1 − 2p (the smaller |s| root), or None."""
    r = math.hypot(alpha, beta)
    target = 1.0 - 2.0 * p
    if r == 0.0 or r < abs(target):
        return None
    phi = math.atan2(beta, alpha)
    roots = [0.5 * (phi + math.acos(target / r)), 0.5 * (phi - math.acos(target / r))]
    roots = [(s + math.pi / 2) % math.pi - math.pi / 2 for s in roots]  # θ has period π
    return min(roots, key=abs)


def _shift_onto_constraint(game: QuantumGame, z: NDArray[np.float64], p: float) -> bool:
    """Shift a_0 in place so the fixed-rule splitting probability equals p; False if impossible.

    Shifting θ_A by s rotates n(θ_A) by 2s, so Σ π E = α cos 2s + β sin 2s exactly.
    """
    s = _shift_for(*game.correlation_sinusoid(z), p)
    if s is None:
        return False
    z[0] += s
    return True


def _polish(
    ia: adaptive._Moments,
    ib: adaptive._Moments,
    params: SystemParams,
    t: NDArray[np.float64],
    p: float,
) -> tuple[float, AdaptiveEvaluation] | None:
    """Shift of a_0 that makes the *adaptive* splitting probability exactly p, and the result."""
    alpha = float(ia.value[0] @ t @ ib.value[0])
    beta = float(ia.rotated(math.pi / 4).value[0] @ t @ ib.value[0])
    s = _shift_for(alpha, beta, p)
    if s is None:
        return None
    return s, adaptive._combine(ia.rotated(s), ib, params, t, ADAPTIVE_TOL)


def _stationary(game: QuantumGame, z: NDArray[np.float64], rtol: float = 1e-6) -> bool:
    """First-order optimality on the constraint: ‖∇A − λ∇p‖ ≤ rtol ‖∇A‖ (λ least squares)."""
    _, grad_a, _, grad_p = game.evaluate(z)
    norm_p = float(grad_p @ grad_p)
    if norm_p == 0.0:
        return bool(np.linalg.norm(grad_a) == 0.0)
    residual = grad_a - (float(grad_a @ grad_p) / norm_p) * grad_p
    return bool(np.linalg.norm(residual) <= rtol * np.linalg.norm(grad_a))


def _degree0_start(game: QuantumGame, p: float) -> NDArray[np.float64] | None:
    """Constant angles meeting the constraint: θ_B = 0, θ_A = s with E = 1 − 2p."""
    z = np.zeros(2 * (game.degree + 1))
    return z if _shift_onto_constraint(game, z, p) else None


def _structured_start(game: QuantumGame) -> NDArray[np.float64]:
    """θ_A(x) = 0.3 μx + 0.02 (μx)², θ_B = −θ_A (truncated to the degree), before the shift.

    The ideal-pair optima have this shape (b_k = −a_k for k ≥ 1: the correlation depends
    on θ_A(x1) + θ_A(x2), as w does on x1 and x2 symmetrically); from here SLSQP reached
    the best optimum at every p ∈ [0.02, 0.48] tried (λ = 0.8, μ = 1, degree 2).
    """
    n1 = game.degree + 1
    shape = np.zeros(n1)
    base = (0.0, 0.3 * game.params.mu, 0.02 * game.params.mu**2)
    shape[: min(n1, 3)] = base[: min(n1, 3)]
    return np.concatenate([shape, -shape])


def _random_start(
    game: QuantumGame, rng: np.random.Generator, start_scale: float
) -> NDArray[np.float64]:
    n1 = game.degree + 1
    k = np.arange(n1)
    scale = start_scale * (game.params.mu / 3.0) ** k
    scale[0] = math.pi / 2
    return np.concatenate([rng.uniform(-scale, scale), rng.uniform(-scale, scale)])


def _check_p(p: float) -> float:
    if isinstance(p, bool) or np.ndim(p) != 0:
        raise ValueError(f"p (splitting probability) must be a number in (0, 1), got {p!r}")
    return float(check_probability(p, "p (splitting probability)", open_interval=True))


def optimize_quantum(
    p: float,
    params: SystemParams,
    degree: int = 2,
    quadrature_points: int = 60,
    restarts: int = 20,
    seed: int = 1,
    correlation_tensor: ArrayLike = ((1.0, 0.0), (0.0, 1.0)),
    warm_start: PolynomialStrategy | None = None,
    start_scale: float = 0.5,
    validation_tol: float = VALIDATION_TOL,
    game: QuantumGame | None = None,
    structured_start: bool = True,
) -> QuantumResult:
    """Best degree-n polynomial strategy at splitting probability p by SLSQP (paper App. D3).

    Maximizes A(a, b) (D32) subject to p(a, b) = p (D33) on the fixed rule (D35) from the
    warm start (if any) and ``restarts`` seeded random starts (distribution in the module
    docstring), then re-evaluates the optima from best to worst by adaptive quadrature and
    returns the first whose fixed-rule and adaptive values agree within ``validation_tol``,
    with a_0 polished so the adaptive splitting probability equals p.

    Args:
        p: target splitting probability in (0, 1).
        params: queueing parameters (uses ``mu`` and the splitting-benefit constants
            ``c1``, ``c2`` of eq. 2).
        degree: polynomial degree n ≥ 0 of both angle functions.
        quadrature_points: Gauss–Laguerre points m (2–400).
        restarts: random starts (≥ 0; at least one start overall is required).
        seed: seed of the start generator (``numpy.random.SeedSequence(seed)``).
        correlation_tensor: 2x2 X–Z correlation tensor of the shared pair (I = ideal).
        warm_start: a strategy to start from (e.g. the optimum at a neighbouring p); its
            degree may be lower than ``degree``.
        start_scale: half-width scale s of the random starts (radian per term).
        validation_tol: largest accepted |fixed-rule − adaptive| payoff and p difference.
        game: a prebuilt :class:`QuantumGame` with the same settings, to reuse matrices.
        structured_start: also start from the symmetric shape of :func:`_structured_start`
            (deterministic; not counted in ``restarts``).
    """
    p = _check_p(p)
    if isinstance(restarts, bool) or int(restarts) != restarts or restarts < 0:
        raise ValueError(f"restarts must be an integer >= 0, got {restarts!r}")
    if restarts == 0 and warm_start is None and not structured_start:
        raise ValueError("restarts must be >= 1 when there is no warm_start or structured start")
    if not start_scale > 0:
        raise ValueError(f"start_scale must be > 0, got {start_scale!r}")
    if not validation_tol > 0:
        raise ValueError(f"validation_tol must be > 0, got {validation_tol!r}")
    if game is None:
        game = QuantumGame(params, degree, quadrature_points, correlation_tensor)
    elif (
        game.degree != _check_degree(degree)
        or game.quadrature_points != quadrature_points
        or game.params != params
        or not np.array_equal(game.tensor, _check_tensor(correlation_tensor))
    ):
        raise ValueError(
            "game was built for different params, degree, quadrature_points or "
            "correlation_tensor than requested"
        )
    tensor = game.tensor
    rng = np.random.default_rng(np.random.SeedSequence(seed))

    starts: list[NDArray[np.float64]] = []
    if warm_start is not None:
        starts.append(warm_start.with_degree(game.degree).to_vector())
    if structured_start:
        z = _structured_start(game)
        _shift_onto_constraint(game, z, p)
        starts.append(z)
    for _ in range(int(restarts)):
        z = _random_start(game, rng, start_scale)
        _shift_onto_constraint(game, z, p)  # an unreachable start is left to SLSQP
        starts.append(z)

    # SLSQP asks for objective and constraint at the same points: evaluate both at once.
    last: dict[bytes, tuple[float, NDArray[np.float64], float, NDArray[np.float64]]] = {}

    def cached(z: NDArray[np.float64]) -> tuple[float, NDArray[np.float64], float, NDArray]:
        key = z.tobytes()
        if key not in last:
            last.clear()
            last[key] = game.evaluate(z)
        return last[key]

    constraint = {
        "type": "eq",
        "fun": lambda z: cached(z)[2] - p,
        "jac": lambda z: cached(z)[3],
    }

    def objective(z: NDArray[np.float64]) -> tuple[float, NDArray[np.float64]]:
        val, grad, _, _ = cached(z)
        return -val, -grad

    candidates: list[tuple[float, bool, NDArray[np.float64]]] = []
    for z0 in starts:
        res = minimize(
            objective,
            z0,
            jac=True,
            method="SLSQP",
            constraints=[constraint],
            options={"maxiter": 300, "ftol": 1e-12},
        )
        z = np.asarray(res.x, dtype=float)
        if not np.all(np.isfinite(z)):
            continue
        value, _, achieved, _ = game.evaluate(z)
        if abs(achieved - p) > CONSTRAINT_TOL:
            continue
        candidates.append((value, bool(res.success) or _stationary(game, z), z))

    candidates.sort(key=lambda c: -c[0])
    rejected = 0
    checked: list[float] = []
    for value, success, z in candidates:
        if any(abs(value - c) < 1e-9 for c in checked):
            continue  # the same optimum, reached from another start, was already checked
        checked.append(value)
        strategy = PolynomialStrategy.from_vector(z)
        ia = adaptive._moments(strategy.a, params.mu, ADAPTIVE_TOL / 40)
        ib = adaptive._moments(strategy.b, params.mu, ADAPTIVE_TOL / 40)
        check = adaptive._combine(ia, ib, params, tensor, ADAPTIVE_TOL)
        polished = _polish(ia, ib, params, tensor, p)
        if (
            check.reliable
            and abs(check.payoff - value) <= validation_tol
            and abs(check.splitting_probability - p) <= validation_tol
            and polished is not None
            and polished[1].reliable
        ):
            shift, final = polished
            z = z.copy()
            z[0] += shift
            return QuantumResult(
                p=p,
                payoff=game.evaluate(z)[0],
                payoff_adaptive=final.payoff,
                splitting_probability=final.splitting_probability,
                strategy=PolynomialStrategy.from_vector(z),
                converged=success,
                restarts=len(starts),
                rejected=rejected,
                adaptive_error=final.error_bound,
            )
        rejected += 1

    # Nothing validated: fall back to constant angles (exact for any quadrature rule).
    z0 = _degree0_start(game, p)
    if z0 is None:
        raise ValueError(
            f"p={p} is out of reach of this pair: |1 - 2p| exceeds the largest |E[o_A o_B]| "
            "that constant angles reach with this correlation_tensor"
        )
    strategy = PolynomialStrategy.from_vector(z0)
    check = adaptive_evaluation(strategy, params, tensor)
    return QuantumResult(
        p=p,
        payoff=game.evaluate(z0)[0],
        payoff_adaptive=check.payoff,
        splitting_probability=check.splitting_probability,
        strategy=strategy,
        converged=False,
        restarts=len(starts),
        rejected=rejected,
        adaptive_error=check.error_bound,
    )
