"""The best line strategy at a target p: alternating closed-form best responses of the
Lagrangian, the multiplier ν tuned by Brent's method, SLSQP polish, adaptive validation."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.optimize import brentq, minimize

from qnet.games.routing.optimal.line import (
    _IDENTITY,
    LineGame,
    LineStrategy,
    _check_tensor,
    _combine_moments,
    _line_moments_adaptive,
)
from qnet.games.routing.quantum import (
    ADAPTIVE_TOL,
    VALIDATION_TOL,
)
from qnet.games.routing.quantum.optimize import _check_p, _shift_for
from qnet.queues.model import SystemParams

__all__ = [
    "UnvalidatedOptimum",
    "OptimalResult",
    "lagrangian_best_response",
    "optimal_sweep",
    "optimize_optimal",
]


class UnvalidatedOptimum(ValueError):
    """No line strategy passed adaptive validation at p: on a nearly rank-1 correlation
    tensor the best response jumps like a threshold and no quadrature can vouch for it."""


@dataclass(frozen=True)
class LagrangianSolution:
    """Best-response solution of the Lagrangian at multiplier ν (fixed rule).

    Attributes:
        nu: the multiplier of the splitting constraint.
        value: max over the line family of E[(ν − w)⟨u, T v⟩] found (fixed rule).
        strategy: the maximizing line strategy.
        payoff: its payoff A (D32); splitting_probability: its p (D33).
    """

    nu: float
    value: float
    strategy: LineStrategy
    payoff: float
    splitting_probability: float


def _kmat(nu: float, params: SystemParams) -> NDArray[np.float64]:
    """K with ν − w(x1, x2) = (1, x1) K (1, x2)ᵀ (eq. 2)."""
    return np.array([[nu, -params.c2], [-params.c2, -params.c1]])


def _rot(alpha: float) -> NDArray[np.float64]:
    c, s = math.cos(alpha), math.sin(alpha)
    return np.array([[c, -s], [s, c]])


def _best_common_rotation(
    ma: NDArray[np.float64], mb: NDArray[np.float64], t: NDArray[np.float64], k: NDArray
) -> float:
    """α maximizing F(α) = Σ (R ma) ∘ (T R mb K), both routers' Bloch vectors rotated by α.

    RᵀTR keeps T's rotation-invariant part and turns the rest by 2α, so
    F = C + X cos 2α + Y sin 2α; three evaluations give C, X, Y."""
    f = [
        float(np.sum(ma * (_rot(a).T @ t @ _rot(a) @ mb @ k)))
        for a in (0.0, math.pi / 4, math.pi / 2)
    ]
    c0, x = 0.5 * (f[0] + f[2]), 0.5 * (f[0] - f[2])
    return 0.5 * math.atan2(f[1] - c0, x)


def lagrangian_best_response(
    nu: float,
    game: LineGame,
    start: LineStrategy | None = None,
    starts: int = 6,
    seed: int = 0,
    max_iter: int = 2000,
    tol: float = 1e-12,
) -> LagrangianSolution:
    """Maximize E[(ν − w)⟨u, T v⟩] by alternating closed-form best responses (stationarity).

    Given B's moments V = [V_0, V_1] (V_k = E[X^k v(X)]), A's best response is
    u(x) = g/|g| with g = T V K (1, x)ᵀ (K from :func:`_kmat`), i.e. the line a = T V K[:, 0],
    b = T V K[:, 1]; symmetrically for B with Tᵀ. Each step cannot lower the objective, so
    the iteration climbs to a stationary point; several seeded starts guard against local
    maxima. When T does not commute with rotations (e.g. a dephased pair), a common rotation
    of both routers is no symmetry but a direction along which the alternation crawls; each
    round then first turns B by the best common rotation (closed form, cannot lower the
    objective either).
    """
    k = _kmat(nu, game.params)
    t = game.tensor
    anisotropic = abs(t[0, 0] - t[1, 1]) + abs(t[0, 1] + t[1, 0]) > 0.0
    rng = np.random.default_rng(np.random.SeedSequence(seed))
    inits: list[LineStrategy] = []
    if start is not None:
        inits.append(start)
    for _ in range(starts):
        v = rng.normal(size=4)
        inits.append(LineStrategy((1.0, 0.0), (0.0, 0.0), tuple(v[:2]), tuple(v[2:])))
    best: LagrangianSolution | None = None
    for init in inits:
        mb = game.moments(init.a_B, init.b_B)
        ma = None
        val_old = -math.inf
        for _ in range(max_iter):
            if anisotropic and ma is not None:
                mb = _rot(_best_common_rotation(ma, mb, t, k)) @ mb
            ga = t @ mb @ k
            ma = game.moments(ga[:, 0], ga[:, 1])
            gb = t.T @ ma @ k
            mb = game.moments(gb[:, 0], gb[:, 1])
            val = float(np.sum(ma * (t @ mb @ k)))
            if val - val_old <= tol * max(1.0, abs(val)):
                break
            val_old = val
        z = np.concatenate((ga[:, 0], ga[:, 1], gb[:, 0], gb[:, 1]))
        if not np.any(z[:4]) or not np.any(z[4:]):
            continue
        strategy = LineStrategy.from_vector(z)
        payoff, _, p, _ = game.evaluate(strategy.to_vector())
        if best is None or val > best.value:
            best = LagrangianSolution(nu, val, strategy, payoff, p)
    if best is None:
        raise ValueError(f"no best-response iteration produced a strategy at nu={nu!r}")
    return best


@dataclass(frozen=True)
class OptimalResult:
    """Best line strategy at a target splitting probability (issue 12).

    Attributes:
        p: target splitting probability.
        payoff: fixed-rule payoff (D32, D35) of ``strategy``.
        payoff_adaptive: adaptive-quadrature payoff (the number to report).
        splitting_probability: adaptive p of ``strategy`` (router A's angle is shifted so it
            equals ``p`` to ~1e-12).
        strategy: the line strategy.
        nu: the multiplier of the splitting constraint (∂A/∂(1 − 2p) at the optimum).
        converged: validation passed and the constrained gradient vanishes (≤ 1e-6 relative).
        adaptive_error: error bound of the adaptive values.
    """

    p: float
    payoff: float
    payoff_adaptive: float
    splitting_probability: float
    strategy: LineStrategy
    nu: float
    converged: bool
    adaptive_error: float

    def to_dict(self) -> dict[str, object]:
        """Plain-JSON form."""
        return {
            "p": self.p,
            "payoff": self.payoff,
            "payoff_adaptive": self.payoff_adaptive,
            "splitting_probability": self.splitting_probability,
            "strategy": self.strategy.to_dict(),
            "nu": self.nu,
            "converged": self.converged,
            "adaptive_error": self.adaptive_error,
        }


def _multiplier(game: LineGame, z: NDArray[np.float64]) -> tuple[float, float]:
    """ν with ∇A = 2ν∇p (least squares) and the relative residual ‖∇A − 2ν∇p‖/‖∇A‖."""
    _, ga, _, gp = game.evaluate(z)
    npp = float(gp @ gp)
    if npp == 0.0:
        return math.nan, math.inf
    lam = float(ga @ gp) / npp
    res = float(np.linalg.norm(ga - lam * gp)) / max(float(np.linalg.norm(ga)), 1e-300)
    return 0.5 * lam, res


def _solve_nu(
    p: float,
    game: LineGame,
    start: LineStrategy | None,
    seed: int,
    starts: int,
    nu_guess: float | None = None,
) -> LagrangianSolution:
    """ν whose Lagrangian maximizer has splitting probability p (p(ν) decreases in ν).

    The first solve (at ``nu_guess``, else ν = 1) draws ``starts`` seeded random starts
    (plus ``start``); the root search (bracketing outward from there, then Brent) warm-starts
    every best response from the previous maximizer.
    """
    nu0 = nu_guess if nu_guess is not None and math.isfinite(nu_guess) and nu_guess > 0 else 1.0
    first = lagrangian_best_response(nu0, game, start=start, starts=starts, seed=seed)
    state = {"start": first.strategy}
    cache: dict[float, LagrangianSolution] = {nu0: first}

    def sol(nu: float) -> LagrangianSolution:
        if nu not in cache:
            cache[nu] = lagrangian_best_response(nu, game, start=state["start"], starts=0)
            state["start"] = cache[nu].strategy
        return cache[nu]

    step = 1.02 if nu_guess is not None else 2.0
    if sol(nu0).splitting_probability > p:  # ν too small: p(0) = 1 (split everything)
        lo, hi = nu0, nu0 * step
        while sol(hi).splitting_probability > p:
            lo, hi, step = hi, hi * step, step * step
            if hi > 1e6:
                raise ValueError(f"p={p} is out of reach of the line family with this pair")
    else:
        lo, hi = nu0 / step, nu0
        while sol(lo).splitting_probability <= p:
            lo, hi, step = lo / step, lo, step * step
            if lo < 1e-9:
                break
    try:
        nu = brentq(lambda v: sol(v).splitting_probability - p, lo, hi, xtol=1e-12, rtol=1e-10)
    except ValueError:
        nu = min(cache, key=lambda v: abs(cache[v].splitting_probability - p))
    return sol(nu)


def optimize_optimal(
    p: float,
    params: SystemParams,
    correlation_tensor: ArrayLike = _IDENTITY,
    warm_start: LineStrategy | None = None,
    seed: int = 1,
    starts: int = 6,
    game: LineGame | None = None,
    validation_tol: float = VALIDATION_TOL,
) -> OptimalResult:
    """Best line strategy at splitting probability p (issue 12; payoff D32, constraint D33).

    Solves the Lagrangian by best responses with ν found by Brent's method so the maximizer
    meets p (a KKT point of max A s.t. p(strategy) = p, the constraint of
    :func:`.quantum.optimize_quantum`); when that point is not KKT to 1e-6 (relative
    projected gradient) or misses p by more than 1e-9, polishes by SLSQP under the
    constraint on the per-router rule; validates by adaptive quadrature (fixed-rule and
    adaptive values within ``validation_tol``) and shifts router A's angle so the adaptive
    splitting probability is exactly p.
    """
    p = _check_p(p)
    if game is None:
        game = LineGame(params, correlation_tensor)
    elif game.params != params or not np.array_equal(
        game.tensor, _check_tensor(correlation_tensor)
    ):
        raise ValueError("game was built for different params or correlation_tensor")
    guess = _multiplier(game, warm_start.to_vector())[0] if warm_start is not None else None
    dual = _solve_nu(p, game, warm_start, seed, 0 if warm_start is not None else starts, guess)
    z0 = dual.strategy.to_vector()
    candidates = [z0]
    if abs(dual.splitting_probability - p) > 1e-9 or _multiplier(game, z0)[1] > 1e-6:
        # Not yet a KKT point of the constrained problem: polish on the constraint.
        last: dict[bytes, tuple[float, NDArray[np.float64], float, NDArray[np.float64]]] = {}

        def cached(z: NDArray[np.float64]) -> tuple[float, NDArray[np.float64], float, NDArray]:
            key = z.tobytes()
            if key not in last:
                last.clear()
                last[key] = game.evaluate(z)
            return last[key]

        res = minimize(
            lambda z: (-cached(z)[0], -cached(z)[1]),
            z0,
            jac=True,
            method="SLSQP",
            constraints=[
                {"type": "eq", "fun": lambda z: cached(z)[2] - p, "jac": lambda z: cached(z)[3]}
            ],
            options={"maxiter": 50, "ftol": 1e-13},
        )
        if np.all(np.isfinite(res.x)) and abs(game.evaluate(res.x)[2] - p) <= 1e-7:
            candidates.insert(0, np.asarray(res.x, dtype=float))
    candidates.sort(key=lambda z: -game.evaluate(z)[0])
    t = game.tensor
    for z in candidates:
        strategy = LineStrategy.from_vector(z)
        ia = _line_moments_adaptive(strategy.a_A, strategy.b_A, params.mu, ADAPTIVE_TOL / 40)
        ib = _line_moments_adaptive(strategy.a_B, strategy.b_B, params.mu, ADAPTIVE_TOL / 40)
        check = _combine_moments(ia, ib, params, t, ADAPTIVE_TOL)
        value = game.evaluate(strategy.to_vector())[0]
        if not (check.reliable and abs(check.payoff - value) <= validation_tol):
            continue
        # Rotating A's line by 2s rotates its moments: E(s) = α cos 2s + β sin 2s exactly.
        alpha = float(ia[0][:, 0] @ t @ ib[0][:, 0])
        rot = np.array([[0.0, -1.0], [1.0, 0.0]])  # rotation by π/2 (s = π/4)
        beta = float((rot @ ia[0][:, 0]) @ t @ ib[0][:, 0])
        shift = _shift_for(alpha, beta, p)
        if shift is None and abs(1.0 - 2.0 * p) - math.hypot(alpha, beta) <= 1e-9:
            shift = 0.5 * math.atan2(beta, alpha)  # p sits at the rotation's reach (rounding)
        if shift is None:
            continue
        strategy = strategy.rotated_a(shift)
        # B's line is unchanged: its adaptive moments are reused (the same integrals).
        ia_final = _line_moments_adaptive(strategy.a_A, strategy.b_A, params.mu, ADAPTIVE_TOL / 40)
        final = _combine_moments(ia_final, ib, params, t, ADAPTIVE_TOL)
        zf = strategy.to_vector()
        nu, resid = _multiplier(game, zf)
        return OptimalResult(
            p=p,
            payoff=game.evaluate(zf)[0],
            payoff_adaptive=final.payoff,
            splitting_probability=final.splitting_probability,
            strategy=strategy,
            nu=nu,
            converged=bool(final.reliable and resid <= 1e-5),
            adaptive_error=final.error_bound,
        )
    raise UnvalidatedOptimum(
        f"no line strategy at p={p} passed adaptive validation (tolerance {validation_tol})"
    )


def optimal_sweep(
    p_grid: ArrayLike,
    params: SystemParams,
    correlation_tensor: ArrayLike = _IDENTITY,
    seed: int = 1,
    starts: int = 6,
    anchor_spacing: float = 0.05,
    progress: Callable[[str, float], None] | None = None,
) -> list[OptimalResult]:
    """:func:`optimize_optimal` along a sorted p grid by continuation (issue 12).

    Every point is warm-started from its left neighbour's optimum; anchor points (nearest to
    multiples of ``anchor_spacing``, and the first point) also run ``starts`` seeded random
    best-response starts, and the better validated optimum is kept.
    """
    pg = np.atleast_1d(np.asarray(p_grid, dtype=float))
    if pg.ndim != 1 or pg.size == 0 or np.any(np.diff(pg) <= 0):
        raise ValueError("p_grid must be a non-empty, strictly increasing 1-D list")
    if not (isinstance(anchor_spacing, int | float) and 0 < anchor_spacing <= 0.5):
        raise ValueError(f"anchor_spacing must lie in (0, 0.5], got {anchor_spacing!r}")
    game = LineGame(params, correlation_tensor)
    anchors = {0} | {int(np.argmin(np.abs(pg - t))) for t in np.arange(0.0, 1.0, anchor_spacing)}
    seeds = np.random.SeedSequence(seed).generate_state(pg.size)
    out: list[OptimalResult] = []
    for i, p in enumerate(pg):
        warm = out[-1].strategy if out else None
        best = None
        if warm is not None:
            best = optimize_optimal(float(p), params, game.tensor, warm, game=game)
        if i in anchors:
            fresh = optimize_optimal(
                float(p), params, game.tensor, None, int(seeds[i]), starts, game=game
            )
            if best is None or fresh.payoff_adaptive > best.payoff_adaptive + 1e-12:
                best = fresh
        assert best is not None
        out.append(best)
        if progress is not None:
            progress("optimal quantum strategies", (i + 1) / pg.size)
    return out
