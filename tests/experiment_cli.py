"""The command line two measuring scripts in ``tests/`` share: ``--out`` and ``--repeat``.

``forward_tso_experiment.py`` and ``checksum_experiment.py`` each build the namespace
testbed, alternate their variants for a number of passes and keep the rows as JSON.
"""

from __future__ import annotations

import argparse
import json


def run(doc: str, measure) -> list:
    """Parse ``--out FILE.json`` and ``--repeat K`` (default 3), run ``measure(K)``,
    write its rows to the file if one was named; the rows.

    Parameters
    ----------
    doc : str
        The script's docstring (its first line describes the command).
    measure : callable
        Takes the number of passes, returns the dataset rows.

    Returns
    -------
    list
    """
    parser = argparse.ArgumentParser(description=doc.splitlines()[0])
    parser.add_argument("--out", default=None, help="write the rows to this JSON file")
    parser.add_argument("--repeat", type=int, default=3, help="passes (default 3)")
    args = parser.parse_args()
    rows = measure(args.repeat)
    if args.out:
        with open(args.out, "w") as out:
            json.dump(rows, out, indent=1)
    return rows
