"""``qnet show``: print the resolved scenario (defaults included) and draw its topology."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from qnet.cli.options import JsonOption, SetOption, print_json, scenario_or_exit


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
    from qnet.plots.topology import topology_png
    from qnet.topology import balancer_pairs

    scenario = scenario_or_exit(scenario_path, sets)
    resolved = scenario.to_dict()
    out: Path | None = None
    if draw:
        out = png if png is not None else Path("results") / f"{scenario.name}-topology.png"
        write_atomic(out, topology_png(scenario))
    from qnet.planning.predict import MEMORY_LIFETIME_KEYS, derived_link

    derived = derived_link(scenario)
    links = balancer_pairs(scenario)
    if as_json:
        print_json(
            {
                "scenario": resolved,
                "digest": scenario.digest(),
                "topology_png": str(out),
                "links": 1 if links is None else links,
                "derived": derived,
                "memory_lifetime_keys": MEMORY_LIFETIME_KEYS,
            }
        )
        return
    from rich import box
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table
    from rich.text import Text

    file_keys, set_keys = _explicit_keys(scenario_path, sets)
    rows = reference_rows()
    table = Table(
        title=f"{scenario.name} (digest {scenario.digest()})",
        title_justify="left",
        box=box.SIMPLE_HEAD,
        caption="source: file (the scenario file), --set (command line) or default; "
        "the meaning of each key is the dim line under it",
        caption_justify="left",
    )
    # keys are never cut: the key column is as wide as the longest key and the meaning goes
    # on its own (dim) line under the key, wrapping there; value and allowed fold
    console = Console()
    key_w = max(len(r[0]) for r in rows)
    free = console.width - key_w - 7 - 11  # 11: cell padding and column gaps
    allowed_w = max(10, min(25, max(len(r[2]) for r in rows), free // 2))
    value_w = max(10, free - allowed_w)
    table.add_column("key", width=key_w, overflow="fold")
    table.add_column("value", width=value_w, overflow="fold")
    table.add_column("source", width=7, no_wrap=True)
    table.add_column("allowed", width=allowed_w, overflow="fold")
    for key, _default, allowed, doc in rows:
        value = _get(resolved, key)
        source = "--set" if key in set_keys else "file" if key in file_keys else "default"
        style = "bold" if source == "--set" else "dim" if source == "default" else ""
        table.add_row(
            escape(key), escape(_shown(value)), f"[{style}]{source}[/]" if style else source,
            escape(allowed),
        )  # fmt: skip
        table.add_row(Text(doc, style="dim"))
    console.print(table)
    _print_derived(console, derived)
    if links is not None:
        n = scenario.load_balancing.balancers
        console.print(f"topology: {links} identical links, one per balancer pair (N = {n})")
    if out is not None:
        console.print(f"topology: {out}")


_DERIVED = (
    ("success_probability", "heralding probability per attempt", ".3g"),
    ("attempt_period_s", "mean attempt period [s]", ".4g"),
    ("pair_rate_hz", "pair rate, all slots generating [1/s]", ".4g"),
    ("decision_rate_hz", "decision rate lambda [1/s]", ".4g"),
    ("availability", "decisions that find a pair (analytic link)", ".3f"),
    ("herald_delay_s", "herald delay to the farther router [s]", ".3g"),
    ("fidelity_at_herald", "fidelity at herald", ".4f"),
    ("mean_storage_age_s", "typical storage age, herald to use [s]", ".4g"),
    ("fidelity_at_typical_age", "mean fidelity at use (before readout)", ".4f"),
)


def _print_derived(console: Any, derived: dict[str, float]) -> None:
    """Derived link quantities and what the "memory lifetime" keys mean."""
    from rich import box
    from rich.markup import escape
    from rich.table import Table

    from qnet.planning.predict import MEMORY_LIFETIME_KEYS

    t = Table(
        title="derived link quantities (qnet.physics.link, analytic link at the decision rate)",
        title_justify="left",
        box=box.SIMPLE_HEAD,
    )
    t.add_column("quantity")
    t.add_column("value", justify="right")
    for key, label, spec in _DERIVED:
        v = derived[key]
        t.add_row(escape(label), "—" if v != v else format(v, spec))
    console.print(t)
    console.print("memory lifetime: which key is which")
    for keys, meaning in MEMORY_LIFETIME_KEYS.items():
        console.print(f"  {escape(keys)}: {escape(meaning)}")


def _shown(value: Any) -> str:
    """A value as the user would write it; text is shown as text (no quotes, line breaks and
    runs of spaces folded to one space, so the cell wraps)."""
    if value is None:
        return "(none)"
    return " ".join(value.split()) if isinstance(value, str) else repr(value)


def _get(data: dict[str, Any], key: str) -> Any:
    for part in key.split("."):
        data = data[part]
    return data


def _explicit_keys(path: Path, sets: list[str] | None) -> tuple[set[str], set[str]]:
    """Dotted keys the file gave, and those --set gave (the rest are defaults)."""
    from qnet.config import parse_override, read_toml

    def walk(d: dict[str, Any], prefix: str = "") -> set[str]:
        keys: set[str] = set()
        for k, v in d.items():
            keys |= walk(v, f"{prefix}{k}.") if isinstance(v, dict) else {prefix + k}
        return keys

    return walk(read_toml(path)), {parse_override(s)[0] for s in sets or []}


def register(app: typer.Typer) -> None:
    """Add ``qnet show`` to the CLI."""
    app.command("show")(show_command)
