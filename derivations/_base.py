"""The :class:`Derivation` record shared by the derivation modules."""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from typing import Callable

__all__ = ["Derivation", "all_derivations", "testbed_with", "MODULES"]

#: Derivation modules, in the order a reader needs them.
MODULES = ("wire", "coalescing", "moderation", "napi", "softirq", "capacity", "sharing",
           "queueing", "loss", "memory")


@dataclass(frozen=True)
class Derivation:
    """One closed form, derived.

    Attributes
    ----------
    name : str
        Short id, e.g. ``"napi_interrupts"``.
    title : str
        Heading for the document.
    assumptions : tuple of str
        What the result rests on.
    steps : tuple of (str, sympy expression)
        The derivation, in order.
    derived : sympy.Expr
        The result the steps arrive at.
    stated : sympy.Expr
        The closed form as the library writes it.
    symbols : tuple of sympy.Symbol
        Arguments, in the order :attr:`implemented` takes them.
    implemented : callable
        Calls the library's numpy code with values for :attr:`symbols`.
    domain : dict
        For each symbol name, ``(low, high, integer)``: where test points
        are drawn.
    constraint : callable, optional
        ``constraint(**values) -> bool``: extra conditions on a point (the
        closed form's region of validity).
    where : str
        The library function that codes it.
    """

    name: str
    title: str
    assumptions: tuple
    steps: tuple
    derived: object
    stated: object
    symbols: tuple
    implemented: Callable
    domain: dict = field(default_factory=dict)
    constraint: Callable | None = None
    where: str = ""

    def numeric(self):
        """The derived expression as a numpy function of :attr:`symbols`."""
        import sympy

        return sympy.lambdify(self.symbols, self.derived, modules="numpy")


def testbed_with(**changes):
    """The paper's testbed host with some fields replaced (for the implemented adapters)."""
    import dataclasses

    from queuemodel.hosts import paper_testbed

    return dataclasses.replace(paper_testbed(), **changes)


def all_derivations() -> list:
    """Every derivation, in reading order."""
    out = []
    for name in MODULES:
        module = importlib.import_module(f"derivations.{name}")
        out.extend(module.derivations())
    return out
