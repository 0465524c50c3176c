"""The run figure (qnet.plots.run): paired gaps, distinct ideal and predicted values, no
one-bar histogram for ideal pairs; and the verdict on scenarios with a known answer."""

from __future__ import annotations

from qnet.config import Scenario
from qnet.plots.run import run_figure
from qnet.runs.runner import simulate


def test_figure_shows_paired_gaps_and_no_one_bar_histogram_for_ideal_pairs() -> None:
    """Ideal pairs (every used pair at F = 1): the supply panel shows three share bars, not
    a histogram; the ideal and predicted lines differ in colour and style; the gap panel
    plots paired differences (x axis through 0), no absolute waits; the verdict is in a
    title."""
    out = simulate(
        Scenario.ideal(
            engine={"name": "analytic"},
            run={"decisions": 6000, "warmup_decisions": 500, "batches": 10},
        )
    )
    fig = run_figure(out)
    running, gaps, supply = fig.axes[:3]
    assert len(supply.patches) == 3
    assert [t.get_text() for t in supply.get_xticklabels()] == [
        "availability",
        "pairs used",
        "fidelity at use",
    ]
    lines = {ln.get_label().split(" ")[0]: ln for ln in running.get_lines()}
    ideal, predicted = lines["ideal"], lines["predicted"]
    assert ideal.get_color() != predicted.get_color()
    assert ideal.get_linestyle() != predicted.get_linestyle()
    labels = [t.get_text() for t in gaps.get_yticklabels()]
    assert "reduction (game, CV)" in labels and not any("Wq" in x for x in labels)
    lo, hi = gaps.get_xlim()
    assert lo < 0 < hi
    assert out.record.verdict in gaps.get_title()


def test_noisy_pairs_get_a_fidelity_histogram_and_a_no_verdict() -> None:
    """Werner pairs of fidelity 0.7 dephasing in memory (T2 = 2 ms), naive angles:
    fidelities spread (histogram of 40 bins), and the control-variate interval lies below
    0: verdict "no"."""
    out = simulate(
        Scenario.ideal(
            engine={"name": "analytic"},
            link={"raw_fidelity": 0.7},
            router_a={"t2_s": 0.002},
            router_b={"t2_s": 0.002},
            run={"decisions": 20000, "warmup_decisions": 1000, "batches": 20},
        )
    )
    assert len(run_figure(out).axes[2].patches) == 40
    assert out.record.verdict == "no", (out.record.gap_reduction_game_cv, out.record)
