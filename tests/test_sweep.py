"""Sweeps: file parsing and refusals, point seeding, executors, resumption after SIGKILL.

The Dask-vs-process-pool test runs the real ``qnet.runs.runner.run_scenario`` on the analytic
engine with short runs. The failure and kill tests use small point functions defined here
(``point_*``), run through the same ``--function`` hook users have, so a point can be
made to fail or to take a known time; workers import them from this module.
"""

from __future__ import annotations

import json
import math
import os
import signal
import sqlite3
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from qnet.config import Scenario
from qnet.sweeps.executors import run_sweep
from qnet.sweeps.spec import SweepError, load_sweep, point_seed
from qnet.sweeps.store import load_results

TESTS = Path(__file__).resolve().parent
QNET = Path(sys.executable).with_name("qnet")

BASE = """
name = "tiny"
seed = 3
[traffic]
load = 0.8
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


@dataclass(frozen=True)
class StandInRecord:
    """A tiny record: a seeded Gaussian estimate with its CI, as a RunRecord has."""

    seed: int
    estimate: float
    estimate_ci95: float
    arm_km: float


def point_gauss(scenario: Scenario) -> StandInRecord:
    """Mean of 200 N(arm_a_km, 1) draws seeded by the point's seed (95 % CI half-width)."""
    x = np.random.default_rng(scenario.seed).normal(scenario.link.arm_a_km, 1.0, 200)
    return StandInRecord(
        scenario.seed,
        float(x.mean()),
        1.96 * x.std(ddof=1) / math.sqrt(200),
        scenario.link.arm_a_km,
    )


def point_fail_far(scenario: Scenario) -> StandInRecord:
    """Like point_gauss but raises for arms beyond 20 km (an injected failure)."""
    if scenario.link.arm_a_km > 20:
        raise RuntimeError(f"injected failure at {scenario.link.arm_a_km} km")
    return point_gauss(scenario)


def point_crash_at_2km(scenario: Scenario) -> StandInRecord:
    """Like point_gauss, but the worker process dies (no exception) at 2 km."""
    if scenario.link.arm_a_km == 2.0:
        os._exit(3)
    return point_gauss(scenario)


def point_slow(scenario: Scenario) -> StandInRecord:
    """point_gauss after 0.4 s, so a sweep can be killed while points are running."""
    time.sleep(0.4)
    return point_gauss(scenario)


def _files(tmp_path: Path, axes: str, extra: str = "") -> Path:
    (tmp_path / "base.toml").write_text(BASE)
    sweep = tmp_path / "sweep.toml"
    sweep.write_text(f'name = "t"\nbase = "base.toml"\nseed = 11\n{extra}\n[axes]\n{axes}\n')
    return sweep


@pytest.fixture
def importable_tests(monkeypatch: pytest.MonkeyPatch) -> None:
    """Let worker processes (forkserver, Dask spawn, subprocess) import this module."""
    monkeypatch.syspath_prepend(str(TESTS))
    monkeypatch.setenv(
        "PYTHONPATH", os.pathsep.join([str(TESTS), os.environ.get("PYTHONPATH", "")])
    )


# ---------------------------------------------------------------- parsing


def test_ranges_log_ranges_lists_also_and_cross(tmp_path: Path) -> None:
    sweep = load_sweep(
        _files(
            tmp_path,
            '"link.arm_a_km" = {start = 1, stop = 100, num = 3, log = true,'
            ' also = ["link.arm_b_km"]}\n'
            '"traffic.load" = {start = 0.5, stop = 0.7, num = 3}\n'
            '"link.memory_slots" = [1, 4]\n',
        )
    )
    assert [a.key for a in sweep.axes] == ["link.arm_a_km", "traffic.load", "link.memory_slots"]
    assert sweep.axes[0].values == (1.0, 10.0, 100.0)  # log range, rounded to 12 digits
    assert sweep.axes[1].values == (0.5, 0.6, 0.7)
    points = sweep.points()
    assert len(points) == 3 * 3 * 2
    p = points[-1]
    assert p.coords == {"link.arm_a_km": 100.0, "traffic.load": 0.7, "link.memory_slots": 4}
    assert p.scenario.link.arm_b_km == 100.0  # 'also' follows the axis
    assert p.scenario.run.decisions == 1000  # base kept


