"""The paper's third open question: coalescing and small messages."""

from __future__ import annotations

import numpy as np

from ._style import new_figure

COLORS = {"as shipped": "#1b1b1b", "GRO across the overlay": "#1b9e77",
          "NAPI batches of 256": "#d95f02", "moderation 64 us, fixed": "#7570b3"}


def figure(results: dict):
    """Rate, interrupts, softirqs and latency against size, per variant and protocol.

    Parameters
    ----------
    results : dict
        ``{proto: coalescing(...) result}`` for the Docker overlay.

    Returns
    -------
    matplotlib.figure.Figure
    """
    rows = [("rate_per_s", "messages/s (k)", 1e-3), ("irq_per_s", "hard IRQs/s (k)", 1e-3),
            ("softirq_per_s", "NET_RX softirqs/s (k)", 1e-3),
            ("latency_us", "mean latency at half load (us)", 1.0)]
    fig, axes = new_figure(width=12.0, height=5.6, ncols=len(rows), nrows=len(results))
    for r, (proto, out) in enumerate(results.items()):
        sizes = np.asarray(out["sizes"])
        for c, (key, label, scale) in enumerate(rows):
            ax = axes[r, c]
            for name, color in COLORS.items():
                style = "--" if name != "as shipped" else "-"
                ax.plot(sizes, np.asarray(out[name][key]) * scale, color=color,
                        linestyle=style, linewidth=1.4, label=name)
            ax.set_xscale("log", base=2)
            ax.set_ylim(bottom=0)
            ax.set_title(f"{proto.upper()}: {label}", fontsize=8)
            if r == len(results) - 1:
                ax.set_xlabel("message size (bytes)")
    axes[0, 0].legend(frameon=False, fontsize=7)
    fig.suptitle("Coalescing on the Docker overlay, one flow (GRO across the overlay, bigger "
                 "NAPI batches, fixed 64 us moderation)")
    return fig
