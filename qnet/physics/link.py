"""Closed-form predictions of the SeQUeNCe Barrett–Kok link over fiber, in pure numpy.

What the SeQUeNCe engine (``nodes/`` + ``protocols/entanglement.py``) does, as formulas the
tests hold the simulation to and the analytic engine (:mod:`qnet.engines.analytic`)
samples; nothing here imports SeQUeNCe. Derivations, where SeQUeNCe departs from physics
and its grid-rounding quirk: docs/physical-layer.md.

Per-photon detection probability of router X's photon, and the success probability of one
attempt as SeQUeNCe computes it (the physical value is q_A q_B / 2,
:func:`textbook_success_probability`), with its round-1 pass probability::

    q_X = memory_efficiency · 10^(−attenuation · arm_X / 10) · detector_efficiency
    p = q̄² / 2,   q̄ = (q_A + q_B) / 2,        r_1 = q̄ − (3/8) q_A q_B

Timing in integer ps on SeQUeNCe's 12.5 ns emission grid (:func:`sequence_time_bin`,
:func:`attempt_durations_ps`; arms must differ by a multiple of 2.5 m,
:func:`arm_grid_error`); attempt period and heralded pairs per second with K slot pairs::

    E[D] = (1 − r_1) D_fail + r_1 D_full,        rate = K · p / E[D]

A pair is usable from ``T_herald + max(d_A, d_B) + 10 ps``. Its fidelity at age t after the
herald is :func:`qnet.physics.noise.stored_pair` (v, τ_A + t, τ_B + t, T1/T2 per router),
v = (4F − 1)/3 for the raw fidelity F.

Examples:
    >>> from qnet.config import Scenario
    >>> pred = predict(Scenario.ideal(link={"arm_a_km": 10, "arm_b_km": 10}))
    >>> round(pred.success_probability, 4), round(pred.textbook_success_probability, 4)
    (0.1612, 0.1612)
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from fractions import Fraction
from typing import TYPE_CHECKING, Any

from qnet.physics.noise import stored_pair, visibility_from_fidelity

if TYPE_CHECKING:
    from qnet.config import LinkConfig, Scenario

__all__ = [
    "CLASSICAL_GAP_PS",
    "DETECTOR_DEAD_TIME_PS",
    "DETECTOR_RESOLUTION_PS",
    "EMISSION_BIN_PS",
    "PS_PER_S",
    "LinkPrediction",
    "arm_delay_ps",
    "arm_grid_error",
    "arm_transmissivity",
    "attempt_durations_ps",
    "check_sequence_link",
    "detection_probabilities",
    "fidelity_after_storage",
    "guard_bins",
    "light_speed_m_per_ps",
    "predict",
    "round_one_pass_probability",
    "sequence_time_bin",
    "success_probability",
    "textbook_success_probability",
]

PS_PER_S = 10**12
#: SeQUeNCe ``QuantumChannel`` default frequency 80 MHz: photons leave on a 12.5 ns grid.
EMISSION_BIN_PS = 12_500
#: ``BarretKokA`` starts the next round 10 ps after the herald can have arrived.
CLASSICAL_GAP_PS = 10
#: SeQUeNCe ``Detector`` defaults: count rate 25 MHz (dead time 40 ns), resolution 150 ps.
DETECTOR_DEAD_TIME_PS = 40_000
DETECTOR_RESOLUTION_PS = 150


def light_speed_m_per_ps(light_speed_km_per_s: float) -> float:
    """Fiber light speed in m/ps, the unit SeQUeNCe's ``QuantumChannel`` takes."""
    return light_speed_km_per_s * 1e3 / PS_PER_S


def arm_delay_ps(arm_km: float, light_speed_km_per_s: float) -> int:
    """Photon (and herald) flight time over one arm, rounded to ps as SeQUeNCe does."""
    return round(arm_km * 1e3 / light_speed_m_per_ps(light_speed_km_per_s))


