"""What the routers play in a sum-threshold run at a QoS limit W_l (QuNet'25 Section 4.5).

Operating point: each family's least-p member meeting E[Wq] ≤ W_l (A12), traced over C_t
(:func:`.qos.family_p_at_limit`): the best classical threshold pair of the game at C_c,
the chosen quantum family (linear, quadratic relative angle, or the bin-optimal SDP
strategy) at C_q, and the sum-threshold oracle meeting W_l exactly. Without a pair the
routers play the threshold pair, both flipping their outputs on a shared random bit;
with one they measure at the family's angles mapped to the stack's Φ+/X–Z convention
(:func:`.quantum.stack_angles`; the bin-optimal vectors give E = cos(φ_A − φ_B), so
θ = φ/2). :class:`SumThresholdProfile` implements
:class:`qnet.decisions.step.StrategyProfile`, so both engines play it unchanged.

Predictions for pairs of mean X–Z tensor T found at a share a of decisions: the split
policy is r = (1 − E[o_A o_B | x])/2 with E = a·n(θ_A)ᵀ T n(θ_B) + (1 − a)·E_cl, so its
moments, wait (A12), splitting probability and bias are linear in a and T.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, replace

import numpy as np
from numpy.typing import NDArray
from scipy.optimize import brentq

from qnet.games.routing.mixture import Mixture
from qnet.games.sum_threshold import qos
from qnet.games.sum_threshold.bounds import bin_bounds
from qnet.games.sum_threshold.classical import (
    ThresholdPair,
    best_threshold_pair,
    bias_matrix,
    classical_minimum,
    threshold_bias,
)
from qnet.games.sum_threshold.quantum import boundary_quadrature, optimize_angles
from qnet.queues.model import SystemParams, mean_wait

__all__ = [
    "C_GRID",
    "FAMILIES",
    "Prediction",
    "SumThresholdProfile",
    "build_sum_threshold_profile",
    "paper_limit",
]

FAMILIES = ("linear", "quadratic", "optimal")
#: C_t grid each family is traced over to find its least p meeting the limit.
C_GRID = tuple(float(c) for c in np.linspace(0.02, 0.95, 32))


@dataclass(frozen=True)
class Prediction:
    """The analysis core's values of a played policy: moments (A12) and game bias."""

    moments: qos.Moments
    bias: float

    @property
    def win_probability(self) -> float:
        """(1 + β)/2."""
        return 0.5 * (1.0 + self.bias)


class _AlwaysMeasure:
    """With a pair the profile always measures it (one quantum component)."""

    def choose(self, u: np.ndarray) -> np.ndarray:
        """Component 0 for every decision."""
        return np.zeros(np.shape(u), dtype=np.int64)

    def is_quantum(self, k: np.ndarray) -> np.ndarray:
        """Every component measures the pair."""
        return np.ones(np.shape(k), dtype=bool)


def _flip(u_flip: np.ndarray) -> np.ndarray:
    """The shared flip bit (±1), as :class:`qnet.decisions.step.DecisionStep` draws it."""
    return np.where(np.asarray(u_flip) < 0.5, -1, 1).astype(np.int8)


def _unit(phi: NDArray) -> NDArray:
    """Bloch vector (cos φ, sin φ) in the X–Z plane, components (Z, X)."""
    return np.stack((np.cos(phi), np.sin(phi)), axis=-1)


def _corr(na: NDArray, nb: NDArray, tensor: NDArray) -> NDArray:
    """E[o_A o_B] = n_Aᵀ T n_B for broadcastable arrays of unit vectors."""
    return np.einsum("...i,ij,...j->...", na, tensor, nb)


