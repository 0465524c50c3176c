"""One run as independent replications, on any executor, combined into one record.

A run of ``run.decisions`` decisions split into R replications: replication k has its own
seed (child k of ``SeedSequence(scenario.seed).spawn(R)``), its own warm-up of
``run.warmup_decisions`` and 1/R of the measured decisions (the first ``measured % R``
replications one more). Each runs :func:`qnet.runs.runner.simulate` on its own; the
records are combined in replication order, so the same seed and R give the same record
whatever executor (process pool of any size, Dask cluster, or none) ran them.

Combining: every estimate's mean is the decision-weighted mean of the replications'
means; its variance the weighted sum of their squared standard errors (independent
replications), with Student-t degrees of freedom the sum of the replications' (b − 1)
(batch-means errors of similar size: Satterthwaite). Counts add up; analysis-core values
and predictions are decision-weighted means (equal across replications for the ideal
profile); the verdict and ``decisions_for_target_width`` are recomputed from the combined
control-variate estimate. A sum-threshold run (``[game] kind = "sum_threshold"``) combines
the same way into a :class:`~qnet.runs.sum_threshold_record.SumThresholdRecord`, its
verdicts and ``meets_limit`` recomputed from the combined R_k and Wq.
"""

from __future__ import annotations

import concurrent.futures as cf
import math
import time
from dataclasses import fields

import numpy as np
from scipy import stats

from qnet.config import Scenario
from qnet.estimators import Estimate
from qnet.runs.record import FlatRecord, RunRecord
from qnet.runs.sum_threshold_record import SumThresholdRecord
from qnet.runs.verdict import DEFAULT_TARGET_HALF_WIDTH, decisions_for_half_width, verdict

__all__ = ["QUEUE_FIELDS", "combine_records", "replication_scenarios", "run_replicated"]

QUEUE_FIELDS = frozenset(
    {
        "wait_quantum",
        "wait_oracle",
        "wait_classical",
        "gap_quantum",
        "gap_classical",
        "gap_reduction",
        "retained_share",
        "baseline_throughput",
    }
)
"""Estimates whose CIs rest on ``queue_batches`` (the rest on ``batches``)."""

_SUMMED = {"decisions", "warmup_decisions", "batches", "queue_batches", "replications"}
_COUNTS = {"pairs_heralded", "pairs_discarded"}
_RECOMPUTED = {
    "verdict",
    "decisions_for_target_width",
    "wall_time_s",
    "verdict_envelope",
    "meets_limit",
}


def _on_queue_batches(record: FlatRecord, name: str) -> bool:
    """Whether the estimate ``name`` rests on ``queue_batches`` (queue replay)."""
    if isinstance(record, RunRecord):
        return name in QUEUE_FIELDS
    return name.startswith(("wait", "throughput"))  # sum-threshold: waits, throughputs, R_k


def replication_scenarios(scenario: Scenario, replications: int) -> list[Scenario]:
    """The R replication scenarios: own spawned seeds, own warm-up, measured decisions split."""
    if isinstance(replications, bool) or not isinstance(replications, int) or replications < 1:
        raise ValueError(f"replications = {replications!r}: allowed range is [1, inf)")
    run = scenario.run
    measured = run.decisions - run.warmup_decisions
    if replications == 1:
        return [scenario]
    per, extra = divmod(measured, replications)
    if per < 2 * run.batches:
        raise ValueError(
            f"replications = {replications}: each replication needs at least "
            f"{2 * run.batches} measured decisions (2 per batch), but "
            f"run.decisions - run.warmup_decisions = {measured}; allowed range is "
            f"[1, {max(1, measured // (2 * run.batches))}]"
        )
    children = np.random.SeedSequence(scenario.seed).spawn(replications)
    out = []
    for k, child in enumerate(children):
        seed = int(child.generate_state(1, np.uint64)[0] >> np.uint64(1))
        decisions = run.warmup_decisions + per + (1 if k < extra else 0)
        out.append(
            scenario.model_copy(
                update={"seed": seed, "run": run.model_copy(update={"decisions": decisions})}
            )
        )
    return out


