"""The knee table of the CHSH load balancer: random, best classical, quantum, any-server.

One study = (1) a screening run over the CHSH-facet grid of classical tables (p_CE ≥ p_EC,
since a table and its transpose give the same system) to pick, per discipline, the table
with the latest mean knee; (2) an independent main run (other seeds, so the pick's
winner's-curse bias does not enter) of random routing, the picked tables, the paper's
quantum strategy on the given link, and the any-server classical table; (3) the exact
stability boundary of each from the one-server chain.

Why the facet suffices: every table T of the CHSH local polytope has p_CC ≤ p_CE + p_EC +
p_EE, so scaling its collision entries down to sum to p_CC (:func:`facet_projection`)
gives a facet table with the same p_CC and no more collisions. If fewer collisions of
non-(C, C) pairs never lengthen the queues (an assumption, checked by simulation for
interior tables in both disciplines; note the knee is *not* monotone in p_CC itself under
E-first), the latest knee is on the facet. The knee is not linear in the table, so the
facet's 4 vertices do not suffice; the facet is searched on a grid.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from qnet.games.chsh.game import fidelity_to_visibility
from qnet.games.chsh.load_balancing import (
    LoadBalancingConfig,
    LoadBalancingResult,
    knee_loads,
    mean_ci95,
    simulate,
)
from qnet.games.chsh.stability import stability_boundary
from qnet.games.chsh.tables import (
    Strategy,
    any_server_best,
    chsh_facet_grid,
    quantum_strategy,
    random_strategy,
)

__all__ = ["ChshStudy", "knees_against_random", "link_sweep", "run_study", "screening_config"]

#: JSON key of each strategy of the main run.
KEYS = ("classical_random", "best_classical", "quantum", "any_server_classical")
#: Levels L* reported beside the requested one (issue 14: default 5, also 2).
EXTRA_LEVELS = (2.0, 5.0)


def screening_config(config: LoadBalancingConfig) -> LoadBalancingConfig:
    """The cheaper screening run: ≤ 4 replications, ≤ 2000 steps, its own seed stream."""
    steps = min(config.steps, 2000)
    return replace(
        config,
        steps=steps,
        warmup=min(config.warmup, steps // 4),
        replications=min(config.replications, 4),
        seed=config.seed + 1_000_003,
    )


@dataclass(frozen=True)
class ChshStudy:
    """Everything ``qnet game chsh-load-balancing`` reports.

    Attributes:
        level: the backlog level L* defining the knee.
        fidelity, visibility, availability: the link the quantum pairs come from.
        config: the main run's size and seed.
        result: the main run (strategies in the order of KEYS, per discipline picks).
        strategies: the main run's strategies, in the result's order.
        best_tables: discipline -> the picked CHSH-facet table.
    """

    level: float
    fidelity: float
    visibility: float
    availability: float
    config: LoadBalancingConfig
    result: LoadBalancingResult
    strategies: tuple[Strategy, ...]
    best_tables: dict[str, np.ndarray]

    def _index(self, key: str, discipline: str) -> int:
        if key == "best_classical":
            return self.result.strategies.index(f"best classical ({discipline})")
        return self.result.strategies.index(_LABELS[key])

    def knee(self, key: str, discipline: str, level: float | None = None) -> dict[str, float]:
        """{mean, ci95} of the knee N/M (per-replication log-linear interpolation)."""
        d = self.result.disciplines.index(discipline)
        back = self.result.backlog[:, self._index(key, discipline), d]
        mean, half = mean_ci95(knee_loads(self.result.loads, back, level or self.level))
        return {"mean": float(mean), "ci95": float(half)}

    def boundary(self, key: str, discipline: str) -> float:
        """Exact stability boundary N/M of the strategy (one-server chain)."""
        s = self.strategies[self._index(key, discipline)]
        return stability_boundary(self.config.balancers, s, discipline).load

    def curve(self, key: str, discipline: str) -> dict[str, list[float]]:
        """Mean backlog and its 95 % half-width per swept N/M."""
        d = self.result.disciplines.index(discipline)
        mean, half = mean_ci95(self.result.backlog[:, self._index(key, discipline), d])
        return {"loads": self.result.loads.tolist(), "mean": mean.tolist(), "ci95": half.tolist()}

    def summary(self, discipline: str) -> dict[str, Any]:
        """The knee table and boundaries of one discipline (JSON-ready)."""
        out: dict[str, Any] = {f"knee_{k}": self.knee(k, discipline) for k in KEYS}
        out["stability_boundary"] = {k: self.boundary(k, discipline) for k in KEYS}
        out["best_classical_table"] = self.best_tables[discipline].tolist()
        levels = sorted({self.level, *EXTRA_LEVELS})
        out["knees_by_level"] = {
            f"{lv:g}": {k: self.knee(k, discipline, lv) for k in KEYS} for lv in levels
        }
        return out


_LABELS = {
    "classical_random": "random",
    "quantum": "quantum",
    "any_server_classical": "classical any-server",
}


def run_study(
    config: LoadBalancingConfig,
    level: float = 5.0,
    fidelity: float = 1.0,
    availability: float = 1.0,
    grid: int = 4,
    quantum: Strategy | None = None,
) -> ChshStudy:
    """Screen the CHSH facet for the best classical table, then run the main comparison.

    ``quantum``: the quantum strategy as a real link plays it (its per-step decisions,
    :mod:`qnet.runs.chsh_links`; ``fidelity`` and ``availability`` then only label it);
    default: the paper's angles on a Werner pair of ``fidelity`` present with probability
    ``availability``.
    """
    if not (math.isfinite(level) and level > 0):
        raise ValueError(f"level = {level!r} is out of range: allowed > 0")
    if quantum is not None and quantum.name != "quantum":
        raise ValueError(f"quantum strategy is named {quantum.name!r}: expected 'quantum'")
    visibility = fidelity_to_visibility(fidelity) if math.isfinite(fidelity) else math.nan
    candidates = [s for s in chsh_facet_grid(grid) if s.table[1, 0] >= s.table[0, 1]]
    screen = simulate(screening_config(config), candidates)
    best: dict[str, np.ndarray] = {}
    for d, disc in enumerate(screen.disciplines):
        knees = knee_loads(screen.loads, screen.backlog[:, :, d], level)
        score = np.where(np.isnan(knees), -np.inf, knees).mean(axis=0)
        best[disc] = np.asarray(candidates[int(np.argmax(score))].table)
    strategies = [random_strategy()]
    strategies += [Strategy(f"best classical ({d})", best[d]) for d in config.disciplines]
    strategies += [quantum or quantum_strategy(visibility, availability), any_server_best()]
    result = simulate(config, strategies)
    return ChshStudy(
        level, fidelity, visibility, availability, config, result, tuple(strategies), best
    )


def link_sweep(
    config: LoadBalancingConfig,
    fidelities: tuple[float, ...],
    availabilities: tuple[float, ...],
    level: float = 5.0,
) -> dict[str, Any]:
    """Knee of the quantum strategy on every (F, a) and of random routing, one CRN run.

    Returns per discipline ``random`` {mean, ci95} and ``grid`` rows
    {fidelity, availability, mean, ci95, diff_random, diff_random_ci95}; the difference to
    random is taken per replication (common random numbers) before the t-interval.
    """
    if not fidelities or not availabilities:
        raise ValueError("fidelities and availabilities must each hold at least one value")
    points = [(f, a) for f in fidelities for a in availabilities]
    strategies = [random_strategy()] + [
        quantum_strategy(fidelity_to_visibility(f), a, name=f"quantum F={f:g} a={a:g}")
        for f, a in points
    ]
    res = simulate(config, strategies)
    labels = [{"fidelity": f, "availability": a} for f, a in points]
    return knees_against_random(res, level, labels)


def knees_against_random(
    res: LoadBalancingResult, level: float, labels: Sequence[dict[str, Any]]
) -> dict[str, Any]:
    """Per discipline, the knee of random routing (strategy 0) and of every other strategy
    with its paired difference to random (mean ± 95 % CI over replications); strategy
    ``i + 1`` is reported with the keys of ``labels[i]``."""
    out: dict[str, Any] = {}
    for d, disc in enumerate(res.disciplines):
        knees = knee_loads(res.loads, res.backlog[:, :, d], level)  # [R, S]
        mean, half = mean_ci95(knees)
        dmean, dhalf = mean_ci95(knees[:, 1:] - knees[:, :1])
        out[disc] = {
            "random": {"mean": float(mean[0]), "ci95": float(half[0])},
            "grid": [
                {
                    **label,
                    "mean": float(mean[i + 1]),
                    "ci95": float(half[i + 1]),
                    "diff_random": float(dmean[i]),
                    "diff_random_ci95": float(dhalf[i]),
                }
                for i, label in enumerate(labels)
            ],
        }
    return out
