"""The best quantum value of the sum-threshold game, bracketed (QuNet'25 Section 4.4).

Lower bounds. Strategies constant on n × n equal input bins form a finite XOR game with
the exact bias matrix G (:func:`qnet.games.sum_threshold.classical.bias_matrix`). Its best
quantum value is the Tsirelson SDP: for n ≤ 16 solved as the SDP itself
(:func:`qnet.games.xor.tsirelson_sdp`), for larger n by alternating exact best responses
on unit vectors in R³ (a low-rank, Burer–Monteiro form of the same SDP). Either way the
*lower bound reported is the value of the extracted vectors*, a strategy one can play
(vectors in a plane are qubit measurement angles), so it is rigorous. On nested grids
(n doubling) the lower bounds cannot decrease.

Upper bounds. For any continuous strategy (u(a), v(b)) write ū_i, v̄_j for its bin
averages (norm ≤ 1) and R̄_ij = G_ij/|cell| for the cell mean of R:
∫∫ R⟨u, v⟩ = Σ G_ij⟨ū_i, v̄_j⟩ + Σ_cells ∫∫ (R − R̄_ij)⟨u, v⟩
           ≤ SDP_n + Σ_cells |cell|(1 − R̄_ij²),
because a bilinear form is maximized over the ball on the sphere, and
|∫∫_cell (R − R̄)⟨u, v⟩| ≤ ∫∫_cell |R − R̄| = |cell|(1 − R̄²) for R = ±1. SDP_n is replaced
by a dual-feasible certificate built from the primal Gram (:func:`dual_certificate`), so
the upper bound needs no trust in the solver's convergence; only floating-point rounding
(~1e-12) is unaccounted for. The residual term is O(1/n) (cells crossed by the boundary).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

from qnet.games.sum_threshold.classical import bias_matrix, check_c_t
from qnet.games.xor import tsirelson_sdp

__all__ = [
    "SDP_MAX_BINS",
    "BinBound",
    "bin_bounds",
    "dual_certificate",
    "lowrank_xor",
]

#: Largest n solved by the cvxpy SDP; larger grids use the low-rank best-response solver.
SDP_MAX_BINS = 16


def dual_certificate(g: ArrayLike, gram: ArrayLike) -> float:
    """A dual-feasible upper bound on max Σ G⟨u, v⟩ over unit vectors, from a primal Gram.

    Complementary slackness suggests y_i = (W X)_ii with W = [[0, G/2], [Gᵀ/2, 0]]; shifting
    every y_i by the most negative eigenvalue of Diag(y) − W makes Diag(y) ⪰ W, and then
    Σ y_i ≥ ⟨W, X⟩ for every feasible X (weak duality).
    """
    gm = np.asarray(g, dtype=float)
    n, m = gm.shape
    w = np.zeros((n + m, n + m))
    w[:n, n:] = 0.5 * gm
    w[n:, :n] = 0.5 * gm.T
    y = np.einsum("ij,ji->i", w, np.asarray(gram, dtype=float))
    lam_min = float(np.linalg.eigvalsh(np.diag(y) - w)[0])
    shift = max(0.0, -lam_min) + 1e-12 * (n + m)
    return float(np.sum(y) + shift * (n + m))


def lowrank_xor(
    g: ArrayLike, dim: int = 3, seed: int = 0, max_iter: int = 5000, tol: float = 1e-15
) -> tuple[float, NDArray[np.float64], NDArray[np.float64]]:
    """max Σ G⟨u, v⟩ over unit vectors in R^dim by alternating exact best responses.

    u_i = normalize(Σ_j G_ij v_j), then v_j = normalize(Σ_i G_ij u_i); the value never
    decreases. Returns (value of the final vectors, u, v). Global optimality is *checked*,
    not assumed, by :func:`dual_certificate`.
    """
    gm = np.asarray(g, dtype=float)
    rng = np.random.default_rng(seed)
    v = rng.normal(size=(gm.shape[1], dim))
    v /= np.linalg.norm(v, axis=1, keepdims=True)
    prev = -np.inf
    for _ in range(max_iter):
        u = gm @ v
        u /= np.maximum(np.linalg.norm(u, axis=1, keepdims=True), 1e-300)
        v = gm.T @ u
        v /= np.maximum(np.linalg.norm(v, axis=1, keepdims=True), 1e-300)
        val = float(np.sum(u * (gm @ v)))
        if val - prev <= tol * max(1.0, abs(val)):
            break
        prev = val
    return val, u, v


@dataclass(frozen=True)
class BinBound:
    """Best quantum value of the n × n bin-constant restriction, and the bracket it gives.

    Attributes:
        n: bins per input.
        method: "sdp" (cvxpy + Clarabel) or "lowrank" (best responses in R³).
        lower: win probability of the extracted vectors (a playable strategy).
        sdp_upper: win probability of the dual certificate of the n × n game.
        upper: win-probability bound valid for every continuous quantum strategy.
        rank: number of singular values of the stacked vectors above 1e-4 × the largest.
        phases_a, phases_b: Bloch angles of the vectors in their plane (rank ≤ 2).
    """

    n: int
    method: str
    lower: float
    sdp_upper: float
    upper: float
    rank: int
    phases_a: NDArray[np.float64]
    phases_b: NDArray[np.float64]


def bin_bounds(c_t: float, n: int, method: str | None = None, seed: int = 0) -> BinBound:
    """Best bin-constant quantum strategy on n × n bins: playable lower bound, rigorous upper."""
    c = check_c_t(c_t)
    if not 2 <= n <= 2000:
        raise ValueError(f"bins n = {n} is out of range: allowed [2, 2000]")
    method = method or ("sdp" if n <= SDP_MAX_BINS else "lowrank")
    edges = np.linspace(0.0, 1.0, n + 1)
    gm = bias_matrix(edges, edges, c)
    if method == "sdp":
        sol = tsirelson_sdp(gm)
        u, v = sol.u, sol.v
    elif method == "lowrank":
        _, u, v = lowrank_xor(gm, seed=seed)
    else:
        raise ValueError(f"method = {method!r} is not allowed: use 'sdp' or 'lowrank'")
    stacked = np.vstack((u, v))
    if stacked.shape[1] < 2:  # a rank-1 optimum (a classical strategy): pad to a plane
        stacked = np.pad(stacked, ((0, 0), (0, 2 - stacked.shape[1])))
    achieved = float(np.sum(u * (gm @ v)))
    dual = dual_certificate(gm, stacked @ stacked.T)
    cell = 1.0 / (n * n)
    residual = float(np.sum(cell * (1.0 - (gm / cell) ** 2)))
    sv = np.linalg.svd(stacked, compute_uv=False)
    rank = int(np.sum(sv > 1e-4 * sv[0]))
    # Rotate into the principal plane and read the angles there (meaningful when rank <= 2).
    _, _, vt = np.linalg.svd(stacked, full_matrices=False)
    planar = stacked @ vt[:2].T
    phases = np.arctan2(planar[:, 1], planar[:, 0])
    return BinBound(
        n=n,
        method=method,
        lower=0.5 * (1.0 + achieved),
        sdp_upper=0.5 * (1.0 + dual),
        upper=min(1.0, 0.5 * (1.0 + dual + residual)),
        rank=rank,
        phases_a=phases[:n],
        phases_b=phases[n:],
    )
