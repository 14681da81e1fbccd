"""Laws of the sender's write coalescing (:func:`queuemodel.solver.tcp_writes_per_burst`).

The writes a burst gathers are the fixed point ``m = hold * cap / c(m)``, where
``c(m)`` is the sender's stage cycles per message when ``m`` writes share a
burst.  The code solves it as the smallest root of a few lines
(derivations/coalescing.py); these tests check the fixed point itself, by
evaluating ``c(m)`` the way the model charges the stages, and the directions
the mechanism must move in.
"""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import queuemodel as qm
from queuemodel import model as M
from queuemodel import solver as S
from queuemodel.hosts import paper_testbed, with_overrides

PATHS = ("native", "linux-overlay", "docker-overlay")


def _writes(path, msg, host):
    p = qm.get_path(path)
    return S.tcp_writes_per_burst(S.sender_stages(p, "tcp", host), np.atleast_1d(msg), host,
                                  p.encap_bytes)


def _sender_cycles(path, msg, host, writes):
    """The sender's stage cycles per message with ``writes`` writes a burst, charged as
    the model charges them (features -> gated counts -> kernels.stage_cycles)."""
    p = qm.get_path(path)
    msg = np.atleast_1d(np.asarray(msg, dtype=float))
    counts, frag = S.features("tcp", msg, host, p.encap_bytes, writes)
    units, data = S.gated_counts(counts, frag, msg)
    side = S.sender_stages(p, "tcp", host)
    return M._stage_cycles(side, units, data, host.dram_latency_ns * host.ghz).sum(axis=1)


hosts = st.fixed_dictionaries({
    "ghz": st.floats(0.5, 5.0),
    "tcp_coalesce_hold_us": st.floats(0.0, 500.0),
    "mtu": st.integers(576, 9216),
    "tso": st.booleans(),
    "gso": st.booleans(),
    "link_segments": st.booleans(),
    "gro_max_bytes": st.integers(1, 1 << 17),
    "gso_max_bytes": st.integers(1, 1 << 17),
})


@settings(max_examples=200, deadline=None)
@given(path=st.sampled_from(PATHS), msg=st.integers(1, 100_000), changes=hosts)
def test_the_writes_a_burst_gathers_are_the_senders_fixed_point(path, msg, changes):
    # Where neither bound binds, the sender makes exactly m writes in one hold at the
    # speed m writes a burst give it: m = hold * cap / c(m).  At the lower bound (one
    # write) it makes at most one; at the upper bound (a GSO segment) at least as many.
    host = with_overrides(paper_testbed(), changes)
    m = float(_writes(path, msg, host)[0])
    mss = qm.wire.tcp_mss_bytes(host.mtu, qm.get_path(path).encap_bytes)
    most = max(1.0, float(qm.wire.segment_bytes(mss, host.gso_max_bytes)) / msg)
    assert 1.0 <= m <= most * (1 + 1e-12)
    made = (host.tcp_coalesce_hold_us * 1e-6 * host.ghz * 1e9
            / float(_sender_cycles(path, msg, host, m)[0]))
    if 1.0 < m < most:
        assert made == pytest.approx(m, rel=1e-9)
    elif most > 1.0 and m == 1.0:
        assert made <= 1.0 + 1e-9
    elif most > 1.0:
        assert m == pytest.approx(most, rel=1e-12) and made >= m * (1 - 1e-9)


@settings(max_examples=100, deadline=None)
@given(path=st.sampled_from(PATHS), msg=st.integers(1, 100_000), changes=hosts,
       faster=st.floats(1.0, 4.0), longer=st.floats(1.0, 4.0))
def test_a_faster_sender_or_a_longer_hold_never_gathers_fewer_writes(path, msg, changes,
                                                                      faster, longer):
    host = with_overrides(paper_testbed(), changes)
    quicker = with_overrides(host, {"ghz": min(20.0, host.ghz * faster),
                                    "tcp_coalesce_hold_us": host.tcp_coalesce_hold_us * longer})
    assert _writes(path, msg, quicker)[0] >= _writes(path, msg, host)[0] * (1 - 1e-12)


