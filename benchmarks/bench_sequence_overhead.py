"""Benchmark: qnet's cost per routing decision on SeQUeNCe against SeQUeNCe's own cost per
heralded Barrett–Kok pair on the same link, in the same process.

* **bare link**: the scenario's link (:func:`nodes.network.build_network`) generating pairs
  with every pair released as soon as it is usable (no decisions, no measurement): CPU
  seconds per heralded pair;
* **qnet**: the SeQUeNCe engine making routing decisions on the same link
  (:func:`qnet.runs.runner.run_decisions`: pair stores, agreement rule, measurement at the
  strategy's angles, fidelity at use): CPU seconds per decision and per heralded pair.

The ratio (qnet per heralded pair) / (bare per heralded pair) - 1 is qnet's overhead per
pair (on paper-ideal every decision spends one pair, so pairs ~ decisions). A cProfile pass
over each splits own time (tottime) into SeQUeNCe, numerical libraries and qnet's code
(``nodes/``, ``protocols/``, ``qnet/``). CPU time (``process_time``), best of ``--repeat``,
interleaved, so a shared machine's load mostly cancels.

Usage::

    .venv/bin/python benchmarks/bench_sequence_overhead.py [--decisions 2000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import cProfile
import json
import pstats
import time
from pathlib import Path
from typing import Any

from nodes.network import build_network
from qnet.config import Scenario, load_scenario
from qnet.games.routing.profile import build_profile
from qnet.runs.runner import run_decisions, sample_traffic, streams

ROOT = Path(__file__).resolve().parents[1]
OWN = tuple(str(ROOT / d) for d in ("nodes", "protocols", "qnet"))


def _split(stats: pstats.Stats) -> dict[str, float]:
    out = {"sequence": 0.0, "libraries": 0.0, "qnet": 0.0}
    for (filename, _, _), (_, _, tottime, _, _) in stats.stats.items():  # type: ignore[attr-defined]
        if filename.startswith(OWN):
            out["qnet"] += tottime
        elif "/sequence/" in filename:
            out["sequence"] += tottime
        else:
            out["libraries"] += tottime
    total = sum(out.values()) or 1.0
    return {k: v / total for k, v in out.items()}


def bare_link(scenario: Scenario, pairs: int) -> tuple[float, int]:
    """CPU seconds and heralded pairs of the link alone, run for ~``pairs`` heralds."""
    from qnet.engines.analytic import link_model

    rate = link_model(scenario).pair_rate_hz
    net = build_network(scenario, seed=scenario.seed, release_on_usable=True)
    try:
        c0 = time.process_time()
        net.run_for(pairs / rate)
        cpu = time.process_time() - c0
        return cpu, int(net.supply.counters.successes)
    finally:
        net.close()


def qnet_decisions(scenario: Scenario, profile: Any) -> tuple[float, int, int]:
    """CPU seconds, decisions and heralded pairs of the SeQUeNCe engine's decisions."""
    rngs = streams(scenario.seed)
    traffic = sample_traffic(scenario, rngs["traffic"])
    c0 = time.process_time()
    _, use = run_decisions(scenario, profile, traffic, rngs, None)
    cpu = time.process_time() - c0
    return cpu, len(traffic[0]), int(use.pairs_heralded)


def main() -> None:
    """Measure and print the per-pair costs and their ratio."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--decisions", type=int, default=2000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--scenario", default=str(ROOT / "scenarios" / "paper-ideal.toml"))
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    scenario = load_scenario(
        args.scenario, [f"run.decisions={args.decisions}", "run.warmup_decisions=0"]
    )
    profile = build_profile(scenario)
    bare_best, qnet_best = float("inf"), float("inf")
    per_decision = float("inf")
    for _ in range(args.repeat):
        cpu, heralded = bare_link(scenario, args.decisions)
        bare_best = min(bare_best, cpu / heralded)
        cpu, n, heralded = qnet_decisions(scenario, profile)
        qnet_best = min(qnet_best, cpu / heralded)
        per_decision = min(per_decision, cpu / n)
    splits = {}
    for name, fn in (
        ("bare", lambda: bare_link(scenario, args.decisions)),
        ("qnet", lambda: qnet_decisions(scenario, profile)),
    ):
        prof = cProfile.Profile()
        prof.runcall(fn)
        splits[name] = _split(pstats.Stats(prof))
    result = {
        "scenario": scenario.name,
        "decisions": args.decisions,
        "bare_cpu_s_per_heralded_pair": bare_best,
        "qnet_cpu_s_per_heralded_pair": qnet_best,
        "qnet_cpu_s_per_decision": per_decision,
        "overhead_per_pair": qnet_best / bare_best - 1.0,
        "own_time_split": splits,
    }
    if args.json:
        print(json.dumps(result, indent=2))
        return
    print(f"{scenario.name}: {args.decisions} decisions, best of {args.repeat} (CPU time)")
    print(f"  bare link      {1e3 * bare_best:8.3f} ms per heralded pair")
    print(f"  qnet decisions {1e3 * qnet_best:8.3f} ms per heralded pair")
    print(f"                 {1e3 * per_decision:8.3f} ms per decision")
    print(f"  qnet overhead per pair: {100 * result['overhead_per_pair']:+.1f} %")
    for name, split in splits.items():
        parts = ", ".join(f"{k} {100 * v:.0f} %" for k, v in split.items())
        print(f"  own time ({name}): {parts}")


if __name__ == "__main__":
    main()
