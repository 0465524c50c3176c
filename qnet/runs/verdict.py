"""The run's answer: does quantum routing beat the classical strategy here, and how many
decisions would a target precision take."""

from __future__ import annotations

import math

from qnet.estimators import Estimate

__all__ = ["DEFAULT_TARGET_HALF_WIDTH", "VERDICTS", "decisions_for_half_width", "verdict"]

VERDICTS = ("yes", "no", "inconclusive")

NO_SPREAD = 1e-12
"""A 95 % half-width at or below this: the two policies made the same decisions (e.g. a
noise-aware profile that uses no pair plays the classical strategy itself)."""

DEFAULT_TARGET_HALF_WIDTH = 0.1
"""Default target 95 % half-width of the retained share (game): 10 % of the ideal reduction."""


def verdict(reduction: Estimate) -> str:
    """ "yes" if the paired 95 % CI of the gap reduction lies above 0 (quantum waits less than
    the classical strategy at equal throughput), "no" if it lies below 0, else
    "inconclusive" (also when the interval cannot be formed). An interval of no spread at
    0 (quantum played the classical strategy itself) is "no": it does not beat it."""
    if not (math.isfinite(reduction.mean) and math.isfinite(reduction.ci95)):
        return "inconclusive"
    if reduction.ci95 <= NO_SPREAD and reduction.mean <= NO_SPREAD:
        return "no"
    if reduction.low > 0:
        return "yes"
    if reduction.high < 0:
        return "no"
    return "inconclusive"


def decisions_for_half_width(decisions: int, half_width: float, target: float) -> int:
    """Measured decisions for a 95 % half-width ``target``, scaling ``half_width`` (reached
    with ``decisions``) as 1/sqrt(n) at the same batch count; -1 if undefined (also for an
    estimate of no spread: no number of decisions changes it)."""
    if not target > 0:
        raise ValueError(f"target half-width = {target!r}: allowed range is (0, inf)")
    if decisions <= 0 or not math.isfinite(half_width) or half_width <= NO_SPREAD:
        return -1
    return max(1, math.ceil(decisions * (half_width / target) ** 2 - 1e-9))
