"""Beyond the paper: the containers routed by their hosts instead of overlaid.

The ``routed`` path (:data:`queuemodel.paths.ROUTED`: a veth to the host
namespace, IP forwarding, the NIC; no VXLAN, no bridge) against the
paper's three, on the paper's testbed.
"""

from __future__ import annotations

import numpy as np

from ._style import PATH_COLORS, new_figure

#: The routed path's colour (the paper's three keep theirs).
ROUTED_COLOR = "#e7298a"


def _color(path: str) -> str:
    return PATH_COLORS.get(path, ROUTED_COLOR)


def figure(flows: dict, sizes: dict):
    """TCP and UDP throughput and the receive CPUs against flows; datagrams/s against size.

    Parameters
    ----------
    flows : dict
        ``{proto: {path: Result over an array of flows}}`` for the four paths.
    sizes : dict
        ``{path: Result over an array of UDP msg_bytes}``, one flow.

    Returns
    -------
    matplotlib.figure.Figure
    """
    fig, axes = new_figure(width=18.0, height=3.8, ncols=4)
    panels = ((axes[0, 0], "tcp", lambda r: r.throughput_gbps, "TCP throughput (Gb/s)"),
              (axes[0, 1], "udp", lambda r: r.throughput_gbps, "UDP 8 KB throughput (Gb/s)"),
              (axes[0, 2], "tcp", lambda r: r.receiver_cpu_total,
               "TCP receive logical CPUs"))
    for ax, proto, value, label in panels:
        for path, r in flows[proto].items():
            style = "--" if path == "routed" else "-"
            ax.plot(np.asarray(r.inputs["flows"]), value(r), color=_color(path),
                    linestyle=style, linewidth=1.5, label=path)
        ax.set_xlabel("flow pairs")
        ax.set_ylabel(label)
        ax.set_ylim(bottom=0)
    ax = axes[0, 3]
    for path, r in sizes.items():
        style = "--" if path == "routed" else "-"
        ax.plot(np.asarray(r.inputs["msg_bytes"]), np.asarray(r.message_rate_per_s) / 1e3,
                color=_color(path), linestyle=style, linewidth=1.5, marker="o",
                markersize=3, label=path)
    ax.set_xscale("log", base=2)
    ax.set_xlabel("UDP datagram size (bytes), one flow")
    ax.set_ylabel("datagrams/s (k)")
    ax.set_ylim(bottom=0)
    axes[0, 0].legend(frameon=False, fontsize=7)
    fig.suptitle("Beyond the paper: containers routed by their hosts (no VXLAN, no bridge) "
                 "against the paper's paths")
    return fig
