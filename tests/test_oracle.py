"""Routing oracle: tau_p and A*(p) (eqs. A19, B1), exact to 1e-6 and against Monte Carlo."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import integrate, stats

from qnet.games.routing.oracle import (
    OracleResult,
    oracle_payoff,
    oracle_payoff_monte_carlo,
    oracle_policy_moments,
    oracle_split_probability,
    oracle_threshold,
)
from qnet.queues.model import (
    SystemParams,
    mean_splitting_benefit,
    mean_wait,
    mean_wait_from_payoff,
)

PAPER = SystemParams(lam=0.8, mu=1.0, alpha=0.5, phi_max=1.0)
OTHER = SystemParams(lam=1.1, mu=2.0, alpha=0.3, phi_max=2.5)


def _reference(tau: float, prm: SystemParams) -> tuple[float, float]:
    """Independent (Pr[w > tau], E[sign(w - tau) w]) by nested adaptive quadrature.

    Different route from the module: for each x1 the inner integral over x2 is done by quad
    on [0, g(x1)] and [g(x1), inf) in the original variables (no change of variable, no
    closed-form tail), the outer integral by quad split at x1 = tau/c2 where the inner
    limit g hits 0. Tolerances 1e-13 give ~1e-12 accuracy.
    """
    mu, c1, c2 = prm.mu, prm.c1, prm.c2

    def w(x1: float, x2: float) -> float:
        return c1 * x1 * x2 + c2 * (x1 + x2)

    def dens(x: float) -> float:
        return mu * math.exp(-mu * x)

    def inner(x1: float, kind: int) -> float:
        g = max(0.0, (tau - c2 * x1) / (c1 * x1 + c2))
        lo = 0.0
        if g > 0 and kind == 1:
            lo = -integrate.quad(lambda x2: w(x1, x2) * dens(x2), 0, g, epsabs=1e-14)[0]
        if kind == 0:
            f = dens
        else:

            def f(x2):
                return w(x1, x2) * dens(x2)

        hi = integrate.quad(f, g, math.inf, epsabs=1e-14, epsrel=1e-13)[0]
        return (lo + hi) * dens(x1)

    out = []
    for kind in (0, 1):
        a = integrate.quad(inner, 0, tau / c2, args=(kind,), epsabs=1e-13, epsrel=1e-13, limit=200)
        b = integrate.quad(inner, tau / c2, math.inf, args=(kind,), epsabs=1e-13, epsrel=1e-13)
        out.append(a[0] + b[0])
    return out[0], out[1]


@pytest.mark.parametrize("prm", [PAPER, OTHER])
@pytest.mark.parametrize("p", [0.01, 0.2, 0.45, 0.8])
def test_oracle_payoff_exact_to_1e6_against_independent_quadrature(prm, p):
    """A*(p) = -E[sign(tau_p - w) w] agrees with nested quad to 1e-9 (the claim is 1e-6),
    Pr[w > tau_p] = p, and the reported error bound is honest and below 1e-6."""
    res = oracle_payoff(p, prm)
    prob, payoff = _reference(res.tau, prm)
    assert prob == pytest.approx(p, abs=1e-10)
    assert res.value == pytest.approx(payoff, abs=1e-9)
    assert res.error_bound < 1e-6
    assert abs(res.value - payoff) <= res.error_bound + 1e-11  # 1e-11: the reference's error


@pytest.mark.parametrize("p", [0.05, 0.2, 0.4])
def test_oracle_payoff_agrees_with_monte_carlo_99ci(p):
    """A seeded Monte-Carlo estimate (2*10^6 pairs) lies within its 99 % CI of A*(p).

    iid sample mean with exact tau_p: z = 2.576 gives a 1 % false-failure rate per case.
    The quantile-plug-in variant (paper App. D4) is checked the same way.
    """
    seeds = np.random.SeedSequence([2026, int(p * 1000)]).spawn(2)
    exact = oracle_payoff(p, PAPER).value
    z = stats.norm.ppf(0.995)
    est, se = oracle_payoff_monte_carlo(p, PAPER, 2_000_000, np.random.default_rng(seeds[0]))
    assert abs(est - exact) <= z * se, (est, se, exact)
    assert se < 0.005
    est, se = oracle_payoff_monte_carlo(
        p, PAPER, 2_000_000, np.random.default_rng(seeds[1]), estimate_threshold=True
    )
    assert abs(est - exact) <= z * se, (est, se, exact)


def test_monte_carlo_chunked_accumulation_equals_one_shot_statistics():
    """The chunked mean/SE (pairwise update) equals mean and std/sqrt(n) of the same draws."""
    est, se = oracle_payoff_monte_carlo(0.3, PAPER, 30_000, np.random.default_rng(7), chunk=7_000)
    rng = np.random.default_rng(7)
    tau = oracle_threshold(0.3, PAPER)
    vals = []
    for k in (7_000, 7_000, 7_000, 7_000, 2_000):  # the same draw order as the estimator
        x1, x2 = rng.exponential(1.0, size=k), rng.exponential(1.0, size=k)
        w = PAPER.c1 * x1 * x2 + PAPER.c2 * (x1 + x2)
        vals.append(np.where(w > tau, w, -w))
    v = np.concatenate(vals)
    assert est == pytest.approx(v.mean(), rel=1e-12)
    assert se == pytest.approx(v.std(ddof=1) / math.sqrt(v.size), rel=1e-9)


def test_vectorized_matches_scalar_and_monotone():
    """The frontier calls the oracle for 99 p at once: same numbers as one at a time;
    tau_p decreases and A*(p) increases with p (Thm 6 proof)."""
    ps = np.round(np.arange(1, 100) * 0.005, 6)
    res = oracle_payoff(ps, PAPER)
    assert isinstance(res, OracleResult) and res.value.shape == ps.shape
    for i in (0, 39, 98):
        single = oracle_payoff(float(ps[i]), PAPER)
        assert single.value == pytest.approx(res.value[i], abs=1e-13)
        assert single.tau == pytest.approx(res.tau[i], rel=1e-13)
    assert np.all(np.diff(res.tau) < 0)
    assert np.all(np.diff(res.value) > 0)
    assert np.max(res.error_bound) < 1e-10
    np.testing.assert_allclose(oracle_split_probability(res.tau, PAPER), ps, atol=1e-14)


def test_end_points_and_bounds():
    """p = 0: never split, A* = -E[w]; p = 1: always split, A* = E[w]; |A*| <= E[w]."""
    ew = mean_splitting_benefit(PAPER)
    assert oracle_payoff(0.0, PAPER).value == -ew and oracle_threshold(0.0, PAPER) == math.inf
    assert oracle_payoff(1.0, PAPER).value == ew and oracle_threshold(1.0, PAPER) == 0.0
    v = oracle_payoff(np.array([1e-6, 0.999999]), PAPER).value
    # A*(p) + E[w] = 2 E[w 1{w > tau_p}] ~ 2 p tau_p = 2.5e-4 at p = 1e-6 (tau_p ~ 123)
    assert v[0] == pytest.approx(-ew, abs=1e-4 * 5) and v[1] == pytest.approx(ew, abs=1e-4)


def test_oracle_policy_moments_and_mean_wait():
    """E[r] = p and c1 E[r X1 X2] + c2 E[r S] = E[r w] = (A* + E[w])/2 (A16, B4); the A12
    mean wait from the moments equals the payoff form C - (E[w] + A*)/2."""
    for prm in (PAPER, OTHER):
        res = oracle_payoff(0.27, prm)
        e_r, e_rx, e_rs = oracle_policy_moments(0.27, prm)
        assert e_r == pytest.approx(0.27, abs=1e-13)
        ew = mean_splitting_benefit(prm)
        assert prm.c1 * e_rx + prm.c2 * e_rs == pytest.approx((res.value + ew) / 2, abs=1e-12)
        assert mean_wait(prm, e_rx, e_rs) == pytest.approx(
            mean_wait_from_payoff(res.value, prm), abs=1e-12
        )


def test_paper_headline_oracle_value():
    """A*(0.2) at lam=0.8, mu=1 (the paper's Fig. 3 operating point), to 1e-9."""
    assert oracle_payoff(0.2, PAPER).value == pytest.approx(0.668300128386701, abs=1e-9)


@pytest.mark.parametrize("bad", [-0.01, 1.01, math.nan])
def test_bad_p_is_refused(bad):
    with pytest.raises(ValueError, match=r"p must lie in the closed interval \[0, 1\]"):
        oracle_payoff(bad, PAPER)


def test_bad_arguments_are_refused():
    with pytest.raises(ValueError, match=r"p must lie in the open interval \(0, 1\)"):
        oracle_payoff_monte_carlo(0.0, PAPER, 10, np.random.default_rng(0))
    with pytest.raises(ValueError, match=r"n must be an integer >= 2"):
        oracle_payoff_monte_carlo(0.2, PAPER, 1, np.random.default_rng(0))
    with pytest.raises(ValueError, match=r"tau must be a finite number >= 0"):
        oracle_split_probability(-1.0, PAPER)
    with pytest.raises(ValueError, match=r"nodes must be an integer >= 8"):
        oracle_payoff(0.2, PAPER, nodes=4)
