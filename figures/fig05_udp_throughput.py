"""Figure 5 of the paper: UDP throughput (8 KB datagrams) against the number of flow pairs."""

from ._plots import lines


def figure(results: dict, paper=()):
    """Throughput of 1..80 UDP flow pairs on each path.

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
    return lines(results, "flows", lambda r: r.throughput_gbps, "flow pairs",
                 "throughput (Gb/s)", "UDP throughput (paper Fig. 5)", paper)
