"""Classical queueing results: waits, sojourns, their spread, and finite-buffer loss.

Pure numpy functions of rates and service-time moments; they know nothing
about networks.  :mod:`queuemodel.latency` turns a solved scenario into the
stations these functions take.  Every result is derived step by step in
``derivations/queueing.py``; each function says which assumptions it rests on.

Conventions: ``rate`` is arrivals per second, ``mean_s`` the mean service
time in seconds, ``scv`` a squared coefficient of variation (variance over
squared mean: 0 deterministic, 1 exponential).  Service times are gamma
distributed with the given mean and SCV wherever a distribution is needed.
Any station at or above full load (``rho >= 1``) has an infinite wait: the
callers report that as an unstable queue, never as a number.
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "utilisation",
    "mg1_wait_s",
    "kingman_wait_s",
    "priority_sojourn_s",
    "departure_scv",
    "split_scv",
    "wait_variance_s2",
    "gamma_quantile",
    "mg1k",
    "reader_blocking",
]


def utilisation(rate, mean_s):
    """Offered load ``rho = rate * mean_s`` of a single server.

    Parameters
    ----------
    rate : float or numpy.ndarray
        Arrivals per second.
    mean_s : float or numpy.ndarray
        Mean service time, s.

    Returns
    -------
    numpy.ndarray or float
    """
    return np.multiply(rate, mean_s)


def _stable_ratio(rho):
    """``rho / (1 - rho)`` where ``rho < 1``, else ``inf``."""
    rho = np.asarray(rho, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        out = np.where(rho < 1.0, rho / (1.0 - rho), np.inf)
    return out


def mg1_wait_s(rate, mean_s, scv):
    """Mean wait in queue of an M/G/1 FIFO server (Pollaczek-Khinchine).

    Parameters
    ----------
    rate : float or numpy.ndarray
        Poisson arrival rate, 1/s.
    mean_s : float or numpy.ndarray
        Mean service time, s.
    scv : float or numpy.ndarray
        Squared coefficient of variation of the service time.

    Returns
    -------
    numpy.ndarray
        ``rate * E[S^2] / (2 (1 - rho))`` with ``E[S^2] = mean^2 (1 + scv)``;
        ``inf`` when ``rho >= 1``.

    Examples
    --------
    >>> float(mg1_wait_s(0.5, 1.0, 1.0))      # M/M/1 at rho 0.5: W = rho/(1-rho) * S
    1.0
    """
    return _stable_ratio(utilisation(rate, mean_s)) * (1.0 + np.asarray(scv)) / 2.0 * mean_s


def kingman_wait_s(rate, mean_s, arrival_scv, service_scv):
    """Kingman's G/G/1 approximation of the mean wait in queue.

    ``W = rho / (1 - rho) * (ca2 + cs2) / 2 * mean``: exact for M/G/1
    (``ca2 = 1``, where it is Pollaczek-Khinchine), an approximation for
    other renewal arrivals, exact in heavy traffic.

    Parameters
    ----------
    rate : float or numpy.ndarray
        Arrivals per second.
    mean_s : float or numpy.ndarray
        Mean service time, s.
    arrival_scv, service_scv : float or numpy.ndarray
        Squared coefficients of variation of the gaps between arrivals and
        of the service time.

    Returns
    -------
    numpy.ndarray
        Mean wait in queue, s; ``inf`` when ``rho >= 1``.

    Examples
    --------
    >>> float(kingman_wait_s(0.5, 1.0, 0.0, 0.0))    # D/D/1 never waits
    0.0
    >>> float(kingman_wait_s(2.0, 1.0, 0.0, 0.0))    # overloaded: the queue grows
    inf
    """
    ratio = _stable_ratio(utilisation(rate, mean_s))
    spread = (np.asarray(arrival_scv) + np.asarray(service_scv)) / 2.0
    with np.errstate(invalid="ignore"):             # inf x 0: an overloaded D/D/1
        wait = ratio * spread * mean_s
    return np.where(np.isinf(ratio), np.inf, wait)


def priority_sojourn_s(rate, mean_s, higher_s, arrival_scv, service_scv):
    """Mean sojourn on one preemptive-priority core of a job with several segments.

    A message brings ``mean_s`` seconds of work to the core, of which
    ``higher_s`` runs at a higher priority than its last segment (hard IRQ
    and softirq ahead of the process-context copy).  All work present when
    it arrives is done before its last segment ends (earlier messages'
    last segments are ahead of it in FIFO order, their other segments
    preempt), and so is the higher-priority work of messages arriving
    during its stay; their last segments queue behind it.  So
    ``T = W + S + rho_high * T``, i.e. ``T = (W + S) / (1 - rho_high)``
    with ``W`` the wait of the core's whole work (Kingman; exact when
    arrivals are Poisson).

    Parameters
    ----------
    rate : float or numpy.ndarray
        Arrivals per second.
    mean_s : float or numpy.ndarray
        All the core's work per message, s.
    higher_s : float or numpy.ndarray
        The part of it that preempts a message's last segment, s.
    arrival_scv, service_scv : float or numpy.ndarray
        Variability of the arrivals and of the work per message.

    Returns
    -------
    numpy.ndarray
        Mean seconds from arrival to the end of the last segment; ``inf``
        when the core is at or above full load.

    Examples
    --------
    >>> float(priority_sojourn_s(0.0, 2.0, 1.0, 1.0, 1.0))  # alone: just its own work
    2.0
    """
    wait = kingman_wait_s(rate, mean_s, arrival_scv, service_scv)
    rho_high = np.asarray(utilisation(rate, higher_s), dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(np.isfinite(wait) & (rho_high < 1.0),
                        (wait + mean_s) / (1.0 - rho_high), np.inf)


def departure_scv(rho, arrival_scv, service_scv):
    """Variability of a G/G/1 server's departures (Whitt's linking equation).

    ``cd2 = rho^2 cs2 + (1 - rho^2) ca2``: a busy server passes on its
    service variability, an idle one its arrivals'.  Exact for M/M/1
    (Burke: Poisson out).

    Parameters
    ----------
    rho : float or numpy.ndarray
        The server's utilisation (capped at 1).
    arrival_scv, service_scv : float or numpy.ndarray
        Variability of its arrivals and of its service time.

    Returns
    -------
    numpy.ndarray
        Squared coefficient of variation of the times between departures.

    Examples
    --------
    >>> float(departure_scv(0.5, 1.0, 1.0))
    1.0
    """
    rho = np.minimum(np.asarray(rho, dtype=float), 1.0)
    return rho * rho * np.asarray(service_scv) + (1.0 - rho * rho) * np.asarray(arrival_scv)


def split_scv(scv, share):
    """Variability of a stream thinned at random to ``share`` of it.

    ``share * scv + 1 - share``: thinning drives any renewal stream
    towards Poisson (Whitt, "The queueing network analyzer", 1983).

    Parameters
    ----------
    scv : float or numpy.ndarray
        Variability of the whole stream.
    share : float or numpy.ndarray
        Share of its arrivals kept, ``0..1``.

    Returns
    -------
    numpy.ndarray

    Examples
    --------
    >>> float(split_scv(0.0, 0.25))
    0.75
    """
    share = np.asarray(share, dtype=float)
    return share * np.asarray(scv) + 1.0 - share


def wait_variance_s2(wait_mean_s, rho):
    """Variance of the wait in queue, with the wait exponential once it is positive.

    A Poisson arrival waits with probability ``rho``; taking a positive
    wait as exponential with mean ``W / rho`` gives ``E[W^2] = 2 W^2 / rho``
    and ``Var W = W^2 (2 / rho - 1)``.  Exact for M/M/1; an approximation
    for other service-time laws.

    Parameters
    ----------
    wait_mean_s : float or numpy.ndarray
        Mean wait in queue, s.
    rho : float or numpy.ndarray
        Utilisation: the chance an arrival waits at all.

    Returns
    -------
    numpy.ndarray
        Variance of the wait, s^2 (0 where the wait is 0).

    Examples
    --------
    >>> float(wait_variance_s2(1.0, 0.5))      # M/M/1, rho 0.5, S = 1
    3.0
    """
    rho = np.asarray(rho, dtype=float)
    w = np.asarray(wait_mean_s, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(w > 0.0, w * w * (2.0 / np.maximum(rho, 1e-300) - 1.0), 0.0)


def gamma_quantile(mean, var, q):
    """Quantile ``q`` of the gamma distribution with this mean and variance.

    A sojourn is summed from several stations; matching its first two
    moments to a gamma law gives its tail (exact for a sum of equal
    exponential stages, a two-moment fit otherwise).  Zero variance gives
    the mean; an infinite mean gives ``inf``.

    Parameters
    ----------
    mean, var : float or numpy.ndarray
        Mean and variance of the quantity.
    q : float
        The quantile, e.g. 0.99.

    Returns
    -------
    numpy.ndarray

    Examples
    --------
    >>> round(float(gamma_quantile(1.0, 1.0, 0.99)), 4)   # exponential: ln(100)
    4.6052
    """
    from scipy.special import gammaincinv

    mean = np.asarray(mean, dtype=float)
    var = np.asarray(var, dtype=float)
    finite = np.isfinite(mean) & np.isfinite(var) & (mean > 0.0)
    spread = finite & (var > 0.0)
    safe_mean = np.where(spread, mean, 1.0)
    safe_var = np.where(spread, var, 1.0)
    shape = safe_mean * safe_mean / safe_var
    value = gammaincinv(shape, q) * safe_var / safe_mean
    return np.where(spread, value, np.where(finite | (mean == 0.0), mean, np.inf))


#: Load above which an M/G/1/K server is taken as never idle with a job waiting: a
#: service then ends with no arrival during it with chance below ``exp(-rho)``
#: (under double precision), so blocking is ``1 - 1/rho`` for ``K >= 2`` and
#: Erlang's ``rho / (1 + rho)`` for ``K = 1``.
_SATURATED_RHO = 500.0


def mg1k(rate, mean_s, scv, capacity):
    """Blocking probability and mean number in an M/G/1/K system (gamma service).

    Parameters
    ----------
    rate : float or numpy.ndarray
        Poisson arrival rate, 1/s.
    mean_s : float or numpy.ndarray
        Mean service time, s.
    scv : float or numpy.ndarray
        Squared coefficient of variation of the (gamma) service time.
    capacity : int or numpy.ndarray
        ``K``: most jobs in the system, the one in service included (>= 1).

    Returns
    -------
    blocking : numpy.ndarray
        Share of arrivals turned away (they find ``K`` present; PASTA).
    number : numpy.ndarray
        Time-average number in the system.

    Notes
    -----
    Embedded at departures the number left behind is a Markov chain on
    ``0..K-1``.  With ``a_k`` the chance of ``k`` arrivals during one
    service (negative binomial for gamma service, Poisson for constant)
    and ``A_k = sum_{m >= k} a_m``, the flow across the cut between
    ``j - 1`` and ``j`` balances:
    ``pi_j a_0 = pi_0 A_j + sum_{i=1}^{j-1} pi_i A_{j-i+1}``, a recursion
    of positive terms only (stable).  The time-average law follows:
    ``p_j = pi_j / (pi_0 + rho)`` for ``j < K`` and
    ``p_K = 1 - 1 / (pi_0 + rho)`` (Gross & Harris, *Fundamentals of
    Queueing Theory*, section on M/G/1/K).  Valid at any load.
    :func:`queuemodel.kernels.embedded_moments` runs the recursion, a row at
    a time, and sums the part of a row where the law has become geometric
    in closed steps, so a loaded chain with a large ``K`` costs ``K`` steps,
    not ``K^2 / 2``.

    Examples
    --------
    >>> b, n = mg1k(1.0, 1.0, 1.0, 1)      # Erlang loss: rho / (1 + rho)
    >>> float(b), float(n)
    (0.5, 0.5)
    """
    rate, mean_s, scv, capacity = np.broadcast_arrays(
        np.asarray(rate, float), np.asarray(mean_s, float), np.asarray(scv, float),
        np.asarray(capacity, float))
    shape = rate.shape
    rho = (rate * mean_s).reshape(-1)
    # An SCV this small is constant service to double precision; taking the limit keeps
    # log1p(rho c) / c away from denormal arithmetic (found by hypothesis at c = 2e-311).
    c = np.where(scv.reshape(-1) < 1e-12, 0.0, scv.reshape(-1))
    k_cap = np.maximum(1, capacity.reshape(-1).astype(np.int64))
    saturated = rho >= _SATURATED_RHO
    rho_c = np.where(saturated, 1.0, rho)
    from .kernels import embedded_moments

    zero, mean = np.empty(rho.size), np.empty(rho.size)
    died = np.empty(rho.size, dtype=bool)
    # A saturated chain's answer is its limit (below): one state of work is enough.
    embedded_moments(rho_c, c, np.where(saturated, 1, k_cap), zero, mean, died)
    norm = zero + rho_c
    # 1 - 1/norm is good to about 1e-16 absolute; a law that died away before K has
    # next to nothing at K (its blocking is the mass there), so it loses nothing.
    blocking = np.where(died, 0.0, np.clip(1.0 - 1.0 / norm, 0.0, 1.0))
    number = mean / norm + k_cap * blocking
    rho_s = np.where(saturated, rho, 1.0)
    single = k_cap == 1
    blocking = np.where(saturated, np.where(single, rho_s / (1.0 + rho_s), 1.0 - 1.0 / rho_s),
                        blocking)
    number = np.where(saturated, np.where(single, blocking, k_cap.astype(float)), number)
    return blocking.reshape(shape), number.reshape(shape)


def reader_blocking(rate, softirq_s, softirq_scv, reader_s, reader_scv, capacity,
                    first_reader_s=None, first_reader_scv=None):
    """Loss at a socket whose reader shares a CPU with the softirq work that fills it.

    The CPU runs a message's softirq work first (it preempts the reader) and
    reads a message only while no softirq work waits (preemptive resume); the
    socket holds ``capacity`` messages, the one being read included, and
    turns away a message that finds it full.

    Parameters
    ----------
    rate : float or numpy.ndarray
        Poisson arrival rate of messages, 1/s.
    softirq_s, softirq_scv : float or numpy.ndarray
        Mean softirq work per message (s) and its squared variation (gamma).
    reader_s, reader_scv : float or numpy.ndarray
        Mean reading work per message (s) and its squared variation (gamma).
    capacity : int or numpy.ndarray
        ``K``: messages the socket holds (>= 1).
    first_reader_s, first_reader_scv : float or numpy.ndarray, optional
        The same for a reading that starts on an empty socket: the reader
        slept, and pays its wake-up there (an exceptional first service).
        Default ``reader_s`` and ``reader_scv``: every reading alike.

    Returns
    -------
    numpy.ndarray
        Share of the messages that reach the socket and are turned away (1
        where the softirq alone keeps the CPU busy, ``rate * softirq_s >= 1``:
        the reader never runs).

    Notes
    -----
    Messages reach the socket in bursts: those a softirq busy period handles
    arrive while the reader waits.  Without the softirq's busy time the
    reader sees these bursts arrive as a Poisson stream at ``rate`` (its
    idle periods are exponential), each as large as a busy period's count
    of messages, so the socket is an M^X/G/1/K queue with partial batch
    acceptance (:func:`queuemodel.kernels.reader_blocking`; derivations
    ``busy_period_count`` and ``reader_blocking``, the loss at ``K = 2``).
    Exact under these assumptions; a simulation of the CPU agrees
    (``tests/test_oracle.py``).
    Without softirq work it is :func:`mg1k`.  The ring in front of the
    softirq is assumed not to drop (its own loss is :func:`mg1k` of the
    softirq work).

    Cost: about ``K`` times the batch law's length, which grows as ``115 /
    (1 - rho1)^2`` (where its terms fall under 1e-25) up to ``K``: milliseconds
    for the model's own rows (its stage costs keep ``rho1`` under 0.87 below
    a CPU's capacity), 0.35 s at ``rho1 = 0.9`` and ``K = 87,000``, and 10-20 s
    for ``K`` of 40,000-80,000 with ``rho1`` above 0.97.  Past the CPU's
    capacity (``rho2 > 1 - rho1``) a socket of more than 64 places is first
    tried on the head of its chain, which stops once the empty state's share
    no longer shows at double precision: the loss is then the fluid
    ``1 - (1 - rho1) / rho2`` exactly, in microseconds to a few tenths of a
    second where the full chain took 1-12 s a row at ``K = 40,000``.

    Examples
    --------
    >>> b = reader_blocking(1.0, 0.0, 1.0, 0.5, 1.0, 4)   # no softirq: M/M/1/4 at 0.5
    >>> round(float(b), 4)
    0.0323
    >>> float(reader_blocking(1.0, 0.5, 1.0, 0.2, 1.0, 1))  # K = 1: 1 - (1 - rho1)/(1 + rho2)
    0.5833333333333333
    >>> b = reader_blocking(1.0, 0.5, 1.0, 0.2, 1.0, 1, first_reader_s=0.4)  # every read
    >>> round(float(b), 4)                                          # starts on empty
    0.6429
    """
    first_reader_s = reader_s if first_reader_s is None else first_reader_s
    first_reader_scv = reader_scv if first_reader_scv is None else first_reader_scv
    arrays = np.broadcast_arrays(*(np.asarray(v, float) for v in (
        rate, softirq_s, softirq_scv, reader_s, reader_scv, capacity, first_reader_s,
        first_reader_scv)))
    shape = arrays[0].shape
    rate, soft, soft_scv, read, read_scv, capacity, first, first_scv = (
        v.reshape(-1) for v in arrays)
    # SCVs this small are constant work to double precision (as in mg1k).
    c1 = np.where(soft_scv < 1e-12, 0.0, soft_scv)
    c2 = np.where(read_scv < 1e-12, 0.0, read_scv)
    c2e = np.where(first_scv < 1e-12, 0.0, first_scv)
    from .kernels import reader_blocking as kernel

    loss = np.empty(rate.size)
    died = np.empty(rate.size, dtype=bool)
    kernel(rate * soft, c1, rate * read, c2, rate * first, c2e,
           np.maximum(1, capacity.astype(np.int64)), loss, died)
    return loss.reshape(shape)
