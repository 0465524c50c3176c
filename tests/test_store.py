"""The SQLite results store: rows, new columns, filters, atomic CSV/Parquet export, CLI."""

from __future__ import annotations

import json
import math
import sqlite3
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from qnet.cli.app import app
from qnet.sweeps.store import (
    ResultStore,
    StoreError,
    export_results,
    filter_results,
    load_results,
    load_sweeps,
)


def _row(i: int, arm: float, status: str = "ok", **metrics: object) -> dict:
    return {
        "point_id": f"p{i}",
        "sweep": "s",
        "point_index": i,
        "status": status,
        "error": None if status == "ok" else "RuntimeError: boom",
        "link.arm_a_km": arm,
        **metrics,
    }


@pytest.fixture
def store(tmp_path: Path) -> Path:
    path = tmp_path / "r.sqlite"
    with ResultStore(path) as s:
        s.register_sweep("s", {"name": "s", "axes": [{"key": "link.arm_a_km", "log": False}]})
        s.write_point(
            _row(
                0,
                1.0,
                gap_reduction=0.07,
                gap_reduction_ci95=0.01,
                gap_reduction_game=0.0612,
                gap_reduction_game_ci95=0.003,
            )
        )
        s.write_point(_row(1, 10.0, gap_reduction=0.05, gap_reduction_ci95=0.02))
        s.write_point(_row(2, 100.0, status="failed"))
        # a metric that appears only later becomes a new column; NaN is stored as NULL
        s.write_point(_row(3, 50.0, gap_reduction=math.nan, availability=0.4))
    return path


def test_rows_roundtrip_with_new_columns_and_nan(store: Path) -> None:
    df = load_results(store).set_index("point_index")
    assert list(df.index) == [0, 1, 2, 3]
    assert df.loc[1, "gap_reduction"] == 0.05 and df.loc[1, "gap_reduction_ci95"] == 0.02
    assert math.isnan(df.loc[3, "gap_reduction"]) and df.loc[3, "availability"] == 0.4
    assert math.isnan(df.loc[0, "availability"])  # column added after this row was written
    assert df.loc[2, "status"] == "failed" and df.loc[2, "error"] == "RuntimeError: boom"
    assert df["finished_at"].notna().all()
    assert load_sweeps(store)["s"]["axes"][0]["key"] == "link.arm_a_km"


def test_rewriting_a_point_replaces_its_row(store: Path) -> None:
    with ResultStore(store) as s:
        assert s.point_ids("s", status=("ok",)) == {"p0", "p1", "p3"}
        s.write_point(_row(2, 100.0, gap_reduction=0.0, gap_reduction_ci95=0.01))
        assert s.point_ids("s", status=("ok",)) == {"p0", "p1", "p2", "p3"}
    assert len(load_results(store)) == 4


def test_each_point_is_committed_on_write(store: Path) -> None:
    """Another connection sees a row as soon as write_point returns (no pending commit)."""
    with ResultStore(store) as s:
        s.write_point(_row(9, 2.0, gap_reduction=0.1))
        with sqlite3.connect(store) as other:
            assert other.execute("SELECT count(*) FROM points").fetchone()[0] == 5


def test_filters(store: Path) -> None:
    df = load_results(store)
    assert list(filter_results(df, ["link.arm_a_km<50"])["point_index"]) == [0, 1]
    assert list(filter_results(df, ["link.arm_a_km >= 50", "status=ok"])["point_index"]) == [3]
    assert list(filter_results(df, ["link.arm_a_km=10"])["point_index"]) == [1]
    assert list(filter_results(df, ["status!=ok"])["point_index"]) == [2]
    with pytest.raises(StoreError, match=r"no column 'link.arm_km'; columns: point_id"):
        filter_results(df, ["link.arm_km<3"])
    with pytest.raises(StoreError, match=r"expected KEY OP VALUE"):
        filter_results(df, ["arm about 3"])
    with pytest.raises(StoreError, match=r"'far' is not a number"):
        filter_results(df, ["link.arm_a_km<far"])


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_export_roundtrip_is_atomic(store: Path, tmp_path: Path, suffix: str) -> None:
    df = load_results(store)
    out = export_results(df, tmp_path / "out" / f"r{suffix}")
    back = pd.read_csv(out) if suffix == ".csv" else pd.read_parquet(out)
    assert list(back["point_index"]) == [0, 1, 2, 3]
    assert back["gap_reduction"].iloc[1] == 0.05
    assert [p.name for p in out.parent.iterdir()] == [out.name]  # no temp file left


def test_write_atomic_replaces_whole_file_or_leaves_it(tmp_path: Path) -> None:
    """qnet.io.write_atomic (used by the store, plots and every command): text is written
    UTF-8 into a new directory; a write that fails midway leaves the old file as it was and
    no temp file behind."""
    from qnet.io import write_atomic

    path = write_atomic(tmp_path / "new" / "a.txt", "ΔWq ± 1\n")
    assert path.read_bytes() == "ΔWq ± 1\n".encode()
    write_atomic(path, b"second")
    assert path.read_bytes() == b"second"
    with pytest.raises(TypeError):
        write_atomic(path, 12345)  # type: ignore[arg-type]  # fails inside the temp write
    assert path.read_bytes() == b"second"
    assert [p.name for p in path.parent.iterdir()] == ["a.txt"]


def test_bad_paths_are_named(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match=r"results store not found: .*nope.sqlite"):
        load_results(tmp_path / "nope.sqlite")
    junk = tmp_path / "junk.sqlite"
    junk.write_text("not a database, just text " * 100)
    with pytest.raises(StoreError, match=r"junk.sqlite is not a qnet results store \(file is not"):
        load_results(junk)
    with pytest.raises(StoreError, match=r"unknown format '.xlsx'; allowed .csv, .parquet"):
        export_results(pd.DataFrame({"a": [1]}), tmp_path / "r.xlsx")


