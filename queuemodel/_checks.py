"""Field validation shared by the parameter dataclasses.

Every numeric field may be a Python number or a numpy array (the solver
broadcasts).  These helpers check a whole array at once and report the
first offending element, so a bad value anywhere in a grid is caught at
construction time and nothing is computed from it.
"""

from __future__ import annotations

import dataclasses
import functools
import math
from typing import Any

import numpy as np

from .errors import ModelInputError, UnknownNameError


def number(
    field: str,
    value: Any,
    *,
    low: float = -math.inf,
    high: float = math.inf,
    low_open: bool = False,
    integer: bool = False,
    allow_inf: bool = False,
) -> Any:
    """Check a real number (or array of them) lies in a range; return it unchanged.

    Parameters
    ----------
    field : str
        Dotted field name used in the error message.
    value : float or array_like
        The value to check.
    low, high : float
        Inclusive bounds (``low`` is exclusive when ``low_open``).
    low_open : bool
        Whether ``low`` itself is excluded.
    integer : bool
        Whether every element must be a whole number.
    allow_inf : bool
        Whether ``+inf`` is accepted (it stands for "unlimited").

    Returns
    -------
    float or numpy.ndarray
        ``value`` as a float or a float array (read-only copy).

    Raises
    ------
    ModelInputError
        If any element is not a finite real in range.
    """
    if type(value) in (float, int):                       # fast path for plain numbers
        x = float(value)
        if (low < x if low_open else low <= x) and x <= high and (
                math.isfinite(x) or (allow_inf and x > 0)) and (
                not integer or not math.isfinite(x) or x.is_integer()):
            return x
    allowed = _describe(low, high, low_open, integer, allow_inf)
    if isinstance(value, (bool, np.bool_)) or isinstance(value, str):
        raise ModelInputError(field, value, allowed)
    try:
        arr = np.array(value, dtype=float)            # a copy of our own, frozen below
    except (TypeError, ValueError):
        raise ModelInputError(field, value, allowed) from None
    if not _plainly_in_range(arr, value, low, high, low_open, integer, allow_inf):
        bad = np.isnan(arr)
        bad |= np.isinf(arr) & ~(allow_inf & (arr > 0))
        bad |= (arr <= low) if low_open else (arr < low)
        bad |= arr > high
        if integer:
            finite = np.isfinite(arr)
            bad |= finite & (arr != np.floor(np.where(finite, arr, 0.0)))
        if bad.any():
            offender = arr[bad].flat[0] if arr.ndim else float(arr)
            shown = value if arr.ndim == 0 else _Element(float(offender))
            raise ModelInputError(field, shown, allowed)
    if arr.ndim == 0:
        return float(arr)
    arr.setflags(write=False)
    return arr


def _plainly_in_range(arr, value, low, high, low_open, integer, allow_inf) -> bool:
    """Whether every element of ``arr`` passes :func:`number`'s checks, found from its
    least and greatest elements alone (a million-row grid is checked in two passes,
    without temporaries).  False where that cannot tell: a NaN (it makes both NaN),
    no elements, or whole numbers asked of an array that is not of integers; the
    element-wise check then decides.
    """
    if arr.size == 0 or (integer and getattr(value, "dtype", np.dtype(float)).kind not in "iub"):
        return False
    lo, hi = arr.min(), arr.max()
    return bool((lo > low if low_open else lo >= low) and lo > -math.inf and hi <= high
                and (hi < math.inf or allow_inf))


def ordered(field: str, value: Any, floor_field: str, floor: Any) -> None:
    """Check ``value >= floor`` element by element (both broadcast), naming the first
    pair that is not, e.g. ``host.b = 1.0 (an element of the array): must be >= a
    (2.0 there)``.

    Raises
    ------
    ModelInputError
        If any element of ``value`` lies below its ``floor``.
    """
    if type(value) is float and type(floor) is float and value >= floor:
        return                          # two plain numbers in order (the usual case)
    hi, lo = np.broadcast_arrays(np.asarray(value, dtype=float), np.asarray(floor, dtype=float))
    bad = hi < lo
    if not bad.any():
        return
    if hi.ndim == 0:
        raise ModelInputError(field, value, f">= {floor_field} ({float(lo)!r})")
    at = np.flatnonzero(bad)[0]
    raise ModelInputError(field, _Element(float(hi.flat[at])),
                          f">= {floor_field} ({float(lo.flat[at])!r} there)")


