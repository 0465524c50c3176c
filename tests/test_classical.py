"""Routing game, classical: thresholds (D2-D24), Prop. 7 certificates, Thm 9 envelope."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import integrate

from qnet.games.routing.classical import (
    ClassicalCertificate,
    ThresholdStrategy,
    best_classical_value_at_half,
    certified_classical_bound,
    certified_classical_curve,
    certified_envelope_bound,
    certify_envelope,
    classical_envelope,
    lagrangian_value,
    reduced_payoff,
    reduced_payoff_derivative,
    theta_b_on_constraint,
    theta_min,
    threshold_moment_derivatives,
    threshold_moments,
    threshold_payoff,
    threshold_splitting_probability,
)
from qnet.games.routing.oracle import oracle_payoff
from qnet.queues.model import SystemParams, mean_splitting_benefit, splitting_benefit

PAPER = SystemParams(lam=0.8, mu=1.0, alpha=0.5, phi_max=1.0)
OTHER = SystemParams(lam=1.1, mu=2.0, alpha=0.3, phi_max=2.5)


# ---------------------------------------------------------------- D2-D8


@pytest.mark.parametrize("theta", [0.0, 0.3, 1.0, 2.7])
def test_threshold_moments_against_quadrature(theta):
    """D0 = E[f_theta(X)], D1 = E[f_theta(X) X] by quad of the Exp(mu) density (D2-D6)."""
    mu = OTHER.mu

    def moment(k: int) -> float:
        below = integrate.quad(lambda x: x**k * mu * math.exp(-mu * x), 0, theta)[0]
        above = integrate.quad(lambda x: x**k * mu * math.exp(-mu * x), theta, math.inf)[0]
        return below - above

    d0, d1 = threshold_moments(theta, OTHER)
    assert d0 == pytest.approx(moment(0), abs=1e-12)
    assert d1 == pytest.approx(moment(1), abs=1e-12)
    # D22-D23 against forward differences (one-sided so that theta = 0 works), h = 1e-7
    d0p, d1p = threshold_moment_derivatives(theta, OTHER)
    h = 1e-7
    f0, f1 = threshold_moments(theta, OTHER)
    g0, g1 = threshold_moments(theta + h, OTHER)
    assert d0p == pytest.approx((g0 - f0) / h, rel=1e-5)
    assert d1p == pytest.approx((g1 - f1) / h, abs=1e-5)


def test_constant_routers_are_the_extended_thresholds():
    """theta = inf: always +1, (D0, D1) = (1, 1/mu); theta = 0: always -1, (-1, -1/mu)."""
    assert threshold_moments(math.inf, OTHER) == (1.0, 1.0 / OTHER.mu)
    assert threshold_moments(0.0, OTHER) == (-1.0, -1.0 / OTHER.mu)
    assert threshold_moment_derivatives(math.inf, OTHER) == (0.0, 0.0)
    with pytest.raises(ValueError, match=r"theta must lie in \[0, inf\]"):
        threshold_moments(-0.5, OTHER)


@pytest.mark.parametrize(
    "strategy",
    [
        ThresholdStrategy(1.2, 0.7, 1),
        ThresholdStrategy(0.4, 2.0, -1),
        ThresholdStrategy(1.6094379124341003, math.inf, 1),
    ],
)
def test_payoff_and_split_probability_against_monte_carlo(strategy):
    """D7 and D8 against a seeded simulation of the two routers (10^6 pairs).

    Bound 4 SE on the payoff (false failure ~6e-5) and 4 sqrt(p(1-p)/n) on the split rate.
    """
    rng = np.random.default_rng(np.random.SeedSequence(31337).spawn(1)[0])
    n = 1_000_000
    x1, x2 = rng.exponential(1 / PAPER.mu, size=n), rng.exponential(1 / PAPER.mu, size=n)
    oa, ob = strategy.outputs(x1, x2)
    vals = -(oa * ob) * splitting_benefit(x1, x2, PAPER)
    se = vals.std(ddof=1) / math.sqrt(n)
    assert abs(vals.mean() - strategy.payoff(PAPER)) < 4 * se
    p = strategy.splitting_probability(PAPER)
    assert abs((oa * ob == -1).mean() - p) < 4 * math.sqrt(p * (1 - p) / n)


def test_orientation_flips_payoff_and_product():
    """o_B -> -o_B negates the payoff and maps p -> 1 - p (eqs. D7, D8)."""
    a = threshold_payoff(0.8, 1.3, PAPER, 1)
    b = threshold_payoff(0.8, 1.3, PAPER, -1)
    assert b == pytest.approx(-a, rel=1e-15)
    pa = threshold_splitting_probability(0.8, 1.3, PAPER, 1)
    assert threshold_splitting_probability(0.8, 1.3, PAPER, -1) == pytest.approx(1 - pa)
    with pytest.raises(ValueError, match=r"orientation must be \+1 or -1"):
        threshold_payoff(0.8, 1.3, PAPER, 0)


# ---------------------------------------------------------------- D10-D24


def test_constraint_curve_d10_d13():
    """theta_B(theta_A) satisfies D8 = p on the whole curve, including both ends:
    theta_min -> inf (router B constant) and inf -> theta_min (D12)."""
    p = 0.23
    tmin = theta_min(p, PAPER)
    assert tmin == pytest.approx(-math.log(p))
    ta = np.concatenate([[tmin], tmin + np.geomspace(1e-8, 20, 200), [math.inf]])
    tb = np.asarray(theta_b_on_constraint(ta, p, PAPER))
    assert tb[0] == math.inf and tb[-1] == pytest.approx(tmin, rel=1e-14)
    np.testing.assert_allclose(threshold_splitting_probability(ta, tb, PAPER), p, atol=1e-13)
    with pytest.raises(ValueError, match=r"theta_a must be >= theta_min"):
        theta_b_on_constraint(tmin - 0.1, p, PAPER)
    with pytest.raises(ValueError, match=r"p must lie in \(0, 1/2\)"):
        theta_min(0.6, PAPER)


@pytest.mark.parametrize("p", [0.05, 0.2, 0.4])
def test_reduced_payoff_derivative_d19_d24_against_finite_differences(p):
    """dA~/dtheta_A (D19-D24) against central differences, h = 1e-5 (error ~h^2 A''' ~1e-9)."""
    tmin = theta_min(p, OTHER)
    ta = tmin + np.array([0.01, 0.3, 1.0, 4.0])
    h = 1e-5
    fd = (np.asarray(reduced_payoff(ta + h, p, OTHER)) - reduced_payoff(ta - h, p, OTHER)) / (2 * h)
    np.testing.assert_allclose(reduced_payoff_derivative(ta, p, OTHER), fd, rtol=1e-6, atol=1e-8)
    # Remark 8: the derivative diverges at theta_min
    assert math.isinf(reduced_payoff_derivative(tmin, p, OTHER))


# ---------------------------------------------------------------- tight certificate


def _brute_force(p: float, prm: SystemParams, n: int = 400_001) -> tuple[float, tuple]:
    """Dense search over every threshold pair on the constraint, constant routers included.

    theta_A runs over u_A = e^{-mu theta_A} on a uniform grid of [0, 1] (so theta_A = inf
    and theta_A = 0 are included) plus the exact end points of every branch; for each
    orientation s, theta_B is the unique solution of s D0_A D0_B = 1 - 2p when it exists.
    Payoffs come from the theta-parametrized D7 (a different code path from the
    certificate's D0-parametrization). Returns (max, argmax (theta_A, theta_B, s)).
    """
    mu = prm.mu
    ua = np.unique(np.concatenate([np.linspace(0, 1, n), [p, 1 - p, 0.5]]))
    with np.errstate(divide="ignore"):
        theta_a = np.where(ua > 0, -np.log(np.where(ua > 0, ua, 1.0)) / mu, math.inf)
    d0a = 1 - 2 * ua
    best, arg = -math.inf, None
    for s in (1, -1):
        ok = np.abs(d0a) >= abs(1 - 2 * p)
        ok &= d0a != 0
        d0b = s * (1 - 2 * p) / d0a[ok]
        ub = np.clip((1 - d0b) / 2, 0, 1)
        with np.errstate(divide="ignore"):
            theta_b = np.where(ub > 0, -np.log(np.where(ub > 0, ub, 1.0)) / mu, math.inf)
        vals = np.asarray(threshold_payoff(theta_a[ok], theta_b, prm, s))
        i = int(np.argmax(vals))
        if vals[i] > best:
            best, arg = float(vals[i]), (float(theta_a[ok][i]), float(theta_b[i]), s)
    return best, arg


@pytest.mark.parametrize("prm", [PAPER, OTHER])
@pytest.mark.parametrize("p", [0.01, 0.1, 0.15, 0.19, 0.2, 0.3, 0.35, 0.45, 0.7])
def test_tight_certificate_is_sound_and_tight(prm, p):
    """Sound: bound >= the brute-force maximum (never below a feasible strategy's value).
    Tight: slack <= 0.003 (in fact <= 1e-6, the branch-and-bound tolerance plus rounding),
    and the best value found is at least the brute force's (up to the B&B tolerance)."""
    cert = certified_classical_bound(p, prm)
    brute, _ = _brute_force(p, prm)
    assert cert.bound >= brute
    assert cert.best_value >= brute - 2e-7
    assert cert.slack <= 0.003 and cert.slack <= 1e-6
    # the reported thresholds attain the reported value at the requested p
    strat = cert.strategy
    assert strat.payoff(prm) == pytest.approx(cert.best_value, abs=1e-12)
    assert strat.splitting_probability(prm) == pytest.approx(p, abs=1e-12)


def test_optimum_moves_to_the_constant_router_boundary():
    """At lam=0.8 the best pair is interior for p <= 0.19 (one threshold grows without bound
    as p -> 0.1957) and is the constant-router strategy (theta_min, inf) from p ~ 0.196 on.
    Proposition 7's grid [theta_min + eps, 12] cannot contain it there."""
    for p in (0.1, 0.15, 0.17):
        cert = certified_classical_bound(p, PAPER)
        assert not cert.on_boundary and cert.best_value > cert.boundary_value + 1e-6
    assert max(certified_classical_bound(0.18, PAPER).theta_a, 0) > 12.0  # beyond theta_max
    for p in (0.2, 0.25, 0.3, 0.35, 0.45):
        cert = certified_classical_bound(p, PAPER)
        assert cert.on_boundary and cert.theta_b == math.inf
        assert cert.theta_a == pytest.approx(theta_min(p, PAPER), rel=1e-12)
        assert cert.best_value == pytest.approx(cert.boundary_value, abs=1e-12)


def test_value_at_half_is_exact():
    """A_cl*(1/2) = (ln 2/mu)(c1/mu + c2): one router at its median, the other constant."""
    value, strat = best_classical_value_at_half(OTHER)
    mu = OTHER.mu
    assert value == pytest.approx(math.log(2) / mu * (OTHER.c1 / mu + OTHER.c2), rel=1e-15)
    assert strat.payoff(OTHER) == pytest.approx(value, rel=1e-14)
    assert strat.splitting_probability(OTHER) == pytest.approx(0.5, abs=1e-15)
    cert = certified_classical_bound(0.5, OTHER)
    assert cert.best_value == value and cert.slack < 1e-10
    # continuity from below, and the brute force cannot beat it
    assert certified_classical_bound(0.5 - 1e-7, OTHER).best_value == pytest.approx(value, abs=1e-5)
    assert _brute_force(0.5, OTHER)[0] <= value + 1e-12


def test_oracle_dominates_every_classical_bound():
    """A*(p) >= A_cl*(p): the oracle sees both inputs (Thm 5), checked on the frontier grid."""
    ps = np.round(np.arange(1, 100) * 0.01, 6)
    bounds = np.array([c.bound for c in certified_classical_curve(ps, PAPER)])
    assert np.all(oracle_payoff(ps, PAPER).value >= bounds - 1e-9)


# ---------------------------------------------------------------- paper certificate


def test_paper_certificate_reproduces_proposition_7():
    """Prop. 7 recomputed by hand: grid theta_min + eps + k delta, k = 0..499 up to theta_max,
    A_grid = max A~ on it, L = max |dA~/dtheta| sampled 10x finer (checked by finite
    differences to 1e-3), bound = A_grid + L delta/2, D27 flag as defined."""
    p, eps = 0.1, 0.01
    cert = certified_classical_bound(p, PAPER, method="paper", epsilon=eps)
    assert isinstance(cert, ClassicalCertificate) and cert.method == "paper"
    tmin = -math.log(p)
    delta = (12.0 - tmin - eps) / 499
    grid = tmin + eps + delta * np.arange(500)
    vals = np.asarray(reduced_payoff(grid, p, PAPER))
    assert cert.delta == pytest.approx(delta, rel=1e-12)
    assert cert.best_value == pytest.approx(vals.max(), abs=1e-15)
    fine = np.linspace(tmin + eps, 12.0, 4991)
    h = 1e-6
    fd = np.abs(np.asarray(reduced_payoff(fine + h, p, PAPER)) - reduced_payoff(fine - h, p, PAPER))
    assert cert.lipschitz == pytest.approx(fd.max() / (2 * h), rel=1e-3)
    assert cert.bound == pytest.approx(vals.max() + cert.lipschitz * delta / 2, rel=1e-15)
    assert cert.slack == pytest.approx(cert.lipschitz * delta / 2, rel=1e-12)
    assert cert.d27_holds is bool(vals[0] < vals.max() and vals[-1] < vals.max())
    assert cert.d27_holds is True
    assert cert.theta_a == pytest.approx(grid[np.argmax(vals)])
    # the paper bound is above the true value here, but far looser than the tight one
    tight = certified_classical_bound(p, PAPER)
    assert cert.bound >= tight.bound and cert.slack > 100 * tight.slack


def test_paper_certificate_d27_fails_once_the_optimum_leaves_the_grid():
    """From p = 0.18 the best pair lies beyond theta_max or at theta_min (boundary), so
    the maximum sits at the grid's end and D27 (Prop. 7's hypothesis) fails."""
    assert certified_classical_bound(0.15, PAPER, method="paper").d27_holds
    for p in (0.18, 0.2, 0.3):
        assert not certified_classical_bound(p, PAPER, method="paper").d27_holds


def test_paper_certificate_refuses_what_it_does_not_cover():
    with pytest.raises(ValueError, match=r"p must lie in \(0, 1/2\)"):
        certified_classical_bound(0.6, PAPER, method="paper")
    with pytest.raises(ValueError, match=r"epsilon must be a finite number > 0"):
        certified_classical_bound(0.2, PAPER, method="paper", epsilon=0.0)
    with pytest.raises(ValueError, match=r"theta_max must exceed theta_min \+ epsilon"):
        certified_classical_bound(0.2, PAPER, method="paper", theta_max=1.0)
    with pytest.raises(ValueError, match=r"grid_points must be an integer >= 2"):
        certified_classical_bound(0.2, PAPER, method="paper", grid_points=1)


@pytest.mark.parametrize("bad", [0.0, 1.0, -0.2, 1.5, math.nan])
def test_p_outside_open_unit_interval_is_refused(bad):
    with pytest.raises(ValueError, match=r"p must lie in the open interval \(0, 1\)"):
        certified_classical_bound(bad, PAPER)


def test_unknown_method_is_refused():
    with pytest.raises(ValueError, match=r"method must be 'tight' or 'paper'"):
        certified_classical_bound(0.2, PAPER, method="grid")  # type: ignore[arg-type]


# ---------------------------------------------------------------- envelope (Thm 9)


def _is_concave(x: np.ndarray, y: np.ndarray, tol: float = 1e-12) -> bool:
    slopes = np.diff(y) / np.diff(x)
    return bool(np.all(np.diff(slopes) <= tol))


def test_envelope_is_concave_dominates_and_has_exact_end_points():
    """conc over [0, 1/2]: concave, >= every input value, equal to it at hull vertices;
    end points A(0) = -E[w] (always bunch), A(1/2) = (ln 2/mu)(c1/mu + c2)."""
    ps = np.round(np.arange(1, 100) * 0.005, 6)
    certs = certified_classical_curve(ps, PAPER)
    best = np.array([c.best_value for c in certs])
    env = classical_envelope(ps, best, PAPER, [c.strategy for c in certs])
    assert np.all(env.envelope >= best - 1e-15)
    assert _is_concave(env.hull_p, env.hull_values)
    full_p = np.concatenate([[0.0], ps, [0.5]])
    full = np.concatenate([[env.hull_values[0]], env.envelope, [env.hull_values[-1]]])
    assert _is_concave(full_p, full)
    assert env.hull_p[0] == 0.0 and env.hull_values[0] == -mean_splitting_benefit(PAPER)
    assert env.hull_p[-1] == 0.5
    assert env.hull_values[-1] == best_classical_value_at_half(PAPER)[0]


def test_envelope_mixture_is_playable_and_attains_the_envelope():
    """A dented input: the envelope lifts it; at each p the two strategies mixed with the
    reported weight have mean splitting probability p and mean payoff = envelope."""
    ps = np.array([0.05, 0.1, 0.15, 0.2, 0.25, 0.3])
    certs = certified_classical_curve(ps, PAPER)
    strats = [c.strategy for c in certs]
    vals = np.array([c.best_value for c in certs])
    vals[2] -= 0.2  # pretend p = 0.15 were bad: it must be replaced by a mixture
    strats[2] = ThresholdStrategy(math.inf, math.inf, 1)  # never played
    env = classical_envelope(ps, vals, PAPER, strats)
    assert env.envelope[2] > vals[2] + 0.1
    assert env.left_p[2] < 0.15 < env.right_p[2] and 0 < env.weight[2] < 1
    for i in range(ps.size):
        w, ls, rs = env.weight[i], env.left_strategy[i], env.right_strategy[i]
        mix_p = w * ls.splitting_probability(PAPER) + (1 - w) * rs.splitting_probability(PAPER)
        mix_v = w * ls.payoff(PAPER) + (1 - w) * rs.payoff(PAPER)
        assert mix_p == pytest.approx(ps[i], abs=1e-12)
        assert mix_v == pytest.approx(env.envelope[i], abs=1e-12)


def test_envelope_input_validation():
    with pytest.raises(ValueError, match=r"p_grid must lie in \[0, 1/2\]"):
        classical_envelope([0.2, 0.7], [0.0, 1.0], PAPER)
    with pytest.raises(ValueError, match=r"same shape"):
        classical_envelope([0.2, 0.3], [0.0], PAPER)
    with pytest.raises(ValueError, match=r"one entry per p"):
        classical_envelope([0.2], [0.0], PAPER, strategies=[])


# ---------------------------------------------------------------- dual certificate of Thm 9


def test_abs_affine_mean_closed_form():
    """E|alpha X + beta| for X ~ Exp(mu) (the best response's value) against quad."""
    from qnet.games.routing.classical.envelope import _abs_affine_mean

    mu = OTHER.mu
    for alpha, beta in [(1.3, -0.7), (-1.3, 0.7), (0.4, 0.2), (-0.4, -0.2), (0.0, -0.5)]:
        root = -beta / alpha if alpha and -beta / alpha > 0 else 0.0

        def f(x, a=alpha, b=beta):
            return abs(a * x + b) * mu * math.exp(-mu * x)

        ref = integrate.quad(f, 0, root)[0] + integrate.quad(f, root, math.inf)[0]
        got = float(_abs_affine_mean(np.array(alpha), np.array(beta), mu))
        assert got == pytest.approx(ref, abs=1e-10)


@pytest.mark.parametrize("slope", [-2.0, 0.0, 3.0, 7.74, 20.0])
def test_lagrangian_value_bounds_every_threshold_pair(slope):
    """G(b) >= A(sigma) - b p(sigma) for every deterministic pair on a dense 2-D grid of
    (theta_A, theta_B) in [0, inf]^2 (u-grid, constant routers included), both
    orientations, and is attained up to the grid's resolution (5e-4)."""
    u = np.linspace(0, 1, 801)
    with np.errstate(divide="ignore"):
        th = np.where(u > 0, -np.log(np.where(u > 0, u, 1.0)), math.inf)
    ta, tb = np.meshgrid(th, th)
    best = -math.inf
    for s in (1, -1):
        val = np.asarray(threshold_payoff(ta, tb, PAPER, s)) - slope * np.asarray(
            threshold_splitting_probability(ta, tb, PAPER, s)
        )
        best = max(best, float(val.max()))
    g = lagrangian_value(slope, PAPER)
    assert g >= best
    assert g <= best + 5e-4


def test_dual_bound_covers_mixtures_off_the_grid_and_above_half():
    """Any two deterministic strategies mixed to mean p (shared randomness, Def. 4) stay
    below G(b) + b p for any b; here p = 0.2 with partners from (0, 0.2) and (0.2, 0.9)."""
    p = 0.2
    lows = certified_classical_curve(np.linspace(0.01, 0.19, 10), PAPER)
    highs = certified_classical_curve(np.linspace(0.21, 0.9, 12), PAPER)
    bound = certified_envelope_bound(p, 7.74, PAPER)
    for lo in lows:
        for hi in highs:
            w = (hi.p - p) / (hi.p - lo.p)
            assert w * lo.best_value + (1 - w) * hi.best_value <= bound
    assert certified_envelope_bound(p, 7.74, PAPER) >= certified_classical_bound(p, PAPER).bound


def test_grid_envelope_is_confirmed_by_the_dual_at_paper_parameters():
    """At lam=0.8 the dual certificate (which also covers p' off the grid and above 1/2)
    agrees with the grid envelope of tight bounds to 1e-6: the paper's envelope on the
    0.005 grid is a sound shared-randomness benchmark there."""
    ps = np.round(np.arange(1, 100) * 0.01, 6)[:49]
    certs = certified_classical_curve(ps, PAPER)
    env = classical_envelope(ps, [c.bound for c in certs], PAPER, [c.strategy for c in certs])
    dual = certify_envelope(env, PAPER)
    assert np.all(dual - env.envelope < 1e-6)


def test_shared_randomness_beats_the_deterministic_value_at_half_for_high_load():
    """At lam=0.95 mixing (theta_min(0.498), inf) with a mixed-orientation pair at p~0.598
    gives more than A_cl*(1/2): the envelope's p = 1/2 end point is then not the
    shared-randomness value (Def. 4 allows p' > 1/2); the dual bound covers it."""
    prm = SystemParams(lam=0.95, mu=1.0)
    v_half, _ = best_classical_value_at_half(prm)
    lo = certified_classical_bound(0.4982, prm, tolerance=1e-10)
    hi = certified_classical_bound(0.5975, prm, tolerance=1e-10)
    w = (hi.p - 0.5) / (hi.p - lo.p)
    mix = w * lo.best_value + (1 - w) * hi.best_value
    assert mix > v_half + 3e-5
    assert hi.orientation == -1  # the partner above 1/2 flips router B
    assert certified_envelope_bound(0.5, 2 * (hi.best_value - lo.best_value) / 0.2, prm) > mix


@pytest.mark.parametrize("p", [0.03, 0.19, 0.3, 0.47, 0.8])
def test_every_cell_bound_dominates_the_payoff_inside_the_cell(p):
    """The per-cell bound of the tight certificate (interval enclosure and two-slope bound
    from the derivative enclosure) is >= the payoff at 64 points inside each of 4000
    random cells of every branch, widths from 1e-6 to the whole branch (seeded)."""
    from qnet.games.routing.classical.certificates import _branch_payoff, _branches, _cell_bounds

    rng = np.random.default_rng(np.random.SeedSequence([77, int(p * 100)]))
    for s, q, lo, hi in _branches(p):
        width = (hi - lo) * 10 ** rng.uniform(-6, 0, size=4000)
        a = lo + (hi - lo - width) * rng.random(4000)
        b = a + width
        b[:5], a[:5] = hi, np.maximum(hi - width[:5], lo)  # cells touching each end
        a[5:10], b[5:10] = lo, np.minimum(lo + width[5:10], hi)
        fa, fb = _branch_payoff(a, q, s, PAPER), _branch_payoff(b, q, s, PAPER)
        bound = _cell_bounds(a, b, fa, fb, q, s, PAPER)
        t = np.linspace(0, 1, 64)[:, None]
        inside = _branch_payoff(a + t * (b - a), q, s, PAPER)
        assert np.all(inside <= bound + 1e-12), (s, q, float(np.max(inside - bound)))


@pytest.mark.parametrize("slope", [-3.0, 2.0, 7.74, 15.0])
def test_every_lagrangian_cell_bound_dominates_inside_the_cell(slope):
    """The triangle/box bound of the dual certificate is >= E|alpha X + beta| - b/2 at 64
    points inside each of 4000 random u_B cells (widths 1e-7..1, ends included)."""
    from qnet.games.routing.classical.envelope import (
        _abs_affine_mean,
        _lagrangian_cell_bound,
        _lagrangian_terms,
    )

    rng = np.random.default_rng(np.random.SeedSequence([78, int(slope * 100) % 1000]))
    width = 10 ** rng.uniform(-7, 0, size=4000)
    a = (1 - width) * rng.random(4000)
    a[:5] = 0.0
    b = a + width
    b[5:10], a[5:10] = 1.0, 1.0 - width[5:10]
    bound = _lagrangian_cell_bound(a, b, slope, PAPER)
    t = np.linspace(0, 1, 64)[:, None]
    u = a + t * (b - a)
    inside = _abs_affine_mean(*_lagrangian_terms(u, slope, PAPER), PAPER.mu) - slope / 2
    assert np.all(inside <= bound + 1e-12), float(np.max(inside - bound))