def test_zip_mode_and_replicates(tmp_path: Path) -> None:
    sweep = load_sweep(
        _files(
            tmp_path,
            "link.arm_a_km = [1, 2, 3]\nlink.arm_b_km = [4, 5, 6]\n",
            'mode = "zip"\nreplicates = 2\n',
        )
    )
    coords = sweep.coordinates()
    assert len(coords) == 6
    assert coords[0] == {"link.arm_a_km": 1, "link.arm_b_km": 4, "replicate": 0}
    assert coords[5] == {"link.arm_a_km": 3, "link.arm_b_km": 6, "replicate": 1}
    seeds = {p.scenario.seed for p in sweep.points()}
    assert len(seeds) == 6  # replicates are independent


def test_point_seed_depends_on_coordinates_not_order(tmp_path: Path) -> None:
    """Reordering values or adding new ones leaves existing points' seeds and ids alone."""
    a = load_sweep(_files(tmp_path, "link.arm_a_km = [1.0, 2.0]"))
    (tmp_path / "b").mkdir()
    b = load_sweep(_files(tmp_path / "b", "link.arm_a_km = [5.0, 2.0, 1.0]"))
    ids_a = {p.coords["link.arm_a_km"]: (p.scenario.seed, p.point_id) for p in a.points()}
    ids_b = {p.coords["link.arm_a_km"]: (p.scenario.seed, p.point_id) for p in b.points()}
    assert ids_a[1.0] == ids_b[1.0] and ids_a[2.0] == ids_b[2.0]
    assert point_seed(11, {"link.arm_a_km": 1.0}) == ids_a[1.0][0]
    assert point_seed(12, {"link.arm_a_km": 1.0}) != ids_a[1.0][0]
    assert 0 <= ids_a[1.0][0] < 2**62


@pytest.mark.parametrize(
    ("axes", "extra", "message"),
    [
        ("link.arm_km = [1, 2]", "", r"axes: 'link.arm_km' is not a scenario key \(did you mean"),
        (
            "link.arm_a_km = [1, 2]\nlink.arm_b_km = [1, 2, 3]",
            'mode = "zip"',
            r"zip mode needs axes of equal length: link.arm_a_km has 2, link.arm_b_km has 3",
        ),
        (
            "link.arm_a_km = {start = 0, stop = 10, num = 3, log = true}",
            "",
            r"axes.link.arm_a_km: a log range needs start > 0 and stop > 0, got 0, 10",
        ),
        (
            "link.arm_a_km = {start = 1, stop = 10}",
            "",
            r"a range needs start, stop and num; missing \['num'\]",
        ),
        (
            "link.arm_a_km = {stop = 10, num = 3}",
            "",
            r"axes.link.arm_a_km: a range needs start, stop and num; missing \['start'\]",
        ),
        ("link.arm_a_km = [1, 1]", "", r"axes.link.arm_a_km: repeated values"),
        ("link.arm_a_km = 5", "", r"axes.link.arm_a_km = 5: expected a list of values or a"),
        (
            "link.arm_a_km = {start = 1, stop = 10, num = 0}",
            "",
            r"axes.link.arm_a_km.num = 0 is out of range: allowed integers \[1, 100000\]",
        ),
        (
            'link.arm_a_km = {values = [1, 2], also = ["link.arm_c_km"]}',
            "",
            r"axes.link.arm_a_km.also: 'link.arm_c_km' is not a scenario key",
        ),
        ("seed = [1, 2]", "", r"axes.seed: the seed is derived per point; use 'replicates = N'"),
        ("link.arm_a_km = [1]", 'mode = "grid"', r"mode = 'grid' is not a valid choice"),
        ("link.arm_a_km = [1]", "speed = 3", r"unknown key\(s\) \['speed'\]"),
        # every point's scenario is validated up front, the bad ones named by coordinates
        (
            '"traffic.load" = [0.5, 1.2, 1.5]',
            "",
            r"2 of 3 points are invalid: point 1 \(traffic.load=1.2\): traffic.load = 1.2 is out "
            r"of range: allowed \(0, 1\)",
        ),
        (
            "link.raw_fidelity = [0.9, 0.2]",
            "",
            r"point 1 \(link.raw_fidelity=0.2\): link.raw_fidelity = 0.2 is out of range: "
            r"allowed \[0.25, 1\]",
        ),
    ],
)
def test_bad_sweep_files_are_refused_clearly(
    tmp_path: Path, axes: str, extra: str, message: str
) -> None:
    with pytest.raises(SweepError, match=message):
        load_sweep(_files(tmp_path, axes, extra))


