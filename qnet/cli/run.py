"""``qnet run SCENARIO.toml``: the main job, with progress, summary table, JSON and a plot."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Annotated

import typer

from qnet.cli.options import (
    JsonOption,
    OutOption,
    SeedOption,
    SetOption,
    fail,
    json_text,
    plot_memory_error,
    print_json,
    results_path,
    scenario_or_exit,
    stage_progress,
)
from qnet.io import write_atomic

__all__ = ["register"]


def _plot(output: object, path: Path) -> Path:
    """The run's figure written to ``path``: :func:`qnet.plots.run.run_figure_png`, or for
    a sum-threshold run :func:`qnet.plots.sum_threshold.sum_threshold_run_png`."""
    from qnet.runs.sum_threshold import SumThresholdOutput

    if isinstance(output, SumThresholdOutput):
        from qnet.plots.sum_threshold import sum_threshold_run_png

        return write_atomic(path, sum_threshold_run_png(output.record))
    from qnet.plots.run import run_figure_png

    return write_atomic(path, run_figure_png(output))  # type: ignore[arg-type]


def _fmt(mean: float, half: float, digits: int = 4) -> str:
    if not math.isfinite(mean):
        return "—"
    if not math.isfinite(half):
        return f"{mean:.{digits}f}"
    return f"{mean:.{digits}f} ± {half:.{digits}f}"


def _needed(r: object) -> str:
    n = r.decisions_for_target_width  # type: ignore[attr-defined]
    target = r.target_share_half_width  # type: ignore[attr-defined]
    return f"±{target:g}: {n:,} decisions" if n > 0 else ""


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
        (
            "availability",
            _fmt(r.availability, r.availability_ci95),
            f"pairs used {_fmt(r.pairs_used_share, r.pairs_used_share_ci95, 3)}",
        ),
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
            "gap reduction (game, CV)",
            _fmt(r.gap_reduction_game_cv, r.gap_reduction_game_cv_ci95),
            f"variance ÷ {r.variance_reduction_game:.2f}",
        ),
        (
            "retained share (game, CV)",
            _fmt(r.retained_share_game_cv, r.retained_share_game_cv_ci95, 3),
            _needed(r),
        ),
        ("quantum beats classical?", r.verdict, "from the paired 95 % CI"),
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


def _sum_threshold_table(r: object) -> object:
    """The table of a sum-threshold run (:mod:`qnet.runs.sum_threshold_record`)."""
    from rich.markup import escape
    from rich.table import Table

    g = r.__getattribute__
    t = Table(
        title=f"qnet run: {g('scenario')} (sum-threshold game, {g('engine')} engine, "
        f"seed {g('seed')}, W_l = {g('w_limit'):.4f}/μ)"
    )
    t.add_column("quantity")
    t.add_column("value (95 % CI)", justify="right")
    t.add_column("analysis core", justify="right")

    def row(label: str, name: str, pred: str | None = None, digits: int = 4) -> tuple:
        core = "" if pred is None else f"{g(pred):.{digits}f}"
        return (label, _fmt(g(name), g(f"{name}_ci95"), digits), core)

    k = g("power_k")
    rows = [
        ("decisions measured", f"{g('decisions')}", ""),
        (
            "C_t quantum / classical",
            f"{g('c_t_quantum'):.4f} / {g('c_t_classical'):.4f}",
            f"{g('quantum_family')} family",
        ),
        row("availability", "availability", "predicted_availability"),
        row("mean fidelity at use", "mean_fidelity_at_use"),
        row(
            "p quantum run",
            "splitting_probability_quantum",
            "predicted_splitting_probability_quantum",
        ),
        row(
            "p classical",
            "splitting_probability_classical",
            "predicted_splitting_probability_classical",
        ),
        row(
            "p classical envelope (QoS)",
            "splitting_probability_envelope",
            "predicted_splitting_probability_envelope",
        ),
        row("p sum oracle", "splitting_probability_oracle", "p_sum_oracle"),
        row("Wq quantum run [1/μ]", "wait_quantum", "predicted_wait_quantum"),
        row("Wq classical [1/μ]", "wait_classical", "predicted_wait_classical"),
        row("Wq classical envelope [1/μ]", "wait_envelope", "predicted_wait_envelope"),
        row("Wq sum oracle [1/μ]", "wait_oracle", "predicted_wait_oracle"),
        ("quantum run meets W_l?", g("meets_limit"), "from the 95 % CI of Wq"),
        row(
            "win probability quantum",
            "win_probability_quantum",
            "predicted_win_probability_quantum",
        ),
        row(
            "win probability classical",
            "win_probability_classical",
            "predicted_win_probability_classical",
        ),
        row(
            f"throughput T=t^{k:g} quantum",
            "throughput_power_quantum",
            "predicted_throughput_power_quantum",
        ),
        row(
            f"throughput T=t^{k:g} classical",
            "throughput_power_classical",
            "predicted_throughput_power_classical",
        ),
        row(
            "throughput warm-up quantum",
            "throughput_warmup_quantum",
            "predicted_throughput_warmup_quantum",
        ),
        row(
            "throughput warm-up classical",
            "throughput_warmup_classical",
            "predicted_throughput_warmup_classical",
        ),
        row(f"R_{k:g} (paired)", "throughput_ratio", "predicted_throughput_ratio"),
        row("R warm-up (paired)", "throughput_ratio_warmup", "predicted_throughput_ratio_warmup"),
        (
            "quantum beats classical?",
            g("verdict"),
            f"R_{k:g} CI vs 1; ideal {g('ideal_throughput_ratio'):.4f}",
        ),
        row(
            f"R_{k:g} vs envelope (paired)",
            "throughput_ratio_envelope",
            "predicted_throughput_ratio_envelope",
        ),
        row(
            "R warm-up vs envelope",
            "throughput_ratio_warmup_envelope",
            "predicted_throughput_ratio_warmup_envelope",
        ),
        (
            "quantum beats the envelope?",
            g("verdict_envelope"),
            f"R_{k:g} CI vs 1; ideal {g('ideal_throughput_ratio_envelope'):.4f}",
        ),
        ("placement", g("placement"), f"planned availability {g('planned_availability'):.3f}"),
        ("wall time [s]", f"{g('wall_time_s'):.1f}", ""),
    ]
    for cells in rows:
        t.add_row(*(escape(cell) for cell in cells))
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
    target_width: Annotated[
        float,
        typer.Option(
            "--target-width",
            help="Retained-share 95 % half-width to size the run for (decisions_for_target_width).",
        ),
    ] = 0.1,
    replications: Annotated[
        int,
        typer.Option(
            "--replications",
            help="Split the run into R independent replications (own seeds spawned from "
            "the root seed, own warm-up), combined into one record.",
        ),
    ] = 1,
    workers: Annotated[
        int, typer.Option("--workers", help="Local worker processes for the replications.")
    ] = 1,
    scheduler: Annotated[
        str | None,
        typer.Option("--scheduler", help="Dask scheduler ADDRESS, or 'local' for a LocalCluster."),
    ] = None,
) -> None:
    """Run a scenario end to end: real pairs spent on routing, queue replay, gaps with CIs."""
    from rich.console import Console

    from qnet.config import ScenarioError
    from qnet.runs.runner import simulate

    if not target_width > 0:  # also NaN
        fail(f"--target-width = {target_width}: allowed range is (0, inf)")
        return
    if replications < 1:  # checked before dispatch: 0 would otherwise mean one plain run
        fail(f"--replications = {replications}: allowed range is [1, inf)")
        return
    scenario = scenario_or_exit(scenario_path, sets, seed)
    routing = scenario.game.kind == "routing"  # only the routing run streams its decisions
    if replications > 1 or workers != 1 or scheduler is not None:
        # a sum-threshold replication keeps its decisions: N local workers hold N at once
        held = -(-scenario.run.decisions // max(replications, 1)) * min(workers, replications)
        too_big = None if routing or scheduler else plot_memory_error(held, False)
        if too_big is not None:
            fail(too_big)
            return
        _run_replicated(scenario, replications, workers, scheduler, target_width, as_json, out)
        return
    too_big = plot_memory_error(scenario.run.decisions, routing) if plot or not routing else None
    if too_big is not None:
        fail(too_big)
        return
    try:
        with stage_progress("building strategy profile", disable=as_json) as progress:
            output = simulate(scenario, progress, target_half_width=target_width, keep_series=plot)
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
    out_console.print(_table(rec) if routing else _sum_threshold_table(rec))
    out_console.print(
        f"results: {json_path}" + (f"\nplot:    {summary['plot_png']}" if plot else "")
    )


def _run_replicated(
    scenario: object,
    replications: int,
    workers: int,
    scheduler: str | None,
    target_width: float,
    as_json: bool,
    out: Path | None,
) -> None:
    """``--replications``/``--workers``/``--scheduler``: one record from R replications
    (:mod:`qnet.runs.replicate`) on a process pool or Dask; no plot (no single log)."""
    from contextlib import nullcontext

    from rich.console import Console

    from qnet.config import ScenarioError
    from qnet.runs.replicate import run_replicated
    from qnet.sweeps.executors import _pool, dask_executor
    from qnet.sweeps.spec import SweepError

    if not 1 <= workers <= 256:
        fail(f"--workers = {workers}: allowed range is [1, 256]")
        return
    if workers > replications:
        fail(
            f"--workers = {workers}: allowed range is [1, --replications = {replications}] "
            "(workers run whole replications; the record depends on R, never on N)"
        )
        return
    try:
        if scheduler is not None:
            ctx = dask_executor(scheduler, workers if scheduler == "local" else None)
        elif workers > 1:
            ctx = _pool(min(workers, replications))
        else:
            ctx = nullcontext(None)
        with ctx as executor:
            rec = run_replicated(
                scenario,  # type: ignore[arg-type]
                replications,
                executor,
                target_half_width=target_width,
            )
    except (ScenarioError, SweepError, ValueError) as err:
        fail(str(err))
        return
    stem = f"{rec.scenario}-seed{rec.seed}-r{rec.replications}-{rec.scenario_digest}"
    summary = rec.summary()
    json_path = write_atomic(results_path(out, f"{stem}.json"), json_text(summary))
    summary["results_json"] = str(json_path)
    if as_json:
        print_json(summary)
        return
    console = Console()
    routing = scenario.game.kind == "routing"  # type: ignore[attr-defined]
    console.print(_table(rec) if routing else _sum_threshold_table(rec))
    console.print(f"results: {json_path} ({rec.replications} replications; no plot)")


def register(app: typer.Typer) -> None:
    """Add ``qnet run`` to the CLI."""
    app.command("run")(run_command)
