"""Routing game, noise-aware mixing: noisy and partly available pairs, v_c, retained advantage.

One module-scoped reference (paper parameters λ = 0.8, μ = 1; quantum frontier with a
p'' step of 0.02 and 4 restarts, a few seconds) serves every test; the properties tested
hold for any reference, only the numbers move with its resolution.
"""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from typer.testing import CliRunner

from qnet.games.routing import noise_aware as th
from qnet.games.routing.classical import ThresholdStrategy
from qnet.games.routing.noise_aware import hull, mixing, reference
from qnet.games.routing.quantum import (
    optimize_quantum,
    quantum_payoff,
    quantum_splitting_probability,
)
from qnet.physics.noise import correlation, stored_pair
from qnet.queues.model import SystemParams, splitting_benefit

PARAMS = SystemParams(lam=0.8, mu=1.0, alpha=0.5, phi_max=1.0)
TARGETS = (0.1, 0.2, 0.3)


@pytest.fixture(scope="module")
def ref() -> th.NoiseReference:
    return th.noise_reference(TARGETS, PARAMS, restarts=4, quantum_step=0.02)


def _idx(ref: th.NoiseReference, p: float) -> int:
    return int(np.flatnonzero(np.abs(ref.frontier.p - p) < 1e-12)[0])


def test_ideal_pair_full_availability_reproduces_the_frontier_exactly(ref):
    """v = 1, a = 1, e = 0: the pure-quantum payoff is the frontier's at every grid p (==),
    and at p = 0.1, 0.2, 0.3 (inside the advantage region) the best mix *is* the frontier's
    strategy, so its payoff and advantage equal the frontier's exactly; retained = 1."""
    fr = ref.frontier
    for i, p in enumerate(fr.p):
        assert th.noisy_quantum_payoff(ref, float(p), 1.0) == fr.quantum_payoff[i]
        mix = th.noise_aware_strategy(ref, float(p))
        assert mix.payoff >= fr.quantum_payoff[i]  # mixing can only add
    for p in TARGETS:
        i = _idx(ref, p)
        mix = th.noise_aware_strategy(ref, p, 1.0, 1.0, 0.0, 0.0)
        assert mix.fallback == ()
        assert len(mix.with_pair) == 1 and mix.with_pair[0].kind == "quantum"
        assert mix.with_pair[0].strategy == fr.quantum_strategies[i]
        assert mix.payoff == fr.quantum_payoff[i]
        assert mix.p == pytest.approx(p, abs=1e-15)
        assert mix.payoff - ref.certified_envelope(p) == (
            fr.quantum_payoff[i] - fr.classical_envelope[i]
        )
        assert th.retained_advantage(ref, p, 1.0, 1.0) == 1.0


def test_noisy_payoff_closed_form_matches_quantum_module_with_tensor(ref):
    """Eq. N1: the ideal angles on a pair with T = η·I give p = (1 − η(1 − 2p''))/2 and
    A = η·Q exactly (the quantum module evaluates the tensor independently, same fixed
    quadrature rule, 1e-12) and noisy_quantum_payoff maps the frontier the same way; the
    optimizer with T = η·I, warm-started from a grid strategy, is not beaten by the
    reference's mixture at an off-grid p'' (V is a lower bound)."""
    for p in TARGETS:
        i = _idx(ref, p)
        strat = ref.frontier.quantum_strategies[i]
        q_ideal = quantum_payoff(strat, PARAMS)
        p_ideal = quantum_splitting_probability(strat, PARAMS)  # = p to the optimizer's 1e-7
        for eta in (0.97, 0.9, 0.8):
            tensor = eta * np.eye(2)
            p_noisy = quantum_splitting_probability(strat, PARAMS, correlation_tensor=tensor)
            assert p_noisy == pytest.approx(0.5 * (1 - eta * (1 - 2 * p_ideal)), abs=1e-12)
            assert quantum_payoff(strat, PARAMS, correlation_tensor=tensor) == pytest.approx(
                eta * q_ideal, abs=1e-12
            )
            p_achieved = 0.5 * (1 - eta * (1 - 2 * p))
            assert th.noisy_quantum_payoff(ref, p_achieved, eta) == pytest.approx(
                eta * ref.frontier.quantum_payoff[i], abs=1e-12
            )
    opt = optimize_quantum(
        0.22,
        PARAMS,
        restarts=0,
        correlation_tensor=0.9 * np.eye(2),
        warm_start=ref.frontier.quantum_strategies[_idx(ref, 0.2)],
    )
    # p'' = 1/2 - (1 - 0.44)/1.8 = 0.1889 lies between grid strategies: V is their mixture,
    # a lower bound of the true optimum the optimizer approaches from the warm start.
    assert opt.payoff_adaptive >= th.noisy_quantum_payoff(ref, 0.22, 0.9) - 1e-7


