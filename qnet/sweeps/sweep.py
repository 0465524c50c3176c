"""Sweeps: a base scenario, axes to vary, every point run on any executor.

A sweep file (TOML) names a base scenario (path relative to the sweep file), optional
fixed overrides ``[set]`` and the axes ``[axes]`` -- any dotted scenario key, with values
given as a list, a range ``{start, stop, num}`` or a log-range ``{start, stop, num,
log = true}``; ``also = ["other.key"]`` sets further keys to the same value (e.g. both
fiber arms). Axes are crossed (``mode = "cross"``, every combination) or zipped
(``mode = "zip"``, i-th value of each). ``replicates = N`` repeats every point with N
independent seeds (coordinate ``replicate``).

Each point's seed is a hash of the sweep seed and the point's coordinates
(:func:`point_seed`), never of its position or of where it ran, so a point gives the same
numbers on a laptop process pool and on a Dask cluster. Points are identified in the
results store by their resolved scenario's digest, so a rerun skips finished points.

Examples:
    >>> point_seed(7, {"link.arm_a_km": 10.0}) == point_seed(7, {"link.arm_a_km": 10.0})
    True
"""

from __future__ import annotations

import concurrent.futures as cf
import difflib
import hashlib
import importlib
import itertools
import json
import math
import multiprocessing
import os
import time
import tomllib
import traceback
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures.process import BrokenProcessPool
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field, is_dataclass
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any, Literal

import numpy as np

from qnet.config import (
    Scenario,
    ScenarioError,
    apply_overrides,
    reference_rows,
    scenario_from_dict,
)
from qnet.sweeps.store import ResultStore

__all__ = [
    "DEFAULT_POINT_FUNCTION",
    "Axis",
    "PointOutcome",
    "PointTask",
    "Sweep",
    "SweepError",
    "SweepPoint",
    "SweepSummary",
    "dask_executor",
    "load_sweep",
    "point_seed",
    "run_point",
    "run_sweep",
]

DEFAULT_POINT_FUNCTION = "qnet.runs.runner:run_scenario"
"""``module:function`` run for every point: ``f(scenario) -> RunRecord``."""

_RANGE_KEYS = {"start", "stop", "num", "log", "values", "also"}
_FILE_KEYS = {"name", "description", "base", "seed", "mode", "replicates", "set", "axes"}


class SweepError(ValueError):
    """A sweep file or one of its points is invalid."""


@dataclass(frozen=True)
class Axis:
    """One swept scenario key, its values, and keys that follow it (``also``)."""

    key: str
    values: tuple[Any, ...]
    log: bool = False
    also: tuple[str, ...] = ()


@dataclass(frozen=True)
class SweepPoint:
    """One point: its coordinates on the axes and its validated scenario."""

    index: int
    coords: dict[str, Any]
    scenario: Scenario

    @property
    def point_id(self) -> str:
        """The resolved scenario's digest (seed included): the store's key."""
        return self.scenario.digest()


@dataclass(frozen=True)
class PointTask:
    """What a worker needs for one point (plain data, pickles anywhere)."""

    point_id: str
    index: int
    coords: dict[str, Any]
    scenario: dict[str, Any]
    function: str = DEFAULT_POINT_FUNCTION


@dataclass(frozen=True)
class PointOutcome:
    """A finished point: its metrics, or the error that stopped it."""

    task: PointTask
    status: Literal["ok", "failed"]
    metrics: dict[str, Any] = field(default_factory=dict)
    error: str = ""
    wall_time_s: float = math.nan
    versions: dict[str, str] = field(default_factory=dict)
    """qnet and SeQUeNCe versions installed where the point ran (empty if unknown)."""


@dataclass(frozen=True)
class SweepSummary:
    """Counts of a sweep run."""

    total: int
    skipped: int
    done: int
    failed: int
    wall_time_s: float


def _package_version(name: str) -> str:
    try:
        return version(name)
    except PackageNotFoundError:
        return "unknown"


# ---------------------------------------------------------------- seeding


def point_seed(sweep_seed: int, coords: dict[str, Any]) -> int:
    """Seed of a point: SHA-256 of the sweep seed and its coordinates, 62 bits."""
    blob = json.dumps({"sweep_seed": sweep_seed, "coords": coords}, sort_keys=True).encode()
    return int.from_bytes(hashlib.sha256(blob).digest()[:8], "big") >> 2


