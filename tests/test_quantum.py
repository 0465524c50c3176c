"""Tests for routing quantum: polynomial measurement-angle strategies (paper App. D3, D30–D35)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import integrate

from qnet.games.routing.oracle import oracle_payoff
from qnet.games.routing.quantum import (
    VALIDATION_TOL,
    PolynomialStrategy,
    QuantumGame,
    adaptive_evaluation,
    optimize_quantum,
    quantum_payoff,
    quantum_splitting_probability,
)
from qnet.queues.model import SystemParams, mean_splitting_benefit

PAPER = SystemParams(lam=0.8, mu=1.0, alpha=0.5)


@pytest.fixture(scope="module")
def optimum_02() -> object:
    """Degree-2 optimum at p = 0.2 with the paper's settings (m = 60, 20 restarts, seed 1)."""
    return optimize_quantum(0.2, PAPER)


def test_degree0_closed_form() -> None:
    """Constant angles: E[o_A o_B] = cos 2(a0 − b0) for every input, so A = −cos(2Δ) E[w] and
    p = (1 − cos 2Δ)/2 exactly, with E[w] = c1/μ² + 2c2/μ (eq. 2). Both the fixed rule and
    the adaptive evaluation must reproduce this to rounding (1e-12) resp. their 1e-8 target;
    μ = 1.5 checks the node scaling x = y/μ."""
    params = SystemParams(lam=0.9, mu=1.5)
    s = PolynomialStrategy((0.3,), (-0.1,))
    ew = params.c1 / params.mu**2 + 2 * params.c2 / params.mu
    expected_a = -math.cos(0.8) * ew
    expected_p = (1 - math.cos(0.8)) / 2
    assert quantum_payoff(s, params) == pytest.approx(expected_a, abs=1e-12)
    assert quantum_splitting_probability(s, params) == pytest.approx(expected_p, abs=1e-12)
    ad = adaptive_evaluation(s, params)
    assert ad.reliable
    assert ad.payoff == pytest.approx(expected_a, abs=1e-8)
    assert ad.splitting_probability == pytest.approx(expected_p, abs=1e-8)


def _born_rule_correlation(rho: np.ndarray, theta_a: float, theta_b: float) -> float:
    """E[o_A o_B] from projectors: each router measures cos2θ Z + sin2θ X (architecture.md)."""
    z = np.diag([1.0, -1.0])
    x = np.array([[0.0, 1.0], [1.0, 0.0]])
    obs_a = math.cos(2 * theta_a) * z + math.sin(2 * theta_a) * x
    obs_b = math.cos(2 * theta_b) * z + math.sin(2 * theta_b) * x
    total = 0.0
    for oa in (1, -1):
        for ob in (1, -1):
            proj = np.kron((np.eye(2) + oa * obs_a) / 2, (np.eye(2) + ob * obs_b) / 2)
            total += oa * ob * float(np.real(np.trace(rho @ proj)))
    return total


def test_general_tensor_matches_born_rule() -> None:
    """For a dephased, partly depolarized Φ+ (not a multiple of I), the game's correlation
    n(θ_A)ᵀ T n(θ_B), read off a degree-0 payoff as E = −A/E[w], equals the Born-rule value
    computed from projectors, with T_ij = Tr(ρ σ_i ⊗ σ_j), σ = (Z, X). Also checks D30:
    for Φ+ the correlation is cos 2(θ_A − θ_B)."""
    phi = np.array([1.0, 0.0, 0.0, 1.0]) / math.sqrt(2)
    bell = np.outer(phi, phi)
    zz = np.kron(np.diag([1.0, -1.0]), np.diag([1.0, -1.0]))
    rho = 0.9 * (0.7 * bell + 0.3 * zz @ bell @ zz) + 0.1 * np.eye(4) / 4  # dephase + depol.
    paulis = (np.diag([1.0, -1.0]), np.array([[0.0, 1.0], [1.0, 0.0]]))
    t = np.array([[np.trace(rho @ np.kron(si, sj)).real for sj in paulis] for si in paulis])
    ew = mean_splitting_benefit(PAPER)
    for theta_a, theta_b in [(0.2, -0.5), (1.1, 0.3), (-0.7, 2.0)]:
        s = PolynomialStrategy((theta_a,), (theta_b,))
        game_corr = -quantum_payoff(s, PAPER, correlation_tensor=t) / ew
        assert game_corr == pytest.approx(_born_rule_correlation(rho, theta_a, theta_b), abs=1e-12)
        ideal = -quantum_payoff(s, PAPER) / ew
        assert ideal == pytest.approx(math.cos(2 * (theta_a - theta_b)), abs=1e-12)


