"""Optimal quantum routing strategies: angles ½·atan2 of a point moving on a line (issue 12).

Tsirelson: any quantum strategy of the routing game (an XOR game) gives correlations
E[o_A o_B | x1, x2] = ⟨u(x1), v(x2)⟩ for unit vectors u, v of a real Hilbert space, and every
such pair of vector functions is reached by a shared maximally entangled state. With the
multiplier ν of the splitting constraint E⟨u, v⟩ = 1 − 2p, the Lagrangian is
E[(ν − w(X1, X2))⟨u(X1), v(X2)⟩] − ν(1 − 2p), and since ν − w(x1, x2) = (1, x1) K (1, x2)ᵀ
with K = [[ν, −c2], [−c2, −c1]] (eq. 2), router A's stationarity condition is
u(x) ∝ T V K (1, x)ᵀ = a + x·b, where V = E[v(X)(1, X)] holds B's two moments (and
symmetrically for B). So the optimal vectors lie in one plane, u(x) = (cos 2θ(x), sin 2θ(x))
with θ(x) = ½·atan2(a_y + x b_y, a_x + x b_x): the *line family* :class:`LineStrategy`
(derivation in docs/optimal-strategies.md).

:func:`optimize_optimal` finds the best member at a target p: for a multiplier ν it solves
the Lagrangian by alternating best responses (each is the closed form above), tunes ν by
bisection until the splitting probability is p, polishes with SLSQP under the constraint
on the fixed Gauss–Laguerre rule of :class:`.quantum.QuantumGame` (D34–D35), and reports the
payoff by adaptive quadrature (as :func:`.quantum.optimize_quantum` does).

Examples:
    >>> from qnet.queues.model import SystemParams
    >>> res = optimize_optimal(0.2, SystemParams(lam=0.8, mu=1.0))
    >>> res.converged, round(res.splitting_probability, 9)
    (True, 0.2)
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import integrate
from scipy.optimize import brentq, minimize

from qnet.games.routing.quantum import (
    ADAPTIVE_TOL,
    VALIDATION_TOL,
    AdaptiveEvaluation,
    QuantumGame,
)
from qnet.queues.model import SystemParams, check_probability

__all__ = [
    "LineGame",
    "LineStrategy",
    "OptimalResult",
    "adaptive_line_evaluation",
    "lagrangian_best_response",
    "line_rule",
    "optimal_sweep",
    "optimize_optimal",
]

_TAIL_Y = 45.0  # adaptive integrals over y = μx ∈ [0, 45]; tail mass e^{-45}·46 ≈ 1e-18
_IDENTITY = ((1.0, 0.0), (0.0, 1.0))


def _pair(v: ArrayLike, name: str) -> tuple[float, float]:
    arr = np.asarray(v, dtype=float)
    if arr.shape != (2,) or not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} must be two finite numbers, got {v!r}")
    return float(arr[0]), float(arr[1])


@dataclass(frozen=True)
class LineStrategy:
    """θ_A(x) = ½·atan2(a_A + x b_A), θ_B(x) = ½·atan2(a_B + x b_B) (docs/optimal-strategies.md).

    Router A measures at the angle θ_A(x) whose Bloch direction n(θ) = (cos 2θ, sin 2θ) points
    at the point a_A + x·b_A of a line in the plane (likewise B); with the ideal pair the
    correlation is cos(2(θ_A − θ_B)) (D30). Only the direction of each point matters, so the
    two lines are defined up to a positive factor each.
    """

    a_A: tuple[float, float]
    b_A: tuple[float, float]
    a_B: tuple[float, float]
    b_B: tuple[float, float]

    def __post_init__(self) -> None:
        for name in ("a_A", "b_A", "a_B", "b_B"):
            object.__setattr__(self, name, _pair(getattr(self, name), name))
        if self.a_A == (0.0, 0.0) and self.b_A == (0.0, 0.0):
            raise ValueError("router A's line a_A + x b_A must not be identically zero")
        if self.a_B == (0.0, 0.0) and self.b_B == (0.0, 0.0):
            raise ValueError("router B's line a_B + x b_B must not be identically zero")

    def point_a(self, x: ArrayLike) -> NDArray[np.float64]:
        """Router A's point a_A + x b_A, shape (..., 2)."""
        x = np.asarray(x, dtype=float)[..., None]
        return np.asarray(self.a_A) + x * np.asarray(self.b_A)

    def point_b(self, x: ArrayLike) -> NDArray[np.float64]:
        """Router B's point a_B + x b_B, shape (..., 2)."""
        x = np.asarray(x, dtype=float)[..., None]
        return np.asarray(self.a_B) + x * np.asarray(self.b_B)

    def theta_a(self, x: ArrayLike) -> NDArray[np.float64]:
        """Router A's measurement angle ½·atan2(a_A + x b_A) in (−π/2, π/2]."""
        g = self.point_a(x)
        return 0.5 * np.arctan2(g[..., 1], g[..., 0])

    def theta_b(self, x: ArrayLike) -> NDArray[np.float64]:
        """Router B's measurement angle ½·atan2(a_B + x b_B) in (−π/2, π/2]."""
        g = self.point_b(x)
        return 0.5 * np.arctan2(g[..., 1], g[..., 0])

    def to_vector(self) -> NDArray[np.float64]:
        """[a_A, b_A, a_B, b_B] flattened (the optimizer's variable, 8 numbers)."""
        return np.array(self.a_A + self.b_A + self.a_B + self.b_B, dtype=float)

    @classmethod
    def from_vector(cls, z: ArrayLike) -> LineStrategy:
        """Inverse of :meth:`to_vector`; each router's line is scaled to unit norm."""
        z = np.asarray(z, dtype=float)
        if z.shape != (8,):
            raise ValueError(f"line-strategy vector must have shape (8,), got {z.shape}")
        za, zb = z[:4], z[4:]
        na, nb = np.linalg.norm(za), np.linalg.norm(zb)
        za = za / na if na > 0 else za
        zb = zb / nb if nb > 0 else zb
        return cls(tuple(za[:2]), tuple(za[2:]), tuple(zb[:2]), tuple(zb[2:]))

    def rotated_a(self, shift: float) -> LineStrategy:
        """Router A's angles shifted by ``shift`` (its line rotated by 2·shift)."""
        c, s = math.cos(2 * shift), math.sin(2 * shift)
        rot = np.array([[c, -s], [s, c]])
        return LineStrategy(
            tuple(rot @ np.asarray(self.a_A)), tuple(rot @ np.asarray(self.b_A)), self.a_B, self.b_B
        )

    def to_dict(self) -> dict[str, list[float]]:
        """Plain-JSON form ``{"a_A": [..], "b_A": [..], "a_B": [..], "b_B": [..]}``."""
        return {
            "a_A": list(self.a_A),
            "b_A": list(self.b_A),
            "a_B": list(self.a_B),
            "b_B": list(self.b_B),
        }


