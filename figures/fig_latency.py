"""The model's extension: a flow's latency, and a UDP flow's loss, against the load offered."""

from __future__ import annotations

import numpy as np

from ._style import PATH_COLORS, new_figure


def figure(results: dict):
    """Mean (solid) and p99 (dashed) latency of one flow against offered load, per path,
    and the share of a UDP flow's datagrams its finite buffers lose.

    Parameters
    ----------
    results : dict
        ``{proto: {path: Result}}``, each over an array of ``offered_gbps``
        below the path's single-flow cap; ``"udp"`` among them for the loss.

    Returns
    -------
    matplotlib.figure.Figure
    """
    fig, axes = new_figure(width=14.0, height=3.8, ncols=len(results) + 1)
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
    axes[0, len(results) - 1].legend(frameon=False, fontsize=7, loc="upper left")
    # The loss: the reader under the softirq on one CPU, whose busy periods hand the
    # socket bursts (queueing.reader_blocking).
    ax = axes[0, -1]
    for path, r in results["udp"].items():
        ax.plot(np.asarray(r.inputs["offered_gbps"]), 100.0 * np.asarray(r.loss_fraction),
                color=PATH_COLORS.get(path), linewidth=1.8, label=path)
    ax.set_xlabel("offered load (Gb/s)")
    ax.set_ylabel("datagrams lost (%)")
    ax.set_title("one UDP flow: lost at the ring and socket")
    ax.legend(frameon=False, fontsize=7, loc="upper left")
    fig.suptitle("Latency and loss below each path's cap (M/G/1 stations in tandem; "
                 "Poisson sends; default buffers)")
    return fig
