"""The QuNet'25 sum-threshold game: paper numbers, conventions, thresholds suffice, bounds."""

from __future__ import annotations

import math

import numpy as np
import pytest

from qnet.games.sum_threshold import SumThresholdGame
from qnet.games.sum_threshold.bounds import bin_bounds, lowrank_xor
from qnet.games.sum_threshold.classical import (
    anneal,
    best_threshold_pair,
    bias_matrix,
    bunch_area,
    classical_minimum,
    exhaustive_bins,
    threshold_bias,
)
from qnet.games.sum_threshold.quantum import (
    AngleStrategy,
    optimize_angles,
    paper_correlation,
    relative_angle_bias,
    stack_angles,
)
from qnet.physics.noise import bell_state, correlation


@pytest.fixture(scope="module")
def c_min() -> float:
    return classical_minimum().c_t


@pytest.fixture(scope="module")
def linear(c_min: float) -> AngleStrategy:
    return optimize_angles(c_min)


@pytest.fixture(scope="module")
def quadratic(c_min: float) -> AngleStrategy:
    return optimize_angles(c_min, quadratic=True)


# ----------------------------------------------------------------------------- exact areas
def test_bunch_area_closed_forms() -> None:
    """Whole square: 1 − C + C ln C; a rectangle against a dense midpoint grid."""
    for c in (0.1, 0.33, 0.8):
        assert bunch_area(0, 1, 0, 1, c) == pytest.approx(1 - c + c * math.log(c), abs=1e-14)
    m = 2000
    x = (np.arange(m) + 0.5) / m
    a = 0.1 + 0.5 * x[:, None]  # [0.1, 0.6] x [0.2, 0.9]
    b = 0.2 + 0.7 * x[None, :]
    grid = np.mean((1 - a) * (1 - b) >= 0.33) * 0.5 * 0.7
    assert bunch_area(0.1, 0.6, 0.2, 0.9, 0.33) == pytest.approx(grid, abs=2e-4)


def test_bias_matrix_sums_to_total_bias() -> None:
    edges = np.linspace(0, 1, 7)
    gm = bias_matrix(edges, edges, 0.4)
    assert gm.sum() == pytest.approx(2 * (1 - 0.4 + 0.4 * math.log(0.4)) - 1, abs=1e-14)
    assert threshold_bias(1.0, 1.0, 0.4) == pytest.approx(gm.sum(), abs=1e-14)


def test_bad_c_t_is_one_clear_error() -> None:
    with pytest.raises(ValueError, match=r"^c_t = 1.5 is out of range: allowed \(0, 1\)$"):
        SumThresholdGame(c_t=1.5)
    with pytest.raises(ValueError, match=r"^mu = -1.0 is out of range: allowed > 0$"):
        SumThresholdGame(c_t=0.3, mu=-1.0)


# ------------------------------------------------------------------------------- classical
def test_classical_minimum_reproduces_paper_eq5(c_min: float) -> None:
    """P_cl(C_t ≈ 0.33) ≈ 0.7616 at the C_t minimizing the classical optimum (eq. 5)."""
    best = best_threshold_pair(c_min)
    assert c_min == pytest.approx(0.33, abs=0.005)
    assert best.win_probability == pytest.approx(0.7616, abs=5e-5)
    for c in (c_min - 0.01, c_min + 0.01):  # it is a minimum over C_t
        assert best_threshold_pair(c).win_probability > best.win_probability


@pytest.mark.parametrize("c_t", [0.2, 0.33, 0.5])
def test_thresholds_suffice_exhaustive_coarse_grid(c_t: float) -> None:
    """All 2^31 strategies constant on 16 bins: the best is a threshold pair on the grid."""
    best = best_threshold_pair(c_t).bias
    exhaustive, g, h = exhaustive_bins(16, c_t)
    assert exhaustive <= best + 1e-12
    edges = np.linspace(0, 1, 17)
    on_grid = np.abs(threshold_bias(edges[:, None], edges[None, :], c_t)).max()
    assert exhaustive == pytest.approx(on_grid, abs=1e-12)
    assert np.count_nonzero(np.diff(g)) <= 1 and np.count_nonzero(np.diff(h)) <= 1


def test_thresholds_suffice_annealing_1000_bins(c_min: float) -> None:
    """Simulated annealing over N = 1000 bins (paper Section 4.3) never beats the best pair."""
    best = best_threshold_pair(c_min).bias
    for seed in (1, 2):
        res = anneal(c_min, n=1000, sweeps=20, seed=seed)
        assert res.bias <= best + 1e-12
        assert res.win_probability == pytest.approx(0.7616, abs=2e-4)


