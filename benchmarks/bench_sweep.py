"""Wall time of a 20-point sweep on 2 local worker processes versus 1 (same process).

Runs ``scenarios/sweeps/generation-vs-decision-rate.toml`` (5 x 4 = 20 points, the real
main job on the analytic engine) twice into fresh stores, first with ``--workers 1`` as the
baseline, then with ``--workers 2``, and reports the ratio t1 / t2 (the speed-up; 2.0 is
perfect on 2 free cores). Both runs must produce identical stores (wall time aside), which
is checked. ``--decisions`` shortens every point (default 20000 as in the file). The
machine's load average and a reference ratio (two pure-Python processes against one,
measured right after) are printed: other processes on the cores lower both.

    .venv/bin/python benchmarks/bench_sweep.py [--decisions 5000]
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import tempfile
import time
from pathlib import Path

import pandas as pd

from qnet.config import apply_overrides
from qnet.sweeps.executors import run_sweep
from qnet.sweeps.spec import Sweep, load_sweep
from qnet.sweeps.store import load_results

SWEEP = Path(__file__).resolve().parents[1] / "scenarios/sweeps/generation-vs-decision-rate.toml"


def _timed(sweep: Sweep, store: Path, workers: int) -> float:
    t0 = time.perf_counter()
    summary = run_sweep(sweep, store, workers=workers)
    elapsed = time.perf_counter() - t0
    if summary.failed or summary.done != summary.total:
        raise SystemExit(f"sweep on {workers} worker(s) did not finish cleanly: {summary}")
    return elapsed


def _burn(n: int) -> float:
    t0 = time.perf_counter()
    total = 0
    for i in range(n):
        total += i
    return time.perf_counter() - t0


def machine_parallelism(n: int = 15_000_000) -> float:
    """Speed-up two pure-Python processes get right now over one (2.0 = two free cores)."""
    import multiprocessing

    t0 = time.perf_counter()
    _burn(n)
    _burn(n)
    serial = time.perf_counter() - t0
    with multiprocessing.get_context("forkserver").Pool(2) as pool:
        pool.map(_burn, [1000, 1000])  # start the workers before timing
        t0 = time.perf_counter()
        pool.map(_burn, [n, n])
        parallel = time.perf_counter() - t0
    return serial / parallel


def main() -> None:
    """Time the sweep on 1 then 2 workers and print the ratio."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--decisions", type=int, default=None, help="decisions per point")
    args = ap.parse_args()
    sweep = load_sweep(SWEEP)
    if args.decisions:
        base = apply_overrides(
            sweep.base,
            {"run.decisions": args.decisions, "run.warmup_decisions": args.decisions // 20},
        )
        sweep = dataclasses.replace(sweep, base=base)
    n = len(sweep.points())
    print(f"sweep: {sweep.name}, {n} points, load average before: {os.getloadavg()}")
    with tempfile.TemporaryDirectory() as d:
        t1 = _timed(sweep, Path(d) / "w1.sqlite", workers=1)
        print(f"1 worker : {t1:7.1f} s  ({t1 / n:.2f} s per point)")
        t2 = _timed(sweep, Path(d) / "w2.sqlite", workers=2)
        print(f"2 workers: {t2:7.1f} s")
        drop = ["wall_time_s", "finished_at"]
        a = load_results(Path(d) / "w1.sqlite").drop(columns=drop).sort_values("point_id")
        b = load_results(Path(d) / "w2.sqlite").drop(columns=drop).sort_values("point_id")
        pd.testing.assert_frame_equal(a.reset_index(drop=True), b.reset_index(drop=True))
    print(f"speed-up t(1 worker) / t(2 workers) = {t1 / t2:.2f}  (identical stores)")
    print(f"machine reference: 2 pure-Python processes vs 1 = {machine_parallelism():.2f}")
    print(f"load average after: {os.getloadavg()}")


if __name__ == "__main__":
    main()
