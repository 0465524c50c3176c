"""Validated scenario: everything a run needs, loaded from TOML with SI unit suffixes.

One pydantic model per TOML table, ``extra="forbid"`` everywhere, so an unknown or
misspelt key is refused. :func:`load_scenario` reads a file, applies ``--set`` overrides
(dotted keys exactly as in the file) and raises :class:`ScenarioError` with a single
message naming the key, the value and the allowed range.

Examples:
    >>> s = Scenario.ideal()
    >>> round(s.traffic.rho, 3), s.strategy.target_splitting_probability
    (0.8, 0.2)
"""

from __future__ import annotations

import copy
import difflib
import hashlib
import json
import re
import tomllib
from pathlib import Path
from typing import Any, Literal

import annotated_types
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic.fields import FieldInfo

__all__ = [
    "EngineConfig",
    "LinkConfig",
    "QueueConfig",
    "RouterConfig",
    "RunConfig",
    "Scenario",
    "ScenarioError",
    "StrategyConfig",
    "TrafficConfig",
    "apply_overrides",
    "load_scenario",
    "parse_override",
    "read_toml",
    "reference_markdown",
    "reference_rows",
    "scenario_from_dict",
]


class ScenarioError(ValueError):
    """A scenario value is missing, unknown, of the wrong type or out of range."""


_A = {"number": "a number", "integer": "an integer", "text": "a string", "table": "a table"}


def _kind(field: FieldInfo) -> str:
    """Coarse TOML type of a field: number, integer, text, choice, table."""
    ann = field.annotation
    args = [a for a in getattr(ann, "__args__", ()) if a is not type(None)]
    base = args[0] if args and getattr(ann, "__origin__", None) is not Literal else ann
    if getattr(base, "__origin__", None) is Literal or getattr(ann, "__origin__", None) is Literal:
        return "choice"
    if isinstance(base, type) and issubclass(base, BaseModel):
        return "table"
    if base is bool:
        return "boolean"
    if base is int:
        return "integer"
    if base is float:
        return "number"
    return "text"


class _Table(BaseModel):
    model_config = ConfigDict(
        extra="forbid", frozen=True, validate_default=True, allow_inf_nan=False
    )

    @field_validator("*", mode="before")
    @classmethod
    def _no_text_for_numbers(cls, value: Any, info: ValidationInfo) -> Any:
        """Refuse "10" or true for a number: TOML types are kept, not coerced."""
        kind = _kind(cls.model_fields[info.field_name])
        if kind in ("number", "integer") and isinstance(value, str | bool):
            raise ValueError(f"__type__ expected {_A[kind]}")
        if kind == "integer" and isinstance(value, float):  # 2.5e4 is a float in TOML
            raise ValueError("__type__ expected an integer")
        return value


MIN_LOAD = 1e-6
"""Smallest per-server load rho the queue replay resolves (below it waits underflow)."""


class TrafficConfig(_Table):
    """Customer-pair arrivals and service times (paper Sec. III)."""

    mean_service_time_s: float = Field(
        1e-3, ge=1e-12, le=1e6, description="mean customer service time 1/mu [s]"
    )
    load: float | None = Field(
        None,
        gt=0,
        lt=1,
        description=f"per-server utilisation rho = lambda/mu, in (0, 1), at least {MIN_LOAD:g}",
    )
    arrival_rate_hz: float | None = Field(
        None,
        gt=0,
        le=1e15,
        description="customer-pair arrival rate lambda [1/s]; alternative to load",
    )

    @model_validator(mode="after")
    def _one_rate(self) -> TrafficConfig:
        if self.load is not None and self.arrival_rate_hz is not None:
            raise ValueError(
                f"traffic.load = {self.load!r} and traffic.arrival_rate_hz = "
                f"{self.arrival_rate_hz!r} are both set: set only one of them"
            )
        if self.arrival_rate_hz is not None:
            rho = self.arrival_rate_hz * self.mean_service_time_s
            if not MIN_LOAD <= rho < 1:
                raise ValueError(
                    f"traffic.arrival_rate_hz = {self.arrival_rate_hz!r} gives load rho = "
                    f"arrival_rate_hz * mean_service_time_s = {rho:g}, out of range: "
                    f"allowed [{MIN_LOAD:g}, 1)"
                )
        if self.load is not None and self.load < MIN_LOAD:
            raise ValueError(
                f"traffic.load = {self.load!r} is out of range: allowed [{MIN_LOAD:g}, 1) "
                "(the queue replay cannot resolve a smaller load)"
            )
        return self

    @property
    def mu_hz(self) -> float:
        """Service rate mu [1/s]."""
        return 1.0 / self.mean_service_time_s

    @property
    def rho(self) -> float:
        """Per-server utilisation rho = lambda/mu (default 0.8, the paper's value)."""
        if self.arrival_rate_hz is not None:
            return self.arrival_rate_hz * self.mean_service_time_s
        return 0.8 if self.load is None else self.load

    @property
    def lam_hz(self) -> float:
        """Customer-pair arrival rate lambda [1/s]."""
        return self.rho * self.mu_hz


