"""Critical visibility v_c(p) (bisection on the margin over the certified classical
envelope), naive ideal-pair angles on noisy pairs, and the retained-advantage grid."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray

from qnet.games.routing.noise_aware.hull import _XTOL
from qnet.games.routing.noise_aware.mixing import (
    Component,
    MixedStrategy,
    _branch_value,
    _hulls,
    _ideal_advantage,
    _mixture,
    noise_aware_strategy,
)
from qnet.games.routing.noise_aware.reference import (
    NoiseReference,
    _check_target,
    _check_unit,
    _isotropic_curve,
    effective_visibility,
)
from qnet.physics.noise import availability_mix, fidelity_from_visibility, readout_factor

__all__ = [
    "CriticalVisibility",
    "NaiveResult",
    "RetainedGrid",
    "critical_visibility",
    "naive_strategy",
    "retained_grid",
]


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
        quantum_family: family of the reference's angles, "polynomial" or "optimal".
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
    quantum_family: str = "polynomial"

    @property
    def lowest_critical(self) -> CriticalVisibility | None:
        """The noise-aware v_c (a = 1) with the lowest critical fidelity over p, if any."""
        finite = [c for c in self.critical if math.isfinite(c.fidelity)]
        return min(finite, key=lambda c: (c.fidelity, c.p)) if finite else None

    def to_dict(self) -> dict[str, object]:
        """Plain-JSON form (keys documented in the README)."""
        low = self.lowest_critical
        return {
            "certificate": self.certificate,
            "quantum_family": self.quantum_family,
            "lowest_critical_fidelity": (
                None
                if low is None
                else {"p": low.p, "fidelity": low.fidelity, "visibility": low.visibility}
            ),
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
        quantum_family=ref.frontier.quantum_family,
    )
