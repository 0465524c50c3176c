"""``qnet game chsh`` and ``qnet game chsh-load-balancing``: HotNets'25 Sec. 4.1 on qnet.

The link enters either as two numbers (the per-step availability a of a pair and the
Werner fidelity F of a pair at use, v = (4F − 1)/3) or, given a scenario, as real links
(one per balancer pair) on the scenario's engine (:mod:`qnet.runs.chsh_links`).
"""

from __future__ import annotations

import math
import time
from pathlib import Path
from typing import Annotated, Any

import numpy as np
import typer

from qnet.cli.game_chsh_links import linked_study, linked_sweep_command
from qnet.cli.options import (
    JsonOption,
    OutOption,
    SetOption,
    check_range,
    fail,
    json_text,
    print_json,
    report_console,
    results_path,
)

__all__ = [
    "chsh_command",
    "link_sweep_command",
    "load_balancing_command",
    "register",
    "xor_graphs_command",
]

FidelityOption = Annotated[
    float, typer.Option("--fidelity", help="Werner fidelity F of a pair at use, in [0.25, 1].")
]


def chsh_command(fidelity: FidelityOption = 1.0, json_out: JsonOption = False) -> None:
    """CHSH values: classical 3/4, quantum cos²(π/8), where noise erases the advantage."""
    check_range("--fidelity", fidelity, 0.25, 1.0)
    from qnet.games.chsh.game import ChshGame, fidelity_to_visibility
    from qnet.games.xor import XORGame

    g = ChshGame()
    out = {
        "classical_win": g.win_probability(g.classical_value()),
        "quantum_win": g.win_probability(g.quantum_value()),
        "classical_bias": g.classical_value(),
        "quantum_bias": g.quantum_value(),
        "quantum_win_sdp": XORGame.chsh().quantum_value(),
        "advantage_visibility": g.advantage_visibility(),
        "advantage_fidelity": g.advantage_fidelity(),
        "fidelity": fidelity,
        "visibility": fidelity_to_visibility(fidelity),
        "quantum_win_at_fidelity": g.quantum_win_probability(fidelity),
    }
    if json_out:
        print_json(out)
        return
    typer.echo(
        f"CHSH (co-location): classical win {out['classical_win']:.6f}, quantum win "
        f"cos²(π/8) = {out['quantum_win']:.6f} (Tsirelson SDP {out['quantum_win_sdp']:.6f})\n"
        f"advantage vanishes at Werner visibility 1/√2 = {out['advantage_visibility']:.6f}, "
        f"fidelity {out['advantage_fidelity']:.6f}\n"
        f"at fidelity {fidelity:g} (v = {out['visibility']:.6f}): quantum win "
        f"{out['quantum_win_at_fidelity']:.6f}"
    )


def _study_json(study: Any) -> dict[str, Any]:
    from qnet.games.chsh.study import KEYS

    c_first = study.summary("c-first") if "c-first" in study.result.disciplines else {}
    out: dict[str, Any] = {
        "level": study.level,
        "balancers": study.config.balancers,
        "fidelity": study.fidelity,
        "visibility": study.visibility,
        "availability": study.availability,
        "steps": study.config.steps,
        "warmup": study.config.warmup,
        "replications": study.config.replications,
        "seed": study.config.seed,
        **c_first,
        "disciplines": {d: study.summary(d) for d in study.result.disciplines},
        "curves": {d: {k: study.curve(k, d) for k in KEYS} for d in study.result.disciplines},
    }
    return out


_SIZE_KEYS = {
    "balancers": "balancers",
    "load_start": "load_start",
    "load_stop": "load_stop",
    "load_step": "load_step",
    "steps": "steps",
    "warmup": "warmup_steps",
    "replications": "replications",
}


