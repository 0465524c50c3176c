"""Run the physical layer alone and compare it with :mod:`qnet.physics.link` (``qnet link``).

:func:`run_link` builds the scenario's link (:func:`nodes.network.build_network`), frees
every pair as soon as both routers may use it (so all K slot pairs keep generating), runs a
simulated interval and reports attempts, success probability, attempt period, pair rate,
and fidelity at herald and after a storage time, each with its standard error:
binomial ``sqrt(p(1-p)/n)``; sample SD/√n (for ``ket`` fidelities at least
``sqrt(F̃(1-F̃)/n)``, F̃ = (ΣF + 1/2)/(n + 1)); pair rate ``Var N ≈ N·CV²`` for renewal
heralds. Reasons: docs/statistics.md.
"""

from __future__ import annotations

import math
import time
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from nodes.network import build_network
from qnet.physics.link import PS_PER_S, LinkPrediction

if TYPE_CHECKING:
    from qnet.config import Scenario

__all__ = ["Estimate", "LinkReport", "run_link"]

REPORT_KEYS = (
    "success_probability",
    "attempt_period_s",
    "pair_rate_hz",
    "fidelity_at_herald",
    "fidelity_after_storage",
)


@dataclass(frozen=True)
class Estimate:
    """A simulated estimate and its standard error."""

    value: float
    se: float

    def z_score(self, predicted: float) -> float:
        """(value − predicted) / SE (0 when both agree to 1e-9 relative, inf if SE = 0 and not).

        The tolerance is relative: quantities in seconds (attempt periods ~1e-6 s) must not
        be called equal because they differ by less than an absolute 1e-9.
        """
        diff = self.value - predicted
        if diff == 0 or abs(diff) <= 1e-9 * abs(predicted):
            return 0.0  # agree to rounding (e.g. fidelities read from identical states)
        return diff / self.se if self.se > 0 else math.inf


@dataclass(frozen=True)
class LinkReport:
    """Measured link figures (with SE) and the predictions for the same scenario.

    Attributes:
        duration_s: simulated interval [s].
        attempts: completed Barrett–Kok attempts (all slot pairs).
        heralded_pairs: successful attempts.
        success_probability, attempt_period_s, pair_rate_hz: estimates with SE.
        fidelity_at_herald: mean fidelity at the station herald time.
        fidelity_after_storage: mean fidelity ``storage_time_s`` after the herald.
        storage_time_s: the storage time used [s].
        formalism: SeQUeNCe quantum-manager formalism.
        wall_s: wall-clock time of the simulation [s].
        predicted: :class:`qnet.physics.link.LinkPrediction`.
        predicted_fidelity_after_storage: prediction at ``storage_time_s``.
    """

    duration_s: float
    attempts: int
    heralded_pairs: int
    success_probability: Estimate
    attempt_period_s: Estimate
    pair_rate_hz: Estimate
    fidelity_at_herald: Estimate
    fidelity_after_storage: Estimate
    storage_time_s: float
    formalism: str
    wall_s: float
    predicted: LinkPrediction
    predicted_fidelity_after_storage: float

    def predicted_value(self, key: str) -> float:
        """The prediction for one of :data:`REPORT_KEYS`."""
        if key == "fidelity_after_storage":
            return self.predicted_fidelity_after_storage
        return float(getattr(self.predicted, key))

    def to_dict(self) -> dict[str, Any]:
        """Flat JSON-able dict: each key, its ``_se``, and ``predicted`` with the same keys."""
        out: dict[str, Any] = {
            "duration_s": self.duration_s,
            "attempts": self.attempts,
            "heralded_pairs": self.heralded_pairs,
            "storage_time_s": self.storage_time_s,
            "formalism": self.formalism,
            "wall_s": self.wall_s,
        }
        for key in REPORT_KEYS:
            est: Estimate = getattr(self, key)
            out[key] = est.value
            out[f"{key}_se"] = est.se
        out["predicted"] = {key: self.predicted_value(key) for key in REPORT_KEYS}
        out["predicted"]["textbook_success_probability"] = (
            self.predicted.textbook_success_probability
        )
        out["predicted_detail"] = asdict(self.predicted)
        return out


