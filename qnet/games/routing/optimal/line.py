"""The line family θ(x) = ½·atan2(a + x b) (stationarity of the Lagrangian,
docs/optimal-strategies.md): strategies, the per-router quadrature rule, the fixed-rule
game and adaptive re-evaluation (payoff D32, splitting probability D33)."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import integrate

from qnet.games.routing.quantum import (
    ADAPTIVE_TOL,
    AdaptiveEvaluation,
    QuantumGame,
)
from qnet.queues.model import SystemParams

__all__ = [
    "LineGame",
    "LineStrategy",
    "adaptive_line_evaluation",
    "line_rule",
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

    def rotated(self, shift: float) -> LineStrategy:
        """Both routers' angles shifted by ``shift`` (a symmetry of ideal and Werner pairs)."""
        c, s = math.cos(2 * shift), math.sin(2 * shift)
        rot = np.array([[c, -s], [s, c]])
        a_b = tuple(rot @ np.asarray(self.a_B))
        b_b = tuple(rot @ np.asarray(self.b_B))
        return LineStrategy(self.rotated_a(shift).a_A, self.rotated_a(shift).b_A, a_b, b_b)

    def canonical_gauge(self, mu: float) -> LineStrategy:
        """The common rotation that keeps the measurements closest to Z (the basis memory
        dephasing spares), as :func:`qnet.games.routing.quantum.canonical_gauge` fixes it
        for polynomial angles: c = −arg(E[e^{4iθ_A(X)}] + E[e^{4iθ_B(X)}])/4, X ~ Exp(mu)."""
        z = 0j
        for a, b, theta in ((self.a_A, self.b_A, self.theta_a), (self.a_B, self.b_B, self.theta_b)):
            x, om = line_rule(a, b, mu)
            z += np.sum(om * np.exp(4j * theta(x)))
        if abs(z) < 1e-12:
            return self
        return self.rotated(-float(np.angle(z)) / 4.0)

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
    # Plain floats for the few breakpoints (numpy's per-call overhead dominated here); the
    # arithmetic is the same operation for operation, so the rule is unchanged bit for bit.
    graded: list[float] = []
    acc = 0.0
    for k in range(max(int(math.log2(_PANEL / h)), 0) + 1):
        acc += h * 2.0**k
        if acc < _PANEL:
            graded.append(acc)

    def side(length: float) -> list[float]:
        if length <= 0.0:
            return [0.0]
        g = [v for v in graded if v < length]
        start = g[-1] if g else 0.0
        n = max(int(math.ceil((length - start) / _PANEL)), 1)
        return [0.0, *g, *(start + (length - start) * float(i) / n for i in range(1, n + 1))]

    left, right = side(c), side(_TAIL_Y - c)
    pts = np.array([c - v for v in reversed(left)] + [c + v for v in right[1:]])
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
        weights = np.empty((x.size, 2))  # ω_i (1, x_i): moments k = 0, 1
        weights[:, 0] = om
        weights[:, 1] = om * x
        return x, om, u, n, u.T @ weights

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

        def grad(x, om, u, n, gam, e0):
            """d/d(a, b) of Σ_jk M_jk gam_jk and of Σ_j M_j0 e0_j, M from the line (a, b)."""
            h = np.empty((x.size, 2, 2))  # [node, (payoff, correlation), component]
            h[:, 0, :] = (gam[:, 0][None, :] + x[:, None] * gam[:, 1][None, :]) * om[:, None]
            h[:, 1, :] = (e0[None, :] + x[:, None] * 0.0) * om[:, None]
            uu = u[:, None, :]
            # (I − uuᵀ)h/|g|
            proj = (h - np.sum(h * uu, axis=2)[:, :, None] * uu) / n[:, None, None]
            g0 = proj.sum(axis=0)
            g1 = (proj * x[:, None, None]).sum(axis=0)
            return np.concatenate((g0[0], g1[0])), np.concatenate((g0[1], g1[1]))

        gwa, gca = grad(xa, oa, ua, na, gam_a, t @ mb[:, 0])
        gwb, gcb = grad(xb, ob, ub, nb, gam_b, t.T @ ma[:, 0])
        grad_w = np.concatenate((gwa, gwb))
        grad_c = np.concatenate((gca, gcb))
        return -corr_w, -grad_w, 0.5 * (1.0 - corr), -0.5 * grad_c


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
