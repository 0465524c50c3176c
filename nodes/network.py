"""Build the qnet link on SeQUeNCe from a scenario, and the API the routing protocol uses.

Topology (a networkx graph, :func:`build_graph`; :mod:`qnet.plots.topology` draws it)::

    router_a --(arm_a_km fiber)-- station --(arm_b_km fiber)-- router_b

:func:`build_network` instantiates it on a fresh SeQUeNCe ``Timeline`` (two
:class:`~nodes.devices.RouterNode`, a :class:`~nodes.devices.StationNode`, quantum and
classical channels, an :class:`~protocols.entanglement.EntanglementSupply` on every free
slot pair) and returns a :class:`LinkNetwork`: ``run_until``/``run_for``/``call_at``,
``usable_pairs``/``select_pair`` (the same pair at both routers), ``measure`` (Born rule
after the memory's decoherence), ``pair_state``/``pair_fidelity``, ``close``. Every random
draw comes from ``numpy.random.SeedSequence(seed)``. SeQUeNCe keeps process-global state
(formalism, generation protocol type): :func:`build_network` sets it for its run and
:func:`reset_sequence_globals` restores the defaults. The API in full:
docs/physical-layer.md.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import networkx as nx
import numpy as np
from sequence.components.optical_channel import ClassicalChannel, QuantumChannel
from sequence.constants import BARRET_KOK, DENSITY_MATRIX_FORMALISM, KET_VECTOR_FORMALISM
from sequence.entanglement_management.generation import (
    EntanglementGenerationA,
    EntanglementGenerationB,
)
from sequence.kernel.event import Event
from sequence.kernel.process import Process
from sequence.kernel.quantum_manager import QuantumManager
from sequence.kernel.timeline import Timeline

from nodes.devices import GuardedQuantumChannel, RouterNode, StationNode
from protocols.entanglement import EntanglementSupply, PairRecord, Plane
from qnet.physics import link as predictions
from qnet.topology import topology_graph

if TYPE_CHECKING:
    from qnet.config import Scenario

__all__ = [
    "LinkNetwork",
    "ROUTER_NAMES",
    "STATION_NAME",
    "build_graph",
    "build_network",
    "build_networks",
    "quiet_sequence_logging",
    "reset_sequence_globals",
]

ROUTER_NAMES = {"a": "router_a", "b": "router_b"}
STATION_NAME = "station"
_FORMALISMS = {"density_matrix": DENSITY_MATRIX_FORMALISM, "ket": KET_VECTOR_FORMALISM}


def quiet_sequence_logging(level: int = logging.WARNING) -> None:
    """Keep SeQUeNCe's logger at ``level`` (default WARNING) so runs do not flood output."""
    logging.getLogger("sequence.utils.log").setLevel(level)


def reset_sequence_globals() -> None:
    """Restore SeQUeNCe's process-global defaults (formalism, generation protocol type)."""
    QuantumManager.clear_active_formalism()
    EntanglementGenerationA.clear_global()
    EntanglementGenerationB._global_type = BARRET_KOK


def build_graph(scenario: Scenario) -> nx.Graph:
    """Topology as a networkx graph (:func:`qnet.topology.topology_graph`)."""
    return topology_graph(scenario)


class _Callback:
    def __init__(self, fn: Any, args: tuple[Any, ...]) -> None:
        self.fn, self.args = fn, args

    def fire(self) -> None:
        self.fn(*self.args)


