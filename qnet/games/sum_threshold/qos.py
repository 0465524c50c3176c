"""The workshop paper's QoS framing, measured with the full paper's exact waiting time (A12).

A split policy r(x1, x2) has mean wait (A12, :func:`qnet.queues.model.mean_wait`)
E[Wq] = lam (E[S²] − 2 E[r X1 X2]) / (4(1 − rho)) + (E[S] − E[r S])/4 = C − E[r w],
w = c1 x1 x2 + c2 (x1 + x2). At a fixed splitting probability p = E[r] the wait is least
for the policy that splits where w is largest: the *w-threshold* oracle, not the
sum-threshold rule x1 + x2 > t of the workshop's Theorem 4.1 (:func:`theorem_check`).

For a QoS limit W_l each strategy family needs a splitting probability (the least p with
E[Wq] ≤ W_l): the two oracles (:func:`oracle_p_at_limit`), and the sum-threshold game's
best strategies traced over C_t (:func:`family_p_at_limit`). Baseline throughput for
T(t) = t^k is :func:`qnet.queues.model.baseline_throughput_power`; the workshop's ratio is
R_k = ((1 + p_c)/(1 + p_q))^{k−1} (eq. 8).

Moments here are exact (closed forms per input bin) or Gauss–Laguerre in the service
times (smooth relative angles); a local strategy is assumed load-balanced (a shared
random bit flips both outputs; the quantum outcomes are uniform), as A12 requires.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.optimize import brentq
from scipy.special import gammaincc

from qnet.games.routing.classical import certified_classical_curve, classical_envelope
from qnet.games.routing.mixture import ENVELOPE_GRID, Mixture, classical_mixture
from qnet.games.routing.oracle import oracle_policy_moments
from qnet.queues.model import SystemParams, mean_wait, mean_wait_from_payoff

__all__ = [
    "Moments",
    "TheoremRow",
    "best_pairs_at_limit",
    "bin_moments",
    "envelope_at_limit",
    "envelope_moments",
    "family_p_at_limit",
    "oracle_p_at_limit",
    "relative_angle_moments",
    "sum_oracle_moments",
    "theorem_check",
    "throughput_ratio",
    "threshold_pair_moments",
    "w_oracle_moments",
]


@dataclass(frozen=True)
class Moments:
    """E[r], E[r X1 X2], E[r S] of a split policy r and its mean wait E[Wq] (A12)."""

    p: float
    e_r_x1x2: float
    e_r_s: float
    wait: float


def _moments(params: SystemParams, p: float, e_x1x2: float, e_s: float) -> Moments:
    return Moments(p, e_x1x2, e_s, mean_wait(params, e_x1x2, e_s))


def sum_oracle_moments(t: float, params: SystemParams) -> Moments:
    """Split iff x1 + x2 > t (Theorem 4.1's rule): S ~ Erlang(2, mu), E[X1 X2 | S] = S²/6."""
    z = params.mu * max(float(t), 0.0)
    mu = params.mu
    return _moments(params, gammaincc(2, z), gammaincc(4, z) / mu**2, 2.0 * gammaincc(3, z) / mu)


def w_oracle_moments(p: float, params: SystemParams) -> Moments:
    """Split iff w(x1, x2) > tau_p (the full paper's oracle, A19), exact quadrature."""
    _, e_x1x2, e_s = oracle_policy_moments(p, params)
    return _moments(params, p, e_x1x2, e_s)


def _bin_stats(edges: NDArray[np.float64], mu: float) -> tuple[NDArray, NDArray]:
    """Per bin of a = F(x): Pr[bin] and E[x; bin], with ∫ −ln(1 − a) da = (1 − a)ln(1 − a) + a."""
    one_minus = 1.0 - edges
    g = np.where(one_minus > 0, one_minus * np.log(np.where(one_minus > 0, one_minus, 1.0)), 0.0)
    g = g + edges
    return np.diff(edges), np.diff(g) / mu


def bin_moments(
    edges_a: ArrayLike, edges_b: ArrayLike, corr: ArrayLike, params: SystemParams
) -> Moments:
    """Moments of a strategy with E[o_A o_B] = corr[i, j] on input cell (i, j), exact (A12)."""
    m0a, m1a = _bin_stats(np.asarray(edges_a, dtype=float), params.mu)
    m0b, m1b = _bin_stats(np.asarray(edges_b, dtype=float), params.mu)
    r = 0.5 * (1.0 - np.asarray(corr, dtype=float))
    return _moments(
        params,
        float(m0a @ r @ m0b),
        float(m1a @ r @ m1b),
        float(m1a @ r @ m0b + m0a @ r @ m1b),
    )


def threshold_pair_moments(alpha: float, beta: float, sign: int, params: SystemParams) -> Moments:
    """Moments of o_A = sign·(+1 iff a < α), o_B = +1 iff b < β (exact)."""
    ea = np.unique([0.0, min(max(alpha, 0.0), 1.0), 1.0])
    eb = np.unique([0.0, min(max(beta, 0.0), 1.0), 1.0])
    sa = sign * np.where(ea[:-1] < alpha, 1.0, -1.0)
    sb = np.where(eb[:-1] < beta, 1.0, -1.0)
    return bin_moments(ea, eb, np.outer(sa, sb), params)


def relative_angle_moments(
    phases: Callable[[NDArray, NDArray], tuple[NDArray, NDArray]],
    params: SystemParams,
    order: int = 80,
) -> Moments:
    """Moments of a ψ−/X–Y strategy E = −cos(φ_A(a) − φ_B(b)) by Gauss–Laguerre in x1, x2."""
    y, w = np.polynomial.laguerre.laggauss(order)
    x = y / params.mu
    a = -np.expm1(-y)
    phi_a, phi_b = phases(a[:, None], a[None, :])
    r = 0.5 * (1.0 + np.cos(phi_a - phi_b))
    ww = np.outer(w, w)
    return _moments(
        params,
        float(np.sum(ww * r)),
        float(np.sum(ww * r * np.outer(x, x))),
        float(np.sum(ww * r * (x[:, None] + x[None, :]))),
    )


@dataclass(frozen=True)
class TheoremRow:
    """Both oracles at one splitting probability p: mean waits and the sum rule's excess."""

    p: float
    t: float
    wait_sum: float
    wait_w: float

    @property
    def excess(self) -> float:
        """E[Wq] of the sum threshold minus the w-threshold's, at equal p (≥ 0 by A12)."""
        return self.wait_sum - self.wait_w


def _sum_threshold_time(p: float, params: SystemParams) -> float:
    """t with Pr[X1 + X2 > t] = p."""
    return brentq(lambda t: gammaincc(2, params.mu * t) - p, 0.0, 200.0 / params.mu, xtol=1e-14)


def theorem_check(p_values: ArrayLike, params: SystemParams) -> list[TheoremRow]:
    """Theorem 4.1 against A12: E[Wq] of the sum- and w-threshold oracles at equal p."""
    rows = []
    for p in np.atleast_1d(np.asarray(p_values, dtype=float)):
        if not 0.0 < p < 1.0:
            raise ValueError(f"p = {p:g} is out of range: allowed (0, 1)")
        t = _sum_threshold_time(float(p), params)
        rows.append(
            TheoremRow(
                float(p),
                t,
                sum_oracle_moments(t, params).wait,
                w_oracle_moments(float(p), params).wait,
            )
        )
    return rows


def _check_limit(w_l: float, params: SystemParams) -> None:
    lo = mean_wait(params, 1.0 / params.mu**2, 2.0 / params.mu)  # always split
    hi = mean_wait(params, 0.0, 0.0)  # never split
    if not (math.isfinite(w_l) and lo < w_l < hi):
        raise ValueError(
            f"w_l = {w_l!r} is out of range: allowed ({lo:.6g}, {hi:.6g}) "
            "(between always splitting and never splitting)"
        )


def oracle_p_at_limit(w_l: float, params: SystemParams, rule: str) -> float:
    """Least p at which the ``rule`` oracle ("sum" or "w") meets E[Wq] = W_l."""
    _check_limit(w_l, params)
    if rule == "sum":
        t = brentq(lambda t: sum_oracle_moments(t, params).wait - w_l, 0.0, 200.0 / params.mu)
        return float(sum_oracle_moments(t, params).p)
    if rule == "w":
        return float(
            brentq(lambda p: w_oracle_moments(p, params).wait - w_l, 1e-9, 1 - 1e-9, xtol=1e-12)
        )
    raise ValueError(f"rule = {rule!r} is not allowed: use 'sum' or 'w'")


def family_p_at_limit(
    w_l: float,
    params: SystemParams,
    member: Callable[[float], Moments],
    c_values: ArrayLike,
    refine: int = 30,
) -> tuple[float, float, Moments]:
    """Least p of a family of strategies indexed by C_t that meets E[Wq] ≤ W_l.

    ``member(C_t)`` gives the moments of the family's strategy at C_t (e.g. the best
    threshold pair of the game at C_t). Among the grid points meeting the limit the one of
    least p is taken, then the crossing with its neighbour is refined by bisection.
    Returns (p, C_t, moments); raises if no grid point meets the limit.
    """
    _check_limit(w_l, params)
    cs = np.asarray(c_values, dtype=float)
    ms = [member(float(c)) for c in cs]
    ok = [k for k, m in enumerate(ms) if m.wait <= w_l]
    if not ok:
        raise ValueError(f"w_l = {w_l:g}: no strategy of the family on the C_t grid meets it")
    k = min(ok, key=lambda i: ms[i].p)
    best_c, best = float(cs[k]), ms[k]
    for j in (k - 1, k + 1):
        if 0 <= j < cs.size and ms[j].wait > w_l:
            lo, hi = float(cs[j]), float(cs[k])  # lo fails, hi meets
            for _ in range(refine):
                mid = 0.5 * (lo + hi)
                m = member(mid)
                if m.wait <= w_l:
                    hi = mid
                    if m.p < best.p:
                        best_c, best = mid, m
                else:
                    lo = mid
    return best.p, best_c, best


def throughput_ratio(p_c: float, p_q: float, k: float) -> float:
    """R_k = ((1 + p_c)/(1 + p_q))^{k−1} for T(t) = t^k (workshop eq. 8)."""
    return ((1.0 + p_c) / (1.0 + p_q)) ** (k - 1.0)


def _lower_hull(p: NDArray, w: NDArray) -> tuple[NDArray, NDArray]:
    """Lower convex hull of points (p, w), sorted by p (monotone chain)."""
    order = np.lexsort((w, p))
    hull: list[tuple[float, float]] = []
    for x, y in zip(p[order], w[order], strict=True):
        while len(hull) >= 2:
            (x1, y1), (x2, y2) = hull[-2], hull[-1]
            if (x2 - x1) * (y - y1) - (y2 - y1) * (x - x1) <= 0:
                hull.pop()
            else:
                break
        hull.append((float(x), float(y)))
    arr = np.array(hull)
    return arr[:, 0], arr[:, 1]


def best_pairs_at_limit(w_l: float, params: SystemParams, grid: int = 401) -> tuple[float, float]:
    """Least p meeting E[Wq] ≤ W_l over all threshold pairs: (deterministic, with shared coin).

    Every threshold pair (α, β, ±) on a grid of ``grid`` points per side, exact moments; the
    second value mixes two pairs by shared randomness (the lower convex hull of (p, Wq)).
    These optimize the QoS problem directly, not the sum-threshold game.
    """
    _check_limit(w_l, params)
    mu = params.mu
    q = np.linspace(0.0, 1.0, grid)
    g = np.where(q < 1.0, (1.0 - q) * np.log(np.where(q < 1.0, 1.0 - q, 1.0)), 0.0) + q
    m0_in, m1_in = q, g / mu
    m0_out, m1_out = 1.0 - q, (1.0 - g) / mu
    a0i, a1i, a0o, a1o = (v[:, None] for v in (m0_in, m1_in, m0_out, m1_out))
    b0i, b1i, b0o, b1o = (v[None, :] for v in (m0_in, m1_in, m0_out, m1_out))
    ps, ws = [], []
    for cells in (
        ((a0i, a1i, b0o, b1o), (a0o, a1o, b0i, b1i)),
        ((a0i, a1i, b0i, b1i), (a0o, a1o, b0o, b1o)),
    ):
        p = sum(c[0] * c[2] for c in cells)
        x12 = sum(c[1] * c[3] for c in cells)
        s = sum(c[1] * c[2] + c[0] * c[3] for c in cells)
        e_s, e_s2, rho = 2.0 / mu, 6.0 / mu**2, params.rho
        ps.append(p.ravel())
        ws.append((params.lam * (e_s2 - 2.0 * x12) / (4.0 * (1.0 - rho)) + (e_s - s) / 4.0).ravel())
    p_all, w_all = np.concatenate(ps), np.concatenate(ws)
    det = float(np.min(p_all[w_all <= w_l]))
    hp, hw = _lower_hull(p_all, w_all)
    k = int(np.argmax(hw <= w_l))  # first hull vertex meeting the limit (hull decreases)
    if k == 0:
        return det, float(hp[0])
    frac = (hw[k - 1] - w_l) / (hw[k - 1] - hw[k])
    return det, float(hp[k - 1] + frac * (hp[k] - hp[k - 1]))


def envelope_moments(mixture: Mixture, params: SystemParams) -> Moments:
    """Exact moments of a shared-randomness mixture of threshold strategies (weighted sum)."""
    acc = np.zeros(3)
    for weight, s in zip(mixture.weights, mixture.strategies, strict=True):
        alpha, beta = (-math.expm1(-params.mu * th) for th in (s.theta_a, s.theta_b))  # type: ignore[union-attr]
        m = threshold_pair_moments(alpha, beta, s.orientation, params)  # type: ignore[union-attr]
        acc += weight * np.array([m.p, m.e_r_x1x2, m.e_r_s])
    return _moments(params, float(acc[0]), float(acc[1]), float(acc[2]))


def envelope_at_limit(w_l: float, params: SystemParams) -> Mixture | None:
    """The best classical strategy for the QoS problem itself at W_l: the full paper's
    classical envelope (Thm 9) at the least p whose wait meets W_l, a playable mixture.

    The certified envelope on :data:`~qnet.games.routing.mixture.ENVELOPE_GRID` gives the
    crossing p (wait is affine in the payoff, A12); the mixture is then rebuilt there
    (:func:`~qnet.games.routing.mixture.classical_mixture`). ``None`` if the limit needs
    p > 1/2, where the envelope is not built.
    """
    _check_limit(w_l, params)
    grid = np.asarray(ENVELOPE_GRID)
    certs = certified_classical_curve(grid, params, "tight")
    env = classical_envelope(
        grid, [c.best_value for c in certs], params, [c.strategy for c in certs]
    )
    wait = np.asarray(mean_wait_from_payoff(env.hull_values, params), dtype=float)
    if wait[-1] > w_l:
        return None
    k = int(np.argmax(wait <= w_l))
    if k == 0:
        return classical_mixture(float(env.hull_p[1]), params)
    frac = (wait[k - 1] - w_l) / (wait[k - 1] - wait[k])
    p = float(env.hull_p[k - 1] + frac * (env.hull_p[k] - env.hull_p[k - 1]))
    return classical_mixture(p, params)
