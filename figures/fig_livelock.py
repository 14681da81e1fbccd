"""The model's extension: what a UDP reader on its softirq's CPU gets past that CPU's capacity."""

from __future__ import annotations

import numpy as np

from ._style import PATH_COLORS, new_figure

#: A run of ``tests/kernel_socket_loss.py`` on this project's VM (Linux 6.18, RPS over a
#: veth, 2026-11-28 15:40 UTC; README "Latency and loss"): datagrams offered and read per
#: second, the socket's places, and the softirq's and the reader's seconds per datagram
#: from /proc/stat.
KERNEL_RUNS = (
    (79925, 79521, 8, 3.47e-6, 3.62e-6),
    (99882, 99258, 8, 3.08e-6, 2.97e-6),
    (99882, 96478, 4, 2.59e-6, 2.64e-6),
    (119925, 116012, 4, 2.62e-6, 2.34e-6),
    (424656, 190707, 184, 1.71e-6, 1.41e-6),
    (400899, 195941, 8, 1.68e-6, 1.59e-6),
)


def figure(results: dict, kernel_runs=KERNEL_RUNS):
    """Delivery of one UDP flow against its offer, as each kernel treats an overloaded CPU,
    and a real kernel's runs against the model's socket.

    Parameters
    ----------
    results : dict
        ``{(path, defers): Result}`` over an array of ``offered_gbps``, for
        ``overload_defers_softirq`` True and False.
    kernel_runs : sequence of tuple
        ``(offered/s, read/s, socket places, softirq s, reader s)`` per run.

    Returns
    -------
    matplotlib.figure.Figure
    """
    from queuemodel.queueing import reader_blocking

    fig, axes = new_figure(width=12.0, height=4.0, ncols=2)
    ax = axes[0, 0]
    for (path, defers), r in results.items():
        ax.plot(np.asarray(r.inputs["offered_gbps"]), r.throughput_gbps,
                color=PATH_COLORS.get(path), linewidth=1.8 if defers else 1.2,
                linestyle="-" if defers else "--",
                label=f"{path}: " + ("softirq defers (Linux 4.4, NIC)" if defers
                                     else "softirq in charge (6.18, RPS)"))
    ax.set_xlabel("offered load (Gb/s)")
    ax.set_ylabel("delivered to the application (Gb/s)")
    ax.set_title("one 8 KB UDP flow, reader on its softirq's CPU")
    ax.legend(frameon=False, fontsize=7, loc="center right")
    ax = axes[0, 1]
    offered, read, held, soft, reader = (np.array(c, dtype=float) for c in zip(*kernel_runs))
    model = offered * (1.0 - reader_blocking(offered, soft, 1.0, reader, 1.0, held))
    ax.scatter(offered / 1e3, read / 1e3, color="black", zorder=4, label="kernel: read")
    ax.scatter(offered / 1e3, model / 1e3, facecolor="none", edgecolor="#7570b3", s=70,
               linewidth=1.4, zorder=3, label="model: each run's own costs, unfitted")
    top = float(offered.max()) * 1.05 / 1e3
    ax.plot([0.0, top], [0.0, top], color="#bbbbbb", linewidth=0.8, label="read = offered")
    ax.set_xlabel("datagrams offered (thousands/s)")
    ax.set_ylabel("datagrams read (thousands/s)")
    ax.set_title("Linux 6.18, 1000 B over a veth, RPS to the reader's CPU")
    ax.legend(frameon=False, fontsize=7, loc="upper left")
    fig.suptitle("Receive livelock: past capacity a softirq that keeps the CPU starves the "
                 "reader (queueing.reader_blocking; tests/kernel_socket_loss.py)")
    return fig
