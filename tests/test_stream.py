"""Bounded memory: the run streams its decisions in chunks and the record does not notice.

Each random stream drawn chunk by chunk gives the values of one draw; the analytic engine's
pair store, the queue replay (tests/test_replay.py) and the estimators' accumulators carry
their state over; a whole run with different chunk sizes gives the same record, bit for bit.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest

import qnet.engines.analytic as analytic
import qnet.engines.pair_store as pair_store
from qnet.config import load_scenario
from qnet.estimators import (
    BatchAccumulator,
    batch_means,
    control_variate_batch_means,
    ratio_batch_means,
)
from qnet.runs.runner import sample_traffic, simulate, streams
from qnet.runs.stream import TrafficStream

SCENARIOS = Path(__file__).resolve().parents[1] / "scenarios"


def _pieces(n: int, sizes: list[int]) -> list[int]:
    out, i, k = [], 0, 0
    while i < n:
        m = min(sizes[k % len(sizes)], n - i)
        out.append(m)
        i, k = i + m, k + 1
    return out


def test_traffic_in_chunks_equals_one_draw() -> None:
    """Inter-arrival times, then all x1, then all x2: read from three stream positions."""
    sc = load_scenario(SCENARIOS / "paper-ideal.toml", ["run.decisions=5000"])
    t, x1, x2 = sample_traffic(sc, streams(3)["traffic"])
    ts = TrafficStream(sc, streams(3)["traffic"])
    parts = [ts.next(m) for m in _pieces(5000, [1, 999, 77, 2048])]
    for got, want in zip(zip(*parts, strict=True), (t, x1, x2), strict=True):
        assert np.array_equal(np.concatenate(got), want)


def test_uniform_streams_in_chunks_equal_one_draw() -> None:
    """The shared, outcome, order and baseline streams: rows of uniforms in sequence."""
    whole = np.random.default_rng(5).random((1000, 3))
    rng = np.random.default_rng(5)
    parts = [rng.random((m, 3)) for m in _pieces(1000, [1, 333, 10])]
    assert np.array_equal(np.concatenate(parts), whole)


@pytest.mark.parametrize(("name", "cutoff"), [("metro-nv.toml", 0.05), ("trapped-ion.toml", 0.002)])
def test_pair_store_in_chunks_equals_one_call(
    name: str, cutoff: float, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Herald times, counters and the lazily drawn generation times carry over: chunked
    supply equals one call (refills of 64 draws cross chunk and segment boundaries)."""
    monkeypatch.setattr(pair_store, "GENERATION_DRAWS", 64)
    sc = load_scenario(SCENARIOS / name, ["engine.name=analytic", f"link.cutoff_s={cutoff}"])
    model = analytic.link_model(sc)
    n = 3000
    t = np.cumsum(np.random.default_rng(1).exponential(1.0 / sc.traffic.lam_hz, n))
    wants = np.random.default_rng(2).random(n) < 0.8
    one = analytic.sample_pair_supply(t, model, np.random.default_rng(9), wants)
    store = analytic.PairStore(model, np.random.default_rng(9), n)
    parts, i = [], 0
    for m in _pieces(n, [1, 500, 37]):
        parts.append(store.supply(t[i : i + m], wants[i : i + m]))
        i += m
    used, available, herald = (np.concatenate(c) for c in zip(*parts, strict=True))
    assert np.array_equal(used, one.used_pair) and np.array_equal(available, one.available)
    assert np.array_equal(herald, one.herald_s, equal_nan=True)
    assert (store.heralded, store.discarded) == (one.heralded, one.discarded)
    assert one.discarded > 100 and one.used_pair.sum() > 100  # the test saw both


