"""CHSH co-location load balancing (HotNets'25 Sec. 4.1, issue 14): values, model, knee."""

from __future__ import annotations

import math

import numpy as np
import pytest

from qnet.games.chsh.game import ChshGame, fidelity_to_visibility, visibility_to_fidelity
from qnet.games.chsh.load_balancing import (
    LoadBalancingConfig,
    knee_loads,
    mean_ci95,
    simulate,
)
from qnet.games.chsh.stability import (
    arrival_pmf,
    busy_fraction,
    idle_probability,
    stability_boundary,
)
from qnet.games.chsh.tables import (
    Strategy,
    any_server_best,
    any_server_vertices,
    chsh_facet_grid,
    in_local_polytope,
    local_polytope_vertices,
    quantum_strategy,
    random_strategy,
)
from qnet.games.xor import XORGame

V = ChshGame().correlation_weight(*np.indices((2, 2)))  # +1 at (C, C), -1 elsewhere


def _bias(table: np.ndarray) -> float:
    """Mean score V·E[o_A o_B] of a p_same table under uniform inputs."""
    return float(np.mean(V * (2.0 * np.asarray(table) - 1.0)))


# --- the game -------------------------------------------------------------------------


def test_chsh_values_are_exact() -> None:
    """Classical 3/4, quantum cos²(π/8), advantage gone at v = 1/√2, F = (3/√2 + 1)/4."""
    g = ChshGame()
    assert g.win_probability(g.classical_value()) == 0.75
    assert g.win_probability(g.quantum_value()) == pytest.approx(math.cos(math.pi / 8) ** 2, 1e-15)
    assert g.quantum_win_probability(1.0) == pytest.approx(math.cos(math.pi / 8) ** 2, 1e-15)
    assert g.advantage_visibility() == pytest.approx(1 / math.sqrt(2), 1e-15)
    assert g.advantage_fidelity() == pytest.approx((3 / math.sqrt(2) + 1) / 4, 1e-15)
    assert g.quantum_win_probability(g.advantage_fidelity()) == pytest.approx(0.75, 1e-14)
    assert g.quantum_win_probability(0.25) == pytest.approx(0.5, 1e-14)  # maximally mixed
    assert visibility_to_fidelity(fidelity_to_visibility(0.9)) == pytest.approx(0.9, 1e-15)


def test_chsh_values_match_the_xor_solver_and_the_polytopes() -> None:
    """The XOR-game solver and the tables agree: best local vertex 1/2, angles 1/√2."""
    g = ChshGame()
    xor = XORGame.chsh()
    assert xor.classical_value() == g.win_probability(g.classical_value())
    assert xor.quantum_value() == pytest.approx(g.win_probability(g.quantum_value()), abs=1e-6)
    assert max(_bias(t) for t in local_polytope_vertices()) == 0.5
    assert _bias(quantum_strategy().table) == pytest.approx(1 / math.sqrt(2), 1e-15)
    assert max(_bias(t) for t in any_server_vertices()) == 1.0  # M >= 3 servers: perfect


def test_ideal_outputs_always_win() -> None:
    """A player seeing both inputs agrees exactly on (C, C): mean score 1 = ideal value."""
    g = ChshGame()
    rng = np.random.default_rng(3)
    x, y = g.sample_inputs(rng, 4000)
    o_a, o_b = g.ideal_outputs(x, y, np.where(rng.random(4000) < 0.5, 1, -1))
    assert np.all(g.score(x, y, o_a, o_b) == 1.0)
    assert 0.23 < np.mean((x == 1) & (y == 1)) < 0.27


def test_polytopes() -> None:
    """Quantum and any-server tables violate CHSH; the facet grid lies on the CHSH facet."""
    assert len(local_polytope_vertices()) == 8 and len(any_server_vertices()) == 12
    assert not in_local_polytope(quantum_strategy().table)
    assert in_local_polytope(quantum_strategy(visibility=0.7).table)
    assert not in_local_polytope(any_server_best().table)
    grid = chsh_facet_grid(4)
    assert len(grid) == 35
    for s in grid:
        t = s.table
        assert in_local_polytope(t) and t[1, 1] == pytest.approx(t[0, 0] + t[0, 1] + t[1, 0])


