"""Entanglement supply on SeQUeNCe: continuous Barrett–Kok generation into K memory slots.

:class:`EntanglementSupply` drives SeQUeNCe's ``BarretKokA`` on every free slot pair (slot
i of router A with slot i of router B) and is both routers' resource-manager hook. Each
router files a :class:`PairRecord` per herald; both apply the same rules without
communicating: usable from ``herald_ps + usable_delay_ps`` (the longer herald delay),
discarded at the deterministic ``cutoff`` (or the earlier memory expiry), ``oldest`` or
``newest`` selection, herald id = the station's herald time in ps.

Decoherence: each half decoheres at its router's (T1, T2) for the time since its round-2
emission, ``herald_ps − τ_X``, by :func:`qnet.physics.noise.memory_kraus` applied lazily to
the state in SeQUeNCe's quantum manager (exact: the channels are semigroups). Measurement
at angle θ in the ``"xz"`` plane: Ry(−2θ) = S·H·P(−2θ)·H·S† (gates sdg, h, phase(−2θ), h;
the final s does not change a Z outcome), then Z, so that on Φ+::

    E[o_A o_B] = cos(2(θ_A − θ_B))          (paper D30; × v for a Werner pair)

``"yz"`` measures cos(2θ) Z + sin(2θ) Y, ``"xy"`` cos(2θ) X + sin(2θ) Y. ``density_matrix``
is exact per pair; ``ket`` draws a Bell state per herald and a quantum trajectory of the
memory channel, exact in distribution. Details and checks: docs/physical-layer.md,
docs/statistics.md.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
from sequence.components.circuit import Circuit
from sequence.constants import KET_VECTOR_FORMALISM
from sequence.entanglement_management.generation import EntanglementGenerationA
from sequence.kernel.event import Event
from sequence.kernel.process import Process
from sequence.kernel.quantum_gates import gate_matrix

from qnet.physics.noise import apply_kraus, fidelity, memory_kraus

if TYPE_CHECKING:
    from sequence.components.memory import Memory
    from sequence.kernel.timeline import Timeline

    from nodes.devices import RouterNode

__all__ = [
    "EntanglementSupply",
    "PairRecord",
    "PairStore",
    "RotationCircuit",
    "measurement_circuit",
]

Plane = Literal["xz", "yz", "xy"]
_CIRCUIT_CACHE_SIZE = 4096


class RotationCircuit(Circuit):
    """A SeQUeNCe ``Circuit`` whose unitary is the product of SeQUeNCe's own gate matrices.

    ``Circuit.get_unitary_matrix`` (used by the density-matrix formalism) builds the
    unitary through qutip, ~6 ms per circuit: with a continuous angle per decision that
    was most of a density-matrix measurement. This subclass multiplies the same gate
    matrices (:func:`sequence.kernel.quantum_gates.gate_matrix`, the ones the ket
    formalism contracts) in numpy; tests check it equals qutip's to 1e-12. The gates,
    the measurement and the quantum manager's Born-rule sampling are SeQUeNCe's.
    """

    def get_unitary_matrix(self) -> np.ndarray:
        """Unitary of the (one-qubit) gate list, last gate leftmost; cached like the base."""
        if self._cache is None:
            if self.size != 1:
                return super().get_unitary_matrix()
            u = np.identity(2, dtype=complex)
            for name, _, arg in self.gates:
                u = gate_matrix(name, arg) @ u
            self._cache = u
        return self._cache


def measurement_circuit(theta: float, plane: Plane = "xz") -> Circuit:
    """One-qubit SeQUeNCe circuit measuring at angle θ in ``plane`` (see module docstring).

    Gates are written straight into ``Circuit.gates`` (the documented gate list; the
    per-gate validators cost more than the measurement of a one-qubit state). A diagonal
    gate right before the Z measurement changes no outcome probability (D† Z D = Z), so
    the xz circuit ends at the second ``h``: Ry(-2θ) = S·(H P(-2θ) H S†) up to that S.
    """
    phi = 2.0 * float(theta)
    circ = RotationCircuit(1)
    if plane == "xz":  # Ry(-2θ) up to a final S: time order sdg, h, phase(-2θ), h
        gates = [["sdg", [0], None], ["h", [0], None], ["phase", [0], -phi], ["h", [0], None]]
    elif plane == "yz":  # Rx(2θ) = H P(2θ) H
        gates = [["h", [0], None], ["phase", [0], phi], ["h", [0], None]]
    elif plane == "xy":  # Rz(-2θ) then H: measures cos(2θ) X + sin(2θ) Y
        gates = [["phase", [0], -phi], ["h", [0], None]]
    else:
        raise ValueError(f"plane must be 'xz', 'yz' or 'xy', got {plane!r}")
    circ.gates = gates
    circ.measured_qubits = [0]
    return circ


@dataclass(frozen=True)
class PairRecord:
    """One router's record of a stored pair (times in integer ps of the SeQUeNCe timeline).

    Attributes:
        herald_id: the station's herald time [ps] (unique, shared by both routers).
        herald_ps: time of the round-2 click at the station [ps].
        arrival_ps: when the herald reached this router [ps].
        slot: memory slot index (the same at both routers).
        usable_ps: herald_ps + the longer herald delay [ps].
        discard_ps: deterministic discard time [ps], or None.
    """

    herald_id: int
    herald_ps: int
    arrival_ps: int
    slot: int
    usable_ps: int
    discard_ps: int | None

    def is_usable(self, t_ps: int) -> bool:
        """Usable at t: heard by both routers and not yet discarded."""
        return self.usable_ps <= t_ps and (self.discard_ps is None or t_ps < self.discard_ps)


@dataclass
class PairStore:
    """A router's stored pairs keyed by slot, with the shared usable/selection rules."""

    router: str
    records: dict[int, PairRecord] = field(default_factory=dict)

    def usable(self, t_ps: int) -> list[PairRecord]:
        """Usable pairs at time t, oldest first (by herald id)."""
        return sorted(
            (r for r in self.records.values() if r.is_usable(t_ps)), key=lambda r: r.herald_id
        )

    def select(self, t_ps: int, selection: str) -> PairRecord | None:
        """The pair a decision at t consumes: oldest or newest usable one (None if none)."""
        pairs = self.usable(t_ps)
        if not pairs:
            return None
        return pairs[0] if selection == "oldest" else pairs[-1]


