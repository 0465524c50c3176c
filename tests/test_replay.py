"""Queue replay (qnet.queues.replay) against closed forms of the two-server model (paper App. A)."""

from __future__ import annotations

import numpy as np
import pytest

from qnet.estimators import batch_means, ratio_batch_means
from qnet.queues.replay import power_work, replay_queue, warmup_work

LAM, MU, ALPHA = 0.8, 1.0, 0.5


def _traffic(n: int, seed: int) -> tuple[np.ndarray, ...]:
    rng = np.random.default_rng(np.random.SeedSequence(seed))
    t = np.cumsum(rng.exponential(1 / LAM, n))
    x1 = rng.exponential(1 / MU, n)
    x2 = rng.exponential(1 / MU, n)
    o_a = rng.choice(np.array([-1, 1]), n)
    first = rng.random(n) < 0.5
    return t, x1, x2, o_a, first


def test_hand_worked_example() -> None:
    """Three pairs, worked by hand.

    Pair 0 at t=0 split (A->+1 with x1=2, B->-1 with x2=1): both wait 0.
    Pair 1 at t=1 bunched on +1, A first: server +1 still has 1 unit of pair 0's work, so
    A waits 1, B waits 1 + x1 = 1 + 3 = 4.
    Pair 2 at t=10 bunched on -1, B first: server -1 idle since t=1, so B waits 0 and A
    waits x2 = 0.5.
    """
    t = np.array([0.0, 1.0, 10.0])
    x1 = np.array([2.0, 3.0, 1.0])
    x2 = np.array([1.0, 2.0, 0.5])
    r = replay_queue(
        t,
        x1,
        x2,
        np.array([1, 1, -1]),
        np.array([-1, 1, -1]),
        first_is_a=np.array([True, True, False]),
        baseline_work=lambda i: i,
    )
    assert r.wait_a.tolist() == [0.0, 1.0, 0.5]
    assert r.wait_b.tolist() == [0.0, 4.0, 0.0]
    # Only server -1 receives a batch at pair 2, ending its idle period (1, 10]; server
    # +1's idle period from t=6 has not ended yet and is not credited.
    assert r.idle_work.tolist() == [0.0, 0.0, 9.0]
    assert r.split.tolist() == [True, False, False]


@pytest.mark.parametrize(
    ("policy", "expected"),
    [
        # Always split, random server: each server is M/M/1 with rate lam, so
        # Wq = rho/(mu - lam) = 0.8/0.2 = 4.0.
        ("split", 4.0),
        # Always bunch (r = 0) in A12: lam E[S^2]/(4(1-rho)) + E[S]/4 with E[S^2] = 6,
        # E[S] = 2: 0.8*6/0.8 + 0.5 = 6.5.
        ("bunch", 6.5),
    ],
)
def test_mean_wait_matches_closed_form(policy: str, expected: float) -> None:
    """Replay Wq within its batch-means 99 % CI of the closed form (fails ~1 % by chance).

    400k pairs, first 20k discarded as warm-up (the queue starts empty).
    """
    t, x1, x2, o_a, first = _traffic(400_000, seed=11 if policy == "split" else 12)
    o_b = -o_a if policy == "split" else o_a
    r = replay_queue(t, x1, x2, o_a, o_b, first_is_a=first)
    est = batch_means(r.pair_wait[20_000:], batches=20)
    assert est.contains(expected, level=0.99), (est, expected)
    # The CI is informative: a 5 % wrong formula would be outside it.
    assert est.ci95 < 0.05 * expected


@pytest.mark.parametrize("split_share", [0.0, 0.3, 1.0])
def test_warmup_throughput_matches_eq10(split_share: float) -> None:
    """Baseline throughput per server from replayed idle periods vs eq. 10.

    T(p) = phi_max (1-rho) 2 alpha / (lam (1+p) + 2 alpha); it depends on p only, so a
    random split with probability p must reproduce it. Ratio estimator, batch-means 99 % CI.
    """
    n = 300_000
    t, x1, x2, o_a, first = _traffic(n, seed=21)
    rng = np.random.default_rng(np.random.SeedSequence(22))
    split = rng.random(n) < split_share
    o_b = np.where(split, -o_a, o_a)
    r = replay_queue(t, x1, x2, o_a, o_b, first_is_a=first, baseline_work=warmup_work(ALPHA))
    p = r.split.mean()
    dt = np.diff(t, prepend=0.0)
    est = ratio_batch_means(r.idle_work[10_000:] / 2, dt[10_000:], batches=20)
    expected = (1 - LAM / MU) * 2 * ALPHA / (LAM * (1 + p) + 2 * ALPHA)
    assert est.contains(expected, level=0.99), (est, expected)


