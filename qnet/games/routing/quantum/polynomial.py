"""Polynomial measurement-angle strategies of the routing game and their values (App. D3).

Router A measures its half of the pair at angle θ_A(x1), router B at θ_B(x2); for a pair
with X-Z correlation tensor T, E[o_A o_B | x1, x2] = n(θ_A)ᵀ T n(θ_B) (D30 for T = I).
A = −E[o_A o_B w] (D32) and p = E[(1 − o_A o_B)/2] (D33) by an m-point Gauss–Laguerre
rule (D34-D35), with analytic gradients.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.special import roots_laguerre

from qnet.queues.model import SystemParams, splitting_benefit

__all__ = [
    "PolynomialStrategy",
    "QuantumGame",
    "canonical_gauge",
    "quantum_payoff",
    "quantum_splitting_probability",
]


@dataclass(frozen=True)
class PolynomialStrategy:
    """Measurement angles θ_A(x) = Σ a_k x^k, θ_B(x) = Σ b_k x^k in radians (paper D31)."""

    a: tuple[float, ...]
    b: tuple[float, ...]

    def __post_init__(self) -> None:
        a = tuple(float(v) for v in self.a)
        b = tuple(float(v) for v in self.b)
        if len(a) == 0 or len(a) != len(b):
            raise ValueError(
                f"strategy coefficients a and b must be non-empty and of equal length, "
                f"got len(a)={len(a)}, len(b)={len(b)}"
            )
        if not all(math.isfinite(v) for v in a + b):
            raise ValueError("strategy coefficients a, b must be finite")
        object.__setattr__(self, "a", a)
        object.__setattr__(self, "b", b)

    @property
    def degree(self) -> int:
        """Polynomial degree n of both angle functions."""
        return len(self.a) - 1

    def theta_a(self, x: ArrayLike) -> NDArray[np.float64]:
        """Router A's measurement angle θ_A(x) (D31)."""
        return np.polynomial.polynomial.polyval(np.asarray(x, dtype=float), self.a)

    def theta_b(self, x: ArrayLike) -> NDArray[np.float64]:
        """Router B's measurement angle θ_B(x) (D31)."""
        return np.polynomial.polynomial.polyval(np.asarray(x, dtype=float), self.b)

    def to_vector(self) -> NDArray[np.float64]:
        """Coefficients stacked as [a_0..a_n, b_0..b_n] (the optimizer's variable)."""
        return np.array(self.a + self.b, dtype=float)

    @classmethod
    def from_vector(cls, z: ArrayLike) -> PolynomialStrategy:
        """Inverse of :meth:`to_vector`."""
        z = np.asarray(z, dtype=float)
        if z.ndim != 1 or z.size % 2:
            raise ValueError(f"coefficient vector must be 1-D of even length, got {z.shape}")
        half = z.size // 2
        return cls(tuple(z[:half]), tuple(z[half:]))

    def with_degree(self, degree: int) -> PolynomialStrategy:
        """The same angle functions written with ``degree`` + 1 coefficients (zero-padded)."""
        if degree < self.degree:
            raise ValueError(f"degree must be >= {self.degree} to keep the strategy, got {degree}")
        pad = (0.0,) * (degree - self.degree)
        return PolynomialStrategy(self.a + pad, self.b + pad)

    def to_dict(self) -> dict[str, list[float]]:
        """Plain-JSON form ``{"a": [...], "b": [...]}``."""
        return {"a": list(self.a), "b": list(self.b)}


def canonical_gauge(strategy: PolynomialStrategy, game: QuantumGame) -> PolynomialStrategy:
    """Fix the common rotation θ → θ + c that leaves ideal and Werner payoffs unchanged.

    With T = v·I, E[o_A o_B] = v·cos(2(θ_A − θ_B)) (D30) is invariant under adding one
    constant c to both angle functions, so the optimum is degenerate and which c an
    optimizer returns depends on floating-point details (e.g. BLAS threads). Memory
    dephasing reduces only the XX entry of T, so this picks the c that keeps the
    measurements closest to Z: it maximizes E[cos 4θ_A(X)] + E[cos 4θ_B(X)] over
    X ~ Exp(mu) on the game's rule, c = −arg(E[e^{4iθ_A}] + E[e^{4iθ_B}])/4 (unique up to
    π/2, itself a symmetry: both outputs flip). Payoff and p are unchanged exactly.
    """
    z = np.sum(
        game.weights
        * (np.exp(4j * strategy.theta_a(game.nodes)) + np.exp(4j * strategy.theta_b(game.nodes)))
    )
    if abs(z) < 1e-12:
        return strategy
    c = -float(np.angle(z)) / 4.0
    a = (strategy.a[0] + c,) + strategy.a[1:]
    b = (strategy.b[0] + c,) + strategy.b[1:]
    return PolynomialStrategy(a, b)


