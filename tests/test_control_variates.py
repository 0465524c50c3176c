"""Control variates for the game reduction (qnet.estimators, qnet.runs.controls) and the verdict."""

from __future__ import annotations

import math

import numpy as np
import pytest

from qnet.config import Scenario
from qnet.decisions.step import DecisionStep
from qnet.estimators import Estimate, control_variate_batch_means
from qnet.games.routing.profile import build_profile
from qnet.runs import runner
from qnet.runs.controls import game_controls
from qnet.runs.verdict import decisions_for_half_width, verdict


def test_cv_closed_form_variance_reduction_and_coverage() -> None:
    """y = c + e with Var c = 1, Var e = s2: beta -> 1, variance factor (1 + s2)/s2, and the
    95 % intervals cover the true mean in 95 +- 1.5 % of 2,000 seeded series."""
    rng = np.random.default_rng(11)
    s2, n, runs, true = 0.25, 400, 2000, 3.0
    hits, factors, betas = 0, [], []
    for _ in range(runs):
        c = rng.exponential(1.0, n)  # mean 1, variance 1: a skewed control
        y = true + (c - 1.0) + rng.normal(0.0, math.sqrt(s2), n)
        r = control_variate_batch_means(y, c, np.array([1.0]), batches=10)
        hits += r.estimate.contains(true)
        factors.append(r.variance_reduction)
        betas.append(r.coefficients[0])
    assert abs(np.mean(betas) - 1.0) < 0.01
    assert abs(np.mean(factors) - (1 + s2) / s2) < 0.1
    assert 0.935 <= hits / runs <= 0.965


def test_cv_useless_control_changes_little_and_errors() -> None:
    """An independent control leaves the estimate within its CI of the plain one; bad shapes
    and non-finite means fail with one message naming the argument."""
    rng = np.random.default_rng(3)
    y = rng.normal(1.0, 1.0, 5000)
    c = rng.normal(0.0, 1.0, 5000)
    r = control_variate_batch_means(y, c, np.array([0.0]), batches=20)
    assert abs(r.estimate.mean - r.plain.mean) < 0.2 * r.plain.ci95
    assert 0.95 < r.variance_reduction < 1.05
    with pytest.raises(ValueError, match="controls: expected shape"):
        control_variate_batch_means(y, c[:10], np.array([0.0]), batches=20)
    with pytest.raises(ValueError, match="control_means: expected 1 values"):
        control_variate_batch_means(y, c, np.array([0.0, 1.0]), batches=20)
    with pytest.raises(ValueError, match="control_means: expected finite"):
        control_variate_batch_means(y, c, np.array([np.nan]), batches=20)


@pytest.mark.parametrize("kind", ["ideal", "noise_aware"])
def test_game_controls_have_the_stated_means(kind: str) -> None:
    """Each control's sample mean over 400,000 seeded decisions lies within 4.5 standard
    errors of the analysis core's exact mean (ideal-pair with-pair payoff, fallback payoff,
    classical payoff): the controls are honest whatever the link does."""
    sc = Scenario.ideal(strategy={"kind": kind, "target_splitting_probability": 0.2})
    tensor = np.diag([0.8, 0.6])  # a dephased pair: the noise-aware mix may leave pairs unused
    if kind == "noise_aware":
        profile = build_profile(sc, expected_tensor=tensor, expected_availability=0.7)
    else:
        profile = build_profile(sc)
    rng = np.random.default_rng(5)
    n = 400_000
    x1, x2 = rng.exponential(1.0, (2, n))
    step = DecisionStep.prepare(profile, x1, x2, rng.random((n, 3)))
    cl_a, cl_b = profile.classical.outputs(x1, x2, rng.random(n), rng.random(n))
    ctl = game_controls(profile, profile, step, x1, x2, profile.game.score(x1, x2, cl_a, cl_b))
    means = ctl.values.mean(axis=0)
    se = ctl.values.std(axis=0, ddof=1) / math.sqrt(n)
    assert np.all(np.abs(means - ctl.means) <= 4.5 * se), (means, ctl.means, se)


def test_verdict_rules_and_decisions_for_width() -> None:
    """yes / no / inconclusive from the 95 % interval; decisions scale as (h/target)^2."""
    assert verdict(Estimate(0.05, 0.01, 0.02, 20)) == "yes"
    assert verdict(Estimate(-0.05, 0.01, 0.02, 20)) == "no"
    assert verdict(Estimate(0.01, 0.01, 0.02, 20)) == "inconclusive"
    assert verdict(Estimate(0.05, math.nan, math.nan, 20)) == "inconclusive"
    assert decisions_for_half_width(9000, 0.5, 0.25) == 36_000
    assert decisions_for_half_width(9000, 0.1, 0.25) == 1440
    assert decisions_for_half_width(9000, math.nan, 0.25) == -1
    # quantum played the classical strategy itself (no pair used): no spread, "no"
    assert verdict(Estimate(0.0, 0.0, 0.0, 20)) == "no"
    assert verdict(Estimate(1e-3, 0.0, 0.0, 20)) == "yes"
    assert decisions_for_half_width(9000, 0.0, 0.25) == -1
    with pytest.raises(ValueError, match=r"target half-width = 0: allowed range is \(0, inf\)"):
        decisions_for_half_width(9000, 0.1, 0)


def _coverage(seeds: range, monkeypatch: pytest.MonkeyPatch) -> tuple[float, float, float]:
    sc = Scenario.ideal(
        engine={"name": "analytic"},
        run={"decisions": 4000, "warmup_decisions": 400, "batches": 10},
    )
    profile = build_profile(sc)  # built once: every seed plays the same strategy anyway
    monkeypatch.setattr(runner, "build_profile", lambda *a, **k: profile)
    hits_cv = hits_plain = 0
    widths = []
    for seed in seeds:
        r = runner.simulate(sc.model_copy(update={"seed": seed})).record
        ideal = r.ideal_gap_reduction
        hits_cv += abs(r.gap_reduction_game_cv - ideal) <= r.gap_reduction_game_cv_ci95
        hits_plain += abs(r.gap_reduction_game - ideal) <= r.gap_reduction_game_ci95
        widths.append(r.gap_reduction_game_ci95 / r.gap_reduction_game_cv_ci95)
    return hits_cv / len(seeds), hits_plain / len(seeds), float(np.mean(widths))


@pytest.mark.slow
def test_cv_intervals_cover_the_ideal_reduction(monkeypatch: pytest.MonkeyPatch) -> None:
    """Analytic engine, ideal pairs, 600 seeds: the control-variate 95 % intervals of the game
    reduction cover the analysis core's ideal value in 93-97 % of runs, and are narrower."""
    cover_cv, cover_plain, ratio = _coverage(range(600), monkeypatch)
    assert 0.93 <= cover_cv <= 0.97, cover_cv
    assert 0.93 <= cover_plain <= 0.97, cover_plain
    assert ratio > 1.3, ratio
