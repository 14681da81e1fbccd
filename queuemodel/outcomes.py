"""One scenario's throughput over the ways its flows' hashes can land.

:func:`queuemodel.predict` gives the expectation over the hash outcomes and
reads its spread at two points (``throughput_p05_gbps``,
``throughput_p95_gbps``).  :func:`outcomes` returns the whole distribution
the expectation averages: every distinct throughput a placement can give,
with its probability (the model's seeded Monte Carlo of
:data:`queuemodel.flows.SAMPLES` nested draws, collapsed into occupancy
patterns: :mod:`queuemodel.flows`).  Each run of an experiment that opens
new connections draws again, so this is the spread of runs one would see.

Examples
--------
>>> import queuemodel as qm
>>> six = qm.outcomes(path="docker-overlay", proto="tcp", flows=6)
>>> round(six.mean_gbps, 2) == round(float(qm.predict(path="docker-overlay", proto="tcp",
...                                                    flows=6).throughput_gbps), 2)
True
>>> 0.0 < six.chance_at_least(30.0) < 1.0
True
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .errors import ModelInputError

__all__ = ["Outcomes", "outcomes"]


@dataclass(frozen=True)
class Outcomes:
    """The distribution of one scenario's throughput over its hash outcomes.

    Attributes
    ----------
    path, proto : str
        The scenario's path and protocol.
    flows : int
        Its flow pairs.
    throughput_gbps : numpy.ndarray
        ``(P,)`` the distinct throughputs a placement gives, rising.
    probability : numpy.ndarray
        ``(P,)`` the chance of each (summing to 1).
    draws : int
        Monte Carlo draws behind the probabilities (each a multiple of
        ``1 / draws``).
    """

    path: str
    proto: str
    flows: int
    throughput_gbps: np.ndarray
    probability: np.ndarray
    draws: int

    @property
    def mean_gbps(self) -> float:
        """The expectation: :func:`queuemodel.predict`'s ``throughput_gbps``."""
        return float(self.probability @ self.throughput_gbps)

    def quantile(self, q: float) -> float:
        """The least throughput whose cumulative probability reaches ``q`` in (0, 1].

        The rule :func:`queuemodel.predict` reads ``throughput_p05_gbps`` and
        ``throughput_p95_gbps`` with.

        Examples
        --------
        >>> o = outcomes(path="native", proto="tcp", flows=2)
        >>> o.quantile(0.05) < o.quantile(0.5) == o.quantile(1.0)
        True
        """
        if not (isinstance(q, (int, float, np.floating)) and 0.0 < q <= 1.0):
            raise ModelInputError("q", q, "a probability with 0 < q <= 1")
        seen = np.cumsum(self.probability)
        at = int(np.searchsorted(seen, q * (1.0 - 1e-12)))
        return float(self.throughput_gbps[min(at, seen.size - 1)])

    def cdf(self, gbps: float) -> float:
        """The chance that one placement delivers at most ``gbps``."""
        return float(self.probability[self.throughput_gbps <= gbps].sum())

    def chance_at_least(self, gbps: float) -> float:
        """The chance that one placement delivers ``gbps`` or more.

        Examples
        --------
        >>> outcomes(path="docker-overlay", proto="tcp", flows=1).chance_at_least(6.0)
        1.0
        """
        return float(self.probability[self.throughput_gbps >= gbps].sum())

    def mean_of_runs(self, runs: int) -> "Outcomes":
        """The distribution of the mean of ``runs`` independent placements.

        What an experiment that averages ``runs`` runs, each opening new
        connections, reports (the seed paper averaged five or more).  Exact
        for this distribution: the ``runs``-fold convolution, equal sums
        merged.

        Examples
        --------
        >>> one = outcomes(path="native", proto="tcp", flows=2)
        >>> five = one.mean_of_runs(5)
        >>> round(five.mean_gbps, 9) == round(one.mean_gbps, 9), five.throughput_gbps.size
        (True, 21)
        """
        if not (isinstance(runs, (int, np.integer)) and not isinstance(runs, bool)
                and 1 <= runs <= 1000):
            raise ModelInputError("runs", runs, "an integer with 1 <= x <= 1000")
        total, chance = np.zeros(1), np.ones(1)
        for _ in range(int(runs)):
            total = (total[:, None] + self.throughput_gbps[None, :]).ravel()
            chance = (chance[:, None] * self.probability[None, :]).ravel()
            total, chance = _merged(total, chance)
        mean, chance = _merged(total / runs, chance)     # (a quotient may round two to one)
        return Outcomes(path=self.path, proto=self.proto, flows=self.flows,
                        throughput_gbps=mean, probability=chance, draws=self.draws)

    def to_dict(self) -> dict:
        """Plain types, ready for JSON."""
        return {"path": self.path, "proto": self.proto, "flows": self.flows,
                "throughput_gbps": self.throughput_gbps.tolist(),
                "probability": self.probability.tolist(), "draws": self.draws,
                "mean_gbps": self.mean_gbps}

    def plot(self, ax=None):
        """Draw the cumulative distribution (matplotlib is imported here).

        Returns
        -------
        matplotlib.axes.Axes
        """
        if ax is None:
            import matplotlib.pyplot as plt

            ax = plt.figure(figsize=(5.0, 3.5)).add_subplot()
        ax.step(np.concatenate([[0.0], self.throughput_gbps]),
                np.concatenate([[0.0], np.cumsum(self.probability)]), where="post",
                label=f"{self.path} {self.proto}, {self.flows} flows")
        ax.axvline(self.mean_gbps, color="#888888", linestyle=":", linewidth=1.0)
        ax.set_xlabel("throughput of one placement (Gb/s)")
        ax.set_ylabel("cumulative probability")
        ax.set_ylim(0.0, 1.0)
        ax.legend(frameon=False)
        return ax


