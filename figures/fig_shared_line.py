"""The model's extension: the VXLAN socket's reference count, one line every receive CPU writes."""

import numpy as np

from ._style import PATH_COLORS, new_figure

#: Line transfer times drawn beside the shipped prior (ns): none, and twice the prior.
TRANSFER_NS = (0.0, 100.0)


def figure(shipped: dict, transfers: dict, paper: list):
    """The share of the line's writes that find it elsewhere, and what it costs Docker TCP.

    Parameters
    ----------
    shipped : dict
        Path name to a :class:`queuemodel.Result` over an array of ``flows``
        (TCP, the shipped host).
    transfers : dict
        Line transfer time (ns, :data:`TRANSFER_NS`) to the Docker overlay's
        TCP result over the same flows.
    paper : list of (path, flows, gbps)
        The paper's TCP throughput claims; the Docker overlay's are marked.

    Returns
    -------
    matplotlib.figure.Figure
    """
    fig, axes = new_figure(width=9.6, ncols=2)
    share_ax, gbps_ax = axes[0]
    for path in ("linux-overlay", "docker-overlay"):
        r = shipped[path]
        share_ax.plot(np.asarray(r.inputs["flows"]), np.asarray(r.shared_line_remote_fraction),
                      color=PATH_COLORS.get(path), linewidth=1.6, label=path)
    share_ax.set_xlabel("TCP flow pairs")
    share_ax.set_ylabel("writes that find the line in another CPU's cache")
    share_ax.set_title("The VXLAN socket's reference count (both overlays alike)")
    share_ax.set_ylim(0, 1)
    share_ax.legend(frameon=False, fontsize=7)
    docker = shipped["docker-overlay"]
    flows = np.asarray(docker.inputs["flows"])
    color = PATH_COLORS.get("docker-overlay")
    gbps_ax.plot(flows, np.asarray(docker.throughput_gbps), color=color, linewidth=1.6,
                 label="as shipped (50 ns a transfer)")
    for ns, style in zip(TRANSFER_NS, (":", "--")):
        gbps_ax.plot(flows, np.asarray(transfers[ns].throughput_gbps), color=color,
                     linestyle=style, linewidth=1.2, label=f"{ns:g} ns a transfer")
    marks = [(n, v) for path, n, v in paper if path == "docker-overlay"]
    if marks:
        gbps_ax.plot(*zip(*marks), "o", color="black", markersize=4, label="paper")
    gbps_ax.set_xlabel("TCP flow pairs (up to where the link binds)")
    gbps_ax.set_ylabel("Docker overlay throughput, Gb/s")
    gbps_ax.set_title("What the transfers cost")
    gbps_ax.set_xlim(0.5, min(16.5, flows.max() + 0.5))
    gbps_ax.set_ylim(bottom=0)
    gbps_ax.legend(frameon=False, fontsize=7)
    return fig
