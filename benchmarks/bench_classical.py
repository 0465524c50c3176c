"""The classical certificate table behind docs/findings.md ("certificates"): the tight and
paper (Prop. 7) certificates on the 0.005 p grid, where the optimum reaches the
constant-router boundary, and the dual check of the envelope.

    python benchmarks/bench_classical.py [--lam 0.8 --mu 1 --epsilon 0.01]
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from qnet.games.routing.classical import (
    boundary_transition,
    certified_classical_curve,
    certify_envelope,
    classical_envelope,
)
from qnet.queues.model import SystemParams


def main(argv: Sequence[str] | None = None) -> None:
    """Print the certificate table behind the README's "Findings: certificates"."""
    import argparse
    import time

    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("--lam", type=float, default=0.8)
    parser.add_argument("--mu", type=float, default=1.0)
    parser.add_argument("--epsilon", type=float, default=0.01)
    args = parser.parse_args(argv)
    params = SystemParams(lam=args.lam, mu=args.mu)
    grid = np.round(np.arange(1, 100) * 0.005, 6)
    t0 = time.perf_counter()
    tight = certified_classical_curve(grid, params)
    t_tight = time.perf_counter() - t0
    paper = certified_classical_curve(grid, params, "paper", epsilon=args.epsilon)
    print(f"lam={args.lam} mu={args.mu} rho={params.rho:.3f}; paper epsilon={args.epsilon}")
    head = (
        "    p  theta_A  theta_B  s   best_value  tight_slack  bdry  paper_bound  paper_slack  D27"
    )
    print(head)
    for t, q in zip(tight, paper, strict=True):
        if round(t.p / 0.025, 6) % 1 == 0:
            print(
                f"{t.p:5.3f} {t.theta_a:8.4f} {t.theta_b:8.4f} {t.orientation:+d}"
                f" {t.best_value:12.6f}"
                f" {t.slack:12.2e}  {'yes' if t.on_boundary else ' no'} {q.bound:12.6f}"
                f" {q.slack:12.4f}  {'ok' if q.d27_holds else 'FAIL'}"
            )
    slack = np.array([c.slack for c in tight])
    below = [t.p for t, q in zip(tight, paper, strict=True) if q.bound < t.best_value]
    fails = [q.p for q in paper if not q.d27_holds]
    print(f"tight: 99 certificates in {t_tight:.2f} s, max slack {slack.max():.2e}")
    print(f"optimum on the constant-router boundary from p = {boundary_transition(params):.4f}")
    print(
        f"paper: D27 fails at {len(fails)} of 99 p (first {min(fails, default=math.nan)}),"
        f" bound below an attained value at {len(below)} p"
    )
    env = classical_envelope(grid, [c.bound for c in tight], params, [c.strategy for c in tight])
    dual = certify_envelope(env, params)
    print(
        f"dual check of the grid envelope: max(dual - envelope) = {np.max(dual - env.envelope):.2e}"
    )


if __name__ == "__main__":
    main()
