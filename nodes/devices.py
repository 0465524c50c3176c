"""SeQUeNCe node and channel types of the qnet link: two routers and a midpoint station.

* :class:`RouterNode` -- a SeQUeNCe ``Node`` with a ``MemoryArray`` of K slots; its
  ``resource_manager`` is the hook SeQUeNCe's ``BarretKokA`` reports finished attempts to,
  where qnet's entanglement supply (:mod:`protocols.entanglement`) plugs in.
* :class:`StationNode` -- SeQUeNCe's ``BSMNode`` (``SingleAtomBSM``, two detectors,
  ``BarretKokB``) with the scenario's detector efficiency.
* :class:`GuardedQuantumChannel` -- SeQUeNCe's ``QuantumChannel`` whose emission scheduler
  keeps every photon at least ``guard_bins`` grid bins (12.5 ns each) from every other, so
  K slot pairs never fall within the detectors' dead time (time-division multiplexing).
  Only router A (the Barrett–Kok non-primary, which picks the emission time) needs it.
  Why: docs/physical-layer.md.
"""

from __future__ import annotations

import heapq
from typing import TYPE_CHECKING, Any, Protocol

from sequence.components.memory import MemoryArray
from sequence.components.optical_channel import QuantumChannel
from sequence.topology.node import BSMNode, Node

if TYPE_CHECKING:
    from sequence.components.memory import Memory
    from sequence.components.photon import Photon
    from sequence.kernel.timeline import Timeline

__all__ = ["GuardedQuantumChannel", "ResourceHook", "RouterNode", "StationNode"]


class ResourceHook(Protocol):
    """What a router needs from the entanglement supply (SeQUeNCe's resource-manager API)."""

    def update(self, protocol: Any, memory: Memory, state: str) -> None:
        """An entanglement protocol finished on ``memory`` with ``state`` (RAW/ENTANGLED)."""

    def memory_expire(self, memory: Memory) -> None:
        """SeQUeNCe expired ``memory`` (its ``coherence_time`` ran out)."""


class RouterNode(Node):
    """A router: K memory slots, SeQUeNCe messaging, a resource-manager hook."""

    def __init__(
        self,
        name: str,
        timeline: Timeline,
        seed: int,
        slots: int,
        memory_args: dict[str, Any],
    ) -> None:
        super().__init__(name, timeline, seed=seed)
        self.memo_arr_name = f"{name}.MemoryArray"
        array = MemoryArray(self.memo_arr_name, timeline, num_memories=slots, **memory_args)
        self.add_component(array)
        array.add_receiver(self)
        self.memory_array: MemoryArray = array
        self.resource_manager: ResourceHook | None = None

    def init(self) -> None:
        """Entity interface: give each memory its owner (so it draws from this node's RNG)."""
        self.memory_array.init()

    def get(self, photon: Photon, **kwargs: Any) -> None:
        """A memory emitted ``photon``: send it to ``dst`` (the station) over the fiber."""
        self.send_qubit(kwargs["dst"], photon)

    def memory_expire(self, memory: Memory) -> None:
        """Forward SeQUeNCe's memory expiry to the supply."""
        if self.resource_manager is not None:
            self.resource_manager.memory_expire(memory)


class StationNode(BSMNode):
    """Midpoint Barrett–Kok station: SeQUeNCe's ``BSMNode`` with the scenario's detectors."""

    def __init__(
        self,
        name: str,
        timeline: Timeline,
        routers: list[str],
        seed: int,
        detector_args: dict[str, Any],
    ) -> None:
        templates = {"SingleAtomBSM": {"detectors": [dict(detector_args), dict(detector_args)]}}
        super().__init__(name, timeline, routers, seed=seed, component_templates=templates)


class GuardedQuantumChannel(QuantumChannel):
    """``QuantumChannel`` that spaces scheduled photons >= ``guard_bins`` + 1 bins apart."""

    def __init__(self, *args: Any, guard_bins: int = 0, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.guard_bins = guard_bins
        self._reserved: list[int] = []  # min-heap of scheduled bins, pruned when stale

    def schedule_transmit(self, min_time: int) -> int:
        """First grid time from SeQUeNCe's bin for ``min_time`` with no photon within the guard.

        The starting bin is SeQUeNCe's ``time_to_timebin`` (as in the plain channel), which
        is one bin past the next grid time when ``min_time`` is more than half a bin past a
        grid time (:func:`qnet.physics.link.sequence_time_bin`); qnet keeps that rounding.
        """
        if self.guard_bins <= 0:
            return super().schedule_transmit(min_time)
        min_time = max(min_time, self.timeline.now())
        now_bin = self.time_to_timebin(self.timeline.now(), self.frequency)
        while self._reserved and self._reserved[0] < now_bin - self.guard_bins:
            heapq.heappop(self._reserved)
        time_bin = self.time_to_timebin(min_time, self.frequency)
        while any(abs(time_bin - b) <= self.guard_bins for b in self._reserved):
            time_bin += 1
        heapq.heappush(self._reserved, time_bin)
        heapq.heappush(self.send_bins, time_bin)
        return self.timebin_to_time(time_bin, self.frequency)