class QueueConfig(_Table):
    """Baseline-task throughput model T(t) (paper Sec. VI A and the t^k model)."""

    throughput_model: Literal["warmup", "power"] = Field(
        "warmup", description="'warmup': phi(t)=phi_max(1-exp(-alpha t)); 'power': T(t)=t^k"
    )
    warmup_rate_per_service: float = Field(
        0.5, ge=1e-6, le=1e3, description="warm-up rate alpha in units of mu (paper: 0.5)"
    )
    phi_max: float = Field(1.0, ge=1e-6, le=1e6, description="steady-state baseline productivity")
    power_k: float = Field(
        2.0, gt=1, le=5, description="exponent k of T(t)=t^k, > 1 (strictly convex)"
    )


class StrategyConfig(_Table):
    """Which routing strategy the routers play."""

    target_splitting_probability: float = Field(
        0.2, gt=0, lt=1, description="target splitting probability p, in (0, 1)"
    )
    kind: Literal["ideal", "noise_aware"] = Field(
        "ideal", description="'ideal': noiseless-optimal angles; 'noise_aware': re-optimized"
    )
    degree: int = Field(2, ge=0, le=6, description="polynomial degree of theta(x)")
    quadrature_points: int = Field(60, ge=8, le=400, description="Gauss-Laguerre points")
    restarts: int = Field(20, ge=1, le=1000, description="random restarts of the optimizer")


class RouterConfig(_Table):
    """Memory decoherence and readout at one router."""

    t1_s: float | None = Field(None, gt=0, description="relaxation time T1 [s]; omit for none")
    t2_s: float | None = Field(None, gt=0, description="dephasing time T2 [s]; omit for none")
    readout_error: float = Field(
        0.0, ge=0, lt=0.5, description="probability a measurement outcome is flipped, [0, 0.5)"
    )


class LinkConfig(_Table):
    """Heralded generation: router A - fiber - midpoint BSM station - fiber - router B."""

    arm_a_km: float = Field(1.0, ge=0, le=1000, description="fiber from router A to station [km]")
    arm_b_km: float = Field(1.0, ge=0, le=1000, description="fiber from router B to station [km]")
    attenuation_db_per_km: float = Field(0.2, ge=0, le=10, description="fiber loss [dB/km]")
    light_speed_km_per_s: float = Field(
        2.0e5, ge=1, le=3.0e5, description="speed of light in fiber [km/s]"
    )
    detector_efficiency: float = Field(
        0.9, gt=0, le=1, description="station detector efficiency, (0, 1]"
    )
    raw_fidelity: float = Field(
        1.0, ge=0.25, le=1, description="fidelity of a pair at herald, [0.25, 1]"
    )
    memory_slots: int = Field(4, ge=1, le=1000, description="memory slots K per router")
    memory_efficiency: float = Field(
        1.0, gt=0, le=1, description="memory photon emission efficiency, (0, 1]"
    )
    memory_frequency_hz: float = Field(
        2.0e6, ge=1e-3, le=1e12, description="maximum memory excitation rate [1/s]"
    )
    wavelength_nm: float = Field(1550.0, gt=0, description="photon wavelength [nm]")
    coherence_time_s: float | None = Field(
        None, gt=0, le=1e6, description="SeQUeNCe memory expiry [s]; omit for none"
    )
    cutoff_s: float | None = Field(
        None,
        gt=0,
        le=1e6,
        description="deterministic discard age of a stored pair [s]; omit for none",
    )
    selection: Literal["oldest", "newest"] = Field(
        "oldest", description="which usable pair a decision consumes"
    )


class EngineConfig(_Table):
    """Which physical-layer engine produces the pairs."""

    name: Literal["sequence", "analytic"] = Field(
        "sequence", description="'sequence': SeQUeNCe photon-level; 'analytic': numpy sampler"
    )
    formalism: Literal["density_matrix", "ket"] = Field(
        "density_matrix", description="SeQUeNCe quantum-manager formalism"
    )


class RunConfig(_Table):
    """Run length."""

    decisions: int = Field(20_000, ge=100, le=100_000_000, description="customer-pair decisions")
    warmup_decisions: int = Field(
        1_000, ge=0, description="decisions discarded before measuring the queue"
    )
    batches: int = Field(20, ge=5, le=1000, description="batches for batch-means CIs")


