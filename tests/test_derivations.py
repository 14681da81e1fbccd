"""Each closed form in the solver agrees with its sympy derivation."""

import numpy as np
import pytest
import sympy as sp
from hypothesis import assume, given
from hypothesis import strategies as st

from derivations import all_derivations
from derivations.__main__ import render

DERIVATIONS = all_derivations()
IDS = [d.name for d in DERIVATIONS]


@pytest.mark.parametrize("d", DERIVATIONS, ids=IDS)
def test_derived_equals_stated_symbolically(d):
    assert sp.simplify(d.derived - d.stated) == 0


@pytest.mark.parametrize("d", DERIVATIONS, ids=IDS)
def test_every_symbol_has_a_domain(d):
    assert {s.name for s in d.symbols} == set(d.domain)
    assert d.assumptions and d.steps and d.where


def _point(draw, d):
    values = {}
    for sym in d.symbols:
        low, high, integer = d.domain[sym.name]
        if integer:
            values[sym.name] = draw(st.integers(int(low), int(high)))
        else:
            values[sym.name] = draw(st.floats(low, high, allow_nan=False, allow_infinity=False))
    return values


@pytest.mark.parametrize("d", DERIVATIONS, ids=IDS)
@given(data=st.data())
def test_derived_matches_the_numpy_code(d, data):
    values = _point(data.draw, d)
    if d.constraint is not None:
        assume(d.constraint(**values))
    args = [values[s.name] for s in d.symbols]
    derived = float(d.numeric()(*args))
    implemented = float(np.asarray(d.implemented(*args)))
    assert implemented == pytest.approx(derived, rel=1e-9, abs=1e-12)


def test_the_document_renders_every_derivation():
    text = render()
    for d in DERIVATIONS:
        assert d.title in text
    assert text.count("$$") >= 2 * len(DERIVATIONS)
    # The committed DERIVATIONS.md says what the derivations say (`make derive` writes
    # it; on 2026-11-29 an assumption was added without it).  Its words, not its maths:
    # sympy's LaTeX may differ between the versions a fresh install picks.
    from pathlib import Path

    def words(document):
        return [line for line in document.splitlines() if not line.startswith("$$")]

    committed = (Path(__file__).parent.parent / "derivations" / "DERIVATIONS.md").read_text()
    assert words(committed) == words(text)


def test_an_option_is_no_file_name(tmp_path, monkeypatch, capsys):
    # `python -m derivations --help` once wrote the document to a file named --help.
    from derivations.__main__ import main

    monkeypatch.chdir(tmp_path)
    assert main(["--help"]) == 0 and "OUT.md" in capsys.readouterr().out
    assert main(["--out", "x.md"]) == 2
    assert list(tmp_path.iterdir()) == []
