"""The copy's read misses: cycles for the received bytes that left the cache.

Mechanism (queuemodel.memory): a byte the copy to user space finds gone from
the cache costs ``ghz * dram_latency_ns / (dram_misses_in_flight * 64)`` more
cycles (Little's law on the misses a core keeps in flight), and the share of
such bytes is the memory model's read-miss chance: at a receive CPU's
capacity that of full queues (queuemodel.model._saturated_read_miss), below it
what the CPU's own queues give.
"""

import dataclasses
import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import queuemodel as qm
from queuemodel import model as M
from queuemodel import wire
from queuemodel.hosts import paper_testbed
from queuemodel.memory import dram_read_cycles_per_byte


def test_penalty_by_hand():
    # 16 misses of 64 B in flight, each 90 ns: 1024 B per 90 ns = 11.38 GB/s from DRAM;
    # at 2.2 GHz that is 2.2 * 90 / 1024 cycles per byte.
    assert float(dram_read_cycles_per_byte(2.2, 90.0, 16)) == pytest.approx(0.193359375,
                                                                          rel=1e-12)
    assert float(dram_read_cycles_per_byte(4.4, 90.0, 16)) == pytest.approx(2 * 0.193359375)


def test_one_saturated_flow_by_hand():
    # One CPU-bound native TCP flow holds a full 3 MB window (24 writes of 128 KB, with
    # their frames' headers) while the NIC writes into its 2.5 MB DDIO share: a byte is
    # gone before the copy with exp(-cache / window), and the copy pays 0.25 cycles/B
    # (its prior) plus that share of the DRAM penalty.
    frames = wire.wire_packets_per_message("tcp", 131072, 1500)
    frame_bytes = wire.wire_bytes_per_message("tcp", 131072, 1500) - 24 * frames
    miss = math.exp(-25 * 2**20 * 0.1 / (3145728 / 131072 * frame_bytes))
    r = qm.predict(path="native", proto="tcp")
    assert r.read_miss_fraction == pytest.approx(miss, rel=1e-9)
    copy_cycles = 131072 * (0.25 + miss * 2.2 * 90.0 / (16 * 64))
    assert r.stages["rx:copy_to_user"] == pytest.approx(
        r.message_rate_per_s * copy_cycles / 2.2e9, rel=1e-9)


def _without_reading(name):
    path = qm.paths.get_path(name)
    rx = tuple(dataclasses.replace(s, reads_received_bytes=False) for s in path.rx)
    return dataclasses.replace(path, name=name + "-no-read", rx=rx)


@pytest.mark.parametrize("name", ["native", "docker-overlay"])
@pytest.mark.parametrize("proto", ["tcp", "udp"])
def test_dram_as_fast_as_the_cache_is_the_model_without_the_term(name, proto):
    # Limiting case: a zero DRAM latency makes a miss free, which is exactly a path whose
    # copy does not read from DRAM at all; with the latency the copy only loses.  (The
    # flag also counts the copy's write into the reader's buffer in what streams through
    # the core's L2: free L2 misses on both sides leave the DRAM term alone.)
    flows = np.array([1, 2, 6, 20, 80])
    l2_free = dict(llc_latency_ns=0.0)
    free = qm.predict(path=name, proto=proto, flows=flows, dram_latency_ns=0.0, **l2_free)
    plain = qm.predict(path=_without_reading(name), proto=proto, flows=flows, **l2_free)
    np.testing.assert_allclose(free.throughput_gbps, plain.throughput_gbps, rtol=1e-12)
    np.testing.assert_allclose(free.receiver_cpu["sys"], plain.receiver_cpu["sys"],
                               rtol=1e-12)
    paying = qm.predict(path=name, proto=proto, flows=flows, **l2_free)
    assert np.all(paying.throughput_gbps <= plain.throughput_gbps * (1 + 1e-12))
    assert plain.read_miss_fraction.max() == 0.0 < paying.read_miss_fraction.max()


def _saturated(path, proto, flows, **fields):
    """The saturated read-miss chance the model solves capacity at, per scenario."""
    seen = {}
    original = M._saturated_read_miss

    def spy(block):
        seen["m"] = original(block)
        return seen["m"]

    M._saturated_read_miss = spy
    try:
        r = qm.predict(path=path, proto=proto, flows=np.asarray(flows), **fields)
    finally:
        M._saturated_read_miss = original
    return r, seen["m"]


