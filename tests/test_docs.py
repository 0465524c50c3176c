"""The README and the manual in docs/ say what the code does, and their commands run.

- The scenario-key table in docs/scenario-keys.md is the output of the schema's
  ``reference_markdown()``, and it lists every leaf key once.
- Every relative link in README.md and docs/*.md points to an existing file, and a
  ``#anchor`` to an existing heading (GitHub's heading slugs).
- README.md stays a front page (at most 200 lines) whose Quickstart is the two Makefile
  targets CI runs; every registered CLI command has its section in docs/commands.md.
- Every command in a ```bash block of README.md that starts with ``qnet`` or
  ``.venv/bin/qnet`` runs as written (exit status 0), in-process through typer's
  CliRunner on ``qnet.cli.app.app``, from the repository root, in document order (a
  ``qnet sweep`` comes before the ``qnet results``/``qnet plot`` that read its store), with
  these small-size additions (:func:`_small`):

  * every argument under ``results/`` is moved into the test's temporary directory;
  * ``qnet run``: ``--set run.decisions=2000 --set run.warmup_decisions=200 --no-plot
    --out TMP`` appended (a later ``--set`` of the same key wins);
  * ``qnet frontier`` / ``qnet thresholds``: a ``--p-start/--p-stop/--p-step`` grid (or
    the default grid) is replaced by ``--p 0.2 --p 0.3``; explicit ``--p`` values stay;
    ``--no-plot --out TMP`` appended; thresholds also get ``--quantum-step 0.01
    --fidelity-points 3 --availability-points 3``;
  * ``qnet link``: ``--attempts 200``; ``qnet show``: ``--png TMP/topology.png``;
  * ``qnet plan``: ``--decisions 2000 --no-plot --out TMP`` appended;
  * ``qnet sweep``: the sweep file is copied into TMP with ``run.decisions = 1000``,
    ``run.warmup_decisions = 100``, every axis cut to two values (the first two of a
    ``values`` list, ``num = 2`` for a range) and its ``base`` made absolute;
    ``--workers 1`` unless the command names ``--workers`` or ``--scheduler``.

  The docs pages' ```bash commands run under the same rule, marked slow (several
  SeQUeNCe runs and a 28-point sweep). Templates with placeholders go into ```text blocks
  and are not run. Nothing may be written under the repository's ``results/``.
"""

from __future__ import annotations

import re
import shlex
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from qnet.config import Scenario, reference_markdown, reference_rows

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
DOCS = ROOT / "docs"
PAGES = [README, *sorted(DOCS.glob("*.md"))]
FENCE = re.compile(r"^(```+|~~~+)\s*([\w+-]*)")
LINK = re.compile(r"(?<!!)\[[^\]]*\]\(([^)\s]+)\)")


def _blocks(text: str) -> tuple[list[str], list[tuple[str, list[str]]]]:
    """Split Markdown into prose lines (fences removed) and fenced blocks (language, lines)."""
    prose: list[str] = []
    blocks: list[tuple[str, list[str]]] = []
    current: tuple[str, list[str]] | None = None
    marker = ""
    for line in text.splitlines():
        m = FENCE.match(line)
        if current is None and m:
            marker, current = m.group(1), (m.group(2), [])
        elif current is not None and line.strip().startswith(marker):
            blocks.append(current)
            current = None
        elif current is not None:
            current[1].append(line)
        else:
            prose.append(line)
    assert current is None, "unclosed code fence"
    return prose, blocks


