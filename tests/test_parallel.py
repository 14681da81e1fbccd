"""Packet-level parallelism for one flow (the paper's first open question): laws."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import queuemodel as qm
from queuemodel.parallel import Handoff, parallel_caps, pipeline, receive_work, rps, spread

PATH_NAMES = qm.paths.ALL_PATH_NAMES          # the paper's three and routed
FREE = Handoff(lines_per_unit=0.0, transfer_ns=0.0, ipi_cycles=0.0, reorder_cycles_per_unit=0.0)


@pytest.mark.parametrize("path", PATH_NAMES)
@pytest.mark.parametrize("proto", ["tcp", "udp"])
def test_one_core_is_the_model_itself(path, proto):
    w = receive_work(path, proto)
    single = qm.predict(path=path, proto=proto).throughput_gbps
    # The blocks account for the whole flow core at the model's rate ...
    assert w.rate_per_s * w.cycles.sum() == pytest.approx(qm.paper_testbed().ghz * 1e9,
                                                          rel=1e-9)
    # ... so one core gives back the model's single-flow throughput.
    assert pipeline(w, 1).throughput_gbps == pytest.approx(single, rel=1e-9)
    assert spread(w, 1).throughput_gbps == pytest.approx(single, rel=1e-9)


@given(path=st.sampled_from(PATH_NAMES), proto=st.sampled_from(["tcp", "udp"]),
       lines=st.floats(0.0, 20.0), reorder=st.floats(0.0, 5000.0))
def test_more_cores_never_hurt_a_pipeline_and_nothing_beats_the_ceiling(path, proto, lines,
                                                                        reorder):
    h = Handoff(lines_per_unit=lines, reorder_cycles_per_unit=reorder)
    caps = parallel_caps(path, proto, ks=range(1, 9), handoff=h)
    w = caps["work"]
    ceiling = w.ceiling_per_s * w.msg_bytes * 8 / 1e9
    assert np.all(np.diff(caps["pipeline_gbps"]) >= -1e-9)
    assert np.all(caps["pipeline_gbps"] <= ceiling * (1 + 1e-9))
    assert np.all(caps["spread_gbps"] <= ceiling * (1 + 1e-9))


@given(path=st.sampled_from(PATH_NAMES), proto=st.sampled_from(["tcp", "udp"]),
       k=st.integers(2, 8), lines=st.floats(0.0, 10.0))
def test_dearer_handoffs_never_help(path, proto, k, lines):
    w = receive_work(path, proto)
    cheap, dear = Handoff(lines_per_unit=lines), Handoff(lines_per_unit=lines + 2.0)
    assert pipeline(w, k, dear).throughput_gbps <= pipeline(w, k, cheap).throughput_gbps + 1e-9
    assert spread(w, k, dear).throughput_gbps <= spread(w, k, cheap).throughput_gbps + 1e-9


def _handoff(w, h):
    return h.cycles_per_unit(w.ghz, w.softirq_entry_cycles, w.napi_weight)


@given(path=st.sampled_from(PATH_NAMES), proto=st.sampled_from(["tcp", "udp"]),
       lines=st.floats(0.0, 20.0), ipi=st.floats(0.0, 20000.0))
def test_rps_is_one_of_the_pipelines_cuts(path, proto, lines, ipi):
    # RPS cuts after the NIC's GRO and nowhere else: never better than the best two-core
    # cut, never better than the ceiling, and at most one core's worth faster.  With a
    # free hand-off it is never slower than one core.
    h = Handoff(lines_per_unit=lines, ipi_cycles=ipi)
    w = receive_work(path, proto)
    split = rps(w, h)
    one = pipeline(w, 1, h).throughput_gbps
    assert split.throughput_gbps <= pipeline(w, 2, h).throughput_gbps * (1 + 1e-12)
    assert split.throughput_gbps <= 2 * one * (1 + 1e-12)
    assert split.groups[0] == w.names[:1] and split.groups[1] == w.names[1:]
    assert rps(w, FREE).throughput_gbps >= one * (1 - 1e-12)


def test_rps_for_one_flow_by_hand():
    # The queue's core keeps the interrupt block; the RPS core runs the rest and takes
    # each unit GRO hands on: 6 lines x 80 ns x 2.2 GHz = 1,056 cycles, and an IPI and a
    # softirq entry (2,200 + 500 cycles) per 64 units.  One Docker TCP flow without
    # tunnel offloads hands on 94 wire packets a 128 KB message, which costs more than
    # the poll it moves: RPS makes it slower.  Native TCP hands on two GRO segments and
    # goes to the link.
    docker = receive_work("docker-overlay", "tcp")
    per_unit = 6 * 80.0 * 2.2 + (2200.0 + 500.0) / 64
    assert _handoff(docker, Handoff()) == pytest.approx(per_unit)
    assert docker.units_in[1] == pytest.approx(94, abs=1)        # 131072 / 1398 MSS
    rest = docker.cycles[1:].sum() + per_unit * docker.units_in[1]
    assert rest > docker.cycles[0]
    expected = 2.2e9 / rest * 131072 * 8 / 1e9
    assert rps(docker).throughput_gbps == pytest.approx(expected, rel=1e-12)
    assert rps(docker).throughput_gbps < qm.predict(path="docker-overlay",
                                                    proto="tcp").throughput_gbps
    native = rps(receive_work("native", "tcp"))
    assert native.limit == "link or sender"
    assert native.throughput_gbps == pytest.approx(
        qm.predict(path="native", proto="tcp", flows=2).link_goodput_gbps, rel=1e-9)


def test_free_handoffs_cut_down_to_the_largest_block():
    # With a core per block, each core carries its block plus what handing units to it
    # costs (here only the next softirq's entry per batch): the busiest is the largest.
    w = receive_work("docker-overlay", "tcp")
    h = _handoff(w, FREE)
    loads = w.cycles + np.r_[0.0, h * w.units_in[1:]]
    split = pipeline(w, len(w.names), FREE)
    assert split.busiest_cycles == pytest.approx(loads.max())


def test_free_spraying_is_bounded_by_the_serial_parts():
    # Spraying: the k cores share the middle; the interrupt block and the reader stay
    # serial, so the cap tends to C / max(first, reader + what is handed to it).
    w = receive_work("docker-overlay", "tcp")
    far = spread(w, 100_000, FREE)
    serial = max(w.cycles[0], w.cycles[-1] + _handoff(w, FREE) * w.units_in[-1])
    assert far.busiest_cycles == pytest.approx(serial, rel=1e-3)


@given(path=st.sampled_from(PATH_NAMES), proto=st.sampled_from(["tcp", "udp"]),
       k=st.integers(1, 8))
def test_no_pipeline_beats_its_largest_block(path, proto, k):
    # A block cannot be cut, so some core carries at least the largest one.
    w = receive_work(path, proto)
    assert pipeline(w, k).busiest_cycles >= w.cycles.max() * (1 - 1e-12)


@pytest.mark.parametrize("k, match", [(0, r"^k = 0: must be an integer with 1 <= x"),
                                      (-2, r"^k = -2:"), (2.5, r"^k = 2.5:"),
                                      (True, r"^k = True: must be an integer >= 1")])
def test_a_core_count_below_one_or_not_whole_is_refused(k, match):
    # Until 2026-11-28 k = 0 answered with one core's figure and 2.5 with two's.
    w = receive_work("docker-overlay", "tcp")
    for strategy in (pipeline, spread):
        with pytest.raises(qm.ModelInputError, match=match):
            strategy(w, k)
    with pytest.raises(qm.ModelInputError, match=match):
        parallel_caps("docker-overlay", "tcp", ks=[1, k])
    with pytest.raises(qm.ModelInputError, match=r"^ks = \[\]: must be at least one"):
        parallel_caps("docker-overlay", "tcp", ks=[])


@pytest.mark.parametrize("path", ["native", "linux-overlay", "docker-overlay", "routed"])
@pytest.mark.parametrize("rx_csum", [True, False])
def test_the_interrupted_core_keeps_the_nics_gro_and_what_gro_checks(path, rx_csum):
    # RPS, and so spraying, hands packets on only after the GRO the NIC's poll calls;
    # a software TCP checksum (native's and routed's csum_rx, between the poll and GRO)
    # is validated in that GRO.  Spraying before GRO would pay a hand-off per packet.
    from queuemodel.hosts import paper_testbed, with_overrides

    host = with_overrides(paper_testbed(), {"rx_csum": rx_csum})
    head = receive_work(path, "tcp", host=host).names[0].split("+")
    assert head[:2] == ["irq", "nic_rx"] and head[-1] == "gro"
    assert ("csum_rx" in head) == (path in ("native", "routed"))


def test_the_transport_is_found_by_what_it_does_not_its_name():
    # Spraying pays for putting TCP back in order where TCP's receive runs; a user's path
    # that names that stage otherwise (same data) gets the same answer.
    import dataclasses

    docker = qm.get_path("docker-overlay")
    renamed = dataclasses.replace(docker, name="mine", rx=tuple(
        dataclasses.replace(s, name="tcp_rcv") if s.name == "tcp_rx" else s
        for s in docker.rx))
    w, mine = receive_work(docker, "tcp"), receive_work(renamed, "tcp")
    assert w.names[w.transport] == "tcp_rx" and mine.names[mine.transport] == "tcp_rcv"
    assert spread(mine, 4).throughput_gbps == spread(w, 4).throughput_gbps
    assert receive_work(docker, "udp").transport == -1          # datagrams keep no order
