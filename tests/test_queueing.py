"""Tests of qnet.queues.model: parameters, eqs. A2-A3, A12, A22-A26, eq. 10, Lemma 2."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import integrate, stats

from qnet.games.routing.classical import certified_classical_bound
from qnet.games.routing.oracle import oracle_payoff, oracle_policy_moments, oracle_threshold
from qnet.queues.model import (
    SystemParams,
    baseline_throughput,
    baseline_throughput_power,
    baseline_throughput_warmup,
    batch_arrival_rate,
    batch_size_distribution,
    check_probability,
    mean_busy_period,
    mean_cycle_length,
    mean_idle_period,
    mean_splitting_benefit,
    mean_wait,
    mean_wait_from_payoff,
    mean_wait_of_policy,
    normalized_throughput,
    order_statistic_moments,
    policy_moments,
    splitting_benefit,
    warmup_output,
)

PAPER = SystemParams(lam=0.8, mu=1.0, alpha=0.5, phi_max=1.0)
OTHER = SystemParams(lam=1.1, mu=2.0, alpha=0.3, phi_max=2.5)


# ---------------------------------------------------------------- parameters and validation


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"lam": 1.0, "mu": 1.0}, r"rho = lam/mu must be < 1"),
        ({"lam": 1.5, "mu": 1.0}, r"rho = lam/mu must be < 1"),
        ({"mu": 0.0}, r"^mu must be a finite number > 0"),
        ({"mu": -1.0}, r"^mu must be a finite number > 0"),
        ({"lam": 0.0}, r"^lam must be a finite number > 0"),
        ({"alpha": 0.0}, r"^alpha must be a finite number > 0"),
        ({"phi_max": -2.0}, r"^phi_max must be a finite number > 0"),
        ({"mu": math.nan}, r"^mu must be a finite number > 0"),
        ({"lam": "0.8"}, r"^lam must be a real number > 0"),
    ],
)
def test_bad_parameters_fail_with_one_clear_message(kwargs, match):
    with pytest.raises(ValueError, match=match):
        SystemParams(**kwargs)


def test_c1_uses_rho_not_p():
    """c1 = lam/(2(1 - rho)) (A15), not the main text's 1 - p: lam=1.1, mu=2 gives rho=0.55."""
    assert OTHER.rho == pytest.approx(0.55)
    assert OTHER.c1 == pytest.approx(1.1 / (2 * 0.45), rel=1e-15)
    assert OTHER.c2 == 0.25
    assert splitting_benefit(2.0, 3.0, OTHER) == pytest.approx(OTHER.c1 * 6 + 0.25 * 5)


@pytest.mark.parametrize("bad", [-0.1, 1.2, math.nan])
def test_probability_outside_unit_interval_is_refused(bad):
    with pytest.raises(ValueError, match=r"p must lie in the closed interval \[0, 1\]"):
        batch_arrival_rate(bad, PAPER)
    with pytest.raises(ValueError, match=r"p must lie in the closed interval"):
        baseline_throughput_warmup(np.array([0.2, bad]), PAPER)


def test_open_interval_check_names_the_parameter():
    with pytest.raises(ValueError, match=r"q must lie in the open interval \(0, 1\), got 0.0"):
        check_probability(0.0, "q", open_interval=True)


# ---------------------------------------------------------------- Lemma 2 and moments


@pytest.mark.parametrize("mu", [1.0, 0.37, 3.0])
def test_order_statistic_moments_lemma2(mu):
    """Lemma 2 (A29) against direct integration of the min/max densities.

    f_min(t) = 2 mu e^{-2 mu t}; f_max(t) = 2 mu (e^{-mu t} - e^{-2 mu t}). quad is exact to
    ~1e-12 on these smooth integrands; also E[min] + E[max] = E[S] = 2/mu and
    E[min^2] + E[max^2] = E[X1^2 + X2^2] = 4/mu^2.
    """
    mom = order_statistic_moments(mu)
    fmin = lambda t: 2 * mu * math.exp(-2 * mu * t)  # noqa: E731
    fmax = lambda t: 2 * mu * (math.exp(-mu * t) - math.exp(-2 * mu * t))  # noqa: E731
    for key, f, k in [("min", fmin, 1), ("min2", fmin, 2), ("max", fmax, 1), ("max2", fmax, 2)]:
        val, _ = integrate.quad(lambda t, f=f, k=k: t**k * f(t), 0, math.inf, epsabs=1e-13)
        assert mom[key] == pytest.approx(val, rel=1e-9), key
    assert mom["min"] + mom["max"] == pytest.approx(2 / mu, rel=1e-15)
    assert mom["min2"] + mom["max2"] == pytest.approx(4 / mu**2, rel=1e-15)
    with pytest.raises(ValueError, match="mu must be a finite number > 0"):
        order_statistic_moments(0.0)


