"""Predicted retained share of the ideal routing advantage on a scenario's own hardware.

Two steps, both reusing the run's physics and games (nothing re-derived here):

* **Link outlook.** The analytic link (:func:`qnet.engines.analytic.sample_pair_supply`)
  serves Poisson decisions at the scenario's decision rate from a fixed seed; the share
  of decisions that find a usable pair is the availability a, and the mean X-Z tensor of
  the pairs used (:func:`qnet.engines.analytic.stored_pair_tensors` at the quantiles of
  their storage ages, times the readout factor) is T. Payoffs are linear in T (D30), so
  the mean tensor gives the exact expected payoff.
* **Share.** With (a, T) two strategies are valued, and the better one is reported:
  the scenario's own angles (ideal kind: their with-pair value on T mixed with the
  classical fallback, eq. N2, judged at the splitting probability they achieve) and the
  noise-aware mix (eq. N3) of the angles best on T and the classical
  threshold strategies, which hits p exactly. Both use the scenario's angle family
  (``strategy.angles``), as ``qnet run`` does. Retained share
  = (A − G(p)) / (V(p; 1, 1) − G(p)), with G the classical shared-randomness hull (the
  run's classical baseline, Thm 9) and V(p; 1, 1) the ideal quantum value (as
  :func:`qnet.games.routing.noise_aware.retained_advantage`, but against the achievable
  classical baseline the run replays); gap reduction = (A − G(p))/2 in units of 1/mu
  (Lemma 1). For anisotropic T (memory dephasing) the angles are re-optimized on T
  (:func:`qnet.games.routing.noise_aware.quantum_curve`, as the run's noise-aware profile):
  exactly at the scenario's own T; elsewhere (requirements, maps) on the nearest cached
  tensor shape, the candidates valued on the exact T (line family), a lower bound within
  the re-optimization's own tolerance.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

import numpy as np

from qnet.engines.analytic import LinkModel, link_model, sample_pair_supply, stored_pair_tensors
from qnet.games.routing.noise_aware import (
    NoiseReference,
    QuantumCurve,
    critical_visibility,
    noise_aware_strategy,
    noise_reference,
    quantum_curve,
)
from qnet.games.routing.optimal import LineStrategy
from qnet.games.routing.optimal.line import LineGame
from qnet.games.routing.profile import RoutingProfile, build_profile, system_params
from qnet.games.routing.quantum import QuantumGame, canonical_gauge
from qnet.physics.noise import availability_mix, readout_factor

if TYPE_CHECKING:
    from qnet.config import Scenario

__all__ = [
    "BEST_P_GRID",
    "MEMORY_LIFETIME_KEYS",
    "derived_link",
    "OUTLOOK_DECISIONS",
    "LinkOutlook",
    "Planner",
    "SharePrediction",
    "link_outlook",
    "planning_scenario",
    "supply_ages",
]

OUTLOOK_DECISIONS = 4000
"""Poisson decisions the link outlook samples (the first tenth is warm-up)."""

OUTLOOK_SEED = 15
"""Fixed seed of the outlook: every planning point sees the same random numbers."""

AGE_QUANTILES = 64
"""Storage-age quantiles at which the stored-pair tensor is averaged."""

BEST_P_GRID = (0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.35, 0.4, 0.45)
"""Splitting probabilities scanned for the best operating point."""

SHAPE_STEP = 0.1
"""Rounding of a tensor's shape T/σ_max whose re-optimized angles are cached (maps, bisections)."""

MIN_IDEAL_ADVANTAGE = 2e-3
"""Ideal payoff advantage V − G at or below which the retained share is undefined."""


def planning_scenario(scenario: Scenario, **changes: Any) -> Scenario:
    """The scenario on the analytic engine with dotted-key ``changes`` (``link__arm_a_km``)."""
    from qnet.config import scenario_from_dict

    data = scenario.to_dict()
    data["engine"]["name"] = "analytic"
    for key, value in changes.items():
        table, _, field = key.partition("__")
        data[table][field] = value
    return scenario_from_dict(data)


