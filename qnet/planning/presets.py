"""Hardware presets: scenario files under ``scenarios/presets/`` built from published
heralded-entanglement experiments, each with its ``sources`` (what was taken from the
publication and which values are assumptions)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from qnet.config import Scenario

__all__ = ["PRESET_DIR", "Preset", "list_presets", "load_preset", "preset_path"]

PRESET_DIR = Path(__file__).resolve().parents[2] / "scenarios" / "presets"
"""Where the preset files live (the repository's ``scenarios/presets``)."""


@dataclass(frozen=True)
class Preset:
    """A shipped preset: its name (file stem), scenario and sources."""

    name: str
    path: Path
    scenario: Scenario

    @property
    def sources(self) -> tuple[str, ...]:
        """Publications and assumptions behind the values."""
        return self.scenario.sources

    def to_dict(self) -> dict[str, Any]:
        """Plain-JSON form: name, file, description, sources."""
        return {
            "name": self.name,
            "path": str(self.path),
            "description": " ".join(self.scenario.description.split()),
            "sources": list(self.sources),
        }


def preset_names() -> list[str]:
    """Names of the shipped presets, sorted."""
    return sorted(p.stem for p in PRESET_DIR.glob("*.toml"))


def preset_path(name: str) -> Path:
    """The file of preset ``name``; ValueError naming the known presets if there is none."""
    names = preset_names()
    if name not in names:
        raise ValueError(
            f"--preset {name!r} is not a shipped preset: allowed {', '.join(names)} "
            "(qnet plan --list-presets shows them with their sources)"
        )
    return PRESET_DIR / f"{name}.toml"


def load_preset(name: str, overrides: list[str] | None = None) -> Preset:
    """Load and validate preset ``name`` with ``--set`` overrides."""
    from qnet.config import load_scenario

    path = preset_path(name)
    return Preset(name, path, load_scenario(path, overrides))


def list_presets() -> list[Preset]:
    """Every shipped preset, loaded and validated."""
    return [load_preset(n) for n in preset_names()]
