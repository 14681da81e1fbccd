"""A NIC that does not check received TCP checksums leaves them to the CPU.

Linux 4.4: a packet the driver hands up as ``CHECKSUM_NONE`` has its TCP
checksum computed in software, by ``csum_partial`` over the payload, in GRO
(``tcp4_gro_receive`` -> ``skb_gro_checksum_validate``) or, with GRO off, in
``tcp_v4_rcv`` or the copy.  The native and routed paths carry that work as
the ``csum_rx`` stage, offloaded by the host's ``rx_csum`` (the paper's
ConnectX-3 checks plain TCP and UDP); the overlays' inner checksum is their
``inner_csum`` stage, offloaded by ``tunnel_offload`` instead, and UDP's is
folded into its copy (``udp_csum``).
"""

import pytest
from hypothesis import given
from hypothesis import strategies as st

import queuemodel as qm
from queuemodel.paths import CSUM_CYCLES_PER_BYTE


def test_without_receive_checksum_offload_native_tcp_pays_per_byte():
    on = qm.predict(path="native", proto="tcp", msg_bytes=131072)
    off = qm.predict(path="native", proto="tcp", msg_bytes=131072, rx_csum=False)
    assert on.stages["rx:csum_rx"] == 0.0
    # By hand: 0.2 cycles a byte (csum_partial's prior) over a 128 KB message, at the
    # model's message rate, on a 2.2 GHz core.
    by_hand = off.message_rate_per_s * CSUM_CYCLES_PER_BYTE * 131072 / 2.2e9
    assert off.stages["rx:csum_rx"] == pytest.approx(by_hand, rel=1e-9)
    assert 0.1 < off.stages["rx:csum_rx"] < 0.3
    # The receiver binds, so the checksum costs throughput.
    assert off.bottleneck.startswith("receiver:flow-core")
    assert off.throughput_gbps < 0.9 * on.throughput_gbps


@pytest.mark.parametrize("path", ["linux-overlay", "docker-overlay"])
def test_the_overlays_inner_checksum_follows_the_tunnel_offload_not_rx_csum(path):
    on = qm.predict(path=path, proto="tcp")
    off = qm.predict(path=path, proto="tcp", rx_csum=False)
    assert off.throughput_gbps == pytest.approx(on.throughput_gbps, rel=1e-12)
    assert on.stages["rx:inner_csum"] > 0.0         # the plain ConnectX-3: in software


@given(st.sampled_from(["native", "routed"]), st.sampled_from(["tcp", "udp"]),
       st.integers(1, 16), st.sampled_from([64, 1024, 8192, 65507]), st.floats(1.5, 4.0))
def test_turning_receive_checksum_offload_off_never_helps(path, proto, flows, size, ghz):
    base = dict(path=path, proto=proto, flows=flows, msg_bytes=size, ghz=ghz)
    on = qm.predict(**base).throughput_gbps
    off = qm.predict(**base, rx_csum=False).throughput_gbps
    assert off <= on * (1 + 1e-9)


def _checksum_rows():
    import json
    from pathlib import Path

    data = Path(__file__).parent / "data" / "testbed" / "vm-2cpu-checksum.json"
    return json.loads(data.read_text())


def test_over_a_veth_the_receiver_checks_only_what_the_sender_did_not():
    # Measured (tests/checksum_experiment.py, vm-2cpu-checksum.json: Linux 6.18,
    # 2026-11-30 04:38 UTC, three alternating passes of 5 s, native TCP 128 KB over the
    # testbed's veth pair, every run profiled).  The receiving end's rx-checksumming off
    # changes nothing: the sender leaves the checksum to the device and the sk_buff
    # crosses CHECKSUM_PARTIAL.  The sending end's tx-checksumming off (TSO goes with
    # it) against TSO off alone: both ends then run csum_partial, 16.1k cycles a
    # message in the profile's csum group (under 0.1k otherwise), 0.12 cycles a byte
    # for the two (the model's prior: 0.2 a byte at each end, for Linux 4.4 on the
    # paper's Broadwell), and the flow loses a fifth (14.6-15.4 -> 11.6-12.2 Gb/s).
    from queuemodel.testbed.profile import cycles_by_workload

    rows = _checksum_rows()
    gbps = {v: [r["throughput_gbps"] for r in rows if r["variant"] == v]
            for v in ("default", "rx-off", "tso-off", "csum-off")}
    assert all(len(g) == 3 for g in gbps.values())
    assert min(gbps["rx-off"]) > 0.95 * min(gbps["default"])
    assert max(gbps["csum-off"]) < 0.85 * min(gbps["tso-off"])
    csum = {v: cycles_by_workload([r for r in rows if r["variant"] == v])[0]
            ["cycles_per_message"].get("csum", 0.0) for v in gbps}
    assert max(csum["default"], csum["rx-off"], csum["tso-off"]) < 200.0
    assert 0.08 < csum["csum-off"] / 131072 < 0.15
    # The rows' features say what each variant set (TSO went with the checksum).
    off = next(r for r in rows if r["variant"] == "csum-off")
    assert off["client_link"]["tx-checksumming"] is False
    assert off["client_link"]["tx-tcp-segmentation"] is False
    assert next(r for r in rows if r["variant"] == "tso-off")["client_link"] \
        == {"tx-checksumming": True, "tx-tcp-segmentation": False,
            "generic-segmentation-offload": True, "rx-checksumming": True}
    # The model over a veth: the receiver's csum_rx follows the sender's tx_csum.
    host = qm.paper_testbed()
    for rx_csum in (True, False):
        r = qm.predict(path="native", proto="tcp", veth_link=True, link_segments=False,
                       rx_csum=rx_csum)
        assert r.stages["rx:csum_rx"] == 0.0
    sent = qm.predict(path="native", proto="tcp", veth_link=True, link_segments=False,
                      tx_csum=False)
    assert sent.stages["rx:csum_rx"] > 0.0 and host.rx_csum


