"""Imperfect entangled pairs for routing decisions: states, memory channels, readout, mixing.

Pure numpy; qubit 0 of a 4x4 density matrix is router A, qubit 1 is B. A router measuring
at angle θ measures ``cos(2θ) Z + sin(2θ) X``; with ``n(θ) = (cos 2θ, sin 2θ)`` and the X–Z
correlation tensor ``T[i, j] = <σ_i ⊗ σ_j>``, ``σ = (Z, X)`` (docs/architecture.md)::

    E[o_A o_B | θ_A, θ_B] = n(θ_A)ᵀ T n(θ_B)             (paper eq. D30 for T = I)

A Werner pair of visibility v has T = v·I and F = (3v + 1)/4; readout flips multiply E by
(1 − 2e_A)(1 − 2e_B). Memory of one qubit stored for t: amplitude damping
``γ = 1 − exp(−t/T1)``, then pure dephasing at ``1/T_φ = 1/T2 − 1/(2 T1)``, so coherence
decays as ``exp(−t/T2)`` and population difference as ``exp(−t/T1)`` (T2 ≤ 2 T1; T1 omitted:
no relaxation; T2 omitted: T2 = 2 T1); an optional depolarizing memory shrinks the Bloch
vector by ``exp(−t/T_dep)``. Availability a mixes payoff and p linearly (eq. N2). Amplitude
damping biases the local marginals (:func:`marginals`); a shared flip bit removes the bias
without changing o_A·o_B (docs/physical-layer.md).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

__all__ = [
    "PAULI_I",
    "PAULI_X",
    "PAULI_Y",
    "PAULI_Z",
    "StoredPair",
    "amplitude_damping_kraus",
    "apply_kraus",
    "availability_mix",
    "bell_state",
    "correlation",
    "correlation_tensor",
    "dephasing_kraus",
    "depolarizing_kraus",
    "fidelity",
    "fidelity_from_visibility",
    "marginals",
    "measurement_observable",
    "memory_kraus",
    "readout_factor",
    "stored_pair",
    "visibility_from_fidelity",
    "werner_state",
]

PAULI_I: NDArray[np.complex128] = np.eye(2, dtype=np.complex128)
PAULI_X: NDArray[np.complex128] = np.array([[0, 1], [1, 0]], dtype=np.complex128)
PAULI_Y: NDArray[np.complex128] = np.array([[0, -1j], [1j, 0]], dtype=np.complex128)
PAULI_Z: NDArray[np.complex128] = np.array([[1, 0], [0, -1]], dtype=np.complex128)
PAULI_I.flags.writeable = False
PAULI_X.flags.writeable = False
PAULI_Y.flags.writeable = False
PAULI_Z.flags.writeable = False

_PLANE = (PAULI_Z, PAULI_X)  # σ = (Z, X): index 0 is Z, index 1 is X


# ---------------------------------------------------------------------------- validation
def _check_unit(name: str, value: float, low: float = 0.0, high: float = 1.0) -> float:
    value = float(value)
    if not (low <= value <= high) or math.isnan(value):
        raise ValueError(f"{name} must be in [{low:g}, {high:g}], got {value!r}")
    return value


def _check_time(name: str, value: float) -> float:
    value = float(value)
    if not value >= 0 or math.isinf(value):
        raise ValueError(f"{name} must be a finite time >= 0 [s], got {value!r}")
    return value


def _check_constant(name: str, value: float | None) -> float:
    """A time constant in (0, inf]; None means no decay (infinite)."""
    if value is None:
        return math.inf
    value = float(value)
    if not value > 0:
        raise ValueError(f"{name} must be > 0 [s] (or None/inf for no decay), got {value!r}")
    return value


def _check_rho(rho: ArrayLike) -> NDArray[np.complex128]:
    arr = np.asarray(rho, dtype=np.complex128)
    if arr.shape != (4, 4):
        raise ValueError(f"rho must be a 4x4 two-qubit density matrix, got shape {arr.shape}")
    return arr


# ---------------------------------------------------------------------------- states
def bell_state() -> NDArray[np.complex128]:
    """Density matrix of Φ+ = (|00> + |11>)/√2, SeQUeNCe's Barrett–Kok output (T = I, eq. D30)."""
    ket = np.array([1, 0, 0, 1], dtype=np.complex128) / math.sqrt(2)
    return np.outer(ket, ket.conj())


def werner_state(visibility: float) -> NDArray[np.complex128]:
    """Werner pair v·|Φ+><Φ+| + (1 − v)·I/4 of visibility v in [0, 1] (T = v·I, F = (3v+1)/4)."""
    v = _check_unit("visibility", visibility)
    return v * bell_state() + (1.0 - v) * np.eye(4, dtype=np.complex128) / 4.0


