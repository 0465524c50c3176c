"""A sum-threshold run (``[game] kind = "sum_threshold"``): the QuNet'25 system on real pairs.

The profile (:func:`qnet.games.sum_threshold.profile.build_sum_threshold_profile`) places
each strategy at the scenario's QoS limit W_l. The run reuses the main job's pieces: its
named random streams and traffic (:func:`qnet.runs.runner.streams`,
:func:`~qnet.runs.runner.sample_traffic`), and the protocol step around the scenario's
engine (:func:`~qnet.runs.runner.run_decisions`: SeQUeNCe or the analytic link). The
decision log is replayed through the two-server queue, and so are, on the *same* traffic
and within-batch order (common random numbers), the classical baseline and the
sum-threshold oracle, their shared flip bit coupled to the run's outputs so the longer
customer lands on the same server (:func:`qnet.games.routing.mixture.couple_flip`).

Estimates: waits, throughput and the ratio R_k = T_q/T_c from the queue replay (batch
means, at least :data:`~qnet.runs.runner.MIN_QUEUE_BATCH_DECISIONS` decisions a batch);
R_k is a ratio of paired sums (same decisions, same clock), so common random numbers
narrow it. Splitting probabilities and win probabilities are per-decision batch means.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from threadpoolctl import threadpool_limits

from qnet.config import Scenario
from qnet.engines.analytic import link_model, stored_pair_tensors
from qnet.estimators import Estimate, batch_means, ratio_batch_means
from qnet.games.routing.mixture import couple_flip
from qnet.games.routing.profile import system_params
from qnet.games.sum_threshold.profile import SumThresholdProfile, build_sum_threshold_profile
from qnet.physics.noise import readout_factor
from qnet.queues.model import baseline_throughput_power, baseline_throughput_warmup
from qnet.queues.replay import power_work, replay_queue, warmup_work
from qnet.runs.sum_threshold_record import SumThresholdRecord
from qnet.runs.verdict import verdict

__all__ = [
    "StackParts",
    "recomputed_verdicts",
    "SumThresholdOutput",
    "simulate_sum_threshold",
    "sum_threshold_profile",
]


def sum_threshold_profile(
    scenario: Scenario,
    expected_availability: float | None = None,
    expected_tensor: np.ndarray | None = None,
) -> SumThresholdProfile:
    """The scenario's sum-threshold profile at its QoS limit (``[game]`` table), placed
    for the expected link when one is given (noise-aware placement)."""
    g = scenario.game
    return build_sum_threshold_profile(
        system_params(scenario),
        g.w_limit_service_times,
        g.quantum,
        g.bins,
        expected_availability=expected_availability,
        expected_tensor=expected_tensor,
    )


@dataclass(frozen=True)
class SumThresholdOutput:
    """What :func:`qnet.runs.runner.simulate` returns for a sum-threshold scenario."""

    record: SumThresholdRecord
    profile: SumThresholdProfile


@dataclass(frozen=True)
class StackParts:
    """The main job's pieces this run reuses, handed in by :func:`qnet.runs.runner.simulate`
    (its ``streams``, ``sample_traffic``, ``run_decisions``, ``queue_batch_count`` and the
    noise-aware ``pilot``), so the runner's dispatch on ``game.kind`` creates no import
    cycle."""

    streams: Callable[[int], dict[str, np.random.Generator]]
    sample_traffic: Callable[..., tuple[np.ndarray, np.ndarray, np.ndarray]]
    run_decisions: Callable[..., tuple[Any, Any]]
    queue_batch_count: Callable[[int, int], int]
    pilot: Callable[..., tuple[np.ndarray, float]]


def simulate_sum_threshold(
    scenario: Scenario,
    progress: Callable[[str, float], None] | None,
    parts: StackParts,
) -> SumThresholdOutput:
    """Run a sum-threshold scenario end to end (QoS limit, real pairs, paired baselines)."""
    record, profile = _run(scenario, progress, parts)
    return SumThresholdOutput(record, profile)


def _below(est: Estimate, limit: float) -> str:
    """ "yes" if the CI lies below ``limit``, "no" if above, else "inconclusive"."""
    if not math.isfinite(est.ci95):
        return "inconclusive"
    if est.mean + est.ci95 < limit:
        return "yes"
    if est.mean - est.ci95 > limit:
        return "no"
    return "inconclusive"


def _ratio_verdict(est: Estimate) -> str:
    """ "yes" if the CI of R_k lies above 1, "no" if below, else "inconclusive"."""
    return verdict(Estimate(est.mean - 1.0, est.se, est.ci95, est.batches))


def recomputed_verdicts(values: dict[str, Any]) -> dict[str, str]:
    """``verdict``, ``verdict_envelope`` and ``meets_limit`` from a record's estimates
    (replications combined: :func:`qnet.runs.replicate.combine_records`)."""

    def est(name: str) -> Estimate:
        return Estimate(float(values[name]), math.nan, float(values[f"{name}_ci95"]), 2)

    env = est("throughput_ratio_envelope")
    return {
        "verdict": _ratio_verdict(est("throughput_ratio")),
        "verdict_envelope": _ratio_verdict(env) if math.isfinite(env.mean) else "undefined",
        "meets_limit": _below(est("wait_quantum"), float(values["w_limit"])),
    }


@threadpool_limits.wrap(limits=1)  # one BLAS thread: the same numbers on any machine
def _run(
    scenario: Scenario, progress: Callable[[str, float], None] | None, parts: StackParts
) -> tuple[SumThresholdRecord, SumThresholdProfile]:
    """The run and the profile it played."""
    wall0 = time.perf_counter()
    if progress is not None:
        progress("building strategy profile", 0.0)
    rngs = parts.streams(scenario.seed)
    model = link_model(scenario)
    if scenario.strategy.kind == "noise_aware":
        tensor_pilot, a_pilot = parts.pilot(scenario, model, rngs["pilot"])
        profile = sum_threshold_profile(scenario, a_pilot, tensor_pilot)
    else:
        profile = sum_threshold_profile(scenario)
    traffic = parts.sample_traffic(scenario, rngs["traffic"])
    log, use = parts.run_decisions(scenario, profile, traffic, rngs, progress)
    if progress is not None:
        progress("replaying queues", 0.0)
    mu = scenario.traffic.mu_hz
    t, x1, x2 = log.t_s * mu, log.x1_s * mu, log.x2_s * mu
    n = len(t)
    keep = slice(scenario.run.warmup_decisions, None)
    measured = n - scenario.run.warmup_decisions
    batches = scenario.run.batches
    if measured < 2 * batches:
        raise ValueError(
            f"run.batches = {batches}: needs at least 2 measured decisions per batch; "
            f"allowed range is [5, {measured // 2}]"
        )
    qb = parts.queue_batch_count(measured, batches)
    first_is_a = rngs["order"].random(n) < 0.5
    outputs = {
        "quantum": (log.o_a, log.o_b),
        "classical": couple_flip(x1, x2, *profile.classical_outputs(x1, x2), log.o_a, log.o_b),
        "oracle": couple_flip(x1, x2, *profile.oracle_outputs(x1, x2), log.o_a, log.o_b),
    }
    u_env = rngs["baseline"].random(n)
    if profile.envelope is not None:
        outputs["envelope"] = profile.envelope_outputs(x1, x2, u_env, log.o_a, log.o_b)
    q = scenario.queue
    works = {
        "power": power_work(q.power_k),
        "warmup": warmup_work(q.warmup_rate_per_service, q.phi_max),
    }
    dt = np.diff(t, prepend=0.0)[keep]
    wait, split, idle = {}, {}, {}
    for name, (o_a, o_b) in outputs.items():
        r = replay_queue(t, x1, x2, o_a, o_b, first_is_a=first_is_a, baseline_work=works["power"])
        wait[name] = r.pair_wait[keep]
        split[name] = r.split[keep].astype(float)
        if name != "oracle":
            warm = replay_queue(
                t, x1, x2, o_a, o_b, first_is_a=first_is_a, baseline_work=works["warmup"]
            )
            idle[(name, "power")] = r.idle_work[keep] / 2.0
            idle[(name, "warmup")] = warm.idle_work[keep] / 2.0
    c_of = {"quantum": profile.quantum_c_t, "classical": profile.classical.c_t}
    win = {
        name: 0.5 * (1.0 + profile.rule(x1, x2, c_of[name]) * (o_a * o_b))[keep]
        for name, (o_a, o_b) in outputs.items()
        if name in c_of
    }
    est = SumThresholdRecord.estimate

    # the analysis core at the measured availability and mean tensor of the pairs used
    available = use.available[keep]
    used = log.used_pair[keep]
    a_hat = float(available.mean())
    tensor = np.eye(2)
    if used.any():
        tensors, _ = stored_pair_tensors(log.pair_age_s[keep][used], model)
        tensor = readout_factor(model.readout_error_a, model.readout_error_b) * tensors.mean(0)
    pred_q = profile.predicted(a_hat, tensor)
    ideal_q = profile.quantum_prediction()
    pred_c = profile.classical_prediction()
    params = profile.params
    p_c, p_q, k = pred_c.moments.p, pred_q.moments.p, q.power_k

    def thr(p: float, kind: str) -> float:
        if not math.isfinite(p):
            return math.nan
        if kind == "power":
            return float(baseline_throughput_power(p, params, k))
        return float(baseline_throughput_warmup(p, params))

    ratio = ratio_batch_means(idle[("quantum", "power")], idle[("classical", "power")], qb)
    ratio_w = ratio_batch_means(idle[("quantum", "warmup")], idle[("classical", "warmup")], qb)
    wait_q = batch_means(wait["quantum"], qb)
    env_m = profile.envelope_prediction()
    p_e = math.nan if env_m is None else env_m.p
    has_env = "envelope" in outputs

    def env_est(make: Callable[[], Estimate]) -> Estimate:
        return make() if has_env else Estimate(math.nan, math.nan, math.nan, qb)

    ratio_e = env_est(
        lambda: ratio_batch_means(idle[("quantum", "power")], idle[("envelope", "power")], qb)
    )
    fid = log.pair_fidelity[keep]
    record = SumThresholdRecord(
        scenario=scenario.name,
        scenario_digest=scenario.digest(),
        engine=scenario.engine.name,
        seed=scenario.seed,
        decisions=measured,
        warmup_decisions=scenario.run.warmup_decisions,
        batches=batches,
        queue_batches=qb,
        game="sum_threshold",
        quantum_family=profile.family,
        bins=profile.bins,
        w_limit=profile.w_limit,
        c_t_quantum=profile.quantum_c_t,
        c_t_classical=profile.classical.c_t,
        oracle_threshold=profile.oracle_t,
        power_k=k,
        mean_service_time_s=scenario.traffic.mean_service_time_s,
        load=scenario.traffic.rho,
        **est("availability", batch_means(available.astype(float), batches)),
        predicted_availability=(
            model.predicted_availability(scenario.traffic.lam_hz)
            if model.discard_age_s is None
            else math.nan
        ),
        pair_rate_hz=model.pair_rate_hz,
        **est(
            "mean_fidelity_at_use",
            batch_means(fid[used], batches)
            if used.sum() >= 2 * batches
            else Estimate(math.nan, math.nan, math.nan, batches),
        ),
        **est("pairs_used_share", batch_means(used.astype(float), batches)),
        **{
            kv: v
            for name in ("quantum", "classical", "oracle")
            for kv, v in est(
                f"splitting_probability_{name}", batch_means(split[name], batches)
            ).items()
        },
        predicted_splitting_probability_quantum=p_q,
        ideal_splitting_probability_quantum=ideal_q.moments.p,
        predicted_splitting_probability_classical=p_c,
        **{
            kv: v
            for name in ("quantum", "classical", "oracle")
            for kv, v in est(f"wait_{name}", batch_means(wait[name], qb)).items()
        },
        **est("wait_reduction", batch_means(wait["classical"] - wait["quantum"], qb)),
        predicted_wait_quantum=pred_q.moments.wait,
        predicted_wait_classical=pred_c.moments.wait,
        predicted_wait_oracle=profile.oracle_prediction().wait,
        meets_limit=_below(wait_q, profile.w_limit),
        **est("win_probability_quantum", batch_means(win["quantum"], batches)),
        **est("win_probability_classical", batch_means(win["classical"], batches)),
        predicted_win_probability_quantum=pred_q.win_probability,
        ideal_win_probability_quantum=ideal_q.win_probability,
        predicted_win_probability_classical=pred_c.win_probability,
        **{
            kv: v
            for name in ("quantum", "classical")
            for kind in ("power", "warmup")
            for kv, v in est(
                f"throughput_{kind}_{name}", ratio_batch_means(idle[(name, kind)], dt, qb)
            ).items()
        },
        predicted_throughput_power_quantum=thr(p_q, "power"),
        predicted_throughput_power_classical=thr(p_c, "power"),
        predicted_throughput_warmup_quantum=thr(p_q, "warmup"),
        predicted_throughput_warmup_classical=thr(p_c, "warmup"),
        **est("throughput_ratio", ratio),
        predicted_throughput_ratio=thr(p_q, "power") / thr(p_c, "power"),
        ideal_throughput_ratio=thr(ideal_q.moments.p, "power") / thr(p_c, "power"),
        **est("throughput_ratio_warmup", ratio_w),
        predicted_throughput_ratio_warmup=thr(p_q, "warmup") / thr(p_c, "warmup"),
        verdict=_ratio_verdict(ratio),
        **est(
            "splitting_probability_envelope",
            env_est(lambda: batch_means(split["envelope"], batches)),
        ),
        predicted_splitting_probability_envelope=p_e,
        **est("wait_envelope", env_est(lambda: batch_means(wait["envelope"], qb))),
        predicted_wait_envelope=math.nan if env_m is None else env_m.wait,
        **{
            kv: v
            for kind in ("power", "warmup")
            for kv, v in est(
                f"throughput_{kind}_envelope",
                env_est(lambda kind=kind: ratio_batch_means(idle[("envelope", kind)], dt, qb)),
            ).items()
        },
        predicted_throughput_power_envelope=thr(p_e, "power"),
        predicted_throughput_warmup_envelope=thr(p_e, "warmup"),
        **est("throughput_ratio_envelope", ratio_e),
        predicted_throughput_ratio_envelope=thr(p_q, "power") / thr(p_e, "power"),
        ideal_throughput_ratio_envelope=thr(ideal_q.moments.p, "power") / thr(p_e, "power"),
        **est(
            "throughput_ratio_warmup_envelope",
            env_est(
                lambda: ratio_batch_means(
                    idle[("quantum", "warmup")], idle[("envelope", "warmup")], qb
                )
            ),
        ),
        predicted_throughput_ratio_warmup_envelope=thr(p_q, "warmup") / thr(p_e, "warmup"),
        verdict_envelope=_ratio_verdict(ratio_e) if has_env else "undefined",
        placement=profile.placement,
        planned_availability=profile.expected_availability,
        p_sum_oracle=profile.oracle_prediction().p,
        p_w_oracle=profile.p_w_oracle,
        pairs_heralded=use.pairs_heralded,
        pairs_discarded=use.pairs_discarded,
        wall_time_s=time.perf_counter() - wall0,
    )
    if progress is not None:
        progress("replaying queues", 1.0)
    return record, profile
