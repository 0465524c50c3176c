"""CHSH load balancing on real links (issue 14): one analytic-engine link per balancer pair."""

from __future__ import annotations

import json
import math
from pathlib import Path

import networkx as nx
import numpy as np
import pytest

from qnet.config import Scenario, load_scenario
from qnet.engines.analytic import link_model
from qnet.games.chsh.game import fidelity_to_visibility
from qnet.games.chsh.load_balancing import (
    LoadBalancingConfig,
    knee_loads,
    mean_ci95,
    simulate,
    task_inputs,
)
from qnet.games.chsh.tables import Strategy, quantum_strategy, random_strategy
from qnet.runs.chsh_links import (
    LinkedPairs,
    balancing_config,
    classical_round_trip_s,
    linked_pairs,
    linked_sweep,
    slotted_availability,
    step_length_s,
    vary,
)

ROOT = Path(__file__).resolve().parents[1]
_SMALL = {"steps": 2000, "warmup_steps": 400, "replications": 4, "discipline": "c-first"}
_LOADS = {"load_start": 0.95, "load_stop": 1.15, "load_step": 0.025}


def _scenario(link: dict, lb: dict, engine: str = "analytic", **tables: object) -> Scenario:
    return Scenario.ideal(
        engine={"name": engine, "formalism": "ket"}, link=link, load_balancing=lb, **tables
    )


# --- the composition ---------------------------------------------------------------------


def test_decisions_route_on_the_same_random_numbers_as_tables() -> None:
    """All −1 (no pair) is random routing, all 1 is p_same ≡ 1, bit for bit: the per-step
    path draws nothing of its own, so the constant-a path's numbers stay as they were."""
    cfg = LoadBalancingConfig(20, (0.9, 1.1), 300, 50, 3, seed=4)
    shape = (3, 300, 10)
    none = Strategy("none", np.full((2, 2), 0.5), 0.0, decisions=np.full(shape, -1))
    always = Strategy("always", np.ones((2, 2)), 1.0, decisions=np.ones(shape))
    res = simulate(cfg, [random_strategy(), Strategy("ones", np.ones((2, 2))), none, always])
    np.testing.assert_array_equal(res.backlog[:, 2], res.backlog[:, 0])
    np.testing.assert_array_equal(res.backlog[:, 3], res.backlog[:, 1])
    assert not np.array_equal(res.backlog[:, 0], res.backlog[:, 1])
    with pytest.raises(ValueError, match=r"expected \(replications, steps, pairs\)"):
        simulate(cfg, [Strategy("bad", np.ones((2, 2)), decisions=np.ones((3, 299, 10)))])


def test_task_inputs_are_the_simulated_tasks() -> None:
    """task_inputs draws what simulate routes: a table keyed on x_a = C reproduces it."""
    cfg = LoadBalancingConfig(20, (1.0,), 200, 20, 2, seed=9)
    xa, xb = task_inputs(cfg)
    assert xa.shape == (2, 200, 10) and 0.45 < xa.mean() < 0.55 and 0.45 < xb.mean() < 0.55
    table = np.array([[0.0, 0.0], [1.0, 1.0]])  # same server iff A holds a C task
    dec = Strategy("dec", table, decisions=xa.astype(np.int8))
    res = simulate(cfg, [Strategy("table", table), dec])
    np.testing.assert_array_equal(res.backlog[:, 0], res.backlog[:, 1])


def test_step_is_the_classical_round_trip_unless_set() -> None:
    s = _scenario({"arm_a_km": 10, "arm_b_km": 15}, {})
    assert classical_round_trip_s(s) == pytest.approx(2 * 25 / 2e5, rel=1e-15)
    assert step_length_s(s) == classical_round_trip_s(s)
    assert step_length_s(_scenario({}, {"step_s": 1e-3})) == 1e-3
    cfg = balancing_config(_scenario({}, {"discipline": "e-first", **_LOADS}))
    assert cfg.disciplines == ("e-first",) and cfg.loads[0] == 0.95 and cfg.loads[-1] == 1.15


