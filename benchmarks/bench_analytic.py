"""Benchmark of the analytic engine's speed (issue 16: >= 1e6 decisions/s) and of a run's split.

Run: ``.venv/bin/python benchmarks/bench_analytic.py [--decisions 1e6] [--scenario paper-ideal]``.

* **Engine alone**: :meth:`qnet.engines.analytic.AnalyticEngine.decide` over the run's
  chunks (traffic and protocol step prepared beforehand), with the pair store's FIFO closed
  form against the sequential loop alone (the baseline: the store before the closed form),
  interleaved in this process, best of three; the outputs must be identical.
* **Whole run**: ``simulate`` (analytic engine, no series kept), best of two, and the
  split of its time by stage from one profiled run (shares of the profiled total).
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]


def _scenario(name: str, n: int):  # type: ignore[no-untyped-def]
    from qnet.config import load_scenario

    sets = ["engine.name=analytic", f"run.decisions={n}", "run.warmup_decisions=1000"]
    return load_scenario(ROOT / f"scenarios/{name}.toml", sets)


def engine_alone(name: str, n: int) -> None:
    from qnet.decisions.step import DecisionStep
    from qnet.engines.analytic import AnalyticEngine, link_model
    from qnet.runs.runner import _played_profile, streams
    from qnet.runs.stream import CHUNK_DECISIONS, TrafficStream

    sc = _scenario(name, n)
    model = link_model(sc)
    rngs = streams(sc.seed)
    profile = _played_profile(sc, model, rngs["pilot"])
    traffic, mu = TrafficStream(sc, rngs["traffic"]), sc.traffic.mu_hz
    chunks = []
    for i in range(0, n, CHUNK_DECISIONS):
        t, x1, x2 = traffic.next(min(CHUNK_DECISIONS, n - i))
        u = rngs["shared"].random((len(t), 3))
        chunks.append((t, DecisionStep.prepare(profile, x1 * mu, x2 * mu, u)))
    best = {True: float("inf"), False: float("inf")}
    used = {}
    for _ in range(3):
        for closed in (False, True):
            r = streams(sc.seed)
            eng = AnalyticEngine(sc, r, n, model, closed_form=closed)
            t0 = time.perf_counter()
            uses = [eng.decide(t, s.settings, s.flip) for t, s in chunks]
            best[closed] = min(best[closed], time.perf_counter() - t0)
            used[closed] = np.concatenate([u.outcome_a for u in uses])
    assert np.array_equal(used[True], used[False]), "closed form changed the outcomes"
    rate = {k: n / v for k, v in best.items()}
    print(
        f"engine alone ({name}, {n:,} decisions): closed form {rate[True]:,.0f} decisions/s, "
        f"sequential store {rate[False]:,.0f} decisions/s: {best[False] / best[True]:.2f}x "
        "(identical outcomes)"
    )


def whole_run(name: str, n: int) -> None:
    from qnet.runs.runner import simulate

    sc = _scenario(name, n)
    best = float("inf")
    for _ in range(2):
        t0 = time.perf_counter()
        simulate(sc, keep_series=False)
        best = min(best, time.perf_counter() - t0)
    print(f"whole run ({name}, {n:,} decisions): {best:.2f} s = {n / best:,.0f} decisions/s")
    prof = cProfile.Profile()
    prof.enable()
    simulate(sc, keep_series=False)
    prof.disable()
    stats = pstats.Stats(prof).stats  # type: ignore[attr-defined]
    total = max(v[3] for v in stats.values())
    stages = {
        "comparison profiles (frontier, classical bound)": ("runner.py", "_played_profile"),
        "traffic draws": ("stream.py", "next"),
        "protocol step preparation": ("step.py", "prepare"),
        "engine (both passes)": ("analytic.py", "decide"),
        "  of which pair store": ("pair_store.py", "supply"),
        "queue replay (3 policies)": ("replay.py", "replay"),
        "game scores and controls": ("controls.py", "game_controls"),
        "accumulators": ("estimators.py", "add"),
    }
    print(f"  split of one profiled run ({total:.2f} s with the profiler):")
    for label, (file, func) in stages.items():
        cum = sum(v[3] for k, v in stats.items() if k[0].endswith(file) and k[2] == func)
        print(f"    {label:<50} {cum:6.2f} s  {100 * cum / total:5.1f} %")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--decisions", type=float, default=1e6)
    ap.add_argument("--scenario", default="paper-ideal")
    args = ap.parse_args()
    n = int(args.decisions)
    engine_alone(args.scenario, n)
    whole_run(args.scenario, n)


if __name__ == "__main__":
    main()