def load_balancing_command(
    scenario: Annotated[
        Path | None,
        typer.Argument(
            help="Scenario TOML: its \\[link] supplies the pairs of every balancer pair and "
            "its \\[load_balancing] table the size. Omit for a constant pair (--fidelity, "
            "--availability)."
        ),
    ] = None,
    sets: SetOption = None,
    level: Annotated[
        float, typer.Option("--level", help="Backlog level L* of the knee (> 0).")
    ] = 5.0,
    fidelity: Annotated[
        float | None,
        typer.Option("--fidelity", help="Werner fidelity F of a pair at use, in [0.25, 1] [1]."),
    ] = None,
    availability: Annotated[
        float | None,
        typer.Option("--availability", help="Probability a pair is there at a step [1]."),
    ] = None,
    balancers: Annotated[
        int | None, typer.Option("--balancers", help="N, even (≥ 2) [100].")
    ] = None,
    load_start: Annotated[
        float | None, typer.Option("--load-start", help="First N/M swept [0.6].")
    ] = None,
    load_stop: Annotated[
        float | None, typer.Option("--load-stop", help="Last N/M swept [1.6].")
    ] = None,
    load_step: Annotated[
        float | None, typer.Option("--load-step", help="N/M grid step [0.05].")
    ] = None,
    steps: Annotated[
        int | None, typer.Option("--steps", help="Steps per replication [5000].")
    ] = None,
    warmup: Annotated[
        int | None, typer.Option("--warmup", help="Warm-up steps discarded [1000].")
    ] = None,
    replications: Annotated[
        int | None, typer.Option("--replications", help="R (≥ 2) [12].")
    ] = None,
    grid: Annotated[
        int, typer.Option("--grid", help="CHSH-facet grid step 1/GRID of the classical search.")
    ] = 4,
    seed: Annotated[
        int | None, typer.Option("--seed", help="Root seed (≥ 0) [0; scenario's seed].")
    ] = None,
    json_out: JsonOption = False,
    out: OutOption = None,
    no_plot: Annotated[bool, typer.Option("--no-plot", help="Write no PNG.")] = False,
) -> None:
    """Knee of random, best classical, quantum (and any-server) routing; Fig. 4-style PNG."""
    check_range("--level", level, 0.0, open_low=True)
    check_range("--grid", grid, 1, 12)
    if seed is not None:
        check_range("--seed", seed, 0)
    sizes = {
        "balancers": balancers,
        "load_start": load_start,
        "load_stop": load_stop,
        "load_step": load_step,
        "steps": steps,
        "warmup": warmup,
        "replications": replications,
    }
    t0 = time.perf_counter()
    if scenario is not None:
        given = [
            k
            for k, v in {**sizes, "fidelity": fidelity, "availability": availability}.items()
            if v is not None
        ]
        if given:
            opt = "--" + given[0].replace("_", "-")
            key = _SIZE_KEYS.get(given[0])
            where = (
                f"set load_balancing.{key} in the scenario or with --set"
                if key
                else "the scenario's link supplies it"
            )
            fail(f"{opt} does not apply with a SCENARIO: {where}")
        study, link = linked_study(scenario, sets, seed, level, grid)
    else:
        if sets:
            fail("--set needs a SCENARIO")
        study = _constant_study(sizes, fidelity, availability, level, grid, seed or 0)
        link = None
    result = _study_json(study)
    if link is not None:
        result["scenario"] = link[0]
        result["link"] = link[1]
    result["wall_s"] = time.perf_counter() - t0
    from qnet.io import write_atomic

    directory = results_path(out, "chsh-load-balancing")
    result["json"] = str(write_atomic(directory / "knees.json", json_text(result)))
    if not no_plot:
        from qnet.plots.chsh import load_balancing_png

        result["png"] = str(write_atomic(directory / "backlog.png", load_balancing_png(study)))
    if json_out:
        print_json(result)
        return
    _print_table(study, result)


