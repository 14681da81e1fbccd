"""The model's extension: what a ring that cuts datagrams costs an overloaded UDP receiver."""

from __future__ import annotations

import numpy as np

from ._style import PATH_COLORS, new_figure

#: Runs of ``tests/fragment_waste.py`` on this project's VM (Linux 6.18, 2 vCPUs,
#: 2026-11-28 ~20:00 UTC; README "Fragments lost at the ring"): a backlog queue of
#: ``backlog`` packets overloaded with 8 KB datagrams (six fragments), fragment cache
#: 1 GiB; fragments admitted to reassembly (``ReasmReqds``) and datagrams reassembled
#: (``ReasmOKs``).
BACKLOG_RUNS = ((64, 184_801, 28_431), (1000, 200_662, 33_277))
#: Fragments of one 8 KB datagram at MTU 1500 (what the runs send).
RUN_FRAGMENTS = 6
#: Run lengths (``netdev_max_backlog`` of a veth pair's receiver) of the model's line.
RUN_SLOTS = np.unique(np.geomspace(16, 2048, 29).round())
#: Datagram sizes of the left panel, 1 KB to the largest.
CUT_SIZES = np.append(2 ** np.arange(10, 16), 65507)
#: Offered load of the middle panel, as a share of the flow's capacity.
CUT_SHARES = np.linspace(0.5, 2.5, 81)


def figure(results: dict, runs=BACKLOG_RUNS):
    """One UDP flow's delivery with whole datagrams dropped and with cut ones, and the
    share a queue wastes against its run length, the model's and a real kernel's.

    Parameters
    ----------
    results : dict
        ``"sizes"``: ``{(path, cuts): Result}`` over :data:`CUT_SIZES`;
        ``"offer"``: ``{(msg_bytes, cuts): Result}`` for one Docker flow over
        :data:`CUT_SHARES` of its capacity; ``"runs"``: ``{cuts: Result}``
        for one Docker flow over a veth pair, its reader on a CPU of its
        own, over :data:`RUN_SLOTS` (``netdev_max_backlog``).
    runs : sequence of tuple
        ``(backlog, fragments admitted, datagrams reassembled)`` per kernel run.

    Returns
    -------
    matplotlib.figure.Figure
    """
    fig, axes = new_figure(width=15.0, height=4.2, ncols=3)
    ax = axes[0, 0]
    for (path, cuts), r in results["sizes"].items():
        ax.plot(np.asarray(r.inputs["msg_bytes"]) / 1024, r.throughput_gbps,
                color=PATH_COLORS.get(path), linestyle="--" if cuts else "-",
                marker="o", markersize=3, label=f"{path}" + (": ring cuts" if cuts else ""))
    ax.set_xscale("log", base=2)
    ax.set_xlabel("datagram (KB)")
    ax.set_ylabel("delivered (Gb/s)")
    ax.set_title("one UDP flow, sender unthrottled")
    ax.legend(frameon=False, fontsize=7, loc="upper left")
    ax = axes[0, 1]
    for (msg, cuts), r in results["offer"].items():
        ax.plot(np.asarray(r.inputs["offered_gbps"]), r.throughput_gbps,
                color="#7570b3" if msg < 16384 else "#e7298a", linestyle="--" if cuts else "-",
                label=f"{msg} B" + (": ring cuts" if cuts else ": whole datagrams dropped"))
    ax.set_xlabel("offered load (Gb/s)")
    ax.set_ylabel("delivered (Gb/s)")
    ax.set_title("one Docker overlay UDP flow past its CPU's capacity")
    ax.legend(frameon=False, fontsize=7, loc="center right")
    ax = axes[0, 2]
    whole, cut = results["runs"][False], results["runs"][True]
    slots = RUN_SLOTS
    wasted = 100.0 * (1.0 - np.asarray(cut.throughput_gbps) / np.asarray(whole.throughput_gbps))
    ax.plot(slots, wasted, color="#7570b3", label="model: one 8 KB flow, veth, reader apart")
    backlog, admitted, reassembled = (np.array(c, dtype=float) for c in zip(*runs))
    measured = 100.0 * (1.0 - RUN_FRAGMENTS * reassembled / admitted)
    ax.scatter(backlog, measured, color="black", zorder=4,
               label="Linux 6.18 backlog queue (tests/fragment_waste.py)")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("fragments the queue admits at a time (run)")
    ax.set_ylabel("admitted fragments wasted (%)")
    ax.set_title("(n - 1) / run of what an overflowing queue admits")
    ax.legend(frameon=False, fontsize=7, loc="lower left")
    fig.suptitle("A ring that drops fragments cuts datagrams, and the softirq works on their "
                 "other fragments in vain (Host.ring_cuts_fragments; off by default)")
    return fig