@given(path=st.sampled_from(["native", "linux-overlay", "docker-overlay"]),
       proto=st.sampled_from(["tcp", "udp"]),
       flows=st.lists(st.integers(1, 80), min_size=1, max_size=4),
       offered=st.sampled_from([np.inf, 1.0, 5.0]),
       latency=st.floats(10.0, 400.0), in_flight=st.floats(1.0, 64.0))
def test_charged_misses_never_exceed_full_queues(path, proto, flows, offered, latency,
                                                 in_flight):
    # A CPU's capacity is solved at the misses of full queues; what the copy is charged
    # below capacity is a probability and never more than that.
    r, full = _saturated(path, proto, sorted(flows), offered_gbps=offered,
                         dram_latency_ns=latency, dram_misses_in_flight=in_flight)
    m = r.read_miss_fraction
    assert np.all((m >= 0.0) & (m <= full + 1e-15)) and np.all(full <= 1.0)


@pytest.mark.parametrize("path", ["native", "linux-overlay", "docker-overlay"])
@pytest.mark.parametrize("proto", ["tcp", "udp"])
def test_a_lone_saturated_flow_pays_the_misses_of_full_queues(path, proto):
    # One flow, its receive CPU the bottleneck: its queues are full, so the misses it is
    # charged are exactly those capacity was solved at (consistent at the saturation).
    r, full = _saturated(path, proto, 1)
    assert r.bottleneck.startswith("receiver:flow-core:")
    assert r.read_miss_fraction == pytest.approx(float(full[0]), rel=1e-9)
    assert r.core_utilisation["rx:flow-core"] == pytest.approx(1.0, abs=1e-6)


@pytest.mark.parametrize("proto", ["tcp", "udp"])
def test_a_scenario_alone_equals_it_inside_a_grid(proto):
    # Rows stop at different passes; each is charged its own fixed point, so a scenario
    # gives the same answer on its own as among others that need more passes.
    flows = np.array([1, 2, 3, 6, 20, 80])
    offered = np.array([np.inf, 3.0, 6.0, np.inf, 1.0, np.inf])
    grid = qm.predict(path="docker-overlay", proto=proto, flows=flows, offered_gbps=offered)
    for i, (n, o) in enumerate(zip(flows, offered)):
        alone = qm.predict(path="docker-overlay", proto=proto, flows=int(n), offered_gbps=o)
        for name in ("throughput_gbps", "read_miss_fraction", "memory_bandwidth_gbytes_per_s",
                     "drop_fraction", "irq_rate_per_s", "context_switch_rate_per_s"):
            assert getattr(alone, name) == pytest.approx(getattr(grid, name)[i], rel=1e-9,
                                                         abs=1e-12), name
        for column, value in alone.receiver_cpu.items():
            assert value == pytest.approx(grid.receiver_cpu[column][i], rel=1e-9, abs=1e-12)


@given(in_flight=st.floats(1.0, 64.0), factor=st.floats(1.01, 4.0),
       flows=st.integers(1, 80), proto=st.sampled_from(["tcp", "udp"]))
def test_more_misses_in_flight_never_lower_throughput(in_flight, factor, flows, proto):
    # A core that keeps more misses in flight streams faster from DRAM: the copy costs
    # less, so throughput never falls.
    a = qm.predict(path="docker-overlay", proto=proto, flows=flows,
                   dram_misses_in_flight=in_flight)
    b = qm.predict(path="docker-overlay", proto=proto, flows=flows,
                   dram_misses_in_flight=in_flight * factor)
    assert b.throughput_gbps >= a.throughput_gbps * (1 - 1e-12)


def test_a_receiver_its_dram_holds_back_misses_as_its_budget_assumes():
    # Held back by the DRAM (kernels.dram_budget), every queue is full: seven flows keep
    # seven 3 MB windows waiting while the NIC writes into its 2.5 MB share, and a byte
    # is gone before its copy with exp(-cache / backlog), whatever the rates.
    r = qm.predict(path="native", proto="tcp", flows=7, memory_gbytes_per_s=2.0)
    assert r.bottleneck == "receiver:memory:dram"
    frames = wire.wire_packets_per_message("tcp", 131072, 1500)
    frame_bytes = wire.wire_bytes_per_message("tcp", 131072, 1500) - 24 * frames
    backlog = 7 * 3145728 / 131072 * frame_bytes
    assert r.read_miss_fraction == pytest.approx(math.exp(-25 * 2**20 * 0.1 / backlog),
                                                 rel=1e-6)