# ---------------------------------------------------------------- the sweep file


def _nice(x: float) -> float:
    """Round a generated value to 12 significant digits (1e-2, not 0.009999999999)."""
    return float(f"{x:.12g}")


_KEYS = {row[0]: row for row in reference_rows()}


def _check_key(key: str, where: str) -> None:
    if key not in _KEYS:
        near = difflib.get_close_matches(key, list(_KEYS), n=1)
        hint = f" (did you mean '{near[0]}'?)" if near else ""
        raise SweepError(f"{where}: '{key}' is not a scenario key{hint}")


def _flatten(table: dict[str, Any], prefix: str = "") -> Iterator[tuple[str, Any]]:
    """Yield (dotted key, leaf) pairs; range tables and lists are leaves."""
    for k, v in table.items():
        key = f"{prefix}{k}"
        # no scenario table has keys named start/stop/num/log/values/also
        is_range = isinstance(v, dict) and bool(v) and set(v) <= _RANGE_KEYS
        if isinstance(v, dict) and not is_range:
            yield from _flatten(v, key + ".")
        else:
            yield key, v


def _axis(key: str, spec: Any) -> Axis:
    """Build one axis from a list or a range table, refusing bad shapes clearly."""
    where = f"axes.{key}"
    if key == "seed":
        raise SweepError(f"{where}: the seed is derived per point; use 'replicates = N'")
    _check_key(key, "axes")
    also: tuple[str, ...] = ()
    log = False
    if isinstance(spec, list):
        values = spec
    elif isinstance(spec, dict):
        unknown = set(spec) - _RANGE_KEYS
        if unknown:
            raise SweepError(f"{where}: unknown range key(s) {sorted(unknown)}")
        also_raw = spec.get("also", [])
        if not isinstance(also_raw, list) or not all(isinstance(a, str) for a in also_raw):
            raise SweepError(f"{where}.also = {also_raw!r}: expected a list of scenario keys")
        for a in also_raw:
            _check_key(a, f"{where}.also")
        also = tuple(also_raw)
        if "values" in spec:
            if {"start", "stop", "num", "log"} & set(spec):
                raise SweepError(f"{where}: give either 'values' or start/stop/num, not both")
            values = spec["values"]
            if not isinstance(values, list):
                raise SweepError(f"{where}.values = {values!r}: expected a list")
        else:
            values, log = _range(where, spec)
    else:
        raise SweepError(
            f"{where} = {spec!r}: expected a list of values or a table {{start, stop, num[, log]}}"
        )
    if not values:
        raise SweepError(f"{where}: no values")
    if log or isinstance(spec, dict) and "start" in spec:
        if _is_int_key(key):  # a range over an integer key (e.g. run.decisions)
            values = [round(v) for v in values]
    if len({json.dumps(v) for v in values}) != len(values):
        raise SweepError(f"{where}: repeated values {values!r}")
    return Axis(key=key, values=tuple(values), log=log, also=also)


def _is_int_key(key: str) -> bool:
    default = Scenario().to_dict()
    node: Any = default
    for part in key.split("."):
        node = node[part]
    return isinstance(node, int) and not isinstance(node, bool)


def _range(where: str, spec: dict[str, Any]) -> tuple[list[Any], bool]:
    missing = {"start", "stop", "num"} - set(spec)
    if missing:
        raise SweepError(f"{where}: a range needs start, stop and num; missing {sorted(missing)}")
    start, stop, num, log = spec["start"], spec["stop"], spec["num"], spec.get("log", False)
    for name, v in (("start", start), ("stop", stop)):
        if isinstance(v, bool) or not isinstance(v, int | float) or not math.isfinite(v):
            raise SweepError(f"{where}.{name} = {v!r}: expected a finite number")
    if isinstance(num, bool) or not isinstance(num, int) or not 1 <= num <= 100_000:
        raise SweepError(f"{where}.num = {num!r} is out of range: allowed integers [1, 100000]")
    if not isinstance(log, bool):
        raise SweepError(f"{where}.log = {log!r}: expected true or false")
    if log:
        if start <= 0 or stop <= 0:
            raise SweepError(
                f"{where}: a log range needs start > 0 and stop > 0, got {start!r}, {stop!r}"
            )
        raw = np.geomspace(start, stop, num)
    else:
        raw = np.linspace(start, stop, num)
    return [_nice(v) for v in raw], log


