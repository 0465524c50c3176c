"""Quantum strategies of the sum-threshold game (QuNet'25 Section 4.4) and its bounds.

Conventions. The paper shares |ψ−⟩ = (|01⟩ − |10⟩)/√2 and measures in the X–Y plane at
Bloch angle φ, n(φ) = (cos φ, sin φ, 0): E[o_A o_B] = −cos(φ_A − φ_B), a function of the
relative angle Δ = φ_A − φ_B only. The stack shares Φ+ and measures cos 2θ Z + sin 2θ X
(:func:`qnet.physics.noise.measurement_observable`): E = cos 2(θ_A − θ_B). The two agree
for every input under θ_A = φ_A/2 + π/2, θ_B = φ_B/2 (:func:`stack_angles`), since
cos(φ_A − φ_B + π) = −cos(φ_A − φ_B). :func:`paper_correlation` evaluates the paper's
side from the 4 × 4 matrices, independently of the stack's closed form.

Values. A relative angle Δ(a, b) wins with probability P = 1/2 + E[R·(−cos Δ)]/2, computed
by Gauss–Legendre quadrature split on the boundary b*(a) = 1 − C_t/(1 − a), so the
discontinuous rule costs no accuracy. The linear family Δ = d0 + d1 a + d2 b (eq. 6) and
the separable quadratic one (+ d3 a² + d4 b²) are optimized with BFGS from several starts.
The best quantum value over all strategies is bracketed in :mod:`.bounds`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.optimize import minimize

from qnet.games.sum_threshold.classical import check_c_t

__all__ = [
    "PAPER_LINEAR",
    "AngleStrategy",
    "boundary_quadrature",
    "optimize_angles",
    "paper_correlation",
    "relative_angle_bias",
    "stack_angles",
    "win_probability",
]

#: Paper's linear coefficients (eq. 6), used as one of the optimizer's starts.
PAPER_LINEAR = (3.709, -2.760, -2.759)


# ------------------------------------------------------------------------------ conventions
_X = np.array([[0, 1], [1, 0]], dtype=complex)
_Y = np.array([[0, -1j], [1j, 0]], dtype=complex)


def paper_correlation(phi_a: ArrayLike, phi_b: ArrayLike) -> NDArray[np.float64]:
    """E[o_A o_B] on |ψ−⟩ measured along (cos φ, sin φ, 0) on each side (paper Section 4.4)."""
    psi = np.array([0, 1, -1, 0], dtype=complex) / math.sqrt(2.0)
    rho = np.outer(psi, psi.conj())
    pa, pb = np.broadcast_arrays(np.asarray(phi_a, float), np.asarray(phi_b, float))
    out = np.empty(pa.shape)
    for k in np.ndindex(pa.shape):
        oa = math.cos(pa[k]) * _X + math.sin(pa[k]) * _Y
        ob = math.cos(pb[k]) * _X + math.sin(pb[k]) * _Y
        out[k] = float(np.real(np.trace(rho @ np.kron(oa, ob))))
    return out


def stack_angles(phi_a: ArrayLike, phi_b: ArrayLike) -> tuple[NDArray, NDArray]:
    """Stack angles (θ_A, θ_B) on Φ+ in the X–Z plane with the same correlations as (φ_A, φ_B)."""
    return 0.5 * np.asarray(phi_a, float) + 0.5 * math.pi, 0.5 * np.asarray(phi_b, float)


# -------------------------------------------------------------------------------- quadrature
@lru_cache(maxsize=8)
def _nodes(c: float, order: int) -> tuple[NDArray, NDArray, NDArray]:
    """(a, b, signed weight w·R) of a Gauss–Legendre rule exact on each side of b*(a)."""
    x, w = np.polynomial.legendre.leggauss(order)
    x, w = 0.5 * (x + 1.0), 0.5 * w

    def seg(lo: NDArray | float, hi: NDArray | float) -> tuple[NDArray, NDArray]:
        lo_, hi_ = np.asarray(lo)[..., None], np.asarray(hi)[..., None]
        return lo_ + (hi_ - lo_) * x, (hi_ - lo_) * w

    cut = 1.0 - c  # a > 1 − C_t: the whole column is split
    a_lo, wa_lo = seg(0.0, cut)
    a_hi, wa_hi = seg(cut, 1.0)
    bstar = 1.0 - c / (1.0 - a_lo)
    parts_a, parts_b, parts_w = [], [], []
    for lo, hi, sign in ((0.0, bstar, 1.0), (bstar, 1.0, -1.0)):
        bb, wb = seg(lo, hi)  # shape (order, order): per a-node
        parts_a.append(np.broadcast_to(a_lo[:, None], bb.shape).ravel())
        parts_b.append(bb.ravel())
        parts_w.append((sign * wa_lo[:, None] * wb).ravel())
    bb, wb = seg(0.0, 1.0)
    parts_a.append(np.repeat(a_hi, order))
    parts_b.append(np.tile(bb, order))
    parts_w.append(-np.outer(wa_hi, wb).ravel())
    out = (np.concatenate(parts_a), np.concatenate(parts_b), np.concatenate(parts_w))
    for arr in out:  # cached: shared between calls, so read-only
        arr.setflags(write=False)
    return out


def boundary_quadrature(c_t: float, order: int = 48) -> tuple[NDArray, NDArray, NDArray]:
    """Nodes (a, b) and signed weights w·R(a, b): Σ w·E(a, b) = E[R·E] for smooth E (eq. 4)."""
    return _nodes(check_c_t(c_t), order)


def relative_angle_bias(coeffs: ArrayLike, c_t: float, order: int = 48) -> float:
    """E[R·(−cos Δ)] for Δ = d0 + d1 a + d2 b (+ d3 a² + d4 b²) on |ψ−⟩ (paper eq. 6)."""
    d = np.asarray(coeffs, dtype=float)
    if d.shape not in ((3,), (5,)):
        raise ValueError(f"coefficients must be [d0, d1, d2] or [d0..d4], got shape {d.shape}")
    a, b, w = _nodes(check_c_t(c_t), order)
    delta = d[0] + d[1] * a + d[2] * b
    if d.size == 5:
        delta = delta + d[3] * a * a + d[4] * b * b
    return float(np.dot(w, -np.cos(delta)))


def win_probability(coeffs: ArrayLike, c_t: float) -> float:
    """P_win = (1 + E[R·(−cos Δ)])/2 of a relative-angle strategy (paper eq. 6)."""
    return 0.5 * (1.0 + relative_angle_bias(coeffs, c_t))


@dataclass(frozen=True)
class AngleStrategy:
    """An optimized relative-angle family at one C_t.

    Attributes:
        c_t: the game's constant.
        coefficients: [d0, d1, d2] (linear) or [d0, d1, d2, d3, d4] (quadratic), paper's
            |ψ−⟩/X–Y convention, Δ = φ_A(a) − φ_B(b) with φ_A = d0 + d1 a + d3 a²,
            φ_B = −d2 b − d4 b².
        bias: E[R·(−cos Δ)].
    """

    c_t: float
    coefficients: tuple[float, ...]
    bias: float

    @property
    def win_probability(self) -> float:
        """(1 + β)/2."""
        return 0.5 * (1.0 + self.bias)

    def phases(self, a: ArrayLike, b: ArrayLike) -> tuple[NDArray, NDArray]:
        """Paper-convention Bloch angles (φ_A(a), φ_B(b)) in the X–Y plane."""
        d = list(self.coefficients) + [0.0] * (5 - len(self.coefficients))
        a_, b_ = np.asarray(a, float), np.asarray(b, float)
        return d[0] + d[1] * a_ + d[3] * a_ * a_, -(d[2] * b_ + d[4] * b_ * b_)


def optimize_angles(
    c_t: float,
    quadratic: bool = False,
    starts: int = 8,
    seed: int = 0,
    init: ArrayLike | None = None,
) -> AngleStrategy:
    """Best linear (or separable quadratic) relative angle (eq. 6) by BFGS from several starts.

    Starts: ``init`` (e.g. the optimum at a neighbouring C_t) or the paper's coefficients,
    then ``starts − 1`` uniform draws in [−4, 4] from ``seed``.
    """
    c = check_c_t(c_t)
    size = 5 if quadratic else 3
    rng = np.random.default_rng(seed)
    first = np.zeros(size)
    given = np.asarray(PAPER_LINEAR if init is None else init, dtype=float)
    first[: min(size, given.size)] = given[:size]
    inits = [first]
    inits += [rng.uniform(-4.0, 4.0, size) for _ in range(max(starts - 1, 0))]
    best: tuple[float, NDArray] | None = None
    for z0 in inits:
        res = minimize(
            lambda z: -relative_angle_bias(z, c), z0, method="BFGS", options={"gtol": 1e-10}
        )
        if best is None or -res.fun > best[0]:
            best = (float(-res.fun), res.x)
    assert best is not None
    d = best[1].copy()
    d[0] = d[0] % (2.0 * math.pi)  # Δ is defined modulo 2π
    return AngleStrategy(c, tuple(float(v) for v in d), relative_angle_bias(d, c))
