"""SeQUeNCe node types for qnet's router and midpoint-station nodes, and the link builder.

Public API (see :mod:`nodes.network` for the full contract): :func:`build_network`
returns a :class:`LinkNetwork` (timeline, routers' pair stores, ``usable_pairs``,
``select_pair``, ``measure``, ``pair_fidelity``); :func:`run_link` runs the link alone
(``qnet link``).
"""

from nodes.link_run import Estimate, LinkReport, run_link
from nodes.network import (
    LinkNetwork,
    build_graph,
    build_network,
    reset_sequence_globals,
)

__all__ = [
    "Estimate",
    "LinkNetwork",
    "LinkReport",
    "build_graph",
    "build_network",
    "reset_sequence_globals",
    "run_link",
]