def test_a_measured_pair_plays_the_papers_table() -> None:
    """Perfect pairs: P(same server | pair, x, y) is cos²(π/8) at (C, C), sin²(π/8) else."""
    s = _scenario({"arm_a_km": 1, "arm_b_km": 1}, {"balancers": 20, "step_s": 1e-3, **_SMALL})
    pairs = linked_pairs(s, balancing_config(s), 1e-3)
    assert np.all(pairs.available == 1.0) and np.all(pairs.fidelity == 1.0)
    n = 4 * 1600 * 10 / 4  # measured pairs per (x, y), about
    half = 4.0 * math.sqrt(0.15 * 0.85 / n)  # 4 SE
    np.testing.assert_allclose(pairs.table, quantum_strategy().table, atol=half)


def test_measured_availability_matches_the_link_model() -> None:
    """Share of steps with a pair (25 km arms, G ≈ 46 steps, p = 0.04) against
    LinkModel.predicted_availability at the decision rate 1/step (Poisson decisions; the
    slotted chain differs from it by ~1 % here) and the slotted chain within the 95 % CI;
    at 2 ms steps (G ≈ 12 steps) the Poisson formula is 4 % low and the chain still holds."""
    lb = {"balancers": 20, "steps": 3000, "warmup_steps": 500, **_LOADS, "replications": 4}
    for slots, step in ((1, None), (4, None), (4, 2e-3)):
        s = _scenario(
            {"arm_a_km": 25, "arm_b_km": 25, "memory_slots": slots}, {**lb, "step_s": step}
        )
        model, dt = link_model(s), step_length_s(s)
        got = linked_pairs(s, balancing_config(s), dt).summary()["availability"]
        chain = slotted_availability(model, dt)
        assert abs(got["mean"] - chain) < got["ci95"], (slots, step, got, chain)
        poisson = model.predicted_availability(1.0 / dt)
        if step is None:
            assert abs(got["mean"] - poisson) < got["ci95"] + 0.01 * poisson, (got, poisson)
        else:
            assert got["mean"] - got["ci95"] > poisson * 1.02, (got, poisson)


def test_slotted_chain_limits() -> None:
    """K = 1: a = 1 − exp(−step/E[G]); a → 1 for fast generation; a ≈ K·step/E[G] for slow."""
    m = link_model(_scenario({"arm_a_km": 25, "arm_b_km": 25, "memory_slots": 1}, {}))
    g = m.mean_generation_time_s
    assert slotted_availability(m, g) == pytest.approx(1 - math.exp(-1), rel=1e-12)
    m4 = link_model(_scenario({"arm_a_km": 25, "arm_b_km": 25, "memory_slots": 4}, {}))
    assert slotted_availability(m4, 100 * g) == pytest.approx(1.0, abs=1e-12)
    assert slotted_availability(m4, g / 1000) == pytest.approx(4 / 1000, rel=1e-2)


# --- the knee on real links ----------------------------------------------------------------


def test_ideal_pair_scenario_reproduces_the_constant_knee() -> None:
    """scenarios/chsh-load-balancing.toml (reduced size): links with a = 1, F = 1 give the
    knee of the constant ideal pair within the 95 % CI of their paired difference."""
    sets = [f"load_balancing.{k}={v}" for k, v in {**_SMALL, **_LOADS}.items() if k != "discipline"]
    s = load_scenario(
        ROOT / "scenarios/chsh-load-balancing.toml", [*sets, "load_balancing.discipline='c-first'"]
    )
    cfg = balancing_config(s)
    pairs = linked_pairs(s, cfg, step_length_s(s))
    assert float(np.mean(pairs.available)) == 1.0 and pairs.mean_fidelity() == 1.0
    res = simulate(cfg, [random_strategy(), quantum_strategy(), pairs.strategy()])
    knees = knee_loads(res.loads, res.backlog[:, :, 0], 5.0)
    diff, half = mean_ci95(knees[:, 2] - knees[:, 1])
    assert abs(diff) < half, (diff, half)
    gain, gain_half = mean_ci95(knees[:, 2] - knees[:, 0])
    assert gain - gain_half > 0.03, (gain, gain_half)  # ideal quantum ≈ +0.048 over random


@pytest.fixture(scope="module")
def sweep() -> dict:
    """Slots 8, 4, 1 at F = 1, then raw fidelity 1, 0.85, 0.7 at a = 1 (2 km, 1 ms steps)."""
    base = _scenario({"arm_a_km": 1, "arm_b_km": 1, "memory_slots": 8}, {**_SMALL, **_LOADS})
    points = vary(base, {"link.memory_slots": [8, 4, 1]})
    points += vary(base, {"load_balancing.step_s": [1e-3], "link.raw_fidelity": [1.0, 0.85, 0.7]})
    return linked_sweep(base, points, 5.0)


