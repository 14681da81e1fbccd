"""The model's answer to the paper's M5: the receiver's DRAM, and what reading from it costs."""

import numpy as np

from ._style import PATH_COLORS, new_figure


def figure(results: dict):
    """DRAM traffic per Gb/s and the copy's share of bytes read from DRAM, against flows.

    Parameters
    ----------
    results : dict
        Path name to a :class:`queuemodel.Result` over an array of ``flows``
        (TCP, the shipped host).

    Returns
    -------
    matplotlib.figure.Figure
    """
    fig, axes = new_figure(width=9.6, ncols=2)
    traffic_ax, miss_ax = axes[0]
    for path, r in results.items():
        flows = np.asarray(r.inputs["flows"])
        color = PATH_COLORS.get(path)
        traffic_ax.plot(flows, np.asarray(r.memory_bandwidth_gbytes_per_s), color=color,
                        linewidth=1.6, label=path)
        miss_ax.plot(flows, np.asarray(r.read_miss_fraction), color=color, linewidth=1.6,
                     label=path)
    traffic_ax.set_xlabel("TCP flow pairs")
    traffic_ax.set_ylabel("receiver DRAM traffic, GB/s")
    traffic_ax.set_title("DRAM traffic of the received data")
    traffic_ax.set_ylim(bottom=0)
    traffic_ax.legend(frameon=False, fontsize=7)
    miss_ax.set_xlabel("TCP flow pairs")
    miss_ax.set_ylabel("share of copied bytes read from DRAM")
    miss_ax.set_title("What the copy finds gone from the cache")
    miss_ax.set_ylim(0, 1)
    miss_ax.legend(frameon=False, fontsize=7)
    return fig
