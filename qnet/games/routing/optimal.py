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
Brent's method until the splitting probability is p, polishes with SLSQP under the
constraint when that point is not already KKT, evaluates on a per-router composite rule
(:func:`line_rule`; the payoff formulas of :meth:`.quantum.QuantumGame.evaluate`, D32–D35),
and reports the payoff by adaptive quadrature (as :func:`.quantum.optimize_quantum` does).

:func:`certify_quantum` / :class:`QuantumBound` bound every quantum strategy from above
(weak duality and an outer polytope of the moment set); :func:`bin_sdp` is the Tsirelson SDP
of the binned game (a cross-check from below, via :mod:`qnet.games.xor`).

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
    "BinSDPResult",
    "LineGame",
    "LineStrategy",
    "OptimalResult",
    "QuantumBound",
    "QuantumCertificate",
    "adaptive_line_evaluation",
    "bin_sdp",
    "certify_quantum",
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
    tol: float = 1e-12,
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


# ---------------------------------------------------------------------------------------
# Certificate: an upper bound on every quantum strategy (docs/optimal-strategies.md)
# ---------------------------------------------------------------------------------------

#: Cells of the equal-probability grid of the chord-rule upper bound (:class:`_ChordRule`).
CHORD_CELLS = 8192


class _ChordRule:
    """Upper bounds on E[f(Y)], Y ~ Exp(1), for convex f = |c + y d| (chord rule).

    On each cell [y_i, y_{i+1}] of the grid y_i = −ln(1 − i/N) (equal probability 1/N) a
    convex f lies below its chord, so ∫ f e^{−y} ≤ Σ_i ω_i f(y_i) with ω_i the integrals of
    the hat functions against e^{−y} (closed form); beyond y_{N−1} = ln N, f(y) ≤ f(y_{N−1})
    + |d|(y − y_{N−1}), whose integral is e^{−y_{N−1}}(f(y_{N−1}) + |d|). Rigorous up to
    floating-point rounding (~1e-13 relative).
    """

    def __init__(self, cells: int = CHORD_CELLS) -> None:
        i = np.arange(cells, dtype=float)
        tail = 1.0 - i / cells  # e^{−y_i}, exact
        y = -np.log(tail)
        h = np.diff(y)
        mass = 1.0 / cells  # e^{−y_i} − e^{−y_{i+1}}
        right = (mass - h * tail[1:]) / h  # ∫ e^{−y} (y − y_i)/h over the cell
        left = mass - right
        w = np.zeros(cells)
        w[:-1] += left
        w[1:] += right
        self.y = y
        self.w = w
        self.tail = float(tail[-1])
        if not np.all(w > 0):
            raise RuntimeError("chord-rule weights must be positive")

    def upper(self, c: NDArray[np.float64], d: NDArray[np.float64]) -> NDArray[np.float64]:
        """Upper bounds on E|c + Y d| for rows c, d of shape (n, 2)."""
        fx = c[:, None, 0] + self.y[None, :] * d[:, None, 0]
        fy = c[:, None, 1] + self.y[None, :] * d[:, None, 1]
        f = np.hypot(fx, fy)
        slope = np.hypot(d[:, 0], d[:, 1])
        return f @ self.w + self.tail * (f[:, -1] + slope)


def _support_upper(rule: _ChordRule, lam: NDArray[np.float64], mu: float) -> NDArray[np.float64]:
    """Upper bounds on h(Λ) = E|Λ(1, X)ᵀ| = sup_{U∈C} ⟨Λ, U⟩, X ~ Exp(μ); Λ of shape (n, 2, 2)."""
    return rule.upper(lam[:, :, 0], lam[:, :, 1] / mu)


@dataclass(frozen=True)
class QuantumCertificate:
    """Upper bound on the payoff of every quantum strategy at splitting probability p.

    Attributes:
        p: splitting probability.
        nu: multiplier of the splitting constraint used by the dual bound.
        bound: certified upper bound on A_qu(p) (over all entangled states and measurements).
        achieved: adaptive payoff of the optimal line strategy at p (a lower bound).
        gap: bound − achieved.
        lagrangian_upper: upper bound on S(ν) = sup E[(ν − w)⟨u, v⟩] (outer polytope).
        lagrangian_lower: S(ν) of the line family's best response (a feasible value).
        cuts: number of supporting half-spaces of the outer approximation.
        iterations: cutting-plane iterations.
    """

    p: float
    nu: float
    bound: float
    achieved: float
    gap: float
    lagrangian_upper: float
    lagrangian_lower: float
    cuts: int
    iterations: int

    def to_dict(self) -> dict[str, float | int]:
        """Plain-JSON form."""
        return dict(vars(self))


