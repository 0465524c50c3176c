"""Benchmark the CHSH load-balancing simulation: server-steps per wall-clock second.

One server-step is one server of one (replication, strategy, discipline, load) cell
advanced by one slot. The run is the default study's main run shape (random, two
best-classical tables, quantum, any-server; C-first and E-first; 21 loads N/M = 0.6–1.6
at N = 100) with fewer steps, so the rate is the one ``qnet game chsh-load-balancing``
sees. Also reports the time of the exact stability boundary (one-server chain), and the
real-link path of ``scenarios/chsh-load-balancing.toml`` (50 analytic-engine links per
replication: link-steps per second, and the same simulation with the quantum table
replaced by the links' per-step decisions, as a ratio to the table run).

``--sequence L`` also times SeQUeNCe links at a reduced size (``--sequence-steps`` steps of
20 µs, 2 × 1 km ideal links, 2 replications of L links): all L links of a replication on
one timeline against one timeline per link, in the same process (ratio = one timeline's
wall / one-per-link wall), and checks the two give the same decisions.

Usage::

    .venv/bin/python benchmarks/bench_chsh.py [--steps 1000] [--replications 12] [--json]
    .venv/bin/python benchmarks/bench_chsh.py --sequence 10 --sequence-steps 300
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np

from qnet.config import load_scenario
from qnet.games.chsh.load_balancing import LoadBalancingConfig, simulate
from qnet.games.chsh.stability import stability_boundary
from qnet.games.chsh.tables import (
    Strategy,
    any_server_best,
    quantum_strategy,
    random_strategy,
)


def main() -> None:
    """Time the vectorized simulation and the stability boundary; print the rates."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=1000)
    parser.add_argument("--replications", type=int, default=12)
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--sequence", type=int, default=0, metavar="L")
    parser.add_argument("--sequence-steps", type=int, default=300)
    args = parser.parse_args()
    if args.sequence:
        _sequence(args.sequence, args.sequence_steps, args.json)
        return
    strategies = [
        random_strategy(),
        Strategy("best classical (c-first)", np.array([[0.0, 0.5], [0.5, 1.0]])),
        Strategy("best classical (e-first)", np.zeros((2, 2))),
        quantum_strategy(),
        any_server_best(),
    ]
    config = LoadBalancingConfig(
        steps=args.steps, warmup=args.steps // 5, replications=args.replications
    )
    t0 = time.perf_counter()
    res = simulate(config, strategies)
    wall = time.perf_counter() - t0
    cells = len(strategies) * len(config.disciplines) * config.replications
    server_steps = cells * int(res.servers.sum()) * config.steps
    t1 = time.perf_counter()
    for disc in config.disciplines:
        for s in strategies:
            stability_boundary(config.balancers, s, disc)
    boundary_wall = (time.perf_counter() - t1) / (len(strategies) * len(config.disciplines))
    sets = [f"load_balancing.steps={config.steps}", f"load_balancing.warmup_steps={config.warmup}"]
    sets.append(f"load_balancing.replications={config.replications}")
    scenario = load_scenario("scenarios/chsh-load-balancing.toml", sets)
    from qnet.runs.chsh_links import balancing_config, linked_pairs, step_length_s

    t2 = time.perf_counter()
    pairs = linked_pairs(scenario, balancing_config(scenario), step_length_s(scenario))
    link_wall = time.perf_counter() - t2
    linked = [*strategies[:3], pairs.strategy(), strategies[4]]
    t3 = time.perf_counter()
    simulate(config, linked)
    linked_wall = time.perf_counter() - t3
    out = {
        "link_steps_per_s": pairs.decisions.size / link_wall,
        "links_wall_s": link_wall,
        "simulate_linked_over_table": linked_wall / wall,
        "steps": config.steps,
        "replications": config.replications,
        "servers_per_cell": int(res.servers.sum()),
        "cells": cells,
        "wall_s": wall,
        "server_steps_per_s": server_steps / wall,
        "steps_per_s": config.steps / wall,
        "boundary_s_each": boundary_wall,
    }
    if args.json:
        print(json.dumps(out, indent=2))
        return
    print(
        f"simulate: {config.steps} steps × {out['servers_per_cell']} servers × {cells} cells "
        f"in {wall:.2f} s = {out['server_steps_per_s'] / 1e6:.1f} M server-steps/s "
        f"({out['steps_per_s']:.0f} steps/s)\n"
        f"stability boundary (one-server chain + root finding): {boundary_wall:.2f} s each\n"
        f"real links: {pairs.decisions.size} link-steps in {link_wall:.2f} s = "
        f"{out['link_steps_per_s'] / 1e6:.2f} M link-steps/s; simulate with the links' "
        f"decisions: {out['simulate_linked_over_table']:.2f}× the table run"
    )


def _sequence(links: int, steps: int, as_json: bool) -> None:
    """SeQUeNCe links: one shared timeline against one timeline per link, same process."""
    from qnet.config import Scenario
    from qnet.runs.chsh_links import balancing_config, linked_pairs, step_length_s

    lb = {"balancers": 2 * links, "steps": steps, "warmup_steps": steps // 5}
    lb |= {"replications": 2, "discipline": "c-first", "load_start": 0.6, "load_stop": 0.6}
    scenario = Scenario.ideal(
        engine={"name": "sequence", "formalism": "ket"},
        link={"arm_a_km": 1, "arm_b_km": 1},
        load_balancing=lb,
        seed=3,
    )
    config, step = balancing_config(scenario), step_length_s(scenario)
    linked_pairs(scenario, config, step)  # warm SeQUeNCe's imports and caches
    walls = {}
    decisions = {}
    for shared in (False, True, False, True):  # interleaved: load drift hits both alike
        t0 = time.perf_counter()
        pairs = linked_pairs(scenario, config, step, shared_timeline=shared)
        walls.setdefault(shared, []).append(time.perf_counter() - t0)
        decisions[shared] = pairs.decisions
    link_steps = decisions[True].size
    alone, together = min(walls[False]), min(walls[True])
    out = {
        "links": links,
        "steps": steps,
        "replications": 2,
        "link_steps": link_steps,
        "one_timeline_wall_s": together,
        "timeline_per_link_wall_s": alone,
        "one_timeline_over_per_link": together / alone,
        "ms_per_link_step": 1e3 * together / link_steps,
        "same_decisions": bool(np.array_equal(decisions[True], decisions[False])),
    }
    if as_json:
        print(json.dumps(out, indent=2))
        return
    print(
        f"SeQUeNCe, {links} links x 2 replications x {steps} steps: one timeline "
        f"{together:.2f} s, one timeline per link {alone:.2f} s (ratio "
        f"{out['one_timeline_over_per_link']:.2f}; {out['ms_per_link_step']:.2f} ms per "
        f"link-step); same decisions: {out['same_decisions']}"
    )


if __name__ == "__main__":
    main()