def _check_tensor(correlation_tensor: ArrayLike) -> NDArray[np.float64]:
    t = np.array(correlation_tensor, dtype=float)  # a copy: the game freezes its arrays
    if t.shape != (2, 2) or not np.all(np.isfinite(t)):
        raise ValueError(
            f"correlation_tensor must be a finite 2x2 matrix (X-Z plane), got shape {t.shape}"
        )
    if np.linalg.norm(t, 2) > 1 + 1e-9:
        raise ValueError(
            "correlation_tensor must have spectral norm <= 1 (|E[o_A o_B]| <= 1), "
            f"got {np.linalg.norm(t, 2):.6g}"
        )
    return t


def _check_degree(degree: int) -> int:
    if isinstance(degree, bool) or int(degree) != degree or degree < 0:
        raise ValueError(f"degree must be an integer >= 0, got {degree!r}")
    return int(degree)


def _check_points(quadrature_points: int) -> int:
    if (
        isinstance(quadrature_points, bool)
        or not isinstance(quadrature_points, int | np.integer)
        or not 2 <= quadrature_points <= 400
    ):
        raise ValueError(
            f"quadrature_points must be an integer in [2, 400], got {quadrature_points!r}"
        )
    return int(quadrature_points)


class QuantumGame:
    """Fixed-rule payoff and splitting probability of polynomial strategies (D32–D35).

    Holds the m Gauss–Laguerre nodes x_i = y_i/μ and weights ω_i (D34), the Vandermonde
    matrix x_i^k, and W_ij = w(x_i, x_j) ω_i ω_j, π_ij = ω_i ω_j (D35). Immutable after
    construction; all methods are pure.
    """

    def __init__(
        self,
        params: SystemParams,
        degree: int = 2,
        quadrature_points: int = 60,
        correlation_tensor: ArrayLike = ((1.0, 0.0), (0.0, 1.0)),
    ) -> None:
        self.degree = _check_degree(degree)
        self.quadrature_points = _check_points(quadrature_points)
        self.params = params
        self.tensor = _check_tensor(correlation_tensor)
        y, omega = roots_laguerre(self.quadrature_points)
        x = y / params.mu
        self.nodes = x
        self.weights = omega
        self.vandermonde = x[:, None] ** np.arange(self.degree + 1)
        w = np.asarray(splitting_benefit(x[:, None], x[None, :], params))  # eq. 2
        self.W = w * np.outer(omega, omega)
        self.pi = np.outer(omega, omega)
        self._vt = np.ascontiguousarray(self.vandermonde.T)
        self._omega_k = np.column_stack((omega, omega * x))  # ω_i x_i^k, k = 0, 1
        self._cmat = np.array([[0.0, params.c2], [params.c2, params.c1]])
        for value in vars(self).values():
            if isinstance(value, np.ndarray):
                value.setflags(write=False)

    def _check_z(self, z: ArrayLike) -> NDArray[np.float64]:
        z = np.asarray(z, dtype=float)
        if z.shape != (2 * (self.degree + 1),):
            raise ValueError(
                f"coefficient vector has shape {z.shape}, game expects degree {self.degree} "
                f"(shape ({2 * (self.degree + 1)},))"
            )
        return z

    def evaluate(
        self, z: ArrayLike
    ) -> tuple[float, NDArray[np.float64], float, NDArray[np.float64]]:
        """Payoff A(a, b) (D32), its gradient, splitting probability p(a, b) (D33), its gradient.

        With E_ij = n(θ_A(x_i))ᵀ T n(θ_B(x_j)): A = −Σ_ij W_ij E_ij and
        p = (1 − Σ_ij π_ij E_ij)/2 (D35). Since W_ij = ω_i ω_j (c1 x_i x_j + c2 x_i + c2 x_j)
        (eq. 2) has rank three and π = ωωᵀ rank one, both sums are computed in O(m) from the
        per-router moments M[j, k] = Σ_i ω_i x_i^k n_j(θ(x_i)), k ∈ {0, 1}:
        Σ W E = Σ_jk (M_A)_jk (T M_B C)_jk with C = [[0, c2], [c2, c1]], Σ π E = M_A[:, 0]ᵀ T
        M_B[:, 0] (the tests check this against the explicit matrices). ∂/∂θ(x_i) uses
        dn/dθ = 2(−sin 2θ, cos 2θ); the chain rule to the coefficients is Vandermondeᵀ.
        """
        z = self._check_z(z)
        theta = z.reshape(2, self.degree + 1) @ self._vt  # rows θ_A(x_i), θ_B(x_i)
        cos, sin = np.cos(2 * theta), np.sin(2 * theta)
        mc, ms = cos @ self._omega_k, sin @ self._omega_k  # (router, k)
        ma = np.array((mc[0], ms[0]))  # (j, k) for router A
        mb = np.array((mc[1], ms[1]))
        t, cmat, omk = self.tensor, self._cmat, self._omega_k
        tmb, ttma = t @ mb, t.T @ ma
        ga, gb = tmb @ cmat, ttma @ cmat
        corr_w = float(np.sum(ma * ga))
        corr = float(ma[:, 0] @ tmb[:, 0])
        qa, qb = omk @ ga.T, omk @ gb.T  # (m, j)
        omega = omk[:, 0]
        d_w = np.array(
            (cos[0] * qa[:, 1] - sin[0] * qa[:, 0], cos[1] * qb[:, 1] - sin[1] * qb[:, 0])
        )
        d_c = omega * np.array(
            (cos[0] * tmb[1, 0] - sin[0] * tmb[0, 0], cos[1] * ttma[1, 0] - sin[1] * ttma[0, 0])
        )
        grad_w = 2 * (d_w @ self.vandermonde).ravel()
        grad_c = 2 * (d_c @ self.vandermonde).ravel()
        return -corr_w, -grad_w, 0.5 * (1.0 - corr), -0.5 * grad_c

    def payoff_and_gradient(self, z: ArrayLike) -> tuple[float, NDArray[np.float64]]:
        """Payoff A(a, b) = −Σ W_ij E_ij (D32 with D35) and ∂A/∂(a, b)."""
        val, grad, _, _ = self.evaluate(z)
        return val, grad

    def splitting_and_gradient(self, z: ArrayLike) -> tuple[float, NDArray[np.float64]]:
        """Splitting probability p(a, b) = (1 − Σ π_ij E_ij)/2 (D33 with D35) and ∂p/∂(a, b)."""
        _, _, val, grad = self.evaluate(z)
        return val, grad

    def correlation_sinusoid(self, z: ArrayLike) -> tuple[float, float]:
        """(α, β) with Σ π_ij E_ij = α cos 2s + β sin 2s after shifting a_0 by s."""
        z = np.array(self._check_z(z))
        e0 = 1.0 - 2.0 * self.evaluate(z)[2]
        z[0] += math.pi / 4
        e1 = 1.0 - 2.0 * self.evaluate(z)[2]
        return e0, e1


def quantum_payoff(
    strategy: PolynomialStrategy,
    params: SystemParams,
    quadrature_points: int = 60,
    correlation_tensor: ArrayLike = ((1.0, 0.0), (0.0, 1.0)),
) -> float:
    """Game payoff A = −E[E(o_A o_B | X1, X2) w(X1, X2)] by Gauss–Laguerre (paper D32, D35)."""
    game = QuantumGame(params, strategy.degree, quadrature_points, correlation_tensor)
    return game.payoff_and_gradient(strategy.to_vector())[0]


def quantum_splitting_probability(
    strategy: PolynomialStrategy,
    params: SystemParams,
    quadrature_points: int = 60,
    correlation_tensor: ArrayLike = ((1.0, 0.0), (0.0, 1.0)),
) -> float:
    """Splitting probability p = E[(1 − E(o_A o_B | X1, X2))/2] by Gauss–Laguerre (paper D33)."""
    game = QuantumGame(params, strategy.degree, quadrature_points, correlation_tensor)
    return game.splitting_and_gradient(strategy.to_vector())[0]
