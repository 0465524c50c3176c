"""The fast engine: the physical layer's pair supply and the routing decisions, sampled in numpy.

Same physics as the SeQUeNCe engine (``protocols/``), drawn directly from its predicted
parameters (:mod:`qnet.physics.link`) and decoherence model (:mod:`qnet.physics.noise`) instead of
simulated photon by photon:

* **Generation.** K slot pairs, each running Barrett-Kok attempts back to back from the
  moment it is free: an attempt succeeds with probability p; a failed one lasts
  ``attempt_full_s`` when its first round passed (probability ``(r_1 - p)/(1 - p)``
  given failure) and ``attempt_fail_s`` otherwise; the successful one lasts
  ``attempt_full_s`` and its herald leaves the station ``usable_delay_s`` before its end
  (:mod:`qnet.physics.link` derives all four from SeQUeNCe's timing). So the mean time per
  attempt is the predicted period ``(1 - r_1) D_fail + r_1 D_full``. A slot stays
  occupied until its pair is used or discarded, then restarts.
* **Agreement rule.** A pair is usable from ``herald + max(herald_delay_a, herald_delay_b)``
  (both routers have heard the herald) and discarded at the deterministic age
  ``discard_age_s`` (the scenario's ``cutoff_s``, or the memory expiry
  ``coherence_time_s``, whichever is shorter; SeQUeNCe starts a memory's expiry clock at
  its last state update inside the attempt, up to one attempt plus the photon flight
  before the herald, which this engine neglects). Both routers hold the same herald ids
  and times, so both pick the same pair: the ``oldest`` or ``newest`` usable one.
* **State at use.** A Werner pair of the raw visibility at herald, each half stored since
  its emission (photon flight time to the station plus the pair's age, the use time minus
  the herald time) in a memory with (T1, T2), as :mod:`qnet.physics.link` specifies:
  :func:`qnet.physics.noise.stored_pair` gives its X-Z correlation tensor T and fidelity.
* **Outcomes.** Where a decision's settings want a pair and one is usable, it is
  measured: uniform marginals, E[o_A o_B] = (1-2e_A)(1-2e_B) n(θ_A)ᵀ T n(θ_B)
  (amplitude-damping bias is removed by the players' shared flip, see :mod:`qnet.physics.noise`).
  What the players route is decided by :mod:`qnet.decisions.step`, not here.

One pair at most per decision. The pair store (:mod:`qnet.engines.pair_store`) computes
blocks of decisions in closed form where the slots serve in FIFO order and steps through
the rest one decision at a time; everything else is vectorized.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from qnet.decisions.step import MeasurementSettings
from qnet.engines.base import PairUse
from qnet.engines.pair_store import PairStore, clone_stream
from qnet.physics.noise import readout_factor

if TYPE_CHECKING:
    from qnet.config import Scenario

__all__ = [
    "AnalyticEngine",
    "clone_stream",
    "LinkModel",
    "PairStore",
    "PairSupply",
    "link_model",
    "measure_pairs",
    "run_analytic",
    "sample_pair_supply",
    "stored_pair_tensors",
]


@dataclass(frozen=True)
class LinkModel:
    """Parameters of the pair supply and of the stored pairs, in SI units.

    Attributes:
        success_probability: heralding probability p of one attempt of one slot pair.
        round_one_pass_probability: r_1, chance an attempt runs its second round.
        attempt_fail_s: duration of an attempt that stops after round 1 [s].
        attempt_full_s: duration of a two-round attempt [s].
        herald_delay_a_s: station -> router A herald delay [s]; ``herald_delay_b_s`` to B.
        photon_delay_a_s: emission -> station flight time from A [s] (already stored that
            long at the herald); ``photon_delay_b_s`` from B.
        slots: memory slots K per router (slot pairs generating in parallel).
        discard_age_s: deterministic discard age of a stored pair [s] (None: never).
        selection: "oldest" or "newest" usable pair.
        visibility: Werner visibility of a pair at herald (F = (3v+1)/4).
        t1_a_s, t2_a_s, t1_b_s, t2_b_s: memory T1/T2 at each router [s] (None: none).
        readout_error_a, readout_error_b: outcome flip probabilities.
    """

    success_probability: float
    round_one_pass_probability: float
    attempt_fail_s: float
    attempt_full_s: float
    herald_delay_a_s: float
    herald_delay_b_s: float
    photon_delay_a_s: float
    photon_delay_b_s: float
    slots: int
    discard_age_s: float | None
    selection: str
    visibility: float
    t1_a_s: float | None = None
    t2_a_s: float | None = None
    t1_b_s: float | None = None
    t2_b_s: float | None = None
    readout_error_a: float = 0.0
    readout_error_b: float = 0.0

    def __post_init__(self) -> None:
        if not 0 < self.success_probability <= 1:
            raise ValueError(
                f"success_probability = {self.success_probability!r}: allowed range is (0, 1]"
            )
        if not self.success_probability <= self.round_one_pass_probability <= 1:
            raise ValueError(
                f"round_one_pass_probability = {self.round_one_pass_probability!r}: allowed "
                f"range is [success_probability, 1] = [{self.success_probability}, 1]"
            )
        if not 0 < self.attempt_fail_s <= self.attempt_full_s:
            raise ValueError(
                f"attempt_fail_s = {self.attempt_fail_s!r}, attempt_full_s = "
                f"{self.attempt_full_s!r}: need 0 < attempt_fail_s <= attempt_full_s"
            )
        if self.slots < 1:
            raise ValueError(f"slots = {self.slots!r}: must be >= 1")
        if self.selection not in ("oldest", "newest"):
            raise ValueError(f"selection = {self.selection!r}: allowed 'oldest' or 'newest'")

    @property
    def usable_delay_s(self) -> float:
        """Herald-to-usable delay: the later of the two routers hears the herald [s]."""
        return max(self.herald_delay_a_s, self.herald_delay_b_s)

    @property
    def attempt_period_s(self) -> float:
        """Mean attempt duration (1 - r_1) D_fail + r_1 D_full [s]."""
        r1 = self.round_one_pass_probability
        return (1 - r1) * self.attempt_fail_s + r1 * self.attempt_full_s

    @property
    def mean_generation_time_s(self) -> float:
        """Mean time from a slot pair's restart to its next pair being usable [s].

        (1/p - 1) failed attempts of mean length q D_full + (1 - q) D_fail with
        q = (r_1 - p)/(1 - p), then one successful two-round attempt D_full.
        """
        p, r1 = self.success_probability, self.round_one_pass_probability
        q = (r1 - p) / (1 - p) if p < 1 else 0.0
        failed = q * self.attempt_full_s + (1 - q) * self.attempt_fail_s
        return (1 / p - 1) * failed + self.attempt_full_s

    def predicted_availability(self, decision_rate_hz: float) -> float:
        """Share of Poisson(lambda) decisions that find a usable pair (no discards).

        K = 1 is exact: after each use the slot needs the generation time G, then the
        next decision comes after an Exp(lambda) wait (memoryless), so a = 1/(1 + lambda
        E[G]). For K > 1 the slots are treated as exponential generators of rate
        1/E[G] and the number of ready pairs as a birth-death chain (births (K - n)/E[G],
        deaths lambda); a = 1 - pi_0 (PASTA). Discards (cutoff, expiry) are not included.
        """
        if not decision_rate_hz > 0:
            raise ValueError(f"decision_rate_hz = {decision_rate_hz!r}: must be > 0")
        rate = 1.0 / self.mean_generation_time_s
        if self.slots == 1:
            return 1.0 / (1.0 + decision_rate_hz / rate)
        weights = [1.0]
        for n in range(self.slots):
            weights.append(weights[-1] * (self.slots - n) * rate / decision_rate_hz)
        return 1.0 - 1.0 / sum(weights)

    @property
    def pair_rate_hz(self) -> float:
        """Heralded pairs per second while all K slots generate: K p / period."""
        return self.slots * self.success_probability / self.attempt_period_s


def link_model(scenario: Scenario) -> LinkModel:
    """The analytic engine's parameters from a scenario (:mod:`qnet.physics.link`)."""
    from qnet.physics import link

    lk = scenario.link
    pred = link.predict(scenario)
    ages = [a for a in (lk.cutoff_s, lk.coherence_time_s) if a is not None]
    return LinkModel(
        success_probability=float(pred.success_probability),
        round_one_pass_probability=float(pred.round_one_pass_probability),
        attempt_fail_s=float(pred.attempt_fail_s),
        attempt_full_s=float(pred.attempt_full_s),
        herald_delay_a_s=float(pred.herald_delay_a_s),
        herald_delay_b_s=float(pred.herald_delay_b_s),
        photon_delay_a_s=float(pred.photon_delay_a_s),
        photon_delay_b_s=float(pred.photon_delay_b_s),
        slots=lk.memory_slots,
        discard_age_s=min(ages) if ages else None,
        selection=lk.selection,
        visibility=float(pred.visibility),
        t1_a_s=scenario.router_a.t1_s,
        t2_a_s=scenario.router_a.t2_s,
        t1_b_s=scenario.router_b.t1_s,
        t2_b_s=scenario.router_b.t2_s,
        readout_error_a=scenario.router_a.readout_error,
        readout_error_b=scenario.router_b.readout_error,
    )