def _constant_study(
    sizes: dict[str, Any],
    fidelity: float | None,
    availability: float | None,
    level: float,
    grid: int,
    seed: int,
) -> Any:
    """The study with a constant pair: Werner fidelity F, availability a per step."""
    fidelity = 1.0 if fidelity is None else fidelity
    availability = 1.0 if availability is None else availability
    defaults = {
        "balancers": 100,
        "load_start": 0.6,
        "load_stop": 1.6,
        "load_step": 0.05,
        "steps": 5000,
        "warmup": 1000,
        "replications": 12,
    }
    v = {k: defaults[k] if x is None else x for k, x in sizes.items()}
    check_range("--fidelity", fidelity, 0.25, 1.0)
    check_range("--availability", availability, 0.0, 1.0)
    if v["balancers"] < 2 or v["balancers"] % 2:
        fail(f"--balancers = {v['balancers']} is out of range: allowed even >= 2")
    check_range("--load-start", v["load_start"], 0.0, v["balancers"] / 3.0, open_low=True)
    check_range("--load-stop", v["load_stop"], v["load_start"], v["balancers"] / 3.0, open_low=True)
    check_range("--load-step", v["load_step"], 0.0, open_low=True)
    check_range("--steps", v["steps"], 2)
    check_range("--warmup", v["warmup"], 0, v["steps"] - 1)
    check_range("--replications", v["replications"], 2)
    from qnet.games.chsh.load_balancing import LoadBalancingConfig
    from qnet.games.chsh.study import run_study

    n_loads = math.floor((v["load_stop"] - v["load_start"]) / v["load_step"] + 1e-9) + 1
    grid_loads = v["load_start"] + v["load_step"] * np.arange(n_loads)
    loads = tuple(float(x) for x in np.round(grid_loads, 9))
    config = LoadBalancingConfig(
        v["balancers"], loads, v["steps"], v["warmup"], v["replications"], seed
    )
    return run_study(config, level, fidelity, availability, grid)


def _print_table(study: Any, result: dict[str, Any]) -> None:
    from rich import box
    from rich.table import Table

    from qnet.games.chsh.study import KEYS

    t = Table(
        title=f"CHSH load balancing: N = {study.config.balancers}, knee at backlog "
        f"{study.level:g}, F = {study.fidelity:.4g}, a = {study.availability:.4g}",
        box=box.SIMPLE_HEAD,
        caption=f"{study.config.replications} replications × {study.config.steps} steps "
        f"({study.config.warmup} warm-up); ± is a 95 % t-interval; boundary: exact chain; "
        f"{result['wall_s']:.0f} s",
    )
    for col in ("strategy", "discipline", "knee N/M", "± 95 %", "stability boundary"):
        t.add_column(col, justify="left" if col in ("strategy", "discipline") else "right")
    for disc in study.result.disciplines:
        s = result["disciplines"][disc]
        for k in KEYS:
            knee = s[f"knee_{k}"]
            t.add_row(
                k,
                disc,
                f"{knee['mean']:.4f}",
                f"{knee['ci95']:.4f}",
                f"{s['stability_boundary'][k]:.4f}",
            )
    console = report_console(100)
    console.print(t)
    if "link" in result:
        lk = result["link"]
        av, fid = lk["availability"], lk["fidelity_at_use"]
        console.print(
            f"{result['scenario']}: {study.config.balancers // 2} links on the {lk['engine']} "
            f"engine, step {lk['step_s']:.3g} s; pair at a step {av['mean']:.4f} ± "
            f"{av['ci95']:.4f} (predicted {lk['availability_predicted_slotted']:.4f} slotted, "
            f"{lk['availability_predicted_poisson']:.4f} Poisson); fidelity at use "
            f"{fid['mean']:.4f} ± {fid['ci95']:.4f}"
        )
    console.print(f"results: {result['json']}" + (f", {result['png']}" if "png" in result else ""))


