"""The shared-randomness classical value: upper concave envelope over p (Theorem 9) and its
dual (Lagrangian) certificate over all strategies (Definition 4)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import optimize

from qnet.games.routing.classical.certificates import _slope_dd1, best_classical_value_at_half
from qnet.games.routing.classical.thresholds import (
    FloatOrArray,
    ThresholdStrategy,
    _d0_d1_from_u,
    _out,
    threshold_moments,
)
from qnet.queues.model import SystemParams, check_probability, mean_splitting_benefit

__all__ = [
    "ClassicalEnvelope",
    "certified_envelope_bound",
    "certify_envelope",
    "classical_envelope",
    "lagrangian_value",
]


@dataclass(frozen=True)
class ClassicalEnvelope:
    """Upper concave envelope over [0, 1/2] and the mixtures attaining it (paper Thm 9, C15).

    For each input p_i: ``envelope[i] = weight[i] * value(left_p[i]) + (1 - weight[i]) *
    value(right_p[i])`` with ``weight[i] * left_p[i] + (1 - weight[i]) * right_p[i] = p_i``;
    the routers play ``left_strategy[i]`` with probability ``weight[i]`` (shared random bit),
    else ``right_strategy[i]``. ``hull_p``/``hull_values`` are the envelope's vertices,
    including the exact end points p = 0 (always bunch, -E[w]) and p = 1/2.
    """

    p: NDArray[np.float64]
    values: NDArray[np.float64]
    envelope: NDArray[np.float64]
    left_p: NDArray[np.float64]
    right_p: NDArray[np.float64]
    weight: NDArray[np.float64]
    left_strategy: tuple[ThresholdStrategy | None, ...]
    right_strategy: tuple[ThresholdStrategy | None, ...]
    hull_p: NDArray[np.float64]
    hull_values: NDArray[np.float64]


def classical_envelope(
    p_grid: ArrayLike,
    values: ArrayLike,
    params: SystemParams,
    strategies: Sequence[ThresholdStrategy | None] | None = None,
) -> ClassicalEnvelope:
    """Upper concave envelope of (p_i, values_i) on [0, 1/2] with exact end points (Thm 9).

    ``values`` are deterministic classical values or certified bounds at ``p_grid``
    (p in (0, 1/2]); the exact end points A_cl*(0) = -E[w] (both routers always bunch) and
    A_cl*(1/2) = (ln 2/mu)(c1/mu + c2) (:func:`best_classical_value_at_half`) are added
    unless p = 0 or p = 1/2 is already in ``p_grid``.
    """
    pg = np.atleast_1d(np.asarray(p_grid, dtype=float))
    vals = np.atleast_1d(np.asarray(values, dtype=float))
    if pg.shape != vals.shape:
        raise ValueError(
            f"p_grid and values must have the same shape, got {pg.shape} and {vals.shape}"
        )
    if np.any(~np.isfinite(pg)) or np.any(pg < 0) or np.any(pg > 0.5):
        raise ValueError("p_grid must lie in [0, 1/2]")
    if np.any(~np.isfinite(vals)):
        raise ValueError("values must be finite")
    strats: list[ThresholdStrategy | None] = (
        list(strategies) if strategies is not None else [None] * pg.size
    )
    if len(strats) != pg.size:
        raise ValueError(f"strategies must have one entry per p, got {len(strats)} for {pg.size}")
    pts_p, pts_v, pts_s = list(pg), list(vals), list(strats)
    if not np.any(pg == 0.0):
        pts_p.append(0.0)
        pts_v.append(-mean_splitting_benefit(params))
        pts_s.append(ThresholdStrategy(math.inf, math.inf, 1))
    if not np.any(pg == 0.5):
        v_half, s_half = best_classical_value_at_half(params)
        pts_p.append(0.5)
        pts_v.append(v_half)
        pts_s.append(s_half)
    order = sorted(range(len(pts_p)), key=lambda i: (pts_p[i], -pts_v[i]))
    hull: list[int] = []  # upper hull (Andrew's monotone chain), indices into pts
    for i in order:
        if hull and pts_p[hull[-1]] == pts_p[i]:
            continue  # same p, lower or equal value (sorted by -value)
        while len(hull) >= 2:
            i1, i2 = hull[-2], hull[-1]
            cross = (pts_p[i2] - pts_p[i1]) * (pts_v[i] - pts_v[i1]) - (pts_v[i2] - pts_v[i1]) * (
                pts_p[i] - pts_p[i1]
            )
            if cross >= 0:  # i2 is on or below the chord i1 -> i
                hull.pop()
            else:
                break
        hull.append(i)
    hp = np.array([pts_p[i] for i in hull])
    hv = np.array([pts_v[i] for i in hull])
    env = np.interp(pg, hp, hv)
    j = np.clip(np.searchsorted(hp, pg, side="right") - 1, 0, max(hp.size - 2, 0))
    left = hp[j]
    right = hp[np.minimum(j + 1, hp.size - 1)]
    at_vertex = np.isclose(pg, left, rtol=0, atol=1e-15) | (right == left)
    span = np.where(right > left, right - left, 1.0)
    weight = np.where(at_vertex, 1.0, (right - pg) / span)
    right = np.where(at_vertex, left, right)
    env = np.where(at_vertex, hv[j], env)
    lstr = tuple(pts_s[hull[int(k)]] for k in j)
    rstr = tuple(
        pts_s[hull[int(k)]] if v else pts_s[hull[min(int(k) + 1, len(hull) - 1)]]
        for k, v in zip(j, at_vertex, strict=True)
    )
    return ClassicalEnvelope(
        p=pg,
        values=vals,
        envelope=env,
        left_p=left,
        right_p=right,
        weight=weight,
        left_strategy=lstr,
        right_strategy=rstr,
        hull_p=hp,
        hull_values=hv,
    )


# --------------------------------------------------------------------------------------
# dual certificate of the shared-randomness value (Theorem 9 / Definition 4)
# --------------------------------------------------------------------------------------


def _abs_affine_mean(alpha, beta, mu: float):
    """E|alpha X + beta| for X ~ Exp(mu), elementwise (convex in (alpha, beta))."""
    flip = alpha < 0
    a = np.where(flip, -alpha, alpha)
    b = np.where(flip, -beta, beta)
    same = (b >= 0) | (a == 0)
    safe_a = np.where(same, 1.0, a)
    expo = np.where(same, 0.0, mu * b / safe_a)  # <= 0 where used
    # Y = aX + b with a > 0 > b: E|Y| = E[Y] + 2 E[Y^-] = -a/mu - b + (2a/mu) e^{mu b/a}
    crossing = -a / mu - b + 2.0 * a / mu * np.exp(expo)
    return np.where(same, np.abs(a / mu + b), crossing)


def _lagrangian_terms(ub, slope: float, params: SystemParams):
    """(alpha, beta) of router A's best-response problem given router B's u_B (any sign)."""
    d0b, d1b = _d0_d1_from_u(ub, params.mu)
    return _alpha_beta(d0b, d1b, slope, params)


def _alpha_beta(d0b, d1b, slope: float, params: SystemParams):
    alpha = params.c1 * d1b + params.c2 * d0b
    beta = params.c2 * d1b - 0.5 * slope * d0b
    return alpha, beta


def _lagrangian_cell_bound(a, b, slope: float, params: SystemParams):
    """Upper bound of E|alpha X + beta| - b/2 over router-B cells u_B in [a, b].

    D1 is a convex function of D0 along the threshold curve (dD1/dD0 = -ln(u)/mu grows
    with D0), so the curve piece lies in the triangle spanned by its end points and the
    intersection T of the end tangents; E|alpha X + beta| is convex in (D0_B, D1_B), so its
    maximum over the triangle is at a vertex. The box [D0] x [D1] is a fallback.
    """
    mu = params.mu
    d0_b, d1_b = _d0_d1_from_u(b, mu)  # u larger -> D0, D1 smaller
    d0_a, d1_a = _d0_d1_from_u(a, mu)
    m_a, m_b = _slope_dd1(a, mu), _slope_dd1(b, mu)  # tangent slopes, m_a >= m_b

    def psi(d0, d1):
        return _abs_affine_mean(*_alpha_beta(d0, d1, slope, params), mu) - 0.5 * slope

    box = np.max(np.stack([psi(d0, d1) for d0 in (d0_b, d0_a) for d1 in (d1_b, d1_a)]), axis=0)
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        vertical = np.isinf(m_a)
        denom = np.where(vertical, 1.0, m_a - m_b)
        d0_t = np.where(
            vertical, d0_a, (d1_b - d1_a + np.where(vertical, 0.0, m_a) * d0_a - m_b * d0_b) / denom
        )
        d1_t = d1_b + m_b * (d0_t - d0_b)
        ok = (vertical | (m_a - m_b > 1e-12)) & np.isfinite(d0_t) & np.isfinite(d1_t)
        ok &= (d0_t >= d0_b - 1e-12) & (d0_t <= d0_a + 1e-12)
        tri = np.maximum(psi(d0_a, d1_a), psi(d0_b, d1_b))
        tri = np.maximum(tri, psi(np.where(ok, d0_t, d0_a), np.where(ok, d1_t, d1_a)))
    return np.where(ok, np.minimum(tri, box), box)


def lagrangian_value(slope: float, params: SystemParams, *, tolerance: float = 1e-9) -> float:
    """Certified upper bound on G(b) = sup over deterministic strategies of A - b p (Thm 9 dual).

    For any strategy, A - b p = -E[o_A(X1) (alpha X1 + beta)] - b/2 with alpha, beta affine
    in router B's moments (D0_B, D1_B) (eqs. C5, C8); the best o_A gives E|alpha X + beta|,
    convex in (D0_B, D1_B), so the supremum over router B is attained at an extreme point
    of its moment set: a threshold function of either orientation (theta_B in [0, inf]).
    A branch-and-bound over u_B = e^{-mu theta_B} in [0, 1] bounds each cell by the
    maximum of E|alpha X + beta| over the four corners of the (D0_B, D1_B) box (convexity),
    to ``tolerance``; a rounding allowance of 1e-12 (1 + E[w] + |b|) is added.
    """
    if not math.isfinite(slope):
        raise ValueError(f"slope must be a finite number, got {slope!r}")
    mu = params.mu

    def value(u):
        alpha, beta = _lagrangian_terms(u, slope, params)
        return _abs_affine_mean(alpha, beta, mu) - 0.5 * slope

    a = np.linspace(0.0, 1.0, 65)[:-1]
    b = a + 1.0 / 64
    b[-1] = 1.0
    fa, fb = value(a), value(b)
    best = float(max(fa.max(), fb.max()))
    retired = -math.inf
    for level in range(80):
        ub = np.maximum(_lagrangian_cell_bound(a, b, slope, params), np.maximum(fa, fb))
        keep = ub > best + tolerance
        if np.any(~keep):
            retired = max(retired, float(ub[~keep].max()))
        if not np.any(keep):
            break
        if level == 79:
            retired = max(retired, float(ub[keep].max()))
            break
        a, b, fa, fb = a[keep], b[keep], fa[keep], fb[keep]
        mid = 0.5 * (a + b)
        fm = value(mid)
        best = max(best, float(fm.max()))
        a, b = np.concatenate([a, mid]), np.concatenate([mid, b])
        fa, fb = np.concatenate([fa, fm]), np.concatenate([fm, fb])
    ew = mean_splitting_benefit(params)
    return max(retired, best) + 1e-12 * (1.0 + ew + abs(slope))


def certified_envelope_bound(
    p: ArrayLike, slopes: ArrayLike, params: SystemParams, *, tolerance: float = 1e-9
) -> FloatOrArray:
    """Sound upper bound G(b) + b p on the shared-randomness value A_cl,SR*(p) (Thm 9, C14).

    Valid for every slope b and every p, with mixtures over the whole range p' in [0, 1]
    (Definition 4) and between grid points; it is tight when b is the envelope's slope at p.
    """
    pp = np.atleast_1d(np.asarray(check_probability(p), dtype=float))
    bb = np.broadcast_to(np.asarray(slopes, dtype=float), pp.shape)
    out = np.array(
        [
            lagrangian_value(float(b), params, tolerance=tolerance) + b * x
            for x, b in zip(pp, bb, strict=True)
        ]
    )
    return _out(out, p)


def certify_envelope(
    envelope: ClassicalEnvelope,
    params: SystemParams,
    *,
    tolerance: float = 1e-9,
    refine_above: float = 1e-6,
) -> NDArray[np.float64]:
    """Dual check of a grid envelope: per p, min over the adjacent hull slopes of G(b) + b p.

    Returns certified upper bounds on A_cl,SR*(p) at ``envelope.p`` that also cover
    mixtures with p' outside the grid or above 1/2 (Thm 9 dual, :func:`lagrangian_value`).
    Candidate slopes: the adjacent hull segments and the Lagrange multiplier of the best
    pair (:func:`_kkt_slope`); where the result still exceeds the envelope by more than
    ``refine_above`` the slope is optimized (the bound is convex in it). Where A_cl* is
    concave the result equals the envelope up to the tolerances; where it is higher, mixing
    strategies at p' off the grid (or above 1/2) beats the grid envelope.
    """
    hp, hv = envelope.hull_p, envelope.hull_values
    seg = np.diff(hv) / np.diff(hp)
    out = np.empty_like(envelope.p)
    for i, x in enumerate(envelope.p):
        j = int(np.clip(np.searchsorted(hp, x, side="right") - 1, 0, seg.size - 1))
        cands = {float(seg[j])}
        if np.isclose(x, hp[j]) and j > 0:
            cands.add(float(seg[j - 1]))
        if np.isclose(x, hp[j + 1]) and j + 1 < seg.size:
            cands.add(float(seg[j + 1]))
        strat = envelope.left_strategy[i]
        if envelope.weight[i] == 1.0 and strat is not None:
            kkt = _kkt_slope(strat, params)
            if kkt is not None:
                cands.add(kkt)
        vals = {b: lagrangian_value(b, params, tolerance=tolerance) + b * x for b in cands}
        out[i] = min(vals.values())
        if out[i] - envelope.envelope[i] > refine_above:
            # G(b) + b p is convex in b: refine the slope by bounded Brent around the candidates
            lo, hi = min(cands), max(cands)
            pad = 0.1 * (hi - lo) + 1e-3 * (1.0 + abs(hi))
            res = optimize.minimize_scalar(
                lambda b, x=x: lagrangian_value(float(b), params, tolerance=tolerance) + b * x,
                bounds=(lo - pad, hi + pad),
                method="bounded",
                options={"xatol": 1e-7 * (1.0 + abs(hi)), "maxiter": 60},
            )
            out[i] = min(out[i], float(res.fun))
    return out


def _kkt_slope(strategy: ThresholdStrategy, params: SystemParams) -> float | None:
    """dA/dp along the constraint at a threshold pair: the Lagrange multiplier of D8.

    b = (dA/dtheta_A)/(dp/dtheta_A) = 2 ((c1 theta_A + c2) D1_B/D0_B + c2 theta_A) (from
    D20, D22-D23; the orientation cancels), or the same with A and B exchanged.
    """
    c1, c2 = params.c1, params.c2
    for mine, other in ((strategy.theta_a, strategy.theta_b), (strategy.theta_b, strategy.theta_a)):
        d0o, d1o = threshold_moments(other, params)
        if math.isfinite(mine) and d0o != 0.0:
            val = 2.0 * ((c1 * mine + c2) * d1o / d0o + c2 * mine)
            if math.isfinite(val):
                return float(val)
    return None
