"""The routing protocol on the SeQUeNCe timeline: real simulated pairs spent on decisions.

Customer pairs arrive at the times the runner drew (Poisson(lambda), one customer at each
router at the same instant; service times Exp(mu)). Each arrival is an event on the
SeQUeNCe timeline of the link built by :func:`nodes.network.build_network`, which keeps
generating Barrett-Kok pairs on every free slot pair in the background. At the event each
router, as a :class:`RouterAgent`, acts on its own information only:

1. it looks in *its own* pair store for the pair the agreement rule selects at this
   instant (usable from herald + the longer herald delay, not past the cutoff,
   ``oldest``/``newest`` by herald id: both stores give the same pair without any
   message -- the protocol checks this and counts disagreements);
2. with a pair, it plays the plan's with-pair mixture (component chosen by a shared
   uniform): for angle strategies it measures its half at θ(x) (x = its customer's
   service time in units of 1/mu), by the Born rule on the true state in SeQUeNCe's
   quantum manager (after the memory's decoherence, :mod:`protocols.entanglement`), and
   applies its readout error; the outcome is the server (a threshold component, which a
   noise-aware plan may pick, leaves the pair in store);
3. without one, it plays the plan's classical fallback with the routers' shared random
   numbers of this decision (mixture choice and flip bit, a seeded stream both hold).

Both routers also flip a quantum outcome together on the shared bit, which leaves
o_A o_B unchanged and removes the Z bias amplitude damping gives a single router's output
(:mod:`qnet.physics.noise`), so servers stay load-balanced. One pair at most per decision.

The run yields a :class:`qnet.decisions.log.DecisionLog` (arrival time, x1, x2, o_A, o_B, pair
used, its age and its fidelity at use read from the quantum manager just before the
measurements), wrapped in a :class:`qnet.engines.analytic.EngineResult`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from nodes.network import LinkNetwork, build_network
from qnet.decisions.log import DecisionLog
from qnet.engines.analytic import EngineResult
from qnet.physics.link import PS_PER_S

if TYPE_CHECKING:
    from protocols.entanglement import PairRecord
    from qnet.config import Scenario
    from qnet.games.routing.profile import RoutingPlan

__all__ = ["RouterAgent", "RoutingProtocol", "run_sequence"]

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

    def measure(self, pair: PairRecord, theta: float, flip: int, readout_u: float) -> int:
        """The server (+1/-1): its half measured at θ, readout error, shared flip."""
        outcome = self.net.measure(self.side, pair, float(theta))
        if readout_u < self.readout_error:
            outcome = -outcome
        return outcome * flip


class RoutingProtocol:
    """Schedules every customer-pair arrival on the timeline and records the decisions."""

    def __init__(
        self,
        net: LinkNetwork,
        plan: RoutingPlan,
        scenario: Scenario,
        t_s: np.ndarray,
        x1_s: np.ndarray,
        x2_s: np.ndarray,
        rngs: dict[str, np.random.Generator],
    ) -> None:
        n = len(t_s)
        mu = scenario.traffic.mu_hz
        self.net = net
        self.t_ps = np.round(np.asarray(t_s) * PS_PER_S).astype(np.int64)
        self.x1 = np.asarray(x1_s) * mu
        self.x2 = np.asarray(x2_s) * mu
        outcome_u = rngs["outcomes"].random((n, 2))  # the routers' readout-error draws
        shared_u = rngs["shared"].random((n, 3))  # both routers hold these
        self.readout_u = outcome_u
        self.flip = np.where(shared_u[:, 1] < 0.5, -1, 1).astype(np.int8)
        # What each router would play in each branch: a function of its own service
        # time and the shared numbers only (precomputed here for speed).
        self.fallback_a, self.fallback_b = plan.fallback_outputs(
            self.x1, self.x2, shared_u[:, 0], shared_u[:, 1]
        )
        k = plan.with_pair.choose(shared_u[:, 2])
        self.quantum_component = plan.with_pair.is_quantum(k)
        self.theta_a, self.theta_b = plan.angles(k, self.x1, self.x2)
        self.ignore_a, self.ignore_b = plan.with_pair_threshold_outputs(
            k, self.x1, self.x2, shared_u[:, 1]
        )
        self.agents = {
            "a": RouterAgent("a", net, scenario.router_a.readout_error),
            "b": RouterAgent("b", net, scenario.router_b.readout_error),
        }
        self.available = np.zeros(n, dtype=bool)
        self.o_a = np.zeros(n, dtype=np.int8)
        self.o_b = np.zeros(n, dtype=np.int8)
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
            self.o_a[i], self.o_b[i] = self.fallback_a[i], self.fallback_b[i]
            return
        self.available[i] = True
        if not self.quantum_component[i]:  # the plan leaves this pair unused
            self.o_a[i], self.o_b[i] = self.ignore_a[i], self.ignore_b[i]
            return
        self.used[i] = True
        self.age_s[i] = (t - pair_a.herald_ps) / PS_PER_S
        self.fidelity[i] = self.net.pair_fidelity(pair_a, t)
        flip = int(self.flip[i])
        self.o_a[i] = a.measure(pair_a, self.theta_a[i], flip, self.readout_u[i, 0])
        self.o_b[i] = b.measure(pair_b, self.theta_b[i], flip, self.readout_u[i, 1])

    def run(self, progress: Callable[[str, float], None] | None = None) -> None:
        """Run the timeline through every arrival, a chunk of events at a time."""
        n = len(self.t_ps)
        for start in range(0, n, _CHUNK):
            stop = min(start + _CHUNK, n)
            for i in range(start, stop):
                self.net.call_at(int(self.t_ps[i]), self._arrival, i)
            self.net.run_until(int(self.t_ps[stop - 1]) + 1)
            if progress is not None:
                progress("simulating decisions (SeQUeNCe)", stop / n)


def run_sequence(
    scenario: Scenario,
    plan: RoutingPlan,
    t_s: np.ndarray,
    x1_s: np.ndarray,
    x2_s: np.ndarray,
    rngs: dict[str, np.random.Generator],
    progress: Callable[[str, float], None] | None = None,
) -> EngineResult:
    """Decision log of the SeQUeNCe engine for pre-sampled traffic (the runner's streams).

    ``rngs`` holds the runner's named streams; the link's node generators are seeded from
    the ``"link"`` stream, the readout draws from ``"outcomes"``, the routers' shared
    numbers from ``"shared"``.
    """
    seed = np.random.SeedSequence(int(rngs["link"].integers(2**63)))
    net = build_network(scenario, seed=seed)
    try:
        proto = RoutingProtocol(net, plan, scenario, t_s, x1_s, x2_s, rngs)
        proto.run(progress)
        if proto.disagreements:
            raise RuntimeError(
                f"the routers' pair stores disagreed at {proto.disagreements} decisions"
            )
        counters = net.supply.counters
        log = DecisionLog(
            t_s=np.asarray(t_s, dtype=float),
            x1_s=np.asarray(x1_s, dtype=float),
            x2_s=np.asarray(x2_s, dtype=float),
            o_a=proto.o_a,
            o_b=proto.o_b,
            used_pair=proto.used,
            pair_age_s=proto.age_s,
            pair_fidelity=proto.fidelity,
        )
        return EngineResult(log, proto.available, int(counters.successes), int(counters.discarded))
    finally:
        net.close()