def test_mean_splitting_benefit():
    """E[w] = c1 E[X1]E[X2] + 2 c2 E[X] = c1/mu^2 + 2 c2/mu; paper values: 2 + 0.5."""
    assert mean_splitting_benefit(PAPER) == pytest.approx(2.5, rel=1e-15)
    assert mean_splitting_benefit(OTHER) == pytest.approx(OTHER.c1 / 4 + 0.25, rel=1e-15)


# ---------------------------------------------------------------- M^X/G/1 view, periods


@pytest.mark.parametrize("p", [0.0, 0.2, 0.5, 1.0])
def test_batch_view_a2_a3(p):
    """A2-A3: batch sizes sum to one and Lambda E[K] = lam (each server sees rate lam)."""
    k1, k2 = batch_size_distribution(p)
    assert k1 + k2 == pytest.approx(1.0)
    lam_b = batch_arrival_rate(p, OTHER)
    assert lam_b * (k1 + 2 * k2) == pytest.approx(OTHER.lam, rel=1e-14)


def test_idle_busy_cycle_a22_a24():
    """A22-A24: E[I] = 1/Lambda; rate balance rho = Lambda (1 - rho) E[B]; cycle = I + B."""
    p = np.linspace(0, 1, 11)
    for prm in (PAPER, OTHER):
        idle, busy = mean_idle_period(p, prm), mean_busy_period(p, prm)
        lam_b = batch_arrival_rate(p, prm)
        np.testing.assert_allclose(idle, 1 / lam_b, rtol=1e-14)
        np.testing.assert_allclose(lam_b * (1 - prm.rho) * busy, prm.rho, rtol=1e-14)
        np.testing.assert_allclose(mean_cycle_length(p, prm), idle + busy, rtol=1e-14)
        # fraction of time idle is 1 - rho for every p
        np.testing.assert_allclose(idle / (idle + busy), 1 - prm.rho, rtol=1e-14)


# ---------------------------------------------------------------- throughput


@pytest.mark.parametrize("prm", [PAPER, OTHER])
def test_eq10_matches_general_integral(prm):
    """Eq. 10 closed form against A25-A26 by adaptive quadrature of T(t) Lambda e^{-Lambda t}.

    The integrand is smooth and exponentially decaying; quad reaches ~1e-12, so 1e-9 is safe.
    """
    p = np.linspace(0, 1, 21)
    closed = baseline_throughput_warmup(p, prm)
    general = baseline_throughput(p, prm)  # default T = warm-up output (eq. 8)
    np.testing.assert_allclose(general, closed, rtol=1e-9)
    assert np.all(np.diff(closed) < 0)  # strictly convex T -> decreasing in p (Prop. 2)
    np.testing.assert_allclose(
        normalized_throughput(p, prm), closed / (prm.phi_max * (1 - prm.rho)), rtol=1e-15
    )


@pytest.mark.parametrize("k", [1.0, 1.5, 2.0, 3.0])
def test_power_closed_form_matches_integral(k):
    """T(t) = t^k: E[I^k] = Gamma(k+1)/Lambda^k against the general integral (A26)."""
    p = np.array([0.0, 0.1, 0.35, 0.8])
    general = baseline_throughput(p, OTHER, lambda t: t**k)
    np.testing.assert_allclose(baseline_throughput_power(p, OTHER, k), general, rtol=1e-8)


def test_linear_output_gives_throughput_independent_of_p():
    """Prop. 2 (ii): T(t) = t gives E[I]/E[I+B] = 1 - rho for every p."""
    p = np.linspace(0, 1, 5)
    np.testing.assert_allclose(baseline_throughput_power(p, OTHER, 1.0), 1 - OTHER.rho)


