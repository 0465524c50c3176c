"""Noise-aware strategies: the best shared-randomness mix of quantum and classical
strategies at target p for pairs of visibility eta found with availability a (eqs. N1-N3)."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from qnet.games.routing.classical import (
    ThresholdStrategy,
)
from qnet.games.routing.noise_aware.hull import _XTOL, _Hull, _minkowski, _upper_hull
from qnet.games.routing.noise_aware.reference import (
    NoiseReference,
    QuantumCurve,
    _check_target,
    _check_unit,
    _isotropic_curve,
    effective_visibility,
)
from qnet.games.routing.optimal import LineStrategy
from qnet.games.routing.quantum import PolynomialStrategy
from qnet.physics.noise import availability_mix

__all__ = [
    "Component",
    "MixedStrategy",
    "noise_aware_strategy",
    "noisy_quantum_payoff",
    "retained_advantage",
]


@dataclass(frozen=True)
class Component:
    """One deterministic-angle or threshold strategy inside a shared-randomness mixture.

    Attributes:
        weight: probability (shared random number) of playing it within its branch.
        kind: "quantum" (measure the pair at polynomial or line-family angles) or
            "classical" (threshold pair, pair unused).
        splitting_probability: its p on the pair actually held (eq. N1 for quantum).
        payoff: its game payoff on that pair (eq. D32 × η, or D7).
        strategy: the angles (D31, or a line strategy) or the thresholds (C1).
        ideal_splitting_probability: p'' of the angles on an ideal pair (quantum only).
    """

    weight: float
    kind: str
    splitting_probability: float
    payoff: float
    strategy: PolynomialStrategy | LineStrategy | ThresholdStrategy
    ideal_splitting_probability: float | None = None

    def to_dict(self) -> dict[str, object]:
        """Plain-JSON form."""
        s = self.strategy
        strat = (
            s.to_dict()
            if isinstance(s, PolynomialStrategy | LineStrategy)
            else {"theta_a": s.theta_a, "theta_b": s.theta_b, "orientation": s.orientation}
        )
        return {
            "weight": self.weight,
            "kind": self.kind,
            "splitting_probability": self.splitting_probability,
            "payoff": self.payoff,
            "ideal_splitting_probability": self.ideal_splitting_probability,
            "strategy": strat,
        }


@dataclass(frozen=True)
class MixedStrategy:
    """Noise-aware routing at a target p: what to do with and without a pair (eqs. N2, N3).

    Attributes:
        p: splitting probability of the whole mix (equals the target).
        payoff: A_mix = a A_with_pair + (1 − a) A_fallback (eq. N2).
        visibility, effective_visibility, availability, readout_error_a, readout_error_b:
            the pair model (η = v (1 − 2e_A)(1 − 2e_B)).
        with_pair: the mixture played when a pair is available (weights sum to 1; empty
            when a = 0).
        fallback: the classical mixture played otherwise, with a shared random bit
            flipping both outputs (empty when a = 1).
        tensor: X–Z correlation tensor T of the pair the mix was chosen for (readout
            included); visibility and effective_visibility are NaN for a general T.
    """

    p: float
    payoff: float
    visibility: float
    effective_visibility: float
    availability: float
    readout_error_a: float
    readout_error_b: float
    with_pair: tuple[Component, ...]
    fallback: tuple[Component, ...]
    tensor: NDArray[np.float64] | None = None

    @property
    def with_pair_p(self) -> float:
        """Splitting probability of the with-pair branch."""
        return float(sum(c.weight * c.splitting_probability for c in self.with_pair))

    @property
    def fallback_p(self) -> float:
        """Splitting probability of the fallback branch."""
        return float(sum(c.weight * c.splitting_probability for c in self.fallback))

    def to_dict(self) -> dict[str, object]:
        """Plain-JSON form."""
        return {
            "p": self.p,
            "payoff": self.payoff,
            "visibility": self.visibility,
            "effective_visibility": self.effective_visibility,
            "availability": self.availability,
            "readout_error_a": self.readout_error_a,
            "readout_error_b": self.readout_error_b,
            "with_pair": [c.to_dict() for c in self.with_pair],
            "fallback": [c.to_dict() for c in self.fallback],
            "tensor": None if self.tensor is None else np.asarray(self.tensor).tolist(),
        }


def _hulls(ref: NoiseReference, curve: QuantumCurve) -> tuple[_Hull, _Hull]:
    """(F, G): hull of the curve's quantum points and the classical points; classical hull."""
    f = _upper_hull(
        np.concatenate([curve.p, ref.classical_p]),
        np.concatenate([curve.payoff, ref.classical_payoff]),
    )
    g = _upper_hull(ref.classical_p, ref.classical_payoff)
    nq = curve.p.size
    return f, _Hull(g.x, g.y, tuple(nq + k for k in g.label))


def _component(
    ref: NoiseReference, curve: QuantumCurve, hull: _Hull, k: int, weight: float
) -> Component:
    nq = curve.p.size
    label = hull.label[k]
    x, y = float(hull.x[k]), float(hull.y[k])
    if label < nq:
        ideal = None if curve.ideal_p is None else float(curve.ideal_p[label])
        return Component(weight, "quantum", x, y, curve.strategies[label], ideal)
    return Component(weight, "classical", x, y, ref.classical_strategies[label - nq])


def _mixture(
    ref: NoiseReference, curve: QuantumCurve, hull: _Hull, p: float
) -> tuple[Component, ...]:
    i, j, w = hull.segment(p)
    if i == j or w >= 1.0:
        return (_component(ref, curve, hull, i, 1.0),)
    if w <= 0.0:
        return (_component(ref, curve, hull, j, 1.0),)
    return (_component(ref, curve, hull, i, w), _component(ref, curve, hull, j, 1.0 - w))