@dataclass(frozen=True)
class LinkOutlook:
    """What the link delivers to the decisions (analytic link, fixed seed).

    Attributes:
        availability: share of decisions that find a usable pair.
        tensor: mean X-Z correlation tensor of the pairs used, readout factor included.
        fidelity_at_use: mean fidelity of the pairs used, when measured (readout excluded).
        mean_age_s: mean time from herald to use [s].
        herald_delay_s: herald to usable (the later router hears the herald) [s].
        pair_rate_hz: heralded pairs per second with all slots generating.
        fidelity_at_herald: fidelity of a pair at its herald.
    """

    availability: float
    tensor: np.ndarray
    fidelity_at_use: float
    mean_age_s: float
    herald_delay_s: float
    pair_rate_hz: float
    fidelity_at_herald: float

    def to_dict(self) -> dict[str, Any]:
        """Plain-JSON form."""
        return {
            "availability": self.availability,
            "tensor_zz": float(self.tensor[0, 0]),
            "tensor_xx": float(self.tensor[1, 1]),
            "fidelity_at_use": self.fidelity_at_use,
            "mean_age_s": self.mean_age_s,
            "herald_delay_s": self.herald_delay_s,
            "pair_rate_hz": self.pair_rate_hz,
            "fidelity_at_herald": self.fidelity_at_herald,
        }


