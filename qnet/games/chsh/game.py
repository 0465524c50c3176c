"""The CHSH game in its co-location orientation (HotNets'25 Sec. 4.1).

Inputs x, y ∈ {0, 1} are uniform; 1 means the balancer holds a C task (likes company),
0 an E task (wants a server alone). The balancers win when they agree (same server,
o_A o_B = +1) iff both hold C tasks: a ⊕ b = ¬(x ∧ y), the CHSH predicate with one
output flipped (paper Sec. 4.1). As an XOR game the score is V(x, y) · o_A o_B with
V(1, 1) = +1 and V = −1 elsewhere, so the mean score is the bias β and the win
probability is (1 + β)/2: classical β = 1/2 (win 3/4), quantum β = 1/√2 (win cos²(π/8),
Tsirelson), ideal β = 1. A Werner pair of visibility v scales every correlation by v,
so the paper's strategy wins with (1 + v/√2)/2 and its advantage vanishes at v = 1/√2
(fidelity F = (3v + 1)/4).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from qnet.games.base import XorGame

__all__ = [
    "PAPER_ANGLES",
    "ChshGame",
    "fidelity_to_visibility",
    "visibility_to_fidelity",
]

#: The paper's measurement angles (Sec. 2): Alice θ_0 = 0, θ_1 = π/4; Bob θ_0 = π/8,
#: θ_1 = −π/8 (index = input, 1 = C task). Bob's output is flipped for co-location.
PAPER_ANGLES: tuple[tuple[float, float], tuple[float, float]] = (
    (0.0, math.pi / 4),
    (math.pi / 8, -math.pi / 8),
)


def _check_unit(name: str, value: float, low: float) -> float:
    value = float(value)
    if not (math.isfinite(value) and low <= value <= 1.0):
        raise ValueError(f"{name} = {value!r} is out of range: allowed [{low:g}, 1]")
    return value


def fidelity_to_visibility(fidelity: float) -> float:
    """Werner visibility v = (4F − 1)/3 of a pair of fidelity F ∈ [1/4, 1]."""
    return (4.0 * _check_unit("fidelity", fidelity, 0.25) - 1.0) / 3.0


def visibility_to_fidelity(visibility: float) -> float:
    """Werner fidelity F = (3v + 1)/4 of a pair of visibility v ∈ [0, 1]."""
    return (3.0 * _check_unit("visibility", visibility, 0.0) + 1.0) / 4.0


@dataclass(frozen=True)
class ChshGame(XorGame):
    """CHSH with one output flipped: agree iff both inputs are 1 (C tasks)."""

    name: ClassVar[str] = "chsh"

    def sample_inputs(self, rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray]:
        """Independent uniform bits (x, y); 1 = C task, 0 = E task."""
        bits = rng.integers(0, 2, size=(2, n), dtype=np.int8)
        return bits[0], bits[1]

    def correlation_weight(self, x_a: np.ndarray, x_b: np.ndarray) -> np.ndarray:
        """V(x, y) = +1 if x = y = 1 (co-locate two C tasks), −1 otherwise."""
        both_c = (np.asarray(x_a) == 1) & (np.asarray(x_b) == 1)
        return np.where(both_c, 1.0, -1.0)

    def ideal_outputs(
        self, x_a: np.ndarray, x_b: np.ndarray, server_a: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """A plays ``server_a`` (±1); B agrees iff both hold C tasks."""
        o_a = np.asarray(server_a, dtype=np.int8)
        return o_a, np.where(self.correlation_weight(x_a, x_b) > 0, o_a, -o_a).astype(np.int8)

    @staticmethod
    def measurement_angles(x_a: np.ndarray, x_b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The paper's angles θ_A(x), θ_B(y) [rad] for inputs x, y (1 = C), in the stack's
        X–Z plane of Φ+ (E[o_A o_B] = cos 2(θ_A − θ_B) on a perfect pair)."""
        return (
            np.asarray(PAPER_ANGLES[0])[np.asarray(x_a, dtype=np.intp)],
            np.asarray(PAPER_ANGLES[1])[np.asarray(x_b, dtype=np.intp)],
        )

    @staticmethod
    def same_server(o_a: np.ndarray, o_b: np.ndarray) -> np.ndarray:
        """Co-locate iff o_A·o_B = −1: Bob's output is flipped (the paper's orientation)."""
        return np.asarray(o_a) * np.asarray(o_b) == -1

    def ideal_value(self) -> float:
        """β = 1: a player who saw both inputs always wins."""
        return 1.0

    def classical_value(self) -> float:
        """β_c = 1/2 (win 3/4), e.g. always agree; CHSH inequality."""
        return 0.5

    def quantum_value(self) -> float:
        """β_q = 1/√2 (win cos²(π/8)) with the paper's angles on Φ+ (Tsirelson's bound)."""
        return 1.0 / math.sqrt(2.0)

    @staticmethod
    def win_probability(bias: float) -> float:
        """Win probability (1 + β)/2 of a strategy with bias β."""
        return 0.5 * (1.0 + float(bias))

    def correlations(self, visibility: float = 1.0) -> np.ndarray:
        """E[o_A o_B | x, y] of the paper's angles on a Werner pair: v·cos 2(θ_A − θ_B)·(−1).

        Index [x, y] with 1 = C; Bob's flip makes (1, 1) +v/√2 and every other entry −v/√2.
        """
        v = _check_unit("visibility", visibility, 0.0)
        ta = np.array(PAPER_ANGLES[0])[:, None]
        tb = np.array(PAPER_ANGLES[1])[None, :]
        return -v * np.cos(2.0 * (ta - tb))

    def quantum_win_probability(self, fidelity: float = 1.0) -> float:
        """Win probability (1 + v/√2)/2 of the paper's strategy on a Werner pair of fidelity F."""
        corr = self.correlations(fidelity_to_visibility(fidelity))
        return float(np.mean(0.5 * (1.0 + self.correlation_weight(*np.indices((2, 2))) * corr)))

    def advantage_visibility(self) -> float:
        """Visibility v* = β_c/β_q = 1/√2 below which the quantum strategy wins no more than 3/4."""
        return self.classical_value() / self.quantum_value()

    def advantage_fidelity(self) -> float:
        """Werner fidelity (3v* + 1)/4 = (3/√2 + 1)/4 ≈ 0.780 where the advantage vanishes."""
        return visibility_to_fidelity(self.advantage_visibility())
