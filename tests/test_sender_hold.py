"""The model against a measured link: which UDP senders a full link holds back.

The data are ``tests/sender_hold.py`` runs on the project's 2-vCPU VM (Linux 6.18,
2026-11-29): a 300 Mb/s token bucket on the namespace testbed's link, unlimited UDP over
the Docker and the Linux overlay, the sending namespace's bridge-nf-call-iptables on and
off.  The host is the testbed's (``testbed_host``) with its link at the bucket's rate;
nothing is fitted.
"""

import dataclasses
import json
from pathlib import Path

import pytest

import queuemodel as qm
from queuemodel.testbed import fit

DATA = Path(__file__).parent / "data" / "sender_hold"
RUNS = sorted(DATA.glob("*.json"))


def _cases(run):
    link_gbps = float(run["rate"].removesuffix("mbit")) / 1000.0
    host = dataclasses.replace(fit.testbed_host(run["cpus"], 2500.0), link_gbps=link_gbps)
    for row in run["rows"]:
        r = qm.predict(path=row["path"], proto="udp", msg_bytes=run["msg_bytes"], host=host,
                       bridge_nf_call_iptables=bool(row["bridge_nf_call_iptables"]))
        yield row, r


def test_the_data_are_there():
    assert [p.name for p in RUNS] == ["vm-2cpu-1400.json", "vm-2cpu-8192.json"]


@pytest.mark.parametrize("path", RUNS, ids=lambda p: p.stem)
def test_the_model_holds_back_the_senders_the_kernel_held(path):
    run = json.loads(path.read_text())
    assert run["kernel"].startswith("6.18")
    for row, r in _cases(run):
        if row["qdisc_drop"] < 0.01:
            # Held (the Linux overlay; Docker's without the bridge's iptables hook): the
            # link's rate arrives and the sender loses nothing at its queue.
            assert r.sender_drop_fraction == 0.0, row
            assert r.throughput_gbps == pytest.approx(row["received_gbps"], rel=0.03), row
        else:
            # Not held (Docker's, br_netfilter orphaning its frames): the sender outran the
            # link several times over and the link's queue dropped most of what it sent.
            assert row["path"] == "docker-overlay" and row["bridge_nf_call_iptables"] == 1
            assert r.sender_drop_fraction == pytest.approx(row["qdisc_drop"], abs=0.1), row


def _past_the_link(name):
    run = json.loads((DATA / name).read_text())
    return [(row, r) for row, r in _cases(run) if row["qdisc_drop"] >= 0.01]


def test_whole_datagrams_past_an_overfull_link_arrive_at_its_rate():
    # 1,400 B datagrams, one frame each: what the link carries arrives, as the model says.
    (row, r), = _past_the_link("vm-2cpu-1400.json")
    assert r.throughput_gbps == pytest.approx(row["received_gbps"], rel=0.03)


@pytest.mark.xfail(strict=True, reason="the sending queue cuts datagrams; the model drops "
                                       "whole ones (README: Docker overlay UDP drops)")
def test_cut_datagrams_past_an_overfull_link():
    # 8 KB datagrams, six fragments: the queue drops fragments, nearly every datagram
    # loses one, and 6.18's fragment cache, full of their pieces, refuses the rest; the
    # model drops whole datagrams at the sending NIC, so it says 0.28 Gb/s where 0.003
    # arrived.
    (row, r), = _past_the_link("vm-2cpu-8192.json")
    assert r.throughput_gbps == pytest.approx(row["received_gbps"], rel=0.5)
