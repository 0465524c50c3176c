"""What happens at a decision and what is recorded of it: the decision log."""

from qnet.decisions.log import DecisionLog

__all__ = ["DecisionLog"]
