"""``qnet results``: list, filter and export a sweep results store."""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path
from typing import Annotated

import typer

from qnet.cli.options import Estimate, EstimateOption, JsonOption, fail, print_json

WhereOption = Annotated[
    list[str] | None,
    typer.Option(
        "--where",
        help="Keep rows with KEY OP VALUE, OP one of < <= > >= = != "
        "(e.g. --where 'link.arm_a_km<50' --where status=ok). Repeatable, all must hold.",
    ),
]
StoreArgument = Annotated[Path, typer.Argument(help="SQLite results store written by qnet sweep.")]
SweepOption = Annotated[
    str | None, typer.Option("--sweep", help="Only this sweep (a store can hold several).")
]
SHOWN = ("gap_reduction", "retained_share", "availability", "mean_fidelity_at_use")
SHORT = {
    "gap_reduction": "gap reduction [1/mu]",
    "retained_share": "retained",
    "availability": "availability",
    "mean_fidelity_at_use": "F at use",
}
SUM_THRESHOLD_SHOWN = (
    ("throughput_ratio", "R_k"),
    ("throughput_ratio_envelope", "R_k vs envelope"),
    ("splitting_probability_quantum", "p"),
    ("wait_quantum", "Wq [1/mu]"),
    ("availability", "availability"),
    ("mean_fidelity_at_use", "F at use"),
)
"""Key metrics of sum-threshold runs (``[game] kind = "sum_threshold"``)."""
ESTIMATED = ("gap_reduction", "retained_share")
"""Columns stored once per estimate: ``<name>`` (queue replay) and ``<name>_game`` (Lemma 1)."""


def shown_columns(estimate: Estimate) -> list[tuple[str, str]]:
    """(store column, table header) of the key metrics, the estimated ones named by estimate."""
    suffix = "_game" if estimate is Estimate.game else ""
    return [
        (f"{c}{suffix}", f"{SHORT[c]} ({estimate.value})") if c in ESTIMATED else (c, SHORT[c])
        for c in SHOWN
    ]


def results_command(
    store: StoreArgument,
    where: WhereOption = None,
    sweep: SweepOption = None,
    export: Annotated[
        Path | None,
        typer.Option("--export", help="Write the (filtered) rows to .csv or .parquet, atomically."),
    ] = None,
    estimate: EstimateOption = Estimate.game,
    as_json: JsonOption = False,
) -> None:
    """List the points of a results store (coordinates, status, key metrics with 95 % CI).

    The gap reduction and retained share are the ``--estimate`` one (default ``game``, as in
    ``qnet plot``); the column headers say which.
    """
    from qnet.sweeps.store import (
        StoreError,
        export_results,
        filter_results,
        load_results,
        load_sweeps,
    )

    try:
        df = filter_results(load_results(store, sweep), list(where or []))
        specs = load_sweeps(store)
        if export is not None:
            export_results(df, export)
    except StoreError as err:
        fail(str(err))
        return
    axes = [a["key"] for s in specs.values() for a in s.get("axes", [])]
    axes = [a for a in dict.fromkeys(axes) if a in df.columns]
    if "replicate" in df.columns:
        axes.append("replicate")
    if as_json:
        rows = json.loads(df.to_json(orient="records"))
        exported = str(export) if export else None
        print_json(
            {"store": str(store), "estimate": estimate.value, "rows": rows, "exported": exported}
        )
        return
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    table = Table(title=f"{store}: {len(df)} point(s)", title_justify="left")
    headers = ["sweep", "#", *(a.rsplit(".", 1)[-1] for a in axes), "status"]
    shown = shown_columns(estimate)
    if "throughput_ratio" in df.columns and "gap_reduction" not in df.columns:
        shown = list(SUM_THRESHOLD_SHOWN)
    headers += [header for _, header in shown] + ["wall s"]
    for col in headers:
        table.add_column(col, justify="left" if col in ("sweep", "status") else "right")
    for _, r in df.iterrows():
        cells = [str(r["sweep"]), str(r["point_index"])]
        cells += [f"{r[a]:g}" if isinstance(r[a], float) else str(r[a]) for a in axes]
        cells.append(str(r["status"]) if r["status"] == "ok" else f"[red]{r['status']}[/red]")
        for col, _ in shown:
            cells.append(_pm(r.get(col), r.get(f"{col}_ci95")))
        cells.append(f"{r['wall_time_s']:.1f}" if _finite(r.get("wall_time_s")) else "")
        table.add_row(*(c if c.startswith("[red]") else escape(c) for c in cells))
    console = Console(width=None if sys.stdout.isatty() else 200)
    console.print(table)
    for _, r in df[df["status"] != "ok"].iterrows():
        console.print(f"[red]point {r['point_index']}:[/red] {escape(str(r['error']))}")
    if export is not None:
        console.print(f"exported {len(df)} row(s) -> {export}")


def _finite(x: object) -> bool:
    return isinstance(x, int | float) and math.isfinite(x)


def _pm(mean: object, half: object) -> str:
    if not _finite(mean):
        return ""
    return f"{mean:.4g} ± {half:.2g}" if _finite(half) else f"{mean:.4g}"


def register(app: typer.Typer) -> None:
    """Add ``qnet results`` to the CLI."""
    app.command("results")(results_command)
