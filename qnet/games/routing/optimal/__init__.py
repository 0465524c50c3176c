"""Optimal quantum routing strategies: angles ½·atan2 of a point moving on a line .

Tsirelson: any quantum strategy of the routing game (an XOR game) gives correlations
E[o_A o_B | x1, x2] = ⟨u(x1), v(x2)⟩ for unit vectors u, v of a real Hilbert space, and every
such pair of vector functions is reached by a shared maximally entangled state. With the
multiplier ν of the splitting constraint E⟨u, v⟩ = 1 − 2p, the Lagrangian is
E[(ν − w(X1, X2))⟨u(X1), v(X2)⟩] − ν(1 − 2p), and since ν − w(x1, x2) = (1, x1) K (1, x2)ᵀ
with K = [[ν, −c2], [−c2, −c1]] (eq. 2), router A's stationarity condition is
u(x) ∝ T V K (1, x)ᵀ = a + x·b, where V = E[v(X)(1, X)] holds B's two moments (and
symmetrically for B). So the optimal vectors lie in one plane, u(x) = (cos 2θ(x), sin 2θ(x))
with θ(x) = ½·atan2(a_y + x b_y, a_x + x b_x): the *line family* :class:`LineStrategy`
(derivation in docs/optimal-strategies.md).

:func:`optimize_optimal` finds the best member at a target p: for a multiplier ν it solves
the Lagrangian by alternating best responses (each is the closed form above), tunes ν by
Brent's method until the splitting probability is p, polishes with SLSQP under the
constraint when that point is not already KKT, evaluates on a per-router composite rule
(:func:`line_rule`; the payoff formulas D32–D35 of
:meth:`qnet.games.routing.quantum.QuantumGame.evaluate`), and reports the payoff by adaptive
quadrature (as :func:`qnet.games.routing.quantum.optimize_quantum` does).

:func:`certify_quantum` / :class:`QuantumBound` bound every quantum strategy from above
(weak duality and an outer polytope of the moment set); :func:`bin_sdp` is the Tsirelson SDP
of the binned game (a cross-check from below, via :mod:`qnet.games.xor`).

Examples:
    >>> from qnet.queues.model import SystemParams
    >>> res = optimize_optimal(0.2, SystemParams(lam=0.8, mu=1.0))
    >>> res.converged, round(res.splitting_probability, 9)
    (True, 0.2)
"""

from qnet.games.routing.optimal.bin_sdp import (
    BinSDPResult,
    bin_sdp,
)
from qnet.games.routing.optimal.certificate import (
    QuantumBound,
    QuantumCertificate,
    certify_quantum,
)
from qnet.games.routing.optimal.line import (
    LineGame,
    LineStrategy,
    adaptive_line_evaluation,
    line_rule,
)
from qnet.games.routing.optimal.optimize import (
    OptimalResult,
    UnvalidatedOptimum,
    lagrangian_best_response,
    optimal_sweep,
    optimize_optimal,
)

__all__ = [
    "BinSDPResult",
    "LineGame",
    "LineStrategy",
    "OptimalResult",
    "QuantumBound",
    "QuantumCertificate",
    "UnvalidatedOptimum",
    "adaptive_line_evaluation",
    "bin_sdp",
    "certify_quantum",
    "lagrangian_best_response",
    "line_rule",
    "optimal_sweep",
    "optimize_optimal",
]
