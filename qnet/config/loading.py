"""Reading scenario files: a bounded UTF-8 TOML read, ``--set`` overrides with dotted keys,
one error message per refused value (key, value, allowed range), and the key reference
table generated from the schema."""

from __future__ import annotations

import copy
import difflib
import json
import tomllib
from pathlib import Path
from typing import Any

import annotated_types
from pydantic import (
    BaseModel,
    ValidationError,
)
from pydantic.fields import FieldInfo

from qnet.config.schema import _A, Scenario, ScenarioError, _kind, _table_model, slug_name

__all__ = [
    "MAX_TOML_BYTES",
    "allowed_range",
    "apply_overrides",
    "load_scenario",
    "parse_override",
    "read_toml",
    "reference_markdown",
    "reference_rows",
    "scenario_from_dict",
]


MAX_TOML_BYTES = 1 << 20


def read_toml(path: str | Path, what: str = "scenario file") -> dict[str, Any]:
    """Parse a TOML file of at most 1 MiB; any problem raises one :class:`ScenarioError`.

    A missing file, a directory, a device (``/dev/zero``), bytes that are not UTF-8 and
    invalid TOML each give one message naming the file.
    """
    path = Path(path)
    try:
        with path.open("rb") as fh:
            raw = fh.read(MAX_TOML_BYTES + 1)
    except FileNotFoundError:
        raise ScenarioError(f"{what} not found: {path}") from None
    except IsADirectoryError:
        raise ScenarioError(f"{what} {path} is a directory, not a TOML file") from None
    except (OSError, ValueError) as err:  # ValueError: a NUL byte in the path
        reason = getattr(err, "strerror", None) or str(err)
        raise ScenarioError(f"cannot read {what} {path}: {reason}") from None
    if len(raw) > MAX_TOML_BYTES:
        raise ScenarioError(
            f"{what} {path} is larger than {MAX_TOML_BYTES // 1024} KiB: not a TOML file"
        )
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as err:
        raise ScenarioError(
            f"{path}: not valid TOML (byte {err.start} is not UTF-8 text)"
        ) from None
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as err:
        raise ScenarioError(f"{path}: not valid TOML ({err})") from None


def _num(x: Any) -> str:
    return f"{x:g}" if isinstance(x, float) else str(x)


def allowed_range(field: FieldInfo) -> str:
    """A field's allowed values as text: an interval like ``(0, 1]`` or the choices."""
    kind = _kind(field)
    if kind == "choice":
        ann = field.annotation
        return " or ".join(repr(c) for c in ann.__args__)
    if kind not in ("number", "integer"):
        return ""
    lo, hi = "(-inf", "inf)"
    for m in field.metadata:
        if isinstance(m, annotated_types.Gt):
            lo = f"({_num(m.gt)}"
        elif isinstance(m, annotated_types.Ge):
            lo = f"[{_num(m.ge)}"
        elif isinstance(m, annotated_types.Lt):
            hi = f"{_num(m.lt)})"
        elif isinstance(m, annotated_types.Le):
            hi = f"{_num(m.le)}]"
    return f"{lo}, {hi}"


def _field_at(loc: tuple[Any, ...]) -> tuple[type[BaseModel], FieldInfo | None]:
    """The model owning the last key of ``loc`` and that key's field (None if unknown)."""
    model: type[BaseModel] = Scenario
    for part in loc[:-1]:
        f = model.model_fields.get(str(part))
        sub = None if f is None else _table_model(f)
        if sub is None:
            return model, None
        model = sub
    return model, model.model_fields.get(str(loc[-1])) if loc else None


def _show(value: Any) -> str:
    if isinstance(value, dict):
        return "{...}"
    return repr(value)