@dataclass
class LinkNetwork:
    """A built SeQUeNCe link and the API the routing protocol uses (module docstring)."""

    scenario: Scenario
    timeline: Timeline
    routers: dict[str, RouterNode]
    station: StationNode
    supply: EntanglementSupply
    graph: nx.Graph
    prediction: predictions.LinkPrediction

    # -------------------------------------------------------------- time
    def now_ps(self) -> int:
        """Current simulation time [ps]."""
        return int(self.timeline.now())

    def run_until(self, t_ps: int) -> None:
        """Run the simulation up to (not including) time ``t_ps``."""
        self.timeline.stop_time = int(t_ps)
        self.timeline.run()
        self.timeline.time = max(self.timeline.time, int(t_ps))

    def run_for(self, duration_s: float) -> None:
        """Run for ``duration_s`` more seconds of simulated time."""
        self.run_until(self.now_ps() + round(duration_s * predictions.PS_PER_S))

    def call_at(self, t_ps: int, fn: Any, *args: Any) -> Event:
        """Call ``fn(*args)`` at ``t_ps``, after the events already due at that time."""
        if int(t_ps) < self.now_ps():
            raise ValueError(f"t_ps = {t_ps} is in the past (now {self.now_ps()} ps)")
        proc = Process(_Callback(fn, args), "fire", [])
        event = Event(int(t_ps), proc, self.timeline.schedule_counter)
        self.timeline.schedule(event)
        return event

    # -------------------------------------------------------------- pair stores
    def _side(self, router: str) -> str:
        for side, node in self.routers.items():
            if router in (side, node.name):
                return side
        names = ", ".join(repr(x) for s, n in self.routers.items() for x in (s, n.name))
        raise ValueError(f"router must be one of {names}, got {router!r}")

    def usable_pairs(self, router: str, t_ps: int | None = None) -> list[PairRecord]:
        """Pairs usable at ``t_ps`` (default now) in this router's store, oldest first."""
        t = self.now_ps() if t_ps is None else int(t_ps)
        return self.supply.stores[self._side(router)].usable(t)

    def select_pair(self, router: str, t_ps: int | None = None) -> PairRecord | None:
        """The pair a decision at ``t_ps`` consumes under the scenario's selection rule."""
        t = self.now_ps() if t_ps is None else int(t_ps)
        return self.supply.stores[self._side(router)].select(t, self.scenario.link.selection)

    # -------------------------------------------------------------- quantum access
    def measure(self, router: str, pair: PairRecord, theta: float, plane: Plane = "xz") -> int:
        """±1 outcome of measuring this router's half at angle θ (Born rule); frees it."""
        return self.supply.measure(self._side(router), pair.slot, theta, plane)

    def pair_state(self, pair: PairRecord | int, at_ps: int | None = None) -> np.ndarray:
        """4x4 density matrix (A ⊗ B) of a stored pair, decohered to ``at_ps`` (default now)."""
        slot = pair if isinstance(pair, int) else pair.slot
        return self.supply.pair_state(slot, at_ps)

    def pair_fidelity(self, pair: PairRecord | int, at_ps: int | None = None) -> float:
        """Fidelity to Φ+ of a stored pair at ``at_ps`` (default now), from the QM state."""
        slot = pair if isinstance(pair, int) else pair.slot
        return self.supply.pair_fidelity(slot, at_ps)

    def close(self) -> None:
        """Restore SeQUeNCe's process-global defaults."""
        reset_sequence_globals()


def _node_seeds(seed: int | np.random.SeedSequence) -> list[int]:
    ss = seed if isinstance(seed, np.random.SeedSequence) else np.random.SeedSequence(seed)
    return [int(child.generate_state(1, dtype=np.uint64)[0]) for child in ss.spawn(3)]


def check_sequence_scenario(scenario: Scenario) -> predictions.LinkPrediction:
    """Refuse, with one clear message, scenarios SeQUeNCe's Barrett–Kok cannot run."""
    lk = scenario.link
    predictions.check_sequence_link(lk)
    pred = predictions.predict(scenario)
    if lk.coherence_time_s is not None and lk.coherence_time_s <= 3 * pred.attempt_full_s:
        raise ValueError(
            f"link.coherence_time_s = {lk.coherence_time_s:g}: SeQUeNCe would expire memories "
            f"during an attempt; it must exceed 3 attempt lengths = {3 * pred.attempt_full_s:g} s "
            "(use cutoff_s and router T1/T2 to model short-lived memories)"
        )
    return pred


def build_network(
    scenario: Scenario,
    seed: int | np.random.SeedSequence | None = None,
    release_on_usable: bool = False,
    on_pair: Any = None,
    tdm_guard: bool = True,
) -> LinkNetwork:
    """Instantiate the scenario's link in a fresh SeQUeNCe timeline and start generation.

    Args:
        scenario: validated scenario (tables ``link``, ``router_a``, ``router_b``, ``engine``).
        seed: root of the nodes' generators (default ``scenario.seed``).
        release_on_usable: free each pair as soon as it is usable (link-rate measurement).
        on_pair: optional ``callback(slot, herald_ps)`` when both routers hold a new pair.
        tdm_guard: space the K slot pairs' photons beyond the detector dead time (default);
            False reproduces SeQUeNCe's plain scheduling, where neighbouring slot pairs'
            heralds fall into the dead time (kept for the benchmark's comparison).

    Raises:
        ValueError: arm lengths off SeQUeNCe's 2.5 m grid, memories too slow to re-excite,
            or a coherence time shorter than an attempt.
    """
    pred = check_sequence_scenario(scenario)
    tl = _new_timeline(scenario)
    seed = scenario.seed if seed is None else seed
    net = _add_link(tl, scenario, pred, seed, "", release_on_usable, on_pair, tdm_guard)
    tl.init()
    net.supply.start()
    return net


