"""``qnet frontier``: the waiting-time–throughput Pareto frontier and the paper's Fig. 3."""

from __future__ import annotations

import csv
import io
from enum import StrEnum
from typing import TYPE_CHECKING, Annotated

import typer

from qnet.cli.options import (
    AlphaOption,
    Certificate,
    CertificateOption,
    DegreeOption,
    EpsilonOption,
    JsonOption,
    LamOption,
    MuOption,
    OutOption,
    PhiMaxOption,
    PStartOption,
    PStepOption,
    PStopOption,
    QuadratureOption,
    RestartSeedOption,
    RestartsOption,
    check_epsilon,
    check_quantum_options,
    fail,
    option_message,
    print_json,
    report_console,
    results_path,
    settings_digest,
    stage_progress,
)
from qnet.io import write_atomic

if TYPE_CHECKING:
    from rich.table import Table

    from qnet.games.routing.frontier import Frontier

__all__ = ["QuantumFamily", "frontier_csv", "register"]


class QuantumFamily(StrEnum):
    """Quantum strategy families of ``qnet frontier``."""

    optimal = "optimal"
    polynomial = "polynomial"


LINE_COLUMNS = ["a_A_x", "a_A_y", "b_A_x", "b_A_y", "a_B_x", "a_B_y", "b_B_x", "b_B_y"]


def frontier_csv(frontier: Frontier) -> str:
    """One CSV row per p: throughput, payoffs, bounds, gaps, advantage, strategy coefficients.

    The quantum upper bound and the other family's payoff follow the fixed columns when
    present; strategy columns are a0..an, b0..bn (polynomial) or the two lines' points
    a_A, b_A, a_B, b_B (optimal).
    """
    fr = frontier
    n1 = fr.degree + 1
    cols = [
        "p",
        "throughput",
        "baseline_throughput",
        "oracle_payoff",
        "oracle_error",
        "classical_best",
        "classical_bound",
        "classical_envelope",
        "classical_achieved",
        "classical_benchmark",
        "quantum_payoff",
        "quantum_error",
        "quantum_converged",
        "gap_classical",
        "gap_quantum",
        "gap_classical_achieved",
        "reduction",
        "advantage",
    ]
    optional = [
        c for c in ("quantum_upper_bound", "quantum_other_payoff") if getattr(fr, c) is not None
    ]
    if fr.quantum_family == "optimal":
        coeffs = LINE_COLUMNS
    else:
        coeffs = [f"a{k}" for k in range(n1)] + [f"b{k}" for k in range(n1)]
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(cols + optional + coeffs)
    arrays = [getattr(fr, c) for c in cols + optional]
    for i, strategy in enumerate(fr.quantum_strategies):
        row = []
        for arr in arrays:
            v = arr[i].item()
            row.append(int(v) if isinstance(v, bool) else repr(float(v)))
        row += [repr(float(c)) for c in strategy.to_vector()]
        writer.writerow(row)
    return buf.getvalue()


def _table(fr: Frontier) -> Table:
    from rich import box
    from rich.table import Table

    cert = "tight" if fr.method == "tight" else f"paper, ε={fr.epsilon:g}"
    family = "optimal" if fr.quantum_family == "optimal" else f"degree {fr.degree}"
    t = Table(
        title=f"qnet frontier: λ={fr.params.lam:g}, μ={fr.params.mu:g}, α={fr.params.alpha:g}, "
        f"quantum {family}, certificate {cert}",
        box=box.SIMPLE_HEAD,
        caption="A: game payoff (A* oracle, cl: certified classical benchmark, qu: quantum); "
        "ΔWq = (A* − A)/2 [1/μ]; 𝒯: normalized throughput (eq. 10)",
    )
    names = ["p", "𝒯", "A*", "A cl", "A qu"]
    if fr.quantum_upper_bound is not None:
        names.append("A qu ≤")
    for name in (*names, "ΔWq cl", "ΔWq qu", "reduction", "adv"):
        t.add_column(name, justify="right", no_wrap=True)
    for i, p in enumerate(fr.p):
        bound = [] if fr.quantum_upper_bound is None else [f"{fr.quantum_upper_bound[i]:.4f}"]
        t.add_row(
            f"{p:.3f}",
            f"{fr.throughput[i]:.4f}",
            f"{fr.oracle_payoff[i]:.4f}",
            f"{fr.classical_benchmark[i]:.4f}",
            f"{fr.quantum_payoff[i]:.4f}",
            *bound,
            f"{fr.gap_classical[i]:.4f}",
            f"{fr.gap_quantum[i]:.4f}",
            f"{fr.reduction[i]:+.4f}",
            "✓" if fr.advantage[i] else "",
        )
    return t


