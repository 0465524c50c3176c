"""Imperfect entanglement: noise-aware strategies, critical visibility, retained advantage.

The question the paper leaves open (Sec. VII): how good and how available must the pairs
be for the quantum routing advantage to survive? Everything here is exact arithmetic on
the ideal frontier of :func:`.frontier.pareto_frontier` (quantum strategies found by
:func:`.quantum.optimize_quantum`, certified classical bounds from
:mod:`.classical`).

Noise model (see :mod:`qnet.physics.noise`). A Werner pair of visibility v measured with readout
errors e_A, e_B has correlation tensor η·I with the *effective visibility*
η = v (1 − 2e_A)(1 − 2e_B), so a strategy with angles θ_A, θ_B gives
E[o_A o_B | x1, x2] = η cos 2(θ_A − θ_B) (eq. D30 × η). For a strategy whose ideal-pair
splitting probability is p'' and payoff Q (eqs. D32, D33), the same angles on the noisy
pair give exactly

    p = (1 − η (1 − 2p''))/2,        A = η·Q.                                       (N1)

Noise pulls p towards 1/2, so results are always compared at the *achieved* p.
The map (N1) is affine in (p'', Q), so the best noisy-pair strategy at p is the ideal one
at p'' = 1/2 − (1 − 2p)/(2η): noise-aware angles are ideal angles for a shifted target.

Availability a. A decision finds a usable pair with probability a, independently of
(X1, X2); otherwise both routers play a classical threshold fallback with a shared random
bit. With (A_q, p_q) for the branch with a pair and (A_c, p_c) for the fallback, the mix
has (law of total expectation, :func:`qnet.physics.noise.availability_mix`)

    A_mix = a A_q + (1 − a) A_c,      p_mix = a p_q + (1 − a) p_c.                  (N2)

Noise-aware strategy. Shared randomness lets the routers mix strategies, so the set of
(p, A) reachable with a pair is the upper concave hull F of the noisy quantum points (N1)
and the classical points (routers may ignore a pair), and without a pair the hull G of the
classical points (Thm 9). By (N2) the best mix at target p is the sup-convolution

    V(p; η, a) = max { a F(p_q) + (1 − a) G(p_c) : a p_q + (1 − a) p_c = p },        (N3)

the upper boundary of the Minkowski sum a·F ⊕ (1 − a)·G, computed exactly by merging the
two hulls' edges in order of decreasing slope. The argmax gives the angles *and* the
classical fallback jointly, and the mix hits p exactly. Every hull vertex is an exhibited
strategy (polynomial angles or threshold pair), so V is an achievable payoff; between
vertices the routers mix the two neighbouring strategies on a shared random number.
V is non-decreasing in η (local output flips turn a better pair into a worse one) and in
a (a router pair can always ignore an available pair).

Critical visibility v_c(p): the smallest v with V(p; η(v), a) − ε_q > C(p), where C(p) is
the concave envelope of certified classical upper bounds (the shared-randomness benchmark,
``tight`` or ``paper`` certificate) and ε_q the largest adaptive-quadrature error of the
quantum payoffs (≤ 1e-8); found by bisection to ``xtol`` (default 1e-6 in v).
F_c = (3 v_c + 1)/4. Retained advantage: (V(p; η, a) − C(p))⁺ / (V(p; 1, 1) − C(p)).

Availability does not move the threshold. F ≥ G are concave and V(p; a) ≤ F(p), so
F(p) = G(p) gives V(p; a) = G(p) for every a, while F(p) > G(p) gives
V(p; a) ≥ a F(p) + (1 − a) G(p) > G(p). Hence v_c(p, a) = v_c(p, 1) for every a > 0 (up to
the certificate slack and ε_q, which matter only for a → 0), and the advantage retained
at availability a is at least a times the one at a = 1.

Limits (stated, not hidden): quantum payoffs are lower bounds (best polynomial strategy
found), so v_c is an upper bound on the true critical visibility of the model; the p''
grid of the ideal frontier limits V to mixtures of its strategies (refine it with
``quantum_step``; at the paper's parameters v_c moves by ≤ 1.2e-3 from step 0.01 to
0.005 and ≤ 3e-4 from 0.005 to 0.0025, the default). C(p) is the frontier's envelope of
grid bounds (as in ``qnet frontier``). Dephased pairs (anisotropic T) are not covered by
(N1): :func:`quantum_curve` re-optimizes the angles on T, and the same hull machinery
(``noise_aware_strategy(..., curve=...)``) mixes them; v_c and the retained grid are
computed for isotropic noise only.

Examples:
    >>> from qnet.queues.model import SystemParams
    >>> ref = noise_reference([0.2], SystemParams(), restarts=2, quantum_step=0.05)
    >>> crit = critical_visibility(ref, 0.2)
    >>> 0.8 < crit.visibility < 1.0, round(crit.fidelity - (3 * crit.visibility + 1) / 4, 12)
    (True, 0.0)
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray

from qnet.games.routing.classical import (
    ThresholdStrategy,
    best_classical_value_at_half,
    certified_classical_bound,
    classical_envelope,
)
from qnet.games.routing.frontier import Frontier, pareto_frontier
from qnet.games.routing.quantum import PolynomialStrategy
from qnet.physics.noise import availability_mix, fidelity_from_visibility, readout_factor
from qnet.queues.model import SystemParams, mean_splitting_benefit

__all__ = [
    "Component",
    "CriticalVisibility",
    "MixedStrategy",
    "NaiveResult",
    "NoiseReference",
    "QuantumCurve",
    "RetainedGrid",
    "critical_visibility",
    "effective_visibility",
    "naive_strategy",
    "noise_aware_strategy",
    "noise_reference",
    "noisy_quantum_payoff",
    "quantum_curve",
    "retained_advantage",
    "retained_grid",
]

Method = Literal["tight", "paper"]
_XTOL = 1e-12  # abscissa tolerance for locating p on a hull (p values are O(1))


# ---------------------------------------------------------------------------- geometry
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
def _check_unit(name: str, value: float) -> float:
    try:
        v = float(value)
    except (TypeError, ValueError) as err:
        raise ValueError(f"{name} must be a number in [0, 1], got {value!r}") from err
    if not 0.0 <= v <= 1.0:
        raise ValueError(f"{name} must be in [0, 1], got {value!r}")
    return v


def _check_target(p: float) -> float:
    try:
        v = float(p)
    except (TypeError, ValueError) as err:
        raise ValueError(f"p (splitting probability) must be in (0, 1/2), got {p!r}") from err
    if not 0.0 < v < 0.5:
        raise ValueError(
            f"p (splitting probability) must be in (0, 1/2), got {p!r} "
            "(the classical envelope is defined on [0, 1/2])"
        )
    return v


def effective_visibility(
    visibility: float, readout_error_a: float = 0.0, readout_error_b: float = 0.0
) -> float:
    """Effective visibility η = v (1 − 2e_A)(1 − 2e_B) of a Werner pair read out noisily (N1)."""
    return _check_unit("visibility", visibility) * readout_factor(readout_error_a, readout_error_b)


# ---------------------------------------------------------------------------- reference
@dataclass(frozen=True)
class NoiseReference:
    """The ideal inputs every noisy evaluation at fixed system parameters uses.

    Attributes:
        params: system parameters.
        method: classical certificate of the benchmark C(p), "tight" or "paper".
        frontier: the ideal frontier (quantum strategies and certified envelope per p).
        quantum_p: ideal-pair splitting probabilities p'' of the quantum strategies
            (p'' = 0, constant equal angles, then the frontier grid).
        quantum_payoff: their ideal-pair payoffs Q (adaptive quadrature, eq. D32).
        quantum_strategies: the polynomial angles (D31).
        quantum_error: largest adaptive-quadrature error bound of ``quantum_payoff``.
        classical_p, classical_payoff, classical_strategies: achievable deterministic
            classical points (best threshold pair found by the tight search at each grid
            p, plus the exact end points p = 0 and p = 1/2).
        epsilon: θ_A grid offset of the "paper" certificate (unused by "tight").
    """

    params: SystemParams
    method: str
    frontier: Frontier
    quantum_p: NDArray[np.float64]
    quantum_payoff: NDArray[np.float64]
    quantum_strategies: tuple[PolynomialStrategy, ...]
    quantum_error: float
    classical_p: NDArray[np.float64]
    classical_payoff: NDArray[np.float64]
    classical_strategies: tuple[ThresholdStrategy, ...]
    epsilon: float = 0.01

    def certified_envelope(self, p: float) -> float:
        """C(p): concave envelope of the certified classical bounds at the grid and at p (Thm 9)."""
        p = float(p)
        hit = np.flatnonzero(np.abs(self.frontier.p - p) <= _XTOL)
        if hit.size:
            return float(self.frontier.classical_envelope[hit[0]])
        cert = certified_classical_bound(
            p,
            self.params,
            self.method,  # type: ignore[arg-type]
            epsilon=self.epsilon,
        )
        grid = np.append(self.frontier.p, p)
        bounds = np.append(self.frontier.classical_bound, cert.bound)
        return float(classical_envelope(grid, bounds, self.params).envelope[-1])


def noise_reference(
    p_targets: ArrayLike,
    params: SystemParams,
    *,
    method: Method = "tight",
    epsilon: float = 0.01,
    degree: int = 2,
    quadrature_points: int = 60,
    restarts: int = 20,
    seed: int = 1,
    quantum_step: float = 0.0025,
    anchor_spacing: float = 0.05,
    progress: Callable[[str, float], None] | None = None,
) -> NoiseReference:
    """Ideal frontier on the targets plus a p'' grid of step ``quantum_step`` (App. D3, Thm 9).

    The quantum strategies at p'' < p are what the noise-aware strategy needs (eq. N1), so
    the frontier is computed on the union of ``p_targets`` and {step, 2 step, ...} < 1/2.
    ``progress(stage, fraction)`` is passed to the frontier computation.
    """
    targets = np.atleast_1d(np.asarray(p_targets, dtype=float))
    for p in targets:
        _check_target(p)
    if not (isinstance(quantum_step, int | float) and 0.0 < quantum_step <= 0.25):
        raise ValueError(f"quantum_step must be in (0, 0.25], got {quantum_step!r}")
    if method not in ("tight", "paper"):
        raise ValueError(f"method (certificate) must be 'tight' or 'paper', got {method!r}")
    fine = np.round(np.arange(quantum_step, 0.5 - 1e-9, quantum_step), 12)
    grid = np.unique(np.concatenate([targets, fine[(fine > 0) & (fine < 0.5)]]))
    frontier = pareto_frontier(
        grid,
        params,
        method=method,
        epsilon=epsilon,
        degree=degree,
        quadrature_points=quadrature_points,
        restarts=restarts,
        seed=seed,
        anchor_spacing=anchor_spacing,
        **({"progress": progress} if progress is not None else {}),
    )
    ew = mean_splitting_benefit(params)
    zero = PolynomialStrategy((0.0,) * (degree + 1), (0.0,) * (degree + 1))
    q_p = np.concatenate([[0.0], frontier.p])
    q_val = np.concatenate([[-ew], frontier.quantum_payoff])
    certs = [certified_classical_bound(float(p), params, "tight") for p in frontier.p]
    v_half, s_half = best_classical_value_at_half(params)
    c_p = np.concatenate([[0.0], frontier.p, [0.5]])
    c_val = np.concatenate([[-ew], [c.best_value for c in certs], [v_half]])
    c_str = (ThresholdStrategy(math.inf, math.inf, 1), *(c.strategy for c in certs), s_half)
    return NoiseReference(
        params=params,
        method=method,
        frontier=frontier,
        quantum_p=q_p,
        quantum_payoff=q_val,
        quantum_strategies=(zero, *frontier.quantum_strategies),
        quantum_error=float(np.max(frontier.quantum_error)),
        classical_p=c_p,
        classical_payoff=c_val,
        classical_strategies=c_str,
        epsilon=float(epsilon),
    )


# ---------------------------------------------------------------------------- strategies
@dataclass(frozen=True)
class Component:
    """One deterministic-angle or threshold strategy inside a shared-randomness mixture.

    Attributes:
        weight: probability (shared random number) of playing it within its branch.
        kind: "quantum" (measure the pair at polynomial angles) or "classical" (threshold
            pair, pair unused).
        splitting_probability: its p on the pair actually held (eq. N1 for quantum).
        payoff: its game payoff on that pair (eq. D32 × η, or D7).
        strategy: the angles (D31) or the thresholds (C1).
        ideal_splitting_probability: p'' of the angles on an ideal pair (quantum only).
    """

    weight: float
    kind: str
    splitting_probability: float
    payoff: float
    strategy: PolynomialStrategy | ThresholdStrategy
    ideal_splitting_probability: float | None = None

    def to_dict(self) -> dict[str, object]:
        """Plain-JSON form."""
        s = self.strategy
        strat = (
            s.to_dict()
            if isinstance(s, PolynomialStrategy)
            else {"theta_a": s.theta_a, "theta_b": s.theta_b, "orientation": s.orientation}
        )
        return {
            "weight": self.weight,
            "kind": self.kind,
            "splitting_probability": self.splitting_probability,
            "payoff": self.payoff,
            "ideal_splitting_probability": self.ideal_splitting_probability,
            "strategy": strat,
        }


@dataclass(frozen=True)
class MixedStrategy:
    """Noise-aware routing at a target p: what to do with and without a pair (eqs. N2, N3).

    Attributes:
        p: splitting probability of the whole mix (equals the target).
        payoff: A_mix = a A_with_pair + (1 − a) A_fallback (eq. N2).
        visibility, effective_visibility, availability, readout_error_a, readout_error_b:
            the pair model (η = v (1 − 2e_A)(1 − 2e_B)).
        with_pair: the mixture played when a pair is available (weights sum to 1; empty
            when a = 0).
        fallback: the classical mixture played otherwise, with a shared random bit
            flipping both outputs (empty when a = 1).
        tensor: X–Z correlation tensor T of the pair the mix was chosen for (readout
            included); visibility and effective_visibility are NaN for a general T.
    """

    p: float
    payoff: float
    visibility: float
    effective_visibility: float
    availability: float
    readout_error_a: float
    readout_error_b: float
    with_pair: tuple[Component, ...]
    fallback: tuple[Component, ...]
    tensor: NDArray[np.float64] | None = None

    @property
    def with_pair_p(self) -> float:
        """Splitting probability of the with-pair branch."""
        return float(sum(c.weight * c.splitting_probability for c in self.with_pair))

    @property
    def fallback_p(self) -> float:
        """Splitting probability of the fallback branch."""
        return float(sum(c.weight * c.splitting_probability for c in self.fallback))

    def to_dict(self) -> dict[str, object]:
        """Plain-JSON form."""
        return {
            "p": self.p,
            "payoff": self.payoff,
            "visibility": self.visibility,
            "effective_visibility": self.effective_visibility,
            "availability": self.availability,
            "readout_error_a": self.readout_error_a,
            "readout_error_b": self.readout_error_b,
            "with_pair": [c.to_dict() for c in self.with_pair],
            "fallback": [c.to_dict() for c in self.fallback],
            "tensor": None if self.tensor is None else np.asarray(self.tensor).tolist(),
        }


@dataclass(frozen=True)
class QuantumCurve:
    """Exhibited quantum strategies on one kind of pair and the points (p, A) they reach.

    Attributes:
        tensor: the pair's X–Z correlation tensor T (readout errors included).
        p: splitting probability of each strategy on that pair (eq. D33 with T).
        payoff: its payoff on that pair (eq. D32 with T).
        strategies: the polynomial angles (D31).
        ideal_p: each strategy's splitting probability on an ideal pair, when the curve is
            the image (N1) of the ideal frontier (isotropic T); None otherwise.
        error: largest quadrature error bound of ``payoff``.
    """

    tensor: NDArray[np.float64]
    p: NDArray[np.float64]
    payoff: NDArray[np.float64]
    strategies: tuple[PolynomialStrategy, ...]
    ideal_p: NDArray[np.float64] | None
    error: float


def _isotropic_curve(ref: NoiseReference, eta: float) -> QuantumCurve:
    """The ideal frontier mapped by eq. N1 to pairs with T = η·I."""
    qx = ref.quantum_p if eta == 1.0 else 0.5 * (1.0 - eta * (1.0 - 2.0 * ref.quantum_p))
    return QuantumCurve(
        tensor=eta * np.eye(2),
        p=qx,
        payoff=eta * ref.quantum_payoff,
        strategies=ref.quantum_strategies,
        ideal_p=ref.quantum_p,
        error=eta * ref.quantum_error,
    )


def quantum_curve(
    ref: NoiseReference,
    tensor: ArrayLike,
    *,
    restarts: int = 4,
    seed: int = 1,
    anchor_spacing: float = 0.05,
) -> QuantumCurve:
    """Noise-aware angles for pairs with X–Z correlation tensor T (App. D3 re-run on T).

    For T = η·I the ideal frontier maps exactly (eq. N1). Otherwise (e.g. a pair that
    dephased in memory, T = diag(ZZ, XX) from :func:`qnet.physics.noise.stored_pair`, times the
    readout factor) the polynomial angles are re-optimized on T at every p of the
    reference grid that T can reach (p > (1 − σ_max(T))/2), plus the best constant angles
    (n_A, n_B = the top singular vectors of T, p = (1 − σ_max)/2, A = −σ_max E[w]).
    """
    t = np.asarray(tensor, dtype=float)
    if t.shape != (2, 2) or not np.all(np.isfinite(t)):
        raise ValueError(f"tensor must be a finite 2x2 matrix (X-Z plane), got shape {t.shape}")
    u, sv, vt = np.linalg.svd(t)
    if sv[0] > 1.0 + 1e-9:
        raise ValueError(f"tensor must have spectral norm <= 1, got {sv[0]:.6g}")
    if np.allclose(t, t[0, 0] * np.eye(2), rtol=0.0, atol=1e-15) and 0.0 <= t[0, 0] <= 1.0:
        return _isotropic_curve(ref, float(t[0, 0]))
    grid = ref.frontier.p[ref.frontier.p > 0.5 * (1.0 - sv[0]) + 1e-6]
    if grid.size == 0:
        raise ValueError("tensor reaches none of the reference grid's p (it is too weak)")
    fr = pareto_frontier(
        grid,
        ref.params,
        method=ref.method,  # type: ignore[arg-type]
        degree=ref.frontier.degree,
        quadrature_points=ref.frontier.quadrature_points,
        restarts=restarts,
        seed=seed,
        correlation_tensor=t,
        anchor_spacing=anchor_spacing,
    )
    deg1 = ref.frontier.degree + 1
    th_a = 0.5 * math.atan2(u[1, 0], u[0, 0])
    th_b = 0.5 * math.atan2(vt[0, 1], vt[0, 0])
    const = PolynomialStrategy((th_a,) + (0.0,) * (deg1 - 1), (th_b,) + (0.0,) * (deg1 - 1))
    ew = mean_splitting_benefit(ref.params)
    return QuantumCurve(
        tensor=t,
        p=np.concatenate([[0.5 * (1.0 - sv[0])], fr.p]),
        payoff=np.concatenate([[-sv[0] * ew], fr.quantum_payoff]),
        strategies=(const, *fr.quantum_strategies),
        ideal_p=None,
        error=float(np.max(fr.quantum_error)),
    )


def _hulls(ref: NoiseReference, curve: QuantumCurve) -> tuple[_Hull, _Hull]:
    """(F, G): hull of the curve's quantum points and the classical points; classical hull."""
    f = _upper_hull(
        np.concatenate([curve.p, ref.classical_p]),
        np.concatenate([curve.payoff, ref.classical_payoff]),
    )
    g = _upper_hull(ref.classical_p, ref.classical_payoff)
    nq = curve.p.size
    return f, _Hull(g.x, g.y, tuple(nq + k for k in g.label))


