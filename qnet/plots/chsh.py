"""Fig. 4 of HotNets'25 redrawn: mean backlog per server against N/M, with 95 % CI bands."""

from __future__ import annotations

from typing import TYPE_CHECKING

from qnet.plots.common import figure_png, new_figure

if TYPE_CHECKING:
    from qnet.games.chsh.study import ChshStudy

__all__ = ["load_balancing_png", "xor_graphs_png"]

_STYLE = {
    "classical_random": ("random routing", "tab:gray"),
    "best_classical": ("best classical (CHSH polytope)", "tab:blue"),
    "quantum": ("quantum CHSH", "tab:red"),
    "any_server_classical": ("classical any-server", "tab:green"),
}


def load_balancing_png(study: ChshStudy, dpi: int = 120) -> bytes:
    """One panel per discipline: backlog curves with CI bands, the level L* and the knees."""
    discs = study.result.disciplines
    fig = new_figure(5.2 * len(discs), 4.0)
    axes = fig.subplots(1, len(discs), squeeze=False)[0]
    for ax, disc in zip(axes, discs, strict=True):
        for key, (label, color) in _STYLE.items():
            c = study.curve(key, disc)
            lo = [max(m - h, 1e-3) for m, h in zip(c["mean"], c["ci95"], strict=True)]
            hi = [m + h for m, h in zip(c["mean"], c["ci95"], strict=True)]
            knee = study.knee(key, disc)["mean"]
            ax.plot(c["loads"], c["mean"], color=color, lw=1.6, label=f"{label} (knee {knee:.3f})")
            ax.fill_between(c["loads"], lo, hi, color=color, alpha=0.25, lw=0)
        ax.axhline(study.level, color="black", lw=0.8, ls=":")
        ax.set_yscale("log")
        ax.set_xlabel("load N/M (balancers per server)")
        ax.set_ylabel("mean backlog per server")
        ax.set_title(
            f"{disc}: N = {study.config.balancers}, F = {study.fidelity:.4g}, "
            f"a = {study.availability:.4g}"
        )
        ax.legend(fontsize=7, loc="upper left")
        ax.grid(True, which="both", alpha=0.3)
    return figure_png(fig, dpi)


def xor_graphs_png(curves: dict[int, dict[str, list[float]]], dpi: int = 120) -> bytes:
    """Fig. 3 redrawn: P(quantum advantage) against P(edge exclusive), one curve per n.

    ``curves[n]`` holds ``q``, sampled ``p``/``low``/``high`` (Wilson band) and, when
    computed, the exact ``exact`` values (solid line).
    """
    fig = new_figure(5.6, 4.0)
    ax = fig.subplots()
    colors = ("tab:purple", "tab:blue", "tab:green", "tab:orange", "tab:red")
    for color, (n, c) in zip(colors, sorted(curves.items()), strict=False):
        ax.fill_between(c["q"], c["low"], c["high"], color=color, alpha=0.2, lw=0)
        ax.plot(c["q"], c["p"], "o", ms=3, color=color, label=f"{n} vertices (sampled, 95 % CI)")
        if c.get("exact") is not None:
            ax.plot(c["q"], c["exact"], "-", lw=1.4, color=color, label=f"{n} vertices (exact)")
    ax.set_xlabel("probability that an edge is exclusive")
    ax.set_ylabel("probability of a quantum advantage")
    ax.set_ylim(-0.02, 1.02)
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=7)
    return figure_png(fig, dpi)
