"""Benchmark of the main job's parts: queue replay, analytic engine, SeQUeNCe engine.

Run: ``.venv/bin/python benchmarks/bench_run.py [--pairs N] [--sequence-decisions M]``.

Reports, all in one process so ratios are meaningful on a shared machine:

* the vectorized replay (:func:`qnet.queues.replay.replay_queue`) in customer pairs per second,
  against a plain Python Lindley loop over the same decisions (the baseline), and their
  ratio; the two must agree on the mean wait to 1e-9;
* the analytic engine's decisions per second (pair supply + outcomes, no replay);
* the SeQUeNCe engine's decisions per second on ``scenarios/paper-ideal.toml``, and its
  cost relative to the analytic engine on the same scenario;
* a full ``run_scenario`` of paper-ideal on the analytic engine (wall time);
* the SeQUeNCe measurement primitive: the current circuits (gates written into the gate
  list, no final S, numpy unitary for density matrices) against the previous ones (built
  gate by gate through ``Circuit``'s validated methods, with the final S, qutip unitary),
  per decision (two measurements on a fresh Φ+) in both formalisms, and the SeQUeNCe
  engine's decisions per CPU second on paper-ideal with each, in both formalisms,
  interleaved, best of three (ratio = speed-up; the outcomes must be identical).
"""

from __future__ import annotations

import argparse
import math
import time
from collections.abc import Callable
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np

from qnet.config import load_scenario
from qnet.games.routing.profile import build_profile
from qnet.queues.replay import replay_queue
from qnet.runs.runner import run_decisions, run_scenario, sample_traffic, streams

ROOT = Path(__file__).resolve().parents[1]


def python_lindley(
    t: np.ndarray,
    x1: np.ndarray,
    x2: np.ndarray,
    o_a: np.ndarray,
    o_b: np.ndarray,
    first_is_a: np.ndarray,
) -> float:
    """Baseline: the two-server FCFS queue, one Python step per customer pair."""
    free_at = {1: 0.0, -1: 0.0}  # time each server finishes its current work
    total = 0.0
    for i in range(len(t)):
        ti, a, b = t[i], int(o_a[i]), int(o_b[i])
        if a == b:
            start = max(free_at[a], ti)
            first, second = (x1[i], x2[i]) if first_is_a[i] else (x2[i], x1[i])
            total += 2 * (start - ti) + first
            free_at[a] = start + first + second
        else:
            for s, x in ((a, x1[i]), (b, x2[i])):
                start = max(free_at[s], ti)
                total += start - ti
                free_at[s] = start + x
    return total / (2 * len(t))


def bench_replay(n: int) -> None:
    rng = np.random.default_rng(np.random.SeedSequence(1))
    t = np.cumsum(rng.exponential(1 / 0.8, n))
    x1, x2 = rng.exponential(1.0, (2, n))
    o_a = rng.choice(np.array([-1, 1], dtype=np.int8), n)
    o_b = np.where(rng.random(n) < 0.2, -o_a, o_a).astype(np.int8)
    first = rng.random(n) < 0.5
    vec = float("inf")
    for _ in range(3):  # best of three (the first call also pays for page faults)
        t0 = time.perf_counter()
        r = replay_queue(t, x1, x2, o_a, o_b, first_is_a=first)
        vec = min(vec, time.perf_counter() - t0)
    m = min(n, 200_000)
    t0 = time.perf_counter()
    base = python_lindley(t[:m], x1[:m], x2[:m], o_a[:m], o_b[:m], first[:m])
    loop = (time.perf_counter() - t0) * n / m
    r_m = replay_queue(t[:m], x1[:m], x2[:m], o_a[:m], o_b[:m], first_is_a=first[:m])
    assert abs(r_m.pair_wait.mean() - base) < 1e-9, (r_m.pair_wait.mean(), base)
    print(
        f"replay: {n:,} pairs in {vec:.3f} s = {n / vec:,.0f} pairs/s (Wq {r.pair_wait.mean():.3f})"
    )
    print(f"  python loop baseline: {n / loop:,.0f} pairs/s (timed on {m:,})")
    print(f"  speed-up of the vectorized replay: {loop / vec:.0f}x")


def bench_engines(seq_decisions: int) -> None:
    sc = load_scenario(ROOT / "scenarios/paper-ideal.toml")
    profile = build_profile(sc)
    times = {}
    for engine, n in (("analytic", 200_000), ("sequence", seq_decisions)):
        s = load_scenario(
            ROOT / "scenarios/paper-ideal.toml",
            [f"engine.name={engine}", f"run.decisions={n}", "run.warmup_decisions=10"],
        )
        rngs = streams(s.seed)
        t, x1, x2 = sample_traffic(s, rngs["traffic"])
        t0 = time.perf_counter()
        run_decisions(s, profile, (t, x1, x2), rngs, None)
        dt = time.perf_counter() - t0
        times[engine] = dt / n
        print(f"{engine} engine: {n:,} decisions in {dt:.2f} s = {n / dt:,.0f} decisions/s")
    print(
        f"  SeQUeNCe costs {times['sequence'] / times['analytic']:.0f}x the analytic engine "
        "per decision"
    )
    s = load_scenario(ROOT / "scenarios/paper-ideal.toml", ["engine.name=analytic"])
    t0 = time.perf_counter()
    r = run_scenario(s)
    print(
        f"run_scenario(paper-ideal, analytic, {s.run.decisions:,} decisions): "
        f"{time.perf_counter() - t0:.2f} s"
    )
    del r


