"""Beyond the paper: each path's receive pipeline, stage by stage, as the model sees it (Fig. 1)."""

from ._style import CONTEXT_COLORS, new_figure


def figure(paths: dict, proto: str = "tcp"):
    """Boxes for the receive stages of each path, in order, coloured by context.

    Parameters
    ----------
    paths : dict
        Name to :class:`queuemodel.Path`.
    proto : {'tcp', 'udp'}
        Stages for the other protocol are left out.

    Returns
    -------
    matplotlib.figure.Figure
    """
    from matplotlib.patches import FancyBboxPatch, Patch

    fig, axes = new_figure(width=11.0, height=0.9 + 1.1 * len(paths))
    ax = axes[0, 0]
    ax.grid(False)
    width = 0
    for row, (name, path) in enumerate(paths.items()):
        stages = [s for s in path.rx if proto in s.protocols]
        y = len(paths) - 1 - row
        for col, stage in enumerate(stages):
            ax.add_patch(FancyBboxPatch((col + 0.05, y + 0.15), 0.9, 0.7,
                                        boxstyle="round,pad=0.02",
                                        color=CONTEXT_COLORS[stage.context]))
            ax.text(col + 0.5, y + 0.5, stage.name.replace("_", "\n"), ha="center",
                    va="center", fontsize=7, color="white")
        ax.text(-0.1, y + 0.5, name, ha="right", va="center", fontsize=9)
        width = max(width, len(stages))
    ax.set_xlim(-2.2, width + 0.1)
    ax.set_ylim(-0.1, len(paths) + 0.1)
    ax.set_xticks([])
    ax.set_yticks([])
    for side in ("top", "right", "left", "bottom"):
        ax.spines[side].set_visible(False)
    ax.legend([Patch(color=c) for c in CONTEXT_COLORS.values()],
              [f"{k} (flow core)" if k in ("hardirq", "softirq") else f"{k} (reader's core)"
               for k in CONTEXT_COLORS], frameon=False, loc="upper center",
              bbox_to_anchor=(0.5, 0.0), ncols=4)
    ax.set_title(f"Receive pipelines ({proto.upper()}), left to right (the model's Fig. 1)")
    return fig
