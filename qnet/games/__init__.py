"""Coordination games: what the routers see, how a decision is scored, and the classical
and quantum strategies with their values. One subpackage per game."""
