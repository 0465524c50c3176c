"""The main job: run one scenario end to end and measure what entanglement is worth.

``run_scenario(scenario)`` builds the routing profile from the analysis core, draws the
traffic (Poisson arrivals, Exp(mu) service times), lets the chosen engine (SeQUeNCe or
the analytic link) make every routing decision with real pairs or the classical
fallback, replays the decision log through the two-server queue, replays the *same*
traffic under the oracle and the classical-only strategy (common random numbers), and
returns a flat, frozen :class:`RunRecord`.

Random streams: ``SeedSequence(scenario.seed).spawn(7)`` in this order -- traffic, link
(pair generation), outcomes (measurement coins, readout errors), shared (the routers'
shared random numbers: mixture choices and flip bit), order (within-batch order in the
queue), baseline (the classical baseline's mixture choice), pilot (the noise-aware profile's
short look at the link). Same seed, same run.

Memory. The decisions stream through the engine, the queue replay and the estimators in
chunks (:mod:`qnet.runs.stream`: pass 1 makes the decisions and keeps running sums, pass 2
redraws the same streams, reruns the analytic engine on its own streams (SeQUeNCe: reads
the outputs kept at 2 bits each) and replays the three policies into streaming
accumulators), so memory does not grow with ``run.decisions``; each stream is drawn chunk
by chunk in the order of one draw, so the record does not depend on the chunk size. Only
the per-decision log and series behind the run's plot (``simulate(keep_series=True)``)
grow with the run.

The baselines are coupled to the run (common random numbers): same arrivals, service
times and within-batch order, and the *longer* of the two customers goes to the same
server under all three policies (:func:`qnet.games.routing.mixture.couple_flip`: the baselines'
shared flip bit is set from the run's o_A when x1 >= x2, from its o_B otherwise; either is
a fair bit independent of the service times, so both baselines are still the
load-balanced policies of the paper). Where the run and a baseline disagree on splitting,
only the shorter customer lands on a different server, so the queues stay close.

Statistics. Every gap is a *paired* estimate: batch means of the per-decision difference
of the two policies' pair waits (never the difference of two separately estimated means).
Measured on paper-ideal with the analytic engine (10,000 decisions, 1,000 warm-up, 20
batches, 400 seeds): the paired interval of the queue reduction is 5x narrower than the
unpaired one, and coupling the longer customer (instead of A's) halves the spread of the
estimate (sd over seeds 0.246 -> 0.124); the 95 % intervals covered the analysis core's
ideal value in 93.8 % (queue) and 94.3 % (game) of runs (binomial SE 1.2 %). Queue
output at rho = 0.8 is correlated over ~20 decisions (m Var(batch mean)/Var -> 21.5 for
long batches, 19.1 at 450 per batch), so batches of fewer than ~1,000 decisions make the
queue intervals a few per cent too narrow (10 batches of 900: coverage 95.0 %). The
queue-replay estimates (waits, gaps, baseline throughput) therefore use
``queue_batches = min(run.batches, max(5, measured // MIN_QUEUE_BATCH_DECISIONS))``
batches; per-decision estimates (game payoffs, p, availability, fidelity) use
``run.batches``. With 4,000 decisions (200 warm-up) 20 batches of 190 covered the ideal
reduction in 98.4 % of 800 runs at the 99 % level, 5 batches of 760 in 99.1 %.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
from threadpoolctl import threadpool_limits

from qnet.config import Scenario
from qnet.decisions.log import DecisionLog
from qnet.decisions.step import DecisionStep
from qnet.engines.analytic import link_model, sample_pair_supply, stored_pair_tensors
from qnet.engines.base import PairUse, Progress
from qnet.estimators import POLICIES, Estimate, PolicyComparison
from qnet.games.routing.profile import RoutingProfile, build_profile
from qnet.physics.noise import availability_mix, readout_factor
from qnet.queues.model import (
    baseline_throughput_power,
    baseline_throughput_warmup,
)
from qnet.runs.record import RunRecord
from qnet.runs.stream import CHUNK_DECISIONS, Decided, decide, replay
from qnet.runs.verdict import DEFAULT_TARGET_HALF_WIDTH, decisions_for_half_width, verdict

if TYPE_CHECKING:
    from qnet.engines.analytic import LinkModel

__all__ = [
    "MIN_IDEAL_REDUCTION",
    "MIN_QUEUE_BATCH_DECISIONS",
    "STREAMS",
    "Progress",
    "RunOutput",
    "RunRecord",
    "run_scenario",
    "sample_traffic",
    "run_decisions",
    "simulate",
    "queue_batch_count",
    "streams",
]


MIN_QUEUE_BATCH_DECISIONS = 1000
"""Smallest batch (decisions) for queue-replay CIs; queue output at rho = 0.8 is
correlated over ~20 decisions (module docstring: Statistics)."""

MIN_IDEAL_REDUCTION = 1e-3
"""Ideal gap reduction [1/mu] at or below which the retained share is undefined (NaN)."""

STREAMS = ("traffic", "link", "outcomes", "shared", "order", "baseline", "pilot")


def streams(seed: int) -> dict[str, np.random.Generator]:
    """The run's independent named random streams, spawned from one seed."""
    children = np.random.SeedSequence(seed).spawn(len(STREAMS))
    return {name: np.random.default_rng(s) for name, s in zip(STREAMS, children, strict=True)}


