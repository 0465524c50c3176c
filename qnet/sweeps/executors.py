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
import select
import threading
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
from qnet.sweeps.store import ResultStore, StoreError

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


def _worker_init(parent_pid: int) -> None:
    """Pool-worker initializer: one BLAS/OpenMP thread, and exit when the sweep process dies.

    One thread, because a multi-threaded BLAS sums in an order that depends on the thread
    count: the same point gave ``ideal_gap_reduction`` ...06055 with one thread and ...06115
    with two, so a sweep on 1 worker (2 threads each on 2 cores) and on 2 workers stored
    different numbers. One thread per worker also avoids oversubscribing the cores (a
    20-point sweep on 2 workers: 29.4 s with 2 threads each, 16.6 s with 1).

    A worker of a forkserver pool holds the write end of its own task pipe, so it never sees
    EOF when the sweep process is killed (SIGKILL, or SIGTERM with no handler): it would wait
    forever, and keep the forkserver and the resource tracker alive. A daemon thread waits
    for the parent to exit (``pidfd_open``; polling where that is missing) and ends the
    worker then; the forkserver and resource tracker exit once their last client is gone.
    """
    from threadpoolctl import threadpool_limits

    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[var] = "1"
    threadpool_limits(1)
    threading.Thread(
        target=_exit_with_parent, args=(parent_pid,), name="qnet-parent-watch", daemon=True
    ).start()


def _alive(pid: int) -> bool:
    """True if process ``pid`` exists (a zombie not yet reaped counts as alive)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _exit_with_parent(parent_pid: int) -> None:
    """Block until process ``parent_pid`` exits, then end this worker at once."""
    try:
        fd = os.pidfd_open(parent_pid)  # Linux >= 5.3: readable when the process exits
    except (AttributeError, OSError):
        fd = None
    if fd is not None:
        select.select([fd], [], [])
    else:
        while _alive(parent_pid):
            time.sleep(0.5)
    os._exit(70)  # no cleanup: the parent that would read the result is gone


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
    # the lock is taken first and dropped last: closing its descriptor while SQLite still
    # had the file open would drop SQLite's own fcntl locks of this process on it
    with _sweep_lock(Path(store_path)), ResultStore(store_path) as store:
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


@contextmanager
def _sweep_lock(store_path: Path) -> Iterator[None]:
    """Hold an exclusive lock on the store file while a sweep runs into it.

    Two ``qnet sweep`` processes on one store would otherwise both compute every point;
    the second is refused at once with :class:`SweepError`. The lock is ``flock`` on the
    store file itself (SQLite's own locks are ``fcntl`` byte ranges, independent of it), so
    no lock file is left behind and the kernel drops the lock when the process dies.
    """
    try:
        import fcntl
    except ImportError:  # not POSIX: no lock
        yield
        return
    try:
        store_path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(store_path, os.O_RDONLY | os.O_CREAT, 0o666)  # an empty file is a new store
    except OSError as err:
        raise StoreError(f"cannot open results store {store_path}: {err.strerror}") from None
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise SweepError(
                f"results store {store_path} is in use by another running qnet sweep: "
                "wait for it to finish, or give another --store"
            ) from None
        yield
    finally:
        os.close(fd)  # closing the descriptor releases the lock


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
    """A local process pool (forkserver: no fork of a threaded parent), see :func:`_worker_init`."""
    return cf.ProcessPoolExecutor(
        max_workers=n,
        mp_context=multiprocessing.get_context("forkserver"),
        initializer=_worker_init,
        initargs=(os.getpid(),),
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
