"""The physics both engines share, in pure numpy: two-qubit states and memory noise
(:mod:`~qnet.physics.noise`) and closed-form predictions of the heralded link
(:mod:`~qnet.physics.link`)."""
