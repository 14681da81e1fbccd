"""The model's extension: a flow's latency against the load offered to it."""

from __future__ import annotations

import numpy as np

from ._style import PATH_COLORS, new_figure


def figure(results: dict):
    """Mean (solid) and p99 (dashed) latency of one flow against offered load, per path.

    Parameters
    ----------
    results : dict
        ``{proto: {path: Result}}``, each over an array of ``offered_gbps``
        below the path's single-flow cap.

    Returns
    -------
    matplotlib.figure.Figure
    """
    fig, axes = new_figure(width=10.0, height=3.8, ncols=len(results))
    for ax, (proto, by_path) in zip(axes[0], results.items()):
        for path, r in by_path.items():
            x = np.asarray(r.inputs["offered_gbps"])
            color = PATH_COLORS.get(path)
            ax.plot(x, r.latency_mean_us, color=color, linewidth=1.8, label=f"{path} mean")
            ax.plot(x, r.latency_p99_us, color=color, linewidth=1.2, linestyle="--",
                    label=f"{path} p99")
        ax.set_yscale("log")
        ax.set_xlabel("offered load (Gb/s)")
        ax.set_title(f"one {proto.upper()} flow, {int(r.inputs['msg_bytes'])} B messages")
    axes[0, 0].set_ylabel("send() to end of receive copy (us)")
    axes[0, -1].legend(frameon=False, fontsize=7, loc="upper left")
    fig.suptitle("Latency below each path's cap (M/G/1 stations in tandem; Poisson sends)")
    return fig
