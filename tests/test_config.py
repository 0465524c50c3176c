"""The scenario schema: defaults, overrides, and one clear message per refused input.

Every refused-input case of issue 7 (rho >= 1, negative lengths, fidelity outside
[0.25, 1], p outside (0, 1), unknown keys, wrong types) is asserted on its full message:
the key, the value given and the allowed range must all appear.
"""

from __future__ import annotations

import re

import numpy as np
import pytest

from qnet.config import (
    Scenario,
    ScenarioError,
    load_scenario,
    parse_override,
    scenario_from_dict,
)


def _refused(data: dict) -> str:
    with pytest.raises(ScenarioError) as info:
        scenario_from_dict(data)
    return str(info.value)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        # rho >= 1: unstable queue, given directly or through the arrival rate
        ({"traffic": {"load": 1.2}}, "traffic.load = 1.2 is out of range: allowed (0, 1)"),
        ({"traffic": {"load": 1.0}}, "traffic.load = 1.0 is out of range: allowed (0, 1)"),
        ({"traffic": {"load": 0}}, "traffic.load = 0 is out of range: allowed (0, 1)"),
        (
            {"traffic": {"arrival_rate_hz": 1500.0, "mean_service_time_s": 1e-3}},
            "traffic.arrival_rate_hz = 1500.0 gives load rho = arrival_rate_hz * "
            "mean_service_time_s = 1.5, out of range: allowed [1e-06, 1)",
        ),
        # negative lengths
        ({"link": {"arm_a_km": -3}}, "link.arm_a_km = -3 is out of range: allowed [0, 1000]"),
        (
            {"link": {"arm_b_km": -0.5}},
            "link.arm_b_km = -0.5 is out of range: allowed [0, 1000]",
        ),
        # fidelity outside [0.25, 1]
        (
            {"link": {"raw_fidelity": 0.2}},
            "link.raw_fidelity = 0.2 is out of range: allowed [0.25, 1]",
        ),
        (
            {"link": {"raw_fidelity": 1.01}},
            "link.raw_fidelity = 1.01 is out of range: allowed [0.25, 1]",
        ),
        # p outside (0, 1)
        (
            {"strategy": {"target_splitting_probability": 0}},
            "strategy.target_splitting_probability = 0 is out of range: allowed (0, 1)",
        ),
        (
            {"strategy": {"target_splitting_probability": 1.5}},
            "strategy.target_splitting_probability = 1.5 is out of range: allowed (0, 1)",
        ),
        # other ranges and non-finite numbers
        ({"seed": -1}, "seed = -1 is out of range: allowed [0, inf)"),
        (
            {"link": {"arm_a_km": float("nan")}},
            "link.arm_a_km = nan is not a finite number: allowed [0, 1000]",
        ),
        (
            {"router_a": {"readout_error": 0.5}},
            "router_a.readout_error = 0.5 is out of range: allowed [0, 0.5)",
        ),
        (
            {"run": {"decisions": 1000, "warmup_decisions": 1000}},
            "run.warmup_decisions = 1000 is out of range: allowed [0, run.decisions = 1000)",
        ),
    ],
)
def test_out_of_range_names_key_value_and_range(data: dict, message: str) -> None:
    """The whole message is exactly one sentence: key = value, then the allowed range."""
    assert _refused(data) == message


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (
            {"link": {"arm_a_km": "ten"}},
            "link.arm_a_km = 'ten' has the wrong type: expected a number",
        ),
        # a quoted number is still text in TOML: refused, not silently coerced
        (
            {"link": {"arm_a_km": "10"}},
            "link.arm_a_km = '10' has the wrong type: expected a number",
        ),
        ({"traffic": {"load": True}}, "traffic.load = True has the wrong type: expected a number"),
        (
            {"link": {"memory_slots": 2.5}},
            "link.memory_slots = 2.5 has the wrong type: expected an integer",
        ),
        ({"name": 3}, "name = 3 has the wrong type: expected a string"),
        ({"link": 5}, "link = 5 has the wrong type: expected a table [link]"),
        (
            {"engine": {"name": "fast"}},
            "engine.name = 'fast' is not a valid choice: allowed 'sequence' or 'analytic'",
        ),
    ],
)
def test_wrong_types_name_key_value_and_expected_type(data: dict, message: str) -> None:
    assert _refused(data) == message