def fidelity_from_visibility(visibility: float) -> float:
    """Fidelity to Φ+ of a Werner pair, F = (3v + 1)/4."""
    return (3.0 * _check_unit("visibility", visibility) + 1.0) / 4.0


def visibility_from_fidelity(fidelity_value: float) -> float:
    """Visibility of the Werner pair with fidelity F in [1/4, 1], v = (4F − 1)/3."""
    f = _check_unit("fidelity", fidelity_value, 0.25, 1.0)
    return (4.0 * f - 1.0) / 3.0


def fidelity(rho: ArrayLike) -> float:
    """Fidelity <Φ+|ρ|Φ+> of a two-qubit state to the Bell state Φ+."""
    arr = _check_rho(rho)
    return float(np.real(np.trace(bell_state() @ arr)))


# ---------------------------------------------------------------------------- channels
def dephasing_kraus(t_s: float, t2_s: float | None) -> list[NDArray[np.complex128]]:
    """Pure dephasing for storage time t: coherence × exp(−t/T2); Kraus √((1±λ)/2)·{I, Z}."""
    t = _check_time("t_s", t_s)
    t2 = _check_constant("t2_s", t2_s)
    lam = math.exp(-t / t2)
    return [math.sqrt((1.0 + lam) / 2.0) * PAULI_I, math.sqrt((1.0 - lam) / 2.0) * PAULI_Z]


def amplitude_damping_kraus(t_s: float, t1_s: float | None) -> list[NDArray[np.complex128]]:
    """Relaxation towards |0> for storage time t with γ = 1 − exp(−t/T1)."""
    t = _check_time("t_s", t_s)
    t1 = _check_constant("t1_s", t1_s)
    gamma = -math.expm1(-t / t1)
    k0 = np.array([[1.0, 0.0], [0.0, math.sqrt(1.0 - gamma)]], dtype=np.complex128)
    k1 = np.array([[0.0, math.sqrt(gamma)], [0.0, 0.0]], dtype=np.complex128)
    return [k0, k1]


def depolarizing_kraus(
    t_s: float, depolarizing_time_s: float | None
) -> list[NDArray[np.complex128]]:
    """Depolarizing memory: Bloch vector × f = exp(−t/T_dep); Kraus √(1−3q/4)·I, √(q/4)·X,Y,Z."""
    t = _check_time("t_s", t_s)
    tdep = _check_constant("depolarizing_time_s", depolarizing_time_s)
    q = -math.expm1(-t / tdep)  # q = 1 - f
    return [
        math.sqrt(1.0 - 0.75 * q) * PAULI_I,
        math.sqrt(q / 4.0) * PAULI_X,
        math.sqrt(q / 4.0) * PAULI_Y,
        math.sqrt(q / 4.0) * PAULI_Z,
    ]


def _resolve_t2(name: str, t1: float, t2_s: float | None) -> float:
    """T2 from the user's value; None means no pure dephasing beyond relaxation (T2 = 2 T1)."""
    return 2.0 * t1 if t2_s is None else _check_constant(name, t2_s)


def _pure_dephasing_time(t1: float, t2: float) -> float:
    """T_φ with 1/T_φ = 1/T2 − 1/(2 T1); refuses T2 > 2 T1 (unphysical)."""
    rate = 1.0 / t2 - 1.0 / (2.0 * t1)
    if rate < -1e-12 / t2:
        raise ValueError(
            f"t2_s = {t2:g} s exceeds 2*t1_s = {2 * t1:g} s: a physical memory has T2 <= 2 T1 "
            "(the pure-dephasing rate 1/T2 - 1/(2 T1) would be negative)"
        )
    return math.inf if rate <= 0 else 1.0 / rate


def memory_kraus(
    t_s: float,
    t1_s: float | None,
    t2_s: float | None,
    depolarizing_time_s: float | None = None,
) -> list[NDArray[np.complex128]]:
    """Kraus operators of one memory qubit stored for t: T1 relaxation, then T2 dephasing.

    The X/Y coherence decays as exp(−t/T2) (relaxation contributes exp(−t/(2 T1)), pure
    dephasing the rest), the Z population difference as exp(−t/T1). ``t1_s=None`` means
    no relaxation; ``t2_s=None`` means no dephasing beyond relaxation (T2 = 2 T1).
    An optional depolarizing channel (time constant T_dep) is applied last.
    Raises ValueError if T2 > 2 T1.
    """
    t1 = _check_constant("t1_s", t1_s)
    t2 = _resolve_t2("t2_s", t1, t2_s)
    t_phi = _pure_dephasing_time(t1, t2)
    amp = amplitude_damping_kraus(t_s, t1)
    dep = dephasing_kraus(t_s, t_phi)
    ops = [d @ a for d in dep for a in amp]
    if depolarizing_time_s is not None:
        ops = [p @ k for p in depolarizing_kraus(t_s, depolarizing_time_s) for k in ops]
    return ops


