"""The plan of one scenario: prediction at the operating point, best p, loss breakdown,
binding constraint, requirements for the chosen share and the two share maps."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from qnet.planning.predict import LinkOutlook, Planner, SharePrediction
from qnet.planning.search import (
    Requirements,
    gain_if_fixed,
    loss_breakdown,
    requirements,
    share_map,
)

if TYPE_CHECKING:
    from qnet.config import Scenario

__all__ = ["MAP_POINTS", "Plan", "ShareMap", "make_plan"]

MAP_POINTS = 13
"""Grid points per axis of each share map."""


@dataclass(frozen=True)
class ShareMap:
    """Predicted retained share on a grid of two hardware values, and the scenario's point."""

    x_key: str
    y_key: str
    x: np.ndarray
    y: np.ndarray
    share: np.ndarray
    x0: float
    y0: float

    def to_dict(self) -> dict[str, Any]:
        """Plain-JSON form."""
        return {
            "x_key": self.x_key,
            "y_key": self.y_key,
            "x": self.x.tolist(),
            "y": self.y.tolist(),
            "share": [[None if math.isnan(v) else float(v) for v in row] for row in self.share],
            "x0": self.x0,
            "y0": self.y0,
        }


@dataclass(frozen=True)
class Plan:
    """Everything ``qnet plan`` predicts for one scenario (no confirming run).

    Attributes:
        scenario: the scenario planned for.
        share: the retained share to keep.
        outlook: what the link delivers at the decision rate.
        prediction: retained share and gap reduction at the operating point p.
        best_p: scanned p with the highest predicted share (ties: the lowest p).
        share_by_p: predicted share at each scanned p.
        loss_breakdown: share lost to each cause (sequential attribution).
        binding_constraint: the cause that costs the most share ("none" if nothing is lost).
        gain_if_fixed: share gained by removing each cause alone (the others kept).
        requirements: hardware values that keep ``share``.
        maps: share over fiber length x coherence time, raw fidelity x attempt rate.
        notes: plain-language remarks (unreachable requirements, no advantage anywhere).
    """

    scenario: Scenario
    share: float
    outlook: LinkOutlook
    prediction: SharePrediction
    best_p: float
    share_by_p: dict[float, float]
    loss_breakdown: dict[str, float]
    binding_constraint: str
    gain_if_fixed: dict[str, float]
    requirements: Requirements
    maps: tuple[ShareMap, ...] = field(default=())
    notes: tuple[str, ...] = field(default=())


def _map_axes(scenario: Scenario) -> tuple[tuple[str, np.ndarray, float], ...]:
    """(key, grid, scenario value) for fiber km, coherence time, raw fidelity, attempt rate."""
    lk = scenario.link
    fiber = max(lk.arm_a_km + lk.arm_b_km, 1e-3)
    t2s = [t for t in (scenario.router_a.t2_s, scenario.router_b.t2_s) if t is not None]
    t2 = min(t2s) if t2s else 1e3
    f_lo = max(0.5, min(0.9, lk.raw_fidelity - 0.05))
    n = MAP_POINTS
    return (
        ("fiber_km", np.geomspace(max(1e-3, fiber / 100), max(200.0, 4 * fiber), n), fiber),
        ("coherence_time_s", np.geomspace(1e-4, 1e3, n), t2),
        ("raw_fidelity", np.linspace(f_lo, 1.0, n), lk.raw_fidelity),
        ("attempt_rate_hz", np.geomspace(1e2, 1e9, n), lk.memory_frequency_hz),
    )


def make_plan(
    scenario: Scenario,
    share: float,
    *,
    p: float | None = None,
    maps: bool = True,
    planner: Planner | None = None,
) -> Plan:
    """Predict, attribute losses and bisect the requirements for one scenario (one place)."""
    if not 0.0 < share <= 1.0:
        raise ValueError(
            f"--share = {share!r} is out of range: allowed (0, 1] (the share of the ideal "
            "advantage to keep; 1 is all of it)"
        )
    planner = Planner(scenario, p=p) if planner is None else planner
    outlook = planner.outlook(scenario)
    pred = planner.predict_outlook(outlook, exact=True)
    best_p, by_p = planner.best_p(outlook)
    losses = loss_breakdown(planner, scenario)
    binding = max(losses, key=lambda k: losses[k]) if max(losses.values()) > 1e-9 else "none"
    req = requirements(planner, scenario, share)
    notes = _notes(req, share, pred, by_p)
    if planner.exact_failure is not None:
        notes += (
            "the angles could not be re-optimized on this link's tensor "
            f"({planner.exact_failure}); the prediction uses the ideal angles and those "
            "of the nearest tensor shape",
        )
    share_maps: tuple[ShareMap, ...] = ()
    if maps:
        (fk, fx, f0), (tk, ty, t0), (rk, ry, r0), (ak, ax, a0) = _map_axes(scenario)
        share_maps = (
            ShareMap(fk, tk, fx, ty, share_map(planner, scenario, fk, fx, tk, ty), f0, t0),
            ShareMap(ak, rk, ax, ry, share_map(planner, scenario, ak, ax, rk, ry), a0, r0),
        )
    return Plan(
        scenario=scenario,
        share=share,
        outlook=outlook,
        prediction=pred,
        best_p=best_p,
        share_by_p=by_p,
        loss_breakdown=losses,
        binding_constraint=binding,
        gain_if_fixed=gain_if_fixed(planner, scenario),
        requirements=req,
        maps=share_maps,
        notes=notes,
    )


_WHAT = {
    "min_coherence_time_s": "no memory coherence time T2",
    "min_t1_s": "no memory T1",
    "max_fiber_km": "no fiber length (even 1 m)",
    "min_raw_fidelity": "no raw fidelity (even F = 1)",
    "min_attempt_rate_hz": "no attempt rate",
}


def _notes(
    req: Requirements, share: float, pred: SharePrediction, by_p: dict[float, float]
) -> tuple[str, ...]:
    notes = []
    if math.isnan(pred.retained_share):
        notes.append(f"at p = {pred.p:g} even ideal pairs bring no advantage over classical")
    if not by_p or max(by_p.values()) <= 0:
        notes.append("no scanned p keeps any advantage on this hardware")
    for key, what in _WHAT.items():
        if key == "min_t1_s":
            continue
        if getattr(req, key) is None:
            notes.append(
                f"{what} keeps {share:.0%} of the ideal advantage with the other values held fixed"
            )
    return tuple(notes)
