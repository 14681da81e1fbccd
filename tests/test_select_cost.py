"""iperf3's system calls a message, measured (tests/select_cost.py), against the
``select`` and ``select_tx`` stages of the built-in paths."""

import json
import statistics
from pathlib import Path

import numpy as np
import pytest

import queuemodel as qm
from queuemodel.paths import PATHS, RECV_SYSCALL, SELECT_RX, SELECT_TX

DATA = json.loads((Path(__file__).parent / "data" / "select-cost.json").read_text())


def _median(key, size):
    return statistics.median(r[key] for r in DATA["select_against_read"]
                             if r["msg_bytes"] == size)


def test_iperf3_selects_before_every_read_and_every_tenth_write():
    # strace -c of iperf3 3.12, 128 B over loopback, 2 s of each end.
    server, client = DATA["iperf3_calls"]["server"], DATA["iperf3_calls"]["client"]
    assert server["read"] > 10_000
    assert server["pselect6"] / server["read"] == pytest.approx(1.0, abs=0.01)
    assert client["write"] / client["pselect6"] == pytest.approx(10.0, abs=0.1)


@pytest.mark.parametrize("size", [64, 128])
def test_a_select_costs_about_a_small_read(size):
    # What the paths assume (the select's prior is the recvmsg's), within what five runs
    # of a pselect() + read() loop against read() alone found on a 2-vCPU VM.
    measured = _median("select_ns", size) / _median("read_ns", size)
    assert 0.7 <= measured <= 1.4
    assert SELECT_RX.cost_cycles_per_unit == RECV_SYSCALL.cost_cycles_per_unit


def test_the_writer_pays_a_select_per_batch_of_writes():
    server, client = DATA["iperf3_calls"]["server"], DATA["iperf3_calls"]["client"]
    per_write = client["pselect6"] / client["write"]
    per_read = server["pselect6"] / server["read"]
    assert SELECT_TX.cost_cycles_per_unit / SELECT_RX.cost_cycles_per_unit == pytest.approx(
        per_write / per_read, rel=0.02)


def test_every_built_in_path_has_iperf3s_loop_on_both_ends():
    for path in PATHS.values():
        assert [s.name for s in path.rx].count("select") == 1
        assert [s.name for s in path.tx].count("select_tx") == 1


def test_a_reader_that_does_not_select_reads_small_messages_faster():
    # A server that reads without waiting in select() first (a blocking read loop) saves
    # the call: small messages, bound by the reader's calls, go faster; 128 KB ones,
    # bound by per-byte and per-packet work, move by what 2,000 cycles are of a
    # message's (23 Gb/s is 22k messages/s: 2 % of a 2.2 GHz core).
    from queuemodel.whatif import run

    sizes = np.array([64, 1024, 131072])
    base = run({"path": "native", "proto": "tcp", "msg_bytes": sizes})
    bare = run({"path": "native", "proto": "tcp", "msg_bytes": sizes,
                "select.cost_cycles_per_unit": 0.0})
    gain = np.asarray(bare.message_rate_per_s) / np.asarray(base.message_rate_per_s)
    assert gain[0] > 1.2 and gain[1] > 1.1
    assert gain[2] < 1.03
    assert (gain >= 1.0 - 1e-12).all()


def test_iperf3s_data_sockets_do_not_block():
    # So a read that empties the queue inside a message returns, and the loop waits in
    # select again: a reader woken inside a message pays a select and a read
    # (model._layout's rereads take both stages).  The control sockets block.
    from queuemodel.model import _layout
    from queuemodel.solver import compile_side

    calls = DATA["iperf3_calls"]["nonblocking_sockets"]
    assert calls["server"].count(True) == 1 and calls["client"].count(True) == 1
    host = qm.paper_testbed()
    rx = compile_side(qm.get_path("native"), "rx", "tcp", host)
    assert _layout(rx).reread_cycles == (SELECT_RX.cost_cycles_per_unit
                                         + RECV_SYSCALL.cost_cycles_per_unit)


def test_iperf3s_reader_is_the_end_that_binds_and_the_model_says_so_only_with_its_select():
    # Measured: TCP over loopback, client pinned to CPU 0, server to CPU 1.  The sending
    # CPU also runs the receive softirq there, yet the server's CPU, which only runs
    # iperf3's loop, is the saturated one.  The model of that one-kernel host (a veth
    # link, the reader on a CPU of its own, any clock scale the VM's fits found) names
    # the reader's core too, with the sending CPU below capacity; without iperf3's
    # select it named the sending CPU.
    from queuemodel.paths import NATIVE, over_veth
    from queuemodel.testbed.fit import testbed_host
    from queuemodel.whatif import with_stage_costs

    for row in DATA["which_end_binds"]:
        assert row["server_cpu_busy"] > 0.97 and row["client_cpu_busy"] < 0.8, row
    path = over_veth(NATIVE)
    bare = with_stage_costs(path, {"select.cost_cycles_per_unit": 0.0,
                                   "select_tx.cost_cycles_per_unit": 0.0}, veth_link=True)
    for scale in (1.0, 1.4, 2.3):
        host = testbed_host(2, 2100.0, 0.0, 1, scale, threads=1)
        for size in (128, 1024):
            r = qm.predict(path=path, proto="tcp", msg_bytes=size, host=host)
            assert r.bottleneck.startswith("receiver:app-core:"), r.bottleneck
            assert r.core_utilisation["rx:flow-core"] < 0.8
            without = qm.predict(path=bare, proto="tcp", msg_bytes=size, host=host)
            assert without.bottleneck.startswith("receiver:flow-core:sender."), \
                without.bottleneck