def test_accumulator_equals_batch_estimators() -> None:
    """Batch means, ratio and control-variate estimates from streamed blocks equal the
    one-array formulas to 1e-12 (the control-variate reference: least squares on the
    centred data, then batch means of the adjusted series), whatever the chunks."""
    rng = np.random.default_rng(4)
    n, b = 100_003, 20
    c = rng.exponential(1.0, (n, 3))
    y = c @ np.array([0.5, -0.2, 0.1]) + rng.normal(size=n)
    m = np.array([1.0, 1.0, 1.0])
    centred = c - c.mean(axis=0)
    beta, *_ = np.linalg.lstsq(centred, y - y.mean(), rcond=None)
    z = y - (c - m) @ beta
    ref_cv, ref_y, ref_ratio = batch_means(z, b), batch_means(y, b), None
    ref_ratio = ratio_batch_means(c[:, 0], c[:, 1], b)
    results = []
    for sizes in ([n], [1, 4095, 70_000], [33_333]):
        acc = BatchAccumulator(n, b, 4, moments=True)
        rows, i = np.vstack([y, c.T]), 0
        for k in _pieces(n, sizes):
            acc.add(rows[:, i : i + k])
            i += k
        cv = acc.control_variate(m)
        results.append(cv)
        for got, want in (
            (cv.estimate, ref_cv),
            (acc.estimate(0), ref_y),
            (acc.ratio(1, 2), ref_ratio),
        ):
            for f in ("mean", "se", "ci95"):
                assert getattr(got, f) == pytest.approx(getattr(want, f), rel=1e-12, abs=1e-15)
        assert np.allclose(cv.coefficients, beta, rtol=1e-12, atol=0)
        assert cv.variance_reduction == pytest.approx(y.var() / z.var(), rel=1e-12)
        assert cv.variance_reduction > 1.1  # the controls did something
    # chunking never changes a bit
    assert all(r.estimate == results[0].estimate for r in results)
    assert control_variate_batch_means(y, c, m, b).estimate == results[0].estimate
    with pytest.raises(ValueError, match="observations fed"):
        BatchAccumulator(10, 2, 1).add(np.zeros(11))


def _record(sc: object, **kw: object) -> dict[str, object]:
    rec = simulate(sc, **kw).record  # type: ignore[arg-type]
    return {k: v for k, v in dataclasses.asdict(rec).items() if k != "wall_time_s"}


@pytest.mark.parametrize(
    ("name", "sets"),
    [
        ("paper-ideal.toml", []),
        ("metro-nv.toml", ["link.cutoff_s=0.005"]),  # noisy memories, discards, availability < 1
    ],
)
def test_run_record_does_not_depend_on_the_chunk_size(
    name: str, sets: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The same seed gives the same record, bit for bit, for chunks of 997, 4096 and the
    whole run, with or without the per-decision series kept."""
    monkeypatch.setattr(pair_store, "GENERATION_DRAWS", 256)
    sc = load_scenario(
        SCENARIOS / name,
        ["engine.name=analytic", "run.decisions=12000", "run.warmup_decisions=1000", *sets],
    )
    whole = _record(sc, chunk=12000)
    assert whole == _record(sc, chunk=997, keep_series=False)
    assert whole == _record(sc, chunk=4096)
    assert whole["decisions"] == 11000 and whole["pairs_heralded"] > 1000


def test_kept_series_match_the_record() -> None:
    """The plot's per-decision series (kept on request) average to the record's estimates."""
    sc = load_scenario(
        SCENARIOS / "paper-ideal.toml",
        ["engine.name=analytic", "run.decisions=8000", "run.warmup_decisions=500"],
    )
    out = simulate(sc, chunk=1500)
    rec = out.record
    assert out.log is not None and len(out.log) == 8000
    assert len(out.reduction_game_cv_series) == 7500
    assert out.reduction_game_cv_series.mean() == pytest.approx(
        rec.gap_reduction_game_cv, rel=1e-12
    )
    assert out.reduction_game_series.mean() == pytest.approx(rec.gap_reduction_game, rel=1e-12)
    assert out.reduction_series.mean() == pytest.approx(rec.gap_reduction, rel=1e-12)
    bounded = simulate(sc, keep_series=False, chunk=1500)
    assert bounded.log is None and len(bounded.reduction_series) == 0


def test_analytic_pass_one_keeps_nothing_per_decision() -> None:
    """Pass 1 of an analytic run keeps the engine's stream states, not the outputs (pass 2
    reruns the engine), so what outlives a chunk does not grow with the run (that the rerun
    gives the same record for any chunk size is checked above)."""
    from qnet.engines.analytic import link_model
    from qnet.runs.runner import _played_profile
    from qnet.runs.stream import decide

    sc = load_scenario(
        SCENARIOS / "paper-ideal.toml",
        ["engine.name=analytic", "run.decisions=5000", "run.warmup_decisions=500"],
    )
    rngs = streams(sc.seed)
    model = link_model(sc)
    profile = _played_profile(sc, model, rngs["pilot"])
    decided = decide(sc, profile, model, rngs, None, chunk=1000)
    assert decided.outputs == [] and len(decided.chunks) == 5
    assert decided.engine_rngs is not None and set(decided.engine_rngs) == {"link", "outcomes"}
    assert decided.used_count > 4000  # the engine did supply pairs