def _component(
    ref: NoiseReference, curve: QuantumCurve, hull: _Hull, k: int, weight: float
) -> Component:
    nq = curve.p.size
    label = hull.label[k]
    x, y = float(hull.x[k]), float(hull.y[k])
    if label < nq:
        ideal = None if curve.ideal_p is None else float(curve.ideal_p[label])
        return Component(weight, "quantum", x, y, curve.strategies[label], ideal)
    return Component(weight, "classical", x, y, ref.classical_strategies[label - nq])


def _mixture(
    ref: NoiseReference, curve: QuantumCurve, hull: _Hull, p: float
) -> tuple[Component, ...]:
    i, j, w = hull.segment(p)
    if i == j or w >= 1.0:
        return (_component(ref, curve, hull, i, 1.0),)
    if w <= 0.0:
        return (_component(ref, curve, hull, j, 1.0),)
    return (_component(ref, curve, hull, i, w), _component(ref, curve, hull, j, 1.0 - w))


def _branch_value(components: tuple[Component, ...]) -> tuple[float, float]:
    pay = sum(c.weight * c.payoff for c in components)
    split = sum(c.weight * c.splitting_probability for c in components)
    return float(pay), float(split)


def _best_mix(
    ref: NoiseReference, p: float, curve: QuantumCurve, a: float
) -> tuple[tuple[Component, ...], tuple[Component, ...]]:
    """Argmax of (N3): the with-pair and fallback mixtures."""
    f, g = _hulls(ref, curve)
    if a >= 1.0:
        return _mixture(ref, curve, f, p), ()
    if a <= 0.0:
        return (), _mixture(ref, curve, g, p)
    xs, _, idx = _minkowski(a, f, g)
    k = int(np.searchsorted(xs, p, side="right")) - 1
    k = min(max(k, 0), len(xs) - 1)
    if k < len(xs) - 1 and abs(xs[k + 1] - p) <= _XTOL:
        k += 1
    if k == len(xs) - 1 or abs(p - xs[k]) <= _XTOL:
        i, j = idx[k]
        return _mixture(ref, curve, f, float(f.x[i])), _mixture(ref, curve, g, float(g.x[j]))
    (i0, j0), (i1, _) = idx[k], idx[k + 1]
    if i1 != i0:  # an edge of F: the fallback sits at G's vertex j0
        pc = float(g.x[j0])
        pq = (p - (1.0 - a) * pc) / a
    else:  # an edge of G: the with-pair branch sits at F's vertex i0
        pq = float(f.x[i0])
        pc = (p - a * pq) / (1.0 - a)
    return _mixture(ref, curve, f, pq), _mixture(ref, curve, g, pc)


