"""Architecture rules that a careless import would break.

The import graph is read from the source (every ``import`` statement, lazy ones inside
functions included; imports under ``if TYPE_CHECKING:`` are type hints, not dependencies).
Rules (docs/architecture.md): ``qnet`` never imports SeQUeNCe, and reaches ``nodes``/
``protocols`` only from the SeQUeNCe engine's entry point and the ``qnet link`` command;
engines never import a game; games never import an engine, SeQUeNCe, ``nodes`` or
``protocols``; ``nodes``/``protocols`` never import plots or the CLI; no import cycles
between modules; every module imports on its own in a fresh interpreter.
"""

from __future__ import annotations

import ast
import pkgutil
import subprocess
import sys
from pathlib import Path

import nodes
import protocols
import qnet

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("qnet", "nodes", "protocols")


def _modules() -> dict[str, Path]:
    """Every module of the three packages, by dotted name."""
    out: dict[str, Path] = {}
    for pkg in (qnet, nodes, protocols):
        out[pkg.__name__] = Path(pkg.__file__)
        for m in pkgutil.walk_packages(pkg.__path__, pkg.__name__ + "."):
            spec = m.module_finder.find_spec(m.name.rsplit(".", 1)[-1], None)  # type: ignore[call-arg]
            assert spec is not None and spec.origin is not None
            out[m.name] = Path(spec.origin)
    return out


MODULES = _modules()
CORE_MODULES = sorted(m for m in MODULES if m.startswith("qnet"))


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _imports(module: str, path: Path) -> set[str]:
    """Absolute names of the modules ``module`` imports at run time (lazy ones included)."""
    tree = ast.parse(path.read_text(), str(path))
    found: set[str] = set()
    package = module if path.name == "__init__.py" else module.rsplit(".", 1)[0]

    def visit(node: ast.AST) -> None:
        if isinstance(node, ast.If) and _is_type_checking(node.test):
            for child in node.orelse:
                visit(child)
            return
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")
                parts = parts[: len(parts) - node.level + 1]
                base = ".".join([*parts, base] if base else parts)
            found.add(base)
            for alias in node.names:  # `from pkg import module`
                if f"{base}.{alias.name}" in MODULES:
                    found.add(f"{base}.{alias.name}")
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(tree)
    return found


GRAPH = {m: _imports(m, p) for m, p in MODULES.items()}


def _within(name: str, prefix: str) -> bool:
    return name == prefix or name.startswith(prefix + ".")


def _violations(sources: str, targets: tuple[str, ...], allowed: tuple[str, ...] = ()) -> list:
    return sorted(
        (m, t)
        for m, deps in GRAPH.items()
        if _within(m, sources) and not any(_within(m, a) for a in allowed)
        for t in deps
        if any(_within(t, x) for x in targets)
    )


def test_the_graph_is_read() -> None:
    """The reader sees known edges (a broken reader would pass every rule below)."""
    assert "qnet.decisions.step" in GRAPH["qnet.engines.base"]
    assert "protocols.routing" in GRAPH["qnet.engines.sequence"]  # lazy, inside a function
    assert "qnet.config" not in GRAPH["qnet.engines.sequence"]  # TYPE_CHECKING only


def test_qnet_reaches_sequence_only_through_its_entry_points() -> None:
    """qnet never imports SeQUeNCe; nodes/protocols only from the engine and `qnet link`."""
    assert _violations("qnet", ("sequence",)) == []
    allowed = ("qnet.engines.sequence", "qnet.cli.link")
    assert _violations("qnet", ("nodes", "protocols"), allowed) == []


def test_engines_never_import_a_game() -> None:
    assert _violations("qnet.engines", ("qnet.games",)) == []


def test_games_never_import_engines_or_sequence() -> None:
    targets = ("qnet.engines", "sequence", "nodes", "protocols", "qnet.runs", "qnet.cli")
    assert _violations("qnet.games", targets) == []


def test_sequence_layer_never_imports_plots_or_cli() -> None:
    for pkg in ("nodes", "protocols"):
        assert _violations(pkg, ("qnet.plots", "qnet.cli", "qnet.runs", "qnet.sweeps")) == []


def test_no_import_cycles() -> None:
    """No module reaches itself through run-time imports (package __init__ re-exports of
    their own submodules are the package, not a cycle)."""
    edges = {
        m: {d for d in deps if d in MODULES and d != m and not _within(d, m) and not _within(m, d)}
        for m, deps in GRAPH.items()
    }
    state: dict[str, int] = {}
    stack: list[str] = []
    cycles: list[list[str]] = []

    def dfs(m: str) -> None:
        state[m] = 1
        stack.append(m)
        for d in sorted(edges[m]):
            if state.get(d) == 1:
                cycles.append([*stack[stack.index(d) :], d])
            elif d not in state:
                dfs(d)
        stack.pop()
        state[m] = 2

    for m in sorted(edges):
        if m not in state:
            dfs(m)
    assert cycles == []


def test_core_never_loads_sequence() -> None:
    """Import all of qnet in a fresh interpreter; SeQUeNCe must stay unloaded."""
    code = (
        "import importlib, sys\n"
        f"for m in {CORE_MODULES!r}: importlib.import_module(m)\n"
        "bad = sorted(k for k in sys.modules if k == 'sequence' or k.startswith('sequence.'))\n"
        "print(','.join(bad))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "", f"qnet imported SeQUeNCe modules: {out.stdout.strip()}"


def test_each_module_imports_first() -> None:
    """Each module imports when it is the first qnet module imported (a circular import
    fails exactly then). One interpreter: qnet/nodes/protocols are unloaded before each
    module (third-party packages stay loaded, which cannot hide a cycle of ours)."""
    code = (
        "import importlib, sys, traceback\n"
        "bad = []\n"
        f"for m in {CORE_MODULES!r}:\n"
        "    ours = [k for k in sys.modules if k.split('.')[0] in ('qnet', 'nodes', 'protocols')]\n"
        "    for k in ours:\n"
        "        del sys.modules[k]\n"
        "    try:\n"
        "        importlib.import_module(m)\n"
        "    except Exception as e:\n"
        "        bad.append(f'{m}: {e!r}')\n"
        "print('\\n'.join(bad))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


def test_modules_stay_small() -> None:
    """No module in qnet/ over 500 lines unless its docstring says why."""
    big = []
    for m in CORE_MODULES:
        text = MODULES[m].read_text()
        if text.count("\n") > 500 and "Longer than 500 lines" not in text:
            big.append((m, text.count("\n")))
    assert big == []
