"""Batch-means intervals and policy comparison (qnet.estimators)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from qnet.estimators import (
    Estimate,
    batch_means,
    compare_policies,
    ratio_batch_means,
    t_quantile,
    z_score,
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


def test_ci95_uses_the_975_t_quantile_closed_form() -> None:
    """ci95 = t_{0.975, b-1} se, checked where the t quantile has a closed form.

    1 degree of freedom (b = 2) is the Cauchy law: t_q = tan(pi (q - 1/2)), so
    t_{0.975,1} = tan(0.475 pi) = 12.7062...; 2 degrees of freedom (b = 3):
    t_q = (2q - 1) / sqrt(2 q (1 - q)), t_{0.975,2} = 4.3027.... A 90 % quantile
    (6.3138, 2.9200) or a normal one (1.96) is off by a factor of 2 to 6.
    ``contains`` uses the same quantile at its own level.
    """

    def cauchy(q: float) -> float:
        return math.tan(math.pi * (q - 0.5))

    def t2(q: float) -> float:
        return (2 * q - 1) / math.sqrt(2 * q * (1 - q))

    e2 = batch_means(np.array([0.0, 1.0, 3.0, 4.0]), batches=2)  # batch means 0.5, 3.5
    assert e2.se == pytest.approx(1.5, rel=1e-12)
    assert e2.ci95 == pytest.approx(cauchy(0.975) * 1.5, rel=1e-12)
    e3 = batch_means(np.array([0.0, 1.0, 3.0]), batches=3)
    assert e3.ci95 == pytest.approx(t2(0.975) * e3.se, rel=1e-12)
    for level in (0.5, 0.9, 0.95, 0.99):
        assert t_quantile(level, 2) == pytest.approx(cauchy(0.5 + level / 2), rel=1e-12)
        assert t_quantile(level, 3) == pytest.approx(t2(0.5 + level / 2), rel=1e-12)
    # contains: the boundary is exactly t_q se (99 %: t = (2q-1)/sqrt(2q(1-q)), q = 0.995).
    edge = t2(0.995) * e3.se
    assert e3.contains(e3.mean + edge * (1 - 1e-9), level=0.99)
    assert not e3.contains(e3.mean + edge * (1 + 1e-9), level=0.99)
    assert e3.contains(e3.mean - e3.ci95 * (1 - 1e-9))
    assert not e3.contains(e3.mean - e3.ci95 * (1 + 1e-9))
    # the reported interval is the one contains() tests at 95 %
    assert (e3.low, e3.high) == (e3.mean - e3.ci95, e3.mean + e3.ci95)


def test_t_interval_coverage_separates_90_from_95_percent() -> None:
    """On i.i.d. normal data the batch means are exactly i.i.d. normal, so the t interval
    covers with exactly its nominal probability: 95 % for ``ci95``, 90 % for
    ``contains(level=0.9)``.

    4000 seeded replications of 5 batches (4 degrees of freedom, where t differs most from
    the normal quantile). Coverage counts are Binomial(4000, p): sd 0.0034 at p = 0.95,
    0.0047 at p = 0.90. Windows: ci95 in [0.935, 0.965] (4.4 sd each side, false-failure
    probability ~1e-5), contains(0.9) in [0.88, 0.92] (4.2 sd, ~3e-5); together < 1e-4.
    A 90 % quantile for ci95 covers 0.90 (14 sd below 0.935), a normal quantile 0.878, a
    99 % one 0.99 (7 sd above 0.965).
    """
    rng = np.random.default_rng(np.random.SeedSequence(18))
    reps, batches, size = 4000, 5, 8
    x = rng.normal(size=(reps, batches * size))
    hits95 = hits90 = 0
    for row in x:
        est = batch_means(row, batches=batches)
        hits95 += est.low <= 0.0 <= est.high
        hits90 += est.contains(0.0, level=0.9)
    assert 0.935 <= hits95 / reps <= 0.965
    assert 0.88 <= hits90 / reps <= 0.92


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


def test_ratio_standard_error_matches_the_delta_method_over_many_seeds() -> None:
    """The ratio estimator's SE squared averages to the delta-method variance.

    Counts N ~ Poisson(3 D), D ~ Exp(1), n i.i.d. rows: R = 3 and the delta method gives
    Var(R_hat) = Var(N - R D) / (n E[D]^2) = E[Var(N | D)] / n = 3 / n (the conditional
    mean 3 D cancels). Over 400 seeds (n = 5000, 25 batches), se^2 / (3/n) is a mean of
    chi2_24 / 24 draws: mean 1, sd sqrt(2/24)/sqrt(400) = 0.0144, window [0.93, 1.07]
    (4.9 sd, false failure ~1e-6). The spread of R_hat across seeds is the delta value
    too: sample sd / sqrt(3/n) has sd ~ 1/sqrt(800) = 0.035, window [0.85, 1.15] (4.2 sd,
    ~3e-5). An SE twice or half as large gives se^2 ratio 4 or 0.25. Coverage of the 95 %
    interval: Binomial(400, 0.95), sd 0.011, window [0.91, 0.99] (3.7 sd, ~2e-4); the
    SE halved covers ~0.70.
    """
    rng = np.random.default_rng(np.random.SeedSequence(61))
    seeds, n = 400, 5000
    ratios, se2, hits = np.empty(seeds), np.empty(seeds), 0
    for s in range(seeds):
        dt = rng.exponential(1.0, n)
        counts = rng.poisson(3.0 * dt)
        est = ratio_batch_means(counts, dt, batches=25)
        ratios[s], se2[s] = est.mean, est.se**2
        hits += est.low <= 3.0 <= est.high
    delta_var = 3.0 / n
    assert 0.93 <= se2.mean() / delta_var <= 1.07
    assert 0.85 <= ratios.std(ddof=1) / math.sqrt(delta_var) <= 1.15
    assert 0.91 <= hits / seeds <= 0.99


def test_estimate_helpers() -> None:
    """Scaling a unit, the interval ends, the JSON form and z scores."""
    e = Estimate(mean=2.0, se=0.5, ci95=1.0, batches=10)
    assert (e.low, e.high) == (1.0, 3.0)
    s = e.scaled(-2.0)
    assert (s.mean, s.se, s.ci95, s.batches) == (-4.0, 1.0, 2.0, 10)
    assert e.as_dict() == {"mean": 2.0, "se": 0.5, "ci95": [1.0, 3.0], "batches": 10}
    for level in (0.0, 1.0, 1.5, -0.1):
        with pytest.raises(ValueError, match=rf"level = {level!r}: allowed range is \(0, 1\)"):
            e.contains(1.0, level=level)
    assert z_score(e, 1.0) == 2.0 and z_score(e, 3.0) == -2.0
    assert math.isnan(z_score(Estimate(2.0, 0.0, 0.0, 10), 1.0))
    assert math.isnan(z_score(Estimate(2.0, float("nan"), float("nan"), 10), 1.0))


def test_contains_includes_the_interval_end() -> None:
    """The interval is closed: a value exactly t_q se from the mean is inside."""
    se = 0.375
    for level in (0.9, 0.95):
        edge = t_quantile(level, 6) * se
        e = Estimate(0.0, se, t_quantile(0.95, 6) * se, 6)
        assert e.contains(edge, level=level) and e.contains(-edge, level=level)
        assert not e.contains(math.nextafter(edge, math.inf), level=level)


def test_bad_series_are_refused_with_one_clear_error() -> None:
    """Empty or 2-D series, unequal or empty ratio arrays and batch counts outside
    [2, n] each give one error naming the argument and the allowed range."""
    series_msg = "^series: expected a non-empty 1-D array$"
    for bad in (np.array([]), np.ones((4, 2)), np.ones((1, 1))):
        with pytest.raises(ValueError, match=series_msg):
            batch_means(bad, batches=2)
    with pytest.raises(ValueError, match=r"batches = 2: allowed range is \[2, 1\]"):
        batch_means(np.ones(1), batches=2)
    for n_batches in (1, 4):
        with pytest.raises(ValueError, match=rf"batches = {n_batches}: allowed range is \[2, 3\]"):
            batch_means(np.ones(3), batches=n_batches)
    assert batch_means(np.arange(3.0), batches=3).batches == 3
    ratio_msg = "^numerator, denominator: expected non-empty 1-D arrays of equal length$"
    for num, den in (
        (np.ones(3), np.ones(4)),
        (np.ones((3, 2)), np.ones((3, 2))),
        (np.array([]), np.array([])),
    ):
        with pytest.raises(ValueError, match=ratio_msg):
            ratio_batch_means(num, den, batches=2)
    for n_batches in (1, 4):
        with pytest.raises(ValueError, match=rf"batches = {n_batches}: allowed range is \[2, 3\]"):
            ratio_batch_means(np.ones(3), np.ones(3), batches=n_batches)
    assert ratio_batch_means(np.arange(3.0), np.ones(3), batches=2).batches == 2
    assert ratio_batch_means(np.arange(3.0), np.ones(3), batches=3).batches == 3


def test_ratio_standard_error_by_hand() -> None:
    """num = (1, 2, 3, 4), den = 1, two batches: totals (3, 7) over (2, 2), ratio 10/4 = 2.5,
    residuals 3 - 5 = -2 and 7 - 5 = 2, sample sd 2 sqrt(2), se = 2 sqrt(2)/(sqrt(2) 2) = 1,
    ci95 = t_{0.975,1} = tan(0.475 pi)."""
    est = ratio_batch_means(np.array([1, 2, 3, 4]), np.ones(4, dtype=int), batches=2)
    assert est.mean == 2.5
    assert est.se == pytest.approx(1.0, rel=1e-14)
    assert est.ci95 == pytest.approx(math.tan(0.475 * math.pi), rel=1e-12)


def test_compare_policies_differences_and_lemma1_terms() -> None:
    """Gaps are differences of the per-policy series; game gaps are (A* - A)/2.

    Constructed data: quantum waits = oracle + 1, classical = oracle + 3, so the gaps are
    exactly 1 and 3 with zero spread and the reduction is 2. Payoff terms from fixed
    outputs: the oracle splits everything (term +w), the classical policy bunches
    everything (-w), the quantum one splits every other decision, so (A* - A_cl)/2 =
    mean(w), (A* - A_q)/2 = mean of w on the bunched half, and the reduction is their
    difference. Queue series use ``queue_batches``, the others ``batches``.
    """
    n = 1000
    w = np.linspace(0.1, 2.0, n)
    base = np.linspace(0.0, 5.0, n)
    ones = np.ones(n)
    alt = np.where(np.arange(n) % 2 == 0, -1.0, 1.0)  # quantum: split on even decisions
    res = compare_policies(
        pair_wait={"quantum": base + 1, "oracle": base, "classical": base + 3},
        split={"quantum": (alt < 0).astype(float), "oracle": ones, "classical": np.zeros(n)},
        payoff={
            "quantum": -alt * w,  # the routing score -o_A o_B w with o_A = +1, o_B = alt
            "oracle": w,  # split
            "classical": -w,  # bunched
        },
        batches=10,
        queue_batches=5,
    )
    assert res.gap_quantum.mean == pytest.approx(1.0)
    assert res.gap_classical.mean == pytest.approx(3.0)
    assert res.gap_reduction.mean == pytest.approx(2.0)
    assert res.gap_reduction.se == pytest.approx(0.0, abs=1e-12)
    bunched = w[1::2].sum() / n  # (A* - A_q)/2: the bunched half contributes (w + w)/2
    assert res.gap_classical_game.mean == pytest.approx(w.mean(), rel=1e-12)
    assert res.gap_quantum_game.mean == pytest.approx(bunched, rel=1e-12)
    assert res.gap_reduction_game.mean == pytest.approx(w.mean() - bunched, rel=1e-12)
    assert res.payoff["oracle"].mean == pytest.approx(w.mean(), rel=1e-12)
    assert res.payoff["classical"].mean == pytest.approx(-w.mean(), rel=1e-12)
    assert res.payoff["quantum"].mean == pytest.approx((w[::2].sum() - w[1::2].sum()) / n)
    assert res.wait["classical"].mean == pytest.approx(base.mean() + 3)
    assert res.splitting_probability["oracle"].mean == 1.0
    assert res.splitting_probability["quantum"].mean == 0.5
    assert {res.wait["oracle"].batches, res.gap_quantum.batches, res.gap_reduction.batches} == {5}
    assert {res.payoff["quantum"].batches, res.gap_reduction_game.batches} == {10}
    assert res.splitting_probability["classical"].batches == 10
    # Without queue_batches the queue series use ``batches`` too; unsigned integer series
    # (waits counted in slots) are differenced as floats, not modulo 256.
    small = compare_policies(
        pair_wait={
            "quantum": np.full(n, 2, dtype=np.uint8),
            "oracle": np.full(n, 3, dtype=np.uint8),
            "classical": np.full(n, 5, dtype=np.uint8),
        },
        split=_zeros_table(n),
        payoff={
            "quantum": np.full(n, 1, dtype=np.uint8),
            "oracle": np.full(n, 4, dtype=np.uint8),
            "classical": np.full(n, 2, dtype=np.uint8),
        },
        batches=8,
    )
    assert {small.wait["oracle"].batches, small.gap_quantum.batches} == {8}
    assert (small.gap_quantum.mean, small.gap_classical.mean) == (-1.0, 2.0)
    assert (small.gap_quantum_game.mean, small.gap_reduction_game.mean) == (1.5, -0.5)
    for table in ("pair_wait", "split", "payoff"):
        tables = {"pair_wait": _zeros_table(n), "split": _zeros_table(n), "payoff": _zeros_table(n)}
        tables[table] = {"quantum": ones}
        with pytest.raises(
            ValueError, match=rf"{table}: missing policies \['classical', 'oracle'\]"
        ):
            compare_policies(tables["pair_wait"], tables["split"], tables["payoff"], batches=10)


def _zeros_table(n: int) -> dict[str, np.ndarray]:
    """A complete per-policy table of zeros."""
    return {k: np.zeros(n) for k in ("quantum", "oracle", "classical")}
