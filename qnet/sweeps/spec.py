"""Sweep files: a base scenario, the axes to vary, every point's coordinates and seed.

A sweep file (TOML) names a base scenario (path relative to the sweep file), optional
fixed overrides ``[set]`` and the axes ``[axes]`` -- any dotted scenario key, with values
given as a list, a range ``{start, stop, num}`` or a log-range ``{start, stop, num,
log = true}``; ``also = ["other.key"]`` sets further keys to the same value (e.g. both
fiber arms). Axes are crossed (``mode = "cross"``, every combination) or zipped
(``mode = "zip"``, i-th value of each). ``replicates = N`` repeats every point with N
independent seeds (coordinate ``replicate``).

Each point's seed is a hash of the sweep seed and the point's coordinates
(:func:`point_seed`), never of its position or of where it ran, so a point gives the same
numbers on a laptop process pool and on a Dask cluster. Points are identified in the
results store by their resolved scenario's digest, so a rerun skips finished points
(:mod:`qnet.sweeps.executors` runs them).

Examples:
    >>> point_seed(7, {"link.arm_a_km": 10.0}) == point_seed(7, {"link.arm_a_km": 10.0})
    True
"""

from __future__ import annotations

import difflib
import hashlib
import itertools
import json
import math
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np

from qnet.config import (
    Scenario,
    ScenarioError,
    apply_overrides,
    check_name,
    read_toml,
    reference_rows,
    scenario_from_dict,
    slug_name,
)

__all__ = [
    "Axis",
    "Sweep",
    "SweepError",
    "SweepPoint",
    "load_sweep",
    "point_seed",
]

_RANGE_KEYS = {"start", "stop", "num", "log", "values", "also"}
_FILE_KEYS = {"name", "description", "base", "seed", "mode", "replicates", "set", "axes"}


class SweepError(ValueError):
    """A sweep file or one of its points is invalid."""


@dataclass(frozen=True)
class Axis:
    """One swept scenario key, its values, and keys that follow it (``also``)."""

    key: str
    values: tuple[Any, ...]
    log: bool = False
    also: tuple[str, ...] = ()


@dataclass(frozen=True)
class SweepPoint:
    """One point: its coordinates on the axes and its validated scenario."""

    index: int
    coords: dict[str, Any]
    scenario: Scenario

    @property
    def point_id(self) -> str:
        """The resolved scenario's digest (seed included): the store's key."""
        return self.scenario.digest()


# ---------------------------------------------------------------- seeding


def point_seed(sweep_seed: int, coords: dict[str, Any]) -> int:
    """Seed of a point: SHA-256 of the sweep seed and its coordinates, 62 bits."""
    blob = json.dumps({"sweep_seed": sweep_seed, "coords": coords}, sort_keys=True).encode()
    return int.from_bytes(hashlib.sha256(blob).digest()[:8], "big") >> 2


# ---------------------------------------------------------------- the sweep file


def _nice(x: float) -> float:
    """Round a generated value to 12 significant digits (1e-2, not 0.009999999999)."""
    return float(f"{x:.12g}")


_KEYS = {row[0]: row for row in reference_rows()}


def _check_key(key: str, where: str) -> None:
    if key not in _KEYS:
        near = difflib.get_close_matches(key, list(_KEYS), n=1)
        hint = f" (did you mean '{near[0]}'?)" if near else ""
        raise SweepError(f"{where}: '{key}' is not a scenario key{hint}")


def _flatten(table: dict[str, Any], prefix: str = "") -> Iterator[tuple[str, Any]]:
    """Yield (dotted key, leaf) pairs; range tables and lists are leaves."""
    for k, v in table.items():
        key = f"{prefix}{k}"
        # no scenario table has keys named start/stop/num/log/values/also
        is_range = isinstance(v, dict) and bool(v) and set(v) <= _RANGE_KEYS
        if isinstance(v, dict) and not is_range:
            yield from _flatten(v, key + ".")
        else:
            yield key, v


