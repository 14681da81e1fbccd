"""The testbed on this machine: smoke run, cleanup when killed, the dataset (issue 8).

The runs need root, iproute2, iperf3 and network namespaces; where any is
missing each such test is skipped with the reason (``pytest -rs`` prints it),
never passed silently.
"""

import json
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from queuemodel.errors import ModelInputError
from queuemodel.testbed.netns import Testbed, TestbedError, leftovers, remove_leftovers
from queuemodel.testbed.run import OFFLOADS, parse_features, read_dataset, run_all, write_dataset


def _why_not() -> str:
    if sys.platform != "linux":
        return "not Linux"
    if os.geteuid() != 0:
        return "not root: network namespaces need root"
    if shutil.which("ip") is None:
        return "no iproute2 (`ip`)"
    if shutil.which("iperf3") is None:
        return "no iperf3 (apt-get install iperf3)"
    probe = subprocess.run(["ip", "netns", "add", "qmtb-probe"], capture_output=True, text=True)
    subprocess.run(["ip", "netns", "del", "qmtb-probe"], capture_output=True)
    if probe.returncode != 0:
        return "cannot create network namespaces: " + probe.stderr.strip()
    return ""


REASON = _why_not()
needs_testbed = pytest.mark.skipif(bool(REASON), reason=REASON or "ok")


@needs_testbed
def test_smoke_one_tcp_and_one_udp_run_per_path(tmp_path):
    rows = run_all(protos=("tcp", "udp"), sizes=(8192,), flows=(1,), seconds=2.0)
    assert len(rows) == 6
    for row in rows:
        assert row["throughput_gbps"] > 0 and row["seconds"] > 0.5
        assert row["cpu_sys"] + row["cpu_softirq"] > 0 and row["kernel"]
        assert row["iperf3_version"].startswith("3.") and row["pinned"] is False
        assert row["nodelay"] is False
        # iperf3's own processes: each end's loop and system calls (and the softirq work
        # run in its context) take some of a CPU, no more than the host counted busy
        own = [row[f"{e}_cpu_{k}"] for e in ("client", "server") for k in ("usr", "sys")]
        assert all(0.0 <= v <= row["cpus"] for v in own), own
        busy = row["cpu_usr"] + row["cpu_sys"] + row["cpu_softirq"]
        assert 0.0 < sum(own) <= 1.1 * busy + 0.02, row
        # Each process's context switches: a reader blocks at most once per message it
        # reads (and a few times while it set up and listened before the run).
        messages = row["throughput_gbps"] * 1e9 / 8.0 / row["msg_bytes"] * row["seconds"]
        switches = {k: row[f"{e}_{k}_switches_per_s"] for e in ("client", "server")
                    for k in ("voluntary", "involuntary")}
        assert all(v >= 0.0 for v in switches.values()), switches
        assert row["server_voluntary_switches_per_s"] * row["seconds"] <= messages + 10, row
        if row["proto"] == "tcp":
            # The sender's segments carry the goodput, at most an MSS each (1448 B native,
            # 1398 B through VXLAN; 8 KB writes make no segment under 8192 / 6 B); the
            # receiver's are acknowledgements, fewer than the segments they acknowledge.
            per_segment = row["throughput_gbps"] * 1e9 / 8.0 / row["tcp_sender_segments_per_s"]
            assert 1000.0 < per_segment < 1.05 * 1448, row
            assert 0 < row["tcp_receiver_segments_per_s"] < row["tcp_sender_segments_per_s"]
            # TcpExt counters (every kernel since 3.14 has both): holds and closed windows
            # happen at most once a segment sent and received
            assert 0 <= row["tcp_autocork_per_s"] <= row["tcp_sender_segments_per_s"], row
            assert (0 <= row["tcp_zero_window_per_s"]
                    <= row["tcp_receiver_segments_per_s"]), row
        if shutil.which("ethtool"):
            # a veth's defaults: segmentation on, no GRO (the model's link_segments = off)
            assert "tcp-segmentation-offload=on" in row["offloads"], row["offloads"]
            assert "generic-receive-offload=off" in row["offloads"], row["offloads"]
    assert leftovers() == []
    files = write_dataset(rows, tmp_path / "data")
    assert read_dataset(files[0])[0]["path"] == rows[0]["path"]


