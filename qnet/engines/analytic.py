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

One pair at most per decision. Cost: one Python step per decision over the K slots (fine
for K up to tens); everything else is vectorized.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from qnet.decisions.step import MeasurementSettings
from qnet.engines.base import PairUse
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


GENERATION_DRAWS = 1 << 16
"""Generation times drawn per refill of :class:`_GenerationTimes` (memory, not numbers)."""


def clone_stream(rng: np.random.Generator) -> np.random.Generator:
    """An independent generator at the same point of the same stream."""
    out = np.random.Generator(type(rng.bit_generator)())
    out.bit_generator.state = rng.bit_generator.state
    return out


class _GenerationTimes:
    """Draws of the time from a slot pair's restart to its pair becoming usable.

    The stream is consumed in segments of ``size`` draws: ``size`` geometric failure
    counts, then ``size`` binomial splits of them into full and short attempts. A segment
    is drawn lazily, :data:`GENERATION_DRAWS` at a time, from two positions of the stream
    (a clone reads the geometrics while the stream itself, advanced past them, reads the
    binomials), so memory stays bounded while the values are those of drawing each whole
    segment at once.
    """

    def __init__(self, model: LinkModel, rng: np.random.Generator, size: int) -> None:
        self._m, self._rng, self._size = model, rng, max(size, 64)
        self._left = 0
        self._geo = rng
        self.next: Callable[[], float] = self._times().__next__
        """The next generation time [s] (a bound generator step: cheap per call)."""

    def _times(self) -> Iterator[float]:
        while True:
            yield from self._refill()

    def _refill(self) -> list[float]:
        m, rng = self._m, self._rng
        p, r1 = m.success_probability, m.round_one_pass_probability
        if self._left == 0:  # a new segment: geometrics read by a clone, rng skips them
            self._geo = clone_stream(rng)
            for start in range(0, self._size, GENERATION_DRAWS):
                rng.geometric(p, min(GENERATION_DRAWS, self._size - start))
            self._left = self._size
        k = min(self._left, GENERATION_DRAWS)
        self._left -= k
        failures = self._geo.geometric(p, k) - 1
        full_share = (r1 - p) / (1 - p) if p < 1 else 0.0
        full = rng.binomial(failures, full_share)
        dur = (failures - full) * m.attempt_fail_s + (full + 1) * m.attempt_full_s
        return dur.tolist()

    def __call__(self) -> float:
        return self.next()


class PairStore:
    """The K slot pairs and the agreement rule, fed decision times chunk by chunk.

    The slots' herald times and the counters carry over between chunks, so feeding the
    decisions in chunks gives what one call on all of them gives.

    Args:
        model: the link.
        rng: the generation stream.
        decisions: how many decisions will be fed in total (sets the draw segments).
    """

    def __init__(self, model: LinkModel, rng: np.random.Generator, decisions: int) -> None:
        self._m = model
        self._gen = _GenerationTimes(model, rng, decisions + model.slots)
        # herald[k]: station herald time of slot k's current (stored or in-progress) pair;
        # a slot freed at time f heralds its next pair at f + gen() - delay.
        self._herald = [self._gen() - model.usable_delay_s for _ in range(model.slots)]
        self._scheduled = model.slots
        self.discarded = 0
        self._end = 0.0

    @property
    def heralded(self) -> int:
        """Pairs heralded up to the last decision fed (not those still in progress)."""
        return self._scheduled - sum(1 for h in self._herald if h > self._end)

    def supply(
        self, t_s: np.ndarray, wants_pair: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(used, available, herald time of the used pair) for the next decision times."""
        t_list = np.asarray(t_s, dtype=float).tolist()
        wants = [True] * len(t_list) if wants_pair is None else np.asarray(wants_pair).tolist()
        n = len(t_list)
        gen, herald, model = self._gen.next, self._herald, self._m
        delay = model.usable_delay_s
        discard = model.discard_age_s
        oldest = model.selection == "oldest"
        scheduled = self._scheduled
        discarded = self.discarded
        used = np.zeros(n, dtype=bool)
        available = np.zeros(n, dtype=bool)
        herald_used = np.full(n, np.nan)
        for i, t in enumerate(t_list):
            best = -1
            best_h = 0.0
            for k in range(model.slots):
                h = herald[k]
                if discard is not None and h + discard <= t:
                    while h + discard <= t:
                        h += discard + gen() - delay
                        scheduled += 1
                        discarded += 1
                    herald[k] = h
                if h + delay <= t and (best < 0 or (h < best_h if oldest else h > best_h)):
                    best, best_h = k, h
            if best >= 0:
                available[i] = True
                if not wants[i]:
                    continue
                used[i] = True
                herald_used[i] = best_h
                herald[best] = t + gen() - delay
                scheduled += 1
        self._scheduled, self.discarded = scheduled, discarded
        if n:
            self._end = t_list[-1]
        return used, available, herald_used


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
    ``decisions`` is the total number of decisions that will be fed.
    """

    def __init__(
        self,
        scenario: Scenario,
        rngs: dict[str, np.random.Generator],
        decisions: int,
        model: LinkModel | None = None,
    ) -> None:
        self._m = model if model is not None else link_model(scenario)
        self._outcomes = rngs["outcomes"]
        self._store = PairStore(self._m, rngs["link"], decisions)
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
