"""The scenario schema: one pydantic model per TOML table, ``extra="forbid"`` everywhere,
SI unit suffixes in key names, bounds the model can compute (each error names the key)."""

from __future__ import annotations

import hashlib
import json
import re
from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic.fields import FieldInfo

__all__ = [
    "BalancingConfig",
    "EngineConfig",
    "GameConfig",
    "LinkConfig",
    "MIN_LOAD",
    "NAME_PATTERN",
    "QueueConfig",
    "RouterConfig",
    "RunConfig",
    "Scenario",
    "ScenarioError",
    "StrategyConfig",
    "TrafficConfig",
    "check_name",
    "slug_name",
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


def _table_model(field: FieldInfo) -> type[BaseModel] | None:
    """The model of a table field (``Model`` or ``Model | None``), else None."""
    ann = field.annotation
    for cand in (ann, *getattr(ann, "__args__", ())):
        if isinstance(cand, type) and issubclass(cand, BaseModel):
            return cand
    return None


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
        "ideal",
        description="'ideal': noiseless-optimal angles; 'noise_aware': re-optimized for the "
        "pilot's link (sum_threshold: the member whose played mix meets W_l there)",
    )
    angles: Literal["polynomial", "optimal"] = Field(
        "optimal",
        description="'optimal': the line family theta = atan2(a + x b)/2 (issue 12); "
        "'polynomial': the paper's degree-n angles",
    )
    degree: int = Field(2, ge=0, le=6, description="polynomial degree of theta(x)")
    quadrature_points: int = Field(60, ge=8, le=400, description="Gauss-Laguerre points")
    restarts: int = Field(20, ge=1, le=1000, description="random restarts of the optimizer")


class GameConfig(_Table):
    """Which coordination game the routers play on the pairs (and its parameters)."""

    kind: Literal["routing", "sum_threshold"] = Field(
        "routing",
        description="'routing': the full paper's weighted game ([strategy] table); "
        "'sum_threshold': the QuNet'25 game under a QoS limit",
    )
    w_limit_service_times: float | None = Field(
        None,
        gt=0,
        le=1e6,
        description="sum_threshold: QoS limit W_l on the mean wait, in mean service times "
        "1/mu; omit for the paper's point (the sum-threshold oracle's wait at C_min)",
    )
    quantum: Literal["linear", "quadratic", "optimal"] = Field(
        "linear",
        description="sum_threshold: quantum family played with a pair: the paper's linear or "
        "quadratic relative angle, or the bin-optimal (SDP) strategy",
    )
    bins: int = Field(
        64, ge=4, le=512, description="sum_threshold: input bins of the optimal family"
    )

    @model_validator(mode="after")
    def _sum_threshold_keys(self) -> GameConfig:
        # values, not fields set: a resolved scenario (to_dict) round-trips with defaults
        default = GameConfig.model_fields
        extra = [k for k in ("w_limit_service_times", "quantum", "bins")
                 if getattr(self, k) != default[k].default]  # fmt: skip
        if self.kind == "routing" and extra:
            raise ValueError(
                f"game.{extra[0]} is set but game.kind = 'routing': it applies to "
                "game.kind = 'sum_threshold' only (the routing game reads [strategy])"
            )
        return self


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


class BalancingConfig(_Table):
    """CHSH co-location load balancing (HotNets'25 Sec. 4.1): N balancers in pairs, one
    [link] per pair, M servers swept through the load N/M."""

    balancers: int = Field(
        100, ge=2, le=10_000, description="N load balancers, even; N/2 pairs, one link each"
    )
    load_start: float = Field(0.6, gt=0, le=3334, description="first load N/M swept")
    load_stop: float = Field(1.6, gt=0, le=3334, description="last load N/M swept")
    load_step: float = Field(0.05, gt=0, le=3334, description="step of the load grid N/M")
    steps: int = Field(5000, ge=2, le=1_000_000, description="slotted steps per replication")
    warmup_steps: int = Field(1000, ge=0, description="leading steps left out of the backlog")
    replications: int = Field(12, ge=2, le=1000, description="independent replications R")
    discipline: Literal["both", "c-first", "e-first"] = Field(
        "both", description="server discipline(s): C tasks first, E tasks first, or both"
    )
    step_s: float | None = Field(
        None,
        gt=0,
        le=1e6,
        description="length of one step [s]; omit for the classical round trip "
        "2 (arm_a_km + arm_b_km) / light_speed_km_per_s between paired balancers",
    )

    @model_validator(mode="after")
    def _consistent(self) -> BalancingConfig:
        n = self.balancers
        if n % 2:
            raise ValueError(
                f"load_balancing.balancers = {n} is out of range: allowed even numbers "
                "in [2, 10000] (balancers come in pairs)"
            )
        if not self.load_start <= self.load_stop <= n / 3:
            raise ValueError(
                f"load_balancing.load_stop = {self.load_stop!r} is out of range: allowed "
                f"[load_start = {self.load_start:g}, balancers / 3 = {n / 3:g}] (M >= 3)"
            )
        if self.warmup_steps >= self.steps:
            raise ValueError(
                f"load_balancing.warmup_steps = {self.warmup_steps} is out of range: "
                f"allowed [0, load_balancing.steps = {self.steps})"
            )
        return self


class Scenario(_Table):
    """A complete, validated qnet scenario."""

    name: str = Field(
        "scenario",
        min_length=1,
        description="short label, also the stem of result file names: letters, digits, . _ - +",
    )
    description: str = Field("", description="free text, sources of the parameters")
    sources: tuple[str, ...] = Field(
        (),
        description="list of strings: publications the values come from (hardware presets); "
        "not part of the digest",
    )
    seed: int = Field(1, ge=0, description="root seed; every random stream spawns from it")
    game: GameConfig = GameConfig()
    traffic: TrafficConfig = TrafficConfig()
    queue: QueueConfig = QueueConfig()
    strategy: StrategyConfig = StrategyConfig()
    link: LinkConfig = LinkConfig()
    router_a: RouterConfig = RouterConfig()
    router_b: RouterConfig = RouterConfig()
    engine: EngineConfig = EngineConfig()
    run: RunConfig = RunConfig()
    load_balancing: BalancingConfig = BalancingConfig()

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
        """Stable short hash of the resolved scenario (for result stores): ``sources``
        (citations only) and the default [game] and [load_balancing] tables are left out, so
        a citation never changes a result's identity and digests from before those tables hold."""
        data = self.to_dict()
        data.pop("sources")
        if self.game == GameConfig():
            del data["game"]
        if self.load_balancing == BalancingConfig():
            del data["load_balancing"]
        blob = json.dumps(data, sort_keys=True).encode()
        return hashlib.sha256(blob).hexdigest()[:16]


# ---------------------------------------------------------------- loading and errors

NAME_PATTERN = re.compile(r"[A-Za-z0-9_+-][A-Za-z0-9._+-]{0,99}")
"""A name that is safe as a file-name stem: no path separator, no leading dot, no NUL."""

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