def arm_transmissivity(arm_km: float, attenuation_db_per_km: float) -> float:
    """Fiber transmissivity 10^(−α L / 10) of one arm (SeQUeNCe ``QuantumChannel.loss``)."""
    return 10 ** (arm_km * 1e3 * (attenuation_db_per_km / 1e3) / -10)


def detection_probabilities(link: LinkConfig) -> tuple[float, float]:
    """Per-photon click probabilities q_A, q_B = η_mem · 10^(−αL_X/10) · η_det."""
    q = []
    for arm in (link.arm_a_km, link.arm_b_km):
        q.append(
            link.memory_efficiency
            * arm_transmissivity(arm, link.attenuation_db_per_km)
            * link.detector_efficiency
        )
    return q[0], q[1]


def success_probability(q_a: float, q_b: float) -> float:
    """Barrett–Kok success probability per attempt as SeQUeNCe 1.3.1 computes it: q̄²/2."""
    q_bar = 0.5 * (q_a + q_b)
    return 0.5 * q_bar * q_bar


def textbook_success_probability(q_a: float, q_b: float) -> float:
    """Physical Barrett–Kok success probability q_A q_B / 2 (one photon from each router)."""
    return 0.5 * q_a * q_b


def round_one_pass_probability(q_a: float, q_b: float) -> float:
    """Probability r_1 = q̄ − (3/8) q_A q_B that round 1 yields exactly one valid click."""
    return 0.5 * (q_a + q_b) - 0.375 * q_a * q_b