_CUT_NODES = -np.log1p(-(np.arange(1024) + 0.5) / 1024)  # equal-probability midpoints, Exp(1)


def _deepest_cut(
    mu: float, target: NDArray[np.float64], start: NDArray[np.float64]
) -> NDArray[np.float64]:
    """Λ (‖Λ‖_F ≤ 1) nearly minimizing h(Λ) − ⟨Λ, U*⟩: the half-space ⟨Λ, U⟩ ≤ h(Λ) cutting U*
    deepest. h's gradient is the exposed point's moments E[n(X)(1, X)], n the unit vector of
    Λ(1, X)ᵀ. Only the direction is searched here (a 1024-point midpoint rule suffices);
    the caller bounds h(Λ) rigorously, so any Λ gives a valid cut."""
    x = _CUT_NODES / mu

    def fun(z: NDArray[np.float64]) -> tuple[float, NDArray[np.float64]]:
        lam = z.reshape(2, 2)
        g = lam[:, 0][None, :] + x[:, None] * lam[:, 1][None, :]
        n = np.hypot(g[:, 0], g[:, 1])
        u = g / np.where(n > 0, n, 1.0)[:, None]
        m = np.column_stack((u.mean(axis=0), (u * x[:, None]).mean(axis=0)))
        return float(n.mean()) - float(np.sum(lam * target)), (m - target).ravel()

    res = minimize(
        fun,
        start.ravel(),
        jac=True,
        method="SLSQP",
        constraints=[{"type": "ineq", "fun": lambda z: 1.0 - z @ z, "jac": lambda z: -2 * z}],
        options={"maxiter": 60, "ftol": 1e-12},
    )
    z = np.asarray(res.x, dtype=float)
    return z.reshape(2, 2) / max(float(np.linalg.norm(z)), 1e-300)


#: z = (0.01, 0, 0.01/μ) lies strictly inside every outer polytope: with X = Y/μ,
#: h(Λ) = E|Λ_0 + Y Λ_1/μ| ≥ 0.51·‖(Λ_0, Λ_1/μ)‖ (measured minimum over the unit sphere:
#: 0.513), while ⟨Λ, U⟩ ≤ 0.01·√2·‖(Λ_0, Λ_1/μ)‖ at that point.
_INTERIOR = np.array([0.01, 0.0, 0.01])