@pytest.mark.slow
@needs_testbed
def test_a_longer_path_is_not_faster():
    # The real kernel, 8 KB TCP and UDP, one flow: native >= Linux overlay >= Docker
    # overlay, within 25 %, by each workload's median over five sets of 2-second runs
    # (the paths alternate within a set). Slow, and not in the default run: on this
    # 2-CPU VM one run varies up to 3x (2026-11-27: three sets in a row gave native TCP
    # 9.8, 17.5, 12.7 and Docker 4.3, 11.6, 3.5 Gb/s), so single sets reversed the order
    # in two full CI runs that day (native 7.9 against the Linux overlay's 12.4; the
    # Linux overlay 9.6 against Docker's > 12).
    sets = [run_all(protos=("tcp", "udp"), sizes=(8192,), flows=(1,), seconds=2.0)
            for _ in range(5)]
    by = {}
    for rows in sets:
        for r in rows:
            by.setdefault((r["path"], r["proto"]), []).append(r["throughput_gbps"])
    median = {k: sorted(v)[len(v) // 2] for k, v in by.items()}
    for proto in ("tcp", "udp"):
        native, linux, docker = (median[(p, proto)]
                                 for p in ("native", "linux-overlay", "docker-overlay"))
        assert native * 1.25 >= linux and linux * 1.25 >= docker, (proto, by)
    assert leftovers() == []


# Ctrl-C raises KeyboardInterrupt even when the test runs as a background job, whose
# children inherit an ignored SIGINT (a shell's `cmd &` without job control).
_HOLD = ("import signal, time\nsignal.signal(signal.SIGINT, signal.default_int_handler)\n"
         "from queuemodel.testbed.netns import Testbed\n"
         "with Testbed():\n    print('built', flush=True)\n    time.sleep(60)\n")


def _start_holder():
    proc = subprocess.Popen([sys.executable, "-c", _HOLD], stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "built"
    assert leftovers(), "the testbed should exist while it runs"
    return proc


@needs_testbed
@pytest.mark.skipif(shutil.which("ethtool") is None, reason="no ethtool")
def test_segmentation_off_reaches_the_link_and_the_row():
    rows = run_all(paths=("native",), protos=("tcp", "udp"), sizes=(8192,), flows=(1,),
                   seconds=1.0, segmentation=(False, True))
    # TCP under both settings, UDP (fragmented either way) under the first only
    assert [(r["proto"], r["segmentation"]) for r in rows] == [
        ("tcp", False), ("tcp", True), ("udp", False)]
    assert "tcp-segmentation-offload=off" in rows[0]["offloads"]
    assert "generic-segmentation-offload=off" in rows[0]["offloads"]
    assert "tcp-segmentation-offload=on" in rows[1]["offloads"]
    assert not leftovers()


@needs_testbed
def test_autocorking_off_reaches_the_kernel_and_is_restored():
    # With net.ipv4.tcp_autocorking at 0 the kernel never autocorks, so its counter of
    # autocorking holds (TcpExt: TCPAutoCorking) cannot move; the namespace's setting is
    # back at the kernel's default (1) after the run.
    from queuemodel.testbed.run import _autocorking, measure

    with Testbed() as bed:
        client_ns = bed.endpoints("native")[0]
        assert _autocorking(client_ns) == 1
        row = measure(bed, "native", "tcp", 128, 1, 1.0, pin=True, nodelay=True,
                      autocorking=False)
        assert row["autocorking"] is False and row["nodelay"] is True
        assert row["tcp_autocork_per_s"] == 0.0
        assert _autocorking(client_ns) == 1
        udp = measure(bed, "native", "udp", 1024, 1, 1.0, autocorking=False)
        assert udp["autocorking"] is True                  # untouched for UDP
    assert not leftovers()


@needs_testbed
def test_a_terminated_run_leaves_nothing():
    proc = _start_holder()
    proc.send_signal(signal.SIGTERM)
    proc.wait(timeout=30)
    assert leftovers() == []


@needs_testbed
def test_an_interrupted_run_leaves_nothing():
    proc = _start_holder()
    proc.send_signal(signal.SIGINT)
    proc.wait(timeout=30)
    assert leftovers() == []


@needs_testbed
def test_the_next_run_removes_what_a_killed_one_left():
    proc = _start_holder()
    proc.kill()                                   # SIGKILL: no chance to clean up
    proc.wait(timeout=30)
    assert leftovers()
    with Testbed():
        assert sorted(leftovers()) == ["qmtb-c1", "qmtb-c2", "qmtb-h1", "qmtb-h2"]
    assert leftovers() == []
    assert remove_leftovers() == []


def test_bad_runs_are_refused_before_anything_is_built():
    with pytest.raises(ModelInputError, match="msg_bytes"):
        run_all(protos=("udp",), sizes=(70000,))
    with pytest.raises(ModelInputError, match="path"):
        run_all(paths=("macvlan",))
    for repeats in (0, 101, 2.5):
        with pytest.raises(ModelInputError, match="repeats"):
            run_all(protos=("tcp",), repeats=repeats)
    # iperf3 3.12 reads -t 0.5 as 0, "without end": the run timed out into a traceback.
    for seconds in (0.5, 0, 1.5, 601):
        with pytest.raises(ModelInputError, match=r"^seconds = .*whole number of seconds"):
            run_all(protos=("tcp",), seconds=seconds)
    for window in (2047, 10**9 + 1, 4096.5, "64k"):
        with pytest.raises(ModelInputError, match=r"^window_bytes = .*2048\.\.1000000000"):
            run_all(protos=("tcp",), window_bytes=window)
    for name in ("segmentation", "nodelay", "autocorking"):
        with pytest.raises(ModelInputError, match=rf"^{name} = .*at least one of on, off"):
            run_all(protos=("tcp",), **{name: ()})


def test_a_window_the_cli_cannot_read_is_one_line_and_exit_2(capsys):
    from queuemodel.cli import main

    for text in ("64k", "1000.5", "1"):
        assert main(["testbed", "run", "--window", text]) == 2
        err = capsys.readouterr().err
        assert err.startswith("queuemodel: error: window") and err.count("\n") == 1


def test_switches_the_cli_cannot_read_are_one_line_and_exit_2(capsys):
    from queuemodel.cli import main

    for flag in ("--nodelay", "--autocorking", "--segmentation"):
        assert main(["testbed", "run", flag, "sometimes"]) == 2
        err = capsys.readouterr().err
        assert err.startswith(f"queuemodel: error: {flag[2:]} = 'sometimes': must be on, off")
        assert err.count("\n") == 1


@needs_testbed
def test_a_window_reaches_iperf3_and_the_row():
    (row,) = run_all(paths=("native",), protos=("tcp",), sizes=(131072,), flows=(1,),
                     seconds=1.0, window_bytes=16384)
    (auto,) = run_all(paths=("native",), protos=("tcp",), sizes=(131072,), flows=(1,),
                      seconds=1.0)
    assert row["window_bytes"] == 16384 and auto["window_bytes"] is None
    # both ends' 32 KB buffers (16 KB doubled; the sender's is what binds, README) hold
    # the flow far under an autotuned one
    assert row["throughput_gbps"] < 0.5 * auto["throughput_gbps"]
    assert not leftovers()


def test_outputs_that_cannot_be_written_are_refused_before_the_runs(tmp_path, capsys):
    from queuemodel.cli import main

    data = str(Path(__file__).parent / "data" / "testbed" / "vm-2cpu-gso-a.json")
    for argv in (["testbed", "run", "--out", str(tmp_path / "no" / "set")],
                 ["calibrate", data, "--out", str(tmp_path / "no" / "host.toml")],
                 ["calibrate", data, "--out", str(tmp_path)]):
        assert main(argv) == 2
        err = capsys.readouterr().err
        assert err.startswith("queuemodel: error: --out = ") and err.count("\n") == 1
        assert "must be a file that can be written" in err


def test_without_root_the_testbed_says_what_is_missing(monkeypatch):
    monkeypatch.setattr(os, "geteuid", lambda: 1000)
    with pytest.raises(TestbedError, match="needs root"):
        Testbed().__enter__()


def test_ethtool_features_parse_from_a_saved_sample():
    # `ethtool -k qmtb-l1` on the CI VM (Linux 6.18, ethtool 6.1), a veth end.
    text = (Path(__file__).parent / "data" / "ethtool" / "veth-6.18.txt").read_text()
    features = parse_features(text)
    assert features["tcp-segmentation-offload"] and features["tx-udp_tnl-segmentation"]
    assert not features["generic-receive-offload"]
    assert features["tx-checksum-ip-generic"] and not features["tx-checksum-ipv4"]  # indented
    assert "Features for qmtb-l1" not in features
    assert all(name in features for side in OFFLOADS.values() for name in side)


def test_dataset_round_trip(tmp_path):
    rows = [{"path": "native", "proto": "tcp", "msg_bytes": 8192, "flows": 1,
             "throughput_gbps": 8.5, "kernel": "6.18"}]
    csv_file, json_file = write_dataset(rows, tmp_path / "d.csv")
    assert read_dataset(json_file) == rows
    back = read_dataset(csv_file)[0]
    assert back["msg_bytes"] == 8192 and back["throughput_gbps"] == 8.5


# ------------------------------------------------------------------ where the time goes

def test_kernel_symbols_fall_in_their_groups():
    from queuemodel.testbed.profile import group_shares

    by_hand = {"pv_native_safe_halt": "idle", "csum_partial_copy_generic": "copy",
               "rep_movs_alternative": "copy", "_copy_from_user": "copy",
               "csum_partial": "csum", "vxlan_rcv": "vxlan", "gro_cells_receive": "vxlan",
               "br_handle_frame": "bridge", "br_nf_pre_routing": "bridge",
               "veth_xmit": "veth", "tcp_v4_rcv": "tcp", "__inet_lookup_established": "tcp",
               "__udp4_lib_rcv": "udp", "ip_rcv_core": "ip", "ip_defrag": "ip",
               "fib_table_lookup": "ip", "nf_hook_slow": "ip", "kmem_cache_free": "skb",
               "skb_release_data": "skb", "__netif_receive_skb_core.constprop.0": "netcore",
               "net_rx_action": "netcore", "do_syscall_64": "syscall",
               "_raw_spin_unlock_irqrestore": "sched", "user:iperf_udp_send": "user",
               "siphash_3u32": "other"}
    for symbol, group in by_hand.items():
        assert group_shares({symbol: 1.0}) == {group: 1.0}, symbol


def test_a_saved_perf_report_parses_and_its_groups_conserve_the_samples():
    from queuemodel.testbed.profile import group_shares, parse_report

    text = (Path(__file__).parent / "data" / "perf" / "report-docker-udp-6.18.txt").read_text()
    symbols = parse_report(text)
    listed = [line for line in text.splitlines() if "%  [" in line]
    assert len(symbols) == len(listed) > 100              # every listed symbol, once
    assert symbols["pv_native_safe_halt"] == 33.21        # the first line, by hand
    shares = group_shares(symbols)
    assert sum(shares.values()) == pytest.approx(sum(symbols.values()), rel=1e-12)
    assert sum(symbols.values()) <= 100.0
    assert shares.get("other", 0.0) < 10.0                # the groups name most of it
    assert shares["bridge"] > 0 and shares["vxlan"] > 0   # a Docker overlay run


@given(st.dictionaries(st.sampled_from(("tcp", "udp", "copy", "idle", "other")),
                       st.floats(0.0, 100.0).map(lambda v: round(v, 2)), max_size=5))
def test_profile_text_round_trips(shares):
    from queuemodel.testbed.profile import format_shares, parse_shares

    assert parse_shares(format_shares(shares)) == shares


def test_cycles_by_workload_average_the_runs_and_add_up():
    # Two profiled runs of one workload and one unprofiled: by hand, a run's group takes
    # share x (CPUs - steal) x MHz over the messages delivered a second.  Run 1: 2 CPUs
    # at 2,000 MHz, 8 Gb/s of 1 MB writes (953.67/s): tcp 10 % -> 419,430 cycles.
    # Run 2: steal 0.5 CPU, 4 Gb/s (476.84/s): tcp 10 % -> 629,146.  Their mean 524,288.
    from queuemodel.testbed.profile import cycles_by_workload

    base = {"path": "native", "proto": "tcp", "flows": 1, "msg_bytes": 1 << 20,
            "cpus": 2, "cpu_mhz": 2000.0, "segmentation": True}
    rows = [{**base, "throughput_gbps": 8.0, "cpu_steal": 0.0,
             "profile": "tcp=10.00;copy=30.00;idle=40.00"},
            {**base, "throughput_gbps": 4.0, "cpu_steal": 0.5,
             "profile": "tcp=10.00;copy=20.00;sched=5.00;idle=50.00"},
            {**base, "throughput_gbps": 9.0, "profile": ""}]
    (w,) = cycles_by_workload(rows)
    assert w["runs"] == 2 and "idle" not in w["cycles_per_message"]
    assert w["cycles_per_message"]["tcp"] == pytest.approx((419430.4 + 629145.6) / 2)
    assert w["cycles_per_message"]["sched"] == pytest.approx(314572.8 / 2)   # one run has it
    assert sum(w["cycles_per_message"].values()) == pytest.approx(w["total_cycles_per_message"])
    assert w["cycles_per_kib"] == pytest.approx(w["total_cycles_per_message"] / 1024)
    assert list(w["cycles_per_message"]) == ["copy", "tcp", "sched"]        # largest first
    assert cycles_by_workload([rows[2]]) == []
    with pytest.raises(ModelInputError, match="cpu_mhz"):
        cycles_by_workload([{k: v for k, v in rows[0].items() if k != "cpu_mhz"}])


@given(st.dictionaries(st.sampled_from(("tcp", "ip", "copy", "sched", "idle")),
                       st.floats(0.0, 60.0), min_size=1),
       st.floats(0.01, 100.0), st.integers(1, 65507), st.floats(0.0, 1.5),
       st.floats(500.0, 5000.0), st.floats(0.1, 10.0))
def test_a_workloads_cycles_conserve_the_cpus_time(shares, gbps, size, steal, mhz, faster):
    # Law: a message's cycles in all groups but idle, times the messages a second, are
    # the CPUs' running cycles in those groups; the same run carrying `faster` times the
    # messages on the same shares costs 1/faster as much a message; against another
    # path, each difference is the two workloads' difference.
    from queuemodel.testbed.profile import (cycles_against, cycles_by_workload,
                                            format_shares)

    row = {"path": "docker-overlay", "proto": "udp", "flows": 1, "msg_bytes": size,
           "throughput_gbps": gbps, "cpus": 2, "cpu_steal": steal, "cpu_mhz": mhz,
           "profile": format_shares(shares)}
    (w,) = cycles_by_workload([row])
    messages = gbps * 1e9 / 8 / size
    busy = sum(round(v, 2) for g, v in shares.items() if g != "idle") / 100
    assert w["total_cycles_per_message"] * messages == pytest.approx(
        busy * (2 - steal) * mhz * 1e6, rel=1e-9, abs=1e-6)
    (quick,) = cycles_by_workload([{**row, "throughput_gbps": gbps * faster}])
    assert quick["total_cycles_per_message"] == pytest.approx(
        w["total_cycles_per_message"] / faster, rel=1e-9, abs=1e-9)
    native = {**row, "path": "native", "throughput_gbps": gbps * faster}
    (extra,) = cycles_against(cycles_by_workload([row, native]))
    assert extra["path"] == "docker-overlay"
    assert extra["total_cycles_per_message"] == pytest.approx(
        w["total_cycles_per_message"] - quick["total_cycles_per_message"], rel=1e-9, abs=1e-6)
    assert sum(extra["cycles_per_message"].values()) == pytest.approx(
        extra["total_cycles_per_message"], rel=1e-9, abs=1e-6)


def test_the_cycles_command_prints_each_profiled_workload(capsys, tmp_path):
    from queuemodel.cli import main

    data = Path(__file__).parent / "data" / "testbed" / "vm-2cpu-profiled-3x-c.json"
    assert main(["testbed", "cycles", str(data), "--top", "3"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[1].split()[6:] == ["copy", "sched", "tcp", "rest", "total", "/KiB"]
    assert len(out) == 2 + 15                     # 12 TCP and 3 UDP workloads
    docker_udp = next(line.split() for line in out if line.startswith("docker-overlay  udp"))
    native_udp = next(line.split() for line in out if line.startswith("native          udp"))
    assert float(docker_udp[-2]) > 1.5 * float(native_udp[-2])  # Docker's datagram dearer
    assert main(["testbed", "cycles", str(data), "--json"]) == 0
    assert len(json.loads(capsys.readouterr().out)) == 15
    # Against native: the other paths' workloads, each total the difference of the two.
    assert main(["testbed", "cycles", str(data), "--against", "native", "--json"]) == 0
    extra = json.loads(capsys.readouterr().out)
    assert len(extra) == 10 and {w["path"] for w in extra} == {"linux-overlay",
                                                               "docker-overlay"}
    from queuemodel.testbed.profile import cycles_by_workload
    from queuemodel.testbed.run import read_dataset

    plain = {(w["path"], w["proto"], w["flows"], w["segmentation"]): w
             for w in cycles_by_workload(read_dataset(data))}
    for w in extra:
        mine = plain[(w["path"], w["proto"], w["flows"], w["segmentation"])]
        theirs = plain[("native", w["proto"], w["flows"], w["segmentation"])]
        assert w["total_cycles_per_message"] == pytest.approx(
            mine["total_cycles_per_message"] - theirs["total_cycles_per_message"])
        assert sum(w["cycles_per_message"].values()) == pytest.approx(
            w["total_cycles_per_message"])
        assert w["cycles_per_message"]["vxlan"] > 0          # what only an overlay runs
    # Per KiB: each workload's total is its cycles a KiB, whatever its size.
    assert main(["testbed", "cycles", str(data), "--per-kib", "--json"]) == 0
    kib = json.loads(capsys.readouterr().out)
    for w, p in zip(kib, cycles_by_workload(read_dataset(data))):
        assert w["unit"] == "KiB"
        assert w["total_cycles_per_message"] == pytest.approx(p["cycles_per_kib"])
        assert sum(w["cycles_per_message"].values()) == pytest.approx(
            w["total_cycles_per_message"])
    picture = tmp_path / "cycles.png"
    assert main(["testbed", "cycles", str(data), "--against", "native", "--plot",
                 str(picture)]) == 0
    assert picture.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    capsys.readouterr()
    for bad in (["nofile.json"], [str(data), "--top", "-1"], [str(data), "--against", "x"],
                [str(data), "--plot", str(tmp_path / "cycles.bmp")],
                [str(data), "--plot", str(tmp_path / "no" / "such" / "dir.png")]):
        assert main(["testbed", "cycles", *bad]) == 2
        assert len(capsys.readouterr().err.strip().splitlines()) == 1


@needs_testbed
@pytest.mark.skipif(shutil.which("perf") is None, reason="no perf")
def test_a_profiled_run_records_where_its_time_went():
    from queuemodel.testbed.profile import cycles_per_packet, parse_shares

    (row,) = run_all(paths=("native",), protos=("tcp",), sizes=(131072,), flows=(1,),
                     seconds=1.0, profile=True)
    shares = parse_shares(row["profile"])
    # perf prints each of a few hundred symbols' shares to 0.01 %, and the listed shares
    # may add up to a little over 100: 0.35 % seen, and 1.00 % in a clean-clone CI run
    # on 2026-11-27 (the bound was 101 then and failed by 1e-14); a sanity bound on what
    # perf prints, not a law of the model.
    assert 50.0 < sum(shares.values()) <= 102.0
    assert shares["copy"] > 1.0 and shares["tcp"] > 0.1   # a TCP run copies and runs TCP
    per_packet = cycles_per_packet(shares, row["cpus"], row["cpu_mhz"],
                                   row["throughput_gbps"] * 1e9 / (8 * 1448))
    assert "idle" not in per_packet and all(v >= 0 for v in per_packet.values())
    assert not leftovers()


def test_net_rx_runs_pair_each_entry_with_the_next_exit_on_its_cpu():
    # `perf script -F cpu,time,event,trace --ns` as perf 6.x prints it (the exit's event
    # name is padded); NET_RX is vector 3, the rest (SCHED 7, RCU 9) are left out, as is
    # an exit whose entry came before the trace began.
    from queuemodel.testbed.profile import net_rx_run_seconds

    text = "\n".join([
        "[001] 67283.980600000:  irq:softirq_exit: vec=3 [action=NET_RX]",
        "[000] 67283.980608944: irq:softirq_entry: vec=7 [action=SCHED]",
        "[000] 67283.980615517:  irq:softirq_exit: vec=7 [action=SCHED]",
        "[000] 67283.980616085: irq:softirq_entry: vec=3 [action=NET_RX]",
        "[001] 67283.980617000: irq:softirq_entry: vec=3 [action=NET_RX]",
        "[000] 67283.980617085:  irq:softirq_exit: vec=3 [action=NET_RX]",
        "[001] 67283.980620000:  irq:softirq_exit: vec=3 [action=NET_RX]",
        "[000] 67283.980630000: irq:softirq_entry: vec=3 [action=NET_RX]",
    ])
    assert [round(s * 1e9) for s in net_rx_run_seconds(text)] == [1000, 3000]


@needs_testbed
@pytest.mark.skipif(shutil.which("perf") is None, reason="no perf")
def test_a_traced_run_records_how_long_its_softirq_runs_take():
    # One 8 KB UDP flow: on this VM's kernel each fragment takes a NET_RX run of its own
    # (README, "Softirq runs on this VM"), about a microsecond each (1.1-1.8 us mean on
    # 2026-11-29); the bounds only say the tracing measured runs, not how fast they are.
    (row,) = run_all(paths=("native",), protos=("udp",), sizes=(8192,), flows=(1,),
                     seconds=2.0, softirq_times=True)
    assert 0.05 < row["net_rx_run_us_median"] < 1000 and 0.05 < row["net_rx_run_us"] < 1000
    plain = run_all(paths=("native",), protos=("tcp",), sizes=(8192,), seconds=1.0)[0]
    assert plain["net_rx_run_us"] is None and plain["net_rx_run_us_median"] is None
    assert not leftovers()


def test_sleeps_pair_each_sleep_with_its_waking_and_the_return_that_follows():
    # The tracefs text record_sleeps writes (6.18's format).  Left out: a preemption
    # (state R), a sleep already under way when the trace began (a waking and return with
    # no switch out before them), another process's events, a second waking of the same
    # sleep, a waking that kept it running (no switch before the return), and a sleep the
    # trace ends inside.  A waking just before the switch out is that sleep's.
    from queuemodel.testbed.profile import sleeps

    switch = ("{who}-{pid} [001] d..2. {t}: sched_switch: prev_comm=iperf3 prev_pid={pid} "
              "prev_prio=120 prev_state={state} ==> next_comm=swapper/1 next_pid=0 "
              "next_prio=120")
    waking = ("iperf3-6 [000] d.s4. {t}: sched_waking: comm=iperf3 pid={pid} prio=120 "
              "target_cpu=001")
    back = "iperf3-{pid} [001] ..... {t}: sys_exit: NR 270 = 1"
    text = "\n".join([
        waking.format(t="9.000001", pid=7), back.format(t="9.000003", pid=7),
        switch.format(who="iperf3", t="9.000010", pid=7, state="S"),
        switch.format(who="iperf3", t="9.000011", pid=8, state="S"),
        waking.format(t="9.000012", pid=8),
        waking.format(t="9.000014", pid=7), waking.format(t="9.000015", pid=7),
        back.format(t="9.000018", pid=8),
        back.format(t="9.000019", pid=7),                 # wait 4 us, latency 5 us
        switch.format(who="iperf3", t="9.000030", pid=7, state="R+"),
        back.format(t="9.000031", pid=7),
        switch.format(who="iperf3", t="9.000040", pid=7, state="D"),
        waking.format(t="9.000041", pid=7), back.format(t="9.000043", pid=7),  # 1 us, 2 us
        waking.format(t="9.000045", pid=7), back.format(t="9.000046", pid=7),  # kept running
        waking.format(t="9.000047", pid=7),       # caught between the run queue and the switch
        switch.format(who="iperf3", t="9.000048", pid=7, state="S"),
        back.format(t="9.000051", pid=7),                 # wait 0, latency 3 us
        switch.format(who="iperf3", t="9.000060", pid=7, state="S"),
        waking.format(t="9.000062", pid=7),
    ])
    got = [(round(w * 1e6, 6), round(lat * 1e6, 6)) for w, lat in sleeps(text, 7)]
    assert got == [(4.0, 5.0), (1.0, 2.0), (0.0, 3.0)]
    assert [(round(w * 1e6, 6), round(lat * 1e6, 6)) for w, lat in sleeps(text, 8)] == [
        (1.0, 6.0)]


def test_a_sleep_trace_that_fails_says_why(tmp_path):
    # The tracing script's last complaint becomes the TestbedError (a kernel without an
    # event, a read-only tracefs), instead of a missing file's traceback.
    import subprocess

    from queuemodel.testbed.profile import sleep_trace

    out = tmp_path / "sleeps.txt"
    failing = subprocess.Popen(["sh", "-c", "echo 'sh: 9: cannot create sys_exit/filter: "
                                "No such file' >&2; exit 2"], stderr=subprocess.PIPE, text=True)
    with pytest.raises(TestbedError, match="sleep trace failed: sh: 9: cannot create"):
        sleep_trace(failing, str(out), 10)
    working = subprocess.Popen(["sh", "-c", f"echo traced > {out}"], stderr=subprocess.PIPE,
                               text=True)
    assert sleep_trace(working, str(out), 10) == "traced\n"


def test_sleep_columns_are_none_without_a_trace_and_per_second_with_one():
    from queuemodel.testbed.run import _sleep_columns

    empty = _sleep_columns({}, None)
    assert len(empty) == 10 and all(v is None for v in empty.values())
    row = _sleep_columns({"server": [(1e-6, 3e-6), (3e-6, 5e-6), (2e-6, 7e-6)],
                          "client": []}, 0.5)
    assert row["server_traced_sleeps_per_s"] == 6.0 and row["client_traced_sleeps_per_s"] == 0
    assert row["server_sleep_wait_us"] == pytest.approx(2.0)
    assert row["server_wake_latency_us_median"] == pytest.approx(5.0)
    assert row["client_wake_latency_us"] is None


@needs_testbed
@pytest.mark.skipif(not os.path.isdir("/sys/kernel/tracing/instances"), reason="no tracefs")
def test_a_traced_run_sees_the_readers_sleeps_its_switch_counts_count():
    # One 8 KB Docker-overlay UDP flow, pinned: the reader blocks about once a datagram
    # (vm-2cpu-switches.json: 0.99-1.00).  The trace window sees about as many sleeps a
    # second as the process's voluntary switches counted over the run (2026-11-29: 0.6 to
    # 1.1 of them); the bounds say only that the trace caught the sleeps whole.
    from queuemodel.testbed.profile import SLEEP_INSTANCE

    (row,) = run_all(paths=("docker-overlay",), protos=("udp",), sizes=(8192,),
                     seconds=3.0, pin=True, wake_times=True)
    counted = row["server_voluntary_switches_per_s"]
    assert 0.3 * counted < row["server_traced_sleeps_per_s"] < 3.0 * counted
    assert 0.05 < row["server_wake_latency_us_median"] < 1000
    assert 0.0 <= row["server_sleep_wait_us"] < 1000
    assert not os.path.isdir(SLEEP_INSTANCE) and not leftovers()


def test_the_run_listing_says_when_the_reader_fell_behind(monkeypatch, tmp_path, capsys):
    # A TCP row whose window closed at least 100 times a second is marked (the reader
    # bound: vm-2cpu-autocork.json); a row with fewer, and a UDP row, are not.
    import queuemodel.testbed.run as run
    from queuemodel.cli import main

    base = {"proto": "tcp", "msg_bytes": 128, "flows": 1, "throughput_gbps": 1.2,
            "loss_fraction": 0.0, "cpu_usr": 0.3, "cpu_sys": 1.0, "cpu_softirq": 0.1,
            "cpu_irq": 0.0, "segmentation": True, "nodelay": False, "autocorking": True}
    rows = [{**base, "path": "native", "tcp_zero_window_per_s": 481.0},
            {**base, "path": "docker-overlay", "tcp_zero_window_per_s": 0.4,
             "server_traced_sleeps_per_s": 292969.0, "server_sleep_wait_us": 0.5,
             "server_wake_latency_us": 4.2},
            {**base, "path": "native", "proto": "udp", "tcp_zero_window_per_s": None,
             "server_traced_sleeps_per_s": 0.0, "server_sleep_wait_us": None,
             "server_wake_latency_us": None}]
    monkeypatch.setattr(run, "run_all", lambda **kw: rows)
    monkeypatch.setattr(run, "write_dataset", lambda r, out: [tmp_path / "x.csv"])
    assert main(["testbed", "run", "--out", str(tmp_path / "x")]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].endswith("reader behind (window closed 481/s)")
    assert "behind" not in lines[1] and "behind" not in lines[2]
    # A traced run (--wake-times) says how often its reader slept: 1.2 Gb/s of 128 B is
    # 1,171,875 messages a second, a quarter of which woke it.
    assert "slept" not in lines[0]
    assert lines[1].endswith("reader slept 0.25 a message (waited 0.5 us, woke in 4.2 us)")
    assert lines[2].endswith("reader slept 0.00 a message")


def _link_bytes(namespace, device):
    import json as _json

    out = subprocess.run(["ip", "-n", namespace, "-j", "-s", "link", "show", device],
                         capture_output=True, text=True, check=True).stdout
    stats = _json.loads(out)[0]["stats64"]
    return stats["rx"]["bytes"], stats["tx"]["bytes"]


@needs_testbed
def test_the_routed_path_is_forwarded_by_both_host_namespaces():
    # Beyond the paper: what crosses the link enters the sending host's namespace from the
    # container's veth and leaves the receiving one's by the other container's veth (the
    # host namespaces forward it); nothing takes the overlays' devices.
    from queuemodel.testbed.run import measure

    counted = (("qmtb-h1", "qmtb-l1", 1), ("qmtb-h1", "qmtb-vr", 0),
               ("qmtb-h2", "qmtb-vr", 1), ("qmtb-h2", "qmtb-ve", 1))
    with Testbed() as bed:
        for ns in ("qmtb-h1", "qmtb-h2"):
            delay = subprocess.run(["ip", "netns", "exec", ns, "cat",
                                    "/proc/sys/net/ipv4/neigh/qmtb-vr/proxy_delay"],
                                   capture_output=True, text=True, check=True).stdout
            assert delay.strip() == "0"
        before = [_link_bytes(ns, dev)[k] for ns, dev, k in counted]
        row = measure(bed, "routed", "tcp", 131072, seconds=1.0)
        link, into_host, out_of_host, overlay = (
            _link_bytes(ns, dev)[k] - b for (ns, dev, k), b in zip(counted, before))
    assert link > 1e8 and row["throughput_gbps"] > 0
    # The first run after the build waits for no ARP: proxy ARP answers at once (it waited
    # up to 0.8 s, proxy_delay's default, which the run's CPU shares were divided by).
    assert row["seconds"] < 1.4, row["seconds"]
    assert 0.95 * link <= into_host <= 1.05 * link
    assert 0.95 * link <= out_of_host <= 1.05 * link
    assert overlay < 1e-3 * link
    assert leftovers() == []