@dataclass(frozen=True)
class Sweep:
    """A validated sweep: base scenario data, axes, mode, seed."""

    name: str
    path: Path
    base_path: Path
    base: dict[str, Any]
    axes: tuple[Axis, ...]
    mode: Literal["cross", "zip"] = "cross"
    seed: int = 0
    replicates: int = 1
    description: str = ""

    @property
    def axis_keys(self) -> list[str]:
        """Coordinate names in order (``replicate`` last when replicating)."""
        keys = [a.key for a in self.axes]
        return keys + (["replicate"] if self.replicates > 1 else [])

    def coordinates(self) -> list[dict[str, Any]]:
        """Every point's coordinates, in sweep order (cross: last axis fastest)."""
        if self.mode == "zip":
            combos = list(zip(*(a.values for a in self.axes), strict=True))
        else:
            combos = list(itertools.product(*(a.values for a in self.axes)))
        out = []
        for combo in combos:
            coords = {a.key: v for a, v in zip(self.axes, combo, strict=True)}
            for r in range(self.replicates):
                out.append({**coords, "replicate": r} if self.replicates > 1 else dict(coords))
        return out

    def overrides(self, coords: dict[str, Any]) -> dict[str, Any]:
        """Dotted-key overrides that turn the base into one point (seed included)."""
        over: dict[str, Any] = {}
        for a in self.axes:
            for key in (a.key, *a.also):
                over[key] = coords[a.key]
        over["seed"] = point_seed(self.seed, coords)
        return over

    def points(self) -> list[SweepPoint]:
        """Every point with its validated scenario; all invalid points are reported."""
        points, bad = [], []
        for i, coords in enumerate(self.coordinates()):
            data = apply_overrides(self.base, self.overrides(coords))
            try:
                scenario = scenario_from_dict(data)
            except ScenarioError as err:
                shown = ", ".join(f"{k}={v!r}" for k, v in coords.items())
                bad.append(f"point {i} ({shown}): {err}")
                continue
            points.append(SweepPoint(index=i, coords=coords, scenario=scenario))
        if bad:
            more = f" (and {len(bad) - 3} more)" if len(bad) > 3 else ""
            raise SweepError(
                f"{self.path}: {len(bad)} of {len(bad) + len(points)} points are invalid: "
                + "; ".join(bad[:3])
                + more
            )
        return points

    def spec(self) -> dict[str, Any]:
        """JSON-able description stored with the results (axes, mode, seed, base)."""
        return {
            "name": self.name,
            "description": self.description,
            "base": str(self.base_path),
            "mode": self.mode,
            "seed": self.seed,
            "replicates": self.replicates,
            "axes": [
                {"key": a.key, "values": list(a.values), "log": a.log, "also": list(a.also)}
                for a in self.axes
            ],
        }


def _read_toml(path: Path, not_found: str) -> dict[str, Any]:
    """Parse a TOML file; a missing file raises ``SweepError(not_found)``, bad TOML names it."""
    try:
        return tomllib.loads(path.read_text())
    except FileNotFoundError:
        raise SweepError(not_found) from None
    except tomllib.TOMLDecodeError as err:
        raise SweepError(f"{path}: not valid TOML ({err})") from None