def test_gradients_match_finite_differences() -> None:
    """Analytic ∂A/∂(a,b) and ∂p/∂(a,b) equal central differences (step 1e-6, truncation
    error ~1e-12 · third derivative) to 1e-6 relative, for a non-symmetric T."""
    t = np.array([[0.8, 0.1], [-0.05, 0.6]])
    game = QuantumGame(PAPER, degree=2, quadrature_points=40, correlation_tensor=t)
    z = np.array([0.3, -0.4, 0.03, -0.2, 0.5, -0.02])
    _, ga, _, gp = game.evaluate(z)
    h = 1e-6
    for k in range(z.size):
        e = np.zeros_like(z)
        e[k] = h
        plus, minus = game.evaluate(z + e), game.evaluate(z - e)
        assert ga[k] == pytest.approx((plus[0] - minus[0]) / (2 * h), rel=1e-6, abs=1e-8)
        assert gp[k] == pytest.approx((plus[2] - minus[2]) / (2 * h), rel=1e-6, abs=1e-8)


def test_optimum_at_paper_point(optimum_02) -> None:
    """At p = 0.2 (λ = 0.8, μ = 1): the optimum meets the constraint exactly (after the a_0
    polish), passes validation, lies strictly between the best constant-angle payoff
    −(1 − 2p)E[w] and the oracle A*(p), and has the value the paper's Fig. 3 implies:
    ΔWq_qu = (A* − A)/2 ≈ 0.28 (A ≈ 0.1076; 1e-4 covers optimizer noise)."""
    res = optimum_02
    assert res.converged
    assert res.splitting_probability == pytest.approx(0.2, abs=1e-10)
    assert abs(res.payoff - res.payoff_adaptive) <= VALIDATION_TOL
    assert res.adaptive_error <= 1e-8
    constant = -(1 - 2 * 0.2) * mean_splitting_benefit(PAPER)
    oracle = oracle_payoff(0.2, PAPER).value
    assert constant + 1.0 < res.payoff_adaptive < oracle - 0.5
    assert res.payoff_adaptive == pytest.approx(0.10757, abs=1e-4)
    assert (oracle - res.payoff_adaptive) / 2 == pytest.approx(0.2804, abs=1e-3)


def test_optimum_is_reproducible_and_degree_monotone(optimum_02) -> None:
    """Same seed, same numbers; a degree-1 optimum is never better than degree 2 (degree 2
    contains degree 1), and degree 2 warm-started from degree 1 reaches the same optimum."""
    again = optimize_quantum(0.2, PAPER)
    assert again.payoff_adaptive == optimum_02.payoff_adaptive
    assert again.strategy == optimum_02.strategy
    lin = optimize_quantum(0.2, PAPER, degree=1, restarts=10)
    assert lin.payoff_adaptive <= optimum_02.payoff_adaptive + 1e-9
    warm = optimize_quantum(
        0.2, PAPER, degree=2, restarts=0, warm_start=lin.strategy, structured_start=False
    )
    assert warm.payoff_adaptive == pytest.approx(optimum_02.payoff_adaptive, abs=1e-7)


def test_warm_start_from_neighbouring_p() -> None:
    """Warm-starting at p = 0.21 from the optimum at p = 0.2 with no random restarts finds
    the same optimum as 20 seeded restarts (to 1e-7)."""
    base = optimize_quantum(0.2, PAPER, restarts=8)
    cold = optimize_quantum(0.21, PAPER)
    warm = optimize_quantum(
        0.21, PAPER, restarts=0, warm_start=base.strategy, structured_start=False
    )
    assert warm.restarts == 1
    assert warm.payoff_adaptive == pytest.approx(cold.payoff_adaptive, abs=1e-7)


