"""Tests for qnet.games.xor: classical and quantum (Tsirelson SDP) values of XOR games."""

from __future__ import annotations

import math

import numpy as np
import pytest

from qnet.games.xor import XORGame, classical_bias, tsirelson_sdp

SDP_TOL = 1e-6  # Clarabel's default accuracy (1e-8 gaps) leaves values good to ~1e-7


def test_chsh_values() -> None:
    """CHSH: classical 3/4 exactly (exhaustive), quantum cos²(π/8) = (2 + √2)/4 within 1e-6;
    the optimal vectors are two-dimensional (rank 2: one qubit pair), reproduce the bias, and
    every correlation is ±1/√2 (Tsirelson's optimal strategy)."""
    game = XORGame.chsh()
    assert game.classical_value() == 0.75
    sol = game.quantum_solution()
    assert 0.5 * (1 + sol.value) == pytest.approx(math.cos(math.pi / 8) ** 2, abs=SDP_TOL)
    assert sol.rank == 2
    np.testing.assert_allclose(np.abs(sol.correlations), 1 / math.sqrt(2), atol=1e-5)
    assert float(np.sum(game.bias_matrix * sol.correlations)) == pytest.approx(
        sol.value, abs=SDP_TOL
    )
    ta, tb = sol.angles()
    corr = np.cos(2 * (ta[:, None] - tb[None, :]))  # D30 with the extracted angles
    np.testing.assert_allclose(corr, sol.correlations, atol=1e-9)


def test_classical_bias_brute_force() -> None:
    """Exhaustive search equals the max over all 2^(n+m) sign pairs, and the returned signs
    attain it (a 5 × 3 seeded random matrix; the transposed side is searched)."""
    rng = np.random.default_rng(7)
    g = rng.normal(size=(5, 3))
    signs_a = 1 - 2 * np.array(list(np.ndindex(*(2,) * 5)))
    signs_b = 1 - 2 * np.array(list(np.ndindex(*(2,) * 3)))
    best = float(np.max(signs_a @ g @ signs_b.T))
    val, a, b = classical_bias(g)
    assert val == pytest.approx(best, abs=1e-12)
    assert float(a @ g @ b) == pytest.approx(best, abs=1e-12)


def test_quantum_at_least_classical_and_rank_bounded() -> None:
    """Seeded random games: classical ≤ quantum ≤ the trivial bound Σ|G| (1e-7), and the
    Gram matrix has unit diagonal (1e-7) and is positive semidefinite."""
    rng = np.random.default_rng(11)
    for _ in range(3):
        g = rng.normal(size=(4, 4))
        q = tsirelson_sdp(g)
        c = classical_bias(g)[0]
        assert c <= q.value + 1e-7
        assert q.value <= np.abs(g).sum() + 1e-7
        np.testing.assert_allclose(np.diag(q.gram), 1.0, atol=1e-7)
        assert q.eigenvalues[-1] >= -1e-7


def test_equality_constraint_is_met() -> None:
    """With Σ H⟨u, v⟩ = h the extracted correlations satisfy it (1e-6), and forcing CHSH's
    correlations to average 1 (every answer pair equal) gives bias exactly ½ (the predicate
    x ∧ y loses one of four input pairs)."""
    game = XORGame.chsh()
    sol = tsirelson_sdp(game.bias_matrix, [(np.full((2, 2), 0.25), 1.0)])
    assert sol.value == pytest.approx(0.5, abs=SDP_TOL)
    assert float(np.sum(0.25 * sol.correlations)) == pytest.approx(1.0, abs=1e-6)


def test_toqito_cross_check() -> None:
    """Seeded random XOR games (π Dirichlet, f uniform bits; shapes 2×2, 3×3, 3×4, 4×2):
    classical values agree with toqito's XORGame to 1e-9, quantum values to 2e-5: toqito
    solves the dual SDP with cvxpy's default solver for it (SCS), which is off by 6.7e-6 on
    the 2×2 game (measured against Clarabel, CVXOPT and a 0.25° angle grid, which agree
    with our value to 3e-8)."""
    toqito = pytest.importorskip(
        "toqito.nonlocal_games.xor_game", reason="toqito (test-only dependency) not installed"
    )
    rng = np.random.default_rng(2026)
    for shape in ((2, 2), (3, 3), (3, 4), (4, 2)):
        prob = rng.dirichlet(np.ones(shape[0] * shape[1])).reshape(shape)
        pred = rng.integers(0, 2, size=shape)
        ours = XORGame(prob, pred)
        ref = toqito.XORGame(prob, pred)
        assert ours.classical_value() == pytest.approx(ref.classical_value(), abs=1e-9)
        assert ours.quantum_value() == pytest.approx(ref.quantum_value(), abs=2e-5)


@pytest.mark.parametrize(
    ("prob", "pred", "match"),
    [
        ([[0.5, 0.6], [0.0, 0.0]], [[0, 0], [0, 1]], "prob \\(input distribution\\) must be"),
        ([[0.25] * 2] * 2, [[0, 2], [0, 1]], "pred \\(predicate\\) entries must be 0 or 1"),
        ([[0.25] * 2] * 2, [[0, 1, 1], [0, 1, 1]], "pred has shape \\(2, 3\\), prob has"),
    ],
)
def test_bad_games(prob: list, pred: list, match: str) -> None:
    """Bad input gives one error naming the field."""
    with pytest.raises(ValueError, match=match):
        XORGame(np.array(prob), np.array(pred))


def test_exhaustive_limit() -> None:
    """More than 24 rows on the smaller side is refused with the limit in the message."""
    with pytest.raises(ValueError, match="at most 24 on the smaller side"):
        classical_bias(np.ones((25, 25)))
