"""Reference values of the routing game computed without qnet's game code (tests only).

Each function uses another method than qnet: adaptive QUADPACK quadrature where qnet uses
Gauss-Laguerre, closed-form threshold moments maximized by brute force where qnet
certifies a bound, and a convex hull of a point cloud for the shared-randomness
envelope. Service times are Exp(mu = 1); the splitting benefit is
w = c1 x1 x2 + c2 (x1 + x2), c1 = lambda / (2 (1 - rho)), c2 = 1/4 (paper A14-A15).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from numpy.typing import ArrayLike
from scipy import integrate, optimize
from scipy.spatial import ConvexHull

C2 = 0.25


def benefit_c1(lam: float, mu: float = 1.0) -> float:
    """c1 = lambda / (2 (1 - rho)) (A15, with rho where the main text prints p)."""
    return lam / (2 * (1 - lam / mu))


def quantum_payoff_and_p(a: Sequence[float], b: Sequence[float], lam: float) -> tuple[float, float]:
    """A = -E[cos 2(θ_A(x1) - θ_B(x2)) w] and p = E[(1 - cos)/2] of polynomial angles, by
    2-D adaptive quadrature on [0, 60]^2 (the tail beyond carries e^-60)."""
    c1 = benefit_c1(lam)

    def theta(c: Sequence[float], x: float) -> float:
        return sum(ck * x**k for k, ck in enumerate(c))

    def corr(x2: float, x1: float) -> float:
        return math.cos(2 * (theta(a, x1) - theta(b, x2))) * math.exp(-x1 - x2)

    def payoff(x2: float, x1: float) -> float:
        return -corr(x2, x1) * (c1 * x1 * x2 + C2 * (x1 + x2))

    def split(x2: float, x1: float) -> float:
        return (math.exp(-x1 - x2) - corr(x2, x1)) / 2

    tol = {"epsabs": 1e-11, "epsrel": 1e-11}
    big_a = integrate.dblquad(payoff, 0, 60, 0, 60, **tol)[0]
    p = integrate.dblquad(split, 0, 60, 0, 60, **tol)[0]
    return float(big_a), float(p)


def _threshold_moments(u: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """E[f], E[f x] of f(x) = +1 if x <= θ else -1, x ~ Exp(1), u = e^-θ in [0, 1]."""
    log_u = np.log(np.where(u > 0, u, 1.0))
    return 1 - 2 * u, 1 - 2 * u * (1 - log_u)


def threshold_game(
    ua: ArrayLike, ub: ArrayLike, sign: int, lam: float
) -> tuple[np.ndarray, np.ndarray]:
    """Payoff -E[f g w] and Pr[f != g] of the threshold pair (f at u_a, sign * g at u_b);
    u = 0 or 1 are the constant strategies."""
    c1 = benefit_c1(lam)
    fa, fxa = _threshold_moments(np.asarray(ua, dtype=float))
    fb, fxb = _threshold_moments(np.asarray(ub, dtype=float))
    fb, fxb = sign * fb, sign * fxb
    return -(c1 * fxa * fxb + C2 * (fxa * fb + fa * fxb)), (1 - fa * fb) / 2


def best_threshold_payoff(p: float, lam: float) -> float:
    """Best payoff of a deterministic threshold pair (constants included) with Pr[split] = p.

    u_b from the constraint (1 - 2u_a)(1 - 2u_b) = sign (1 - 2p), u_a on a 2e5-point grid
    of [0, 1], then a bounded scalar search around the best grid point.
    """
    best = -np.inf
    for sign in (1, -1):

        def value(ua: np.ndarray, sign: int = sign) -> np.ndarray:
            with np.errstate(divide="ignore", invalid="ignore"):
                ub = (1 - sign * (1 - 2 * p) / (1 - 2 * ua)) / 2
            ok = (ub >= 0) & (ub <= 1) & np.isfinite(ub)
            return np.where(ok, threshold_game(ua, np.clip(ub, 0, 1), sign, lam)[0], -np.inf)

        grid = np.linspace(0.0, 1.0, 200_001)
        vals = value(grid)
        k = int(np.argmax(vals))
        res = optimize.minimize_scalar(
            lambda x: -max(float(value(np.array(x))), -1e6),  # finite off the constraint
            bounds=(grid[max(k - 1, 0)], grid[min(k + 1, len(grid) - 1)]),
            method="bounded",
            options={"xatol": 1e-13},
        )
        best = max(best, float(vals[k]), -float(res.fun))
    return best


def threshold_hull_payoff(p: float, lam: float, points: int = 1001) -> float:
    """Upper concave envelope at p of the (p, A) cloud of all threshold pairs on a
    ``points``-squared grid of (u_a, u_b), both orientations: the best shared-randomness
    mixture of grid strategies."""
    u = np.linspace(0.0, 1.0, points)
    ua, ub = np.meshgrid(u, u, indexing="ij")
    games = [threshold_game(ua, ub, s, lam) for s in (1, -1)]
    cloud = np.concatenate([np.column_stack([g[1].ravel(), g[0].ravel()]) for g in games])
    hull = ConvexHull(cloud)
    best = -np.inf
    for i, j in hull.simplices:
        (x1, y1), (x2, y2) = cloud[i], cloud[j]
        if min(x1, x2) <= p <= max(x1, x2) and x1 != x2:
            best = max(best, y1 + (y2 - y1) * (p - x1) / (x2 - x1))
    return float(best)


def oracle_payoff(p: float, lam: float) -> float:
    """A* of the oracle (split iff w > τ, Pr[w > τ] = p): 2 E[w 1{w > τ}] - E[w], by 1-D
    quadrature over x1 of the closed-form x2 tail (E[x 1{x > t}] = (t + 1) e^-t)."""
    c1 = benefit_c1(lam)

    def cut(x1: float, tau: float) -> float:
        return max(0.0, (tau - C2 * x1) / (c1 * x1 + C2))

    def split_prob(tau: float) -> float:
        return integrate.quad(lambda x: math.exp(-x - cut(x, tau)), 0, np.inf, epsabs=1e-13)[0]

    tau = optimize.brentq(lambda t: split_prob(t) - p, 0.0, 100.0, xtol=1e-14)

    def split_w(x: float) -> float:
        t = cut(x, tau)
        return math.exp(-x - t) * ((c1 * x + C2) * (t + 1) + C2 * x)

    return 2 * integrate.quad(split_w, 0, np.inf, epsabs=1e-13)[0] - (c1 + 2 * C2)