def test_best_mix_is_the_sup_convolution_and_hits_p_exactly(ref):
    """V(p; η, a) (Minkowski merge) equals a brute-force maximum over the split p_q of
    a F(p_q) + (1 − a) G(p_c), a p_q + (1 − a) p_c = p, on a 20001-point p_q grid (the grid
    can only be lower: tolerance is its resolution times the largest slope, < 2e-4); the
    reported components reproduce payoff and p (1e-12)."""
    for eta, a, p in ((0.95, 0.6, 0.2), (0.9, 0.3, 0.1), (0.97, 0.85, 0.3), (0.99, 0.5, 0.25)):
        f, g = mixing._hulls(ref, reference._isotropic_curve(ref, eta))
        mix = th.noise_aware_strategy(ref, p, eta, a)
        pq = np.linspace(0, 0.5, 20001)
        pc = (p - a * pq) / (1 - a)
        ok = (pc >= 0) & (pc <= 0.5)
        brute = max(a * f(x) + (1 - a) * g(y) for x, y in zip(pq[ok], pc[ok], strict=True))
        assert brute <= mix.payoff + 1e-12
        assert mix.payoff - brute < 2e-4
        assert mix.p == pytest.approx(p, abs=1e-12)
        assert sum(c.weight for c in mix.with_pair) == pytest.approx(1.0, abs=1e-12)
        assert sum(c.weight for c in mix.fallback) == pytest.approx(1.0, abs=1e-12)
        assert all(c.kind == "classical" for c in mix.fallback)
        recomputed = a * sum(c.weight * c.payoff for c in mix.with_pair) + (1 - a) * sum(
            c.weight * c.payoff for c in mix.fallback
        )
        assert recomputed == pytest.approx(mix.payoff, abs=1e-12)


def test_retained_advantage_is_monotone_in_visibility_and_availability(ref):
    """Better or more available pairs never lose advantage (module docstring argument):
    the retained-advantage grid is non-decreasing along both axes (1e-12), 1 at (1, 1)."""
    fids = np.linspace(0.85, 1.0, 13)
    avs = np.linspace(0.0, 1.0, 11)
    grid = th.retained_grid(ref, TARGETS, fids, avs)
    r = grid.retained
    assert np.all(np.isfinite(r))
    assert np.all(np.diff(r, axis=1) >= -1e-12)
    assert np.all(np.diff(r, axis=2) >= -1e-12)
    np.testing.assert_array_equal(r[:, -1, -1], 1.0)
    np.testing.assert_array_equal(r[:, :, 0], 0.0)  # a = 0: classical only
    # v_c at a = 1 is where retained turns positive along the fidelity axis.
    for i, crit in enumerate(grid.critical):
        f_c = crit.fidelity
        assert np.all(r[i, fids < f_c - 1e-6, -1] == 0.0)
        assert np.all(r[i, fids > f_c + 1e-6, -1] > 0.0)
        # Less availability needs better pairs.
        contour = grid.critical_by_availability[i]
        finite = contour[np.isfinite(contour)]
        assert np.all(np.diff(finite) <= 1e-6)


def test_availability_scales_the_advantage_but_not_the_threshold(ref):
    """Module docstring: v_c(p, a) = v_c(p, 1) for a > 0 (here within 2 xtol for a ≥ 0.2,
    where a·(F − G) dwarfs the 1e-7 certificate slack) and V(a) − C ≥ a (V(1) − C) up
    to that slack, so retained(v, a) ≥ a·retained(v, 1) − 1e-6."""
    for p in TARGETS:
        v1 = th.critical_visibility(ref, p).visibility
        for a in (0.2, 0.5, 0.8):
            assert th.critical_visibility(ref, p, a).visibility == pytest.approx(v1, abs=2e-6)
        for v in (0.96, 0.98, 0.995):
            r1 = th.retained_advantage(ref, p, v, 1.0)
            for a in (0.1, 0.4, 0.7):
                assert th.retained_advantage(ref, p, v, a) >= a * r1 - 1e-6


