"""The decision log: one row per customer-pair decision, stored column-wise.

Every engine (SeQUeNCe or the fast analytic link) produces a :class:`DecisionLog`; the
queue replay and all metrics consume it. Columns are numpy arrays of equal length.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np

__all__ = ["DecisionLog"]


@dataclass(frozen=True)
class DecisionLog:
    """Columnar log of customer-pair decisions (units in field names' docs).

    Attributes:
        t_s: arrival time of the customer pair on the simulation clock [s].
        x1_s: service time of the customer at router A [s].
        x2_s: service time of the customer at router B [s].
        o_a: router A's output, +1 or -1 (the server it routes to).
        o_b: router B's output, +1 or -1.
        used_pair: True when the decision consumed an entangled pair.
        pair_age_s: storage age of the consumed pair at use [s] (NaN when none used).
        pair_fidelity: fidelity of the consumed pair at use (NaN when none used).
    """

    t_s: np.ndarray
    x1_s: np.ndarray
    x2_s: np.ndarray
    o_a: np.ndarray
    o_b: np.ndarray
    used_pair: np.ndarray
    pair_age_s: np.ndarray
    pair_fidelity: np.ndarray

    def __post_init__(self) -> None:
        n = len(self.t_s)
        for f in fields(self):
            col = getattr(self, f.name)
            if not isinstance(col, np.ndarray) or col.ndim != 1 or len(col) != n:
                raise ValueError(f"DecisionLog.{f.name}: expected a 1-D array of length {n}")

    def __len__(self) -> int:
        return len(self.t_s)

    @property
    def split(self) -> np.ndarray:
        """True where the pair was split across servers (o_A * o_B = -1)."""
        return self.o_a * self.o_b < 0

    def to_columns(self) -> dict[str, np.ndarray]:
        """The log as a dict of named columns (e.g. for ``pandas.DataFrame``)."""
        return {f.name: getattr(self, f.name) for f in fields(self)}
