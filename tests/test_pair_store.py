"""The pair store's FIFO closed form gives the sequential agreement rule's numbers, bit for bit.

Blocks where every wanting decision finds the oldest stored pair usable are computed in
numpy; the rest steps through the reference loop. Both must agree in every regime:
generation far faster than decisions (closed form throughout), far slower (sequential
throughout), comparable (switching back and forth), with discards, K = 1..4, and pairs
left in store by decisions that do not want one.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import qnet.engines.pair_store as pair_store
from qnet.config import load_scenario
from qnet.engines.analytic import LinkModel, link_model
from qnet.engines.pair_store import PairStore

SCENARIOS = Path(__file__).resolve().parents[1] / "scenarios"


def _model(period_s: float, slots: int, discard_s: float | None, p: float = 0.5) -> LinkModel:
    return LinkModel(
        success_probability=p,
        round_one_pass_probability=min(1.0, 2 * p),
        attempt_fail_s=0.6 * period_s,
        attempt_full_s=period_s,
        herald_delay_a_s=0.1 * period_s,
        herald_delay_b_s=0.3 * period_s,
        photon_delay_a_s=0.0,
        photon_delay_b_s=0.0,
        slots=slots,
        discard_age_s=discard_s,
        selection="oldest",
        visibility=1.0,
    )


def _feed(store: PairStore, t: np.ndarray, wants: np.ndarray, pieces: list[int]) -> tuple:
    parts, i = [], 0
    while i < len(t):
        for m in pieces:
            parts.append(store.supply(t[i : i + m], wants[i : i + m]))
            i += m
    return tuple(np.concatenate(c)[: len(t)] for c in zip(*parts, strict=True))


@pytest.mark.parametrize("slots", [1, 2, 4])
@pytest.mark.parametrize(
    ("period_s", "discard_s"),
    [(1e-4, None), (1e-2, None), (2e-3, None), (2e-3, 4e-3), (1e-4, 1e-3), (0.05, 0.02)],
)
def test_closed_form_equals_the_sequential_rule(
    slots: int, period_s: float, discard_s: float | None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Same used/available/herald arrays and counters as the loop alone, decision rate 1 kHz,
    generation 100x faster, 10x slower and comparable; refills of 64 cross the blocks."""
    monkeypatch.setattr(pair_store, "GENERATION_DRAWS", 64)
    model = _model(period_s, slots, discard_s)
    n = 6000
    rng = np.random.default_rng(slots + int(1e4 * period_s))
    t = np.cumsum(rng.exponential(1e-3, n))
    wants = rng.random(n) < 0.9
    fast = PairStore(model, np.random.default_rng(3), n)
    slow = PairStore(model, np.random.default_rng(3), n, closed_form=False)
    got = _feed(fast, t, wants, [1, 2500, 37, 4000])
    want = _feed(slow, t, wants, [n])
    for a, b in zip(got, want, strict=True):
        assert np.array_equal(a, b, equal_nan=True)
    assert (fast.heralded, fast.discarded) == (slow.heralded, slow.discarded)
    assert want[0].sum() > 50  # pairs were used


@pytest.mark.parametrize("name", ["paper-ideal.toml", "trapped-ion.toml", "workshop-qos.toml"])
def test_closed_form_on_shipped_links(name: str) -> None:
    """The shipped links with the oldest-pair rule: closed form equals the loop."""
    sc = load_scenario(SCENARIOS / name, ["engine.name=analytic", "link.selection=oldest"])
    model = link_model(sc)
    n = 20_000
    rng = np.random.default_rng(11)
    t = np.cumsum(rng.exponential(1.0 / sc.traffic.lam_hz, n))
    wants = rng.random(n) < 0.95
    fast = PairStore(model, np.random.default_rng(5), n)
    slow = PairStore(model, np.random.default_rng(5), n, closed_form=False)
    for a, b in zip(fast.supply(t, wants), slow.supply(t, wants), strict=True):
        assert np.array_equal(a, b, equal_nan=True)
    assert (fast.heralded, fast.discarded) == (slow.heralded, slow.discarded)
