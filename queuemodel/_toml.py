"""Writing TOML values: the few forms queuemodel's profiles and paths use.

The standard library reads TOML (:mod:`tomllib`) but does not write it; a
profile or a path needs only booleans, strings, numbers (``inf`` too) and
arrays of them, which this module renders.
"""

from __future__ import annotations

import json
import math

import numpy as np

from .errors import ModelInputError

__all__ = ["toml_value"]


def toml_value(field: str, value) -> str:
    """``value`` as TOML text: a bool, str, number (inf too, not NaN), or a list of them.

    Parameters
    ----------
    field : str
        Dotted name for the error message.
    value : bool, str, int, float, numpy scalar, tuple or list
        What to write.

    Returns
    -------
    str

    Raises
    ------
    ModelInputError
        For an array, a NaN or any other type.

    Examples
    --------
    >>> toml_value("x", (("tcp", "udp"), 2.5, True))
    '[["tcp", "udp"], 2.5, true]'
    """
    if isinstance(value, (bool, np.bool_)):
        return "true" if value else "false"
    if isinstance(value, str):
        # JSON's escapes are TOML's (control characters as \\u00XX); DEL too
        return json.dumps(value, ensure_ascii=False).replace("\x7f", "\\u007f")
    if isinstance(value, (tuple, list)):
        return "[" + ", ".join(toml_value(field, v) for v in value) + "]"
    if isinstance(value, (int, float, np.integer, np.floating)) and not math.isnan(value):
        # (repr writes inf as TOML does)
        return repr(value.item() if isinstance(value, np.generic) else value)
    raise ModelInputError(field, value, "a bool, a string, a number (not NaN) or a list of them "
                                        "(one profile, not a grid)")
