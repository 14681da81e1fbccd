"""The kernel counter readers against saved samples (tests/data/procfs: this CI machine's
files, Linux 6.18, two CPUs; and a Linux 4.4-style softnet_stat with 11 columns)."""

from pathlib import Path

import pytest

from queuemodel.errors import ModelInputError
from queuemodel.testbed.procfs import (
    Snapshot, delta, parse_interrupts, parse_snmp, parse_softirqs, parse_softnet, parse_stat,
    snapshot,
)

SAMPLES = Path(__file__).parent / "data" / "procfs"


def test_stat_sample():
    # The sample's "cpu0 176960 0 8974 1015932 257 0 767 3080 0 0", read with proc(5)'s
    # column order: user nice system idle iowait irq softirq steal guest guest_nice.
    stat = parse_stat((SAMPLES / "stat").read_text())
    assert set(stat) == {"cpu", 0, 1}
    assert stat[0]["user"] == 176960 and stat[0]["system"] == 8974
    assert stat[0]["irq"] == 0 and stat[0]["softirq"] == 767 and stat[0]["steal"] == 3080
    assert stat["cpu"]["idle"] == 1647178


def test_softirqs_sample():
    # "NET_RX:       5695       5650" and "NET_TX:          3          0".
    soft = parse_softirqs((SAMPLES / "softirqs").read_text())
    assert soft["NET_RX"] == {0: 5695, 1: 5650}
    assert soft["NET_TX"] == {0: 3, 1: 0}
    assert len(soft) == 10


def test_interrupts_sample():
    # " 38:          0       5685 PCI-MSIX-0000:00:03.0   1-edge      virtio2-input.0";
    # "ERR:          0" has one count only.
    irq = parse_interrupts((SAMPLES / "interrupts").read_text())
    assert irq["38"]["counts"] == {0: 0, 1: 5685}
    assert irq["38"]["name"].endswith("virtio2-input.0")
    assert irq["LOC"]["counts"] == {0: 956271, 1: 1575566}
    assert irq["ERR"]["counts"] == {0: 0}


def test_softnet_samples():
    # Linux 6.18: "000027ca 00000000 ... 00000001 00000000 00000000" (cpu index last);
    # Linux 4.4 style: "0001a2b3 00000000 00000004 ...", "00000abc 00000007 ...".
    new = parse_softnet((SAMPLES / "net" / "softnet_stat").read_text())
    assert [row["processed"] for row in new] == [0x20, 0x27CA]
    assert new[1]["cpu_index"] == 1
    old = parse_softnet((SAMPLES / "softnet_stat_linux44.sample").read_text())
    assert old[0]["processed"] == 0x1A2B3 and old[0]["time_squeeze"] == 4
    assert old[1]["dropped"] == 7 and "cpu_index" not in old[1]


def test_snmp_sample():
    # tests/data/procfs/net/snmp: the CI VM's /proc/net/snmp, Linux 6.18, 2026-11-26.
    snmp = parse_snmp((SAMPLES / "net" / "snmp").read_text())
    assert {"Ip", "Icmp", "Tcp", "Udp"} <= set(snmp)
    assert "RcvbufErrors" in snmp["Udp"] and "ReasmOKs" in snmp["Ip"]
    assert all(isinstance(v, int) for v in snmp["Udp"].values())


def test_snapshot_of_a_saved_folder_and_its_delta():
    snap = snapshot(SAMPLES)
    assert snap.softirqs["NET_RX"][1] == 5650
    zero = delta(snap, snap)
    assert zero.softirqs["NET_RX"] == {0: 0, 1: 0}
    assert zero.softnet[1]["processed"] == 0
    assert zero.interrupts["38"]["counts"] == {0: 0, 1: 0}
    assert "name" not in zero.interrupts["38"]
    later = Snapshot(softirqs={"NET_RX": {0: 5700, 1: 5650}})
    assert delta(Snapshot(softirqs={"NET_RX": {0: 5695, 1: 5650}}), later).softirqs == {
        "NET_RX": {0: 5, 1: 0}}


@pytest.mark.parametrize("parser, text", [
    (parse_stat, "intr 5 6\n"),
    (parse_stat, "cpu0 1 two 3\n"),
    (parse_softirqs, "NET_RX: 1 2\n"),
    (parse_softirqs, "   CPU0 CPU1\nNET_RX: 1\n"),
    (parse_interrupts, "   CPU0\n 38: edge\n"),
    (parse_softnet, "zz 00 00\n"),
    (parse_softnet, "0001 0002\n"),
    (parse_snmp, "Udp: InDatagrams\n"),
    (parse_snmp, "Udp: InDatagrams RcvbufErrors\nUdp: 1\n"),
    (parse_snmp, "Udp: InDatagrams\nTcp: 1\n"),
    (parse_snmp, "Udp: InDatagrams\nUdp: x\n"),
])
def test_malformed_counters_are_refused(parser, text):
    with pytest.raises(ModelInputError):
        parser(text)


def test_this_machines_counters_parse():
    # The live files, where there is a /proc (any Linux CI machine).
    if not Path("/proc/net/softnet_stat").exists():
        pytest.skip("no /proc/net/softnet_stat on this system")
    snap = snapshot("/proc")
    assert "NET_RX" in snap.softirqs and len(snap.softnet) >= 1
