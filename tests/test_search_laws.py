"""The random law search (``tests/search_laws.py``) stays runnable, plain and wide."""

import pytest

import search_laws


@pytest.mark.parametrize("seed, wide, livelock", [(0, False, False), (1, True, False),
                                                 (2, False, True)])
def test_a_small_search_runs_and_finds_nothing_unknown(seed, wide, livelock):
    # Three configurations of 24 scenarios each, every law of the search applied (the
    # wide one also draws hyper-threads, moderation, budgets, rings and buffers; the
    # livelock one keeps every host's softirq in charge past capacity): a break must be
    # one the tests already pin.
    found = search_laws.search(seed, 3, 24, wide, livelock)
    unknown = {law: case for law, (_, case) in found.items() if law not in search_laws.KNOWN}
    assert not unknown
