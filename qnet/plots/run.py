"""The figure of one run (``qnet run``): running paired estimates, paired gaps, pair supply."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from qnet.plots.common import figure_png, new_figure

if TYPE_CHECKING:
    from qnet.runs.runner import RunOutput

__all__ = ["FIDELITY_SPREAD_MIN", "run_figure", "run_figure_png", "running_estimate"]

FIDELITY_SPREAD_MIN = 1e-6
"""Below this spread of fidelities at use, a histogram would be one bar: show shares instead."""


def running_estimate(
    series: np.ndarray, points: int = 60, batches: int = 20
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Cumulative mean of ``series`` at ``points`` checkpoints with batch-means 95 % half-widths."""
    from qnet.estimators import batch_means

    n = len(series)
    start = min(n, max(batches * 10, n // points))
    ends = np.unique(np.linspace(start, n, points).astype(int))
    means, halves = [], []
    for end in ends:
        e = batch_means(series[:end], batches)
        means.append(e.mean)
        halves.append(e.ci95)
    return ends, np.array(means), np.array(halves)


def _running(ax: Any, output: RunOutput) -> None:
    from matplotlib.ticker import EngFormatter

    rec = output.record
    span: list[float] = [0.0, rec.ideal_gap_reduction, rec.predicted_gap_reduction]
    for series, label, color, batches, alpha in (
        (output.reduction_game_cv_series, "game, control variates", "tab:blue", rec.batches, 0.3),
        (output.reduction_game_series, "game (Lemma 1)", "tab:cyan", rec.batches, 0.12),
        (output.reduction_series, "queue replay", "tab:orange", rec.queue_batches, 0.12),
    ):
        if len(series) < 2 * batches:
            continue
        x, m, h = running_estimate(series, batches=batches)
        ax.plot(x, m, color=color, label=label)
        ax.fill_between(x, m - h, m + h, color=color, alpha=alpha, lw=0)
        if color == "tab:blue":  # the axis follows the headline estimate's band
            late = slice(len(x) // 5, None)
            span += [float(np.nanmin((m - h)[late])), float(np.nanmax((m + h)[late]))]
    ax.axhline(0.0, color="0.6", lw=0.8)
    ax.axhline(
        rec.ideal_gap_reduction,
        color="k",
        ls="-",
        lw=1.6,
        label=f"ideal (analysis core) {rec.ideal_gap_reduction:.4f}",
    )
    ax.axhline(
        rec.predicted_gap_reduction,
        color="tab:green",
        ls=(0, (1, 2)),
        lw=2.4,
        label=f"predicted for this link {rec.predicted_gap_reduction:.4f}",
    )
    finite = [v for v in span if np.isfinite(v)]
    lo, hi = min(finite), max(finite)
    pad = 0.35 * (hi - lo) + 1e-3
    ax.set_ylim(lo - pad, hi + pad)  # queue early swings may leave the frame (clipped)
    ax.xaxis.set_major_formatter(EngFormatter(sep=""))
    ax.set_xlabel("decisions measured")
    ax.set_ylabel("gap reduction ΔWq_cl − ΔWq_qu  [1/μ]")
    ax.set_title("running paired estimate, 95 % CI")
    ax.legend(fontsize=7, loc="best")


def _gaps(ax: Any, output: RunOutput) -> None:
    rec = output.record
    ideal_q = 0.5 * (rec.oracle_payoff - rec.quantum_payoff_ideal)
    ideal_c = 0.5 * (rec.oracle_payoff - rec.classical_payoff)
    rows = [
        ("gap quantum (queue)", rec.gap_quantum, rec.gap_quantum_ci95, ideal_q),
        ("gap classical (queue)", rec.gap_classical, rec.gap_classical_ci95, ideal_c),
        ("reduction (queue)", rec.gap_reduction, rec.gap_reduction_ci95, None),
        ("gap quantum (game)", rec.gap_quantum_game, rec.gap_quantum_game_ci95, ideal_q),
        ("gap classical (game)", rec.gap_classical_game, rec.gap_classical_game_ci95, ideal_c),
        ("reduction (game)", rec.gap_reduction_game, rec.gap_reduction_game_ci95, None),
        ("reduction (game, CV)", rec.gap_reduction_game_cv, rec.gap_reduction_game_cv_ci95, None),
    ]
    y = np.arange(len(rows))[::-1]
    for yi, (_, mean, half, ideal) in zip(y, rows, strict=True):
        color = "tab:blue" if "reduction" in _ else "0.35"
        ax.errorbar(mean, yi, xerr=half, fmt="o", color=color, capsize=4)
        if ideal is not None:
            ax.plot(ideal, yi, marker="|", color="k", ms=14, mew=2)
    ax.axvline(0.0, color="0.6", lw=0.8)
    ax.axvline(rec.ideal_gap_reduction, color="k", lw=1.6, label="ideal reduction / gaps (|)")
    ax.axvline(
        rec.predicted_gap_reduction,
        color="tab:green",
        ls=(0, (1, 2)),
        lw=2.4,
        label="predicted reduction",
    )
    ax.set_yticks(y, [r[0] for r in rows], fontsize=8)
    ax.set_xlabel("paired difference [1/μ]  (gap: policy − oracle wait)")
    ax.set_title(f"quantum beats classical here: {rec.verdict} (paired 95 % CI)")
    ax.legend(fontsize=7, loc="lower right")


def _supply(ax: Any, output: RunOutput) -> None:
    rec, log = output.record, output.log
    measured = slice(rec.warmup_decisions, None)
    fid = log.pair_fidelity[measured][log.used_pair[measured]]
    spread = float(np.nanmax(fid) - np.nanmin(fid)) if len(fid) else 0.0
    if spread > FIDELITY_SPREAD_MIN:
        pad = max(0.005, 0.02 * spread)
        lo, hi = float(np.nanmin(fid)), float(np.nanmax(fid))
        ax.hist(fid, bins=40, range=(lo - pad, hi + pad), color="tab:purple")
        ax.ticklabel_format(axis="x", useOffset=False)
        ax.set_xlabel("fidelity at use")
        ax.set_ylabel("decisions")
    else:  # every pair used at one fidelity (ideal pairs): shares, not a one-bar histogram
        names = ["availability", "pairs used", "fidelity at use"]
        vals = [rec.availability, rec.pairs_used_share, rec.mean_fidelity_at_use]
        errs = [rec.availability_ci95, rec.pairs_used_share_ci95, 0.0]
        vals = [v if np.isfinite(v) else 0.0 for v in vals]
        ax.bar(names, vals, yerr=errs, color=["tab:green", "tab:blue", "tab:purple"], capsize=6)
        ax.set_ylim(0.0, 1.08)
        note = (
            f"all used pairs at F = {rec.mean_fidelity_at_use:.4f}" if len(fid) else "no pair used"
        )
        ax.text(
            0.5,
            0.5,
            note,
            transform=ax.transAxes,
            ha="center",
            fontsize=9,
            bbox={"facecolor": "white", "alpha": 0.85, "edgecolor": "0.7"},
        )
        ax.set_ylabel("share")
    ax.set_title(
        f"availability {rec.availability:.3f}, pairs used {rec.pairs_used_share:.3f}, "
        f"mean F {rec.mean_fidelity_at_use:.4f}",
        fontsize=9,
    )


def run_figure_png(output: RunOutput, dpi: int = 110) -> bytes:
    """:func:`run_figure` rendered to PNG bytes."""
    return figure_png(run_figure(output), dpi)


def run_figure(output: RunOutput) -> Any:
    """The run's figure: running paired reduction estimates against the ideal and predicted
    values, every paired gap with its CI and ideal value, and the pair supply (fidelity
    histogram, or shares when every used pair had the same fidelity)."""
    fig = new_figure(16, 4.6)
    axes = fig.subplots(1, 3, gridspec_kw={"width_ratios": [1.2, 1.2, 0.9]})
    _running(axes[0], output)
    _gaps(axes[1], output)
    _supply(axes[2], output)
    fig.suptitle(
        f"{output.record.scenario} ({output.record.engine} engine, seed {output.record.seed}): "
        f"run p = {output.record.splitting_probability:.3f}, baselines at p = "
        f"{output.record.comparison_splitting_probability:.3f}",
        fontsize=10,
    )
    return fig