def noise_aware_strategy(
    ref: NoiseReference,
    p: float,
    visibility: float = 1.0,
    availability: float = 1.0,
    readout_error_a: float = 0.0,
    readout_error_b: float = 0.0,
    *,
    curve: QuantumCurve | None = None,
) -> MixedStrategy:
    """Best mix of quantum angles and classical fallback hitting p exactly (eqs. N1–N3).

    The pair is a Werner pair of the given visibility read out with errors e_A, e_B
    (T = η·I), or, when ``curve`` is given (:func:`quantum_curve` for any tensor T, e.g.
    a dephased pair), the pair that curve was computed for; visibility and readout errors
    must then be left at their defaults (T already includes them).
    """
    p = _check_target(p)
    a = _check_unit("availability", availability)
    if curve is None:
        v = _check_unit("visibility", visibility)
        eta = effective_visibility(v, readout_error_a, readout_error_b)
        curve = _isotropic_curve(ref, eta)
    else:
        if visibility != 1.0 or readout_error_a != 0.0 or readout_error_b != 0.0:
            raise ValueError(
                "visibility and readout errors must be left at 1 and 0 when a curve is given "
                "(its tensor T already includes them)"
            )
        v = eta = math.nan
    with_pair, fallback = _best_mix(ref, p, curve, a)
    aq, pq = _branch_value(with_pair) if with_pair else (0.0, 0.0)
    ac, pc = _branch_value(fallback) if fallback else (0.0, 0.0)
    payoff, split = availability_mix(a, aq, pq, ac, pc)
    return MixedStrategy(
        p=split,
        payoff=payoff,
        visibility=v,
        effective_visibility=eta,
        availability=a,
        readout_error_a=float(readout_error_a),
        readout_error_b=float(readout_error_b),
        with_pair=with_pair,
        fallback=fallback,
        tensor=curve.tensor,
    )