@dataclass
class _SlotState:
    """Book-keeping of one slot pair (internal)."""

    attempt: int = 0
    started_ps: int = 0
    protocols: dict[str, Any] = field(default_factory=dict)
    finished: dict[str, str] = field(default_factory=dict)  # side -> RAW/ENTANGLED
    herald_ps: int | None = None
    decohered_to_ps: dict[str, int] = field(default_factory=dict)
    holding: set[str] = field(default_factory=set)  # sides still holding their half
    events: list[Event] = field(default_factory=list)
    last_herald_ps: int | None = None


class _Hook:
    """SeQUeNCe resource-manager stand-in for one router, forwarding to the supply."""

    def __init__(self, supply: EntanglementSupply, side: str) -> None:
        self._supply, self._side = supply, side

    def update(self, protocol: Any, memory: Memory, state: str) -> None:
        self._supply._on_update(self._side, protocol, memory, state)

    def memory_expire(self, memory: Memory) -> None:
        self._supply._on_expire(self._side, memory)


@dataclass
class SupplyCounters:
    """Running totals of the supply (for ``qnet link`` and tests)."""

    attempts: int = 0
    successes: int = 0
    durations_ps: list[int] = field(default_factory=list)
    herald_intervals_ps: list[int] = field(default_factory=list)
    discarded: int = 0
    released: int = 0


