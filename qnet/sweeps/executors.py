"""Sweep executors: run every unfinished point of a sweep on a process pool or Dask.

Each point runs in a worker (:func:`run_point`; any exception becomes a failed outcome),
its row is written to the results store as soon as it finishes (:func:`run_sweep`), so a
killed sweep loses only the points still running and a rerun skips finished ones. A
worker that dies takes the local pool down with it; the points in flight are then rerun
one by one to pin the crash on its point (:func:`_run_on_pool`).
"""

from __future__ import annotations

import concurrent.futures as cf
import importlib
import json
import math
import multiprocessing
import os
import time
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

from qnet.config import Scenario
from qnet.sweeps.spec import Sweep, SweepError
from qnet.sweeps.store import ResultStore

__all__ = [
    "DEFAULT_POINT_FUNCTION",
    "PointOutcome",
    "PointTask",
    "SweepSummary",
    "dask_executor",
    "run_point",
    "run_sweep",
]

DEFAULT_POINT_FUNCTION = "qnet.runs.runner:run_scenario"
"""``module:function`` run for every point: ``f(scenario) -> RunRecord``."""


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
