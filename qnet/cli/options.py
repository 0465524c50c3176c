"""Shared typer option types and helpers of the ``qnet`` commands.

Scenario commands share ``--set``/``--seed``/``--json``/``--out`` and
:func:`scenario_or_exit`; the analysis-core commands share the queue and optimizer options,
:func:`option_message` and :func:`settings_digest`; long commands share
:func:`stage_progress` and write through :func:`results_path` and
:func:`qnet.io.write_atomic`. Every refused input ends as one ``error:`` line with exit
status 2 (:func:`check_range`, :class:`ErrorLineGroup`).
"""

from __future__ import annotations

import hashlib
import json
import math
import re
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from typer.core import TyperGroup

from qnet.config import Scenario, ScenarioError, load_scenario

if TYPE_CHECKING:
    from rich.console import Console

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


class Certificate(StrEnum):
    """Classical certificate choices."""

    tight = "tight"
    paper = "paper"


class Estimate(StrEnum):
    """Gap-reduction estimators stored per sweep point (``qnet results`` / ``qnet plot``)."""

    game = "game"
    queue = "queue"


EstimateOption = Annotated[
    Estimate,
    typer.Option(
        "--estimate",
        help="Gap-reduction estimate: 'game' (per-decision payoffs, Lemma 1, low variance; "
        "what qnet plot and the README's sweep findings use) or 'queue' (queue replay).",
    ),
]


# Analysis-core options of qnet frontier / qnet thresholds (each command sets the default).
LamOption = Annotated[float, typer.Option("--lam", help="Customer-pair arrival rate λ (> 0).")]
MuOption = Annotated[float, typer.Option("--mu", help="Service rate μ (> 0); ρ = λ/μ < 1.")]
AlphaOption = Annotated[float, typer.Option("--alpha", help="Warm-up rate α (> 0), eq. 7.")]
PhiMaxOption = Annotated[
    float, typer.Option("--phi-max", help="Steady-state productivity φmax (> 0).")
]
DegreeOption = Annotated[
    int, typer.Option("--degree", help="Polynomial degree of the measurement angles (≥ 0).")
]
QuadratureOption = Annotated[
    int, typer.Option("--quadrature-points", help="Gauss–Laguerre points (2–400).")
]
RestartsOption = Annotated[
    int, typer.Option("--restarts", help="Random SLSQP starts at each anchor p (≥ 1).")
]
RestartSeedOption = Annotated[int, typer.Option("--seed", help="Root seed of the restarts (≥ 0).")]
CertificateOption = Annotated[
    Certificate,
    typer.Option("--certificate", help="Classical certificate: tight (sound) or paper."),
]
EpsilonOption = Annotated[
    float,
    typer.Option("--epsilon", help="paper certificate: θ_A grid starts at θ_min + ε (> 0)."),
]
PStartOption = Annotated[float, typer.Option("--p-start", help="First p of the grid.")]
PStopOption = Annotated[float, typer.Option("--p-stop", help="Last p of the grid.")]
PStepOption = Annotated[float, typer.Option("--p-step", help="Grid step (> 0).")]

ANALYSIS_OPTION_NAMES = {
    "lam": "--lam",
    "mu": "--mu",
    "alpha": "--alpha",
    "phi_max": "--phi-max",
    "rho": "--lam/--mu",
    "degree": "--degree",
    "quadrature_points": "--quadrature-points",
    "restarts": "--restarts",
    "seed": "--seed",
    "anchor_spacing": "--anchor-spacing",
    "p_start": "--p-start",
    "p_stop": "--p-stop",
    "p_step": "--p-step",
    "p grid": "--p/--p-start/--p-stop",
    "epsilon": "--epsilon",
}
"""Library parameter name -> the command-line option that sets it (see :func:`option_message`)."""


def fail(message: str) -> None:
    """Print one clear error line and exit with status 2."""
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(2)


