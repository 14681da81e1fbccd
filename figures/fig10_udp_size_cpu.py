"""Figure 10 of the paper: receiver CPU against datagram size, one UDP flow."""

from ._plots import cpu_breakdown


def figure(results: dict, paper=()):
    """Stacked receiver CPU of one UDP flow, 64 B to 8 KB messages, a panel per path.

    Parameters
    ----------
    results : dict
        Path name to a :class:`queuemodel.Result` over an array of ``msg_bytes``.
    paper : sequence
        The paper states no number here.

    Returns
    -------
    matplotlib.figure.Figure
    """
    return cpu_breakdown(results, "msg_bytes", "message size (bytes)",
                         "Receiver CPU, one UDP flow (paper Fig. 10)", paper, log_x=True)