def apply_kraus(
    rho: ArrayLike, kraus_ops: list[NDArray[np.complex128]], qubit: int
) -> NDArray[np.complex128]:
    """Apply a single-qubit channel to qubit 0 (router A) or 1 (router B) of a 4x4 state."""
    arr = _check_rho(rho)
    if qubit not in (0, 1):
        raise ValueError(f"qubit must be 0 (router A) or 1 (router B), got {qubit!r}")
    total = sum((k.conj().T @ k for k in kraus_ops), np.zeros((2, 2), dtype=np.complex128))
    if not np.allclose(total, PAULI_I, atol=1e-10):
        raise ValueError("kraus_ops must be trace preserving (sum K^dagger K = I)")
    out = np.zeros((4, 4), dtype=np.complex128)
    for k in kraus_ops:
        full = np.kron(k, PAULI_I) if qubit == 0 else np.kron(PAULI_I, k)
        out += full @ arr @ full.conj().T
    return out


# ---------------------------------------------------------------------------- measurement
def measurement_observable(theta: float) -> NDArray[np.complex128]:
    """Observable cos(2θ) Z + sin(2θ) X a router measures at angle θ (convention of eq. D30)."""
    return math.cos(2.0 * theta) * PAULI_Z + math.sin(2.0 * theta) * PAULI_X


def correlation_tensor(rho: ArrayLike) -> NDArray[np.float64]:
    """X–Z plane correlation tensor T[i, j] = <σ_i ⊗ σ_j>, σ = (Z, X); T = I for Φ+."""
    arr = _check_rho(rho)
    t = np.empty((2, 2))
    for i, si in enumerate(_PLANE):
        for j, sj in enumerate(_PLANE):
            t[i, j] = float(np.real(np.trace(np.kron(si, sj) @ arr)))
    return t


