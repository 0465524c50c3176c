"""The QuNet'25 sum-threshold system on real pairs: ``[game] kind = "sum_threshold"``.

The profile plays through the protocol step (angles mapped to Φ+/X–Z), the analytic-engine
run of scenarios/workshop-qos.toml finishes in seconds and its measured R_k, p, Wq and win
probability agree with the analysis core within their 95 % CIs, and the advantage degrades
with fidelity as the analysis predicts.
"""

from __future__ import annotations

import math
import re
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from qnet.config import GameConfig, Scenario, ScenarioError, load_scenario
from qnet.decisions.step import DecisionStep
from qnet.games.sum_threshold.profile import build_sum_threshold_profile, paper_limit
from qnet.games.sum_threshold.quantum import optimize_angles, paper_correlation
from qnet.physics.noise import correlation
from qnet.queues.model import SystemParams

ROOT = Path(__file__).resolve().parents[1]
SCENARIO = ROOT / "scenarios" / "workshop-qos.toml"
PARAMS = SystemParams(lam=0.8, mu=1.0)


@pytest.fixture(scope="module")
def linear_profile():
    return build_sum_threshold_profile(PARAMS, 5.0, "linear")


def test_game_table_defaults_keep_routing_and_its_digests() -> None:
    """The default game is routing, and adding it did not move any routing digest."""
    s = Scenario.ideal()
    assert s.game == GameConfig() and s.game.kind == "routing"
    import hashlib
    import json

    data = s.to_dict()
    del data["game"], data["load_balancing"], data["sources"]  # all left out of the digest
    old = hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()[:16]
    assert s.digest() == old
    st = Scenario.ideal(game={"kind": "sum_threshold"})
    assert st.digest() != s.digest()
    # resolved scenarios round-trip (sweep points travel as to_dict), defaults included
    from qnet.config import scenario_from_dict

    for sc in (s, st):
        assert scenario_from_dict(sc.to_dict()).digest() == sc.digest()


@pytest.mark.parametrize(
    ("game", "message"),
    [
        ({"kind": "sum"}, "game.kind"),
        ({"quantum": "cubic"}, "game.quantum"),
        ({"w_limit_service_times": -1.0}, "game.w_limit_service_times"),
        ({"bins": 2}, "game.bins"),
        ({"quantum": "optimal"}, "game.quantum is set but game.kind = 'routing'"),
    ],
)
def test_bad_game_values_name_the_key(game: dict, message: str) -> None:
    from qnet.config import scenario_from_dict

    with pytest.raises(ScenarioError, match=re.escape(message)):
        scenario_from_dict({"game": game})


