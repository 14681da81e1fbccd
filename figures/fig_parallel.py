"""The paper's first open question: one flow's cap on k receive cores."""

from __future__ import annotations

import numpy as np

from ._style import PATH_COLORS, new_figure


def figure(caps: dict):
    """Single-flow throughput against cores, by pipeline (solid) and spraying (dashed).

    Parameters
    ----------
    caps : dict
        ``{proto: {path: parallel_caps(...) result}}``.

    Returns
    -------
    matplotlib.figure.Figure
    """
    fig, axes = new_figure(width=10.0, height=3.8, ncols=len(caps), sharey=False)
    for ax, (proto, by_path) in zip(axes[0], caps.items()):
        for path, c in by_path.items():
            k = np.asarray(c["k"])
            color = PATH_COLORS.get(path)
            ax.plot(k, c["pipeline_gbps"], color=color, linewidth=1.8, marker="o",
                    markersize=3, label=f"{path} pipeline")
            ax.plot(k, c["spread_gbps"], color=color, linewidth=1.2, linestyle="--",
                    marker="s", markersize=3, label=f"{path} spread")
        ax.set_xlabel("receive cores for the one flow (k)")
        ax.set_title(f"one {proto.upper()} flow")
        ax.set_ylim(bottom=0)
    axes[0, 0].set_ylabel("throughput (Gb/s)")
    axes[0, 0].legend(frameon=False, fontsize=7, loc="center right")
    fig.suptitle("Packet-level parallelism: stages pipelined over k cores, or packets sprayed "
                 "over them (hand-off and re-ordering costs included)")
    return fig
