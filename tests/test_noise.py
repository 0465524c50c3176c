"""Tests for qnet.physics.noise: every closed form against an explicit density-matrix calculation.

The reference is built independently of the module under test: projectors from the
Ry(-2θ)-then-measure-Z recipe of docs/architecture.md, the Born rule on a 4x4 density
matrix, readout errors as explicit classical flips of the outcome distribution.
Agreement is to 1e-12 (double-precision rounding of a handful of 4x4 products).
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from qnet.physics import noise

ATOL = 1e-12


def _ry(phi: float) -> np.ndarray:
    c, s = math.cos(phi / 2), math.sin(phi / 2)
    return np.array([[c, -s], [s, c]], dtype=complex)


def _projectors(theta: float) -> dict[int, np.ndarray]:
    """Outcome projectors of 'rotate by Ry(-2θ), then measure Z; +1 for |0>'."""
    u = _ry(-2 * theta)
    p0 = np.diag([1, 0]).astype(complex)
    p1 = np.diag([0, 1]).astype(complex)
    return {+1: u.conj().T @ p0 @ u, -1: u.conj().T @ p1 @ u}


def _born_joint(rho: np.ndarray, ta: float, tb: float, ea: float, eb: float) -> dict:
    """P(o_A, o_B) by the Born rule, then independent flips with probabilities e_A, e_B."""
    pa, pb = _projectors(ta), _projectors(tb)
    ideal = {
        (a, b): float(np.real(np.trace(np.kron(pa[a], pb[b]) @ rho)))
        for a in (1, -1)
        for b in (1, -1)
    }
    out = dict.fromkeys(ideal, 0.0)
    for (a, b), prob in ideal.items():
        for fa, qa in ((1, 1 - ea), (-1, ea)):
            for fb, qb in ((1, 1 - eb), (-1, eb)):
                out[(a * fa, b * fb)] += prob * qa * qb
    return out


def _born_correlation(rho, ta, tb, ea=0.0, eb=0.0) -> float:
    joint = _born_joint(rho, ta, tb, ea, eb)
    return sum(a * b * p for (a, b), p in joint.items())


def _random_state(rng: np.random.Generator) -> np.ndarray:
    """Random mixed two-qubit state (Ginibre, rank 4)."""
    g = rng.normal(size=(4, 4)) + 1j * rng.normal(size=(4, 4))
    rho = g @ g.conj().T
    return rho / np.trace(rho)


def _rngs(n: int) -> list[np.random.Generator]:
    return [np.random.default_rng(s) for s in np.random.SeedSequence(20261124).spawn(n)]


def test_bell_state_gives_paper_correlation():
    """Φ+ has T = I and E = cos(2(θ_A − θ_B)) (paper eq. D30); Born rule agrees."""
    rho = noise.bell_state()
    np.testing.assert_allclose(noise.correlation_tensor(rho), np.eye(2), atol=ATOL)
    rng = _rngs(1)[0]
    for ta, tb in rng.uniform(-np.pi, np.pi, size=(20, 2)):
        expected = math.cos(2 * (ta - tb))
        assert noise.correlation(rho, ta, tb) == pytest.approx(expected, abs=ATOL)
        assert _born_correlation(rho, ta, tb) == pytest.approx(expected, abs=ATOL)
    assert noise.fidelity(rho) == pytest.approx(1.0, abs=ATOL)


def test_correlation_matches_born_rule_on_random_states_angles_and_readout():
    """n(θ_A)ᵀ T n(θ_B)·(1−2e_A)(1−2e_B) equals the Born rule with explicit flips."""
    for rng in _rngs(25):
        rho = _random_state(rng)
        ta, tb = rng.uniform(-np.pi, np.pi, size=2)
        ea, eb = rng.uniform(0, 0.5, size=2)
        t = noise.correlation_tensor(rho)
        ref = _born_correlation(rho, ta, tb, ea, eb)
        assert noise.correlation(rho, ta, tb, ea, eb) == pytest.approx(ref, abs=ATOL)
        assert noise.correlation(t, ta, tb, ea, eb) == pytest.approx(ref, abs=ATOL)
        # Marginals: E[o_A] = (1 - 2e_A) n(θ_A)·m_A, from the same joint distribution.
        joint = _born_joint(rho, ta, tb, ea, eb)
        m_a, m_b = noise.marginals(rho)
        n_a = np.array([math.cos(2 * ta), math.sin(2 * ta)])
        n_b = np.array([math.cos(2 * tb), math.sin(2 * tb)])
        e_oa = sum(a * p for (a, _), p in joint.items())
        e_ob = sum(b * p for (_, b), p in joint.items())
        assert e_oa == pytest.approx((1 - 2 * ea) * n_a @ m_a, abs=ATOL)
        assert e_ob == pytest.approx((1 - 2 * eb) * n_b @ m_b, abs=ATOL)


def test_correlation_broadcasts_over_angle_arrays():
    """Vectorized angles give the same numbers as scalar calls."""
    rng = _rngs(1)[0]
    rho = _random_state(rng)
    ta = rng.uniform(0, np.pi, size=(7, 1))
    tb = rng.uniform(0, np.pi, size=(1, 5))
    grid = noise.correlation(rho, ta, tb, 0.03, 0.1)
    assert grid.shape == (7, 5)
    for i in range(7):
        for j in range(5):
            ref = _born_correlation(rho, ta[i, 0], tb[0, j], 0.03, 0.1)
            assert grid[i, j] == pytest.approx(ref, abs=ATOL)


def test_werner_pair_tensor_fidelity_and_conversions():
    """Werner pair: T = v·I, F = (3v+1)/4, v(F(v)) = v."""
    for v in (0.0, 0.3, 1 / 3, 0.81, 1.0):
        rho = noise.werner_state(v)
        np.testing.assert_allclose(noise.correlation_tensor(rho), v * np.eye(2), atol=ATOL)
        assert noise.fidelity(rho) == pytest.approx((3 * v + 1) / 4, abs=ATOL)
        assert noise.fidelity_from_visibility(v) == pytest.approx((3 * v + 1) / 4, abs=ATOL)
        assert noise.visibility_from_fidelity(noise.fidelity_from_visibility(v)) == (
            pytest.approx(v, abs=ATOL)
        )
        m_a, m_b = noise.marginals(rho)
        np.testing.assert_allclose(m_a, 0, atol=ATOL)
        np.testing.assert_allclose(m_b, 0, atol=ATOL)


@pytest.mark.parametrize(
    "maker",
    [
        lambda: noise.dephasing_kraus(0.3, 1.1),
        lambda: noise.amplitude_damping_kraus(0.3, 0.7),
        lambda: noise.depolarizing_kraus(0.3, 0.5),
        lambda: noise.memory_kraus(0.3, 0.7, 1.2),
        lambda: noise.memory_kraus(0.3, 0.7, 1.4, depolarizing_time_s=2.0),
        lambda: noise.memory_kraus(0.3, None, 0.2),
    ],
)
def test_kraus_maps_are_trace_preserving_and_keep_states_physical(maker):
    """Σ K†K = I and a random state stays Hermitian, unit-trace, positive semidefinite."""
    ops = maker()
    total = sum(k.conj().T @ k for k in ops)
    np.testing.assert_allclose(total, np.eye(2), atol=ATOL)
    rho = _random_state(_rngs(1)[0])
    for qubit in (0, 1):
        out = noise.apply_kraus(rho, ops, qubit)
        np.testing.assert_allclose(out, out.conj().T, atol=ATOL)
        assert np.trace(out).real == pytest.approx(1.0, abs=ATOL)
        assert np.linalg.eigvalsh(out).min() > -1e-12


def test_single_qubit_channels_have_the_stated_bloch_action():
    """Dephasing: x,y × e^{-t/T2}. Relaxation: x,y × e^{-t/2T1}, z → 1 − (1 − z)e^{-t/T1}.

    Combined memory: x,y × e^{-t/T2}, z as relaxation. Depolarizing: all × e^{-t/T_dep}.
    """
    t, t1, t2, tdep = 0.4, 0.9, 1.3, 0.6
    bloch0 = np.array([0.3, -0.5, 0.6])

    def act(ops):
        rho = 0.5 * (
            np.eye(2)
            + bloch0[0] * noise.PAULI_X
            + bloch0[1] * noise.PAULI_Y
            + bloch0[2] * noise.PAULI_Z
        )
        out = sum(k @ rho @ k.conj().T for k in ops)
        return np.array(
            [np.trace(out @ s).real for s in (noise.PAULI_X, noise.PAULI_Y, noise.PAULI_Z)]
        )

    c2, c1, d = math.exp(-t / t2), math.exp(-t / (2 * t1)), math.exp(-t / t1)
    np.testing.assert_allclose(
        act(noise.dephasing_kraus(t, t2)), [bloch0[0] * c2, bloch0[1] * c2, bloch0[2]], atol=ATOL
    )
    np.testing.assert_allclose(
        act(noise.amplitude_damping_kraus(t, t1)),
        [bloch0[0] * c1, bloch0[1] * c1, 1 - (1 - bloch0[2]) * d],
        atol=ATOL,
    )
    np.testing.assert_allclose(
        act(noise.memory_kraus(t, t1, t2)),
        [bloch0[0] * c2, bloch0[1] * c2, 1 - (1 - bloch0[2]) * d],
        atol=ATOL,
    )
    np.testing.assert_allclose(
        act(noise.depolarizing_kraus(t, tdep)), bloch0 * math.exp(-t / tdep), atol=ATOL
    )


def test_stored_pair_closed_form_matches_density_matrix_evolution():
    """stored_pair(v, t_A, t_B, ...) = Kraus evolution of the Werner pair, for random inputs:
    tensor, marginals, fidelity, and the Born-rule correlation at random angles."""
    for rng in _rngs(20):
        v = rng.uniform(0, 1)
        ta_s, tb_s = rng.uniform(0, 2, size=2)
        t1a, t1b = rng.uniform(0.2, 3, size=2)
        t2a, t2b = rng.uniform(0.05, 1, size=2) * 2 * np.array([t1a, t1b])
        deps = rng.uniform(0.5, 5, size=2) if rng.uniform() < 0.5 else (None, None)
        closed = noise.stored_pair(v, ta_s, tb_s, t1a, t2a, t1b, t2b, deps[0], deps[1])
        rho = noise.werner_state(v)
        rho = noise.apply_kraus(rho, noise.memory_kraus(ta_s, t1a, t2a, deps[0]), 0)
        rho = noise.apply_kraus(rho, noise.memory_kraus(tb_s, t1b, t2b, deps[1]), 1)
        np.testing.assert_allclose(closed.tensor, noise.correlation_tensor(rho), atol=ATOL)
        m_a, m_b = noise.marginals(rho)
        np.testing.assert_allclose(closed.marginal_a, m_a, atol=ATOL)
        np.testing.assert_allclose(closed.marginal_b, m_b, atol=ATOL)
        assert closed.fidelity == pytest.approx(noise.fidelity(rho), abs=ATOL)
        th_a, th_b = rng.uniform(0, np.pi, size=2)
        ea, eb = rng.uniform(0, 0.2, size=2)
        assert noise.correlation(closed.tensor, th_a, th_b, ea, eb) == pytest.approx(
            _born_correlation(rho, th_a, th_b, ea, eb), abs=ATOL
        )


def test_pure_dephasing_scales_only_xx():
    """No relaxation: ZZ stays v, XX becomes v·e^{-t_A/T2}·e^{-t_B/T2} (architecture note)."""
    pair = noise.stored_pair(0.9, 0.5, 0.25, None, 1.0, None, 1.0)
    assert pair.zz == pytest.approx(0.9, abs=ATOL)
    assert pair.xx == pytest.approx(0.9 * math.exp(-0.75), abs=ATOL)
    assert pair.fidelity == pytest.approx((1 + 2 * 0.9 * math.exp(-0.75) + 0.9) / 4, abs=ATOL)


def test_amplitude_damping_biases_local_marginals():
    """Relaxation leaves <Z_A> = γ_A ≠ 0: P(o_A=+1|θ=0) = (1+γ_A)/2 by the Born rule."""
    t, t1 = 0.5, 1.0
    gamma = 1 - math.exp(-t / t1)
    rho = noise.apply_kraus(noise.bell_state(), noise.amplitude_damping_kraus(t, t1), 0)
    joint = _born_joint(rho, 0.0, 0.3, 0.0, 0.0)
    assert joint[(1, 1)] + joint[(1, -1)] == pytest.approx((1 + gamma) / 2, abs=ATOL)
    assert noise.stored_pair(1.0, t, 0.0, t1).marginal_a[0] == pytest.approx(gamma, abs=ATOL)


def test_availability_mix_is_linear():
    """A_mix = a·A_qu + (1−a)·A_cl and p_mix likewise; a=1 and a=0 give the endpoints."""
    assert noise.availability_mix(1.0, 0.5, 0.2, 0.1, 0.3) == pytest.approx((0.5, 0.2))
    assert noise.availability_mix(0.0, 0.5, 0.2, 0.1, 0.3) == pytest.approx((0.1, 0.3))
    assert noise.availability_mix(0.25, 0.5, 0.2, 0.1, 0.3) == pytest.approx((0.2, 0.275))


def test_bad_inputs_give_one_clear_error():
    """Each error names the parameter and its allowed range."""
    with pytest.raises(ValueError, match=r"t2_s = 3 s exceeds 2\*t1_s = 2 s"):
        noise.memory_kraus(0.1, 1.0, 3.0)
    with pytest.raises(ValueError, match=r"T2 <= 2 T1"):
        noise.stored_pair(1.0, 0.1, 0.1, 1.0, 2.5)
    with pytest.raises(ValueError, match=r"visibility must be in \[0, 1\]"):
        noise.werner_state(1.2)
    with pytest.raises(ValueError, match=r"fidelity must be in \[0.25, 1\]"):
        noise.visibility_from_fidelity(0.2)
    with pytest.raises(ValueError, match=r"readout_error_a must be in \[0, 0.5\]"):
        noise.correlation(np.eye(2), 0.0, 0.0, readout_error_a=0.7)
    with pytest.raises(ValueError, match=r"t_s must be a finite time >= 0"):
        noise.dephasing_kraus(-1.0, 1.0)
    with pytest.raises(ValueError, match=r"t1_s must be > 0"):
        noise.amplitude_damping_kraus(1.0, 0.0)
    with pytest.raises(ValueError, match=r"qubit must be 0 \(router A\) or 1"):
        noise.apply_kraus(noise.bell_state(), noise.dephasing_kraus(0.1, 1.0), 2)
    with pytest.raises(ValueError, match=r"rho must be a 4x4"):
        noise.fidelity(np.eye(2))
    with pytest.raises(ValueError, match=r"availability must be in \[0, 1\]"):
        noise.availability_mix(1.5, 0, 0, 0, 0)
    with pytest.raises(ValueError, match=r"trace preserving"):
        noise.apply_kraus(noise.bell_state(), [2 * noise.PAULI_I], 0)


def test_t2_omitted_means_relaxation_limited():
    """t2_s=None with T1 given is T2 = 2 T1: XX = v·e^{-t/(2 T1)} for one stored qubit."""
    pair = noise.stored_pair(1.0, 0.6, 0.0, 1.5, None)
    assert pair.xx == pytest.approx(math.exp(-0.6 / 3.0), abs=ATOL)
    ops = noise.memory_kraus(0.6, 1.5, None)
    rho = noise.apply_kraus(noise.bell_state(), ops, 0)
    assert noise.correlation_tensor(rho)[1, 1] == pytest.approx(pair.xx, abs=ATOL)