def legacy_measurement_circuit(theta: float, plane: str = "xz") -> Any:
    """The measurement circuit as first shipped (xz plane): five validated gate calls."""
    from sequence.components.circuit import Circuit

    circ = Circuit(1)
    circ.sdg(0)
    circ.h(0)
    circ.phase(0, -2.0 * float(theta))
    circ.h(0)
    circ.s(0)
    circ.measure(0)
    return circ


@contextmanager
def _circuits(builder: Callable[..., Any]) -> Any:
    """Run the SeQUeNCe engine with another measurement-circuit builder (benchmark only)."""
    import protocols.entanglement as ent

    saved = ent.measurement_circuit
    ent.measurement_circuit = builder
    try:
        yield
    finally:
        ent.measurement_circuit = saved


def _measure_pairs(builder: Callable[..., Any], formalism: str, n: int) -> float:
    """Seconds per decision: two measurements (A at θ, B at -θ) on a fresh Φ+ each."""
    from sequence.kernel.timeline import Timeline

    from nodes.network import reset_sequence_globals

    rng = np.random.default_rng(np.random.SeedSequence(3))
    phi = np.array([1, 0, 0, 1]) / math.sqrt(2)
    try:
        qm = Timeline(formalism=formalism).quantum_manager
        state = phi if formalism == "ket_vector" else np.outer(phi, phi)
        pairs = []
        for _ in range(n):
            a, b = qm.new(), qm.new()
            qm.set([a, b], state)
            pairs.append((a, b))
        thetas = rng.uniform(-1.0, 1.0, n).tolist()
        u = rng.random((n, 2)).tolist()
        t0 = time.perf_counter()
        for (a, b), th, (ua, ub) in zip(pairs, thetas, u, strict=True):
            qm.run_circuit(builder(th), [a], ua)
            qm.run_circuit(builder(-th), [b], ub)
        return (time.perf_counter() - t0) / n
    finally:
        reset_sequence_globals()


def bench_measurement(seq_decisions: int, rounds: int = 3) -> None:
    from protocols.entanglement import measurement_circuit

    for formalism, n in (("ket_vector", 3000), ("density_matrix", 300)):
        old = min(_measure_pairs(legacy_measurement_circuit, formalism, n) for _ in range(2))
        new = min(_measure_pairs(measurement_circuit, formalism, n) for _ in range(2))
        print(
            f"measurement ({formalism}): {old * 1e3:.3f} -> {new * 1e3:.3f} ms per decision "
            f"(two halves), speed-up {old / new:.1f}x"
        )
    profile = build_profile(load_scenario(ROOT / "scenarios/paper-ideal.toml"))
    for formalism, n in (("ket", seq_decisions), ("density_matrix", max(seq_decisions // 2, 50))):
        s = load_scenario(
            ROOT / "scenarios/paper-ideal.toml",
            [f"run.decisions={n}", "run.warmup_decisions=10", f"engine.formalism={formalism}"],
        )
        best = {"previous": math.inf, "current": math.inf}
        outputs = {}
        for _ in range(rounds):  # interleaved, best of `rounds` CPU times: robust to load
            for name, builder in (
                ("previous", legacy_measurement_circuit),
                ("current", measurement_circuit),
            ):
                rngs = streams(s.seed)
                t, x1, x2 = sample_traffic(s, rngs["traffic"])
                with _circuits(builder):
                    t0 = time.process_time()
                    log, _ = run_decisions(s, profile, (t, x1, x2), rngs, None)
                    best[name] = min(best[name], time.process_time() - t0)
                outputs[name] = (log.o_a.tobytes(), log.o_b.tobytes())
        same = "identical" if outputs["previous"] == outputs["current"] else "DIFFERENT"
        print(
            f"SeQUeNCe engine, paper-ideal ({formalism}), {n:,} decisions: "
            f"{n / best['previous']:,.0f} -> {n / best['current']:,.0f} decisions per CPU "
            f"second, speed-up {best['previous'] / best['current']:.2f}x ({same} outcomes)"
        )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--pairs", type=int, default=2_000_000)
    ap.add_argument("--sequence-decisions", type=int, default=1000)
    ap.add_argument(
        "--only-measurement", action="store_true", help="only the measurement comparison"
    )
    args = ap.parse_args()
    if not args.only_measurement:
        bench_replay(args.pairs)
        bench_engines(args.sequence_decisions)
    bench_measurement(args.sequence_decisions)


if __name__ == "__main__":
    main()