def _summary_lines(fr: Frontier) -> list[str]:
    region = fr.advantage_region
    lines = [
        "certified advantage region: "
        + (f"p ∈ [{region[0]:g}, {region[1]:g}]" if region else "none on this grid")
        + ("" if fr.advantage_contiguous else " (not contiguous: see the adv. column)"),
        f"largest reduction ΔWq_cl − ΔWq_qu = {fr.max_reduction:.4f} [1/μ] at "
        f"p = {fr.p_at_max_reduction:g}, relative {100 * fr.relative_reduction_at_max:.1f} %",
        "numbers are deterministic quadrature: oracle error ≤ "
        f"{max(fr.oracle_error):.1e}, quantum adaptive error ≤ {max(fr.quantum_error):.1e}",
    ]
    if fr.quantum_upper_bound is not None:
        slack = fr.quantum_upper_bound - fr.quantum_payoff
        lines.append(
            f"every quantum strategy is certified within {max(slack):.1e} of the "
            f"{fr.quantum_family} family's payoff (column A qu ≤)"
        )
    if not all(fr.quantum_converged):
        bad = [f"{p:g}" for p, ok in zip(fr.p, fr.quantum_converged, strict=True) if not ok]
        lines.append("warning: quantum optimizer did not converge at p = " + ", ".join(bad))
    return lines


def frontier_command(
    lam: LamOption = 0.8,
    mu: MuOption = 1.0,
    alpha: AlphaOption = 0.5,
    phi_max: PhiMaxOption = 1.0,
    degree: DegreeOption = 2,
    quadrature_points: QuadratureOption = 60,
    quantum: Annotated[
        QuantumFamily,
        typer.Option(
            "--quantum",
            help="Quantum strategies: optimal (line family, certified) or polynomial (paper).",
        ),
    ] = QuantumFamily.optimal,
    restarts: RestartsOption = 20,
    seed: RestartSeedOption = 1,
    certificate: CertificateOption = Certificate.tight,
    epsilon: EpsilonOption = 0.01,
    p_start: PStartOption = 0.025,
    p_stop: PStopOption = 0.475,
    p_step: PStepOption = 0.025,
    p_values: Annotated[
        list[float] | None,
        typer.Option("--p", help="Explicit p value (repeatable); replaces the range."),
    ] = None,
    anchor_spacing: Annotated[
        float,
        typer.Option("--anchor-spacing", help="p spacing of the points that get restarts."),
    ] = 0.05,
    out: OutOption = None,
    as_json: JsonOption = False,
    plot: Annotated[bool, typer.Option("--plot/--no-plot", help="Write the Fig. 3 PNG.")] = True,
    dual_check: Annotated[
        bool,
        typer.Option(
            "--dual-check",
            help="Also bound shared-randomness mixtures off the grid (dual certificate).",
        ),
    ] = False,
) -> None:
    """Certified classical vs quantum waiting-time gap against throughput (Thm 4, Fig. 3)."""
    from qnet.games.routing.frontier import p_grid_from_range, pareto_frontier
    from qnet.plots.frontier import frontier_figure_png
    from qnet.queues.model import SystemParams

    check_epsilon(certificate, epsilon)
    check_quantum_options(p_values, degree, quadrature_points, restarts)
    try:
        params = SystemParams(lam=lam, mu=mu, alpha=alpha, phi_max=phi_max)
        grid = list(p_values) if p_values else p_grid_from_range(p_start, p_stop, p_step)
        with stage_progress("frontier", disable=as_json) as progress:
            fr = pareto_frontier(
                grid,
                params,
                method=certificate.value,
                epsilon=epsilon,
                degree=degree,
                quadrature_points=quadrature_points,
                restarts=restarts,
                seed=seed,
                anchor_spacing=anchor_spacing,
                dual_check=dual_check,
                progress=progress,
                quantum=quantum.value,
                quantum_bound=True,
                compare_families=True,
            )
    except ValueError as err:
        fail(option_message(str(err)))
        return
    result = fr.to_dict()
    settings = {
        k: result[k]
        for k in (
            "params",
            "certificate",
            "epsilon",
            "degree",
            "quadrature_points",
            "restarts",
            "seed",
            "anchor_spacing",
            "dual_check",
            "p",
            "quantum_family",
        )
    }
    cert = certificate.value + (f"-eps{epsilon:g}" if certificate is Certificate.paper else "")
    stem = f"frontier-{quantum.value}-{cert}-{settings_digest(settings)}"
    csv_path = write_atomic(results_path(out, f"{stem}.csv"), frontier_csv(fr))
    result["csv"] = str(csv_path)
    if plot:
        result["png"] = str(write_atomic(results_path(out, f"{stem}.png"), frontier_figure_png(fr)))
    if as_json:
        print_json(result)
        return
    out_console = report_console(110)
    out_console.print(_table(fr))
    for line in _summary_lines(fr):
        out_console.print(line)
    out_console.print(f"csv: {csv_path}" + (f"\nplot: {result['png']}" if plot else ""))


def register(app: typer.Typer) -> None:
    """Add ``qnet frontier`` to the CLI."""
    app.command("frontier")(frontier_command)
