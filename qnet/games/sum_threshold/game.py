"""The sum-threshold game of the QuNet'25 workshop paper (Section 4.2, eqs. 3-4).

Inputs: the two customers' service times x1, x2 ~ Exp(mu); each router maps its own to
a = F(x1), b = F(x2) with F(x) = 1 − e^{−mu x}, uniform on (0, 1). The routers should bunch
(o_A o_B = +1) iff x1 + x2 ≤ t, i.e. iff (1 − a)(1 − b) ≥ C_t = e^{−mu t}, and split
(o_A o_B = −1) otherwise. Score of a decision: R(a, b)·o_A o_B with R = ±1 the ideal
product, so the game's value is the bias β and the win probability is (1 + β)/2.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cached_property
from typing import ClassVar

import numpy as np
from numpy.typing import ArrayLike, NDArray

from qnet.games.base import XorGame
from qnet.games.sum_threshold.bounds import BinBound, bin_bounds
from qnet.games.sum_threshold.classical import ThresholdPair, best_threshold_pair, check_c_t

__all__ = ["SumThresholdGame"]


@dataclass(frozen=True, eq=False)
class SumThresholdGame(XorGame):
    """Bunch iff (1 − a)(1 − b) ≥ C_t, a = F(x1), b = F(x2) (paper eq. 4).

    Attributes:
        c_t: the constant C_t = e^{−mu t} in (0, 1).
        mu: service rate of the Exp(mu) service times (> 0).
        bins: input bins of the quantum strategy :meth:`quantum_value` reports.
    """

    c_t: float
    mu: float = 1.0
    bins: int = 512
    name: ClassVar[str] = "sum_threshold"

    def __post_init__(self) -> None:
        check_c_t(self.c_t)
        if not (math.isfinite(self.mu) and self.mu > 0):
            raise ValueError(f"mu = {self.mu!r} is out of range: allowed > 0")
        if not 2 <= self.bins <= 2000:
            raise ValueError(f"bins = {self.bins!r} is out of range: allowed [2, 2000]")

    @property
    def threshold_time(self) -> float:
        """t = −ln(C_t)/mu: bunch iff x1 + x2 ≤ t (eq. 3)."""
        return -math.log(self.c_t) / self.mu

    def to_uniform(self, x: ArrayLike) -> NDArray[np.float64]:
        """a = F(x) = 1 − e^{−mu x}, the probability integral transform (Section 4.2)."""
        return -np.expm1(-self.mu * np.asarray(x, dtype=float))

    def rule(self, a: ArrayLike, b: ArrayLike) -> NDArray[np.float64]:
        """R(a, b) = +1 if (1 − a)(1 − b) ≥ C_t else −1 (eq. 4)."""
        u = (1.0 - np.asarray(a, dtype=float)) * (1.0 - np.asarray(b, dtype=float))
        return np.where(u >= self.c_t, 1.0, -1.0)

    def sample_inputs(self, rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray]:
        """Service times (x1, x2), iid Exp(mu)."""
        x = rng.exponential(1.0 / self.mu, (2, n))
        return x[0], x[1]

    def correlation_weight(self, x_a: np.ndarray, x_b: np.ndarray) -> np.ndarray:
        """V = R = +1 if x1 + x2 ≤ t (bunch) else −1 (eqs. 3-4, in service times)."""
        total = np.asarray(x_a, dtype=float) + np.asarray(x_b, dtype=float)
        return np.where(total <= self.threshold_time, 1.0, -1.0)

    def ideal_outputs(
        self, x_a: np.ndarray, x_b: np.ndarray, server_a: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """The sum-threshold oracle (Section 4.1): bunch iff x1 + x2 ≤ t; A plays ``server_a``."""
        bunch = self.correlation_weight(x_a, x_b) > 0
        o_a = np.asarray(server_a, dtype=np.int8)
        return o_a, np.where(bunch, o_a, -o_a).astype(np.int8)

    def ideal_value(self) -> float:
        """1: the oracle always wins."""
        return 1.0

    def oracle_split_probability(self) -> float:
        """p_ideal = Pr[x1 + x2 > t] = C_t (1 − ln C_t) (Erlang-2 tail)."""
        return self.c_t * (1.0 - math.log(self.c_t))

    @cached_property
    def classical(self) -> ThresholdPair:
        """The best threshold pair (exact bias, polished; Section 4.3)."""
        return best_threshold_pair(self.c_t)

    def classical_value(self) -> float:
        """Bias of the best threshold pair (thresholds suffice: tests/test_sum_threshold.py)."""
        return self.classical.bias

    @cached_property
    def quantum(self) -> BinBound:
        """Best bin-constant quantum strategy on ``bins`` × ``bins`` input bins, with bounds."""
        return bin_bounds(self.c_t, self.bins)

    def quantum_value(self) -> float:
        """Bias of the best bin-constant quantum strategy found (a playable lower bound)."""
        return 2.0 * self.quantum.lower - 1.0

    @staticmethod
    def win_probability(value: float) -> float:
        """Win probability (1 + β)/2 of a strategy of bias β (Section 4.3)."""
        return 0.5 * (1.0 + value)
