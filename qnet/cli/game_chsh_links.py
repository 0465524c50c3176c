"""The real-link halves of ``qnet game chsh-load-balancing SCENARIO`` and
``qnet game chsh-link-sweep SCENARIO``: one link per balancer pair (:mod:`qnet.runs.chsh_links`)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from qnet.cli.options import (
    fail,
    print_json,
    report_console,
    scenario_or_exit,
    stage_progress,
)

__all__ = ["linked_study", "linked_sweep_command"]


def linked_study(
    path: Path, sets: list[str] | None, seed: int | None, level: float, grid: int
) -> tuple[Any, tuple[str, dict[str, Any]]]:
    """The study on the scenario's links (one per balancer pair) and the links' summary."""
    from qnet.runs.chsh_links import run_linked_study

    sc = scenario_or_exit(path, sets, seed)
    try:
        with stage_progress("links", disable=False) as progress:
            study, pairs = run_linked_study(sc, level, grid, progress)
    except ValueError as err:
        fail(str(err))
        raise
    return study, (sc.name, pairs.summary())


def _parse_vary(varies: list[str]) -> dict[str, list[Any]]:
    """``KEY=V1,V2`` options as {key: [values]} (TOML values, bare words as strings)."""
    from qnet.config import ScenarioError, parse_override

    axes: dict[str, list[Any]] = {}
    for text in varies:
        key, _, raw = text.partition("=")
        if not key.strip() or not raw.strip():
            fail(f"--vary expects KEY=V1,V2,..., got {text!r}")
        try:
            axes[key.strip()] = [parse_override(f"{key}={v}")[1] for v in raw.split(",")]
        except ScenarioError as err:
            fail(str(err))
    return axes


def linked_sweep_command(
    path: Path,
    sets: list[str] | None,
    varies: list[str] | None,
    seed: int | None,
    level: float,
    json_out: bool,
) -> None:
    """``chsh-link-sweep SCENARIO``: the quantum knee on the scenario's links per point."""
    from qnet.config import ScenarioError
    from qnet.runs.chsh_links import linked_sweep, vary

    sc = scenario_or_exit(path, sets, seed)
    try:
        points = vary(sc, _parse_vary(varies or []))
        with stage_progress("links", disable=json_out) as progress:
            out = linked_sweep(sc, points, level, progress)
    except (ValueError, ScenarioError) as err:
        fail(str(err))
        raise
    out = {
        "scenario": sc.name,
        "level": level,
        "balancers": sc.load_balancing.balancers,
        **out,
    }
    if json_out:
        print_json(out)
        return
    from rich import box
    from rich.table import Table

    console = report_console(120)
    keys = list(points[0]) if points and points[0] else []
    for disc in (d for d in ("c-first", "e-first") if d in out):
        rnd = out[disc]["random"]
        t = Table(
            title=f"{sc.name}, {disc}: quantum knee on real links (backlog {level:g}); random "
            f"routing {rnd['mean']:.4f} ± {rnd['ci95']:.4f}",
            box=box.SIMPLE_HEAD,
            caption="a: measured share of steps with a pair; F: mean fidelity at use; "
            "Δ random paired per replication (common random numbers), 95 % t-intervals",
        )
        for col in (*keys, r"step \[s]", "a", "F", "knee N/M", "± 95 %", "Δ random", "± 95 %"):
            t.add_column(col, justify="right")
        for p, row in zip(out["points"], out[disc]["grid"], strict=True):
            lk = p["link"]
            t.add_row(
                *(str(p["set"][k]) for k in keys),
                f"{lk['step_s']:.3g}",
                f"{lk['availability']['mean']:.3f}",
                f"{lk['fidelity_at_use']['mean']:.3f}",
                f"{row['mean']:.4f}",
                f"{row['ci95']:.4f}",
                f"{row['diff_random']:+.4f}",
                f"{row['diff_random_ci95']:.4f}",
            )
        console.print(t)
