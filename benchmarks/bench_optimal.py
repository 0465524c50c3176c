"""Time the full optimal-family frontier (99 values of p, certificate included) against the
polynomial frontier, in the same process.

Usage:
    PYTHONPATH=. .venv/bin/python benchmarks/bench_optimal.py [--repeats 1] [--certificate tight]

Both runs use p = 0.005, 0.010, ..., 0.495 at the paper's settings (λ = 0.8, μ = 1, α = 0.5,
seed 1, anchors every 0.05) and the same classical certificate:

* ``polynomial``: ``pareto_frontier(..., quantum="polynomial")``, today's frontier (degree 2,
  60 Gauss–Laguerre points, 20 restarts per anchor);
* ``optimal``: ``pareto_frontier(..., quantum="optimal", quantum_bound=True)``, the line
  family plus the certified upper bound on every quantum strategy at every p.

Printed: wall seconds (best of ``--repeats``) of each, a breakdown of the optimal run
(classical certificates, optimal sweep, quantum bound), the ratio optimal / polynomial (the
machine-independent number), and both frontiers' findings: advantage region, largest
reduction ΔWq_cl − ΔWq_qu and where, relative reduction, and the largest bound − achieved.
Target: the optimal frontier under 10 s on the project's 2-core machine.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from qnet.games.routing.classical import certified_classical_bound
from qnet.games.routing.frontier import Frontier, p_grid_from_range, pareto_frontier
from qnet.games.routing.optimal import QuantumBound, optimal_sweep
from qnet.queues.model import SystemParams


def timed(fn: object, repeats: int) -> tuple[float, object]:
    """Smallest wall time of ``repeats`` calls and the last result."""
    best, out = float("inf"), None
    for _ in range(repeats):
        t0 = time.perf_counter()
        out = fn()  # type: ignore[operator]
        best = min(best, time.perf_counter() - t0)
    return best, out


def findings(name: str, fr: Frontier) -> str:
    """One line: advantage region, largest reduction and where, relative reduction."""
    return (
        f"  {name:10s} advantage region {fr.advantage_region} "
        f"(contiguous {fr.advantage_contiguous}), largest reduction {fr.max_reduction:.4f} "
        f"at p = {fr.p_at_max_reduction:g}, relative {100 * fr.relative_reduction_at_max:.1f} %"
    )


def main() -> None:
    """Run the benchmark and print the report."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--certificate", choices=("tight", "paper"), default="tight")
    args = parser.parse_args()
    params = SystemParams(lam=0.8, mu=1.0, alpha=0.5)
    grid = p_grid_from_range(0.005, 0.495, 0.005)
    assert grid.size == 99

    t_poly, poly = timed(
        lambda: pareto_frontier(grid, params, method=args.certificate), args.repeats
    )
    t_opt, opt = timed(
        lambda: pareto_frontier(
            grid, params, method=args.certificate, quantum="optimal", quantum_bound=True
        ),
        args.repeats,
    )
    t_classical, _ = timed(
        lambda: [certified_classical_bound(float(p), params, args.certificate) for p in grid], 1
    )
    t_sweep, runs = timed(lambda: optimal_sweep(grid, params), 1)

    def bound_all() -> list[float]:
        qb = QuantumBound(params)
        return [qb.certify(float(p), r).gap for p, r in zip(grid, runs, strict=True)]  # type: ignore[arg-type]

    t_bound, gaps = timed(bound_all, 1)
    assert isinstance(poly, Frontier) and isinstance(opt, Frontier)
    slack = np.asarray(opt.quantum_upper_bound) - opt.quantum_payoff
    print(f"frontier: 99 values of p, step 0.005, classical certificate {args.certificate}")
    print(f"  polynomial frontier (today)          {t_poly:8.2f} s")
    print(f"  optimal frontier + quantum bound     {t_opt:8.2f} s")
    print(f"    classical certificates, 99 p       {t_classical:8.2f} s")
    print(f"    optimal sweep, 99 p                {t_sweep:8.2f} s")
    print(f"    quantum upper bound, 99 p          {t_bound:8.2f} s")
    print(f"  ratio optimal / polynomial           {t_opt / t_poly:8.2f}")
    print("findings:")
    print(findings("polynomial", poly))
    print(findings("optimal", opt))
    print(
        f"  quantum bound − optimal payoff: max {float(np.max(slack)):.2e}, "
        f"min {float(np.min(slack)):.2e} (bound recomputed alone: max {max(gaps):.2e})"
    )
    print(
        "  optimal − polynomial payoff: min "
        f"{float(np.min(opt.quantum_payoff - poly.quantum_payoff)):.4f}"
    )
    print("target: optimal frontier < 10 s on the project machine:", "OK" if t_opt < 10 else "SLOW")


if __name__ == "__main__":
    main()
