"""The scenario topology drawn: fiber lengths and losses, memories, detectors; for a
load-balancing scenario its N/2 balancer-pair links (a few drawn, the count in the title)."""

from __future__ import annotations

from typing import Any

import networkx as nx

from qnet.config import Scenario
from qnet.plots.common import figure_png, new_figure
from qnet.topology import balancer_pairs, load_balancing_graph, topology_graph

__all__ = ["draw_load_balancing", "draw_topology", "topology_png"]

_DRAWN_PAIRS = 3  # links drawn when there are more than this (first two, last one)


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


def draw_load_balancing(graph: nx.Graph, ax: Any) -> Any:
    """Draw a :func:`load_balancing_graph`: one row per balancer pair's link, at most
    three rows (the first two, "⋮", the last) when there are more; the title counts them."""
    g = graph
    pairs = g.graph["links"]
    shown = list(range(pairs)) if pairs <= _DRAWN_PAIRS else [0, 1, pairs - 1]
    pos: dict[str, tuple[float, float]] = {}
    for row, i in enumerate(shown):
        y = -float(row) - (1.0 if pairs > _DRAWN_PAIRS and row == 2 else 0.0)
        for x, node in enumerate((f"balancer_{2 * i + 1}", f"station_{i + 1}",
                                  f"balancer_{2 * i + 2}")):  # fmt: skip
            pos[node] = (2.0 * x, y)
    sub = g.subgraph(pos)
    colors = ["#9ecae1" if sub.nodes[n]["role"] == "router" else "#fdae6b" for n in sub]
    labels = {n: n.replace("_", " ") for n in sub}
    nx.draw_networkx(sub, pos=pos, ax=ax, node_color=colors, node_size=2000, font_size=7,
                     labels=labels)  # fmt: skip
    first = [e for e in sub.edges if sub.nodes[e[0]]["pair"] == shown[0]]
    edge_labels = {e: f"{sub.edges[e]['length_km']:g} km, {sub.edges[e]['loss_db']:.3g} dB"
                   for e in first}  # fmt: skip
    nx.draw_networkx_edge_labels(sub, pos=pos, edge_labels=edge_labels, ax=ax, font_size=7)
    bottom = min(y for _, y in pos.values())
    if pairs > _DRAWN_PAIRS:
        ax.text(2.0, -2.0, f"⋮  {pairs - 3} more identical links  ⋮", ha="center",
                va="center", fontsize=8)  # fmt: skip
    n = g.nodes["balancer_1"]
    t2 = "none" if n["t2_s"] is None else f"{n['t2_s']:g} s"
    eta = g.nodes["station_1"]["detector_efficiency"]
    ax.text(2.0, bottom - 0.6, f"every link: K = {n['memory_slots']}, T2 = {t2}, η_det = "
            f"{eta:g}", ha="center", fontsize=7)  # fmt: skip
    ax.set_xlim(-0.8, 4.8)
    ax.set_ylim(bottom - 0.9, 0.5)
    ax.set_title(f"{g.name}: N = {g.graph['balancers']} balancers in {pairs} pairs, "
                 f"{pairs} identical links (one per pair)", fontsize=9)  # fmt: skip
    ax.set_axis_off()
    return ax


def topology_png(scenario: Scenario, dpi: int = 110) -> bytes:
    """Draw the scenario's topology (the link, or a load-balancing scenario's N/2 links)."""
    if balancer_pairs(scenario) is None:
        fig = new_figure(7.0, 2.4)
        draw_topology(topology_graph(scenario), fig.add_subplot())
    else:
        pairs = balancer_pairs(scenario) or 1
        rows = min(pairs, _DRAWN_PAIRS) + (1 if pairs > _DRAWN_PAIRS else 0)
        fig = new_figure(7.0, 1.2 + 0.9 * rows)
        draw_load_balancing(load_balancing_graph(scenario), fig.add_subplot())
    return figure_png(fig, dpi)


# ---------------------------------------------------------------- sweeps
