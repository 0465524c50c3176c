"""An upper bound on every quantum strategy of the routing game: weak duality in the
multiplier ν and an outer polytope of the moment set (docs/optimal-strategies.md)."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from scipy.optimize import minimize

from qnet.games.routing.optimal.line import LineGame
from qnet.games.routing.optimal.optimize import (
    OptimalResult,
    _check_p,
    _kmat,
    lagrangian_best_response,
    optimize_optimal,
)
from qnet.queues.model import SystemParams

__all__ = [
    "QuantumBound",
    "QuantumCertificate",
    "certify_quantum",
]


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
