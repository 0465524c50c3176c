"""The scenario's network as a networkx graph: routers, the midpoint station, fiber edges
with their lengths and losses. Built from the scenario alone (no SeQUeNCe, no plotting);
the SeQUeNCe layer builds its nodes from it and the plots draw it. A load-balancing scenario
(one that sets [load_balancing]) is N/2 copies of that link, one per balancer pair."""

from __future__ import annotations

import networkx as nx

from qnet.config import BalancingConfig, Scenario

__all__ = ["balancer_pairs", "load_balancing_graph", "topology_graph"]


def balancer_pairs(scenario: Scenario) -> int | None:
    """N/2 links of a load-balancing scenario (its [load_balancing] table differs from the
    defaults, the rule :meth:`Scenario.digest` uses), else None (one link)."""
    if scenario.load_balancing == BalancingConfig():
        return None
    return scenario.load_balancing.balancers // 2


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


def load_balancing_graph(scenario: Scenario) -> nx.Graph:
    """N/2 copies of the link, one per balancer pair i: balancer_{2i+1} — station_{i+1} —
    balancer_{2i+2} (node attribute ``pair`` = i; graph attribute ``links`` = N/2)."""
    one = topology_graph(scenario)
    pairs = scenario.load_balancing.balancers // 2
    g = nx.Graph(name=scenario.name, links=pairs, balancers=2 * pairs)
    for i in range(pairs):
        names = {
            "router_a": f"balancer_{2 * i + 1}",
            "station": f"station_{i + 1}",
            "router_b": f"balancer_{2 * i + 2}",
        }
        for node, data in one.nodes.items():
            g.add_node(names[node], pair=i, **data)
        for (u, v), data in one.edges.items():
            g.add_edge(names[u], names[v], **data)
    return g
