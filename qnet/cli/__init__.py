"""The ``qnet`` command line: one module per command, assembled in :mod:`qnet.cli.app`."""

from qnet.cli.app import app, main

__all__ = ["app", "main"]
