"""Figure 3 of the paper: TCP throughput against the number of flow pairs.

Shading (not in the paper): the 5th to 95th percentile of one placement of the
flows' hashes (the paper averaged five or more runs, each hashed anew).
"""

from ._plots import lines


def figure(results: dict, paper=()):
    """Throughput of 1..80 TCP flow pairs on each path.

    Parameters
    ----------
    results : dict
        Path name to a :class:`queuemodel.Result` over an array of ``flows``.
    paper : sequence of (path, flows, Gb/s)
        Numbers the paper states (S1-S3, M1, M2), drawn as stars.

    Returns
    -------
    matplotlib.figure.Figure
    """
    return lines(results, "flows", lambda r: r.throughput_gbps, "flow pairs",
                 "throughput (Gb/s)", "TCP throughput (paper Fig. 3)", paper,
                 band_of=lambda r: (r.throughput_p05_gbps, r.throughput_p95_gbps))
