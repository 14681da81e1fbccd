"""How the claims' verdicts depend on the seed of the hash draws.

A multi-flow expectation averages :data:`queuemodel.flows.SAMPLES` seeded
draws of where the flows' hashes land; a claim whose check turns on a
difference smaller than their noise passes with some seeds and fails with
others.  This runs ``validate``'s checks with other seeds of the draws, each
in a fresh process (the draws are cached per process), and prints how many
seeds pass each claim::

    python tests/claim_seeds.py --claims M1,M2,M6 --seeds 0..15

M6 passed with 8 of seeds 0-15 on 2026-11-28 (README, "What the model
reproduces").  Not part of the default test run beyond a smoke test.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor

#: What each child runs: the claims' checks with the draws' seed replaced.
CHILD = """
import json, sys
import queuemodel.flows as flows
flows.SEED = int(sys.argv[1])
from queuemodel.claims import evaluate_claim, load_claims
wanted = set(sys.argv[2].split(","))
print(json.dumps({c.id: bool(evaluate_claim(c).passed) for c in load_claims()
                  if c.id in wanted}))
"""


def verdicts(seed: int, claims: list) -> dict:
    """``{claim: passed}`` with the hash draws seeded by ``seed`` (a fresh process)."""
    out = subprocess.run([sys.executable, "-c", CHILD, str(seed), ",".join(claims)],
                         capture_output=True, text=True, check=True)
    return json.loads(out.stdout)


def tally(seeds: list, claims: list, workers: int = 2) -> dict:
    """``{claim: seeds that pass}`` over ``seeds``."""
    with ThreadPoolExecutor(workers) as pool:
        runs = list(pool.map(lambda s: verdicts(s, claims), seeds))
    return {c: [s for s, run in zip(seeds, runs) if run[c]] for c in claims}


def _seeds(text: str) -> list:
    if ".." in text:
        low, high = (int(x) for x in text.split(".."))
        return list(range(low, high + 1))
    return [int(x) for x in text.split(",")]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--claims", default="M1,M2,M4,M5,M6,M8,M9")
    parser.add_argument("--seeds", default="0..7", help="lo..hi or a,b,c")
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args(argv)
    seeds, claims = _seeds(args.seeds), args.claims.split(",")
    for claim, passing in tally(seeds, claims, args.workers).items():
        print(f"{claim}: passes with {len(passing)} of {len(seeds)} seeds"
              + (f" ({', '.join(map(str, passing))})" if 0 < len(passing) < len(seeds) else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
