"""Benchmark of the verdict machinery (issue 16): variance reduction, workers, memory.

All in one process (subprocesses for memory), so ratios are meaningful on a shared machine:

* **variance reduction**: on paper-ideal (analytic engine, ``--decisions``) the control
  variates' per-decision variance factor and the ratio of the plain to the control-variate
  95 % half-width of the game reduction;
* **workers**: one run of ``--replications`` replications (SeQUeNCe engine, paper-ideal,
  ``--sequence-decisions`` in total) on 1 worker and on 2, wall-clock, and the speed-up
  (the two records must be identical apart from the wall time);
* **peak memory**: maximum resident set size of ``qnet run`` (analytic, ``--no-plot``) at
  each of ``--memory-decisions`` decisions, in a fresh process each.

Usage::

    .venv/bin/python benchmarks/bench_verdict.py [--decisions 200000]
        [--sequence-decisions 4000] [--replications 2] [--memory-decisions 1e5 1e6]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from dataclasses import asdict
from pathlib import Path
from tempfile import TemporaryDirectory

from qnet.config import load_scenario
from qnet.runs.replicate import run_replicated
from qnet.runs.runner import simulate

ROOT = Path(__file__).resolve().parents[1]
SCENARIO = ROOT / "scenarios" / "paper-ideal.toml"


def variance_reduction(decisions: int) -> dict[str, float]:
    """Control-variate gain on paper-ideal, analytic engine."""
    sc = load_scenario(SCENARIO, [f"run.decisions={decisions}", "engine.name=analytic"])
    rec = simulate(sc).record
    return {
        "variance_factor": rec.variance_reduction_game,
        "half_width_ratio": rec.gap_reduction_game_ci95 / rec.gap_reduction_game_cv_ci95,
        "retained_share_game_cv": rec.retained_share_game_cv,
        "retained_share_game_cv_ci95": rec.retained_share_game_cv_ci95,
    }


def workers_speedup(decisions: int, replications: int) -> dict[str, float]:
    """Wall time of one replicated SeQUeNCe run on 1 and on 2 worker processes."""
    from qnet.sweeps.executors import _pool

    sc = load_scenario(SCENARIO, [f"run.decisions={decisions}", "run.warmup_decisions=200"])
    t0 = time.perf_counter()
    one = run_replicated(sc, replications, None)
    t1 = time.perf_counter()
    with _pool(2) as pool:
        two = run_replicated(sc, replications, pool)
    t2 = time.perf_counter()
    same = {**asdict(one), "wall_time_s": 0} == {**asdict(two), "wall_time_s": 0}
    return {
        "wall_1_worker_s": t1 - t0,
        "wall_2_workers_s": t2 - t1,
        "speedup": (t1 - t0) / (t2 - t1),
        "records_identical": float(same),
    }


_MEASURE = """
import runpy, sys
sys.argv = ["qnet", *sys.argv[1:]]
try:
    runpy.run_module("qnet", run_name="__main__")
except SystemExit:
    pass
# VmHWM, not ru_maxrss: the latter keeps the parent's peak across fork and exec
print([l for l in open("/proc/self/status") if l.startswith("VmHWM:")][0].split()[1],
      file=sys.stderr)
"""


def peak_memory(decisions: int) -> float:
    """Peak RSS [MiB] of ``qnet run`` (analytic engine, no plot) in a fresh process."""
    with TemporaryDirectory() as out:
        cmd = [sys.executable, "-c", _MEASURE, "run", str(SCENARIO), "--json", "--no-plot"]
        cmd += ["--out", out, "--set", "engine.name=analytic"]
        cmd += ["--set", f"run.decisions={decisions}"]
        done = subprocess.run(cmd, check=True, capture_output=True, cwd=ROOT, text=True)
    return int(done.stderr.strip().splitlines()[-1]) / 1024.0  # Linux: VmHWM in KiB


def main() -> None:
    """Run the three measurements and print them (``--json`` for one object)."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--decisions", type=int, default=200_000)
    ap.add_argument("--sequence-decisions", type=int, default=4000)
    ap.add_argument("--replications", type=int, default=2)
    ap.add_argument("--memory-decisions", type=float, nargs="*", default=[1e5, 1e6])
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    result = {
        "variance_reduction": variance_reduction(args.decisions),
        "workers": workers_speedup(args.sequence_decisions, args.replications),
        "peak_memory_mib": {
            str(int(n)): peak_memory(int(n)) for n in sorted(args.memory_decisions)
        },
    }
    if args.json:
        print(json.dumps(result, indent=2))
        return
    v, w = result["variance_reduction"], result["workers"]
    print(
        f"control variates: variance / {v['variance_factor']:.2f}, half-width / "
        f"{v['half_width_ratio']:.2f} ({args.decisions} decisions, analytic)"
    )
    print(
        f"workers: 1 -> {w['wall_1_worker_s']:.1f} s, 2 -> {w['wall_2_workers_s']:.1f} s, "
        f"speed-up {w['speedup']:.2f} (identical records: {bool(w['records_identical'])})"
    )
    for n, mib in result["peak_memory_mib"].items():
        print(f"peak memory at {int(n):,} decisions: {mib:.0f} MiB")


if __name__ == "__main__":
    main()