def test_missing_base_is_named(tmp_path: Path) -> None:
    path = tmp_path / "s.toml"
    path.write_text('base = "nowhere.toml"\n[axes]\nseed = [1]\n')
    with pytest.raises(SweepError, match=r"base scenario not found: .*nowhere.toml"):
        load_sweep(path)


# ---------------------------------------------------------------- running


def _contents(store: Path) -> pd.DataFrame:
    """Store rows without the columns that legitimately differ between runs."""
    df = load_results(store).drop(columns=["wall_time_s", "finished_at"])
    return df.sort_values("point_id").reset_index(drop=True)


def test_failing_point_is_recorded_and_the_sweep_goes_on(
    tmp_path: Path, importable_tests: None
) -> None:
    sweep = load_sweep(_files(tmp_path, "link.arm_a_km = [5.0, 30.0, 10.0]"))
    seen = []
    summary = run_sweep(
        sweep,
        tmp_path / "r.sqlite",
        workers=2,
        function="test_sweep:point_fail_far",
        progress=lambda o, d, f, t: seen.append((d, f, t)),
    )
    assert (summary.total, summary.done, summary.failed) == (3, 2, 1)
    assert seen[0] == (0, 0, 3) and seen[-1] == (2, 1, 3)
    df = load_results(tmp_path / "r.sqlite").set_index("link.arm_a_km")
    assert df.loc[30.0, "status"] == "failed"
    assert "RuntimeError: injected failure at 30.0 km" in df.loc[30.0, "error"]
    assert df.loc[5.0, "status"] == "ok" and pd.isna(df.loc[5.0, "error"])
    # the stand-in's estimate is within its CI of the true mean (arm km) -- seeded, fixed
    assert abs(df.loc[10.0, "estimate"] - 10.0) < df.loc[10.0, "estimate_ci95"] * 1.5
    # a rerun retries only the failed point
    again = run_sweep(sweep, tmp_path / "r.sqlite", workers=1, function="test_sweep:point_gauss")
    assert (again.skipped, again.done, again.failed) == (2, 1, 0)
    assert (load_results(tmp_path / "r.sqlite")["status"] == "ok").all()


def test_a_dying_worker_fails_only_its_own_point(tmp_path: Path, importable_tests: None) -> None:
    """A worker killed mid-point breaks the pool; only that point is recorded as failed."""
    sweep = load_sweep(_files(tmp_path, "link.arm_a_km = [1.0, 2.0, 3.0, 4.0, 5.0]"))
    summary = run_sweep(
        sweep, tmp_path / "r.sqlite", workers=2, function="test_sweep:point_crash_at_2km"
    )
    assert (summary.done, summary.failed) == (4, 1)
    df = load_results(tmp_path / "r.sqlite").set_index("link.arm_a_km")
    assert df.loc[2.0, "status"] == "failed"
    assert "BrokenProcessPool" in df.loc[2.0, "error"]
    assert "died running this point" in df.loc[2.0, "error"]
    assert (df.drop(index=2.0)["status"] == "ok").all()


def test_same_results_in_any_order_on_any_worker_count(
    tmp_path: Path, importable_tests: None
) -> None:
    """Point seeds hash the coordinates: 1 worker and 2 workers store identical rows."""
    sweep = load_sweep(_files(tmp_path, "link.arm_a_km = [1.0, 2.0, 3.0, 4.0]"))
    run_sweep(sweep, tmp_path / "a.sqlite", workers=1, function="test_sweep:point_gauss")
    run_sweep(sweep, tmp_path / "b.sqlite", workers=2, function="test_sweep:point_gauss")
    pd.testing.assert_frame_equal(
        _contents(tmp_path / "a.sqlite"), _contents(tmp_path / "b.sqlite")
    )


