"""What the receiver's hash sees decides whether overlay flows get more than one core."""

import numpy as np

from ._style import new_figure

#: NIC hashing settings drawn, as (label, host fields).
SETTINGS = (
    ("UDP ports hashed (mlx4_en default)", {}),
    ("addresses only", {"rss_udp_ports": False}),
    ("addresses only, inner headers hashed", {"rss_udp_ports": False,
                                              "tunnel_offload": True}),
)


def figure(results: dict):
    """Overlay throughput against flows under each hashing setting, a panel per protocol.

    Parameters
    ----------
    results : dict
        Protocol to ``{(path, label): Result}`` over an array of ``flows``, for the
        labels of :data:`SETTINGS` (the shipped host otherwise).

    Returns
    -------
    matplotlib.figure.Figure
    """
    fig, axes = new_figure(width=9.6, ncols=2, sharey=True)
    # Wide and faint first, narrow and dashed last, so lines that coincide all show.
    widths, styles = (4.0, 2.0, 1.6, 1.6), ("-", "-", "--", ":")
    for ax, (proto, by_setting) in zip(axes[0], results.items()):
        for i, ((path, label), r) in enumerate(by_setting.items()):
            ax.plot(np.asarray(r.inputs["flows"]), np.asarray(r.throughput_gbps),
                    styles[i % 4], linewidth=widths[i % 4], alpha=0.55 if i == 0 else 1.0,
                    label=f"{path}: {label}")
        ax.set_xlabel("flow pairs")
        ax.set_title(f"{proto.upper()} ({'128 KB messages' if proto == 'tcp' else '8 KB datagrams'})")
        ax.set_ylim(bottom=0)
    axes[0, 0].set_ylabel("throughput (Gb/s)")
    axes[0, 1].legend(frameon=False, fontsize=7, loc="upper left")
    return fig