def _unit(g: NDArray[np.float64]) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Unit vectors g/|g| (rows) and the norms (a zero row gives the zero vector)."""
    n = np.hypot(g[:, 0], g[:, 1])
    safe = np.where(n > 0, n, 1.0)
    return g / safe[:, None], safe


_GL_X, _GL_W = np.polynomial.legendre.leggauss(12)
_PANEL = (
    3.0  # widest panel of line_rule in y = μx (12-point Gauss–Legendre of e^{−y} on it: ~1e-16)
)


def line_rule(
    a: ArrayLike, b: ArrayLike, mu: float
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Nodes x_i and weights ω_i with Σ ω_i f(x_i) ≈ E[f(X)], X ~ Exp(μ), for one router's line.

    The unit vector (a + x b)/|a + x b| turns by up to π within ~d/|b| of the point where the
    line passes closest to the origin (d: that distance), a turn a fixed Gauss–Laguerre rule
    does not see (measured at p = 0.005: fixed 60-point payoff −2.343, adaptive −2.310). So
    the rule is composite 12-point Gauss–Legendre on y = μx ∈ [0, 45], with breakpoints
    graded geometrically (factor 2) away from the closest approach, panels ≤ 3 wide; the
    tail beyond y = 45 has mass e^{−45}.
    """
    av = np.asarray(a, dtype=float)
    bv = np.asarray(b, dtype=float)
    bb = float(bv @ bv)
    if bb > 0:
        y0 = -mu * float(av @ bv) / bb
        d = abs(float(av[0] * bv[1] - av[1] * bv[0])) / math.sqrt(bb)
        h = min(max(mu * d / math.sqrt(bb), 1e-9), 1.0)
    else:
        y0, h = 0.0, 1.0
    c = min(max(y0, 0.0), _TAIL_Y)
    graded = np.cumsum(h * 2.0 ** np.arange(0, max(int(math.log2(_PANEL / h)), 0) + 1))
    graded = graded[graded < _PANEL]

    def side(length: float) -> NDArray[np.float64]:
        if length <= 0.0:
            return np.zeros(1)
        g = graded[graded < length]
        start = g[-1] if g.size else 0.0
        n = max(int(math.ceil((length - start) / _PANEL)), 1)
        return np.concatenate(([0.0], g, start + (length - start) * np.arange(1, n + 1) / n))

    pts = np.concatenate((c - side(c)[::-1], c + side(_TAIL_Y - c)[1:]))
    lo, hi = pts[:-1], pts[1:]
    half = 0.5 * (hi - lo)
    y = (0.5 * (hi + lo))[:, None] + half[:, None] * _GL_X[None, :]
    w = half[:, None] * _GL_W[None, :] * np.exp(-y)
    return (y / mu).ravel(), w.ravel()


