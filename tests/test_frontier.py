"""Tests for qnet.games.routing.frontier and `qnet frontier`: Theorem 4 and Fig. 3 of the paper."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest
import reference_games as ref
from typer.testing import CliRunner

from qnet.cli.app import app
from qnet.games.routing.frontier import Frontier, p_grid_from_range, pareto_frontier
from qnet.games.routing.quantum import optimize_quantum
from qnet.queues.model import SystemParams

PAPER = SystemParams(lam=0.8, mu=1.0, alpha=0.5, phi_max=1.0)
THEOREM4_GRID = p_grid_from_range(0.025, 0.475, 0.025)  # the paper's 0.025 grid in (0, 1/2)


@pytest.fixture(scope="module")
def paper_frontier() -> Frontier:
    """Fig. 3 setting: degree 2, m = 60, 20 restarts, seed 1, Prop. 7 certificate, ε = 0.01."""
    return pareto_frontier(THEOREM4_GRID, PAPER, method="paper", epsilon=0.01)


@pytest.fixture(scope="module")
def tight_frontier() -> Frontier:
    """Same as ``paper_frontier`` with the sound ``tight`` certificate."""
    return pareto_frontier(THEOREM4_GRID, PAPER, method="tight")


def test_theorem4_and_fig3_with_paper_certificate(paper_frontier: Frontier) -> None:
    """Theorem 4 / Fig. 3 (λ = 0.8, μ = 1, α = 0.5, degree 2, Prop. 7 with ε = 0.01):
    certified advantage exactly on p ∈ [0.075, 0.325] of the 0.025 grid, largest reduction
    ΔWq_cl − ΔWq_qu = 0.073 ± 0.005 at p within 0.025 of 0.20, relative reduction 21 ± 2 %."""
    fr = paper_frontier
    expected = np.round(np.arange(0.075, 0.3251, 0.025), 3)
    np.testing.assert_array_equal(fr.p[fr.advantage], expected)
    assert fr.advantage_region == (0.075, 0.325)
    assert fr.advantage_contiguous
    assert fr.max_reduction == pytest.approx(0.073, abs=0.005)
    assert abs(fr.p_at_max_reduction - 0.20) <= 0.025 + 1e-12
    assert fr.relative_reduction_at_max == pytest.approx(0.21, abs=0.02)
    assert fr.quantum_converged.all()


def test_tight_certificate_headline(tight_frontier: Frontier) -> None:
    """The sound `tight` certificate (README Findings): on the same grid the advantage region
    is p ∈ [0.075, 0.425] and the largest reduction is at p = 0.225. Its size, 0.08282, and
    the relative reduction, 23.51 %, are derived independently in
    :func:`test_tight_headline_against_independent_quadrature_and_brute_force`."""
    fr = tight_frontier
    assert fr.advantage_region == (0.075, 0.425)
    assert fr.advantage_contiguous
    assert fr.p_at_max_reduction == pytest.approx(0.225)
    i = int(np.flatnonzero(np.isclose(fr.p, 0.225))[0])
    assert fr.max_reduction == fr.reduction[i]


def test_tight_headline_against_independent_quadrature_and_brute_force(
    tight_frontier: Frontier,
) -> None:
    """At p = 0.225 every term of the headline is recomputed without qnet's game code
    (tests/reference_games.py):

    * quantum: the reported degree-2 angles, A = -E[cos 2(θ_A(x1) - θ_B(x2)) w] and
      p = E[(1 - cos)/2] by adaptive 2-D quadrature (QUADPACK; qnet uses Gauss-Laguerre);
    * classical: deterministic threshold pairs in closed form (E[f x] = 1 - 2(θ+1)e^-θ),
      maximized on the split constraint (brute force + scalar search); the convex hull of
      2 x 1001^2 threshold pairs in (p, A) shows no mixture does better at p = 0.225 (the
      optimum is a boundary strategy, router A constant);
    * oracle: split iff w > τ, τ solved from Pr[w > τ] = p, A* by 1-D quadrature.

    The frontier's classical envelope is the certified upper bound, at most 1e-7 above the
    attained value, so the reduction (A_qu - envelope)/2 agrees to 1e-7 (measured 3e-8).
    """
    fr = tight_frontier
    p0, lam = 0.225, PAPER.lam
    i = int(np.flatnonzero(np.isclose(fr.p, p0))[0])
    strat = fr.to_dict()["quantum_strategies"][i]
    a_qu, p_qu = ref.quantum_payoff_and_p(strat["a"], strat["b"], lam)
    assert p_qu == pytest.approx(p0, abs=1e-9)
    assert fr.quantum_payoff[i] == pytest.approx(a_qu, abs=1e-9)

    v_det = ref.best_threshold_payoff(p0, lam)
    assert fr.classical_best[i] == pytest.approx(v_det, abs=1e-9)
    assert 0 <= fr.classical_envelope[i] - v_det <= 1e-7
    assert ref.threshold_hull_payoff(p0, lam) <= v_det + 1e-12

    a_star = ref.oracle_payoff(p0, lam)
    assert fr.oracle_payoff[i] == pytest.approx(a_star, abs=1e-9)

    reduction = (a_qu - v_det) / 2
    assert reduction == pytest.approx(0.082818, abs=1e-6)  # the README figure, 0.0828
    assert fr.max_reduction == pytest.approx(reduction, abs=1e-7)
    relative = reduction / ((a_star - v_det) / 2)
    assert fr.relative_reduction_at_max == pytest.approx(relative, abs=1e-6)


def test_frontier_identities(paper_frontier: Frontier, tight_frontier: Frontier) -> None:
    """Lemma 1 and eq. 10 identities on every row: ΔWq = (A* − A)/2, reduction =
    (A_qu − envelope)/2, normalized throughput 2α/(λ(1 + p) + 2α); the envelope dominates
    the bound and is concave (second differences ≤ 1e-12 on the uniform grid); the oracle
    is optimal at each p, so ΔWq ≥ 0 for the quantum and the attained classical payoffs;
    the attained classical payoff never exceeds the certified envelope."""
    for fr in (paper_frontier, tight_frontier):
        a_star = fr.oracle_payoff
        np.testing.assert_array_equal(fr.classical_benchmark, fr.classical_envelope)
        np.testing.assert_allclose(fr.gap_classical, (a_star - fr.classical_envelope) / 2)
        np.testing.assert_allclose(fr.gap_quantum, (a_star - fr.quantum_payoff) / 2)
        np.testing.assert_allclose(fr.reduction, (fr.quantum_payoff - fr.classical_envelope) / 2)
        lam, alpha = PAPER.lam, PAPER.alpha
        np.testing.assert_allclose(fr.throughput, 2 * alpha / (lam * (1 + fr.p) + 2 * alpha))
        assert np.all(np.diff(fr.throughput) < 0)
        assert np.all(fr.classical_envelope >= fr.classical_bound - 1e-12)
        assert np.all(np.diff(fr.classical_envelope, 2) <= 1e-12)
        assert np.all(fr.gap_quantum >= -1e-9)
        assert np.all(fr.gap_classical_achieved >= -1e-9)
        assert np.all(fr.classical_achieved <= fr.classical_envelope + 1e-12)
        assert np.all(fr.classical_best <= fr.classical_bound + 1e-12)
        assert np.all(fr.quantum_error <= 1e-8)


def test_quantum_row_matches_fresh_restarts(paper_frontier: Frontier) -> None:
    """The continuation sweep (restarts only at anchors, warm starts elsewhere) finds the
    same optimum as 20 fresh random restarts with another seed, at every tested p (1e-7)."""
    for p in (0.05, 0.125, 0.225, 0.325, 0.45):
        i = int(np.flatnonzero(np.isclose(paper_frontier.p, p))[0])
        fresh = optimize_quantum(p, PAPER, restarts=20, seed=99)
        assert paper_frontier.quantum_payoff[i] == pytest.approx(fresh.payoff_adaptive, abs=1e-7)


def test_noisy_pair_lowers_quantum_payoff() -> None:
    """With a Werner pair (T = 0.9 I) the quantum payoff at each p is below the ideal one,
    the classical columns are unchanged (they use no pair), and the region shrinks."""
    grid = [0.1, 0.2, 0.3]
    ideal = pareto_frontier(grid, PAPER, restarts=4)
    noisy = pareto_frontier(grid, PAPER, restarts=4, correlation_tensor=0.9 * np.eye(2))
    assert np.all(noisy.quantum_payoff < ideal.quantum_payoff - 1e-3)
    np.testing.assert_array_equal(noisy.classical_envelope, ideal.classical_envelope)
    assert noisy.advantage.sum() <= ideal.advantage.sum()


def test_dual_check_confirms_grid_envelope() -> None:
    """At λ = 0.8 the deterministic classical value is concave, so the dual (Lagrangian)
    bound on all shared-randomness mixtures agrees with the grid envelope to the
    certificates' tolerances (1e-6); the benchmark is the larger of the two and the
    advantage is unchanged."""
    grid = [0.1, 0.2, 0.3]
    plain = pareto_frontier(grid, PAPER, restarts=4)
    dual = pareto_frontier(grid, PAPER, restarts=4, dual_check=True)
    assert plain.classical_dual_bound is None and not plain.dual_check
    assert dual.classical_dual_bound is not None
    np.testing.assert_allclose(dual.classical_dual_bound, dual.classical_envelope, atol=1e-6)
    assert np.all(dual.classical_benchmark >= dual.classical_envelope)
    np.testing.assert_array_equal(dual.advantage, plain.advantage)
    d = dual.to_dict()
    assert d["dual_check"] is True and len(d["classical_dual_bound"]) == 3


def test_to_dict_is_plain_json(paper_frontier: Frontier) -> None:
    """to_dict() round-trips through strict JSON and carries the summary."""
    d = json.loads(json.dumps(paper_frontier.to_dict(), allow_nan=False))
    assert d["advantage_region"] == [0.075, 0.325]
    assert len(d["quantum_strategies"]) == len(d["p"]) == THEOREM4_GRID.size
    assert d["certificate"] == "paper" and d["epsilon"] == 0.01
    assert d["dual_check"] is False and d["classical_dual_bound"] is None
    with pytest.raises(ValueError, match="read-only"):
        paper_frontier.quantum_payoff[0] = 0.0


@pytest.mark.slow
def test_paper_certificate_depends_on_epsilon() -> None:
    """README Findings: Prop. 7's grid bound depends on the unstated ε. ε = 0.001 (grid
    closer to θ_min, where dÃ/dθ_A is large, so the Lipschitz term grows) certifies only
    p ∈ [0.075, 0.2]; ε = 0.05 (leaves out more near-boundary strategies) certifies
    p ∈ [0.075, 0.375] with a larger maximal reduction (0.075 at p = 0.225)."""
    small = pareto_frontier(THEOREM4_GRID, PAPER, method="paper", epsilon=0.001)
    large = pareto_frontier(THEOREM4_GRID, PAPER, method="paper", epsilon=0.05)
    assert small.advantage_region == (0.075, 0.2)
    assert small.max_reduction == pytest.approx(0.0476, abs=0.002)
    assert large.advantage_region == (0.075, 0.375)
    assert large.max_reduction == pytest.approx(0.0754, abs=0.002)
    assert large.p_at_max_reduction == pytest.approx(0.225)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"p_grid": [0.1, 0.5]}, r"p grid values must lie in the open interval \(0, 1/2\)"),
        ({"p_grid": [0.0, 0.1]}, r"p grid values must lie in the open interval"),
        ({"p_grid": []}, r"p grid must be a non-empty"),
        ({"method": "exact"}, r"method \(certificate\) must be 'tight' or 'paper'"),
        ({"restarts": 0}, r"restarts must be an integer >= 1"),
        ({"anchor_spacing": 0.0}, r"anchor_spacing must lie in \(0, 0.5\]"),
        ({"degree": -1}, r"degree must be an integer >= 0"),
        ({"seed": -3}, r"seed must be an integer >= 0"),
    ],
)
def test_bad_frontier_arguments(kwargs: dict, match: str) -> None:
    """One ValueError naming the argument and its allowed range."""
    args = {"p_grid": [0.2], "params": PAPER, "restarts": 1} | kwargs
    with pytest.raises(ValueError, match=match):
        pareto_frontier(**args)


def test_p_grid_from_range() -> None:
    """Inclusive end point despite floating-point steps; bad ranges name the option."""
    np.testing.assert_allclose(p_grid_from_range(0.005, 0.495, 0.005).size, 99)
    assert p_grid_from_range(0.025, 0.475, 0.025)[-1] == 0.475
    with pytest.raises(ValueError, match=r"p_step must be > 0"):
        p_grid_from_range(0.1, 0.2, 0.0)
    with pytest.raises(ValueError, match=r"p_stop must be >= p_start"):
        p_grid_from_range(0.3, 0.2, 0.01)


REQUIRED_KEYS = {
    "p",
    "oracle_payoff",
    "classical_bound",
    "classical_envelope",
    "quantum_payoff",
    "gap_classical",
    "gap_quantum",
    "throughput",
    "advantage_region",
    "max_reduction",
    "p_at_max_reduction",
    "relative_reduction_at_max",
}


def test_cli_json_csv_png(tmp_path: Path) -> None:
    """`qnet frontier --json` prints one JSON object with every documented key, and writes
    the CSV (one row per p) and the Fig. 3 PNG into --out."""
    runner = CliRunner()
    args = ["frontier", "--p", "0.15", "--p", "0.2", "--p", "0.25", "--restarts", "4"]
    args += ["--quantum", "polynomial"]  # the paper's family (the default is the optimal one)
    res = runner.invoke(app, [*args, "--certificate", "paper", "--out", str(tmp_path), "--json"])
    assert res.exit_code == 0, res.output
    d = json.loads(res.stdout)
    assert REQUIRED_KEYS <= d.keys()
    assert d["p"] == [0.15, 0.2, 0.25]
    assert d["advantage_region"] == [0.15, 0.25]
    assert d["max_reduction"] == pytest.approx(0.073, abs=0.005)
    csv_lines = Path(d["csv"]).read_text().splitlines()
    assert csv_lines[0].startswith("p,throughput,baseline_throughput,oracle_payoff")
    assert len(csv_lines) == 4
    assert Path(d["png"]).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert sorted(f.name for f in tmp_path.iterdir() if f.name.startswith(".")) == []


def test_cli_table(tmp_path: Path) -> None:
    """Without --json: a table with one row per p and the advantage summary."""
    runner = CliRunner()
    res = runner.invoke(
        app, ["frontier", "--p", "0.2", "--restarts", "2", "--no-plot", "--out", str(tmp_path)]
    )
    assert res.exit_code == 0, res.output
    assert "certified advantage region: p ∈ [0.2, 0.2]" in res.stdout
    assert "largest reduction" in res.stdout
    assert not list(tmp_path.glob("*.png"))


@pytest.mark.parametrize(
    ("args", "match"),
    [
        (["--mu", "-1"], "mu must be a finite number > 0"),
        (["--lam", "1.2"], "rho = lam/mu must be < 1"),
        (["--alpha", "0"], "alpha must be a finite number > 0"),
        (["--p", "0.7"], r"^error: --p = 0\.7 is out of range: allowed \(0, 0\.5\)$"),
        (["--p", "0"], r"^error: --p = 0 is out of range: allowed \(0, 0\.5\)$"),
        (["--p-step", "0"], "--p-step: p_step must be > 0"),
        (["--degree", "-1"], r"^error: --degree = -1 is out of range: allowed >= 0$"),
        (["--restarts", "0"], r"^error: --restarts = 0 is out of range: allowed >= 1$"),
        (
            ["--quadrature-points", "1000"],
            r"^error: --quadrature-points = 1000 is out of range: "
            r"allowed \[2, 400\]$",
        ),
        (
            ["--certificate", "foo"],
            r"^error: Invalid value for '--certificate': 'foo' is not "
            r"one of 'tight', 'paper'\. \(see 'qnet frontier --help'\)$",
        ),
        (["--certificate", "paper", "--epsilon", "0"], "--epsilon must be a finite number > 0"),
    ],
)
def test_cli_bad_parameters(tmp_path: Path, args: list[str], match: str) -> None:
    """Bad parameters: exit status 2, one error line naming the parameter, nothing written."""
    runner = CliRunner()
    res = runner.invoke(app, ["frontier", *args, "--out", str(tmp_path), "--p-stop", "0.05"])
    assert res.exit_code == 2, res.output
    lines = [ln for ln in res.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: ")
    assert re.search(match, lines[0]), lines[0]
    assert not tmp_path.exists() or not any(tmp_path.iterdir())


def test_no_advantage_gives_null_region() -> None:
    """At p = 0.47 the degree-2 quantum strategy loses to the tight classical envelope
    (the region ends at 0.435): no region, a negative largest reduction, JSON null."""
    fr = pareto_frontier([0.47], PAPER, restarts=4)
    assert not fr.advantage.any()
    assert fr.advantage_region is None and fr.advantage_contiguous
    assert fr.max_reduction < 0
    assert json.loads(json.dumps(fr.to_dict()))["advantage_region"] is None


# --- issue 12: `--quantum optimal|polynomial`, the certified quantum bound ---------------


def test_cli_polynomial_reproduces_theorem4(tmp_path: Path) -> None:
    """`qnet frontier --quantum polynomial --certificate paper --epsilon 0.01` on the paper's
    0.025 grid reproduces Theorem 4 as before (region [0.075, 0.325], largest reduction
    0.073 ± 0.005 near p = 0.20, 21 ± 2 %); the JSON adds quantum_family and, per p, the
    certified bound on every quantum strategy, which lies above both families' payoffs
    (the optimal one within 2e-4); the CSV keeps the a_k, b_k coefficient columns."""
    res = CliRunner().invoke(
        app,
        [
            "frontier",
            "--quantum",
            "polynomial",
            "--certificate",
            "paper",
            "--epsilon",
            "0.01",
            "--no-plot",
            "--out",
            str(tmp_path),
            "--json",
        ],
    )
    assert res.exit_code == 0, res.output
    d = json.loads(res.stdout)
    assert d["quantum_family"] == "polynomial" and d["quantum_other_family"] == "optimal"
    assert d["advantage_region"] == [0.075, 0.325]
    assert d["max_reduction"] == pytest.approx(0.073, abs=0.005)
    assert abs(d["p_at_max_reduction"] - 0.20) <= 0.025 + 1e-12
    assert d["relative_reduction_at_max"] == pytest.approx(0.21, abs=0.02)
    bound = np.array(d["quantum_upper_bound"])
    assert bound.size == len(d["p"]) == THEOREM4_GRID.size
    assert np.all(bound >= np.array(d["quantum_payoff"]))
    slack = bound - np.array(d["quantum_other_payoff"])
    assert np.all((slack >= 0) & (slack <= 2e-4))
    header = Path(d["csv"]).read_text().splitlines()[0].split(",")
    assert header[-6:] == ["a0", "a1", "a2", "b0", "b1", "b2"]
    assert "quantum_upper_bound" in header


def test_cli_optimal_is_default_and_certified(tmp_path: Path) -> None:
    """Default `qnet frontier` uses the optimal family: at p = 0.05, 0.2, 0.3, 0.45 the JSON's
    quantum_upper_bound is within 1e-3 above quantum_payoff (issue 12), the optimal payoff
    beats the polynomial one (quantum_other_payoff) and the classical benchmark at every p,
    the CSV carries the two lines' points, and the PNG is written."""
    args = ["frontier", "--out", str(tmp_path), "--json"]
    for p in (0.05, 0.2, 0.3, 0.45):
        args += ["--p", str(p)]
    res = CliRunner().invoke(app, args)
    assert res.exit_code == 0, res.output
    d = json.loads(res.stdout)
    assert REQUIRED_KEYS <= d.keys()
    assert d["quantum_family"] == "optimal" and d["quantum_other_family"] == "polynomial"
    q, bound = np.array(d["quantum_payoff"]), np.array(d["quantum_upper_bound"])
    assert np.all((bound >= q) & (bound - q <= 1e-3))
    assert np.all(q > np.array(d["quantum_other_payoff"]))
    assert all(d["advantage"])
    header = Path(d["csv"]).read_text().splitlines()[0].split(",")
    assert header[-8:] == ["a_A_x", "a_A_y", "b_A_x", "b_A_y", "a_B_x", "a_B_y", "b_B_x", "b_B_y"]
    assert Path(d["png"]).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert Path(d["png"]).name.startswith("frontier-optimal-tight-")


def test_quantum_family_errors(tmp_path: Path) -> None:
    """Bad --quantum: one error line, exit 2; the library names the field; the certified
    bound is refused for a noisy pair (it is proved for the ideal pair)."""
    res = CliRunner().invoke(
        app, ["frontier", "--quantum", "best", "--p", "0.2", "--out", str(tmp_path)]
    )
    assert res.exit_code == 2
    lines = [ln for ln in res.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and "Invalid value for '--quantum'" in lines[0]
    with pytest.raises(ValueError, match="quantum \\(family\\) must be 'optimal' or 'polynomial'"):
        pareto_frontier([0.2], PAPER, quantum="best")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="quantum_bound is certified for the ideal pair only"):
        pareto_frontier(
            [0.2], PAPER, quantum="optimal", quantum_bound=True, correlation_tensor=0.9 * np.eye(2)
        )
