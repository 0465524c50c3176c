"""What a coordination game is, for every layer that plays or scores one.

Two players each see a local input and output ±1 without communicating. All games qnet
runs are XOR games: a decision's score depends on the inputs and on the product of the
outputs only, ``score = V(x_a, x_b) · o_A o_B``. A game states its input distribution,
the score, the ideal decision a player who saw both inputs would make (the benchmark the
papers measure gaps against), and its exact values where the analysis gives them: the
best classical value (deterministic strategies plus shared randomness) and the best
quantum value found (one shared maximally entangled pair, a measurement setting per
local input). Engines never see a game; they see the measurement settings a strategy
profile asks for (:mod:`qnet.decisions.step`).
"""

from __future__ import annotations

from abc import ABC, abstractmethod

import numpy as np

__all__ = ["XorGame"]


class XorGame(ABC):
    """A two-player XOR game: score V(x_a, x_b) · o_A o_B per decision."""

    #: short name used in scenario files, records and the CLI.
    name: str

    @abstractmethod
    def sample_inputs(self, rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray]:
        """``n`` independent draws of the players' inputs (x_a, x_b)."""

    @abstractmethod
    def correlation_weight(self, x_a: np.ndarray, x_b: np.ndarray) -> np.ndarray:
        """V(x_a, x_b): what agreeing outputs (o_A o_B = +1) score at these inputs."""

    def score(
        self, x_a: np.ndarray, x_b: np.ndarray, o_a: np.ndarray, o_b: np.ndarray
    ) -> np.ndarray:
        """Per-decision score V(x_a, x_b) · o_A o_B; its mean is the game's value."""
        product = np.asarray(o_a, dtype=float) * np.asarray(o_b, dtype=float)
        return product * self.correlation_weight(x_a, x_b)

    @abstractmethod
    def ideal_outputs(
        self, x_a: np.ndarray, x_b: np.ndarray, server_a: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """The decision of a player who saw both inputs; A's output is ``server_a``."""

    @abstractmethod
    def ideal_value(self) -> float:
        """Expected score of :meth:`ideal_outputs`."""

    @abstractmethod
    def classical_value(self) -> float:
        """Best expected score of classical strategies with shared randomness."""

    @abstractmethod
    def quantum_value(self) -> float:
        """Expected score of the best quantum strategy qnet finds on an ideal pair."""