@dataclass(frozen=True)
class PairSupply:
    """Which decisions found a usable pair, and that pair's herald time.

    Attributes:
        used_pair: True where the decision consumed a pair.
        available: True where a usable pair existed (consumed or not).
        herald_s: station herald time of the consumed pair [s] (NaN when none).
        heralded: pairs heralded up to the last decision (used, discarded or stored).
        discarded: pairs discarded at the cutoff age.
    """

    used_pair: np.ndarray
    available: np.ndarray
    herald_s: np.ndarray
    heralded: int
    discarded: int


def sample_pair_supply(
    t_s: np.ndarray,
    model: LinkModel,
    rng: np.random.Generator,
    wants_pair: np.ndarray | None = None,
) -> PairSupply:
    """Simulate the K slot pairs and the agreement rule at the decision times ``t_s``.

    ``wants_pair[i]`` False: decision i leaves an available pair in store (default: every
    decision consumes one when it can).
    """
    store = PairStore(model, rng, len(t_s))
    used, available, herald_used = store.supply(t_s, wants_pair)
    # Pairs scheduled but not yet heralded by the last decision do not count.
    return PairSupply(used, available, herald_used, store.heralded, store.discarded)


def stored_pair_tensors(age_s: np.ndarray, model: LinkModel) -> tuple[np.ndarray, np.ndarray]:
    """X-Z correlation tensors (n, 2, 2) and fidelities (n,) of pairs stored for ``age_s``."""
    from qnet.physics.noise import stored_pair

    age = np.asarray(age_s, dtype=float)
    tensors = np.empty((len(age), 2, 2))
    fid = np.empty(len(age))
    no_memory_noise = all(
        x is None for x in (model.t1_a_s, model.t2_a_s, model.t1_b_s, model.t2_b_s)
    )
    if no_memory_noise:
        fresh = stored_pair(model.visibility, 0.0, 0.0)  # no memory noise: age is irrelevant
        tensors[:] = fresh.tensor
        fid[:] = fresh.fidelity
        return tensors, fid
    for i, a in enumerate(age.tolist()):
        sp = stored_pair(
            model.visibility,
            model.photon_delay_a_s + a,
            model.photon_delay_b_s + a,
            t1_a_s=model.t1_a_s,
            t2_a_s=model.t2_a_s,
            t1_b_s=model.t1_b_s,
            t2_b_s=model.t2_b_s,
        )
        tensors[i] = sp.tensor
        fid[i] = sp.fidelity
    return tensors, fid