def noisy_quantum_payoff(ref: NoiseReference, p: float, eta: float) -> float:
    """Best pure-quantum payoff at p on a pair of effective visibility η, no mixing (N1).

    η·Q(p'') with p'' = 1/2 − (1 − 2p)/(2η) (linear between grid strategies, i.e. their
    shared-randomness mixture); NaN when |1 − 2p| > η (p out of reach of the pair).
    At η = 1 this is the ideal frontier's quantum payoff at p exactly.
    """
    p = _check_target(p)
    eta = _check_unit("eta", eta)
    if eta == 1.0:
        pp = p
    elif eta == 0.0 or (1.0 - 2.0 * p) > eta:
        return math.nan
    else:
        pp = 0.5 - (1.0 - 2.0 * p) / (2.0 * eta)
    if pp > ref.quantum_p[-1] + _XTOL:
        return math.nan
    return float(eta * np.interp(pp, ref.quantum_p, ref.quantum_payoff))


def _ideal_advantage(ref: NoiseReference, p: float) -> tuple[float, float]:
    """(V(p; 1, 1), C(p))."""
    return noise_aware_strategy(ref, p).payoff, ref.certified_envelope(p)


def retained_advantage(
    ref: NoiseReference,
    p: float,
    visibility: float,
    availability: float = 1.0,
    readout_error_a: float = 0.0,
    readout_error_b: float = 0.0,
) -> float:
    """Retained advantage (V(p; η, a) − C(p))⁺ / (V(p; 1, 1) − C(p)); NaN if no ideal one."""
    ideal, bench = _ideal_advantage(ref, p)
    if ideal - ref.quantum_error <= bench:
        return math.nan
    noisy = noise_aware_strategy(ref, p, visibility, availability, readout_error_a, readout_error_b)
    return max(0.0, noisy.payoff - bench) / (ideal - bench)


