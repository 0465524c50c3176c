"""The analytic engine's pair supply: K slot pairs and the agreement rule, in numpy blocks.

The rule (:mod:`qnet.engines.analytic`) is sequential, but in the usual regime it has a
closed form: when every decision that wants a pair finds one and the ``oldest`` usable pair
is always the one stored longest, the slots serve in FIFO order, so the j-th pair used was
heralded by the (j - K)-th use (``t + g - delay``) and the whole block follows from a
cumulative count of uses. :meth:`PairStore.supply` computes a block that way, checks the
premise decision by decision (the oldest stored pair is usable when wanted and strictly
older than the others, no stored pair reaches the discard age), keeps the prefix where it
holds, and continues the exact sequential loop from the first decision where it does not.
Both paths read the same generation times in the same order, so the numbers are those of
the sequential loop bit for bit; only the speed depends on the regime.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from qnet.engines.analytic import LinkModel

__all__ = ["GENERATION_DRAWS", "PairStore", "clone_stream"]

GENERATION_DRAWS = 1 << 16
"""Generation times drawn per refill of :class:`_GenerationTimes` (memory, not numbers)."""

_FIRST_BLOCK = 128
"""Decisions in the first closed-form block (blocks double while the premise holds)."""


def clone_stream(rng: np.random.Generator) -> np.random.Generator:
    """An independent generator at the same point of the same stream."""
    out = np.random.Generator(type(rng.bit_generator)())
    out.bit_generator.state = rng.bit_generator.state
    return out


class _GenerationTimes:
    """Draws of the time from a slot pair's restart to its pair becoming usable.

    The stream is consumed in segments of ``size`` draws: ``size`` geometric failure
    counts, then ``size`` binomial splits of them into full and short attempts. A segment
    is drawn lazily, :data:`GENERATION_DRAWS` at a time, from two positions of the stream
    (a clone reads the geometrics while the stream itself, advanced past them, reads the
    binomials), so memory stays bounded while the values are those of drawing each whole
    segment at once. :meth:`peek` shows the next values without using them up.
    """

    def __init__(self, model: LinkModel, rng: np.random.Generator, size: int) -> None:
        self._m, self._rng, self._size = model, rng, max(size, 64)
        self._left = 0
        self._geo = rng
        self._buf = np.empty(0)
        self._pos = 0

    def _refill(self) -> np.ndarray:
        m, rng = self._m, self._rng
        p, r1 = m.success_probability, m.round_one_pass_probability
        if self._left == 0:  # a new segment: geometrics read by a clone, rng skips them
            self._geo = clone_stream(rng)
            for start in range(0, self._size, GENERATION_DRAWS):
                rng.geometric(p, min(GENERATION_DRAWS, self._size - start))
            self._left = self._size
        k = min(self._left, GENERATION_DRAWS)
        self._left -= k
        failures = self._geo.geometric(p, k) - 1
        full_share = (r1 - p) / (1 - p) if p < 1 else 0.0
        full = rng.binomial(failures, full_share)
        return (failures - full) * m.attempt_fail_s + (full + 1) * m.attempt_full_s

    def peek(self, count: int) -> np.ndarray:
        """The next ``count`` generation times [s], not used up."""
        if len(self._buf) - self._pos < count:
            parts = [self._buf[self._pos :]]
            have = len(parts[0])
            while have < count:
                parts.append(self._refill())
                have += len(parts[-1])
            self._buf, self._pos = np.concatenate(parts), 0
        return self._buf[self._pos : self._pos + count]

    def advance(self, count: int) -> None:
        """Use up the next ``count`` generation times."""
        self._pos += count

    def take(self) -> float:
        """The next generation time [s], used up."""
        value = float(self.peek(1)[0])
        self._pos += 1
        return value


class PairStore:
    """The K slot pairs and the agreement rule, fed decision times chunk by chunk.

    The slots' herald times and the counters carry over between chunks, so feeding the
    decisions in chunks gives what one call on all of them gives.

    Args:
        model: the link.
        rng: the generation stream.
        decisions: how many decisions will be fed in total (sets the draw segments).
        closed_form: use the FIFO closed form where it holds (False: the sequential loop
            only; the numbers are the same).
    """

    def __init__(
        self,
        model: LinkModel,
        rng: np.random.Generator,
        decisions: int,
        *,
        closed_form: bool = True,
    ) -> None:
        self._m = model
        self._gen = _GenerationTimes(model, rng, decisions + model.slots)
        # herald[k]: station herald time of slot k's current (stored or in-progress) pair;
        # a slot freed at time f heralds its next pair at f + gen() - delay.
        self._herald = [self._gen.take() - model.usable_delay_s for _ in range(model.slots)]
        self._scheduled = model.slots
        self.discarded = 0
        self._end = 0.0
        self._fifo = closed_form and model.selection == "oldest"
        self._block = _FIRST_BLOCK
        self._serial = 1

    @property
    def heralded(self) -> int:
        """Pairs heralded up to the last decision fed (not those still in progress)."""
        return self._scheduled - sum(1 for h in self._herald if h > self._end)

    def supply(
        self, t_s: np.ndarray, wants_pair: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(used, available, herald time of the used pair) for the next decision times."""
        t = np.asarray(t_s, dtype=float)
        n = len(t)
        wants = np.ones(n, dtype=bool) if wants_pair is None else np.asarray(wants_pair, bool)
        used = np.zeros(n, dtype=bool)
        available = np.zeros(n, dtype=bool)
        herald_used = np.full(n, np.nan)
        out = (used, available, herald_used)
        i = 0
        while i < n:
            if self._fifo:
                stop = min(n, i + self._block)
                done = self._fifo_block(t[i:stop], wants[i:stop], *(a[i:stop] for a in out))
                i += done
                if i == stop:
                    self._block = min(2 * self._block, 1 << 16)
                    self._serial = 1
                    continue
                # the premise failed: step past that decision (further when it keeps failing)
                self._block = max(_FIRST_BLOCK, 2 * done)
                self._serial = 1 if done >= 8 else min(4096, 2 * self._serial)
                stop = min(n, i + self._serial)
            else:
                stop = n
            self._sequential(t[i:stop], wants[i:stop], *(a[i:stop] for a in out))
            i = stop
        if n:
            self._end = float(t[-1])
        return out

    def _fifo_block(
        self,
        t: np.ndarray,
        wants: np.ndarray,
        used: np.ndarray,
        available: np.ndarray,
        herald_used: np.ndarray,
    ) -> int:
        """Fill the longest prefix of the block where the FIFO closed form holds; its length."""
        model, k = self._m, self._m.slots
        delay, discard = model.usable_delay_s, model.discard_age_s
        order = sorted(range(k), key=lambda s: (self._herald[s], s))
        # uses_before[i]: uses among decisions before i if every wanting decision uses a pair
        uses_before = np.cumsum(wants) - wants
        uses = int(uses_before[-1] + wants[-1])
        g = self._gen.peek(uses)
        h = np.empty(k + uses)
        h[:k] = [self._herald[s] for s in order]
        h[k:] = t[wants] + g - delay
        # stored[u]: the pairs stored after u uses are h[u : u + K]; the oldest must be h[u]
        last = len(h) - k + 1
        oldest = h[:last].copy()
        first = np.ones(last, dtype=bool)
        for s in range(1, k):
            np.minimum(oldest, h[s : s + last], out=oldest)
            first &= h[:last] < h[s : s + last]
        m = oldest[uses_before]
        ok_avail = m + delay <= t
        ok = ok_avail & first[uses_before]
        ok |= ~wants
        if discard is not None:
            ok &= m + discard > t
        done = int(np.argmin(ok)) if not ok.all() else len(t)
        if done == 0:
            return 0
        w = wants[:done]
        c = int(uses_before[done - 1] + w[-1])
        available[:done] = ok_avail[:done]
        used[:done] = w
        herald_used[:done][w] = h[:c]
        self._gen.advance(c)
        self._scheduled += c
        for j in range(c, c + k):  # the pair stored in slot order[j mod K] is h[j]
            self._herald[order[j % k]] = float(h[j])
        self._end = float(t[done - 1])
        return done

    def _sequential(
        self,
        t: np.ndarray,
        wants: np.ndarray,
        used: np.ndarray,
        available: np.ndarray,
        herald_used: np.ndarray,
    ) -> None:
        """The agreement rule one decision at a time (the reference; exact in every regime)."""
        gen, herald, model = self._gen.take, self._herald, self._m
        delay = model.usable_delay_s
        discard = model.discard_age_s
        oldest = model.selection == "oldest"
        scheduled = self._scheduled
        discarded = self.discarded
        for i, (ti, wi) in enumerate(zip(t.tolist(), wants.tolist(), strict=True)):
            best = -1
            best_h = 0.0
            for k in range(model.slots):
                h = herald[k]
                if discard is not None and h + discard <= ti:
                    while h + discard <= ti:
                        h += discard + gen() - delay
                        scheduled += 1
                        discarded += 1
                    herald[k] = h
                if h + delay <= ti and (best < 0 or (h < best_h if oldest else h > best_h)):
                    best, best_h = k, h
            if best >= 0:
                available[i] = True
                if not wi:
                    continue
                used[i] = True
                herald_used[i] = best_h
                herald[best] = ti + gen() - delay
                scheduled += 1
        self._scheduled, self.discarded = scheduled, discarded
        if len(t):
            self._end = float(t[-1])
