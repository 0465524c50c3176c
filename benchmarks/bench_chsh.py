"""Benchmark the CHSH load-balancing simulation: server-steps per wall-clock second.

One server-step is one server of one (replication, strategy, discipline, load) cell
advanced by one slot. The run is the default study's main run shape (random, two
best-classical tables, quantum, any-server; C-first and E-first; 21 loads N/M = 0.6–1.6
at N = 100) with fewer steps, so the rate is the one ``qnet game chsh-load-balancing``
sees. Also reports the time of the exact stability boundary (one-server chain), and the
real-link path of ``scenarios/chsh-load-balancing.toml`` (50 analytic-engine links per
replication: link-steps per second, and the same simulation with the quantum table
replaced by the links' per-step decisions, as a ratio to the table run).

Usage::

    .venv/bin/python benchmarks/bench_chsh.py [--steps 1000] [--replications 12] [--json]
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
    args = parser.parse_args()
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


if __name__ == "__main__":
    main()
