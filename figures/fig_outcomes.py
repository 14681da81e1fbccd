"""The model's extension: one run's throughput over where the flows' hashes land.

The paper's Docker overlay TCP numbers are means of five or more runs, each
opening new connections and so hashing anew; the model's is the expectation
over the placements.  Left: six flows, one run and a five-run mean, against
the paper's 25 Gb/s and M2's tolerance.  Right: one run at several flow
counts.
"""

from __future__ import annotations

import numpy as np

from ._style import PAPER, new_figure

#: The paper's runs per number (section 3, testbed: "five or more").
RUNS = 5
#: Flow counts on the right panel.
FLOW_COUNTS = (2, 4, 6, 8, 12)


def _cdf(ax, outcomes, **style):
    # From 0 at the least outcome up each step, and on at 1 a little past the greatest.
    values = outcomes.throughput_gbps
    x = np.concatenate([[values[0]], values, [values[-1] * 1.01]])
    y = np.concatenate([[0.0], np.cumsum(outcomes.probability), [1.0]])
    ax.step(x, y, where="post", **style)


def figure(six, by_flows: dict, paper_gbps: float, rel_tol: float):
    """Cumulative distributions of Docker overlay TCP throughput over placements.

    Parameters
    ----------
    six : queuemodel.Outcomes
        Six flows' placements.
    by_flows : dict
        ``{flows: Outcomes}`` for the right panel.
    paper_gbps, rel_tol : float
        The paper's six-flow value (M2) and the claim's relative tolerance.

    Returns
    -------
    matplotlib.figure.Figure
    """
    fig, axes = new_figure(width=11.0, height=4.0, ncols=2)
    left, right = axes[0]
    averaged = six.mean_of_runs(RUNS)
    _cdf(left, six, color="#7570b3", linewidth=1.8, label="one run")
    _cdf(left, averaged, color="#d95f02", linewidth=1.8, label=f"mean of {RUNS} runs")
    left.axvspan(paper_gbps * (1 - rel_tol), paper_gbps * (1 + rel_tol), color="#cccccc",
                 alpha=0.5, linewidth=0, label=f"M2's {rel_tol:.0%} around the paper")
    left.axvline(six.mean_gbps, color="#7570b3", linestyle=":", linewidth=1.0,
                 label=f"expected {six.mean_gbps:.1f}")
    left.scatter([paper_gbps], [averaged.cdf(paper_gbps)], **PAPER)
    left.set_title("Six Docker overlay TCP flows")
    for n, outcomes in by_flows.items():
        _cdf(right, outcomes, linewidth=1.5, label=f"{n} flows")
    right.set_title("One run, Docker overlay TCP")
    for ax in (left, right):
        ax.set_xlabel("throughput (Gb/s)")
        ax.set_ylim(0, 1.02)
        ax.legend(frameon=False, fontsize=7, loc="upper left")
    left.set_ylabel("chance of at most this much")
    fig.suptitle("Where the flows' hashes land: one run against the expectation")
    return fig
