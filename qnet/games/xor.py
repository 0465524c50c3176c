"""Two-player XOR games: classical value (exhaustive) and quantum value (Tsirelson SDP).

An XOR game gives inputs (x, y) with probability π(x, y); the players answer a, b ∈ {0, 1}
(outputs o = (−1)^a ∈ {±1}) without communicating and win when a ⊕ b = f(x, y). With the
*bias matrix* G(x, y) = π(x, y)·(−1)^{f(x, y)} the winning probability is (1 + β)/2 with
bias β = Σ G(x, y) E[o_A o_B | x, y].

* Classical (shared randomness does not help a linear objective): β_c = max over sign
  vectors of aᵀ G b = max_a ‖Gᵀ a‖₁, found exhaustively over a (a_0 = +1 by symmetry).
* Quantum (Tsirelson): E[o_A o_B | x, y] = ⟨u_x, v_y⟩ for unit vectors, so
  β_q = max ⟨G, U Vᵀ⟩, the semidefinite program over the Gram matrix X of
  (u_1..u_n, v_1..v_m): X ⪰ 0, diag X = 1, maximize Σ G(x, y) X(x, n + y). Optional linear
  equalities Σ H(x, y) X(x, n + y) = h (e.g. the routing game's splitting constraint) are
  allowed. The optimal vectors are read off the Gram matrix's eigendecomposition; its
  numerical rank r says how many dimensions (⌈r/2⌉ qubit pairs) the optimum needs.

The same solver serves every game of the project: CHSH load balancing, the routing game
discretized into input bins (:mod:`qnet.games.routing.optimal`), the workshop game.

Examples:
    >>> chsh = XORGame.chsh()
    >>> chsh.classical_value(), round(chsh.quantum_value(), 6)
    (0.75, 0.853553)
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

__all__ = [
    "MAX_EXHAUSTIVE",
    "RANK_TOL",
    "TsirelsonSolution",
    "XORGame",
    "classical_bias",
    "tsirelson_sdp",
]

#: Largest number of rows (after transposing to the smaller side) for exhaustive search.
MAX_EXHAUSTIVE = 24
#: Eigenvalues of the Gram matrix below RANK_TOL · (largest) count as zero for the rank.
RANK_TOL = 1e-6


def _check_matrix(g: ArrayLike, name: str) -> NDArray[np.float64]:
    try:
        arr = np.array(g, dtype=float)
    except (TypeError, ValueError) as err:
        raise ValueError(f"{name} must be a 2-D array of real numbers, got {g!r}") from err
    if arr.ndim != 2 or arr.size == 0 or not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} must be a non-empty finite 2-D array, got shape {arr.shape}")
    return arr


def classical_bias(g: ArrayLike) -> tuple[float, NDArray[np.int8], NDArray[np.int8]]:
    """max over a ∈ {±1}^n, b ∈ {±1}^m of aᵀ G b, exhaustively; returns (bias, a, b)."""
    gm = _check_matrix(g, "bias matrix G")
    transposed = gm.shape[0] > gm.shape[1]
    if transposed:
        gm = gm.T
    n = gm.shape[0]
    if n > MAX_EXHAUSTIVE:
        raise ValueError(
            f"bias matrix G has {n} rows and columns or more; exhaustive search allows at most "
            f"{MAX_EXHAUSTIVE} on the smaller side"
        )
    best, best_a = -math.inf, None
    rest = np.array(list(itertools.product((1.0, -1.0), repeat=n - 1))).reshape(-1, n - 1)
    signs = np.hstack((np.ones((rest.shape[0], 1)), rest))  # a_0 = +1 (flip both: same value)
    for chunk in np.array_split(signs, max(1, signs.shape[0] // 65536)):
        vals = np.abs(chunk @ gm).sum(axis=1)
        k = int(np.argmax(vals))
        if vals[k] > best:
            best, best_a = float(vals[k]), chunk[k]
    assert best_a is not None
    b = np.where(best_a @ gm >= 0, 1, -1).astype(np.int8)
    a = best_a.astype(np.int8)
    return (best, b, a) if transposed else (best, a, b)


@dataclass(frozen=True)
class TsirelsonSolution:
    """Optimum of the Tsirelson SDP.

    Attributes:
        value: the optimal objective Σ G(x, y) ⟨u_x, v_y⟩ (the solver's primal value).
        gram: the (n + m) × (n + m) Gram matrix of (u_1..u_n, v_1..v_m).
        u, v: unit vectors (rows) reproducing ``gram`` in dimension ``rank``.
        rank: number of Gram eigenvalues above RANK_TOL × the largest.
        eigenvalues: the Gram matrix's eigenvalues, largest first.
        correlations: ⟨u_x, v_y⟩ of the extracted vectors (n × m).
        status: the solver's status string.
    """

    value: float
    gram: NDArray[np.float64]
    u: NDArray[np.float64]
    v: NDArray[np.float64]
    rank: int
    eigenvalues: NDArray[np.float64]
    correlations: NDArray[np.float64]
    status: str

    def angles(self) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        """Measurement angles θ with (cos 2θ, sin 2θ) = the vectors, when rank ≤ 2 (D30)."""
        if self.u.shape[1] > 2:
            raise ValueError(f"angles need vectors in a plane (rank <= 2), got rank {self.rank}")
        u = np.pad(self.u, ((0, 0), (0, 2 - self.u.shape[1])))
        v = np.pad(self.v, ((0, 0), (0, 2 - self.v.shape[1])))
        return 0.5 * np.arctan2(u[:, 1], u[:, 0]), 0.5 * np.arctan2(v[:, 1], v[:, 0])


def tsirelson_sdp(
    g: ArrayLike,
    equalities: Sequence[tuple[ArrayLike, float]] = (),
    solver: str = "CLARABEL",
) -> TsirelsonSolution:
    """max Σ G(x, y)⟨u_x, v_y⟩ over unit vectors (Tsirelson), with Σ H⟨u, v⟩ = h equalities.

    Solved as the SDP over the Gram matrix X ⪰ 0 with unit diagonal (cvxpy, Clarabel by
    default); vectors come from X = Q Λ Qᵀ as rows of Q √Λ restricted to the eigenvalues
    above RANK_TOL × the largest, then normalized.
    """
    import cvxpy as cp

    gm = _check_matrix(g, "bias matrix G")
    n, m = gm.shape
    x = cp.Variable((n + m, n + m), symmetric=True)
    cons = [x >> 0, cp.diag(x) == 1]
    for i, (h, rhs) in enumerate(equalities):
        hm = _check_matrix(h, f"equality {i} matrix")
        if hm.shape != gm.shape:
            raise ValueError(f"equality {i} matrix has shape {hm.shape}, G has {gm.shape}")
        if not math.isfinite(float(rhs)):
            raise ValueError(f"equality {i} right-hand side must be finite, got {rhs!r}")
        cons.append(cp.sum(cp.multiply(hm, x[:n, n:])) == float(rhs))
    prob = cp.Problem(cp.Maximize(cp.sum(cp.multiply(gm, x[:n, n:]))), cons)
    prob.solve(solver=solver)
    if prob.status not in ("optimal", "optimal_inaccurate") or x.value is None:
        raise ValueError(f"Tsirelson SDP did not solve: status {prob.status}")
    gram = 0.5 * (x.value + x.value.T)
    lam, q = np.linalg.eigh(gram)
    order = np.argsort(lam)[::-1]
    lam, q = lam[order], q[:, order]
    keep = lam > RANK_TOL * max(float(lam[0]), 1e-300)
    vecs = q[:, keep] * np.sqrt(lam[keep])
    vecs /= np.linalg.norm(vecs, axis=1, keepdims=True)
    u, v = vecs[:n], vecs[n:]
    return TsirelsonSolution(
        value=float(prob.value),
        gram=gram,
        u=u,
        v=v,
        rank=int(keep.sum()),
        eigenvalues=lam,
        correlations=u @ v.T,
        status=str(prob.status),
    )


@dataclass(frozen=True)
class XORGame:
    """An XOR game: input distribution π(x, y) and predicate f(x, y) ∈ {0, 1} (a ⊕ b = f wins)."""

    prob: NDArray[np.float64]
    pred: NDArray[np.int8]

    def __post_init__(self) -> None:
        prob = _check_matrix(self.prob, "prob (input distribution)")
        pred = _check_matrix(self.pred, "pred (predicate)")
        if pred.shape != prob.shape:
            raise ValueError(f"pred has shape {pred.shape}, prob has {prob.shape}; they must match")
        if np.any(prob < 0) or abs(prob.sum() - 1.0) > 1e-9:
            raise ValueError(
                f"prob (input distribution) must be >= 0 and sum to 1, got sum {prob.sum()!r}"
            )
        if not np.all((pred == 0) | (pred == 1)):
            raise ValueError("pred (predicate) entries must be 0 or 1")
        prob.setflags(write=False)
        pred = pred.astype(np.int8)
        pred.setflags(write=False)
        object.__setattr__(self, "prob", prob)
        object.__setattr__(self, "pred", pred)

    @classmethod
    def chsh(cls) -> XORGame:
        """CHSH: uniform x, y ∈ {0, 1}, win iff a ⊕ b = x ∧ y."""
        return cls(np.full((2, 2), 0.25), np.array([[0, 0], [0, 1]]))

    @property
    def bias_matrix(self) -> NDArray[np.float64]:
        """G(x, y) = π(x, y)·(−1)^{f(x, y)}."""
        return self.prob * (1.0 - 2.0 * self.pred)

    def classical_value(self) -> float:
        """Best classical winning probability (1 + β_c)/2, exhaustive search."""
        return 0.5 * (1.0 + classical_bias(self.bias_matrix)[0])

    def quantum_solution(self, solver: str = "CLARABEL") -> TsirelsonSolution:
        """Tsirelson SDP of the bias matrix: optimal bias and vectors."""
        return tsirelson_sdp(self.bias_matrix, solver=solver)

    def quantum_value(self, solver: str = "CLARABEL") -> float:
        """Best quantum winning probability (1 + β_q)/2 (Tsirelson SDP)."""
        return 0.5 * (1.0 + self.quantum_solution(solver).value)