def arm_grid_error(link: LinkConfig) -> str | None:
    """Why SeQUeNCe's Barrett–Kok cannot run these arms, or None if it can.

    The two photons must leave on SeQUeNCe's 12.5 ns emission grid and meet at the station,
    so the arms' delay difference must be a multiple of 12.5 ns (2.5 m at 2e5 km/s).
    """
    tau_a = arm_delay_ps(link.arm_a_km, link.light_speed_km_per_s)
    tau_b = arm_delay_ps(link.arm_b_km, link.light_speed_km_per_s)
    diff = abs(tau_a - tau_b)
    if diff % EMISSION_BIN_PS == 0:
        return None
    step_m = EMISSION_BIN_PS * light_speed_m_per_ps(link.light_speed_km_per_s)
    below = (diff // EMISSION_BIN_PS) * step_m
    return (
        f"link.arm_a_km = {link.arm_a_km:g} and link.arm_b_km = {link.arm_b_km:g}: with the "
        f"SeQUeNCe engine the arm lengths must differ by a multiple of {step_m:g} m "
        f"(12.5 ns of fiber at light_speed_km_per_s = {link.light_speed_km_per_s:g}; "
        f"SeQUeNCe's Barrett-Kok emits on a 12.5 ns grid); they differ by "
        f"{abs(link.arm_a_km - link.arm_b_km) * 1e3:g} m -- use e.g. {below:g} m or "
        f"{below + step_m:g} m"
    )


#: SeQUeNCe's tolerance (``sequence.constants.EPSILON``) for "already on a bin boundary".
_GRID_EPSILON = Fraction(1, 10**8)


def sequence_time_bin(t_ps: float) -> int:
    """Emission bin SeQUeNCe's ``QuantumChannel.time_to_timebin`` gives time t (80 MHz).

    x = t / 12.5 ns; x if it is an integer to within 1e-8, else round-half-even(x) + 1
    (gmpy2 ``int(mpfr)`` rounds to nearest): the next bin for a fractional part < 1/2,
    the one after it for > 1/2. Exact rational arithmetic (a float t is taken exactly, as
    ``gmpy2.mpfr`` takes it).
    """
    x = Fraction(t_ps) / EMISSION_BIN_PS
    whole = math.floor(x)
    if x - whole <= _GRID_EPSILON:
        return whole
    return round(x) + 1  # Fraction.__round__ rounds half to even, like mpfr RoundToNearest


def _emission_time_ps(t_ps: float) -> int:
    """Grid time [ps] at which SeQUeNCe schedules a photon requested for time t."""
    return sequence_time_bin(t_ps) * EMISSION_BIN_PS


def attempt_durations_ps(link: LinkConfig) -> tuple[int, int]:
    """Durations (D_fail, D_full) [ps] of one attempt that stops after round 1 / runs round 2.

    Steady state of SeQUeNCe's schedule: measured from the non-primary's previous emission
    (on the grid, time 0), the attempt restarts at ``t0 = τ_A + max(d) + 10``; the NEGOTIATE
    reaches A at ``t0 + d_AB``; A emits on the first grid time at or after
    ``max(that, previous emission + 1/f_mem) + τ_B − τ_A + d_AB`` -- "first grid time" as
    SeQUeNCe rounds it (:func:`sequence_time_bin`: one bin later when that time is more than
    half a bin past a grid time). The restart after this
    attempt lies the same distance after its last emission, so the duration equals the
    last emission time. A memory slower than the protocol (1/f_mem longer than a round)
    simply delays the non-primary's emission; the primary keeps the same spacing.
    """
    tau_a = arm_delay_ps(link.arm_a_km, link.light_speed_km_per_s)
    tau_b = arm_delay_ps(link.arm_b_km, link.light_speed_km_per_s)
    d_a, d_b = tau_a, tau_b
    d_ab = d_a + d_b
    excite_ps = PS_PER_S / link.memory_frequency_hz
    gap = CLASSICAL_GAP_PS
    t0 = tau_a + max(d_a, d_b) + gap
    # round 1 (A = non-primary, B = primary)
    min1 = max(t0 + d_ab, excite_ps) + tau_b - tau_a + d_ab
    e1 = _emission_time_ps(min1)
    t1 = e1 + tau_a
    # round 2: B's round-2 start at t1 + d_b + gap sends NEGOTIATE
    s2 = t1 + d_b + gap + d_ab
    min2 = max(s2, e1 + excite_ps) + tau_b - tau_a + d_ab
    e2 = _emission_time_ps(min2)
    return e1, e2


def guard_bins(dead_time_ps: int = DETECTOR_DEAD_TIME_PS) -> int:
    """Grid bins kept free on each side of a photon so that the next one comes after the
    detectors' dead time: spacing (guard + 1) · 12.5 ns > dead time (40 ns -> 3, 50 ns)."""
    return dead_time_ps // EMISSION_BIN_PS


def check_sequence_link(link: LinkConfig) -> None:
    """Raise ValueError naming the field if SeQUeNCe's Barrett–Kok cannot run this link."""
    msg = arm_grid_error(link)
    if msg is not None:
        raise ValueError(msg)
    attempt_durations_ps(link)


@dataclass(frozen=True)
class LinkPrediction:
    """Predicted behaviour of the SeQUeNCe link (see the module docstring for formulas).

    Attributes:
        success_probability: per-attempt heralding probability as SeQUeNCe computes it.
        textbook_success_probability: physical Barrett–Kok value q_A q_B / 2.
        round_one_pass_probability: r_1, chance an attempt runs its second round.
        detection_probability_a, detection_probability_b: q_A, q_B.
        attempt_period_s: mean duration of one attempt of one slot pair [s].
        attempt_fail_s, attempt_full_s: durations of a 1-round / 2-round attempt [s].
        pair_rate_hz: heralded pairs per second, K slot pairs, pairs released when usable.
        herald_delay_a_s, herald_delay_b_s: station herald -> router X [s].
        usable_delay_s: the longer herald delay (pair usable from herald + this).
        photon_delay_a_s, photon_delay_b_s: emission -> station flight time [s]; a half has
            been stored this long already when the station heralds.
        visibility: Werner visibility set by SeQUeNCe at herald.
        fidelity_at_herald: fidelity at the station herald time (halves stored τ_A, τ_B).
        slots: K.
    """

    success_probability: float
    textbook_success_probability: float
    round_one_pass_probability: float
    detection_probability_a: float
    detection_probability_b: float
    attempt_period_s: float
    attempt_fail_s: float
    attempt_full_s: float
    pair_rate_hz: float
    herald_delay_a_s: float
    herald_delay_b_s: float
    usable_delay_s: float
    photon_delay_a_s: float
    photon_delay_b_s: float
    visibility: float
    fidelity_at_herald: float
    slots: int
    t1_a_s: float | None = None
    t2_a_s: float | None = None
    t1_b_s: float | None = None
    t2_b_s: float | None = None

    def half_storage_times_s(self, age_s: float) -> tuple[float, float]:
        """Time each half has been in memory when the pair is ``age_s`` past its herald."""
        return self.photon_delay_a_s + age_s, self.photon_delay_b_s + age_s

    def fidelity_after(self, age_s: float) -> float:
        """Fidelity of a pair ``age_s`` seconds after its station herald (T1/T2 model)."""
        if not age_s >= 0:
            raise ValueError(f"age_s must be >= 0 [s], got {age_s!r}")
        t_a, t_b = self.half_storage_times_s(age_s)
        return stored_pair(
            self.visibility, t_a, t_b, self.t1_a_s, self.t2_a_s, self.t1_b_s, self.t2_b_s
        ).fidelity

    def to_dict(self) -> dict[str, Any]:
        """Plain dict of every field (JSON-able)."""
        return asdict(self)


def predict(scenario: Scenario) -> LinkPrediction:
    """Predict the SeQUeNCe link of a scenario: p, attempt period, rate, delays, fidelity."""
    lk = scenario.link
    q_a, q_b = detection_probabilities(lk)
    p = success_probability(q_a, q_b)
    r1 = round_one_pass_probability(q_a, q_b)
    d_fail, d_full = attempt_durations_ps(lk)
    period_ps = (1.0 - r1) * d_fail + r1 * d_full
    tau_a = arm_delay_ps(lk.arm_a_km, lk.light_speed_km_per_s)
    tau_b = arm_delay_ps(lk.arm_b_km, lk.light_speed_km_per_s)
    herald_a = (tau_a + CLASSICAL_GAP_PS) / PS_PER_S
    herald_b = (tau_b + CLASSICAL_GAP_PS) / PS_PER_S
    pred = LinkPrediction(
        success_probability=p,
        textbook_success_probability=textbook_success_probability(q_a, q_b),
        round_one_pass_probability=r1,
        detection_probability_a=q_a,
        detection_probability_b=q_b,
        attempt_period_s=period_ps / PS_PER_S,
        attempt_fail_s=d_fail / PS_PER_S,
        attempt_full_s=d_full / PS_PER_S,
        pair_rate_hz=lk.memory_slots * p / (period_ps / PS_PER_S),
        herald_delay_a_s=herald_a,
        herald_delay_b_s=herald_b,
        usable_delay_s=max(herald_a, herald_b),
        photon_delay_a_s=tau_a / PS_PER_S,
        photon_delay_b_s=tau_b / PS_PER_S,
        visibility=visibility_from_fidelity(lk.raw_fidelity),
        fidelity_at_herald=0.0,
        slots=lk.memory_slots,
        t1_a_s=scenario.router_a.t1_s,
        t2_a_s=scenario.router_a.t2_s,
        t1_b_s=scenario.router_b.t1_s,
        t2_b_s=scenario.router_b.t2_s,
    )
    return _replace_fidelity(pred)


def _replace_fidelity(pred: LinkPrediction) -> LinkPrediction:
    from dataclasses import replace

    return replace(pred, fidelity_at_herald=pred.fidelity_after(0.0))


def fidelity_after_storage(scenario: Scenario, age_s: float) -> float:
    """Fidelity of a pair ``age_s`` after its station herald, under the T1/T2 memory model."""
    return predict(scenario).fidelity_after(age_s)
