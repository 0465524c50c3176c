"""The Tsirelson SDP of the routing game restricted to bin-constant strategies: a
cross-check from below of the line family's value (and its rank), via :mod:`qnet.games.xor`."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from qnet.games.routing.optimal.optimize import _check_p
from qnet.queues.model import SystemParams

__all__ = [
    "BinSDPResult",
    "bin_sdp",
]


@dataclass(frozen=True)
class BinSDPResult:
    """Tsirelson SDP of the routing game restricted to bin-constant strategies.

    Attributes:
        p: splitting probability; bins: number of equal-probability bins per router.
        value: optimal payoff over strategies constant on each bin (a lower bound on the
            quantum value: bin-constant strategies are a restriction).
        rank: numerical rank of the optimal Gram matrix (2: one qubit pair suffices).
        eigenvalues: the Gram matrix's largest eigenvalues (at most four).
    """

    p: float
    bins: int
    value: float
    rank: int
    eigenvalues: tuple[float, ...]

    def to_dict(self) -> dict[str, object]:
        """Plain-JSON form."""
        return {**vars(self), "eigenvalues": list(self.eigenvalues)}


def bin_sdp(
    p: float, params: SystemParams, bins: int, solver: str = "SCS", eps: float = 1e-9
) -> BinSDPResult:
    """Routing game on ``bins`` equal-probability bins of Exp(μ) per router, by Tsirelson SDP.

    Bin i = [q_i, q_{i+1}) with q_i = −ln(1 − i/n)/μ has probability 1/n and conditional mean
    m_i; for bin-constant vectors E[w⟨u, v⟩] = Σ_ij n⁻² (c1 m_i m_j + c2(m_i + m_j))⟨u_i, v_j⟩
    (eq. 2) and E⟨u, v⟩ = Σ_ij n⁻²⟨u_i, v_j⟩ = 1 − 2p; solved by
    :func:`qnet.games.xor.tsirelson_sdp` (SCS to ``eps`` by default: Clarabel's
    interior-point steps are ~20 times slower at 32 bins).
    """
    from qnet.games.xor import tsirelson_sdp

    p = _check_p(p)
    if isinstance(bins, bool) or not isinstance(bins, int) or not 1 <= bins <= 200:
        raise ValueError(f"bins must be an integer in [1, 200], got {bins!r}")
    mu = params.mu
    # E[μX; μX ∈ [a, b)] = (a + 1) e^{−a} − (b + 1) e^{−b}, a = −ln(1 − i/n); last b = ∞.
    tail = 1.0 - np.arange(bins, dtype=float) / bins  # e^{−a_i}, exact
    part = np.append((1.0 - np.log(tail)) * tail, 0.0)
    mean = (part[:-1] - part[1:]) * bins / mu  # conditional means m_i
    w = params.c1 * np.outer(mean, mean) + params.c2 * (mean[:, None] + mean[None, :])
    prob = np.full((bins, bins), 1.0 / bins**2)
    opts: dict[str, object] = {"eps": eps} if solver == "SCS" else {}
    sol = tsirelson_sdp(-w * prob, [(prob, 1.0 - 2.0 * p)], solver=solver, solver_options=opts)
    return BinSDPResult(
        p=p,
        bins=bins,
        value=sol.value,
        rank=sol.rank,
        eigenvalues=tuple(float(v) for v in sol.eigenvalues[:4]),
    )