def test_adaptive_matches_two_dimensional_quadrature() -> None:
    """adaptive_evaluation factorizes the double integrals into 1-D moments; a plain 2-D
    scipy dblquad of D32/D33 on [0, 40]² (truncation ≤ 41 e^{-40} ≈ 2e-16) must agree to
    1e-8. Strategy: the p = 0.3 optimum (θ_A ~ −0.062 x², so cos 2Δ oscillates)."""
    s = PolynomialStrategy((-1.295, -0.565, 0.062), (-1.695, 0.565, -0.062))
    t = np.array([[0.9, 0.0], [0.0, 0.7]])
    ad = adaptive_evaluation(s, PAPER, correlation_tensor=t)

    def corr(x1: float, x2: float) -> float:
        na = np.array([math.cos(2 * s.theta_a(x1)), math.sin(2 * s.theta_a(x1))])
        nb = np.array([math.cos(2 * s.theta_b(x2)), math.sin(2 * s.theta_b(x2))])
        return float(na @ t @ nb)

    def payoff_integrand(x2: float, x1: float) -> float:
        w = PAPER.c1 * x1 * x2 + PAPER.c2 * (x1 + x2)
        return -math.exp(-x1 - x2) * corr(x1, x2) * w

    def split_integrand(x2: float, x1: float) -> float:
        return math.exp(-x1 - x2) * (1 - corr(x1, x2)) / 2

    a2d = integrate.dblquad(payoff_integrand, 0, 40, 0, 40, epsabs=1e-10, epsrel=1e-10)[0]
    p2d = integrate.dblquad(split_integrand, 0, 40, 0, 40, epsabs=1e-10, epsrel=1e-10)[0]
    assert ad.reliable
    assert ad.payoff == pytest.approx(a2d, abs=1e-8)
    assert ad.splitting_probability == pytest.approx(p2d, abs=1e-8)


def test_monte_carlo_replay_of_strategy_outcomes(optimum_02) -> None:
    """Sample the game itself: X1, X2 ~ Exp(μ), o_A uniform ±1 (a maximally entangled pair
    has uniform marginals), o_B = o_A with probability (1 + E)/2, E = cos 2(θ_A − θ_B) (D30).
    The sample means of −o_A o_B w and 1{o_A ≠ o_B} must match the adaptive payoff and the
    splitting probability within 4 standard errors (two-sided failure prob. ≈ 6e-5 each).
    N = 4·10^5, seeded SeedSequence(20261124)."""
    s = optimum_02.strategy
    rng = np.random.default_rng(np.random.SeedSequence(20261124))
    n = 400_000
    x1, x2 = rng.exponential(1 / PAPER.mu, n), rng.exponential(1 / PAPER.mu, n)
    e = np.cos(2 * (s.theta_a(x1) - s.theta_b(x2)))
    o_a = rng.choice(np.array([-1, 1]), n)
    o_b = np.where(rng.random(n) < (1 + e) / 2, o_a, -o_a)
    w = PAPER.c1 * x1 * x2 + PAPER.c2 * (x1 + x2)
    g = -(o_a * o_b) * w
    split = (o_a != o_b).astype(float)
    assert abs(g.mean() - optimum_02.payoff_adaptive) < 4 * g.std(ddof=1) / math.sqrt(n)
    assert abs(split.mean() - 0.2) < 4 * split.std(ddof=1) / math.sqrt(n)
    assert abs(np.mean(o_a == 1) - 0.5) < 4 * 0.5 / math.sqrt(n)  # servers stay balanced


def test_fixed_rule_is_wrong_for_large_coefficients() -> None:
    """θ = ±3x²: cos 2Δ oscillates far faster than 60 Laguerre nodes resolve; the fixed
    rule's payoff and p differ from the adaptive (reliable, 1e-8) values by > 1e-3 — far
    beyond VALIDATION_TOL, so such an optimum would be rejected."""
    s = PolynomialStrategy((0.0, 0.0, 3.0), (0.0, 0.0, -3.0))
    ad = adaptive_evaluation(s, PAPER)
    assert ad.reliable
    assert abs(quantum_payoff(s, PAPER) - ad.payoff) > 1e-3
    assert abs(quantum_splitting_probability(s, PAPER) - ad.splitting_probability) > 1e-3


def test_rejection_triggers_and_wide_starts_miss() -> None:
    """Without the structured start, wide random starts (start_scale = 10: |a_2| up to 1.1)
    end in fixed-rule artefacts: with a coarse 10-point rule and with the paper's 60-point
    rule, at least 5 distinct optima are rejected by the adaptive check, and the result is
    the exact constant-angle fallback (converged False, payoff −(1 − 2p)E[w]). From the
    documented starts (start_scale = 0.5) the 10-point rule finds the true optimum (1e-4)."""
    constant = -(1 - 2 * 0.2) * mean_splitting_benefit(PAPER)
    for m in (10, 60):
        wide = optimize_quantum(
            0.2, PAPER, quadrature_points=m, start_scale=10.0, structured_start=False
        )
        assert wide.rejected >= 5
        assert not wide.converged
        assert wide.strategy.degree == 2 and wide.strategy.a[1:] == (0.0, 0.0)
        assert wide.payoff_adaptive == pytest.approx(constant, abs=1e-8)
    narrow = optimize_quantum(
        0.2, PAPER, quadrature_points=10, start_scale=0.5, structured_start=False
    )
    assert narrow.converged
    assert narrow.payoff_adaptive == pytest.approx(0.10757, abs=1e-4)


