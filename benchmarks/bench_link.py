"""Benchmark the SeQUeNCe physical layer: heralded pairs per wall-clock second, and where
the time goes.

For symmetric links of 1, 10, 25 and 50 km per arm (K = 4 slot pairs, pairs released as soon
as usable, the scenario defaults otherwise) it runs a fixed number of Barrett–Kok attempts
in each SeQUeNCe formalism and reports

* heralded pairs per wall-clock second and attempts per wall-clock second,
* the ratio ket / density_matrix measured in this process (the baseline is the density
  matrix run of the same link, so machine speed cancels),
* a cProfile split of the run's own time (tottime) into SeQUeNCe (``sequence/``), the
  numerical libraries SeQUeNCe calls (qutip, numpy, scipy, ...) and qnet's own code
  (``nodes/``, ``protocols/``, ``qnet/``).

Usage::

    .venv/bin/python benchmarks/bench_link.py [--attempts 1500] [--json]
"""

from __future__ import annotations

import argparse
import cProfile
import json
import pstats
import time
from pathlib import Path

from nodes import build_network
from qnet.config import Scenario

ARMS_KM = (1.0, 10.0, 25.0, 50.0)
FORMALISMS = ("density_matrix", "ket")
ROOT = Path(__file__).resolve().parents[1]
OWN = tuple(str(ROOT / d) for d in ("nodes", "protocols", "qnet"))


def _scenario(arm_km: float, formalism: str) -> Scenario:
    return Scenario.model_validate(
        {
            "seed": 1,
            "link": {"arm_a_km": arm_km, "arm_b_km": arm_km, "memory_slots": 4},
            "engine": {"name": "sequence", "formalism": formalism},
        }
    )


def _split(stats: pstats.Stats) -> dict[str, float]:
    out = {"sequence": 0.0, "libraries": 0.0, "qnet": 0.0}
    for (filename, _, _), (_, _, tottime, _, _) in stats.stats.items():  # type: ignore[attr-defined]
        if "site-packages/sequence/" in filename:
            out["sequence"] += tottime
        elif filename.startswith(OWN):
            out["qnet"] += tottime
        else:
            out["libraries"] += tottime
    total = sum(out.values()) or 1.0
    return {k: v / total for k, v in out.items()}


def bench(arm_km: float, formalism: str, attempts: int) -> dict[str, float | str]:
    """Run ``attempts`` attempts (all slot pairs) of one link; time and profile the run."""
    net = build_network(_scenario(arm_km, formalism), release_on_usable=True)
    duration = attempts * net.prediction.attempt_period_s / net.scenario.link.memory_slots
    prof = cProfile.Profile()
    tick = time.perf_counter()
    prof.enable()
    net.run_for(duration)
    prof.disable()
    wall = time.perf_counter() - tick
    c = net.supply.counters
    net.close()
    share = _split(pstats.Stats(prof))
    return {
        "arm_km": arm_km,
        "formalism": formalism,
        "attempts": len(c.durations_ps),
        "pairs": c.successes,
        "wall_s": wall,
        "pairs_per_wall_s": c.successes / wall,
        "attempts_per_wall_s": len(c.durations_ps) / wall,
        "simulated_pairs_per_s": c.successes / duration,
        "share_sequence": share["sequence"],
        "share_libraries": share["libraries"],
        "share_qnet": share["qnet"],
    }


def main() -> None:
    """Run the grid and print a table (or JSON)."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--attempts", type=int, default=1500)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    rows = [bench(a, f, args.attempts) for a in ARMS_KM for f in FORMALISMS]
    by = {(r["arm_km"], r["formalism"]): r for r in rows}
    for r in rows:
        base = by[(r["arm_km"], "density_matrix")]
        r["speedup_vs_density_matrix"] = r["attempts_per_wall_s"] / base["attempts_per_wall_s"]
    if args.json:
        print(json.dumps(rows, indent=2))
        return
    head = (
        f"{'arm km':>6} {'formalism':>14} {'pairs/wall s':>12} {'attempts/wall s':>15} "
        f"{'x vs DM':>7} {'SeQUeNCe':>8} {'libs':>6} {'qnet':>6} {'pairs/sim s':>11}"
    )
    print(head)
    for r in rows:
        print(
            f"{r['arm_km']:>6g} {r['formalism']:>14} {r['pairs_per_wall_s']:>12.0f} "
            f"{r['attempts_per_wall_s']:>15.0f} {r['speedup_vs_density_matrix']:>7.2f} "
            f"{r['share_sequence']:>8.0%} {r['share_libraries']:>6.0%} {r['share_qnet']:>6.0%} "
            f"{r['simulated_pairs_per_s']:>11.1f}"
        )


if __name__ == "__main__":
    main()
