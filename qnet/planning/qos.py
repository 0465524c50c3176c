"""The workshop (QoS) framing of ``qnet plan``: the sum-threshold game at a QoS limit W_l on
the scenario's own link, predicted as the sum-threshold run's analysis core does.

The link outlook (availability a, mean pair tensor T at the decision rate) is the routing
planner's (:func:`qnet.planning.predict.link_outlook`); the profile at W_l is the run's
(:func:`qnet.games.sum_threshold.profile.build_sum_threshold_profile`), its with-pair branch
valued on T and mixed with the classical pair at share a (``profile.predicted``). Throughput
ratio R_k = T_q/T_c (power-law baseline, eq. 10 with the queue's k); retained share
= (R_k − 1)/(R_k,ideal − 1), R_k,ideal the ratio on ideal pairs at every decision.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from qnet.games.routing.profile import system_params
from qnet.games.sum_threshold.profile import build_sum_threshold_profile
from qnet.planning.predict import link_outlook
from qnet.queues.model import baseline_throughput_power

if TYPE_CHECKING:
    from qnet.config import Scenario

__all__ = ["QosPrediction", "predict_qos"]

MIN_IDEAL_GAIN = 1e-4
"""Ideal throughput gain R_k,ideal − 1 at or below which the retained share is undefined."""


@dataclass(frozen=True)
class QosPrediction:
    """Predicted sum-threshold outcome at the QoS limit on the scenario's link.

    Attributes:
        w_limit: the QoS limit W_l [mean service times].
        quantum_family: the sum-threshold quantum family played.
        availability: share of decisions that find a usable pair.
        fidelity_at_use: mean fidelity of the pairs used (readout excluded; NaN: none).
        throughput_ratio: predicted R_k = T_q/T_c on this link.
        ideal_throughput_ratio: R_k on ideal pairs at every decision.
        retained_share: (R_k − 1)/(R_k,ideal − 1); NaN without an ideal gain.
    """

    w_limit: float
    quantum_family: str
    availability: float
    fidelity_at_use: float
    throughput_ratio: float
    ideal_throughput_ratio: float
    retained_share: float

    def to_dict(self) -> dict[str, Any]:
        """Plain-JSON form (NaN as None)."""
        return {
            k: (None if isinstance(v, float) and not math.isfinite(v) else v)
            for k, v in self.__dict__.items()
        }


def predict_qos(scenario: Scenario) -> QosPrediction:
    """Predicted R_k and retained share of the sum-threshold game at the scenario's W_l."""
    params = system_params(scenario)
    g = scenario.game
    profile = build_sum_threshold_profile(params, g.w_limit_service_times, g.quantum, g.bins)
    outlook = link_outlook(scenario)
    k = scenario.queue.power_k

    def thr(p: float) -> float:
        return float(baseline_throughput_power(p, params, k))

    t_c = thr(profile.classical_prediction().moments.p)
    ratio = thr(profile.predicted(outlook.availability, outlook.tensor).moments.p) / t_c
    ideal = thr(profile.quantum_prediction().moments.p) / t_c
    gain = ideal - 1.0
    return QosPrediction(
        w_limit=float(profile.w_limit),
        quantum_family=profile.family,
        availability=float(outlook.availability),
        fidelity_at_use=float(outlook.fidelity_at_use),
        throughput_ratio=float(ratio),
        ideal_throughput_ratio=float(ideal),
        retained_share=(ratio - 1.0) / gain if gain > MIN_IDEAL_GAIN else math.nan,
    )