def test_below_critical_visibility_no_quantum_strategy_beats_the_classical_envelope(ref):
    """At v = v_c − 0.01 an independent optimization of polynomial angles on the pair
    T = v·I (optimize_quantum, 10 seeded restarts + the ideal optimum as warm start) stays
    below the certified envelope C(p), and so does the best mix. At v_c + 0.01 the best mix
    beats C(p), and its quantum components, re-evaluated independently on T = v·I by
    adaptive quadrature, have the payoffs and p the mix claims (1e-6): the threshold is
    not set too high by a bookkeeping error. (Near the edge of the advantage region the
    winning mix combines quantum at a larger p with classical at a smaller one, so the
    pure quantum optimum at p itself need not beat C just above v_c.)"""
    from qnet.games.routing.quantum import adaptive_evaluation

    for p in TARGETS:
        crit = th.critical_visibility(ref, p)
        assert 0.5 < crit.visibility < 1.0
        assert crit.fidelity == pytest.approx((3 * crit.visibility + 1) / 4, abs=1e-15)
        bench = ref.certified_envelope(p)
        warm = ref.frontier.quantum_strategies[_idx(ref, p)]
        v = crit.visibility - 0.01
        opt = optimize_quantum(
            p, PARAMS, restarts=10, seed=7, correlation_tensor=v * np.eye(2), warm_start=warm
        )
        assert opt.payoff_adaptive < bench, (p, v, opt.payoff_adaptive, bench)
        assert th.noise_aware_strategy(ref, p, v).payoff < bench
        v = crit.visibility + 0.01
        mix = th.noise_aware_strategy(ref, p, v)
        assert mix.payoff > bench
        quantum = [c for c in mix.with_pair if c.kind == "quantum"]
        assert quantum
        for c in quantum:
            check = adaptive_evaluation(c.strategy, PARAMS, v * np.eye(2))
            assert check.payoff == pytest.approx(c.payoff, abs=1e-6)
            assert check.splitting_probability == pytest.approx(c.splitting_probability, abs=1e-6)


def test_critical_visibility_bisection_tolerance_and_readout(ref):
    """The margin changes sign inside the reported bracket (v_c − xtol, v_c]; readout
    errors enter only through η = v(1 − 2e_A)(1 − 2e_B), so v_c(e)·(1−2e_A)(1−2e_B) = v_c(0)
    within the two tolerances."""
    p = 0.2
    crit = th.critical_visibility(ref, p, xtol=1e-7)
    bench = ref.certified_envelope(p) + ref.quantum_error
    assert th.noise_aware_strategy(ref, p, crit.visibility).payoff > bench
    assert th.noise_aware_strategy(ref, p, crit.visibility - 1e-7).payoff <= bench
    noisy = th.critical_visibility(ref, p, readout_error_a=0.01, readout_error_b=0.02, xtol=1e-7)
    assert noisy.visibility * 0.98 * 0.96 == pytest.approx(crit.visibility, abs=3e-7)
    assert math.isnan(th.critical_visibility(ref, p, readout_error_a=0.1).visibility)


def test_naive_strategy_achieved_p_and_payoff_closed_form(ref):
    """Naive: p = a(1 − η(1 − 2p0))/2 + (1 − a)p0 and A = aηQ(p0) + (1 − a)G(p0) (N1, N2)."""
    p0, v, a, ea, eb = 0.2, 0.93, 0.7, 0.01, 0.03
    eta = v * (1 - 2 * ea) * (1 - 2 * eb)
    res = th.naive_strategy(ref, p0, v, a, ea, eb)
    q = ref.frontier.quantum_payoff[_idx(ref, p0)]
    g = hull._upper_hull(ref.classical_p, ref.classical_payoff)
    assert res.achieved_p == pytest.approx(
        a * (1 - eta * (1 - 2 * p0)) / 2 + (1 - a) * p0, abs=1e-14
    )
    assert res.payoff == pytest.approx(a * eta * q + (1 - a) * g(p0), abs=1e-12)
    assert res.achieved_p > p0  # noise pulls p towards 1/2


def test_noise_aware_is_never_worse_than_naive_at_equal_p(ref):
    """At the naive strategy's achieved p the noise-aware mix is at least as good
    (1e-12), over nominal p, visibility, availability and readout error."""
    for p0 in TARGETS:
        for v in (0.8, 0.9, 0.95, 0.99, 1.0):
            for a in (0.2, 0.6, 1.0):
                for e in (0.0, 0.02):
                    res = th.naive_strategy(ref, p0, v, a, e, e)
                    assert res.noise_aware_payoff >= res.payoff - 1e-12


