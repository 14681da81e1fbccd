"""The copy's read misses: cycles for the received bytes that left the cache.

Mechanism (queuemodel.memory): a byte the copy to user space finds gone from
the cache costs ``ghz * dram_latency_ns / (dram_misses_in_flight * 64)`` more
cycles (Little's law on the misses a core keeps in flight), and the share of
such bytes is the memory model's read-miss chance, solved as a fixed point
with the rates it slows (queuemodel.model._miss_fixed_point).
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
    # copy does not read from DRAM at all; with the latency the copy only loses.
    flows = np.array([1, 2, 6, 20, 80])
    free = qm.predict(path=name, proto=proto, flows=flows, dram_latency_ns=0.0)
    plain = qm.predict(path=_without_reading(name), proto=proto, flows=flows)
    np.testing.assert_allclose(free.throughput_gbps, plain.throughput_gbps, rtol=1e-12)
    np.testing.assert_allclose(free.receiver_cpu["sys"], plain.receiver_cpu["sys"],
                               rtol=1e-12)
    paying = qm.predict(path=name, proto=proto, flows=flows)
    assert np.all(paying.throughput_gbps <= plain.throughput_gbps * (1 + 1e-12))
    assert plain.read_miss_fraction.max() == 0.0 < paying.read_miss_fraction.max()


def _block(path="docker-overlay", proto="tcp", flows=(1, 2, 6, 20, 80), **fields):
    """A solved scenario block's receive inputs, as _solve_block builds them."""
    host = dataclasses.replace(paper_testbed(), **fields)
    seen = {}
    original = M._miss_fixed_point

    def spy(block):
        seen["block"] = block
        return original(block)

    M._miss_fixed_point = spy
    try:
        qm.predict(path=path, proto=proto, flows=np.asarray(flows), host=host)
    finally:
        M._miss_fixed_point = original
    return seen["block"]


@given(path=st.sampled_from(["native", "linux-overlay", "docker-overlay"]),
       proto=st.sampled_from(["tcp", "udp"]),
       flows=st.lists(st.integers(1, 80), min_size=1, max_size=4),
       latency=st.floats(10.0, 400.0), in_flight=st.floats(1.0, 64.0))
def test_charged_misses_are_a_fixed_point(path, proto, flows, latency, in_flight):
    # The law the solver claims: re-solving at the charged read-miss chance gives it back
    # (to the stated tolerance), and the chance is a probability.
    b = _block(path, proto, sorted(flows), dram_latency_ns=latency,
               dram_misses_in_flight=in_flight)
    charged, solved = M._miss_fixed_point(b)
    assert np.all((charged >= 0.0) & (charged <= 1.0))
    again = M._receive(b, charged)[-1]["read_miss"]
    assert np.all(np.abs(again - charged) <= M.MISS_TOLERANCE + 1e-12)
    # and the pass handed back is the pass at the charged chance, row for row
    for key in ("delivered", "read_miss", "busy"):
        np.testing.assert_allclose(solved[-1][key], M._receive(b, charged)[-1][key],
                                   rtol=1e-9, atol=1e-12)


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
    # less, so throughput never falls (up to the fixed point's tolerance on the misses).
    a = qm.predict(path="docker-overlay", proto=proto, flows=flows,
                   dram_misses_in_flight=in_flight)
    b = qm.predict(path="docker-overlay", proto=proto, flows=flows,
                   dram_misses_in_flight=in_flight * factor)
    assert b.throughput_gbps >= a.throughput_gbps * (1 - 1e-3)


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