class QuantumBound:
    """Outer polytope P ⊇ C of the moment set, refined by cuts; valid for every ν and p.

    Coordinates z = (U[0,0], U[0,1], U[1,1]) of router A's moment matrix U = E[u(X)(1, X)]
    after the rotation/reflection that puts U[:, 0] on the positive first axis and
    U[1, 1] ≥ 0. Half-spaces a·z ≤ b start as the box |U[:, 0]| ≤ 1, |U[:, 1]| ≤ 1/μ and
    64 seeded supporting half-spaces ⟨Λ, U⟩ ≤ h(Λ); :meth:`certify` adds cuts, which stay
    valid for later calls (so a grid of p values shares them). Not thread-safe.
    """

    def __init__(self, params: SystemParams, seed: int = 0) -> None:
        self.params = params
        self.game = LineGame(params)
        self.rule = _ChordRule()
        self.coarse_rule = _ChordRule(CHORD_CELLS // 16)  # nested in the fine grid
        mu = params.mu
        a_rows = [[-1, 0, 0], [1, 0, 0], [0, 1, 0], [0, -1, 0], [0, 0, 1], [0, 0, -1]]
        b_rows = [0.0, 1.0, 1 / mu, 1 / mu, 1 / mu, 0.0]
        rng = np.random.default_rng(seed)
        init = rng.normal(size=(64, 2, 2))
        init /= np.linalg.norm(init, axis=(1, 2), keepdims=True)
        for lam, hb in zip(init, _support_upper(self.rule, init, mu), strict=True):
            a_rows.append([lam[0, 0], lam[0, 1], lam[1, 1]])
            b_rows.append(float(hb))  # Λ[1, 0] multiplies U[1, 0] = 0
        self.a_mat = np.array(a_rows, dtype=float)
        self.b_vec = np.array(b_rows)

    def _psi_upper(
        self, z: NDArray[np.float64], k: NDArray[np.float64], rule: _ChordRule
    ) -> NDArray[np.float64]:
        u = np.zeros((z.shape[0], 2, 2))
        u[:, 0, 0], u[:, 0, 1], u[:, 1, 1] = z[:, 0], z[:, 1], z[:, 2]
        return _support_upper(rule, u @ k, self.params.mu)

    def lagrangian_upper(
        self, nu: float, lower: float, tol: float, max_iter: int
    ) -> tuple[float, int]:
        """Upper bound on S(ν) = max_C ψ, refined until within ``tol`` of ``lower``."""
        from scipy.spatial import HalfspaceIntersection

        k = _kmat(nu, self.params)
        coarse: dict[bytes, float] = {}
        fine: dict[bytes, float] = {}
        upper = math.inf
        iterations = 0
        while iterations < max_iter:
            iterations += 1
            inside = _INTERIOR / np.array([1.0, 1.0, self.params.mu])
            if not np.all(self.a_mat @ inside < self.b_vec):
                raise RuntimeError("outer approximation lost its interior point")
            hs = HalfspaceIntersection(np.column_stack((self.a_mat, -self.b_vec)), inside)
            verts = np.unique(np.round(hs.intersections, 15), axis=0)
            keys = [v.tobytes() for v in verts]
            new = [i for i, key in enumerate(keys) if key not in coarse]
            if new:
                vals = self._psi_upper(verts[new], k, self.coarse_rule)
                for i, val in zip(new, vals, strict=True):
                    coarse[keys[i]] = float(val)
            # Nested grids: the coarse chord bound is >= the fine one, so vertices whose
            # coarse bound is below the best fine bound cannot hold the maximum.
            order = sorted(range(len(keys)), key=lambda i: -coarse[keys[i]])
            upper, j = -math.inf, order[0]
            for i in order:
                if coarse[keys[i]] <= upper:
                    break
                if keys[i] not in fine:
                    fine[keys[i]] = float(self._psi_upper(verts[i : i + 1], k, self.rule)[0])
                if fine[keys[i]] > upper:
                    upper, j = fine[keys[i]], i
            if upper - lower <= tol:
                break
            z = verts[j]
            target = np.array([[z[0], z[1]], [0.0, z[2]]])
            start = target / max(float(np.linalg.norm(target)), 1e-300)
            lam = _deepest_cut(self.params.mu, target, start)
            hb = float(_support_upper(self.rule, lam[None], self.params.mu)[0])
            row = np.array([lam[0, 0], lam[0, 1], lam[1, 1]])
            if row @ z <= hb + 1e-12:
                break  # U* is (numerically) in C: nothing left to cut
            self.a_mat = np.vstack((self.a_mat, row))
            self.b_vec = np.append(self.b_vec, hb)
        return upper, iterations

    def certify(
        self,
        p: float,
        result: OptimalResult | None = None,
        tol: float = 2e-4,
        max_iter: int = 400,
        nu: float | None = None,
    ) -> QuantumCertificate:
        """Certificate at p: see :func:`certify_quantum`."""
        p = _check_p(p)
        if result is None:
            result = optimize_optimal(p, self.params, game=self.game)
        nu = result.nu if nu is None else float(nu)
        lower = lagrangian_best_response(nu, self.game, start=result.strategy, starts=0).value
        upper, iterations = self.lagrangian_upper(nu, lower, tol, max_iter)
        bound = upper - nu * (1.0 - 2.0 * p)
        return QuantumCertificate(
            p=p,
            nu=nu,
            bound=bound,
            achieved=result.payoff_adaptive,
            gap=bound - result.payoff_adaptive,
            lagrangian_upper=upper,
            lagrangian_lower=lower,
            cuts=int(self.a_mat.shape[0]),
            iterations=iterations,
        )


def certify_quantum(
    p: float,
    params: SystemParams,
    result: OptimalResult | None = None,
    tol: float = 2e-4,
    max_iter: int = 400,
    nu: float | None = None,
    bound: QuantumBound | None = None,
) -> QuantumCertificate:
    """Upper bound on every quantum strategy's payoff at p (duality + outer approximation).

    Weak duality: for any ν and any strategy meeting p, A = E[(ν − w)⟨u, v⟩] − ν(1 − 2p)
    ≤ S(ν) − ν(1 − 2p). With U = E[u(X)(1, X)] (2×2 moments; vectors of any dimension project
    into the plane of U's columns without changing the payoff), S(ν) = max_{U∈C} ψ(U),
    ψ(U) = h(UK), h(Λ) = E|Λ(1, X)ᵀ| the support function of the convex moment set C.
    ψ is convex, so its maximum over a polytope P ⊇ C sits at a vertex of P. P
    (:class:`QuantumBound`, reusable across p) is cut at the maximizing vertex U* by the
    deepest supporting half-space ⟨Λ, U⟩ ≤ h(Λ) until max_P ψ is within ``tol`` of the line
    family's S(ν). Support values and ψ at vertices are chord-rule upper bounds
    (:class:`_ChordRule`), so every half-space is valid and max_P ψ is an upper bound.
    """
    if bound is None:
        bound = QuantumBound(params)
    elif bound.params != params:
        raise ValueError("bound was built for different params")
    return bound.certify(p, result, tol, max_iter, nu)


@dataclass(frozen=True)
class BinSDPResult:
    """Tsirelson SDP of the routing game restricted to bin-constant strategies.

    Attributes:
        p: splitting probability; bins: number of equal-probability bins per router.
        value: optimal payoff over strategies constant on each bin (a lower bound on the
            quantum value: bin-constant strategies are a restriction).
        rank: numerical rank of the optimal Gram matrix (2: one qubit pair suffices).
        eigenvalues: the Gram matrix's largest eigenvalues (at most four).
    """

    p: float
    bins: int
    value: float
    rank: int
    eigenvalues: tuple[float, ...]

    def to_dict(self) -> dict[str, object]:
        """Plain-JSON form."""
        return {**vars(self), "eigenvalues": list(self.eigenvalues)}


def bin_sdp(
    p: float, params: SystemParams, bins: int, solver: str = "SCS", eps: float = 1e-9
) -> BinSDPResult:
    """Routing game on ``bins`` equal-probability bins of Exp(μ) per router, by Tsirelson SDP.

    Bin i = [q_i, q_{i+1}) with q_i = −ln(1 − i/n)/μ has probability 1/n and conditional mean
    m_i; for bin-constant vectors E[w⟨u, v⟩] = Σ_ij n⁻² (c1 m_i m_j + c2(m_i + m_j))⟨u_i, v_j⟩
    (eq. 2) and E⟨u, v⟩ = Σ_ij n⁻²⟨u_i, v_j⟩ = 1 − 2p; solved by
    :func:`qnet.games.xor.tsirelson_sdp` (SCS to ``eps`` by default: Clarabel's
    interior-point steps are ~20 times slower at 32 bins).
    """
    from qnet.games.xor import tsirelson_sdp

    p = _check_p(p)
    if isinstance(bins, bool) or not isinstance(bins, int) or not 1 <= bins <= 200:
        raise ValueError(f"bins must be an integer in [1, 200], got {bins!r}")
    mu = params.mu
    # E[μX; μX ∈ [a, b)] = (a + 1) e^{−a} − (b + 1) e^{−b}, a = −ln(1 − i/n); last b = ∞.
    tail = 1.0 - np.arange(bins, dtype=float) / bins  # e^{−a_i}, exact
    part = np.append((1.0 - np.log(tail)) * tail, 0.0)
    mean = (part[:-1] - part[1:]) * bins / mu  # conditional means m_i
    w = params.c1 * np.outer(mean, mean) + params.c2 * (mean[:, None] + mean[None, :])
    prob = np.full((bins, bins), 1.0 / bins**2)
    opts: dict[str, object] = {"eps": eps} if solver == "SCS" else {}
    sol = tsirelson_sdp(-w * prob, [(prob, 1.0 - 2.0 * p)], solver=solver, solver_options=opts)
    return BinSDPResult(
        p=p,
        bins=bins,
        value=sol.value,
        rank=sol.rank,
        eigenvalues=tuple(float(v) for v in sol.eigenvalues[:4]),
    )