def test_game_score_mean_is_the_threshold_bias() -> None:
    """Playing the best pair on sampled service times scores its exact bias (4σ)."""
    game = SumThresholdGame(c_t=0.3)
    best = game.classical
    rng = np.random.default_rng(7)
    x1, x2 = game.sample_inputs(rng, 200_000)
    o_a = best.sign * np.where(game.to_uniform(x1) < best.alpha, 1, -1)
    o_b = np.where(game.to_uniform(x2) < best.beta, 1, -1)
    score = game.score(x1, x2, o_a, o_b)
    assert abs(score.mean() - game.classical_value()) < 4 * score.std() / math.sqrt(score.size)
    # the score in service times is the rule in uniforms (eq. 3)
    assert np.array_equal(
        game.correlation_weight(x1, x2), game.rule(game.to_uniform(x1), game.to_uniform(x2))
    )
    o_a, o_b = game.ideal_outputs(x1, x2, np.ones(x1.size, dtype=np.int8))
    assert game.score(x1, x2, o_a, o_b).mean() == game.ideal_value() == 1.0
    assert np.mean(o_a * o_b < 0) == pytest.approx(game.oracle_split_probability(), abs=5e-3)


# --------------------------------------------------------------------------------- quantum
def test_linear_relative_angle_reproduces_paper_eq6(linear: AngleStrategy) -> None:
    """P_lin ≈ 0.8140 with d ≈ (3.709, −2.760, −2.759) (eq. 6)."""
    assert linear.win_probability == pytest.approx(0.8140, abs=5e-5)
    assert linear.coefficients == pytest.approx((3.709, -2.760, -2.759), abs=2e-3)
    assert relative_angle_bias((3.709, -2.760, -2.759), linear.c_t) <= linear.bias


def test_quadratic_reaches_paper_value(linear: AngleStrategy, quadratic: AngleStrategy) -> None:
    assert quadratic.win_probability >= 0.8147 - 5e-5
    assert quadratic.win_probability >= linear.win_probability


def test_paper_and_stack_conventions_agree(linear: AngleStrategy) -> None:
    """|ψ−⟩ in the X–Y plane at φ and Φ+ in the X–Z plane at θ(φ) give the same game."""
    rng = np.random.default_rng(3)
    pa, pb = rng.uniform(-7, 7, 50), rng.uniform(-7, 7, 50)
    stack = correlation(bell_state(), *stack_angles(pa, pb))
    np.testing.assert_allclose(paper_correlation(pa, pb), stack, atol=1e-12)
    np.testing.assert_allclose(stack, -np.cos(pa - pb), atol=1e-12)
    # win probability of the paper's linear strategy, both conventions, on a 60 x 60 grid
    m = 60
    x = (np.arange(m) + 0.5) / m
    a, b = np.meshgrid(x, x, indexing="ij")
    phi_a, phi_b = linear.phases(a, b)
    rule = SumThresholdGame(c_t=linear.c_t).rule(a, b)
    p_paper = 0.5 + 0.5 * np.mean(rule * paper_correlation(phi_a, phi_b))
    p_stack = 0.5 + 0.5 * np.mean(rule * correlation(bell_state(), *stack_angles(phi_a, phi_b)))
    assert p_paper == pytest.approx(p_stack, abs=1e-12)
    assert p_paper == pytest.approx(linear.win_probability, abs=3e-3)  # grid error
    naive = correlation(bell_state(), 0.5 * phi_a, 0.5 * phi_b)  # no map: the game is lost
    assert 0.5 + 0.5 * np.mean(rule * naive) == pytest.approx(1 - p_stack, abs=1e-12)


def test_sdp_and_lowrank_agree_and_bin_strategy_plays_its_value(c_min: float) -> None:
    """cvxpy SDP = best responses on 16 bins; the extracted strategy wins as stated (MC, 4σ)."""
    sdp, low = bin_bounds(c_min, 16, "sdp"), bin_bounds(c_min, 16, "lowrank")
    assert sdp.lower == pytest.approx(low.lower, abs=1e-6)
    assert low.lower <= low.sdp_upper <= low.lower + 1e-6 and low.rank == 2
    rng = np.random.default_rng(11)
    a, b = rng.random(400_000), rng.random(400_000)
    i, j = (a * 16).astype(int), (b * 16).astype(int)
    # planar unit vectors at Bloch angle φ are Φ+ / X–Z measurements at θ = φ/2 (stack)
    e = correlation(bell_state(), 0.5 * low.phases_a[i], 0.5 * low.phases_b[j])
    win = (1 + e * SumThresholdGame(c_t=c_min).rule(a, b)) / 2
    assert abs(win.mean() - low.lower) < 4 * win.std() / math.sqrt(win.size)


