"""Small TCP writes on the namespace testbed with a busy loop beside one end.

iperf3's client is pinned to CPU 0 and its server to CPU 1 (``testbed run
--pin``); a shell busy loop shares one of those CPUs (or neither), so the
scheduler gives that end about half of its CPU, in time slices.  Native TCP
at 128 B, 256 B and 1 KB, Nagle on, three passes of 5 s.  The rows carry
``busy_loop``: ``"none"``, ``"client"`` or ``"server"``.  What the saved set
shows is in the README ("Small TCP messages on this VM") and
``tests/test_testbed_fit.py`` holds it.

Needs root and iperf3, like ``queuemodel testbed run``.  Writes
``tests/data/testbed/vm-2cpu-busy-loop.json`` (or ``--out``); the saved sets
are ``vm-2cpu-busy-loop-a.json`` and ``-b.json``.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).parent
#: The CPU iperf3's client (0) and server (1) are pinned to by ``--pin``.
CPUS = {"none": None, "client": 0, "server": 1}


def run(condition: str, workdir: Path) -> list:
    """One pass of the sizes with the busy loop beside ``condition``'s end."""
    loop = None
    if CPUS[condition] is not None:
        loop = subprocess.Popen(["taskset", "-c", str(CPUS[condition]), "sh", "-c",
                                 "while :; do :; done"])
    try:
        out = workdir / condition
        subprocess.run([sys.executable, "-m", "queuemodel", "testbed", "run", "--path",
                        "native", "--proto", "tcp", "--msg-bytes", "128,256,1024",
                        "--seconds", "5", "--repeat", "3", "--pin", "--out", str(out)],
                       check=True, capture_output=True)
    finally:
        if loop is not None:
            loop.kill()
            loop.wait()
    rows = json.loads(out.with_suffix(".json").read_text())
    for row in rows:
        row["busy_loop"] = condition
    return rows


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=str(HERE / "data" / "testbed" / "vm-2cpu-busy-loop.json"))
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        rows = [row for condition in CPUS for row in run(condition, Path(tmp))]
    Path(args.out).write_text(json.dumps(rows, indent=1))
    print(f"wrote {len(rows)} rows to {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
