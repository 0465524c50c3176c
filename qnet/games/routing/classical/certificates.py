"""Certified upper bounds on the best deterministic routing payoff A_cl*(p) (Prop. 7).

* ``method="paper"`` -- Proposition 7 exactly as stated: a theta_A grid on
  [theta_min + epsilon, theta_max] along the main branch D0(theta_A) D0(theta_B) = 1 - 2p
  (D10-D15), Lipschitz constant L = max |dA~/dtheta_A| on a 10x finer grid (D18-D24),
  bound A_grid + L delta / 2 (D28), and the boundary condition D27 checked and reported.
  It leaves out theta_A in (theta_min, theta_min + epsilon) and (theta_max, inf), the
  constant-output routers at both ends, the branch where both D0 are negative and the
  mixed orientation, and L is sampled, not bounded.
* ``method="tight"`` (default) -- sound over the whole feasible set. Each branch of the
  constraint s D0_A D0_B = 1 - 2p is parametrized by v = D0(theta_A) on a compact interval
  (both ends included: they are the constant-output routers theta_B = inf or theta_A = inf,
  or theta = 0). On a cell [a, b] of v the quantities D0_A, D1_A, D0_B, D1_B are monotone,
  which gives a rigorous enclosure of the payoff (interval arithmetic), and
  dD1/dD0 = -ln((1 - D0)/2)/mu is monotone too, which gives a rigorous enclosure
  [d_lo, d_hi] of the payoff's derivative in v on the cell (infinite only on cells touching
  D0 = 1, where the first enclosure is used). The cell bound is the smaller of the interval
  enclosure and the two-slope bound min(f(a) + d_hi (v - a), f(b) - d_lo (b - v)). A
  branch-and-bound bisects every cell whose bound exceeds the best value found plus
  ``tolerance``; the certified bound is the largest cell bound of the final partition plus
  a rounding allowance of 1e-12 (1 + E[w]).

Examples:
    >>> from qnet.queues.model import SystemParams
    >>> cert = certified_classical_bound(0.2, SystemParams(lam=0.8, mu=1.0))
    >>> cert.slack < 1e-6, round(cert.best_value, 4)
    (True, -0.0515)
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import numpy as np
from numpy.typing import ArrayLike

from qnet.games.routing.classical.thresholds import (
    ThresholdStrategy,
    _check_p_half,
    _d0_d1_from_u,
    _payoff_from_moments,
    reduced_payoff,
    reduced_payoff_derivative,
    theta_b_on_constraint,
)
from qnet.queues.model import SystemParams, check_probability, mean_splitting_benefit

__all__ = [
    "ClassicalCertificate",
    "Method",
    "best_classical_value_at_half",
    "boundary_transition",
    "certified_classical_bound",
    "certified_classical_curve",
]

Method = Literal["tight", "paper"]


@dataclass(frozen=True)
class ClassicalCertificate:
    """Certified upper bound on the best deterministic classical payoff A_cl*(p) (Prop. 7).

    Attributes:
        p: splitting probability.
        method: "tight" or "paper".
        theta_a, theta_b: thresholds of the best strategy found (math.inf = constant +1).
        orientation: +1 (standard, eq. 6) or -1 (router B's output flipped).
        best_value: payoff attained by that feasible deterministic strategy.
        bound: certified upper bound on A_cl*(p).
        slack: bound - best_value.
        on_boundary: the best strategy has a constant-output router (theta 0 or inf).
        boundary_value: payoff of the constant-router strategy (theta_min, inf) (eq. D25).
        epsilon, grid_points, theta_max, delta, lipschitz, d27_holds: Prop. 7 details
            (method "paper"; None for "tight").
        tolerance, n_cells: branch-and-bound target and final partition size ("tight").
    """

    p: float
    method: str
    theta_a: float
    theta_b: float
    orientation: int
    best_value: float
    bound: float
    slack: float
    on_boundary: bool
    boundary_value: float
    epsilon: float | None = None
    grid_points: int | None = None
    theta_max: float | None = None
    delta: float | None = None
    lipschitz: float | None = None
    d27_holds: bool | None = None
    tolerance: float | None = None
    n_cells: int | None = None

    @property
    def strategy(self) -> ThresholdStrategy:
        """The best strategy found, playable by the routers."""
        return ThresholdStrategy(self.theta_a, self.theta_b, self.orientation)


def best_classical_value_at_half(params: SystemParams) -> tuple[float, ThresholdStrategy]:
    """Exact A_cl*(1/2) = (ln 2/mu)(c1/mu + c2) and a strategy attaining it (Remark 5, D7).

    At p = 1/2 the constraint D0_A D0_B = 0 forces one router to its median threshold
    ln 2/mu (D0 = 0, D1 = -ln 2/mu); the payoff (ln 2/mu)(c1 D1_B + c2 D0_B) is then
    increasing in theta_B, so the other router is constant (theta_B = inf).
    """
    mu = params.mu
    value = math.log(2.0) / mu * (params.c1 / mu + params.c2)
    return value, ThresholdStrategy(math.log(2.0) / mu, math.inf, 1)


# --------------------------------------------------------------------------------------
# tight certificate: branch-and-bound over v = D0(theta_A) on every branch
# --------------------------------------------------------------------------------------


def _branch_quantities(v, q, mu):
    """u_A, u_B and (D0, D1) of both routers at v = D0_A on the branch D0_A D0_B = q."""
    ua = 0.5 * (1.0 - v)
    ub = 0.5 * (v - q) / v  # (1 - q/v)/2, accurate near v = q
    ub = np.clip(ub, 0.0, 1.0)
    d0a, d1a = _d0_d1_from_u(ua, mu)
    d0b, d1b = _d0_d1_from_u(ub, mu)
    return ua, ub, d0a, d1a, d0b, d1b


def _branch_payoff(v, q, s, params: SystemParams):
    _, _, d0a, d1a, d0b, d1b = _branch_quantities(v, q, params.mu)
    return s * _payoff_from_moments(d0a, d1a, d0b, d1b, params)


def _imul(alo, ahi, blo, bhi):
    prods = np.stack([alo * blo, alo * bhi, ahi * blo, ahi * bhi])
    return prods.min(axis=0), prods.max(axis=0)


def _slope_dd1(u, mu):
    """dD1/dD0 = -ln(u)/mu, +inf at u = 0 (monotone decreasing in u)."""
    safe = np.where(u > 0.0, u, 1.0)
    return np.where(u > 0.0, -np.log(safe) / mu, np.inf)


def _cell_bounds(a, b, fa, fb, q, s, params: SystemParams):
    """Certified upper bound of s*A on cells [a, b] of v (a < b, same sign as q/v's range)."""
    mu, c1, c2 = params.mu, params.c1, params.c2
    ua_a, ub_a, d0a_a, d1a_a, d0b_a, d1b_a = _branch_quantities(a, q, mu)
    ua_b, ub_b, d0a_b, d1a_b, d0b_b, d1b_b = _branch_quantities(b, q, mu)
    # monotone enclosures: D0_A, D1_A increase with v; D0_B = q/v, D1_B monotone in D0_B.
    d0a_lo, d0a_hi = d0a_a, d0a_b
    d1a_lo, d1a_hi = d1a_a, d1a_b
    d0b_lo, d0b_hi = np.minimum(d0b_a, d0b_b), np.maximum(d0b_a, d0b_b)
    d1b_lo, d1b_hi = np.minimum(d1b_a, d1b_b), np.maximum(d1b_a, d1b_b)
    g_lo, g_hi = c1 * d1b_lo + c2 * d0b_lo, c1 * d1b_hi + c2 * d0b_hi  # monotone in D0_B
    # A = -(D1_A G + c2 D0_A D1_B)
    p1lo, p1hi = _imul(d1a_lo, d1a_hi, g_lo, g_hi)
    p2lo, p2hi = _imul(d0a_lo, d0a_hi, d1b_lo, d1b_hi)
    nat = -(p1lo + c2 * p2lo) if s > 0 else (p1hi + c2 * p2hi)
    # derivative enclosure dA/dv; L = dD1/dD0 is monotone: decreasing in u.
    la_lo, la_hi = _slope_dd1(ua_a, mu), _slope_dd1(ua_b, mu)  # u_A decreases with v
    ub_lo, ub_hi = np.minimum(ub_a, ub_b), np.maximum(ub_a, ub_b)
    lb_lo, lb_hi = _slope_dd1(ub_hi, mu), _slope_dd1(ub_lo, mu)
    # dD0_B/dv = -q/v^2: monotone in |v| on the cell
    e_a, e_b = -q / (a * a), -q / (b * b)
    e_lo, e_hi = np.minimum(e_a, e_b), np.maximum(e_a, e_b)
    with np.errstate(invalid="ignore"):
        # d(D1_B)/dv = L_B * dD0_B/dv, d(G)/dv = (c1 L_B + c2) dD0_B/dv
        db1_lo, db1_hi = _imul(lb_lo, lb_hi, e_lo, e_hi)
        dg_lo, dg_hi = _imul(c1 * lb_lo + c2, c1 * lb_hi + c2, e_lo, e_hi)
        # dA/dv = -(L_A G + D1_A G' + c2 (D1_B + D0_A D1_B'))
        t1 = _imul(la_lo, la_hi, g_lo, g_hi)
        t2 = _imul(d1a_lo, d1a_hi, dg_lo, dg_hi)
        t3 = _imul(d0a_lo, d0a_hi, db1_lo, db1_hi)
        s_lo = t1[0] + t2[0] + c2 * (d1b_lo + t3[0])
        s_hi = t1[1] + t2[1] + c2 * (d1b_hi + t3[1])
    d_lo, d_hi = (-s_hi, -s_lo) if s > 0 else (s_lo, s_hi)
    h = b - a
    finite = np.isfinite(d_lo) & np.isfinite(d_hi)
    d_lo = np.where(finite, d_lo, 0.0)
    d_hi = np.where(finite, d_hi, 0.0)
    # two-slope bound: max over v of min(fa + d_hi (v-a), fb - d_lo (b-v))
    denom = d_hi - d_lo
    with np.errstate(divide="ignore", invalid="ignore"):
        t = np.clip((fb - fa - d_lo * h) / np.where(denom > 0, denom, 1.0), 0.0, h)
    cross = np.where(denom > 0, fa + d_hi * t, np.maximum(fa, fb))
    two_slope = np.where(d_hi <= 0, fa, np.where(d_lo >= 0, fb, cross))
    return np.where(finite, np.minimum(nat, two_slope), nat)


def _branches(p: float) -> list[tuple[int, float, float, float]]:
    """(orientation s, product q, v_lo, v_hi) for every branch of s D0_A D0_B = 1 - 2p."""
    out = []
    for s in (1, -1):
        q = s * (1.0 - 2.0 * p)
        aq = abs(q)
        out.append((s, q, aq, 1.0))  # D0_A > 0
        out.append((s, q, -1.0, -aq))  # D0_A < 0
    return out


def _tight(
    p: float, params: SystemParams, tolerance: float, initial_cells: int, max_levels: int
) -> ClassicalCertificate:
    ew = mean_splitting_benefit(params)
    rounding = 1e-12 * (1.0 + ew)
    mu = params.mu
    bval, bstrat = _boundary_strategy(p, params)
    if p == 0.5:
        value, strat = best_classical_value_at_half(params)
        return ClassicalCertificate(
            p=p,
            method="tight",
            theta_a=strat.theta_a,
            theta_b=strat.theta_b,
            orientation=strat.orientation,
            best_value=value,
            bound=value + rounding,
            slack=rounding,
            on_boundary=True,
            boundary_value=value,
            tolerance=tolerance,
            n_cells=1,
        )
    cells_a, cells_b, qs, ss = [], [], [], []
    for s, q, lo, hi in _branches(p):
        edges = np.linspace(lo, hi, initial_cells + 1)
        cells_a.append(edges[:-1])
        cells_b.append(edges[1:])
        qs.append(np.full(initial_cells, q))
        ss.append(np.full(initial_cells, s))
    a = np.concatenate(cells_a)
    b = np.concatenate(cells_b)
    q = np.concatenate(qs)
    s = np.concatenate(ss)
    fa = _branch_payoff(a, q, s, params)
    fb = _branch_payoff(b, q, s, params)
    best_i = int(np.argmax(np.maximum(fa, fb)))
    best = float(max(fa[best_i], fb[best_i]))
    best_v, best_q, best_s = (
        (a[best_i] if fa[best_i] >= fb[best_i] else b[best_i]),
        q[best_i],
        s[best_i],
    )
    retired_bound = -math.inf
    n_final = 0
    for _level in range(max_levels):
        ub = np.empty_like(a)
        for sign in (1, -1):
            m = s == sign
            if np.any(m):
                ub[m] = _cell_bounds(a[m], b[m], fa[m], fb[m], q[m], sign, params)
        ub = np.maximum(ub, np.maximum(fa, fb))  # a cell bound is never below its end values
        keep = ub > best + tolerance
        if np.any(~keep):
            retired_bound = max(retired_bound, float(ub[~keep].max()))
            n_final += int((~keep).sum())
        if not np.any(keep):
            break
        a, b, fa, fb, q, s = a[keep], b[keep], fa[keep], fb[keep], q[keep], s[keep]
        if _level == max_levels - 1:
            retired_bound = max(retired_bound, float(ub[keep].max()))
            n_final += int(keep.sum())
            break
        mid = 0.5 * (a + b)
        fm = _branch_payoff(mid, q, s, params)
        i = int(np.argmax(fm))
        if fm[i] > best:
            best, best_v, best_q, best_s = float(fm[i]), mid[i], q[i], s[i]
        a, b = np.concatenate([a, mid]), np.concatenate([mid, b])
        fa, fb = np.concatenate([fa, fm]), np.concatenate([fm, fb])
        q, s = np.concatenate([q, q]), np.concatenate([s, s])
    bound = max(retired_bound, best) + rounding
    ua, ub_, *_ = _branch_quantities(np.array([best_v]), best_q, mu)
    theta_a = _theta_from_u(float(ua[0]), mu)
    theta_b = _theta_from_u(float(ub_[0]), mu)
    on_boundary = theta_a in (0.0, math.inf) or theta_b in (0.0, math.inf)
    return ClassicalCertificate(
        p=p,
        method="tight",
        theta_a=theta_a,
        theta_b=theta_b,
        orientation=int(best_s),
        best_value=best,
        bound=bound,
        slack=bound - best,
        on_boundary=on_boundary,
        boundary_value=bval,
        tolerance=tolerance,
        n_cells=n_final,
    )


def _theta_from_u(u: float, mu: float) -> float:
    if u <= 0.0:
        return math.inf
    if u >= 1.0:
        return 0.0
    return -math.log(u) / mu


def _boundary_strategy(p: float, params: SystemParams) -> tuple[float, ThresholdStrategy]:
    """Best strategy with a constant router B at splitting probability p (eq. D25).

    Router B outputs +1 always (theta_B = inf) and router A splits with probability p:
    theta_A = -ln(p)/mu (= theta_min for p < 1/2, orientation +1), or router B outputs -1
    always (orientation -1) and theta_A = -ln(1-p)/mu. The better of the two is returned.
    """
    mu = params.mu
    cands = [
        ThresholdStrategy(-math.log(p) / mu, math.inf, 1),
        ThresholdStrategy(-math.log1p(-p) / mu, math.inf, -1),
    ]
    vals = [c.payoff(params) for c in cands]
    k = int(np.argmax(vals))
    return vals[k], cands[k]


# --------------------------------------------------------------------------------------
# paper certificate: Proposition 7
# --------------------------------------------------------------------------------------


def _paper(
    p: float, params: SystemParams, epsilon: float, grid_points: int, theta_max: float, refine: int
) -> ClassicalCertificate:
    pp = _check_p_half(p)
    tmin = -math.log(pp) / params.mu
    lo = tmin + epsilon
    if not lo < theta_max:
        raise ValueError(
            f"theta_max must exceed theta_min + epsilon = {lo:.6g} at p = {pp}, got {theta_max}"
        )
    grid = np.linspace(lo, theta_max, grid_points)  # theta_min + eps + k delta, k = 0..K
    delta = float(grid[1] - grid[0])
    values = np.asarray(reduced_payoff(grid, pp, params))
    k = int(np.argmax(values))
    a_grid = float(values[k])
    fine = np.linspace(lo, theta_max, refine * (grid_points - 1) + 1)
    lip = float(np.max(np.abs(np.asarray(reduced_payoff_derivative(fine, pp, params)))))
    d27 = bool(values[0] < a_grid and values[-1] < a_grid)
    theta_a = float(grid[k])
    theta_b = float(theta_b_on_constraint(theta_a, pp, params))
    bval, _ = _boundary_strategy(pp, params)
    bound = a_grid + lip * delta / 2.0
    return ClassicalCertificate(
        p=pp,
        method="paper",
        theta_a=theta_a,
        theta_b=theta_b,
        orientation=1,
        best_value=a_grid,
        bound=bound,
        slack=bound - a_grid,
        on_boundary=False,
        boundary_value=bval,
        epsilon=epsilon,
        grid_points=grid_points,
        theta_max=theta_max,
        delta=delta,
        lipschitz=lip,
        d27_holds=d27,
    )


def certified_classical_bound(
    p: float,
    params: SystemParams,
    method: Method = "tight",
    epsilon: float = 0.01,
    grid_points: int = 500,
    theta_max: float = 12.0,
    *,
    tolerance: float = 1e-7,
    initial_cells: int = 32,
    max_levels: int = 60,
    lipschitz_refinement: int = 10,
) -> ClassicalCertificate:
    """Certified upper bound on the best deterministic classical payoff A_cl*(p) (Prop. 7, D9).

    Args:
        p: splitting probability; (0, 1/2) for "paper", (0, 1) for "tight".
        params: system parameters.
        method: "tight" (sound over the whole feasible set, default) or "paper"
            (Proposition 7 exactly as stated).
        epsilon: "paper" only: the grid starts at theta_min + epsilon (units 1/mu); the
            paper does not state its value. Strategies with theta_A in
            (theta_min, theta_min + epsilon) -- router B nearly or exactly constant -- are
            not covered by the "paper" bound.
        grid_points: "paper" only: number of theta_A grid points (paper: 500).
        theta_max: "paper" only: upper end of the theta_A grid (paper: 12).
        tolerance: "tight" only: the branch-and-bound stops when bound - best <= tolerance.
        initial_cells: "tight" only: initial cells per branch.
        max_levels: "tight" only: maximum bisection levels.
        lipschitz_refinement: "paper" only: the Lipschitz grid is this many times finer.
    """
    if method not in ("tight", "paper"):
        raise ValueError(f"method must be 'tight' or 'paper', got {method!r}")
    if method == "paper":
        if not (isinstance(epsilon, int | float) and math.isfinite(epsilon) and epsilon > 0):
            raise ValueError(f"epsilon must be a finite number > 0, got {epsilon!r}")
        if not (isinstance(grid_points, int) and grid_points >= 2):
            raise ValueError(f"grid_points must be an integer >= 2, got {grid_points!r}")
        if not (isinstance(theta_max, int | float) and math.isfinite(theta_max)):
            raise ValueError(f"theta_max must be a finite number, got {theta_max!r}")
        if not (isinstance(lipschitz_refinement, int) and lipschitz_refinement >= 1):
            raise ValueError(
                f"lipschitz_refinement must be an integer >= 1, got {lipschitz_refinement!r}"
            )
        return _paper(
            p, params, float(epsilon), grid_points, float(theta_max), lipschitz_refinement
        )
    pp = float(check_probability(p, open_interval=True))
    if not (math.isfinite(tolerance) and tolerance > 0):
        raise ValueError(f"tolerance must be a finite number > 0, got {tolerance!r}")
    if not (isinstance(initial_cells, int) and initial_cells >= 1):
        raise ValueError(f"initial_cells must be an integer >= 1, got {initial_cells!r}")
    if not (isinstance(max_levels, int) and max_levels >= 1):
        raise ValueError(f"max_levels must be an integer >= 1, got {max_levels!r}")
    return _tight(pp, params, float(tolerance), initial_cells, max_levels)


def certified_classical_curve(
    p_grid: ArrayLike, params: SystemParams, method: Method = "tight", **kwargs: float
) -> list[ClassicalCertificate]:
    """One certificate per p of ``p_grid`` (Prop. 7 / tight), in order (paper eq. D9)."""
    return [
        certified_classical_bound(float(p), params, method, **kwargs)  # type: ignore[arg-type]
        for p in np.atleast_1d(np.asarray(p_grid, dtype=float))
    ]


def boundary_transition(params: SystemParams, *, lo: float = 1e-3, hi: float = 0.4999) -> float:
    """Smallest p at which the best classical pair is the constant-router one (theta_min, inf).

    Bisection on p of "best value = boundary value (within 1e-12)" with tight certificates
    at tolerance 1e-11; returns the upper end of a bracket of width 1e-6 (or ``hi`` when
    the optimum stays interior).
    """

    def on_boundary(p: float) -> bool:
        cert = certified_classical_bound(p, params, tolerance=1e-11)
        return cert.best_value <= cert.boundary_value + 1e-12

    if not on_boundary(hi):
        return hi
    while hi - lo > 1e-6:
        mid = 0.5 * (lo + hi)
        lo, hi = (lo, mid) if on_boundary(mid) else (mid, hi)
    return hi