def _simulate(mix: th.MixedStrategy, n: int, rng: np.random.Generator):
    """Play n individual decisions of the mix: payoff samples, split flags, router A outputs.

    Exp(μ) service times; pair available with probability a; a shared random number picks
    the component; on a pair the outcomes are drawn from the pair's joint distribution
    (zero marginals: o_A uniform, o_B = o_A with probability (1 + E)/2, E = n_Aᵀ T n_B from
    qnet.physics.noise.correlation, Born-rule checked in test_noise.py); classical
    components use their thresholds and a shared random bit flipping both outputs.
    """
    x1 = rng.exponential(1 / PARAMS.mu, n)
    x2 = rng.exponential(1 / PARAMS.mu, n)
    avail = rng.random(n) < mix.availability
    pick = rng.random(n)
    oa = np.zeros(n, dtype=np.int8)
    ob = np.zeros(n, dtype=np.int8)
    for branch, mask in ((mix.with_pair, avail), (mix.fallback, ~avail)):
        edges = np.cumsum([0.0] + [c.weight for c in branch])
        for c, lo, hi in zip(branch, edges[:-1], edges[1:], strict=True):
            sel = mask & (pick >= lo) & (pick < hi)
            if c.kind == "quantum":
                s = c.strategy
                corr = correlation(mix.tensor, s.theta_a(x1[sel]), s.theta_b(x2[sel]))
                a_out = np.where(rng.random(sel.sum()) < 0.5, 1, -1)
                same = rng.random(sel.sum()) < (1 + corr) / 2
                oa[sel], ob[sel] = a_out, np.where(same, a_out, -a_out)
            else:
                assert isinstance(c.strategy, ThresholdStrategy)
                a_out, b_out = c.strategy.outputs(x1[sel], x2[sel])
                flip = np.where(rng.random(sel.sum()) < 0.5, 1, -1)
                oa[sel], ob[sel] = a_out * flip, b_out * flip
    prod = oa.astype(float) * ob
    return -prod * splitting_benefit(x1, x2, PARAMS), prod < 0, oa


def test_effective_payoff_under_availability_matches_monte_carlo(ref):
    """Eq. N2 against 1.5e6 seeded individual decisions: the sample mean payoff and split
    fraction lie within their 99 % CIs (2.576 SE) of A_mix and p (each check fails with
    probability 1 % for a correct formula; the seed is fixed), and router A's output is
    balanced (the shared random bit and the Werner pair's zero marginals)."""
    mix = th.noise_aware_strategy(ref, 0.2, visibility=0.97, availability=0.6)
    assert mix.with_pair and mix.fallback
    rng = np.random.default_rng(np.random.SeedSequence(4_2026))
    pay, split, oa = _simulate(mix, 1_500_000, rng)
    se = pay.std(ddof=1) / math.sqrt(pay.size)
    assert abs(pay.mean() - mix.payoff) < 2.576 * se, (pay.mean(), mix.payoff, se)
    se_p = math.sqrt(mix.p * (1 - mix.p) / split.size)
    assert abs(split.mean() - mix.p) < 2.576 * se_p
    assert abs((oa > 0).mean() - 0.5) < 2.576 * 0.5 / math.sqrt(oa.size)


def test_paper_certificate_is_selectable():
    """method="paper" uses the Prop. 7 bound: C(p) is the frontier's paper envelope and the
    resulting v_c differs from the tight one's (the bounds differ at p = 0.2)."""
    paper = th.noise_reference([0.2], PARAMS, method="paper", restarts=2, quantum_step=0.05)
    tight = th.noise_reference([0.2], PARAMS, method="tight", restarts=2, quantum_step=0.05)
    assert paper.frontier.method == "paper"
    cp, ct = th.critical_visibility(paper, 0.2), th.critical_visibility(tight, 0.2)
    assert cp.certificate == "paper" and ct.certificate == "tight"
    assert paper.certified_envelope(0.2) != tight.certified_envelope(0.2)
    assert cp.visibility != ct.visibility


