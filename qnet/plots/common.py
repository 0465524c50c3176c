"""Figures on their own Agg canvas (no pyplot global state), rendered to PNG bytes."""

from __future__ import annotations

import io
import math
from typing import Any

import numpy as np

__all__ = ["colormap", "figure_png", "new_figure", "tick_label"]


def new_figure(width: float, height: float) -> Any:
    """A constrained-layout matplotlib Figure on its own Agg canvas (no pyplot global state)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), constrained_layout=True)
    FigureCanvasAgg(fig)
    return fig


def figure_png(fig: Any, dpi: int) -> bytes:
    """Render a figure to PNG bytes at ``dpi``."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi)
    return buf.getvalue()


def tick_label(v: Any) -> str:
    """A short tick or legend label: 250000.0 -> '250k', 1e6 -> '1M', 0.001 -> '0.001'."""
    if isinstance(v, int | float | np.integer | np.floating) and not isinstance(v, bool):
        x = float(v)
        if math.isfinite(x) and abs(x) >= 1e4:
            from matplotlib.ticker import EngFormatter

            return EngFormatter(places=None, sep="")(x)
        return f"{x:g}"
    return str(v)


def colormap(n: int) -> list[Any]:
    """``n`` viridis colours, ends trimmed (one per line of a figure)."""
    from matplotlib import colormaps

    cm = colormaps["viridis"]
    return [cm(0.1 + 0.8 * k / max(1, n - 1)) for k in range(n)]
