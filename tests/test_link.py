"""Predictions of the SeQUeNCe link (qnet.physics.link): closed forms a wrong formula would break.

Pure numpy; the simulation is held to these in tests/test_physical_layer.py.
"""

from __future__ import annotations

import math

import pytest

from qnet.config import Scenario, ScenarioError, scenario_from_dict
from qnet.physics import link
from qnet.physics.noise import stored_pair


def _scenario(**link_kw: float) -> Scenario:
    return Scenario.ideal(link=link_kw)


def test_detection_probability_is_memory_fiber_detector_product() -> None:
    """q = η_mem · 10^(−αL/10) · η_det: 10 km at 0.2 dB/km is 2 dB, 10^(−0.2) = 0.630957."""
    s = _scenario(arm_a_km=10, arm_b_km=20, memory_efficiency=0.5, detector_efficiency=0.8)
    q_a, q_b = link.detection_probabilities(s.link)
    assert q_a == pytest.approx(0.5 * 10**-0.2 * 0.8, rel=1e-12)
    assert q_b == pytest.approx(0.5 * 10**-0.4 * 0.8, rel=1e-12)


def test_success_probability_equal_arms_is_textbook() -> None:
    """Equal arms: SeQUeNCe's q̄²/2 equals the physical q_A q_B / 2 (q̄ = q_A = q_B)."""
    q = 0.37
    assert link.success_probability(q, q) == pytest.approx(q * q / 2, rel=1e-15)
    assert link.success_probability(q, q) == link.textbook_success_probability(q, q)


def test_success_probability_unequal_arms_departs_by_am_gm() -> None:
    """Unequal arms: SeQUeNCe uses the arithmetic mean, physics the geometric mean.

    q_A = 0.8, q_B = 0.2: SeQUeNCe (0.5)²/2 = 0.125, textbook 0.16/2 = 0.08, ratio
    (q̄²)/(q_A q_B) = 0.25/0.16 = 1.5625.
    """
    assert link.success_probability(0.8, 0.2) == pytest.approx(0.125, rel=1e-14)
    assert link.textbook_success_probability(0.8, 0.2) == pytest.approx(0.08, rel=1e-14)


def test_round_one_pass_probability_limits() -> None:
    """r_1 = q̄ − 3/8 q_A q_B: 0 for q = 0; 5/8 for q = 1 (1/2 single photon + 1/4·1/2 both
    photons on one detector); linear q/... for small q (two-photon term negligible)."""
    assert link.round_one_pass_probability(0.0, 0.0) == 0.0
    assert link.round_one_pass_probability(1.0, 1.0) == pytest.approx(5 / 8)
    assert link.round_one_pass_probability(0.5, 0.1) == pytest.approx(0.3 - 0.375 * 0.05)


def test_attempt_durations_equal_arms_closed_form() -> None:
    """Equal arms τ = L/c, d_AB = 2τ: round 1 ends on the first 12.5 ns grid time at or after
    t0 + 2 d_AB with t0 = 2τ + 10 ps, i.e. D_fail = ceil((6τ + 10)/bin)·bin; round 2 adds
    the herald (τ + 10) and one more negotiation (2 d_AB): D_full = ceil((D_fail + τ + τ + 10
    + 4τ)/bin)·bin. 10 km at 2e5 km/s: τ = 50 us -> D_fail = 300.0125 us, D_full = 600.025 us.
    """
    s = _scenario(arm_a_km=10, arm_b_km=10)
    d_fail, d_full = link.attempt_durations_ps(s.link)
    tau = 50_000_000
    b = link.EMISSION_BIN_PS
    assert d_fail == math.ceil((6 * tau + 10) / b) * b == 300_012_500
    assert d_full == math.ceil((d_fail + 6 * tau + 10) / b) * b == 600_025_000


def test_predict_rate_period_and_delays() -> None:
    """Rate = K p / E[D] with E[D] = (1 − r1) D_fail + r1 D_full; herald delay τ_X + 10 ps."""
    s = _scenario(arm_a_km=1, arm_b_km=1.5, memory_slots=3)
    pred = link.predict(s)
    q_a, q_b = link.detection_probabilities(s.link)
    r1 = link.round_one_pass_probability(q_a, q_b)
    period = (1 - r1) * pred.attempt_fail_s + r1 * pred.attempt_full_s
    assert pred.attempt_period_s == pytest.approx(period, rel=1e-12)
    assert pred.pair_rate_hz == pytest.approx(3 * pred.success_probability / period, rel=1e-12)
    assert pred.herald_delay_a_s == pytest.approx(5e-6 + 10e-12, rel=1e-12)
    assert pred.herald_delay_b_s == pytest.approx(7.5e-6 + 10e-12, rel=1e-12)
    assert pred.usable_delay_s == pred.herald_delay_b_s