# typer >= 0.24 vendors click as typer._click; its usage-error base class, found without
# naming either module: BadParameter is a UsageError in every click/typer version.
UsageError: type[Exception] = next(
    c for c in typer.BadParameter.__mro__ if c.__name__ == "UsageError"
)


def _usage_line(err: Any) -> str:
    """Click's usage error as one line, with a pointer to the command's ``--help``."""
    message = " ".join(err.format_message().split()).replace("Value error, ", "")
    path = err.ctx.command_path if err.ctx is not None else "qnet"
    return f"{message} (see '{path} --help')"


@contextmanager
def error_lines() -> Iterator[None]:
    """Turn usage errors and unwritable output files into one ``error:`` line, exit status 2.

    Used by :class:`ErrorLineGroup` around every command, so an unwritable ``--out``,
    ``--png`` or ``--export`` path (:class:`qnet.io.OutputError`, raised by
    :func:`qnet.io.write_atomic`) never shows a traceback.
    """
    from qnet.io import OutputError

    try:
        yield
    except UsageError as err:
        if type(err).__name__ == "NoArgsIsHelpError":  # `qnet` alone prints the help
            raise
        fail(_usage_line(err))
    except OutputError as err:
        fail(str(err))


class ErrorLineGroup(TyperGroup):
    """The ``qnet`` command group: every command runs inside :func:`error_lines`."""

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        with error_lines():
            return super().parse_args(ctx, args)
        raise AssertionError("unreachable")  # pragma: no cover

    def invoke(self, ctx: Any) -> Any:
        with error_lines():
            return super().invoke(ctx)
        raise AssertionError("unreachable")  # pragma: no cover


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


def check_epsilon(certificate: Certificate, epsilon: float) -> None:
    """Refuse a non-finite or non-positive ``--epsilon`` for the paper certificate."""
    if certificate is Certificate.paper and not (math.isfinite(epsilon) and epsilon > 0):
        fail(f"--epsilon must be a finite number > 0, got {epsilon!r}")


def _interval(low: float | None, high: float | None, open_low: bool, open_high: bool) -> str:
    if high is None:
        return f"{'>' if open_low else '>='} {low:g}"
    if low is None:
        return f"{'<' if open_high else '<='} {high:g}"
    return f"{'(' if open_low else '['}{low:g}, {high:g}{')' if open_high else ']'}"


def check_range(
    option: str,
    value: float,
    low: float | None = None,
    high: float | None = None,
    *,
    open_low: bool = False,
    open_high: bool = False,
) -> None:
    """Refuse a value outside the interval (``--p = 1.5 is out of range: allowed (0, 0.5)``)."""
    inside = math.isfinite(value)
    if inside and low is not None:
        inside = value > low if open_low else value >= low
    if inside and high is not None:
        inside = value < high if open_high else value <= high
    if not inside:
        allowed = _interval(low, high, open_low, open_high)
        fail(f"{option} = {value:g} is out of range: allowed {allowed}")


def check_quantum_options(
    p_values: list[float] | None, degree: int, quadrature_points: int, restarts: int
) -> None:
    """Range checks shared by ``qnet frontier`` and ``qnet thresholds``, before any work."""
    for p in p_values or []:
        check_range("--p", p, 0.0, 0.5, open_low=True, open_high=True)
    check_range("--degree", degree, 0)
    check_range("--quadrature-points", quadrature_points, 2, 400)
    check_range("--restarts", restarts, 1)


def option_message(message: str, names: dict[str, str] = ANALYSIS_OPTION_NAMES) -> str:
    """Prefix a library error with the command-line option it concerns (numpy reprs made plain)."""
    message = re.sub(r"np\.(?:float|int)\d+\(([^()]*)\)", r"\1", message)
    for name, option in names.items():
        if message.startswith(name + " ") or message.startswith(f"{name} ="):
            return f"{option}: {message}"
    return message