def test_bad_inputs_name_the_field() -> None:
    """One clear error naming the field and the allowed range."""
    with pytest.raises(ValueError, match=r"fidelity = 0\.2 is out of range: allowed \[0\.25, 1\]"):
        fidelity_to_visibility(0.2)
    with pytest.raises(ValueError, match=r"availability = 1\.5 is out of range"):
        Strategy("q", np.eye(2), availability=1.5)
    with pytest.raises(ValueError, match=r"balancers = 7 is out of range: allowed even >= 2"):
        LoadBalancingConfig(balancers=7)
    with pytest.raises(ValueError, match=r"warmup = 50 is out of range: allowed \[0, steps = 50\)"):
        LoadBalancingConfig(steps=50, warmup=50)
    with pytest.raises(ValueError, match=r"level = -1 is out of range: allowed > 0"):
        knee_loads(np.array([1.0, 2.0]), np.array([1.0, 3.0]), -1)


# --- knee and statistics ---------------------------------------------------------------


def test_knee_interpolates_log_linearly() -> None:
    """Backlog e^{2ρ} crosses L* at ρ = ln(L*)/2 exactly; NaN when never or already above."""
    loads = np.linspace(0.5, 1.5, 11)
    knee = knee_loads(loads, np.exp(2 * loads), 5.0)
    assert knee == pytest.approx(math.log(5.0) / 2, abs=1e-12)
    assert np.isnan(knee_loads(loads, np.exp(loads), 50.0))
    assert np.isnan(knee_loads(loads, np.full(11, 9.0), 5.0))
    mean, half = mean_ci95(np.array([1.0, 2.0, 3.0]))
    assert mean == 2.0 and half == pytest.approx(4.302652729749464 / math.sqrt(3), 1e-12)


# --- stability boundary ------------------------------------------------------------------


def test_arrival_pmf_is_the_exact_convolution() -> None:
    """Mean N/(2M) per type, and P(0 arrivals) = (1 − P1 − P2)^(N/2)."""
    pmf = arrival_pmf(50, 80.0, 0.3)
    assert pmf.sum() == pytest.approx(1.0, 1e-14)
    assert np.dot(np.arange(len(pmf)), pmf) == pytest.approx(100 / 160, 1e-13)
    p1, p2 = 0.7 / 160 + 1 / 160, 0.3 / 320
    assert pmf[0] == pytest.approx((1 - p1 - p2) ** 50, 1e-13)
    # a D/D/1-like chain: one arrival per step into capacity 1 is never idle
    assert idle_probability(np.array([0.0, 1.0]), 1) == 0.0


def test_e_first_boundary_is_the_work_conserving_capacity() -> None:
    """E-first serves backlogged C in pairs: λ_E + λ_C/2 = 1 at N/M = 4/3 for every table."""
    for s in (random_strategy(), quantum_strategy(), any_server_best()):
        assert stability_boundary(100, s, "e-first").load == pytest.approx(4 / 3, abs=1e-8)
    c = [
        stability_boundary(100, s, "c-first").load for s in (random_strategy(), quantum_strategy())
    ]
    assert 1.1 < c[0] < c[1] < 4 / 3  # co-locating C pairs wastes fewer half-empty slots


def test_chain_busy_fractions_match_the_simulation() -> None:
    """Fraction of steps serving the priority type: chain vs simulation, within 95 % CIs."""
    cfg = LoadBalancingConfig(loads=(0.9, 1.05), steps=2500, warmup=300, replications=6, seed=11)
    strategies = [random_strategy(), quantum_strategy(0.9, 0.7)]
    res = simulate(cfg, strategies)
    for i, s in enumerate(strategies):
        for d, disc in enumerate(res.disciplines):
            busy = res.busy_c if disc == "c-first" else res.busy_e
            mean, half = mean_ci95(busy[:, i, d])
            pred = [busy_fraction(x, 100, s, disc) for x in res.loads]
            assert np.all(np.abs(mean - pred) <= 1.5 * half + 1e-4), (s.name, disc, mean, pred)


def test_backlog_grows_at_the_rate_the_chain_predicts_past_the_boundary() -> None:
    """C-first past the boundary: E backlog grows at λ_E − P(C idle) per server-step."""
    s = random_strategy()
    assert stability_boundary(100, s, "c-first").load < 100 / 85
    short, long = (
        simulate(
            LoadBalancingConfig(
                loads=(100 / 85,),
                steps=t,
                warmup=500,
                replications=4,
                seed=5,
                disciplines=("c-first",),
            ),
            [s],
        )
        for t in (1500, 3000)
    )
    # mean over [w, T] of c + r t is c + r (T + w)/2: r = 2 ΔB / ΔT
    rate = 2 * (long.backlog - short.backlog)[:, 0, 0, 0] / 1500
    load = 100 / 85
    pred = load / 2 - (1 - busy_fraction(load, 100, s, "c-first"))
    mean, half = mean_ci95(rate)
    assert abs(mean - pred) <= half + 2e-3, (mean, half, pred)