@pytest.mark.slow
def test_dask_local_cluster_matches_process_pool(tmp_path: Path, importable_tests: None) -> None:
    """The real runner (analytic engine, 1000 decisions) through Dask and the process pool.

    ``qnet sweep --scheduler local`` (a real dask.distributed LocalCluster of 2 worker
    processes) and the library's default process pool must store identical rows (every
    metric, seed, digest), wall time aside.
    """
    from typer.testing import CliRunner

    from qnet.cli.app import app

    sweep_file = _files(tmp_path, '"traffic.load" = [0.5, 0.8]\nlink.arm_a_km = [1.0, 40.0]')
    pool = run_sweep(load_sweep(sweep_file), tmp_path / "pool.sqlite", workers=2)
    assert (pool.done, pool.failed) == (4, 0), load_results(tmp_path / "pool.sqlite")["error"]
    args = ["sweep", str(sweep_file), "--store", str(tmp_path / "dask.sqlite")]
    res = CliRunner().invoke(app, [*args, "--scheduler", "local", "--workers", "2", "--json"])
    assert res.exit_code == 0, res.output
    summary = json.loads(res.stdout)
    assert (summary["done"], summary["failed"], summary["executor"]) == (4, 0, "Dask local")
    a, b = _contents(tmp_path / "pool.sqlite"), _contents(tmp_path / "dask.sqlite")
    pd.testing.assert_frame_equal(a, b)
    assert a["gap_reduction_ci95"].notna().all() and (a["gap_reduction_ci95"] > 0).all()


def test_scheduler_address_runs_on_an_existing_cluster(
    tmp_path: Path, importable_tests: None
) -> None:
    """``--scheduler ADDRESS`` path: connect to a running scheduler (here in-process)."""
    from distributed import LocalCluster

    from qnet.sweeps.executors import dask_executor

    sweep = load_sweep(_files(tmp_path, "link.arm_a_km = [1.0, 2.0, 3.0]"))
    run_sweep(sweep, tmp_path / "pool.sqlite", workers=1, function="test_sweep:point_gauss")
    with LocalCluster(n_workers=1, processes=False, dashboard_address=None) as cluster:
        with dask_executor(cluster.scheduler_address) as ex:
            s = run_sweep(sweep, tmp_path / "dask.sqlite", executor=ex,
                          function="test_sweep:point_gauss")  # fmt: skip
    assert (s.done, s.failed) == (3, 0)
    pd.testing.assert_frame_equal(
        _contents(tmp_path / "pool.sqlite"), _contents(tmp_path / "dask.sqlite")
    )


def _group_pids(pgid: int) -> list[tuple[int, str]]:
    """(pid, command line) of the live (not zombie) processes in process group ``pgid``."""
    out = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmd = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[1].split()  # state ppid pgrp ...
        if fields[0] != "Z" and int(fields[2]) == pgid:
            out.append((int(entry.name), cmd.strip()))
    return out


