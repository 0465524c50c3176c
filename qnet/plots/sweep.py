"""Sweep figures and the scenario topology drawing (matplotlib, no pyplot global state).

:func:`sweep_figure_png` draws, against the first swept axis (one line per value of the
second): the measured gap reduction ΔWq_cl − ΔWq_qu with its 95 % CI bars (units 1/μ;
the analysis core's prediction for the measured availability and pair quality dashed),
the retained share of the ideal reduction with CI bars, the availability and the mean
fidelity at use. When two axes are crossed it adds heat maps of the retained share and
the gap reduction over the full grid. A sum-threshold store is drawn by
:func:`qnet.plots.sum_threshold.sum_threshold_sweep_figure`. Replicates are averaged (CI
half-widths combined in quadrature; pandas is imported only when a sweep is drawn).
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import numpy as np

from qnet.plots.common import colormap as _colormap
from qnet.plots.common import figure_png, new_figure
from qnet.plots.common import tick_label as _label

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["ESTIMATES", "PANELS", "PlotError", "sweep_figure", "sweep_figure_png", "sweep_table"]

PANELS = (
    ("gap_reduction", "gap reduction ΔWq_cl − ΔWq_qu [1/μ]"),
    ("retained_share", "retained share of the ideal reduction"),
    ("availability", "availability (share of decisions with a pair)"),
    ("mean_fidelity_at_use", "mean fidelity at use"),
)
"""(store column, axis label) of the four line panels; each column has a ``*_ci95``.

With ``estimate="game"`` (default) the first two read ``gap_reduction_game`` and
``retained_share_game``: the same reduction from per-decision game payoffs (Lemma 1),
about ten times tighter than the queue replay's at equal run length."""
ESTIMATES = {"game": "game payoffs, Lemma 1", "queue": "queue replay"}
SUM_THRESHOLD_COLUMNS = tuple(
    f"{pre}{c}"
    for c in (
        "throughput_ratio",
        "throughput_ratio_envelope",
        "splitting_probability_quantum",
        "wait_quantum",
    )
    for pre in ("", "predicted_")
) + ("w_limit",)
"""Columns a sum-threshold store's figure reads (:mod:`qnet.plots.sum_threshold`)."""


class PlotError(ValueError):
    """The store holds nothing plottable for the request (names the missing piece)."""


def _combine(group: pd.DataFrame, col: str) -> tuple[float, float]:
    """Mean of the replicates' estimates; CI half-width sqrt(sum h_i^2) / n."""
    import pandas as pd

    m = group[col].astype(float)
    h = group.get(f"{col}_ci95", pd.Series(np.nan, index=group.index)).astype(float)
    ok = m.notna()
    if not ok.any():
        return math.nan, math.nan
    n = int(ok.sum())
    return float(m[ok].mean()), float(math.sqrt((h[ok] ** 2).sum()) / n)


def sweep_table(df: pd.DataFrame, x: str, by: str | None, columns: tuple[str, ...]) -> pd.DataFrame:
    """One row per (by, x): each column's mean and ``*_ci95`` over replicates."""
    import pandas as pd

    keys = [k for k in (by, x) if k]
    rows = []
    for key, group in df.groupby(keys, sort=True, dropna=False):
        key = key if isinstance(key, tuple) else (key,)
        row = dict(zip(keys, key, strict=True))
        for col in columns:
            if col in group:
                row[col], row[f"{col}_ci95"] = _combine(group, col)
        row["points"] = len(group)
        rows.append(row)
    return pd.DataFrame(rows)


def _axes_of(df: pd.DataFrame, spec: dict[str, Any] | None) -> list[str]:
    if spec:
        return [a["key"] for a in spec.get("axes", [])]
    coords = [c for c in df.columns if "." in c]
    return [c for c in coords if df[c].nunique() > 1]


def sweep_figure_png(
    df: pd.DataFrame,
    spec: dict[str, Any] | None = None,
    x: str | None = None,
    by: str | None = None,
    estimate: str = "game",
    dpi: int = 110,
) -> bytes:
    """:func:`sweep_figure` rendered to PNG bytes at ``dpi``."""
    return figure_png(sweep_figure(df, spec, x, by, estimate), dpi)


