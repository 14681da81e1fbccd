"""The paper's first open question: one flow's cap on k receive cores."""

from __future__ import annotations

import numpy as np

from ._style import PATH_COLORS, new_figure


def figure(caps: dict):
    """Single-flow throughput against cores, by pipeline (solid) and spraying (dashed),
    and RPS's own two-core cut (a triangle at k = 2).

    Parameters
    ----------
    caps : dict
        ``{proto: {path: parallel_caps(...) result}}``.

    Returns
    -------
    matplotlib.figure.Figure
    """
    fig, axes = new_figure(width=10.0, height=4.4, ncols=len(caps), sharey=False)
    for ax, (proto, by_path) in zip(axes[0], caps.items()):
        for path, c in by_path.items():
            k = np.asarray(c["k"])
            color = PATH_COLORS.get(path)
            ax.plot(k, c["pipeline_gbps"], color=color, linewidth=1.8, marker="o",
                    markersize=3, label=f"{path} pipeline")
            ax.plot(k, c["spread_gbps"], color=color, linewidth=1.2, linestyle="--",
                    marker="s", markersize=3, label=f"{path} spread")
            ax.plot([2], [c["rps_gbps"]], color=color, linestyle="none", marker="v",
                    markersize=7, label=f"{path} RPS")
        ax.set_xlabel("receive cores for the one flow (k)")
        ax.set_title(f"one {proto.upper()} flow")
        ax.set_ylim(bottom=0)
    axes[0, 0].set_ylabel("throughput (Gb/s)")
    fig.legend(*axes[0, 0].get_legend_handles_labels(), loc="outside lower center", ncol=3,
               frameon=False, fontsize=7)
    fig.suptitle("One flow on k cores: stages pipelined, packets sprayed, or RPS's cut "
                 "(hand-offs and re-ordering included)")
    return fig