def _slug(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens."""
    text = re.sub(r"[^\w\- ]", "", heading.strip().lower())
    return text.replace(" ", "-")


def _anchors(path: Path) -> set[str]:
    prose, _ = _blocks(path.read_text(encoding="utf-8"))
    seen: dict[str, int] = {}
    anchors = set()
    for line in prose:
        m = re.match(r"^#{1,6}\s+(.*?)\s*#*\s*$", line)
        if m:
            base = _slug(m.group(1))
            n = seen.get(base, 0)
            seen[base] = n + 1
            anchors.add(base if n == 0 else f"{base}-{n}")
    return anchors


def test_scenario_key_rows_cover_every_leaf_key() -> None:
    """The key table lists every key once, with its default and allowed range."""
    rows = {r[0]: r for r in reference_rows()}
    resolved = Scenario().to_dict()
    leaves = {
        f"{t}.{k}" if isinstance(v, dict) else t
        for t, v in resolved.items()
        for k in (v if isinstance(v, dict) else [None])
    }
    assert set(rows) == leaves
    assert rows["traffic.load"][2] == "(0, 1)"
    assert rows["link.raw_fidelity"][1:3] == ("1.0", "[0.25, 1]")
    assert rows["engine.name"][2] == "'sequence' or 'analytic'"


def test_scenario_key_table_is_generated_from_the_schema() -> None:
    """docs/scenario-keys.md holds exactly the table reference_markdown() prints."""
    page = (DOCS / "scenario-keys.md").read_text(encoding="utf-8")
    assert reference_markdown() in page, (
        "docs/scenario-keys.md is stale: replace its table with the output of\n"
        "  python -c 'from qnet.config import reference_markdown as r; print(r())'"
    )


def test_relative_links_point_to_existing_files_and_headings() -> None:
    """Every relative link in README.md and docs/*.md resolves, anchors included."""
    broken = []
    for page in PAGES:
        prose, _ = _blocks(page.read_text(encoding="utf-8"))
        for target in LINK.findall("\n".join(prose)):
            if re.match(r"^[a-z]+:", target):
                continue
            file_part, _, anchor = target.partition("#")
            dest = (page.parent / file_part).resolve() if file_part else page
            if not dest.exists():
                broken.append(f"{page.name}: {target} (no such file)")
            elif anchor and dest.suffix == ".md" and anchor not in _anchors(dest):
                broken.append(f"{page.name}: {target} (no such heading)")
    assert not broken, "broken links:\n" + "\n".join(broken)


def test_link_checker_sees_a_broken_anchor(tmp_path: Path) -> None:
    """The checker's slug rule: GitHub's anchor of a heading with punctuation and `code`."""
    page = tmp_path / "p.md"
    page.write_text("# The frontier (Theorem 4, Fig. 3)\n## `qnet run`\n## Same\n## Same\n")
    assert _anchors(page) == {"the-frontier-theorem-4-fig-3", "qnet-run", "same", "same-1"}


def test_readme_is_a_front_page() -> None:
    """README.md: at most 200 lines; its Quickstart is `make run` and `make test`."""
    text = README.read_text(encoding="utf-8")
    assert len(text.splitlines()) <= 200
    quick = text.split("## Quickstart", 1)[1].split("\n## ", 1)[0]
    _, blocks = _blocks(quick)
    commands = [line.split("#")[0].strip() for line in blocks[0][1]]
    assert commands == ["make run", "make test"]
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    assert re.search(r"^run:", makefile, re.M) and re.search(r"^test:", makefile, re.M)


def test_every_command_has_a_section_in_the_manual() -> None:
    """Each command registered on the CLI has a '## qnet NAME' heading in docs/commands.md."""
    from qnet.cli.app import app

    headings = [
        line for line in (DOCS / "commands.md").read_text().splitlines() if line.startswith("## ")
    ]
    names = [c.name for c in app.registered_commands]
    assert names and "run" in names
    missing = [n for n in names if not any(f"qnet {n}" in h for h in headings)]
    assert not missing, f"commands without a section in docs/commands.md: {missing}"


def _commands(page: Path) -> list[list[str]]:
    """The `qnet ...` command lines of a page's ```bash blocks, as argument lists."""
    _, blocks = _blocks(page.read_text(encoding="utf-8"))
    found = []
    for lang, lines in blocks:
        if lang not in ("bash", "sh", "shell"):
            continue
        for line in lines:
            args = shlex.split(line, comments=True)
            if args and args[0] in ("qnet", ".venv/bin/qnet"):
                found.append(args[1:])
    return found


def _small_sweep(path: str, tmp: Path) -> str:
    """Copy a sweep file into tmp: 1000 decisions per point, two values per axis, absolute base."""
    src = (ROOT / path).resolve()
    text = src.read_text(encoding="utf-8")
    text = re.sub(r'^"run\.decisions"\s*=.*$', "", text, flags=re.M)
    text = re.sub(r'^"run\.warmup_decisions"\s*=.*$', "", text, flags=re.M)
    base = re.search(r'^base\s*=\s*"([^"]+)"', text, re.M)
    assert base, f"{path}: no base"
    text = text.replace(base.group(0), f'base = "{(src.parent / base.group(1)).resolve()}"')
    text = re.sub(
        r"^\[set\]\s*$",
        '[set]\n"run.decisions" = 1000\n"run.warmup_decisions" = 100',
        text,
        count=1,
        flags=re.M,
    )
    assert '"run.decisions" = 1000' in text, f"{path}: no [set] table"
    text = re.sub(r"\bnum\s*=\s*\d+", "num = 2", text)
    text = re.sub(
        r"\bvalues\s*=\s*\[([^\]]*)\]",
        lambda m: "values = [" + ", ".join(m.group(1).split(",")[:2]) + "]",
        text,
    )
    dest = tmp / "sweeps" / src.name
    dest.parent.mkdir(parents=True, exist_ok=True)
    dest.write_text(text, encoding="utf-8")
    return str(dest)


def _drop_grid(args: list[str]) -> list[str]:
    out: list[str] = []
    skip = False
    for a in args:
        if skip:
            skip = False
        elif a in ("--p-start", "--p-stop", "--p-step"):
            skip = True
        elif not a.startswith(("--p-start=", "--p-stop=", "--p-step=")):
            out.append(a)
    return out


def _small(args: list[str], tmp: Path) -> list[str]:
    """The command with the small sizes of the module docstring's rule."""
    args = [str(tmp / a[len("results/") :]) if a.startswith("results/") else a for a in args]
    cmd, rest = args[0], args[1:]
    if cmd == "run":
        rest += ["--set", "run.decisions=2000", "--set", "run.warmup_decisions=200"]
        rest += ["--no-plot", "--out", str(tmp)]
    elif cmd in ("frontier", "thresholds"):
        rest = _drop_grid(rest)
        if "--p" not in rest:
            rest += ["--p", "0.2", "--p", "0.3"]
        rest += ["--no-plot", "--out", str(tmp)]
        if cmd == "thresholds":
            rest += ["--quantum-step", "0.01", "--fidelity-points", "3"]
            rest += ["--availability-points", "3"]
    elif cmd == "link":
        rest += ["--attempts", "200"]
    elif cmd == "plan" and "--list-presets" not in rest:
        rest += ["--decisions", "2000", "--no-plot", "--out", str(tmp)]
    elif cmd == "show" and "--png" not in rest and "--no-draw" not in rest:
        rest += ["--png", str(tmp / "topology.png")]
    elif cmd == "sweep":
        rest[0] = _small_sweep(rest[0], tmp)
        if "--workers" not in rest and "--scheduler" not in rest:
            rest += ["--workers", "1"]
    return [cmd, *rest]


def _run_page(page: Path, tmp: Path, monkeypatch: pytest.MonkeyPatch) -> int:
    from qnet.cli.app import app

    monkeypatch.chdir(ROOT)
    results = ROOT / "results"
    before = sorted(results.rglob("*")) if results.exists() else None
    runner = CliRunner()
    commands = _commands(page)
    for written in commands:
        args = _small(written, tmp)
        result = runner.invoke(app, args)
        assert result.exit_code == 0, (
            f"{page.name}: `qnet {shlex.join(written)}` failed (exit {result.exit_code}) "
            f"as `qnet {shlex.join(args)}`:\n{result.output}\n{result.exception!r}"
        )
        assert "error:" not in result.output
    after = sorted(results.rglob("*")) if results.exists() else None
    assert after == before, "a documented command wrote under results/ despite the rule"
    return len(commands)


def test_readme_commands_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every `qnet ...` line of README.md's bash blocks exits 0 with small sizes."""
    assert _run_page(README, tmp_path, monkeypatch) >= 10


@pytest.mark.slow
@pytest.mark.parametrize(
    "page", [p.name for p in PAGES if p != README and _commands(p)], ids=lambda name: name
)
def test_docs_commands_run(page: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every `qnet ...` line of the docs pages' bash blocks exits 0 with small sizes."""
    assert _run_page(DOCS / page, tmp_path, monkeypatch) >= 1


@pytest.mark.slow
def test_classical_certificate_report_runs() -> None:
    """`python benchmarks/bench_classical.py` (docs/findings.md) prints its report."""
    import subprocess

    out = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "bench_classical.py")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    ).stdout
    assert "constant-router boundary from p = 0.1957" in out
