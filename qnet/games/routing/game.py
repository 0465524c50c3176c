"""The weighted routing game of the full paper at one splitting probability p.

Inputs: the two customers' service times x1, x2 ~ Exp(mu) (units 1/mu). Score of a
decision: -o_A o_B w(x1, x2) with w = c1 x1 x2 + c2 (x1 + x2) (paper eqs. 2-3), so the
game's value is the payoff A and the waiting-time gap to the oracle is (A* - A)/2
(Lemma 1). The ideal decision is the oracle's: split iff w > tau_p (A19).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import ClassVar

import numpy as np

from qnet.games.base import XorGame
from qnet.games.routing.mixture import classical_mixture
from qnet.games.routing.oracle import OracleResult, oracle_payoff
from qnet.queues.model import SystemParams, splitting_benefit

__all__ = ["RoutingGame"]


@dataclass(frozen=True, eq=False)
class RoutingGame(XorGame):
    """The routing game at splitting probability ``p`` (paper eq. 3, Lemma 1).

    Attributes:
        params: the queue in service units (mu = 1 in a run's profile).
        p: the splitting probability every strategy is held to (equal throughput).
        degree, quadrature_points, restarts: the polynomial quantum optimizer's settings.
        angles: the quantum family, "polynomial" (the paper's degree-n angles) or "optimal"
            (the line family θ = ½·atan2(a + x b)).
    """

    params: SystemParams
    p: float
    degree: int = 2
    quadrature_points: int = 60
    restarts: int = 20
    angles: str = "polynomial"
    name: ClassVar[str] = "routing"

    def sample_inputs(self, rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray]:
        """Service times (x1, x2), iid Exp(mu) [1/mu units of the params]."""
        x = rng.exponential(1.0 / self.params.mu, (2, n))
        return x[0], x[1]

    def correlation_weight(self, x_a: np.ndarray, x_b: np.ndarray) -> np.ndarray:
        """V = -w(x1, x2): bunching (o_A o_B = +1) forgoes the splitting benefit (eq. 2)."""
        return -np.asarray(splitting_benefit(x_a, x_b, self.params))

    @cached_property
    def oracle(self) -> OracleResult:
        """The oracle w-threshold policy at p: tau_p and A*(p) (eqs. A19, B1)."""
        return oracle_payoff(self.p, self.params)

    def ideal_outputs(
        self, x_a: np.ndarray, x_b: np.ndarray, server_a: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """Oracle outputs: split iff w > tau_p (A19); A goes to ``server_a`` (±1)."""
        split = np.asarray(splitting_benefit(x_a, x_b, self.params)) > float(self.oracle.tau)
        o_a = np.asarray(server_a, dtype=np.int8)
        return o_a, np.where(split, -o_a, o_a).astype(np.int8)

    def ideal_value(self) -> float:
        """A*(p), the oracle's payoff (eq. B1)."""
        return float(self.oracle.value)

    def classical_value(self) -> float:
        """A_cl,SR(p): the shared-randomness envelope of threshold strategies (Thm 9)."""
        return classical_mixture(self.p, self.params).payoff

    def quantum_value(self) -> float:
        """A_qu(p) on Φ+: the optimal line family, or the paper's polynomial angles (D31-D33)."""
        if self.angles == "optimal":
            from qnet.games.routing.optimal import optimize_optimal

            return float(optimize_optimal(self.p, self.params).payoff_adaptive)
        from qnet.games.routing.quantum import optimize_quantum

        res = optimize_quantum(
            self.p,
            self.params,
            degree=self.degree,
            quadrature_points=self.quadrature_points,
            restarts=self.restarts,
        )
        return float(res.payoff_adaptive)
