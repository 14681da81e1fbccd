"""Drawing helpers the figure modules share; they read results, never compute them."""

from __future__ import annotations

import numpy as np

from ._style import CPU_COLORS, PAPER, PATH_COLORS, TESTBED_LOGICAL_CPUS, new_figure


def lines(results: dict, x_key: str, y_of, xlabel: str, ylabel: str, title: str,
          paper=(), log_x: bool = False, ax=None, band_of=None):
    """One line per path of ``y_of(result)`` against ``result.inputs[x_key]``.

    ``paper`` is a sequence of ``(path, x, y)`` the paper states; they are drawn as
    stars labelled "paper (text)".  ``band_of(result)``, if given, returns the
    ``(low, high)`` of one hash outcome (5th and 95th percentiles), shaded under
    each line.  Drawn on ``ax`` if given, else on a new figure.
    """
    if ax is None:
        ax = new_figure()[1][0, 0]
    fig = ax.figure
    for path, result in results.items():
        x = np.asarray(result.inputs[x_key])
        ax.plot(x, np.asarray(y_of(result)), label=path, color=PATH_COLORS.get(path),
                linewidth=1.8)
        if band_of is not None:
            low, high = band_of(result)
            ax.fill_between(x, low, high, color=PATH_COLORS.get(path), alpha=0.15,
                            linewidth=0)
    if paper:
        xs, ys = zip(*[(x, y) for _, x, y in paper])
        ax.scatter(xs, ys, **PAPER)
    if log_x:
        ax.set_xscale("log", base=2)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.set_ylim(bottom=0)
    ax.legend(frameon=False)
    return fig


def cpu_breakdown(results: dict, x_key: str, xlabel: str, title: str, paper=(),
                  log_x: bool = False):
    """Stacked receiver CPU (usr, sys, softirq, irq) in % of the 20 logical CPUs, a panel per path."""
    fig, axes = new_figure(width=10.0, height=3.6, ncols=len(results), sharey=True)
    for ax, (path, result) in zip(axes[0], results.items()):
        x = np.asarray(result.inputs[x_key])
        stacks = [100.0 * np.asarray(result.receiver_cpu[k]) / TESTBED_LOGICAL_CPUS
                  for k in CPU_COLORS]
        ax.stackplot(x, stacks, labels=list(CPU_COLORS), colors=list(CPU_COLORS.values()),
                     alpha=0.9)
        marks = [(xx, yy) for p, xx, yy in paper if p == path]
        if marks:
            ax.scatter(*zip(*marks), **PAPER)
        if log_x:
            ax.set_xscale("log", base=2)
        ax.set_title(path)
        ax.set_xlabel(xlabel)
    axes[0, 0].set_ylabel("receiver CPU (% of 20 logical CPUs)")
    axes[0, -1].legend(frameon=False, loc="upper left")
    fig.suptitle(title)
    return fig
