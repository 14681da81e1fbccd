"""Figure 11 of the paper: interrupts against datagram size, one UDP flow."""

from ._plots import lines


def figure(results: dict, paper=()):
    """Receive hard interrupts per second of one UDP flow, 64 B to 8 KB datagrams.

    Softirq counts are not modelled yet (the small-packet work); only IRQs are drawn.

    Parameters
    ----------
    results : dict
        Path name to a :class:`queuemodel.Result` over an array of ``msg_bytes``.
    paper : sequence
        The paper states no number here (P6, P7 are ratios).

    Returns
    -------
    matplotlib.figure.Figure
    """
    return lines(results, "msg_bytes", lambda r: r.irq_rate_per_s / 1e3,
                 "datagram size (bytes)", "hard IRQs (thousands per second)",
                 "Interrupts, one UDP flow (paper Fig. 11, IRQs only)", paper, log_x=True)