class EntanglementSupply:
    """Continuous heralded generation on K slot pairs, pair stores and measurements.

    Args:
        timeline: the SeQUeNCe timeline (already holding the nodes and channels).
        router_a, router_b: the two :class:`nodes.devices.RouterNode` (B is BK primary).
        station: name of the midpoint station node.
        tau_ps: photon flight time to the station per side, {"a": τ_A, "b": τ_B} [ps].
        usable_delay_ps: the longer of the two herald delays [ps].
        cutoff_ps: deterministic discard age after the herald [ps], or None.
        selection: "oldest" or "newest".
        memory_times: per side (t1_s, t2_s) for the decoherence model.
        release_on_usable: free every pair as soon as it is usable (link-rate runs).
        on_pair: optional callback(slot, herald_ps) when a pair becomes usable.
    """

    def __init__(
        self,
        timeline: Timeline,
        router_a: RouterNode,
        router_b: RouterNode,
        station: str,
        tau_ps: dict[str, int],
        usable_delay_ps: int,
        cutoff_ps: int | None,
        selection: str,
        memory_times: dict[str, tuple[float | None, float | None]],
        release_on_usable: bool = False,
        on_pair: Any = None,
    ) -> None:
        self.timeline = timeline
        self.routers = {"a": router_a, "b": router_b}
        self.station = station
        self.tau_ps = dict(tau_ps)
        self.usable_delay_ps = int(usable_delay_ps)
        self.cutoff_ps = cutoff_ps
        self.selection = selection
        self.memory_times = dict(memory_times)
        self.release_on_usable = release_on_usable
        self.on_pair = on_pair
        self.slots = len(router_a.memory_array)
        self.stores = {"a": PairStore(router_a.name), "b": PairStore(router_b.name)}
        self.counters = SupplyCounters()
        self._slots = [_SlotState() for _ in range(self.slots)]
        self._circuits: dict[tuple[str, float], Circuit] = {}
        self._is_ket = timeline.quantum_manager.get_active_formalism() == KET_VECTOR_FORMALISM
        for side, node in self.routers.items():
            node.resource_manager = _Hook(self, side)

    # ------------------------------------------------------------------ scheduling
    def _at(self, time_ps: int, method: str, *args: Any) -> Event:
        """Schedule ``method(*args)`` at ``time_ps`` after every event already due then."""
        event = Event(
            int(time_ps), Process(self, method, list(args)), self.timeline.schedule_counter
        )
        self.timeline.schedule(event)
        return event

    def start(self) -> None:
        """Start generation on every slot pair at the current time (call after tl.init())."""
        for slot in range(self.slots):
            self._at(self.timeline.now(), "_restart", slot)

    def _other(self, side: str) -> str:
        return "b" if side == "a" else "a"

    def _restart(self, slot: int) -> None:
        """Create a fresh Barrett–Kok protocol pair on slot ``slot`` and start it."""
        st = self._slots[slot]
        st.attempt += 1
        st.started_ps = self.timeline.now()
        st.finished = {}
        st.herald_ps = None
        self.counters.attempts += 1
        protos = {}
        for side, node in self.routers.items():
            other = self.routers[self._other(side)]
            memory = node.memory_array[slot]
            protos[side] = EntanglementGenerationA.create(
                node, f"eg.{side}.{slot}.{st.attempt}", self.station, other.name, memory
            )
        for side, node in self.routers.items():
            other_side = self._other(side)
            other_mem = self.routers[other_side].memory_array[slot]
            protos[side].set_others(
                protos[other_side].name, self.routers[other_side].name, [other_mem.name]
            )
            node.protocols.append(protos[side])
        st.protocols = protos
        for side in ("a", "b"):
            protos[side].start()

    # ------------------------------------------------------------------ SeQUeNCe callbacks
    def _slot_of(self, side: str, memory: Memory) -> int:
        return self.routers[side].memory_array.memory_name_to_index[memory.name]

    def _on_update(self, side: str, protocol: Any, memory: Memory, state: str) -> None:
        node = self.routers[side]
        if protocol in node.protocols:
            node.protocols.remove(protocol)
        slot = self._slot_of(side, memory)
        st = self._slots[slot]
        if st.protocols.get(side) is not protocol:
            return  # a stale protocol (slot was reset meanwhile)
        now = self.timeline.now()
        st.finished[side] = state
        if state == "ENTANGLED":
            herald = int(protocol.expected_time)
            if st.herald_ps is None:
                st.herald_ps = herald
            elif st.herald_ps != herald:  # both routers saw the same station click
                raise RuntimeError(f"slot {slot}: routers disagree on herald time")
            self._file(side, slot, herald, now)
        if len(st.finished) < 2:
            return
        if set(st.finished.values()) == {"RAW"}:
            self.counters.durations_ps.append(now - st.started_ps)
            self._at(now, "_restart", slot)
        elif set(st.finished.values()) == {"ENTANGLED"}:
            self.counters.durations_ps.append(now - st.started_ps)
            self.counters.successes += 1
            if st.last_herald_ps is not None:
                self.counters.herald_intervals_ps.append(st.herald_ps - st.last_herald_ps)
            st.last_herald_ps = st.herald_ps
            self._on_pair_complete(slot)
        else:
            raise RuntimeError(f"slot {slot}: one router heralded, the other failed")

    def _discard_ps(self, slot: int, herald: int) -> int | None:
        limits = []
        if self.cutoff_ps is not None:
            limits.append(herald + self.cutoff_ps)
        for node in self.routers.values():
            ev = node.memory_array[slot].expiration_event
            if ev is not None:
                limits.append(int(ev.time))
        return min(limits) if limits else None

    def _file(self, side: str, slot: int, herald: int, now: int) -> None:
        record = PairRecord(
            herald_id=herald,
            herald_ps=herald,
            arrival_ps=now,
            slot=slot,
            usable_ps=herald + self.usable_delay_ps,
            discard_ps=self._discard_ps(slot, herald),
        )
        self.stores[side].records[slot] = record

    def _on_pair_complete(self, slot: int) -> None:
        st = self._slots[slot]
        herald = st.herald_ps
        assert herald is not None
        st.holding = {"a", "b"}
        st.decohered_to_ps = {s: herald - self.tau_ps[s] for s in ("a", "b")}
        st.events = []
        discard = self.stores["a"].records[slot].discard_ps
        if discard is not None:
            st.events.append(self._at(discard, "_discard", slot, herald))
        usable = herald + self.usable_delay_ps
        if self.on_pair is not None:
            self.on_pair(slot, herald)
        if self.release_on_usable:
            st.events.append(self._at(max(usable, self.timeline.now()), "_release", slot, herald))

    def _on_expire(self, side: str, memory: Memory) -> None:
        """SeQUeNCe expired a memory (``coherence_time_s``).

        Nothing to do here: a stored pair's deterministic discard time already includes
        the earlier expiry of its two halves (the discard event frees the slot pair), and
        ``nodes.build_network`` refuses coherence times short enough to expire a memory
        during an attempt.
        """

    # ------------------------------------------------------------------ freeing slots
    def _free(self, slot: int) -> None:
        st = self._slots[slot]
        for ev in st.events:
            self.timeline.remove_event(ev)  # marks it invalid (harmless if already run)
        st.events = []
        for side in ("a", "b"):
            self.stores[side].records.pop(slot, None)
            if side in st.holding:
                self.routers[side].memory_array[slot].reset()
        st.holding = set()
        st.protocols = {}
        self._at(self.timeline.now(), "_restart", slot)

    def _discard(self, slot: int, herald: int) -> None:
        if self._slots[slot].herald_ps != herald or not self._slots[slot].holding:
            return
        self.counters.discarded += 1
        self._free(slot)

    def _release(self, slot: int, herald: int) -> None:
        if self._slots[slot].herald_ps != herald or not self._slots[slot].holding:
            return
        self.counters.released += 1
        self._free(slot)

    # ------------------------------------------------------------------ state access
    def _key(self, side: str, slot: int) -> int:
        return self.routers[side].memory_array[slot].qstate_key

    def _decohere(self, side: str, slot: int, now_ps: int) -> None:
        """Apply the memory channel to one half for the time since it was last updated."""
        st = self._slots[slot]
        if side not in st.holding:
            return
        dt_ps = now_ps - st.decohered_to_ps[side]
        if dt_ps <= 0:
            return
        st.decohered_to_ps[side] = now_ps
        t1, t2 = self.memory_times[side]
        if t1 is None and t2 is None:
            return
        kraus = memory_kraus(dt_ps * 1e-12, t1, t2)
        qm = self.timeline.quantum_manager
        key = self._key(side, slot)
        state = qm.get(key)
        keys = list(state.keys)
        n = len(keys)
        idx = keys.index(key)
        ops = [_embed(k, idx, n) for k in kraus]
        if self._is_ket:
            psi = np.asarray(state.state, dtype=complex)
            branches = [op @ psi for op in ops]
            probs = np.array([float(np.vdot(b, b).real) for b in branches])
            u = self.routers[side].get_generator().random()
            k = int(
                min(np.searchsorted(np.cumsum(probs) / probs.sum(), u, side="right"), len(ops) - 1)
            )
            qm.set(keys, branches[k] / math.sqrt(probs[k]))
        else:
            rho = np.asarray(state.state, dtype=complex)
            qm.set(keys, sum(op @ rho @ op.conj().T for op in ops))

    def pair_state(self, slot: int, at_ps: int | None = None) -> np.ndarray:
        """4x4 density matrix (qubit 0 = router A) of slot's pair as it is at ``at_ps``.

        Read from SeQUeNCe's quantum manager and decohered (on a copy; the stored state is
        not touched) for each half's storage time up to ``at_ps`` (default: now).
        """
        st = self._slots[slot]
        if st.holding != {"a", "b"}:
            raise ValueError(f"slot {slot} holds no complete pair")
        at = self.timeline.now() if at_ps is None else int(at_ps)
        qm = self.timeline.quantum_manager
        ka, kb = self._key("a", slot), self._key("b", slot)
        state = qm.get(ka)
        keys = list(state.keys)
        if sorted(keys) != sorted([ka, kb]):
            raise RuntimeError(f"slot {slot}: memories are not in one joint state")
        arr = np.asarray(state.state, dtype=complex)
        rho = np.outer(arr, arr.conj()) if self._is_ket else arr.copy()
        if keys == [kb, ka]:
            swap = np.eye(4)[[0, 2, 1, 3]]
            rho = swap @ rho @ swap.T
        for idx, side in enumerate(("a", "b")):
            dt_ps = at - st.decohered_to_ps[side]
            if dt_ps < 0:
                raise ValueError(
                    f"at_ps = {at} is before router {side}'s half was last updated "
                    f"({st.decohered_to_ps[side]} ps)"
                )
            t1, t2 = self.memory_times[side]
            if dt_ps > 0 and (t1 is not None or t2 is not None):
                rho = apply_kraus(rho, memory_kraus(dt_ps * 1e-12, t1, t2), idx)
        return rho

    def pair_fidelity(self, slot: int, at_ps: int | None = None) -> float:
        """Fidelity to Φ+ of slot's pair at ``at_ps`` (default now), from the QM state."""
        return fidelity(self.pair_state(slot, at_ps))

    def measure(self, side: str, slot: int, theta: float, plane: Plane = "xz") -> int:
        """Measure this router's half of slot's pair at angle θ; return ±1; free the half."""
        st = self._slots[slot]
        if side not in st.holding:
            raise ValueError(f"router {side!r} holds no half of a pair in slot {slot}")
        now = self.timeline.now()
        self._decohere(side, slot, now)
        key_circ = (plane, float(theta))
        circ = self._circuits.get(key_circ)
        if circ is None:
            if len(self._circuits) >= _CIRCUIT_CACHE_SIZE:
                self._circuits.clear()
            circ = self._circuits[key_circ] = measurement_circuit(theta, plane)
        node = self.routers[side]
        key = self._key(side, slot)
        bit = self.timeline.quantum_manager.run_circuit(circ, [key], node.get_generator().random())[
            key
        ]
        node.memory_array[slot].reset()
        st.holding.discard(side)
        self.stores[side].records.pop(slot, None)
        if not st.holding:
            self._free(slot)
        return 1 - 2 * int(bit)


def _embed(op: np.ndarray, index: int, n: int) -> np.ndarray:
    """Single-qubit operator acting on qubit ``index`` of an n-qubit register."""
    out = np.array([[1.0 + 0j]])
    for i in range(n):
        out = np.kron(out, op if i == index else np.eye(2))
    return out