def _branch_value(components: tuple[Component, ...]) -> tuple[float, float]:
    pay = sum(c.weight * c.payoff for c in components)
    split = sum(c.weight * c.splitting_probability for c in components)
    return float(pay), float(split)


def _best_mix(
    ref: NoiseReference, p: float, curve: QuantumCurve, a: float
) -> tuple[tuple[Component, ...], tuple[Component, ...]]:
    """Argmax of (N3): the with-pair and fallback mixtures."""
    f, g = _hulls(ref, curve)
    if a >= 1.0:
        return _mixture(ref, curve, f, p), ()
    if a <= 0.0:
        return (), _mixture(ref, curve, g, p)
    xs, _, idx = _minkowski(a, f, g)
    k = int(np.searchsorted(xs, p, side="right")) - 1
    k = min(max(k, 0), len(xs) - 1)
    if k < len(xs) - 1 and abs(xs[k + 1] - p) <= _XTOL:
        k += 1
    if k == len(xs) - 1 or abs(p - xs[k]) <= _XTOL:
        i, j = idx[k]
        return _mixture(ref, curve, f, float(f.x[i])), _mixture(ref, curve, g, float(g.x[j]))
    (i0, j0), (i1, _) = idx[k], idx[k + 1]
    if i1 != i0:  # an edge of F: the fallback sits at G's vertex j0
        pc = float(g.x[j0])
        pq = (p - (1.0 - a) * pc) / a
    else:  # an edge of G: the with-pair branch sits at F's vertex i0
        pq = float(f.x[i0])
        pc = (p - a * pq) / (1.0 - a)
    return _mixture(ref, curve, f, pq), _mixture(ref, curve, g, pc)


def noise_aware_strategy(
    ref: NoiseReference,
    p: float,
    visibility: float = 1.0,
    availability: float = 1.0,
    readout_error_a: float = 0.0,
    readout_error_b: float = 0.0,
    *,
    curve: QuantumCurve | None = None,
) -> MixedStrategy:
    """Best mix of quantum angles and classical fallback hitting p exactly (eqs. N1–N3).

    The pair is a Werner pair of the given visibility read out with errors e_A, e_B
    (T = η·I), or, when ``curve`` is given (:func:`quantum_curve` for any tensor T, e.g.
    a dephased pair), the pair that curve was computed for; visibility and readout errors
    must then be left at their defaults (T already includes them).
    """
    p = _check_target(p)
    a = _check_unit("availability", availability)
    if curve is None:
        v = _check_unit("visibility", visibility)
        eta = effective_visibility(v, readout_error_a, readout_error_b)
        curve = _isotropic_curve(ref, eta)
    else:
        if visibility != 1.0 or readout_error_a != 0.0 or readout_error_b != 0.0:
            raise ValueError(
                "visibility and readout errors must be left at 1 and 0 when a curve is given "
                "(its tensor T already includes them)"
            )
        v = eta = math.nan
    with_pair, fallback = _best_mix(ref, p, curve, a)
    aq, pq = _branch_value(with_pair) if with_pair else (0.0, 0.0)
    ac, pc = _branch_value(fallback) if fallback else (0.0, 0.0)
    payoff, split = availability_mix(a, aq, pq, ac, pc)
    return MixedStrategy(
        p=split,
        payoff=payoff,
        visibility=v,
        effective_visibility=eta,
        availability=a,
        readout_error_a=float(readout_error_a),
        readout_error_b=float(readout_error_b),
        with_pair=with_pair,
        fallback=fallback,
        tensor=curve.tensor,
    )


def noisy_quantum_payoff(ref: NoiseReference, p: float, eta: float) -> float:
    """Best pure-quantum payoff at p on a pair of effective visibility η, no mixing (N1).

    η·Q(p'') with p'' = 1/2 − (1 − 2p)/(2η) (linear between grid strategies, i.e. their
    shared-randomness mixture); NaN when |1 − 2p| > η (p out of reach of the pair).
    At η = 1 this is the ideal frontier's quantum payoff at p exactly.
    """
    p = _check_target(p)
    eta = _check_unit("eta", eta)
    if eta == 1.0:
        pp = p
    elif eta == 0.0 or (1.0 - 2.0 * p) > eta:
        return math.nan
    else:
        pp = 0.5 - (1.0 - 2.0 * p) / (2.0 * eta)
    if pp > ref.quantum_p[-1] + _XTOL:
        return math.nan
    return float(eta * np.interp(pp, ref.quantum_p, ref.quantum_payoff))


def _ideal_advantage(ref: NoiseReference, p: float) -> tuple[float, float]:
    """(V(p; 1, 1), C(p))."""
    return noise_aware_strategy(ref, p).payoff, ref.certified_envelope(p)


def retained_advantage(
    ref: NoiseReference,
    p: float,
    visibility: float,
    availability: float = 1.0,
    readout_error_a: float = 0.0,
    readout_error_b: float = 0.0,
) -> float:
    """Retained advantage (V(p; η, a) − C(p))⁺ / (V(p; 1, 1) − C(p)); NaN if no ideal one."""
    ideal, bench = _ideal_advantage(ref, p)
    if ideal - ref.quantum_error <= bench:
        return math.nan
    noisy = noise_aware_strategy(ref, p, visibility, availability, readout_error_a, readout_error_b)
    return max(0.0, noisy.payoff - bench) / (ideal - bench)
