"""``qnet sweep``: run every point of a sweep file into an SQLite store, in parallel."""

from __future__ import annotations

import os
from contextlib import nullcontext
from pathlib import Path
from typing import Annotated

import typer

from qnet.cli.options import (
    JsonOption,
    check_range,
    fail,
    print_json,
)


def sweep_command(
    sweep_path: Annotated[Path, typer.Argument(help="Sweep TOML file (see scenarios/sweeps/).")],
    store: Annotated[
        Path | None,
        typer.Option("--store", help="SQLite results store (default: results/<sweep>.sqlite)."),
    ] = None,
    workers: Annotated[
        int | None,
        typer.Option("--workers", min=1, help="Local worker processes (default: every core)."),
    ] = None,
    scheduler: Annotated[
        str | None,
        typer.Option(
            "--scheduler",
            help="Run on a Dask cluster: its scheduler ADDRESS (tcp://host:8786), or "
            "'local' to start a LocalCluster of --workers processes.",
        ),
    ] = None,
    connect_timeout: Annotated[
        float,
        typer.Option(
            "--connect-timeout",
            help="Seconds to wait for a --scheduler ADDRESS before giving up (> 0).",
        ),
    ] = 10.0,
    retry_failed: Annotated[
        bool,
        typer.Option("--retry-failed/--keep-failed", help="Rerun points that failed before."),
    ] = True,
    function: Annotated[
        str,
        typer.Option(
            "--function",
            help="Advanced: 'module:function' run per point, f(Scenario) -> record "
            "(default: the main job, qnet.runs.runner:run_scenario).",
        ),
    ] = "qnet.runs.runner:run_scenario",
    as_json: JsonOption = False,
) -> None:
    """Run a sweep: every point seeded from the sweep seed and its coordinates, resumable."""
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    from qnet.sweeps.executors import PointOutcome, dask_executor, run_sweep
    from qnet.sweeps.spec import SweepError, load_sweep
    from qnet.sweeps.store import ResultStore, StoreError

    try:
        sweep = load_sweep(sweep_path)
        store = store if store is not None else Path("results") / f"{sweep.name}.sqlite"
        ResultStore(store).close()  # a bad --store fails here, before any worker starts
    except (SweepError, StoreError) as err:
        fail(str(err))
        return
    check_range("--connect-timeout", connect_timeout, 0, open_low=True)
    console = Console(stderr=True)
    n_workers = workers or os.cpu_count() or 1
    where = f"Dask {scheduler}" if scheduler else f"{n_workers} local process(es)"
    executor_cm = (
        dask_executor(scheduler, workers, connect_timeout) if scheduler else nullcontext(None)
    )
    try:
        with (
            Progress(
                TextColumn("[bold]{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn("[red]{task.fields[failed]} failed"),
                TimeElapsedColumn(),
                TextColumn("left"),
                TimeRemainingColumn(),
                console=console,
                disable=as_json,
            ) as bar,
            executor_cm as executor,
        ):
            if not as_json:
                console.print(
                    f"{sweep.name}: {len(sweep.coordinates())} points on {where} -> {store}"
                )
            task = bar.add_task("points", total=None, failed=0)

            def progress(outcome: PointOutcome | None, done: int, failed: int, total: int) -> None:
                bar.update(task, total=total, completed=done + failed, failed=failed)
                if outcome is not None and outcome.status == "failed" and not as_json:
                    coords = ", ".join(f"{k}={v!r}" for k, v in outcome.task.coords.items())
                    console.print(f"[red]point {outcome.task.index} ({coords}) failed:[/red] "
                                  f"{outcome.error.split(' | ')[0]}")  # fmt: skip

            summary = run_sweep(
                sweep,
                store,
                executor=executor,
                workers=workers,
                progress=progress,
                function=function,
                retry_failed=retry_failed,
            )
    except (SweepError, StoreError) as err:  # e.g. an unreachable --scheduler, a busy store
        fail(str(err))
        return
    result = {
        "sweep": sweep.name,
        "store": str(store),
        "points": summary.total,
        "skipped": summary.skipped,
        "done": summary.done,
        "failed": summary.failed,
        "wall_time_s": summary.wall_time_s,
        "executor": where,
    }
    if as_json:
        print_json(result)
    else:
        Console().print(
            f"{sweep.name}: {summary.total} points, {summary.skipped} already in the store, "
            f"{summary.done} done, {summary.failed} failed in {summary.wall_time_s:.1f} s "
            f"-> {store}"
        )
    if summary.failed:
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    """Add ``qnet sweep`` to the CLI."""
    app.command("sweep")(sweep_command)
