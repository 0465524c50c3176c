"""Classical strategies of the sum-threshold game (QuNet'25 Section 4.3, eq. 4).

Inputs a, b ~ U(0, 1); the players win when o_A o_B = R(a, b) with R = +1 (bunch) iff
(1 − a)(1 − b) ≥ C_t and −1 (split) otherwise. A strategy's *bias* is
β = E[o_A o_B R] and its win probability (1 + β)/2 (Section 4.3).

Everything here is exact: the bunch area of any rectangle of inputs has a closed form
(:func:`bunch_area`), so the bias matrix of a bin grid, the value of a threshold pair and
of any bin-constant strategy carry no quadrature error. Deterministic strategies suffice
classically (shared randomness does not help a linear objective); the best threshold pair
(:func:`best_threshold_pair`) is tested against an exhaustive search over every strategy
constant on a coarse grid (:func:`exhaustive_bins`) and against simulated annealing over
N = 1000 bins as in the paper (:func:`anneal`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.optimize import minimize, minimize_scalar

from qnet.games.xor import classical_bias

__all__ = [
    "AnnealResult",
    "ThresholdPair",
    "anneal",
    "best_threshold_pair",
    "bias_matrix",
    "bunch_area",
    "check_c_t",
    "classical_minimum",
    "exhaustive_bins",
    "strategy_bias",
    "threshold_bias",
]


def check_c_t(c_t: float) -> float:
    """C_t as a float in (0, 1), or one clear error naming it."""
    c = float(c_t)
    if not (math.isfinite(c) and 0.0 < c < 1.0):
        raise ValueError(f"c_t = {c_t!r} is out of range: allowed (0, 1)")
    return c


def _h(t: NDArray[np.float64], c: float) -> NDArray[np.float64]:
    """Area of {(u, v) ∈ [0, U] × [0, V] : uv ≥ c} as a function of t = UV (eq. 3 region)."""
    t = np.asarray(t, dtype=float)
    safe = np.maximum(t, c)
    return np.where(t > c, safe - c - c * np.log(safe / c), 0.0)


def bunch_area(a0: ArrayLike, a1: ArrayLike, b0: ArrayLike, b1: ArrayLike, c_t: float) -> NDArray:
    """Exact area of {(1 − a)(1 − b) ≥ C_t} inside [a0, a1] × [b0, b1] (eq. 4's bunch set)."""
    c = check_c_t(c_t)
    u0, u1 = 1.0 - np.asarray(a1, dtype=float), 1.0 - np.asarray(a0, dtype=float)
    v0, v1 = 1.0 - np.asarray(b1, dtype=float), 1.0 - np.asarray(b0, dtype=float)
    return _h(u1 * v1, c) - _h(u0 * v1, c) - _h(u1 * v0, c) + _h(u0 * v0, c)


def bias_matrix(edges_a: ArrayLike, edges_b: ArrayLike, c_t: float) -> NDArray[np.float64]:
    """G[i, j] = ∫∫ R over bin i × bin j (exact): the XOR-game bias matrix of a bin grid."""
    ea, eb = np.asarray(edges_a, dtype=float), np.asarray(edges_b, dtype=float)
    for name, e in (("edges_a", ea), ("edges_b", eb)):
        if e.ndim != 1 or e.size < 2 or e[0] != 0.0 or e[-1] != 1.0 or np.any(np.diff(e) <= 0):
            raise ValueError(f"{name} must increase strictly from 0 to 1, got {e!r}")
    a0, a1 = ea[:-1, None], ea[1:, None]
    b0, b1 = eb[None, :-1], eb[None, 1:]
    area = (a1 - a0) * (b1 - b0)
    return 2.0 * bunch_area(a0, a1, b0, b1, c_t) - area


def strategy_bias(g: ArrayLike, h: ArrayLike, c_t: float) -> float:
    """Exact bias E[g(a) h(b) R] of ±1 strategies constant on len(g) × len(h) equal bins."""
    ga, hb = np.asarray(g, dtype=float), np.asarray(h, dtype=float)
    gm = bias_matrix(np.linspace(0, 1, ga.size + 1), np.linspace(0, 1, hb.size + 1), c_t)
    return float(ga @ gm @ hb)


def threshold_bias(alpha: ArrayLike, beta: ArrayLike, c_t: float) -> NDArray | float:
    """Bias of the threshold pair o_A = +1 iff a < α, o_B = +1 iff b < β (exact, eq. 4)."""
    al, be = np.asarray(alpha, dtype=float), np.asarray(beta, dtype=float)
    if np.any((al < 0) | (al > 1) | (be < 0) | (be > 1)):
        raise ValueError("threshold alpha, beta must lie in [0, 1]")
    total = 0.0
    for lo_a, hi_a, sa in ((0.0, al, 1.0), (al, 1.0, -1.0)):
        for lo_b, hi_b, sb in ((0.0, be, 1.0), (be, 1.0, -1.0)):
            area = (hi_a - lo_a) * (hi_b - lo_b)
            total = total + sa * sb * (2.0 * bunch_area(lo_a, hi_a, lo_b, hi_b, c_t) - area)
    out = np.asarray(total, dtype=float)
    return float(out) if out.ndim == 0 else out


@dataclass(frozen=True)
class ThresholdPair:
    """The best threshold pair at one C_t.

    Attributes:
        c_t: the game's constant.
        alpha, beta: thresholds (o_A = s·(+1 iff a < α), o_B = +1 iff b < β).
        sign: s = ±1 (s = −1 plays the mirrored pair; constants are α or β ∈ {0, 1}).
        bias: E[o_A o_B R].
        win_probability: (1 + bias)/2.
    """

    c_t: float
    alpha: float
    beta: float
    sign: int
    bias: float

    @property
    def win_probability(self) -> float:
        """(1 + β)/2."""
        return 0.5 * (1.0 + self.bias)


def best_threshold_pair(c_t: float, grid: int = 101) -> ThresholdPair:
    """max over (α, β, ±) of the exact threshold bias: a grid, then a bounded polish."""
    c = check_c_t(c_t)
    axis = np.linspace(0.0, 1.0, grid)
    vals = threshold_bias(axis[:, None], axis[None, :], c)
    best: ThresholdPair | None = None
    for sign in (1, -1):
        sv = np.pad(sign * vals, 1, constant_values=-np.inf)
        centre = sv[1:-1, 1:-1]
        peak = np.ones_like(centre, dtype=bool)
        for di in (-1, 0, 1):
            for dj in (-1, 0, 1):
                if di or dj:
                    peak &= (
                        centre >= sv[1 + di : sv.shape[0] - 1 + di, 1 + dj : sv.shape[1] - 1 + dj]
                    )
        for i, j in zip(*np.nonzero(peak), strict=True):  # polish every local maximum
            res = minimize(
                lambda z, s=sign: -s * threshold_bias(z[0], z[1], c),
                x0=np.array([axis[i], axis[j]]),
                method="L-BFGS-B",
                bounds=[(0.0, 1.0), (0.0, 1.0)],
                options={"ftol": 1e-15, "gtol": 1e-12},
            )
            z = res.x if -res.fun >= centre[i, j] else np.array([axis[i], axis[j]])
            cand = ThresholdPair(c, float(z[0]), float(z[1]), sign, sign * threshold_bias(*z, c))
            if best is None or cand.bias > best.bias:
                best = cand
    assert best is not None
    return best


def classical_minimum(low: float = 0.15, high: float = 0.6) -> ThresholdPair:
    """The C_t minimizing the best threshold win probability (the paper's hardest case, eq. 5)."""
    res = minimize_scalar(
        lambda c: best_threshold_pair(c).bias,
        bounds=(low, high),
        method="bounded",
        options={"xatol": 1e-6},
    )
    return best_threshold_pair(float(res.x))


def exhaustive_bins(n: int, c_t: float) -> tuple[float, NDArray[np.int8], NDArray[np.int8]]:
    """Best bias over *every* ±1 strategy constant on n equal bins (exhaustive, n ≤ 24)."""
    edges = np.linspace(0.0, 1.0, n + 1)
    return classical_bias(bias_matrix(edges, edges, c_t))


@dataclass(frozen=True)
class AnnealResult:
    """Simulated annealing over bin strategies (G, H) ∈ {±1}^N (paper Section 4.3)."""

    bias: float
    g: NDArray[np.int8]
    h: NDArray[np.int8]
    sweeps: int
    seed: int

    @property
    def win_probability(self) -> float:
        """(1 + β)/2."""
        return 0.5 * (1.0 + self.bias)


def anneal(
    c_t: float, n: int = 1000, sweeps: int = 60, seed: int = 0, t0: float = 0.02
) -> AnnealResult:
    """Simulated annealing over (G, H) ∈ {±1}^N on N equal bins, then best responses.

    Single-sign Metropolis flips from random signs, a geometric temperature schedule from
    ``t0`` (per-bin bias units) down by 10^4 over ``sweeps`` passes of 2N proposals; the
    result is polished by alternating exact best responses g = sign(G h), h = sign(Gᵀ g).
    """
    if n < 2 or sweeps < 1 or not t0 > 0:
        raise ValueError(f"anneal needs n >= 2, sweeps >= 1, t0 > 0; got {n}, {sweeps}, {t0}")
    edges = np.linspace(0.0, 1.0, n + 1)
    gm = bias_matrix(edges, edges, c_t) * n  # rescaled so a flip changes the sum by O(1/n)
    rng = np.random.default_rng(seed)
    g = rng.choice([-1.0, 1.0], n)
    h = rng.choice([-1.0, 1.0], n)
    gh, gtg = gm @ h, gm.T @ g  # field on g, field on h
    steps = 2 * n * sweeps
    temps = t0 * np.power(1e-4, np.arange(steps) / max(steps - 1, 1))
    sides = rng.integers(0, 2, steps)
    idx = rng.integers(0, n, steps)
    logu = np.log(rng.random(steps))
    for k in range(steps):
        i = idx[k]
        if sides[k] == 0:
            delta = -2.0 * g[i] * gh[i]
            if delta >= 0 or logu[k] < delta / temps[k]:
                g[i] = -g[i]
                gtg += 2.0 * g[i] * gm[i, :]
        else:
            delta = -2.0 * h[i] * gtg[i]
            if delta >= 0 or logu[k] < delta / temps[k]:
                h[i] = -h[i]
                gh += 2.0 * h[i] * gm[:, i]
    for _ in range(100):
        g_new = np.where(gm @ h >= 0, 1.0, -1.0)
        h_new = np.where(gm.T @ g_new >= 0, 1.0, -1.0)
        if np.array_equal(g_new, g) and np.array_equal(h_new, h):
            break
        g, h = g_new, h_new
    bias = float(g @ gm @ h) / n
    return AnnealResult(bias, g.astype(np.int8), h.astype(np.int8), sweeps, seed)