def link_sweep_command(
    scenario: Annotated[
        Path | None,
        typer.Argument(
            help="Scenario TOML: vary its real links (--vary) instead of a constant pair."
        ),
    ] = None,
    sets: SetOption = None,
    varies: Annotated[
        list[str] | None,
        typer.Option(
            "--vary",
            help="With a SCENARIO: KEY=V1,V2,... a link key (or load_balancing.step_s) "
            "to sweep; repeat for a cross product.",
        ),
    ] = None,
    fidelities: Annotated[
        list[float] | None,
        typer.Option("--fidelity", help="Werner fidelity at use, in [0.25, 1]. Repeatable."),
    ] = None,
    availabilities: Annotated[
        list[float] | None,
        typer.Option("--availability", help="Pair availability per step, [0, 1]. Repeatable."),
    ] = None,
    level: Annotated[
        float, typer.Option("--level", help="Backlog level L* of the knee (> 0).")
    ] = 5.0,
    steps: Annotated[
        int | None, typer.Option("--steps", help="Steps per replication [3000].")
    ] = None,
    warmup: Annotated[
        int | None, typer.Option("--warmup", help="Warm-up steps discarded [600].")
    ] = None,
    replications: Annotated[int | None, typer.Option("--replications", help="R (≥ 2) [6].")] = None,
    seed: Annotated[int | None, typer.Option("--seed", help="Root seed (≥ 0) [0].")] = None,
    json_out: JsonOption = False,
) -> None:
    """Knee of the quantum strategy over fidelity × availability (or real links), beside random."""
    check_range("--level", level, 0.0, open_low=True)
    if seed is not None:
        check_range("--seed", seed, 0)
    if scenario is not None:
        given = {
            "--fidelity": fidelities,
            "--availability": availabilities,
            "--steps": steps,
            "--warmup": warmup,
            "--replications": replications,
        }
        for opt, v in given.items():
            if v is not None:
                fail(f"{opt} does not apply with a SCENARIO: vary the link with --vary")
        linked_sweep_command(scenario, sets, varies, seed, level, json_out)
        return
    if sets or varies:
        fail(f"{'--set' if sets else '--vary'} needs a SCENARIO")
    steps = 3000 if steps is None else steps
    warmup = 600 if warmup is None else warmup
    replications = 6 if replications is None else replications
    seed = 0 if seed is None else seed
    fids = tuple(fidelities or (1.0, 0.95, 0.9, 0.85, 0.8, 0.75, 0.7))
    avs = tuple(availabilities or (1.0, 0.75, 0.5, 0.25))
    for f in fids:
        check_range("--fidelity", f, 0.25, 1.0)
    for a in avs:
        check_range("--availability", a, 0.0, 1.0)
    check_range("--steps", steps, 2)
    check_range("--warmup", warmup, 0, steps - 1)
    check_range("--replications", replications, 2)
    from qnet.games.chsh.load_balancing import LoadBalancingConfig
    from qnet.games.chsh.study import link_sweep

    loads = tuple(float(x) for x in np.round(np.arange(0.9, 1.3001, 0.025), 6))
    config = LoadBalancingConfig(100, loads, steps, warmup, replications, seed)
    out = {"level": level, "balancers": 100, **link_sweep(config, fids, avs, level)}
    if json_out:
        print_json(out)
        return
    from rich import box
    from rich.table import Table

    console = report_console(100)
    for disc in config.disciplines:
        rnd = out[disc]["random"]
        t = Table(
            title=f"{disc}: quantum knee (backlog {level:g}); random routing "
            f"{rnd['mean']:.4f} ± {rnd['ci95']:.4f}",
            box=box.SIMPLE_HEAD,
            caption="Δ random: paired per replication (common random numbers), 95 % t-interval",
        )
        for col in ("fidelity", "availability", "knee N/M", "± 95 %", "Δ random", "± 95 %"):
            t.add_column(col, justify="right")
        for row in out[disc]["grid"]:
            t.add_row(
                f"{row['fidelity']:g}",
                f"{row['availability']:g}",
                f"{row['mean']:.4f}",
                f"{row['ci95']:.4f}",
                f"{row['diff_random']:+.4f}",
                f"{row['diff_random_ci95']:.4f}",
            )
        console.print(t)