def test_fidelity_after_storage_matches_noise_closed_form() -> None:
    """F(age) = stored_pair(v, τ_A + age, τ_B + age) with T2-only dephasing:
    F = (1 + v(1 + 2 c_A c_B))/4, c_X = exp(−(τ_X + age)/T2)."""
    s = Scenario.ideal(
        link={"arm_a_km": 2, "arm_b_km": 4, "raw_fidelity": 0.9},
        router_a={"t2_s": 1e-3},
        router_b={"t2_s": 2e-3},
    )
    pred = link.predict(s)
    v = (4 * 0.9 - 1) / 3
    for age in (0.0, 1e-4, 1e-3):
        c_a = math.exp(-(10e-6 + age) / 1e-3)
        c_b = math.exp(-(20e-6 + age) / 2e-3)
        expected = (1 + v * (1 + 2 * c_a * c_b)) / 4
        assert pred.fidelity_after(age) == pytest.approx(expected, abs=1e-12)
    assert pred.fidelity_at_herald == pytest.approx(pred.fidelity_after(0.0), abs=1e-15)
    ref = stored_pair(v, 10e-6 + 5e-4, 20e-6 + 5e-4, None, 1e-3, None, 2e-3).fidelity
    assert link.fidelity_after_storage(s, 5e-4) == pytest.approx(ref, abs=1e-15)
    with pytest.raises(ValueError, match="age_s must be >= 0"):
        pred.fidelity_after(-1.0)


def test_arm_grid_refusal_names_fields_and_step() -> None:
    """Arms differing by 1 m are refused for the SeQUeNCe engine (grid step 2.5 m)."""
    bad = {"link": {"arm_a_km": 10, "arm_b_km": 10.001}, "engine": {"name": "sequence"}}
    with pytest.raises(
        ScenarioError, match=r"link.arm_a_km = 10 and link.arm_b_km = 10.001.*2.5 m"
    ):
        scenario_from_dict(bad)
    ok = scenario_from_dict({"link": {"arm_a_km": 10, "arm_b_km": 10.0025}})
    assert link.arm_grid_error(ok.link) is None
    # the analytic engine has no such grid
    bad["engine"]["name"] = "analytic"
    assert scenario_from_dict(bad).link.arm_b_km == 10.001


def test_slow_memory_sets_the_pace() -> None:
    """A memory re-excitable only every 1/f = 1 ms (f = 1 kHz) on 10 m arms (τ = 50 ns,
    d_AB = 100 ns): each round's emission waits for the memory, then one more d_AB for the
    negotiation: D_fail = 1 ms + 100 ns, D_full = 2 (1 ms + 100 ns)."""
    s = _scenario(arm_a_km=0.01, arm_b_km=0.01, memory_frequency_hz=1e3)
    assert link.attempt_durations_ps(s.link) == (1_000_100_000, 2_000_200_000)


def test_guard_bins_exceed_dead_time() -> None:
    """Photon spacing (guard + 1)·12.5 ns must exceed the 40 ns dead time: 4 bins = 50 ns."""
    assert link.guard_bins() == 3
    assert (link.guard_bins() + 1) * link.EMISSION_BIN_PS > link.DETECTOR_DEAD_TIME_PS
    assert link.guard_bins() * link.EMISSION_BIN_PS <= link.DETECTOR_DEAD_TIME_PS


def test_sequence_time_bin_rounds_like_sequence_not_ceiling() -> None:
    """SeQUeNCe's ``time_to_timebin`` (x = t / 12.5 ns): integer x kept; otherwise
    round-half-even(x) + 1, i.e. the next bin for a fractional part < 1/2 and the one after
    it for > 1/2; at exactly 1/2 the later one iff floor(x) is odd. Exact integer cases."""
    b = link.EMISSION_BIN_PS
    assert link.sequence_time_bin(0) == 0
    assert link.sequence_time_bin(5 * b) == 5
    assert link.sequence_time_bin(5 * b + 1) == 6  # fraction 8e-5 -> next bin
    assert link.sequence_time_bin(5 * b + 6_249) == 6  # fraction just below 1/2
    assert link.sequence_time_bin(5 * b + 6_251) == 7  # just above 1/2: one bin later
    assert link.sequence_time_bin(5 * b + 6_250) == 7  # tie, floor 5 odd -> 6 + 1
    assert link.sequence_time_bin(4 * b + 6_250) == 5  # tie, floor 4 even -> 4 + 1
    assert link.sequence_time_bin(1_047_500.0) == 85  # 83.8 -> 85 (a plain ceiling gives 84)


def test_short_arms_memory_paced_attempt_waits_one_extra_bin() -> None:
    """Trapped-ion timing at 1 m arms (τ = 5 ns, d_AB = 10 ns), memory at 1 MHz (1 µs).

    Round 1: A's earliest emission is 1 µs + d_AB = 1.010 µs after its previous one, 80.8
    bins; SeQUeNCe rounds 80.8 to bin 82 (not 81), so D_fail = 1.025 µs. Round 2: 1.025 µs
    + 1 µs + d_AB = 2.035 µs = 162.8 bins -> bin 164, D_full = 2.050 µs. These are the only
    two durations SeQUeNCe produces (tests/test_physical_layer.py holds it to them).
    """
    s = _scenario(arm_a_km=0.001, arm_b_km=0.001, memory_frequency_hz=1e6)
    assert link.attempt_durations_ps(s.link) == (1_025_000, 2_050_000)
    pred = link.predict(s)
    r1 = pred.round_one_pass_probability
    assert pred.attempt_period_s == pytest.approx((1.025 + r1 * 1.025) * 1e-6, rel=1e-12)
