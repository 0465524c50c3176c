"""The oracle w-threshold policy: tau_p and its game payoff A*(p) (paper Sec. IV, App. A5, D4).

The oracle sees both service times and splits a pair when w(X1, X2) > tau_p, with tau_p
the (1 - p)-quantile of w, so that Pr[w > tau_p] = p (eq. A19). Its payoff is
A*(p) = -E[sign(tau_p - w) w] = -E[w] + 2 E[w 1{w > tau_p}] (eq. B1, B11).

Deterministic 1-D quadrature. For fixed x1 the event w(x1, X2) > tau is linear in X2:
X2 > g(x1) = (tau - c2 x1)/(c1 x1 + c2) when x1 < T = tau/c2, and always otherwise. Hence

    Pr[w > tau]        = e^{-mu T} + int_0^T mu e^{-mu (x + g(x))} dx,
    E[w 1{w > tau}]    = e^{-mu T} ((c1/mu + c2)(T + 1/mu) + c2/mu)
                         + int_0^T mu e^{-mu (x + g(x))} (tau + (c1 x + c2)/mu) dx,

and the density of w is f_w(tau) = int_0^T mu^2 e^{-mu (x + g(x))} / (c1 x + c2) dx.
The integrals are taken in y = ln(c1 x + c2), where the integrand is entire (the pole of
g at x = -c2/c1 moves to y = -inf), by Gauss-Legendre on two panels split at the peak of
e^{-mu (x + g)} (c1 x + c2 = sqrt(c2^2 + c1 tau)). tau_p is found by safeguarded Newton
on ln Pr[w > tau]. The reported error bound adds the difference between the n- and
n/2-point rules (a-posteriori quadrature error estimate, conservative for this entire
integrand), the root-finding residual propagated through dA*/dp = 2 tau_p, and a rounding
allowance of 1e-14 E[w].

Examples:
    >>> from qnet.queues.model import SystemParams
    >>> res = oracle_payoff(0.2, SystemParams(lam=0.8, mu=1.0))
    >>> res.error_bound < 1e-9, round(res.value, 4)
    (True, 0.6683)
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

from qnet.queues.model import SystemParams, check_probability, mean_splitting_benefit

__all__ = [
    "OracleResult",
    "oracle_payoff",
    "oracle_payoff_monte_carlo",
    "oracle_policy_moments",
    "oracle_split_probability",
    "oracle_threshold",
]

FloatOrArray = float | NDArray[np.float64]
_DEFAULT_NODES = 64


@dataclass(frozen=True)
class OracleResult:
    """Oracle payoff A*(p) with its error bound and threshold tau_p (paper eqs. A19, B1).

    Attributes:
        value: A*(p) = -E[sign(tau_p - w) w] (float, or array for an array of p).
        error_bound: bound on |value - exact A*(p)| (quadrature + root + rounding).
        tau: the threshold tau_p with Pr[w > tau_p] = p.
    """

    value: FloatOrArray
    error_bound: FloatOrArray
    tau: FloatOrArray


def _nodes(n: int) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    x, w = np.polynomial.legendre.leggauss(n)
    return x, w


def _integrals(
    tau: NDArray[np.float64], params: SystemParams, n: int
) -> dict[str, NDArray[np.float64]]:
    """The x-integrals over [0, T] of the module docstring, for each tau (shape (m,))."""
    mu, c1, c2 = params.mu, params.c1, params.c2
    tau = np.asarray(tau, dtype=float)[:, None]
    big_t = tau / c2
    y_lo = math.log(c2) * np.ones_like(tau)
    y_hi = np.log(c1 * big_t + c2)
    y_mid = 0.5 * np.log(c2 * c2 + c1 * tau)
    gx, gw = _nodes(n)
    ys, ws = [], []
    for a, b in ((y_lo, y_mid), (y_mid, y_hi)):
        half = 0.5 * (b - a)
        ys.append(a + half * (gx[None, :] + 1.0))
        ws.append(half * gw[None, :])
    y = np.concatenate(ys, axis=1)
    wq = np.concatenate(ws, axis=1)
    ey = np.exp(y)  # c1 x + c2
    x = (ey - c2) / c1
    g = (tau - c2 * x) / ey
    dx = ey / c1  # dx/dy
    e = np.exp(-mu * (x + g)) * wq * dx
    return {
        "i0": mu * e.sum(axis=1),  # int mu E dx
        "i1": mu * mu * (e / ey).sum(axis=1),  # int mu^2 E/(c1 x + c2) dx
        "j": (e * ey).sum(axis=1),  # int E (c1 x + c2) dx
        "ex": mu * (e * x).sum(axis=1),  # int mu E x dx
        "exg": mu * (e * x * g).sum(axis=1),  # int mu E x g dx
    }


def _tail(tau: NDArray[np.float64], params: SystemParams) -> NDArray[np.float64]:
    return np.exp(-params.mu * np.asarray(tau, dtype=float) / params.c2)


def oracle_split_probability(
    tau: ArrayLike, params: SystemParams, *, nodes: int = _DEFAULT_NODES
) -> FloatOrArray:
    """Pr[w(X1, X2) > tau] by 1-D Gauss-Legendre quadrature (paper eq. A19)."""
    t = np.atleast_1d(np.asarray(tau, dtype=float))
    if np.any(~np.isfinite(t)) or np.any(t < 0):
        raise ValueError(f"tau must be a finite number >= 0, got {tau!r}")
    out = _tail(t, params) + _integrals(t, params, nodes)["i0"]
    out = np.clip(out, 0.0, 1.0)
    return float(out[0]) if np.ndim(tau) == 0 else out


def _solve_tau(p: NDArray[np.float64], params: SystemParams, n: int) -> NDArray[np.float64]:
    """tau with Pr[w > tau] = p for p in (0, 1): bracketed Newton on ln Pr[w > tau]."""
    lo = np.zeros_like(p)
    hi = np.full_like(p, 2.0 * mean_splitting_benefit(params))
    for _ in range(200):
        ph = _tail(hi, params) + _integrals(hi, params, n)["i0"]
        grow = ph > p
        if not np.any(grow):
            break
        lo = np.where(grow, hi, lo)
        hi = np.where(grow, 2.0 * hi, hi)
    tau = 0.5 * (lo + hi)
    log_p = np.log(p)
    for _ in range(100):
        ints = _integrals(tau, params, n)
        prob = _tail(tau, params) + ints["i0"]
        h = np.log(prob) - log_p
        lo = np.where(h > 0, tau, lo)
        hi = np.where(h <= 0, tau, hi)
        step = h * prob / ints["i1"]  # h / (d ln P/d tau) with d ln P/d tau = -f_w/P
        cand = tau + step
        outside = (cand <= lo) | (cand >= hi) | ~np.isfinite(cand)
        new = np.where(outside, 0.5 * (lo + hi), cand)
        done = (np.abs(h) < 1e-15) | (hi - lo < 1e-15 * np.maximum(1.0, hi))
        tau = np.where(done, tau, new)
        if np.all(done):
            break
    return tau


def oracle_threshold(
    p: ArrayLike, params: SystemParams, *, nodes: int = _DEFAULT_NODES
) -> FloatOrArray:
    """tau_p, the root of Pr[w(X1, X2) > tau] = p (paper eq. A19); inf at p = 0, 0 at p = 1."""
    pp = np.atleast_1d(np.asarray(check_probability(p), dtype=float))
    tau = np.empty_like(pp)
    tau[pp == 0.0] = math.inf
    tau[pp == 1.0] = 0.0
    inner = (pp > 0.0) & (pp < 1.0)
    if np.any(inner):
        tau[inner] = _solve_tau(pp[inner], params, nodes)
    return float(tau[0]) if np.ndim(p) == 0 else tau


def _payoff_at(tau: NDArray[np.float64], params: SystemParams, n: int) -> NDArray[np.float64]:
    mu, c1, c2 = params.mu, params.c1, params.c2
    ints = _integrals(tau, params, n)
    big_t = tau / c2
    tail = np.exp(-mu * big_t) * ((c1 / mu + c2) * (big_t + 1.0 / mu) + c2 / mu)
    m = tail + tau * ints["i0"] + ints["j"]  # E[w 1{w > tau}]
    return -mean_splitting_benefit(params) + 2.0 * m


def oracle_payoff(
    p: ArrayLike, params: SystemParams, *, nodes: int = _DEFAULT_NODES
) -> OracleResult:
    """Oracle payoff A*(p) = -E[sign(tau_p - w) w] by deterministic quadrature (eq. B1, B11).

    Vectorized over ``p`` (p in [0, 1]); ``nodes`` Gauss-Legendre points per panel (two
    panels). The error bound is typically below 1e-12 for p in [0.001, 0.999].
    """
    if not (isinstance(nodes, int) and nodes >= 8):
        raise ValueError(f"nodes must be an integer >= 8, got {nodes!r}")
    pp = np.atleast_1d(np.asarray(check_probability(p), dtype=float))
    ew = mean_splitting_benefit(params)
    tau = np.atleast_1d(np.asarray(oracle_threshold(pp, params, nodes=nodes)))
    value = np.where(pp == 0.0, -ew, ew)
    err = np.zeros_like(pp)
    inner = (pp > 0.0) & (pp < 1.0)
    if np.any(inner):
        t = tau[inner]
        fine = _payoff_at(t, params, nodes)
        coarse = _payoff_at(t, params, nodes // 2)
        prob = _tail(t, params) + _integrals(t, params, nodes)["i0"]
        value[inner] = fine
        err[inner] = np.abs(fine - coarse) + 2.0 * t * np.abs(prob - pp[inner]) + 1e-14 * ew
    if np.ndim(p) == 0:
        return OracleResult(float(value[0]), float(err[0]), float(tau[0]))
    return OracleResult(value, err, tau)


def oracle_policy_moments(
    p: float, params: SystemParams, *, nodes: int = _DEFAULT_NODES
) -> tuple[float, float, float]:
    """E[r], E[r X1 X2], E[r S] of the w-threshold policy r = 1{w > tau_p} (eqs. A12, A19).

    Feed the last two to :func:`qnet.queues.model.mean_wait` for the oracle's mean wait.
    """
    pp = check_probability(p, open_interval=True)
    mu, c2 = params.mu, params.c2
    tau = np.atleast_1d(float(oracle_threshold(pp, params, nodes=nodes)))
    ints = _integrals(tau, params, nodes)
    big_t = tau / c2
    tail = np.exp(-mu * big_t)
    e_r = tail + ints["i0"]
    # E[r X1] = int_0^T mu e^{-mu(x+g)} x dx + e^{-mu T}(T + 1/mu); E[r S] = 2 E[r X1].
    e_rx1 = ints["ex"] + tail * (big_t + 1.0 / mu)
    # E[r X1 X2] = int_0^T mu e^{-mu(x+g)} x (g + 1/mu) dx + e^{-mu T} (T + 1/mu)/mu.
    e_rx1x2 = ints["exg"] + ints["ex"] / mu + tail * (big_t + 1.0 / mu) / mu
    return float(e_r[0]), float(e_rx1x2[0]), float(2.0 * e_rx1[0])


def oracle_payoff_monte_carlo(
    p: float,
    params: SystemParams,
    n: int,
    rng: np.random.Generator,
    *,
    estimate_threshold: bool = False,
    chunk: int = 1_000_000,
) -> tuple[float, float]:
    """Monte-Carlo A*(p) = -mean(sign(tau_p - w) w) over n pairs: (estimate, SE) (paper App. D4).

    With ``estimate_threshold=False`` (default) tau_p comes from :func:`oracle_threshold`
    and the estimate is an iid sample mean. With ``True`` tau_p is the empirical
    (1 - p)-quantile of the same sample, as in the paper's App. D4; its SE then uses the
    influence function -w + 2 (w - tau)_+ of the quantile-plug-in estimator.
    """
    pp = check_probability(p, open_interval=True)
    if not (isinstance(n, int | np.integer) and n >= 2):
        raise ValueError(f"n must be an integer >= 2, got {n!r}")
    mu = params.mu
    if estimate_threshold:
        x1 = rng.exponential(1.0 / mu, size=n)
        x2 = rng.exponential(1.0 / mu, size=n)
        w = params.c1 * x1 * x2 + params.c2 * (x1 + x2)
        tau = float(np.quantile(w, 1.0 - pp))
        vals = np.where(w > tau, w, -w)
        infl = -w + 2.0 * np.maximum(w - tau, 0.0)
        return float(vals.mean()), float(infl.std(ddof=1) / math.sqrt(n))
    tau = float(oracle_threshold(pp, params))
    count, mean, m2 = 0, 0.0, 0.0
    while count < n:
        k = min(chunk, n - count)
        x1 = rng.exponential(1.0 / mu, size=k)
        x2 = rng.exponential(1.0 / mu, size=k)
        w = params.c1 * x1 * x2 + params.c2 * (x1 + x2)
        vals = np.where(w > tau, w, -w)
        c_mean = float(vals.mean())
        c_m2 = float(((vals - c_mean) ** 2).sum())
        delta = c_mean - mean
        tot = count + k
        mean += delta * k / tot
        m2 += c_m2 + delta * delta * count * k / tot
        count = tot
    return mean, math.sqrt(m2 / (n - 1) / n)
