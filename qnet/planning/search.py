"""What a demonstration needs: the loss of share by cause, the hardware values that keep a
chosen share (bisection, the others held fixed), and share maps over two hardware axes.

Loss breakdown, attributed sequentially in this order (each step switches one more
imperfection on, so the losses add up to 1 − retained share):
fidelity at herald (Werner pairs, a = 1) -> readout -> availability (rate, slots, cutoff;
noiseless memories, no flight delays) -> storage decoherence (T1/T2 at the storage ages
of that link) -> herald delay (flight of photons and herald, which adds storage age).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

import numpy as np

from qnet.engines.analytic import link_model
from qnet.physics.noise import readout_factor, visibility_from_fidelity
from qnet.planning.predict import (
    Planner,
    planning_scenario,
    without_delays,
    without_memory_noise,
)

if TYPE_CHECKING:
    from qnet.config import Scenario
    from qnet.engines.analytic import LinkModel

__all__ = [
    "LOSS_CAUSES",
    "CriticalStorage",
    "critical_storage",
    "gain_if_fixed",
    "Requirements",
    "loss_breakdown",
    "requirements",
    "share_map",
    "share_at",
]

LOSS_CAUSES = (
    "fidelity_at_herald",
    "readout",
    "availability",
    "storage_decoherence",
    "herald_delay",
)
"""Causes of lost share, in the order they are attributed."""

BISECTION_STEPS = 14
"""Bisection steps per requirement (log scale for times, lengths and rates)."""


def loss_breakdown(planner: Planner, scenario: Scenario) -> dict[str, float]:
    """Share lost to each cause, attributed sequentially in :data:`LOSS_CAUSES` order."""
    model = link_model(scenario)
    r = readout_factor(model.readout_error_a, model.readout_error_b)
    v = model.visibility
    ideal_links = without_memory_noise(without_delays(model))
    steps = [
        planner.predict(1.0, np.eye(2)).retained_share,
        planner.predict(1.0, v * np.eye(2)).retained_share,
        planner.predict(1.0, r * v * np.eye(2)).retained_share,
        planner.predict_model(scenario, ideal_links).retained_share,
        planner.predict_model(scenario, without_delays(model)).retained_share,
        planner.predict_model(scenario, model).retained_share,
    ]
    steps = [0.0 if math.isnan(s) else s for s in steps]
    return {c: float(steps[i] - steps[i + 1]) for i, c in enumerate(LOSS_CAUSES)}


def gain_if_fixed(planner: Planner, scenario: Scenario) -> dict[str, float]:
    """Share gained by removing each cause alone, the others kept (the single fixes)."""
    model = link_model(scenario)
    now = planner.predict_model(scenario, model).retained_share
    outlook = planner.outlook(scenario, model)
    fixed = {
        "fidelity_at_herald": planner.predict_model(scenario, replace(model, visibility=1.0)),
        "readout": planner.predict_model(
            scenario, replace(model, readout_error_a=0.0, readout_error_b=0.0)
        ),
        "availability": planner.predict(1.0, outlook.tensor),
        "storage_decoherence": planner.predict_model(scenario, without_memory_noise(model)),
        "herald_delay": planner.predict_model(scenario, without_delays(model)),
    }
    base = 0.0 if math.isnan(now) else now
    return {
        c: float((0.0 if math.isnan(f.retained_share) else f.retained_share) - base)
        for c, f in fixed.items()
    }


def share_at(planner: Planner, scenario: Scenario, **values: float) -> float:
    """Predicted retained share with hardware ``values`` changed (keys of :func:`_apply`)."""
    try:
        sc, model = _apply(scenario, values)
    except ValueError:  # no link at all there (e.g. success probability 0 over long fiber)
        return math.nan
    return planner.predict_model(sc, model).retained_share


def _apply(scenario: Scenario, values: dict[str, float]) -> tuple[Scenario, LinkModel]:
    """Scenario and link model with coherence_time_s (T2 both routers), t1_s, fiber_km
    (total, arms in proportion), raw_fidelity, attempt_rate_hz (memory frequency)."""
    changes: dict[str, Any] = {}
    lk = scenario.link
    if "fiber_km" in values:
        total = lk.arm_a_km + lk.arm_b_km
        share_a = lk.arm_a_km / total if total > 0 else 0.5
        changes["link__arm_a_km"] = values["fiber_km"] * share_a
        changes["link__arm_b_km"] = values["fiber_km"] * (1 - share_a)
    if "attempt_rate_hz" in values:
        changes["link__memory_frequency_hz"] = values["attempt_rate_hz"]
    sc = planning_scenario(scenario, **changes) if changes else scenario
    model = link_model(sc)
    if "raw_fidelity" in values:
        model = replace(model, visibility=visibility_from_fidelity(values["raw_fidelity"]))
    if "t1_s" in values:
        t1 = values["t1_s"]
        model = replace(
            model,
            t1_a_s=t1,
            t1_b_s=t1,
            t2_a_s=None if model.t2_a_s is None else min(model.t2_a_s, 2 * t1),
            t2_b_s=None if model.t2_b_s is None else min(model.t2_b_s, 2 * t1),
        )
    if "coherence_time_s" in values:
        t2 = values["coherence_time_s"]
        caps = [2 * t for t in (model.t1_a_s, model.t1_b_s) if t is not None]
        t2 = min([t2, *caps])
        model = replace(model, t2_a_s=t2, t2_b_s=t2)
    return sc, model


def _bisect(
    share: Callable[[float], float],
    target: float,
    low: float,
    high: float,
    *,
    increasing: bool,
    log: bool,
) -> float | None:
    """The least (increasing) or largest (decreasing) x in [low, high] with share >= target."""
    good = high if increasing else low
    bad = low if increasing else high

    def ok(x: float) -> bool:
        s = share(x)
        return not math.isnan(s) and s >= target

    if not ok(good):
        return None
    if ok(bad):
        return bad
    for _ in range(BISECTION_STEPS):
        mid = math.sqrt(good * bad) if log else 0.5 * (good + bad)
        if ok(mid):
            good = mid
        else:
            bad = mid
    return float(good)


@dataclass(frozen=True)
class Requirements:
    """Hardware values that keep the chosen share, each with the others held fixed (None:
    no value in the searched range reaches it).

    Attributes:
        share: the retained share to keep.
        min_coherence_time_s: smallest memory T2 (both routers; capped at 2 T1).
        min_t1_s: smallest memory T1 (only when the scenario sets T1).
        max_fiber_km: largest total fiber length (arms in the scenario's proportion).
        min_raw_fidelity: smallest fidelity at herald.
        min_attempt_rate_hz: smallest memory excitation rate (the attempt rate until the
            round trip to the station paces the attempts).
    """

    share: float
    min_coherence_time_s: float | None
    min_t1_s: float | None
    max_fiber_km: float | None
    min_raw_fidelity: float | None
    min_attempt_rate_hz: float | None

    def to_dict(self) -> dict[str, Any]:
        """Plain-JSON form."""
        return dict(self.__dict__)


SEARCH_RANGES = {
    "coherence_time_s": (1e-6, 1e4),
    "t1_s": (1e-6, 1e6),
    "fiber_km": (1e-3, 1000.0),
    "raw_fidelity": (0.25, 1.0),
    "attempt_rate_hz": (1.0, 1e12),
}
"""Searched range of each hardware value."""


def requirements(planner: Planner, scenario: Scenario, share: float) -> Requirements:
    """Bisect each hardware value for the chosen retained share, the others held fixed."""

    def search(key: str, increasing: bool, log: bool) -> float | None:
        low, high = SEARCH_RANGES[key]
        return _bisect(
            lambda x: share_at(planner, scenario, **{key: x}),
            share,
            low,
            high,
            increasing=increasing,
            log=log,
        )

    has_t1 = scenario.router_a.t1_s is not None or scenario.router_b.t1_s is not None
    return Requirements(
        share=share,
        min_coherence_time_s=search("coherence_time_s", True, True),
        min_t1_s=search("t1_s", True, True) if has_t1 else None,
        max_fiber_km=search("fiber_km", False, True),
        min_raw_fidelity=search("raw_fidelity", True, False),
        min_attempt_rate_hz=search("attempt_rate_hz", True, True),
    )


def share_map(
    planner: Planner,
    scenario: Scenario,
    x_key: str,
    x_values: np.ndarray,
    y_key: str,
    y_values: np.ndarray,
) -> np.ndarray:
    """Predicted retained share on the grid [y, x] of two hardware values."""
    out = np.full((len(y_values), len(x_values)), math.nan)
    for i, y in enumerate(y_values):
        for j, x in enumerate(x_values):
            out[i, j] = share_at(planner, scenario, **{x_key: float(x), y_key: float(y)})
    return out


@dataclass(frozen=True)
class CriticalStorage:
    """Where the advantage vanishes for the scenario's own noise (every decision with a pair).

    Attributes:
        p: operating point.
        storage_time_s: longest storage (herald to use) that keeps an advantage (None: no
            memory noise, storage does not matter; 0: not even a fresh pair has one).
        fidelity_at_use: fidelity of a pair stored that long (readout excluded).
        critical_raw_fidelity: lowest raw fidelity with an advantage for fresh pairs
            (Werner noise and readout: comparable to ``qnet thresholds``' F_c).
    """

    p: float
    storage_time_s: float | None
    fidelity_at_use: float | None
    critical_raw_fidelity: float | None

    def to_dict(self) -> dict[str, Any]:
        """Plain-JSON form."""
        return dict(self.__dict__)


ADVANTAGE_SHARE = 1e-6
"""Retained share above which an advantage counts as present (critical values)."""


def critical_storage(planner: Planner, scenario: Scenario) -> CriticalStorage:
    """Critical storage time and fidelity at use for the scenario's noise (bisection)."""
    from qnet.engines.analytic import stored_pair_tensors

    model = link_model(scenario)
    r = readout_factor(model.readout_error_a, model.readout_error_b)

    def share_fresh(fid: float) -> float:
        v = visibility_from_fidelity(fid)
        return planner.predict(1.0, r * v * np.eye(2)).retained_share

    f_crit = _bisect(share_fresh, ADVANTAGE_SHARE, 0.25, 1.0, increasing=True, log=False)

    def share_stored(age: float) -> float:
        tensors, _ = stored_pair_tensors(np.array([age]), model)
        return planner.predict(1.0, r * tensors[0]).retained_share

    noisy = any(t is not None for t in (model.t1_a_s, model.t2_a_s, model.t1_b_s, model.t2_b_s))
    age: float | None = None
    fid: float | None = None
    if noisy:
        age = _bisect(share_stored, ADVANTAGE_SHARE, 1e-9, 1e6, increasing=False, log=True)
        age = 0.0 if age is None else age
        fid = float(stored_pair_tensors(np.array([age]), model)[1][0])
    return CriticalStorage(planner.p, age, fid, f_crit)
