"""``qnet run SCENARIO.toml``: the main job, with progress, summary table, JSON and a plot."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Annotated

import numpy as np
import typer

from qnet.cli.options import (
    JsonOption,
    OutOption,
    SeedOption,
    SetOption,
    decisions_memory_error,
    fail,
    json_text,
    print_json,
    results_path,
    scenario_or_exit,
    stage_progress,
)
from qnet.io import write_atomic

__all__ = ["register", "running_estimate"]


def running_estimate(
    series: np.ndarray, points: int = 60, batches: int = 20
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Cumulative mean of ``series`` at ``points`` checkpoints with batch-means 95 % half-widths."""
    from qnet.estimators import batch_means

    n = len(series)
    start = max(batches * 10, n // points)
    ends = np.unique(np.linspace(start, n, points).astype(int))
    means, halves = [], []
    for end in ends:
        e = batch_means(series[:end], batches)
        means.append(e.mean)
        halves.append(e.ci95)
    return ends, np.array(means), np.array(halves)


def _plot(output: object, path: Path) -> Path:
    """Running gap-reduction estimates with CI bands, fidelity at use, waits per policy."""
    from matplotlib.ticker import EngFormatter

    from qnet.plots.common import figure_png, new_figure

    rec = output.record  # type: ignore[attr-defined]
    fig = new_figure(15, 4.2)
    axes = fig.subplots(1, 3)
    ax = axes[0]
    for series, label, color, batches in (
        (output.reduction_game_series, "game payoff (Lemma 1)", "tab:blue", rec.batches),  # type: ignore[attr-defined]
        (output.reduction_series, "queue replay", "tab:orange", rec.queue_batches),  # type: ignore[attr-defined]
    ):
        x, m, h = running_estimate(series, batches=batches)
        ax.plot(x, m, color=color, label=label)
        ax.fill_between(x, m - h, m + h, color=color, alpha=0.2)
    ax.axhline(rec.ideal_gap_reduction, color="k", ls="--", label="ideal (analysis core)")
    ax.axhline(rec.predicted_gap_reduction, color="tab:green", ls=":", label="predicted")
    ax.xaxis.set_major_formatter(EngFormatter(sep=""))  # 200k, not 200000 (labels collide)
    ax.set_xlabel("decisions measured")
    ax.set_ylabel("gap reduction ΔWq_cl − ΔWq_qu  [1/μ]")
    ax.set_title(f"{rec.scenario}: gap reduction, 95 % CI")
    ax.legend(fontsize=8)

    ax = axes[1]
    log = output.log  # type: ignore[attr-defined]
    measured = slice(rec.warmup_decisions, None)  # the decisions the record's estimates use
    fid = log.pair_fidelity[measured][log.used_pair[measured]]
    if len(fid):
        lo, hi = float(np.nanmin(fid)), float(np.nanmax(fid))
        pad = max(0.005, 0.02 * (hi - lo))
        ax.hist(fid, bins=40, range=(lo - pad, hi + pad), color="tab:purple")
        ax.ticklabel_format(axis="x", useOffset=False)
    ax.set_xlabel("fidelity at use")
    ax.set_ylabel("decisions")
    ax.set_title(
        f"availability {rec.availability:.3f} ± {rec.availability_ci95:.3f}, "
        f"mean F {rec.mean_fidelity_at_use:.4f}"
    )

    ax = axes[2]
    names = ["oracle", "quantum", "classical"]
    vals = [getattr(rec, f"wait_{k}") for k in names]
    errs = [getattr(rec, f"wait_{k}_ci95") for k in names]
    ax.bar(names, vals, yerr=errs, color=["0.5", "tab:blue", "tab:red"], capsize=6)
    ax.set_ylabel("mean customer wait Wq [1/μ]")
    ax.set_title(
        f"run p = {rec.splitting_probability:.3f}; baselines at p = "
        f"{rec.comparison_splitting_probability:.3f}"
    )
    lo = min(v - e for v, e in zip(vals, errs, strict=True))
    ax.set_ylim(bottom=max(0.0, lo - 0.5))
    return write_atomic(path, figure_png(fig, 110))


def _fmt(mean: float, half: float, digits: int = 4) -> str:
    if not math.isfinite(mean):
        return "—"
    if not math.isfinite(half):
        return f"{mean:.{digits}f}"
    return f"{mean:.{digits}f} ± {half:.{digits}f}"


def _table(rec: object) -> object:
    from rich.markup import escape
    from rich.table import Table

    r = rec
    t = Table(title=f"qnet run: {r.scenario} ({r.engine} engine, seed {r.seed})")  # type: ignore[attr-defined]
    t.add_column("quantity")
    t.add_column("value (95 % CI)", justify="right")
    t.add_column("analysis core", justify="right")
    rows = [
        ("decisions measured", f"{r.decisions}", ""),
        ("target p", f"{r.target_splitting_probability:g}", f"{r.strategy_kind} plan"),
        ("availability", _fmt(r.availability, r.availability_ci95), ""),
        ("mean fidelity at use", _fmt(r.mean_fidelity_at_use, r.mean_fidelity_at_use_ci95), ""),
        (
            "splitting probability p",
            _fmt(r.splitting_probability, r.splitting_probability_ci95),
            f"{r.comparison_splitting_probability:.4f} expected",
        ),
        ("Wq quantum run [1/μ]", _fmt(r.wait_quantum, r.wait_quantum_ci95), ""),
        ("Wq oracle [1/μ]", _fmt(r.wait_oracle, r.wait_oracle_ci95), ""),
        ("Wq classical [1/μ]", _fmt(r.wait_classical, r.wait_classical_ci95), ""),
        ("gap quantum (queue)", _fmt(r.gap_quantum, r.gap_quantum_ci95), ""),
        ("gap classical (queue)", _fmt(r.gap_classical, r.gap_classical_ci95), ""),
        (
            "gap reduction (queue)",
            _fmt(r.gap_reduction, r.gap_reduction_ci95),
            f"{r.ideal_gap_reduction:.4f} ideal",
        ),
        (
            "gap reduction (game, Lemma 1)",
            _fmt(r.gap_reduction_game, r.gap_reduction_game_ci95),
            f"{r.predicted_gap_reduction:.4f} predicted",
        ),
        (
            "retained share (game)",
            _fmt(r.retained_share_game, r.retained_share_game_ci95, 3),
            "" if math.isfinite(r.retained_share_game) else "undefined: no ideal reduction at p",
        ),
        (
            "baseline throughput",
            _fmt(r.baseline_throughput, r.baseline_throughput_ci95),
            f"{r.predicted_baseline_throughput:.4f} (eq. 10 at p)",
        ),
        ("wall time [s]", f"{r.wall_time_s:.1f}", ""),
    ]
    for row in rows:
        t.add_row(*(escape(cell) for cell in row))
    return t


def run_command(
    scenario_path: Annotated[
        Path, typer.Argument(help="Scenario TOML file (e.g. scenarios/paper-ideal.toml).")
    ],
    sets: SetOption = None,
    seed: SeedOption = None,
    as_json: JsonOption = False,
    out: OutOption = None,
    plot: Annotated[bool, typer.Option("--plot/--no-plot", help="Write the PNG plot.")] = True,
) -> None:
    """Run a scenario end to end: real pairs spent on routing, queue replay, gaps with CIs."""
    from rich.console import Console

    from qnet.config import ScenarioError
    from qnet.runs.runner import simulate

    scenario = scenario_or_exit(scenario_path, sets, seed)
    too_big = decisions_memory_error(scenario.run.decisions)
    if too_big is not None:
        fail(too_big)
    try:
        with stage_progress("building strategy profile", disable=as_json) as progress:
            output = simulate(scenario, progress)
    except (ScenarioError, ValueError) as err:
        fail(str(err))
        return
    rec = output.record
    stem = f"{rec.scenario}-seed{rec.seed}-{rec.scenario_digest}"
    summary = rec.summary()
    json_path = write_atomic(results_path(out, f"{stem}.json"), json_text(summary))
    summary["results_json"] = str(json_path)
    if plot:
        summary["plot_png"] = str(_plot(output, results_path(out, f"{stem}.png")))
    if as_json:
        print_json(summary)
        return
    out_console = Console()
    out_console.print(_table(rec))
    out_console.print(
        f"results: {json_path}" + (f"\nplot:    {summary['plot_png']}" if plot else "")
    )


def register(app: typer.Typer) -> None:
    """Add ``qnet run`` to the CLI."""
    app.command("run")(run_command)
