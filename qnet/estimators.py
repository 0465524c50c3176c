"""Estimators with honest uncertainty for autocorrelated queue output (batch means, Lemma 1).

Batch means: the measured series is split into ``b`` contiguous batches whose averages are
treated as independent and normal; the 95 % interval is ``mean ± t_{0.975, b−1} · s_b/√b``
(s_b: standard deviation of the batch means); ratios such as throughput use the delta
method on batch totals. Policies are compared on common random numbers, as batch means of
per-decision differences; alongside, Lemma 1 (``ΔWq = (A* − A)/2``) estimates the same gaps
from the per-decision payoff terms ``−o_A o_B w(x1, x2)``, which carry no queue noise.
Control variates (:func:`control_variate_batch_means`) subtract from a series a fitted
multiple of controls whose means are known exactly, then take batch means of the adjusted
series. Why,
and the measured coverage: docs/statistics.md.

Examples:
    >>> import numpy as np
    >>> e = batch_means(np.arange(100.0), batches=10)
    >>> round(e.mean, 2), e.batches
    (49.5, 10)
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import stats

__all__ = [
    "Estimate",
    "batch_means",
    "PolicyComparison",
    "compare_policies",
    "BatchAccumulator",
    "ControlVariateEstimate",
    "control_variate_batch_means",
    "control_variate_fit",
    "estimate_from_batches",
    "ratio_from_batches",
    "ratio_batch_means",
    "t_quantile",
    "z_score",
]


@dataclass(frozen=True)
class Estimate:
    """A point estimate with its standard error and 95 % confidence half-width.

    Attributes:
        mean: the estimate.
        se: its standard error (batch means; NaN when it cannot be formed).
        ci95: half-width of the 95 % Student-t interval, ``mean +- ci95``.
        batches: number of batches behind the standard error.
    """

    mean: float
    se: float
    ci95: float
    batches: int

    @property
    def low(self) -> float:
        """Lower end of the 95 % interval."""
        return self.mean - self.ci95

    @property
    def high(self) -> float:
        """Upper end of the 95 % interval."""
        return self.mean + self.ci95

    def contains(self, value: float, *, level: float = 0.95) -> bool:
        """Whether ``value`` lies in the Student-t interval at confidence ``level``."""
        if not 0 < level < 1:
            raise ValueError(f"level = {level!r}: allowed range is (0, 1)")
        return bool(abs(value - self.mean) <= t_quantile(level, self.batches) * self.se)

    def scaled(self, factor: float) -> Estimate:
        """The same estimate multiplied by a constant (e.g. a unit conversion)."""
        f = abs(factor)
        return Estimate(self.mean * factor, self.se * f, self.ci95 * f, self.batches)

    def as_dict(self) -> dict[str, float | int | list[float]]:
        """``{"mean", "se", "ci95": [low, high], "batches"}`` for JSON output."""
        return {
            "mean": self.mean,
            "se": self.se,
            "ci95": [self.low, self.high],
            "batches": self.batches,
        }


def t_quantile(level: float, batches: int) -> float:
    """Two-sided Student-t quantile t_{(1+level)/2, b-1} of a batch-means interval (b >= 2).

    The one place the interval quantile is computed: ``ci95`` uses ``level = 0.95`` and
    :meth:`Estimate.contains` its ``level``. One batch has no degrees of freedom; it is
    given one, so that ``contains`` still answers (``ci95`` is NaN there).
    """
    return float(stats.t.ppf(0.5 + level / 2, max(batches - 1, 1)))


def _t_half_width(se: float, batches: int) -> float:
    return t_quantile(0.95, batches) * se if batches > 1 else float("nan")


def batch_means(series: np.ndarray, batches: int) -> Estimate:
    """Mean of a stationary, autocorrelated series with a batch-means 95 % CI.

    Args:
        series: the per-decision measurements (after warm-up), 1-D.
        batches: number of contiguous batches b (>= 2); trailing rows that do not fill
            a batch are dropped from the error estimate but not from the mean.
    """
    x = np.asarray(series, dtype=float)
    if x.ndim != 1 or len(x) == 0:
        raise ValueError("series: expected a non-empty 1-D array")
    if not 2 <= batches <= len(x):
        raise ValueError(f"batches = {batches}: allowed range is [2, {len(x)}]")
    size = len(x) // batches
    means = x[: size * batches].reshape(batches, size).mean(axis=1)
    return estimate_from_batches(means, float(x.mean()))


def estimate_from_batches(means: np.ndarray, mean: float) -> Estimate:
    """The batch-means :class:`Estimate` from the b batch averages and the overall mean."""
    batches = len(means)
    se = float(np.std(means, ddof=1) / np.sqrt(batches))
    return Estimate(mean, se, _t_half_width(se, batches), batches)


def ratio_batch_means(numerator: np.ndarray, denominator: np.ndarray, batches: int) -> Estimate:
    """Ratio of sums sum(num)/sum(den) with a batch-means 95 % CI (delta method).

    Used for rates such as baseline throughput: work per decision over time per decision.
    """
    num = np.asarray(numerator, dtype=float)
    den = np.asarray(denominator, dtype=float)
    if num.shape != den.shape or num.ndim != 1 or len(num) == 0:
        raise ValueError("numerator, denominator: expected non-empty 1-D arrays of equal length")
    if not 2 <= batches <= len(num):
        raise ValueError(f"batches = {batches}: allowed range is [2, {len(num)}]")
    size = len(num) // batches
    nb = num[: size * batches].reshape(batches, size).sum(axis=1)
    db = den[: size * batches].reshape(batches, size).sum(axis=1)
    return ratio_from_batches(nb, db, float(num.sum()), float(den.sum()))


def ratio_from_batches(nb: np.ndarray, db: np.ndarray, num: float, den: float) -> Estimate:
    """Ratio ``num/den`` of two totals with the delta-method CI from their batch totals."""
    batches = len(nb)
    ratio = float(num / den)
    # Delta method on batch totals: residuals nb - ratio * db.
    resid = nb - ratio * db
    se = float(resid.std(ddof=1) / (np.sqrt(batches) * db.mean()))
    return Estimate(ratio, se, _t_half_width(se, batches), batches)


def z_score(value: Estimate, reference: float) -> float:
    """(estimate - reference) / se; NaN when the standard error is zero or undefined."""
    if not np.isfinite(value.se) or value.se == 0:
        return float("nan")
    return float((value.mean - reference) / value.se)


POLICIES = ("quantum", "oracle", "classical")


@dataclass(frozen=True)
class PolicyComparison:
    """Waits and gaps of the measured run against its own oracle and classical baselines.

    All three policies saw the same arrivals, service times and within-batch order bits
    (common random numbers). Times are in the units of the replayed series.

    Attributes:
        wait: mean customer wait Wq per policy ("quantum", "oracle", "classical").
        splitting_probability: achieved p per policy.
        gap_quantum: Wq(quantum) - Wq(oracle), from the queue replay.
        gap_classical: Wq(classical) - Wq(oracle), from the queue replay.
        gap_reduction: gap_classical - gap_quantum = Wq(classical) - Wq(quantum).
        gap_quantum_game: (A* - A_quantum)/2 from per-decision payoffs (Lemma 1).
        gap_classical_game: (A* - A_classical)/2 likewise.
        gap_reduction_game: (A_quantum - A_classical)/2 likewise.
        payoff: game payoff A per policy (eq. 3).
    """

    wait: dict[str, Estimate]
    splitting_probability: dict[str, Estimate]
    gap_quantum: Estimate
    gap_classical: Estimate
    gap_reduction: Estimate
    gap_quantum_game: Estimate
    gap_classical_game: Estimate
    gap_reduction_game: Estimate
    payoff: dict[str, Estimate]


def compare_policies(
    pair_wait: dict[str, np.ndarray],
    split: dict[str, np.ndarray],
    payoff: dict[str, np.ndarray],
    batches: int,
    queue_batches: int | None = None,
) -> PolicyComparison:
    """Gaps to the oracle with batch-means CIs on common-random-number differences (Lemma 1).

    Args:
        pair_wait: per-decision mean wait of the pair's two customers, per policy.
        split: per-decision split indicator, per policy.
        payoff: per-decision payoff terms ``-o_A o_B w`` (:meth:`qnet.games.base.XorGame.score`).
        batches: batches for the per-decision (game payoff, split) intervals.
        queue_batches: batches for the queue-replay waits and gaps (default ``batches``).
            Queue output is correlated over many decisions (at rho = 0.8 the variance of a
            batch mean approaches its long-batch limit only for batches of ~1,000
            decisions), so the runner uses fewer, longer batches there.
    """
    for name, table in (("pair_wait", pair_wait), ("split", split), ("payoff", payoff)):
        missing = set(POLICIES) - set(table)
        if missing:
            raise ValueError(f"{name}: missing policies {sorted(missing)}")
    q, o, c = (np.asarray(pair_wait[k], dtype=float) for k in POLICIES)
    aq, ao, ac = (np.asarray(payoff[k], dtype=float) for k in POLICIES)
    qb = batches if queue_batches is None else queue_batches
    return PolicyComparison(
        wait={k: batch_means(pair_wait[k], qb) for k in POLICIES},
        splitting_probability={k: batch_means(split[k], batches) for k in POLICIES},
        gap_quantum=batch_means(q - o, qb),
        gap_classical=batch_means(c - o, qb),
        gap_reduction=batch_means(c - q, qb),
        gap_quantum_game=batch_means(0.5 * (ao - aq), batches),
        gap_classical_game=batch_means(0.5 * (ao - ac), batches),
        gap_reduction_game=batch_means(0.5 * (aq - ac), batches),
        payoff={k: batch_means(payoff[k], batches) for k in POLICIES},
    )


@dataclass(frozen=True)
class ControlVariateEstimate:
    """A control-variate estimate and what the controls bought.

    Attributes:
        estimate: batch-means estimate of the adjusted series (mean and 95 % CI).
        coefficients: the fitted coefficients beta, one per control.
        variance_reduction: per-observation variance of the series over that of the
            adjusted series (>= 1 up to sampling noise; 1: the controls did not help).
        plain: batch-means estimate of the unadjusted series (same batches).
    """

    estimate: Estimate
    coefficients: np.ndarray
    variance_reduction: float
    plain: Estimate


def control_variate_batch_means(
    series: np.ndarray,
    controls: np.ndarray,
    control_means: np.ndarray,
    batches: int,
) -> ControlVariateEstimate:
    """Mean of ``series`` with control variates of known means, batch-means 95 % CI.

    Adjusted series ``z_i = y_i - beta . (c_i - m)`` with ``beta`` the least-squares fit of
    ``y`` on the controls over all observations; its batch means give the estimate and
    interval. For a fixed ``beta`` the mean of ``z`` is unbiased for E[y] whatever ``y``
    does, because E[c_i] = m exactly, and batch means of ``z`` are as valid as of ``y``.
    Fitting ``beta`` on the same data moves the estimate by ``(beta_hat - beta*) .
    (mean(c) - m)``, a product of two O(n^-1/2) errors, O(1/n), against an O(n^-1/2)
    standard error: the interval is asymptotically that of the fixed-beta estimator (and
    the seeded coverage test in tests/test_control_variates.py measures it).

    Args:
        series: the per-observation measurements y (1-D, length n).
        controls: (n, q) or (n,) control observations c, each with exactly known mean.
        control_means: (q,) the known means m.
        batches: number of contiguous batches (>= 2).
    """
    y = np.asarray(series, dtype=float)
    c = np.asarray(controls, dtype=float)
    if c.ndim == 1:
        c = c[:, None]
    m = np.atleast_1d(np.asarray(control_means, dtype=float))
    if y.ndim != 1 or len(y) == 0:
        raise ValueError("series: expected a non-empty 1-D array")
    if c.ndim != 2 or c.shape[0] != len(y):
        raise ValueError(f"controls: expected shape ({len(y)}, q), got {c.shape}")
    if m.shape != (c.shape[1],):
        raise ValueError(f"control_means: expected {c.shape[1]} values, got {m.shape}")
    if not np.all(np.isfinite(m)) or not np.all(np.isfinite(c)):
        raise ValueError("controls, control_means: expected finite values")
    acc = BatchAccumulator(len(y), batches, 1 + c.shape[1], moments=True)
    acc.add(np.vstack([y, c.T]))
    return acc.control_variate(m)


def control_variate_fit(
    m2: np.ndarray, mean: np.ndarray, batch_means: np.ndarray, control_means: np.ndarray
) -> ControlVariateEstimate:
    """:func:`control_variate_batch_means` from moments of the rows (y, c_1..c_q).

    ``m2``: centred cross-products (q+1, q+1) over all n observations; ``mean``: their
    means (q+1,); ``batch_means``: (b, q+1) batch averages. ``beta`` solves the normal
    equations of the least-squares fit (minimum norm when a control is redundant), and
    the adjusted series' mean, batch means and variance follow linearly from the moments.
    """
    m = np.asarray(control_means, dtype=float)
    beta, *_ = np.linalg.lstsq(m2[1:, 1:], m2[1:, 0], rcond=1e-12)
    plain = estimate_from_batches(batch_means[:, 0], float(mean[0]))
    adjusted = estimate_from_batches(
        batch_means[:, 0] - (batch_means[:, 1:] - m) @ beta,
        float(mean[0] - (mean[1:] - m) @ beta),
    )
    var_y = float(m2[0, 0])
    var_z = float(var_y - 2.0 * beta @ m2[1:, 0] + beta @ m2[1:, 1:] @ beta)
    if var_z > 1e-13 * var_y:
        factor = var_y / var_z
    else:
        factor = float("inf") if var_y > 0 else 1.0
    return ControlVariateEstimate(adjusted, beta, factor, plain)


BLOCK = 1 << 15
"""Decisions per leaf block of :class:`BatchAccumulator` (fixed, so chunking cannot matter)."""


class BatchAccumulator:
    """Batch sums (and centred cross-products) of q series fed in chunks of any size.

    The n observations fall into ``batches`` batches of ``n // batches`` and a trailing
    remainder (in the overall mean, not in the error estimate), as in :func:`batch_means`.
    Each batch is cut into blocks of :data:`BLOCK` observations from its start; a block is
    summed (numpy's pairwise sum) when its last observation arrives, and the block sums
    (cross-products: Chan et al.'s pairwise update) are added in order. The block grid is
    fixed by n and b, so the totals are the same bits whatever the chunks were; memory is
    one block and O(b q^2).

    Args:
        n: observations that will be fed in total.
        batches: number of batches b (2 <= b <= n).
        width: number of series q (rows of each chunk).
        moments: also keep centred cross-products (for :meth:`control_variate`).
    """

    def __init__(self, n: int, batches: int, width: int, *, moments: bool = False) -> None:
        if not 2 <= batches <= n:
            raise ValueError(f"batches = {batches}: allowed range is [2, {n}]")
        size = n // batches
        ends = [size * (i + 1) for i in range(batches)] + [n]
        self._ends, self._n, self._q = ends, n, width
        self._seg, self._pos, self._start = 0, 0, 0
        self._pending: list[np.ndarray] = []
        self.count = np.zeros(batches + 1, dtype=np.int64)
        self.sums = np.zeros((batches + 1, width))
        self._mean = np.zeros((batches + 1, width)) if moments else None
        self._m2 = np.zeros((batches + 1, width, width)) if moments else None

    def add(self, rows: np.ndarray) -> None:
        """Feed the next chunk: ``rows`` of shape (q, m) (or (m,) when q = 1)."""
        rows = np.asarray(rows, dtype=float).reshape(self._q, -1)
        m = rows.shape[1]
        if self._pos + m > self._n:
            raise ValueError(f"rows: {self._pos + m} observations fed, {self._n} expected")
        i = 0
        while i < m:
            while self._pos == self._ends[self._seg] and self._seg < len(self._ends) - 1:
                self._seg += 1
                self._start = self._pos
            end = min(
                self._ends[self._seg],
                self._start + BLOCK * (1 + (self._pos - self._start) // BLOCK),
            )
            take = min(m - i, end - self._pos)
            self._pending.append(rows[:, i : i + take])
            i += take
            self._pos += take
            if self._pos == end:
                self._block(
                    np.concatenate(self._pending, axis=1)
                    if len(self._pending) > 1
                    else self._pending[0]
                )
                self._pending = []

    def _block(self, block: np.ndarray) -> None:
        s, k = self._seg, block.shape[1]
        total = block.sum(axis=1)
        self.sums[s] += total
        if self._mean is not None and self._m2 is not None:
            mean = total / k
            d = block - mean[:, None]
            m2 = np.empty((self._q, self._q))
            for a in range(self._q):
                for b in range(a, self._q):
                    m2[a, b] = m2[b, a] = float((d[a] * d[b]).sum())
            self._mean[s], self._m2[s] = _chan(
                self.count[s], self._mean[s], self._m2[s], k, mean, m2
            )
        self.count[s] += k

    def _check_full(self) -> None:
        if self._pos != self._n:
            raise ValueError(f"rows: {self._pos} observations fed, {self._n} expected")

    @property
    def batch_means(self) -> np.ndarray:
        """(b, q) batch averages."""
        return self.sums[:-1] / self.count[:-1, None]

    @property
    def mean(self) -> np.ndarray:
        """(q,) averages over all n observations."""
        return self.sums.sum(axis=0) / self._n

    def estimate(self, row: int = 0) -> Estimate:
        """:func:`batch_means` of series ``row``."""
        self._check_full()
        return estimate_from_batches(self.batch_means[:, row], float(self.mean[row]))

    def ratio(self, num: int, den: int) -> Estimate:
        """:func:`ratio_batch_means` of series ``num`` over series ``den``."""
        self._check_full()
        total = self.sums.sum(axis=0)
        return ratio_from_batches(self.sums[:-1, num], self.sums[:-1, den], total[num], total[den])

    def control_variate(self, control_means: np.ndarray) -> ControlVariateEstimate:
        """:func:`control_variate_batch_means` of row 0 with rows 1.. as the controls."""
        self._check_full()
        if self._mean is None or self._m2 is None:
            raise ValueError("control_variate: the accumulator was made without moments")
        n, mean, m2 = 0, np.zeros(self._q), np.zeros((self._q, self._q))
        for s in range(len(self.count)):
            n_s = int(self.count[s])
            if n_s:
                mean, m2 = _chan(n, mean, m2, n_s, self._mean[s], self._m2[s])
                n += n_s
        return control_variate_fit(m2 / n, self.mean, self.batch_means, control_means)


def _chan(
    n_a: int, mean_a: np.ndarray, m2_a: np.ndarray, n_b: int, mean_b: np.ndarray, m2_b: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Mean and centred cross-products of two merged samples (Chan, Golub & LeVeque)."""
    if n_a == 0:
        return mean_b.copy(), m2_b.copy()
    n = n_a + n_b
    delta = mean_b - mean_a
    return mean_a + delta * (n_b / n), m2_a + m2_b + np.outer(delta, delta) * (n_a * n_b / n)