def test_warmup_output_eq8():
    """T(0) = 0, T'(t) = phi_max (1 - e^{-alpha t}) (eq. 7) by central differences."""
    assert warmup_output(0.0, OTHER) == 0.0
    t, h = 1.7, 1e-5
    deriv = (warmup_output(t + h, OTHER) - warmup_output(t - h, OTHER)) / (2 * h)
    assert deriv == pytest.approx(OTHER.phi_max * (1 - math.exp(-OTHER.alpha * t)), rel=1e-8)


def test_paper_normalized_throughput_at_p02():
    """Eq. 10 normalized at lam=0.8, alpha=0.5, p=0.2: 1/(0.8*1.2 + 1) = 0.510204..."""
    assert normalized_throughput(0.2, PAPER) == pytest.approx(1 / 1.96, rel=1e-15)


def test_power_k_must_be_positive():
    with pytest.raises(ValueError, match=r"k must be a finite number > 0"):
        baseline_throughput_power(0.2, PAPER, 0.0)


# ---------------------------------------------------------------- mean wait (A12)


def test_mean_wait_extremes_match_textbook_queues():
    """r = 1 (always split): each server is M/M/1 with rate lam, Wq = lam/(mu (mu - lam)).

    r = 0 (always bunch, random order): A12 gives lam E[S^2]/(4(1-rho)) + E[S]/4 with
    E[S] = 2/mu, E[S^2] = 6/mu^2.
    """
    for prm in (PAPER, OTHER):
        mu, lam = prm.mu, prm.lam
        split = mean_wait(prm, e_r_x1x2=1 / mu**2, e_r_s=2 / mu)
        assert split == pytest.approx(lam / (mu * (mu - lam)), rel=1e-14)
        bunch = mean_wait(prm, e_r_x1x2=0.0, e_r_s=0.0)
        assert bunch == pytest.approx(lam * 6 / mu**2 / (4 * (1 - prm.rho)) + 0.5 / mu)
        # payoff form: always bunch A = -E[w], always split A = +E[w]
        ew = mean_splitting_benefit(prm)
        assert mean_wait_from_payoff(-ew, prm) == pytest.approx(bunch, rel=1e-14)
        assert mean_wait_from_payoff(ew, prm) == pytest.approx(split, rel=1e-14)


def test_mean_wait_rejects_impossible_moments():
    with pytest.raises(ValueError, match=r"e_r_x1x2 must lie in \[0, 1/mu\^2\]"):
        mean_wait(PAPER, e_r_x1x2=1.5, e_r_s=0.0)
    with pytest.raises(ValueError, match=r"e_r_s must lie in \[0, 2/mu\]"):
        mean_wait(PAPER, e_r_x1x2=0.5, e_r_s=-0.1)


def test_policy_moments_of_a_separable_policy():
    """r = 1{x1 > a}: E[r] = e^{-mu a}, E[r X1 X2] = e^{-mu a}(a + 1/mu)/mu,
    E[r S] = e^{-mu a}(a + 2/mu). dblquad at 1e-10 handles the jump along x1 = a."""
    a, mu = 0.9, OTHER.mu
    e_r, e_rx, e_rs = policy_moments(lambda x1, x2: float(x1 > a), OTHER)
    tail = math.exp(-mu * a)
    assert e_r == pytest.approx(tail, abs=1e-8)
    assert e_rx == pytest.approx(tail * (a + 1 / mu) / mu, abs=1e-8)
    assert e_rs == pytest.approx(tail * (a + 2 / mu), abs=1e-8)


def test_mean_wait_of_a_smooth_callable_policy():
    """r = (1 - e^{-a x1})(1 - e^{-a x2}): with g = 1/mu - mu/(mu+a)^2 = E[X(1 - e^{-aX})]
    and h = a/(mu+a) = E[1 - e^{-aX}], E[r X1 X2] = g^2 and E[r S] = 2 g h (independence);
    A12 through 2-D quadrature of the callable agrees to 1e-8."""
    a, mu = 0.7, OTHER.mu
    g, h = 1 / mu - mu / (mu + a) ** 2, a / (mu + a)

    def policy(x1: float, x2: float) -> float:
        return -math.expm1(-a * x1) * -math.expm1(-a * x2)

    expected = mean_wait(OTHER, g * g, 2 * g * h)
    assert mean_wait_of_policy(policy, OTHER) == pytest.approx(expected, abs=1e-8)