def test_knee_moves_toward_random_as_measured_availability_or_fidelity_drops(sweep: dict) -> None:
    """The links' *measured* availability and fidelity fall along each chain, and so does the
    quantum knee's gain over random routing (each step down beyond both CIs)."""
    links = [p["link"] for p in sweep["points"]]
    grid = sweep["c-first"]["grid"]
    avail = [lk["availability"]["mean"] for lk in links]
    fid = [lk["fidelity_at_use"]["mean"] for lk in links]
    assert 1.0 > avail[0] > avail[1] > avail[2] > 0.05  # pairs generated in real time
    assert avail[3:] == [1.0, 1.0, 1.0] and fid[3] > fid[4] > fid[5]
    assert fid[5] == pytest.approx(0.7, abs=1e-12)  # no memory noise: F at use = raw F
    for chain in ((0, 1, 2), (3, 4, 5)):
        for hi, lo in zip(chain[:-1], chain[1:], strict=True):
            gap = grid[hi]["diff_random"] - grid[lo]["diff_random"]
            assert gap > grid[hi]["diff_random_ci95"] + grid[lo]["diff_random_ci95"], (hi, lo)
    assert grid[3]["diff_random"] - grid[3]["diff_random_ci95"] > 0.03  # a = 1, F = 1
    # F = 0.7 is below the CHSH advantage fidelity 0.780, yet still beats *random* routing
    assert fidelity_to_visibility(0.7) < 1 / math.sqrt(2)
    assert grid[5]["diff_random"] - grid[5]["diff_random_ci95"] > 0


def test_vary_refuses_the_experiments_size() -> None:
    base = _scenario({}, {})
    with pytest.raises(ValueError, match="load_balancing.steps: the size and seed are common"):
        vary(base, {"load_balancing.steps": [100]})


def _with_pair_counts(pairs: LinkedPairs, config: LoadBalancingConfig) -> tuple[np.ndarray, ...]:
    """Per (x_a, x_b) after the warm-up: measured pairs and those sent to one server."""
    xa, xb = task_inputs(config)
    d = pairs.decisions[:, config.warmup :]
    xa, xb = xa[:, config.warmup :], xb[:, config.warmup :]
    n, k = np.zeros((2, 2)), np.zeros((2, 2))
    for i in (0, 1):
        for j in (0, 1):
            cell = (xa == i) & (xb == j) & (d >= 0)
            n[i, j], k[i, j] = cell.sum(), (d[cell] == 1).sum()
    return n, k


def test_sequence_links_on_one_timeline_are_the_links_alone() -> None:
    """All N/2 links of a replication on one SeQUeNCe timeline give, bit for bit, what each
    link gives on its own timeline (each keeps its own node seeds and outcome streams)."""
    lb = {"balancers": 6, "steps": 150, "warmup_steps": 20, "replications": 2, **_LOADS}
    seq = _scenario({"arm_a_km": 1, "arm_b_km": 1}, lb, "sequence", seed=3)
    cfg, step = balancing_config(seq), step_length_s(seq)
    shared = linked_pairs(seq, cfg, step)
    alone = linked_pairs(seq, cfg, step, shared_timeline=False)
    np.testing.assert_array_equal(shared.decisions, alone.decisions)
    assert shared.heralded == alone.heralded > 0
    assert 0.2 < np.mean(shared.decisions >= 0) < 0.9  # a link that is sometimes empty


def test_build_networks_names_every_link_apart() -> None:
    from nodes.network import build_networks

    s = _scenario({"arm_a_km": 1, "arm_b_km": 1}, {}, "sequence")
    nets = build_networks(s, [1, 2, 3])
    try:
        assert len({id(n.timeline) for n in nets}) == 1
        assert [n.station.name for n in nets] == [f"link{i}.station" for i in range(3)]
        assert nets[2].routers["b"].name == "link2.router_b"
        assert nets[1].usable_pairs("link1.router_a") == nets[1].usable_pairs("a") == []
        with pytest.raises(ValueError, match="router must be one of 'a', 'link0.router_a'"):
            nets[0].select_pair("router_a")
    finally:
        nets[0].close()
    with pytest.raises(ValueError, match="at least one seed"):
        build_networks(s, [])


