"""Reference values for the wire arithmetic, each with its source."""

import math

import numpy as np
import pytest

from queuemodel import wire


@pytest.mark.parametrize("mtu, encap, expected, source", [
    (1500, 0, 1448, "1500 - 20 IPv4 - 20 TCP - 12 timestamps (MODEL-NOTES.md)"),
    (1500, 50, 1398, "VXLAN inner MTU 1450 (RFC 7348: 50 B of headers) minus 52"),
    (9000, 0, 8948, "jumbo frame, same headers"),
])
def test_tcp_mss(mtu, encap, expected, source):
    assert wire.tcp_mss_bytes(mtu, encap) == expected


@pytest.mark.parametrize("msg, mtu, encap, expected, source", [
    (8192, 1500, 0, 6, "8200 B of UDP over 1480 B fragments: 5 full + 800 B"),
    (8192, 1500, 50, 6, "8200 B over 1424 B inner fragments: 5 full + 1080 B"),
    (1472, 1500, 0, 1, "largest unfragmented payload: 1500 - 20 - 8"),
    (1473, 1500, 0, 2, "one byte more fragments"),
    (65507, 1500, 0, 45, "largest datagram: ceil(65515 / 1480)"),
])
def test_udp_fragments(msg, mtu, encap, expected, source):
    assert wire.udp_fragments(msg, mtu, encap) == expected


def test_tcp_goodput_40g():
    # 40 Gb/s x 1448 payload / 1538 wire bytes (MODEL-NOTES.md: 1538-byte frame).
    assert wire.goodput_gbps(40, "tcp", 131072, 1500) == pytest.approx(40 * 1448 / 1538, rel=1e-12)


def test_overlay_goodput_40g():
    assert wire.goodput_gbps(40, "tcp", 131072, 1500, 50) == pytest.approx(40 * 1398 / 1538,
                                                                           rel=1e-12)


def test_udp_wire_bytes_8k():
    # 5 fragments of 1480 + 20 IP + 38 = 1538 wire bytes, last one 800 + 20 + 38 = 858.
    assert wire.wire_bytes_per_message("udp", 8192, 1500) == 5 * 1538 + 858


def test_minimum_frame_padding():
    # 18 B payload + 8 UDP + 20 IP = 46 B: exactly the 64-byte minimum frame; 1 B pads to it too.
    assert wire.wire_bytes_per_message("udp", 18, 1500) == 84
    assert wire.wire_bytes_per_message("udp", 1, 1500) == 84


def test_per_packet_budget_h1():
    # Paper, introduction: "300 ns for a 40 Gbps network link"; MODEL-NOTES: 1538 B every 308 ns.
    assert wire.per_packet_budget_ns(40, 1500) == pytest.approx(307.6, abs=1e-9)


def test_segment_bytes_caps():
    assert wire.segment_bytes(1448, 65536, 64) == 45 * 1448      # 64 KB limit binds
    assert wire.segment_bytes(100, 65536, 64) == 64 * 100        # NAPI weight binds
    assert wire.segment_bytes(9000, 4000) == 9000                # at least one packet


def test_arrays_broadcast():
    mtus = np.array([576, 1500, 9000])
    out = wire.goodput_gbps(np.array([[10.0], [40.0]]), "tcp", 65536, mtus)
    assert out.shape == (2, 3)
    assert np.all(np.diff(out, axis=1) > 0)          # bigger frames, less overhead
    assert math.isclose(out[1, 1], 40 * 1448 / 1538)


@pytest.mark.parametrize("proto, msg, mtu, encap, expected, source", [
    ("udp", 64, 1500, 0, 106, "14 Ethernet + 20 IPv4 + 8 UDP + 64"),
    ("udp", 64, 1500, 50, 156, "the same inside 50 B of VXLAN headers (RFC 7348)"),
    ("udp", 1, 1500, 0, 60, "padded to the 64-byte minimum, less the 4-byte FCS"),
    ("udp", 8192, 1500, 0, (5 * 1514 + 834) / 6, "5 full fragments of 1514 B, 800 + 34 B"),
    ("tcp", 131072, 1500, 0, 1514, "full MSS packets: the 1500-byte MTU + 14"),
])
def test_mean_frame_bytes(proto, msg, mtu, encap, expected, source):
    # What mlx4_en sums per ring (the CQE's byte count, the FCS stripped) over its packets.
    assert wire.mean_frame_bytes(proto, msg, mtu, encap) == pytest.approx(expected, rel=1e-12)


@pytest.mark.parametrize("msg, packets", [(64, 1.0), (1024, 1.0), (1447, 1.0),
                                          (8192, 8192 / 1448), (131072, 131072 / 1448)])
def test_writes_that_leave_alone_are_a_wire_packet_at_least(msg, packets):
    # host.py, tcp_coalesce_hold_us = 0: nothing held, every write its own segment.
    # Over a NIC that cuts segments into MSS packets (link_segments) a write under the MSS
    # is then one packet (1448 B of payload native, RFC 791/793 headers, 1500 B MTU), not
    # msg / 1448 of one; a bigger write stays msg / 1448 (the model's fluid count).  Small
    # writes that gather a full MSS or more share packets: msg / 1448.
    from queuemodel.hosts import paper_testbed, with_overrides
    from queuemodel.solver import features

    alone = with_overrides(paper_testbed(), {"tcp_coalesce_hold_us": 0.0})
    counts, _ = features("tcp", float(msg), alone, 0)
    assert float(counts[1]) == pytest.approx(packets, rel=1e-12)
    assert float(counts[3]) == pytest.approx(max(1.0, msg / 65160), rel=1e-12)
    gathered = 1448.0 / msg + 0.5
    coalesced, _ = features("tcp", float(msg), paper_testbed(), 0, gathered)
    assert float(coalesced[1]) == pytest.approx(msg / 1448, rel=1e-12)


def test_writes_that_leave_alone_pay_a_packets_headers_each():
    # Found by `search_laws.py --wide --seed 67` (2026-11-29): with no coalescing (then
    # tcp_write_burst_segments = 0, now tcp_coalesce_hold_us = 0) a 21-byte write is a
    # packet of its own, but the wire arithmetic still counted 21/1448 of a packet's
    # headers for it, so the bytes that reach memory came out negative and the result
    # NaN.  A write alone pays one
    # packet's 90 bytes (20 IP, 32 TCP with timestamps, 38 Ethernet with preamble and
    # gap; 1500-byte MTU); coalesced writes share full 1538-byte frames.
    import queuemodel as qm

    msg = np.array([21.0, 64.0, 1024.0, 8192.0])
    alone = qm.predict(path="native", proto="tcp", msg_bytes=msg, link_gbps=1.0,
                       tcp_coalesce_hold_us=0.0)
    packets = np.maximum(1.0, msg / 1448)
    assert alone.link_goodput_gbps == pytest.approx(msg / (msg + 90.0 * packets), rel=1e-12)
    assert np.all(np.isfinite(alone.throughput_gbps)) and np.all(alone.throughput_gbps > 0)
    assert np.all(alone.throughput_gbps <= alone.link_goodput_gbps * (1 + 1e-12))
    # (A hold long enough that every size gathers a frame's worth: 21-byte writes need 69.)
    coalesced = qm.predict(path="native", proto="tcp", msg_bytes=msg, link_gbps=1.0,
                           tcp_coalesce_hold_us=1000.0)
    assert coalesced.link_goodput_gbps == pytest.approx(np.full(4, 1448 / 1538), rel=1e-12)
