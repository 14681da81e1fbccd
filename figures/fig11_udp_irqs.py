"""Figure 11 of the paper: interrupts and softirqs against datagram size, one UDP flow."""

import numpy as np

from ._style import PATH_COLORS, new_figure


def figure(results: dict, paper=()):
    """Receive hard IRQs (solid) and NET_RX softirq runs (dashed) per second, 64 B to 8 KB.

    Parameters
    ----------
    results : dict
        Path name to a :class:`queuemodel.Result` over an array of ``msg_bytes``.
    paper : sequence
        The paper states no number here (P6 and P7 are ratios).

    Returns
    -------
    matplotlib.figure.Figure
    """
    fig, axes = new_figure()
    ax = axes[0, 0]
    for path, r in results.items():
        x = np.asarray(r.inputs["msg_bytes"])
        color = PATH_COLORS.get(path)
        ax.plot(x, np.asarray(r.irq_rate_per_s) / 1e3, color=color, linewidth=1.8,
                label=f"{path} IRQs")
        ax.plot(x, np.asarray(r.softirq_rate_per_s) / 1e3, color=color, linewidth=1.4,
                linestyle="--", label=f"{path} softirqs")
    ax.set_xscale("log", base=2)
    ax.set_xlabel("datagram size (bytes)")
    ax.set_ylabel("events (thousands per second)")
    ax.set_title("Interrupts and softirqs, one UDP flow (paper Fig. 11)")
    ax.set_ylim(bottom=0)
    ax.legend(frameon=False, fontsize=7, ncols=2)
    return fig
