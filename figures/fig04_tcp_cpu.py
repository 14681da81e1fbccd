"""Figure 4 of the paper: receiver CPU breakdown against flow pairs, TCP."""

from ._plots import cpu_breakdown


def figure(results: dict, paper=()):
    """Stacked receiver CPU (usr, sys, softirq, irq) for 1..80 TCP flow pairs, a panel per path.

    Parameters
    ----------
    results : dict
        Path name to a :class:`queuemodel.Result` over an array of ``flows``.
    paper : sequence of (path, flows, percent)
        Numbers the paper states (S8: the overlay's kernel time fills one CPU, 5 %).

    Returns
    -------
    matplotlib.figure.Figure
    """
    return cpu_breakdown(results, "flows", "flow pairs",
                         "Receiver CPU, TCP (paper Fig. 4)", paper)
