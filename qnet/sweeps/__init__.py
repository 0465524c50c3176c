"""Sweeps over scenario keys, their executors and the SQLite results store."""
