"""Figures of the seed paper's evaluation (and two of its own), regenerated from the model.

Each ``figNN_*.py`` module exposes ``figure(...)``, which takes model results
and returns a :class:`matplotlib.figure.Figure`; :func:`write_all` computes
the results, draws every figure and writes PNG and SVG files that are the
same, byte for byte, every time.
"""

from __future__ import annotations

from .render import FIGURES, write_all

__all__ = ["FIGURES", "write_all"]
