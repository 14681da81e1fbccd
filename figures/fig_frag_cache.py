"""The model's extension: a fragment cache that refuses when full, filled by cut datagrams."""

from __future__ import annotations

import numpy as np

from ._style import PATH_COLORS, new_figure

#: Runs of ``tests/fragment_waste.py --series 0.1`` (0.25 and 0.5 for the last three) on this
#: project's VM (Linux 6.18, 2 vCPUs, 2026-11-28 ~21:36 UTC; README "Fragments lost at
#: the ring"): a backlog queue
#: of ``backlog`` packets overloaded with 8 KB datagrams (six fragments), the namespace's
#: ``ipfrag_high_thresh`` and ``ipfrag_time``.  Per run: the seconds it lasted, the
#: fragments admitted to reassembly and the datagrams reassembled per second before the
#: cache first held 90 % of its limit, the datagrams reassembled over the run, the
#: second the cache first held 99 % of it (``None``: never) and the most it held.
CACHE_RUNS = (
    # backlog, cache B, timeout s, run s, admitted/s, reassembled/s, reassembled, full s, peak B
    (64, 4194304, 30, 45.3, 50607, 7787, 7232, 0.52, 4196160),
    (64, 16777216, 1, 8.3, 45906, 7063, 58672, None, 8602480),
    (64, 4194304, 2, 10.2, 41678, 6412, 17344, 0.67, 4196256),
    (64, 8388608, 1, 8.0, 42030, 6466, 53076, None, 7866624),
    (256, 4194304, 30, 12.2, 43656, 7134, 16827, 2.33, 4195760),
    (1000, 4194304, 30, 20.2, 44089, 7311, 145285, None, 4013048),
    (64, 4194304, 1, 10.3, 37437, 5760, 34082, 0.69, 4196456),
    # 22:21 UTC: twice the cache, where only the IP identifiers' collisions keep it from
    # filling (a 30 s life would fill it at 13 s), and a 5 s timeout besides.
    (1000, 8388608, 30, 25.3, 54240, 8995, 227670, None, 4359840),
    (1000, 8388608, 5, 15.6, 55875, 9266, 144484, None, 2630088),
    # 22:49 UTC: the edge again (backlog 1000, 4 MB), for 90 s (samples 0.5 s apart).
    (1000, 4194304, 30, 90.5, 49166, 8153, 434461, 18.4, 4196560),
)
#: Fragment cache limits (``frag_cache_bytes``) of the what-if panel, 1 MiB to 1 GiB.
CACHE_BYTES = np.unique(np.geomspace(1 << 20, 1 << 30, 61).round()).astype(np.int64)
#: Timeouts (``frag_timeout_s``) of its lines.
TIMEOUTS = (30.0, 5.0, 1.0)


def measured_share(run) -> float:
    """Share of the time a run's cache let fragments in.

    The seconds of reassembly the run got (its datagrams over the rate before
    the cache filled) over its length; for a run shorter than four timeouts
    that filled, where that would weigh the first filling too much, the
    first filling's length over one timeout (the cache then refused until
    the fragments it held timed out).
    """
    _, _, timeout, seconds, _, rate, reassembled, full, _ = run
    if full is not None and seconds < 4 * timeout:
        return full / timeout
    return min(1.0, reassembled / rate / seconds)


def figure(data: dict):
    """The share of the time a full cache lets fragments in, predicted and measured, and
    one Docker overlay 8 KB UDP flow on the paper's testbed against the cache's size.

    Parameters
    ----------
    data : dict
        ``"runs"``: ``[(run, measured share, predicted share)]`` over
        :data:`CACHE_RUNS` (predicted by ``queuemodel.kernels._frag_cache_share``
        from the run's own rates); ``"whatif"``: ``{timeout: Result}`` over
        :data:`CACHE_BYTES` with ``frag_cache_refuses``; ``"evicting"`` and
        ``"whole"``: the same flow with a cache that evicts, and with a ring
        that drops whole datagrams.

    Returns
    -------
    matplotlib.figure.Figure
    """
    fig, axes = new_figure(width=12.0, height=4.4, ncols=2)
    ax = axes[0, 0]
    placed: dict = {}
    for run, measured, predicted in data["runs"]:
        backlog, cache, timeout = run[:3]
        ax.scatter(predicted, measured, color="black" if run[7] is not None else "white",
                   edgecolor="black", zorder=4)
        # Labels right of their points; near the top, above them (one above another
        # for runs at the same point).
        spot = (round(predicted, 2), round(measured, 2))
        below = placed.setdefault(spot, 0)
        placed[spot] += 1
        top = measured > 0.8
        ax.annotate(f"{cache / 2 ** 20:g} MiB, {timeout:g} s, run {backlog}",
                    (predicted, measured), textcoords="offset points",
                    xytext=(-4, 5 + 9 * below) if top else (5, -3), fontsize=7,
                    ha="right" if top else "left")
    ax.plot([0.005, 1.0], [0.005, 1.0], color="#7570b3",
            label="measured = predicted (filled: black)")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlim(0.004, 1.6)
    ax.set_ylim(0.004, 4.0)
    ax.set_xlabel("predicted share (kernels._frag_cache_share, the run's rates)")
    ax.set_ylabel("measured share (Linux 6.18 backlog queue)")
    ax.set_title("time a fragment cache lets fragments in")
    ax.legend(frameon=False, fontsize=7, loc="upper left")
    ax = axes[0, 1]
    mib = CACHE_BYTES / float(1 << 20)
    for (timeout, r), style in zip(data["whatif"].items(), ("-", "--", ":")):
        ax.plot(mib, r.throughput_gbps, color=PATH_COLORS["docker-overlay"], linestyle=style,
                label=f"refuses when full (Linux >= 4.17), ipfrag_time {timeout:g} s")
    for key, color, label in (("evicting", "#1b9e77", "evicts (Linux 4.4)"),
                              ("whole", "#999999", "ring drops whole datagrams")):
        ax.axhline(float(data[key].throughput_gbps), color=color, linewidth=1.0, label=label)
    ax.axvline(4.0, color="#bbbbbb", linewidth=0.8)
    ax.set_xscale("log", base=2)
    ax.set_yscale("log")
    ax.set_ylim(bottom=max(1e-3, 0.5 * float(np.min([np.min(r.throughput_gbps)
                                                       for r in data["whatif"].values()]))))
    ax.set_xlabel("fragment cache, ipfrag_high_thresh (MiB; default 4)")
    ax.set_ylabel("delivered (Gb/s)")
    ax.set_title("one Docker overlay 8 KB UDP flow whose ring cuts")
    ax.legend(frameon=False, fontsize=7, loc="lower right")
    fig.suptitle("Cut datagrams' fragments fill a cache that refuses when full "
                 "(Host.frag_cache_refuses; off by default, as on the paper's Linux 4.4)")
    return fig