def test_optimal_bounds_bracket_and_converge(c_min: float, quadratic: AngleStrategy) -> None:
    """Nested grids: lower bounds rise, upper bounds fall; optimal ≥ quadratic, gap < 1e-3."""
    runs = [bin_bounds(c_min, n) for n in (64, 128, 256, 512)]
    lowers = [r.lower for r in runs]
    uppers = [r.upper for r in runs]
    assert all(np.diff(lowers) >= -1e-9) and all(np.diff(uppers) <= 1e-9)
    assert all(r.lower <= r.sdp_upper <= r.upper for r in runs)
    assert lowers[-1] >= quadratic.win_probability
    assert uppers[-1] - lowers[-1] < 1e-3
    assert lowers[-1] == pytest.approx(0.82758, abs=1e-5)


def test_lowrank_value_is_monotone_best_response() -> None:
    gm = np.random.default_rng(5).normal(size=(6, 5))
    value, u, v = lowrank_xor(gm)
    assert value == pytest.approx(float(np.sum(u * (gm @ v))))
    np.testing.assert_allclose(np.linalg.norm(u, axis=1), 1.0)


# ------------------------------------------------------------------------------------- CLI
def test_cli_json_table_and_png(tmp_path) -> None:  # noqa: ANN001
    """`qnet game sum-threshold --json` has the issue's keys and writes the PNG under --out."""
    import json

    from typer.testing import CliRunner

    from qnet.cli.app import app

    args = ["game", "sum-threshold", "--points", "3", "--bins", "64", "--curve-bins", "16"]
    args += ["--anneal-sweeps", "2", "--out", str(tmp_path)]
    res = CliRunner().invoke(app, [*args, "--json"])
    assert res.exit_code == 0, res.output
    data = json.loads(res.stdout)
    for key in (
        "C_min",
        "classical_win_probability",
        "annealing_win_probability",
        "quantum_win_probability_linear",
        "linear_coefficients",
        "quantum_win_probability_quadratic",
        "quantum_win_probability_optimal",
        "quantum_upper_bound",
    ):
        assert key in data
    assert data["classical_win_probability"] == pytest.approx(0.7616, abs=5e-5)
    assert data["annealing_win_probability"] <= data["classical_win_probability"] + 1e-12
    assert len(data["linear_coefficients"]) == 3
    assert (
        data["classical_win_probability"]
        < data["quantum_win_probability_linear"]
        <= data["quantum_win_probability_quadratic"]
        <= data["quantum_win_probability_optimal"]
        <= data["quantum_upper_bound"]
    )
    assert len(data["curves"]["c_t"]) == 3
    assert all(
        up >= cl  # classical strategies are quantum ones: the rigorous bound covers them
        for up, cl in zip(data["curves"]["optimal_upper"], data["curves"]["classical"], strict=True)
    )
    png = tmp_path / data["png"].rsplit("/", 1)[-1]
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == [png.name]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--c-t", "1.5"], "error: --c-t = 1.5 is out of range: allowed (0, 1)"),
        (["--points", "1"], "error: --points = 1 is out of range: allowed [2, 200]"),
        (["--bins", "4"], "error: --bins = 4 is out of range: allowed [8, 2000]"),
        (["--c-start", "0.5", "--c-stop", "0.4"], "error: --c-stop = 0.4 is out of range"),
    ],
)
def test_cli_refuses_bad_options(tmp_path, args: list[str], message: str) -> None:  # noqa: ANN001
    from typer.testing import CliRunner

    from qnet.cli.app import app

    res = CliRunner().invoke(app, ["game", "sum-threshold", *args, "--out", str(tmp_path)])
    assert res.exit_code == 2
    assert res.stderr.strip().startswith(message) and "Traceback" not in res.output
    assert list(tmp_path.iterdir()) == []


# ------------------------------------------------------------------------------ QoS (A12)
def _mc_moments(r: np.ndarray, x1: np.ndarray, x2: np.ndarray) -> list[tuple[float, float]]:
    """(mean, standard error) of r, r x1 x2, r (x1 + x2)."""
    out = []
    for v in (r, r * x1 * x2, r * (x1 + x2)):
        out.append((float(v.mean()), float(v.std() / math.sqrt(v.size))))
    return out


def test_qos_moments_match_monte_carlo() -> None:
    """Closed-form moments of the sum oracle, a threshold pair and a linear angle (4σ)."""
    from qnet.games.sum_threshold import qos
    from qnet.queues.model import SystemParams

    params = SystemParams(lam=0.6, mu=1.3)
    rng = np.random.default_rng(21)
    x1, x2 = rng.exponential(1 / 1.3, (2, 400_000))
    a, b = -np.expm1(-1.3 * x1), -np.expm1(-1.3 * x2)
    strat = AngleStrategy(0.33, (3.709, -2.760, -2.759), 0.0)
    phi_a, phi_b = strat.phases(a, b)
    cases = [
        (qos.sum_oracle_moments(1.4, params), (x1 + x2 > 1.4).astype(float)),
        (qos.threshold_pair_moments(0.4, 0.7, 1, params), ((a < 0.4) != (b < 0.7)) * 1.0),
        (qos.threshold_pair_moments(0.4, 0.7, -1, params), ((a < 0.4) == (b < 0.7)) * 1.0),
        (qos.relative_angle_moments(strat.phases, params), 0.5 * (1 + np.cos(phi_a - phi_b))),
    ]
    for m, r in cases:
        for exact, (mean, se) in zip(
            (m.p, m.e_r_x1x2, m.e_r_s), _mc_moments(r, x1, x2), strict=True
        ):
            assert abs(exact - mean) < 4 * se


