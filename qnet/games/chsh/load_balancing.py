"""Slotted-time simulation of N paired load balancers routing C/E tasks to M servers.

The model (issue 14, HotNets'25 Sec. 4.1): every step each of the N balancers gets a C or
E task with probability ½. Each of the N/2 pairs draws a uniform ordered pair of distinct
servers (s1, s2); A goes to s1; B goes to s1 with probability p_same(x_a, x_b) of the
pair's strategy, otherwise to s2 (uniform over the other M − 1). A quantum pair is
missing with probability 1 − a; it then routes randomly (p_same = 1/M). A strategy may
instead carry per-step decisions (a real link's measured pairs, :mod:`qnet.runs.chsh_links`):
same or different server where a pair was measured, the random fallback where none was.
Each server then serves one slot: C-first serves min(2, #C) C tasks if any are queued, else one E;
E-first serves one E if any, else up to two C. The metric is the backlog left per server
after service, averaged over servers and over the steps after the warm-up, one value per
replication; the knee is the N/M where it first exceeds L* (log-linear interpolation).

All replications, strategies, disciplines and loads run in one vectorized state
(common random numbers: the tasks, server draws and same/different uniforms are shared,
so differences between strategies carry less noise than each curve).
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np
from scipy import stats

from qnet.games.chsh.tables import Strategy

__all__ = [
    "DISCIPLINES",
    "LoadBalancingConfig",
    "LoadBalancingResult",
    "knee_loads",
    "mean_ci95",
    "simulate",
    "task_inputs",
]

#: Server disciplines: C-first (the paper's), E-first (its footnote 2).
DISCIPLINES: tuple[str, ...] = ("c-first", "e-first")
_BLOCK = 64  # steps of random numbers drawn per generator call


@dataclass(frozen=True)
class LoadBalancingConfig:
    """Size of one load-balancing experiment.

    Attributes:
        balancers: N (even, ≥ 2), fixed; the load N/M is swept through M.
        loads: target N/M values; M = round(N / load) (≥ 3), the realized N/M is reported.
        steps, warmup: slotted steps per replication and the leading ones discarded.
        replications: R independent replications (one SeedSequence child each).
        seed: root seed.
        disciplines: which of DISCIPLINES to run.
    """

    balancers: int = 100
    loads: tuple[float, ...] = tuple(np.round(np.arange(0.6, 1.601, 0.05), 3))
    steps: int = 5000
    warmup: int = 1000
    replications: int = 12
    seed: int = 0
    disciplines: tuple[str, ...] = DISCIPLINES

    def __post_init__(self) -> None:
        if self.balancers < 2 or self.balancers % 2:
            raise ValueError(f"balancers = {self.balancers} is out of range: allowed even >= 2")
        if not self.loads or not all(math.isfinite(x) and x > 0 for x in self.loads):
            raise ValueError(f"loads = {self.loads!r} is out of range: allowed N/M > 0")
        if not 0 <= self.warmup < self.steps:
            raise ValueError(
                f"warmup = {self.warmup} is out of range: allowed [0, steps = {self.steps})"
            )
        if self.replications < 2:
            raise ValueError(f"replications = {self.replications} is out of range: allowed >= 2")
        if self.seed < 0:
            raise ValueError(f"seed = {self.seed} is out of range: allowed >= 0")
        bad = [d for d in self.disciplines if d not in DISCIPLINES]
        if bad or not self.disciplines:
            raise ValueError(f"disciplines = {self.disciplines!r}: allowed {DISCIPLINES}")
        if max(self.loads) > self.balancers / 3:
            raise ValueError(
                f"loads: N/M = {max(self.loads):g} is out of range: allowed <= N/3 "
                f"= {self.balancers / 3:g} (M >= 3 servers)"
            )

    def servers(self) -> np.ndarray:
        """M per load, unique and sorted by increasing N/M."""
        m = {max(3, int(round(self.balancers / x))) for x in self.loads}
        return np.array(sorted(m, reverse=True), dtype=np.int64)


@dataclass(frozen=True)
class LoadBalancingResult:
    """Per-replication means of one experiment.

    Attributes:
        loads: realized N/M per load index (increasing).
        servers: M per load index.
        strategies, disciplines: labels of axes 1 and 2.
        backlog: [R, S, D, L] mean backlog per server after service, after the warm-up.
        busy_c, busy_e: [R, S, D, L] fraction of server-steps serving C tasks / an E task.
    """

    loads: np.ndarray
    servers: np.ndarray
    strategies: tuple[str, ...]
    disciplines: tuple[str, ...]
    backlog: np.ndarray
    busy_c: np.ndarray
    busy_e: np.ndarray


def _step_uniforms(config: LoadBalancingConfig) -> Iterator[np.ndarray]:
    """Per step, the [R, 6, P] uniforms of every replication: C/E of A and B, s1, same, s2,
    availability (drawn in blocks of _BLOCK steps from one generator per replication)."""
    gens = [
        np.random.Generator(np.random.PCG64(c))
        for c in np.random.SeedSequence(config.seed).spawn(config.replications)
    ]
    n_p = config.balancers // 2
    blk = np.empty(0)
    for t in range(config.steps):
        if t % _BLOCK == 0:
            blk = np.stack([g.random((_BLOCK, 6, n_p)) for g in gens], axis=1)
        yield blk[t % _BLOCK]


def task_inputs(config: LoadBalancingConfig) -> tuple[np.ndarray, np.ndarray]:
    """The tasks x_a, x_b [R, steps, P] (1 = C) that :func:`simulate` draws for ``config``."""
    shape = (config.replications, config.steps, config.balancers // 2)
    xa, xb = np.empty(shape, np.int8), np.empty(shape, np.int8)
    for t, u in enumerate(_step_uniforms(config)):
        xa[:, t], xb[:, t] = u[:, 0] < 0.5, u[:, 1] < 0.5
    return xa, xb


def _check_decisions(config: LoadBalancingConfig, strategies: Sequence[Strategy]) -> list[int]:
    """Indices of the strategies that carry per-step decisions, after checking their shape."""
    shape = (config.replications, config.steps, config.balancers // 2)
    out = []
    for i, s in enumerate(strategies):
        if s.decisions is not None:
            if s.decisions.shape != shape:
                raise ValueError(
                    f"decisions of {s.name!r} have shape {s.decisions.shape}: expected "
                    f"(replications, steps, pairs) = {shape}"
                )
            out.append(i)
    return out


def simulate(config: LoadBalancingConfig, strategies: Sequence[Strategy]) -> LoadBalancingResult:
    """Run every strategy × discipline × load × replication on common random numbers.

    A strategy with ``decisions`` routes by them (1 same server, 0 different, −1 random
    fallback on the shared same/different uniform); the others by their table.
    """
    if not strategies:
        raise ValueError("strategies must name at least one strategy")
    linked = _check_decisions(config, strategies)
    m = config.servers()
    n_l = len(m)
    n_r, n_s, n_d = config.replications, len(strategies), len(config.disciplines)
    base = np.concatenate(([0], np.cumsum(m)[:-1]))
    m_tot = int(m.sum())
    # Strategy tables [S, 2, 2]; random and linked strategies get availability 0.
    tables = np.stack([s.table if s.table is not None else np.zeros((2, 2)) for s in strategies])
    avail = np.array(
        [s.availability if s.table is not None else 0.0 for s in strategies], dtype=float
    )
    avail[linked] = 0.0
    e_first = np.array([d == "e-first" for d in config.disciplines])[:, None]
    mf = m.astype(float)[None, None, :, None]  # [1, 1, L, 1]
    offset = (np.arange(n_r * n_s)[:, None] * m_tot + base[None, :]).reshape(n_r, n_s, n_l, 1)
    size = n_r * n_s * m_tot
    qc = np.zeros((n_d, size), np.int32)
    qe = np.zeros((n_d, size), np.int32)
    acc = np.zeros((n_d, size), np.int64)
    busy_c = np.zeros((n_d, size), np.int32)
    busy_e = np.zeros((n_d, size), np.int32)
    m_b = m[None, None, :, None]
    offset2 = 2 * offset
    for t, u in enumerate(_step_uniforms(config)):  # u: [R, 6, P]
        xa, xb = (u[:, 0] < 0.5).astype(np.int64), (u[:, 1] < 0.5).astype(np.int64)  # 1 = C
        s1 = (u[:, 2][:, None, None, :] * mf).astype(np.int64)  # [R, 1, L, P]
        s2 = (s1 + 1 + (u[:, 4][:, None, None, :] * (mf - 1)).astype(np.int64)) % m_b
        p_tab = tables[:, xa, xb].transpose(1, 0, 2)  # [R, S, P]
        use = u[:, 5][:, None, :] < avail[None, :, None]
        p = np.where(use[:, :, None, :], p_tab[:, :, None, :], 1.0 / mf)  # [R, S, L, P]
        same = u[:, 3][:, None, None, :] < p
        for i in linked:
            d = strategies[i].decisions[:, t][:, None, :]  # [R, 1, P]
            same[:, i] = np.where(d >= 0, d == 1, same[:, i])
        # task key 2·(global server) + (1 if C): one bincount counts both types
        key_a = 2 * s1 + xa[:, None, None, :] + offset2
        key_b = 2 * np.where(same, s1, s2) + xb[:, None, None, :] + offset2
        counts = np.bincount(
            np.concatenate((np.broadcast_to(key_a, same.shape).ravel(), key_b.ravel())),
            minlength=2 * size,
        ).reshape(size, 2)
        qe += counts[:, 0].astype(np.int32)
        qc += counts[:, 1].astype(np.int32)
        has_e = qe > 0
        serve_e = np.where(e_first, has_e, has_e & (qc == 0))
        serve_c = np.where(e_first & has_e, 0, np.minimum(qc, 2))
        qc -= serve_c
        qe -= serve_e
        if t >= config.warmup:
            acc += qc
            acc += qe
            busy_c += serve_c > 0
            busy_e += serve_e
    kept = config.steps - config.warmup

    def per_load(x: np.ndarray) -> np.ndarray:
        sums = np.add.reduceat(x.reshape(n_d, n_r, n_s, m_tot), base, axis=3)
        return (sums / (m[None, None, None, :] * kept)).transpose(1, 2, 0, 3)

    return LoadBalancingResult(
        loads=config.balancers / m,
        servers=m,
        strategies=tuple(s.name for s in strategies),
        disciplines=tuple(config.disciplines),
        backlog=per_load(acc),
        busy_c=per_load(busy_c),
        busy_e=per_load(busy_e),
    )


def knee_loads(loads: np.ndarray, backlog: np.ndarray, level: float) -> np.ndarray:
    """First N/M where backlog exceeds ``level``, log-linear between swept loads, per curve.

    ``backlog`` has the load on its last axis; NaN where the curve starts above the level or
    never reaches it within the swept loads.
    """
    if not (math.isfinite(level) and level > 0):
        raise ValueError(f"level = {level!r} is out of range: allowed > 0")
    b = np.maximum(np.asarray(backlog, dtype=float), 1e-300)
    above = b > level
    first = np.argmax(above, axis=-1)
    found = above.any(axis=-1) & (first > 0)
    i = np.clip(first, 1, b.shape[-1] - 1)
    lo = np.take_along_axis(b, (i - 1)[..., None], -1)[..., 0]
    hi = np.take_along_axis(b, i[..., None], -1)[..., 0]
    with np.errstate(divide="ignore", invalid="ignore"):
        frac = (math.log(level) - np.log(lo)) / (np.log(hi) - np.log(lo))
    knee = loads[i - 1] + frac * (loads[i] - loads[i - 1])
    return np.where(found, knee, np.nan)


def mean_ci95(values: np.ndarray, axis: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Mean and 95 % Student-t half-width over replications (axis ``axis``)."""
    v = np.asarray(values, dtype=float)
    n = v.shape[axis]
    half = stats.t.ppf(0.975, n - 1) * v.std(axis=axis, ddof=1) / math.sqrt(n)
    return v.mean(axis=axis), half
