"""The SeQUeNCe engine's entry point: reaches ``protocols/`` and ``nodes/`` lazily, so that
importing qnet never imports SeQUeNCe."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from qnet.config import Scenario
    from qnet.decisions.step import MeasurementSettings
    from qnet.engines.base import PairUse, Progress

__all__ = ["run_sequence", "run_sequence_links"]


def run_sequence(
    scenario: Scenario,
    t_s: np.ndarray,
    settings: MeasurementSettings,
    rngs: dict[str, np.random.Generator],
    progress: Progress | None = None,
) -> PairUse:
    """Pairs supplied and measured on SeQUeNCe's timeline (:mod:`protocols.routing`)."""
    from protocols.routing import run_sequence as run_on_timeline

    return run_on_timeline(scenario, t_s, settings, rngs, progress=progress)


def run_sequence_links(
    scenario: Scenario,
    t_s: np.ndarray,
    settings: list[MeasurementSettings],
    rngs: list[dict[str, np.random.Generator]],
    progress: Progress | None = None,
) -> list[PairUse]:
    """One PairUse per link, all links on one SeQUeNCe timeline (:mod:`protocols.routing`)."""
    from protocols.routing import run_sequence_links as run_links_on_timeline

    return run_links_on_timeline(scenario, t_s, settings, rngs, progress=progress)
