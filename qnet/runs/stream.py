"""The run's decisions in chunks: two passes over the same random streams, bounded memory.

Pass 1 (:func:`decide`) draws the traffic and the routers' shared numbers, prepares the
protocol step and lets the engine supply pairs, one chunk of :data:`CHUNK_DECISIONS`
decisions at a time (the analytic engine's pair store carries over; SeQUeNCe takes the
run in one chunk: at ~500 decisions/s its memory is never the limit). It keeps streaming
sums (availability, pairs used, fidelity and age at use, the pairs' mean correlation
tensor) and, for the analytic engine, the link and outcome streams' starting states; for
SeQUeNCe, the players' outputs packed to 2 bits per decision. Those sums fix the
comparison profile; pass 2 (:func:`replay`) then redraws the same traffic and shared
numbers from the same stream positions, runs the analytic engine again on its own
streams (deterministic: the same pairs and outcomes, so nothing per decision is stored
and memory does not grow with the run), replays the three policies through the queue
(:class:`qnet.queues.replay.QueueReplayer` carries each server's state) and feeds the
estimators' accumulators (:class:`qnet.estimators.BatchAccumulator`).

Every stream is drawn chunk by chunk in the order one draw of everything would use
(traffic: all inter-arrival times, then all x1, then all x2, read from three positions of
the stream), so the numbers do not depend on the chunk size.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from qnet.decisions.log import DecisionLog
from qnet.decisions.step import DecisionStep
from qnet.engines.analytic import AnalyticEngine, clone_stream, stored_pair_tensors
from qnet.estimators import POLICIES, BatchAccumulator, PolicyComparison
from qnet.queues.replay import QueueReplayer, power_work, warmup_work
from qnet.runs.controls import game_controls

if TYPE_CHECKING:
    from qnet.config import Scenario
    from qnet.engines.analytic import LinkModel
    from qnet.engines.base import Progress
    from qnet.estimators import ControlVariateEstimate, Estimate
    from qnet.games.routing.profile import RoutingProfile

__all__ = ["CHUNK_DECISIONS", "Decided", "Replayed", "TrafficStream", "decide", "replay"]

CHUNK_DECISIONS = 1 << 16
"""Decisions per chunk: bounds the run's working memory (the numbers do not depend on it)."""

ENGINE_STREAMS = ("link", "outcomes")
"""The analytic engine's streams: cloned before pass 1 so that pass 2 redraws its pairs."""


