"""Classical strategies of the routing game (paper App. C, D2-D28, Thm 9).

:mod:`.thresholds`: threshold strategies and their moments (D2-D24); :mod:`.certificates`:
certified upper bounds on the best deterministic payoff (Prop. 7, ``paper`` and ``tight``);
:mod:`.envelope`: the shared-randomness value, its concave envelope and dual certificate.

Examples:
    >>> from qnet.queues.model import SystemParams
    >>> cert = certified_classical_bound(0.2, SystemParams(lam=0.8, mu=1.0))
    >>> cert.slack < 1e-6, round(cert.best_value, 4)
    (True, -0.0515)
"""

from qnet.games.routing.classical.certificates import (
    ClassicalCertificate,
    best_classical_value_at_half,
    boundary_transition,
    certified_classical_bound,
    certified_classical_curve,
)
from qnet.games.routing.classical.envelope import (
    ClassicalEnvelope,
    certified_envelope_bound,
    certify_envelope,
    classical_envelope,
    lagrangian_value,
)
from qnet.games.routing.classical.thresholds import (
    ThresholdStrategy,
    reduced_payoff,
    reduced_payoff_derivative,
    theta_b_on_constraint,
    theta_min,
    threshold_moment_derivatives,
    threshold_moments,
    threshold_payoff,
    threshold_splitting_probability,
)

__all__ = [
    "ClassicalCertificate",
    "ClassicalEnvelope",
    "ThresholdStrategy",
    "best_classical_value_at_half",
    "boundary_transition",
    "certified_classical_bound",
    "certified_classical_curve",
    "certified_envelope_bound",
    "certify_envelope",
    "classical_envelope",
    "lagrangian_value",
    "reduced_payoff",
    "reduced_payoff_derivative",
    "theta_b_on_constraint",
    "theta_min",
    "threshold_moment_derivatives",
    "threshold_moments",
    "threshold_payoff",
    "threshold_splitting_probability",
]