class Scenario(_Table):
    """A complete, validated qnet scenario."""

    name: str = Field(
        "scenario",
        min_length=1,
        description="short label, also the stem of result file names: letters, digits, . _ - +",
    )
    description: str = Field("", description="free text, sources of the parameters")
    seed: int = Field(1, ge=0, description="root seed; every random stream spawns from it")
    traffic: TrafficConfig = TrafficConfig()
    queue: QueueConfig = QueueConfig()
    strategy: StrategyConfig = StrategyConfig()
    link: LinkConfig = LinkConfig()
    router_a: RouterConfig = RouterConfig()
    router_b: RouterConfig = RouterConfig()
    engine: EngineConfig = EngineConfig()
    run: RunConfig = RunConfig()

    @field_validator("name", mode="after")
    @classmethod
    def _safe_name(cls, value: str) -> str:
        """Refuse a name that is not a plain file-name stem (it names result files)."""
        return check_name(value, "name")

    @model_validator(mode="after")
    def _t2_below_twice_t1(self) -> Scenario:
        for side in ("router_a", "router_b"):
            r: RouterConfig = getattr(self, side)
            if r.t1_s is not None and r.t2_s is not None and r.t2_s > 2 * r.t1_s * (1 + 1e-12):
                raise ValueError(
                    f"{side}.t2_s = {r.t2_s!r} is out of range: allowed (0, 2 * {side}.t1_s = "
                    f"{2 * r.t1_s:g}] (a physical memory has T2 <= 2 T1)"
                )
        return self

    @model_validator(mode="after")
    def _warmup_below_run(self) -> Scenario:
        if self.run.warmup_decisions >= self.run.decisions:
            raise ValueError(
                f"run.warmup_decisions = {self.run.warmup_decisions} is out of range: "
                f"allowed [0, run.decisions = {self.run.decisions})"
            )
        return self

    @model_validator(mode="after")
    def _sequence_arm_grid(self) -> Scenario:
        # SeQUeNCe's Barrett-Kok needs arm delays differing by a multiple of 12.5 ns.
        if self.engine.name == "sequence":
            from qnet.physics.link import arm_grid_error

            msg = arm_grid_error(self.link)
            if msg is not None:
                raise ValueError(msg)
            cutoff = self.link.cutoff_s
            if cutoff is not None:
                from qnet.physics.link import predict

                usable = predict(self).usable_delay_s
                if cutoff <= usable:
                    raise ValueError(
                        f"link.cutoff_s = {cutoff!r} is out of range for the sequence engine: "
                        f"allowed ({usable:g}, 1e+06] (a pair must outlive the flight of its "
                        f"herald to the farther router, {usable:g} s)"
                    )
        return self

    @classmethod
    def ideal(cls, **overrides: Any) -> Scenario:
        """The paper's idealised setting: lambda=0.8 mu, alpha=0.5 mu, p=0.2, perfect pairs."""
        return cls.model_validate({"name": "ideal", **overrides})

    def to_dict(self) -> dict[str, Any]:
        """Plain nested dict (JSON/TOML-able) of every resolved value."""
        return self.model_dump(mode="json")

    def digest(self) -> str:
        """Stable short hash of the resolved scenario (for result stores)."""
        blob = json.dumps(self.to_dict(), sort_keys=True).encode()
        return hashlib.sha256(blob).hexdigest()[:16]


# ---------------------------------------------------------------- loading and errors

NAME_PATTERN = re.compile(r"[A-Za-z0-9_+-][A-Za-z0-9._+-]{0,99}")
"""A name that is safe as a file-name stem: no path separator, no leading dot, no NUL."""

MAX_TOML_BYTES = 1 << 20
"""Largest scenario or sweep file read (1 MiB; a real one is a few kB)."""


def check_name(value: str, key: str) -> str:
    """Return ``value`` if it is a safe file-name stem, else raise naming ``key``."""
    if not NAME_PATTERN.fullmatch(value):
        raise ValueError(
            f"{key} = {value!r} is not a valid name: allowed 1-100 letters, digits and "
            "'.', '_', '-', '+', not starting with '.' (it names result files)"
        )
    return value


def slug_name(stem: str) -> str:
    """A file stem made a valid name: other characters become '-', a leading dot is dropped."""
    slug = re.sub(r"[^A-Za-z0-9._+-]", "-", stem).lstrip(".")[:100]
    return slug or "scenario"


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
        if f is None or not (
            isinstance(f.annotation, type) and issubclass(f.annotation, BaseModel)
        ):
            return model, None
        model = f.annotation
    return model, model.model_fields.get(str(loc[-1])) if loc else None


def _show(value: Any) -> str:
    if isinstance(value, dict):
        return "{...}"
    return repr(value)


def _one_error(e: dict[str, Any]) -> str:
    loc = tuple(p for p in e["loc"] if not str(p).startswith("function-"))
    key = ".".join(str(p) for p in loc)
    value = e.get("input")
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
            if _kind(field) == "table":
                walk(field.annotation, f"{prefix}{name}.")
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