@dataclass(frozen=True)
class NaiveResult:
    """Noiseless-optimal angles (and the ideal classical fallback) on noisy pairs.

    Attributes:
        nominal_p: the p the angles and the fallback were designed for.
        achieved_p: the splitting probability they actually give (pulled towards 1/2).
        payoff: their payoff A (eqs. N1, N2).
        noise_aware_payoff: V at the achieved p (eq. N3) -- the fair comparison.
        classical_bound: C at the achieved p (certified envelope).
        advantage: payoff − classical_bound.
        strategy: the naive mix, as a :class:`MixedStrategy` at the achieved p.
    """

    nominal_p: float
    achieved_p: float
    payoff: float
    noise_aware_payoff: float
    classical_bound: float
    advantage: float
    strategy: MixedStrategy

    def to_dict(self) -> dict[str, object]:
        """Plain-JSON form."""
        return {
            "nominal_p": self.nominal_p,
            "achieved_p": self.achieved_p,
            "payoff": self.payoff,
            "noise_aware_payoff": self.noise_aware_payoff,
            "classical_bound": self.classical_bound,
            "advantage": self.advantage,
            "strategy": self.strategy.to_dict(),
        }


def naive_strategy(
    ref: NoiseReference,
    p_nominal: float,
    visibility: float = 1.0,
    availability: float = 1.0,
    readout_error_a: float = 0.0,
    readout_error_b: float = 0.0,
    *,
    with_comparison: bool = True,
) -> NaiveResult:
    """The ideal design for p_nominal played on noisy pairs, reported at its achieved p (N1, N2).

    With a pair: the frontier's angles at p_nominal; without: the classical envelope's
    mixture at p_nominal. ``with_comparison=False`` skips V and C at the achieved p.
    """
    p0 = _check_target(p_nominal)
    v = _check_unit("visibility", visibility)
    a = _check_unit("availability", availability)
    eta = effective_visibility(v, readout_error_a, readout_error_b)
    hit = np.flatnonzero(np.abs(ref.quantum_p - p0) <= _XTOL)
    if hit.size == 0:
        raise ValueError(
            f"p_nominal={p0!r} is not on the reference grid; build the reference with it "
            "among p_targets"
        )
    k = int(hit[0])
    q = Component(
        1.0,
        "quantum",
        0.5 * (1.0 - eta * (1.0 - 2.0 * p0)),
        eta * float(ref.quantum_payoff[k]),
        ref.quantum_strategies[k],
        p0,
    )
    iso = _isotropic_curve(ref, eta)
    fallback = _mixture(ref, iso, _hulls(ref, iso)[1], p0)
    ac, pc = _branch_value(fallback)
    payoff, split = availability_mix(a, q.payoff, q.splitting_probability, ac, pc)
    mix = MixedStrategy(
        p=split,
        payoff=payoff,
        visibility=v,
        effective_visibility=eta,
        availability=a,
        readout_error_a=float(readout_error_a),
        readout_error_b=float(readout_error_b),
        with_pair=(q,) if a > 0 else (),
        fallback=fallback if a < 1 else (),
    )
    aware = bench = math.nan
    if with_comparison and 0.0 < split < 0.5:
        aware = noise_aware_strategy(ref, split, v, a, readout_error_a, readout_error_b).payoff
        bench = ref.certified_envelope(split)
    return NaiveResult(p0, split, payoff, aware, bench, payoff - bench, mix)


