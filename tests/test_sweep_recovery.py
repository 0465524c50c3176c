"""A local sweep survives a worker that dies between two submissions (public ``run_sweep`` path).

When a pool worker dies, ``ProcessPoolExecutor`` marks the pool broken and the next
``submit`` raises ``BrokenProcessPool`` at once: the point handed to that call never
started, so the sweep must run it later on a fresh pool, not drop it. The race that
produces this (a worker dying just after its point finished) cannot be timed reliably,
so the test makes the pool's third ``submit`` (the refill after the first point
finishes) raise exactly what a broken pool raises; nothing inside qnet is patched.
"""

from __future__ import annotations

import concurrent.futures as cf
import os
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path
from typing import Any

import pytest

from qnet.config import Scenario
from qnet.sweeps.executors import run_sweep
from qnet.sweeps.spec import load_sweep
from qnet.sweeps.store import load_results

TESTS = Path(__file__).resolve().parent

BASE = """
name = "tiny"
seed = 3
[engine]
name = "analytic"
[run]
decisions = 1000
warmup_decisions = 100
batches = 10
"""


def point_arm_squared(scenario: Scenario) -> dict[str, Any]:
    """A stand-in point: the arm length and its square (no simulation)."""
    arm = scenario.link.arm_a_km
    return {"arm_km": arm, "arm_squared": arm * arm}


@pytest.fixture
def importable_tests(monkeypatch: pytest.MonkeyPatch) -> None:
    """Let the pool's worker processes import this module."""
    monkeypatch.syspath_prepend(str(TESTS))
    monkeypatch.setenv(
        "PYTHONPATH", os.pathsep.join([str(TESTS), os.environ.get("PYTHONPATH", "")])
    )


def test_a_point_refused_by_a_broken_pool_is_run_later(
    tmp_path: Path, importable_tests: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Five points, two workers; the third submission finds the pool broken. Every point is
    still run exactly once and stored ``ok`` with its own result."""
    real_submit = cf.ProcessPoolExecutor.submit
    calls: list[int] = []

    def submit(self: cf.ProcessPoolExecutor, fn: Any, /, *args: Any, **kwargs: Any) -> Any:
        calls.append(len(calls) + 1)
        if len(calls) == 3:
            raise BrokenProcessPool("A child process terminated abruptly (injected)")
        return real_submit(self, fn, *args, **kwargs)

    monkeypatch.setattr(cf.ProcessPoolExecutor, "submit", submit)
    (tmp_path / "base.toml").write_text(BASE)
    sweep_file = tmp_path / "sweep.toml"
    sweep_file.write_text(
        'name = "t"\nbase = "base.toml"\nseed = 11\n'
        "[axes]\nlink.arm_a_km = [1.0, 2.0, 3.0, 4.0, 5.0]\n"
    )
    store = tmp_path / "r.sqlite"
    summary = run_sweep(
        load_sweep(sweep_file), store, workers=2, function="test_sweep_recovery:point_arm_squared"
    )
    assert (summary.total, summary.done, summary.failed) == (5, 5, 0)
    assert len(calls) == 6  # five points plus the one injected refusal
    df = load_results(store)
    assert sorted(df["link.arm_a_km"]) == [1.0, 2.0, 3.0, 4.0, 5.0]  # each exactly once
    assert (df["status"] == "ok").all()
    assert (df["arm_squared"] == df["link.arm_a_km"] ** 2).all()
