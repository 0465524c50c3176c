"""Real links for CHSH load balancing (issue 14): scenario -> one link per balancer pair ->
the engine -> per-step same/different decisions -> the queue simulation.

Each of the N/2 balancer pairs has its own link with the scenario's [link] and [router_a],
[router_b] physics (the same for every pair). Step k (k = 1..T) is a decision at
k·step_s (default: the classical round trip between the paired balancers). Every step
wants a pair, measured at the paper's CHSH angles for that step's tasks
(:meth:`qnet.games.chsh.game.ChshGame.measurement_angles`); a measured pair sends B to
A's server iff o_A·o_B = −1 (:meth:`~qnet.games.chsh.game.ChshGame.same_server`), a step
without a usable pair falls back to random routing. So availability follows from the
generation rate, slots, cutoff and memory, and fidelity at use from the memory model.
The tasks and the server draws are those of :func:`qnet.games.chsh.load_balancing.simulate`
(common random numbers with every other strategy); each link of each replication has its
own generation and outcome streams, spawned from ``SeedSequence(seed, spawn_key=(14, 14))``.
On SeQUeNCe a replication's N/2 links share one timeline, with the same numbers as one
timeline per link.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

import numpy as np
from scipy.stats import binom

from qnet.decisions.step import MeasurementSettings
from qnet.engines.analytic import LinkModel, link_model, run_analytic
from qnet.games.chsh.game import ChshGame
from qnet.games.chsh.load_balancing import (
    DISCIPLINES,
    LoadBalancingConfig,
    mean_ci95,
    simulate,
    task_inputs,
)
from qnet.games.chsh.study import ChshStudy, knees_against_random, run_study
from qnet.games.chsh.tables import Strategy, random_strategy

if TYPE_CHECKING:
    from qnet.config import Scenario
    from qnet.engines.base import PairUse, Progress

__all__ = [
    "LinkedPairs",
    "balancing_config",
    "classical_round_trip_s",
    "linked_pairs",
    "linked_sweep",
    "run_linked_study",
    "slotted_availability",
    "step_length_s",
    "vary",
]

_LINK_KEY = (14, 14)  # spawn key of the link streams (simulate's replications use (r,))


def classical_round_trip_s(scenario: Scenario) -> float:
    """2 (arm_a + arm_b) / c: one classical round trip between the paired balancers [s]."""
    lk = scenario.link
    return 2.0 * (lk.arm_a_km + lk.arm_b_km) / lk.light_speed_km_per_s


def step_length_s(scenario: Scenario) -> float:
    """The step length: ``load_balancing.step_s``, else the classical round trip [s]."""
    if scenario.load_balancing.step_s is not None:
        return scenario.load_balancing.step_s
    rtt = classical_round_trip_s(scenario)
    if not rtt > 0:
        raise ValueError(
            "load_balancing.step_s is needed: the link has no fiber (arm_a_km = arm_b_km = 0), "
            "so the classical round trip is 0 s"
        )
    return rtt


def balancing_config(scenario: Scenario) -> LoadBalancingConfig:
    """The experiment's size from the scenario's [load_balancing] table."""
    lb = scenario.load_balancing
    n = math.floor((lb.load_stop - lb.load_start) / lb.load_step + 1e-9) + 1
    loads = tuple(float(x) for x in np.round(lb.load_start + lb.load_step * np.arange(n), 9))
    discs = DISCIPLINES if lb.discipline == "both" else (lb.discipline,)
    return LoadBalancingConfig(
        lb.balancers, loads, lb.steps, lb.warmup_steps, lb.replications, scenario.seed, discs
    )


def slotted_availability(model: LinkModel, step_s: float) -> float:
    """Share of slotted decisions (one per ``step_s``, each spending a pair) finding one.

    The K slot pairs are treated as exponential generators of mean E[G]; a slot freed at
    a decision is ready by the next with q = 1 − exp(−step_s/E[G]). The ready count n
    before a decision is a Markov chain n → m + Binomial(K − m, q), m = max(n − 1, 0);
    a = 1 − π_0. Discards (cutoff, expiry) are not included.
    """
    if not step_s > 0:
        raise ValueError(f"step_s = {step_s!r}: must be > 0")
    k = model.slots
    q = -math.expm1(-step_s / model.mean_generation_time_s)
    trans = np.zeros((k + 1, k + 1))
    for n in range(k + 1):
        m = max(n - 1, 0)
        trans[n, m:] = binom.pmf(np.arange(k - m + 1), k - m, q)
    balance = trans.T - np.eye(k + 1)
    balance[-1] = 1.0  # π (P − I) = 0 with Σ π = 1
    rhs = np.zeros(k + 1)
    rhs[-1] = 1.0
    pi = np.linalg.solve(balance, rhs)
    return float(1.0 - pi[0])


@dataclass(frozen=True)
class LinkedPairs:
    """What the N/2 links supplied, per replication × step × pair.

    Attributes:
        decisions: int8 [R, T, P]: 1 same server, 0 different (measured), −1 no pair.
        available: [R] share of the measured steps (after the warm-up) with a usable pair.
        fidelity: [R] mean fidelity of the pairs measured in those steps (NaN if none).
        table: 2×2 share of measured pairs that sent both to one server, by (x_a, x_b).
        step_s: step length [s]; engine: the engine's name.
        predicted_poisson: :meth:`LinkModel.predicted_availability` at 1/step_s.
        predicted_slotted: :func:`slotted_availability` at step_s.
        heralded, discarded: pairs heralded / discarded over all links and replications.
    """

    decisions: np.ndarray
    available: np.ndarray
    fidelity: np.ndarray
    table: np.ndarray
    step_s: float
    engine: str
    predicted_poisson: float
    predicted_slotted: float
    heralded: int
    discarded: int

    def strategy(self) -> Strategy:
        """The quantum strategy as these links play it (measured means for the chain)."""
        return Strategy(
            "quantum", self.table, float(np.mean(self.available)), decisions=self.decisions
        )

    def mean_fidelity(self) -> float:
        """Mean fidelity at use over replications (NaN if no pair was ever measured)."""
        f = self.fidelity[np.isfinite(self.fidelity)]
        return float(f.mean()) if len(f) else math.nan

    def summary(self) -> dict[str, Any]:
        """JSON form: step, engine, availability and fidelity ± 95 % CI, predictions."""
        a_mean, a_half = mean_ci95(self.available)
        f = self.fidelity[np.isfinite(self.fidelity)]
        f_mean, f_half = mean_ci95(f) if len(f) >= 2 else (self.mean_fidelity(), math.nan)
        return {
            "engine": self.engine,
            "step_s": self.step_s,
            "availability": {"mean": float(a_mean), "ci95": float(a_half)},
            "fidelity_at_use": {"mean": float(f_mean), "ci95": float(f_half)},
            "availability_predicted_slotted": self.predicted_slotted,
            "availability_predicted_poisson": self.predicted_poisson,
            "p_same_with_pair": self.table.tolist(),
            "pairs_heralded": self.heralded,
            "pairs_discarded": self.discarded,
        }


def _link_rngs(root: np.random.SeedSequence) -> dict[str, np.random.Generator]:
    """One link's generation and outcome streams (spawned from its own seed)."""
    link_ss, out_ss = root.spawn(2)
    return {"link": np.random.default_rng(link_ss), "outcomes": np.random.default_rng(out_ss)}


