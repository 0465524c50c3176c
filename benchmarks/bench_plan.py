"""Benchmark of ``qnet plan`` (issue 15): where its time goes, per preset.

For each preset, in one process: building the planner (ideal frontier on the p grid and
the scenario's profile), the prediction (outlook, best p, loss breakdown), the requirement
bisections, the two share maps, and the confirming analytic run; CPU time (process time,
not disturbed by other jobs on a shared machine) and wall time. The baseline is one
analytic ``qnet run`` of paper-ideal (20,000 decisions) timed in the same process, so the
ratios compare across machines.

Usage::

    .venv/bin/python benchmarks/bench_plan.py [--preset NAME ...] [--decisions 40000]
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from qnet.config import load_scenario
from qnet.planning.predict import Planner
from qnet.planning.presets import load_preset, preset_names
from qnet.planning.report import make_plan
from qnet.planning.search import requirements
from qnet.runs.runner import run_scenario

ROOT = Path(__file__).resolve().parents[1]


def _timed(fn: Callable[[], Any]) -> tuple[Any, float, float]:
    c0, w0 = time.process_time(), time.perf_counter()
    out = fn()
    return out, time.process_time() - c0, time.perf_counter() - w0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", action="append", default=None)
    parser.add_argument("--decisions", type=int, default=40_000)
    args = parser.parse_args()
    from qnet.cli.plan import _confirm_run

    base_sc = load_scenario(
        ROOT / "scenarios" / "paper-ideal.toml",
        {"engine.name": "analytic", "run.decisions": 20_000},
    )
    _, base_cpu, _ = _timed(lambda: run_scenario(base_sc))
    rows = []
    for name in args.preset or preset_names():
        sc = load_preset(name).scenario
        planner, t_build, _ = _timed(lambda sc=sc: Planner(sc))
        _, t_req, _ = _timed(lambda sc=sc, pl=planner: requirements(pl, sc, 0.5))
        plan, t_plan, w_plan = _timed(lambda sc=sc, pl=planner: make_plan(sc, 0.5, planner=pl))
        _, t_run, w_run = _timed(lambda plan=plan: _confirm_run(plan, args.decisions))
        total = t_build + t_plan + t_run
        rows.append(
            {
                "preset": name,
                "planner_cpu_s": round(t_build, 2),
                "requirements_cpu_s": round(t_req, 2),
                "plan_with_maps_cpu_s": round(t_plan, 2),
                "confirm_run_cpu_s": round(t_run, 2),
                "total_cpu_s": round(total, 2),
                "total_over_baseline_run": round(total / base_cpu, 1),
                "plan_wall_s": round(w_plan + w_run, 2),
            }
        )
        print(json.dumps(rows[-1]), flush=True)
    print(json.dumps({"baseline_run_cpu_s": round(base_cpu, 2)}))


if __name__ == "__main__":
    main()
