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

import hashlib
import json
import tomllib
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

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
    "scenario_from_dict",
]


class ScenarioError(ValueError):
    """A scenario value is missing, unknown, of the wrong type or out of range."""


class _Table(BaseModel):
    model_config = ConfigDict(
        extra="forbid", frozen=True, validate_default=True, allow_inf_nan=False
    )


class TrafficConfig(_Table):
    """Customer-pair arrivals and service times (paper Sec. III)."""

    mean_service_time_s: float = Field(
        1e-3, gt=0, description="mean customer service time 1/mu [s]"
    )
    load: float | None = Field(
        None, gt=0, lt=1, description="per-server utilisation rho = lambda/mu, in (0, 1)"
    )
    arrival_rate_hz: float | None = Field(
        None, gt=0, description="customer-pair arrival rate lambda [1/s]; alternative to load"
    )

    @model_validator(mode="after")
    def _one_rate(self) -> TrafficConfig:
        if self.load is not None and self.arrival_rate_hz is not None:
            raise ValueError("set either 'load' or 'arrival_rate_hz', not both")
        if self.arrival_rate_hz is not None:
            rho = self.arrival_rate_hz * self.mean_service_time_s
            if rho >= 1:
                raise ValueError(
                    f"arrival_rate_hz * mean_service_time_s = {rho:g} is the load rho; "
                    "allowed range is (0, 1)"
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
        0.5, gt=0, description="warm-up rate alpha in units of mu (paper: 0.5)"
    )
    phi_max: float = Field(1.0, gt=0, description="steady-state baseline productivity")
    power_k: float = Field(2.0, gt=1, description="exponent k of T(t)=t^k, > 1 (strictly convex)")


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
        2.0e5, gt=0, le=3.0e5, description="speed of light in fiber [km/s]"
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
        2.0e6, gt=0, description="maximum memory excitation rate [1/s]"
    )
    wavelength_nm: float = Field(1550.0, gt=0, description="photon wavelength [nm]")
    coherence_time_s: float | None = Field(
        None, gt=0, description="SeQUeNCe memory expiry [s]; omit for none"
    )
    cutoff_s: float | None = Field(
        None, gt=0, description="deterministic discard age of a stored pair [s]; omit for none"
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

    name: str = Field("scenario", min_length=1, description="short label")
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

    @model_validator(mode="after")
    def _warmup_below_run(self) -> Scenario:
        if self.run.warmup_decisions >= self.run.decisions:
            raise ValueError(
                f"run.warmup_decisions = {self.run.warmup_decisions} must be below "
                f"run.decisions = {self.run.decisions}"
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


def _format_errors(err: ValidationError, data: dict[str, Any]) -> str:
    """One readable message per problem: key, value given, what is allowed."""
    lines = []
    for e in err.errors():
        loc = ".".join(str(p) for p in e["loc"] if not str(p).startswith("function-after"))
        if e["type"] == "extra_forbidden":
            lines.append(f"unknown key '{loc}' (value {e['input']!r}); check the spelling")
            continue
        ctx = e.get("ctx") or {}
        bounds = []
        for k, sym in (("gt", ">"), ("ge", ">="), ("lt", "<"), ("le", "<=")):
            if k in ctx:
                bounds.append(f"{sym} {ctx[k]}")
        allowed = f"; allowed: {' and '.join(bounds)}" if bounds else ""
        msg = e["msg"].removeprefix("Value error, ")
        value = e.get("input")
        shown = "" if isinstance(value, dict) else f" = {value!r}"
        lines.append(f"{loc or 'scenario'}{shown}: {msg}{allowed}")
    return "invalid scenario: " + "; ".join(lines)


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
    out = json.loads(json.dumps(data))
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
        raise ScenarioError(_format_errors(err, data)) from None


def load_scenario(
    path: str | Path, overrides: dict[str, Any] | list[str] | None = None
) -> Scenario:
    """Load a TOML scenario, apply ``--set`` overrides and validate it."""
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text())
    except FileNotFoundError:
        raise ScenarioError(f"scenario file not found: {path}") from None
    except tomllib.TOMLDecodeError as err:
        raise ScenarioError(f"{path}: not valid TOML ({err})") from None
    if isinstance(overrides, list):
        overrides = dict(parse_override(o) for o in overrides)
    data = apply_overrides(data, overrides or {})
    data.setdefault("name", path.stem)
    return scenario_from_dict(data)