class TrafficStream:
    """The run's traffic, chunk by chunk: the values one draw of all of it gives.

    One draw takes n inter-arrival times, then n service times x1, then n x2; this reads
    the three from three positions of the stream (clones advanced past the earlier ones).
    """

    def __init__(self, scenario: Scenario, rng: np.random.Generator) -> None:
        n, tr = scenario.run.decisions, scenario.traffic
        self._gap, self._mean = 1.0 / tr.lam_hz, tr.mean_service_time_s
        self._t = clone_stream(rng)
        _skip(rng, n)
        self._x1 = clone_stream(rng)
        _skip(rng, n)
        self._x2 = rng
        self._last = 0.0

    def next(self, m: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Arrival times t [s] and service times x1, x2 [s] of the next ``m`` decisions."""
        e = self._t.exponential(self._gap, m)
        if m:
            e[0] = self._last + e[0]  # the cumulative sum goes on from the last arrival
        t = np.cumsum(e)
        if m:
            self._last = float(t[-1])
        return t, self._x1.exponential(self._mean, m), self._x2.exponential(self._mean, m)


def _skip(rng: np.random.Generator, n: int) -> None:
    """Advance ``rng`` past ``n`` exponential draws (scale does not change what is consumed)."""
    for start in range(0, n, CHUNK_DECISIONS):
        rng.standard_exponential(min(CHUNK_DECISIONS, n - start))


def _chunks(n: int, size: int) -> list[tuple[int, int]]:
    return [(i, min(i + size, n)) for i in range(0, n, size)]


@dataclass
class Decided:
    """What pass 1 keeps: how to redo the outputs and streaming sums of the measured part.

    Attributes:
        chunks: (start, end) decision indices of each chunk.
        outputs: SeQUeNCe: per chunk, ``packbits(o_A > 0)`` and ``packbits(o_B > 0)``;
            analytic: empty (pass 2 reruns the engine).
        engine_rngs: analytic: the link and outcome streams as pass 1 found them.
        model: the link model the engine ran with.
        supply: batch sums of availability, pair used, fidelity and age at use (0 unused).
        tensor_sum: sum of the used pairs' X-Z tensors (readout not included).
        few: the first ``2 b`` fidelities and ages at use (for runs with very few pairs).
        pairs_heralded, pairs_discarded: the engine's totals.
        log: the whole decision log, kept only when asked for (per-decision memory).
    """

    chunks: list[tuple[int, int]]
    outputs: list[tuple[np.ndarray, np.ndarray]]
    supply: BatchAccumulator
    tensor_sum: np.ndarray
    engine_rngs: dict[str, np.random.Generator] | None = None
    model: LinkModel | None = None
    few: dict[str, list[float]] = field(default_factory=lambda: {"fid": [], "age": []})
    pairs_heralded: int = 0
    pairs_discarded: int = 0
    log: DecisionLog | None = None

    @property
    def used_count(self) -> int:
        """Pairs used after warm-up."""
        return int(round(self.supply.sums[:, 1].sum()))


def decide(
    scenario: Scenario,
    profile: RoutingProfile,
    model: LinkModel,
    rngs: dict[str, np.random.Generator],
    progress: Progress | None,
    *,
    chunk: int = CHUNK_DECISIONS,
    keep_log: bool = False,
) -> Decided:
    """Pass 1: every decision of the run, chunk by chunk (the protocol step around the
    engine); leaves ``rngs["traffic"]`` and ``rngs["shared"]`` where they were for pass 2."""
    n, warm, b = scenario.run.decisions, scenario.run.warmup_decisions, scenario.run.batches
    mu = scenario.traffic.mu_hz
    traffic = TrafficStream(scenario, clone_stream(rngs["traffic"]))
    shared = clone_stream(rngs["shared"])
    analytic = scenario.engine.name == "analytic"
    out = Decided(
        chunks=_chunks(n, chunk if analytic else n),
        outputs=[],
        supply=BatchAccumulator(n - warm, b, 4),
        tensor_sum=np.zeros((2, 2)),
        engine_rngs={k: clone_stream(rngs[k]) for k in ENGINE_STREAMS} if analytic else None,
        model=model,
    )
    engine = AnalyticEngine(scenario, rngs, n, model) if analytic else None
    logs: list[DecisionLog] = []
    for i0, i1 in out.chunks:
        t, x1, x2 = traffic.next(i1 - i0)
        step = DecisionStep.prepare(profile, x1 * mu, x2 * mu, shared.random((i1 - i0, 3)))
        if engine is not None:
            use = engine.decide(t, step.settings, step.flip)
            if progress is not None:
                progress("simulating decisions", i1 / n)
        else:
            from qnet.engines.sequence import run_sequence

            use = run_sequence(scenario, t, step.settings, rngs, progress=progress)
        o_a, o_b = step.outputs(use.available, use.used, use.outcome_a, use.outcome_b)
        if engine is None:
            out.outputs.append((np.packbits(o_a > 0), np.packbits(o_b > 0)))
        out.pairs_heralded, out.pairs_discarded = use.pairs_heralded, use.pairs_discarded
        if keep_log:
            age_s, fid_s = use.pair_age_s, use.pair_fidelity
            logs.append(DecisionLog(t, x1, x2, o_a, o_b, use.used, age_s, fid_s))
        keep = slice(max(0, warm - i0), None)
        if keep.start >= i1 - i0:
            continue
        used = use.used[keep]
        fid = np.nan_to_num(use.pair_fidelity[keep])
        age = np.nan_to_num(use.pair_age_s[keep])
        rows = [use.available[keep], used, np.where(used, fid, 0.0), np.where(used, age, 0.0)]
        out.supply.add(np.vstack(rows))
        for name, values in (("fid", fid[used]), ("age", age[used])):
            room = 2 * b - len(out.few[name])
            out.few[name].extend(values[:room].tolist())
        if used.any():
            tensors, _ = stored_pair_tensors(use.pair_age_s[keep][used], model)
            # one sequential sum over all used pairs, as a single ``mean(axis=0)`` adds them
            out.tensor_sum = np.concatenate([out.tensor_sum[None], tensors]).sum(axis=0)
    if keep_log:
        columns = DecisionLog.__dataclass_fields__
        out.log = DecisionLog(*(np.concatenate([getattr(g, f) for g in logs]) for f in columns))
    return out


@dataclass(frozen=True)
class Replayed:
    """Pass 2: the three policies replayed on the run's traffic (measured decisions only).

    ``series`` (kept only when asked for): per-decision reduction from the queue replay,
    from the game payoffs, and the latter adjusted by the fitted control variates.
    """

    comparison: PolicyComparison
    throughput: Estimate
    reduction_cv: ControlVariateEstimate
    series: dict[str, np.ndarray] | None


def replay(
    scenario: Scenario,
    profile: RoutingProfile,
    base: RoutingProfile,
    decided: Decided,
    rngs: dict[str, np.random.Generator],
    queue_batches: int,
    progress: Progress | None,
    *,
    keep_series: bool = False,
) -> Replayed:
    """Pass 2: queue replay of the run and of its oracle and classical baselines, coupled
    to it (common random numbers), and the paired comparison of the three."""
    n, warm, b = scenario.run.decisions, scenario.run.warmup_decisions, scenario.run.batches
    mu = scenario.traffic.mu_hz
    q = scenario.queue
    work = (
        warmup_work(q.warmup_rate_per_service, q.phi_max)
        if q.throughput_model == "warmup"
        else power_work(q.power_k)
    )
    replayers = {k: QueueReplayer(work if k == "quantum" else None) for k in POLICIES}
    traffic = TrafficStream(scenario, rngs["traffic"])
    measured = n - warm
    game = BatchAccumulator(measured, b, 8)  # split x3, payoff x3, gap_q_game, gap_c_game
    cv = BatchAccumulator(measured, b, 4, moments=True)  # reduction (game), 3 controls
    queue = BatchAccumulator(measured, queue_batches, 8)  # wait x3, gaps x3, work/2, dt
    kept: dict[str, list[np.ndarray]] = {"queue": [], "game": [], "controls": []}
    means = np.zeros(3)
    last_t = 0.0
    engine = None
    if decided.engine_rngs is not None:
        engine = AnalyticEngine(scenario, decided.engine_rngs, n, decided.model)
    for c, (i0, i1) in enumerate(decided.chunks):
        m = i1 - i0
        t, x1, x2 = traffic.next(m)
        step = DecisionStep.prepare(profile, x1 * mu, x2 * mu, rngs["shared"].random((m, 3)))
        if engine is not None:
            use = engine.decide(t, step.settings, step.flip)
            bits = step.outputs(use.available, use.used, use.outcome_a, use.outcome_b)
            o_a, o_b = (np.where(o > 0, 1, -1).astype(np.int8) for o in bits)
        else:
            bits_a, bits_b = decided.outputs[c]
            o_a = np.where(np.unpackbits(bits_a, count=m).astype(bool), 1, -1).astype(np.int8)
            o_b = np.where(np.unpackbits(bits_b, count=m).astype(bool), 1, -1).astype(np.int8)
        t, x1, x2 = t * mu, x1 * mu, x2 * mu
        first_is_a = rngs["order"].random(m) < 0.5
        outputs = {
            "quantum": (o_a, o_b),
            "oracle": base.oracle_outputs_coupled(x1, x2, o_a, o_b),
            "classical": base.classical_outputs_coupled(
                x1, x2, rngs["baseline"].random(m), o_a, o_b
            ),
        }
        scores = {k: profile.game.score(x1, x2, *outputs[k]) for k in POLICIES}
        r = {
            k: replayers[k].replay(t, x1, x2, *outputs[k], first_is_a=first_is_a) for k in POLICIES
        }
        dt = np.diff(t, prepend=last_t)
        last_t = float(t[-1])
        controls = game_controls(profile, base, step, x1, x2, scores["classical"])
        means = controls.means
        if progress is not None:
            progress("replaying queues", i1 / n)
        keep = slice(max(0, warm - i0), None)
        if keep.start >= m:
            continue
        w = {k: r[k].pair_wait[keep] for k in POLICIES}
        a = {k: scores[k][keep] for k in POLICIES}
        y = 0.5 * (a["quantum"] - a["classical"])
        game.add(
            np.vstack(
                [r[k].split[keep] for k in POLICIES]
                + [a[k] for k in POLICIES]
                + [0.5 * (a["oracle"] - a["quantum"]), 0.5 * (a["oracle"] - a["classical"])]
            )
        )
        cv.add(np.vstack([y, controls.values[keep].T]))
        queue.add(
            np.vstack(
                [w[k] for k in POLICIES]
                + [w["quantum"] - w["oracle"], w["classical"] - w["oracle"]]
                + [w["classical"] - w["quantum"], r["quantum"].idle_work[keep] / 2.0, dt[keep]]
            )
        )
        if keep_series:
            kept["queue"].append(w["classical"] - w["quantum"])
            kept["game"].append(y)
            kept["controls"].append(controls.values[keep])
    reduction_cv = cv.control_variate(means)
    comparison = PolicyComparison(
        wait={k: queue.estimate(i) for i, k in enumerate(POLICIES)},
        splitting_probability={k: game.estimate(i) for i, k in enumerate(POLICIES)},
        gap_quantum=queue.estimate(3),
        gap_classical=queue.estimate(4),
        gap_reduction=queue.estimate(5),
        gap_quantum_game=game.estimate(6),
        gap_classical_game=game.estimate(7),
        gap_reduction_game=cv.estimate(0),
        payoff={k: game.estimate(3 + i) for i, k in enumerate(POLICIES)},
    )
    series = None
    if keep_series:
        y_all = np.concatenate(kept["game"])
        c_all = np.concatenate(kept["controls"])
        series = {
            "queue": np.concatenate(kept["queue"]),
            "game": y_all,
            "game_cv": y_all - (c_all - means) @ reduction_cv.coefficients,
        }
    return Replayed(comparison, queue.ratio(6, 7), reduction_cv, series)
