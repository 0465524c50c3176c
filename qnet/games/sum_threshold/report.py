"""Every value of the sum-threshold game at one C_t, and its curves against C_t.

What ``qnet game sum-threshold`` prints: the classical optimum and the C_t minimizing it
(eq. 5), the annealing cross-check over N bins (Section 4.3), the linear and quadratic
relative angles (eq. 6), the best quantum value bracketed on refining bins
(:mod:`.bounds`), and win probability against C_t for each family.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from qnet.games.sum_threshold.bounds import BinBound, bin_bounds
from qnet.games.sum_threshold.classical import (
    anneal,
    best_threshold_pair,
    check_c_t,
    classical_minimum,
)
from qnet.games.sum_threshold.quantum import optimize_angles

__all__ = ["Curves", "SumThresholdReport", "c_grid", "curves", "sum_threshold_report"]

#: Refining grids of the convergence table (nested: each doubles the last).
CONVERGENCE_BINS = (8, 16, 32, 64, 128, 256, 512)


def c_grid(start: float, stop: float, points: int) -> list[float]:
    """``points`` equally spaced C_t in [start, stop] ⊂ (0, 1)."""
    check_c_t(start)
    check_c_t(stop)
    if not stop > start:
        raise ValueError(f"c_stop = {stop:g} must be > c_start = {start:g}")
    if not 2 <= points <= 200:
        raise ValueError(f"points = {points} is out of range: allowed [2, 200]")
    return [float(c) for c in np.linspace(start, stop, points)]


@dataclass(frozen=True)
class Curves:
    """Win probability against C_t for each strategy family (the PNG's data)."""

    c_t: list[float]
    classical: list[float]
    linear: list[float]
    quadratic: list[float]
    optimal_lower: list[float]
    optimal_upper: list[float]
    bins: int


def curves(
    c_values: Sequence[float],
    bins: int = 128,
    progress: Callable[[str, float], None] | None = None,
) -> Curves:
    """Classical, linear, quadratic and bin-optimal quantum win probability at each C_t."""
    out: dict[str, list[float]] = {k: [] for k in ("cl", "lin", "quad", "lo", "up")}
    lin_init, quad_init = None, None
    for k, c in enumerate(c_values):
        lin = optimize_angles(c, starts=4 if lin_init is None else 2, init=lin_init)
        quad_start = quad_init if quad_init is not None else lin.coefficients
        quad = optimize_angles(c, quadratic=True, starts=2, init=quad_start)
        lin_alt = optimize_angles(c, starts=1, init=quad.coefficients[:3])
        lin = lin if lin.bias >= lin_alt.bias else lin_alt
        if quad.bias < lin.bias:  # the quadratic family contains the linear one
            quad = optimize_angles(c, quadratic=True, starts=1, init=lin.coefficients)
        lin_init, quad_init = lin.coefficients, quad.coefficients
        bound = bin_bounds(c, bins)
        out["cl"].append(best_threshold_pair(c).win_probability)
        out["lin"].append(lin.win_probability)
        out["quad"].append(quad.win_probability)
        out["lo"].append(bound.lower)
        out["up"].append(bound.upper)
        if progress is not None:
            progress("curves", (k + 1) / len(c_values))
    return Curves(list(c_values), out["cl"], out["lin"], out["quad"], out["lo"], out["up"], bins)


@dataclass(frozen=True)
class SumThresholdReport:
    """The game's values at ``c_t`` (default: the classical minimum C_min) and its curves."""

    C_min: float
    c_t: float
    classical_win_probability: float
    classical_thresholds: dict[str, float]
    annealing_win_probability: float
    annealing_bins: int
    annealing_seed: int
    quantum_win_probability_linear: float
    linear_coefficients: list[float]
    quantum_win_probability_quadratic: float
    quadratic_coefficients: list[float]
    quantum_win_probability_optimal: float
    quantum_upper_bound: float
    optimal_bins: int
    optimal_rank: int
    oracle_split_probability: float
    convergence: list[dict[str, float]]
    curves: Curves
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready dict (the ``--json`` output)."""
        return asdict(self)


def _bound_row(b: BinBound) -> dict[str, float]:
    return {"bins": b.n, "method": b.method, "lower": b.lower, "upper": b.upper, "rank": b.rank}


def sum_threshold_report(
    c_t: float | None = None,
    bins: int = 512,
    c_values: Sequence[float] = (),
    curve_bins: int = 128,
    anneal_bins: int = 1000,
    anneal_sweeps: int = 20,
    seed: int = 0,
    progress: Callable[[str, float], None] | None = None,
) -> SumThresholdReport:
    """All values at ``c_t`` (C_min when None) plus curves over ``c_values`` (Section 4)."""
    minimum = classical_minimum()
    c = minimum.c_t if c_t is None else check_c_t(c_t)
    best = best_threshold_pair(c)
    if progress is not None:
        progress("annealing", 0.0)
    ann = anneal(c, n=anneal_bins, sweeps=anneal_sweeps, seed=seed)
    lin = optimize_angles(c)
    quad = optimize_angles(c, quadratic=True)
    grids = sorted({n for n in CONVERGENCE_BINS if n < bins} | {bins})
    runs = []
    for k, n in enumerate(grids):
        if progress is not None:
            progress(f"bins {n}", k / len(grids))
        runs.append(bin_bounds(c, n))
    top = runs[-1]
    notes = [
        "classical: exact value of the best threshold pair; exhaustive bin searches and "
        "annealing are checks (no proof that thresholds are optimal in the continuum)",
        "optimal: value of a playable bin-constant strategy (rigorous lower bound); "
        "upper bound: dual certificate of the bin SDP + boundary-cell residual (rigorous)",
    ]
    return SumThresholdReport(
        C_min=minimum.c_t,
        c_t=c,
        classical_win_probability=best.win_probability,
        classical_thresholds={"alpha": best.alpha, "beta": best.beta, "sign": best.sign},
        annealing_win_probability=ann.win_probability,
        annealing_bins=anneal_bins,
        annealing_seed=seed,
        quantum_win_probability_linear=lin.win_probability,
        linear_coefficients=list(lin.coefficients),
        quantum_win_probability_quadratic=quad.win_probability,
        quadratic_coefficients=list(quad.coefficients),
        quantum_win_probability_optimal=top.lower,
        quantum_upper_bound=top.upper,
        optimal_bins=top.n,
        optimal_rank=top.rank,
        oracle_split_probability=c * (1.0 - float(np.log(c))),
        convergence=[_bound_row(b) for b in runs],
        curves=curves(c_values, curve_bins, progress) if c_values else curves([], curve_bins),
        notes=notes,
    )
