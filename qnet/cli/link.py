"""``qnet link SCENARIO.toml``: the physical layer alone, measured beside its prediction.

Runs the scenario's SeQUeNCe link (``nodes.run_link``, imported lazily so that ``qnet`` never
imports SeQUeNCe) and prints each quantity with its standard error next to the value
:mod:`qnet.physics.link` predicts.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from qnet.cli.options import (
    JsonOption,
    SeedOption,
    SetOption,
    check_range,
    fail,
    print_json,
    scenario_or_exit,
)

if TYPE_CHECKING:
    from rich.table import Table

__all__ = ["MAX_ATTEMPTS", "MAX_SIMULATED_S", "link_command", "register"]

MAX_ATTEMPTS = 1_000_000
"""Most attempts one ``qnet link`` simulates (SeQUeNCe runs every one of them)."""

MAX_SIMULATED_S = 1e6
"""Longest simulated interval or storage time [s]: SeQUeNCe's picosecond clock is an int64."""

_LABELS = {
    "success_probability": ("success probability / attempt", "{:.4f}"),
    "attempt_period_s": ("attempt period (µs)", "{:.3f}"),
    "pair_rate_hz": ("heralded pairs / s", "{:.1f}"),
    "fidelity_at_herald": ("fidelity at herald", "{:.4f}"),
    "fidelity_after_storage": ("fidelity after storage", "{:.4f}"),
}


def _table(report: object) -> Table:
    from rich import box
    from rich.table import Table

    rep = report  # nodes.link_run.LinkReport
    t = Table(
        title=f"qnet link: {rep.attempts} attempts, {rep.heralded_pairs} heralded pairs in "
        f"{rep.duration_s:g} s simulated ({rep.wall_s:.1f} s wall, {rep.formalism})",
        box=box.SIMPLE_HEAD,
        caption=f"storage time {rep.storage_time_s:g} s; ± is one standard error; "
        f"textbook Barrett-Kok p = {rep.predicted.textbook_success_probability:.4f}",
    )
    for col in ("quantity", "measured", "± SE", "predicted", "z"):
        t.add_column(col, justify="left" if col == "quantity" else "right")
    for key, (label, fmt) in _LABELS.items():
        est = getattr(rep, key)
        pred = rep.predicted_value(key)
        scale = 1e6 if key == "attempt_period_s" else 1.0
        z = est.z_score(pred)
        t.add_row(
            label,
            fmt.format(est.value * scale),
            fmt.format(est.se * scale),
            fmt.format(pred * scale),
            f"{z:+.2f}",
        )
    return t


def link_command(
    scenario_path: Annotated[
        Path, typer.Argument(help="Scenario TOML file (e.g. scenarios/link-demo.toml).")
    ],
    sets: SetOption = None,
    seed: SeedOption = None,
    json_out: JsonOption = False,
    duration_s: Annotated[
        float | None,
        typer.Option(
            "--duration-s",
            help="Simulated interval in seconds (default: --attempts attempts' worth).",
        ),
    ] = None,
    attempts: Annotated[
        int,
        typer.Option("--attempts", min=10, max=MAX_ATTEMPTS, help="Target number of attempts."),
    ] = 2000,
    storage_time_s: Annotated[
        float,
        typer.Option(
            "--storage-time-s", min=0.0, help="Storage time after the herald, in seconds."
        ),
    ] = 1e-3,
) -> None:
    """Run the SeQUeNCe link alone; report rate and fidelity beside their predictions."""
    scenario = scenario_or_exit(scenario_path, sets, seed)
    if duration_s is not None and not duration_s > 0:
        fail(f"--duration-s = {duration_s!r}: must be > 0 [s]")
    _check_length(scenario, duration_s, attempts, storage_time_s)
    from nodes.link_run import run_link

    try:
        report = run_link(
            scenario, duration_s=duration_s, attempts=attempts, storage_time_s=storage_time_s
        )
    except ValueError as err:
        fail(str(err))
        raise  # unreachable
    if json_out:
        print_json(report.to_dict())
        return
    from rich.console import Console

    Console().print(_table(report))


def _check_length(
    scenario: object, duration_s: float | None, attempts: int, storage_time_s: float
) -> None:
    """Refuse a run longer than :data:`MAX_ATTEMPTS` attempts or :data:`MAX_SIMULATED_S`."""
    from qnet.physics.link import predict

    check_range("--storage-time-s", storage_time_s, 0, MAX_SIMULATED_S)
    slots = scenario.link.memory_slots  # type: ignore[attr-defined]
    per_attempt = predict(scenario).attempt_period_s / slots  # type: ignore[arg-type]
    longest = min(MAX_SIMULATED_S, MAX_ATTEMPTS * per_attempt)
    if duration_s is not None:
        if not duration_s <= longest:
            fail(
                f"--duration-s = {duration_s:g} is out of range: allowed (0, {longest:g}] "
                f"(at most {MAX_ATTEMPTS} attempts of {per_attempt * slots:g} s on {slots} "
                f"memory slots, at most {MAX_SIMULATED_S:g} s)"
            )
    elif attempts * per_attempt > MAX_SIMULATED_S:
        fail(
            f"--attempts = {attempts} is out of range: allowed [10, "
            f"{int(MAX_SIMULATED_S / per_attempt)}] (attempts of {per_attempt * slots:g} s on "
            f"{slots} memory slots, at most {MAX_SIMULATED_S:g} s simulated)"
        )


def register(app: typer.Typer) -> None:
    """Add ``qnet link`` to the CLI."""
    app.command("link")(link_command)
