"""Adaptive-quadrature re-evaluation of a polynomial strategy's payoff and splitting
probability (the check that a fixed-rule optimum is not an artefact between its nodes)."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import integrate

from qnet.games.routing.quantum.polynomial import PolynomialStrategy, _check_tensor
from qnet.queues.model import SystemParams

__all__ = [
    "ADAPTIVE_TOL",
    "AdaptiveEvaluation",
    "adaptive_evaluation",
]


#: Adaptive re-evaluation target: absolute error of payoff and splitting probability.
ADAPTIVE_TOL = 1e-8
_TAIL_Y = 45.0  # adaptive integrals run over y = μx ∈ [0, 45]; tail mass ≤ e^{-45}·46 ≈ 1e-18


@dataclass(frozen=True)
class AdaptiveEvaluation:
    """Payoff and splitting probability by adaptive quadrature, with an error bound.

    Attributes:
        payoff: A = −E[E(o_A o_B | X1, X2) w(X1, X2)] (D32).
        splitting_probability: p = E[(1 − E(o_A o_B | X1, X2))/2] (D33).
        error_bound: bound on the absolute error of both numbers: the integrator's error
            estimates propagated through the products, plus the analytically bounded tail.
        reliable: False when an adaptive integration reported non-convergence or the
            bound exceeds the requested tolerance; the values are then not trustworthy.
    """

    payoff: float
    splitting_probability: float
    error_bound: float
    reliable: bool


@dataclass(frozen=True)
class _Moments:
    """I[m] = E[X^m n(θ(X))] ∈ R², m ∈ {0, 1}, X ~ Exp(μ), with absolute errors."""

    value: NDArray[np.float64]  # (2, 2): rows m = 0, 1; columns (cos, sin)
    error: NDArray[np.float64]
    ok: bool

    def rotated(self, shift: float) -> _Moments:
        """Moments of θ + shift: n(θ + s) = Rot(2s) n(θ), so I → Rot(2s) I."""
        c, s = math.cos(2 * shift), math.sin(2 * shift)
        rot = np.array([[c, -s], [s, c]])
        return _Moments(self.value @ rot.T, self.error @ np.abs(rot).T, self.ok)


def _moments(coeffs: tuple[float, ...], mu: float, tol: float) -> _Moments:
    """I[m, j] = E[X^m n_j(θ(X))] for X ~ Exp(μ), m ∈ {0, 1}, by adaptive quadrature.

    Integrates e^{−y} (y/μ)^m n_j(θ(y/μ)) over y ∈ [0, 45] with :func:`scipy.integrate.quad`
    on pieces that each hold about eight oscillations of cos 2θ (so strategies with large
    coefficients stay integrable or are flagged); the tail beyond y = 45 is bounded by
    e^{−45}·46/μ^m.
    """
    coeffs_rev = tuple(reversed(coeffs))

    def theta(y: float) -> float:
        x = y / mu
        acc = 0.0
        for c in coeffs_rev:  # Horner
            acc = acc * x + c
        return acc

    grid = np.linspace(0.0, _TAIL_Y, 4097)
    phase = 2 * np.polynomial.polynomial.polyval(grid / mu, coeffs)
    turns = np.concatenate([[0.0], np.cumsum(np.abs(np.diff(phase)))]) / (2 * math.pi)
    pieces = int(min(max(turns[-1] / 8, 1), 400))
    edges = np.interp(np.linspace(0.0, turns[-1], pieces + 1), turns, grid)
    edges[0], edges[-1] = 0.0, _TAIL_Y
    piece_tol = tol / pieces
    integrands = (
        lambda y: math.exp(-y) * math.cos(2 * theta(y)),
        lambda y: math.exp(-y) * math.sin(2 * theta(y)),
        lambda y: math.exp(-y) * (y / mu) * math.cos(2 * theta(y)),
        lambda y: math.exp(-y) * (y / mu) * math.sin(2 * theta(y)),
    )
    out = np.zeros(4)
    err = np.zeros(4)
    ok = True
    for k, f in enumerate(integrands):
        for lo, hi in zip(edges[:-1], edges[1:], strict=True):
            res = integrate.quad(f, lo, hi, epsabs=piece_tol, epsrel=0.0, limit=200, full_output=1)
            out[k] += res[0]
            err[k] += res[1]
            ok = ok and len(res) == 3  # quad appends a message only when it did not converge
    tail = math.exp(-_TAIL_Y) * (_TAIL_Y + 1)
    err += tail * np.array([1.0, 1.0, 1.0 / mu, 1.0 / mu])
    return _Moments(out.reshape(2, 2), err.reshape(2, 2), ok)


def _combine(
    ia: _Moments, ib: _Moments, params: SystemParams, t: NDArray[np.float64], tol: float
) -> AdaptiveEvaluation:
    """Payoff and splitting probability from the one-dimensional moments of both routers."""
    c1, c2 = params.c1, params.c2
    a, b = ia.value, ib.value
    # E[E w] = Σ_jk T_jk (c1 IA1_j IB1_k + c2 IA1_j IB0_k + c2 IA0_j IB1_k)   (eq. 2)
    corr_w = float(c1 * a[1] @ t @ b[1] + c2 * a[1] @ t @ b[0] + c2 * a[0] @ t @ b[1])
    corr = float(a[0] @ t @ b[0])
    # First-order error propagation: |xy − x̂ŷ| ≤ |δx|(|ŷ| + |δy|) + |x̂||δy|.
    tabs = np.abs(t)
    ea, eb = ia.error, ib.error
    aa, ab = np.abs(a), np.abs(b) + eb

    def prod_err(i: int, j: int) -> float:
        return float(ea[i] @ tabs @ ab[j] + aa[i] @ tabs @ eb[j])

    err_w = c1 * prod_err(1, 1) + c2 * prod_err(1, 0) + c2 * prod_err(0, 1)
    err_p = 0.5 * prod_err(0, 0)
    bound = max(err_w, err_p)
    return AdaptiveEvaluation(
        payoff=-corr_w,
        splitting_probability=0.5 * (1.0 - corr),
        error_bound=bound,
        reliable=bool(ia.ok and ib.ok and bound <= tol),
    )


def adaptive_evaluation(
    strategy: PolynomialStrategy,
    params: SystemParams,
    correlation_tensor: ArrayLike = ((1.0, 0.0), (0.0, 1.0)),
    tol: float = ADAPTIVE_TOL,
) -> AdaptiveEvaluation:
    """Payoff (D32) and splitting probability (D33) by adaptive quadrature to ``tol``.

    Because w(x1, x2) = c1 x1 x2 + c2 (x1 + x2) (eq. 2) and E[o_A o_B | x1, x2] =
    Σ_jk T_jk n_j(θ_A(x1)) n_k(θ_B(x2)) are both sums of products, each double integral
    factorizes into one-dimensional moments I[m, j] = E[X^m n_j(θ(X))], m ∈ {0, 1},
    which :func:`scipy.integrate.quad` evaluates adaptively (see :func:`_moments`).
    """
    t = _check_tensor(correlation_tensor)
    if not tol > 0:
        raise ValueError(f"tol must be > 0, got {tol!r}")
    ia = _moments(strategy.a, params.mu, tol / 40)
    ib = _moments(strategy.b, params.mu, tol / 40)
    return _combine(ia, ib, params, t, tol)