# --- command line ---------------------------------------------------------------------


def _run(args: list[str]) -> object:
    from typer.testing import CliRunner

    from qnet.cli.app import app

    return CliRunner().invoke(app, args)


def test_cli_chsh_json() -> None:
    """`qnet game chsh --json` prints the exact values and the SDP's agreement."""
    import json

    res = _run(["game", "chsh", "--json", "--fidelity", "0.9"])
    assert res.exit_code == 0, res.output
    out = json.loads(res.output)
    assert out["classical_win"] == 0.75
    assert out["quantum_win"] == pytest.approx(math.cos(math.pi / 8) ** 2, 1e-15)
    assert out["quantum_win_sdp"] == pytest.approx(out["quantum_win"], abs=1e-6)
    assert out["quantum_win_at_fidelity"] == pytest.approx(0.5 + (1.2 - 1 / 3) / (2 * 2**0.5))


def test_cli_load_balancing_writes_json_and_png(tmp_path: object) -> None:
    """Small run: the issue's JSON keys, the exact boundaries, a PNG under --out only."""
    import json
    from pathlib import Path

    out_dir = Path(str(tmp_path))
    res = _run(
        [
            "game", "chsh-load-balancing", "--steps", "400", "--warmup", "100",
            "--replications", "3", "--load-start", "0.9", "--load-stop", "1.3",
            "--load-step", "0.1", "--grid", "2", "--json", "--out", str(out_dir),
        ]
    )  # fmt: skip
    assert res.exit_code == 0, res.output
    out = json.loads(res.output)
    for key in ("knee_classical_random", "knee_best_classical", "knee_quantum"):
        assert set(out[key]) == {"mean", "ci95"} and 0.9 < out[key]["mean"] < 1.3
    assert out["stability_boundary"]["classical_random"] == pytest.approx(1.117037, abs=1e-6)
    assert out["disciplines"]["e-first"]["stability_boundary"]["quantum"] == pytest.approx(4 / 3)
    files = sorted(p.relative_to(out_dir).as_posix() for p in out_dir.rglob("*"))
    assert files == [
        "chsh-load-balancing",
        "chsh-load-balancing/backlog.png",
        "chsh-load-balancing/knees.json",
    ]
    assert (out_dir / "chsh-load-balancing/backlog.png").read_bytes()[:4] == b"\x89PNG"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["chsh", "--fidelity", "0.2"],
            "error: --fidelity = 0.2 is out of range: allowed [0.25, 1]",
        ),
        (
            ["chsh-load-balancing", "--availability", "1.5"],
            "error: --availability = 1.5 is out of range: allowed [0, 1]",
        ),
        (
            ["chsh-load-balancing", "--balancers", "7"],
            "error: --balancers = 7 is out of range: allowed even >= 2",
        ),
    ],
)
def test_cli_refuses_bad_input_with_one_line(args: list[str], message: str) -> None:
    """Bad input: one error line naming the option and the allowed range, exit status 2."""
    res = _run(["game", *args])
    assert res.exit_code == 2
    assert res.output.strip() == message


# --- the paper's claim on real links ----------------------------------------------------

_SWEEP = LoadBalancingConfig(
    loads=tuple(np.round(np.arange(0.95, 1.151, 0.025), 3)),
    steps=2000,
    warmup=400,
    replications=6,
    seed=3,
    disciplines=("c-first",),
)
_FIDELITIES = (1.0, 0.9, 0.8)
_AVAILABILITIES = (0.6, 0.3, 0.0)


@pytest.fixture(scope="module")
def link_run() -> object:
    """Random routing and the quantum strategy on several links, common random numbers."""
    strategies = [random_strategy()]
    strategies += [quantum_strategy(fidelity_to_visibility(f)) for f in _FIDELITIES]
    strategies += [quantum_strategy(1.0, a) for a in _AVAILABILITIES]
    return simulate(_SWEEP, strategies)


def test_quantum_curve_below_random_past_the_random_knee(link_run: object) -> None:
    """C-first, ideal pairs: past random's knee, quantum's backlog is lower (paired 95 % CI)."""
    res = link_run
    knee_random, _ = mean_ci95(knee_loads(res.loads, res.backlog[:, 0, 0], 5.0))
    past = res.loads > knee_random
    assert past.sum() >= 3
    diff, half = mean_ci95(res.backlog[:, 1, 0] - res.backlog[:, 0, 0])  # quantum − random
    assert np.all((diff + half)[past] < 0), (diff[past], half[past])


