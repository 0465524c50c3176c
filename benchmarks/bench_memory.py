"""Benchmark of the run's memory and speed with streamed decisions (issue 16, bounded memory).

Run: ``.venv/bin/python benchmarks/bench_memory.py [--points 1e6,1e7,1e8] [--speed N]``.

* **Peak memory**: each point runs ``run_scenario`` (paper-ideal, analytic engine,
  ``run.decisions = N``, no per-decision series kept) in a fresh subprocess and reports
  its peak resident set (``VmHWM`` of /proc/self/status: ``ru_maxrss`` would carry over
  the parent's peak across fork and exec) and wall time; the one-shot path (the whole run in
  one chunk with the per-decision log and series kept, as before streaming) is measured
  the same way at the smallest point as the baseline.
* **Speed**: in this process, streamed (default chunks, no series) against one-shot (one
  chunk, series kept) on the same N decisions, interleaved, best of two: decisions per
  second of each and their ratio. The records must be identical.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

CHILD = """
import json, sys, time
from qnet.config import load_scenario
from qnet.runs.runner import simulate
n, one_shot = int(sys.argv[1]), sys.argv[2] == "1"
sc = load_scenario(sys.argv[3], ["engine.name=analytic", f"run.decisions={n}",
                                 "run.warmup_decisions=1000"])
t0 = time.perf_counter()
kw = {"chunk": n, "keep_series": True} if one_shot else {"keep_series": False}
rec = simulate(sc, **kw).record
wall = time.perf_counter() - t0
hwm = [l for l in open("/proc/self/status") if l.startswith("VmHWM:")][0]
print(json.dumps({"n": n, "one_shot": one_shot, "wall_s": wall,
                  "peak_mib": int(hwm.split()[1]) / 1024,
                  "share_cv": rec.retained_share_game_cv,
                  "share_cv_ci95": rec.retained_share_game_cv_ci95}))
"""


def point(n: int, one_shot: bool) -> dict[str, float]:
    """Peak memory and wall time of one run in a fresh interpreter."""
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(ROOT)}
    scenario = str(ROOT / "scenarios/paper-ideal.toml")
    out = subprocess.run(
        [sys.executable, "-c", CHILD, str(n), "1" if one_shot else "0", scenario],
        capture_output=True,
        text=True,
        env=env,
        check=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def memory(points: list[int]) -> None:
    base = point(points[0], one_shot=True)
    print(
        f"one-shot (baseline) {base['n']:.0e} decisions: peak {base['peak_mib']:,.0f} MiB, "
        f"{base['wall_s']:.1f} s"
    )
    for n in points:
        r = point(n, one_shot=False)
        print(
            f"streamed {n:.0e} decisions: peak {r['peak_mib']:,.0f} MiB "
            f"({base['peak_mib'] / r['peak_mib']:.1f}x below the one-shot run at "
            f"{base['n']:.0e}), {r['wall_s']:.1f} s = {n / r['wall_s']:,.0f} decisions/s; "
            f"retained share (game, CV) {r['share_cv']:.4f} +- {r['share_cv_ci95']:.4f}"
        )


def speed(n: int) -> None:
    from qnet.config import load_scenario
    from qnet.runs.runner import simulate

    sc = load_scenario(
        ROOT / "scenarios/paper-ideal.toml",
        ["engine.name=analytic", f"run.decisions={n}", "run.warmup_decisions=1000"],
    )
    best = {"streamed": float("inf"), "one-shot": float("inf")}
    recs = {}
    for _ in range(2):
        for name, kw in (("one-shot", {"chunk": n}), ("streamed", {"keep_series": False})):
            t0 = time.perf_counter()
            rec = simulate(sc, **kw).record  # type: ignore[arg-type]
            best[name] = min(best[name], time.perf_counter() - t0)
            recs[name] = {k: v for k, v in dataclasses.asdict(rec).items() if k != "wall_time_s"}
    assert recs["streamed"] == recs["one-shot"], "streamed and one-shot records differ"
    for name, dt in best.items():
        print(f"{name}: {n:,} decisions in {dt:.2f} s = {n / dt:,.0f} decisions/s")
    print(f"  streamed / one-shot time: {best['streamed'] / best['one-shot']:.2f} (same record)")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--points", default="1e6,1e7,1e8", help="decision counts, comma-separated")
    ap.add_argument(
        "--speed", type=float, default=1e6, help="decisions of the speed check (0: none)"
    )
    args = ap.parse_args()
    memory([int(float(p)) for p in args.points.split(",")])
    if args.speed > 0:
        speed(int(args.speed))


if __name__ == "__main__":
    main()
