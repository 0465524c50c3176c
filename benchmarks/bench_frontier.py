"""Time the full Pareto frontier (99 values of p, step 0.005) against in-process baselines.

Usage:
    .venv/bin/python benchmarks/bench_frontier.py [--repeats 3] [--certificate tight|paper]

Reports wall seconds (best of ``--repeats``) of ``pareto_frontier`` on p = 0.005, 0.010,
..., 0.495 at the paper's settings (λ = 0.8, μ = 1, α = 0.5, degree 2, 60 Gauss–Laguerre
points, 20 restarts per anchor, seed 1), adaptive-quadrature validation included, plus a
breakdown (oracle, classical certificates, quantum sweep, adaptive validation) and
ratios against two baselines timed in the same process, so numbers from machines of
different speed can be compared:

* ``numpy_unit``: 10 000 small single-threaded numpy steps (cos of a 2x60 array, a
  (2, 60)@(60, 2) product, a sum), timed just before and after each frontier run (the
  ratio uses their mean; the best run is reported);
* ``oracle_99``: one vectorized oracle evaluation A*(p) on the same 99 values of p.

Machine-independent budget: the target is < 10 s on the project's 2-core machine.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable

import numpy as np

from qnet.games.routing.classical import certified_classical_bound
from qnet.games.routing.frontier import p_grid_from_range, pareto_frontier
from qnet.games.routing.oracle import oracle_payoff
from qnet.games.routing.quantum import adaptive
from qnet.queues.model import SystemParams


def best_of(fn: Callable[[], object], repeats: int) -> float:
    """Smallest wall time of ``repeats`` calls (seconds)."""
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def numpy_unit() -> None:
    """Fixed workload used as the machine-speed unit: 10 000 small numpy steps.

    Like the frontier (whose cost is many small array operations), and single-threaded,
    so a busy BLAS thread pool does not distort it.
    """
    rng = np.random.default_rng(0)
    theta = rng.random((2, 60))
    weights = rng.random((60, 2))
    acc = 0.0
    for _ in range(10_000):
        c = np.cos(2 * theta)
        acc += float(np.sum((c @ weights) * 0.5))
    if not np.isfinite(acc):
        raise RuntimeError("numpy unit produced a non-finite value")


def main() -> None:
    """Run the benchmark and print a small report."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--certificate", choices=("tight", "paper"), default="tight")
    args = parser.parse_args()
    params = SystemParams(lam=0.8, mu=1.0, alpha=0.5)
    grid = p_grid_from_range(0.005, 0.495, 0.005)
    assert grid.size == 99

    t_unit = best_of(numpy_unit, args.repeats)
    t_oracle = best_of(lambda: oracle_payoff(grid, params), args.repeats)
    t_classical = best_of(
        lambda: [certified_classical_bound(float(p), params, args.certificate) for p in grid],
        1,
    )

    # Count the adaptive validations and their time inside one full run.
    spent = {"calls": 0, "seconds": 0.0}
    original = adaptive._moments

    def timed_moments(*a: object, **k: object) -> object:
        t0 = time.perf_counter()
        try:
            return original(*a, **k)  # type: ignore[arg-type]
        finally:
            spent["calls"] += 1
            spent["seconds"] += time.perf_counter() - t0

    adaptive._moments = timed_moments  # type: ignore[assignment]
    try:
        t0 = time.perf_counter()
        fr = pareto_frontier(grid, params, method=args.certificate)
        t_instrumented = time.perf_counter() - t0
    finally:
        adaptive._moments = original  # type: ignore[assignment]

    # Interleave the unit with each frontier run so both see the same machine load.
    runs = []
    for _ in range(args.repeats):
        u0 = best_of(numpy_unit, 1)
        t_run = best_of(lambda: pareto_frontier(grid, params, method=args.certificate), 1)
        u1 = best_of(numpy_unit, 1)
        runs.append((t_run, t_run / (0.5 * (u0 + u1))))
    t_full = min(r[0] for r in runs)
    ratio_unit = min(r[1] for r in runs)
    print(f"frontier: 99 values of p, step 0.005, certificate {args.certificate}")
    print(f"  full frontier (best of {args.repeats})  {t_full:8.3f} s")
    print(f"  oracle A*(p), 99 p (vectorized)    {t_oracle:8.4f} s")
    print(f"  classical certificates, 99 p       {t_classical:8.3f} s")
    print(
        f"  adaptive validation                {spent['seconds']:8.3f} s "
        f"({spent['calls'] // 2} strategies, in the instrumented run of {t_instrumented:.2f} s)"
    )
    print(f"  quantum sweep incl. validation     {t_full - t_oracle - t_classical:8.3f} s")
    print(f"  numpy unit (10 000 small steps)    {t_unit:8.4f} s")
    print(f"ratio full frontier / numpy unit:  {ratio_unit:8.1f}  (best interleaved run)")
    print(f"ratio full frontier / oracle_99:   {t_full / t_oracle:8.1f}")
    print(
        f"result: advantage region {fr.advantage_region}, max reduction "
        f"{fr.max_reduction:.4f} at p = {fr.p_at_max_reduction:g} "
        f"({100 * fr.relative_reduction_at_max:.1f} %), all converged: "
        f"{bool(fr.quantum_converged.all())}"
    )
    print("target: full frontier < 10 s on the project machine:", "OK" if t_full < 10 else "SLOW")


if __name__ == "__main__":
    main()
