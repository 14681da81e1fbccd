"""Beyond the paper: where one packet's cycles go, stage by stage (the model's Fig. 2)."""

import numpy as np

from ._style import CONTEXT_COLORS, new_figure


def figure(results: dict, contexts: dict, ghz: float = 2.2):
    """Receiver cycles per wire packet of one saturated flow, stacked by stage.

    Parameters
    ----------
    results : dict
        ``(path, proto)`` to a one-flow :class:`queuemodel.Result` at the
        paper's message size.
    contexts : dict
        ``(path, stage)`` to the stage's context (``hardirq``, ``softirq``,
        ``syscall``, ``user``), for the colours.
    ghz : float
        The receiver's clock, to turn utilisation into cycles.

    Returns
    -------
    matplotlib.figure.Figure
    """
    protos = sorted({proto for _, proto in results})
    fig, axes = new_figure(width=10.0, height=4.2, ncols=len(protos))
    for ax, proto in zip(axes[0], protos):
        paths = [p for p, t in results if t == proto]
        for row, path in enumerate(paths):
            r = results[(path, proto)]
            per_packet = ghz * 1e9 / r.wire_packet_rate_per_s
            left = 0.0
            for key, util in r.stages.items():
                if not key.startswith("rx:") or util <= 0:
                    continue
                name = key[3:]
                width = util * per_packet
                color = CONTEXT_COLORS.get(contexts.get((path, name), "softirq"), "#999999")
                ax.barh(row, width, left=left, color=color, edgecolor="white", linewidth=0.5)
                if width > 250.0:
                    ax.text(left + width / 2, row, name, ha="center", va="center", fontsize=7,
                            rotation=90, color="white")
                left += width
        ax.set_yticks(np.arange(len(paths)), paths)
        ax.set_xlabel(f"receiver cycles per wire packet ({ghz:g} GHz core)")
        ax.set_title(f"{proto.upper()}, one flow")
    from matplotlib.patches import Patch

    axes[0, -1].legend([Patch(color=c) for c in CONTEXT_COLORS.values()], list(CONTEXT_COLORS),
                       frameon=False, loc="lower right")
    fig.suptitle("Where a packet's cycles go on the receiver (the model's answer to Fig. 2)")
    return fig