def _run_links(
    scenario: Scenario,
    model: LinkModel,
    t_s: np.ndarray,
    settings: list[MeasurementSettings],
    rngs: list[dict[str, np.random.Generator]],
    shared_timeline: bool,
) -> list[PairUse]:
    """One replication's links at the decision times, on the scenario's engine.

    On SeQUeNCe all links share one timeline (``shared_timeline``, the default) or each
    runs on its own; the two give the same numbers (each link keeps its own streams).
    """
    if scenario.engine.name == "sequence":
        from qnet.engines.sequence import run_sequence, run_sequence_links

        if shared_timeline:
            return run_sequence_links(scenario, t_s, settings, rngs)
        return [run_sequence(scenario, t_s, s, r) for s, r in zip(settings, rngs, strict=True)]
    flip = np.ones(len(t_s), dtype=np.int8)  # A's server is shared randomness: no flip needed
    return [
        run_analytic(scenario, t_s, s, flip, r, model=model)
        for s, r in zip(settings, rngs, strict=True)
    ]


def linked_pairs(
    scenario: Scenario,
    config: LoadBalancingConfig,
    step_s: float,
    progress: Progress | None = None,
    shared_timeline: bool = True,
) -> LinkedPairs:
    """Run the N/2 links of every replication for ``config.steps`` steps of ``step_s``.

    With engine.name = "sequence" a replication's N/2 links run on one SeQUeNCe timeline
    (``shared_timeline=False``: one timeline per link, the same numbers, for comparison).
    """
    game = ChshGame()
    model = link_model(scenario)
    xa, xb = task_inputs(config)
    n_r, n_t, n_p = xa.shape
    t_s = step_s * np.arange(1, n_t + 1, dtype=float)
    wants = np.ones(n_t, dtype=bool)
    roots = np.random.SeedSequence(config.seed, spawn_key=_LINK_KEY).spawn(n_r * n_p)
    decisions = np.empty(xa.shape, np.int8)
    avail = np.empty((n_r, n_p))
    fid_sum = np.zeros(n_r)
    fid_n = np.zeros(n_r)
    same = np.zeros((2, 2))
    measured = np.zeros((2, 2))
    heralded = discarded = 0
    keep = slice(config.warmup, None)
    for r in range(n_r):
        settings = []
        for p in range(n_p):
            theta_a, theta_b = game.measurement_angles(xa[r, :, p], xb[r, :, p])
            settings.append(MeasurementSettings(wants, theta_a, theta_b))
        rngs = [_link_rngs(roots[r * n_p + p]) for p in range(n_p)]
        uses = _run_links(scenario, model, t_s, settings, rngs, shared_timeline)
        for p, use in enumerate(uses):
            s = game.same_server(use.outcome_a, use.outcome_b)
            decisions[r, :, p] = np.where(use.used, s, -1)
            avail[r, p] = use.available[keep].mean()
            u = use.used[keep]
            fid_sum[r] += use.pair_fidelity[keep][u].sum()
            fid_n[r] += u.sum()
            idx = (xa[r, keep, p][u], xb[r, keep, p][u])
            np.add.at(measured, idx, 1.0)
            np.add.at(same, idx, s[keep][u].astype(float))
            heralded += use.pairs_heralded
            discarded += use.pairs_discarded
        if progress is not None:
            progress("links", (r + 1) / n_r)
    with np.errstate(invalid="ignore", divide="ignore"):
        fidelity = fid_sum / fid_n
        table = np.where(measured > 0, same / measured, 1.0 / 2.0)
    return LinkedPairs(
        decisions=decisions,
        available=avail.mean(axis=1),
        fidelity=fidelity,
        table=table,
        step_s=step_s,
        engine=scenario.engine.name,
        predicted_poisson=model.predicted_availability(1.0 / step_s),
        predicted_slotted=slotted_availability(model, step_s),
        heralded=heralded,
        discarded=discarded,
    )


