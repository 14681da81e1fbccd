"""Figure 7 of the paper: one TCP flow's message rate against message size."""

from ._plots import lines


def figure(results: dict, paper=()):
    """Messages per second of one TCP flow, 64 B to 8 KB messages, each path.

    Parameters
    ----------
    results : dict
        Path name to a :class:`queuemodel.Result` over an array of ``msg_bytes``.
    paper : sequence
        The paper states no number here (its claims P1-P3 are shapes).

    Returns
    -------
    matplotlib.figure.Figure
    """
    return lines(results, "msg_bytes", lambda r: r.message_rate_per_s / 1e3,
                 "message size (bytes)", "messages (thousands per second)",
                 "TCP packet processing rate, one flow (paper Fig. 7)", paper, log_x=True)