@pytest.mark.slow
def test_sequence_links_supply_what_the_analytic_links_do() -> None:
    """engine.name = "sequence", 4 links on one SeQUeNCe timeline × 3 replications × 400
    steps of 20 µs (~40 s): the per-link share of steps with a pair and the with-pair
    table agree with the analytic engine's (12 replications) within 95 % CIs."""
    lb = {"balancers": 8, "steps": 400, "warmup_steps": 50, "replications": 3, **_LOADS}
    link = {"arm_a_km": 1, "arm_b_km": 1}
    seq = _scenario(link, lb, "sequence", seed=5)
    ana = _scenario(link, {**lb, "replications": 12}, seed=5)
    got = linked_pairs(seq, balancing_config(seq), step_length_s(seq))
    ref = linked_pairs(ana, balancing_config(ana), step_length_s(ana))
    assert got.engine == "sequence" and got.mean_fidelity() == pytest.approx(1.0)
    per_link = [np.mean(p.decisions[:, 50:] >= 0, axis=1).ravel() for p in (got, ref)]
    (a, ha), (b, hb) = (mean_ci95(x) for x in per_link)
    assert abs(a - b) < ha + hb, (a, ha, b, hb)
    assert 0.3 < a < 0.8
    (n1, k1), (n2, k2) = (
        _with_pair_counts(p, balancing_config(s)) for p, s in ((got, seq), (ref, ana))
    )
    p1, p2 = k1 / n1, k2 / n2
    half = 1.96 * np.sqrt(p1 * (1 - p1) / n1 + p2 * (1 - p2) / n2)
    assert np.all(np.abs(p1 - p2) < half + 1e-9), (p1, p2, half)
    assert p1[1, 1] > 0.75 and np.all(p1[[0, 0, 1], [0, 1, 0]] < 0.25), p1


# --- the topology ---------------------------------------------------------------------------


def test_load_balancing_topology_is_one_link_per_balancer_pair() -> None:
    """A load-balancing scenario's graph holds N/2 copies of its link (balancer 2i+1 —
    station i+1 — balancer 2i+2); a scenario without [load_balancing] stays one link."""
    from qnet.topology import balancer_pairs, load_balancing_graph

    s = load_scenario(ROOT / "scenarios/chsh-load-balancing-metro.toml")
    assert balancer_pairs(s) == 50
    g = load_balancing_graph(s)
    assert g.number_of_nodes() == 150 and g.number_of_edges() == 100
    assert g.edges["balancer_99", "station_50"]["length_km"] == 10.0
    assert g.nodes["balancer_100"]["pair"] == 49 and g.nodes["balancer_1"]["t2_s"] == 0.01
    assert {len(c) for c in nx.connected_components(g)} == {3}
    assert balancer_pairs(Scenario.ideal()) is None


def test_show_draws_the_balancer_pairs(tmp_path: Path) -> None:
    """``qnet show`` of a load-balancing scenario names its N/2 links; the PNG draws three
    rows and "47 more" for 50 links, every row for 2."""
    from matplotlib.image import imread

    path = ROOT / "scenarios/chsh-load-balancing-metro.toml"
    png = tmp_path / "t.png"
    res = _run(["show", str(path), "--png", str(png)])
    assert res.exit_code == 0, res.output
    assert "50 identical links, one per balancer pair (N = 100)" in res.stdout
    tall = imread(png).shape[0]
    res = _run(["show", str(path), "--set", "load_balancing.balancers=4",
                "--set", "load_balancing.load_start=0.6", "--set", "load_balancing.load_stop=1.3",
                "--png", str(png), "--json"])  # fmt: skip
    assert res.exit_code == 0, res.output
    assert json.loads(res.stdout)["links"] == 2
    assert imread(png).shape[0] < tall
    from qnet.plots.common import new_figure
    from qnet.plots.topology import draw_load_balancing
    from qnet.topology import load_balancing_graph

    ax = draw_load_balancing(
        load_balancing_graph(load_scenario(path)), new_figure(7.0, 4.8).add_subplot()
    )
    texts = [t.get_text() for t in ax.texts]
    assert "balancer 99" in texts and "station 2" in texts and "balancer 5" not in texts
    assert any("47 more identical links" in t for t in texts)
    assert "50 identical links" in ax.get_title()