def load_sweep(path: str | Path) -> Sweep:
    """Read and validate a sweep file and its base scenario (every point checked)."""
    path = Path(path)
    data = _read_toml(path, f"sweep file not found: {path}")
    unknown = set(data) - _FILE_KEYS
    if unknown:
        raise SweepError(
            f"{path}: unknown key(s) {sorted(unknown)}; allowed: {', '.join(sorted(_FILE_KEYS))}"
        )
    if not isinstance(data.get("base"), str):
        raise SweepError(f"{path}: 'base' must name the base scenario file (relative path)")
    base_path = (path.parent / data["base"]).resolve()
    base = _read_toml(base_path, f"{path}: base scenario not found: {base_path}")
    base.setdefault("name", base_path.stem)
    seed = data.get("seed", 0)
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise SweepError(f"{path}: seed = {seed!r} is out of range: allowed integers [0, inf)")
    mode = data.get("mode", "cross")
    if mode not in ("cross", "zip"):
        raise SweepError(f"{path}: mode = {mode!r} is not a valid choice: allowed 'cross' or 'zip'")
    reps = data.get("replicates", 1)
    if isinstance(reps, bool) or not isinstance(reps, int) or not 1 <= reps <= 10_000:
        raise SweepError(f"{path}: replicates = {reps!r} is out of range: allowed [1, 10000]")
    fixed = data.get("set", {})
    if not isinstance(fixed, dict):
        raise SweepError(f"{path}: [set] must be a table of scenario keys")
    fixed_flat = dict(_flatten(fixed))
    for key in fixed_flat:
        _check_key(key, "set")
    base = apply_overrides(base, fixed_flat)
    axes_raw = data.get("axes", {})
    if not isinstance(axes_raw, dict) or not axes_raw:
        raise SweepError(f"{path}: [axes] must name at least one scenario key to vary")
    try:
        axes = tuple(_axis(k, v) for k, v in _flatten(axes_raw))
    except SweepError as err:
        raise SweepError(f"{path}: {err}") from None
    keys = [k for a in axes for k in (a.key, *a.also)]
    dup = sorted({k for k in keys if keys.count(k) > 1})
    if dup:
        raise SweepError(f"{path}: key(s) {dup} set by more than one axis")
    if mode == "zip" and len({len(a.values) for a in axes}) > 1:
        lengths = ", ".join(f"{a.key} has {len(a.values)}" for a in axes)
        raise SweepError(f"{path}: zip mode needs axes of equal length: {lengths}")
    name = data.get("name", path.stem)
    if not isinstance(name, str) or not name:
        raise SweepError(f"{path}: name = {name!r}: expected a non-empty string")
    sweep = Sweep(
        name=name,
        path=path,
        base_path=base_path,
        base=base,
        axes=axes,
        mode=mode,
        seed=seed,
        replicates=reps,
        description=str(data.get("description", "")),
    )
    sweep.points()  # validate every point up front
    return sweep


# ---------------------------------------------------------------- running points


def _flat_metrics(record: Any) -> dict[str, Any]:
    """A result record as flat ``{name: scalar}`` (dataclass, or dict; numpy unwrapped)."""
    raw = asdict(record) if is_dataclass(record) else dict(record)
    out: dict[str, Any] = {}
    for k, v in raw.items():
        if isinstance(v, np.generic):
            v = v.item()
        if (
            isinstance(v, tuple | list)
            and len(v) == 2
            and all(isinstance(x, int | float) for x in v)
        ):
            out[f"{k}_lo"], out[f"{k}_hi"] = float(v[0]), float(v[1])
        elif v is None or isinstance(v, bool | int | float | str):
            out[k] = v
        else:
            out[k] = json.dumps(v, default=str)
    return out


def run_point(task: PointTask) -> PointOutcome:
    """Run one point in a worker; any exception becomes a failed outcome, never a crash."""
    t0 = time.perf_counter()
    versions = {name: _package_version(name) for name in ("qnet", "sequence")}
    try:
        module, _, attr = task.function.partition(":")
        fn: Callable[[Scenario], Any] = getattr(importlib.import_module(module), attr)
        record = fn(Scenario.model_validate(task.scenario))
        metrics = _flat_metrics(record)
    except Exception as err:  # noqa: BLE001 - a failing point must not stop the sweep
        tb = traceback.format_exc(limit=-3).strip().splitlines()
        return PointOutcome(
            task=task,
            status="failed",
            error=f"{type(err).__name__}: {err} | {' / '.join(tb[-4:])}",
            wall_time_s=time.perf_counter() - t0,
            versions=versions,
        )
    return PointOutcome(
        task=task,
        status="ok",
        metrics=metrics,
        wall_time_s=time.perf_counter() - t0,
        versions=versions,
    )