def test_unknown_key_is_named_with_a_suggestion_and_the_allowed_keys() -> None:
    msg = _refused({"link": {"arm_km": 3}})
    assert msg.startswith("link.arm_km = 3 is an unknown key (did you mean 'arm_")
    assert "allowed keys in [link]: arm_a_km, arm_b_km," in msg
    top = _refused({"trafic": {"load": 0.5}})
    assert top.startswith("trafic = {...} is an unknown key (did you mean 'traffic'?)")
    assert "allowed keys in the top level: name," in top


def test_both_rates_refused_with_both_values() -> None:
    msg = _refused({"traffic": {"load": 0.5, "arrival_rate_hz": 100.0}})
    assert msg == (
        "traffic.load = 0.5 and traffic.arrival_rate_hz = 100.0 are both set: set only one of them"
    )


def test_two_problems_reported_in_one_message() -> None:
    msg = _refused({"traffic": {"load": 2.0}, "link": {"arm_a_km": -1}})
    assert "traffic.load = 2.0 is out of range" in msg
    assert "link.arm_a_km = -1 is out of range" in msg
    assert msg.count(";") == 1


def test_defaults_make_the_empty_file_the_paper_setting() -> None:
    """An empty scenario is the paper's setting: rho = 0.8, alpha = 0.5 mu, p = 0.2."""
    s = scenario_from_dict({})
    assert s.traffic.rho == pytest.approx(0.8)
    assert s.traffic.lam_hz == pytest.approx(0.8 / 1e-3)
    assert s.queue.warmup_rate_per_service == 0.5
    assert s.strategy.target_splitting_probability == 0.2


def test_numpy_scalars_are_accepted() -> None:
    """Sweeps build values with numpy; its scalars must validate like Python numbers."""
    s = scenario_from_dict({"link": {"memory_slots": np.int64(3), "arm_a_km": np.float64(2.5)}})
    assert s.link.memory_slots == 3 and s.link.arm_a_km == 2.5


def test_load_file_with_overrides_and_errors(tmp_path) -> None:
    path = tmp_path / "metro.toml"
    path.write_text('[link]\narm_a_km = 10\narm_b_km = 12.5\n[engine]\nname = "analytic"\n')
    s = load_scenario(path, ["link.arm_a_km=25", "traffic.load=0.5", "seed=7"])
    assert s.name == "metro"
    assert (s.link.arm_a_km, s.link.arm_b_km, s.traffic.rho, s.seed) == (25, 12.5, 0.5, 7)
    with pytest.raises(ScenarioError, match=r"^link\.arm_b_km = 'far' has the wrong type"):
        load_scenario(path, ["link.arm_b_km=far"])
    with pytest.raises(ScenarioError, match=r"^link\.bogus = 1 is an unknown key"):
        load_scenario(path, ["link.bogus=1"])
    with pytest.raises(ScenarioError, match="scenario file not found"):
        load_scenario(tmp_path / "missing.toml")
    bad = tmp_path / "bad.toml"
    bad.write_text("[link\n")
    with pytest.raises(ScenarioError, match="not valid TOML"):
        load_scenario(bad)


def test_parse_override_keeps_toml_types() -> None:
    assert parse_override("link.arm_a_km=25") == ("link.arm_a_km", 25)
    assert parse_override("engine.name=analytic") == ("engine.name", "analytic")
    assert parse_override("link.coherence_time_s = 1e-2") == ("link.coherence_time_s", 0.01)
    with pytest.raises(ScenarioError, match="--set expects KEY=VALUE"):
        parse_override("link.arm_a_km")


def test_digest_is_stable_and_sensitive() -> None:
    a, b = Scenario.ideal(), Scenario.ideal()
    assert a.digest() == b.digest()
    assert re.fullmatch(r"[0-9a-f]{16}", a.digest())
    assert Scenario.ideal(seed=2).digest() != a.digest()