def test_theorem_4_1_against_a12() -> None:
    """The sum threshold waits longer than the w-threshold at equal p; equal as λ → 0."""
    from qnet.games.sum_threshold import qos
    from qnet.queues.model import SystemParams

    rows = qos.theorem_check([0.1, 0.2, 0.5, 0.9], SystemParams(lam=0.8, mu=1.0))
    assert all(r.excess > 0 for r in rows)
    assert rows[1].excess == pytest.approx(0.0749, abs=1e-3)  # ~ the full paper's ΔWq gain
    light = qos.theorem_check([0.2, 0.5], SystemParams(lam=1e-4, mu=1.0))
    assert all(0 <= r.excess < 1e-4 for r in light)


def test_p_at_limit_orders_and_r_k() -> None:
    """At a limit W_l: p_w-oracle ≤ p_sum-oracle, ≤ threshold pairs (coin ≤ deterministic)."""
    from qnet.games.sum_threshold import qos
    from qnet.queues.model import SystemParams, baseline_throughput_power

    params = SystemParams(lam=0.8, mu=1.0)
    p_w = qos.oracle_p_at_limit(4.5, params, "w")
    p_sum = qos.oracle_p_at_limit(4.5, params, "sum")
    det, mixed = qos.best_pairs_at_limit(4.5, params, grid=201)
    assert qos.w_oracle_moments(p_w, params).wait == pytest.approx(4.5, abs=1e-9)
    assert p_w < p_sum < mixed <= det + 1e-12
    # eq. 8 is the ratio of the full paper's t^k throughput (A25-A26)
    for k in (2.0, 3.5):
        direct = baseline_throughput_power(0.6, params, k) / baseline_throughput_power(
            0.4, params, k
        )
        assert qos.throughput_ratio(0.6, 0.4, k) == pytest.approx(1 / direct, rel=1e-12)
    with pytest.raises(ValueError, match=r"^w_l = 9 is out of range: allowed \(4, 6.5\)"):
        qos.oracle_p_at_limit(9, params, "sum")


@pytest.mark.slow
def test_cli_qos_finding(tmp_path) -> None:  # noqa: ANN001
    """At the sum oracle's wait for C_min the game-optimal quantum strategies need *more*
    splitting than the game-optimal classical one (R_k < 1), and every game family needs
    more than the best threshold pairs for the QoS problem itself (docs/sum-threshold.md)."""
    import json

    from typer.testing import CliRunner

    from qnet.cli.app import app
    from qnet.games.sum_threshold import qos
    from qnet.queues.model import SystemParams

    c_min = classical_minimum().c_t
    w_l = qos.sum_oracle_moments(-math.log(c_min), SystemParams(lam=0.8, mu=1.0)).wait
    args = ["game", "sum-threshold", "--points", "2", "--bins", "16", "--curve-bins", "8"]
    args += ["--w-limit", str(float(w_l)), "--out", str(tmp_path), "--json"]
    res = CliRunner().invoke(app, args)
    assert res.exit_code == 0, res.output
    q = json.loads(res.stdout)["qos"]
    fam = q["families"]
    assert q["p_sum_oracle"] == pytest.approx(c_min * (1 - math.log(c_min)), abs=1e-9)
    assert q["p_w_oracle"] < q["p_sum_oracle"] < q["p_threshold_pairs"]
    assert q["p_threshold_pairs"] < fam["classical"]["p"] < fam["optimal"]["p"] < fam["linear"]["p"]
    assert q["R_k"]["k=2"]["optimal"] < 1 and q["R_k"]["k=3"]["linear"] < 1
    tp = q["throughput"]  # throughput falls with p: the QoS optimum earns the most
    assert tp["w_oracle"]["t^2"] > tp["sum_oracle"]["t^2"] > tp["game_classical"]["t^2"]
    assert tp["game_classical"]["warmup"] > tp["game_optimal"]["warmup"]
    ratio = tp["game_optimal"]["t^3"] / tp["game_classical"]["t^3"]
    assert ratio == pytest.approx(q["R_k"]["k=3"]["optimal"], rel=1e-12)