def _limit_threads(threads: int) -> None:
    """Pool-worker initializer: at most ``threads`` BLAS/OpenMP threads per worker.

    Each worker process otherwise starts one BLAS thread per core, and N workers on N
    cores oversubscribe them: measured on 2 cores, a 20-point sweep on 2 workers took as
    long as on 1 until this limit (29.4 s -> 16.6 s). Dask workers get the same limit
    from Dask's own defaults (OMP/MKL/OPENBLAS_NUM_THREADS = 1).
    """
    from threadpoolctl import threadpool_limits

    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(var, str(threads))
    threadpool_limits(threads)


@contextmanager
def dask_executor(
    scheduler: str, workers: int | None = None, connect_timeout: float = 10.0
) -> Iterator[cf.Executor]:
    """A concurrent.futures executor on a Dask cluster (``"local"`` starts a LocalCluster).

    A scheduler ADDRESS that cannot be reached within ``connect_timeout`` seconds raises
    :class:`SweepError` naming it.
    """
    from distributed import Client, LocalCluster

    if scheduler == "local":
        n = workers or os.cpu_count() or 1
        with (
            LocalCluster(
                n_workers=n, threads_per_worker=1, processes=True, dashboard_address=None
            ) as cluster,
            Client(cluster) as client,
        ):
            yield client.get_executor(pure=False)
    else:
        if not (math.isfinite(connect_timeout) and connect_timeout > 0):
            raise SweepError(f"connect_timeout must be > 0 seconds, got {connect_timeout!r}")
        try:
            client = Client(scheduler, timeout=connect_timeout)
        except (OSError, TimeoutError, ValueError) as err:
            raise SweepError(
                f"Dask scheduler {scheduler} could not be reached within {connect_timeout:g} s "
                f"({type(err).__name__}: {str(err).splitlines()[0] if str(err) else 'no reply'})"
            ) from None
        with client:
            yield client.get_executor(pure=False)


ProgressCallback = Callable[[PointOutcome | None, int, int, int], None]
"""``progress(outcome, done, failed, total)``; called once with ``None`` at the start."""


def run_sweep(
    sweep: Sweep,
    store_path: str | Path,
    *,
    executor: cf.Executor | None = None,
    workers: int | None = None,
    progress: ProgressCallback | None = None,
    function: str = DEFAULT_POINT_FUNCTION,
    retry_failed: bool = True,
) -> SweepSummary:
    """Run every unfinished point, writing each result to the store as it finishes.

    Args:
        sweep: a validated sweep (:func:`load_sweep`).
        store_path: SQLite results store; created if missing, finished points skipped.
        executor: any ``concurrent.futures.Executor`` (e.g. :func:`dask_executor`);
            default a local process pool of ``workers`` processes.
        workers: process-pool size (default: every local core).
        progress: called after each point with the counts so far.
        function: ``module:function`` run per point (default :data:`qnet.runs.runner.run_scenario`).
        retry_failed: rerun points whose earlier attempt failed.
    """
    t0 = time.perf_counter()
    points = sweep.points()
    with ResultStore(store_path) as store:
        store.register_sweep(sweep.name, sweep.spec())
        finished = store.point_ids(sweep.name, status=("ok",) if retry_failed else None)
        todo = [p for p in points if p.point_id not in finished]
        total, done, failed = len(todo), 0, 0
        if progress:
            progress(None, done, failed, total)
        if not todo:
            return SweepSummary(len(points), len(points), 0, 0, time.perf_counter() - t0)
        tasks = [
            PointTask(
                point_id=p.point_id,
                index=p.index,
                coords=p.coords,
                scenario=p.scenario.to_dict(),
                function=function,
            )
            for p in todo
        ]
        n = max(1, min(workers or os.cpu_count() or 1, len(tasks)))
        outcomes = _run_on_pool(tasks, n) if executor is None else _run_on(executor, tasks)
        for outcome in outcomes:
            store.write_point(_row(sweep, outcome))
            done += outcome.status == "ok"
            failed += outcome.status == "failed"
            if progress:
                progress(outcome, done, failed, total)
    return SweepSummary(
        total=len(points),
        skipped=len(points) - total,
        done=done,
        failed=failed,
        wall_time_s=time.perf_counter() - t0,
    )


def _failed(task: PointTask, err: BaseException, note: str) -> PointOutcome:
    return PointOutcome(task=task, status="failed", error=f"{type(err).__name__}: {err} ({note})")