def test_knee_moves_toward_random_as_fidelity_or_availability_drops(link_run: object) -> None:
    """C-first knees fall monotonically with F and with a (paired CIs); a = 0 is random."""
    res = link_run
    knees = knee_loads(res.loads, res.backlog[:, :, 0], 5.0)  # [R, S]
    for chain in ([1, 2, 3], [1, 4, 5, 6]):  # F = 1, 0.9, 0.8 and a = 1, 0.6, 0.3, 0
        steps_down, half = mean_ci95(knees[:, chain[:-1]] - knees[:, chain[1:]])
        assert np.all(steps_down - half > 0), (chain, steps_down, half)
    assert np.all(knees[:, 3] > knees[:, 0])  # F = 0.8 still beats random routing
    np.testing.assert_array_equal(res.backlog[:, 6], res.backlog[:, 0])  # a = 0: random


def test_e_first_quantum_is_worse_than_random() -> None:
    """E-first: the quantum table collides E tasks (p_same = sin²(π/8) ≫ 1/M): more backlog."""
    cfg = LoadBalancingConfig(
        loads=(1.0, 1.1), steps=2000, warmup=400, replications=6, seed=8, disciplines=("e-first",)
    )
    res = simulate(cfg, [random_strategy(), quantum_strategy()])
    diff, half = mean_ci95(res.backlog[:, 1, 0] - res.backlog[:, 0, 0])
    assert np.all(diff - half > 0), (diff, half)


def test_cli_link_sweep_availability_zero_is_random_routing() -> None:
    """`qnet game chsh-link-sweep`: a = 0 reproduces random routing exactly (Δ = 0 ± 0)."""
    import json

    res = _run(
        [
            "game", "chsh-link-sweep", "--fidelity", "0.9", "--availability", "0",
            "--availability", "1", "--steps", "600", "--warmup", "100",
            "--replications", "2", "--json",
        ]
    )  # fmt: skip
    assert res.exit_code == 0, res.output
    grid = json.loads(res.output)["c-first"]["grid"]
    assert [(r["fidelity"], r["availability"]) for r in grid] == [(0.9, 0.0), (0.9, 1.0)]
    assert grid[0]["diff_random"] == 0.0 and grid[0]["diff_random_ci95"] == 0.0


# --- Fig. 3: random XOR games on graphs --------------------------------------------------


def test_two_vertex_games_have_an_advantage_iff_the_cycle_is_odd() -> None:
    """n = 2 (CHSH's shape): advantage iff f(0,0) ⊕ f(1,1) = 1, so P = 2q(1 − q) exactly."""
    from qnet.games.chsh.xor_graphs import GraphGameFamily, exact_advantage_probability

    fam = GraphGameFamily(2)
    for code in range(8):
        f = fam.predicate(code)
        assert fam.advantage(code) == bool(f[0, 0] ^ f[1, 1])
    q = np.linspace(0, 1, 6)
    p, orbits = exact_advantage_probability(2, q)
    np.testing.assert_allclose(p, 2 * q * (1 - q), atol=1e-15)
    assert orbits == 2


def test_exact_curves_are_complement_symmetric_and_sampling_covers_them() -> None:
    """P(q) = P(1 − q) exactly; 1000 sampled games per q sit within 3 binomial SEs of it."""
    from qnet.games.chsh.xor_graphs import (
        exact_advantage_probability,
        sampled_advantage_probability,
        wilson_interval,
    )

    z = 1.959963984540054
    assert wilson_interval(0, 400) == pytest.approx((0.0, z * z / (400 + z * z)), abs=1e-15)

    q = np.array([0.2, 0.5, 0.8])
    for n, at_half in ((3, 0.875), (4, 0.421875)):
        exact, _ = exact_advantage_probability(n, q)
        assert exact[0] == pytest.approx(exact[2], abs=1e-14)
        assert exact[1] == pytest.approx(at_half, abs=1e-14)
        s = sampled_advantage_probability(n, q, 1000, seed=1)
        se = np.sqrt(exact * (1 - exact) / 1000)
        assert np.all(np.abs(s["p"] - exact) <= 3 * se), (n, s, exact)
        assert np.all((s["low"] < s["p"]) & (s["p"] < s["high"]))