def test_policy_moments_reject_out_of_range_policy():
    with pytest.raises(ValueError, match=r"policy r\(x1, x2\) must lie in \[0, 1\]"):
        policy_moments(lambda x1, x2: 2.0, PAPER)


# ---------------------------------------------------------------- A12 against a replay


def _replay_mean_wait(x1, x2, split, rng, n_batches=50):
    """Vectorized two-server FCFS replay (Lindley recursion), load-balanced assignment.

    A split pair sends one customer to each server (which one goes where: a fair coin); a
    bunched pair goes to a random server in random order. Per server the virtual wait
    V_k = S_k - min(0, min_{j<=k} S_j) with S the walk of (batch work - inter-batch time).
    Returns (mean wait, batch-means standard error) over customers, by arrival order.
    """
    n = x1.size
    srv1 = (rng.random(n) < 0.5).astype(np.intp)  # server of customer 1
    srv2 = np.where(split, 1 - srv1, srv1)
    second_is_1 = rng.random(n) < 0.5  # order inside a bunched batch
    arrivals = np.cumsum(rng.exponential(1 / PAPER.lam, size=n))
    virtual = np.zeros((n, 2))
    for server in (0, 1):
        work = x1 * (srv1 == server) + x2 * (srv2 == server)
        has = work > 0
        t, b = arrivals[has], work[has]
        walk = np.cumsum(np.concatenate([[0.0], b[:-1] - np.diff(t)]))
        virtual[has, server] = walk - np.minimum(0.0, np.minimum.accumulate(walk))
    rows = np.arange(n)
    wait1 = virtual[rows, srv1] + np.where(~split & second_is_1, x2, 0.0)
    wait2 = virtual[rows, srv2] + np.where(~split & ~second_is_1, x1, 0.0)
    per_pair = 0.5 * (wait1 + wait2)  # both customers of every pair, equal weight
    batches = per_pair[: n - n % n_batches].reshape(n_batches, -1)[1:]  # drop warm-up batch
    means = batches.mean(axis=1)
    return float(means.mean()), float(means.std(ddof=1) / math.sqrt(means.size))


@pytest.mark.slow
@pytest.mark.parametrize("policy", ["oracle", "classical"])
def test_a12_matches_lindley_replay_at_p02(policy):
    """A12 against a seeded replay of 10^6 pairs at p = 0.2, within the replay's 99 % CI.

    The CI uses 49 batch means of 20 000 pairs (t quantile, 48 dof); the queue's
    correlation time at rho = 0.8 is ~10^2 pairs, so the batch means are nearly
    independent. Probability of a false failure ~1 %. Oracle: split iff w > tau_p;
    classical: the tight certificate's best threshold pair (router B constant at p = 0.2).
    """
    rng = np.random.default_rng(np.random.SeedSequence(20260311).spawn(2)[policy == "oracle"])
    n = 1_000_000
    x1 = rng.exponential(1 / PAPER.mu, size=n)
    x2 = rng.exponential(1 / PAPER.mu, size=n)
    if policy == "oracle":
        split = splitting_benefit(x1, x2, PAPER) > oracle_threshold(0.2, PAPER)
        _, e_rx, e_rs = oracle_policy_moments(0.2, PAPER)
        predicted = mean_wait(PAPER, e_rx, e_rs)
        assert predicted == pytest.approx(
            mean_wait_from_payoff(oracle_payoff(0.2, PAPER).value, PAPER), rel=1e-12
        )
    else:
        cert = certified_classical_bound(0.2, PAPER)
        oa, ob = cert.strategy.outputs(x1, x2)
        split = oa * ob == -1
        predicted = mean_wait_from_payoff(cert.best_value, PAPER)
    mean, se = _replay_mean_wait(x1, x2, split, rng)
    half = stats.t.ppf(0.995, 48) * se
    assert abs(mean - predicted) <= half, (mean, predicted, half)
    assert 0.01 < se < 0.1  # the CI is informative (~1 % of E[Wq] ~ 5)
