"""The model's extension: how much receive polling __do_softirq leaves to ksoftirqd."""

import numpy as np

from ._style import PATH_COLORS, new_figure

_STYLE = {"tcp": "-", "udp": "--"}


def figure(by_size: dict, by_flows: dict):
    """ksoftirqd's share of received messages against message size (one flow) and flows.

    Parameters
    ----------
    by_size : dict
        Protocol to path name to a :class:`queuemodel.Result` over an array
        of ``msg_bytes`` (one flow).
    by_flows : dict
        Protocol to path name to a :class:`queuemodel.Result` over an array
        of ``flows`` (the paper's message sizes).

    Returns
    -------
    matplotlib.figure.Figure
    """
    fig, axes = new_figure(width=9.6, ncols=2, sharey=True)
    size_ax, flow_ax = axes[0]
    for ax, results, key in ((size_ax, by_size, "msg_bytes"), (flow_ax, by_flows, "flows")):
        for proto, paths in results.items():
            for path, r in paths.items():
                ax.plot(np.asarray(r.inputs[key]), 100.0 * np.asarray(r.ksoftirqd_share),
                        color=PATH_COLORS.get(path), linestyle=_STYLE[proto], linewidth=1.6,
                        label=f"{path} {proto.upper()}")
    size_ax.set_xscale("log", base=2)
    size_ax.set_xlabel("message size (bytes), one flow")
    size_ax.set_ylabel("messages polled in ksoftirqd (%)")
    size_ax.set_title("Against message size")
    flow_ax.set_xlabel("flow pairs (128 KB TCP, 8 KB UDP messages)")
    flow_ax.set_title("Against flows")
    size_ax.set_ylim(bottom=0)
    size_ax.legend(frameon=False, fontsize=7)
    return fig
