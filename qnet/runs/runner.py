"""The main job: run one scenario end to end and measure what entanglement is worth.

``run_scenario(scenario)`` builds the routing plan from the analysis core, draws the
traffic (Poisson arrivals, Exp(mu) service times), lets the chosen engine (SeQUeNCe or
the analytic link) make every routing decision with real pairs or the classical
fallback, replays the decision log through the two-server queue, replays the *same*
traffic under the oracle and the classical-only strategy (common random numbers), and
returns a flat, frozen :class:`RunRecord`.

Random streams: ``SeedSequence(scenario.seed).spawn(7)`` in this order -- traffic, link
(pair generation), outcomes (measurement coins, readout errors), shared (the routers'
shared random numbers: mixture choices and flip bit), order (within-batch order in the
queue), baseline (the classical baseline's mixture choice), pilot (the noise-aware plan's
short look at the link). Same seed, same run.

The baselines are coupled to the run (common random numbers): same arrivals, service
times and within-batch order, and the *longer* of the two customers goes to the same
server under all three policies (:func:`qnet.games.routing.profile.couple_flip`: the baselines'
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
from collections.abc import Callable
from dataclasses import asdict, dataclass, fields
from typing import TYPE_CHECKING, Any

import numpy as np
from threadpoolctl import threadpool_limits

from qnet.config import Scenario
from qnet.decisions.log import DecisionLog
from qnet.engines.analytic import EngineResult, link_model, sample_pair_supply, stored_pair_tensors
from qnet.estimators import (
    Estimate,
    PolicyComparison,
    batch_means,
    compare_policies,
    payoff_terms,
    ratio_batch_means,
)
from qnet.games.routing.profile import RoutingPlan, build_plan
from qnet.physics.noise import availability_mix, readout_factor
from qnet.queues.model import (
    baseline_throughput_power,
    baseline_throughput_warmup,
    splitting_benefit,
)
from qnet.queues.replay import power_work, replay_queue, warmup_work

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
    "simulate",
    "queue_batch_count",
    "streams",
]

Progress = Callable[[str, float], None]
"""Progress callback: ``progress(stage, fraction_done)`` with fraction in [0, 1]."""

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
class RunRecord:
    """Result of one run: flat fields, every estimate with its 95 % CI half-width.

    Waits and gaps are in units of the mean service time 1/mu (the paper's units;
    multiply by ``mean_service_time_s`` for seconds). ``*_ci95`` is the half-width of the
    95 % batch-means interval (Student t, ``batches - 1`` or ``queue_batches - 1`` degrees
    of freedom). Fields without ``_ci95`` are inputs, counts, analysis-core values or
    plug-in predictions: ``comparison_splitting_probability``, ``ideal_gap_reduction``,
    ``predicted_*`` are the core's exact values evaluated at the measured availability
    and mean pair tensor, whose own sampling error (see ``availability_ci95``) is not
    propagated into them.

    Attributes:
        scenario: scenario name.
        scenario_digest: stable hash of the resolved scenario.
        engine: "sequence" or "analytic".
        seed: root seed of every random stream.
        decisions: customer-pair decisions measured (after warm-up).
        warmup_decisions: decisions discarded before measuring.
        batches: batches behind the per-decision CIs (game payoffs, p, availability,
            fidelity, age, pairs used): ``run.batches``.
        queue_batches: batches behind the queue-replay CIs (waits, queue gaps and
            reduction, retained share, baseline throughput): ``run.batches``, reduced so
            that each batch holds at least :data:`MIN_QUEUE_BATCH_DECISIONS` decisions
            (never below 5).
        strategy_kind: "ideal" or "noise_aware" angles.
        target_splitting_probability: the plan's target p.
        comparison_splitting_probability: the p at which the oracle and classical
            baselines are replayed and the ideal reduction is taken: the p the run is
            expected to achieve given the measured availability and pair correlation
            (equal p means equal baseline throughput). Equals the target unless noise
            pulls the played angles' p toward 1/2 (naive angles on noisy pairs).
        expected_visibility, expected_availability: what the plan was built for (1, 1
            for ideal plans; for noise-aware ones the pilot's availability and the mean
            diagonal correlation of its pair tensor, which the angles are optimized on).
        mean_service_time_s: 1/mu [s], the unit of waits and gaps.
        load: rho = lambda/mu.
        availability: share of decisions at which a usable entangled pair existed (both
            routers' stores selected the same pair): what the *link* delivers. It does not
            say whether the routers spent the pair.
        pairs_used_share: share of decisions that measured a pair: what the *routers*
            spent. Equals ``availability`` for the ideal plan (a pair is always measured
            when there is one). A noise-aware plan may pick, by shared randomness, a
            threshold strategy even when a pair is there (eqs. N1-N3: on poor pairs
            classical routing earns more); that pair stays in store and the decision is
            routed classically. ``availability`` = 1.0 with ``pairs_used_share`` = 0 means
            the link always had a pair ready and the plan chose never to use one: the run
            is then classical routing (gap reduction ~0, ``mean_fidelity_at_use`` NaN).
        predicted_availability: the link model's prediction for Poisson decisions
            (exact for one slot pair, birth-death chain for K > 1; NaN with a cutoff or
            memory expiry, which it does not model).
        pair_rate_hz: predicted heralded pairs per second with all K slots generating.
        mean_fidelity_at_use: mean fidelity of used pairs at measurement (NaN if none).
        mean_pair_age_s: mean time from herald to measurement of the used pairs [s]
            (NaN if none).
        splitting_probability: achieved p of the run (o_A o_B = -1 share).
        wait_quantum: mean customer wait Wq of the run [1/mu].
        wait_oracle: Wq of the oracle w-threshold policy at the target p, same traffic.
        wait_classical: Wq of the classical-only strategy at the target p, same traffic.
        gap_quantum: wait_quantum - wait_oracle (queue replay, common random numbers).
        gap_classical: wait_classical - wait_oracle.
        gap_reduction: gap_classical - gap_quantum, the reduction the pairs bring.
        gap_quantum_game, gap_classical_game, gap_reduction_game: the same three from
            per-decision game payoffs, (A* - A)/2 (Lemma 1): lower variance.
        ideal_gap_reduction: (A_qu - A_cl)/2 at the comparison p from the analysis core.
        predicted_gap_reduction: the analysis core's reduction for the *measured*
            availability and mean correlation of used pairs (linear in both).
        retained_share: gap_reduction / ideal_gap_reduction (CI: the reduction's CI
            scaled; the ideal value is exact). Undefined (NaN, null in JSON) when
            ``ideal_gap_reduction`` <= :data:`MIN_IDEAL_REDUCTION`: at the comparison p
            even ideal pairs bring no reduction (outside the degree-n angles' advantage
            region, e.g. naive angles on strongly dephased pairs push p toward 1/2), so
            there is no advantage to retain; read ``gap_reduction`` instead.
        retained_share_game: gap_reduction_game / ideal_gap_reduction (same rule).
        baseline_throughput: baseline work per unit time per server (replay, [phi_max]).
        predicted_baseline_throughput: eq. 10 (or t^k) at the achieved p.
        oracle_payoff: A* at the comparison p; classical_payoff: A of the classical
            baseline there; quantum_payoff_ideal: A of the ideal angles there.
        predicted_payoff: the analysis core's A of the run's mix for the measured
            availability and mean pair correlation (issue-4 mixing, eq. N2).
        pairs_heralded, pairs_discarded: supply counts from the engine (-1 if unknown).
        wall_time_s: wall-clock time of the run [s].
    """

    scenario: str
    scenario_digest: str
    engine: str
    seed: int
    decisions: int
    warmup_decisions: int
    batches: int
    queue_batches: int
    strategy_kind: str
    target_splitting_probability: float
    comparison_splitting_probability: float
    expected_visibility: float
    expected_availability: float
    mean_service_time_s: float
    load: float
    availability: float
    availability_ci95: float
    predicted_availability: float
    pair_rate_hz: float
    mean_fidelity_at_use: float
    mean_fidelity_at_use_ci95: float
    mean_pair_age_s: float
    mean_pair_age_s_ci95: float
    splitting_probability: float
    splitting_probability_ci95: float
    wait_quantum: float
    wait_quantum_ci95: float
    wait_oracle: float
    wait_oracle_ci95: float
    wait_classical: float
    wait_classical_ci95: float
    gap_quantum: float
    gap_quantum_ci95: float
    gap_classical: float
    gap_classical_ci95: float
    gap_reduction: float
    gap_reduction_ci95: float
    gap_quantum_game: float
    gap_quantum_game_ci95: float
    gap_classical_game: float
    gap_classical_game_ci95: float
    gap_reduction_game: float
    gap_reduction_game_ci95: float
    ideal_gap_reduction: float
    predicted_gap_reduction: float
    retained_share: float
    retained_share_ci95: float
    retained_share_game: float
    retained_share_game_ci95: float
    baseline_throughput: float
    baseline_throughput_ci95: float
    predicted_baseline_throughput: float
    pairs_used_share: float
    pairs_used_share_ci95: float
    oracle_payoff: float
    classical_payoff: float
    quantum_payoff_ideal: float
    predicted_payoff: float
    pairs_heralded: int
    pairs_discarded: int
    wall_time_s: float

    def to_dict(self) -> dict[str, Any]:
        """Flat dict of every field (JSON-able; NaN stays NaN)."""
        return asdict(self)

    @classmethod
    def field_names(cls) -> list[str]:
        """Field names in declaration order (e.g. store columns)."""
        return [f.name for f in fields(cls)]

    def summary(self) -> dict[str, Any]:
        """The nested ``qnet run --json`` object (see README: Running a scenario)."""

        def est(name: str) -> dict[str, Any]:
            m, h = getattr(self, name), getattr(self, f"{name}_ci95")
            return {"mean": m, "ci95": [m - h, m + h]}

        return {
            "scenario": self.scenario,
            "engine": self.engine,
            "seed": self.seed,
            "decisions": self.decisions,
            "target_splitting_probability": self.target_splitting_probability,
            "comparison_splitting_probability": self.comparison_splitting_probability,
            "availability": est("availability"),
            "predicted_availability": self.predicted_availability,
            "pair_rate_hz": self.pair_rate_hz,
            "mean_fidelity_at_use": est("mean_fidelity_at_use"),
            "mean_pair_age_s": est("mean_pair_age_s"),
            "pairs_used_share": est("pairs_used_share"),
            "splitting_probability": est("splitting_probability"),
            "wait": {k: est(f"wait_{k}") for k in ("quantum", "oracle", "classical")},
            "gap": {k: est(f"gap_{k}") for k in ("quantum", "classical")},
            "gap_reduction": est("gap_reduction"),
            "gap_game": {k: est(f"gap_{k}_game") for k in ("quantum", "classical", "reduction")},
            "ideal_gap_reduction": self.ideal_gap_reduction,
            "predicted_gap_reduction": self.predicted_gap_reduction,
            "retained_share": est("retained_share"),
            "retained_share_game": est("retained_share_game"),
            "baseline_throughput": est("baseline_throughput"),
            "predicted_baseline_throughput": self.predicted_baseline_throughput,
            "units": {
                "wait": "mean service time 1/mu",
                "mean_service_time_s": (self.mean_service_time_s),
            },
            "wall_time_s": self.wall_time_s,
            "record": self.to_dict(),
        }


@dataclass(frozen=True)
class RunOutput:
    """A run with the material behind its record (for plots and deeper analysis).

    Attributes:
        record: the flat :class:`RunRecord`.
        log: the engine's decision log (all decisions, warm-up included).
        plan: the routing plan that was played.
        comparison: the policy comparison on the measured decisions.
        reduction_series: per-decision Wq(classical) - Wq(quantum) (measured part).
        reduction_game_series: per-decision (A_qu - A_cl)/2 terms (measured part).
    """

    record: RunRecord
    log: DecisionLog
    plan: RoutingPlan
    comparison: PolicyComparison
    reduction_series: np.ndarray
    reduction_game_series: np.ndarray


def _engine_log(
    scenario: Scenario,
    plan: RoutingPlan,
    traffic: tuple[np.ndarray, np.ndarray, np.ndarray],
    rngs: dict[str, np.random.Generator],
    progress: Progress | None,
) -> EngineResult:
    t, x1, x2 = traffic
    result: EngineResult
    if scenario.engine.name == "analytic":
        from qnet.engines.analytic import run_analytic

        result = run_analytic(scenario, plan, t, x1, x2, rngs)
        if progress is not None:
            progress("simulating decisions", 1.0)
    else:
        # The SeQUeNCe engine is imported lazily: qnet itself never imports SeQUeNCe.
        from protocols.routing import run_sequence

        result = run_sequence(scenario, plan, t, x1, x2, rngs, progress=progress)
    return result


def _mean_ratio(values: np.ndarray, mask: np.ndarray, batches: int) -> Estimate:
    """Mean of ``values`` over ``mask`` rows, batch-means CI (ratio estimator)."""
    if not mask.any():
        return Estimate(math.nan, math.nan, math.nan, batches)
    if mask.sum() < 2 * batches:
        v = values[mask]
        se = float(v.std(ddof=1) / math.sqrt(len(v))) if len(v) > 1 else math.nan
        return Estimate(float(v.mean()), se, 1.96 * se, len(v))
    return ratio_batch_means(np.where(mask, values, 0.0), mask.astype(float), batches)


@threadpool_limits.wrap(limits=1)  # one BLAS thread: the same numbers on any machine
def simulate(scenario: Scenario, progress: Progress | None = None) -> RunOutput:
    """Run a scenario end to end; :func:`run_scenario` returns just its record."""
    wall0 = time.perf_counter()
    measured = scenario.run.decisions - scenario.run.warmup_decisions
    if measured < 2 * scenario.run.batches:
        raise ValueError(
            f"run.batches = {scenario.run.batches}: needs at least 2 measured decisions per "
            f"batch, but run.decisions - run.warmup_decisions = {measured}; allowed range is "
            f"[5, {measured // 2}]"
        )
    if progress is not None:
        progress("building routing plan", 0.0)
    rngs = streams(scenario.seed)
    model = link_model(scenario)
    if scenario.strategy.kind == "noise_aware":
        tensor_pilot, a = _pilot(scenario, model, rngs["pilot"])
        plan = build_plan(scenario, expected_tensor=tensor_pilot, expected_availability=a)
    else:
        plan = build_plan(scenario)
    traffic = sample_traffic(scenario, rngs["traffic"])
    result = _engine_log(scenario, plan, traffic, rngs, progress)
    log = result.log
    if progress is not None:
        progress("replaying queues", 0.0)

    # Compare at equal splitting probability (equal throughput): the p the run is
    # expected to achieve with the measured availability and pair quality.
    keep = slice(scenario.run.warmup_decisions, None)
    available = result.available[keep]
    a_hat = float(available.mean())
    tensor = _mean_tensor(model, log, keep)
    payoff_wp, split_wp = plan.with_pair_value(tensor)
    predicted_payoff, comparison_p = availability_mix(
        a_hat, payoff_wp, split_wp, plan.fallback.payoff, plan.fallback.splitting_probability
    )
    base = plan
    if abs(comparison_p - plan.p) > 1e-6:
        base = build_plan(scenario, p=min(max(comparison_p, 1e-4), 0.5), kind="ideal")

    mu = scenario.traffic.mu_hz
    t, x1, x2 = (log.t_s * mu, log.x1_s * mu, log.x2_s * mu)
    n = len(t)
    first_is_a = rngs["order"].random(n) < 0.5
    outputs = {
        "quantum": (log.o_a, log.o_b),
        "oracle": base.oracle_outputs_coupled(x1, x2, log.o_a, log.o_b),
        "classical": base.classical_outputs_coupled(
            x1, x2, rngs["baseline"].random(n), log.o_a, log.o_b
        ),
    }
    q = scenario.queue
    work = (
        warmup_work(q.warmup_rate_per_service, q.phi_max)
        if q.throughput_model == "warmup"
        else power_work(q.power_k)
    )
    w = splitting_benefit(x1, x2, plan.params)
    waits, splits, payoffs = {}, {}, {}
    idle_work_q = None
    for name, (o_a, o_b) in outputs.items():
        r = replay_queue(
            t,
            x1,
            x2,
            o_a,
            o_b,
            first_is_a=first_is_a,
            baseline_work=work if name == "quantum" else None,
        )
        waits[name] = r.pair_wait[keep]
        splits[name] = r.split[keep].astype(float)
        payoffs[name] = payoff_terms(o_a, o_b, w)[keep]
        if name == "quantum":
            idle_work_q = r.idle_work
    batches = scenario.run.batches
    qb = queue_batch_count(len(t) - scenario.run.warmup_decisions, batches)
    comp = compare_policies(waits, splits, payoffs, batches, queue_batches=qb)
    assert idle_work_q is not None
    dt = np.diff(t, prepend=0.0)[keep]
    throughput = ratio_batch_means(idle_work_q[keep] / 2.0, dt, qb)

    used = log.used_pair[keep]
    availability = batch_means(available.astype(float), batches)
    fid = _mean_ratio(np.nan_to_num(log.pair_fidelity[keep]), used, batches)
    age = _mean_ratio(np.nan_to_num(log.pair_age_s[keep]), used, batches)
    used_share = batch_means(used.astype(float), batches)
    p_hat = comp.splitting_probability["quantum"].mean
    if q.throughput_model == "warmup":
        predicted_thr = float(baseline_throughput_warmup(p_hat, plan.params))
    else:
        predicted_thr = float(baseline_throughput_power(p_hat, plan.params, q.power_k))

    predicted_av = (
        model.predicted_availability(scenario.traffic.lam_hz)
        if model.discard_age_s is None
        else math.nan
    )
    ideal = base.ideal_gap_reduction
    predicted = 0.5 * (predicted_payoff - base.classical.payoff)
    defined = ideal > MIN_IDEAL_REDUCTION
    share = comp.gap_reduction.scaled(1.0 / ideal) if defined else _nan_est(qb)
    share_game = comp.gap_reduction_game.scaled(1.0 / ideal) if defined else _nan_est(batches)

    c = comp
    record = RunRecord(
        scenario=scenario.name,
        scenario_digest=scenario.digest(),
        engine=scenario.engine.name,
        seed=scenario.seed,
        decisions=n - scenario.run.warmup_decisions,
        warmup_decisions=scenario.run.warmup_decisions,
        batches=batches,
        queue_batches=qb,
        strategy_kind=plan.kind,
        target_splitting_probability=plan.p,
        comparison_splitting_probability=base.p,
        expected_visibility=plan.visibility,
        expected_availability=plan.availability,
        mean_service_time_s=scenario.traffic.mean_service_time_s,
        load=scenario.traffic.rho,
        availability=availability.mean,
        availability_ci95=availability.ci95,
        predicted_availability=predicted_av,
        pair_rate_hz=model.pair_rate_hz,
        mean_fidelity_at_use=fid.mean,
        mean_fidelity_at_use_ci95=fid.ci95,
        mean_pair_age_s=age.mean,
        mean_pair_age_s_ci95=age.ci95,
        splitting_probability=p_hat,
        splitting_probability_ci95=c.splitting_probability["quantum"].ci95,
        wait_quantum=c.wait["quantum"].mean,
        wait_quantum_ci95=c.wait["quantum"].ci95,
        wait_oracle=c.wait["oracle"].mean,
        wait_oracle_ci95=c.wait["oracle"].ci95,
        wait_classical=c.wait["classical"].mean,
        wait_classical_ci95=c.wait["classical"].ci95,
        gap_quantum=c.gap_quantum.mean,
        gap_quantum_ci95=c.gap_quantum.ci95,
        gap_classical=c.gap_classical.mean,
        gap_classical_ci95=c.gap_classical.ci95,
        gap_reduction=c.gap_reduction.mean,
        gap_reduction_ci95=c.gap_reduction.ci95,
        gap_quantum_game=c.gap_quantum_game.mean,
        gap_quantum_game_ci95=c.gap_quantum_game.ci95,
        gap_classical_game=c.gap_classical_game.mean,
        gap_classical_game_ci95=c.gap_classical_game.ci95,
        gap_reduction_game=c.gap_reduction_game.mean,
        gap_reduction_game_ci95=c.gap_reduction_game.ci95,
        ideal_gap_reduction=ideal,
        predicted_gap_reduction=predicted,
        retained_share=share.mean,
        retained_share_ci95=share.ci95,
        retained_share_game=share_game.mean,
        retained_share_game_ci95=share_game.ci95,
        baseline_throughput=throughput.mean,
        baseline_throughput_ci95=throughput.ci95,
        predicted_baseline_throughput=predicted_thr,
        pairs_used_share=used_share.mean,
        pairs_used_share_ci95=used_share.ci95,
        oracle_payoff=base.oracle_payoff,
        classical_payoff=base.classical.payoff,
        quantum_payoff_ideal=base.quantum_payoff,
        predicted_payoff=predicted_payoff,
        pairs_heralded=result.pairs_heralded,
        pairs_discarded=result.pairs_discarded,
        wall_time_s=time.perf_counter() - wall0,
    )
    if progress is not None:
        progress("replaying queues", 1.0)
    return RunOutput(
        record=record,
        log=log,
        plan=plan,
        comparison=comp,
        reduction_series=waits["classical"] - waits["quantum"],
        reduction_game_series=0.5 * (payoffs["quantum"] - payoffs["classical"]),
    )


def queue_batch_count(measured: int, batches: int) -> int:
    """Batches for queue-replay CIs: ``run.batches``, but at least
    :data:`MIN_QUEUE_BATCH_DECISIONS` decisions per batch, and never below 5 (or below
    ``batches`` if that is smaller)."""
    return min(batches, max(5, measured // MIN_QUEUE_BATCH_DECISIONS))


def _nan_est(batches: int) -> Estimate:
    return Estimate(math.nan, math.nan, math.nan, batches)


def _mean_tensor(model: LinkModel, log: DecisionLog, keep: slice) -> np.ndarray:
    """Mean X-Z correlation tensor (readout included) of the pairs used after warm-up."""
    used = log.used_pair[keep]
    if not used.any():
        return np.eye(2)
    tensors, _ = stored_pair_tensors(log.pair_age_s[keep][used], model)
    factor = readout_factor(model.readout_error_a, model.readout_error_b)
    return factor * tensors.mean(axis=0)


def run_scenario(scenario: Scenario, progress: Progress | None = None) -> RunRecord:
    """Run one scenario end to end and return its :class:`RunRecord` (the main job)."""
    return simulate(scenario, progress).record


PILOT_DECISIONS = 20_000


def _pilot(
    scenario: Scenario, model: LinkModel, rng: np.random.Generator
) -> tuple[np.ndarray, float]:
    """Expected pair tensor and availability for the noise-aware plan.

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
