"""Figures: topology, sweeps, frontier (matplotlib, written as PNG bytes)."""
