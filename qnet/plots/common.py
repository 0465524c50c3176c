"""Figures on their own Agg canvas (no pyplot global state), rendered to PNG bytes."""

from __future__ import annotations

import io
from typing import Any

__all__ = ["figure_png", "new_figure"]


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
