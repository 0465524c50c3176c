"""Upper concave hulls of (p, payoff) points and their Minkowski sums: the geometry of
mixing strategies with shared randomness (the hull machinery of eqs. N2-N3)."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

_XTOL = 1e-12  # abscissa tolerance for locating p on a hull (p values are O(1))


@dataclass(frozen=True)
class _Hull:
    """Upper concave hull: vertices (x sorted increasing, slopes decreasing) and labels."""

    x: NDArray[np.float64]
    y: NDArray[np.float64]
    label: tuple[int, ...]  # index of the source point of each vertex

    def __call__(self, p: float) -> float:
        """Hull value at p (linear between vertices); NaN outside [x[0], x[-1]]."""
        if p < self.x[0] - _XTOL or p > self.x[-1] + _XTOL:
            return math.nan
        return float(np.interp(p, self.x, self.y))

    def segment(self, p: float) -> tuple[int, int, float]:
        """Vertices (i, j) bracketing p and the weight of vertex i (p = w x_i + (1-w) x_j)."""
        k = int(np.searchsorted(self.x, p, side="right")) - 1
        k = min(max(k, 0), len(self.x) - 1)
        if k == len(self.x) - 1 or abs(p - self.x[k]) <= _XTOL:
            return k, k, 1.0
        if abs(self.x[k + 1] - p) <= _XTOL:
            return k + 1, k + 1, 1.0
        w = (self.x[k + 1] - p) / (self.x[k + 1] - self.x[k])
        return k, k + 1, float(w)


def _upper_hull(x: ArrayLike, y: ArrayLike) -> _Hull:
    """Upper concave hull of points (x, y) (Andrew's monotone chain, collinear removed)."""
    xs = np.asarray(x, dtype=np.float64)
    ys = np.asarray(y, dtype=np.float64)
    order = np.lexsort((-ys, xs))
    keep: list[int] = []
    for idx in order:
        if keep and xs[idx] == xs[keep[-1]]:
            continue  # same x, lower y (sorted by -y within equal x)
        while len(keep) >= 2:
            o, a = keep[-2], keep[-1]
            cross = (xs[a] - xs[o]) * (ys[idx] - ys[o]) - (ys[a] - ys[o]) * (xs[idx] - xs[o])
            if cross >= 0:
                keep.pop()
            else:
                break
        keep.append(int(idx))
    return _Hull(xs[keep], ys[keep], tuple(keep))


def _minkowski(
    a: float, f: _Hull, g: _Hull
) -> tuple[NDArray[np.float64], NDArray[np.float64], list[tuple[int, int]]]:
    """Upper boundary of a·F ⊕ (1−a)·G: vertices and the (F vertex, G vertex) of each.

    The upper hull of a Minkowski sum of two concave polygons' upper boundaries is obtained
    by merging their edges in decreasing slope order (the sup-convolution of concave
    piecewise-linear functions).
    """
    b = 1.0 - a
    i = j = 0
    xs = [a * f.x[0] + b * g.x[0]]
    ys = [a * f.y[0] + b * g.y[0]]
    idx = [(0, 0)]
    nf, ng = len(f.x) - 1, len(g.x) - 1
    while i < nf or j < ng:
        sf = (f.y[i + 1] - f.y[i]) / (f.x[i + 1] - f.x[i]) if i < nf else -math.inf
        sg = (g.y[j + 1] - g.y[j]) / (g.x[j + 1] - g.x[j]) if j < ng else -math.inf
        if sf >= sg:
            i += 1
        else:
            j += 1
        xs.append(a * f.x[i] + b * g.x[j])
        ys.append(a * f.y[i] + b * g.y[j])
        idx.append((i, j))
    return np.array(xs), np.array(ys), idx


# ---------------------------------------------------------------------------- validation
