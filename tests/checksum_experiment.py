"""What does checking a TCP checksum in software cost, and does a veth receiver check one?

A measurement on this machine's kernel (root, iproute2, iperf3, ethtool, perf), not a
pytest test.  It builds the namespace testbed and runs single-flow 128 KB native TCP,
every run profiled, in four variants, alternating, on the link's veth pair (``qmtb-l1``
in the client's namespace, ``qmtb-l2`` in the server's):

* ``default``: every offload on;
* ``rx-off``: the receiving end's ``rx-checksumming`` off;
* ``tso-off``: the sending end's TSO off (GSO cuts the segments in software; the
  checksum is still left to the "device", and a veth hands ``CHECKSUM_PARTIAL`` across);
* ``csum-off``: the sending end's ``tx-checksumming`` off, which takes TSO with it (the
  kernel's ``netdev_fix_features``): the sender computes every packet's checksum, and
  the packets reach the receiver as ``CHECKSUM_NONE``, to be checked again there.

``csum-off`` against ``tso-off`` is then the checksum work of both ends; the profile's
``csum`` group counts ``csum_partial`` and its kin (a copy that checksums on the way is
in ``copy``).  ``rx-off`` against ``default`` shows whether a veth receiver's own
setting matters when the sender offloads (the model says it does not:
``paths.over_veth`` drops the ``csum_rx`` stage; it follows the sender's
``tx_csum`` there).

On the project's VM (Linux 6.18, 2026-11-30 04:38 UTC, three passes of 5 s;
``tests/data/testbed/vm-2cpu-checksum.json``): 44.2-44.3 Gb/s by default and 44.1-44.4
with the receiver's rx-checksumming off; 14.6-15.4 with TSO off and 11.6-12.2 with the
sender's tx-checksumming off, where the csum group took 16.1k cycles a message (0.12 a
byte for both ends; 21 with TSO off alone).  ``ethtool -k`` then shows
``tx-tcp-segmentation: off [requested on]``: the kernel dropped TSO with the checksum.

Usage: ``python tests/checksum_experiment.py [--out FILE.json] [--repeat K]``.
"""

from __future__ import annotations

import subprocess

#: (namespace, device, ethtool -K arguments) per variant, and what undoes it.
VARIANTS = {
    "default": [],
    "rx-off": [("qmtb-h2", "qmtb-l2", ("rx", "off"))],
    "tso-off": [("qmtb-h1", "qmtb-l1", ("tso", "off"))],
    "csum-off": [("qmtb-h1", "qmtb-l1", ("tx", "off"))],
}
RESTORE = [("qmtb-h1", "qmtb-l1", ("tx", "on", "tso", "on", "gso", "on")),
           ("qmtb-h2", "qmtb-l2", ("rx", "on"))]


def _ethtool(settings) -> None:
    for namespace, device, args in settings:
        subprocess.run(["ip", "netns", "exec", namespace, "ethtool", "-K", device, *args],
                       check=True, capture_output=True, text=True, timeout=30)


def _features(namespace: str, device: str) -> dict:
    from queuemodel.testbed.run import parse_features

    out = subprocess.run(["ip", "netns", "exec", namespace, "ethtool", "-k", device],
                         check=True, capture_output=True, text=True, timeout=30).stdout
    got = parse_features(out)
    # (tx-tcp-segmentation is TSO itself: on 6.18 the tcp-segmentation-offload line
    # stays on while any sub-feature is, tx-tcp-accecn-segmentation among them)
    return {k: got.get(k) for k in ("tx-checksumming", "tx-tcp-segmentation",
                                    "generic-segmentation-offload", "rx-checksumming")}


def measure(repeats: int = 3, seconds: float = 5.0) -> list:
    """Rows of ``testbed run`` for every variant, alternating, each with ``variant``,
    ``repeat`` and the two link ends' features as set."""
    from queuemodel.testbed import run
    from queuemodel.testbed.netns import Testbed

    run._check_iperf3()
    rows = []
    with Testbed() as bed:
        for rep in range(repeats):
            for label, settings in VARIANTS.items():
                _ethtool(RESTORE)
                _ethtool(settings)
                features = {"client_link": _features("qmtb-h1", "qmtb-l1"),
                            "server_link": _features("qmtb-h2", "qmtb-l2")}
                row = run.measure(bed, "native", "tcp", 131072, flows=1, seconds=seconds,
                                  profile=True)
                rows.append({**row, "variant": label, "repeat": rep, **features})
                print(label, rep, round(row["throughput_gbps"], 3), flush=True)
        _ethtool(RESTORE)
    return rows


if __name__ == "__main__":
    from experiment_cli import run

    run(__doc__, measure)
