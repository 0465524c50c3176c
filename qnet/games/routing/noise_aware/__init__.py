"""Imperfect entanglement: noise-aware strategies, critical visibility, retained advantage.

The question the paper leaves open (Sec. VII): how good and how available must the pairs
be for the quantum routing advantage to survive? Everything here is exact arithmetic on
the ideal frontier of :func:`qnet.games.routing.frontier.pareto_frontier` (quantum
strategies of the reference's family: degree-n polynomials found by
:func:`qnet.games.routing.quantum.optimize_quantum`, or the optimal line family of
:mod:`qnet.games.routing.optimal`; certified classical bounds from
:mod:`qnet.games.routing.classical`). :mod:`.hull`: concave hulls
and their Minkowski sums; :mod:`.reference`: the noise reference and quantum curves;
:mod:`.mixing`: noise-aware strategies (N1-N3); :mod:`.critical`: v_c and retained grids.

Noise model (see :mod:`qnet.physics.noise`). A Werner pair of visibility v measured with readout
errors e_A, e_B has correlation tensor η·I with the *effective visibility*
η = v (1 − 2e_A)(1 − 2e_B), so a strategy with angles θ_A, θ_B gives
E[o_A o_B | x1, x2] = η cos 2(θ_A − θ_B) (eq. D30 × η). For a strategy whose ideal-pair
splitting probability is p'' and payoff Q (eqs. D32, D33), the same angles on the noisy
pair give exactly

    p = (1 − η (1 − 2p''))/2,        A = η·Q.                                       (N1)

Noise pulls p towards 1/2, so results are always compared at the *achieved* p.
The map (N1) is affine in (p'', Q), so the best noisy-pair strategy at p is the ideal one
at p'' = 1/2 − (1 − 2p)/(2η): noise-aware angles are ideal angles for a shifted target.

Availability a. A decision finds a usable pair with probability a, independently of
(X1, X2); otherwise both routers play a classical threshold fallback with a shared random
bit. With (A_q, p_q) for the branch with a pair and (A_c, p_c) for the fallback, the mix
has (law of total expectation, :func:`qnet.physics.noise.availability_mix`)

    A_mix = a A_q + (1 − a) A_c,      p_mix = a p_q + (1 − a) p_c.                  (N2)

Noise-aware strategy. Shared randomness lets the routers mix strategies, so the set of
(p, A) reachable with a pair is the upper concave hull F of the noisy quantum points (N1)
and the classical points (routers may ignore a pair), and without a pair the hull G of the
classical points (Thm 9). By (N2) the best mix at target p is the sup-convolution

    V(p; η, a) = max { a F(p_q) + (1 − a) G(p_c) : a p_q + (1 − a) p_c = p },        (N3)

the upper boundary of the Minkowski sum a·F ⊕ (1 − a)·G, computed exactly by merging the
two hulls' edges in order of decreasing slope. The argmax gives the angles *and* the
classical fallback jointly, and the mix hits p exactly. Every hull vertex is an exhibited
strategy (polynomial angles or threshold pair), so V is an achievable payoff; between
vertices the routers mix the two neighbouring strategies on a shared random number.
V is non-decreasing in η (local output flips turn a better pair into a worse one) and in
a (a router pair can always ignore an available pair).

Critical visibility v_c(p): the smallest v with V(p; η(v), a) − ε_q > C(p), where C(p) is
the concave envelope of certified classical upper bounds (the shared-randomness benchmark,
``tight`` or ``paper`` certificate) and ε_q the largest adaptive-quadrature error of the
quantum payoffs (≤ 1e-8); found by bisection to ``xtol`` (default 1e-6 in v).
F_c = (3 v_c + 1)/4. Retained advantage: (V(p; η, a) − C(p))⁺ / (V(p; 1, 1) − C(p)).

Availability does not move the threshold. F ≥ G are concave and V(p; a) ≤ F(p), so
F(p) = G(p) gives V(p; a) = G(p) for every a, while F(p) > G(p) gives
V(p; a) ≥ a F(p) + (1 − a) G(p) > G(p). Hence v_c(p, a) = v_c(p, 1) for every a > 0 (up to
the certificate slack and ε_q, which matter only for a → 0), and the advantage retained
at availability a is at least a times the one at a = 1.

Limits (stated, not hidden): quantum payoffs are lower bounds (best strategy found in
the family), so v_c is an upper bound on the true critical visibility of the model; the p''
grid of the ideal frontier limits V to mixtures of its strategies (refine it with
``quantum_step``; at the paper's parameters v_c moves by ≤ 1.2e-3 from step 0.01 to
0.005 and ≤ 3e-4 from 0.005 to 0.0025, the default). C(p) is the frontier's envelope of
grid bounds (as in ``qnet frontier``). Dephased pairs (anisotropic T) are not covered by
(N1): :func:`quantum_curve` re-optimizes the angles on T (for the line family: the
best response T V K (1, x)ᵀ, docs/optimal-strategies.md), and the same hull machinery
(``noise_aware_strategy(..., curve=...)``) mixes them; v_c and the retained grid are
computed for isotropic noise only.

Examples:
    >>> from qnet.queues.model import SystemParams
    >>> ref = noise_reference([0.2], SystemParams(), restarts=2, quantum_step=0.05)
    >>> crit = critical_visibility(ref, 0.2)
    >>> 0.8 < crit.visibility < 1.0, round(crit.fidelity - (3 * crit.visibility + 1) / 4, 12)
    (True, 0.0)
"""

from qnet.games.routing.noise_aware.critical import (
    CriticalVisibility,
    NaiveResult,
    RetainedGrid,
    critical_visibility,
    naive_strategy,
    retained_grid,
)
from qnet.games.routing.noise_aware.mixing import (
    Component,
    MixedStrategy,
    noise_aware_strategy,
    noisy_quantum_payoff,
    retained_advantage,
)
from qnet.games.routing.noise_aware.reference import (
    NoiseReference,
    QuantumCurve,
    effective_visibility,
    noise_reference,
    quantum_curve,
)

__all__ = [
    "Component",
    "CriticalVisibility",
    "MixedStrategy",
    "NaiveResult",
    "NoiseReference",
    "QuantumCurve",
    "RetainedGrid",
    "critical_visibility",
    "effective_visibility",
    "naive_strategy",
    "noise_aware_strategy",
    "noise_reference",
    "noisy_quantum_payoff",
    "quantum_curve",
    "retained_advantage",
    "retained_grid",
]
