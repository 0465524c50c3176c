"""Property test (issue 17): any scenario document loads or gives one ScenarioError naming a key.

Hypothesis builds documents from the schema's keys (and misspelt ones) with values of every
TOML type -- booleans, 64-bit integers, huge, tiny and non-finite floats, strings with path
separators and NUL bytes, dates, times, date-times, arrays and tables. Each document must
either validate (and then its closed-form link prediction is finite) or raise
:class:`ScenarioError` whose message names a scenario key; and written to a file and given
to ``qnet run``, ``show``, ``link`` and ``sweep``, it must give either one ``error:`` line
(exit 2) or reach the command's work, never another exception. The heavy work itself
(``simulate``, the SeQUeNCe link, the sweep's points) is replaced by a marker exception:
this test is about the entry points. Results stores of random rows and sweep specs go
through ``qnet results`` and ``qnet plot`` the same way. Derandomized (fixed seed), no
example database.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import tempfile
import warnings
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from qnet.cli.app import app
from qnet.config import ScenarioError, reference_rows, scenario_from_dict

KEYS = [row[0] for row in reference_rows()]
TABLES = sorted({k.split(".")[0] for k in KEYS if "." in k})
NAMED = sorted({*KEYS, *TABLES})

SETTINGS = settings(
    max_examples=300,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)

nasty_text = st.one_of(
    st.text(max_size=20),
    st.sampled_from(
        ["../../escaped", "/tmp/qnet-abs", "../newdir/sub/x", "a\0b", "..", ".", "a/b\\c", ""]
    ),
)
floats = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([1e-300, 1e308, -1e308, 5e-324, 1e-12, 1e15, 0.0, -0.0, 2.5e4]),
)
scalars = st.one_of(
    st.booleans(),
    st.integers(min_value=-(2**63), max_value=2**63 - 1),
    floats,
    nasty_text,
    st.dates(),
    st.times(),
    st.datetimes(timezones=st.one_of(st.none(), st.just(dt.UTC))),
)
values = st.one_of(
    scalars,
    st.lists(scalars, max_size=3),
    st.dictionaries(st.sampled_from(["a", "start", "k"]), scalars, max_size=2),
)
keys = st.one_of(
    st.sampled_from(NAMED),
    st.sampled_from(KEYS).map(lambda k: k + "x"),  # misspelt
    st.text(alphabet="abcxyz_.", min_size=1, max_size=12),
)


def _nest(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """A nested document from dotted keys; a key clashing with a table is dropped."""
    doc: dict[str, Any] = {}
    for key, value in pairs:
        parts = key.split(".")
        if any(not p for p in parts):
            continue
        node = doc
        for part in parts[:-1]:
            child = node.setdefault(part, {})
            if not isinstance(child, dict):
                break
            node = child
        else:
            if not isinstance(node.get(parts[-1]), dict):
                node[parts[-1]] = value
    return doc


documents = st.lists(st.tuples(keys, values), max_size=6).map(_nest)


def _toml_value(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        if math.isnan(v):
            return "nan"
        if math.isinf(v):
            return "inf" if v > 0 else "-inf"
        return repr(v)
    if isinstance(v, str):
        return json.dumps(v)  # JSON string escapes are valid TOML basic-string escapes
    if isinstance(v, dt.datetime | dt.date | dt.time):
        return v.isoformat()
    if isinstance(v, list):
        return "[" + ", ".join(_toml_value(x) for x in v) + "]"
    if isinstance(v, dict):
        return "{" + ", ".join(f"{json.dumps(k)} = {_toml_value(x)}" for k, x in v.items()) + "}"
    raise TypeError(type(v))


def _toml(doc: dict[str, Any], prefix: str = "") -> str:
    """The document as TOML with dotted keys (every key quoted)."""
    lines = []
    for k, v in doc.items():
        key = f"{prefix}{json.dumps(k)}"
        if isinstance(v, dict) and v:
            lines.append(_toml(v, key + "."))
        else:
            lines.append(f"{key} = {_toml_value(v)}")
    return "\n".join(line for line in lines if line)


def _names_a_key(message: str, doc: dict[str, Any]) -> bool:
    given_keys: list[str] = []

    def walk(d: dict[str, Any], prefix: str = "") -> None:
        for k, v in d.items():
            given_keys.append(prefix + k)
            if isinstance(v, dict):
                walk(v, f"{prefix}{k}.")

    walk(doc)
    return any(k in message for k in [*NAMED, *given_keys] if k)


@SETTINGS
@given(documents)
def test_any_document_validates_or_names_a_key(doc: dict[str, Any]) -> None:
    """scenario_from_dict: a Scenario (finite link prediction) or one ScenarioError."""
    from qnet.physics.link import predict

    try:
        scenario = scenario_from_dict(doc)
    except ScenarioError as err:
        assert _names_a_key(str(err), doc), str(err)
        assert "\n" not in str(err)
        return
    json.dumps(scenario.to_dict(), allow_nan=False)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        pred = predict(scenario)
    assert all(math.isfinite(v) for v in pred.to_dict().values() if isinstance(v, float)), pred


class _Reached(Exception):
    """Raised in place of a command's heavy work: the scenario loaded and was accepted."""


def _reached(*_args: Any, **_kwargs: Any) -> Any:
    raise _Reached


@pytest.fixture(scope="module")
def stubbed() -> Any:
    """Replace simulate, run_link and run_sweep by _reached for this module's CLI test."""
    import nodes.link_run
    import qnet.runs.runner
    import qnet.sweeps.executors

    mp = pytest.MonkeyPatch()
    mp.setattr(qnet.runs.runner, "simulate", _reached)
    mp.setattr(nodes.link_run, "run_link", _reached)
    mp.setattr(qnet.sweeps.executors, "run_sweep", _reached)
    with tempfile.TemporaryDirectory() as tmp:
        mp.chdir(tmp)  # show's default PNG and the sweep's default store land in here
        yield Path(tmp)
    mp.undo()