def outcomes(path="native", proto: str = "tcp", flows=1, msg_bytes=None, host=None,
             offered_gbps=math.inf, arrival_scv=1.0, **overrides) -> Outcomes:
    """The throughput of every placement of one scenario, with its probability.

    Parameters
    ----------
    path, proto, flows, msg_bytes, host, offered_gbps, arrival_scv
        As for :func:`queuemodel.predict`, each one value (one scenario).
    **overrides
        Host fields to replace, one value each.

    Returns
    -------
    Outcomes

    Raises
    ------
    ModelInputError
        For any input :func:`queuemodel.predict` refuses, and for arrays
        (one scenario only).

    Examples
    --------
    >>> two = outcomes(path="native", proto="tcp", flows=2)
    >>> two.throughput_gbps.round(1).tolist()   # one CPU; a core's two threads; two cores
    [21.7, 28.2, 37.7]
    >>> round(float(two.probability.sum()), 12)
    1.0
    """
    from .model import _evaluate, _scenario

    for name, value in (("workload.flows", flows), ("workload.msg_bytes", msg_bytes),
                        ("workload.offered_gbps", offered_gbps),
                        ("workload.arrival_scv", arrival_scv),
                        *((f"host.{k}", v) for k, v in overrides.items())):
        if np.ndim(value) != 0:
            raise ModelInputError(name, value, "one value (outcomes() takes one scenario)")
    scenario = _scenario(path, proto, flows, msg_bytes, host, offered_gbps, arrival_scv,
                         overrides)
    _, kept = _evaluate(*scenario, keep_outcomes=True)
    (_, weight, draws, gbps), = kept
    # Patterns that deliver the same (their sums taken in another order) are one outcome.
    values, probability = _merged(gbps[0], weight)
    return Outcomes(path=scenario[0].name, proto=proto, flows=int(flows),
                    throughput_gbps=values, probability=probability, draws=int(draws))


def _merged(values, chance):
    """``values`` rising with their ``chance``, values equal to 1e-12 merged into the least."""
    order = np.argsort(values, kind="stable")
    ranked = values[order]
    starts = np.concatenate([[True], np.diff(ranked) > 1e-12 * np.abs(ranked[1:])])
    return ranked[starts], np.add.reduceat(chance[order], np.flatnonzero(starts))