def flag(field: str, value: Any) -> bool:
    """Check a boolean setting: bools (numpy's too), the numbers 0 and 1, and the
    words true/false, on/off, yes/no, 1/0 in any case."""
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, float, np.integer, np.floating)) and value in (0, 1):
        return bool(value)                       # --set tso=0 arrives as 0.0
    if isinstance(value, str) and value.strip().lower() in _WORDS:
        return _WORDS[value.strip().lower()]
    raise ModelInputError(field, value, "a boolean (true/false, on/off, yes/no or 1/0)")


_WORDS = {"true": True, "on": True, "yes": True, "1": True,
          "false": False, "off": False, "no": False, "0": False}


def choice(field: str, value: Any, options: tuple[str, ...]) -> str:
    """Check a name is one of a fixed set of options."""
    if not isinstance(value, str) or value not in options:
        raise UnknownNameError(field, value, "one of " + ", ".join(options))
    return value


class _Element(float):
    """An offending element of an array, shown as such in error messages."""

    def __repr__(self) -> str:
        return f"{float(self)!r} (an element of the array)"


def _describe(low, high, low_open, integer, allow_inf) -> str:
    kind = "an integer" if integer else "a finite number"
    if allow_inf:
        kind = ("an integer" if integer else "a number") + " (inf = unlimited)"
    if low > -math.inf and high < math.inf:
        op = "<" if low_open else "<="
        return f"{kind} with {_fmt(low)} {op} x <= {_fmt(high)}"
    if low > -math.inf:
        return f"{kind} {'>' if low_open else '>='} {_fmt(low)}"
    if high < math.inf:
        return f"{kind} <= {_fmt(high)}"
    return kind


def _fmt(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else repr(x)


def validate_fields(obj: Any, prefix: str) -> None:
    """Validate and normalise every field of a parameter dataclass in place.

    The check for each field is read from its ``metadata`` (```kind`` is
    ``number``, ``flag`` or ``name``, plus the bounds of
    :func:`queuemodel._checks.number`).
    """
    for name, kind, meta in _field_checks(type(obj)):
        value = getattr(obj, name)
        if kind == "number":
            low, high, low_open, integer, allow_inf = meta
            if type(value) is float and (low < value if low_open else low <= value) and (
                    value <= high and math.isfinite(value)) and (
                    not integer or value.is_integer()):
                continue                # a plain float in range: already what we keep
            value = number(f"{prefix}.{name}", value, low=low, high=high, low_open=low_open,
                           integer=integer, allow_inf=allow_inf)
        elif kind == "flag":
            if type(value) is bool:
                continue
            value = flag(f"{prefix}.{name}", value)
        elif kind == "name":
            if not isinstance(value, str) or not value:
                raise ModelInputError(f"{prefix}.{name}", value, "a non-empty string")
            continue
        else:                           # choice
            value = choice(f"{prefix}.{name}", value, meta)
        object.__setattr__(obj, name, value)


@functools.lru_cache(maxsize=None)
def _field_checks(cls) -> tuple:
    """``(name, kind, bounds)`` of each checked field of a dataclass, read once from the
    fields' metadata (a host has some 60: reading them at every construction took
    most of a ``predict(ghz=...)``'s 0.3 ms of checks)."""
    checks = []
    for f in dataclasses.fields(cls):
        meta = dict(f.metadata)
        kind = meta.pop("kind", None)
        if kind == "number":
            checks.append((f.name, kind, (meta.get("low", -math.inf), meta.get("high", math.inf),
                                          meta.get("low_open", False),
                                          meta.get("integer", False),
                                          meta.get("allow_inf", False))))
        elif kind in ("flag", "name"):
            checks.append((f.name, kind, None))
        elif kind == "choice":
            checks.append((f.name, kind, meta["options"]))
    return tuple(checks)