@settings(SETTINGS, max_examples=60)  # four CLI invocations per example
@given(documents)
def test_no_command_lets_another_exception_escape(stubbed: Path, doc: dict[str, Any]) -> None:
    """qnet run/show/link/sweep on the document as a file: one error line, or the work starts."""
    scenario = stubbed / "doc.toml"
    scenario.write_text(_toml(doc) + "\n")
    sweep = stubbed / "sweep.toml"
    sweep.write_text('base = "doc.toml"\n[axes]\n"strategy.restarts" = [1, 2]\n')
    runner = CliRunner()
    for args in (
        ["run", str(scenario), "--no-plot", "--json"],
        ["show", str(scenario), "--no-draw", "--json"],
        ["link", str(scenario), "--json"],
        ["sweep", str(sweep), "--store", str(stubbed / "r.sqlite"), "--json"],
    ):
        res = runner.invoke(app, args)
        if isinstance(res.exception, _Reached) or res.exit_code == 0:
            continue
        assert isinstance(res.exception, SystemExit), (args, repr(res.exception))
        lines = res.stderr.strip().splitlines()
        assert res.exit_code == 2 and len(lines) == 1, (args, res.exit_code, lines)
        assert lines[0].startswith("error: "), lines


sweep_keys = st.sampled_from(
    ["name", "description", "seed", "mode", "replicates", "set", "base", "other"]
)
axis_values = st.one_of(
    st.lists(scalars, min_size=1, max_size=3),
    st.fixed_dictionaries(
        {"start": scalars, "stop": scalars, "num": st.integers(-2, 5)},
        optional={"log": scalars, "also": st.lists(st.one_of(st.sampled_from(KEYS), scalars))},
    ),
    scalars,
)
sweep_documents = st.tuples(
    st.one_of(st.just({}), st.dictionaries(sweep_keys, values, max_size=3)),
    st.dictionaries(
        st.sampled_from([*KEYS, "seed", "link", "nope"]), axis_values, min_size=1, max_size=2
    ),
)


@settings(SETTINGS, max_examples=100)
@given(sweep_documents)
def test_any_sweep_file_loads_or_gives_one_error_line(
    stubbed: Path, sweep_doc: tuple[dict[str, Any], dict[str, Any]]
) -> None:
    """qnet sweep on a random sweep file (random top-level keys, axes of every value type)."""
    top, axes = sweep_doc
    (stubbed / "base.toml").write_text('name = "b"\n[engine]\nname = "analytic"\n')
    top = {**top, "base": top.get("base", "base.toml")}
    text = _toml(top) + "\n[axes]\n" + _toml(axes) + "\n"
    sweep = stubbed / "sweep.toml"
    sweep.write_text(text)
    res = CliRunner().invoke(app, ["sweep", str(sweep), "--store", str(stubbed / "r.sqlite")])
    if isinstance(res.exception, _Reached):
        return
    assert isinstance(res.exception, SystemExit), (text, repr(res.exception))
    lines = res.stderr.strip().splitlines()
    assert res.exit_code == 2 and len(lines) == 1 and lines[0].startswith("error: "), lines


store_columns = st.sampled_from(
    [
        "gap_reduction_game", "gap_reduction_game_ci95", "retained_share_game", "availability",
        "mean_fidelity_at_use", "predicted_gap_reduction", "gap_reduction", "retained_share",
        "link.arm_a_km", "router_a.t2_s", "replicate", "wall_time_s",
    ]
)  # fmt: skip
store_values = st.one_of(
    st.none(), st.integers(-5, 5), st.floats(allow_nan=True, allow_infinity=True), nasty_text
)
store_rows = st.lists(st.dictionaries(store_columns, store_values, max_size=6), max_size=5)
store_axes = st.lists(
    st.fixed_dictionaries(
        {"key": st.sampled_from(["link.arm_a_km", "router_a.t2_s", "replicate", "nope"])},
        optional={"log": st.booleans(), "values": st.lists(store_values, max_size=3)},
    ),
    max_size=3,
)


@settings(SETTINGS, max_examples=40)  # a PNG is drawn per example
@given(store_rows, store_axes, st.lists(st.sampled_from(["ok", "failed", "odd"]), min_size=5))
def test_results_and_plot_of_any_store_contents(
    stubbed: Path, rows: list[dict[str, Any]], axes: list[dict[str, Any]], statuses: list[str]
) -> None:
    """qnet results / plot on a store of random rows (text, NaN, inf where numbers belong)
    and a random sweep spec (repeated or unknown axes): output, or one error line."""
    from qnet.sweeps.store import ResultStore

    store = stubbed / "fuzz.sqlite"
    store.unlink(missing_ok=True)
    with ResultStore(store) as s:
        s.register_sweep("t", {"name": "t", "axes": axes})
        for i, row in enumerate(rows):
            s.write_point(
                {**row, "point_id": f"p{i}", "sweep": "t", "status": statuses[i], "point_index": i}
            )
    for args in (
        ["results", str(store)],
        ["results", str(store), "--json", "--estimate", "queue"],
        ["plot", str(store), "--out", str(stubbed / "fuzz.png")],
    ):
        res = CliRunner().invoke(app, args)
        if res.exit_code == 0:
            continue
        assert isinstance(res.exception, SystemExit), (args, repr(res.exception))
        lines = res.stderr.strip().splitlines()
        assert res.exit_code == 2 and len(lines) == 1 and lines[0].startswith("error: "), lines
