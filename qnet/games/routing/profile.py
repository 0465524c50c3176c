"""The routing profile: what each router plays at the scenario's target splitting probability.

A :class:`RoutingProfile` is built once per run from the analysis core and then only
*evaluated* by the engines and the replay. It holds two branches and two baselines:

* **with a pair** -- a shared-randomness mixture of strategies (:class:`Mixture`): for
  ``strategy.kind = "ideal"`` the angles θ_A(x), θ_B(x) optimal on ideal pairs at p,
  of the line family (``strategy.angles = "optimal"``, :func:`.optimal.optimize_optimal`)
  or degree-n polynomials (:func:`.quantum.optimize_quantum`, paper D30-D33); for
  ``"noise_aware"`` the mix of angle strategies (and possibly threshold strategies that
  leave the pair unused, angles of the same family) that
  :func:`.noise_aware.noise_aware_strategy` finds for the
  pair quality and availability the hardware is expected to deliver, chosen jointly with
  the fallback so that the whole mix hits p (eqs. N1-N3);
* **without a pair** -- the classical fallback mixture of threshold strategies (eq. 6),
  with a shared flip bit for load balance (Remark 2);
* the **classical baseline**: the point of the shared-randomness envelope at p (Theorem
  9, :func:`classical_mixture`), and the **oracle** w-threshold policy at p (threshold
  tau_p, payoff A*, :mod:`.oracle`) -- what the run measures itself against.

Service times are in units of 1/mu throughout. Outputs follow the paper: +1 / -1 is the
server; threshold strategies are :class:`.classical.ThresholdStrategy` (+1 below the
threshold, eq. 6 / C1).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from qnet.games.routing.classical import ThresholdStrategy
from qnet.games.routing.game import RoutingGame
from qnet.games.routing.mixture import AngleStrategy, Mixture, classical_mixture, couple_flip
from qnet.games.routing.optimal import LineGame, LineStrategy
from qnet.games.routing.quantum import PolynomialStrategy, QuantumGame
from qnet.queues.model import SystemParams

if TYPE_CHECKING:
    from qnet.config import Scenario
    from qnet.games.routing.noise_aware import Component

__all__ = ["RoutingProfile", "build_profile", "system_params"]


@dataclass(frozen=True)
class RoutingProfile:
    """Everything the routers and the baselines play at one target p (service units 1/mu).

    Attributes:
        p: target splitting probability.
        params: the system in service units (mu = 1).
        kind: "ideal" or "noise_aware".
        visibility: mean of the diagonal of the pair tensor T the with-pair branch was
            chosen for (the effective visibility η for Werner pairs; 1: ideal).
        availability: availability the mix was chosen for (1 for the ideal profile).
        with_pair: mixture played when a usable pair exists.
        fallback: threshold mixture played when none does.
        quantum: the ideal-pair optimal angles at p (D31) -- the ideal profile's only
            with-pair strategy, and the reference for the ideal reduction.
        quadrature_points: Gauss-Laguerre points used for the profile's payoffs.
        quantum_payoff: A of ``quantum`` on ideal pairs (T = I).
        quantum_splitting_probability: its p on ideal pairs.
        classical: the classical baseline, the envelope's mixture at p (Theorem 9).
        game: the routing game at p (its oracle: threshold tau_p, payoff A*(p)).
    """

    p: float
    params: SystemParams
    kind: str
    visibility: float
    availability: float
    with_pair: Mixture
    fallback: Mixture
    quantum: AngleStrategy
    quadrature_points: int
    quantum_payoff: float
    quantum_splitting_probability: float
    classical: Mixture
    game: RoutingGame

    @property
    def tau(self) -> float:
        """Oracle threshold tau_p on w (split when w > tau, A19)."""
        return float(self.game.oracle.tau)

    @property
    def oracle_payoff(self) -> float:
        """A*(p) of the oracle w-threshold policy (B1)."""
        return self.game.ideal_value()

    def angles(
        self, k: np.ndarray, x1: np.ndarray, x2: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """(θ_A(x1), θ_B(x2)) [rad] of with-pair component k (NaN for threshold ones)."""
        k = np.asarray(k)
        th_a = np.full(np.shape(x1), np.nan)
        th_b = np.full(np.shape(x2), np.nan)
        for j, s in enumerate(self.with_pair.strategies):
            sel = k == j
            if sel.any() and not isinstance(s, ThresholdStrategy):
                th_a[sel] = s.theta_a(np.asarray(x1)[sel])
                th_b[sel] = s.theta_b(np.asarray(x2)[sel])
        return th_a, th_b

    def with_pair_threshold_outputs(
        self, k: np.ndarray, x1: np.ndarray, x2: np.ndarray, u_flip: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """Outputs of with-pair threshold components (pair left unused), shared flip."""
        return self.with_pair.threshold_outputs(k, x1, x2, u_flip, skip_quantum=True)

    def fallback_outputs(
        self, x1: np.ndarray, x2: np.ndarray, u_mix: np.ndarray, u_flip: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """Fallback outputs (no pair) with the routers' shared uniforms (Remark 2)."""
        return self.fallback.outputs(x1, x2, u_mix, u_flip)

    def classical_outputs_aligned(
        self, x1: np.ndarray, x2: np.ndarray, u_mix: np.ndarray, server_a: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """Classical-baseline outputs with A's server fixed to ``server_a`` (coupled replay)."""
        return self.classical.outputs_aligned(x1, x2, u_mix, server_a)

    def classical_outputs_coupled(
        self,
        x1: np.ndarray,
        x2: np.ndarray,
        u_mix: np.ndarray,
        ref_a: np.ndarray,
        ref_b: np.ndarray,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Classical-baseline outputs coupled to a reference run (:func:`couple_flip`)."""
        return self.classical.outputs_coupled(x1, x2, u_mix, ref_a, ref_b)

    def oracle_outputs_coupled(
        self, x1: np.ndarray, x2: np.ndarray, ref_a: np.ndarray, ref_b: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """Oracle outputs (:meth:`RoutingGame.ideal_outputs`) coupled by :func:`couple_flip`
        to a reference run."""
        ones = np.ones(np.shape(x1), dtype=np.int8)
        o_a, o_b = self.game.ideal_outputs(x1, x2, ones)
        return couple_flip(x1, x2, o_a, o_b, ref_a, ref_b)

    def with_pair_value(self, correlation_tensor: np.ndarray) -> tuple[float, float]:
        """(A, p) of the with-pair branch on pairs with X-Z tensor T (D32-D33, N1)."""
        payoff = split = 0.0
        for w, s in zip(self.with_pair.weights, self.with_pair.strategies, strict=True):
            if isinstance(s, PolynomialStrategy):
                game = QuantumGame(
                    self.params, s.degree, self.quadrature_points, correlation_tensor
                )
                a, _, q, _ = game.evaluate(s.to_vector())  # payoff and p in one pass
            elif isinstance(s, LineStrategy):
                a, _, q, _ = LineGame(self.params, correlation_tensor).evaluate(s.to_vector())
            else:
                a, q = s.payoff(self.params), s.splitting_probability(self.params)
            payoff += w * a
            split += w * q
        return payoff, split

    @property
    def ideal_gap_reduction(self) -> float:
        """(A_qu - A_cl,SR)/2 at p on ideal pairs: the paper's reduction (Lemma 1, eq. 5)."""
        return 0.5 * (self.quantum_payoff - self.classical.payoff)

    @property
    def classical_gap(self) -> float:
        """ΔWq of the classical baseline, (A* - A_cl)/2 (Lemma 1)."""
        return 0.5 * (self.oracle_payoff - self.classical.payoff)


def system_params(scenario: Scenario) -> SystemParams:
    """The scenario's queue in service units: mu = 1, lam = rho, alpha in units of mu."""
    q = scenario.queue
    return SystemParams(
        lam=scenario.traffic.rho, mu=1.0, alpha=q.warmup_rate_per_service, phi_max=q.phi_max
    )


def _mixture_of(components: tuple[Component, ...]) -> Mixture:
    """A :class:`Mixture` from :class:`.noise_aware.Component` entries."""
    total = sum(c.weight for c in components)
    return Mixture(
        weights=tuple(c.weight / total for c in components),
        strategies=tuple(c.strategy for c in components),
        payoff=float(sum(c.weight * c.payoff for c in components) / total),
        splitting_probability=float(
            sum(c.weight * c.splitting_probability for c in components) / total
        ),
    )


def build_profile(
    scenario: Scenario,
    *,
    p: float | None = None,
    expected_tensor: np.ndarray | None = None,
    expected_availability: float = 1.0,
    kind: str | None = None,
) -> RoutingProfile:
    """The routing profile of a scenario from the analysis core (oracle, envelope, angles).

    Args:
        scenario: the validated scenario (``strategy`` table, queue parameters).
        p: splitting probability to build for (default: the scenario's target).
        expected_tensor: mean X-Z correlation tensor (readout included) of the pairs the
            noise-aware mix is chosen for (default: ideal, I; ignored by the ideal profile).
            Werner pairs give η I; dephased ones diag(ZZ, XX), for which the angles are
            re-optimized on T (:func:`.noise_aware.quantum_curve`).
        expected_availability: share of decisions expected to find a pair (likewise).
        kind: override ``strategy.kind`` ("ideal" for baselines at another p).

    The quantum optimizer's restarts use its own fixed seed, not the run seed, so runs
    of one scenario under different seeds play the same strategy (replications).
    """
    from qnet.games.routing.optimal import optimize_optimal
    from qnet.games.routing.quantum import QuantumGame, canonical_gauge, optimize_quantum

    params = system_params(scenario)
    st = scenario.strategy
    p = st.target_splitting_probability if p is None else float(p)
    classical = classical_mixture(p, params)
    game = RoutingGame(params, p, st.degree, st.quadrature_points, st.restarts, st.angles)
    if st.angles == "optimal":
        res = optimize_optimal(p, params)
        angles = res.strategy.canonical_gauge(params.mu)
    else:
        res = optimize_quantum(
            p,
            params,
            degree=st.degree,
            quadrature_points=st.quadrature_points,
            restarts=st.restarts,
        )
        # The ideal optimum is degenerate under a common rotation of both routers' angles;
        # fix it deterministically (and in the basis memory dephasing spares).
        quantum_game = QuantumGame(params, st.degree, st.quadrature_points)
        angles = canonical_gauge(res.strategy, quantum_game)
    ideal_with_pair = Mixture(
        (1.0,), (angles,), float(res.payoff_adaptive), float(res.splitting_probability)
    )
    with_pair, fallback = ideal_with_pair, classical
    visibility, availability = 1.0, 1.0
    kind = st.kind if kind is None else kind
    if kind == "noise_aware":
        from qnet.games.routing.noise_aware import (
            noise_aware_strategy,
            noise_reference,
            quantum_curve,
        )

        ref = noise_reference(
            [p],
            params,
            degree=st.degree,
            quadrature_points=st.quadrature_points,
            restarts=max(4, st.restarts // 4),
            quantum_step=0.025,
            quantum=st.angles,
        )
        tensor = np.eye(2) if expected_tensor is None else np.asarray(expected_tensor, float)
        curve = quantum_curve(ref, tensor, restarts=max(2, st.restarts // 5))
        mix = noise_aware_strategy(ref, p, availability=expected_availability, curve=curve)
        visibility = float(0.5 * np.trace(tensor))
        availability = expected_availability
        with_pair = _mixture_of(mix.with_pair) if mix.with_pair else ideal_with_pair
        fallback = _mixture_of(mix.fallback) if mix.fallback else classical
    return RoutingProfile(
        p=p,
        params=params,
        kind=kind,
        visibility=visibility,
        availability=availability,
        with_pair=with_pair,
        fallback=fallback,
        quantum=angles,
        quadrature_points=st.quadrature_points,
        quantum_payoff=float(res.payoff_adaptive),
        quantum_splitting_probability=float(res.splitting_probability),
        classical=classical,
        game=game,
    )
