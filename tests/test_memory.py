"""DRAM traffic of received data (queuemodel.memory) and the memory_bandwidth output."""

import math
import warnings

import numpy as np
import pytest

import queuemodel as qm
from queuemodel import wire
from hypothesis import given
from hypothesis import strategies as st

from queuemodel.memory import (CACHE_LINE_BYTES, PACKET_TOUCHED_BYTES, dram_bytes_per_byte,
                               eviction_probability, flow_state_miss)
from queuemodel.paths import TCP_RX
from queuemodel.testbed import fit as F


def test_one_native_tcp_flow_by_hand():
    # One receive-bound flow (the paper testbed's single-flow case): a full TCP window
    # waits, 3 MB (tcp_rmem[2] = 6 MB at tcp_adv_win_scale 1); one ring of 1024 buffers
    # of 2304 B cycles; the NIC's share of the 25 MB LLC is 2 of 20 ways, 2.5 MB.
    # The window holds 24 writes of 128 KB, in memory with their frames' headers.
    frames = wire.wire_packets_per_message("tcp", 131072, 1500)   # 131072 / 1448 MSS
    frame_bytes = wire.wire_bytes_per_message("tcp", 131072, 1500) - 24 * frames
    cache = 25 * 2**20 * 0.1
    read_miss = math.exp(-cache / (3145728 / 131072 * frame_bytes))
    write_back = math.exp(-cache / (1024 * 2304))
    per_byte = 2 * read_miss + (1 - read_miss) * write_back
    assert per_byte == pytest.approx(1.082, abs=1e-3)       # per byte of frames
    r = qm.predict(path="native", proto="tcp")
    assert r.memory_bandwidth_gbytes_per_s == pytest.approx(
        r.message_rate_per_s * frame_bytes * per_byte / 1e9, rel=1e-9)
    # Its CPU is saturated, so its queue is full: the DRAM budget takes the same bytes per
    # byte, and the 68.3 GB/s bandwidth (4 DDR4-2133 channels, Intel ARK) carries
    # 68.3e9 / (frame_bytes * per_byte) messages/s of 128 KB.
    budget = 68.3e9 / (frame_bytes * per_byte) * 131072 * 8 / 1e9
    assert budget == pytest.approx(483, abs=1)
    assert r.memory_budget_gbps == pytest.approx(budget, rel=1e-9)


def test_a_receiver_that_keeps_up_mostly_writes_back():
    # 80 native TCP flows fill the link with CPUs to spare: little waits at a receiver,
    # almost every byte is read while cached, and the rings' write-backs dominate.
    r = qm.predict(path="native", proto="tcp", flows=80)
    assert r.bottleneck.startswith("link")
    busy_rings = r.cores_used * 1024 * 2304
    write_back = math.exp(-25 * 2**20 * 0.1 / busy_rings)
    bytes_per_s = r.memory_bandwidth_gbytes_per_s * 1e9
    frames = wire.wire_packets_per_message("tcp", 131072, 1500)
    frame_bytes = wire.wire_bytes_per_message("tcp", 131072, 1500) - 24 * frames
    floor = r.message_rate_per_s * frame_bytes * write_back
    # (1.3 % of the bytes are read from DRAM: each CPU's queue is taken against the
    # capacity it has with full queues, a little less than at its own misses.)
    assert floor <= bytes_per_s <= 1.03 * floor


def test_saturated_overlay_receivers_move_more_dram_bytes_per_byte():
    # The mechanism behind M5: Docker's receive CPUs saturate, their flows' windows
    # wait in memory and fall out of the DDIO share before the copy.
    per_byte = {}
    for path in ("native", "docker-overlay"):
        r = qm.predict(path=path, proto="tcp", flows=7)
        per_byte[path] = r.memory_bandwidth_gbytes_per_s / (r.throughput_gbps / 8)
    assert per_byte["docker-overlay"] > 1.8 * per_byte["native"]


