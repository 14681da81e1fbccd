"""The model's answer to the paper's M5: the receiver's DRAM, and what reading from it costs."""

from ._plots import lines
from ._style import new_figure


def figure(results: dict):
    """DRAM traffic and the copy's share of bytes read from DRAM, against flows.

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
    lines(results, "flows", lambda r: r.memory_bandwidth_gbytes_per_s, "TCP flow pairs",
          "receiver DRAM traffic, GB/s", "DRAM traffic of the received data", ax=traffic_ax)
    lines(results, "flows", lambda r: r.read_miss_fraction, "TCP flow pairs",
          "share of copied bytes read from DRAM", "What the copy finds gone from the cache",
          ax=miss_ax)
    miss_ax.set_ylim(0, 1)
    return fig
