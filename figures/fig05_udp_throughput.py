"""Figure 5 of the paper: UDP throughput (8 KB datagrams) against the number of flow pairs.

Shading (not in the paper): the 5th to 95th percentile of one placement of the
flows' hashes (the paper averaged five or more runs, each hashed anew).
A second panel, not in the paper, shows the drop fraction: the paper could not
measure the Docker overlay past 7 pairs "due to high packet drop rate".
"""

from ._plots import lines
from ._style import new_figure

#: The paper's last Docker overlay UDP measurement (its footnote 2).
LAST_MEASURED_PAIRS = 7


def _one_placement(r):
    return r.throughput_p05_gbps, r.throughput_p95_gbps


def figure(results: dict, paper=()):
    """Throughput and drop fraction of 1..80 UDP flow pairs on each path.

    Parameters
    ----------
    results : dict
        Path name to a :class:`queuemodel.Result` over an array of ``flows``.
    paper : sequence of (path, flows, Gb/s)
        Numbers the paper states (S4-S6), drawn as stars.

    Returns
    -------
    matplotlib.figure.Figure
    """
    fig, axes = new_figure(width=10.0, height=4.0, ncols=2)
    throughput, drops = axes[0]
    lines(results, "flows", lambda r: r.throughput_gbps, "flow pairs",
          "throughput (Gb/s)", "UDP throughput (paper Fig. 5)", paper, ax=throughput,
          band_of=_one_placement)
    lines(results, "flows", lambda r: r.drop_fraction, "flow pairs",
          "drop fraction (of datagrams sent)", "UDP drops (not in the paper)", ax=drops)
    drops.axvline(LAST_MEASURED_PAIRS + 0.5, color="#888888", linestyle="--", linewidth=1.0,
                  label="paper: Docker unstable past 7 pairs")
    drops.set_ylim(0, 1)
    drops.legend(frameon=False, loc="lower right", bbox_to_anchor=(1.0, 0.18))
    return fig
