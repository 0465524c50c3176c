"""The decision protocol on the SeQUeNCe timeline: real simulated pairs spent on decisions.

Decisions happen at the times the runner drew; each is an event on the SeQUeNCe timeline
of the link built by :func:`nodes.network.build_network`, which keeps generating
Barrett-Kok pairs on every free slot pair in the background. At the event each player, as
a :class:`RouterAgent`, acts on its own information only:

1. it looks in *its own* pair store for the pair the agreement rule selects at this
   instant (usable from herald + the longer herald delay, not past the cutoff,
   ``oldest``/``newest`` by herald id: both stores give the same pair without any
   message -- the protocol checks this and counts disagreements);
2. if a pair is there and its decision's settings want one, it measures its half at its
   angle θ by the Born rule on the true state in SeQUeNCe's quantum manager (after the
   memory's decoherence, :mod:`protocols.entanglement`) and applies its readout error.

What the players then route (fallback, unused pair, measured outcome with the shared
flip) is :meth:`qnet.decisions.step.DecisionStep.outputs`, the same code the analytic
engine's results go through. The run yields a :class:`qnet.engines.base.PairUse`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from nodes.network import LinkNetwork, build_network, build_networks
from qnet.decisions.step import MeasurementSettings
from qnet.engines.base import PairUse
from qnet.physics.link import PS_PER_S

if TYPE_CHECKING:
    from protocols.entanglement import PairRecord
    from qnet.config import Scenario

__all__ = ["RouterAgent", "RoutingProtocol", "run_sequence", "run_sequence_links"]

_CHUNK = 500  # decisions scheduled on the timeline at a time (keeps the event heap small)


@dataclass
class RouterAgent:
    """One router: its side of the link and readout error.

    It sees only its own customer's service time, its own pair store and the shared
    random numbers of the decision; it never reads the other router's state.
    """

    side: str
    net: LinkNetwork
    readout_error: float

    def select(self, t_ps: int) -> PairRecord | None:
        """The pair this router's store selects for a decision at ``t_ps`` (or None)."""
        return self.net.select_pair(self.side, t_ps)

    def measure(self, pair: PairRecord, theta: float, readout_u: float) -> int:
        """Its half measured at θ (±1), with its readout error."""
        outcome = self.net.measure(self.side, pair, float(theta))
        if readout_u < self.readout_error:
            outcome = -outcome
        return outcome


class RoutingProtocol:
    """Schedules every decision on the timeline and records the pairs used and outcomes."""

    def __init__(
        self,
        net: LinkNetwork,
        scenario: Scenario,
        t_s: np.ndarray,
        settings: MeasurementSettings,
        rngs: dict[str, np.random.Generator],
    ) -> None:
        n = len(t_s)
        self.net = net
        self.t_ps = np.round(np.asarray(t_s) * PS_PER_S).astype(np.int64)
        self.settings = settings
        self.readout_u = rngs["outcomes"].random((n, 2))  # the routers' readout-error draws
        self.agents = {
            "a": RouterAgent("a", net, scenario.router_a.readout_error),
            "b": RouterAgent("b", net, scenario.router_b.readout_error),
        }
        self.available = np.zeros(n, dtype=bool)
        self.outcome_a = np.zeros(n, dtype=np.int8)
        self.outcome_b = np.zeros(n, dtype=np.int8)
        self.used = np.zeros(n, dtype=bool)
        self.age_s = np.full(n, np.nan)
        self.fidelity = np.full(n, np.nan)
        self.disagreements = 0

    def _arrival(self, i: int) -> None:
        t = int(self.t_ps[i])
        a, b = self.agents["a"], self.agents["b"]
        pair_a, pair_b = a.select(t), b.select(t)
        if (pair_a is None) != (pair_b is None) or (
            pair_a is not None and pair_b is not None and pair_a.herald_id != pair_b.herald_id
        ):
            # The agreement rule failed: both fall back, the pair stays (never seen so far).
            self.disagreements += 1
            pair_a = pair_b = None
        if pair_a is None or pair_b is None:
            return
        self.available[i] = True
        if not self.settings.wants_pair[i]:  # the chosen component leaves this pair unused
            return
        self.used[i] = True
        self.age_s[i] = (t - pair_a.herald_ps) / PS_PER_S
        self.fidelity[i] = self.net.pair_fidelity(pair_a, t)
        self.outcome_a[i] = a.measure(pair_a, self.settings.theta_a[i], self.readout_u[i, 0])
        self.outcome_b[i] = b.measure(pair_b, self.settings.theta_b[i], self.readout_u[i, 1])

    def schedule(self, start: int, stop: int) -> None:
        """Put decisions ``start:stop`` on the timeline."""
        for i in range(start, stop):
            self.net.call_at(int(self.t_ps[i]), self._arrival, i)

    def run(self, progress: Callable[[str, float], None] | None = None) -> None:
        """Run the timeline through every arrival, a chunk of events at a time."""
        n = len(self.t_ps)
        for start in range(0, n, _CHUNK):
            stop = min(start + _CHUNK, n)
            self.schedule(start, stop)
            self.net.run_until(int(self.t_ps[stop - 1]) + 1)
            if progress is not None:
                progress("simulating decisions (SeQUeNCe)", stop / n)

    def pair_use(self) -> PairUse:
        """What this link supplied (raises if the routers' stores ever disagreed)."""
        if self.disagreements:
            raise RuntimeError(
                f"the routers' pair stores disagreed at {self.disagreements} decisions"
            )
        counters = self.net.supply.counters
        return PairUse(
            available=self.available,
            used=self.used,
            outcome_a=self.outcome_a,
            outcome_b=self.outcome_b,
            pair_age_s=self.age_s,
            pair_fidelity=self.fidelity,
            pairs_heralded=int(counters.successes),
            pairs_discarded=int(counters.discarded),
        )


