"""``qnet plot``: gap reduction, retained share, availability, fidelity vs the swept axes."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from qnet.cli.options import Estimate, EstimateOption, JsonOption, fail, print_json
from qnet.cli.results import StoreArgument, SweepOption, WhereOption


def plot_command(
    store: StoreArgument,
    sweep: SweepOption = None,
    x: Annotated[
        str | None, typer.Option("--x", help="Axis on the horizontal (default: first axis).")
    ] = None,
    by: Annotated[
        str | None,
        typer.Option("--by", help="One line per value of this axis (default: second axis)."),
    ] = None,
    estimate: EstimateOption = Estimate.game,
    where: WhereOption = None,
    out: Annotated[
        Path | None, typer.Option("--out", help="PNG path (default: next to the store).")
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Draw a sweep's figures to a PNG (written atomically)."""
    from qnet.config import NAME_PATTERN
    from qnet.io import write_atomic
    from qnet.plots.sweep import PlotError, sweep_figure_png
    from qnet.sweeps.store import StoreError, filter_results, load_results, load_sweeps

    try:
        specs = load_sweeps(store)
        df = load_results(store, sweep)
        names = sorted(df["sweep"].unique())
        if sweep is None and len(names) > 1:
            raise PlotError(f"the store holds several sweeps {names}; choose one with --sweep")
        df = filter_results(df, list(where or []))
        _numeric_metrics(df, store, estimate)
        name = sweep or (names[0] if names else None)
        png = sweep_figure_png(df, specs.get(name), x=x, by=by, estimate=estimate.value)
    except (StoreError, PlotError) as err:
        fail(str(err))
        return
    if out is None and not NAME_PATTERN.fullmatch(str(name)):  # the name comes from the file
        fail(f"sweep name {name!r} in {store} is not a plain file name: give the PNG with --out")
    path = out if out is not None else store.with_name(f"{store.stem}-{name}.png")
    write_atomic(path, png)
    if as_json:
        print_json({"store": str(store), "sweep": name, "png": str(path)})
    else:
        typer.echo(f"plot: {path}")


def _numeric_metrics(df: object, store: Path, estimate: Estimate) -> None:
    """Refuse a store whose plotted metric columns hold text (a foreign ``--function``'s)."""
    import pandas as pd

    from qnet.plots.sweep import PANELS, PlotError

    suffix = "_game" if estimate is Estimate.game else ""
    for base, _ in PANELS:
        col = base + suffix if base in ("gap_reduction", "retained_share") else base
        for c in (col, f"{col}_ci95", "predicted_gap_reduction"):
            values = df[c] if c in df else None  # type: ignore[operator, index]
            if values is not None and (pd.to_numeric(values, errors="coerce").isna()
                                       & values.notna()).any():  # fmt: skip
                raise PlotError(f"column '{c}' of {store} holds text, not numbers: cannot plot it")


def register(app: typer.Typer) -> None:
    """Add ``qnet plot`` to the CLI."""
    app.command("plot")(plot_command)
