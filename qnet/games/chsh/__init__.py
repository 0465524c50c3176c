"""CHSH co-location load balancing (HotNets'25 Sec. 4.1): the game, the queueing model,
its exact stability boundary, the knee study and the random-XOR-game generalization."""

from qnet.games.chsh.game import ChshGame, fidelity_to_visibility, visibility_to_fidelity
from qnet.games.chsh.load_balancing import LoadBalancingConfig, knee_loads, simulate
from qnet.games.chsh.stability import stability_boundary
from qnet.games.chsh.tables import Strategy, any_server_best, quantum_strategy, random_strategy

__all__ = [
    "ChshGame",
    "LoadBalancingConfig",
    "Strategy",
    "any_server_best",
    "fidelity_to_visibility",
    "knee_loads",
    "quantum_strategy",
    "random_strategy",
    "simulate",
    "stability_boundary",
    "visibility_to_fidelity",
]
