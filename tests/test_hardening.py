"""Hostile input (issue 17): one ``error:`` line for every bad input, nothing outside --out.

Each numbered item of the issue has its test here (item 7, the orphaned workers, is the
kill test in ``test_sweep.py``): the input that used to crash or to give nonsense is
refused with one line naming the key and the allowed range, or now computes.
"""

from __future__ import annotations

import fcntl
import json
import math
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from qnet.cli.app import app
from qnet.config import Scenario, ScenarioError, load_scenario, scenario_from_dict
from qnet.io import write_atomic
from qnet.sweeps.spec import SweepError, load_sweep
from qnet.sweeps.store import APPLICATION_ID, ResultStore, StoreError, load_results

TINY = """
name = "tiny"
seed = 3
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


def _cli(args: list[str], cwd: Path | None = None) -> tuple[int, list[str]]:
    """Exit code and stderr lines of ``qnet ARGS`` (run in ``cwd`` if given)."""
    old = Path.cwd()
    if cwd is not None:
        os.chdir(cwd)
    try:
        res = CliRunner().invoke(app, args)
    finally:
        os.chdir(old)
    if res.exception is not None and not isinstance(res.exception, SystemExit):
        raise AssertionError(f"traceback from qnet {args}: {res.exception!r}") from res.exception
    return res.exit_code, res.stderr.strip().splitlines()


def _one_error(args: list[str], cwd: Path | None = None) -> str:
    code, lines = _cli(args, cwd)
    assert code == 2 and len(lines) == 1 and lines[0].startswith("error: "), (code, lines)
    return lines[0].removeprefix("error: ")


def _files(tmp_path: Path) -> list[Path]:
    return sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*"))


# ---------------------------------------------------------------- 1. files that crash the loader


@pytest.fixture
def bad_files(tmp_path: Path) -> dict[str, tuple[Path, str]]:
    """Scenario files that used to crash the loader, and the error each must give."""
    date = tmp_path / "date.toml"
    date.write_text("description = 1979-05-27\n" + TINY)
    latin = tmp_path / "latin.toml"
    latin.write_bytes(b'description = "caf\xe9"\n')
    folder = tmp_path / "folder.toml"
    folder.mkdir()
    return {
        "date": (
            date,
            "description = datetime.date(1979, 5, 27) has the wrong type: expected a string",
        ),  # fmt: skip
        "latin-1": (latin, f"{latin}: not valid TOML (byte 18 is not UTF-8 text)"),
        "directory": (folder, f"scenario file {folder} is a directory, not a TOML file"),
        "device": (
            Path("/dev/zero"),
            "scenario file /dev/zero is larger than 1024 KiB: not a TOML file",
        ),  # fmt: skip
    }


@pytest.mark.parametrize("command", ["run", "show", "link"])
@pytest.mark.parametrize("kind", ["date", "latin-1", "directory", "device"])
def test_files_that_crashed_the_loader_give_one_error_line(
    bad_files: dict[str, tuple[Path, str]], command: str, kind: str, tmp_path: Path
) -> None:
    path, message = bad_files[kind]
    if kind == "device" and not path.exists():
        pytest.skip("no /dev/zero")
    assert _one_error([command, str(path)], cwd=tmp_path) == message


@pytest.mark.parametrize("kind", ["date", "latin-1", "directory", "device"])
def test_sweep_file_and_its_base_that_crash_the_loader_are_refused(
    bad_files: dict[str, tuple[Path, str]], kind: str, tmp_path: Path
) -> None:
    path, message = bad_files[kind]
    if kind == "device" and not path.exists():
        pytest.skip("no /dev/zero")
    sweep = tmp_path / "s.toml"
    sweep.write_text(f'base = "{path}"\n[axes]\n"link.arm_a_km" = [1.0, 2.0]\n')
    expected = message.replace("scenario file", "base scenario")
    got = _one_error(["sweep", str(sweep)], cwd=tmp_path)
    if kind == "date":  # the base loads; each point is then refused for its description
        assert got.startswith(f"{sweep}: 2 of 2 points are invalid: point 0 ") and message in got
    else:
        assert got == expected
    if kind != "date":  # a date in a sweep file is refused as a value of its own key
        expected = message.replace("scenario file", "sweep file")
        assert _one_error(["sweep", str(path)], cwd=tmp_path) == expected


def test_a_date_on_a_sweep_axis_is_refused(tmp_path: Path) -> None:
    (tmp_path / "b.toml").write_text(TINY)
    sweep = tmp_path / "s.toml"
    sweep.write_text('base = "b.toml"\n[axes]\n"description" = [1979-05-27, 1980-01-01]\n')
    assert _one_error(["sweep", str(sweep)], cwd=tmp_path) == (
        f"{sweep}: axes.description: value datetime.date(1979, 5, 27) is not a number, string "
        "or boolean (dates and times are not scenario values)"
    )


def test_dates_in_overrides_and_sweep_bases_are_copied_not_json_encoded(tmp_path: Path) -> None:
    (tmp_path / "b.toml").write_text(TINY)
    with pytest.raises(ScenarioError, match=r"^seed = datetime.date\(2020, 1, 2\) has the wrong"):
        load_scenario(tmp_path / "b.toml", ["seed=2020-01-02"])


# ---------------------------------------------------------------- 2. in-range values that crashed


@pytest.mark.parametrize(
    ("key", "message"),
    [
        ("link.memory_frequency_hz", "allowed [0.001, 1e+12]"),
        ("link.light_speed_km_per_s", "allowed [1, 300000]"),
    ],
)
def test_overflowing_link_values_are_refused_with_their_bound(key: str, message: str) -> None:
    with pytest.raises(ScenarioError) as err:
        scenario_from_dict({"link": {key.split(".")[1]: 1e-300}})
    assert str(err.value) == f"{key} = 1e-300 is out of range: {message}"


def test_link_prediction_is_finite_at_the_slowest_allowed_values() -> None:
    """At the lower bounds (1 km/s light, 1e-3 Hz memory, 1000 km arms) nothing overflows."""
    from qnet.physics.link import predict

    s = Scenario(
        link={"memory_frequency_hz": 1e-3, "light_speed_km_per_s": 1.0, "arm_a_km": 1000.0},
        engine={"name": "analytic"},
    )
    pred = predict(s)
    # one attempt lasts at least the excitation period 1/f = 1000 s and the 1000 s flight
    assert 1000.0 <= pred.attempt_period_s < math.inf
    assert 0.0 < pred.pair_rate_hz < 1e-2


def test_a_plot_too_big_for_memory_is_refused_up_front(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """run.decisions = 1e8 (the documented maximum) with the plot on 8 GiB: refused, naming
    what fits and --no-plot (the plot's per-decision series are the only unbounded part)."""
    import qnet.cli.options as options

    monkeypatch.setattr(options, "available_memory", lambda: 8 * 2**30)
    (tmp_path / "s.toml").write_text(TINY)
    msg = _one_error(["run", "s.toml", "--set", "run.decisions=100000000"], cwd=tmp_path)
    fits = 8 * 2**30 // options.BYTES_PER_DECISION
    assert msg == (
        "run.decisions = 100000000 with the plot needs about 27.9 GiB of memory (300 bytes per "
        "decision for the per-decision series it draws), more than the 8.0 GiB available: the "
        f"largest value that fits is {fits}, or use --no-plot (the run then streams its "
        "decisions in bounded memory)"
    )
    assert _files(tmp_path) == [Path("s.toml")]  # nothing written


def test_without_the_plot_a_run_is_not_refused_for_memory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With --no-plot (and in sweeps) a run streams its decisions: 1 kB "available" is no
    reason to refuse it, while the same run with the plot is refused."""
    import qnet.cli.options as options

    monkeypatch.setattr(options, "available_memory", lambda: 1000)
    (tmp_path / "s.toml").write_text(TINY)
    assert "--no-plot" in _one_error(["run", "s.toml"], cwd=tmp_path)
    res = CliRunner().invoke(
        app, ["run", str(tmp_path / "s.toml"), "--no-plot", "--json", "--out", str(tmp_path / "o")]
    )
    assert res.exit_code == 0, res.output
    assert json.loads(res.stdout)["record"]["decisions"] > 0


def test_a_sum_threshold_run_keeps_every_decision_so_it_is_refused_for_memory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The sum-threshold run does not stream: --no-plot does not lift the memory refusal."""
    import qnet.cli.options as options

    monkeypatch.setattr(options, "available_memory", lambda: 1000)
    (tmp_path / "s.toml").write_text(TINY + '[game]\nkind = "sum_threshold"\n')
    msg = _one_error(["run", "s.toml", "--no-plot"], cwd=tmp_path)
    assert "of this game (it keeps every decision)" in msg and "--no-plot" not in msg
    assert _files(tmp_path) == [Path("s.toml")]


# ---------------------------------------------------------------- 3. nonsense with rc 0


@pytest.mark.parametrize(
    ("key", "allowed"),
    [
        ("traffic.mean_service_time_s", "[1e-12, 1e+06]"),
        ("queue.phi_max", "[1e-06, 1e+06]"),
        ("queue.power_k", "(1, 5]"),
        ("queue.warmup_rate_per_service", "[1e-06, 1000]"),
    ],
)
def test_huge_queue_values_are_refused_with_their_bound(key: str, allowed: str) -> None:
    table, name = key.split(".")
    with pytest.raises(ScenarioError) as err:
        scenario_from_dict({table: {name: 1e308}})
    assert str(err.value) == f"{key} = 1e+308 is out of range: allowed {allowed}"


@pytest.mark.parametrize(
    "overrides",
    [
        {"traffic": {"mean_service_time_s": 1e6}},
        {"queue": {"phi_max": 1e6}},
        {"queue": {"warmup_rate_per_service": 1e3}},
        {"queue": {"throughput_model": "power", "power_k": 5.0}},
        {"traffic": {"load": 1e-6}},
    ],
)
def test_the_bounds_still_compute(overrides: dict) -> None:
    """At each new bound the run gives finite waits and a baseline throughput the eq. 10 /
    t^k prediction matches (within twice the 95 % CI at 900 decisions), no RuntimeWarning."""
    import tomllib

    from qnet.runs.runner import run_scenario

    data = tomllib.loads(TINY)
    for table, values in overrides.items():
        data.setdefault(table, {}).update(values)
    rec = run_scenario(scenario_from_dict(data))
    for name in ("wait_quantum", "wait_oracle", "wait_classical", "gap_reduction_game"):
        assert math.isfinite(getattr(rec, name)), name
    assert rec.predicted_baseline_throughput > 0
    miss = abs(rec.baseline_throughput - rec.predicted_baseline_throughput)
    assert miss <= 2 * rec.baseline_throughput_ci95, (miss, rec.baseline_throughput_ci95)


def test_tiny_load_and_arrival_rate_name_their_key() -> None:
    with pytest.raises(ScenarioError) as err:
        scenario_from_dict({"traffic": {"load": 1e-300}})
    assert str(err.value) == (
        "traffic.load = 1e-300 is out of range: allowed [1e-06, 1) "
        "(the queue replay cannot resolve a smaller load)"
    )
    with pytest.raises(ScenarioError) as err:
        scenario_from_dict({"traffic": {"arrival_rate_hz": 1e-300}})
    assert str(err.value) == (
        "traffic.arrival_rate_hz = 1e-300 gives load rho = arrival_rate_hz * "
        "mean_service_time_s = 1e-303, out of range: allowed [1e-06, 1)"
    )


# ---------------------------------------------------------------- 4. names reach file paths


NAME_RULE = (
    "is not a valid name: allowed 1-100 letters, digits and '.', '_', '-', '+', not starting "
    "with '.' (it names result files)"
)


@pytest.mark.parametrize(
    "name", ["../../escaped", "/tmp/qnet-absolute", "../newdir/sub/x", "a\0b", ".hidden", "a/b"]
)
@pytest.mark.parametrize("command", ["run", "show"])
def test_names_with_path_parts_are_refused_and_nothing_is_written(
    tmp_path: Path, name: str, command: str
) -> None:
    work = tmp_path / "work"
    work.mkdir()
    (work / "s.toml").write_text(TINY)
    out = ["--out", "out"] if command == "run" else []  # show's PNG goes to results/
    msg = _one_error([command, "s.toml", "--set", f"name={json.dumps(name)}", *out], cwd=work)
    assert msg == f"name = {name!r} {NAME_RULE}"
    assert _files(tmp_path) == [Path("work"), Path("work/s.toml")]


def test_a_file_stem_that_is_no_valid_name_is_slugged(tmp_path: Path) -> None:
    odd = tmp_path / "my scenario (v2).toml"
    odd.write_text(TINY.replace('name = "tiny"\n', ""))
    assert load_scenario(odd).name == "my-scenario--v2-"


def test_sweep_names_are_checked_before_the_default_store_is_made(tmp_path: Path) -> None:
    (tmp_path / "b.toml").write_text(TINY)
    sweep = tmp_path / "s.toml"
    sweep.write_text('name = "../../escaped"\nbase = "b.toml"\n[axes]\n"link.arm_a_km" = [1.0]\n')
    with pytest.raises(SweepError) as err:
        load_sweep(sweep)
    assert str(err.value) == f"{sweep}: name = '../../escaped' {NAME_RULE}"
    assert _one_error(["sweep", str(sweep)], cwd=tmp_path) == str(err.value)
    assert _files(tmp_path) == [Path("b.toml"), Path("s.toml")]


def test_results_path_refuses_anything_but_a_plain_file_name(tmp_path: Path) -> None:
    from qnet.cli.options import results_path
    from qnet.io import OutputError

    assert results_path(tmp_path, "a-seed1.json") == tmp_path / "a-seed1.json"
    for bad in ("../x.json", "/etc/x", "..", "", "a\0b"):
        with pytest.raises(OutputError, match="not a plain file name inside the output"):
            results_path(tmp_path, bad)


# ---------------------------------------------------------------- 5. damaged or foreign stores


def _sweep_file(tmp_path: Path) -> Path:
    (tmp_path / "b.toml").write_text(TINY)
    sweep = tmp_path / "s.toml"
    sweep.write_text('name = "t"\nbase = "b.toml"\n[axes]\n"strategy.restarts" = [4, 5]\n')
    return sweep


def test_a_damaged_store_gives_one_error_line(tmp_path: Path) -> None:
    store = tmp_path / "r.sqlite"
    with ResultStore(store) as s:
        for i in range(400):  # several pages of rows
            s.write_point({"point_id": f"p{i}", "sweep": "t", "status": "ok", "x": "y" * 200})
    blob = bytearray(store.read_bytes())
    blob[4096 : 3 * 4096] = b"\xa5" * (2 * 4096)  # garbage over the first table pages
    store.write_bytes(bytes(blob))
    for args in (["results", str(store)], ["plot", str(store)]):
        msg = _one_error(args, cwd=tmp_path)
        assert msg.startswith(f"{store} is damaged or not a qnet results store ("), msg
    msg = _one_error(["sweep", str(_sweep_file(tmp_path)), "--store", str(store)], cwd=tmp_path)
    assert msg.startswith(f"{store} is damaged or not a qnet results store ("), msg


def test_a_foreign_sqlite_file_is_refused_and_left_untouched(tmp_path: Path) -> None:
    store = tmp_path / "other.sqlite"
    with sqlite3.connect(store) as db:
        db.execute("CREATE TABLE points (x REAL, y REAL)")
        db.execute("INSERT INTO points VALUES (1, 2)")
    db.close()
    before = store.read_bytes()
    expected = (
        f"{store} is not a qnet results store (it holds other tables: points); "
        "nothing was written to it"
    )
    assert _one_error(["results", str(store)]) == expected
    assert _one_error(["plot", str(store)]) == expected
    sweep = _sweep_file(tmp_path)
    assert _one_error(["sweep", str(sweep), "--store", str(store)]) == expected
    assert store.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["b.toml", "other.sqlite", "s.toml"]


def test_another_application_id_is_refused(tmp_path: Path) -> None:
    store = tmp_path / "app.sqlite"
    with sqlite3.connect(store) as db:
        db.execute("PRAGMA application_id = 1234")
    db.close()
    with pytest.raises(StoreError, match=r"application id 0x4d2, expected 0x716e6574"):
        ResultStore(store)


def test_a_new_store_is_marked_and_an_unmarked_old_one_still_opens(tmp_path: Path) -> None:
    new = tmp_path / "new.sqlite"
    ResultStore(new).close()
    with sqlite3.connect(new) as db:
        assert db.execute("PRAGMA application_id").fetchone()[0] == APPLICATION_ID
        assert db.execute("PRAGMA user_version").fetchone()[0] == 1
    db.close()
    old = tmp_path / "old.sqlite"  # written by qnet before the mark existed
    with sqlite3.connect(old) as db:
        db.execute(
            "CREATE TABLE points (point_id TEXT, sweep TEXT, point_index INT, status TEXT, x REAL)"
        )
        db.execute("INSERT INTO points VALUES ('a', 's', 0, 'ok', 1.5)")
    db.close()
    assert list(load_results(old)["x"]) == [1.5]
    with ResultStore(old) as s:
        assert s.point_ids("s") == {"a"}


@pytest.mark.parametrize(
    ("spec", "row", "message"),
    [
        ({"axes": 5}, {}, "the stored spec of sweep 't' is not a qnet sweep spec"),
        (
            {"axes": [{"key": "link.arm_a_km"}, {"key": "link.arm_a_km"}]},
            {},
            "the stored spec of sweep 't' is not a qnet sweep spec",
        ),
        (
            {"axes": [{"key": "link.arm_a_km"}]},
            {"availability": "high"},
            "column 'availability' of {store} holds text, not numbers: cannot plot it",
        ),
    ],
)
def test_foreign_specs_and_text_metrics_give_one_error_line(
    tmp_path: Path, spec: dict, row: dict, message: str
) -> None:
    store = tmp_path / "r.sqlite"
    with ResultStore(store) as s:
        s.register_sweep("t", spec)
        s.write_point({"point_id": "a", "sweep": "t", "status": "ok", "point_index": 0, **row})
    assert message.format(store=store) in _one_error(["plot", str(store), "--out", "p.png"])


# ---------------------------------------------------------------- 6. --where on a text column


def test_ordering_a_text_column_is_one_error_line(tmp_path: Path) -> None:
    store = tmp_path / "r.sqlite"
    with ResultStore(store) as s:
        s.write_point({"point_id": "a", "sweep": "t", "status": "ok", "x": 1.0})
    msg = _one_error(["results", str(store), "--where", "status<1"])
    assert (
        msg
        == "--where 'status<1': column 'status' holds text, not numbers: compare it with = or !="
    )
    code, _ = _cli(["results", str(store), "--where", "x<2", "--json"])
    assert code == 0


# ---------------------------------------------------------------- 8. BLAS thread count


def test_blas_thread_count_does_not_change_the_numbers(tmp_path: Path) -> None:
    """qnet run with OMP_NUM_THREADS=1 and =2 writes identical JSON (wall time aside)."""
    (tmp_path / "s.toml").write_text(TINY.replace("restarts = 1", "restarts = 4"))
    outs = []
    for threads in ("1", "2"):
        env = {**os.environ, "OMP_NUM_THREADS": threads, "OPENBLAS_NUM_THREADS": threads}
        res = subprocess.run(
            [sys.executable, "-m", "qnet", "run", "s.toml", "--json", "--no-plot",
             "--out", f"o{threads}"],
            cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300, check=True,
        )  # fmt: skip
        data = json.loads(res.stdout)
        for d in (data, data.get("record", {})):
            d.pop("wall_time_s", None)
        data.pop("results_json")
        outs.append(data)
    assert outs[0] == outs[1]
    assert outs[0]["ideal_gap_reduction"] > 0


# ---------------------------------------------------------------- 9. smaller items


def test_t2_above_twice_t1_is_refused_naming_the_router(tmp_path: Path) -> None:
    (tmp_path / "s.toml").write_text(TINY)
    sets = ["--set", "router_b.t1_s=1.0", "--set", "router_b.t2_s=3.0"]
    expected = (
        "router_b.t2_s = 3.0 is out of range: allowed (0, 2 * router_b.t1_s = 2] "
        "(a physical memory has T2 <= 2 T1)"
    )
    for command in ("show", "link", "run"):
        assert _one_error([command, "s.toml", *sets, *(["--no-draw"] if command == "show" else [])],
                          cwd=tmp_path) == expected  # fmt: skip
    assert scenario_from_dict({"router_a": {"t1_s": 1.0, "t2_s": 2.0}}).router_a.t2_s == 2.0


def test_floats_are_not_coerced_for_integer_keys() -> None:
    with pytest.raises(ScenarioError) as err:
        scenario_from_dict({"run": {"decisions": 2.5e4}})
    assert str(err.value) == "run.decisions = 25000.0 has the wrong type: expected an integer"
    assert scenario_from_dict({"link": {"arm_a_km": 3}}).link.arm_a_km == 3.0  # int for float


def test_a_second_sweep_on_a_busy_store_is_refused(tmp_path: Path) -> None:
    sweep = _sweep_file(tmp_path)
    store = tmp_path / "r.sqlite"
    ResultStore(store).close()
    fd = os.open(store, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)  # as a running sweep holds it
        msg = _one_error(["sweep", str(sweep), "--store", str(store), "--json"])
        assert msg == (
            f"results store {store} is in use by another running qnet sweep: wait for it to "
            "finish, or give another --store"
        )
    finally:
        os.close(fd)
    assert len(load_results(store)) == 0


def test_write_atomic_removes_temps_of_killed_writers_and_fsyncs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)  # fmt: skip
    stale = tmp_path / f".a.json.{int(dead.stdout)}.x1y2.tmp"  # left by a killed writer
    stale.write_text("half")
    mine = tmp_path / f".a.json.{os.getpid()}.z9.tmp"  # a live writer's: kept
    mine.write_text("busy")
    other = tmp_path / ".b.json.1.tmp"  # another file's: kept
    other.write_text("x")
    synced: list[int] = []
    real_fsync = os.fsync
    monkeypatch.setattr(os, "fsync", lambda fd: (synced.append(fd), real_fsync(fd))[1])
    write_atomic(tmp_path / "a.json", "{}")
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(["a.json", mine.name, other.name])
    assert len(synced) == 2  # the file's data, then the directory entry