def build_networks(
    scenario: Scenario, seeds: list[int | np.random.SeedSequence]
) -> list[LinkNetwork]:
    """``len(seeds)`` copies of the scenario's link on ONE SeQUeNCe timeline, generating.

    Link i's nodes are named ``link{i}.router_a``, ``link{i}.station``, ``link{i}.router_b``
    and draw from ``seeds[i]`` exactly as :func:`build_network` would: the links share
    the timeline and the quantum manager but no node, channel or random stream, so each
    link's pairs are those it would have alone. ``run_until`` on any of them runs all.
    """
    if not seeds:
        raise ValueError("build_networks needs at least one seed (one link)")
    pred = check_sequence_scenario(scenario)
    tl = _new_timeline(scenario)
    nets = [
        _add_link(tl, scenario, pred, s, f"link{i}.", False, None, True)
        for i, s in enumerate(seeds)
    ]
    tl.init()
    for net in nets:
        net.supply.start()
    return nets


def _new_timeline(scenario: Scenario) -> Timeline:
    quiet_sequence_logging()
    reset_sequence_globals()
    return Timeline(formalism=_FORMALISMS[scenario.engine.formalism])


def _add_link(
    tl: Timeline,
    scenario: Scenario,
    pred: predictions.LinkPrediction,
    seed: int | np.random.SeedSequence,
    prefix: str,
    release_on_usable: bool,
    on_pair: Any,
    tdm_guard: bool,
) -> LinkNetwork:
    """Add one link (nodes named ``prefix`` + router_a/station/router_b) to ``tl``."""
    lk = scenario.link
    seeds = _node_seeds(seed)
    memory_args = {
        "fidelity": lk.raw_fidelity,
        "frequency": lk.memory_frequency_hz,
        "efficiency": lk.memory_efficiency,
        "coherence_time": -1 if lk.coherence_time_s is None else lk.coherence_time_s,
        "wavelength": lk.wavelength_nm,
    }
    names = {side: prefix + name for side, name in ROUTER_NAMES.items()}
    station_name = prefix + STATION_NAME
    routers = {
        side: RouterNode(names[side], tl, seeds[i], lk.memory_slots, memory_args)
        for i, side in enumerate(("a", "b"))
    }
    station = StationNode(
        station_name,
        tl,
        [names["a"], names["b"]],
        seeds[2],
        {"efficiency": lk.detector_efficiency},
    )
    speed_m_per_ps = predictions.light_speed_m_per_ps(lk.light_speed_km_per_s)
    atten_db_per_m = lk.attenuation_db_per_km / 1e3
    guard = predictions.guard_bins() if (lk.memory_slots > 1 and tdm_guard) else 0
    tau = {}
    for side, arm_km in (("a", lk.arm_a_km), ("b", lk.arm_b_km)):
        node = routers[side]
        kwargs = {"light_speed": speed_m_per_ps}
        qc_name = f"{prefix}qc.{side}"
        if side == "a":  # non-primary: chooses emission times -> enforces the TDM guard
            qc: QuantumChannel = GuardedQuantumChannel(
                qc_name, tl, atten_db_per_m, arm_km * 1e3, guard_bins=guard, **kwargs
            )
        else:
            qc = QuantumChannel(qc_name, tl, atten_db_per_m, arm_km * 1e3, **kwargs)
        qc.set_ends(node, station_name)
        tau[side] = predictions.arm_delay_ps(arm_km, lk.light_speed_km_per_s)
        for src, dst in ((node, station_name), (station, node.name)):
            cc = ClassicalChannel(f"cc.{src.name}.{dst}", tl, arm_km * 1e3, delay=tau[side])
            cc.set_ends(src, dst)
    for src, dst in (("a", "b"), ("b", "a")):
        cc = ClassicalChannel(
            f"{prefix}cc.{src}.{dst}",
            tl,
            (lk.arm_a_km + lk.arm_b_km) * 1e3,
            delay=tau["a"] + tau["b"],
        )
        cc.set_ends(routers[src], names[dst])
    usable_delay = round(pred.usable_delay_s * predictions.PS_PER_S)
    cutoff = None if lk.cutoff_s is None else round(lk.cutoff_s * predictions.PS_PER_S)
    supply = EntanglementSupply(
        tl,
        routers["a"],
        routers["b"],
        station_name,
        tau_ps=tau,
        usable_delay_ps=usable_delay,
        cutoff_ps=cutoff,
        selection=lk.selection,
        memory_times={
            "a": (scenario.router_a.t1_s, scenario.router_a.t2_s),
            "b": (scenario.router_b.t1_s, scenario.router_b.t2_s),
        },
        release_on_usable=release_on_usable,
        on_pair=on_pair,
    )
    return LinkNetwork(
        scenario=scenario,
        timeline=tl,
        routers=routers,
        station=station,
        supply=supply,
        graph=build_graph(scenario),
        prediction=pred,
    )