# ---------------------------------------------------------------------------- thresholds
@dataclass(frozen=True)
class CriticalVisibility:
    """Critical visibility v_c(p) and fidelity F_c = (3 v_c + 1)/4 (root search in v).

    Attributes:
        p: target splitting probability (noise-aware) or nominal p (naive).
        strategy: "noise_aware" or "naive".
        availability, readout_error_a, readout_error_b: the rest of the pair model.
        visibility: v_c; NaN when even v = 1 gives no advantage, 0 when every v does.
        fidelity: F_c.
        xtol: bracket width of the bisection; the true threshold lies in
            (visibility − xtol, visibility].
        certificate: "tight" or "paper".
    """

    p: float
    strategy: str
    availability: float
    readout_error_a: float
    readout_error_b: float
    visibility: float
    fidelity: float
    xtol: float
    certificate: str

    def to_dict(self) -> dict[str, object]:
        """Plain-JSON form."""
        return dict(self.__dict__)


def _margin(
    ref: NoiseReference,
    p: float,
    v: float,
    a: float,
    ea: float,
    eb: float,
    bench: float | None,
) -> float:
    """Payoff minus quantum error bound minus C, at p (bench = C(p)) or, naive, achieved p."""
    if bench is None:
        res = naive_strategy(ref, p, v, a, ea, eb, with_comparison=False)
        if not 0.0 < res.achieved_p < 0.5:
            return -math.inf
        return res.payoff - ref.quantum_error - ref.certified_envelope(res.achieved_p)
    return noise_aware_strategy(ref, p, v, a, ea, eb).payoff - ref.quantum_error - bench