def supply_ages(
    decision_rate_hz: float,
    model: LinkModel,
    *,
    decisions: int = OUTLOOK_DECISIONS,
    seed: int = OUTLOOK_SEED,
) -> tuple[float, np.ndarray]:
    """Availability and storage ages (herald to use) of the pairs Poisson decisions use."""
    rng = np.random.default_rng(seed)
    t = np.cumsum(rng.exponential(1.0 / decision_rate_hz, decisions))
    supply = sample_pair_supply(t, model, rng)
    keep = slice(decisions // 10, None)
    used = supply.used_pair[keep]
    ages = (t[keep] - supply.herald_s[keep])[used]
    return float(supply.available[keep].mean()), ages


def link_outlook(
    scenario: Scenario,
    model: LinkModel | None = None,
    *,
    supply: tuple[float, np.ndarray] | None = None,
) -> LinkOutlook:
    """Availability and mean pair tensor at the scenario's decision rate (analytic link);
    ``supply`` reuses :func:`supply_ages` of a link that differs only in its pair quality."""
    model = link_model(scenario) if model is None else model
    availability, ages = supply_ages(scenario.traffic.lam_hz, model) if supply is None else supply
    _, fid_herald = stored_pair_tensors(np.zeros(1), model)
    if ages.size == 0:
        return LinkOutlook(
            availability,
            np.zeros((2, 2)),
            math.nan,
            math.nan,
            model.usable_delay_s,
            model.pair_rate_hz,
            float(fid_herald[0]),
        )
    k = min(AGE_QUANTILES, ages.size)
    q_ages = np.quantile(ages, (np.arange(k) + 0.5) / k)
    tensors, fids = stored_pair_tensors(q_ages, model)
    factor = readout_factor(model.readout_error_a, model.readout_error_b)
    return LinkOutlook(
        availability=availability,
        tensor=factor * tensors.mean(axis=0),
        fidelity_at_use=float(fids.mean()),
        mean_age_s=float(ages.mean()),
        herald_delay_s=model.usable_delay_s,
        pair_rate_hz=model.pair_rate_hz,
        fidelity_at_herald=float(fid_herald[0]),
    )


@dataclass(frozen=True)
class SharePrediction:
    """Predicted share of the ideal advantage kept at one operating point.

    Attributes:
        p: splitting probability the share is judged at (the achieved one).
        retained_share: (A − G(p)) / (V(p; 1, 1) − G(p)); NaN without an ideal advantage.
        gap_reduction: (A − G(p))/2, the waiting-time gap reduction [1/mu] (Lemma 1).
        ideal_gap_reduction: (V(p; 1, 1) − G(p))/2 [1/mu].
        strategy: "noise_aware" or "ideal" (the scenario's angles), whichever keeps more.
        shares: retained share of each strategy valued.
    """

    p: float
    retained_share: float
    gap_reduction: float
    ideal_gap_reduction: float
    strategy: str
    shares: dict[str, float]

    def to_dict(self) -> dict[str, Any]:
        """Plain-JSON form."""
        return dict(self.__dict__)


class Planner:
    """Predicted retained shares for one scenario's system and strategy settings.

    Built once (the ideal frontier on a coarse p grid, the scenario's own profile), then
    evaluated cheaply for any (availability, tensor) the link may deliver.
    """

    def __init__(
        self, scenario: Scenario, *, p: float | None = None, quantum_step: float = 0.025
    ) -> None:
        st = scenario.strategy
        self.scenario = scenario
        self.p = float(st.target_splitting_probability if p is None else p)
        self.params = system_params(scenario)
        targets = sorted({*BEST_P_GRID, self.p})
        # the run's noise-aware reference (profile.build_profile): same family, step, restarts
        self.reference: NoiseReference = noise_reference(
            targets,
            self.params,
            degree=st.degree,
            quadrature_points=st.quadrature_points,
            restarts=max(4, st.restarts // 4),
            quantum_step=quantum_step,
            quantum=st.angles,
        )
        self._curve_restarts = max(2, st.restarts // 5)
        self.profile: RoutingProfile = build_profile(scenario, p=self.p, kind="ideal")
        plain = QuantumGame(self.params, st.degree, st.quadrature_points)
        self._gauged = tuple(
            s.canonical_gauge(self.params.mu)
            if isinstance(s, LineStrategy)
            else canonical_gauge(s, plain)
            for s in self.reference.quantum_strategies
        )
        self._ideal: dict[float, tuple[float, float]] = {}
        self._supply: dict[tuple[float, LinkModel], tuple[float, np.ndarray]] = {}
        self._exact: dict[bytes, QuantumCurve] = {}
        self._shapes: dict[tuple[float, ...], tuple[Any, ...]] = {}
        self._moments: dict[LineStrategy, tuple[np.ndarray, np.ndarray]] = {}
        self.exact_failure: str | None = None

    def ideal(self, p: float) -> tuple[float, float]:
        """(V(p; 1, 1), G(p)): ideal quantum value and classical hull at p (N3, Thm 9)."""
        key = round(float(p), 12)
        if key not in self._ideal:
            ref = self.reference
            self._ideal[key] = (
                noise_aware_strategy(ref, key).payoff,
                noise_aware_strategy(ref, key, availability=0.0).payoff,
            )
        return self._ideal[key]

    def exact_curve(self, tensor: np.ndarray) -> QuantumCurve:
        """The reference's family re-optimized on T, as the run's noise-aware profile (D32-D33)."""
        t = np.asarray(tensor, dtype=float)
        key = t.tobytes()
        if key not in self._exact:
            try:
                curve = quantum_curve(self.reference, t, restarts=self._curve_restarts)
            except ValueError as err:  # e.g. a rank-1 T the line family cannot validate on
                self.exact_failure = str(err)
                curve = self.curve(t)
            self._exact[key] = curve
        return self._exact[key]

    def curve(self, tensor: np.ndarray) -> QuantumCurve:
        """Angles for pairs with tensor T (D32-D33): the exact map of the frontier for T = ηI
        (N1); else the exact re-optimization if done, or the ideal angles and those
        re-optimized on T's nearest shape (T/σ_max, step :data:`SHAPE_STEP`) valued on T."""
        t = np.asarray(tensor, dtype=float)
        if np.allclose(t, t[0, 0] * np.eye(2), rtol=0.0, atol=1e-15) and 0.0 <= t[0, 0] <= 1:
            return quantum_curve(self.reference, t)  # exact map of the frontier (N1)
        if t.tobytes() in self._exact:
            return self._exact[t.tobytes()]
        sigma = float(np.linalg.norm(t, 2))
        strategies: tuple[Any, ...] = self._gauged
        if sigma > 1e-9:
            shape = np.round(t / sigma / SHAPE_STEP) * SHAPE_STEP
            key = tuple(float(v) for v in shape.ravel())
            if key not in self._shapes:
                norm = float(np.linalg.norm(shape, 2))
                try:
                    found = quantum_curve(
                        self.reference, shape / norm, restarts=self._curve_restarts
                    ).strategies
                except ValueError:  # no validated re-optimization: the ideal angles only
                    found = ()
                self._shapes[key] = found
            strategies = (*strategies, *self._shapes[key])
        pays, splits = self._evaluate(strategies, t)
        return QuantumCurve(
            tensor=t,
            p=splits,
            payoff=pays,
            strategies=strategies,
            ideal_p=None,
            error=self.reference.quantum_error,
        )

    def _evaluate(self, strategies: tuple[Any, ...], t: np.ndarray) -> tuple[np.ndarray, ...]:
        """Payoffs A and splitting probabilities p of angles on pairs with tensor T (D32-D33);
        line strategies through their cached moments (linear in T)."""
        if all(isinstance(s, LineStrategy) for s in strategies):
            game = LineGame(self.params)
            for s in strategies:
                if s not in self._moments:
                    z = s.to_vector()
                    self._moments[s] = (game.moments(z[0:2], z[2:4]), game.moments(z[4:6], z[6:8]))
            ma = np.stack([self._moments[s][0] for s in strategies])
            mb = np.stack([self._moments[s][1] for s in strategies])
            pays = -np.einsum("njk,jl,nlm,mk->n", ma, t, mb, game.cmat)
            splits = 0.5 * (1.0 - np.einsum("nj,jl,nl->n", ma[:, :, 0], t, mb[:, :, 0]))
            return pays, splits
        st = self.scenario.strategy
        pays_l, splits_l = [], []
        for s in strategies:
            if isinstance(s, LineStrategy):
                a, _, q, _ = LineGame(self.params, t).evaluate(s.to_vector())
            else:
                game = QuantumGame(self.params, st.degree, st.quadrature_points, t)
                a, _, q, _ = game.evaluate(s.to_vector())
            pays_l.append(a)
            splits_l.append(q)
        return np.asarray(pays_l), np.asarray(splits_l)

    def _share(self, p: float, payoff: float) -> tuple[float, float, float]:
        ideal, classical = self.ideal(p)
        adv = ideal - classical
        share = (payoff - classical) / adv if adv > MIN_IDEAL_ADVANTAGE else math.nan
        return share, 0.5 * (payoff - classical), 0.5 * adv

    def predict(
        self,
        availability: float,
        tensor: np.ndarray,
        *,
        p: float | None = None,
        curve: QuantumCurve | None = None,
    ) -> SharePrediction:
        """Retained share and gap reduction for pairs (a, T) at p, best strategy (N2, N3)."""
        p = self.p if p is None else float(p)
        a = min(max(float(availability), 0.0), 1.0)
        t = np.asarray(tensor, dtype=float)
        curve = self.curve(t) if curve is None else curve
        aware = noise_aware_strategy(self.reference, p, availability=a, curve=curve).payoff
        results = {"noise_aware": (p, *self._share(p, aware))}
        if abs(p - self.p) <= 1e-12:
            prof = self.profile
            pay_q, split_q = prof.with_pair_value(t)
            pay, split = availability_mix(
                a, pay_q, split_q, prof.fallback.payoff, prof.fallback.splitting_probability
            )
            if 0.0 < split < 0.5:
                results["ideal"] = (split, *self._share(split, pay))
        shares = {k: float(v[1]) for k, v in results.items()}
        # the better strategy; on a tie the scenario's own angles (simpler to play)
        best = max(
            results,
            key=lambda k: (
                -math.inf if math.isnan(shares[k]) else round(shares[k], 9),
                k == "ideal",
            ),
        )
        q, share, gap, ideal_gap = results[best]
        return SharePrediction(float(q), float(share), float(gap), float(ideal_gap), best, shares)

    def predict_outlook(
        self, outlook: LinkOutlook, *, p: float | None = None, exact: bool = False
    ) -> SharePrediction:
        """:meth:`predict` for a link outlook (``exact``: angles re-optimized on its tensor)."""
        curve = self.exact_curve(outlook.tensor) if exact else None
        return self.predict(outlook.availability, outlook.tensor, p=p, curve=curve)

    def outlook(self, scenario: Scenario, model: LinkModel | None = None) -> LinkOutlook:
        """:func:`link_outlook`, sampling the supply once per link that differs only in pair
        quality (raw fidelity, T1/T2, readout change the tensor, not the supply)."""
        model = link_model(scenario) if model is None else model
        supply_only = replace(
            model,
            visibility=1.0,
            t1_a_s=None,
            t2_a_s=None,
            t1_b_s=None,
            t2_b_s=None,
            readout_error_a=0.0,
            readout_error_b=0.0,
        )
        key = (scenario.traffic.lam_hz, supply_only)
        if key not in self._supply:
            self._supply[key] = supply_ages(scenario.traffic.lam_hz, supply_only)
        return link_outlook(scenario, model, supply=self._supply[key])

    def predict_model(self, scenario: Scenario, model: LinkModel | None = None) -> SharePrediction:
        """:meth:`predict` for a (possibly modified) scenario's analytic link."""
        return self.predict_outlook(self.outlook(scenario, model))

    def best_p(self, outlook: LinkOutlook) -> tuple[float, dict[float, float]]:
        """The scanned p with the highest predicted retained share (if none keeps any: the p
        with the lowest critical Werner fidelity F_c), and the share at each."""
        curve = self.exact_curve(outlook.tensor)
        shares = {}
        for p in BEST_P_GRID:
            ideal, classical = self.ideal(p)
            if ideal - classical <= MIN_IDEAL_ADVANTAGE:
                continue
            pred = self.predict(outlook.availability, outlook.tensor, p=p, curve=curve)
            shares[p] = pred.retained_share
        if not shares:
            return math.nan, shares
        top = max(shares.values())
        if top > 1e-9:
            return max(shares, key=lambda k: shares[k]), shares
        # no advantage anywhere: the p where the (Werner) critical fidelity is lowest
        crit = {p: critical_visibility(self.reference, p, xtol=1e-4).visibility for p in shares}
        finite = {p: v for p, v in crit.items() if math.isfinite(v)}
        return (min(finite, key=lambda k: finite[k]) if finite else math.nan), shares


def without_delays(model: LinkModel) -> LinkModel:
    """The link with herald and photon flight delays set to zero (loss breakdown)."""
    return replace(
        model,
        herald_delay_a_s=0.0,
        herald_delay_b_s=0.0,
        photon_delay_a_s=0.0,
        photon_delay_b_s=0.0,
    )


def without_memory_noise(model: LinkModel) -> LinkModel:
    """The link with noiseless memories (no T1, T2)."""
    return replace(model, t1_a_s=None, t2_a_s=None, t1_b_s=None, t2_b_s=None)


MEMORY_LIFETIME_KEYS = {
    "router_a.t1_s, router_b.t1_s": "memory decoherence: T1 relaxation; the stored pair decays "
    "gradually with its age (qnet's noise model, both engines)",
    "router_a.t2_s, router_b.t2_s": "memory decoherence: T2 dephasing; the stored pair decays "
    "gradually with its age (qnet's noise model, both engines)",
    "link.coherence_time_s": "SeQUeNCe memory expiry: after this time the memory forgets the "
    "pair (a hard discard, no gradual decay)",
    "link.cutoff_s": "the routers' own discard rule: a stored pair older than this is dropped "
    "by both routers (a hard discard you choose)",
}
"""What each "memory lifetime" key of a scenario means, in plain words."""


def derived_link(scenario: Scenario) -> dict[str, float]:
    """Derived link quantities beside a scenario's inputs (``qnet show``)."""
    model = link_model(scenario)
    outlook = link_outlook(scenario, model)
    return {
        "success_probability": model.success_probability,
        "attempt_period_s": model.attempt_period_s,
        "pair_rate_hz": model.pair_rate_hz,
        "decision_rate_hz": scenario.traffic.lam_hz,
        "availability": outlook.availability,
        "herald_delay_s": model.usable_delay_s,
        "fidelity_at_herald": outlook.fidelity_at_herald,
        "mean_storage_age_s": outlook.mean_age_s,
        "fidelity_at_typical_age": outlook.fidelity_at_use,
    }
