"""``qnet game sum-threshold``: the QuNet'25 sum-threshold game's values, table and figure."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from qnet.cli.options import (
    JsonOption,
    OutOption,
    check_range,
    fail,
    print_json,
    report_console,
    results_path,
    settings_digest,
    stage_progress,
)
from qnet.io import write_atomic

if TYPE_CHECKING:
    from rich.table import Table

    from qnet.games.sum_threshold.report import Curves, SumThresholdReport

__all__ = ["curves_png", "register"]


def curves_png(curves: Curves, c_min: float) -> bytes:
    """Win probability against C_t: classical, linear, quadratic, bin-optimal with its bound."""
    from qnet.plots.common import figure_png, new_figure

    fig = new_figure(6.4, 4.2)
    ax = fig.add_subplot(1, 1, 1)
    c = curves.c_t
    ax.plot(c, curves.classical, "k-o", ms=3, label="classical (best threshold pair)")
    ax.plot(c, curves.linear, "C0-s", ms=3, label="quantum, linear Δ (eq. 6)")
    ax.plot(c, curves.quadratic, "C1-^", ms=3, label="quantum, quadratic Δ")
    ax.plot(c, curves.optimal_lower, "C3-", label=f"quantum, optimal on {curves.bins} bins")
    ax.fill_between(
        c,
        curves.optimal_lower,
        curves.optimal_upper,
        color="C3",
        alpha=0.2,
        label="rigorous upper bound",
    )
    ax.axvline(c_min, color="0.5", ls=":", lw=1, label=f"C_min = {c_min:.4f}")
    ax.set_xlabel("C_t  (bunch iff (1−a)(1−b) ≥ C_t)")
    ax.set_ylabel("win probability")
    ax.set_title("Sum-threshold game (QuNet'25)")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, loc="lower right")
    return figure_png(fig, dpi=120)


def _table(rep: SumThresholdReport) -> Table:
    from rich import box
    from rich.table import Table

    t = Table(
        title=f"qnet game sum-threshold: C_t = {rep.c_t:.4f} (C_min = {rep.C_min:.4f})",
        box=box.SIMPLE_HEAD,
        caption="win probability of 'bunch iff (1−a)(1−b) ≥ C_t', a, b = 1 − e^{−μx}",
    )
    for name in ("strategy", "P_win", "parameters"):
        t.add_column(name, justify="left" if name != "P_win" else "right", no_wrap=True)
    th = rep.classical_thresholds
    t.add_row(
        "classical (best threshold pair)",
        f"{rep.classical_win_probability:.5f}",
        f"α={th['alpha']:.4f}, β={th['beta']:.4f}, sign {th['sign']:+d}",
    )
    t.add_row(
        f"classical, annealing N={rep.annealing_bins}",
        f"{rep.annealing_win_probability:.5f}",
        f"seed {rep.annealing_seed}",
    )
    t.add_row(
        "quantum, linear Δ",
        f"{rep.quantum_win_probability_linear:.5f}",
        "d = (" + ", ".join(f"{d:.3f}" for d in rep.linear_coefficients) + ")",
    )
    t.add_row(
        "quantum, quadratic Δ",
        f"{rep.quantum_win_probability_quadratic:.5f}",
        "d = (" + ", ".join(f"{d:.3f}" for d in rep.quadratic_coefficients) + ")",
    )
    t.add_row(
        f"quantum, optimal ({rep.optimal_bins} bins)",
        f"{rep.quantum_win_probability_optimal:.5f}",
        f"rank {rep.optimal_rank} (qubit angles in a plane)",
    )
    t.add_row("quantum, upper bound", f"{rep.quantum_upper_bound:.5f}", "rigorous, any strategy")
    return t


def _convergence_lines(rep: SumThresholdReport) -> list[str]:
    lines = ["optimal quantum value on refining bins (lower: playable, upper: rigorous):"]
    for row in rep.convergence:
        lines.append(
            f"  n = {row['bins']:>4}  {row['lower']:.6f} ≤ P* ≤ {row['upper']:.6f}  "
            f"({row['method']}, rank {row['rank']})"
        )
    return lines


def _qos_lines(q: dict) -> list[str]:
    fam = q["families"]
    lines = [
        f"QoS limit W_l = {q['w_limit']:g} [1/μ], λ = {q['lam']:g}, μ = {q['mu']:g} "
        "(exact A12 mean wait); splitting probability each strategy needs:",
        f"  {'w-threshold oracle (A12 optimum)':<39}p = {q['p_w_oracle']:.4f}",
        f"  {'sum-threshold oracle (Thm 4.1)':<39}p = {q['p_sum_oracle']:.4f}",
        f"  {'best threshold pairs (QoS direct)':<39}p = {q['p_threshold_pairs']:.4f}",
    ]
    for name in ("classical", "linear", "optimal"):
        f = fam[name]
        label = f"game family {name} (C_t = {f['c_t']:.4f})"
        lines.append(f"  {label:<39}p = {f['p']:.4f}")
    for k, r in q["R_k"].items():
        lines.append(
            f"  R_k ({k}) vs game classical: linear {r['linear']:.4f}, optimal {r['optimal']:.4f}"
        )
    for k, r in q["R_k_vs_threshold_pairs"].items():
        lines.append(
            f"  R_k ({k}) vs best threshold pairs: linear {r['linear']:.4f}, "
            f"optimal {r['optimal']:.4f}"
        )
    return lines


def sum_threshold_command(
    c_t: Annotated[
        float | None,
        typer.Option("--c-t", help="C_t in (0, 1) of the headline values (default: C_min)."),
    ] = None,
    bins: Annotated[
        int, typer.Option("--bins", help="Input bins of the optimal quantum bound (8–2000).")
    ] = 512,
    c_start: Annotated[float, typer.Option("--c-start", help="First C_t of the curves.")] = 0.1,
    c_stop: Annotated[float, typer.Option("--c-stop", help="Last C_t of the curves.")] = 0.7,
    points: Annotated[int, typer.Option("--points", help="C_t values on the curves (2–200).")] = 13,
    curve_bins: Annotated[
        int, typer.Option("--curve-bins", help="Input bins of the optimal curve (8–2000).")
    ] = 128,
    anneal_sweeps: Annotated[
        int, typer.Option("--anneal-sweeps", help="Annealing passes over N = 1000 bins (≥ 1).")
    ] = 20,
    seed: Annotated[int, typer.Option("--seed", help="Seed of the annealing (≥ 0).", min=0)] = 0,
    w_limit: Annotated[
        float | None,
        typer.Option(
            "--w-limit",
            help="QoS limit W_l on the mean wait [1/μ]: adds the p each strategy needs, R_k "
            "and the Theorem 4.1 check (exact A12 wait).",
        ),
    ] = None,
    lam: Annotated[
        float, typer.Option("--lam", help="Pair arrival rate λ (QoS; ρ = λ/μ < 1).")
    ] = 0.8,
    mu: Annotated[float, typer.Option("--mu", help="Service rate μ (QoS).")] = 1.0,
    k_values: Annotated[
        list[float] | None,
        typer.Option("--k", help="Degree k of T(t) = t^k for R_k (repeatable; default 2, 3)."),
    ] = None,
    out: OutOption = None,
    as_json: JsonOption = False,
) -> None:
    """Classical, annealing, linear/quadratic/optimal quantum values; P_win against C_t."""
    from qnet.games.sum_threshold.report import c_grid, sum_threshold_report

    if c_t is not None:
        check_range("--c-t", c_t, 0.0, 1.0, open_low=True, open_high=True)
    check_range("--c-start", c_start, 0.0, 1.0, open_low=True, open_high=True)
    check_range("--c-stop", c_stop, c_start, 1.0, open_low=True, open_high=True)
    check_range("--points", points, 2, 200)
    check_range("--bins", bins, 8, 2000)
    check_range("--curve-bins", curve_bins, 8, 2000)
    check_range("--anneal-sweeps", anneal_sweeps, 1)
    check_range("--lam", lam, 0.0, open_low=True)
    check_range("--mu", mu, lam, open_low=True)
    for k in k_values or []:
        check_range("--k", k, 0.0, open_low=True)
    try:
        grid = c_grid(c_start, c_stop, points)
        with stage_progress("sum-threshold", disable=as_json) as progress:
            rep = sum_threshold_report(
                c_t=c_t,
                bins=bins,
                c_values=grid,
                curve_bins=curve_bins,
                anneal_sweeps=anneal_sweeps,
                seed=seed,
                progress=progress,
            )
            qos = None
            if w_limit is not None:
                from qnet.games.sum_threshold.report import qos_report
                from qnet.queues.model import SystemParams

                progress("QoS", 0.0)
                qos = qos_report(w_limit, SystemParams(lam=lam, mu=mu), ks=k_values or (2.0, 3.0))
    except ValueError as err:
        msg = str(err)
        fail("--w-limit = " + msg[len("w_l = ") :] if msg.startswith("w_l = ") else msg)
        return
    result = rep.to_dict()
    if qos is not None:
        result["qos"] = qos
    settings = {
        "c_t": c_t,
        "bins": bins,
        "c": [c_start, c_stop, points],
        "curve_bins": curve_bins,
        "anneal_sweeps": anneal_sweeps,
        "seed": seed,
        "qos": [w_limit, lam, mu, k_values],
    }
    stem = f"sum-threshold-{settings_digest(settings)}"
    png = write_atomic(results_path(out, f"{stem}.png"), curves_png(rep.curves, rep.C_min))
    result["png"] = str(png)
    if as_json:
        print_json(result)
        return
    console = report_console(110)
    console.print(_table(rep))
    for line in _convergence_lines(rep):
        console.print(line)
    if qos is not None:
        for line in _qos_lines(qos):
            console.print(line)
    console.print(f"plot: {png}")


def register(game_app: typer.Typer) -> None:
    """Add ``qnet game sum-threshold``."""
    game_app.command("sum-threshold")(sum_threshold_command)