def sample_traffic(
    scenario: Scenario, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Arrival times t [s] (Poisson, rate lambda) and service times x1, x2 [s] (Exp(mu))."""
    n = scenario.run.decisions
    tr = scenario.traffic
    t = np.cumsum(rng.exponential(1.0 / tr.lam_hz, n))
    x = rng.exponential(tr.mean_service_time_s, (2, n))
    return t, x[0], x[1]


@dataclass(frozen=True)
class RunOutput:
    """A run with the material behind its record (for plots and deeper analysis).

    Attributes:
        record: the flat :class:`RunRecord`.
        log: the engine's decision log (all decisions, warm-up included); None unless
            the run kept its per-decision series (``simulate(keep_series=True)``).
        profile: the routing profile that was played.
        comparison: the policy comparison on the measured decisions.
        reduction_series: per-decision Wq(classical) - Wq(quantum) (measured part; empty
            unless kept, like the two series below).
        reduction_game_series: per-decision (A_qu - A_cl)/2 terms (measured part).
        reduction_game_cv_series: those terms adjusted by the fitted control variates
            (their mean is ``record.gap_reduction_game_cv``).
    """

    record: RunRecord
    log: DecisionLog | None
    profile: RoutingProfile
    comparison: PolicyComparison
    reduction_series: np.ndarray
    reduction_game_series: np.ndarray
    reduction_game_cv_series: np.ndarray


def run_decisions(
    scenario: Scenario,
    profile: RoutingProfile,
    traffic: tuple[np.ndarray, np.ndarray, np.ndarray],
    rngs: dict[str, np.random.Generator],
    progress: Progress | None,
) -> tuple[DecisionLog, PairUse]:
    """Every decision of the run in one chunk: the protocol step around the scenario's
    engine (benchmarks; :func:`simulate` streams them, :mod:`qnet.runs.stream`)."""
    t, x1, x2 = traffic
    mu = scenario.traffic.mu_hz
    shared_u = rngs["shared"].random((len(t), 3))  # both routers hold these
    step = DecisionStep.prepare(profile, x1 * mu, x2 * mu, shared_u)
    if scenario.engine.name == "analytic":
        from qnet.engines.analytic import run_analytic

        use = run_analytic(scenario, t, step.settings, step.flip, rngs)
    else:
        from qnet.engines.sequence import run_sequence

        use = run_sequence(scenario, t, step.settings, rngs, progress=progress)
    o_a, o_b = step.outputs(use.available, use.used, use.outcome_a, use.outcome_b)
    log = DecisionLog(
        t_s=np.asarray(t, dtype=float),
        x1_s=np.asarray(x1, dtype=float),
        x2_s=np.asarray(x2, dtype=float),
        o_a=o_a,
        o_b=o_b,
        used_pair=use.used,
        pair_age_s=use.pair_age_s,
        pair_fidelity=use.pair_fidelity,
    )
    return log, use


def _mean_ratio(decided: Decided, row: int, few: str, batches: int) -> Estimate:
    """Mean of a per-pair value (supply row ``row``) over the pairs used, batch-means CI
    (ratio estimator); with fewer than 2 b pairs, their plain mean and standard error."""
    count = decided.used_count
    if count == 0:
        return Estimate(math.nan, math.nan, math.nan, batches)
    if count < 2 * batches:
        v = np.asarray(decided.few[few])
        se = float(v.std(ddof=1) / math.sqrt(len(v))) if len(v) > 1 else math.nan
        return Estimate(float(v.mean()), se, 1.96 * se, len(v))
    return decided.supply.ratio(row, 1)


def _check_batches(scenario: Scenario) -> None:
    measured = scenario.run.decisions - scenario.run.warmup_decisions
    if measured < 2 * scenario.run.batches:
        raise ValueError(
            f"run.batches = {scenario.run.batches}: needs at least 2 measured decisions per "
            f"batch, but run.decisions - run.warmup_decisions = {measured}; allowed range is "
            f"[5, {measured // 2}]"
        )


def _played_profile(
    scenario: Scenario, model: LinkModel, rng: np.random.Generator
) -> RoutingProfile:
    """The profile the routers play: ideal, or noise-aware for the pilot's link."""
    if scenario.strategy.kind == "noise_aware":
        tensor_pilot, a = _pilot(scenario, model, rng)
        return build_profile(scenario, expected_tensor=tensor_pilot, expected_availability=a)
    return build_profile(scenario)


def _comparison_profile(
    scenario: Scenario, profile: RoutingProfile, a_hat: float, tensor: np.ndarray
) -> tuple[RoutingProfile, float]:
    """The ideal profile at the p the run is expected to achieve with the measured
    availability and pair tensor (equal p: equal throughput), and the predicted payoff."""
    payoff_wp, split_wp = profile.with_pair_value(tensor)
    predicted_payoff, comparison_p = availability_mix(
        a_hat, payoff_wp, split_wp, profile.fallback.payoff, profile.fallback.splitting_probability
    )
    if abs(comparison_p - profile.p) <= 1e-6:
        return profile, predicted_payoff
    base = build_profile(scenario, p=min(max(comparison_p, 1e-4), 0.5), kind="ideal")
    return base, predicted_payoff


@threadpool_limits.wrap(limits=1)  # one BLAS thread: the same numbers on any machine
def simulate(
    scenario: Scenario,
    progress: Progress | None = None,
    *,
    target_half_width: float = DEFAULT_TARGET_HALF_WIDTH,
    keep_series: bool = True,
    chunk: int = CHUNK_DECISIONS,
) -> RunOutput:
    """Run a scenario end to end; :func:`run_scenario` returns just its record.

    ``target_half_width``: the retained-share (game) 95 % half-width for which the record
    states ``decisions_for_target_width``. ``keep_series``: also keep the per-decision
    log and series for plots (memory grows with the run); without them memory is bounded
    by ``chunk`` decisions (the record does not depend on ``chunk``).
    """
    if not target_half_width > 0:
        raise ValueError(f"target_half_width = {target_half_width!r}: allowed range is (0, inf)")
    if chunk < 1:
        raise ValueError(f"chunk = {chunk!r}: allowed range is [1, inf)")
    if scenario.game.kind == "sum_threshold":  # the one place a run dispatches on the game
        from qnet.runs.sum_threshold import StackParts, simulate_sum_threshold

        parts = StackParts(streams, sample_traffic, run_decisions, queue_batch_count, _pilot)
        return simulate_sum_threshold(scenario, progress, parts)  # type: ignore[return-value]
    wall0 = time.perf_counter()
    _check_batches(scenario)
    if progress is not None:
        progress("building strategy profile", 0.0)
    rngs = streams(scenario.seed)
    model = link_model(scenario)
    profile = _played_profile(scenario, model, rngs["pilot"])
    decided = decide(scenario, profile, model, rngs, progress, chunk=chunk, keep_log=keep_series)
    if progress is not None:
        progress("replaying queues", 0.0)

    batches = scenario.run.batches
    availability = decided.supply.estimate(0)
    base, predicted_payoff = _comparison_profile(
        scenario, profile, float(decided.supply.mean[0]), _mean_tensor(model, decided)
    )
    measured = scenario.run.decisions - scenario.run.warmup_decisions
    qb = queue_batch_count(measured, batches)
    replayed = replay(scenario, profile, base, decided, rngs, qb, progress, keep_series=keep_series)
    comp = replayed.comparison

    p_hat = comp.splitting_probability["quantum"].mean
    q = scenario.queue
    if q.throughput_model == "warmup":
        predicted_thr = float(baseline_throughput_warmup(p_hat, profile.params))
    else:
        predicted_thr = float(baseline_throughput_power(p_hat, profile.params, q.power_k))
    predicted_av = (
        model.predicted_availability(scenario.traffic.lam_hz)
        if model.discard_age_s is None
        else math.nan
    )
    ideal = base.ideal_gap_reduction
    defined = ideal > MIN_IDEAL_REDUCTION
    share = comp.gap_reduction.scaled(1.0 / ideal) if defined else _nan_est(qb)
    share_game = comp.gap_reduction_game.scaled(1.0 / ideal) if defined else _nan_est(batches)
    cv = replayed.reduction_cv
    share_cv = cv.estimate.scaled(1.0 / ideal) if defined else _nan_est(batches)
    est = RunRecord.estimate
    record = RunRecord(
        scenario=scenario.name,
        scenario_digest=scenario.digest(),
        engine=scenario.engine.name,
        seed=scenario.seed,
        decisions=measured,
        warmup_decisions=scenario.run.warmup_decisions,
        batches=batches,
        queue_batches=qb,
        strategy_kind=profile.kind,
        target_splitting_probability=profile.p,
        comparison_splitting_probability=base.p,
        expected_visibility=profile.visibility,
        expected_availability=profile.availability,
        mean_service_time_s=scenario.traffic.mean_service_time_s,
        load=scenario.traffic.rho,
        **est("availability", availability),
        predicted_availability=predicted_av,
        pair_rate_hz=model.pair_rate_hz,
        **est("mean_fidelity_at_use", _mean_ratio(decided, 2, "fid", batches)),
        **est("mean_pair_age_s", _mean_ratio(decided, 3, "age", batches)),
        **est("splitting_probability", comp.splitting_probability["quantum"]),
        **{k: v for name in POLICIES for k, v in est(f"wait_{name}", comp.wait[name]).items()},
        **est("gap_quantum", comp.gap_quantum),
        **est("gap_classical", comp.gap_classical),
        **est("gap_reduction", comp.gap_reduction),
        **est("gap_quantum_game", comp.gap_quantum_game),
        **est("gap_classical_game", comp.gap_classical_game),
        **est("gap_reduction_game", comp.gap_reduction_game),
        ideal_gap_reduction=ideal,
        predicted_gap_reduction=0.5 * (predicted_payoff - base.classical.payoff),
        **est("retained_share", share),
        **est("retained_share_game", share_game),
        **est("gap_reduction_game_cv", cv.estimate),
        **est("retained_share_game_cv", share_cv),
        variance_reduction_game=cv.variance_reduction,
        verdict=verdict(cv.estimate),
        target_share_half_width=target_half_width,
        decisions_for_target_width=decisions_for_half_width(
            measured, share_cv.ci95, target_half_width
        ),
        **est("baseline_throughput", replayed.throughput),
        predicted_baseline_throughput=predicted_thr,
        **est("pairs_used_share", decided.supply.estimate(1)),
        oracle_payoff=base.oracle_payoff,
        classical_payoff=base.classical.payoff,
        quantum_payoff_ideal=base.quantum_payoff,
        predicted_payoff=predicted_payoff,
        pairs_heralded=decided.pairs_heralded,
        pairs_discarded=decided.pairs_discarded,
        wall_time_s=time.perf_counter() - wall0,
    )
    if progress is not None:
        progress("replaying queues", 1.0)
    series = replayed.series or {}
    empty = np.zeros(0)
    return RunOutput(
        record=record,
        log=decided.log,
        profile=profile,
        comparison=comp,
        reduction_series=series.get("queue", empty),
        reduction_game_series=series.get("game", empty),
        reduction_game_cv_series=series.get("game_cv", empty),
    )


def queue_batch_count(measured: int, batches: int) -> int:
    """Batches for queue-replay CIs: ``run.batches``, but at least
    :data:`MIN_QUEUE_BATCH_DECISIONS` decisions per batch, and never below 5 (or below
    ``batches`` if that is smaller)."""
    return min(batches, max(5, measured // MIN_QUEUE_BATCH_DECISIONS))


def _nan_est(batches: int) -> Estimate:
    return Estimate(math.nan, math.nan, math.nan, batches)


def _mean_tensor(model: LinkModel, decided: Decided) -> np.ndarray:
    """Mean X-Z correlation tensor (readout included) of the pairs used after warm-up."""
    count = decided.used_count
    if count == 0:
        return np.eye(2)
    factor = readout_factor(model.readout_error_a, model.readout_error_b)
    return factor * (decided.tensor_sum / count)


def run_scenario(scenario: Scenario, progress: Progress | None = None) -> RunRecord:
    """Run one scenario end to end and return its :class:`RunRecord` (the main job), in
    bounded memory."""
    return simulate(scenario, progress, keep_series=False).record


PILOT_DECISIONS = 20_000


def _pilot(
    scenario: Scenario, model: LinkModel, rng: np.random.Generator
) -> tuple[np.ndarray, float]:
    """Expected pair tensor and availability for the noise-aware profile.

    A short look at the link with the analytic sampler (its own stream): availability of
    :data:`PILOT_DECISIONS` Poisson decisions (every one consuming a pair it finds) and
    the mean X-Z tensor of the pairs used, times the readout factor.
    """
    n = min(PILOT_DECISIONS, scenario.run.decisions)
    t = np.cumsum(rng.exponential(1.0 / scenario.traffic.lam_hz, n))
    supply = sample_pair_supply(t, model, rng)
    used = supply.used_pair
    if not used.any():
        return np.eye(2), 0.0
    tensors, _ = stored_pair_tensors(t[used] - supply.herald_s[used], model)
    factor = readout_factor(model.readout_error_a, model.readout_error_b)
    return factor * tensors.mean(axis=0), float(supply.available.mean())
