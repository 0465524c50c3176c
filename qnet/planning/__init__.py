"""Planning a demonstration: does the routing advantage survive a given piece of hardware,
by how much, and what must improve (``qnet plan``).

:mod:`.predict`: the link outlook (availability, mean pair tensor at the storage ages the
analytic link produces) and the predicted retained share with the best strategy qnet has;
:mod:`.search`: loss breakdown by cause and the hardware values that keep a chosen share
(bisection); :mod:`.qos`: the workshop (QoS) framing, the sum-threshold game at a QoS
limit; :mod:`.presets`: the shipped hardware presets from published experiments.
"""

from qnet.planning.predict import (
    LinkOutlook,
    Planner,
    SharePrediction,
    link_outlook,
    planning_scenario,
)

__all__ = [
    "LinkOutlook",
    "Planner",
    "SharePrediction",
    "link_outlook",
    "planning_scenario",
]