def xor_graphs_command(
    vertices: Annotated[
        list[int] | None, typer.Option("--vertices", help="Graph size n in [2, 6]. Repeatable.")
    ] = None,
    samples: Annotated[int, typer.Option("--samples", help="Random games per q (≥ 1).")] = 400,
    q_points: Annotated[int, typer.Option("--q-points", help="Points of q in [0, 1] (≥ 2).")] = 11,
    directed: Annotated[
        bool, typer.Option("--directed", help="Label ordered pairs (x, y) independently.")
    ] = False,
    seed: Annotated[int, typer.Option("--seed", help="Root seed (≥ 0).")] = 0,
    json_out: JsonOption = False,
    out: OutOption = None,
    no_plot: Annotated[bool, typer.Option("--no-plot", help="Write no PNG.")] = False,
) -> None:
    """Fig. 3: probability that a random XOR game on n vertices has a quantum advantage."""
    sizes = tuple(vertices or (3, 4, 5, 6))
    for n in sizes:
        check_range("--vertices", n, 2, 6)
    check_range("--samples", samples, 1)
    check_range("--q-points", q_points, 2, 101)
    check_range("--seed", seed, 0)
    from qnet.games.chsh.xor_graphs import (
        MAX_EXACT,
        exact_advantage_probability,
        sampled_advantage_probability,
    )

    q = np.linspace(0.0, 1.0, q_points)
    curves: dict[int, dict[str, Any]] = {}
    for n in sizes:
        r = sampled_advantage_probability(n, q, samples, seed, symmetric=not directed)
        c: dict[str, Any] = {k: r[k].tolist() for k in ("q", "p", "low", "high")}
        c["orbits_solved"] = r["orbits"]
        c["exact"] = None
        if n <= MAX_EXACT and not directed:
            c["exact"] = exact_advantage_probability(n, q)[0].tolist()
        curves[n] = c
    result: dict[str, Any] = {
        "samples": samples,
        "seed": seed,
        "labels": "directed" if directed else "symmetric (self-loops included)",
        "curves": {str(n): c for n, c in curves.items()},
    }
    from qnet.io import write_atomic

    directory = results_path(out, "chsh-xor-graphs")
    result["json"] = str(write_atomic(directory / "advantage.json", json_text(result)))
    if not no_plot:
        from qnet.plots.chsh import xor_graphs_png

        result["png"] = str(write_atomic(directory / "advantage.png", xor_graphs_png(curves)))
    if json_out:
        print_json(result)
        return
    from rich import box
    from rich.table import Table

    t = Table(
        title=f"P(quantum advantage) of random XOR games ({result['labels']} labels)",
        box=box.SIMPLE_HEAD,
        caption=f"{samples} games per q (Wilson 95 % interval); exact: all labelings, one "
        "SDP per symmetry orbit",
    )
    t.add_column("q exclusive", justify="right")
    for n in sizes:
        t.add_column(f"n = {n}", justify="right")
    for i, qi in enumerate(q):
        row = [f"{qi:.2f}"]
        for n in sizes:
            c = curves[n]
            cell = f"{c['p'][i]:.3f} [{c['low'][i]:.3f}, {c['high'][i]:.3f}]"
            if c["exact"] is not None:
                cell += f" exact {c['exact'][i]:.3f}"
            row.append(cell)
        t.add_row(*row)
    console = report_console(160)
    console.print(t)
    console.print(f"results: {result['json']}" + (f", {result['png']}" if "png" in result else ""))


def register(game_app: typer.Typer) -> None:
    """Add ``qnet game chsh``, ``chsh-load-balancing``, ``chsh-link-sweep``, ``chsh-xor-graphs``."""
    game_app.command("chsh")(chsh_command)
    game_app.command("chsh-load-balancing")(load_balancing_command)
    game_app.command("chsh-link-sweep")(link_sweep_command)
    game_app.command("chsh-xor-graphs")(xor_graphs_command)
