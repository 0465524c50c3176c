"""``qnet show``: print the resolved scenario (defaults included) and draw its topology."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from qnet.cli_options import JsonOption, SetOption, print_json, scenario_or_exit


def show_command(
    scenario_path: Annotated[Path, typer.Argument(help="Scenario TOML file.")],
    sets: SetOption = None,
    as_json: JsonOption = False,
    png: Annotated[
        Path | None,
        typer.Option("--png", help="Topology drawing (default: results/<name>-topology.png)."),
    ] = None,
    draw: Annotated[bool, typer.Option("--draw/--no-draw", help="Draw the topology PNG.")] = True,
) -> None:
    """Print every value of the resolved scenario and draw its topology to a PNG."""
    from qnet.config import reference_rows
    from qnet.io import write_atomic
    from qnet.plots import topology_png

    scenario = scenario_or_exit(scenario_path, sets)
    resolved = scenario.to_dict()
    out: Path | None = None
    if draw:
        out = png if png is not None else Path("results") / f"{scenario.name}-topology.png"
        write_atomic(out, topology_png(scenario))
    if as_json:
        print_json({"scenario": resolved, "digest": scenario.digest(), "topology_png": str(out)})
        return
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    explicit = _explicit_keys(scenario_path, sets)
    table = Table(title=f"{scenario.name} (digest {scenario.digest()})", title_justify="left")
    for col in ("key", "value", "allowed", "meaning"):
        table.add_column(col)
    for key, _default, allowed, doc in reference_rows():
        value = _get(resolved, key)
        shown = "(none)" if value is None else repr(value)
        mark = "" if key in explicit else " [dim](default)[/dim]"
        table.add_row(key, escape(shown) + mark, escape(allowed), escape(doc))
    console = Console()
    console.print(table)
    if out is not None:
        console.print(f"topology: {out}")


def _get(data: dict[str, Any], key: str) -> Any:
    for part in key.split("."):
        data = data[part]
    return data


def _explicit_keys(path: Path, sets: list[str] | None) -> set[str]:
    """Dotted keys the file or --set gave explicitly (the rest are defaults)."""
    import tomllib

    from qnet.config import parse_override

    def walk(d: dict[str, Any], prefix: str = "") -> set[str]:
        keys: set[str] = set()
        for k, v in d.items():
            keys |= walk(v, f"{prefix}{k}.") if isinstance(v, dict) else {prefix + k}
        return keys

    keys = walk(tomllib.loads(path.read_text()))
    return keys | {parse_override(s)[0] for s in sets or []}


def register(app: typer.Typer) -> None:
    """Add ``qnet show`` to the CLI."""
    app.command("show")(show_command)
