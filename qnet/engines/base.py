"""What every engine hands back: which decisions found a usable pair and what measuring it gave.

An engine supplies pairs to decisions and knows nothing of games: it receives the
decision times and each decision's :class:`qnet.decisions.step.MeasurementSettings`
(spend a usable pair or not, the players' angles), applies the agreement rule (usable from
herald plus the later herald delay, discarded at the cutoff, oldest/newest), measures the
chosen pair (Born rule on SeQUeNCe's state, or sampled from its correlation tensor), and
returns a :class:`PairUse`. :meth:`qnet.decisions.step.DecisionStep.outputs` turns that into
the players' outputs.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, fields
from typing import Protocol

import numpy as np

from qnet.decisions.step import MeasurementSettings

__all__ = ["Engine", "PairUse", "Progress"]

Progress = Callable[[str, float], None]
"""Progress callback: (stage description, fraction done in [0, 1])."""


@dataclass(frozen=True)
class PairUse:
    """Per-decision pair supply and measurement results of one link (columns of length n).

    Attributes:
        available: a usable pair existed at the decision.
        used: the decision measured it (``available`` and the settings wanted a pair).
        outcome_a: player A's measurement outcome ±1 before the shared flip (0 if unused).
        outcome_b: player B's outcome, likewise.
        pair_age_s: storage age of the measured pair at use [s] (NaN if unused).
        pair_fidelity: its fidelity at use (NaN if unused).
        pairs_heralded: pairs heralded up to the last decision.
        pairs_discarded: pairs discarded at the cutoff / expiry age.
    """

    available: np.ndarray
    used: np.ndarray
    outcome_a: np.ndarray
    outcome_b: np.ndarray
    pair_age_s: np.ndarray
    pair_fidelity: np.ndarray
    pairs_heralded: int
    pairs_discarded: int

    def __post_init__(self) -> None:
        n = len(self.available)
        for f in fields(self):
            col = getattr(self, f.name)
            if isinstance(col, np.ndarray) and (col.ndim != 1 or len(col) != n):
                raise ValueError(f"PairUse.{f.name}: expected a 1-D array of length {n}")


class Engine(Protocol):
    """An engine: pairs for decisions at times ``t_s`` measured at ``settings``."""

    def __call__(
        self,
        t_s: np.ndarray,
        settings: MeasurementSettings,
        rngs: dict[str, np.random.Generator],
        progress: Progress | None = None,
    ) -> PairUse:
        """Supply and measure pairs; ``rngs`` holds the run's named streams."""
        ...