def _wait_group_gone(pgid: int, timeout: float) -> list[tuple[int, str]]:
    """Poll until no live process of group ``pgid`` remains; the survivors at ``timeout``."""
    deadline = time.monotonic() + timeout
    left = _group_pids(pgid)
    while left and time.monotonic() < deadline:
        time.sleep(0.1)
        left = _group_pids(pgid)
    return left


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads /proc")
@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGTERM], ids=["SIGKILL", "SIGTERM"])
def test_sigkill_midway_then_rerun_runs_each_point_exactly_once(
    tmp_path: Path, importable_tests: None, sig: signal.Signals
) -> None:
    """SIGKILL (or SIGTERM) the ``qnet sweep`` process after 2 of 8 points; a rerun finishes.

    Within 5 s of the kill no process of the sweep remains (workers, forkserver and resource
    tracker exit with their parent, issue 17 item 7). Rows committed before the kill are
    kept untouched (same finished_at), the rerun runs only the missing points, and the store
    ends with each of the 8 points once.
    """
    sweep_file = _files(tmp_path, "link.arm_a_km = {start = 1, stop = 8, num = 8}")
    store = tmp_path / "r.sqlite"
    cmd = [str(QNET), "sweep", str(sweep_file), "--store", str(store), "--workers", "1",
           "--function", "test_sweep:point_slow"]  # fmt: skip
    proc = subprocess.Popen(
        cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True
    )
    deadline = time.monotonic() + 60
    done = 0
    while time.monotonic() < deadline and done < 2:
        time.sleep(0.1)
        if store.exists():
            try:
                with sqlite3.connect(store) as db:
                    done = db.execute("SELECT count(*) FROM points WHERE status='ok'").fetchone()[0]
            except sqlite3.OperationalError:
                pass
    group = _group_pids(proc.pid)
    assert len(group) >= 3, group  # the sweep, the forkserver and a worker at least
    os.kill(proc.pid, sig)  # the sweep process only
    proc.wait(timeout=10)
    left = _wait_group_gone(proc.pid, timeout=5.0)
    try:
        os.killpg(proc.pid, signal.SIGKILL)  # tidy up if the assertion below fails
    except ProcessLookupError:
        pass
    assert left == [], f"processes of the killed sweep still alive after 5 s: {left}"
    assert 2 <= done < 8, f"could not catch the sweep midway (done={done})"
    before = load_results(store)
    assert before["point_id"].is_unique and len(before) < 8
    assert len(load_results(store)) == len(before)  # nothing written after the kill

    out = subprocess.run(cmd[:-2] + ["--function", "test_sweep:point_slow", "--json"],
                         capture_output=True, text=True, timeout=120)  # fmt: skip
    assert out.returncode == 0, out.stderr
    summary = json.loads(out.stdout)
    assert summary["skipped"] == len(before) and summary["done"] == 8 - len(before)
    after = load_results(store)
    assert len(after) == 8 and after["point_id"].is_unique and (after["status"] == "ok").all()
    kept = after.set_index("point_id").loc[before["point_id"], "finished_at"]
    assert list(kept) == list(before["finished_at"])  # not rerun
    assert sorted(after["link.arm_a_km"]) == [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0]


@pytest.mark.parametrize(
    ("name", "points", "first_axis"),
    [
        ("distance-vs-coherence", 28, (0.5, 1, 2.5, 5, 10, 25, 50)),
        ("generation-vs-decision-rate", 20, (100.0, 1000.0, 10000.0, 100000.0, 1000000.0)),
    ],
)
def test_shipped_sweeps_validate(name: str, points: int, first_axis: tuple) -> None:
    """The shipped files load, every point validates, and they span what they promise."""
    sweep = load_sweep(TESTS.parent / "scenarios" / "sweeps" / f"{name}.toml")
    pts = sweep.points()
    assert len(pts) == points and sweep.axes[0].values == first_axis
    assert all(p.scenario.engine.name == "analytic" for p in pts)
    if name == "distance-vs-coherence":
        totals = {p.scenario.link.arm_a_km + p.scenario.link.arm_b_km for p in pts}
        assert min(totals) == 1 and max(totals) == 100
        assert {p.scenario.router_b.t2_s for p in pts} == {0.1, 1.0, 10.0, 100.0}
    else:
        rates = {round(p.scenario.traffic.lam_hz) for p in pts}
        assert rates == {8, 80, 800, 8000}


def test_cli_unreachable_scheduler_is_one_error_line(tmp_path: Path) -> None:
    """qnet sweep --scheduler at a closed port: no traceback, exit 2, one line naming the
    address and the timeout; --connect-timeout keeps the wait short; nothing ran."""
    from typer.testing import CliRunner

    from qnet.cli.app import app

    sweep = _files(tmp_path, '"link.arm_a_km" = [1.0]')
    store = tmp_path / "r.sqlite"
    args = ["sweep", str(sweep), "--store", str(store), "--scheduler", "tcp://127.0.0.1:1"]
    start = time.perf_counter()
    res = CliRunner().invoke(app, [*args, "--connect-timeout", "0.5"])
    assert res.exit_code == 2, res.output
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1, res.stderr
    assert lines[0].startswith(
        "error: Dask scheduler tcp://127.0.0.1:1 could not be reached within 0.5 s"
    )
    assert time.perf_counter() - start < 20
    assert load_results(store).empty
    res = CliRunner().invoke(app, [*args, "--connect-timeout", "0"])
    assert res.exit_code == 2
    assert "error: --connect-timeout = 0 is out of range: allowed > 0" in res.stderr