def _replication(args: tuple[Scenario, float]) -> RunRecord | SumThresholdRecord:
    """One replication's record (top level: picklable for process pools and Dask)."""
    from qnet.runs.runner import simulate

    scenario, target = args
    return simulate(scenario, target_half_width=target, keep_series=False).record


def _combine_estimate(
    means: np.ndarray, halves: np.ndarray, batches: np.ndarray, weights: np.ndarray
) -> Estimate:
    q = np.array([stats.t.ppf(0.975, max(b - 1, 1)) for b in batches])
    se = halves / q
    mean = float(np.sum(weights * means))
    total_se = float(math.sqrt(np.sum((weights * se) ** 2)))
    dof = int(np.sum(batches - 1))
    return Estimate(mean, total_se, float(stats.t.ppf(0.975, max(dof, 1)) * total_se), dof + 1)


def combine_records(
    records: list[RunRecord] | list[SumThresholdRecord],
    scenario: Scenario,
    target_half_width: float,
    wall_time_s: float,
) -> RunRecord | SumThresholdRecord:
    """One record from independent replications of ``scenario`` (module docstring); a
    sum-threshold run's R_k is the decision-weighted mean of the replications' ratios."""
    if not records:
        raise ValueError("records: expected at least one replication")
    if len(records) == 1:
        return records[0]
    cls = type(records[0])
    n = np.array([r.decisions for r in records], dtype=float)
    w = n / n.sum()
    values: dict[str, object] = {}
    names = cls.field_names()
    for f in fields(cls):
        name = f.name
        col = [getattr(r, name) for r in records]
        if name.endswith("_ci95") or name in _RECOMPUTED:
            continue
        if f"{name}_ci95" in names:
            queue = _on_queue_batches(records[0], name)
            b = np.array([r.queue_batches if queue else r.batches for r in records])
            halves = np.array([getattr(r, f"{name}_ci95") for r in records], dtype=float)
            est = _combine_estimate(np.array(col, dtype=float), halves, b, w)
            values.update(cls.estimate(name, est))
        elif name in _SUMMED or name in _COUNTS:
            values[name] = int(sum(col)) if min(col) >= 0 else -1
        elif isinstance(col[0], str):
            values[name] = col[0]
        elif isinstance(col[0], float):
            values[name] = float(np.sum(w * np.array(col, dtype=float)))
        else:
            values[name] = col[0]
    values["seed"] = scenario.seed
    values["scenario_digest"] = scenario.digest()
    values["wall_time_s"] = wall_time_s
    if cls is SumThresholdRecord:
        from qnet.runs.sum_threshold import recomputed_verdicts

        values.update(recomputed_verdicts(values))
        return SumThresholdRecord(**values)  # type: ignore[arg-type]
    cv = Estimate(
        float(values["gap_reduction_game_cv"]),  # type: ignore[arg-type]
        math.nan,
        float(values["gap_reduction_game_cv_ci95"]),  # type: ignore[arg-type]
        int(values["batches"]),  # type: ignore[arg-type]
    )
    values["verdict"] = verdict(cv)
    values["target_share_half_width"] = target_half_width
    values["decisions_for_target_width"] = decisions_for_half_width(
        int(values["decisions"]),  # type: ignore[arg-type]
        float(values["retained_share_game_cv_ci95"]),  # type: ignore[arg-type]
        target_half_width,
    )
    for name in ("verdict_envelope", "meets_limit"):
        values.pop(name, None)
    return RunRecord(**values)  # type: ignore[arg-type]


def run_replicated(
    scenario: Scenario,
    replications: int,
    executor: cf.Executor | None = None,
    *,
    target_half_width: float = DEFAULT_TARGET_HALF_WIDTH,
) -> RunRecord | SumThresholdRecord:
    """Run R replications (on ``executor``, or here one after another) and combine them."""
    wall0 = time.perf_counter()
    tasks = [(s, target_half_width) for s in replication_scenarios(scenario, replications)]
    if executor is None:
        records = [_replication(t) for t in tasks]
    else:
        records = list(executor.map(_replication, tasks))
    return combine_records(records, scenario, target_half_width, time.perf_counter() - wall0)
