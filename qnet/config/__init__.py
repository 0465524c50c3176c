"""Validated scenario: everything a run needs, loaded from TOML with SI unit suffixes.

:mod:`.schema`: one pydantic model per TOML table, ``extra="forbid"`` everywhere, so an
unknown or misspelt key is refused. :mod:`.loading`: :func:`load_scenario` reads a file,
applies ``--set`` overrides (dotted keys exactly as in the file) and raises
:class:`ScenarioError` with a single message naming the key, the value and the allowed
range.

Examples:
    >>> s = Scenario.ideal()
    >>> round(s.traffic.rho, 3), s.strategy.target_splitting_probability
    (0.8, 0.2)
"""

from qnet.config.loading import (
    MAX_TOML_BYTES,
    allowed_range,
    apply_overrides,
    load_scenario,
    parse_override,
    read_toml,
    reference_markdown,
    reference_rows,
    scenario_from_dict,
)
from qnet.config.schema import (
    MIN_LOAD,
    NAME_PATTERN,
    BalancingConfig,
    EngineConfig,
    GameConfig,
    LinkConfig,
    QueueConfig,
    RouterConfig,
    RunConfig,
    Scenario,
    ScenarioError,
    StrategyConfig,
    TrafficConfig,
    check_name,
    slug_name,
)

__all__ = [
    "BalancingConfig",
    "EngineConfig",
    "GameConfig",
    "LinkConfig",
    "MAX_TOML_BYTES",
    "MIN_LOAD",
    "NAME_PATTERN",
    "QueueConfig",
    "RouterConfig",
    "RunConfig",
    "Scenario",
    "ScenarioError",
    "StrategyConfig",
    "TrafficConfig",
    "allowed_range",
    "apply_overrides",
    "check_name",
    "load_scenario",
    "parse_override",
    "read_toml",
    "reference_markdown",
    "reference_rows",
    "scenario_from_dict",
    "slug_name",
]
