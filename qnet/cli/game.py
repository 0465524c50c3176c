"""``qnet game NAME``: one coordination game's values, strategies and figures.

Each game's commands live in their own module ``qnet/cli/game_<name>.py`` exposing
``register(game_app)``; this module only assembles them under ``qnet game``.
"""

from __future__ import annotations

import importlib

import typer

from qnet.cli.options import ErrorLineGroup

# One line per game command module; each defines register(game_app: typer.Typer) -> None.
GAME_MODULES: tuple[str, ...] = ("sum_threshold", "chsh")


def register(app: typer.Typer) -> None:
    """Add the ``game`` command group with every game module's commands."""
    game_app = typer.Typer(
        cls=ErrorLineGroup,
        name="game",
        help="Values, strategies and figures of one coordination game.",
        no_args_is_help=True,
    )
    for name in GAME_MODULES:
        importlib.import_module(f"qnet.cli.game_{name}").register(game_app)
    app.add_typer(game_app, name="game")
