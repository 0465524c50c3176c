"""Figure 3 of the paper: ΔWq against normalized throughput, p on the top axis."""

from __future__ import annotations

import numpy as np

from qnet.games.routing.frontier import Frontier
from qnet.plots.common import figure_png, new_figure

__all__ = ["frontier_figure_png", "p_from_throughput"]


def p_from_throughput(throughput: np.ndarray, lam: float, alpha: float) -> np.ndarray:
    """Inverse of eq. 10's normalized throughput 2α/(λ(1+p) + 2α): p = 2α(1/t − 1)/λ − 1."""
    t = np.asarray(throughput, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        return 2.0 * alpha * (1.0 / t - 1.0) / lam - 1.0


def frontier_figure_png(frontier: Frontier, dpi: int = 120) -> bytes:
    """Render Fig. 3 (ΔWq = (A* − A)/2 vs 𝒯/[φmax(1 − ρ)], p on top) as PNG bytes.

    Shows the classical benchmark, the frontier's quantum family, the other family and the
    certified bound on every quantum strategy when the frontier carries them.
    """
    fr = frontier
    lam, alpha = fr.params.lam, fr.params.alpha
    fig = new_figure(7.0, 4.6)
    ax = fig.add_subplot()
    cert = "tight" if fr.method == "tight" else f"paper, ε = {fr.epsilon:g}"
    if fr.dual_check:
        cert += ", dual-checked"
    ax.plot(
        fr.throughput,
        fr.gap_classical,
        color="tab:red",
        lw=2,
        label=f"classical, certified bound + shared randomness ({cert})",
    )
    ax.plot(
        fr.throughput,
        fr.gap_classical_achieved,
        color="tab:red",
        lw=1,
        ls=":",
        label="classical, best strategies found + shared randomness (attained)",
    )
    names = {
        "polynomial": f"quantum, degree-{fr.degree} polynomial angles (paper)",
        "optimal": "quantum, optimal family θ = ½·atan2(a + x b)",
    }
    ax.plot(
        fr.throughput,
        fr.gap_quantum,
        color="tab:blue",
        lw=2,
        label=names[fr.quantum_family] + " (achieved)",
    )
    lowest = float(np.min(fr.gap_quantum))
    if fr.quantum_other_payoff is not None and fr.quantum_other_family is not None:
        other_gap = (fr.oracle_payoff - fr.quantum_other_payoff) / 2
        ax.plot(
            fr.throughput,
            other_gap,
            color="tab:purple",
            lw=1.2,
            ls="--",
            label=names[fr.quantum_other_family] + " (achieved)",
        )
    if fr.quantum_upper_bound is not None:
        bound_gap = (fr.oracle_payoff - fr.quantum_upper_bound) / 2
        lowest = min(lowest, float(np.min(bound_gap)))
        ax.plot(
            fr.throughput,
            bound_gap,
            color="tab:green",
            lw=1,
            ls="-.",
            label="every quantum strategy: certified bound",
        )
    ax.axhline(0.0, color="0.4", lw=1, ls="--", label="w-threshold oracle (ΔWq = 0)")
    if fr.advantage.any():
        ax.fill_between(
            fr.throughput,
            fr.gap_quantum,
            fr.gap_classical,
            where=fr.advantage,
            color="tab:blue",
            alpha=0.15,
            label="certified advantage",
        )
        k = int(np.argmax(fr.reduction))
        ax.annotate(
            f"max reduction {fr.max_reduction:.3f}\n"
            f"({100 * fr.relative_reduction_at_max:.0f} %) at p = {fr.p_at_max_reduction:g}",
            xy=(fr.throughput[k], 0.5 * (fr.gap_classical[k] + fr.gap_quantum[k])),
            xytext=(-20, -75),
            textcoords="offset points",
            fontsize=8,
            arrowprops={"arrowstyle": "->", "color": "0.3"},
        )
    ax.set_xlabel(r"normalized throughput $\mathcal{T}\,/\,[\phi_{\max}(1-\rho)]$")
    ax.set_ylabel(r"waiting-time gap $\Delta W_q = (A^* - A)/2$  [1/μ]")
    ax.set_ylim(bottom=min(0.0, lowest) - 0.01)
    top = ax.secondary_xaxis(
        "top",
        functions=(
            lambda t: p_from_throughput(t, lam, alpha),
            lambda p: 2.0 * alpha / (lam * (1.0 + np.asarray(p, dtype=float)) + 2.0 * alpha),
        ),
    )
    top.set_xlabel("splitting probability p")
    ax.set_title(
        f"λ = {lam:g}, μ = {fr.params.mu:g}, α = {alpha:g}, φmax = {fr.params.phi_max:g}",
        fontsize=9,
    )
    ax.legend(fontsize=7, loc="lower center")
    ax.grid(alpha=0.3)
    return figure_png(fig, dpi)
