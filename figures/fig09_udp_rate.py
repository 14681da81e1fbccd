"""Figure 9 of the paper: one UDP flow's message rate against message size."""

from ._plots import lines


def figure(results: dict, paper=()):
    """Datagrams per second of one UDP flow, 64 B to 8 KB messages, each path.

    Parameters
    ----------
    results : dict
        Path name to a :class:`queuemodel.Result` over an array of ``msg_bytes``.
    paper : sequence
        The paper states no number here (its claim P4 is a shape).

    Returns
    -------
    matplotlib.figure.Figure
    """
    return lines(results, "msg_bytes", lambda r: r.message_rate_per_s / 1e3,
                 "message size (bytes)", "messages (thousands per second)",
                 "UDP packet processing rate, one flow (paper Fig. 9)", paper, log_x=True)