def run_sequence(
    scenario: Scenario,
    t_s: np.ndarray,
    settings: MeasurementSettings,
    rngs: dict[str, np.random.Generator],
    progress: Callable[[str, float], None] | None = None,
) -> PairUse:
    """Pairs supplied and measured on the SeQUeNCe timeline at the decision times ``t_s``.

    ``rngs`` holds the runner's named streams; the link's node generators are seeded from
    the ``"link"`` stream, the readout draws from ``"outcomes"``.
    """
    net = build_network(scenario, seed=_link_seed(rngs))
    try:
        proto = RoutingProtocol(net, scenario, t_s, settings, rngs)
        proto.run(progress)
        return proto.pair_use()
    finally:
        net.close()


def _link_seed(rngs: dict[str, np.random.Generator]) -> np.random.SeedSequence:
    """The link's node seeds, drawn from its ``"link"`` stream."""
    return np.random.SeedSequence(int(rngs["link"].integers(2**63)))


def run_sequence_links(
    scenario: Scenario,
    t_s: np.ndarray,
    settings: list[MeasurementSettings],
    rngs: list[dict[str, np.random.Generator]],
    progress: Callable[[str, float], None] | None = None,
) -> list[PairUse]:
    """L copies of the scenario's link on ONE SeQUeNCe timeline, decisions at ``t_s``.

    Link i measures at ``settings[i]`` and draws from ``rngs[i]`` exactly as
    :func:`run_sequence` would alone (:func:`nodes.network.build_networks`), so each
    link's :class:`PairUse` is the one it would get on its own timeline.
    """
    if len(settings) != len(rngs):
        raise ValueError(f"{len(settings)} settings for {len(rngs)} links: must match")
    nets = build_networks(scenario, [_link_seed(r) for r in rngs])
    try:
        protos = [
            RoutingProtocol(net, scenario, t_s, s, r)
            for net, s, r in zip(nets, settings, rngs, strict=True)
        ]
        n = len(t_s)
        for start in range(0, n, _CHUNK):  # the chunks of run_sequence: same event order
            stop = min(start + _CHUNK, n)
            for proto in protos:
                proto.schedule(start, stop)
            nets[0].run_until(int(protos[0].t_ps[stop - 1]) + 1)
            if progress is not None:
                progress("simulating decisions (SeQUeNCe, all links)", stop / n)
        return [proto.pair_use() for proto in protos]
    finally:
        nets[0].close()