def test_unreachable_limit_is_one_error_line(tmp_path: Path) -> None:
    """W_l above the never-split wait: exit 2, one `error:` line naming the key and range."""
    from qnet.cli.app import app

    res = CliRunner().invoke(
        app,
        ["run", str(SCENARIO), "--set", "game.w_limit_service_times=50", "--out", str(tmp_path)],
    )
    assert res.exit_code == 2
    lines = [ln for ln in res.output.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: game.w_limit_service_times = 50")
    assert "allowed (" in lines[0]


def test_paper_point_is_the_sum_oracle_at_c_min() -> None:
    """Omitting W_l gives the workshop's point: the sum oracle's wait at C_min, 4.1034/μ."""
    assert paper_limit(PARAMS) == pytest.approx(4.103415, abs=1e-5)


def test_profile_sits_at_the_limit(linear_profile) -> None:
    """Both families meet W_l = 5 at their C_t (docs' QoS table: p = 0.2711 and 0.6601)."""
    pr = linear_profile
    q, c = pr.quantum_prediction(), pr.classical_prediction()
    assert q.moments.wait == pytest.approx(5.0, abs=1e-6)
    assert q.moments.p == pytest.approx(0.2711, abs=1e-4)
    assert c.moments.wait <= 5.0 and c.moments.p == pytest.approx(0.6601, abs=1e-4)
    assert pr.oracle_prediction().wait == pytest.approx(5.0, abs=1e-9)
    lin = optimize_angles(pr.quantum_c_t, starts=2, init=pr.coefficients)
    assert q.win_probability == pytest.approx(lin.win_probability, abs=1e-6)


@pytest.mark.parametrize("family", ["linear", "optimal"])
def test_stack_angles_reproduce_the_papers_correlations(family: str) -> None:
    """The profile's Φ+/X–Z angles give, through the stack's noise model, the correlation of
    the family's strategy in its own convention (ψ−/X–Y for relative angles)."""
    pr = build_sum_threshold_profile(PARAMS, 5.0, family)
    rng = np.random.default_rng(7)
    x_a, x_b = rng.exponential(1.0, 40), rng.exponential(1.0, 40)
    th_a, th_b = pr.angles(np.zeros(40, int), x_a, x_b)
    stack = correlation(np.eye(2), th_a, th_b)
    a, b = -np.expm1(-x_a), -np.expm1(-x_b)
    if family == "linear":
        d = pr.coefficients
        phi_a, phi_b = d[0] + d[1] * a, -d[2] * b
        expected = paper_correlation(phi_a, phi_b)
    else:
        i, j = (a * pr.bins).astype(int), (b * pr.bins).astype(int)
        expected = np.cos(pr.phases_a[i] - pr.phases_b[j])
    np.testing.assert_allclose(stack, expected, atol=1e-12)


def test_fallback_is_the_threshold_pair_load_balanced(linear_profile) -> None:
    """Without pairs: o_A o_B is the threshold pair's product, each output a fair coin."""
    pr = linear_profile
    rng = np.random.default_rng(3)
    n = 200_000
    x_a, x_b = rng.exponential(1.0, n), rng.exponential(1.0, n)
    step = DecisionStep.prepare(pr, x_a, x_b, rng.random((n, 3)))
    no = np.zeros(n, bool)
    o_a, o_b = step.outputs(no, no, np.zeros(n), np.zeros(n))
    c_a, c_b = pr.classical_outputs(x_a, x_b)
    np.testing.assert_array_equal(o_a * o_b, c_a * c_b)
    assert abs(o_a.mean()) < 4 / math.sqrt(n) and abs(o_b.mean()) < 4 / math.sqrt(n)
    assert step.settings.wants_pair.all()
    assert (1 - (o_a * o_b).mean()) / 2 == pytest.approx(
        pr.classical_prediction().moments.p, abs=0.005
    )


def test_analytic_run_agrees_with_the_analysis_within_its_ci() -> None:
    """`qnet run scenarios/workshop-qos.toml` (analytic): seconds; R_k, R_warm-up, p, Wq and
    win probabilities each within their 95 % CI of the analysis core's values."""
    from qnet.runs.runner import run_scenario

    scenario = load_scenario(SCENARIO)
    assert scenario.engine.name == "analytic" and scenario.game.kind == "sum_threshold"
    r = run_scenario(scenario)
    assert r.wall_time_s < 30
    assert r.availability > 0.999
    pairs = [
        ("throughput_ratio", r.predicted_throughput_ratio),
        ("throughput_ratio_warmup", r.predicted_throughput_ratio_warmup),
        ("splitting_probability_quantum", r.predicted_splitting_probability_quantum),
        ("splitting_probability_classical", r.predicted_splitting_probability_classical),
        ("splitting_probability_oracle", r.p_sum_oracle),
        ("wait_quantum", r.predicted_wait_quantum),
        ("wait_classical", r.predicted_wait_classical),
        ("win_probability_quantum", r.predicted_win_probability_quantum),
        ("win_probability_classical", r.predicted_win_probability_classical),
        # the honest baseline: the full paper's classical envelope at the limit
        ("throughput_ratio_envelope", r.predicted_throughput_ratio_envelope),
        ("throughput_ratio_warmup_envelope", r.predicted_throughput_ratio_warmup_envelope),
        ("splitting_probability_envelope", r.predicted_splitting_probability_envelope),
        ("wait_envelope", r.predicted_wait_envelope),
    ]
    for name, predicted in pairs:
        mean, half = getattr(r, name), getattr(r, f"{name}_ci95")
        assert abs(mean - predicted) <= half, f"{name}: {mean} ± {half} vs {predicted}"
    # the analytic R_k is the workshop's eq. 8 at the two families' p
    assert r.predicted_throughput_ratio == pytest.approx(
        (1.6601 / 1.2711) ** (r.power_k - 1), abs=2e-4
    )
    assert r.verdict == "yes" and r.throughput_ratio_ci95 < 0.05
    # against the envelope (p = 0.2794) the analysis gives R_2 = 1.0065: no resolved advantage
    assert r.predicted_splitting_probability_envelope == pytest.approx(0.2794, abs=2e-4)
    assert r.ideal_throughput_ratio_envelope == pytest.approx(1.0065, abs=5e-4)
    assert r.verdict_envelope == "inconclusive" and r.throughput_ratio_envelope_ci95 < 0.03


def test_envelope_is_the_qos_classical_optimum() -> None:
    """The envelope at W_l meets it exactly (A12, exact moments), needs the p of the best
    threshold pairs mixed by a shared coin (docs' QoS table), and is undefined past p = 1/2."""
    from qnet.games.sum_threshold import qos

    for w_l, p in ((5.0, 0.2794), (4.5, 0.4839)):
        mix = qos.envelope_at_limit(w_l, PARAMS)
        assert mix is not None
        m = qos.envelope_moments(mix, PARAMS)
        assert m.wait == pytest.approx(w_l, abs=1e-3) and m.wait <= w_l + 1e-9
        assert m.p == pytest.approx(p, abs=2e-4)
        assert m.p <= qos.best_pairs_at_limit(w_l, PARAMS)[1] + 1e-4
        assert m.p > qos.oracle_p_at_limit(w_l, PARAMS, "w")
    assert qos.envelope_at_limit(4.2, PARAMS) is None


def test_noise_aware_placement_meets_the_limit_on_werner_pairs(linear_profile) -> None:
    """Werner pairs (F = 0.8, tensor v·I): the ideal placement's played wait exceeds W_l,
    the noise-aware member meets it (analysis core, exact A12)."""
    v = (4 * 0.8 - 1) / 3
    tensor = v * np.eye(2)
    ideal = linear_profile.predicted(1.0, tensor).moments
    aware_profile = build_sum_threshold_profile(
        PARAMS, 5.0, "linear", expected_availability=1.0, expected_tensor=tensor
    )
    aware = aware_profile.predicted(1.0, tensor).moments
    assert aware_profile.placement == "noise_aware"
    assert ideal.wait > 5.05
    assert aware.wait == pytest.approx(5.0, abs=1e-4)


def test_noise_aware_placement_buys_throughput_at_partial_availability() -> None:
    """A slow source (a ≈ 0.73): the ideal placement leaves the wait budget unused (the
    classical pair fills the gaps); the noise-aware one (its pilot's a and tensor) plays a
    lower-p member that still meets W_l and measures a higher R_2, beyond both CIs
    combined (same seed: common random numbers make the combination conservative)."""
    from qnet.runs.runner import run_scenario

    keys = ["link.memory_frequency_hz=2000"]
    ideal = run_scenario(load_scenario(SCENARIO, keys))
    aware = run_scenario(load_scenario(SCENARIO, [*keys, "strategy.kind=noise_aware"]))
    assert aware.placement == "noise_aware" and ideal.placement == "ideal"
    assert aware.planned_availability == pytest.approx(aware.availability, abs=0.02)
    assert ideal.predicted_wait_quantum < 4.85
    assert aware.predicted_wait_quantum == pytest.approx(5.0, abs=0.02)
    p, half = aware.splitting_probability_quantum, aware.splitting_probability_quantum_ci95
    assert abs(p - aware.predicted_splitting_probability_quantum) <= half
    assert aware.predicted_throughput_ratio > ideal.predicted_throughput_ratio + 0.03
    gap = aware.throughput_ratio - ideal.throughput_ratio
    assert gap > math.hypot(aware.throughput_ratio_ci95, ideal.throughput_ratio_ci95)


def test_advantage_degrades_with_fidelity_as_predicted() -> None:
    """Same seed (common random numbers), raw fidelity 1, 0.8, 0.6: p rises, win probability
    and R_k fall, each measured value within its CI of the prediction."""
    from qnet.runs.runner import run_scenario

    recs = [
        run_scenario(load_scenario(SCENARIO, [f"link.raw_fidelity={f}", "run.decisions=20000"]))
        for f in (1.0, 0.8, 0.6)
    ]
    for name in ("throughput_ratio", "win_probability_quantum"):
        vals = [getattr(r, name) for r in recs]
        assert vals[0] > vals[1] > vals[2], (name, vals)
        preds = [getattr(r, f"predicted_{name}") for r in recs]
        assert preds[0] > preds[1] > preds[2]
        for r, p in zip(recs, preds, strict=True):
            assert abs(getattr(r, name) - p) <= getattr(r, f"{name}_ci95"), (name, r, p)
    ps = [r.splitting_probability_quantum for r in recs]
    assert ps[0] < ps[1] < ps[2]


def test_partial_availability_beats_the_plug_in_prediction() -> None:
    """Finding (docs/sum-threshold.md): with a slow source (a ≈ 0.73) p still matches the
    analysis, but R_k lies well above the plug-in prediction, because pairs are ready
    mostly after long gaps between decisions."""
    from qnet.runs.runner import run_scenario

    r = run_scenario(
        load_scenario(SCENARIO, ["link.memory_frequency_hz=2000", "run.decisions=20000"])
    )
    assert 0.65 < r.availability < 0.8
    p, p_pred = r.splitting_probability_quantum, r.predicted_splitting_probability_quantum
    assert abs(p - p_pred) <= r.splitting_probability_quantum_ci95
    assert r.throughput_ratio - r.throughput_ratio_ci95 > r.predicted_throughput_ratio + 0.02


@pytest.mark.slow
def test_sequence_engine_plays_the_same_profile(tmp_path: Path) -> None:
    """The SeQUeNCe engine runs the game unchanged: R_k within its CI of the prediction."""
    from qnet.runs.runner import run_scenario

    scenario = load_scenario(
        SCENARIO, ["engine.name=sequence", "run.decisions=6000", "run.warmup_decisions=500"]
    )
    r = run_scenario(scenario)
    assert r.engine == "sequence" and r.availability > 0.99
    assert abs(r.throughput_ratio - r.predicted_throughput_ratio) <= r.throughput_ratio_ci95
    assert abs(r.splitting_probability_quantum - r.predicted_splitting_probability_quantum) <= (
        r.splitting_probability_quantum_ci95
    )


def test_shipped_sweep_loads() -> None:
    """The fidelity x availability sweep resolves to 12 sum-threshold points."""
    from qnet.sweeps.spec import load_sweep

    sweep = load_sweep(ROOT / "scenarios" / "sweeps" / "workshop-qos-fidelity.toml")
    points = sweep.points()
    assert len(points) == 12
    assert {p.scenario.game.kind for p in points} == {"sum_threshold"}


def test_run_writes_its_figure_and_a_store_of_runs_is_plotted(tmp_path: Path) -> None:
    """`qnet run` on a sum-threshold scenario writes its PNG (R_k vs both baselines, Wq,
    p); `qnet plot`'s sweep figure draws R_k, p and Wq of sum-threshold rows against the
    swept key instead of refusing them."""
    import json

    import pandas as pd

    from qnet.cli.app import app
    from qnet.plots.sweep import sweep_figure_png

    res = CliRunner().invoke(
        app,
        [
            "run",
            str(SCENARIO),
            "--set",
            "run.decisions=4000",
            "--set",
            "run.warmup_decisions=200",
            "--json",
            "--out",
            str(tmp_path),
        ],  # fmt: skip
    )
    assert res.exit_code == 0, res.output
    summary = json.loads(res.output)
    png = Path(summary["plot_png"])
    assert png.parent == tmp_path and png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    env = summary["envelope"]["R_k"]
    assert env["predicted"] == pytest.approx(1.0065, abs=2e-3) and len(env["ci95"]) == 2
    row = summary["record"]
    rows = [{**row, "link.raw_fidelity": f, "status": "ok", "sweep": "t"} for f in (1.0, 0.8)]
    rows[1]["throughput_ratio"] -= 0.05
    out = sweep_figure_png(pd.DataFrame(rows), x="link.raw_fidelity")
    assert out[:8] == b"\x89PNG\r\n\x1a\n" and len(out) > 10_000


def test_replications_combine_into_one_sum_threshold_record() -> None:
    """`--replications 2`: one SumThresholdRecord, the same on one process or a pool of 2
    (the record depends on the seed and R only), R_k and p within their CIs of the analysis."""
    from qnet.runs.replicate import run_replicated
    from qnet.runs.sum_threshold_record import SumThresholdRecord
    from qnet.sweeps.executors import _pool

    scenario = load_scenario(SCENARIO, ["run.decisions=12000"])
    serial = run_replicated(scenario, 2)
    with _pool(2) as pool:
        pooled = run_replicated(scenario, 2, pool)
    assert isinstance(serial, SumThresholdRecord) and serial.replications == 2
    assert serial.decisions == 12000 - scenario.run.warmup_decisions  # measured ones split
    a, b = serial.to_dict(), pooled.to_dict()
    del a["wall_time_s"], b["wall_time_s"]
    assert a == b
    for name in ("throughput_ratio", "throughput_ratio_envelope", "splitting_probability_quantum"):
        mean, half = getattr(serial, name), getattr(serial, f"{name}_ci95")
        assert abs(mean - getattr(serial, f"predicted_{name}")) <= half, name
    assert serial.verdict == "yes" and serial.verdict_envelope == "inconclusive"
