"""Beyond the paper: each path's receive pipeline, stage by stage, as the model sees it (Fig. 1)."""

from ._style import CONTEXT_COLORS, new_figure


def figure(paths: dict, proto: str = "tcp", host=None):
    """Boxes for the receive stages of each path, in order, coloured by context.

    Parameters
    ----------
    paths : dict
        Name to :class:`queuemodel.Path`.
    proto : {'tcp', 'udp'}
        Stages for the other protocol are left out.
    host : queuemodel.Host, optional
        Stages that never run on it (an offload does their work) are drawn
        as outlines.

    Returns
    -------
    matplotlib.figure.Figure
    """
    from matplotlib.patches import FancyBboxPatch, Patch

    from queuemodel.solver import GATE_NAMES, compile_side

    fig, axes = new_figure(width=11.0, height=0.9 + 1.1 * len(paths))
    ax = axes[0, 0]
    ax.grid(False)
    width = 0
    for row, (name, path) in enumerate(paths.items()):
        stages = [s for s in path.rx if proto in s.protocols]
        free = set()
        if host is not None:
            side = compile_side(path, "rx", proto, host)
            free = {label for label, gate in zip(side.labels, side.gate)
                    if GATE_NAMES[gate] == "never"}
        y = len(paths) - 1 - row
        for col, stage in enumerate(stages):
            color = CONTEXT_COLORS[stage.context]
            off = stage.name in free
            ax.add_patch(FancyBboxPatch((col + 0.05, y + 0.15), 0.9, 0.7,
                                        boxstyle="round,pad=0.02", facecolor="white" if off
                                        else color, edgecolor=color, linewidth=1.2))
            ax.text(col + 0.5, y + 0.5, stage.name.replace("_", "\n"), ha="center",
                    va="center", fontsize=7, color=color if off else "white")
        ax.text(-0.1, y + 0.5, name, ha="right", va="center", fontsize=9)
        width = max(width, len(stages))
    ax.set_xlim(-2.2, width + 0.1)
    ax.set_ylim(-0.1, len(paths) + 0.1)
    ax.set_xticks([])
    ax.set_yticks([])
    for side in ("top", "right", "left", "bottom"):
        ax.spines[side].set_visible(False)
    handles = [Patch(color=c) for c in CONTEXT_COLORS.values()]
    names = [f"{k} (flow core)" if k in ("hardirq", "softirq") else f"{k} (reader's core)"
             for k in CONTEXT_COLORS]
    if host is not None:
        handles.append(Patch(facecolor="white", edgecolor="#777777"))
        names.append("never runs on this host (an offload does it)")
    ax.legend(handles, names, frameon=False, loc="upper center",
              bbox_to_anchor=(0.5, 0.0), ncols=5 if host is not None else 4)
    ax.set_title(f"Receive pipelines ({proto.upper()}), left to right (the model's Fig. 1)")
    return fig
