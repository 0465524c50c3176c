"""``qnet plan``: does the routing advantage survive this hardware, by how much, and what
must improve (prediction from :mod:`qnet.planning`, confirmed by an analytic-engine run)."""

from __future__ import annotations

import math
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from qnet.cli.options import (
    JsonOption,
    OutOption,
    SetOption,
    fail,
    print_json,
    report_console,
    results_path,
)
from qnet.cli.plan_qos import _fmt, _num, plan_qos

if TYPE_CHECKING:
    from qnet.config import Scenario
    from qnet.planning.report import Plan
    from qnet.runs.record import RunRecord

__all__ = ["plan_summary", "register"]


def _scenario(
    path: Path | None,
    preset: str | None,
    sets: list[str] | None,
    p: float | None,
    service: float | None,
    rate: float | None,
) -> tuple[Scenario, dict[str, Any] | None]:
    """The scenario to plan for (file or preset) with the command-line changes applied."""
    from qnet.config import (
        ScenarioError,
        apply_overrides,
        parse_override,
        read_toml,
        scenario_from_dict,
        slug_name,
    )
    from qnet.planning.presets import Preset, preset_path

    if (path is None) == (preset is None):
        fail("give a scenario file or --preset NAME (exactly one; --list-presets shows them)")
    overrides = list(sets or [])
    if p is not None:
        overrides.append(f"strategy.target_splitting_probability={p!r}")
    if service is not None:
        overrides.append(f"traffic.mean_service_time_s={service!r}")
    try:
        source = preset_path(preset) if preset is not None else path
        assert source is not None
        data = apply_overrides(read_toml(source), dict(parse_override(o) for o in overrides))
        if rate is not None:  # the decision rate replaces the file's load
            traffic = data.setdefault("traffic", {})
            traffic.pop("load", None)
            traffic["arrival_rate_hz"] = rate
        data.setdefault("name", slug_name(source.stem))
        scenario = scenario_from_dict(data)
    except (ScenarioError, ValueError) as err:
        fail(str(err))
        raise
    info = Preset(preset, source, scenario).to_dict() if preset is not None else None
    return scenario, info


