"""What TCP's own work costs on the project's VM, against the model's TCP priors.

``tests/data/testbed/vm-2cpu-tcp-costs.json`` (2026-11-30, 03:05-03:09 UTC; Linux 6.18,
two 2.2 GHz vCPUs; ``queuemodel testbed run --path native --proto tcp --msg-bytes
8192,32768,131072 --segmentation on,off --nodelay --autocorking off --profile --repeat 2
--seconds 5``): one native TCP flow, every write sent at once (no Nagle, no autocorking),
with TSO, GSO and GRO on and off, sampled by perf.  The ``tcp`` group (tcp_* functions at
both ends) per delivered message says how TCP's work grows with segments and bytes.

The model charges TCP per segment only (``tcp_tx`` and ``tcp_rx``, 2,500 cycles each, a
lone 1,448-byte packet the same as a 64 KB segment).  These are recorded gaps, not laws:
they fail if a new run or a new cost law changes the picture, and the README
("What TCP costs per packet on this VM") carries the same numbers.
"""

import json
from pathlib import Path

import numpy as np

from queuemodel.paths import TCP_RX, TCP_TX
from queuemodel.testbed.profile import cycles_by_workload

DATA = Path(__file__).parent / "data" / "testbed" / "vm-2cpu-tcp-costs.json"
MSS_BYTES = 1448


def _tcp_cycles() -> dict:
    """``{(msg_bytes, segmentation): tcp group cycles a message}``, averaged over runs."""
    rows = json.loads(DATA.read_text())
    assert len(rows) == 12 and all(r["nodelay"] and not r["autocorking"] for r in rows)
    return {(w["msg_bytes"], bool(w["segmentation"])): w["cycles_per_message"]["tcp"]
            for w in cycles_by_workload(rows)}


def test_a_lone_packet_costs_tcp_a_fraction_of_what_a_segment_costs():
    # Without segmentation every 1,448-byte packet is a segment of its own: 0.5-1.2k
    # cycles a packet at both ends (8 KB writes 1.19k, 32 KB 0.51k, 128 KB 0.77k).  With
    # it, a write of 8 or 32 KB leaves as one segment and costs 2.9k and 3.6k.  So a
    # segment of 6 to 23 packets costs TCP 2.4-7x a lone packet, not 6-23x; the model's
    # priors charge both 5,000 cycles.
    tcp = _tcp_cycles()
    per_packet = {m: tcp[m, False] / (m / MSS_BYTES) for m in (8192, 32768, 131072)}
    assert all(400 < c < 1300 for c in per_packet.values()), per_packet
    for m in (8192, 32768):
        assert 2000 < tcp[m, True] < 4500, (m, tcp[m, True])
        assert 2.0 < tcp[m, True] / per_packet[m] < 8.0
        assert tcp[m, True] / per_packet[m] < 0.5 * m / MSS_BYTES
    assert TCP_RX.cost_cycles_per_byte == TCP_TX.cost_cycles_per_byte == 0.0


def test_a_cost_per_segment_and_per_byte_fitted_at_128_kb_misses_small_writes():
    # Why TCP's 2,500 cycles were not split into a part per segment and a part per byte
    # (tried 2026-11-30, not shipped): the split that 128 KB writes with segmentation on
    # (three TSO segments) and off (91 packets) imply, a + b x bytes a segment, has a
    # small a and puts most of a 64 KB segment's cost in b; it then gives an 8 KB write
    # sent alone less than half of what it costs, and a 32 KB one four fifths.  It brought the testbed's
    # segmentation-off TCP from -60 % to -10..-20 % (native), but had the slow regime of
    # small writes (every write alone) 2x too fast where it was within 40 %.  A write's
    # own TCP work (tcp_sendmsg, tcp_recvmsg and their ACKs) is what neither law has.
    tcp = _tcp_cycles()
    big = 131072
    segments = np.ceil(big / (45 * MSS_BYTES))            # 65,160-byte TSO segments
    a = (tcp[big, False] - tcp[big, True]) / (big / MSS_BYTES - segments)
    b = (tcp[big, True] - segments * a) / big
    assert 400 < a < 1000 and 0.03 < b < 0.08             # 672 and 0.067 here
    assert a + b * 8192 < 0.5 * tcp[8192, True]             # 1.2k against 2.9k
    assert a + b * 32768 < tcp[32768, True]                 # 2.9k against 3.6k


def test_no_law_linear_in_writes_segments_acks_and_bytes_fits_the_six_workloads():
    # A cost a write, a segment, an acknowledgement (the receiver's Tcp: OutSegs) and a
    # byte, fitted by least squares to all six workloads, still misses one by more than
    # 40 % (the best of every subset of the four terms: 32 KB writes with segmentation
    # off, 0.51k cycles a packet, are cheap where 8 KB and 128 KB writes take 0.77-1.19k).
    # The tcp group's cost follows the flow's regime (how far behind the reader is, how
    # often it acknowledges), not these counts alone.
    import itertools

    rows = json.loads(DATA.read_text())
    acks: dict = {}
    for r in rows:
        messages = r["throughput_gbps"] * 1e9 / 8 / r["msg_bytes"]
        acks.setdefault((r["msg_bytes"], r["segmentation"]), []).append(
            r["tcp_receiver_segments_per_s"] / messages)
    tcp = _tcp_cycles()
    keys = sorted(tcp)
    terms = np.array([[1.0, np.ceil(m / (45 * MSS_BYTES)) if on else m / MSS_BYTES,
                       np.mean(acks[m, on]), m] for m, on in keys])
    measured = np.array([tcp[k] for k in keys])
    best = min(
        np.max(np.abs(terms[:, cols] @ np.linalg.lstsq(terms[:, cols], measured,
                                                         rcond=None)[0] / measured - 1))
        for n in range(1, 5) for cols in map(list, itertools.combinations(range(4), n)))
    assert best > 0.4, best