def sweep_figure(
    df: pd.DataFrame,
    spec: dict[str, Any] | None = None,
    x: str | None = None,
    by: str | None = None,
    estimate: str = "game",
) -> Any:
    """Gap reduction and retained share (CI bars), availability, fidelity at use vs x.

    One legend (the ``by`` values) for all panels, outside them; large linear x values are
    labelled 200k, 1M (:func:`qnet.plots.common.tick_label`).

    Args:
        df: store rows (:func:`qnet.sweeps.store.load_results`); failed points are ignored.
        spec: the sweep's stored spec (axes, log flags, mode); inferred when None.
        x: axis on the horizontal (default: the first swept axis).
        by: axis drawn as one line per value (default: the second swept axis, if any).
        estimate: "game" (Lemma 1 payoffs, low variance) or "queue" (queue replay) for
            the gap reduction and retained share.
    """
    import pandas as pd
    from matplotlib.ticker import FuncFormatter

    if estimate not in ESTIMATES:
        raise PlotError(f"estimate = {estimate!r} is not a valid choice: allowed 'game' or 'queue'")
    suffix = "_game" if estimate == "game" else ""
    panels = [(c + suffix if c in ("gap_reduction", "retained_share") else c, lab)
              for c, lab in PANELS]  # fmt: skip
    gap_col, share_col = panels[0][0], panels[1][0]
    ok = df[df["status"] == "ok"] if "status" in df else df
    if ok.empty:
        raise PlotError("no finished (status 'ok') points to plot")
    axes = _axes_of(ok, spec)
    if not axes:
        raise PlotError("no swept axis found in the store")
    x = x or axes[0]
    if by is None and len(axes) > 1:
        by = next(a for a in axes if a != x)
    for name, key in (("--x", x), ("--by", by)):
        if key is not None and key not in ok.columns:
            raise PlotError(f"{name} {key!r} is not a swept axis; swept: {', '.join(axes)}")
    if x == by:
        raise PlotError(f"--x and --by are the same axis {x!r}")
    others = [a for a in axes if a not in (x, by) and a in ok and ok[a].nunique() > 1]
    if others:
        shown = "; ".join(f"{a} has {sorted(ok[a].unique().tolist())}" for a in others)
        raise PlotError(f"more than two axes vary ({shown}); fix the others with --where KEY=VALUE")
    missing = [c for c, _ in panels if c not in ok.columns]
    sum_threshold = bool(missing) and "throughput_ratio" in ok.columns
    if missing and not sum_threshold:
        raise PlotError(f"the store has no column(s) {missing}: not qnet run results")
    cols = (
        SUM_THRESHOLD_COLUMNS
        if sum_threshold
        else tuple(c for c, _ in panels) + ("predicted_gap_reduction",)
    )
    table = sweep_table(ok, x, by, tuple(c for c in cols if c in ok))
    log_axes = {a["key"] for a in (spec or {}).get("axes", []) if a.get("log")}
    xs = pd.to_numeric(table[x], errors="coerce")
    if xs.notna().all() and (xs > 0).all() and xs.max() >= 20 * xs.min():
        log_axes.add(x)  # values spanning decades read better on a log axis
    also = {a["key"]: a.get("also", []) for a in (spec or {}).get("axes", [])}
    xlabel = " = ".join([x, *also.get(x, [])])
    if sum_threshold:  # a sum-threshold store: R_k against both baselines, p, Wq
        from qnet.plots.sum_threshold import sum_threshold_sweep_figure

        fig = sum_threshold_sweep_figure(table, x, by, xlabel, x in log_axes)
        name = (spec or {}).get("name") or (df["sweep"].iloc[0] if "sweep" in df else "sweep")
        fig.suptitle(f"sweep '{name}': {len(ok)} sum-threshold points", fontsize=11)
        return fig
    heat = (
        by is not None
        and (spec or {}).get("mode", "cross") == "cross"
        and len(table) == table[x].nunique() * table[by].nunique()
        and table[x].nunique() > 1
        and table[by].nunique() > 1
    )
    ncols = 3 if heat else 2
    fig = new_figure(5.0 * ncols, 8.0)
    grid = fig.add_gridspec(2, ncols)
    groups = [(None, table)] if by is None else list(table.groupby(by, sort=True))
    cmap = _colormap(len(groups))
    for i, (col, label) in enumerate(panels):
        ax = fig.add_subplot(grid[i // 2, i % 2])
        for j, (value, g) in enumerate(groups):
            g = g.sort_values(x)
            name = None if by is None else _label(value)
            ax.errorbar(g[x], g[col], yerr=g[f"{col}_ci95"], marker="o", ms=4, capsize=3,
                        color=cmap[j], label=name)  # fmt: skip
            if col == gap_col and "predicted_gap_reduction" in g:
                ax.plot(g[x], g["predicted_gap_reduction"], ls="--", lw=1, color=cmap[j])
        if col == share_col:
            ax.axhline(1.0, color="0.5", lw=0.8, ls=":")
        if col in (gap_col, share_col):
            ax.axhline(0.0, color="0.5", lw=0.8)
        if x in log_axes:
            ax.set_xscale("log")
        else:  # 200k, 400k rather than 200000, 400000 running into each other
            ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _pos: _label(v)))
        ax.set_xlabel(xlabel)
        ax.set_ylabel(label, fontsize=9)
        ax.grid(alpha=0.3)
        if i == 0:
            note = f"{ESTIMATES[estimate]}; bars: 95 % CI; dashed: analysis-core prediction"
            ax.set_title(note, fontsize=8)
            if by is not None:  # one legend for all panels, outside them (covers no point)
                handles, labels = ax.get_legend_handles_labels()
                fig.legend(handles, labels, title=" = ".join([by, *also.get(by, [])]),
                           loc="outside lower center", ncols=min(len(labels), 6),
                           fontsize=8, title_fontsize=8)  # fmt: skip
    if heat:
        for row, col in enumerate((share_col, gap_col)):
            ax = fig.add_subplot(grid[row, 2])
            pivot = table.pivot(index=by, columns=x, values=col).sort_index().sort_index(axis=1)
            values = pivot.to_numpy(float)
            lo, hi = (
                (np.nanpercentile(values, q) for q in (5, 95))
                if np.isfinite(values).any()
                else (0.0, 1.0)
            )
            im = ax.imshow(values, origin="lower", aspect="auto", cmap="viridis",
                           vmin=lo, vmax=hi if hi > lo else lo + 1e-12)  # fmt: skip
            ax.set_xticks(range(pivot.shape[1]), [_label(v) for v in pivot.columns],
                          rotation=45, fontsize=7)  # fmt: skip
            ax.set_yticks(range(pivot.shape[0]), [_label(v) for v in pivot.index], fontsize=7)
            ax.set_xlabel(xlabel)
            ax.set_ylabel(" = ".join([by, *also.get(by, [])]))
            ax.set_title(dict(panels)[col] + ", colours 5-95 % clipped", fontsize=7)
            fig.colorbar(im, ax=ax, extend="both")
    name = (spec or {}).get("name") or (df["sweep"].iloc[0] if "sweep" in df else "sweep")
    fig.suptitle(f"sweep '{name}': {len(ok)} points", fontsize=11)
    return fig
