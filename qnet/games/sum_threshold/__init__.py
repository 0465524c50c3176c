"""The QuNet'25 sum-threshold game: bunch iff (1 − a)(1 − b) ≥ C_t (workshop paper eq. 4).

:mod:`.game` (the :class:`SumThresholdGame` of the stack), :mod:`.classical` (exact
threshold pairs, exhaustive and annealing searches), :mod:`.quantum` (the paper's relative
angles and the ψ−/X–Y ↔ Φ+/X–Z convention map), :mod:`.bounds` (the best quantum value
bracketed by bin-constant SDP lower bounds and rigorous upper bounds), :mod:`.qos` (the
waiting-time framing: Theorem 4.1 against A12, p at a QoS limit, R_k).
"""

from qnet.games.sum_threshold.game import SumThresholdGame

__all__ = ["SumThresholdGame"]
