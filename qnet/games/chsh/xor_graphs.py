"""Fig. 3 generalized: how often a random XOR game on a graph of n vertices beats classical.

Model (the paper leaves it open; this is qnet's definition): vertices are task types; both
balancers receive a uniform type independently (π(x, y) = 1/n², as CHSH's inputs); every
unordered pair {x, y}, x = y included (the diagonal: two tasks of one type), is labeled
*exclusive* (different servers, a ⊕ b = 1) with probability q independently, else
*co-locate* (a ⊕ b = 0). CHSH is n = 2 with E–E and C–E exclusive and C–C co-locate.
A game has a quantum advantage iff its Tsirelson bias exceeds its classical bias by more
than ``tol``.

The advantage is invariant under relabeling the vertices, under switching a vertex (both
players flip their output on that type: the labels between it and the others flip) and
under complementing every label (one player flips every output). Exactly: the labelings
of n ≤ 5 vertices (2^15 for n = 5) are split into orbits of this group (union-find over
its generators), one SDP per orbit, and P(advantage | q) = Σ_k N_k q^k (1 − q)^(m − k)
with N_k the advantage labelings with k exclusive entries (m = n(n + 1)/2). Sampled:
games drawn at each q on common uniforms, one SDP per orbit met (canonical form over the
group), with Wilson 95 % intervals.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass, field

import numpy as np
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from qnet.games.xor import XORGame, classical_bias, tsirelson_sdp

__all__ = [
    "ADVANTAGE_TOL",
    "GraphGameFamily",
    "exact_advantage_probability",
    "sampled_advantage_probability",
    "wilson_interval",
]

#: Quantum bias must exceed the classical bias by more than this to count as an advantage.
ADVANTAGE_TOL = 1e-6
MAX_EXACT = 5
MAX_VERTICES = 6


def wilson_interval(
    successes: int, trials: int, z: float = 1.959963984540054
) -> tuple[float, float]:
    """Wilson score 95 % interval of a binomial proportion."""
    if trials <= 0:
        raise ValueError(f"trials = {trials} is out of range: allowed >= 1")
    p = successes / trials
    den = 1 + z * z / trials
    centre = (p + z * z / (2 * trials)) / den
    half = z * math.sqrt(p * (1 - p) / trials + z * z / (4 * trials * trials)) / den
    return max(0.0, centre - half), min(1.0, centre + half)


@dataclass
class GraphGameFamily:
    """Labelings of n vertices and their quantum advantage, cached per symmetry orbit.

    Attributes:
        vertices: n, the number of task types (2 to 6).
        symmetric: one label per unordered pair, self-loops included (else per ordered pair).
        tol: the bias margin that counts as an advantage.
    """

    vertices: int
    symmetric: bool = True
    tol: float = ADVANTAGE_TOL
    _cache: dict[int, bool] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        if not 2 <= self.vertices <= MAX_VERTICES:
            raise ValueError(
                f"vertices = {self.vertices} is out of range: allowed [2, {MAX_VERTICES}]"
            )
        n = self.vertices
        if self.symmetric:
            self.rows, self.cols = np.triu_indices(n)
        else:
            self.rows, self.cols = (a.ravel() for a in np.indices((n, n)))
        self.entries = len(self.rows)
        index = np.zeros((n, n), dtype=np.int64)
        index[self.rows, self.cols] = np.arange(self.entries)
        if self.symmetric:
            index[self.cols, self.rows] = np.arange(self.entries)
        self._index = index
        self._weights = 1 << np.arange(self.entries, dtype=np.int64)
        self._group: tuple[np.ndarray, np.ndarray] | None = None  # built on first use

    # -- one game ---------------------------------------------------------------------
    def predicate(self, code: int) -> np.ndarray:
        """The n×n 0/1 predicate (1 = exclusive) of labeling ``code`` (bit k = entry k)."""
        bits = (int(code) >> np.arange(self.entries)) & 1
        return bits[self._index].astype(np.int8)

    def game(self, code: int) -> XORGame:
        """The XOR game of labeling ``code`` with uniform independent inputs."""
        n = self.vertices
        return XORGame(np.full((n, n), 1.0 / n**2), self.predicate(code))

    def biases(self, code: int) -> tuple[float, float]:
        """(classical bias, Tsirelson bias) of labeling ``code``."""
        g = self.game(code).bias_matrix
        beta_c = classical_bias(g)[0]
        if beta_c >= float(np.abs(g).sum()) - 1e-12:  # a classical strategy always wins
            return beta_c, beta_c
        return beta_c, tsirelson_sdp(g).value

    def advantage(self, code: int) -> bool:
        """Whether labeling ``code`` has a quantum advantage (cached by orbit)."""
        key = self.canonical(code)
        if key not in self._cache:
            beta_c, beta_q = self.biases(key)
            self._cache[key] = beta_q > beta_c + self.tol
        return self._cache[key]

    # -- the symmetry group -----------------------------------------------------------
    def _maps(self) -> tuple[np.ndarray, np.ndarray]:
        """Entry permutations of all vertex permutations, and masks of all switchings."""
        n = self.vertices
        perms = np.array(list(itertools.permutations(range(n))))
        pos = self._index[perms[:, self.rows], perms[:, self.cols]]  # [n!, m]
        subsets = np.array(list(itertools.product((0, 1), repeat=n - 1)))
        s = np.hstack((np.zeros((len(subsets), 1), np.int64), subsets))  # vertex 0 fixed
        masks = (s[:, self.rows] ^ s[:, self.cols]) @ self._weights  # [2^(n-1)]
        return pos, masks

    def canonical(self, code: int) -> int:
        """Smallest code in the orbit of ``code`` (vertex relabeling, switching, complement).

        Directed labelings (``symmetric=False``) are their own key (no reduction).
        """
        if not self.symmetric:
            return int(code)
        if self._group is None:
            self._group = self._maps()
        pos, masks = self._group
        bits = (int(code) >> np.arange(self.entries)) & 1
        permuted = bits[pos] @ self._weights  # [n!]
        variants = permuted[:, None] ^ masks[None, :]
        full = (1 << self.entries) - 1
        return int(min(variants.min(), (variants ^ full).min()))

    def orbits(self) -> tuple[np.ndarray, np.ndarray]:
        """Orbit id of every labeling code (union-find over the group's generators)."""
        if self.vertices > MAX_EXACT or not self.symmetric:
            raise ValueError(
                f"vertices = {self.vertices} is out of range for exact orbits: "
                f"allowed [2, {MAX_EXACT}] with symmetric labels"
            )
        n, m = self.vertices, self.entries
        codes = np.arange(1 << m, dtype=np.int64)
        bits = (codes[:, None] >> np.arange(m)) & 1
        images = []
        for i in range(n - 1):  # transpositions (i, i+1) generate the symmetric group
            perm = np.arange(n)
            perm[[i, i + 1]] = perm[[i + 1, i]]
            pos = self._index[perm[self.rows], perm[self.cols]]
            images.append(bits[:, pos] @ self._weights)
        for v in range(n):  # switching vertex v
            s = np.zeros(n, np.int64)
            s[v] = 1
            images.append(codes ^ int((s[self.rows] ^ s[self.cols]) @ self._weights))
        images.append(codes ^ ((1 << m) - 1))  # complement
        src = np.tile(codes, len(images))
        graph = coo_matrix((np.ones(len(src)), (src, np.concatenate(images))), (1 << m, 1 << m))
        _, labels = connected_components(graph, directed=False)
        return codes, labels


def exact_advantage_probability(vertices: int, q: np.ndarray) -> tuple[np.ndarray, int]:
    """Exact P(advantage | q) over all labelings (n ≤ 5), and the number of orbits solved."""
    fam = GraphGameFamily(vertices)
    codes, labels = fam.orbits()
    reps = np.full(labels.max() + 1, -1, dtype=np.int64)
    reps[labels[::-1]] = codes[::-1]  # first code of each orbit
    adv_orbit = np.array([fam.advantage(int(c)) for c in reps])
    adv = adv_orbit[labels]
    k = np.array([bin(int(c)).count("1") for c in codes])
    counts = np.bincount(k[adv], minlength=fam.entries + 1)
    qv = np.asarray(q, dtype=float)
    powers = np.arange(fam.entries + 1)
    probs = counts[None, :] * qv[:, None] ** powers * (1 - qv[:, None]) ** (fam.entries - powers)
    return probs.sum(axis=1), len(reps)


def sampled_advantage_probability(
    vertices: int, q: np.ndarray, samples: int, seed: int, symmetric: bool = True
) -> dict[str, np.ndarray]:
    """Monte Carlo P(advantage | q): ``samples`` games per q on common uniforms, Wilson CIs.

    ``symmetric=False`` labels every ordered input pair (x, y) independently instead.
    """
    if samples < 1:
        raise ValueError(f"samples = {samples} is out of range: allowed >= 1")
    fam = GraphGameFamily(vertices, symmetric)
    uniforms = np.random.default_rng(np.random.SeedSequence([seed, vertices])).random(
        (samples, fam.entries)
    )
    qv = np.asarray(q, dtype=float)
    if np.any((qv < 0) | (qv > 1)):
        raise ValueError(f"q = {qv.tolist()} is out of range: allowed [0, 1]")
    hits = np.zeros(len(qv), dtype=np.int64)
    for i, qi in enumerate(qv):
        codes = (uniforms < qi).astype(np.int64) @ fam._weights
        hits[i] = sum(fam.advantage(int(c)) for c in codes)
    lo, hi = np.array([wilson_interval(int(h), samples) for h in hits]).T
    return {"q": qv, "p": hits / samples, "low": lo, "high": hi, "orbits": len(fam._cache)}
