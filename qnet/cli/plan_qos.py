"""``qnet plan --game sum_threshold``: the workshop (QoS) framing, the sum-threshold game at a
QoS limit W_l on the scenario's link (prediction from :mod:`qnet.planning.qos`, confirmed
by an analytic-engine run)."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

from qnet.cli.options import fail, print_json, report_console

if TYPE_CHECKING:
    from qnet.config import Scenario

__all__ = ["plan_qos"]


def _num(x: float | None) -> float | None:
    return None if x is None or not math.isfinite(x) else float(x)


def _fmt(x: float | None, spec: str = ".3g", none: str = "none") -> str:
    return none if x is None or (isinstance(x, float) and math.isnan(x)) else format(x, spec)


def _qos_run(scenario: Scenario, engine: str, decisions: int) -> Any:
    """A sum-threshold confirming run of ``decisions`` on ``engine``."""
    from qnet.config import scenario_from_dict
    from qnet.runs.runner import run_scenario

    data = scenario.to_dict()
    data["engine"]["name"] = engine
    data["run"].update(decisions=decisions, warmup_decisions=min(1000, decisions // 10))
    return run_scenario(scenario_from_dict(data))


def plan_qos(
    scenario: Scenario,
    preset: dict[str, Any] | None,
    decisions: int,
    sequence_decisions: int,
    as_json: bool,
) -> None:
    """``qnet plan --game sum_threshold``: predicted R_k and retained share at W_l, confirmed
    by an analytic run (and a SeQUeNCe run with ``--confirm``)."""
    from qnet.planning.qos import predict_qos

    try:
        pred = predict_qos(scenario)
        runs = [_qos_run(scenario, "analytic", decisions)]
        if sequence_decisions:
            runs.append(_qos_run(scenario, "sequence", sequence_decisions))
    except ValueError as err:
        fail(str(err))
        return
    gain = pred.ideal_throughput_ratio - 1.0

    def run_dict(r: Any) -> dict[str, Any]:
        share = (r.throughput_ratio - 1.0) / gain if gain > 1e-4 else math.nan
        return {
            "engine": r.engine,
            "decisions": r.decisions,
            "seed": r.seed,
            "verdict": r.verdict,
            "throughput_ratio": {
                "mean": _num(r.throughput_ratio),
                "ci95": _num(r.throughput_ratio_ci95),
            },
            "retained_share": {
                "mean": _num(share),
                "ci95": _num(r.throughput_ratio_ci95 / gain if gain > 1e-4 else math.nan),
            },
            "predicted_throughput_ratio": _num(r.predicted_throughput_ratio),
            "availability": _num(r.availability),
            "mean_fidelity_at_use": _num(r.mean_fidelity_at_use),
            "meets_limit": r.meets_limit,
            "wall_time_s": r.wall_time_s,
        }

    analytic = run_dict(runs[0])
    summary: dict[str, Any] = {
        "scenario": scenario.name,
        "game": "sum_threshold",
        "verdict": analytic["verdict"],
        "throughput_ratio": analytic["throughput_ratio"],
        "retained_share": analytic["retained_share"],
        "predicted": pred.to_dict(),
        "w_limit": pred.w_limit,
        "decision_rate_hz": scenario.traffic.lam_hz,
        "notes": (
            []
            if gain > 1e-4
            else [
                f"at W_l = {pred.w_limit:.4g} even ideal pairs do not raise the throughput "
                f"(R_k ideal = {pred.ideal_throughput_ratio:.4f}): retained share undefined"
            ]
        ),
        "preset": preset,
        "confirm_analytic": analytic,
        "confirm_sequence": run_dict(runs[1]) if len(runs) > 1 else None,
    }
    if as_json:
        print_json(summary)
        return
    from rich import box
    from rich.table import Table

    t = Table(
        title=f"qnet plan {scenario.name} --game sum_threshold: QoS limit W_l = "
        f"{pred.w_limit:.4g} mean service times, {scenario.traffic.lam_hz:g} decisions/s",
        box=box.SIMPLE_HEAD,
    )
    for col in ("quantity", "predicted", "analytic run (95 % CI)"):
        t.add_column(col)
    tr, rs = analytic["throughput_ratio"], analytic["retained_share"]
    t.add_row("advantage? (R_k > 1)", "", summary["verdict"])
    t.add_row(
        "throughput ratio R_k",
        _fmt(pred.throughput_ratio, ".4f"),
        f"{_fmt(tr['mean'], '.4f')} ± {_fmt(tr['ci95'], '.4f')}",
    )
    t.add_row(
        "retained share",
        _fmt(pred.retained_share, ".3f"),
        f"{_fmt(rs['mean'], '.3f')} ± {_fmt(rs['ci95'], '.3f')}",
    )
    t.add_row("R_k on ideal pairs", _fmt(pred.ideal_throughput_ratio, ".4f"), "")
    t.add_row(
        "availability",
        _fmt(pred.availability, ".3f"),
        _fmt(analytic["availability"], ".3f", "—"),
    )
    t.add_row(
        "fidelity at use",
        _fmt(pred.fidelity_at_use, ".3f"),
        _fmt(analytic["mean_fidelity_at_use"], ".3f", "—"),
    )
    t.add_row("quantum wait below W_l?", "", str(analytic["meets_limit"]))
    console = report_console(120)
    console.print(t)
    for note in summary["notes"]:
        console.print(f"note: {note}")
