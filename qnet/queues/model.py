"""Queueing model of the two-server routing system (paper Sec. III, VI A and Appendix A).

Everything here is dimensionless in the paper's units: service rate ``mu``, pair arrival
rate ``lam``, times in the same unit (the paper uses ``mu = 1``). Service times
X1, X2 are iid Exp(mu); a *split policy* r(x1, x2) in [0, 1] is the probability that a pair
with service times (x1, x2) is split over the two servers (load-balanced assignment).

Examples:
    >>> params = SystemParams(lam=0.8, mu=1.0, alpha=0.5, phi_max=1.0)
    >>> round(params.rho, 3), round(params.c1, 3), params.c2
    (0.8, 2.0, 0.25)
    >>> round(float(normalized_throughput(0.2, params)), 4)
    0.5102
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import integrate, special

__all__ = [
    "SystemParams",
    "batch_arrival_rate",
    "batch_size_distribution",
    "baseline_throughput",
    "baseline_throughput_power",
    "baseline_throughput_warmup",
    "check_probability",
    "mean_busy_period",
    "mean_cycle_length",
    "mean_idle_period",
    "mean_splitting_benefit",
    "mean_wait",
    "mean_wait_from_payoff",
    "mean_wait_of_policy",
    "normalized_throughput",
    "order_statistic_moments",
    "policy_moments",
    "splitting_benefit",
    "warmup_output",
]

FloatOrArray = float | NDArray[np.float64]


def _check_positive_finite(name: str, value: float) -> None:
    if not isinstance(value, int | float) or isinstance(value, bool):
        raise ValueError(f"{name} must be a real number > 0, got {value!r}")
    if not math.isfinite(value) or value <= 0:
        raise ValueError(f"{name} must be a finite number > 0, got {value!r}")


@dataclass(frozen=True)
class SystemParams:
    """System parameters of the routing model (paper Sec. III, eqs. 7-10, A1, A15).

    Attributes:
        lam: customer-pair arrival rate lambda (> 0), pairs per unit time.
        mu: service rate mu (> 0); service times are Exp(mu), mean 1/mu.
        alpha: warm-up rate of the baseline task (> 0), eq. 7.
        phi_max: steady-state baseline productivity (> 0), eq. 7.

    The per-server utilisation rho = lam/mu must be < 1 (stability).
    """

    lam: float = 0.8
    mu: float = 1.0
    alpha: float = 0.5
    phi_max: float = 1.0

    def __post_init__(self) -> None:
        _check_positive_finite("mu", self.mu)
        _check_positive_finite("lam", self.lam)
        if self.lam / self.mu >= 1.0:
            raise ValueError(
                f"rho = lam/mu must be < 1 for a stable queue, got lam={self.lam!r}, "
                f"mu={self.mu!r} (rho={self.lam / self.mu:.6g}); allowed range 0 < rho < 1"
            )
        _check_positive_finite("alpha", self.alpha)
        _check_positive_finite("phi_max", self.phi_max)

    @property
    def rho(self) -> float:
        """Per-server utilisation rho = lam/mu (independent of the policy, App. A1)."""
        return self.lam / self.mu

    @property
    def c1(self) -> float:
        """Coefficient c1 = lam / (2 (1 - rho)) of the splitting benefit (eq. A15)."""
        return self.lam / (2.0 * (1.0 - self.rho))

    @property
    def c2(self) -> float:
        """Coefficient c2 = 1/4 of the splitting benefit (eq. A15)."""
        return 0.25


def check_probability(
    p: ArrayLike, name: str = "p", *, open_interval: bool = False
) -> FloatOrArray:
    """Validate a splitting probability: p in [0, 1], or in (0, 1) when ``open_interval``."""
    arr = np.asarray(p, dtype=float)
    lo, hi = ("(0, 1)", "open") if open_interval else ("[0, 1]", "closed")
    bad = ~np.isfinite(arr)
    bad |= (arr <= 0.0) | (arr >= 1.0) if open_interval else (arr < 0.0) | (arr > 1.0)
    if np.any(bad):
        first = arr[bad].flat[0] if arr.ndim else float(arr)
        raise ValueError(f"{name} must lie in the {hi} interval {lo}, got {first!r}")
    return float(arr) if arr.ndim == 0 else arr


def splitting_benefit(x1: ArrayLike, x2: ArrayLike, params: SystemParams) -> FloatOrArray:
    """Splitting benefit w(x1, x2) = c1 x1 x2 + c2 (x1 + x2) (paper eq. 2 / A18)."""
    a = np.asarray(x1, dtype=float)
    b = np.asarray(x2, dtype=float)
    w = params.c1 * a * b + params.c2 * (a + b)
    return float(w) if np.ndim(w) == 0 else w


def mean_splitting_benefit(params: SystemParams) -> float:
    """E[w(X1, X2)] = c1/mu^2 + 2 c2/mu for X1, X2 iid Exp(mu) (from eq. A18)."""
    return params.c1 / params.mu**2 + 2.0 * params.c2 / params.mu


def order_statistic_moments(mu: float) -> dict[str, float]:
    """E[min], E[min^2], E[max], E[max^2] of two iid Exp(mu) (paper Lemma 2, eq. A29)."""
    _check_positive_finite("mu", mu)
    return {
        "min": 1.0 / (2.0 * mu),
        "min2": 1.0 / (2.0 * mu**2),
        "max": 3.0 / (2.0 * mu),
        "max2": 7.0 / (2.0 * mu**2),
    }


def mean_wait(params: SystemParams, e_r_x1x2: float, e_r_s: float) -> float:
    """Mean customer wait E[Wq] from a policy's moments E[r X1 X2], E[r S] (paper eq. A12).

    E[Wq] = lam (E[S^2] - 2 E[r X1 X2]) / (4 (1 - rho)) + (E[S] - E[r S]) / 4, with
    S = X1 + X2, E[S] = 2/mu, E[S^2] = 6/mu^2. Use :func:`policy_moments` to obtain the two
    moments of a callable policy r(x1, x2).
    """
    mu, lam, rho = params.mu, params.lam, params.rho
    e_s, e_s2 = 2.0 / mu, 6.0 / mu**2
    if not (0.0 <= e_r_x1x2 <= 1.0 / mu**2 + 1e-12):
        raise ValueError(f"e_r_x1x2 must lie in [0, 1/mu^2] = [0, {1 / mu**2:.6g}], got {e_r_x1x2}")
    if not (0.0 <= e_r_s <= e_s + 1e-12):
        raise ValueError(f"e_r_s must lie in [0, 2/mu] = [0, {e_s:.6g}], got {e_r_s}")
    return lam * (e_s2 - 2.0 * e_r_x1x2) / (4.0 * (1.0 - rho)) + (e_s - e_r_s) / 4.0


def mean_wait_from_payoff(payoff: ArrayLike, params: SystemParams) -> FloatOrArray:
    """E[Wq] = C - (E[w] + A)/2 for a local strategy with game payoff A (eqs. A16, B4, B11).

    The split indicator s = (1 - o_A o_B)/2 gives E[s w] = (E[w] + A)/2, and
    C = lam E[S^2] / (4 (1 - rho)) + E[S]/4 is policy independent (eq. A16).
    """
    mu = params.mu
    const = params.lam * (6.0 / mu**2) / (4.0 * (1.0 - params.rho)) + (2.0 / mu) / 4.0
    a = np.asarray(payoff, dtype=float)
    out = const - 0.5 * (mean_splitting_benefit(params) + a)
    return float(out) if out.ndim == 0 else out


def policy_moments(
    policy: Callable[[float, float], float],
    params: SystemParams,
    *,
    epsabs: float = 1e-10,
    epsrel: float = 1e-10,
    limit: int = 500,
) -> tuple[float, float, float]:
    """E[r], E[r X1 X2], E[r S] of a split policy r(x1, x2) by 2-D adaptive quadrature (A12).

    The integrals run over the unit square after the substitution x = -ln(1 - u)/mu, so
    ``policy`` is called with scalar service times. A discontinuous policy (a threshold
    rule) is handled by the adaptive rule, slowly; closed forms are preferable where known
    (see :mod:`qnet.games.routing.classical` and :mod:`qnet.games.routing.oracle`).
    """
    mu = params.mu

    def moment(kind: int) -> float:
        def integrand(u2: float, u1: float) -> float:
            if u1 >= 1.0 or u2 >= 1.0:
                return 0.0
            x1 = -math.log1p(-u1) / mu
            x2 = -math.log1p(-u2) / mu
            r = float(policy(x1, x2))
            if not 0.0 <= r <= 1.0:
                raise ValueError(f"policy r(x1, x2) must lie in [0, 1], got {r} at {(x1, x2)}")
            if kind == 0:
                return r
            if kind == 1:
                return r * x1 * x2
            return r * (x1 + x2)

        opts = {"epsabs": epsabs, "epsrel": epsrel, "limit": limit}
        val, _ = integrate.nquad(integrand, [(0.0, 1.0), (0.0, 1.0)], opts=[opts, opts])
        return float(val)

    return moment(0), moment(1), moment(2)


def mean_wait_of_policy(policy: Callable[[float, float], float], params: SystemParams) -> float:
    """E[Wq] of a split policy r(x1, x2) by 2-D quadrature of its moments (paper eq. A12)."""
    _, e_r_x1x2, e_r_s = policy_moments(policy, params)
    return mean_wait(params, e_r_x1x2, e_r_s)


def batch_arrival_rate(p: ArrayLike, params: SystemParams) -> FloatOrArray:
    """Batch arrival rate Lambda = lam (1 + p)/2 seen by one server (paper eq. A2)."""
    pp = np.asarray(check_probability(p))
    out = params.lam * (1.0 + pp) / 2.0
    return float(out) if out.ndim == 0 else out


def batch_size_distribution(p: ArrayLike) -> tuple[FloatOrArray, FloatOrArray]:
    """(Pr[K=1], Pr[K=2]) = (2p/(1+p), (1-p)/(1+p)) of the M^X/G/1 batches (paper eq. A3)."""
    pp = np.asarray(check_probability(p))
    one, two = 2.0 * pp / (1.0 + pp), (1.0 - pp) / (1.0 + pp)
    if one.ndim == 0:
        return float(one), float(two)
    return one, two


def mean_idle_period(p: ArrayLike, params: SystemParams) -> FloatOrArray:
    """Mean idle period E[I] = 1/Lambda = 2/(lam (1+p)) (paper eq. A22)."""
    out = 1.0 / np.asarray(batch_arrival_rate(p, params))
    return float(out) if out.ndim == 0 else out


def mean_busy_period(p: ArrayLike, params: SystemParams) -> FloatOrArray:
    """Mean busy period E[B] = rho/(Lambda (1-rho)) = 2/((1+p)(mu-lam)) (paper eq. A23)."""
    pp = np.asarray(check_probability(p))
    out = 2.0 / ((1.0 + pp) * (params.mu - params.lam))
    return float(out) if out.ndim == 0 else out


def mean_cycle_length(p: ArrayLike, params: SystemParams) -> FloatOrArray:
    """Mean cycle E[I + B] = 2/(1+p) (1/lam + 1/(mu - lam)) (paper eq. A24)."""
    pp = np.asarray(check_probability(p))
    out = 2.0 / (1.0 + pp) * (1.0 / params.lam + 1.0 / (params.mu - params.lam))
    return float(out) if out.ndim == 0 else out


def warmup_output(t: ArrayLike, params: SystemParams) -> FloatOrArray:
    """Warm-up baseline output T(t) = phi_max (t - (1 - e^{-alpha t})/alpha) (paper eq. 8)."""
    tt = np.asarray(t, dtype=float)
    a = params.alpha
    out = params.phi_max * (tt + np.expm1(-a * tt) / a)
    return float(out) if out.ndim == 0 else out


def baseline_throughput(
    p: ArrayLike,
    params: SystemParams,
    output: Callable[[float], float] | None = None,
    *,
    epsabs: float = 1e-12,
    epsrel: float = 1e-10,
) -> FloatOrArray:
    """Baseline throughput E[T(I)]/E[I+B], I ~ Exp(Lambda), for any T(t) (paper eqs. A25-A26).

    ``output`` is the baseline output T(t) of one uninterrupted idle period of length t
    (differentiable, increasing, T(0) = 0); default: the warm-up model :func:`warmup_output`.
    E[T(I)] = int_0^inf T(t) Lambda e^{-Lambda t} dt is computed by adaptive quadrature.
    """
    fn = output if output is not None else (lambda t: float(warmup_output(t, params)))
    lam_batch = np.atleast_1d(np.asarray(batch_arrival_rate(p, params), dtype=float))
    cycle = np.atleast_1d(np.asarray(mean_cycle_length(p, params), dtype=float))
    out = np.empty_like(lam_batch)
    for i, (lb, cyc) in enumerate(zip(lam_batch, cycle, strict=True)):
        # substitute t = s / Lambda so the weight is e^{-s} on [0, inf)
        val, _ = integrate.quad(
            lambda s, lb=lb: fn(s / lb) * math.exp(-s),
            0.0,
            math.inf,
            epsabs=epsabs,
            epsrel=epsrel,
            limit=200,
        )
        out[i] = val / cyc
    return float(out[0]) if np.ndim(p) == 0 else out


def baseline_throughput_warmup(p: ArrayLike, params: SystemParams) -> FloatOrArray:
    """Warm-up model throughput phi_max (1-rho) 2 alpha / (lam (1+p) + 2 alpha) (paper eq. 10)."""
    pp = np.asarray(check_probability(p))
    a = params.alpha
    out = params.phi_max * (1.0 - params.rho) * 2.0 * a / (params.lam * (1.0 + pp) + 2.0 * a)
    return float(out) if out.ndim == 0 else out


def baseline_throughput_power(p: ArrayLike, params: SystemParams, k: float) -> FloatOrArray:
    """Throughput for T(t) = t^k: Gamma(k+1) Lambda^{-k} / E[I+B] (eqs. A25-A26 closed form)."""
    if not (isinstance(k, int | float) and math.isfinite(k) and k > 0):
        raise ValueError(f"k must be a finite number > 0 (T(t) = t^k), got {k!r}")
    lam_batch = np.asarray(batch_arrival_rate(p, params))
    out = special.gamma(k + 1.0) * lam_batch ** (-k) / np.asarray(mean_cycle_length(p, params))
    return float(out) if out.ndim == 0 else out


def normalized_throughput(p: ArrayLike, params: SystemParams) -> FloatOrArray:
    """Warm-up throughput over its alpha -> inf limit phi_max (1-rho): 2a/(lam(1+p)+2a) (eq. 10)."""
    out = np.asarray(baseline_throughput_warmup(p, params)) / (params.phi_max * (1.0 - params.rho))
    return float(out) if out.ndim == 0 else out
