"""Exact stability boundary of the load-balancing system from one server's Markov chain.

Arrivals at one server are iid over steps: each of the N/2 pairs sends it k ∈ {0, 1, 2}
tasks of a type, with (for C tasks, p = effective p_same(C, C), M servers)
P(2) = p/(4M), P(1) = (1 − p)/(2M) + 1/(2M), and likewise for E with p_same(E, E)
(both balancers hold the type with probability ¼, exactly one with ½; each balancer's
server is uniform). The count at the server is the N/2-fold convolution.

C-first: the C queue is a chain of its own, Q' = max(Q + A_C − 2, 0); E tasks get the
steps where Q + A_C = 0, so the system is stable iff λ_E < P(Q + A_C = 0) (and λ_C < 2).
E-first: the E queue is Q' = max(Q + A_E − 1, 0); C tasks get the idle steps, two at a
time when backlogged, so stability needs λ_C < 2 P(Q + A_E = 0) (and λ_E < 1).
With λ_C = λ_E = N/(2M), the boundary is the N/M where the binding inequality is tight.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy.optimize import brentq

from qnet.games.chsh.tables import Strategy

__all__ = [
    "StabilityBoundary",
    "arrival_pmf",
    "busy_fraction",
    "idle_probability",
    "stability_boundary",
]

_LEVELS = 300  # truncation of the queue chain (its tail decays geometrically)


def arrival_pmf(pairs: int, servers: float, p_same_pair: float) -> np.ndarray:
    """Distribution of one type's arrivals at one server per step (N/2-fold convolution)."""
    m = float(servers)
    p2 = p_same_pair / (4.0 * m)
    p1 = (1.0 - p_same_pair) / (2.0 * m) + 1.0 / (2.0 * m)
    one = np.array([1.0 - p1 - p2, p1, p2])
    out = np.array([1.0])
    power = one
    k = pairs
    while k:
        if k & 1:
            out = np.convolve(out, power)
        power = np.convolve(power, power)
        k >>= 1
    return out


def idle_probability(pmf: np.ndarray, capacity: int, levels: int = _LEVELS) -> float:
    """P(Q + A = 0) in the stationary chain Q' = max(Q + A − capacity, 0) (truncated)."""
    mean = float(np.dot(np.arange(len(pmf)), pmf))
    if mean >= capacity:
        return 0.0
    a = np.zeros(levels + capacity)
    a[: min(len(pmf), len(a))] = pmf[: len(a)]
    trans = np.zeros((levels, levels))
    for q in range(levels):
        nxt = np.maximum(q + np.arange(len(a)) - capacity, 0)
        np.add.at(trans[q], np.minimum(nxt, levels - 1), a)
    trans[:, -1] += 1.0 - trans.sum(axis=1)  # mass beyond the truncation stays on top
    lhs = trans.T - np.eye(levels)
    lhs[-1] = 1.0
    rhs = np.zeros(levels)
    rhs[-1] = 1.0
    pi = np.linalg.solve(lhs, rhs)
    return float(pi[0] * pmf[0])


@dataclass(frozen=True)
class StabilityBoundary:
    """The N/M beyond which the backlog grows without bound, and the busy fractions."""

    load: float
    discipline: str


def _slack(load: float, balancers: int, strategy: Strategy, discipline: str) -> float:
    """Capacity left for the lower-priority type at this load (> 0 stable)."""
    m = balancers / load
    eff = strategy.effective(m)
    lam = load / 2.0
    if discipline == "c-first":
        idle = idle_probability(arrival_pmf(balancers // 2, m, float(eff[1, 1])), 2)
        return min(idle - lam, 2.0 - lam)
    if discipline == "e-first":
        idle = idle_probability(arrival_pmf(balancers // 2, m, float(eff[0, 0])), 1)
        return min(2.0 * idle - lam, 1.0 - lam)
    raise ValueError(f"discipline = {discipline!r}: allowed 'c-first' or 'e-first'")


def busy_fraction(load: float, balancers: int, strategy: Strategy, discipline: str) -> float:
    """Stationary fraction of steps a server serves the priority type (C-first: C; E-first: E)."""
    m = balancers / load
    eff = strategy.effective(m)
    if discipline == "c-first":
        return 1.0 - idle_probability(arrival_pmf(balancers // 2, m, float(eff[1, 1])), 2)
    if discipline == "e-first":
        return 1.0 - idle_probability(arrival_pmf(balancers // 2, m, float(eff[0, 0])), 1)
    raise ValueError(f"discipline = {discipline!r}: allowed 'c-first' or 'e-first'")


def stability_boundary(balancers: int, strategy: Strategy, discipline: str) -> StabilityBoundary:
    """N/M where the binding stability inequality is tight (N fixed, M continuous)."""
    if balancers < 2 or balancers % 2:
        raise ValueError(f"balancers = {balancers} is out of range: allowed even >= 2")
    lo, hi = 0.05, min(2.0, balancers / 3.0)
    if _slack(hi, balancers, strategy, discipline) > 0:
        return StabilityBoundary(math.inf, discipline)
    load = brentq(_slack, lo, hi, args=(balancers, strategy, discipline), xtol=1e-10)
    return StabilityBoundary(float(load), discipline)
