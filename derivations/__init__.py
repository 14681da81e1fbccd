"""Symbolic derivations of every closed form the solver uses.

Each module builds one result in sympy from its assumptions, step by step,
and records the closed form as the library codes it.  The tests check that
the two are the same expression (``simplify(derived - stated) == 0``) and
that the derived expression, lambdified, equals the library's numpy
implementation at drawn points.  ``python -m derivations`` writes them all
as one Markdown document, ``derivations/DERIVATIONS.md``.
"""

from __future__ import annotations

from ._base import Derivation, all_derivations

__all__ = ["Derivation", "all_derivations"]
