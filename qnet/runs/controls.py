"""Control variates for the game-payoff reduction: functions of the inputs with exact means.

The per-decision reduction term ``y = (A_qu,i - A_cl,i)/2`` is mostly noise of two kinds:
the inputs' spread (w(x1, x2) varies a lot from decision to decision) and the measurement
coin. The first is removed by controls that depend only on the decision's inputs and the
routers' shared random numbers -- never on the link or the engine -- so their means are the
analysis core's exact values whatever the hardware does:

* ``with_pair``: the score the with-pair branch would earn on an *ideal* pair,
  V(x) cos 2(θ_A − θ_B) for an angle component (D30 with T = I), V(x) o_A o_B for a
  threshold component; mean: the with-pair payoff on T = I (D32, N1);
* ``fallback``: the fallback's score V(x) o_A o_B (eq. 6); mean: its payoff;
* ``classical``: the classical baseline's score on the same inputs; mean: A_cl (Thm 9).

The estimator (:func:`qnet.estimators.control_variate_batch_means`) fits their
coefficients and takes batch means of the adjusted series; its expectation stays the
measured quantity because each control's mean is known exactly (docs/statistics.md).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from qnet.decisions.step import DecisionStep
from qnet.games.routing.profile import RoutingProfile

__all__ = ["CONTROL_NAMES", "GameControls", "game_controls"]

CONTROL_NAMES = ("with_pair", "fallback", "classical")


@dataclass(frozen=True)
class GameControls:
    """Per-decision controls (n, 3) in :data:`CONTROL_NAMES` order and their exact means."""

    values: np.ndarray
    means: np.ndarray


def game_controls(
    profile: RoutingProfile,
    base: RoutingProfile,
    step: DecisionStep,
    x1: np.ndarray,
    x2: np.ndarray,
    classical_score: np.ndarray,
) -> GameControls:
    """The three controls of every decision (inputs in units of 1/mu) and their means.

    Args:
        profile: the profile the routers played (its with-pair branch and fallback).
        base: the comparison profile (its classical mixture is the baseline replayed).
        step: the decisions' prepared protocol step (settings, fallback, unused outputs).
        x1, x2: service times in units of 1/mu.
        classical_score: the replayed classical baseline's per-decision score.
    """
    v = profile.game.correlation_weight(x1, x2)
    s = step.settings
    ideal_corr = np.where(
        s.wants_pair,
        np.cos(2.0 * (np.nan_to_num(s.theta_a) - np.nan_to_num(s.theta_b))),
        step.unused_a.astype(float) * step.unused_b,
    )
    with_pair = v * ideal_corr
    fallback = v * (step.fallback_a.astype(float) * step.fallback_b)
    values = np.column_stack([with_pair, fallback, np.asarray(classical_score, dtype=float)])
    wp_mean = profile.quantum_payoff if profile.kind == "ideal" else None
    if wp_mean is None:
        wp_mean, _ = profile.with_pair_value(np.eye(2))
    means = np.array([wp_mean, profile.fallback.payoff, base.classical.payoff], dtype=float)
    return GameControls(values, means)
