"""``qnet plan``'s figure: retained share over fiber length x coherence time and over
attempt rate x raw fidelity, the contour at the chosen share, the scenario marked."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from qnet.plots.common import figure_png, new_figure

if TYPE_CHECKING:
    from qnet.planning.report import Plan

__all__ = ["plan_png"]

_LABELS = {
    "fiber_km": "total fiber length [km]",
    "coherence_time_s": "memory coherence time T2 [s]",
    "raw_fidelity": "raw fidelity at herald",
    "attempt_rate_hz": "attempt rate (memory frequency) [Hz]",
}
_LOG = {"fiber_km", "coherence_time_s", "attempt_rate_hz"}


def plan_png(plan: Plan, dpi: int = 110) -> bytes:
    """Two heat maps of the predicted retained share with the chosen-share contour."""
    fig = new_figure(10.0, 4.2)
    axes = fig.subplots(1, 2, squeeze=False)[0]
    mesh = None
    for ax, m in zip(axes, plan.maps, strict=False):
        data = np.ma.masked_invalid(np.clip(m.share, 0.0, 1.0))
        mesh = ax.pcolormesh(m.x, m.y, data, shading="nearest", vmin=0.0, vmax=1.0, cmap="viridis")
        finite = np.nan_to_num(m.share, nan=-1.0)
        if finite.min() < plan.share <= finite.max():
            ax.contour(m.x, m.y, finite, levels=[plan.share], colors="white", linewidths=1.5)
            ax.plot([], [], color="white", lw=1.5, label=f"{plan.share:.0%} of the ideal kept")
        ax.plot([m.x0], [m.y0], marker="*", color="red", ms=14, ls="", label=plan.scenario.name)
        ax.set_xscale("log" if m.x_key in _LOG else "linear")
        ax.set_yscale("log" if m.y_key in _LOG else "linear")
        ax.set_xlabel(_LABELS[m.x_key])
        ax.set_ylabel(_LABELS[m.y_key])
        ax.legend(loc="lower left", fontsize=8)
    if mesh is not None:
        fig.colorbar(mesh, ax=list(axes), label="predicted retained share")
    p = plan.scenario.strategy.target_splitting_probability
    fig.suptitle(
        f"qnet plan {plan.scenario.name}: p = {p:g}, "
        f"{plan.scenario.traffic.lam_hz:g} decisions/s (others held at the scenario's values)"
    )
    return figure_png(fig, dpi)
