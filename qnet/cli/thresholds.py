"""``qnet thresholds``: critical visibility/fidelity and retained advantage under noise."""

from __future__ import annotations

import csv
import io
import math
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import numpy as np
import typer

from qnet.cli.frontier import QuantumFamily
from qnet.cli.options import (
    ANALYSIS_OPTION_NAMES,
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
    SetOption,
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
    from qnet.games.routing.noise_aware import RetainedGrid

__all__ = ["register", "thresholds_csv", "thresholds_figure_png"]


def thresholds_csv(grid: RetainedGrid) -> str:
    """One CSV row per (p, fidelity, availability): retained advantage, V − C, v_c, F_c."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(
        [
            "p",
            "fidelity",
            "visibility",
            "availability",
            "retained",
            "advantage",
            "critical_visibility",
            "critical_fidelity",
            "critical_visibility_at_availability",
            "readout_error_a",
            "readout_error_b",
            "certificate",
        ]
    )
    for i, p in enumerate(grid.p):
        crit = grid.critical[i]
        for j, fid in enumerate(grid.fidelity):
            for k, a in enumerate(grid.availability):
                writer.writerow(
                    [
                        repr(float(p)),
                        repr(float(fid)),
                        repr(float(grid.visibility[j])),
                        repr(float(a)),
                        repr(float(grid.retained[i, j, k])),
                        repr(float(grid.advantage[i, j, k])),
                        repr(crit.visibility),
                        repr(crit.fidelity),
                        repr(float(grid.critical_by_availability[i, k])),
                        repr(grid.readout_error_a),
                        repr(grid.readout_error_b),
                        grid.certificate,
                    ]
                )
    return buf.getvalue()


def thresholds_figure_png(grid: RetainedGrid, dpi: int = 110) -> bytes:
    """Heat map of the retained advantage over fidelity × availability, one panel per p,
    with the critical-fidelity contour F_c(a) = (3 v_c(p, a) + 1)/4 (solid; flat in a > 0,
    see :mod:`qnet.games.routing.noise_aware`) and the 50 %-retained contour (dashed) on top."""
    from qnet.plots.common import figure_png, new_figure

    n = grid.p.size
    cols = min(n, 3)
    rows = math.ceil(n / cols)
    fig = new_figure(4.2 * cols, 3.6 * rows)
    axes = fig.subplots(rows, cols, squeeze=False)
    mesh = None
    for i, p in enumerate(grid.p):
        ax = axes[i // cols][i % cols]
        data = np.ma.masked_invalid(grid.retained[i])
        mesh = ax.pcolormesh(
            grid.availability,
            grid.fidelity,
            data,
            shading="nearest",
            vmin=0.0,
            vmax=1.0,
            cmap="viridis",
        )
        vc = grid.critical_by_availability[i]
        ok = np.isfinite(vc)
        if ok.any():
            ax.plot(
                grid.availability[ok],
                (3.0 * vc[ok] + 1.0) / 4.0,
                color="white",
                lw=2,
                label="F_c (advantage above)",
            )
        if np.nanmax(grid.retained[i], initial=0.0) > 0.5 and min(data.shape) > 1:
            ax.contour(
                grid.availability,
                grid.fidelity,
                np.nan_to_num(grid.retained[i]),
                levels=[0.5],
                colors="white",
                linestyles="--",
                linewidths=1.2,
            )
            ax.plot([], [], color="white", ls="--", lw=1.2, label="50 % retained")
        if ok.any() or np.nanmax(grid.retained[i], initial=0.0) > 0.5:
            ax.legend(loc="lower right", fontsize=8)
        ax.set_ylim(grid.fidelity.min(), grid.fidelity.max())
        ax.set_title(f"p = {p:g}: F_c = {grid.critical[i].fidelity:.4f} at a = 1", fontsize=10)
        ax.set_xlabel("availability a")
        ax.set_ylabel("fidelity F (Werner)")
    for k in range(n, rows * cols):
        axes[k // cols][k % cols].set_visible(False)
    if mesh is not None:
        fig.colorbar(mesh, ax=axes, label="retained advantage (fraction of ideal)")
    fig.suptitle(
        f"Retained quantum routing advantage (Werner pairs, readout e_A = "
        f"{grid.readout_error_a:g}, e_B = {grid.readout_error_b:g}; "
        f"{grid.certificate} certificate, {grid.quantum_family} angles)"
    )
    return figure_png(fig, dpi)


_OPTION_NAMES = {
    **ANALYSIS_OPTION_NAMES,
    "p (splitting probability)": "--p",
    "quantum_step": "--quantum-step",
    "readout_error_a": "--readout-error-a",
    "readout_error_b": "--readout-error-b",
    "xtol": "--xtol",
}


def _axis(name: str, low: float, high: float, points: int, floor: float) -> np.ndarray:
    if not (math.isfinite(low) and floor <= low <= high):
        fail(f"--{name}-min must be in [{floor:g}, {high:g}], got {low!r}")
    if points < 1:
        fail(f"--{name}-points must be >= 1, got {points!r}")
    return np.linspace(low, high, points) if points > 1 else np.array([high])


def thresholds_command(
    lam: LamOption = 0.8,
    mu: MuOption = 1.0,
    alpha: AlphaOption = 0.5,
    phi_max: PhiMaxOption = 1.0,
    p_values: Annotated[
        list[float] | None,
        typer.Option("--p", help="Target splitting probability in (0, 1/2) (repeatable)."),
    ] = None,
    p_start: PStartOption = 0.05,
    p_stop: PStopOption = 0.35,
    p_step: PStepOption = 0.05,
    certificate: CertificateOption = Certificate.tight,
    epsilon: EpsilonOption = 0.01,
    fidelity_min: Annotated[
        float, typer.Option("--fidelity-min", help="Lowest Werner fidelity of the grid, ≥ 0.25.")
    ] = 0.92,
    fidelity_points: Annotated[
        int, typer.Option("--fidelity-points", help="Fidelity grid points up to F = 1.")
    ] = 17,
    availability_min: Annotated[
        float, typer.Option("--availability-min", help="Lowest availability of the grid, ≥ 0.")
    ] = 0.0,
    availability_points: Annotated[
        int, typer.Option("--availability-points", help="Availability grid points up to a = 1.")
    ] = 11,
    readout_error_a: Annotated[
        float, typer.Option("--readout-error-a", help="Readout flip probability at A, [0, 0.5].")
    ] = 0.0,
    readout_error_b: Annotated[
        float, typer.Option("--readout-error-b", help="Readout flip probability at B, [0, 0.5].")
    ] = 0.0,
    quantum: Annotated[
        QuantumFamily,
        typer.Option(
            "--quantum",
            help="Quantum strategies: optimal (line family) or polynomial (paper, --degree).",
        ),
    ] = QuantumFamily.optimal,
    degree: DegreeOption = 2,
    quadrature_points: QuadratureOption = 60,
    restarts: RestartsOption = 20,
    seed: RestartSeedOption = 1,
    quantum_step: Annotated[
        float,
        typer.Option("--quantum-step", help="p'' step of the ideal strategies noise maps from."),
    ] = 0.0025,
    xtol: Annotated[
        float, typer.Option("--xtol", help="Bisection tolerance of v_c (in visibility).")
    ] = 1e-6,
    out: OutOption = None,
    as_json: JsonOption = False,
    plot: Annotated[bool, typer.Option("--plot/--no-plot", help="Write the heat-map PNG.")] = True,
    scenario_path: Annotated[
        Path | None,
        typer.Option(
            "--scenario", help="Critical storage time / fidelity for this scenario's noise."
        ),
    ] = None,
    sets: SetOption = None,
) -> None:
    """Critical visibility v_c(p), fidelity F_c(p) and retained advantage (Sec. VII)."""
    if scenario_path is not None:  # the scenario's own noise: one place, qnet.planning
        from qnet.cli.plan import scenario_thresholds

        scenario_thresholds(scenario_path, sets, p_values, as_json)
        return
    if sets:
        fail("--set: allowed with --scenario FILE only (it overrides a scenario value)")
        return
    from qnet.games.routing.frontier import p_grid_from_range
    from qnet.games.routing.noise_aware import noise_reference, retained_grid
    from qnet.physics.noise import readout_factor
    from qnet.queues.model import SystemParams

    check_epsilon(certificate, epsilon)
    check_quantum_options(p_values, degree, quadrature_points, restarts)
    fids = _axis("fidelity", fidelity_min, 1.0, fidelity_points, 0.25)
    avs = _axis("availability", availability_min, 1.0, availability_points, 0.0)
    try:
        params = SystemParams(lam=lam, mu=mu, alpha=alpha, phi_max=phi_max)
        readout_factor(readout_error_a, readout_error_b)  # refuse bad input before the work
        if not (math.isfinite(xtol) and 0.0 < xtol < 0.5):
            raise ValueError(f"xtol must be in (0, 0.5), got {xtol!r}")
        targets = (
            [float(p) for p in p_values]
            if p_values
            else [float(p) for p in p_grid_from_range(p_start, p_stop, p_step)]
        )
        with stage_progress("ideal frontier", disable=as_json) as progress:
            ref = noise_reference(
                targets,
                params,
                method=certificate.value,
                epsilon=epsilon,
                degree=degree,
                quadrature_points=quadrature_points,
                restarts=restarts,
                seed=seed,
                quantum_step=quantum_step,
                progress=progress,
                quantum=quantum.value,
            )
            progress("thresholds", 0.0)
            grid = retained_grid(
                ref, sorted(set(targets)), fids, avs, readout_error_a, readout_error_b, xtol=xtol
            )
    except ValueError as err:
        fail(option_message(str(err), _OPTION_NAMES))
        return
    result = grid.to_dict()
    result["params"] = {"lam": lam, "mu": mu, "alpha": alpha, "phi_max": phi_max}
    settings = {
        "params": result["params"],
        "certificate": certificate.value,
        "epsilon": epsilon if certificate is Certificate.paper else None,
        "p": result["p"],
        "fidelity": result["fidelity"],
        "availability": result["availability"],
        "readout": [readout_error_a, readout_error_b],
        "degree": degree,
        "quadrature_points": quadrature_points,
        "restarts": restarts,
        "seed": seed,
        "quantum_step": quantum_step,
        "xtol": xtol,
        "quantum_family": quantum.value,
    }
    result["settings"] = settings
    stem = f"thresholds-{quantum.value}-{certificate.value}-{settings_digest(settings)}"
    result["csv"] = str(write_atomic(results_path(out, f"{stem}.csv"), thresholds_csv(grid)))
    if plot:
        png = thresholds_figure_png(grid)
        result["png"] = str(write_atomic(results_path(out, f"{stem}.png"), png))
    if as_json:
        print_json(result)
        return
    _print_text(grid, result)


def _fmt(x: float, digits: int = 4) -> str:
    return "—" if not math.isfinite(x) else f"{x:.{digits}f}"


def _print_text(grid: RetainedGrid, result: dict[str, object]) -> None:
    from rich import box
    from rich.table import Table

    console = report_console(120)
    readout = f"e_A = {grid.readout_error_a:g}, e_B = {grid.readout_error_b:g}"
    t = Table(
        title=f"qnet thresholds: Werner pairs, {readout}, {grid.certificate} certificate, "
        f"{grid.quantum_family} quantum strategies",
        box=box.SIMPLE_HEAD,
        caption="v_c, F_c: smallest visibility/fidelity (a = 1) at which the best strategy "
        "beats the certified classical envelope at p; naive: noiseless-optimal angles, "
        "judged at their achieved p; ideal ΔWq reduction = (V − C)/2 [1/μ]",
    )
    for name in ("p", "v_c", "F_c", "v_c naive", "F_c naive", "ideal ΔWq reduction"):
        t.add_column(name, justify="right", no_wrap=True)
    for i, p in enumerate(grid.p):
        c, cn = grid.critical[i], grid.critical_naive[i]
        t.add_row(
            f"{p:g}",
            _fmt(c.visibility),
            _fmt(c.fidelity),
            _fmt(cn.visibility),
            _fmt(cn.fidelity),
            _fmt(grid.ideal_advantage[i] / 2) if grid.ideal_advantage[i] > 0 else "none",
        )
    console.print(t)
    low = grid.lowest_critical
    console.print(
        "no advantage at any p, even with ideal pairs"
        if low is None
        else f"lowest critical fidelity: F_c = {low.fidelity:.4f} (v_c = {low.visibility:.4f}) "
        f"at p = {low.p:g}"
    )
    for i, p in enumerate(grid.p):
        rt = Table(
            title=f"retained advantage at p = {p:g} (rows: fidelity F, columns: availability a)",
            box=box.SIMPLE_HEAD,
        )
        rt.add_column("F \\ a", justify="right")
        for a in grid.availability:
            rt.add_column(f"{a:.2f}", justify="right")
        for j, fid in enumerate(grid.fidelity):
            rt.add_row(f"{fid:.4f}", *(_fmt(r, 2) for r in grid.retained[i, j]))
        console.print(rt)
    console.print(f"v_c bisection tolerance {grid.critical[0].xtol:g} in visibility")
    console.print(f"csv: {result['csv']}" + (f"\nplot: {result['png']}" if "png" in result else ""))


def register(app: typer.Typer) -> None:
    """Add ``qnet thresholds`` to the CLI."""
    app.command("thresholds")(thresholds_command)