def critical_visibility(
    ref: NoiseReference,
    p: float,
    availability: float = 1.0,
    readout_error_a: float = 0.0,
    readout_error_b: float = 0.0,
    *,
    strategy: Literal["noise_aware", "naive"] = "noise_aware",
    xtol: float = 1e-6,
    scan_points: int = 51,
) -> CriticalVisibility:
    """Smallest v at which the strategy beats the certified classical envelope at p (Sec. VII).

    Noise-aware: V(p; η(v), a) is non-decreasing in v, so plain bisection on [0, 1] to
    ``xtol``. Naive: its margin need not be monotone in v, so v is first scanned on
    ``scan_points`` values from 1 down; the bisection then brackets the last crossing, so
    the naive strategy beats C at every scanned v above the reported v_c.
    """
    p = _check_target(p)
    a = _check_unit("availability", availability)
    readout_factor(readout_error_a, readout_error_b)  # validates both
    if strategy not in ("noise_aware", "naive"):
        raise ValueError(f"strategy must be 'noise_aware' or 'naive', got {strategy!r}")
    if not (isinstance(xtol, int | float) and 0.0 < xtol < 0.5):
        raise ValueError(f"xtol must be in (0, 0.5), got {xtol!r}")
    naive = strategy == "naive"
    bench = None if naive else ref.certified_envelope(p)

    def margin(v: float) -> float:
        return _margin(ref, p, v, a, readout_error_a, readout_error_b, bench)

    def result(v: float) -> CriticalVisibility:
        fid = fidelity_from_visibility(v) if math.isfinite(v) else math.nan
        return CriticalVisibility(
            p,
            strategy,
            a,
            float(readout_error_a),
            float(readout_error_b),
            v,
            fid,
            float(xtol),
            ref.method,
        )

    if not margin(1.0) > 0:
        return result(math.nan)
    lo, hi = 0.0, 1.0
    if naive:
        grid = np.linspace(1.0, 0.0, max(int(scan_points), 2))
        lo = 0.0
        for v_prev, v in zip(grid[:-1], grid[1:], strict=True):
            if not margin(float(v)) > 0:
                lo, hi = float(v), float(v_prev)
                break
        else:
            return result(0.0)
    elif margin(0.0) > 0:
        return result(0.0)
    while hi - lo > xtol:
        mid = 0.5 * (lo + hi)
        if margin(mid) > 0:
            hi = mid
        else:
            lo = mid
    return result(hi)


