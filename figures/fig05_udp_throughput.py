"""Figure 5 of the paper: UDP throughput (8 KB datagrams) against the number of flow pairs.

Shading (not in the paper): the 5th to 95th percentile of one placement of the
flows' hashes (the paper averaged five or more runs, each hashed anew).
A second panel, not in the paper, shows the drop fraction: the paper could not
measure the Docker overlay past 7 pairs "due to high packet drop rate".  Dotted: the
Docker overlay with its senders held at the link (their sockets keep their packets: a
veth of Linux >= 4.19 and a bridge that does not call iptables,
``veth_orphans_skb=False, bridge_nf_call_iptables=False``).
"""

import numpy as np

from ._plots import lines
from ._style import PATH_COLORS, new_figure

#: The paper's last Docker overlay UDP measurement (its footnote 2).
LAST_MEASURED_PAIRS = 7


def _one_placement(r):
    return r.throughput_p05_gbps, r.throughput_p95_gbps


#: The dotted line's label.
HELD_LABEL = "docker-overlay, senders held at the link"


def figure(results: dict, paper=(), held=None):
    """Throughput and drop fraction of 1..80 UDP flow pairs on each path.

    Parameters
    ----------
    results : dict
        Path name to a :class:`queuemodel.Result` over an array of ``flows``.
    paper : sequence of (path, flows, Gb/s)
        Numbers the paper states (S4-S6), drawn as stars.
    held : queuemodel.Result, optional
        The Docker overlay over the same ``flows`` with its senders held at the
        link: its drop fraction is drawn dotted.

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
    if held is not None:
        drops.plot(np.asarray(held.inputs["flows"]), np.asarray(held.drop_fraction),
                   color=PATH_COLORS.get("docker-overlay"), linestyle=":", linewidth=1.8,
                   label=HELD_LABEL)
    drops.axvline(LAST_MEASURED_PAIRS + 0.5, color="#888888", linestyle="--", linewidth=1.0,
                  label="paper: Docker unstable past 7 pairs")
    drops.set_ylim(0, 1)
    drops.legend(frameon=False, loc="center right", bbox_to_anchor=(1.0, 0.37),
                 fontsize="small")
    return fig