def test_a_dearer_sender_gathers_fewer_writes():
    # Every sender stage twice as dear: the same hold gathers about half as many 64-byte
    # writes (exactly half when a burst's per-burst costs are small next to its writes').
    host = paper_testbed()
    slow = with_overrides(host, {"ghz": host.ghz / 2})
    for path in PATHS:
        fast, half = float(_writes(path, 64, host)[0]), float(_writes(path, 64, slow)[0])
        assert 1.0 < half < fast / 2


def test_no_hold_sends_every_write_alone_and_big_writes_fill_a_segment():
    host = paper_testbed()
    never = with_overrides(host, {"tcp_coalesce_hold_us": 0.0})
    sizes = np.array([1.0, 64.0, 1024.0, 65160.0, 131072.0])
    for path in PATHS:
        assert _writes(path, sizes, never).tolist() == [1.0] * 5
        # A write of a GSO segment or more is a burst of its own, whatever the hold.
        assert _writes(path, sizes, host)[3:].tolist() == [1.0, 1.0]


def test_the_model_uses_the_gathered_writes():
    # The packets and bursts predict() reports follow from the writes: 64-byte writes on
    # the paper's host gather more than one MSS (1448 B) a burst, and 8 KB writes fill a
    # 64 KB GSO segment (7.95 writes); with a 10 us hold 64-byte writes gather less than
    # an MSS, so a burst is one wire packet and the wire packets per message are 1 / m.
    host = paper_testbed()
    m64, m8k = _writes("native", np.array([64.0, 8192.0]), host)
    assert 1448 / 64 < m64 and m8k == pytest.approx(65160 / 8192, rel=1e-12)
    r = qm.predict(path="native", proto="tcp", msg_bytes=64, tcp_coalesce_hold_us=10.0)
    m = float(_writes("native", 64.0, with_overrides(host, {"tcp_coalesce_hold_us": 10.0}))[0])
    assert 1.0 < m < 1448 / 64
    assert r.wire_packet_rate_per_s / r.message_rate_per_s == pytest.approx(1 / m, rel=1e-12)


@settings(max_examples=100, deadline=None)
@given(path=st.sampled_from(PATHS), msg=st.integers(1, 100_000), changes=hosts)
def test_a_result_reports_the_bursts_its_packets_come_in(path, msg, changes):
    # writes_per_burst and the packet rate tell one story: a burst is at least one wire
    # packet, so packets a message are at least 1 / writes_per_burst; a burst under the
    # MSS over a link that cuts segments is exactly one.  UDP reports 1.
    r = qm.predict(path=path, proto="tcp", msg_bytes=msg, **changes)
    m = r.writes_per_burst
    per_message = r.wire_packet_rate_per_s / r.message_rate_per_s
    assert m >= 1.0 and per_message >= (1 - 1e-12) / m
    mss = qm.wire.tcp_mss_bytes(changes["mtu"], qm.get_path(path).encap_bytes)
    if changes["link_segments"] and m * msg < mss:
        assert per_message == pytest.approx(1 / m, rel=1e-9)
    assert qm.predict(path=path, proto="udp", msg_bytes=min(msg, 65507)).writes_per_burst == 1.0


def test_one_kernel_hosts_gather_by_the_senders_own_stages():
    # With sender_on_receive_cpu the send side is empty (its stages are charged to the
    # receive CPU); the coalescing still reads the sender's stages, so it matches the
    # same host's with its own sender CPU.
    host = paper_testbed()
    one = with_overrides(host, {"sender_on_receive_cpu": True})
    sizes = np.array([64.0, 1024.0])
    for path in PATHS:
        np.testing.assert_array_equal(_writes(path, sizes, one), _writes(path, sizes, host))
        assert _writes(path, sizes, one)[0] > 1.0