@dataclass(frozen=True)
class RetainedGrid:
    """Retained advantage over fidelity × availability, per p (what `qnet thresholds` prints).

    Attributes:
        p: target splitting probabilities.
        fidelity, visibility: the fidelity axis and v = (4F − 1)/3.
        availability: the availability axis.
        readout_error_a, readout_error_b: readout errors applied everywhere.
        retained: array [p, fidelity, availability] of retained advantage (NaN if none
            ideally).
        advantage: the same grid of V − C (payoff units).
        critical: noise-aware v_c at a = 1 per p.
        critical_naive: naive v_c at a = 1 per p.
        critical_by_availability: array [p, availability] of noise-aware v_c (the contour).
        ideal_advantage: V(p; 1, 1) − C(p) per p.
        certificate: "tight" or "paper".
    """

    p: NDArray[np.float64]
    fidelity: NDArray[np.float64]
    visibility: NDArray[np.float64]
    availability: NDArray[np.float64]
    readout_error_a: float
    readout_error_b: float
    retained: NDArray[np.float64]
    advantage: NDArray[np.float64]
    critical: tuple[CriticalVisibility, ...]
    critical_naive: tuple[CriticalVisibility, ...]
    critical_by_availability: NDArray[np.float64]
    ideal_advantage: NDArray[np.float64]
    certificate: str

    def to_dict(self) -> dict[str, object]:
        """Plain-JSON form (keys documented in the README)."""
        return {
            "certificate": self.certificate,
            "p": self.p.tolist(),
            "critical_visibility": [c.visibility for c in self.critical],
            "critical_fidelity": [c.fidelity for c in self.critical],
            "critical_visibility_naive": [c.visibility for c in self.critical_naive],
            "critical_fidelity_naive": [c.fidelity for c in self.critical_naive],
            "ideal_advantage": self.ideal_advantage.tolist(),
            "fidelity": self.fidelity.tolist(),
            "visibility": self.visibility.tolist(),
            "availability": self.availability.tolist(),
            "readout_error_a": self.readout_error_a,
            "readout_error_b": self.readout_error_b,
            "retained": self.retained.tolist(),
            "advantage": self.advantage.tolist(),
            "critical_visibility_by_availability": self.critical_by_availability.tolist(),
            "xtol": self.critical[0].xtol if self.critical else None,
        }


def retained_grid(
    ref: NoiseReference,
    p_values: ArrayLike,
    fidelities: ArrayLike,
    availabilities: ArrayLike,
    readout_error_a: float = 0.0,
    readout_error_b: float = 0.0,
    *,
    xtol: float = 1e-6,
) -> RetainedGrid:
    """Retained advantage on fidelity × availability and v_c per p (eqs. N1–N3, Sec. VII)."""
    ps = np.atleast_1d(np.asarray(p_values, dtype=float))
    fids = np.atleast_1d(np.asarray(fidelities, dtype=float))
    avs = np.atleast_1d(np.asarray(availabilities, dtype=float))
    for name, arr, lo in (("fidelity", fids, 0.25), ("availability", avs, 0.0)):
        if arr.size == 0 or np.any(~np.isfinite(arr)) or np.any(arr < lo) or np.any(arr > 1):
            raise ValueError(f"{name} values must be in [{lo:g}, 1], got {arr.tolist()!r}")
    vis = (4.0 * fids - 1.0) / 3.0
    retained = np.full((ps.size, fids.size, avs.size), math.nan)
    advantage = np.full_like(retained, math.nan)
    ideal_adv = np.empty(ps.size)
    crit, crit_naive = [], []
    contour = np.full((ps.size, avs.size), math.nan)
    for i, p in enumerate(ps):
        ideal, bench = _ideal_advantage(ref, float(p))
        ideal_adv[i] = ideal - bench
        for j, v in enumerate(vis):
            for k, a in enumerate(avs):
                pay = noise_aware_strategy(
                    ref,
                    float(p),
                    float(min(max(v, 0.0), 1.0)),
                    float(a),
                    readout_error_a,
                    readout_error_b,
                ).payoff
                advantage[i, j, k] = pay - bench
                if ideal - ref.quantum_error > bench:
                    retained[i, j, k] = max(0.0, pay - bench) / (ideal - bench)
        crit.append(
            critical_visibility(ref, float(p), 1.0, readout_error_a, readout_error_b, xtol=xtol)
        )
        crit_naive.append(
            critical_visibility(
                ref, float(p), 1.0, readout_error_a, readout_error_b, strategy="naive", xtol=xtol
            )
        )
        for k, a in enumerate(avs):
            contour[i, k] = (
                crit[-1].visibility  # the same (deterministic) bisection, already done
                if a == 1.0
                else critical_visibility(
                    ref, float(p), float(a), readout_error_a, readout_error_b, xtol=xtol
                ).visibility
            )
    return RetainedGrid(
        p=ps,
        fidelity=fids,
        visibility=vis,
        availability=avs,
        readout_error_a=float(readout_error_a),
        readout_error_b=float(readout_error_b),
        retained=retained,
        advantage=advantage,
        critical=tuple(crit),
        critical_naive=tuple(crit_naive),
        critical_by_availability=contour,
        ideal_advantage=ideal_adv,
        certificate=ref.method,
    )
