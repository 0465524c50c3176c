"""Predictions of the physical layer (SeQUeNCe Barrett–Kok over fiber), in pure numpy.

What the SeQUeNCe engine (``nodes/`` + ``protocols/entanglement.py``) does, written as
closed forms so that tests can hold the simulation to them and so that the fast analytic
engine (:mod:`qnet.engines.analytic`) can sample the same physics. Nothing here imports
SeQUeNCe; the constants below are SeQUeNCe 1.3.1's defaults that the engine keeps.

Topology: router A -- fiber (``arm_a_km``) -- midpoint station (two detectors) -- fiber
(``arm_b_km``) -- router B. SeQUeNCe's ``BarretKokA`` runs two rounds per attempt; in each
round both memories emit one (possibly empty) photon timed to reach the station together.
Router B is the protocol's *primary* (its name ``router_b`` sorts after ``router_a``).

**Per-photon detection probability** of the photon emitted at router X::

    q_X = memory_efficiency · 10^(−attenuation · arm_X / 10) · detector_efficiency.

**Success probability of one attempt, as SeQUeNCe computes it.** Round 1 prepares both
memories in |+>. SeQUeNCe's ``SingleAtomBSM`` measures both photons' presence (which is the
memories' Z value); when exactly one photon is present (probability 1/2) it sets the pair to
Ψ± and clicks with the loss of *that* photon, which is A's or B's with probability 1/2 each.
Round 2 (after an X flip) always has exactly one photon, again A's or B's at random. So, with
``q̄ = (q_A + q_B)/2``::

    p_SeQUeNCe = (1/2) · q̄ · q̄ = q̄² / 2.

*Where this departs from physics.* In the real protocol the photon that clicks in round 1
and the one that clicks in round 2 come from *different* routers (the X flip swaps which
memory is bright), so the textbook value is ``p = q_A q_B / 2``. SeQUeNCe draws the source of
each round's photon independently, which replaces the geometric mean sqrt(q_A q_B) by the
arithmetic mean q̄. For equal arms both agree; for unequal arms SeQUeNCe is optimistic by
the factor (q̄² / (q_A q_B)) ≥ 1 (e.g. 1.05 for arms of 10 and 20 km at 0.2 dB/km).
:func:`textbook_success_probability` gives the physical value for comparison.

**Round-1 pass probability** (decides the attempt's duration): round 2 runs when round 1
produced exactly one valid click. Besides the single-photon case, both memories bright
(probability 1/4) can give one click (one photon lost, or both photons on the same
detector, where the 40 ns dead time swallows the second); such an attempt always fails in
round 2 but takes its full length::

    r_1 = (1/2) q̄ + (1/4) [q_A (1 − q_B) + q_B (1 − q_A) + q_A q_B / 2] = q̄ − (3/8) q_A q_B.

**Timing** (integer picoseconds, exactly as the protocol schedules it). Photon delays
``τ_X = round(arm_X / c)``; classical delays station->X ``d_X = τ_X`` and A<->B
``d_AB = d_A + d_B`` (classical messages follow the same fiber). The primary (B) sends
NEGOTIATE; the non-primary (A) picks its emission time on SeQUeNCe's quantum-channel time
grid (80 MHz, bins of 12.5 ns) at or after ``now + τ_B − τ_A + d_AB`` and tells B to emit
``τ_A − τ_B`` later, so both photons reach the station at the same instant -- which is only
possible if ``τ_A − τ_B`` is a multiple of 12.5 ns (2.5 m of fiber at 2e5 km/s; otherwise
SeQUeNCe fails with "Invalid eg emit times"; :func:`arm_grid_error` refuses such input).
*SeQUeNCe's grid rounding* (``QuantumChannel.time_to_timebin``, 1.3.1): a time t falls in
bin x = t / 12.5 ns; an integer x (to 1e-8) is kept, otherwise SeQUeNCe returns
``int(x) + 1`` where gmpy2's ``int`` of an mpfr rounds to *nearest* (ties to even), not
down. So the emission lands on the first grid time after t when x's fractional part is
below 1/2, but one bin (12.5 ns) later when it is above 1/2 (at exactly 1/2: later iff
floor(x) is odd). :func:`sequence_time_bin` reproduces this; qnet keeps SeQUeNCe's channel
unchanged, so the prediction follows the extra bin. It only shows when the non-primary's
earliest emission time is off the grid by more than half a bin, i.e. at short arms where
the memory's re-excitation period (a whole number of bins for 1 and 2 MHz) plus the
negotiation delay 2 d_AB sets the pace: at 1 m arms (τ = 5 ns, 2 d_AB = 20 ns, 1.6 bins)
every round waits one extra bin, so D_fail = 1.025 µs, not 1.0125 µs, at 1 MHz.
Each round ends ``d_X + 10 ps`` after the photons' arrival at the station (the herald's
flight plus SeQUeNCe's 10 ps gap); qnet's supply restarts a slot pair when both routers
have finished, ``max(d_A, d_B) + 10 ps`` after the last arrival. A failed round 1 therefore
ends an attempt of length ``D_fail``; a passed round 1 adds round 2 for ``D_full``; both
follow from the grid arithmetic in :func:`attempt_durations_ps`. Attempt period
``E[D] = (1 − r_1) D_fail + r_1 D_full``; heralded pairs per second with all K slot pairs
generating (pairs released as soon as they are usable) ``K · p / E[D]``.

*Where the durations are not exact.* (1) Each slot pair's first attempt starts at t = 0,
not one steady-state restart after an emission, so its length differs (47.5 ns at 1 m
arms). (2) K > 1 with ``arm_a_km > arm_b_km``: then D_full ≠ 2 D_fail, slot pairs drift
against each other and, when two meet, the guard (:mod:`nodes.devices`) delays one by a
few bins; measured at arms 1.0025 / 1.0 km, K = 2: 12 of 3001 attempts one bin longer,
+0.004 % on E[D]. With ``arm_b_km >= arm_a_km`` D_full = 2 D_fail and the initial 4-bin
spacing of the slot pairs is kept forever. (3) A memory period 1/f_mem that is not a
whole number of ps is added in floating point by SeQUeNCe at absolute times; a requested
time within float rounding of a bin boundary could fall one bin either way.

**Herald delays.** The herald of the station's round-2 click reaches router X at
``T_herald + d_X + 10 ps`` (a few ps after the pure propagation delay); a pair is usable from
``T_herald + max`` of the two.

**Fidelity.** SeQUeNCe sets the heralded pair to the Werner state of the memories' raw
fidelity F (v = (4F − 1)/3). qnet then lets each half decohere (T1, T2 of its router,
:func:`qnet.physics.noise.memory_kraus`) for the time it has been in memory: since its round-2
emission, i.e. ``τ_X + age`` where ``age`` is the time since the herald at the station. So
even the "fidelity at herald" includes the photons' flight time ``τ_A, τ_B`` of storage:
F(age) = :func:`qnet.physics.noise.stored_pair` (v, τ_A + age, τ_B + age, T1/T2 per router).

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