@dataclass(frozen=True)
class SumThresholdProfile:
    """The run's strategies at W_l (service times in units of 1/mu).

    Attributes:
        params: the queue in service units (mu = 1).
        w_limit: the QoS limit W_l [1/mu].
        family: the quantum family played with a pair.
        classical: the game's best threshold pair at its C_t meeting W_l (the fallback and
            the classical baseline).
        quantum_c_t: the C_t of the quantum family's member meeting W_l.
        coefficients: relative-angle coefficients (paper's ψ−/X–Y convention), or ().
        phases_a, phases_b: bin Bloch angles of the optimal family (E = cos(φ_A − φ_B)),
            or empty.
        oracle_t: the sum-threshold oracle's threshold time t (bunch iff x1 + x2 ≤ t).
        p_w_oracle: the p the full paper's w-threshold oracle needs at W_l.
        envelope: the best classical strategy for the QoS problem at W_l (the full paper's
            classical envelope, :func:`.qos.envelope_at_limit`), or None if it needs p > 1/2.
        placement: "ideal" (each family's member meeting W_l on ideal pairs always
            available) or "noise_aware" (the quantum member whose played mix meets W_l at
            ``expected_availability`` and ``expected_tensor``).
        expected_availability, expected_tensor: the link the placement planned for.
    """

    params: SystemParams
    w_limit: float
    family: str
    classical: ThresholdPair
    quantum_c_t: float
    coefficients: tuple[float, ...]
    phases_a: NDArray[np.float64]
    phases_b: NDArray[np.float64]
    oracle_t: float
    p_w_oracle: float
    envelope: Mixture | None = None
    placement: str = "ideal"
    expected_availability: float = 1.0
    expected_tensor: NDArray[np.float64] | None = None

    @property
    def with_pair(self) -> _AlwaysMeasure:
        """One component: measure the pair at the family's angles."""
        return _AlwaysMeasure()

    @property
    def bins(self) -> int:
        """Input bins of the optimal family (0 for relative angles)."""
        return int(self.phases_a.size)

    # ------------------------------------------------------------------ playing
    def classical_outputs(self, x_a: np.ndarray, x_b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Threshold-pair outputs, unflipped: o_A = s(+1 iff a < α), o_B = +1 iff b < β."""
        a, b = -np.expm1(-np.asarray(x_a, float)), -np.expm1(-np.asarray(x_b, float))
        c = self.classical
        o_a = c.sign * np.where(a < c.alpha, 1, -1)
        return o_a.astype(np.int8), np.where(b < c.beta, 1, -1).astype(np.int8)

    def fallback_outputs(
        self, x_a: np.ndarray, x_b: np.ndarray, u_mix: np.ndarray, u_flip: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """The threshold pair, both outputs flipped on the shared bit (load balance)."""
        o_a, o_b = self.classical_outputs(x_a, x_b)
        f = _flip(u_flip)
        return (o_a * f).astype(np.int8), (o_b * f).astype(np.int8)

    def with_pair_threshold_outputs(
        self, k: np.ndarray, x_a: np.ndarray, x_b: np.ndarray, u_flip: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """No classical with-pair component: the fallback (never played, pairs are measured)."""
        return self.fallback_outputs(x_a, x_b, u_flip, u_flip)

    def _phases(self, a: NDArray, b: NDArray) -> tuple[NDArray, NDArray]:
        """Bloch angles (φ_A(a), φ_B(b)) on Φ+ in the X–Z plane: E = n(φ_A)ᵀ T n(φ_B)."""
        if self.family == "optimal":
            n = self.bins
            i = np.minimum((np.asarray(a) * n).astype(np.int64), n - 1)
            j = np.minimum((np.asarray(b) * n).astype(np.int64), n - 1)
            return self.phases_a[i], self.phases_b[j]
        d = list(self.coefficients) + [0.0] * (5 - len(self.coefficients))
        phi_a = d[0] + d[1] * a + d[3] * a * a
        phi_b = -(d[2] * b + d[4] * b * b)
        return phi_a + math.pi, phi_b  # ψ− → Φ+: θ_A = φ_A/2 + π/2 (quantum.stack_angles)

    def angles(
        self, k: np.ndarray, x_a: np.ndarray, x_b: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """Measurement angles (θ_A, θ_B) [rad] on Φ+ (X–Z plane) from the local inputs."""
        a, b = -np.expm1(-np.asarray(x_a, float)), -np.expm1(-np.asarray(x_b, float))
        phi_a, phi_b = self._phases(a, b)
        return 0.5 * phi_a, 0.5 * phi_b

    def oracle_outputs(self, x_a: np.ndarray, x_b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The sum-threshold oracle at W_l: bunch iff x1 + x2 ≤ t (A plays +1)."""
        bunch = np.asarray(x_a) + np.asarray(x_b) <= self.oracle_t
        ones = np.ones(np.shape(x_a), dtype=np.int8)
        return ones, np.where(bunch, ones, -ones).astype(np.int8)

    def envelope_outputs(
        self,
        x_a: np.ndarray,
        x_b: np.ndarray,
        u_mix: np.ndarray,
        ref_a: np.ndarray,
        ref_b: np.ndarray,
    ) -> tuple[np.ndarray, np.ndarray]:
        """The envelope's outputs, its flip coupled to a reference policy's servers."""
        if self.envelope is None:
            raise ValueError("no classical envelope at this W_l (it needs p > 1/2)")
        return self.envelope.outputs_coupled(x_a, x_b, u_mix, ref_a, ref_b)

    def envelope_prediction(self) -> qos.Moments | None:
        """Exact moments of the envelope's mixture (A12), or None."""
        return None if self.envelope is None else qos.envelope_moments(self.envelope, self.params)

    def rule(self, x_a: np.ndarray, x_b: np.ndarray, c_t: float) -> np.ndarray:
        """R = +1 (bunch) iff (1 − a)(1 − b) ≥ C_t, else −1 (eq. 4), from service times."""
        return np.where(np.asarray(x_a) + np.asarray(x_b) <= -math.log(c_t), 1.0, -1.0)

    # -------------------------------------------------------------- predictions
    def classical_prediction(self) -> Prediction:
        """Exact moments and bias of the threshold pair (with the shared flip)."""
        c = self.classical
        return Prediction(qos.threshold_pair_moments(c.alpha, c.beta, c.sign, self.params), c.bias)

    def quantum_prediction(self, tensor: NDArray | None = None) -> Prediction:
        """Moments (A12) and bias at C_q of the with-pair branch on pairs of X–Z tensor T."""
        t = np.eye(2) if tensor is None else np.asarray(tensor, float)
        c = self.quantum_c_t
        if self.family == "optimal":
            edges = np.linspace(0.0, 1.0, self.bins + 1)
            corr = _corr(_unit(self.phases_a)[:, None, :], _unit(self.phases_b)[None, :, :], t)
            m = qos.bin_moments(edges, edges, corr, self.params)
            return Prediction(m, float(np.sum(bias_matrix(edges, edges, c) * corr)))
        y, w = np.polynomial.laguerre.laggauss(80)
        a = -np.expm1(-y)
        pa, pb = self._phases(a[:, None], a[None, :])
        r = 0.5 * (1.0 - _corr(_unit(pa), _unit(pb), t))
        ww = np.outer(w, w) * r
        x = y / self.params.mu
        e_x1x2 = float(np.sum(ww * np.outer(x, x)))
        e_s = float(np.sum(ww * (x[:, None] + x[None, :])))
        m = qos.Moments(float(np.sum(ww)), e_x1x2, e_s, mean_wait(self.params, e_x1x2, e_s))
        qa, qb, qw = boundary_quadrature(c)
        fa, fb = self._phases(qa, qb)
        return Prediction(m, float(np.dot(qw, _corr(_unit(fa), _unit(fb), t))))

    def predicted(self, availability: float, tensor: NDArray | None = None) -> Prediction:
        """The run's mix: pairs (tensor T) at a share ``availability``, the pair otherwise.

        The bias of the whole mix is scored in the quantum member's game (C_q), as the run
        scores its decisions.
        """
        q, cl = self.quantum_prediction(tensor), self.classical_prediction()
        c = self.classical
        cl_bias = c.sign * float(threshold_bias(c.alpha, c.beta, self.quantum_c_t))
        a = float(availability)
        mix = [a * u + (1.0 - a) * v for u, v in zip(_m(q.moments), _m(cl.moments), strict=True)]
        m = qos.Moments(mix[0], mix[1], mix[2], mean_wait(self.params, mix[1], mix[2]))
        return Prediction(m, a * q.bias + (1.0 - a) * cl_bias)

    def oracle_prediction(self) -> qos.Moments:
        """Exact moments of the sum-threshold oracle at W_l (Erlang-2 sums)."""
        return qos.sum_oracle_moments(self.oracle_t, self.params)


def _m(m: qos.Moments) -> tuple[float, float, float]:
    return m.p, m.e_r_x1x2, m.e_r_s


def paper_limit(params: SystemParams) -> float:
    """The workshop's operating point: the sum-threshold oracle's wait at C_t = C_min."""
    c = classical_minimum().c_t
    return qos.sum_oracle_moments(-math.log(c) / params.mu, params).wait


def _member(
    family: str, params: SystemParams, bins: int, store: dict[float, object]
) -> Callable[[float], qos.Moments]:
    """A family's member at C_t as moments, remembering the strategy played at each C_t."""
    last: dict[str, tuple[float, ...]] = {}
    edges = np.linspace(0.0, 1.0, bins + 1)

    def member(c: float) -> qos.Moments:
        if family == "classical":
            s = best_threshold_pair(c)
            store[c] = s
            return qos.threshold_pair_moments(s.alpha, s.beta, s.sign, params)
        if family == "optimal":
            b = bin_bounds(c, bins)
            store[c] = b
            corr = np.cos(b.phases_a[:, None] - b.phases_b[None, :])
            return qos.bin_moments(edges, edges, corr, params)
        s = optimize_angles(c, quadratic=family == "quadratic", starts=2, init=last.get("d"))
        last["d"] = s.coefficients
        store[c] = s
        return qos.relative_angle_moments(s.phases, params)

    return member


def _quantum_fields(family: str, strategy: object) -> dict[str, object]:
    """The profile fields that carry a quantum family's strategy."""
    empty = np.empty(0)
    optimal = family == "optimal"
    return {
        "coefficients": () if optimal else tuple(strategy.coefficients),  # type: ignore[attr-defined]
        "phases_a": strategy.phases_a if optimal else empty,  # type: ignore[attr-defined]
        "phases_b": strategy.phases_b if optimal else empty,  # type: ignore[attr-defined]
    }


def build_sum_threshold_profile(
    params: SystemParams,
    w_limit: float | None,
    family: str = "linear",
    bins: int = 64,
    *,
    expected_availability: float | None = None,
    expected_tensor: NDArray | None = None,
) -> SumThresholdProfile:
    """The profile at W_l (default :func:`paper_limit`): each family's least p meeting it.

    With ``expected_availability``/``expected_tensor`` (noise-aware placement) the quantum
    member is the one whose played mix (pairs of that tensor at that share of decisions,
    the classical pair otherwise, :meth:`SumThresholdProfile.predicted`) meets W_l.
    """
    if family not in FAMILIES:
        raise ValueError(f"game.quantum = {family!r} is not allowed: use one of {FAMILIES}")
    w_l = paper_limit(params) if w_limit is None else float(w_limit)
    aware = expected_availability is not None or expected_tensor is not None
    a = 1.0 if expected_availability is None else float(expected_availability)
    tensor = np.eye(2) if expected_tensor is None else np.asarray(expected_tensor, float)
    name = "classical"
    try:
        store: dict[float, object] = {}
        _, c_cl, _ = qos.family_p_at_limit(w_l, params, _member(name, params, bins, store), C_GRID)
        classical = store[c_cl]
        assert isinstance(classical, ThresholdPair)
        t = brentq(lambda t: qos.sum_oracle_moments(t, params).wait - w_l, 0.0, 200.0 / params.mu)
        base = SumThresholdProfile(
            params=params,
            w_limit=w_l,
            family=family,
            classical=classical,
            quantum_c_t=float(c_cl),
            coefficients=(0.0,),
            phases_a=np.empty(0),
            phases_b=np.empty(0),
            oracle_t=float(t),
            p_w_oracle=float(qos.oracle_p_at_limit(w_l, params, "w")),
            envelope=qos.envelope_at_limit(w_l, params),
            placement="noise_aware" if aware else "ideal",
            expected_availability=a,
            expected_tensor=tensor if aware else None,
        )
        name = family
        store = {}
        ideal = _member(family, params, bins, store)

        def member(c: float) -> qos.Moments:
            m = ideal(c)
            if not aware:
                return m
            placed = replace(base, quantum_c_t=c, **_quantum_fields(family, store[c]))
            return placed.predicted(a, tensor).moments

        _, c_q, _ = qos.family_p_at_limit(w_l, params, member, C_GRID)
    except ValueError as err:
        msg = str(err).replace("no strategy of the family", f"no strategy of the {name} family")
        if msg.startswith("w_l = "):
            msg = "game.w_limit_service_times = " + msg[len("w_l = ") :]
        raise ValueError(msg) from None
    return replace(base, quantum_c_t=float(c_q), **_quantum_fields(family, store[c_q]))