def measure_pairs(
    settings: MeasurementSettings,
    used: np.ndarray,
    tensors: np.ndarray,
    flip: np.ndarray,
    *,
    readout_factor: float,
    outcome_uniforms: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Measurement outcomes (±1, 0 where unused) of the pairs with X-Z tensors ``tensors``.

    E[o_A o_B] = (1-2e_A)(1-2e_B) n(θ_A)ᵀ T n(θ_B) with uniform marginals: A's *routed*
    outcome (after the shared ``flip``) is the coin ``outcome_uniforms[:, 0] < 1/2`` and
    B's agrees with it with probability (1 + E)/2 (``outcome_uniforms[:, 1]``); the raw
    outcomes are those times the flip, equal in law to drawing them directly.
    """
    n = len(used)
    out_a = np.zeros(n, dtype=np.int8)
    out_b = np.zeros(n, dtype=np.int8)
    idx = np.flatnonzero(used)
    if len(idx):
        th_a, th_b = settings.theta_a[idx], settings.theta_b[idx]
        n_a = np.stack([np.cos(2 * th_a), np.sin(2 * th_a)], axis=1)
        n_b = np.stack([np.cos(2 * th_b), np.sin(2 * th_b)], axis=1)
        corr = readout_factor * np.einsum("ni,nij,nj->n", n_a, tensors, n_b)
        qa = np.where(outcome_uniforms[idx, 0] < 0.5, 1, -1)
        agree = outcome_uniforms[idx, 1] < 0.5 * (1.0 + corr)
        out_a[idx] = qa * flip[idx]
        out_b[idx] = np.where(agree, qa, -qa) * flip[idx]
    return out_a, out_b


class AnalyticEngine:
    """The analytic engine fed the decisions chunk by chunk (pair store and streams carry over).

    ``rngs`` holds the named streams ``"link"`` (generation) and ``"outcomes"``;
    ``decisions`` is the total number of decisions that will be fed; ``closed_form``
    False steps the pair store one decision at a time (benchmarks; same numbers).
    """

    def __init__(
        self,
        scenario: Scenario,
        rngs: dict[str, np.random.Generator],
        decisions: int,
        model: LinkModel | None = None,
        *,
        closed_form: bool = True,
    ) -> None:
        self._m = model if model is not None else link_model(scenario)
        self._outcomes = rngs["outcomes"]
        self._store = PairStore(self._m, rngs["link"], decisions, closed_form=closed_form)
        self._readout = readout_factor(self._m.readout_error_a, self._m.readout_error_b)

    def decide(self, t_s: np.ndarray, settings: MeasurementSettings, flip: np.ndarray) -> PairUse:
        """Pairs supplied and measured at the next decision times ``t_s``; the pair
        counters are the run's totals so far."""
        n = len(t_s)
        outcome_u = self._outcomes.random((n, 2))
        used, available, herald_used = self._store.supply(t_s, settings.wants_pair)
        age = np.full(n, np.nan)
        fid = np.full(n, np.nan)
        age[used] = t_s[used] - herald_used[used]
        tensors, fid_used = stored_pair_tensors(age[used], self._m)
        fid[used] = fid_used
        out_a, out_b = measure_pairs(
            settings, used, tensors, flip, readout_factor=self._readout, outcome_uniforms=outcome_u
        )
        return PairUse(
            available=available,
            used=used,
            outcome_a=out_a,
            outcome_b=out_b,
            pair_age_s=age,
            pair_fidelity=fid,
            pairs_heralded=self._store.heralded,
            pairs_discarded=self._store.discarded,
        )


def run_analytic(
    scenario: Scenario,
    t_s: np.ndarray,
    settings: MeasurementSettings,
    flip: np.ndarray,
    rngs: dict[str, np.random.Generator],
    *,
    model: LinkModel | None = None,
) -> PairUse:
    """Pairs supplied and measured by the analytic engine at the decision times ``t_s``
    (one chunk of :class:`AnalyticEngine`)."""
    return AnalyticEngine(scenario, rngs, len(t_s), model).decide(t_s, settings, flip)
