"""The model's extension: flows that share a receive queue shorten each other's GRO segments."""

import numpy as np

from ._style import PATH_COLORS, new_figure


def figure(shared: dict, apart: dict):
    """GRO merging and receiver CPU per Gb/s against TCP flow pairs, with and without sharing.

    Parameters
    ----------
    shared : dict
        Path name to a :class:`queuemodel.Result` over an array of ``flows``
        (TCP, the shipped host: flows on one queue share its polls).
    apart : dict
        The same with runs of a whole poll (``rx_flow_run_packets`` =
        ``napi_weight``): every flow merges as if alone.

    Returns
    -------
    matplotlib.figure.Figure
    """
    fig, axes = new_figure(width=9.6, ncols=2)
    gro_ax, cpu_ax = axes[0]
    for path, r in shared.items():
        flows = np.asarray(r.inputs["flows"])
        color = PATH_COLORS.get(path)
        gro_ax.plot(flows, np.asarray(r.gro_packets_per_segment), color=color, linewidth=1.6,
                    label=path)
        for result, style, note in ((r, "-", "shared GRO"), (apart[path], ":", "alone")):
            cpu = sum(np.asarray(v) for v in result.receiver_cpu.values())
            cpu_ax.plot(flows, cpu / np.asarray(result.throughput_gbps), color=color,
                        linestyle=style, linewidth=1.6, label=f"{path}, {note}")
    gro_ax.set_xlabel("TCP flow pairs")
    gro_ax.set_ylabel("wire packets per GRO segment")
    gro_ax.set_title("GRO merging")
    gro_ax.set_ylim(bottom=0)
    gro_ax.legend(frameon=False, fontsize=7)
    cpu_ax.set_xlabel("TCP flow pairs")
    cpu_ax.set_ylabel("receiver logical CPUs per Gb/s")
    cpu_ax.set_title("What it costs the receiver")
    cpu_ax.set_ylim(bottom=0)
    cpu_ax.legend(frameon=False, fontsize=7)
    return fig