def _one_error(e: dict[str, Any]) -> str:
    loc = tuple(p for p in e["loc"] if not str(p).startswith("function-"))
    key = ".".join(str(p) for p in loc)
    value = e.get("input")
    if len(loc) >= 2 and isinstance(loc[-1], int):  # an element of a list key (sources)
        name = ".".join(str(p) for p in loc[:-1])
        return f"{name}[{loc[-1]}] = {_show(value)} has the wrong type: expected a string"
    owner, field = _field_at(loc)
    etype = e["type"]
    if etype == "extra_forbidden":
        table = ".".join(str(p) for p in loc[:-1])
        known = ", ".join(owner.model_fields)
        where = f"[{table}]" if table else "the top level"
        near = difflib.get_close_matches(str(loc[-1]), list(owner.model_fields), n=1)
        hint = f" (did you mean '{near[0]}'?)" if near else ""
        return f"{key} = {_show(value)} is an unknown key{hint}: allowed keys in {where}: {known}"
    if field is None:
        return e["msg"].removeprefix("Value error, ")
    kind = _kind(field)
    if etype in ("greater_than", "greater_than_equal", "less_than", "less_than_equal"):
        return f"{key} = {_show(value)} is out of range: allowed {allowed_range(field)}"
    if etype == "finite_number":
        return f"{key} = {_show(value)} is not a finite number: allowed {allowed_range(field)}"
    if etype == "literal_error":
        return f"{key} = {_show(value)} is not a valid choice: allowed {allowed_range(field)}"
    if etype == "string_too_short":
        return f"{key} = {_show(value)} is empty: allowed a non-empty string"
    if etype == "value_error" and "__type__" not in e["msg"]:
        return e["msg"].removeprefix("Value error, ")
    expected = _A.get(kind, kind)
    if kind == "table":
        expected = f"a table [{key}]"
    return f"{key} = {_show(value)} has the wrong type: expected {expected}"


def _format_errors(err: ValidationError) -> str:
    """One message per problem naming the key, the value given and what is allowed."""
    return "; ".join(dict.fromkeys(_one_error(e) for e in err.errors()))


def reference_markdown() -> str:
    """The README's scenario-key table (key, default, allowed, meaning), from the schema."""
    lines = ["| key | default | allowed | meaning (unit) |", "| --- | --- | --- | --- |"]
    for key, default, allowed, doc in reference_rows():
        cells = (f"`{key}`", f"`{default}`", allowed.replace("|", "\\|"), doc.replace("|", "/"))
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def reference_rows() -> list[tuple[str, str, str, str]]:
    """(key, default, allowed, description) for every scenario key, for the README table."""
    rows: list[tuple[str, str, str, str]] = []

    def walk(model: type[BaseModel], prefix: str) -> None:
        for name, field in model.model_fields.items():
            sub = _table_model(field)
            if sub is not None:
                walk(sub, f"{prefix}{name}.")
                continue
            default = field.default
            shown = "(none)" if default is None else json.dumps(default)
            allowed = allowed_range(field) or _kind(field)
            rows.append((prefix + name, shown, allowed, field.description or ""))

    walk(Scenario, "")
    return rows


def parse_override(text: str) -> tuple[str, Any]:
    """Parse ``KEY=VALUE`` (dotted key, TOML value; bare words are strings)."""
    if "=" not in text:
        raise ScenarioError(f"--set expects KEY=VALUE, got {text!r}")
    key, raw = (part.strip() for part in text.split("=", 1))
    if not key:
        raise ScenarioError(f"--set expects KEY=VALUE, got {text!r}")
    try:
        value = tomllib.loads(f"v = {raw}")["v"]
    except tomllib.TOMLDecodeError:
        value = raw
    return key, value


def apply_overrides(data: dict[str, Any], overrides: dict[str, Any]) -> dict[str, Any]:
    """Return a copy of nested ``data`` with dotted-key ``overrides`` applied."""
    out = copy.deepcopy(data)
    for key, value in overrides.items():
        node = out
        parts = key.split(".")
        for part in parts[:-1]:
            child = node.setdefault(part, {})
            if not isinstance(child, dict):
                raise ScenarioError(f"--set {key}: '{part}' is a value, not a table")
            node = child
        node[parts[-1]] = value
    return out


def scenario_from_dict(data: dict[str, Any]) -> Scenario:
    """Validate a nested dict into a :class:`Scenario`, raising :class:`ScenarioError`."""
    try:
        return Scenario.model_validate(data)
    except ValidationError as err:
        raise ScenarioError(_format_errors(err)) from None


def load_scenario(
    path: str | Path, overrides: dict[str, Any] | list[str] | None = None
) -> Scenario:
    """Load a TOML scenario, apply ``--set`` overrides and validate it."""
    path = Path(path)
    data = read_toml(path)
    if isinstance(overrides, list):
        overrides = dict(parse_override(o) for o in overrides)
    data = apply_overrides(data, overrides or {})
    data.setdefault("name", slug_name(path.stem))
    return scenario_from_dict(data)
