"""Classical threshold strategies of the routing game and their moments (paper App. C, D2-D24).

A deterministic classical strategy is a pair of local output functions o_A(x1), o_B(x2) in
{+1, -1}. By Theorem 8 / Lemma 5 an optimal one is a pair of threshold functions
f_theta(x) = +1 if x < theta else -1 (eq. C1), each possibly sign-flipped, with theta in
the extended range [0, inf] (theta = 0 or inf is a router with constant output).
A global flip (o_A, o_B) -> (-o_A, -o_B) changes nothing, so a strategy is
(theta_A, theta_B, orientation) with o_A = f_{theta_A}, o_B = orientation * f_{theta_B}.

With D0(theta) = E[f_theta(X)], D1(theta) = E[f_theta(X) X] (D2-D6) the payoff and the
splitting probability of (theta_A, theta_B, s) are s A(theta_A, theta_B) (D7) and
(1 - s D0(theta_A) D0(theta_B))/2 (D8); on the constraint D8 = p, theta_B(theta_A) (D13)
and the reduced payoff A~(theta_A) (D14) with its derivative (D19-D24).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

from qnet.queues.model import SystemParams, check_probability

__all__ = [
    "ThresholdStrategy",
    "reduced_payoff",
    "reduced_payoff_derivative",
    "theta_b_on_constraint",
    "theta_min",
    "threshold_moment_derivatives",
    "threshold_moments",
    "threshold_payoff",
    "threshold_splitting_probability",
]

FloatOrArray = float | NDArray[np.float64]


def _out(x: NDArray[np.float64], like: ArrayLike) -> FloatOrArray:
    return float(x) if np.ndim(like) == 0 and np.ndim(x) == 0 else x


def _check_theta(theta: ArrayLike, name: str) -> NDArray[np.float64]:
    t = np.asarray(theta, dtype=float)
    if np.any(np.isnan(t)) or np.any(t < 0):
        raise ValueError(f"{name} must lie in [0, inf] (inf = constant output +1), got {theta!r}")
    return t


def _d0_d1_from_u(u: NDArray[np.float64], mu: float) -> tuple[NDArray, NDArray]:
    """D0 = 1 - 2u, D1 = (1 - 2u(1 - ln u))/mu with u = e^{-mu theta} in [0, 1] (D2, D6)."""
    u = np.asarray(u, dtype=float)
    safe = np.where(u > 0.0, u, 1.0)
    ulog = np.where(u > 0.0, u * (1.0 - np.log(safe)), 0.0)
    return 1.0 - 2.0 * u, (1.0 - 2.0 * ulog) / mu


def threshold_moments(theta: ArrayLike, params: SystemParams) -> tuple[FloatOrArray, FloatOrArray]:
    """(D0, D1) = (E[f_theta(X)], E[f_theta(X) X]) for X ~ Exp(mu) (paper eqs. D2-D6).

    D0 = 1 - 2 e^{-mu theta}, D1 = (1 - 2 e^{-mu theta}(1 + mu theta))/mu; theta = inf gives
    the constant router (D0, D1) = (1, 1/mu), theta = 0 gives (-1, -1/mu).
    """
    t = _check_theta(theta, "theta")
    u = np.exp(-params.mu * t)
    d0, d1 = _d0_d1_from_u(u, params.mu)
    return _out(d0, theta), _out(d1, theta)


def threshold_moment_derivatives(
    theta: ArrayLike, params: SystemParams
) -> tuple[FloatOrArray, FloatOrArray]:
    """(D0', D1') = (2 mu e^{-mu theta}, 2 mu theta e^{-mu theta}) (paper eqs. D22-D23)."""
    t = _check_theta(theta, "theta")
    mu = params.mu
    u = np.exp(-mu * t)
    d1p = np.where(np.isinf(t), 0.0, 2.0 * mu * np.where(np.isinf(t), 0.0, t) * u)
    return _out(2.0 * mu * u, theta), _out(d1p, theta)


def _payoff_from_moments(d0a, d1a, d0b, d1b, params: SystemParams):
    return -params.c1 * d1a * d1b - params.c2 * (d1a * d0b + d0a * d1b)


def _check_orientation(orientation: int) -> int:
    if orientation not in (1, -1):
        raise ValueError(f"orientation must be +1 or -1, got {orientation!r}")
    return int(orientation)


def threshold_payoff(
    theta_a: ArrayLike, theta_b: ArrayLike, params: SystemParams, orientation: int = 1
) -> FloatOrArray:
    """Payoff s A(theta_A, theta_B) = -s(c1 D1A D1B + c2 (D1A D0B + D0A D1B)) (paper eq. D7).

    ``orientation`` s = -1 flips router B's output (o_B = -f_{theta_B}).
    """
    s = _check_orientation(orientation)
    d0a, d1a = threshold_moments(theta_a, params)
    d0b, d1b = threshold_moments(theta_b, params)
    out = s * _payoff_from_moments(d0a, d1a, d0b, d1b, params)
    return _out(np.asarray(out, dtype=float), np.broadcast(np.asarray(theta_a), theta_b))


def threshold_splitting_probability(
    theta_a: ArrayLike, theta_b: ArrayLike, params: SystemParams, orientation: int = 1
) -> FloatOrArray:
    """Splitting probability (1 - s D0(theta_A) D0(theta_B))/2 (paper eq. D8 / C8)."""
    s = _check_orientation(orientation)
    d0a, _ = threshold_moments(theta_a, params)
    d0b, _ = threshold_moments(theta_b, params)
    out = 0.5 * (1.0 - s * np.asarray(d0a) * np.asarray(d0b))
    return _out(np.asarray(out, dtype=float), np.broadcast(np.asarray(theta_a), theta_b))


def _check_p_half(p: float) -> float:
    pp = check_probability(p, open_interval=True)
    if pp >= 0.5:
        raise ValueError(f"p must lie in (0, 1/2) for the theta_A-parametrized curve, got {p!r}")
    return float(pp)


def theta_min(p: float, params: SystemParams) -> float:
    """Smallest feasible theta_A on the main branch, theta_min = -ln(p)/mu (paper eq. D12)."""
    return -math.log(_check_p_half(p)) / params.mu


def theta_b_on_constraint(theta_a: ArrayLike, p: float, params: SystemParams) -> FloatOrArray:
    """theta_B(theta_A) = -ln((1 - (1-2p)/D0(theta_A))/2)/mu on D0_A D0_B = 1 - 2p (eq. D13).

    Defined for theta_A in [theta_min, inf]; theta_min maps to theta_B = inf (router B
    constant) and theta_A = inf to theta_B = theta_min.
    """
    pp = _check_p_half(p)
    t = _check_theta(theta_a, "theta_a")
    tmin = -math.log(pp) / params.mu
    if np.any(t < tmin * (1.0 - 1e-15)):
        raise ValueError(
            f"theta_a must be >= theta_min = -ln(p)/mu = {tmin:.6g} for p = {pp}, got {theta_a!r}"
        )
    ua = np.exp(-params.mu * t)
    d0a = 1.0 - 2.0 * ua
    # u_B = (1 - (1-2p)/D0_A)/2 = (D0_A - (1-2p)) / (2 D0_A) = (p - u_A)/D0_A. At theta_A <=
    # theta_min u_B is exactly 0 (theta_B = inf); exp(-mu theta_min) = p only up to the last
    # bit of the libm/SIMD exp in use, so the boundary is decided on theta, not on p - u_A.
    ub = np.where(t <= tmin, 0.0, np.maximum(pp - ua, 0.0) / d0a)
    safe = np.where(ub > 0.0, ub, 1.0)
    out = np.where(ub > 0.0, -np.log(safe) / params.mu, math.inf)
    return _out(out, theta_a)


def reduced_payoff(theta_a: ArrayLike, p: float, params: SystemParams) -> FloatOrArray:
    """Reduced objective A~(theta_A) = A(theta_A, theta_B(theta_A)) (paper eq. D14)."""
    tb = theta_b_on_constraint(theta_a, p, params)
    return threshold_payoff(theta_a, tb, params)


def reduced_payoff_derivative(theta_a: ArrayLike, p: float, params: SystemParams) -> FloatOrArray:
    """dA~/dtheta_A = dA/dtheta_A + dA/dtheta_B dtheta_B/dtheta_A (paper eqs. D19-D24).

    Infinite at theta_A = theta_min (dtheta_B/dtheta_A grows like e^{mu theta_B}, Remark 8).
    """
    tb = np.asarray(theta_b_on_constraint(theta_a, p, params))
    ta = np.asarray(theta_a, dtype=float)
    c1, c2 = params.c1, params.c2
    d0a, d1a = (np.asarray(v) for v in threshold_moments(ta, params))
    d0b, d1b = (np.asarray(v) for v in threshold_moments(tb, params))
    d0pa, d1pa = (np.asarray(v) for v in threshold_moment_derivatives(ta, params))
    d0pb, d1pb = (np.asarray(v) for v in threshold_moment_derivatives(tb, params))
    da = -c1 * d1pa * d1b - c2 * (d1pa * d0b + d0pa * d1b)  # D20
    db = -c1 * d1a * d1pb - c2 * (d1a * d0pb + d0a * d1pb)  # D21
    with np.errstate(divide="ignore", invalid="ignore"):
        dtb = -(d0pa * d0b) / (d0a * d0pb)  # D24
        out = da + db * dtb
    # theta_B = inf (theta_A = theta_min): |dA~/dtheta_A| grows like theta_B (Remark 8), with
    # the sign of c1 D1A + c2 D0A.
    out = np.where(np.isinf(tb), np.inf * np.sign(c1 * d1a + c2 * d0a), out)
    out = np.where(np.isinf(ta), 0.0, out)
    return _out(np.asarray(out, dtype=float), theta_a)


@dataclass(frozen=True)
class ThresholdStrategy:
    """Deterministic classical strategy o_A = f_{theta_a}, o_B = orientation * f_{theta_b} (C1).

    theta in [0, inf]; inf means the router always outputs +1 (before orientation).
    """

    theta_a: float
    theta_b: float
    orientation: int = 1

    def __post_init__(self) -> None:
        _check_theta(self.theta_a, "theta_a")
        _check_theta(self.theta_b, "theta_b")
        _check_orientation(self.orientation)

    def outputs(self, x1: ArrayLike, x2: ArrayLike) -> tuple[NDArray[np.int8], NDArray[np.int8]]:
        """Router outputs (o_A(x1), o_B(x2)) in {+1, -1} (paper eqs. 6, C1)."""
        oa = np.where(np.asarray(x1, dtype=float) < self.theta_a, 1, -1).astype(np.int8)
        ob = np.where(np.asarray(x2, dtype=float) < self.theta_b, 1, -1).astype(np.int8)
        return oa, (self.orientation * ob).astype(np.int8)

    def payoff(self, params: SystemParams) -> float:
        """Game payoff -E[o_A o_B w] (paper eq. D7)."""
        return float(threshold_payoff(self.theta_a, self.theta_b, params, self.orientation))

    def splitting_probability(self, params: SystemParams) -> float:
        """Pr[o_A o_B = -1] (paper eq. D8)."""
        return float(
            threshold_splitting_probability(self.theta_a, self.theta_b, params, self.orientation)
        )