def test_bogus_warm_start_is_rejected() -> None:
    """A warm start with large coefficients, optimized on a 10-point rule, ends in an
    artefact optimum: it is rejected (rejected == 1) rather than reported."""
    bogus = PolynomialStrategy((0.0, 0.0, 3.0), (0.0, 0.0, -3.0))
    res = optimize_quantum(
        0.2, PAPER, quadrature_points=10, restarts=0, warm_start=bogus, structured_start=False
    )
    assert res.rejected == 1 and not res.converged
    assert abs(res.payoff - res.payoff_adaptive) <= VALIDATION_TOL


def test_werner_pair_limits_reachable_p() -> None:
    """With T = v·I every correlation is scaled by v: a constant-angle strategy's payoff is
    v times the ideal one, and p < (1 − v)/2 is unreachable (clear error naming p)."""
    v = 0.8
    s = PolynomialStrategy((0.4,), (0.0,))
    assert quantum_payoff(s, PAPER, correlation_tensor=v * np.eye(2)) == pytest.approx(
        v * quantum_payoff(s, PAPER), abs=1e-12
    )
    res = optimize_quantum(0.3, PAPER, correlation_tensor=v * np.eye(2), restarts=5)
    assert res.converged and res.splitting_probability == pytest.approx(0.3, abs=1e-10)
    with pytest.raises(ValueError, match=r"p=0\.05 is out of reach"):
        optimize_quantum(0.05, PAPER, correlation_tensor=v * np.eye(2), restarts=3)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"p": 0.0}, r"p \(splitting probability\) must lie in the open interval \(0, 1\)"),
        ({"p": 1.2}, r"p \(splitting probability\) must lie in the open interval"),
        ({"p": float("nan")}, r"p \(splitting probability\)"),
        ({"degree": -1}, r"degree must be an integer >= 0, got -1"),
        ({"quadrature_points": 1}, r"quadrature_points must be an integer in \[2, 400\]"),
        ({"restarts": -2}, r"restarts must be an integer >= 0"),
        ({"restarts": 0, "structured_start": False}, r"restarts must be >= 1 when there is no"),
        ({"correlation_tensor": np.eye(3)}, r"correlation_tensor must be a finite 2x2"),
        ({"correlation_tensor": 2 * np.eye(2)}, r"correlation_tensor must have spectral norm"),
        ({"start_scale": 0.0}, r"start_scale must be > 0"),
    ],
)
def test_bad_parameters(kwargs: dict, match: str) -> None:
    """Each bad argument fails with one ValueError naming it and its allowed range."""
    args = {"p": 0.2, "params": PAPER, "restarts": 1} | kwargs
    with pytest.raises(ValueError, match=match):
        optimize_quantum(**args)


def test_strategy_validation() -> None:
    """PolynomialStrategy refuses mismatched or non-finite coefficients."""
    with pytest.raises(ValueError, match="equal length"):
        PolynomialStrategy((0.1, 0.2), (0.3,))
    with pytest.raises(ValueError, match="must be finite"):
        PolynomialStrategy((float("inf"),), (0.0,))
    s = PolynomialStrategy((0.1, 0.2), (0.3, 0.4))
    assert PolynomialStrategy.from_vector(s.to_vector()) == s
    assert s.with_degree(3).a == (0.1, 0.2, 0.0, 0.0)


def test_prebuilt_game_must_match() -> None:
    """A reused QuantumGame must have been built for the requested settings."""
    game = QuantumGame(PAPER, degree=2, quadrature_points=60)
    res = optimize_quantum(0.2, PAPER, restarts=2, game=game)
    assert res.converged
    with pytest.raises(ValueError, match="game was built for different"):
        optimize_quantum(0.2, PAPER, restarts=1, game=game, correlation_tensor=0.9 * np.eye(2))
    with pytest.raises(ValueError, match="game was built for different"):
        optimize_quantum(0.2, SystemParams(lam=0.5), restarts=1, game=game)