def _axis(key: str, spec: Any) -> Axis:
    """Build one axis from a list or a range table, refusing bad shapes clearly."""
    where = f"axes.{key}"
    if key == "seed":
        raise SweepError(f"{where}: the seed is derived per point; use 'replicates = N'")
    _check_key(key, "axes")
    also: tuple[str, ...] = ()
    log = False
    if isinstance(spec, list):
        values = spec
    elif isinstance(spec, dict):
        unknown = set(spec) - _RANGE_KEYS
        if unknown:
            raise SweepError(f"{where}: unknown range key(s) {sorted(unknown)}")
        also_raw = spec.get("also", [])
        if not isinstance(also_raw, list) or not all(isinstance(a, str) for a in also_raw):
            raise SweepError(f"{where}.also = {also_raw!r}: expected a list of scenario keys")
        for a in also_raw:
            _check_key(a, f"{where}.also")
        also = tuple(also_raw)
        if "values" in spec:
            if {"start", "stop", "num", "log"} & set(spec):
                raise SweepError(f"{where}: give either 'values' or start/stop/num, not both")
            values = spec["values"]
            if not isinstance(values, list):
                raise SweepError(f"{where}.values = {values!r}: expected a list")
        else:
            values, log = _range(where, spec)
    else:
        raise SweepError(
            f"{where} = {spec!r}: expected a list of values or a table {{start, stop, num[, log]}}"
        )
    if not values:
        raise SweepError(f"{where}: no values")
    for v in values:
        if not _plain(v):
            raise SweepError(
                f"{where}: value {v!r} is not a number, string or boolean (dates and times are "
                "not scenario values)"
            )
    if log or isinstance(spec, dict) and "start" in spec:
        if _is_int_key(key):  # a range over an integer key (e.g. run.decisions)
            values = [round(v) for v in values]
    if len({json.dumps(v) for v in values}) != len(values):
        raise SweepError(f"{where}: repeated values {values!r}")
    return Axis(key=key, values=tuple(values), log=log, also=also)


def _plain(value: Any) -> bool:
    """True for JSON-able TOML values: numbers, strings, booleans, arrays and tables of them."""
    if isinstance(value, bool | int | float | str):
        return True
    if isinstance(value, list):
        return all(_plain(v) for v in value)
    if isinstance(value, dict):
        return all(isinstance(k, str) and _plain(v) for k, v in value.items())
    return False


def _is_int_key(key: str) -> bool:
    default = Scenario().to_dict()
    node: Any = default
    for part in key.split("."):
        node = node[part]
    return isinstance(node, int) and not isinstance(node, bool)


def _range(where: str, spec: dict[str, Any]) -> tuple[list[Any], bool]:
    missing = {"start", "stop", "num"} - set(spec)
    if missing:
        raise SweepError(f"{where}: a range needs start, stop and num; missing {sorted(missing)}")
    start, stop, num, log = spec["start"], spec["stop"], spec["num"], spec.get("log", False)
    for name, v in (("start", start), ("stop", stop)):
        if isinstance(v, bool) or not isinstance(v, int | float) or not math.isfinite(v):
            raise SweepError(f"{where}.{name} = {v!r}: expected a finite number")
    if isinstance(num, bool) or not isinstance(num, int) or not 1 <= num <= 100_000:
        raise SweepError(f"{where}.num = {num!r} is out of range: allowed integers [1, 100000]")
    if not isinstance(log, bool):
        raise SweepError(f"{where}.log = {log!r}: expected true or false")
    if log:
        if start <= 0 or stop <= 0:
            raise SweepError(
                f"{where}: a log range needs start > 0 and stop > 0, got {start!r}, {stop!r}"
            )
        raw = np.geomspace(start, stop, num)
    else:
        raw = np.linspace(start, stop, num)
    return [_nice(v) for v in raw], log


@dataclass(frozen=True)
class Sweep:
    """A validated sweep: base scenario data, axes, mode, seed."""

    name: str
    path: Path
    base_path: Path
    base: dict[str, Any]
    axes: tuple[Axis, ...]
    mode: Literal["cross", "zip"] = "cross"
    seed: int = 0
    replicates: int = 1
    description: str = ""

    @property
    def axis_keys(self) -> list[str]:
        """Coordinate names in order (``replicate`` last when replicating)."""
        keys = [a.key for a in self.axes]
        return keys + (["replicate"] if self.replicates > 1 else [])

    def coordinates(self) -> list[dict[str, Any]]:
        """Every point's coordinates, in sweep order (cross: last axis fastest)."""
        if self.mode == "zip":
            combos = list(zip(*(a.values for a in self.axes), strict=True))
        else:
            combos = list(itertools.product(*(a.values for a in self.axes)))
        out = []
        for combo in combos:
            coords = {a.key: v for a, v in zip(self.axes, combo, strict=True)}
            for r in range(self.replicates):
                out.append({**coords, "replicate": r} if self.replicates > 1 else dict(coords))
        return out

    def overrides(self, coords: dict[str, Any]) -> dict[str, Any]:
        """Dotted-key overrides that turn the base into one point (seed included)."""
        over: dict[str, Any] = {}
        for a in self.axes:
            for key in (a.key, *a.also):
                over[key] = coords[a.key]
        over["seed"] = point_seed(self.seed, coords)
        return over

    def points(self) -> list[SweepPoint]:
        """Every point with its validated scenario; all invalid points are reported."""
        points, bad = [], []
        for i, coords in enumerate(self.coordinates()):
            data = apply_overrides(self.base, self.overrides(coords))
            try:
                scenario = scenario_from_dict(data)
            except ScenarioError as err:
                shown = ", ".join(f"{k}={v!r}" for k, v in coords.items())
                bad.append(f"point {i} ({shown}): {err}")
                continue
            points.append(SweepPoint(index=i, coords=coords, scenario=scenario))
        if bad:
            more = f" (and {len(bad) - 3} more)" if len(bad) > 3 else ""
            raise SweepError(
                f"{self.path}: {len(bad)} of {len(bad) + len(points)} points are invalid: "
                + "; ".join(bad[:3])
                + more
            )
        return points

    def spec(self) -> dict[str, Any]:
        """JSON-able description stored with the results (axes, mode, seed, base)."""
        return {
            "name": self.name,
            "description": self.description,
            "base": str(self.base_path),
            "mode": self.mode,
            "seed": self.seed,
            "replicates": self.replicates,
            "axes": [
                {"key": a.key, "values": list(a.values), "log": a.log, "also": list(a.also)}
                for a in self.axes
            ],
        }


