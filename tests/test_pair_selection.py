"""Which pair a decision consumes: the oldest/newest rule and the usable window, on both engines.

The selection rule only matters when several pairs wait in store and they have aged
differently. The statistical tests below use such a scenario (two slot pairs that
regenerate in ~10 us, decisions every 25 ms, T2 = 50 ms), where the two rules give
fidelities at use 0.12 apart, against a closed form; the deterministic ones replay the
analytic engine's supply step and the SeQUeNCe pair store on hand-made times.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from qnet.config import Scenario
from qnet.engines.analytic import LinkModel, sample_pair_supply
from qnet.physics.link import predict
from qnet.runs.runner import run_scenario

# ---------------------------------------------------------------- closed form


def _scenario(engine: str, selection: str, decisions: int, warmup: int) -> Scenario:
    """Two slot pairs over 2 x 0.1 km (a pair is usable ~10 us after a restart), Poisson
    decisions at 40/s, Werner F = 0.98 at herald, pure dephasing T2 = 50 ms at both ends."""
    return Scenario.ideal(
        seed=7,
        engine={"name": engine, "formalism": "density_matrix"},
        traffic={"mean_service_time_s": 0.02},
        link={
            "arm_a_km": 0.1,
            "arm_b_km": 0.1,
            "memory_slots": 2,
            "raw_fidelity": 0.98,
            "detector_efficiency": 1.0,
            "selection": selection,
        },
        router_a={"t2_s": 0.05},
        router_b={"t2_s": 0.05},
        run={"decisions": decisions, "warmup_decisions": warmup, "batches": 20},
    )


def _closed_form(sc: Scenario) -> dict[str, float]:
    """Mean fidelity at use under each rule, with generation taken as instantaneous.

    After each decision the slot pair it used regenerates in G ~ 10 us, far below the mean
    gap 1/lambda = 25 ms between decisions. ``newest`` then always takes the pair made
    after the previous decision: its age is delay + (Delta - G) given Delta > G, which is
    delay + Exp(lambda) exactly (memoryless gap). ``oldest`` alternates between the two
    slot pairs: age = delay + Delta_{i-1} - G + Delta_i = delay + Gamma(2, lambda). Both
    are integrated with 60-point Gauss-Laguerre (weight e^-x, and x e^-x for Gamma(2)) of
    the storage model's F(age). Neglected: decisions that come less than G after the
    previous one, probability lambda E[G] = 4e-4, which move the mean by at most that
    times the fidelity range (< 0.5): bias < 2e-4.
    """
    pred = predict(sc)
    lam = sc.traffic.lam_hz
    x, w = np.polynomial.laguerre.laggauss(60)
    f = np.array([pred.fidelity_after(pred.usable_delay_s + xi / lam) for xi in x])
    return {"newest": float(w @ f), "oldest": float(w @ (x * f))}


BIAS = 2e-4
# Each check fails by chance with probability 1e-4 (two-sided t, 19 degrees of freedom);
# four per engine test, so a new seed fails a test with probability < 4e-4.
T_CHECK = float(stats.t.ppf(1 - 0.5e-4, 19))
T95 = float(stats.t.ppf(0.975, 19))


def _check_engine(engine: str, decisions: int, warmup: int) -> None:
    expected = _closed_form(_scenario("analytic", "oldest", decisions, warmup))
    gap = expected["newest"] - expected["oldest"]
    assert gap > 0.1  # the rule matters here: 0.12 of fidelity
    for selection in ("oldest", "newest"):
        r = run_scenario(_scenario(engine, selection, decisions, warmup))
        assert r.availability == 1.0  # the fresh pair is always ready in this scenario
        se = r.mean_fidelity_at_use_ci95 / T95
        assert gap > 10 * se, (selection, se)  # the two rules are many SEs apart
        err = r.mean_fidelity_at_use - expected[selection]
        assert abs(err) < T_CHECK * se + BIAS, (selection, r.mean_fidelity_at_use, expected)


def test_selection_rule_sets_fidelity_at_use_analytic_engine() -> None:
    """Analytic engine, 20k decisions per rule: oldest 0.6150, newest 0.7367 (closed form),
    each within 4.9 SE (+ the 2e-4 bias bound); SE ~ 9e-4, so the rules are ~140 SE apart."""
    _check_engine("analytic", 20_000, 1000)


def test_selection_rule_sets_fidelity_at_use_sequence_engine() -> None:
    """SeQUeNCe engine (density matrices), 400 decisions per rule (~2.5 s each): the same
    closed forms within 4.9 SE; SE ~ 0.005, so the rules are > 10 SE apart (about 20)."""
    _check_engine("sequence", 400, 20)


# ---------------------------------------------------------------- exact replays


def _deterministic_link(selection: str, discard_age_s: float | None = None) -> LinkModel:
    """Every attempt succeeds and lasts 1 s; heralds reach both routers 0.25 s later.

    A slot pair restarted at f heralds at f + 0.75 and is usable at f + 1 (binary-exact).
    """
    return LinkModel(
        success_probability=1.0,
        round_one_pass_probability=1.0,
        attempt_fail_s=1.0,
        attempt_full_s=1.0,
        herald_delay_a_s=0.25,
        herald_delay_b_s=0.25,
        photon_delay_a_s=0.0,
        photon_delay_b_s=0.0,
        slots=2,
        discard_age_s=discard_age_s,
        selection=selection,
        visibility=1.0,
    )


@pytest.mark.parametrize(
    ("selection", "heralds"),
    [("oldest", [0.75, 0.75, 2.75]), ("newest", [0.75, 2.75, 4.25])],
)
def test_analytic_supply_takes_the_oldest_or_newest_pair(
    selection: str, heralds: list[float]
) -> None:
    """Hand replay: both slots herald at 0.75; t = 2 takes slot 0 (tie), which heralds
    again at 2.75. At t = 3.5 ``oldest`` takes slot 1 (0.75; it reheralds at 4.25), so
    t = 5 takes slot 0 (2.75); ``newest`` takes slot 0 (2.75; reheralds at 4.25) and then
    4.25 again at t = 5, leaving slot 1's pair of 0.75 in store. Heralded by t = 5: the
    two first pairs and the two regenerated before 5 (the third regenerates at 5.75)."""
    t = np.array([2.0, 3.5, 5.0])
    supply = sample_pair_supply(t, _deterministic_link(selection), np.random.default_rng(0))
    assert supply.used_pair.tolist() == [True, True, True]
    assert supply.herald_s.tolist() == heralds
    assert (supply.heralded, supply.discarded) == (4, 0)
    none = sample_pair_supply(
        np.array([]), _deterministic_link(selection), np.random.default_rng(0)
    )
    assert (len(none.used_pair), none.heralded, none.discarded) == (0, 0, 0)


def test_analytic_supply_discards_at_exactly_the_discard_age() -> None:
    """Discard age 1.25 s: the pairs heralded at 0.75 are usable in [1, 2) and gone at
    t = 2 exactly (herald + age <= t), as ``PairRecord.is_usable`` has it on SeQUeNCe.
    Each slot restarts at its discard time, so its next pair heralds at 2.75 and is usable
    from 3; by t = 2 two pairs were heralded (the next two are still in progress)."""
    link = _deterministic_link("oldest", discard_age_s=1.25)
    before = sample_pair_supply(np.array([1.0, 1.75]), link, np.random.default_rng(0))
    assert before.available.tolist() == [True, True]
    assert before.discarded == 0
    at = sample_pair_supply(np.array([2.0]), link, np.random.default_rng(0))
    assert at.available.tolist() == [False]
    assert at.discarded == 2
    assert at.used_pair.tolist() == [False] and np.isnan(at.herald_s).all()  # NaN: no pair
    assert at.heralded == 2
    again = sample_pair_supply(np.array([2.0, 3.0]), link, np.random.default_rng(0))
    assert again.available.tolist() == [False, True]
    assert again.herald_s[1] == 2.75 and again.discarded == 2


def test_pair_record_usable_window_is_half_open() -> None:
    """A SeQUeNCe pair record is usable on [usable_ps, discard_ps): from the moment the
    later router hears the herald, up to but not at the discard time."""
    pytest.importorskip("sequence")
    from protocols.entanglement import PairRecord, PairStore

    rec = PairRecord(
        herald_id=100, herald_ps=100, arrival_ps=150, slot=0, usable_ps=200, discard_ps=300
    )
    assert [rec.is_usable(t) for t in (199, 200, 299, 300, 301)] == [
        False,
        True,
        True,
        False,
        False,
    ]
    forever = PairRecord(100, 100, 150, 0, 200, None)
    assert forever.is_usable(10**18) and not forever.is_usable(199)
    store = PairStore("a")
    store.records[0] = rec
    store.records[1] = PairRecord(250, 250, 260, 1, 270, 1000)
    store.records[2] = PairRecord(50, 50, 60, 2, 70, 120)  # already discarded
    assert store.select(280, "oldest") is rec
    assert store.select(280, "newest").herald_id == 250
    assert store.select(300, "oldest").herald_id == 250  # rec is discarded at 300
    assert store.select(100, "oldest").herald_id == 50
    assert store.select(130, "newest") is None


# ---------------------------------------------------------------- what a decision plays


def test_decide_plays_measured_stored_or_fallback_outputs_by_hand() -> None:
    """The protocol step (:class:`qnet.decisions.step.DecisionStep`) around the analytic
    engine's measurement (:func:`qnet.engines.analytic.measure_pairs`) against a hand
    evaluation of each branch, on a profile whose with-pair mix
    has a polynomial and a *distinct* threshold component (chosen by u_2) and whose
    fallback mixes two threshold pairs (chosen by u_0); the shared flip is u_1 < 1/2:

    * no usable pair: the fallback pair chosen by u_0, flipped by u_1;
    * pair usable but left in store (threshold component): that component, flipped by u_1;
    * pair measured (T = I, no readout error): o_A = +1 iff its coin < 1/2, and o_B = o_A
      iff the second uniform < (1 + cos 2(θ_A - θ_B))/2 with θ = Σ c_k x^k.
    """
    from dataclasses import replace

    from qnet.decisions.step import DecisionStep
    from qnet.engines.analytic import measure_pairs
    from qnet.games.routing.classical import ThresholdStrategy
    from qnet.games.routing.mixture import Mixture
    from qnet.games.routing.quantum import PolynomialStrategy
    from qnet.runs.runner import simulate

    sc = Scenario.ideal(
        engine={"name": "analytic"},
        strategy={"restarts": 1, "quadrature_points": 24},
        run={"decisions": 200, "warmup_decisions": 0, "batches": 5},
    )
    base = simulate(sc).profile
    poly = PolynomialStrategy(a=(0.1, -0.4, 0.05), b=(-0.3, 0.5, -0.02))
    stored = ThresholdStrategy(0.7, 1.3, -1)
    fb0, fb1 = ThresholdStrategy(0.4, 2.0, 1), ThresholdStrategy(1.1, 0.2, -1)
    profile = replace(
        base,
        with_pair=Mixture((0.5, 0.5), (poly, stored), 0.0, 0.2),
        fallback=Mixture((0.3, 0.7), (fb0, fb1), 0.0, 0.2),
    )
    rng = np.random.default_rng(np.random.SeedSequence(18))
    n, mu = 4000, sc.traffic.mu_hz
    x1, x2 = rng.exponential(1 / mu, n), rng.exponential(1 / mu, n)
    shared, coins = rng.random((n, 3)), rng.random((n, 2))
    available = rng.random(n) < 0.6
    measured = available & (shared[:, 2] < 0.5)
    y1, y2 = x1 * mu, x2 * mu
    step = DecisionStep.prepare(profile, y1, y2, shared)
    np.testing.assert_array_equal(step.settings.wants_pair, shared[:, 2] < 0.5)
    out_a, out_b = measure_pairs(
        step.settings,
        measured,
        np.tile(np.eye(2), (int(measured.sum()), 1, 1)),
        step.flip,
        readout_factor=1.0,
        outcome_uniforms=coins,
    )
    o_a, o_b = step.outputs(available, measured, out_a, out_b)
    flip = np.where(shared[:, 1] < 0.5, -1, 1)

    def threshold(s: ThresholdStrategy) -> tuple[np.ndarray, np.ndarray]:
        return np.where(y1 < s.theta_a, 1, -1), s.orientation * np.where(y2 < s.theta_b, 1, -1)

    (a0, b0), (a1, b1), (a_st, b_st) = threshold(fb0), threshold(fb1), threshold(stored)
    first = shared[:, 0] < 0.3
    exp_a = np.where(first, a0, a1) * flip
    exp_b = np.where(first, b0, b1) * flip
    kept = available & ~measured
    exp_a[kept], exp_b[kept] = (a_st * flip)[kept], (b_st * flip)[kept]
    th_a = sum(c * y1**k for k, c in enumerate(poly.a))
    th_b = sum(c * y2**k for k, c in enumerate(poly.b))
    qa = np.where(coins[:, 0] < 0.5, 1, -1)
    qb = np.where(coins[:, 1] < (1 + np.cos(2 * (th_a - th_b))) / 2, qa, -qa)
    exp_a[measured], exp_b[measured] = qa[measured], qb[measured]
    assert min(kept.sum(), measured.sum(), (~available).sum()) > 1000
    np.testing.assert_array_equal(o_a, exp_a)
    np.testing.assert_array_equal(o_b, exp_b)


def test_analytic_log_marks_decisions_without_a_pair_with_nan() -> None:
    """Analytic engine, one slot pair over 2 x 25 km (availability ~0.35): rows that used
    no pair carry NaN age and fidelity (float columns), rows that did carry an age of at
    least the usable delay and a fidelity in [1/4, 1]."""
    from qnet.runs.runner import simulate

    sc = Scenario.ideal(
        engine={"name": "analytic"},
        traffic={"mean_service_time_s": 0.01},
        link={"arm_a_km": 25.0, "arm_b_km": 25.0, "memory_slots": 1},
        router_a={"t2_s": 0.2},
        router_b={"t2_s": 0.2},
        strategy={"restarts": 1, "quadrature_points": 24},
        run={"decisions": 600, "warmup_decisions": 0, "batches": 5},
    )
    log = simulate(sc).log
    used = log.used_pair
    assert 100 < used.sum() < 500
    assert log.pair_age_s.dtype == float and log.pair_fidelity.dtype == float
    assert np.isnan(log.pair_age_s[~used]).all() and np.isnan(log.pair_fidelity[~used]).all()
    assert (log.pair_age_s[used] >= predict(sc).usable_delay_s - 1e-15).all()
    assert ((log.pair_fidelity[used] >= 0.25) & (log.pair_fidelity[used] <= 1.0)).all()