# --- the commands ---------------------------------------------------------------------------


def _run(args: list[str]) -> object:
    from typer.testing import CliRunner

    from qnet.cli.app import app

    return CliRunner().invoke(app, args)


def test_cli_load_balancing_on_a_scenario(tmp_path: Path) -> None:
    """SCENARIO run: the issue's keys, the links' measured availability and its predictions."""
    res = _run(
        [
            "game", "chsh-load-balancing", str(ROOT / "scenarios/chsh-load-balancing-metro.toml"),
            "--set", "load_balancing.steps=400", "--set", "load_balancing.warmup_steps=100",
            "--set", "load_balancing.replications=2", "--set", "load_balancing.balancers=20",
            "--grid", "1", "--no-plot", "--json", "--out", str(tmp_path),
        ]
    )  # fmt: skip
    assert res.exit_code == 0, res.output
    out = json.loads(res.output)
    for key in ("knee_classical_random", "knee_best_classical", "knee_quantum"):
        assert set(out[key]) == {"mean", "ci95"}
    link = out["link"]
    assert out["scenario"] == "chsh-load-balancing-metro" and link["engine"] == "analytic"
    assert link["step_s"] == pytest.approx(2e-4, rel=1e-12)  # 2 × 20 km at 2e5 km/s
    assert (
        0.3 < link["availability"]["mean"] < 0.8 and 0.85 < link["fidelity_at_use"]["mean"] < 0.97
    )
    assert out["availability"] == link["availability"]["mean"]
    assert (tmp_path / "chsh-load-balancing/knees.json").exists()


def test_cli_link_sweep_on_a_scenario() -> None:
    """`chsh-link-sweep SCENARIO --vary`: one point per value, each with its measured link."""
    res = _run(
        [
            "game", "chsh-link-sweep", str(ROOT / "scenarios/chsh-load-balancing-metro.toml"),
            "--vary", "link.memory_slots=1,4", "--set", "load_balancing.steps=300",
            "--set", "load_balancing.warmup_steps=50", "--set", "load_balancing.replications=2",
            "--set", "load_balancing.balancers=20", "--json",
        ]
    )  # fmt: skip
    assert res.exit_code == 0, res.output
    out = json.loads(res.output)
    assert [p["set"] for p in out["points"]] == [
        {"link.memory_slots": 1},
        {"link.memory_slots": 4},
    ]
    a = [p["link"]["availability"]["mean"] for p in out["points"]]
    assert 0 < a[0] < a[1] < 1
    for disc in ("c-first", "e-first"):
        assert len(out[disc]["grid"]) == 2 and set(out[disc]["random"]) == {"mean", "ci95"}


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["chsh-load-balancing", "SCEN", "--steps", "100"],
            "error: --steps does not apply with a SCENARIO: set load_balancing.steps in the "
            "scenario or with --set",
        ),
        (
            ["chsh-load-balancing", "SCEN", "--fidelity", "0.9"],
            "error: --fidelity does not apply with a SCENARIO: the scenario's link supplies it",
        ),
        (
            ["chsh-load-balancing", "SCEN", "--set", "load_balancing.balancers=7"],
            "error: load_balancing.balancers = 7 is out of range: allowed even numbers in "
            "[2, 10000] (balancers come in pairs)",
        ),
        (["chsh-load-balancing", "--set", "seed=1"], "error: --set needs a SCENARIO"),
        (
            ["chsh-link-sweep", "SCEN", "--vary", "seed=1,2"],
            "error: --vary seed: the size and seed are common to every point; allowed: link, "
            "router_a, router_b, engine keys and load_balancing.step_s",
        ),
        (
            ["chsh-link-sweep", "SCEN", "--vary", "link.memory_slots=0,1"],
            "error: link.memory_slots = 0 is out of range: allowed [1, 1000]",
        ),
        (
            ["chsh-link-sweep", "SCEN", "--vary", "link.raw_fidelity"],
            "error: --vary expects KEY=V1,V2,..., got 'link.raw_fidelity'",
        ),
    ],
)
def test_cli_refuses_bad_scenario_input_with_one_line(args: list[str], message: str) -> None:
    path = str(ROOT / "scenarios/chsh-load-balancing.toml")
    res = _run(["game", *[path if a == "SCEN" else a for a in args]])
    assert res.exit_code == 2, res.output
    assert res.output.strip() == message