def marginals(rho: ArrayLike) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Local Bloch components (<Z>, <X>) of router A and router B; E[o|θ] = n(θ)·m."""
    arr = _check_rho(rho)
    m_a = np.array([float(np.real(np.trace(np.kron(s, PAULI_I) @ arr))) for s in _PLANE])
    m_b = np.array([float(np.real(np.trace(np.kron(PAULI_I, s) @ arr))) for s in _PLANE])
    return m_a, m_b


def readout_factor(readout_error_a: float, readout_error_b: float) -> float:
    """Factor (1 − 2e_A)(1 − 2e_B) that independent symmetric readout flips put on E[o_A o_B].

    Derivation: the reported outcome is o'_R = s_R·o_R with s_R = −1 with probability e_R,
    independent of everything else. Then E[o'_A o'_B] = E[s_A] E[s_B] E[o_A o_B] and
    E[s_R] = (1 − e_R) − e_R = 1 − 2e_R. Local marginals scale likewise by (1 − 2e_R).
    """
    e_a = _check_unit("readout_error_a", readout_error_a, 0.0, 0.5)
    e_b = _check_unit("readout_error_b", readout_error_b, 0.0, 0.5)
    return (1.0 - 2.0 * e_a) * (1.0 - 2.0 * e_b)


def correlation(
    rho_or_tensor: ArrayLike,
    theta_a: ArrayLike,
    theta_b: ArrayLike,
    readout_error_a: float = 0.0,
    readout_error_b: float = 0.0,
) -> NDArray[np.float64] | float:
    """E[o_A o_B | θ_A, θ_B] = (1 − 2e_A)(1 − 2e_B)·n(θ_A)ᵀ T n(θ_B) (eq. D30 generalized).

    ``rho_or_tensor`` is a 4x4 density matrix or a 2x2 X–Z correlation tensor; the angles
    broadcast against each other. For Φ+ and no readout error this is cos(2(θ_A − θ_B)).
    """
    arr = np.asarray(rho_or_tensor)
    if arr.shape == (4, 4):
        t = correlation_tensor(arr)
    elif arr.shape == (2, 2):
        t = np.asarray(arr, dtype=np.float64)
    else:
        raise ValueError(
            f"rho_or_tensor must be a 4x4 density matrix or a 2x2 tensor, got shape {arr.shape}"
        )
    ta = 2.0 * np.asarray(theta_a, dtype=np.float64)
    tb = 2.0 * np.asarray(theta_b, dtype=np.float64)
    ca, sa, cb, sb = np.cos(ta), np.sin(ta), np.cos(tb), np.sin(tb)
    e = t[0, 0] * ca * cb + t[0, 1] * ca * sb + t[1, 0] * sa * cb + t[1, 1] * sa * sb
    e = e * readout_factor(readout_error_a, readout_error_b)
    return float(e) if np.ndim(e) == 0 else e


# ---------------------------------------------------------------------------- closed forms
@dataclass(frozen=True)
class StoredPair:
    """Closed-form description of a Werner pair after storage (see :func:`stored_pair`).

    Attributes:
        tensor: X–Z correlation tensor T (2x2, diagonal).
        marginal_a: router A's (<Z>, <X>) before readout error.
        marginal_b: router B's (<Z>, <X>) before readout error.
        fidelity: fidelity to Φ+.
    """

    tensor: NDArray[np.float64]
    marginal_a: NDArray[np.float64]
    marginal_b: NDArray[np.float64]
    fidelity: float

    @property
    def zz(self) -> float:
        """T[Z, Z] = <Z⊗Z>."""
        return float(self.tensor[0, 0])

    @property
    def xx(self) -> float:
        """T[X, X] = <X⊗X>."""
        return float(self.tensor[1, 1])


def stored_pair(
    visibility: float,
    t_a_s: float,
    t_b_s: float,
    t1_a_s: float | None = None,
    t2_a_s: float | None = None,
    t1_b_s: float | None = None,
    t2_b_s: float | None = None,
    depolarizing_time_a_s: float | None = None,
    depolarizing_time_b_s: float | None = None,
) -> StoredPair:
    """Werner pair of visibility v after storage t_A, t_B in memories (T1, T2[, T_dep]).

    With, per router R, γ_R = 1 − exp(−t_R/T1_R), d_R = exp(−t_R/T1_R), c_R = exp(−t_R/T2_R)
    and the depolarizing shrink f_R = exp(−t_R/T_dep,R) (1 if absent), the Pauli expansion
    ρ = (II + v(XX − YY + ZZ))/4 maps to

        ρ' = [II + f_A γ_A ZI + f_B γ_B IZ + f_A f_B (v d_A d_B + γ_A γ_B) ZZ
              + f_A f_B v c_A c_B (XX − YY)] / 4,

    so T = diag(f_A f_B (v d_A d_B + γ_A γ_B), f_A f_B v c_A c_B), the Z marginals are
    f_R γ_R (X marginals 0), and the fidelity to Φ+ is

        F = [1 + f_A f_B (2 v c_A c_B + v d_A d_B + γ_A γ_B)] / 4.

    For t_A = t_B = 0 this is the Werner pair: T = v·I, F = (3v + 1)/4. ``None`` for T1 or
    T_dep means no such decay; ``None`` for T2 means T2 = 2 T1 (relaxation-limited).
    """
    v = _check_unit("visibility", visibility)
    out = []
    for side, t_s, t1_s, t2_s, tdep_s in (
        ("a", t_a_s, t1_a_s, t2_a_s, depolarizing_time_a_s),
        ("b", t_b_s, t1_b_s, t2_b_s, depolarizing_time_b_s),
    ):
        t = _check_time(f"t_{side}_s", t_s)
        t1 = _check_constant(f"t1_{side}_s", t1_s)
        t2 = _resolve_t2(f"t2_{side}_s", t1, t2_s)
        tdep = _check_constant(f"depolarizing_time_{side}_s", tdep_s)
        _pure_dephasing_time(t1, t2)
        d = math.exp(-t / t1)
        out.append((1.0 - d, d, math.exp(-t / t2), math.exp(-t / tdep)))
    (g_a, d_a, c_a, f_a), (g_b, d_b, c_b, f_b) = out
    zz = f_a * f_b * (v * d_a * d_b + g_a * g_b)
    xx = f_a * f_b * v * c_a * c_b
    fid = (1.0 + f_a * f_b * (2.0 * v * c_a * c_b + v * d_a * d_b + g_a * g_b)) / 4.0
    return StoredPair(
        tensor=np.array([[zz, 0.0], [0.0, xx]]),
        marginal_a=np.array([f_a * g_a, 0.0]),
        marginal_b=np.array([f_b * g_b, 0.0]),
        fidelity=fid,
    )


# ---------------------------------------------------------------------------- availability
def availability_mix(
    availability: float,
    quantum_payoff: float,
    quantum_split: float,
    fallback_payoff: float,
    fallback_split: float,
) -> tuple[float, float]:
    """Payoff and splitting probability of the quantum/classical mix under availability a.

    A decision finds a usable pair with probability a (independent of the service times
    X1, X2, because pair supply does not see the customers); otherwise both routers play
    the classical threshold fallback with a shared random bit. By the law of total
    expectation over the event "pair available",

        A_mix = a·A_qu + (1 − a)·A_cl,      p_mix = a·p_qu + (1 − a)·p_cl.

    The shared bit flips both outputs together, so it changes neither o_A·o_B nor A or p.
    """
    a = _check_unit("availability", availability)
    payoff = a * float(quantum_payoff) + (1.0 - a) * float(fallback_payoff)
    split = a * float(quantum_split) + (1.0 - a) * float(fallback_split)
    return payoff, split
