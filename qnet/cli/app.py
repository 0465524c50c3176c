"""The ``qnet`` command line: thin typer commands over library calls.

Each command lives in its own module ``qnet/cli/<name>.py`` exposing ``register(app)``;
this module only assembles them.
"""

from __future__ import annotations

import importlib
import os

import typer

from qnet.cli.options import ErrorLineGroup

app = typer.Typer(
    cls=ErrorLineGroup,
    name="qnet",
    help="Quantum networks that spend entanglement on routing decisions.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


BLAS_THREAD_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")


def one_blas_thread() -> None:
    """Pin BLAS/OpenMP to one thread: sums in one order, so the numbers do not depend on
    OMP_NUM_THREADS or the core count (a sweep on 1 or 2 workers stores the same values)."""
    for var in BLAS_THREAD_VARIABLES:  # libraries loaded later read these
        os.environ[var] = "1"
    from threadpoolctl import threadpool_limits

    threadpool_limits(1)  # libraries already loaded


@app.callback()
def _root() -> None:
    """Quantum networks that spend entanglement on routing decisions."""
    one_blas_thread()


# One line per command module; each defines register(app: typer.Typer) -> None.
COMMAND_MODULES: tuple[str, ...] = (
    "run",
    "frontier",
    "link",
    "thresholds",
    "show",
    "sweep",
    "results",
    "plot",
    "game",
    "plan",
)

for _name in COMMAND_MODULES:
    importlib.import_module(f"qnet.cli.{_name}").register(app)


@app.command("version")
def version_command() -> None:
    """Print the versions of qnet and of the SeQUeNCe engine it was installed with."""
    from importlib.metadata import version

    import qnet

    typer.echo(f"qnet {qnet.__version__}, SeQUeNCe {version('sequence')}")


def main() -> None:
    """Console-script entry point."""
    app()