def _read_toml(path: Path, not_found: str) -> dict[str, Any]:
    """Parse a TOML file; a missing file raises ``SweepError(not_found)``, any other problem
    (a directory, a device, non-UTF-8 bytes, bad TOML) one :class:`SweepError` naming it."""
    what = "sweep file" if not_found.startswith("sweep") else "base scenario"
    try:
        return read_toml(path, what)
    except ScenarioError as err:
        missing = str(err) == f"{what} not found: {path}"
        raise SweepError(not_found if missing else str(err)) from None


def load_sweep(path: str | Path) -> Sweep:
    """Read and validate a sweep file and its base scenario (every point checked)."""
    path = Path(path)
    data = _read_toml(path, f"sweep file not found: {path}")
    unknown = set(data) - _FILE_KEYS
    if unknown:
        raise SweepError(
            f"{path}: unknown key(s) {sorted(unknown)}; allowed: {', '.join(sorted(_FILE_KEYS))}"
        )
    if not isinstance(data.get("base"), str):
        raise SweepError(f"{path}: 'base' must name the base scenario file (relative path)")
    base_path = (path.parent / data["base"]).resolve()
    base = _read_toml(base_path, f"{path}: base scenario not found: {base_path}")
    base.setdefault("name", slug_name(base_path.stem))
    seed = data.get("seed", 0)
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise SweepError(f"{path}: seed = {seed!r} is out of range: allowed integers [0, inf)")
    mode = data.get("mode", "cross")
    if mode not in ("cross", "zip"):
        raise SweepError(f"{path}: mode = {mode!r} is not a valid choice: allowed 'cross' or 'zip'")
    reps = data.get("replicates", 1)
    if isinstance(reps, bool) or not isinstance(reps, int) or not 1 <= reps <= 10_000:
        raise SweepError(f"{path}: replicates = {reps!r} is out of range: allowed [1, 10000]")
    fixed = data.get("set", {})
    if not isinstance(fixed, dict):
        raise SweepError(f"{path}: [set] must be a table of scenario keys")
    fixed_flat = dict(_flatten(fixed))
    for key in fixed_flat:
        _check_key(key, "set")
    base = apply_overrides(base, fixed_flat)
    axes_raw = data.get("axes", {})
    if not isinstance(axes_raw, dict) or not axes_raw:
        raise SweepError(f"{path}: [axes] must name at least one scenario key to vary")
    try:
        axes = tuple(_axis(k, v) for k, v in _flatten(axes_raw))
    except SweepError as err:
        raise SweepError(f"{path}: {err}") from None
    keys = [k for a in axes for k in (a.key, *a.also)]
    dup = sorted({k for k in keys if keys.count(k) > 1})
    if dup:
        raise SweepError(f"{path}: key(s) {dup} set by more than one axis")
    if mode == "zip" and len({len(a.values) for a in axes}) > 1:
        lengths = ", ".join(f"{a.key} has {len(a.values)}" for a in axes)
        raise SweepError(f"{path}: zip mode needs axes of equal length: {lengths}")
    name = data.get("name", slug_name(path.stem))
    if not isinstance(name, str) or not name:
        raise SweepError(f"{path}: name = {name!r}: expected a non-empty string")
    try:
        check_name(name, "name")  # it names the default store results/<name>.sqlite
    except ValueError as err:
        raise SweepError(f"{path}: {err}") from None
    sweep = Sweep(
        name=name,
        path=path,
        base_path=base_path,
        base=base,
        axes=axes,
        mode=mode,
        seed=seed,
        replicates=reps,
        description=str(data.get("description", "")),
    )
    sweep.points()  # validate every point up front
    return sweep
