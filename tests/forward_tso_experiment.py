"""Does a bridge port without TSO cut the Docker overlay's GRO segments back into packets?

A measurement on this machine's kernel (root, iproute2, iperf3, ethtool, perf), not a
pytest test.  It builds the namespace testbed and runs single-flow 128 KB Docker overlay
TCP with segmentation off (``testbed run --segmentation off``: TSO and GSO off on every
testbed device), alternating two variants: every device off, and every device off but
the receiving host's bridge port ``qmtb-ve`` (the host end of the server container's
veth, the device the bridge forwards the VXLAN device's GRO segments out of).  Every run
is profiled.

``validate_xmit_skb`` (net/core/dev.c) cuts a GSO sk_buff in software when the device it
leaves by lacks the feature for it.  With the port's TSO off, the segments the VXLAN
device's gro_cells merged are cut back into 1398-byte packets before the veth, and the
container's IP and TCP work per packet; with it on, they cross whole
(``Host.forward_tso``, the ``forward_gso`` stage).

On the project's VM (Linux 6.18, 2026-11-30 01:30 UTC, three passes of 5 s;
``tests/data/testbed/vm-2cpu-forward-tso.json``): 5.67-5.93 Gb/s with every device off,
8.66-8.78 with the port's TSO on (+52 %), and the profile's ``tcp`` group fell from
100k to 29k cycles a message (the Linux overlay's level: its merged segments go straight
to TCP).

Usage: ``python tests/forward_tso_experiment.py [--out FILE.json] [--repeat K]``.
"""

from __future__ import annotations



def measure(repeats: int = 3, seconds: float = 5.0) -> list:
    """Rows of ``testbed run`` for both variants, alternating, each with ``variant`` and
    ``repeat`` columns."""
    from queuemodel.testbed import netns, run

    every = dict(netns.DEVICES)
    port_on = {**every, "qmtb-h2": tuple(d for d in every["qmtb-h2"] if d != "qmtb-ve")}
    rows = []
    try:
        for rep in range(repeats):
            for label, devices in (("all-off", every), ("port-on", port_on)):
                netns.DEVICES.clear()
                netns.DEVICES.update(devices)
                for row in run.run_all(paths=("docker-overlay",), protos=("tcp",),
                                       sizes=(131072,), flows=(1,), seconds=seconds,
                                       segmentation=(False,), profile=True):
                    rows.append({**row, "variant": label, "repeat": rep})
                    print(label, rep, round(row["throughput_gbps"], 3), flush=True)
    finally:
        netns.DEVICES.clear()
        netns.DEVICES.update(every)
    return rows


if __name__ == "__main__":
    from experiment_cli import run

    run(__doc__, measure)