class LineGame:
    """Payoff and splitting probability of line strategies by per-router quadrature (D32–D35).

    Takes params and the correlation tensor (validated) from a :class:`.quantum.QuantumGame`;
    each router's moments M[j, k] = Σ_i ω_i x_i^k u_j(x_i) (u = unit vector of the line's
    point) use :func:`line_rule`, built for that router's line. Then A = −Σ_jk (M_A)_jk
    (T M_B C)_jk with C = [[0, c2], [c2, c1]] (eq. 2) and p = (1 − M_A[:, 0]ᵀ T M_B[:, 0])/2,
    the moment form of D32–D35 used by :meth:`.quantum.QuantumGame.evaluate`.
    """

    def __init__(
        self,
        params: SystemParams,
        correlation_tensor: ArrayLike = _IDENTITY,
        game: QuantumGame | None = None,
    ) -> None:
        if game is None:
            game = QuantumGame(params, 0, 2, correlation_tensor)
        self.game = game
        self.params = game.params
        self.tensor = game.tensor
        self.cmat = np.array([[0.0, game.params.c2], [game.params.c2, game.params.c1]])

    def _router(
        self, a: NDArray[np.float64], b: NDArray[np.float64]
    ) -> tuple[NDArray, NDArray, NDArray, NDArray, NDArray]:
        x, om = line_rule(a, b, self.params.mu)
        u, n = _unit(a[None, :] + x[:, None] * b[None, :])
        basis = np.column_stack((np.ones_like(x), x))
        return x, om, u, n, u.T @ (om[:, None] * basis)

    def moments(self, a: ArrayLike, b: ArrayLike) -> NDArray[np.float64]:
        """M[j, k] = E[X^k u_j(X)], u = (a + X b)/|a + X b| (k = 0, 1), by :func:`line_rule`."""
        return self._router(np.asarray(a, dtype=float), np.asarray(b, dtype=float))[4]

    def evaluate(
        self, z: ArrayLike
    ) -> tuple[float, NDArray[np.float64], float, NDArray[np.float64]]:
        """Payoff A (D32), ∂A/∂z, splitting probability p (D33), ∂p/∂z for z = to_vector()."""
        z = np.asarray(z, dtype=float)
        xa, oa, ua, na, ma = self._router(z[0:2], z[2:4])
        xb, ob, ub, nb, mb = self._router(z[4:6], z[6:8])
        t, cm = self.tensor, self.cmat
        gam_a = t @ mb @ cm  # ∂(Σ W E)/∂M_A
        gam_b = t.T @ ma @ cm
        corr_w = float(np.sum(ma * gam_a))
        corr = float(ma[:, 0] @ t @ mb[:, 0])

        def grad(x, om, u, n, gam):  # d/d(a, b) of Σ_jk M_jk gam_jk, M from the line (a, b)
            h = (gam[:, 0][None, :] + x[:, None] * gam[:, 1][None, :]) * om[:, None]
            proj = (h - np.sum(h * u, axis=1)[:, None] * u) / n[:, None]  # (I − uuᵀ)h/|g|
            return np.concatenate((proj.sum(axis=0), (proj * x[:, None]).sum(axis=0)))

        e_a = np.zeros((2, 2))
        e_a[:, 0] = t @ mb[:, 0]
        e_b = np.zeros((2, 2))
        e_b[:, 0] = t.T @ ma[:, 0]
        grad_w = np.concatenate((grad(xa, oa, ua, na, gam_a), grad(xb, ob, ub, nb, gam_b)))
        grad_c = np.concatenate((grad(xa, oa, ua, na, e_a), grad(xb, ob, ub, nb, e_b)))
        return -corr_w, -grad_w, 0.5 * (1.0 - corr), -0.5 * grad_c


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


