"""Routing strategies of a balancer pair as p_same tables, and the classical sets they live in.

A strategy is a 2×2 table p_same[x, y] (x, y: A's and B's input, 1 = C task): the
probability that B goes to A's server. With a quantum strategy the pair may be missing
(availability a); then the pair falls back to random routing (p_same = 1/M).

Two classical sets matter:

* the CHSH local polytope (each pair chooses between the two servers it drew, binary
  outputs a ⊕ b): convex hull of the 8 tables 1 − (a_x ⊕ b_y); its facet
  p_CC = p_CE + p_EC + p_EE (CHSH inequality, co-location orientation) holds every table
  that no other classical table beats entry-wise (more C co-location, fewer collisions);
* the any-server set (each balancer may pick any of M ≥ 3 servers with shared
  randomness): the hull of every 0/1 table except those with exactly three ones
  (transitivity: A = B on three input pairs forces the fourth). It contains
  [[0, 0], [0, 1]], which wins the co-location task every time.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass, field

import numpy as np

from qnet.games.chsh.game import ChshGame

__all__ = [
    "Strategy",
    "any_server_best",
    "any_server_vertices",
    "chsh_facet_grid",
    "facet_projection",
    "in_local_polytope",
    "local_polytope_vertices",
    "quantum_strategy",
    "random_strategy",
]


@dataclass(frozen=True)
class Strategy:
    """A pair's routing strategy: p_same table (None = random), used with probability a.

    Attributes:
        name: label in tables, JSON and plots.
        table: 2×2 p_same[x_a, x_b] (1 = C task); None means random routing (1/M).
        availability: probability a the table is playable at a step; otherwise random.
        decisions: optional int8 [replications, steps, pairs] of a real link: 1 same
            server, 0 different (a measured pair), −1 no pair (random fallback). When
            set, the simulation routes by it; ``table`` and ``availability`` then hold
            its measured means (for the stability chain).
    """

    name: str
    table: np.ndarray | None = field(default=None, compare=False)
    availability: float = 1.0
    decisions: np.ndarray | None = field(default=None, compare=False, repr=False)

    def __post_init__(self) -> None:
        if not (math.isfinite(self.availability) and 0.0 <= self.availability <= 1.0):
            raise ValueError(
                f"availability = {self.availability!r} is out of range: allowed [0, 1]"
            )
        if self.table is not None:
            table = np.array(self.table, dtype=float)
            if table.shape != (2, 2) or not np.all((table >= 0) & (table <= 1)):
                raise ValueError(f"table of {self.name!r} must be 2×2 with entries in [0, 1]")
            table.setflags(write=False)
            object.__setattr__(self, "table", table)
        if self.decisions is not None:
            dec = np.asarray(self.decisions)
            if dec.ndim != 3 or self.table is None or not np.all((dec >= -1) & (dec <= 1)):
                raise ValueError(
                    f"decisions of {self.name!r} must be a 3-D array of -1, 0, 1 beside a table"
                )
            object.__setattr__(self, "decisions", dec.astype(np.int8, copy=False))

    def effective(self, servers: float) -> np.ndarray:
        """Mean p_same table a·T + (1 − a)/M over pair availability (the fallback is random)."""
        rand = np.full((2, 2), 1.0 / servers)
        if self.table is None:
            return rand
        return self.availability * self.table + (1.0 - self.availability) * rand

    def to_dict(self) -> dict[str, object]:
        """JSON form: name, table (or None) and availability."""
        table = None if self.table is None else self.table.tolist()
        return {"name": self.name, "table": table, "availability": self.availability}


def random_strategy() -> Strategy:
    """Both balancers route uniformly and independently (p_same = 1/M)."""
    return Strategy("random")


def quantum_strategy(
    visibility: float = 1.0, availability: float = 1.0, name: str = "quantum"
) -> Strategy:
    """The paper's CHSH angles on a Werner pair: p_same = (1 + E)/2, E = ±v/√2."""
    corr = ChshGame().correlations(visibility)
    return Strategy(name, 0.5 * (1.0 + corr), availability)


def local_polytope_vertices() -> list[np.ndarray]:
    """The 8 deterministic binary tables p_same = 1 − (a_x ⊕ b_y) (CHSH local polytope)."""
    tables = {}
    for a0, a1, b0, b1 in itertools.product((0, 1), repeat=4):
        t = np.array([[1 - (a0 ^ b0), 1 - (a0 ^ b1)], [1 - (a1 ^ b0), 1 - (a1 ^ b1)]], float)
        tables[t.tobytes()] = t
    return list(tables.values())


def in_local_polytope(table: np.ndarray, tol: float = 1e-12) -> bool:
    """True iff the table satisfies 0 ≤ p ≤ 1 and all eight CHSH inequalities |S| ≤ 2."""
    t = np.asarray(table, dtype=float)
    if np.any(t < -tol) or np.any(t > 1 + tol):
        return False
    e = 2.0 * t - 1.0
    for i, j in itertools.product((0, 1), repeat=2):
        signs = np.ones((2, 2))
        signs[i, j] = -1.0
        if abs(float(np.sum(signs * e))) > 2.0 + tol:
            return False
    return True


def any_server_vertices() -> list[np.ndarray]:
    """The 12 deterministic any-server tables: every 0/1 table but those with three ones."""
    return [
        np.array(bits, float).reshape(2, 2)
        for bits in itertools.product((0, 1), repeat=4)
        if sum(bits) != 3
    ]


def any_server_best() -> Strategy:
    """C tasks of both to one shared random server, E tasks to two others: p_same = [[0,0],[0,1]].

    Shared randomness picks a random ordered triple of distinct servers (M ≥ 3); A sends C to
    the first and E to the second, B sends C to the first and E to the third.
    """
    return Strategy("classical any-server", np.array([[0.0, 0.0], [0.0, 1.0]]))


def chsh_facet_grid(step: int) -> list[Strategy]:
    """Tables on the CHSH facet p_CC = p_CE + p_EC + p_EE, (p_CE, p_EC, p_EE) on a 1/step grid."""
    if step < 1:
        raise ValueError(f"step = {step} is out of range: allowed >= 1")
    out = []
    for i, j, k in itertools.product(range(step + 1), repeat=3):
        if i + j + k <= step:
            ce, ec, ee = i / step, j / step, k / step
            t = np.array([[ee, ec], [ce, ce + ec + ee]])
            out.append(Strategy(f"facet({ce:.3g},{ec:.3g},{ee:.3g})", t))
    return out


def facet_projection(table: np.ndarray) -> np.ndarray:
    """The CHSH-facet table with the same p_CC and the collision entries scaled to sum to it.

    For a table of the local polytope, p_CC ≤ p_CE + p_EC + p_EE (CHSH), so the projection
    lowers every collision entry and keeps p_CC: it dominates the table whenever fewer
    collisions of non-(C, C) pairs never lengthen the queues.
    """
    t = np.array(table, dtype=float)
    if not in_local_polytope(t):
        raise ValueError("table must lie in the CHSH local polytope")
    collisions = t[0, 0] + t[0, 1] + t[1, 0]
    if collisions > 0:
        scale = t[1, 1] / collisions
        t[0, 0], t[0, 1], t[1, 0] = t[0, 0] * scale, t[0, 1] * scale, t[1, 0] * scale
    return t
