"""The protocol step: what each player does at a decision, given the pair its engine supplies.

Both engines call this one piece of logic. Before a run, :meth:`DecisionStep.prepare`
evaluates the strategy profile on every decision's local inputs and the players' shared
random numbers: the classical fallback (no usable pair), the with-pair component chosen by
the shared uniform, its measurement settings (angles) or, for a classical component, the
outputs it plays while leaving the pair in store. An engine then only *supplies pairs*: it
decides which decisions find a usable pair and measures it at the step's settings
(:class:`MeasurementSettings`), returning a :class:`qnet.engines.base.PairUse`.
:meth:`DecisionStep.outputs` turns that into the outputs (o_A, o_B): the three branches
no pair / pair left unused / pair measured live here and nowhere else.

Both players flip a measured outcome together on the shared bit (it leaves o_A o_B
unchanged and removes a single output's bias, e.g. from amplitude damping).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np

__all__ = ["DecisionStep", "MeasurementSettings", "StrategyProfile", "WithPairMixture"]


class WithPairMixture(Protocol):
    """The with-pair branch of a profile: a shared-randomness mixture of components."""

    def choose(self, u: np.ndarray) -> np.ndarray:
        """Component index for the shared uniforms ``u``."""
        ...

    def is_quantum(self, k: np.ndarray) -> np.ndarray:
        """Whether component k measures the pair."""
        ...


class StrategyProfile(Protocol):
    """What the step needs of a game's strategy profile (inputs in the game's units)."""

    @property
    def with_pair(self) -> WithPairMixture: ...

    def fallback_outputs(
        self, x_a: np.ndarray, x_b: np.ndarray, u_mix: np.ndarray, u_flip: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """Outputs without a pair, from the local inputs and the shared uniforms."""
        ...

    def angles(
        self, k: np.ndarray, x_a: np.ndarray, x_b: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """Measurement angles (θ_A, θ_B) [rad] of with-pair component k (NaN if classical)."""
        ...

    def with_pair_threshold_outputs(
        self, k: np.ndarray, x_a: np.ndarray, x_b: np.ndarray, u_flip: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """Outputs of a classical with-pair component (the pair stays in store)."""
        ...


@dataclass(frozen=True)
class MeasurementSettings:
    """What an engine needs to know per decision: whether to spend a usable pair, and how
    each player measures it.

    Attributes:
        wants_pair: True where the chosen with-pair component measures a pair.
        theta_a: player A's measurement angle [rad] (NaN where it measures nothing).
        theta_b: player B's measurement angle [rad].
    """

    wants_pair: np.ndarray
    theta_a: np.ndarray
    theta_b: np.ndarray


@dataclass(frozen=True)
class DecisionStep:
    """Every decision's branches, evaluated once from the profile and the shared numbers.

    Attributes:
        settings: per-decision measurement settings handed to the engine.
        flip: the players' shared flip bit (±1) applied to measured outcomes.
        fallback_a, fallback_b: outputs when no usable pair exists.
        unused_a, unused_b: outputs of a classical with-pair component (pair left unused).
    """

    settings: MeasurementSettings
    flip: np.ndarray
    fallback_a: np.ndarray
    fallback_b: np.ndarray
    unused_a: np.ndarray
    unused_b: np.ndarray

    @classmethod
    def prepare(
        cls,
        profile: StrategyProfile,
        x_a: np.ndarray,
        x_b: np.ndarray,
        shared_uniforms: np.ndarray,
    ) -> DecisionStep:
        """Evaluate the profile on every decision.

        Args:
            profile: the strategy profile the players follow.
            x_a, x_b: each player's local input, in the profile's units.
            shared_uniforms: (n, 3) uniforms both players hold: fallback mixture choice,
                flip bit, with-pair component choice.
        """
        u = np.asarray(shared_uniforms, dtype=float)
        fallback_a, fallback_b = profile.fallback_outputs(x_a, x_b, u[:, 0], u[:, 1])
        k = profile.with_pair.choose(u[:, 2])
        theta_a, theta_b = profile.angles(k, x_a, x_b)
        unused_a, unused_b = profile.with_pair_threshold_outputs(k, x_a, x_b, u[:, 1])
        return cls(
            settings=MeasurementSettings(
                wants_pair=np.asarray(profile.with_pair.is_quantum(k), dtype=bool),
                theta_a=theta_a,
                theta_b=theta_b,
            ),
            flip=np.where(u[:, 1] < 0.5, -1, 1).astype(np.int8),
            fallback_a=np.asarray(fallback_a, dtype=np.int8),
            fallback_b=np.asarray(fallback_b, dtype=np.int8),
            unused_a=np.asarray(unused_a, dtype=np.int8),
            unused_b=np.asarray(unused_b, dtype=np.int8),
        )

    def outputs(
        self,
        available: np.ndarray,
        used: np.ndarray,
        outcome_a: np.ndarray,
        outcome_b: np.ndarray,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Outputs (o_A, o_B): fallback without a pair, the classical component's outputs
        with a pair left unused, the flipped measurement outcomes with a pair measured.

        Args:
            available: which decisions found a usable pair.
            used: which of them measured it (``available`` and ``settings.wants_pair``).
            outcome_a, outcome_b: the players' measurement outcomes (±1) where ``used``.
        """
        available = np.asarray(available, dtype=bool)
        used = np.asarray(used, dtype=bool)
        if np.any(used & ~available):
            raise ValueError("a decision measured a pair it did not have (used & ~available)")
        unused = available & ~used
        o_a = np.where(unused, self.unused_a, self.fallback_a)
        o_b = np.where(unused, self.unused_b, self.fallback_b)
        o_a = np.where(used, np.asarray(outcome_a) * self.flip, o_a).astype(np.int8)
        o_b = np.where(used, np.asarray(outcome_b) * self.flip, o_b).astype(np.int8)
        return o_a, o_b