def test_a_receiver_that_keeps_up_pays_only_its_own_misses():
    # Eight native TCP flows steered one to a physical core fill the link with receive
    # CPUs to spare: capacity is solved at the misses of full queues (eight windows of
    # 3 MB through a 2.5 MB share: 0.9 of the bytes), but the copy is charged what its
    # own short queues give.
    host = dataclasses.replace(paper_testbed(), nic_queues=8, queue_cpus=tuple(range(8)),
                               flow_steering=True)
    r, full = _saturated("native", "tcp", 8, host=host)
    assert r.bottleneck.startswith("link") and r.cores_used == 8
    assert float(full[0]) > 0.9
    assert 0.0 < r.read_miss_fraction < 0.1
    # each CPU copies its eighth at 0.25 cycles/B plus the charged share of the penalty
    penalty = 2.2 * 90.0 / (16 * 64)
    assert r.stages["rx:copy_to_user"] == pytest.approx(
        r.message_rate_per_s / 8 * 131072 * (0.25 + r.read_miss_fraction * penalty) / 2.2e9,
        rel=1e-9)


@given(ghz=st.floats(0.1, 20.0), latency=st.floats(0.0, 1e6), in_flight=st.floats(1.0, 1024.0),
       path=st.sampled_from(["native", "docker-overlay"]), proto=st.sampled_from(["tcp", "udp"]),
       flows=st.sampled_from([1, 8]))
def test_any_allowed_memory_timing_gives_finite_answers(ghz, latency, in_flight, path, proto,
                                                       flows):
    # Found by hand: a latency of 1e300 ns with 1e-300 misses in flight made the penalty
    # infinite and the stage table NaN.  The ranges now stop short of that (at most 1 ms,
    # at least one miss in flight), and every allowed combination answers in numbers.
    r = qm.predict(path=path, proto=proto, flows=flows, ghz=ghz, dram_latency_ns=latency,
                   dram_misses_in_flight=in_flight)
    from queuemodel.model import UNBOUNDED_OUTPUTS

    for name, value in r.outputs().items():
        # (and every latency, its parts too: inf for an unstable queue)
        if isinstance(value, float) and not name.startswith("latency") \
                and name not in UNBOUNDED_OUTPUTS:
            assert math.isfinite(value) and value >= 0.0, name


def test_memory_timing_outside_its_ranges_is_refused():
    from queuemodel.errors import ModelInputError

    with pytest.raises(ModelInputError,
                       match=r"^host\.dram_misses_in_flight = 0\.5: .*1 <= x <= 1024"):
        qm.predict(dram_misses_in_flight=0.5)
    with pytest.raises(ModelInputError, match=r"^host\.dram_latency_ns = 2000000\.0: "):
        qm.predict(dram_latency_ns=2e6)


@pytest.mark.parametrize("scv", [0.0, 1.0, 4.0])
def test_an_unsaturated_flow_queues_as_the_latency_model_has_it(scv):
    # One Docker TCP flow offered 5 Gb/s of its ~6.5: its CPU holds Kingman's mean queue
    # plus the message in service, rho + rho^2 (ca2 + cs2) / 2 / (1 - rho) messages (M/M/1's
    # rho / (1 - rho) for Poisson arrivals, exponential service), and a byte is gone before
    # its copy when more than the 2.5 MB share is written while it waits.
    cap = qm.predict(path="docker-overlay", proto="tcp").message_rate_per_s
    r = qm.predict(path="docker-overlay", proto="tcp", offered_gbps=5.0, arrival_scv=scv)
    rho = r.message_rate_per_s / cap
    queued = rho + rho * rho * (scv + 1.0) / 2.0 / (1.0 - rho)
    frames = wire.wire_packets_per_message("tcp", 131072, 1500, wire.VXLAN_ENCAP_BYTES)
    frame_bytes = (wire.wire_bytes_per_message("tcp", 131072, 1500, wire.VXLAN_ENCAP_BYTES)
                   - 24 * frames)
    cache = 25 * 2**20 * 0.1 / frame_bytes                  # in messages
    assert r.read_miss_fraction == pytest.approx(math.exp(-cache / queued), rel=1e-9)
