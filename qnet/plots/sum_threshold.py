"""Figures of the sum-threshold system (``[game] kind = "sum_threshold"``).

:func:`sum_threshold_run_png` draws one run's record: R_k (T = t^k and warm-up) measured
against both baselines (the game's classical pair, the full paper's classical envelope)
with 95 % CIs beside the analysis core's values, and each policy's Wq and p measured and
predicted, Wq against the limit W_l. :func:`sum_threshold_sweep_figure` draws a sweep store
of such runs: R_k against both baselines, p and Wq against the swept key.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import numpy as np

from qnet.plots.common import colormap, figure_png, new_figure, tick_label

if TYPE_CHECKING:
    import pandas as pd

    from qnet.runs.sum_threshold_record import SumThresholdRecord

__all__ = ["sum_threshold_run_figure", "sum_threshold_run_png", "sum_threshold_sweep_figure"]

BASELINES = (("", "game's classical pair", "tab:orange"), ("_envelope", "envelope", "tab:blue"))
"""(record suffix, label, colour) of the two baselines R_k is measured against."""
POLICIES = (
    ("quantum", "quantum run"),
    ("classical", "game's pair"),
    ("envelope", "envelope"),
    ("oracle", "sum oracle"),
)


def _bars(ax: Any, rows: list[tuple[str, float, float, float]], title: str) -> None:
    """Measured values with 95 % CI bars (dots) and the analysis core's (black bars)."""
    y = np.arange(len(rows))
    for i, (_label, m, h, pred) in enumerate(rows):
        if math.isfinite(m):
            ax.errorbar(m, i, xerr=h if math.isfinite(h) else None, fmt="o", color="tab:blue",
                        capsize=4, label="measured (95 % CI)" if i == 0 else None)  # fmt: skip
        if math.isfinite(pred):
            ax.plot([pred, pred], [i - 0.3, i + 0.3], color="k", lw=2,
                    label="analysis core" if i == 0 else None)  # fmt: skip
    ax.set_yticks(y, [r[0] for r in rows], fontsize=8)
    ax.invert_yaxis()
    ax.set_title(title, fontsize=9)
    ax.grid(alpha=0.3, axis="x")


def sum_threshold_run_figure(r: SumThresholdRecord) -> Any:
    """R_k against both baselines, Wq (with W_l) and p of each policy, one run."""
    g = r.__getattribute__
    fig = new_figure(15, 4.4)
    axes = fig.subplots(1, 3)
    k = r.power_k
    ratios = [
        (f"{name} vs {label}", g(f"throughput_ratio{w}{sfx}"),
         g(f"throughput_ratio{w}{sfx}_ci95"), g(f"predicted_throughput_ratio{w}{sfx}"))
        for sfx, label, _ in BASELINES
        for name, w in ((f"R_{k:g}", ""), ("R warm-up", "_warmup"))
    ]  # fmt: skip
    _bars(axes[0], ratios, "throughput ratio (paired, common random numbers)")
    axes[0].axvline(1.0, color="0.5", lw=0.8, ls=":")
    axes[0].legend(fontsize=7, loc="best")
    waits = [
        (label, g(f"wait_{p}"), g(f"wait_{p}_ci95"), g(f"predicted_wait_{p}"))
        for p, label in POLICIES
    ]
    _bars(axes[1], waits, f"mean wait Wq [1/μ]; limit W_l = {r.w_limit:.3f} (red)")
    axes[1].axvline(r.w_limit, color="tab:red", lw=1.2)
    preds = {
        "quantum": r.predicted_splitting_probability_quantum,
        "classical": r.predicted_splitting_probability_classical,
        "envelope": r.predicted_splitting_probability_envelope,
        "oracle": r.p_sum_oracle,
    }
    splits = [
        (label, g(f"splitting_probability_{p}"), g(f"splitting_probability_{p}_ci95"), preds[p])
        for p, label in POLICIES
    ]
    _bars(axes[2], splits, f"splitting probability p (w-oracle needs {r.p_w_oracle:.3f})")
    fig.suptitle(
        f"{r.scenario} ({r.engine} engine, seed {r.seed}): sum-threshold game, "
        f"{r.quantum_family} family at C_t = {r.c_t_quantum:.4f} ({r.placement} placement), "
        f"availability {r.availability:.3f}",
        fontsize=10,
    )
    return fig


def sum_threshold_run_png(r: SumThresholdRecord, dpi: int = 110) -> bytes:
    """:func:`sum_threshold_run_figure` rendered to PNG bytes."""
    return figure_png(sum_threshold_run_figure(r), dpi)


def sum_threshold_sweep_figure(
    table: pd.DataFrame, x: str, by: str | None, xlabel: str, log_x: bool
) -> Any:
    """R_k against both baselines, p and Wq of the quantum run against the swept key
    (one line per value of ``by``; dashed: the analysis core's values)."""
    fig = new_figure(15, 4.6)
    axes = fig.subplots(1, 3)
    groups = [(None, table)] if by is None else list(table.groupby(by, sort=True))
    cmap = colormap(len(groups))
    panels = [
        (axes[0], "throughput_ratio", "predicted_throughput_ratio", "o", "-"),
        (axes[0], "throughput_ratio_envelope", "predicted_throughput_ratio_envelope", "s", "--"),
        (axes[1], "splitting_probability_quantum", "predicted_splitting_probability_quantum",
         "o", "-"),
        (axes[2], "wait_quantum", "predicted_wait_quantum", "o", "-"),
    ]  # fmt: skip
    for j, (value, grp) in enumerate(groups):
        grp = grp.sort_values(x)
        name = None if by is None else tick_label(value)
        for ax, col, pred, marker, ls in panels:
            if col not in grp:
                continue
            tag = "" if ax is not axes[0] else (" vs envelope" if "envelope" in col else " vs pair")
            ax.errorbar(grp[x], grp[col], yerr=grp.get(f"{col}_ci95"), marker=marker, ms=4,
                        capsize=3, ls=ls, color=cmap[j],
                        label=(name or "") + tag if ax is axes[0] or name else None)  # fmt: skip
            if pred in grp:
                ax.plot(grp[x], grp[pred], ls=":", lw=1, color=cmap[j])
    axes[0].axhline(1.0, color="0.5", lw=0.8)
    if "w_limit" in table:
        axes[2].axhline(float(table["w_limit"].iloc[0]), color="tab:red", lw=1, label="W_l")
    labels = ("R_k = T_q / T_c (paired)", "p, quantum run", "Wq quantum run [1/μ]")
    for ax, label in zip(axes, labels, strict=True):
        ax.set_xlabel(xlabel)
        ax.set_ylabel(label, fontsize=9)
        ax.grid(alpha=0.3)
        if log_x:
            ax.set_xscale("log")
    axes[0].legend(fontsize=7, title=by, title_fontsize=7)
    axes[0].set_title("bars: 95 % CI; dotted: analysis core", fontsize=8)
    return fig