def test_sweep_on_one_or_two_workers_stores_identical_numbers(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The same real points on 1 and on 2 workers: every stored metric equal to the bit.

    Before the pin, with no OMP_NUM_THREADS set, a worker got cores // workers BLAS threads
    and the two stores differed in the last digits of the analysis-core fields.
    """
    from qnet.sweeps.executors import run_sweep

    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        monkeypatch.delenv(var, raising=False)

    sweep = load_sweep(_sweep_file(tmp_path))
    frames = []
    for workers in (1, 2):
        store = tmp_path / f"w{workers}.sqlite"
        summary = run_sweep(sweep, store, workers=workers)
        assert summary.done == 2 and summary.failed == 0
        df = load_results(store).drop(columns=["wall_time_s", "finished_at"])
        frames.append(df.sort_values("point_id").to_dict("records"))
    assert frames[0] == frames[1]
    assert frames[0][0]["ideal_gap_reduction"] > 0


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--duration-s", "inf"], "--duration-s = inf is out of range: allowed (0, "),
        (["--duration-s", "1e308"], "--duration-s = 1e+308 is out of range: allowed (0, "),
        (["--storage-time-s", "inf"], "--storage-time-s = inf is out of range: allowed [0, 1e+06]"),
        (
            ["--attempts", "1000000", "--set", "link.memory_frequency_hz=1e-3"],
            "--attempts = 1000000 is out of range: allowed [10, ",
        ),
    ],
)
def test_link_lengths_that_overflowed_the_clock_are_refused(
    tmp_path: Path, args: list[str], message: str
) -> None:
    """Infinite or huge simulated times overflowed SeQUeNCe's int64 picosecond clock."""
    (tmp_path / "s.toml").write_text(TINY.replace('"analytic"', '"sequence"'))
    assert _one_error(["link", "s.toml", *args], cwd=tmp_path).startswith(message)


def _cutoff_message(cutoff: float, flight_s: float) -> str:
    """The refusal of a cutoff below the herald delay: the 1 km arm's flight + classical gap."""
    from qnet.physics.link import CLASSICAL_GAP_PS, PS_PER_S

    usable = flight_s + CLASSICAL_GAP_PS / PS_PER_S
    return (
        f"link.cutoff_s = {cutoff!r} is out of range for the sequence engine: allowed "
        f"({usable:g}, 1e+06] (a pair must outlive the flight of its herald to the farther "
        f"router, {usable:g} s)"
    )


@pytest.mark.parametrize(
    ("sets", "message"),
    [
        (
            ["link.coherence_time_s=1e308"],
            "link.coherence_time_s = 1e+308 is out of range: allowed (0, 1e+06]",
        ),  # fmt: skip
        (["link.cutoff_s=1e308"], "link.cutoff_s = 1e+308 is out of range: allowed (0, 1e+06]"),
        (["link.cutoff_s=1e-6"], _cutoff_message(1e-6, 1.0 / 2e5)),
        (["link.cutoff_s=0.05", "link.light_speed_km_per_s=10"], _cutoff_message(0.05, 0.1)),
        (
            ["traffic.mean_service_time_s=1e-300"],
            "traffic.mean_service_time_s = 1e-300 is out of range: allowed [1e-12, 1e+06]",
        ),  # fmt: skip
    ],
)
def test_sequence_times_that_crashed_the_engine_are_refused(
    tmp_path: Path, sets: list[str], message: str
) -> None:
    """Picosecond overflow, and a cutoff shorter than the herald's flight (a discard event in
    the past: SeQUeNCe's 'invalid event time' AssertionError), for run and link alike."""
    (tmp_path / "s.toml").write_text(TINY.replace('"analytic"', '"sequence"'))
    args = [x for s in sets for x in ("--set", s)]
    for command in ("run", "link"):
        assert _one_error([command, "s.toml", *args], cwd=tmp_path) == message


# ---------------------------------------------------------------- new-user pass


def test_zero_replications_is_refused_before_anything_runs(tmp_path: Path) -> None:
    """``--replications 0`` used to start a plain (SeQUeNCe, ~65 s) run instead of refusing."""
    (tmp_path / "s.toml").write_text(TINY.replace('"analytic"', '"sequence"'))
    message = _one_error(["run", "s.toml", "--replications", "0"], cwd=tmp_path)
    assert message == "--replications = 0: allowed range is [1, inf)"
    assert _files(tmp_path) == [Path("s.toml")]


def _help_texts() -> list[tuple[str, str]]:
    """(command path, text) of every command's and parameter's help."""
    import typer

    out: list[tuple[str, str]] = []

    def walk(cmd: object, path: str) -> None:
        out.append((path, getattr(cmd, "help", None) or ""))
        out.extend((f"{path} {p.name}", getattr(p, "help", None) or "") for p in cmd.params)  # type: ignore[attr-defined]
        for name, sub in getattr(cmd, "commands", {}).items():
            walk(sub, f"{path} {name}")

    walk(typer.main.get_command(app), "qnet")
    return out


def test_help_texts_keep_their_brackets() -> None:
    """Help is rendered as rich markup: an unescaped ``[s]`` or ``[link]`` vanished from
    ``--help`` (e.g. "Application time scale 1/μ ."); write ``\\[`` instead."""
    from rich.text import Text

    texts = _help_texts()
    assert len(texts) > 100
    for where, text in texts:
        assert Text.from_markup(text).plain.count("[") == text.count("["), (where, text)


def test_scenario_thresholds_table_shows_units_and_says_when_even_fresh_pairs_fail(
    tmp_path: Path,
) -> None:
    """metro-nv's readout (3 %) alone leaves no advantage at p = 0.2: the table said
    "critical storage 0" under a header whose "[s]" rich had swallowed."""
    root = Path(__file__).resolve().parents[1]
    res = CliRunner().invoke(
        app, ["thresholds", "--scenario", str(root / "scenarios/metro-nv.toml"), "--p", "0.2"]
    )
    assert res.exit_code == 0, res.output
    assert "critical storage [s]" in res.output
    assert "none even fresh" in res.output


def test_thresholds_takes_set_with_a_scenario_only() -> None:
    """Every command that takes a scenario takes --set; without --scenario it is refused."""
    assert _one_error(["thresholds", "--set", "link.raw_fidelity=1.0"]) == (
        "--set: allowed with --scenario FILE only (it overrides a scenario value)"
    )
    root = Path(__file__).resolve().parents[1]
    args = ["thresholds", "--scenario", str(root / "scenarios/metro-nv.toml"), "--p", "0.2"]
    assert _one_error([*args, "--set", "link.raw_fidelity=2"]) == (
        "link.raw_fidelity = 2 is out of range: allowed [0.25, 1]"
    )
    res = CliRunner().invoke(app, [*args, "--json", "--set", "router_a.readout_error=0"])
    fresh = json.loads(res.stdout)["critical"][0]["critical_raw_fidelity"]
    res = CliRunner().invoke(app, [*args, "--json"])
    assert json.loads(res.stdout)["critical"][0]["critical_raw_fidelity"] is None
    assert 0.9 < fresh < 1.0  # one router's 3 % readout error removed: F = 1 suffices again


@pytest.mark.parametrize("command", [["plan", "--game", "routing"], ["thresholds", "--scenario"]])
def test_planning_a_sum_threshold_scenario_is_refused_up_front(
    tmp_path: Path, command: list[str]
) -> None:
    """``qnet plan scenarios/workshop-qos.toml`` ran the confirming run, then crashed with an
    AttributeError traceback (a SumThresholdRecord has no retained share). Plain ``qnet plan``
    now plans it in the QoS framing (tests/test_plan.py); the routing planners refuse it."""
    path = Path(__file__).resolve().parents[1] / "scenarios/workshop-qos.toml"
    message = _one_error([*command, str(path)], cwd=tmp_path)
    assert message.startswith("game.kind = 'sum_threshold': qnet ")
    assert message.endswith(
        "models the routing game only: allowed game.kind = 'routing' "
        "(run a sum-threshold scenario with qnet run)"
    )
    assert _files(tmp_path) == []