def _run_on(executor: cf.Executor, tasks: list[PointTask]) -> Iterator[PointOutcome]:
    """Submit every point to a caller's executor (e.g. Dask); yield outcomes as they finish."""
    futures = {executor.submit(run_point, t): t for t in tasks}
    for fut in cf.as_completed(futures):
        try:
            yield fut.result()
        except Exception as err:  # noqa: BLE001 - e.g. Dask KilledWorker: record, go on
            yield _failed(futures[fut], err, "worker lost")


def _pool(n: int) -> cf.ProcessPoolExecutor:
    """A local process pool (forkserver: no fork of a threaded parent), BLAS threads capped."""
    threads = max(1, (os.cpu_count() or 1) // n)
    return cf.ProcessPoolExecutor(
        max_workers=n,
        mp_context=multiprocessing.get_context("forkserver"),
        initializer=_limit_threads,
        initargs=(threads,),
    )


def _alone(task: PointTask) -> PointOutcome:
    """Run one point in a pool of its own, so a crash can only be this point's."""
    with _pool(1) as pool:
        try:
            return pool.submit(run_point, task).result()
        except BrokenProcessPool as err:
            return _failed(task, err, "the worker process died running this point")


def _fill(
    pool: cf.ProcessPoolExecutor,
    queue: deque[PointTask],
    running: dict[cf.Future[PointOutcome], PointTask],
    n: int,
) -> bool:
    """Submit queued points until ``n`` are in flight; False if the pool is broken.

    A worker can die between two submissions, and then ``submit`` itself raises
    ``BrokenProcessPool``: the point it was given never started, so it goes back to the
    front of the queue.
    """
    while queue and len(running) < n:
        task = queue.popleft()
        try:
            running[pool.submit(run_point, task)] = task
        except BrokenProcessPool:
            queue.appendleft(task)
            return False
    return True


def _run_on_pool(tasks: list[PointTask], n: int) -> Iterator[PointOutcome]:
    """Run points on a local pool, at most ``n`` in flight; pin a worker crash on its point.

    A worker that dies (segfault, ``os._exit``, out of memory) breaks the whole pool. The
    points that were in flight are then rerun one by one, each in a fresh one-worker pool:
    the culprit is recorded as failed, the others finish normally, and the rest of the
    sweep continues on a new pool.
    """
    queue = deque(tasks)
    pool = _pool(n)
    try:
        while queue:
            running: dict[cf.Future[PointOutcome], PointTask] = {}
            broken = not _fill(pool, queue, running, n)
            suspects: list[PointTask] = []
            while running and not suspects and not broken:
                finished, _ = cf.wait(running, return_when=cf.FIRST_COMPLETED)
                for fut in finished:
                    task = running.pop(fut)
                    try:
                        yield fut.result()
                    except BrokenProcessPool:
                        suspects.append(task)
                    except Exception as err:  # noqa: BLE001 - record, go on
                        yield _failed(task, err, "worker lost")
                if not suspects:
                    broken = not _fill(pool, queue, running, n)  # keep n points in flight
            if suspects or broken:
                cf.wait(running)  # the broken pool fails every pending future
                for fut, task in running.items():
                    if fut.exception() is None:
                        yield fut.result()
                    else:
                        suspects.append(task)
                pool.shutdown(wait=True, cancel_futures=True)
                for task in suspects:
                    yield _alone(task)
                pool = _pool(n)
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def _row(sweep: Sweep, outcome: PointOutcome) -> dict[str, Any]:
    """One store row: coordinates, every metric, and the bookkeeping columns."""
    task = outcome.task
    scenario = task.scenario
    row: dict[str, Any] = dict(outcome.metrics)
    row.update(
        {
            "point_id": task.point_id,
            "sweep": sweep.name,
            "point_index": task.index,
            "coords": json.dumps(task.coords, sort_keys=True),
            "status": outcome.status,
            "error": outcome.error or None,
            "seed": scenario["seed"],
            "engine": scenario["engine"]["name"],
            "wall_time_s": outcome.wall_time_s,
            "qnet_version": outcome.versions.get("qnet"),
            "sequence_version": outcome.versions.get("sequence"),
            "scenario_digest": task.point_id,
            "scenario_json": json.dumps(scenario, sort_keys=True),
        }
    )
    for key, value in task.coords.items():
        row[key] = value
    return row
