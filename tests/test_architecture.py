"""Architecture rules that a careless import would break.

The analysis core ``qnet`` is pure numpy/scipy: importing every one of its modules must
not import SeQUeNCe (only ``nodes`` and ``protocols`` may), and every module must import
on its own (a circular import fails when the module is the first one imported).
"""

from __future__ import annotations

import pkgutil
import subprocess
import sys

import pytest

import qnet

CORE_MODULES = sorted(m.name for m in pkgutil.iter_modules(qnet.__path__, "qnet."))


def test_core_never_imports_sequence() -> None:
    """Import all of qnet in a fresh interpreter; SeQUeNCe must stay unloaded."""
    code = (
        "import importlib, sys\n"
        f"for m in {CORE_MODULES!r}: importlib.import_module(m)\n"
        "bad = sorted(k for k in sys.modules if k == 'sequence' or k.startswith('sequence.'))\n"
        "print(','.join(bad))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "", f"qnet imported SeQUeNCe modules: {out.stdout.strip()}"


@pytest.mark.parametrize("module", CORE_MODULES)
def test_each_module_imports_first(module: str) -> None:
    """Each module imports in a fresh interpreter (no import cycles, no import-time I/O)."""
    subprocess.run([sys.executable, "-c", f"import {module}"], check=True, capture_output=True)