def _confirm_scenario(plan: Plan, engine: str, decisions: int) -> Scenario:
    """The scenario of the confirming run: the planned strategy on the given engine."""
    from qnet.config import scenario_from_dict

    data = plan.scenario.to_dict()
    data["engine"]["name"] = engine
    if plan.prediction.strategy == "noise_aware":
        data["strategy"]["kind"] = "noise_aware"
    data["run"]["decisions"] = decisions
    data["run"]["warmup_decisions"] = min(1000, decisions // 10)
    data["run"]["batches"] = 20
    return scenario_from_dict(data)


def plan_summary(
    plan: Plan,
    record: RunRecord | None,
    preset: dict[str, Any] | None,
    sequence: RunRecord | None = None,
) -> dict[str, Any]:
    """The JSON object of ``qnet plan`` (keys in docs/commands.md)."""
    pred = plan.prediction

    def estimate(mean: float, ci: float) -> dict[str, float | None]:
        return {"mean": _num(mean), "ci95": _num(ci)}

    verdict = record.verdict if record is not None else "inconclusive"
    notes = list(plan.notes)
    if record is not None and record.pairs_used_share == 0.0:
        verdict = "no"  # the best strategy is classical routing: nothing to confirm
        notes.append("the best strategy leaves every pair unused (classical routing): no advantage")
    out: dict[str, Any] = {
        "scenario": plan.scenario.name,
        "verdict": verdict,
        "retained_share": (
            estimate(record.retained_share_game_cv, record.retained_share_game_cv_ci95)
            if record is not None
            else estimate(math.nan, math.nan)
        ),
        "gap_reduction": (
            estimate(record.gap_reduction_game_cv, record.gap_reduction_game_cv_ci95)
            if record is not None
            else estimate(math.nan, math.nan)
        ),
        "predicted": {
            "retained_share": _num(pred.retained_share),
            "gap_reduction": _num(pred.gap_reduction),
            "ideal_gap_reduction": _num(pred.ideal_gap_reduction),
            "p": pred.p,
            "strategy": pred.strategy,
            "shares_by_strategy": {k: _num(v) for k, v in pred.shares.items()},
        },
        "share": plan.share,
        "p": plan.scenario.strategy.target_splitting_probability,
        "best_p": _num(plan.best_p),
        "share_by_p": {f"{k:g}": _num(v) for k, v in plan.share_by_p.items()},
        "binding_constraint": plan.binding_constraint,
        "loss_breakdown": plan.loss_breakdown,
        "gain_if_fixed": plan.gain_if_fixed,
        "min_coherence_time_s": plan.requirements.min_coherence_time_s,
        "min_t1_s": plan.requirements.min_t1_s,
        "max_fiber_km": plan.requirements.max_fiber_km,
        "min_raw_fidelity": plan.requirements.min_raw_fidelity,
        "min_attempt_rate_hz": plan.requirements.min_attempt_rate_hz,
        "link": plan.outlook.to_dict(),
        "decision_rate_hz": plan.scenario.traffic.lam_hz,
        "mean_service_time_s": plan.scenario.traffic.mean_service_time_s,
        "notes": notes,
        "preset": preset,
        "confirm_analytic": _run_dict(record),
        "confirm_sequence": _run_dict(sequence),
        "maps": [m.to_dict() for m in plan.maps],
    }
    return out


def _run_dict(r: RunRecord | None) -> dict[str, Any] | None:
    if r is None:
        return None
    return {
        "engine": r.engine,
        "strategy_kind": r.strategy_kind,
        "decisions": r.decisions,
        "seed": r.seed,
        "verdict": r.verdict,
        "retained_share": {
            "mean": _num(r.retained_share_game_cv),
            "ci95": _num(r.retained_share_game_cv_ci95),
        },
        "gap_reduction": {
            "mean": _num(r.gap_reduction_game_cv),
            "ci95": _num(r.gap_reduction_game_cv_ci95),
        },
        "availability": _num(r.availability),
        "mean_fidelity_at_use": _num(r.mean_fidelity_at_use),
        "wall_time_s": r.wall_time_s,
    }


def _print(summary: dict[str, Any]) -> None:
    from rich import box
    from rich.table import Table

    console = report_console(120)
    pred = summary["predicted"]
    t = Table(
        title=f"qnet plan {summary['scenario']}: keep {summary['share']:.0%} of the ideal "
        f"advantage at p = {summary['p']:g}, {summary['decision_rate_hz']:g} decisions/s",
        box=box.SIMPLE_HEAD,
    )
    for col in ("quantity", "predicted", "analytic run (95 % CI)"):
        t.add_column(col)
    rec = summary["confirm_analytic"]

    def est(e: dict[str, Any] | None, key: str) -> str:
        if e is None or e[key]["mean"] is None:
            return "—"
        return f"{e[key]['mean']:.3f} ± {_fmt(e[key]['ci95'], '.3f', '—')}"

    t.add_row("advantage?", "", summary["verdict"])
    t.add_row("retained share", _fmt(pred["retained_share"], ".3f"), est(rec, "retained_share"))
    t.add_row(
        "gap reduction ΔWq [1/μ]", _fmt(pred["gap_reduction"], ".4f"), est(rec, "gap_reduction")
    )
    t.add_row("strategy", pred["strategy"], rec["strategy_kind"] if rec else "—")
    link = summary["link"]
    t.add_row(
        "availability",
        _fmt(link["availability"], ".3f"),
        _fmt(rec["availability"] if rec else None, ".3f", "—"),
    )
    t.add_row(
        "fidelity at use",
        _fmt(link["fidelity_at_use"], ".3f"),
        _fmt(rec["mean_fidelity_at_use"] if rec else None, ".3f", "—"),
    )
    seq = summary["confirm_sequence"]
    if seq is not None:
        t.add_row("SeQUeNCe run: retained share", "", est(seq, "retained_share"))
        t.add_row("SeQUeNCe run: advantage?", "", seq["verdict"])
    console.print(t)
    r = Table(title="what the advantage needs", box=box.SIMPLE_HEAD)
    r.add_column("quantity")
    r.add_column("value")
    by_p = ", ".join(f"{k}: {_fmt(v, '.2f')}" for k, v in summary["share_by_p"].items())
    r.add_row("best p (highest predicted share)", f"{_fmt(summary['best_p'], 'g')}  ({by_p})")
    r.add_row("binding constraint", summary["binding_constraint"])
    for cause, lost in summary["loss_breakdown"].items():
        gain = summary["gain_if_fixed"][cause]
        r.add_row(
            f"  share lost to {cause.replace('_', ' ')}",
            f"{lost:.3f}  (fixing it alone: {gain:+.3f})",
        )
    r.add_row(r"min coherence time T2 \[s]", _fmt(summary["min_coherence_time_s"]))
    if summary["min_t1_s"] is not None:
        r.add_row(r"min T1 \[s]", _fmt(summary["min_t1_s"]))
    r.add_row(r"max total fiber \[km]", _fmt(summary["max_fiber_km"]))
    r.add_row("min raw fidelity", _fmt(summary["min_raw_fidelity"], ".4f"))
    r.add_row("min attempt rate [Hz]", _fmt(summary["min_attempt_rate_hz"]))
    console.print(r)
    for note in summary["notes"]:
        console.print(f"note: {note}")
    if summary.get("plot_png"):
        console.print(f"plot: {summary['plot_png']}")


def _list_presets(as_json: bool) -> None:
    from qnet.planning.presets import list_presets

    presets = [p.to_dict() for p in list_presets()]
    if as_json:
        print_json({"presets": presets})
        return
    from rich.markup import escape

    console = report_console(120)
    for p in presets:  # soft wrap: a citation stays on one line (searchable)
        console.print(f"[bold]{escape(p['name'])}[/bold]  ({escape(p['path'])})", soft_wrap=True)
        console.print(f"  {escape(p['description'])}", soft_wrap=True)
        for s in p["sources"]:
            console.print(f"  - {escape(s)}", soft_wrap=True)


def plan_command(
    scenario_path: Annotated[
        Path | None, typer.Argument(help="Scenario TOML file (or use --preset).")
    ] = None,
    preset: Annotated[
        str | None, typer.Option("--preset", help="A shipped hardware preset (--list-presets).")
    ] = None,
    list_presets: Annotated[
        bool, typer.Option("--list-presets", help="List the presets with their sources.")
    ] = False,
    sets: SetOption = None,
    p: Annotated[
        float | None,
        typer.Option("--p", help="Operating point: target splitting probability in (0, 1/2)."),
    ] = None,
    share: Annotated[
        float, typer.Option("--share", help="Share of the ideal advantage to keep, in (0, 1].")
    ] = 0.5,
    service: Annotated[
        float | None,
        typer.Option("--mean-service-time-s", help=r"Application time scale 1/μ \[s]."),
    ] = None,
    rate: Annotated[
        float | None,
        typer.Option("--decision-rate-hz", help="Decisions (customer pairs) per second λ."),
    ] = None,
    decisions: Annotated[
        int, typer.Option("--decisions", help="Decisions of the confirming analytic run.")
    ] = 40_000,
    confirm: Annotated[
        bool, typer.Option("--confirm", help="Also run a short SeQUeNCe run.")
    ] = False,
    confirm_decisions: Annotated[
        int, typer.Option("--confirm-decisions", help="Decisions of the SeQUeNCe run.")
    ] = 2_000,
    game: Annotated[
        str | None,
        typer.Option(
            "--game",
            help="routing or sum_threshold (the QoS framing); default: the scenario's game.",
        ),
    ] = None,
    w_limit: Annotated[
        float | None,
        typer.Option("--w-limit", help="QoS limit W_l \\[mean service times] (sum_threshold)."),
    ] = None,
    out: OutOption = None,
    as_json: JsonOption = False,
    plot: Annotated[bool, typer.Option("--plot/--no-plot", help="Write the heat-map PNG.")] = True,
) -> None:
    """What a demonstration needs for the routing advantage to survive (prediction + run)."""
    from qnet.io import write_atomic
    from qnet.planning.report import make_plan
    from qnet.runs.runner import run_scenario

    if list_presets:
        _list_presets(as_json)
        return
    if not 0.0 < share <= 1.0:  # also NaN
        fail(
            f"--share = {share!r} is out of range: allowed (0, 1] (the share of the ideal "
            "advantage to keep; 1 is all of it, more than all of it cannot be kept)"
        )
    for name, n, low in (
        ("--decisions", decisions, 1000),
        ("--confirm-decisions", confirm_decisions, 200),
    ):
        if n < low:
            fail(f"{name} = {n} is out of range: allowed >= {low}")
    for name, value in (("--decision-rate-hz", rate), ("--mean-service-time-s", service)):
        if value is not None and not (math.isfinite(value) and value > 0):
            fail(f"{name} = {value!r} is out of range: allowed (0, inf)")
    if p is not None and not 0.0 < p < 0.5:
        fail(f"--p = {p!r} is out of range: allowed (0, 0.5) (the splitting probability)")
    if game not in (None, "routing", "sum_threshold"):
        fail(f"--game = {game!r} is not allowed: use routing or sum_threshold")
    scenario, preset_info = _scenario(scenario_path, preset, sets, p, service, rate)
    game = game or scenario.game.kind  # by default the scenario's own game
    if w_limit is not None and game != "sum_threshold":
        fail("--w-limit applies to --game sum_threshold only (the routing game works at --p)")
    if game == "sum_threshold":
        qos_sets = [*(sets or []), "game.kind=sum_threshold"]
        if w_limit is not None:
            qos_sets.append(f"game.w_limit_service_times={w_limit!r}")
        scenario, preset_info = _scenario(scenario_path, preset, qos_sets, p, service, rate)
        plan_qos(scenario, preset_info, decisions, confirm_decisions if confirm else 0, as_json)
        return
    _routing_only(scenario, "qnet plan --game routing")
    try:
        plan = make_plan(scenario, share, maps=plot)
        record = run_scenario(_confirm_scenario(plan, "analytic", decisions))
        seq = (
            run_scenario(_confirm_scenario(plan, "sequence", confirm_decisions))
            if confirm
            else None
        )
    except ValueError as err:
        fail(str(err))
        return
    summary = plan_summary(plan, record, preset_info, seq)
    if plot:
        from qnet.plots.plan import plan_png

        path = results_path(out, f"plan-{scenario.name}.png")
        summary["plot_png"] = str(write_atomic(path, plan_png(plan)))
    if as_json:
        print_json(summary)
        return
    _print(summary)


def _routing_only(scenario: Scenario, command: str) -> None:
    """Refuse a scenario of another game: the planner models the routing game only."""
    if scenario.game.kind != "routing":
        fail(
            f"game.kind = {scenario.game.kind!r}: {command} models the routing game only: "
            "allowed game.kind = 'routing' (run a sum-threshold scenario with qnet run)"
        )


def register(app: typer.Typer) -> None:
    """Add ``qnet plan`` to the CLI."""
    app.command("plan")(plan_command)


def scenario_thresholds(
    scenario_path: Path, sets: list[str] | None, p_values: list[float] | None, as_json: bool
) -> None:
    """``qnet thresholds --scenario FILE``: critical storage time and fidelity at use for the
    scenario's own noise, through :func:`qnet.planning.search.critical_storage`."""
    from qnet.cli.options import scenario_or_exit
    from qnet.planning.predict import Planner
    from qnet.planning.search import critical_storage

    scenario = scenario_or_exit(scenario_path, sets)
    _routing_only(scenario, "qnet thresholds --scenario")
    ps = p_values or [scenario.strategy.target_splitting_probability]
    for p in ps:
        if not 0.0 < p < 0.5:
            fail(f"--p = {p!r} is out of range: allowed (0, 0.5) (the splitting probability)")
    rows = [critical_storage(Planner(scenario, p=p), scenario).to_dict() for p in ps]
    if as_json:
        print_json({"scenario": scenario.name, "critical": rows})
        return
    from rich import box
    from rich.table import Table

    t = Table(
        title=f"qnet thresholds --scenario {scenario.name}: where the advantage vanishes "
        "(this scenario's noise, every decision with a pair)",
        box=box.SIMPLE_HEAD,
        caption="critical storage: longest herald-to-use time with an advantage; F at use: "
        "fidelity of a pair stored that long; critical raw F: fresh pairs (Werner + readout)",
    )
    for col in ("p", r"critical storage \[s]", "F at use", "critical raw F"):
        t.add_column(col, justify="right")
    for r in rows:
        storage = r["storage_time_s"]
        t.add_row(
            f"{r['p']:g}",
            "no memory noise"
            if storage is None
            else "none even fresh"
            if storage == 0
            else _fmt(storage, ".3g"),
            _fmt(r["fidelity_at_use"], ".4f", "—"),
            _fmt(r["critical_raw_fidelity"], ".4f", "none"),
        )
    report_console(120).print(t)
