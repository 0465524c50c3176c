"""Shared-randomness mixtures of routing strategies, the classical benchmark as one, and the
coupled flip that makes replayed baselines common-random-number copies of a run (Thm 9,
Remark 2). Service times in units of 1/mu; outputs +1 / -1 are the servers."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from qnet.games.routing.classical import ThresholdStrategy
from qnet.games.routing.optimal import LineStrategy
from qnet.games.routing.quantum import PolynomialStrategy
from qnet.queues.model import SystemParams

__all__ = [
    "ENVELOPE_GRID",
    "AngleStrategy",
    "Mixture",
    "Strategy",
    "classical_mixture",
    "couple_flip",
]


AngleStrategy = PolynomialStrategy | LineStrategy
"""A quantum strategy: a measurement angle per local input (polynomial or line family)."""

Strategy = AngleStrategy | ThresholdStrategy


@dataclass(frozen=True)
class Mixture:
    """Shared-randomness mixture: strategy k is played when a shared uniform falls in its
    weight interval (weights sum to 1).

    Attributes:
        weights: probability of each component.
        strategies: polynomial angles (a pair is measured) or threshold pairs (it is not).
        payoff: game payoff A of the mixture (eq. 3) on the pairs it was built for.
        splitting_probability: its p on those pairs.
    """

    weights: tuple[float, ...]
    strategies: tuple[Strategy, ...]
    payoff: float
    splitting_probability: float

    def __post_init__(self) -> None:
        if len(self.weights) != len(self.strategies) or not self.weights:
            raise ValueError("Mixture: weights and strategies must be non-empty, equal length")
        if abs(sum(self.weights) - 1.0) > 1e-9 or min(self.weights) < 0:
            raise ValueError(f"Mixture: weights must be >= 0 and sum to 1, got {self.weights}")

    def choose(self, u: np.ndarray) -> np.ndarray:
        """Component index for shared uniforms ``u`` (cumulative weight intervals)."""
        edges = np.cumsum(self.weights)[:-1]
        return np.searchsorted(edges, np.asarray(u), side="right")

    def is_quantum(self, k: np.ndarray) -> np.ndarray:
        """Whether component k measures a pair (angle strategies)."""
        flags = np.array([not isinstance(s, ThresholdStrategy) for s in self.strategies])
        return flags[np.asarray(k)]

    def _unflipped(
        self, x1: np.ndarray, x2: np.ndarray, k: np.ndarray, *, skip_quantum: bool = False
    ) -> tuple[np.ndarray, np.ndarray]:
        o_a = np.ones(np.shape(x1), dtype=np.int8)
        o_b = np.ones(np.shape(x2), dtype=np.int8)
        for j, s in enumerate(self.strategies):
            sel = k == j
            if not sel.any():
                continue
            if not isinstance(s, ThresholdStrategy):
                if skip_quantum:
                    continue
                raise ValueError(f"component {j} is quantum; it needs a pair, not thresholds")
            a, b = s.outputs(x1[sel], x2[sel])
            o_a[sel], o_b[sel] = a, b
        return o_a, o_b

    def threshold_outputs(
        self,
        k: np.ndarray,
        x1: np.ndarray,
        x2: np.ndarray,
        u_flip: np.ndarray,
        *,
        skip_quantum: bool = False,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Outputs of threshold component ``k`` per decision, both flipped where ``u_flip`` <
        1/2 (Remark 2); quantum components give +1 with ``skip_quantum``, else an error."""
        x1, x2 = np.asarray(x1, dtype=float), np.asarray(x2, dtype=float)
        o_a, o_b = self._unflipped(x1, x2, np.asarray(k), skip_quantum=skip_quantum)
        flip = np.where(np.asarray(u_flip) < 0.5, -1, 1)
        return (o_a * flip).astype(np.int8), (o_b * flip).astype(np.int8)

    def outputs(
        self, x1: np.ndarray, x2: np.ndarray, u_mix: np.ndarray, u_flip: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """Threshold outputs (o_A, o_B): ``u_mix`` picks the component, ``u_flip`` < 1/2 flips.

        The shared flip of both outputs keeps o_A o_B and makes each server assignment
        uniform (paper Remark 2). All components must be threshold strategies.
        """
        return self.threshold_outputs(self.choose(u_mix), x1, x2, u_flip)

    def outputs_aligned(
        self, x1: np.ndarray, x2: np.ndarray, u_mix: np.ndarray, server_a: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """Threshold outputs with the shared flip chosen so that o_A equals ``server_a``.

        When ``server_a`` is a fair ±1 bit independent of the service times (any
        load-balanced policy's A output), the implied flip is one too, so this is the same
        strategy; replaying it beside that policy couples the two queues (common random
        numbers), which shrinks the variance of their difference.
        """
        x1, x2 = np.asarray(x1, dtype=float), np.asarray(x2, dtype=float)
        o_a, o_b = self._unflipped(x1, x2, self.choose(u_mix))
        server_a = np.asarray(server_a, dtype=np.int8)
        return server_a, (o_b * server_a * o_a).astype(np.int8)

    def outputs_coupled(
        self,
        x1: np.ndarray,
        x2: np.ndarray,
        u_mix: np.ndarray,
        ref_a: np.ndarray,
        ref_b: np.ndarray,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Threshold outputs with the shared flip set by a reference policy's servers.

        See :func:`couple_flip`: the longer of the two customers goes to the server the
        reference policy (``ref_a``, ``ref_b``) sent it to. Same strategy (the implied flip
        is a fair bit independent of the service times), tighter coupling of the queues.
        """
        x1, x2 = np.asarray(x1, dtype=float), np.asarray(x2, dtype=float)
        o_a, o_b = self._unflipped(x1, x2, self.choose(u_mix))
        return couple_flip(x1, x2, o_a, o_b, ref_a, ref_b)


def couple_flip(
    x1: np.ndarray,
    x2: np.ndarray,
    o_a: np.ndarray,
    o_b: np.ndarray,
    ref_a: np.ndarray,
    ref_b: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Flip (o_A, o_B) together so the longer customer is served where ``ref`` served it.

    Common random numbers for a replayed baseline (Remark 2): a load-balanced policy's
    server assignment is its split decision times a shared fair flip bit. Any flip that is
    a fair bit independent of the service times and of the baseline's own choice leaves
    the baseline's law unchanged; the reference policy's server of A's customer, or of
    B's, is such a bit whenever the reference is load balanced (its outputs are fair
    given x1, x2 and its split decision: the quantum run, whose routers flip together on
    a shared bit). Taking A's server when x1 >= x2 and B's otherwise keeps the longer
    customer on the same server under both policies, so where the two disagree on
    splitting only the shorter customer's work lands differently (E[min(X1, X2)] = 1/(2 mu)
    instead of 1/mu): the two queues stay closer and their wait difference has a smaller
    variance. Where they agree, both customers are on the same servers.
    """
    x1, x2 = np.asarray(x1, dtype=float), np.asarray(x2, dtype=float)
    o_a = np.asarray(o_a, dtype=np.int8)
    o_b = np.asarray(o_b, dtype=np.int8)
    ref_a = np.asarray(ref_a, dtype=np.int8)
    ref_b = np.asarray(ref_b, dtype=np.int8)
    flip = np.where(x1 >= x2, ref_a * o_a, ref_b * o_b).astype(np.int8)
    return (o_a * flip).astype(np.int8), (o_b * flip).astype(np.int8)


ENVELOPE_GRID = np.linspace(0.0125, 0.5, 40)
ENVELOPE_GRID.flags.writeable = False
"""p grid (step 0.0125) on which the classical envelope is built, plus the target p."""


def classical_mixture(p: float, params: SystemParams) -> Mixture:
    """The shared-randomness classical benchmark at p as a playable mixture (Theorem 9).

    Best threshold strategies found by the ``tight`` certificate on :data:`ENVELOPE_GRID`
    and at p itself (slack <= 1e-6 there), their upper concave envelope, and the two
    vertices (with weight) that attain it at p. The payoff is the envelope value: what
    the mixture really earns, within the certificates' slack of the best possible.
    """
    from qnet.games.routing.classical import certified_classical_curve, classical_envelope

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
    return Mixture(
        weights=(weight, 1.0 - weight),
        strategies=(left, right),
        payoff=float(env.envelope[i]),
        splitting_probability=weight * float(env.left_p[i]) + (1 - weight) * float(env.right_p[i]),
    )