def test_the_fit_reads_the_links_offloads_and_prices_the_checksums():
    # testbed_host_for reads the row's offloads column: the csum-off rows get tx_csum
    # off (and so no TSO, the link carrying packets), the tso-off rows TSO off.  Fitted
    # to the default rows (cycles_scale alone), the model has the two checksums cost
    # 12 % against the measured 21 %, and both variants about 60 % too slow: TCP's
    # per-packet priors, dear on this kernel (the segmentation-off gap, README).
    import statistics

    from queuemodel.testbed import fit as F

    rows = _checksum_rows()
    fit = F.calibrate_dataset([r for r in rows if r["variant"] == "default"])
    model, measured = {}, {}
    for variant in ("default", "rx-off", "tso-off", "csum-off"):
        runs = [r for r in rows if r["variant"] == variant]
        host = F.testbed_host_for(runs[0], fit.values["cycles_scale"])
        assert host.tx_csum == (variant != "csum-off")
        assert host.link_segments == (variant in ("tso-off", "csum-off"))
        model[variant] = float(F.predict_row(runs[0], values=fit.values).throughput_gbps)
        measured[variant] = statistics.mean(r["throughput_gbps"] for r in runs)
    assert model["rx-off"] == pytest.approx(model["default"], rel=0.02)
    assert 0.85 < model["csum-off"] / model["tso-off"] < 0.92
    assert 0.75 < measured["csum-off"] / measured["tso-off"] < 0.83
    for variant in ("tso-off", "csum-off"):
        assert -0.70 < model[variant] / measured[variant] - 1.0 < -0.50


def test_tunnel_offloads_ride_on_the_checksum_offload_of_their_side():
    # mlx4_en (en_rx.c, read in Linux 6.1) marks a VXLAN packet's inner checksum
    # checked (csum_level 1) only under NETIF_F_RXCSUM; the VXLAN GRO the NIC's poll
    # does needs that.  Sending, tunnel TSO and the inner checksum need the transmit
    # checksum as plain TSO does.  The inner-header RSS hash needs neither.
    one = dict(path="docker-overlay", proto="tcp")
    plain = qm.predict(**one).throughput_gbps
    offload = qm.predict(**one, tunnel_offload=True).throughput_gbps
    assert offload > 2.0 * plain                               # 21.1 against 6.5 Gb/s
    no_rx = qm.predict(**one, tunnel_offload=True, rx_csum=False)
    assert no_rx.throughput_gbps == pytest.approx(plain, rel=1e-12)
    assert no_rx.stages["rx:inner_csum"] > 0.0
    no_tx = qm.predict(**one, tunnel_offload=True, tx_csum=False)
    assert no_tx.stages["tx:gso"] > 0.0 and no_tx.stages["tx:inner_csum"] > 0.0
    assert qm.predict(**one, tunnel_offload=True).stages["tx:gso"] == 0.0
    # Six flows on a NIC that does not hash UDP ports: the outer headers tell the
    # flows apart by port alone, so without the inner hash they share one queue; with
    # it they spread, checksum offload or not.
    six = dict(one, flows=6, rss_udp_ports=False)
    outer = qm.predict(**six).throughput_gbps
    inner = qm.predict(**six, tunnel_offload=True, rx_csum=False).throughput_gbps
    assert inner > 2.0 * outer


def test_rps_rehashes_what_a_nic_that_checks_no_checksum_did_not_mark():
    # mlx4_en (en_rx.c, read in Linux 6.1) marks its RSS hash PKT_HASH_TYPE_L4 only for
    # a TCP or UDP packet whose checksum it checked; skb_get_hash reuses only such a
    # hash and otherwise runs the flow dissector, which reads the UDP ports.  So six
    # native 1 KB UDP flows on a NIC that does not hash UDP ports share one CPU under
    # RPS while the NIC checks checksums, and spread when it does not.
    six = dict(path="native", proto="udp", msg_bytes=1024, flows=6, rss_udp_ports=False)
    checked = qm.predict(**six, rps=True)
    rehashed = qm.predict(**six, rps=True, rx_csum=False)
    assert checked.cores_used == pytest.approx(1.0)
    assert rehashed.cores_used > 3.0
    assert rehashed.throughput_gbps > 3.0 * checked.throughput_gbps
    # Fragments carry no ports: the dissector's hash has the one address pair alone.
    frag = qm.predict(**dict(six, msg_bytes=8192), rps=True, rx_csum=False)
    assert frag.cores_used == pytest.approx(1.0)
    # Without RPS the queue is the NIC's, whatever it marked.
    assert qm.predict(**six, rx_csum=False).cores_used == pytest.approx(1.0)
