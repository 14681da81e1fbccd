"""Why: each contention mechanism's share, as a waterfall per scenario (queuemodel.attribute)."""

import numpy as np

from ._style import PAPER, new_figure

#: Colour of a share that raises the output, and of one that lowers it.
UP, DOWN = "#d95f02", "#1b9e77"
#: Grey of the two ends: every mechanism off, and the prediction.
ENDS = "#999999"


def figure(attributions: list, labels: list, paper: dict):
    """A waterfall per attributed scenario: every mechanism off, each share, the prediction.

    Parameters
    ----------
    attributions : list of queuemodel.attribute.Attribution
        One per scenario.
    labels : list of str
        Each scenario's title.
    paper : dict
        Scenario index to the paper's value for the same output, drawn as a
        star where the paper states one.

    Returns
    -------
    matplotlib.figure.Figure
    """
    rows = (len(attributions) + 1) // 2
    fig, axes = new_figure(width=9.6, height=3.9 * rows, ncols=2, nrows=rows)
    for ax in axes.flat[len(attributions):]:
        ax.set_visible(False)
    for index, (ax, a, label) in enumerate(zip(axes.flat, attributions, labels)):
        names = ["all off"] + [name for name, _ in a.shares] + ["predicted"]
        level = a.base
        bottoms, heights, colors = [0.0], [a.base], [ENDS]
        for _, share in a.shares:
            bottoms.append(min(level, level + share))
            heights.append(abs(share))
            colors.append(UP if share > 0 else DOWN)
            level += share
        bottoms.append(0.0)
        heights.append(a.full)
        colors.append(ENDS)
        x = np.arange(len(names))
        ax.bar(x, heights, bottom=bottoms, color=colors, width=0.7)
        ax.set_xticks(x, names, rotation=40, ha="right", fontsize=8)
        ax.set_ylabel(a.output)
        ax.set_title(label, fontsize=10)
        if index in paper:
            ax.scatter([x[-1]], [paper[index]], **PAPER)
            ax.legend(frameon=False, loc="lower left")
    return fig