def test_a_veth_testbed_has_no_ring_and_the_whole_cache():
    r = qm.predict(path="native", proto="tcp", host=F.testbed_host(2, 2500.0))
    # 3 MB waiting against 25 MB of cache: about 1 in 3000 bytes read again
    assert 0.0 < r.memory_bandwidth_gbytes_per_s < 1e-3 * r.throughput_gbps / 8


def test_memory_traffic_rises_smoothly_towards_saturation():
    # Below saturation the queue grows as rho / (1 - rho): offered more and more, one
    # Docker TCP flow's DRAM traffic per byte rises steadily to the saturated value.
    cap = qm.predict(path="docker-overlay", proto="tcp").throughput_gbps
    offers = cap * np.array([0.2, 0.5, 0.8, 0.95, 0.99])
    r = qm.predict(path="docker-overlay", proto="tcp", offered_gbps=offers)
    per_byte = r.memory_bandwidth_gbytes_per_s / (r.throughput_gbps / 8)
    assert np.all(np.diff(per_byte[:4]) > 0)
    # at 99 % the mean queue (99 writes) already exceeds the window (24): saturated value
    saturated = qm.predict(path="docker-overlay", proto="tcp")
    assert per_byte[-1] == pytest.approx(saturated.memory_bandwidth_gbytes_per_s / (cap / 8))


@pytest.mark.parametrize("reuse, cache, expected", [
    (0.0, 1.0, 0.0), (1.0, 1.0, math.exp(-1.0)), (np.inf, 1.0, 1.0), (2.0, 4.0, math.exp(-2.0)),
])
def test_eviction_probability_reference_points(reuse, cache, expected):
    assert float(eviction_probability(reuse, cache)) == pytest.approx(expected)


def test_dram_bytes_per_byte_limits():
    assert float(dram_bytes_per_byte(0.0, 1e12, 1.0)) == pytest.approx(1.0)   # written back only
    assert float(dram_bytes_per_byte(1e12, 0.0, 1.0)) == pytest.approx(2.0)   # and read again
    grid = dram_bytes_per_byte(np.geomspace(1, 1e9, 50)[:, None], np.geomspace(1, 1e9, 50),
                               2.5e6)
    assert np.all(np.diff(grid, axis=0) >= 0) and np.all(np.diff(grid, axis=1) >= 0)
    assert np.all((grid >= 0) & (grid <= 2))


# ------------------------------------------------- a flow's state in the per-core L2

def _state_miss_by_hand(r, flows_on_core, passes=2):
    """exp(-C / D) for TCP with the whole flow on one core (reader there too): between two
    segments of a flow its core streams K messages' payload (the copy reads and writes it:
    two passes; an overlay's software inner checksum reads it once more) and three lines
    per wire packet, and touches the K - 1 others' tcp_rx state (16 lines each)."""
    packets = r.wire_packet_rate_per_s / r.message_rate_per_s
    segments = packets / r.gro_packets_per_segment
    stream = passes * 131072 + packets * 3 * 64
    reuse = flows_on_core * stream / segments + (flows_on_core - 1) * 16 * 64
    return math.exp(-256 * 1024 / reuse)


def test_one_tcp_flow_keeps_most_of_its_socket_in_its_core_l2_by_hand():
    r = qm.predict(path="docker-overlay", proto="tcp")
    assert r.flow_state_miss_fraction == pytest.approx(_state_miss_by_hand(r, 1, passes=3),
                                                       rel=1e-12)
    assert 0.05 < r.flow_state_miss_fraction < 0.5


def test_eight_flows_on_one_cpu_push_each_others_socket_out_by_hand():
    # Every queue on CPU 0: its core holds the eight flows' state (CPU 10, its sibling,
    # carries nothing).
    r = qm.predict(path="native", proto="tcp", flows=8, queue_cpus=(0,) * 16)
    assert r.cores_used == 1.0
    assert r.flow_state_miss_fraction == pytest.approx(_state_miss_by_hand(r, 8), rel=1e-12)