def lagrangian_best_response(
    nu: float,
    game: LineGame,
    start: LineStrategy | None = None,
    starts: int = 6,
    seed: int = 0,
    max_iter: int = 2000,
    tol: float = 1e-14,
) -> LagrangianSolution:
    """Maximize E[(ν − w)⟨u, T v⟩] by alternating closed-form best responses (stationarity).

    Given B's moments V = [V_0, V_1] (V_k = E[X^k v(X)]), A's best response is
    u(x) = g/|g| with g = T V K (1, x)ᵀ (K from :func:`_kmat`), i.e. the line a = T V K[:, 0],
    b = T V K[:, 1]; symmetrically for B with Tᵀ. Each step cannot lower the objective, so
    the iteration climbs to a stationary point; several seeded starts guard against local
    maxima.
    """
    k = _kmat(nu, game.params)
    t = game.tensor
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
        val_old = -math.inf
        for _ in range(max_iter):
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


def _line_moments_adaptive(
    a: tuple[float, float], b: tuple[float, float], mu: float, tol: float
) -> tuple[NDArray[np.float64], NDArray[np.float64], bool]:
    """I[j, k] = E[X^k u_j(X)], u = (a + X b)/|a + X b|, X ~ Exp(μ), by adaptive quadrature.

    Integrates over y = μx ∈ [0, 45] with a breakpoint where the line passes closest to the
    origin (where u turns fastest); the tail beyond y = 45 is bounded by e^{−45}·46/μ^k.
    """
    av, bv = np.asarray(a), np.asarray(b)
    edges = [0.0, _TAIL_Y]
    bb = float(bv @ bv)
    if bb > 0:
        y0 = -mu * float(av @ bv) / bb  # closest approach in y = μx
        if 0.0 < y0 < _TAIL_Y:
            edges = [0.0, y0, _TAIL_Y]

    def comp(y: float, j: int, k: int) -> float:
        x = y / mu
        gx, gy = a[0] + x * b[0], a[1] + x * b[1]
        n = math.hypot(gx, gy)
        if n == 0.0:
            return 0.0
        return math.exp(-y) * x**k * ((gx, gy)[j] / n)

    out = np.zeros((2, 2))
    err = np.zeros((2, 2))
    ok = True
    for j in range(2):
        for k in range(2):
            for lo, hi in zip(edges[:-1], edges[1:], strict=True):
                res = integrate.quad(
                    comp, lo, hi, args=(j, k), epsabs=tol, epsrel=0.0, limit=400, full_output=1
                )
                out[j, k] += res[0]
                err[j, k] += res[1]
                ok = ok and len(res) == 3
    tail = math.exp(-_TAIL_Y) * (_TAIL_Y + 1)
    err += tail * np.array([[1.0, 1.0 / mu], [1.0, 1.0 / mu]])
    return out, err, ok


def _combine_moments(
    ia: tuple[NDArray[np.float64], NDArray[np.float64], bool],
    ib: tuple[NDArray[np.float64], NDArray[np.float64], bool],
    params: SystemParams,
    t: NDArray[np.float64],
    tol: float,
) -> AdaptiveEvaluation:
    """Payoff (D32) and p (D33) from both routers' moments, with propagated error bounds."""
    (a, ea, oka), (b, eb, okb) = ia, ib
    c1, c2 = params.c1, params.c2
    corr_w = float(c1 * a[:, 1] @ t @ b[:, 1] + c2 * a[:, 1] @ t @ b[:, 0])
    corr_w += float(c2 * a[:, 0] @ t @ b[:, 1])
    corr = float(a[:, 0] @ t @ b[:, 0])
    tabs = np.abs(t)
    aa, ab = np.abs(a), np.abs(b) + eb

    def prod_err(i: int, j: int) -> float:  # |xy − x̂ŷ| ≤ |δx|(|ŷ| + |δy|) + |x̂||δy|
        return float(ea[:, i] @ tabs @ ab[:, j] + aa[:, i] @ tabs @ eb[:, j])

    bound = max(
        c1 * prod_err(1, 1) + c2 * prod_err(1, 0) + c2 * prod_err(0, 1), 0.5 * prod_err(0, 0)
    )
    return AdaptiveEvaluation(
        payoff=-corr_w,
        splitting_probability=0.5 * (1.0 - corr),
        error_bound=bound,
        reliable=bool(oka and okb and bound <= tol),
    )