def test_fast_evaluation_equals_explicit_d35_matrices() -> None:
    """QuantumGame.evaluate uses the rank-3 factorization of W and rank-1 π; it must equal
    −Σ W_ij E_ij and (1 − Σ π_ij E_ij)/2 built from the explicit D35 matrices, with
    W_ij = w(x_i, x_j) ω_i ω_j from qnet.queues.model.splitting_benefit (eq. 2), for a
    non-symmetric T (rounding-level agreement, 1e-12)."""
    from qnet.queues.model import splitting_benefit

    t = np.array([[0.7, -0.2], [0.1, 0.9]])
    params = SystemParams(lam=0.6, mu=1.3)
    game = QuantumGame(params, degree=3, quadrature_points=30, correlation_tensor=t)
    x, omega = game.nodes, game.weights
    w_matrix = splitting_benefit(x[:, None], x[None, :], params) * np.outer(omega, omega)
    np.testing.assert_allclose(game.W, w_matrix, rtol=1e-14)
    z = np.array([0.2, -0.3, 0.05, -0.004, -0.1, 0.25, -0.02, 0.001])
    th_a = np.polynomial.polynomial.polyval(x, z[:4])
    th_b = np.polynomial.polynomial.polyval(x, z[4:])
    na = np.stack([np.cos(2 * th_a), np.sin(2 * th_a)], axis=1)
    nb = np.stack([np.cos(2 * th_b), np.sin(2 * th_b)], axis=1)
    e = na @ t @ nb.T
    payoff, _, split, _ = game.evaluate(z)
    assert payoff == pytest.approx(-np.sum(w_matrix * e), abs=1e-12)
    assert split == pytest.approx(0.5 * (1 - np.sum(np.outer(omega, omega) * e)), abs=1e-12)


def test_fixed_rule_converges_to_adaptive_value() -> None:
    """For the p = 0.3 optimum (θ ~ −0.062x²) the fixed-rule error shrinks as m grows
    (60 → 200 points) and stays within VALIDATION_TOL of the adaptive value."""
    s = PolynomialStrategy((-1.295, -0.565, 0.062), (-1.695, 0.565, -0.062))
    exact = adaptive_evaluation(s, PAPER).payoff
    errors = [abs(quantum_payoff(s, PAPER, m) - exact) for m in (60, 200)]
    assert errors[1] < errors[0] < VALIDATION_TOL


def test_canonical_gauge_is_a_symmetry_and_unique() -> None:
    """Adding one constant to both angle functions leaves v·cos(2(θ_A − θ_B)) unchanged (D30),
    so payoff and p are the same to rounding; every such rotation of a strategy maps to
    the same canonical one (so the plan no longer depends on the optimizer's float path,
    e.g. BLAS threads), and that one keeps the measurements closest to Z.
    """
    from qnet.games.routing.quantum import canonical_gauge

    game = QuantumGame(PAPER, degree=2, quadrature_points=60)
    s = PolynomialStrategy((0.3, -0.2, 0.05), (-0.4, 0.25, -0.03))
    canon = canonical_gauge(s, game)
    for c in (0.0, 0.1, -0.7, 1.3):
        shifted = PolynomialStrategy((s.a[0] + c,) + s.a[1:], (s.b[0] + c,) + s.b[1:])
        assert quantum_payoff(shifted, PAPER) == pytest.approx(quantum_payoff(s, PAPER), abs=1e-12)
        assert quantum_splitting_probability(shifted, PAPER) == pytest.approx(
            quantum_splitting_probability(s, PAPER), abs=1e-12
        )
        other = canonical_gauge(shifted, game)
        # canonical up to the pi/2 symmetry (both outputs flip, product unchanged)
        d = (other.a[0] - canon.a[0]) / (np.pi / 2)
        assert abs(d - round(d)) < 1e-9
        assert other.a[1:] == pytest.approx(canon.a[1:]) and other.b[0] - other.a[0] == (
            pytest.approx(canon.b[0] - canon.a[0])
        )

    def z_weight(t: PolynomialStrategy) -> float:
        return float(
            np.sum(
                game.weights
                * (np.cos(4 * t.theta_a(game.nodes)) + np.cos(4 * t.theta_b(game.nodes)))
            )
        )

    assert all(
        z_weight(canon)
        >= z_weight(
            PolynomialStrategy((canon.a[0] + c,) + canon.a[1:], (canon.b[0] + c,) + canon.b[1:])
        )
        - 1e-12
        for c in np.linspace(-0.8, 0.8, 33)
    )
