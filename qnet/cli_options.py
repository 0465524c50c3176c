"""Shared typer option types and helpers for every command that takes a scenario."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from qnet.config import Scenario, ScenarioError, load_scenario
from qnet.io import write_atomic as write_atomic  # re-exported for command modules

SetOption = Annotated[
    list[str] | None,
    typer.Option(
        "--set",
        help="Override one scenario value, KEY=VALUE with a dotted key as in the file "
        "(e.g. --set link.arm_a_km=25). Repeatable.",
    ),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print one JSON object and nothing else.")]
SeedOption = Annotated[int | None, typer.Option("--seed", help="Root random seed.", min=0)]
OutOption = Annotated[
    Path | None, typer.Option("--out", help="Directory for result files (default: results/).")
]


def fail(message: str) -> None:
    """Print one clear error line and exit with status 2."""
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(2)


def scenario_or_exit(path: Path, sets: list[str] | None, seed: int | None = None) -> Scenario:
    """Load and validate a scenario, turning :class:`ScenarioError` into a clean exit."""
    overrides = list(sets or [])
    if seed is not None:
        overrides.append(f"seed={seed}")
    try:
        return load_scenario(path, overrides)
    except ScenarioError as err:
        fail(str(err))
        raise  # unreachable; keeps type checkers happy


def json_text(obj: Any) -> str:
    """Strict JSON text of ``obj`` (NaN/inf become null, numpy values plain), newline-ended."""
    return json.dumps(_jsonable(obj), indent=2, allow_nan=False) + "\n"


def print_json(obj: Any) -> None:
    """Print one JSON object (NaN/inf become null) to stdout."""
    sys.stdout.write(json_text(obj))


def _jsonable(obj: Any) -> Any:
    import math

    import numpy as np

    if isinstance(obj, dict):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return _jsonable(obj.tolist())
    if isinstance(obj, np.generic):
        return _jsonable(obj.item())
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    return obj