@contextmanager
def stage_progress(first_stage: str, disable: bool) -> Iterator[Callable[[str, float], None]]:
    """A transient progress bar on stderr; yields ``progress(stage, fraction)`` that moves it."""
    from rich.console import Console
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    console = Console(stderr=True)
    with Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        TextColumn("{task.percentage:>3.0f}%"),
        TimeElapsedColumn(),
        console=console,
        transient=True,
        disable=disable or not console.is_terminal,  # a pipe gets no bar and no blank line
    ) as bar:
        task = bar.add_task(first_stage, total=1.0)

        def progress(stage: str, fraction: float) -> None:
            bar.update(task, description=stage, completed=fraction)

        yield progress


def settings_digest(settings: dict[str, Any]) -> str:
    """First 8 hex digits of the SHA-256 of the settings' sorted-key JSON (result file names)."""
    return hashlib.sha256(json.dumps(settings, sort_keys=True).encode()).hexdigest()[:8]


def results_path(out: Path | None, name: str) -> Path:
    """``out/name``, with ``out`` defaulting to ``results/``; ``name`` must be a plain file name.

    A name with a path separator, ``..`` or a NUL byte would put the file outside ``out``:
    it is refused with :class:`qnet.io.OutputError` (one ``error:`` line), never followed.
    """
    from qnet.io import OutputError

    if not name or name in (".", "..") or Path(name).name != name or "\0" in name:
        raise OutputError(
            f"cannot write {name!r}: not a plain file name inside the output directory"
        )
    return (out if out is not None else Path("results")) / name


BYTES_PER_DECISION = 300
"""Memory per decision of a run that keeps its per-decision series for the plot (measured
~135 bytes: 439 MiB peak at 2e6 analytic decisions; the rest is room for drawing them);
without the plot a run streams in chunks (docs/benchmarks.md#memory)."""


def available_memory() -> int | None:
    """Bytes of memory available to a new allocation (Linux ``MemAvailable``), None if unknown."""
    try:
        with open("/proc/meminfo") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        return None
    return None


def plot_memory_error(decisions: int, streams: bool = True) -> str | None:
    """Why a run keeping the per-decision series of ``decisions`` decisions would not fit,
    or None; ``streams``: the run streams in bounded memory without the plot."""
    free = available_memory()
    if free is None:
        return None
    need = decisions * BYTES_PER_DECISION
    if need <= free:
        return None
    keeps = "with the plot" if streams else "of this game (it keeps every decision)"
    way_out = (
        ", or use --no-plot (the run then streams its decisions in bounded memory)"
        if streams
        else ""
    )
    return (
        f"run.decisions = {decisions} {keeps} needs about {_size(need)} of memory "
        f"({BYTES_PER_DECISION} bytes per decision for the per-decision series it "
        f"{'draws' if streams else 'keeps'}), "
        f"more than the {_size(free)} available: the largest value that fits is "
        f"{free // BYTES_PER_DECISION}{way_out}"
    )


def _size(n: int) -> str:
    """Bytes as GiB (one decimal) from 1 GiB up, else as MiB."""
    return f"{n / 2**30:.1f} GiB" if n >= 2**30 else f"{n / 2**20:.1f} MiB"


def report_console(piped_width: int) -> Console:
    """A stdout console; when stdout is not a terminal it is ``piped_width`` wide (whole tables)."""
    from rich.console import Console

    console = Console()
    return console if console.is_terminal else Console(width=piped_width)


def json_text(obj: Any) -> str:
    """Strict JSON text of ``obj`` (NaN/inf become null, numpy values plain), newline-ended."""
    return json.dumps(_jsonable(obj), indent=2, allow_nan=False) + "\n"


def print_json(obj: Any) -> None:
    """Print one JSON object (NaN/inf become null) to stdout."""
    sys.stdout.write(json_text(obj))


def _jsonable(obj: Any) -> Any:
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
