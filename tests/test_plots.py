"""Figures: ``qnet sweep`` then ``qnet plot`` end to end, ``qnet show`` and its topology.

The sweep fixture runs the real main job (analytic engine, 1000 decisions) on a crossed
2 x 2 grid, so the plot test exercises the same store columns users get.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from matplotlib.image import imread
from typer.testing import CliRunner

from qnet.cli.app import app
from qnet.config import Scenario
from qnet.plots.sweep import PlotError, sweep_figure_png
from qnet.sweeps.store import load_results, load_sweeps
from qnet.topology import topology_graph

BASE = """
name = "tiny"
[strategy]
restarts = 1
quadrature_points = 24
[engine]
name = "analytic"
[run]
decisions = 1000
warmup_decisions = 100
batches = 10
"""
SWEEP = """
name = "grid"
base = "base.toml"
seed = 4
[axes]
"link.arm_a_km" = {start = 1, stop = 60, num = 2, log = true, also = ["link.arm_b_km"]}
"traffic.load" = [0.5, 0.8]
"""


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = tmp_path_factory.mktemp("sweep")
    (d / "base.toml").write_text(BASE)
    (d / "sweep.toml").write_text(SWEEP)
    res = CliRunner().invoke(
        app,
        ["sweep", str(d / "sweep.toml"), "--store", str(d / "r.sqlite"), "--workers", "2",
         "--json"],
    )  # fmt: skip
    assert res.exit_code == 0, res.output
    summary = json.loads(res.stdout)
    assert (summary["points"], summary["done"], summary["failed"]) == (4, 4, 0)
    return d / "r.sqlite"


def _assert_real_png(path: Path, width: int, height: int, coloured_share: float) -> np.ndarray:
    """The PNG has the expected pixel size and real content: drawn and coloured pixels.

    ``coloured_share``: least share of saturated pixels (lines and markers cover ~0.5 %,
    two heat maps ~15 %); a blank or grey-only figure fails.
    """
    img = imread(path)
    assert img.shape[:2] == (height, width)
    rgb = img[..., :3]
    non_white = (rgb < 0.95).any(axis=-1).mean()
    assert non_white > 0.05, f"only {non_white:.1%} of the pixels are drawn"
    coloured = (rgb.max(axis=-1) - rgb.min(axis=-1) > 0.2).mean()
    assert coloured > coloured_share, f"only {coloured:.2%} coloured pixels"
    return img


def test_plot_crossed_sweep_gives_lines_and_heat_maps(store: Path, tmp_path: Path) -> None:
    """Two crossed axes: 3 panel columns (lines + heat maps) at 15 x 8 in, 110 dpi."""
    out = tmp_path / "fig.png"
    res = CliRunner().invoke(app, ["plot", str(store), "--out", str(out), "--json"])
    assert res.exit_code == 0, res.output
    assert json.loads(res.stdout)["png"] == str(out)
    _assert_real_png(out, width=1650, height=880, coloured_share=0.1)
    assert [p.name for p in tmp_path.iterdir()] == ["fig.png"]  # atomic: no temp left


def test_plot_one_axis_after_filter_has_no_heat_map(store: Path, tmp_path: Path) -> None:
    out = tmp_path / "one.png"
    res = CliRunner().invoke(
        app,
        ["plot", str(store), "--where", "traffic.load=0.8", "--estimate", "queue", "--out",
         str(out)],
    )  # fmt: skip
    assert res.exit_code == 0, res.output
    _assert_real_png(out, width=1100, height=880, coloured_share=0.003)


def test_store_has_every_metric_with_ci_and_bookkeeping(store: Path) -> None:
    df = load_results(store)
    for col in ("gap_reduction", "retained_share", "availability", "mean_fidelity_at_use"):
        assert df[f"{col}_ci95"].notna().all()
    assert (df["engine"] == "analytic").all() and df["seed"].is_unique
    assert (df["scenario_digest"] == df["point_id"]).all()
    assert df["qnet_version"].notna().all() and (df["wall_time_s"] > 0).all()
    # more fiber means fewer pairs ready at decision time
    longer = df.groupby("link.arm_a_km")["availability"].mean()
    assert longer.loc[60.0] < longer.loc[1.0]


def test_plot_errors_name_the_problem(store: Path) -> None:
    df = load_results(store)
    spec = load_sweeps(store)["grid"]
    with pytest.raises(PlotError, match=r"--x 'link.memory_slots' is not a swept axis"):
        sweep_figure_png(df, spec, x="link.memory_slots")
    with pytest.raises(PlotError, match=r"no finished \(status 'ok'\) points"):
        sweep_figure_png(df.assign(status="failed"), spec)
    with pytest.raises(PlotError, match=r"estimate = 'median' is not a valid choice"):
        sweep_figure_png(df, spec, estimate="median")
    with pytest.raises(PlotError, match=r"no column\(s\) \['gap_reduction_game'"):
        sweep_figure_png(df.drop(columns=["gap_reduction_game"]), spec)
    three = dict(spec, axes=[*spec["axes"], {"key": "seed"}])
    with pytest.raises(PlotError, match=r"more than two axes vary \(seed has \["):
        sweep_figure_png(df, three)


def test_topology_graph_is_the_scenario_link() -> None:
    s = Scenario.model_validate({"link": {"arm_a_km": 12.5, "arm_b_km": 30.0}})
    g = topology_graph(s)
    assert sorted(g.nodes) == ["router_a", "router_b", "station"]
    assert g.edges["router_a", "station"]["length_km"] == 12.5
    assert g.edges["station", "router_b"]["loss_db"] == pytest.approx(30.0 * 0.2)


def test_show_prints_every_value_and_draws_the_topology(tmp_path: Path) -> None:
    path = tmp_path / "metro.toml"
    path.write_text('[link]\narm_a_km = 10\n[engine]\nname = "analytic"\n')
    png = tmp_path / "topo.png"
    runner = CliRunner()
    res = runner.invoke(app, ["show", str(path), "--set", "traffic.load=0.6", "--png", str(png)])
    assert res.exit_code == 0, res.output
    for text in ("link.arm_a_km", "traffic.load", "0.6", "queue.phi_max", "default"):
        assert text in res.stdout
    _assert_real_png(png, width=770, height=264, coloured_share=0.02)
    res = runner.invoke(app, ["show", str(path), "--no-draw", "--json"])
    data = json.loads(res.stdout)
    assert (
        data["scenario"]["link"]["arm_a_km"] == 10 and data["scenario"]["traffic"]["load"] is None
    )
    res = runner.invoke(app, ["show", str(path), "--set", "link.raw_fidelity=1.5"])
    assert res.exit_code == 2
    assert "link.raw_fidelity = 1.5 is out of range: allowed [0.25, 1]" in res.stderr


def test_show_at_80_columns_keeps_keys_whole_and_names_each_value_source(tmp_path: Path) -> None:
    """At 80 columns every key is printed whole on its row, with its source (file / --set /
    default) in the same row; a multi-line description shows no literal backslash-n; an
    unwritable --png is one error line (exit 2)."""
    from qnet.config import reference_rows

    path = tmp_path / "s.toml"
    path.write_text('description = """two\nlines"""\n[link]\narm_a_km = 10\n')
    runner = CliRunner()
    args = ["show", str(path), "--set", "traffic.load=0.6", "--no-draw"]
    res = runner.invoke(app, args, env={"COLUMNS": "80"})
    assert res.exit_code == 0, res.output
    lines = res.stdout.splitlines()
    assert max(len(ln) for ln in lines) <= 80
    sources = {}
    for key, *_ in reference_rows():
        row = [ln.split() for ln in lines if ln.split()[:1] == [key]]
        assert len(row) == 1, key  # whole key at the start of exactly one row
        sources[key] = [w for w in row[0] if w in ("file", "--set", "default")][-1]
    assert sources["link.arm_a_km"] == "file" and sources["traffic.load"] == "--set"
    assert sources["queue.phi_max"] == "default" and sources["description"] == "file"
    assert "two lines" in res.stdout and "\\n" not in res.stdout
    blocker = tmp_path / "file.txt"
    blocker.write_text("")
    res = runner.invoke(app, ["show", str(path), "--png", str(blocker / "t.png")])
    assert res.exit_code == 2
    assert res.stderr == f"error: cannot write {blocker / 't.png'}: {blocker} is not a directory\n"


def test_replicates_are_averaged_with_ci_in_quadrature() -> None:
    """Two replicates (m1 ± h1, m2 ± h2) -> mean (m1+m2)/2 ± sqrt(h1² + h2²)/2.

    The half-width of a mean of independent estimates: Var = (s1² + s2²)/4, and the 95 %
    half-widths scale like the standard errors.
    """
    import pandas as pd

    from qnet.plots.sweep import sweep_table

    df = pd.DataFrame(
        {
            "link.arm_a_km": [1.0, 1.0, 2.0, 2.0],
            "replicate": [0, 1, 0, 1],
            "gap_reduction": [0.06, 0.08, 0.05, float("nan")],
            "gap_reduction_ci95": [0.03, 0.04, 0.02, float("nan")],
        }
    )
    t = sweep_table(df, "link.arm_a_km", None, ("gap_reduction",)).set_index("link.arm_a_km")
    assert t.loc[1.0, "gap_reduction"] == pytest.approx(0.07)
    assert t.loc[1.0, "gap_reduction_ci95"] == pytest.approx(0.05 / 2)
    # a missing replicate is left out, not counted as zero
    assert t.loc[2.0, "gap_reduction"] == pytest.approx(0.05)
    assert t.loc[2.0, "gap_reduction_ci95"] == pytest.approx(0.02)


def test_sweep_legend_is_outside_every_panel_and_large_ticks_are_short(store: Path) -> None:
    """The by-axis legend is one figure legend whose drawn box overlaps no panel (it used to
    sit over the top-left panel's points); large linear x ticks read 200k/1M, not 200000."""
    from qnet.plots.sweep import _label, sweep_figure

    df = load_results(store)
    # arms 1 and 60 km -> 210k and 800k: less than a decade, so a linear axis
    df = df.assign(**{"link.arm_a_km": 2e5 + 1e4 * df["link.arm_a_km"]})
    axes = [{"key": "link.arm_a_km", "log": False}, {"key": "traffic.load", "log": False}]
    spec = {"name": "grid", "mode": "cross", "axes": axes}
    fig = sweep_figure(df, spec)
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    assert len(fig.legends) == 1 and all(ax.get_legend() is None for ax in fig.axes)
    box = fig.legends[0].get_window_extent(renderer)
    assert [t.get_text() for t in fig.legends[0].get_texts()] == ["0.5", "0.8"]
    for ax in fig.axes:
        assert not box.overlaps(ax.get_window_extent(renderer)), ax.get_ylabel()
    ticks = [t.get_text() for t in fig.axes[0].get_xticklabels() if t.get_text()]
    assert ticks and all(len(t) <= 5 for t in ticks), ticks
    assert (_label(250000.0), _label(1e6), _label(0.001), _label(20.0)) == (
        "250k", "1M", "0.001", "20"
    )  # fmt: skip
