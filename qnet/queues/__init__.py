"""The routing games' application metric: the two-server queue in closed form
(:mod:`~qnet.queues.model`, paper App. A) and replayed from a decision log
(:mod:`~qnet.queues.replay`)."""