def _mean_se(values: list[float]) -> Estimate:
    arr = np.asarray(values, dtype=float)
    if arr.size == 0:
        return Estimate(math.nan, math.nan)
    se = float(arr.std(ddof=1) / math.sqrt(arr.size)) if arr.size > 1 else math.nan
    return Estimate(float(arr.mean()), se)


def _fidelity_estimate(values: list[float], sampled: bool) -> Estimate:
    """Mean fidelity and SE; ``sampled`` (ket): SE floored at the [0, 1] bound (docstring)."""
    est = _mean_se(values)
    if not sampled or not values:
        return est
    n = len(values)
    f = (float(np.sum(values)) + 0.5) / (n + 1)
    floor = math.sqrt(f * (1.0 - f) / n)
    return Estimate(est.value, floor if math.isnan(est.se) else max(est.se, floor))


def run_link(
    scenario: Scenario,
    duration_s: float | None = None,
    attempts: int = 2000,
    storage_time_s: float = 1e-3,
    seed: int | None = None,
) -> LinkReport:
    """Simulate the link for ``duration_s`` (default: ``attempts`` attempts' worth) and report.

    Args:
        scenario: validated scenario.
        duration_s: simulated interval [s]; default ``attempts`` × predicted period / K.
        attempts: target number of attempts when ``duration_s`` is not given (>= 10).
        storage_time_s: storage time after the herald for the stored-fidelity figure [s].
        seed: root seed (default ``scenario.seed``).
    """
    if duration_s is not None and not duration_s > 0:
        raise ValueError(f"duration_s must be > 0 [s], got {duration_s!r}")
    if attempts < 10:
        raise ValueError(f"attempts must be >= 10, got {attempts!r}")
    if not storage_time_s >= 0:
        raise ValueError(f"storage_time_s must be >= 0 [s], got {storage_time_s!r}")
    fid_herald: list[float] = []
    fid_stored: list[float] = []
    storage_ps = round(storage_time_s * PS_PER_S)
    holder: dict[str, Any] = {}

    def on_pair(slot: int, herald_ps: int) -> None:
        net = holder["net"]
        fid_herald.append(net.pair_fidelity(slot, at_ps=herald_ps))
        fid_stored.append(net.pair_fidelity(slot, at_ps=herald_ps + storage_ps))

    net = build_network(scenario, seed=seed, release_on_usable=True, on_pair=on_pair)
    holder["net"] = net
    try:
        pred = net.prediction
        if duration_s is None:
            duration_s = attempts * pred.attempt_period_s / scenario.link.memory_slots
        tick = time.perf_counter()
        net.run_for(duration_s)
        wall = time.perf_counter() - tick
        c = net.supply.counters
        n = len(c.durations_ps)
        k = c.successes
        p_hat = k / n if n else math.nan
        p_se = math.sqrt(p_hat * (1 - p_hat) / n) if n else math.nan
        period = _mean_se([d / PS_PER_S for d in c.durations_ps])
        intervals = np.asarray(c.herald_intervals_ps, dtype=float)
        cv = float(intervals.std(ddof=1) / intervals.mean()) if intervals.size > 1 else 1.0
        rate = Estimate(k / duration_s, math.sqrt(max(k, 1)) * cv / duration_s)
        sampled = scenario.engine.formalism == "ket"
        return LinkReport(
            duration_s=duration_s,
            attempts=n,
            heralded_pairs=k,
            success_probability=Estimate(p_hat, p_se),
            attempt_period_s=period,
            pair_rate_hz=rate,
            fidelity_at_herald=_fidelity_estimate(fid_herald, sampled),
            fidelity_after_storage=_fidelity_estimate(fid_stored, sampled),
            storage_time_s=storage_time_s,
            formalism=scenario.engine.formalism,
            wall_s=wall,
            predicted=pred,
            predicted_fidelity_after_storage=pred.fidelity_after(storage_time_s),
        )
    finally:
        net.close()
