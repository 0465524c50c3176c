"""The scenario topology drawn: fiber lengths and losses, memories, detectors."""

from __future__ import annotations

from typing import Any

import networkx as nx

from qnet.config import Scenario
from qnet.plots.common import figure_png, new_figure
from qnet.topology import topology_graph

__all__ = ["draw_topology", "topology_png"]


def draw_topology(graph: nx.Graph, ax: Any) -> Any:
    """Draw a :func:`topology_graph` on ``ax``: fiber lengths and losses, K, T2, η_det."""
    g = graph
    pos = {"router_a": (0.0, 0.0), "station": (1.0, 0.0), "router_b": (2.0, 0.0)}
    colors = ["#9ecae1" if g.nodes[n]["role"] == "router" else "#fdae6b" for n in g]
    nx.draw_networkx(g, pos=pos, ax=ax, node_color=colors, node_size=2200, font_size=8)
    labels = {e: f"{d['length_km']:g} km\n{d['loss_db']:.3g} dB" for e, d in g.edges.items()}
    nx.draw_networkx_edge_labels(g, pos=pos, edge_labels=labels, ax=ax, font_size=8)
    for side in ("a", "b"):
        n = g.nodes[f"router_{side}"]
        t2 = "none" if n["t2_s"] is None else f"{n['t2_s']:g} s"
        x, _ = pos[f"router_{side}"]
        ax.text(x, -0.5, f"K = {n['memory_slots']}, T2 = {t2}", ha="center", fontsize=7)
    ax.text(1.0, -0.5, f"η_det = {g.nodes['station']['detector_efficiency']:g}", ha="center",
            fontsize=7)  # fmt: skip
    ax.set_xlim(-0.4, 2.4)
    ax.set_ylim(-0.7, 0.4)
    ax.set_title(f"{g.name}: heralded link (midpoint BSM station)", fontsize=9)
    ax.set_axis_off()
    return ax


def topology_png(scenario: Scenario, dpi: int = 110) -> bytes:
    """Draw :func:`topology_graph` (fiber lengths and losses on the edges) as PNG bytes."""
    fig = new_figure(7.0, 2.4)
    draw_topology(topology_graph(scenario), fig.add_subplot())
    return figure_png(fig, dpi)


# ---------------------------------------------------------------- sweeps
