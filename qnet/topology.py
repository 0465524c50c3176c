"""The scenario's network as a networkx graph: routers, the midpoint station, fiber edges
with their lengths and losses. Built from the scenario alone (no SeQUeNCe, no plotting);
the SeQUeNCe layer builds its nodes from it and the plots draw it."""

from __future__ import annotations

import networkx as nx

from qnet.config import Scenario

__all__ = ["topology_graph"]


def topology_graph(scenario: Scenario) -> nx.Graph:
    """The link as a graph: router A — fiber — BSM station — fiber — router B, with lengths."""
    lk = scenario.link
    g = nx.Graph(name=scenario.name)
    for side, router in (("a", scenario.router_a), ("b", scenario.router_b)):
        g.add_node(
            f"router_{side}",
            role="router",
            memory_slots=lk.memory_slots,
            t1_s=router.t1_s,
            t2_s=router.t2_s,
            readout_error=router.readout_error,
        )
    g.add_node("station", role="station", detector_efficiency=lk.detector_efficiency)
    for side, arm in (("a", lk.arm_a_km), ("b", lk.arm_b_km)):
        g.add_edge(
            f"router_{side}",
            "station",
            length_km=arm,
            attenuation_db_per_km=lk.attenuation_db_per_km,
            loss_db=arm * lk.attenuation_db_per_km,
            light_speed_km_per_s=lk.light_speed_km_per_s,
        )
    return g