def run_linked_study(
    scenario: Scenario, level: float = 5.0, grid: int = 4, progress: Progress | None = None
) -> tuple[ChshStudy, LinkedPairs]:
    """The knee table of random, best classical and quantum routing on the scenario's links."""
    config = balancing_config(scenario)
    pairs = linked_pairs(scenario, config, step_length_s(scenario), progress)
    study = run_study(
        config,
        level,
        fidelity=pairs.mean_fidelity(),
        availability=float(np.mean(pairs.available)),
        grid=grid,
        quantum=pairs.strategy(),
    )
    return study, pairs


def vary(scenario: Scenario, axes: dict[str, list[Any]]) -> list[dict[str, Any]]:
    """The cross product of ``axes`` (dotted key -> values) as override dicts, checked.

    Only link physics and ``load_balancing.step_s`` may vary: the tasks and server draws
    (size and seed) stay common to every point.
    """
    from qnet.config import apply_overrides, scenario_from_dict

    for key in axes:
        if key == "seed" or (key.startswith("load_balancing.") and key != "load_balancing.step_s"):
            raise ValueError(
                f"--vary {key}: the size and seed are common to every point; allowed: link, "
                "router_a, router_b, engine keys and load_balancing.step_s"
            )
    points = [dict(zip(axes, combo, strict=True)) for combo in itertools.product(*axes.values())]
    for ov in points:
        scenario_from_dict(apply_overrides(scenario.to_dict(), ov))  # validates every point
    return points


def linked_sweep(
    scenario: Scenario,
    points: list[dict[str, Any]],
    level: float = 5.0,
    progress: Progress | None = None,
) -> dict[str, Any]:
    """Quantum knee on the scenario's links at every override point, beside random routing.

    One simulation on common random numbers (tasks, servers and link streams shared by all
    points). Returns ``points`` (overrides and each point's link summary) and, per
    discipline, ``random`` {mean, ci95} and ``grid`` rows {mean, ci95, diff_random,
    diff_random_ci95} (differences paired per replication before the t-interval).
    """
    from qnet.config import apply_overrides, scenario_from_dict

    config = balancing_config(scenario)
    strategies = [random_strategy()]
    summaries = []
    for i, ov in enumerate(points):
        sc = scenario_from_dict(apply_overrides(scenario.to_dict(), ov))
        pairs = linked_pairs(sc, config, step_length_s(sc))
        strategies.append(replace(pairs.strategy(), name=f"quantum {i}"))
        summaries.append({"set": ov, "link": pairs.summary()})
        if progress is not None:
            progress("links", (i + 1) / len(points))
    res = simulate(config, strategies)
    return {"points": summaries, **knees_against_random(res, level, [{} for _ in points])}