def test_cli_results_lists_filters_and_exports(store: Path, tmp_path: Path) -> None:
    runner = CliRunner()
    res = runner.invoke(app, ["results", str(store), "--where", "link.arm_a_km<=10", "--json"])
    assert res.exit_code == 0, res.output
    rows = json.loads(res.stdout)["rows"]
    assert [r["point_index"] for r in rows] == [0, 1]
    out = tmp_path / "sel.csv"
    res = runner.invoke(app, ["results", str(store), "--where", "status=ok", "--export", str(out)])
    assert res.exit_code == 0, res.output
    assert "exported 3 row(s)" in res.stdout
    assert len(pd.read_csv(out)) == 3
    res = runner.invoke(app, ["results", str(store), "--estimate", "queue"])
    assert "RuntimeError: boom" in res.stdout and "0.07 ± 0.01" in res.stdout
    res = runner.invoke(app, ["results", str(tmp_path / "missing.sqlite")])
    assert res.exit_code == 2 and "results store not found" in res.stderr


def test_same_point_in_two_sweeps_keeps_both_rows(store: Path) -> None:
    """Rows are keyed by (sweep, point_id): a shared point does not move between sweeps."""
    with ResultStore(store) as s:
        s.write_point({**_row(0, 1.0, gap_reduction=0.07), "sweep": "other"})
        assert s.point_ids("other") == {"p0"} and "p0" in s.point_ids("s")
    assert len(load_results(store, sweep="s")) == 4
    assert len(load_results(store)) == 5


def test_write_atomic_gives_the_umask_mode_not_0600(tmp_path: Path) -> None:
    """mkstemp creates 0o600 files; the final file must get 0o666 & ~umask like open(..., "w"),
    checked under two umasks (the process umask is restored afterwards)."""
    import os
    import stat

    from qnet.io import write_atomic

    old = os.umask(0o022)
    try:
        assert stat.S_IMODE(write_atomic(tmp_path / "a.csv", "x").stat().st_mode) == 0o644
        os.umask(0o027)
        assert stat.S_IMODE(write_atomic(tmp_path / "b.csv", "x").stat().st_mode) == 0o640
    finally:
        os.umask(old)


def test_write_atomic_unwritable_path_is_one_output_error(tmp_path: Path) -> None:
    """A parent that is a file, or a target that is a directory: OutputError naming the path,
    nothing left behind."""
    from qnet.io import OutputError, write_atomic

    blocker = tmp_path / "file.txt"
    blocker.write_text("keep")
    with pytest.raises(
        OutputError, match=r"^cannot write .*file\.txt/x\.csv: .*file\.txt is not a dir"
    ):
        write_atomic(blocker / "x.csv", "x")
    with pytest.raises(OutputError, match=r"^cannot write .*: Is a directory"):
        write_atomic(tmp_path, "x")
    assert blocker.read_text() == "keep"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["file.txt"]


def test_result_store_refuses_a_file_that_is_not_a_store(tmp_path: Path) -> None:
    """qnet sweep --store README.md: one StoreError / error line, the file untouched."""
    text = tmp_path / "README.md"
    text.write_text("# not a database\n" * 50)
    with pytest.raises(StoreError, match=r"README\.md is not a qnet results store"):
        ResultStore(text)
    sweep = Path(__file__).parents[1] / "scenarios" / "sweeps" / "distance-vs-coherence.toml"
    res = CliRunner().invoke(app, ["sweep", str(sweep), "--store", str(text)])
    assert res.exit_code == 2, res.output
    lines = res.stderr.strip().splitlines()
    assert lines == [f"error: {text} is not a qnet results store (file is not a database)"]
    assert text.read_text() == "# not a database\n" * 50


def test_cli_results_unwritable_export_is_one_error_line(store: Path, tmp_path: Path) -> None:
    blocker = tmp_path / "file.txt"
    blocker.write_text("")
    res = CliRunner().invoke(app, ["results", str(store), "--export", str(blocker / "r.csv")])
    assert res.exit_code == 2, res.output
    assert res.stderr.strip().splitlines() == [
        f"error: cannot write {blocker / 'r.csv'}: {blocker} is not a directory"
    ]


def test_cli_results_shows_the_estimate_it_uses(store: Path) -> None:
    """Default is the game (Lemma 1) estimate, as in qnet plot; the header names the estimate;
    --estimate queue switches to the queue-replay columns; a bad choice is one error line."""
    runner = CliRunner()
    game = runner.invoke(app, ["results", str(store)])
    assert game.exit_code == 0, game.output
    assert "gap reduction [1/mu] (game)" in game.stdout and "retained (game)" in game.stdout
    assert "0.0612 ± 0.003" in game.stdout and "0.07 ± 0.01" not in game.stdout
    queue = runner.invoke(app, ["results", str(store), "--estimate", "queue"])
    assert "gap reduction [1/mu] (queue)" in queue.stdout and "0.07 ± 0.01" in queue.stdout
    assert "0.0612" not in queue.stdout
    as_json = runner.invoke(app, ["results", str(store), "--json"])
    assert json.loads(as_json.stdout)["estimate"] == "game"
    bad = runner.invoke(app, ["results", str(store), "--estimate", "mean"])
    assert bad.exit_code == 2
    assert bad.stderr.startswith("error: Invalid value for '--estimate': 'mean' is not one of")
    assert len(bad.stderr.strip().splitlines()) == 1