def test_power_work_and_validation() -> None:
    """T(t) = t^2 on known idles; bad parameters name themselves."""
    assert power_work(2.0)(np.array([3.0])).tolist() == [9.0]
    w = warmup_work(0.5, phi_max=2.0)(np.array([0.0, 1e9]))
    assert w[0] == 0.0 and w[1] == pytest.approx(2.0 * (1e9 - 2.0))
    with pytest.raises(ValueError, match="k = 1.0"):
        power_work(1.0)
    with pytest.raises(ValueError, match="alpha"):
        warmup_work(0.0)
    with pytest.raises(ValueError, match="non-decreasing"):
        replay_queue(
            np.array([1.0, 0.0]),
            np.ones(2),
            np.ones(2),
            np.ones(2),
            np.ones(2),
            first_is_a=np.ones(2, bool),
        )
    with pytest.raises(ValueError, match=r"o_b: expected shape \(2,\)"):
        replay_queue(
            np.zeros(2), np.ones(2), np.ones(2), np.ones(2), np.ones(3), first_is_a=np.ones(2)
        )


@pytest.mark.parametrize("policy", ["oracle", "classical"])
def test_a12_mean_wait_against_replay(policy: str) -> None:
    """Issue-3 cross-check: A12 (qnet.queues.model.mean_wait) vs the vectorized replay at p=0.2.

    1.2e6 seeded pairs, 50k warm-up, batch-means 99 % CI (fails ~1 % by chance per case).
    Oracle: split iff w > tau_p, moments from qnet.games.routing.oracle; classical: the envelope's
    mixture at p = 0.2 with a shared flip bit, whose wait is C - (E[w] + A_cl)/2 (A16/B4).
    The two predictions differ by (A* - A_cl)/2 = 0.36, several CIs, so the test also
    tells the policies apart. (Seeds 31/32 gave z = +0.6 / -2.9 for the classical case;
    six further seeds gave |z| < 1.7, so the -2.9 was chance, not bias.)
    """
    from qnet.games.routing.mixture import classical_mixture
    from qnet.games.routing.oracle import oracle_policy_moments
    from qnet.queues.model import SystemParams, mean_wait, mean_wait_from_payoff, splitting_benefit

    params = SystemParams(lam=LAM, mu=MU, alpha=ALPHA)
    n = 1_200_000
    t, x1, x2, o_a, first = _traffic(n, seed=41 if policy == "oracle" else 42)
    if policy == "oracle":
        from qnet.games.routing.oracle import oracle_threshold

        split = splitting_benefit(x1, x2, params) > oracle_threshold(0.2, params)
        o_b = np.where(split, -o_a, o_a)
        _, e_rx1x2, e_rs = oracle_policy_moments(0.2, params)
        expected = mean_wait(params, e_rx1x2, e_rs)
    else:
        mix = classical_mixture(0.2, params)
        rng = np.random.default_rng(np.random.SeedSequence(33))
        o_a, o_b = mix.outputs(x1, x2, rng.random(n), rng.random(n))
        expected = mean_wait_from_payoff(mix.payoff, params)
    r = replay_queue(t, x1, x2, o_a, o_b, first_is_a=first)
    assert r.split.mean() == pytest.approx(0.2, abs=0.002)
    est = batch_means(r.pair_wait[50_000:], batches=20)
    assert est.contains(expected, level=0.99), (est, expected)
    assert est.ci95 < 0.2


@pytest.mark.parametrize("chunk", [1, 7, 1000, 4999])
def test_replay_in_chunks_equals_one_replay(chunk: int) -> None:
    """QueueReplayer carries each server's walk, floor and last batch from chunk to chunk:
    the waits and idle work equal one replay of everything, bit for bit."""
    from qnet.queues.replay import QueueReplayer

    rng = np.random.default_rng(11)
    n = 5000
    t = np.cumsum(rng.exponential(1 / 0.8, n))
    x1, x2 = rng.exponential(1.0, (2, n))
    o_a, o_b = np.where(rng.random((2, n)) < 0.5, 1, -1)
    first = rng.random(n) < 0.5
    whole = replay_queue(t, x1, x2, o_a, o_b, first_is_a=first, baseline_work=warmup_work(ALPHA))
    rep = QueueReplayer(warmup_work(ALPHA))
    parts = [
        rep.replay(t[s], x1[s], x2[s], o_a[s], o_b[s], first_is_a=first[s])
        for s in (slice(i, i + chunk) for i in range(0, n, chunk))
    ]
    for field in ("wait_a", "wait_b", "idle_work", "split"):
        got = np.concatenate([getattr(p, field) for p in parts])
        assert np.array_equal(got, getattr(whole, field)), field
    assert whole.wait_a.max() > 5.0  # the queue did build up across chunk boundaries
    with pytest.raises(ValueError, match="non-decreasing"):
        rep.replay(t[:1], x1[:1], x2[:1], o_a[:1], o_b[:1], first_is_a=first[:1])