def test_bad_inputs_name_the_parameter(ref):
    """One clear ValueError per bad input, naming the parameter and its range."""
    with pytest.raises(ValueError, match=r"p \(splitting probability\) must be in \(0, 1/2\)"):
        th.noise_aware_strategy(ref, 0.6)
    with pytest.raises(ValueError, match=r"visibility must be in \[0, 1\]"):
        th.noise_aware_strategy(ref, 0.2, visibility=1.1)
    with pytest.raises(ValueError, match=r"availability must be in \[0, 1\]"):
        th.critical_visibility(ref, 0.2, availability=-0.1)
    with pytest.raises(ValueError, match=r"readout_error_b must be in \[0, 0.5\]"):
        th.effective_visibility(0.9, 0.0, 0.6)
    with pytest.raises(ValueError, match=r"strategy must be 'noise_aware' or 'naive'"):
        th.critical_visibility(ref, 0.2, strategy="smart")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"p_nominal=0.123 is not on the reference grid"):
        th.naive_strategy(ref, 0.123, 0.9)
    with pytest.raises(ValueError, match=r"fidelity values must be in \[0.25, 1\]"):
        th.retained_grid(ref, [0.2], [0.2, 0.9], [1.0])
    with pytest.raises(ValueError, match=r"quantum_step must be in \(0, 0.25\]"):
        th.noise_reference([0.2], PARAMS, quantum_step=0.0)
    with pytest.raises(ValueError, match=r"certificate\) must be 'tight' or 'paper'"):
        th.noise_reference([0.2], PARAMS, method="loose")  # type: ignore[arg-type]


def test_cli_thresholds_json_files_and_errors(tmp_path):
    """`qnet thresholds --json` prints one object with the documented keys, writes CSV and
    PNG atomically; a bad option exits with status 2 and one message naming it."""
    from qnet.cli.app import app

    runner = CliRunner()
    args = [
        "thresholds", "--p", "0.2", "--restarts", "2", "--quantum-step", "0.05",
        "--fidelity-points", "4", "--availability-points", "3", "--out", str(tmp_path), "--json",
    ]  # fmt: skip
    res = runner.invoke(app, args)
    assert res.exit_code == 0, res.output
    obj = json.loads(res.stdout)
    for key in ("p", "critical_visibility", "critical_fidelity", "retained", "fidelity",
                "availability", "critical_visibility_naive", "csv", "png"):  # fmt: skip
        assert key in obj
    assert obj["p"] == [0.2]
    assert np.asarray(obj["retained"]).shape == (1, 4, 3)
    assert obj["critical_fidelity"][0] == pytest.approx((3 * obj["critical_visibility"][0] + 1) / 4)
    csv_lines = open(obj["csv"]).read().splitlines()
    assert csv_lines[0].startswith("p,fidelity,visibility,availability,retained")
    assert len(csv_lines) == 1 + 4 * 3
    assert open(obj["png"], "rb").read(8) == b"\x89PNG\r\n\x1a\n"
    assert not [f for f in tmp_path.iterdir() if f.name.endswith(".tmp")]

    bad = runner.invoke(app, ["thresholds", "--p", "0.7", "--out", str(tmp_path)])
    assert bad.exit_code == 2
    assert bad.stderr == "error: --p = 0.7 is out of range: allowed (0, 0.5)\n"
    bad = runner.invoke(app, ["thresholds", "--quadrature-points", "1000", "--p", "0.2"])
    assert bad.stderr == "error: --quadrature-points = 1000 is out of range: allowed [2, 400]\n"
    bad = runner.invoke(app, ["thresholds", "--fidelity-min", "0.1", "--out", str(tmp_path)])
    assert bad.exit_code == 2
    assert "--fidelity-min" in bad.stderr


def test_quantum_curve_isotropic_tensor_is_the_n1_image(ref):
    """quantum_curve(T = η·I) is the exact image (N1) of the ideal frontier, no re-run."""
    curve = th.quantum_curve(ref, 0.9 * np.eye(2))
    np.testing.assert_array_equal(curve.payoff, 0.9 * ref.quantum_payoff)
    np.testing.assert_allclose(curve.p, 0.5 * (1 - 0.9 * (1 - 2 * ref.quantum_p)), atol=1e-15)
    a = th.noise_aware_strategy(ref, 0.2, 0.9, 0.7)
    b = th.noise_aware_strategy(ref, 0.2, availability=0.7, curve=curve)
    assert a.payoff == b.payoff


