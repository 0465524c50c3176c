"""Vectorized replay of routing decisions through the two-server FCFS queue (paper App. A 1).

The routers never see queue state, so the queue is replayed *after* the decisions. Each
server receives batches (one customer when the pair is split, both when it is bunched to
this server); its virtual waiting time obeys the Lindley recursion, computed as a cumulative
sum and a running minimum::

    V_k = max(0, V_{k-1} + B_{k-1} − (t_k − t_{k-1})),
    S_k = Σ_{j≤k} (B_{j-1} − Δt_j),       V_k = S_k − min(0, min_{j≤k} S_j)

Within a bunched batch the order is a fair bit per decision, so the second customer waits
``V_k`` plus its partner's service time. The baseline task earns ``T(I)`` in each idle
period I (warm-up eq. 8 or ``T(t) = t^k``), so baseline throughput (eq. A25) is measured
from the replay. Times may be in any unit (the runner uses units of ``1/mu``).

Examples:
    >>> import numpy as np
    >>> t = np.array([0.0, 1.0]); x = np.array([2.0, 1.0]); y = np.array([1.0, 1.0])
    >>> r = replay_queue(t, x, y, np.array([1, 1]), np.array([-1, 1]),
    ...                  first_is_a=np.array([True, True]))
    >>> r.wait_a.tolist(), r.wait_b.tolist()   # 2nd pair is bunched behind 1 unit of work
    ([0.0, 1.0], [0.0, 2.0])
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

__all__ = [
    "BaselineWork",
    "QueueReplay",
    "QueueReplayer",
    "ServerState",
    "power_work",
    "replay_queue",
    "warmup_work",
]

BaselineWork = Callable[[np.ndarray], np.ndarray]
"""Baseline work ``T(I)`` done in idle periods of lengths ``I`` (vectorized)."""


def warmup_work(alpha: float, phi_max: float = 1.0) -> BaselineWork:
    """Warm-up baseline work T(t) = phi_max (t - (1 - e^{-alpha t})/alpha) (paper eq. 8)."""
    if not alpha > 0:
        raise ValueError(f"alpha = {alpha!r}: warm-up rate must be > 0")
    if not phi_max > 0:
        raise ValueError(f"phi_max = {phi_max!r}: must be > 0")

    def work(idle: np.ndarray) -> np.ndarray:
        return phi_max * (idle + np.expm1(-alpha * idle) / alpha)

    return work


def power_work(k: float) -> BaselineWork:
    """Convex baseline work T(t) = t^k, k > 1 (the workshop version's model)."""
    if not k > 1:
        raise ValueError(f"k = {k!r}: exponent of T(t)=t^k must be > 1")

    def work(idle: np.ndarray) -> np.ndarray:
        return np.power(idle, k)

    return work


@dataclass(frozen=True)
class QueueReplay:
    """Per-decision output of one replay (arrays of the log's length, times in input units).

    Attributes:
        wait_a: queueing wait of the customer that arrived at router A.
        wait_b: queueing wait of the customer that arrived at router B.
        idle_work: baseline work ``T(I)`` of the idle periods that ended at this
            decision's arrival (summed over both servers; 0 when both were busy).
        split: True where the pair was split (o_A o_B = -1).
    """

    wait_a: np.ndarray
    wait_b: np.ndarray
    idle_work: np.ndarray
    split: np.ndarray

    @property
    def pair_wait(self) -> np.ndarray:
        """Mean wait of the pair's two customers; its mean is the customer mean wait Wq."""
        return 0.5 * (self.wait_a + self.wait_b)


@dataclass
class ServerState:
    """Where one server's Lindley walk stands after the batches replayed so far.

    Attributes:
        walk: the unreflected walk S of the last batch (``None``: no batch yet).
        floor: its running minimum, floored at 0.
        t: arrival time of the last batch; ``work``: that batch's total service time.
    """

    walk: float | None = None
    floor: float = 0.0
    t: float = 0.0
    work: float = 0.0


def _server_lindley(
    t: np.ndarray, work: np.ndarray, state: ServerState, start: float = 0.0
) -> tuple[np.ndarray, np.ndarray]:
    """Virtual waits V_k and idle periods I_k before each batch (reflected random walk).

    ``t`` are the batch arrival times (sorted), ``work`` their total service times. The
    server is empty at time ``start`` before its first batch; ``state`` carries the walk
    from the previous chunk and is updated, so that a replay in chunks adds the same
    numbers in the same order as one replay of everything. ``I_k`` is the idle time that
    ends at batch k.
    """
    n = len(t)
    if n == 0:
        return np.zeros(0), np.zeros(0)
    # Increment of the unreflected walk at batch k: work of batch k-1 minus the gap.
    steps = np.empty(n)
    if state.walk is None:
        steps[0] = start - t[0]
    else:
        steps[0] = state.walk + (state.work - (t[0] - state.t))
    steps[1:] = work[:-1] - np.diff(t)
    # S_k: cumulative sum of steps; the reflection adds back the running min below 0.
    walk = np.cumsum(steps)
    floor = np.minimum.accumulate(np.minimum(walk, 0.0))
    if state.walk is not None:
        np.minimum(floor, state.floor, out=floor)
    wait = walk - floor
    # Idle time ending at batch k is how far the walk pushed a fresh minimum below 0.
    idle = np.empty(n)
    idle[0] = (state.floor if state.walk is not None else 0.0) - floor[0]
    idle[1:] = floor[:-1] - floor[1:]
    state.walk, state.floor = float(walk[-1]), float(floor[-1])
    state.t, state.work = float(t[-1]), float(work[-1])
    # Guard tiny negative round-off from the cumulative sums.
    np.maximum(wait, 0.0, out=wait)
    np.maximum(idle, 0.0, out=idle)
    return wait, idle


def replay_queue(
    t: np.ndarray,
    x1: np.ndarray,
    x2: np.ndarray,
    o_a: np.ndarray,
    o_b: np.ndarray,
    *,
    first_is_a: np.ndarray,
    baseline_work: BaselineWork | None = None,
    start: float = 0.0,
) -> QueueReplay:
    """Replay decisions through two FCFS servers with a preemptible baseline task (App. A 1).

    One call replays everything; :class:`QueueReplayer` replays the same decisions in
    chunks with the same result.

    Args:
        t: customer-pair arrival times, non-decreasing.
        x1: service time of router A's customer; ``x2``: router B's.
        o_a: router A's output (+1 / -1, the server it routes to); ``o_b`` router B's.
        first_is_a: within a bunched batch, True when A's customer is served first
            (a fair random bit per decision; reuse the same bits across policies).
        baseline_work: vectorized T(I) for the idle periods (default: none, zeros).
        start: time at which both servers are empty (default 0).

    Returns:
        A :class:`QueueReplay` with per-decision waits and idle-period baseline work.
    """
    return QueueReplayer(baseline_work, start).replay(t, x1, x2, o_a, o_b, first_is_a=first_is_a)


class QueueReplayer:
    """The two servers' state carried from chunk to chunk of a replay (bounded memory).

    ``replay`` on consecutive chunks of the decisions returns, chunk by chunk, exactly
    what :func:`replay_queue` returns for all of them at once.
    """

    def __init__(self, baseline_work: BaselineWork | None = None, start: float = 0.0) -> None:
        self._work, self._start = baseline_work, start
        self._servers = {True: ServerState(), False: ServerState()}
        self._last_t = -np.inf

    def replay(
        self,
        t: np.ndarray,
        x1: np.ndarray,
        x2: np.ndarray,
        o_a: np.ndarray,
        o_b: np.ndarray,
        *,
        first_is_a: np.ndarray,
    ) -> QueueReplay:
        """Replay the next chunk of decisions (arguments as in :func:`replay_queue`)."""
        t = np.asarray(t, dtype=float)
        n = len(t)
        cols = {"x1": x1, "x2": x2, "o_a": o_a, "o_b": o_b, "first_is_a": first_is_a}
        for name, col in cols.items():
            if np.shape(col) != (n,):
                raise ValueError(f"{name}: expected shape ({n},), got {np.shape(col)}")
        if n and (np.any(np.diff(t) < 0) or t[0] < self._last_t):
            raise ValueError("t: arrival times must be non-decreasing")
        x1 = np.asarray(x1, dtype=float)
        x2 = np.asarray(x2, dtype=float)
        a_up = np.asarray(o_a) > 0
        b_up = np.asarray(o_b) > 0
        if not (np.all(np.abs(o_a) == 1) and np.all(np.abs(o_b) == 1)):
            raise ValueError("o_a, o_b: outputs must be +1 or -1")
        first_is_a = np.asarray(first_is_a, dtype=bool)
        bunched = a_up == b_up
        if n:
            self._last_t = float(t[-1])

        wait_a = np.empty(n)
        wait_b = np.empty(n)
        idle_work = np.zeros(n)
        for server_up in (True, False):
            a_here = a_up == server_up
            b_here = b_up == server_up
            idx = np.flatnonzero(a_here | b_here)
            work = x1[idx] * a_here[idx] + x2[idx] * b_here[idx]
            v, idle = _server_lindley(t[idx], work, self._servers[server_up], self._start)
            # Second customer of a bunched batch also waits for its partner.
            both = bunched[idx]
            a_first = first_is_a[idx]
            extra_a = np.where(both & ~a_first, x2[idx], 0.0)
            extra_b = np.where(both & a_first, x1[idx], 0.0)
            sel_a = a_here[idx]
            sel_b = b_here[idx]
            wait_a[idx[sel_a]] = (v + extra_a)[sel_a]
            wait_b[idx[sel_b]] = (v + extra_b)[sel_b]
            if self._work is not None:
                idle_work[idx] += self._work(idle)
        return QueueReplay(wait_a=wait_a, wait_b=wait_b, idle_work=idle_work, split=~bunched)