@pytest.mark.parametrize("code", [30, 32, 147, 842, 13871, 28476])
def test_graph_game_values_match_toqito(code: int) -> None:
    """Classical and quantum values of a few graph games agree with toqito's XORGame."""
    xor_game = pytest.importorskip("toqito.nonlocal_games.xor_game")
    from qnet.games.chsh.xor_graphs import GraphGameFamily

    n = 3 if code < 64 else 4 if code < 1024 else 5
    fam = GraphGameFamily(n)
    g = fam.game(code)
    ref = xor_game.XORGame(np.array(g.prob), np.array(g.pred, dtype=int))
    beta_c, beta_q = fam.biases(code)
    assert (1 + beta_c) / 2 == pytest.approx(ref.classical_value(), abs=1e-9)
    assert (1 + beta_q) / 2 == pytest.approx(ref.quantum_value(), abs=1e-5)
    assert fam.advantage(code) == (ref.quantum_value() > ref.classical_value() + 1e-5)


def test_canonical_form_is_an_orbit_invariant() -> None:
    """Relabeled, switched and complemented labelings share one canonical code and value."""
    from qnet.games.chsh.xor_graphs import GraphGameFamily

    fam = GraphGameFamily(4)
    f = fam.predicate(147)
    perm = np.array([2, 0, 3, 1])
    s = np.array([0, 1, 1, 0])
    g = (f[np.ix_(perm, perm)] ^ (s[:, None] ^ s[None, :])) ^ 1
    code = int(np.dot(g[fam.rows, fam.cols].astype(np.int64), 1 << np.arange(fam.entries)))
    assert code != 147 and fam.canonical(code) == fam.canonical(147)
    assert fam.biases(code) == pytest.approx(fam.biases(147), abs=1e-7)


def test_cli_xor_graphs_writes_json_and_png(tmp_path: object) -> None:
    """`qnet game chsh-xor-graphs`: exact and sampled curves, files under --out only."""
    import json
    from pathlib import Path

    out_dir = Path(str(tmp_path))
    res = _run(
        [
            "game", "chsh-xor-graphs", "--vertices", "3", "--samples", "50",
            "--q-points", "3", "--json", "--out", str(out_dir),
        ]
    )  # fmt: skip
    assert res.exit_code == 0, res.output
    curve = json.loads(res.output)["curves"]["3"]
    assert curve["q"] == [0.0, 0.5, 1.0]
    assert curve["exact"] == pytest.approx([0.0, 0.875, 0.0], abs=1e-14)
    assert (out_dir / "chsh-xor-graphs/advantage.png").read_bytes()[:4] == b"\x89PNG"


def test_facet_projection_dominates_interior_tables() -> None:
    """Scaling collisions down onto the CHSH facet moves the knee later, in both disciplines.

    This is the assumption behind searching only the facet for the best classical table.
    """
    from qnet.games.chsh.tables import facet_projection

    interior = [quantum_strategy(0.6).table, np.full((2, 2), 0.5)]
    strategies = []
    for i, t in enumerate(interior):
        proj = facet_projection(t)
        assert in_local_polytope(proj) and proj[1, 1] == t[1, 1]
        assert proj[1, 1] == pytest.approx(proj[0, 0] + proj[0, 1] + proj[1, 0])
        strategies += [Strategy(f"interior {i}", t), Strategy(f"projection {i}", proj)]
    cfg = LoadBalancingConfig(
        loads=tuple(np.round(np.arange(0.9, 1.301, 0.05), 3)),
        steps=2000,
        warmup=400,
        replications=6,
        seed=21,
    )
    res = simulate(cfg, strategies)
    for d in range(len(res.disciplines)):
        knees = knee_loads(res.loads, res.backlog[:, :, d], 5.0)
        gain, half = mean_ci95(knees[:, 1::2] - knees[:, 0::2])
        assert np.all(gain - half > 0), (res.disciplines[d], gain, half)
    with pytest.raises(ValueError, match="CHSH local polytope"):
        facet_projection(quantum_strategy().table)


def test_three_vertex_advantage_probability_matches_toqito() -> None:
    """All 64 labelings of 3 vertices classified by toqito give P(advantage | q = ½) = 7/8."""
    xor_game = pytest.importorskip("toqito.nonlocal_games.xor_game")
    from qnet.games.chsh.xor_graphs import GraphGameFamily, exact_advantage_probability

    fam = GraphGameFamily(3)
    hits = 0
    for code in range(1 << fam.entries):
        g = fam.game(code)
        ref = xor_game.XORGame(np.array(g.prob), np.array(g.pred, dtype=int))
        hits += ref.quantum_value() > ref.classical_value() + 1e-5
    assert hits / 64 == 0.875
    assert exact_advantage_probability(3, np.array([0.5]))[0][0] == pytest.approx(0.875, 1e-14)
