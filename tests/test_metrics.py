"""Batch-means intervals and policy comparison (qnet.estimators)."""

from __future__ import annotations

import numpy as np
import pytest

from qnet.estimators import (
    Estimate,
    batch_means,
    compare_policies,
    ratio_batch_means,
)


def _ar1(n: int, phi: float, rng: np.random.Generator) -> np.ndarray:
    """AR(1) x_k = phi x_{k-1} + e_k, stationary start, mean 0."""
    e = rng.normal(size=n)
    x = np.empty(n)
    x[0] = e[0] / np.sqrt(1 - phi**2)
    for k in range(1, n):
        x[k] = phi * x[k - 1] + e[k]
    return x


def test_batch_means_coverage_on_autocorrelated_series() -> None:
    """95 % batch-means intervals cover the true mean ~95 % of the time on AR(1), phi=0.9.

    200 seeded replications of 20k points, 20 batches (batch length 1000 >> correlation
    time 10). Coverage is Binomial(200, 0.95): [0.89, 0.99] holds with prob > 99.9 %.
    An i.i.d. standard error would be ~sqrt((1+phi)/(1-phi)) = 4.4x too small and cover
    only ~40 %, so this test separates the two.
    """
    rng = np.random.default_rng(np.random.SeedSequence(5))
    hits = iid_hits = 0
    for _ in range(200):
        x = _ar1(20_000, 0.9, rng)
        est = batch_means(x, batches=20)
        hits += est.low <= 0.0 <= est.high
        iid_hits += abs(x.mean()) <= 1.96 * x.std(ddof=1) / np.sqrt(len(x))
    assert 0.89 <= hits / 200 <= 0.99
    assert iid_hits / 200 < 0.7


def test_ratio_estimate_of_a_rate() -> None:
    """sum(num)/sum(den) exactly; a Poisson count rate's CI covers the true rate.

    Counts ~ Poisson(3 dt) over exponential dt: the rate is 3. 99 % CI, 1 % false fail.
    """
    rng = np.random.default_rng(np.random.SeedSequence(6))
    dt = rng.exponential(1.0, 100_000)
    counts = rng.poisson(3.0 * dt)
    est = ratio_batch_means(counts, dt, batches=25)
    assert est.mean == pytest.approx(counts.sum() / dt.sum(), rel=1e-12)
    assert est.contains(3.0, level=0.99)
    assert est.ci95 < 0.03


def test_estimate_helpers() -> None:
    """Scaling a unit and the interval ends."""
    e = Estimate(mean=2.0, se=0.5, ci95=1.0, batches=10)
    assert (e.low, e.high) == (1.0, 3.0)
    s = e.scaled(-2.0)
    assert (s.mean, s.se, s.ci95) == (-4.0, 1.0, 2.0)
    assert e.as_dict()["ci95"] == [1.0, 3.0]
    with pytest.raises(ValueError, match="level"):
        e.contains(1.0, level=1.5)
    with pytest.raises(ValueError, match=r"batches = 1: allowed range is \[2, 3\]"):
        batch_means(np.ones(3), batches=1)


def test_compare_policies_differences_and_lemma1_terms() -> None:
    """Gaps are differences of the per-policy series; game gaps are (A* - A)/2.

    Constructed data: quantum waits = oracle + 1, classical = oracle + 3, so the gaps are
    exactly 1 and 3 with zero spread and the reduction is 2. Payoff terms from fixed
    outputs: oracle splits everything (term +w), quantum bunches everything (-w), so
    (A* - A_q)/2 = mean(w) exactly.
    """
    n = 1000
    w = np.linspace(0.1, 2.0, n)
    base = np.linspace(0.0, 5.0, n)
    ones = np.ones(n)
    res = compare_policies(
        pair_wait={"quantum": base + 1, "oracle": base, "classical": base + 3},
        split={"quantum": np.zeros(n), "oracle": ones, "classical": np.zeros(n)},
        payoff={
            "quantum": -w,  # the routing score -o_A o_B w: bunched
            "oracle": w,  # split
            "classical": -w,
        },
        batches=10,
    )
    assert res.gap_quantum.mean == pytest.approx(1.0)
    assert res.gap_classical.mean == pytest.approx(3.0)
    assert res.gap_reduction.mean == pytest.approx(2.0)
    assert res.gap_reduction.se == pytest.approx(0.0, abs=1e-12)
    assert res.gap_quantum_game.mean == pytest.approx(w.mean())
    assert res.gap_reduction_game.mean == pytest.approx(0.0)
    assert res.splitting_probability["oracle"].mean == 1.0
    with pytest.raises(ValueError, match="missing policies"):
        compare_policies({"quantum": ones}, {}, {}, batches=10)