def test_dephased_pair_noise_aware_mix_matches_adaptive_quadrature_and_monte_carlo(ref):
    """A pair dephased in memory (v = 0.99, both halves stored 50 ms at T2 = 1 s:
    T = diag(0.99, 0.99 e^{-0.1})) is anisotropic, so the angles are re-optimized on T.
    Each quantum component's payoff and p, re-evaluated on T by adaptive quadrature, are
    what the mix claims (1e-6); 1e6 seeded decisions of the whole mix (a = 0.8) give its
    payoff and p within 99 % CIs; and the mix beats the certified classical envelope while
    the isotropic pair at the weaker visibility 0.99 e^{-0.1} (a local channel away) does
    no better than it (1e-4: the two use different p grids of exhibited strategies)."""
    from qnet.games.routing.quantum import adaptive_evaluation

    pair = stored_pair(0.99, 0.05, 0.05, None, 1.0, None, 1.0)
    assert pair.xx == pytest.approx(0.99 * math.exp(-0.1), abs=1e-15)
    curve = th.quantum_curve(ref, pair.tensor, restarts=2)
    mix = th.noise_aware_strategy(ref, 0.25, availability=0.8, curve=curve)
    assert mix.p == pytest.approx(0.25, abs=1e-12)
    quantum = [c for c in mix.with_pair if c.kind == "quantum"]
    assert quantum and all(c.ideal_splitting_probability is None for c in quantum)
    for c in quantum:
        check = adaptive_evaluation(c.strategy, PARAMS, pair.tensor)
        assert check.payoff == pytest.approx(c.payoff, abs=1e-6)
        assert check.splitting_probability == pytest.approx(c.splitting_probability, abs=1e-6)
    rng = np.random.default_rng(np.random.SeedSequence(7_2026))
    pay, split, _ = _simulate(mix, 1_000_000, rng)
    se = pay.std(ddof=1) / math.sqrt(pay.size)
    assert abs(pay.mean() - mix.payoff) < 2.576 * se, (pay.mean(), mix.payoff, se)
    assert abs(split.mean() - mix.p) < 2.576 * math.sqrt(mix.p * (1 - mix.p) / split.size)
    assert mix.payoff > ref.certified_envelope(0.25)
    weaker = th.noise_aware_strategy(ref, 0.25, pair.xx, 0.8)
    assert weaker.payoff <= mix.payoff + 1e-4


def test_cli_thresholds_quantum_family_and_lowest_critical_fidelity(tmp_path):
    """`--quantum optimal` (default) and `--quantum polynomial`: the line family needs no
    higher a fidelity than the paper's polynomials at any p (it contains a better strategy at
    every p'', and noise maps both alike, eq. N1), strictly lower at p = 0.1; the JSON names
    the family and the p of the lowest F_c, which the text table prints."""
    from qnet.cli.app import app

    runner = CliRunner()
    base = [
        "thresholds", "--p", "0.1", "--p", "0.2", "--p", "0.3", "--restarts", "2",
        "--quantum-step", "0.05", "--fidelity-points", "2", "--availability-points", "2",
        "--out", str(tmp_path), "--no-plot",
    ]  # fmt: skip
    obj = {}
    for fam in ("optimal", "polynomial"):
        res = runner.invoke(app, [*base, "--quantum", fam, "--json"])
        assert res.exit_code == 0, res.output
        obj[fam] = json.loads(res.stdout)
        assert obj[fam]["quantum_family"] == fam
        fc = np.asarray(obj[fam]["critical_fidelity"], dtype=float)
        low = obj[fam]["lowest_critical_fidelity"]
        assert low["fidelity"] == np.nanmin(fc)
        assert low["p"] == obj[fam]["p"][int(np.nanargmin(fc))]
        assert low["fidelity"] == pytest.approx((3 * low["visibility"] + 1) / 4)
    fc_opt = np.asarray(obj["optimal"]["critical_fidelity"], dtype=float)
    fc_poly = np.asarray(obj["polynomial"]["critical_fidelity"], dtype=float)
    assert np.all(fc_opt <= fc_poly + 1e-6)
    assert fc_opt[0] < fc_poly[0] - 0.005
    assert obj["optimal"]["csv"] != obj["polynomial"]["csv"]
    text = runner.invoke(app, base)
    assert text.exit_code == 0, text.output
    low = obj["optimal"]["lowest_critical_fidelity"]
    assert f"lowest critical fidelity: F_c = {low['fidelity']:.4f}" in text.stdout
    assert "optimal quantum strategies" in text.stdout
    bad = runner.invoke(app, ["thresholds", "--quantum", "best", "--p", "0.2"])
    assert bad.exit_code == 2
    assert "--quantum" in bad.stderr
