"""The routing plan: what each router plays at the scenario's target splitting probability.

A :class:`RoutingPlan` is built once per run from the analysis core and then only
*evaluated* by the engines and the replay:

* the quantum angles θ_A(x), θ_B(x) (polynomials in the service time in units of 1/mu,
  paper D30-D33) from :func:`qnet.quantum.optimize_quantum` -- for the ideal pair
  (``strategy.kind = "ideal"``) or re-optimized for the pair the hardware is expected to
  deliver (``"noise_aware"``);
* the classical fallback, the point of the shared-randomness envelope (Theorem 9) at p:
  a mixture of two threshold pairs (eq. 6) chosen by a shared uniform, with a shared
  flip bit for load balance (Remark 2), from :func:`qnet.classical.classical_envelope`;
* the oracle w-threshold policy at p (threshold tau_p, payoff A*) from :mod:`qnet.oracle`,
  the baseline the run measures itself against.

Outputs follow the paper: +1 / -1 is the server; threshold strategies are
:class:`qnet.classical.ThresholdStrategy` (+1 below the threshold, eq. 6 / C1).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from qnet.classical import ThresholdStrategy
from qnet.quantum import PolynomialStrategy, quantum_payoff, quantum_splitting_probability
from qnet.queueing import SystemParams, splitting_benefit

if TYPE_CHECKING:
    from qnet.config import Scenario

__all__ = [
    "ClassicalMixture",
    "RoutingPlan",
    "ENVELOPE_GRID",
    "build_plan",
    "classical_mixture",
    "system_params",
]


@dataclass(frozen=True)
class ClassicalMixture:
    """Shared-randomness classical strategy: ``first`` w.p. ``weight_first``, else ``second``.

    Attributes:
        first, second: the two threshold strategies the envelope mixes (Theorem 9).
        weight_first: probability of playing ``first``, in [0, 1].
        payoff: its game payoff A (eq. 3), the envelope value at p.
        splitting_probability: its splitting probability.
    """

    first: ThresholdStrategy
    second: ThresholdStrategy
    weight_first: float
    payoff: float
    splitting_probability: float

    def _unflipped(
        self, x1: np.ndarray, x2: np.ndarray, u_mix: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        pick_first = np.asarray(u_mix) < self.weight_first
        a1, b1 = self.first.outputs(x1, x2)
        a2, b2 = self.second.outputs(x1, x2)
        return np.where(pick_first, a1, a2), np.where(pick_first, b1, b2)

    def outputs(
        self, x1: np.ndarray, x2: np.ndarray, u_mix: np.ndarray, u_flip: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """(o_A, o_B) with shared uniforms: ``u_mix`` picks the strategy, ``u_flip`` < 1/2 flips.

        The shared flip of both outputs keeps o_A o_B and makes each server assignment
        uniform (paper Remark 2).
        """
        o_a, o_b = self._unflipped(x1, x2, u_mix)
        flip = np.where(np.asarray(u_flip) < 0.5, -1, 1)
        return (o_a * flip).astype(np.int8), (o_b * flip).astype(np.int8)

    def outputs_aligned(
        self, x1: np.ndarray, x2: np.ndarray, u_mix: np.ndarray, server_a: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """(o_A, o_B) with the shared flip chosen so that o_A equals ``server_a``.

        When ``server_a`` is a fair ±1 bit independent of the service times (any
        load-balanced policy's A output), the implied flip is one too, so this is the same
        strategy; replaying it beside that policy couples the two queues (common random
        numbers), which shrinks the variance of their difference.
        """
        o_a, o_b = self._unflipped(x1, x2, u_mix)
        server_a = np.asarray(server_a, dtype=np.int8)
        flip = server_a * o_a
        return server_a, (o_b * flip).astype(np.int8)


@dataclass(frozen=True)
class RoutingPlan:
    """Everything the routers and the baselines play at one target p (service units 1/mu).

    Attributes:
        p: target splitting probability.
        params: the system in service units (mu = 1).
        kind: "ideal" or "noise_aware".
        visibility: the pair visibility the angles were chosen for (1 when ideal).
        quantum: the polynomial angles θ_A(x), θ_B(x) [rad] (D31); on a pair with X-Z
            tensor T, E[o_A o_B] = n(θ_A)ᵀ T n(θ_B), cos(2(θ_A - θ_B)) for T = I.
        quadrature_points: Gauss-Laguerre points used for the plan's payoffs.
        quantum_payoff: A of the quantum strategy on ideal pairs (T = I).
        quantum_splitting_probability: its p on ideal pairs.
        classical: the classical fallback / baseline mixture at p.
        tau: oracle threshold tau_p on w (split when w > tau).
        oracle_payoff: A*(p) of the w-threshold policy.
    """

    p: float
    params: SystemParams
    kind: str
    visibility: float
    quantum: PolynomialStrategy
    quadrature_points: int
    quantum_payoff: float
    quantum_splitting_probability: float
    classical: ClassicalMixture
    tau: float
    oracle_payoff: float

    def angle_a(self, x: np.ndarray) -> np.ndarray:
        """θ_A(x) [rad] for service times x in units of 1/mu."""
        return np.polynomial.polynomial.polyval(np.asarray(x, dtype=float), self.quantum.a)

    def angle_b(self, x: np.ndarray) -> np.ndarray:
        """θ_B(x) [rad] for service times x in units of 1/mu."""
        return np.polynomial.polynomial.polyval(np.asarray(x, dtype=float), self.quantum.b)

    def classical_outputs(
        self, x1: np.ndarray, x2: np.ndarray, u_mix: np.ndarray, u_flip: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """Classical fallback outputs with the shared uniforms (Theorem 9, Remark 2)."""
        return self.classical.outputs(x1, x2, u_mix, u_flip)

    def classical_outputs_aligned(
        self, x1: np.ndarray, x2: np.ndarray, u_mix: np.ndarray, server_a: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """Classical outputs with A's server fixed to ``server_a`` (coupled replay)."""
        return self.classical.outputs_aligned(x1, x2, u_mix, server_a)

    def oracle_outputs(
        self, x1: np.ndarray, x2: np.ndarray, server_a: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """Oracle w-threshold outputs: split iff w > tau_p (A19); A goes to ``server_a`` (±1)."""
        split = np.asarray(splitting_benefit(x1, x2, self.params)) > self.tau
        o_a = np.asarray(server_a, dtype=np.int8)
        o_b = np.where(split, -o_a, o_a).astype(np.int8)
        return o_a, o_b

    @property
    def ideal_gap_reduction(self) -> float:
        """(A_qu - A_cl,SR)/2 at p on ideal pairs: the paper's reduction (Lemma 1, eq. 5)."""
        return 0.5 * (self.quantum_payoff - self.classical.payoff)

    def quantum_payoff_for(self, correlation_tensor: np.ndarray) -> float:
        """A of the plan's angles on pairs with X-Z tensor T (D32 with n(θ_A)ᵀ T n(θ_B))."""
        return quantum_payoff(self.quantum, self.params, self.quadrature_points, correlation_tensor)

    def quantum_splitting_probability_for(self, correlation_tensor: np.ndarray) -> float:
        """p of the plan's angles on pairs with X-Z tensor T (D33)."""
        return quantum_splitting_probability(
            self.quantum, self.params, self.quadrature_points, correlation_tensor
        )

    @property
    def classical_gap(self) -> float:
        """ΔWq of the classical mixture, (A* - A_cl)/2 (Lemma 1)."""
        return 0.5 * (self.oracle_payoff - self.classical.payoff)


def system_params(scenario: Scenario) -> SystemParams:
    """The scenario's queue in service units: mu = 1, lam = rho, alpha in units of mu."""
    q = scenario.queue
    return SystemParams(
        lam=scenario.traffic.rho, mu=1.0, alpha=q.warmup_rate_per_service, phi_max=q.phi_max
    )


ENVELOPE_GRID = np.linspace(0.0125, 0.5, 40)
"""p grid (step 0.0125) on which the classical envelope is built, plus the target p."""


def classical_mixture(p: float, params: SystemParams) -> ClassicalMixture:
    """The shared-randomness classical benchmark at p as a playable mixture (Theorem 9).

    Best threshold strategies found by the ``tight`` certificate on :data:`ENVELOPE_GRID`
    and at p itself (slack <= 1e-6 there), their upper concave envelope, and the two
    vertices (with weight) that attain it at p. The payoff is the envelope value: what
    the mixture really earns, within the certificates' slack of the best possible.
    """
    from qnet.classical import certified_classical_curve, classical_envelope

    if not 0 < p <= 0.5:
        raise ValueError(
            f"strategy.target_splitting_probability = {p!r}: the classical baseline is "
            "built on (0, 0.5]; allowed range is (0, 0.5]"
        )
    grid = np.unique(np.append(ENVELOPE_GRID, p))
    certs = certified_classical_curve(grid, params, "tight")
    env = classical_envelope(
        grid, [c.best_value for c in certs], params, [c.strategy for c in certs]
    )
    i = int(np.flatnonzero(grid == p)[0])
    left, right = env.left_strategy[i], env.right_strategy[i]
    assert left is not None and right is not None
    weight = float(env.weight[i])
    return ClassicalMixture(
        first=left,
        second=right,
        weight_first=weight,
        payoff=float(env.envelope[i]),
        splitting_probability=weight * float(env.left_p[i]) + (1 - weight) * float(env.right_p[i]),
    )


def build_plan(scenario: Scenario) -> RoutingPlan:
    """The routing plan of a scenario from the analysis core (oracle, envelope, angles).

    The quantum optimizer's restarts use its own fixed seed, not the run seed, so runs
    of one scenario under different seeds play the same strategy (replications).
    """
    from qnet.oracle import oracle_payoff
    from qnet.quantum import optimize_quantum

    params = system_params(scenario)
    st = scenario.strategy
    p = st.target_splitting_probability
    oracle = oracle_payoff(p, params)
    classical = classical_mixture(p, params)
    if st.kind != "ideal":
        raise NotImplementedError("strategy.kind = 'noise_aware' needs qnet.thresholds")
    res = optimize_quantum(
        p, params, degree=st.degree, quadrature_points=st.quadrature_points, restarts=st.restarts
    )
    return RoutingPlan(
        p=p,
        params=params,
        kind=st.kind,
        visibility=1.0,
        quantum=res.strategy,
        quadrature_points=st.quadrature_points,
        quantum_payoff=float(res.payoff_adaptive),
        quantum_splitting_probability=float(res.splitting_probability),
        classical=classical,
        tau=float(oracle.tau),
        oracle_payoff=float(oracle.value),
    )
