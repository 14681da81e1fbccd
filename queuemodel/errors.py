"""Exceptions raised by queuemodel.

Every error caused by bad input is a :class:`ModelInputError`, which is
also a :class:`ValueError`, so ``except ValueError`` keeps working for
callers that do not know this package.  Messages name the field, the
offending value and what would be accepted, e.g.::

    workload.flows = 0: must be an integer >= 1
"""

from __future__ import annotations

__all__ = [
    "QueueModelError",
    "ModelInputError",
    "UnknownNameError",
    "CalibrationError",
]


class QueueModelError(Exception):
    """Base class of every error queuemodel raises on purpose."""


class ModelInputError(QueueModelError, ValueError):
    """A parameter, workload or command-line value is out of its range.

    Parameters
    ----------
    field : str
        Dotted name of the offending field, e.g. ``"host.mtu"``.
    value : object
        The value that was given.
    allowed : str
        What would have been accepted, e.g. ``"an integer in 576..9216"``.
    """

    def __init__(self, field: str, value: object, allowed: str):
        self.field = field
        self.value = value
        self.allowed = allowed
        super().__init__(f"{field} = {_show(value)}: must be {allowed}")


class UnknownNameError(ModelInputError):
    """A path, protocol, field or stage name that does not exist."""


class CalibrationError(QueueModelError):
    """A calibration could not be set up (e.g. a claim the model cannot answer)."""


def _show(value: object) -> str:
    """Short, readable rendering of a bad value (arrays show their first offender)."""
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."
