"""The record of one run: flat documented fields, every estimate with its 95 % CI half-width."""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from typing import Any

from qnet.estimators import Estimate

__all__ = ["FlatRecord", "RunRecord"]


class FlatRecord:
    """A run's flat, frozen record: one JSON value per field (a base for the dataclasses)."""

    @staticmethod
    def estimate(name: str, est: Estimate) -> dict[str, float]:
        """The two fields ``name`` (mean) and ``name_ci95`` (95 % half-width) of an estimate."""
        return {name: est.mean, f"{name}_ci95": est.ci95}

    def to_dict(self) -> dict[str, Any]:
        """Flat dict of every field (JSON-able; NaN stays NaN)."""
        return asdict(self)

    @classmethod
    def field_names(cls) -> list[str]:
        """Field names in declaration order (e.g. store columns)."""
        return [f.name for f in fields(cls)]


@dataclass(frozen=True)
class RunRecord(FlatRecord):
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
            that each batch holds at least
            :data:`qnet.runs.runner.MIN_QUEUE_BATCH_DECISIONS` decisions (never below 5).
        strategy_kind: "ideal" or "noise_aware" angles.
        target_splitting_probability: the profile's target p.
        comparison_splitting_probability: the p at which the oracle and classical
            baselines are replayed and the ideal reduction is taken: the p the run is
            expected to achieve given the measured availability and pair correlation
            (equal p means equal baseline throughput). Equals the target unless noise
            pulls the played angles' p toward 1/2 (naive angles on noisy pairs).
        expected_visibility, expected_availability: what the profile was built for (1, 1
            for ideal profiles; for noise-aware ones the pilot's availability and the mean
            diagonal correlation of its pair tensor, which the angles are optimized on).
        mean_service_time_s: 1/mu [s], the unit of waits and gaps.
        load: rho = lambda/mu.
        availability: share of decisions at which a usable entangled pair existed (both
            routers' stores selected the same pair): what the *link* delivers. It does not
            say whether the routers spent the pair.
        pairs_used_share: share of decisions that measured a pair: what the *routers*
            spent. Equals ``availability`` for the ideal profile (a pair is always measured
            when there is one). A noise-aware profile may pick, by shared randomness, a
            threshold strategy even when a pair is there (eqs. N1-N3: on poor pairs
            classical routing earns more); that pair stays in store and the decision is
            routed classically. ``availability`` = 1.0 with ``pairs_used_share`` = 0 means
            the link always had a pair ready and the profile chose never to use one: the run
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
            ``ideal_gap_reduction`` <= :data:`qnet.runs.runner.MIN_IDEAL_REDUCTION`: at the
            comparison p
            even ideal pairs bring no reduction (outside the degree-n angles' advantage
            region, e.g. naive angles on strongly dephased pairs push p toward 1/2), so
            there is no advantage to retain; read ``gap_reduction`` instead.
        retained_share_game: gap_reduction_game / ideal_gap_reduction (same rule).
        gap_reduction_game_cv: the game reduction with control variates
            (:mod:`qnet.runs.controls`): the per-decision terms minus fitted multiples of
            three input-only controls with exactly known means (ideal-pair with-pair
            score, fallback score, classical-baseline score), batch means of the adjusted
            series. Same expectation as ``gap_reduction_game``, smaller CI
            (docs/statistics.md: Control variates).
        retained_share_game_cv: gap_reduction_game_cv / ideal_gap_reduction (same rule).
        variance_reduction_game: per-decision variance of the game reduction terms over
            that of the control-variate-adjusted terms (how much the controls bought).
        verdict: does quantum routing beat the classical strategy here? "yes" if the
            95 % CI of ``gap_reduction_game_cv`` (paired: both policies on the same
            decisions) lies above 0, "no" if below 0, else "inconclusive".
        target_share_half_width: the retained-share 95 % half-width
            ``decisions_for_target_width`` is computed for (``qnet run --target-width``).
        decisions_for_target_width: measured decisions for ``retained_share_game_cv_ci95``
            to reach ``target_share_half_width`` (half-width scaled as 1/sqrt(n) at the same
            batch count); -1 (null in JSON) when the retained share is undefined.
        baseline_throughput: baseline work per unit time per server (replay, [phi_max]).
        predicted_baseline_throughput: eq. 10 (or t^k) at the achieved p.
        oracle_payoff: A* at the comparison p; classical_payoff: A of the classical
            baseline there; quantum_payoff_ideal: A of the ideal angles there.
        predicted_payoff: the analysis core's A of the run's mix for the measured
            availability and mean pair correlation (issue-4 mixing, eq. N2).
        pairs_heralded, pairs_discarded: supply counts from the engine (-1 if unknown).
        wall_time_s: wall-clock time of the run [s].
        replications: independent replications combined into this record (1: one run;
            ``qnet run --replications R``, :mod:`qnet.runs.replicate`). With R > 1,
            ``seed`` is the root the replications' seeds are spawned from, ``decisions``,
            ``warmup_decisions``, ``batches``, ``queue_batches`` and the pair counts are
            totals over the replications (the combined intervals use sum(b - 1) degrees
            of freedom).
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
    gap_reduction_game_cv: float
    gap_reduction_game_cv_ci95: float
    retained_share_game_cv: float
    retained_share_game_cv_ci95: float
    variance_reduction_game: float
    verdict: str
    target_share_half_width: float
    decisions_for_target_width: int
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
    replications: int = 1

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
            "gap_reduction_game_cv": est("gap_reduction_game_cv"),
            "retained_share_game_cv": est("retained_share_game_cv"),
            "variance_reduction_game": self.variance_reduction_game,
            "verdict": self.verdict,
            "target_share_half_width": self.target_share_half_width,
            "decisions_for_target_width": (
                None if self.decisions_for_target_width < 0 else self.decisions_for_target_width
            ),
            "baseline_throughput": est("baseline_throughput"),
            "predicted_baseline_throughput": self.predicted_baseline_throughput,
            "units": {
                "wait": "mean service time 1/mu",
                "mean_service_time_s": (self.mean_service_time_s),
            },
            "wall_time_s": self.wall_time_s,
            "replications": self.replications,
            "record": self.to_dict(),
        }
