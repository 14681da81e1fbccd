"""The paper's second open question: flows on dedicated cores against hashed flows,
and the cache share the NIC writes into."""

from __future__ import annotations

import numpy as np

from ._style import new_figure

STYLE = {"hashed": dict(linestyle="-", marker="o"), "steered": dict(linestyle="--", marker="s")}
PROTO_COLORS = {"tcp": "#7570b3", "udp": "#e7298a"}


def figure(results: dict):
    """Throughput, receive CPU per Gb/s, DRAM traffic and the slowest flow's share of an
    even split against flows, hashed and steered.

    Parameters
    ----------
    results : dict
        ``{proto: isolation(...) result}`` for the Docker overlay.

    Returns
    -------
    matplotlib.figure.Figure
    """
    fig, axes = new_figure(width=18.0, height=3.8, ncols=4)
    for proto, out in results.items():
        flows = np.asarray(out["flows"])
        for name in ("hashed", "steered"):
            label = f"{proto.upper()} {name}"
            axes[0, 0].plot(flows, out[name]["gbps"], color=PROTO_COLORS[proto],
                            markersize=3, label=label, **STYLE[name])
            axes[0, 1].plot(flows, out[name]["cpu_per_gbps"], color=PROTO_COLORS[proto],
                            markersize=3, label=label, **STYLE[name])
            axes[0, 2].plot(flows, out[name]["memory_gbytes_per_s"], color=PROTO_COLORS[proto],
                            markersize=3, label=label, **STYLE[name])
            even = out[name]["gbps"] / flows
            axes[0, 3].plot(flows, out[name]["slowest_flow_gbps"] / even,
                            color=PROTO_COLORS[proto], markersize=3, label=label, **STYLE[name])
        shares = out["io_share"]
        top = int(np.argmax(shares["shares"]))
        axes[0, 2].plot(flows, shares["memory_gbytes_per_s"][top], color=PROTO_COLORS[proto],
                        linestyle=":", label=f"{proto.upper()} hashed, NIC cache share "
                                             f"{shares['shares'][top]:.0%}")
    axes[0, 0].set_ylabel("throughput (Gb/s)")
    axes[0, 1].set_ylabel("receive logical CPUs per Gb/s")
    axes[0, 2].set_ylabel("receiver DRAM traffic (GB/s)")
    axes[0, 3].set_ylabel("slowest flow / even share (expected)")
    axes[0, 2].legend(frameon=False, fontsize=6)
    for ax in axes[0]:
        ax.set_xlabel("Docker overlay flow pairs")
        ax.set_ylim(bottom=0)
    axes[0, 0].legend(frameon=False, fontsize=7)
    fig.suptitle("Isolation: flows hashed onto queues (collisions) or steered one per queue")
    return fig