def _check_tensor(correlation_tensor: ArrayLike) -> NDArray[np.float64]:
    return QuantumGame(SystemParams(), 0, 2, correlation_tensor).tensor


def adaptive_line_evaluation(
    strategy: LineStrategy,
    params: SystemParams,
    correlation_tensor: ArrayLike = _IDENTITY,
    tol: float = ADAPTIVE_TOL,
) -> AdaptiveEvaluation:
    """Payoff (D32) and splitting probability (D33) of a line strategy by adaptive quadrature.

    The double integrals factorize (w and ⟨u, T v⟩ are sums of products) into the moments
    E[X^k u_j(X)], k ∈ {0, 1}, integrated adaptively to ``tol``/40 each.
    """
    t = _check_tensor(correlation_tensor)
    if not tol > 0:
        raise ValueError(f"tol must be > 0, got {tol!r}")
    ia = _line_moments_adaptive(strategy.a_A, strategy.b_A, params.mu, tol / 40)
    ib = _line_moments_adaptive(strategy.a_B, strategy.b_B, params.mu, tol / 40)
    return _combine_moments(ia, ib, params, t, tol)


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


def _shift_for(alpha: float, beta: float, p: float) -> float | None:
    """Shift s with α cos 2s + β sin 2s = 1 − 2p (the root of smaller |s|), or None."""
    r = math.hypot(alpha, beta)
    target = 1.0 - 2.0 * p
    if r == 0.0 or r < abs(target):
        return None
    phi = math.atan2(beta, alpha)
    roots = [0.5 * (phi + math.acos(target / r)), 0.5 * (phi - math.acos(target / r))]
    roots = [(s + math.pi / 2) % math.pi - math.pi / 2 for s in roots]
    return min(roots, key=abs)


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
    p: float, game: LineGame, start: LineStrategy | None, seed: int, starts: int
) -> LagrangianSolution:
    """ν whose Lagrangian maximizer has splitting probability p (p(ν) decreases in ν).

    The first solve draws ``starts`` seeded random starts (plus ``start``); the root search
    (bracketing, then Brent) warm-starts every best response from the previous maximizer.
    """
    first = lagrangian_best_response(1.0, game, start=start, starts=starts, seed=seed)
    state = {"start": first.strategy}
    cache: dict[float, LagrangianSolution] = {1.0: first}

    def sol(nu: float) -> LagrangianSolution:
        if nu not in cache:
            cache[nu] = lagrangian_best_response(nu, game, start=state["start"], starts=0)
            state["start"] = cache[nu].strategy
        return cache[nu]

    lo, hi = 0.0, 1.0  # p(0) = 1: with ν = 0 splitting everything is optimal
    while sol(hi).splitting_probability > p:
        lo, hi = hi, 2.0 * hi
        if hi > 1e6:
            raise ValueError(f"p={p} is out of reach of the line family with this pair")
    if lo == 0.0:
        lo = 0.5
        while sol(lo).splitting_probability <= p:
            lo *= 0.5
            if lo < 1e-9:
                break
    try:
        nu = brentq(lambda v: sol(v).splitting_probability - p, lo, hi, xtol=1e-12, rtol=1e-12)
    except ValueError:
        nu = min(cache, key=lambda v: abs(cache[v].splitting_probability - p))
    return sol(nu)


def _check_p(p: float) -> float:
    if isinstance(p, bool) or np.ndim(p) != 0:
        raise ValueError(f"p (splitting probability) must be a number in (0, 1), got {p!r}")
    return float(check_probability(p, "p (splitting probability)", open_interval=True))


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

    Solves the Lagrangian by best responses with ν bisected to meet p, polishes by SLSQP on
    the fixed rule under p(strategy) = p (the constraint of
    :func:`.quantum.optimize_quantum`), validates by adaptive quadrature (fixed-rule and
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
    dual = _solve_nu(p, game, warm_start, seed, 0 if warm_start is not None else starts)
    z0 = dual.strategy.to_vector()
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
        options={"maxiter": 20, "ftol": 1e-13},
    )
    candidates = [z0]
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
        if shift is None:
            continue
        strategy = strategy.rotated_a(shift)
        final = adaptive_line_evaluation(strategy, params, t)
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
    raise ValueError(
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
