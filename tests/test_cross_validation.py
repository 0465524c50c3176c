"""Engine cross-validation (issue 16): the analytic engine against SeQUeNCe on three links.

Each link is run on SeQUeNCe (a few thousand decisions) and on the analytic engine (50x
more, independent streams). Availability, fidelity at use, achieved p and the gap
reduction (game, control variates) must agree within their combined 99 % intervals
(SE = 95 % half-width / t(0.975, b - 1), bound 2.576 combined SE: ~1 % false alarm per
quantity), and the ages of the used pairs must pass a two-sample Kolmogorov-Smirnov test
at the 1 % level (an age law off by a herald delay or a cutoff fails it).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats
from test_routing import _link_scenario

from qnet.config import Scenario
from qnet.runs.runner import RunOutput, simulate

QUANTITIES = (
    "availability",
    "mean_fidelity_at_use",
    "splitting_probability",
    "gap_reduction_game_cv",
)


def _short_ideal(engine: str, n: int) -> Scenario:
    """0.1 km arms, perfect pairs and memories, two slot pairs: availability ~1."""
    return Scenario.ideal(
        engine={"name": engine, "formalism": "ket"},
        link={"arm_a_km": 0.1, "arm_b_km": 0.1, "memory_slots": 2, "raw_fidelity": 1.0},
        run={"decisions": n, "warmup_decisions": 100, "batches": 10},
    )


def _metro(engine: str, n: int) -> Scenario:
    """2 x 10 km, one slot pair, generation slower than decisions: availability ~0.45
    (the engine-agreement scenario of tests/test_routing.py)."""
    return _link_scenario(engine, n)


def _long_storage(engine: str, n: int) -> Scenario:
    """Two slot pairs kept long (decisions slower than generation), T1/T2 and a 2 ms cutoff."""
    return Scenario.ideal(
        engine={"name": engine, "formalism": "ket"},
        traffic={"mean_service_time_s": 0.005},
        link={
            "arm_a_km": 5.0,
            "arm_b_km": 5.0,
            "memory_slots": 2,
            "raw_fidelity": 0.97,
            "cutoff_s": 2e-3,
        },
        router_a={"t1_s": 0.05, "t2_s": 0.01},
        router_b={"t1_s": 0.05, "t2_s": 0.01},
        run={"decisions": n, "warmup_decisions": 100, "batches": 10},
    )


def _ages(out: RunOutput) -> np.ndarray:
    keep = slice(out.record.warmup_decisions, None)
    used = out.log.used_pair[keep]
    return out.log.pair_age_s[keep][used]


@pytest.mark.slow
@pytest.mark.parametrize(
    ("build", "n"), [(_short_ideal, 2500), (_metro, 1500), (_long_storage, 1500)]
)
def test_analytic_engine_matches_sequence(build: object, n: int) -> None:
    """Three links: the four quantities within combined 99 % CIs, pair ages by KS at 1 %."""
    seq = simulate(build("sequence", n))  # type: ignore[operator]
    ana = simulate(build("analytic", 50 * n).model_copy(update={"seed": 99}))  # type: ignore[operator]
    t = stats.t.ppf(0.975, 9)
    for name in QUANTITIES:
        a, b = getattr(seq.record, name), getattr(ana.record, name)
        se = math.hypot(getattr(seq.record, f"{name}_ci95"), getattr(ana.record, f"{name}_ci95"))
        se /= t
        assert abs(a - b) <= 2.576 * se or abs(a - b) < 1e-12, (name, a, b, se)
    ages_s, ages_a = _ages(seq), _ages(ana)
    if np.ptp(ages_a) > 0:
        assert stats.ks_2samp(ages_s, ages_a).pvalue > 0.01