def test_flows_on_both_threads_of_a_core_share_its_l2_by_hand():
    # One flow on CPU 0 and one on CPU 10, the two threads of core 0: two flows' state in
    # one L2; on CPUs 0 and 1, one each.
    steer = dict(path="native", proto="tcp", flows=2, nic_queues=2, flow_steering=True)
    shared = qm.predict(queue_cpus=(0, 10), **steer)
    apart = qm.predict(queue_cpus=(0, 1), **steer)
    assert shared.flow_state_miss_fraction == pytest.approx(_state_miss_by_hand(shared, 2),
                                                            rel=1e-12)
    assert apart.flow_state_miss_fraction == pytest.approx(_state_miss_by_hand(apart, 1),
                                                           rel=1e-12)


def test_the_state_lines_priors_are_what_the_hand_tests_take():
    assert TCP_RX.flow_state_lines == 16 and PACKET_TOUCHED_BYTES == 3 * CACHE_LINE_BYTES


@given(st.integers(1, 500), st.floats(0.0, 1e7), st.floats(0.01, 200.0), st.floats(0.0, 1e5),
       st.floats(1e3, 1e8))
def test_flow_state_miss_is_a_chance_that_more_flows_never_lower(k, stream, touches, state,
                                                                 cache):
    m = float(flow_state_miss(k, stream, touches, state, cache))
    assert 0.0 <= m < 1.0
    assert float(flow_state_miss(k + 1, stream, touches, state, cache)) >= m
    assert float(flow_state_miss(k, stream, touches, state, 2 * cache)) <= m
    assert float(flow_state_miss(k, stream, 2 * touches, state, cache)) <= m


def test_flow_state_miss_limits():
    assert float(flow_state_miss(3, 1e6, 0.0, 1e3, 1e5)) == 0.0          # never touched
    assert float(flow_state_miss(1, 0.0, 1.0, 1e3, 1e5)) == 0.0          # nothing in between
    # Next to nothing in between: the cache over it overflows (a RuntimeWarning until
    # 2026-11-29, found by the deep hypothesis profile), and the line stays.
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert float(flow_state_miss(1, 5e-324, 1.0, 0.0, 1e3)) == 0.0
    assert float(flow_state_miss(1e9, 1e6, 1.0, 1e3, 1e5)) == pytest.approx(1.0)


def test_readers_on_cores_of_their_own_take_the_copy_out_of_the_softirq_cores_l2():
    # With the readers elsewhere the interrupted core streams only headers and
    # descriptors between a flow's segments, so eight flows' sockets mostly stay.
    r = qm.predict(path="native", proto="tcp", flows=8, queue_cpus=(0,) * 16,
                   app_on_softirq_core=False)
    packets = r.wire_packet_rate_per_s / r.message_rate_per_s
    segments = packets / r.gro_packets_per_segment
    reuse = 8 * packets * 3 * 64 / segments + 7 * 16 * 64
    assert r.flow_state_miss_fraction == pytest.approx(math.exp(-256 * 1024 / reuse),
                                                       rel=1e-12)
    assert r.flow_state_miss_fraction < 0.01


def test_the_budget_gives_the_least_bandwidth_that_keeps_the_dram_out_of_the_way():
    # The budget is proportional to the bandwidth; where the hash outcomes' budgets are
    # alike (80 Docker TCP flows keep 15.93 of the 16 queues' CPUs busy on average, and a
    # CPU more changes only the rings' write-backs) the bandwidth times throughput over
    # budget is where the DRAM starts to bind (README, Memory traffic: 9.8 GB/s).  Once
    # every outcome binds, they carry their mean budget: proportional again.
    scenario = dict(path="docker-overlay", proto="tcp", flows=80)
    free = qm.predict(**scenario)
    need = 68.3 * free.throughput_gbps / free.memory_budget_gbps
    assert need == pytest.approx(9.8, abs=0.05)
    above = qm.predict(**scenario, memory_gbytes_per_s=need * 1.001)
    below = qm.predict(**scenario, memory_gbytes_per_s=need * 0.98)
    assert above.throughput_gbps == free.throughput_gbps
    assert below.memory_bound_share == 1.0
    assert below.throughput_gbps == pytest.approx(0.98 * free.throughput_gbps, rel=1e-9)
