"""The namespace-testbed model and its calibration from a saved dataset.

``tests/data/testbed/vm-2cpu.json`` and ``vm-2cpu-rerun.json`` are two runs of
``queuemodel testbed run`` (5-second iperf3 runs; TCP with 128 KiB writes at 1
and 2 flows, UDP with 8 KiB datagrams at 1 flow) on the 2-vCPU VM this
project's CI uses, Linux 6.18, measured 2026-11-26.  ``vm-2cpu-6x.json`` holds
six passes over the same workloads (``--repeat 3``, twice, 17:13-17:20 UTC the
same day); ``vm-2cpu-3x-later.json`` three more (18:27), ``vm-2cpu-3x-pinned.json``
three with iperf3 pinned (``--pin``: client on CPU 0, server on CPU 1; 18:30).
``vm-2cpu-gso-a.json`` (19:33) and ``vm-2cpu-gso-b.json`` (19:42) hold three passes
each of TCP at 1 and 2 flows with segmentation on and off (``--segmentation on,off``)
and of 8 KiB UDP; ``vm-2cpu-profiled.json`` (20:52) two passes of 1-flow TCP
(segmentation on and off) and of UDP, with ``--profile``; ``vm-2cpu-profiled-3x-a.json``
(21:03) and ``-3x-b.json`` (21:08) three passes each of TCP at 1 and 2 flows with
segmentation on and off and of UDP, all with ``--profile``.  The ``vm-2cpu-sizes-tcp-*``
sets (2026-11-29) hold single-flow TCP at 64 B..128 KB; ``-segs`` also each end's
TCP segments per second; ``vm-2cpu-window.json`` native TCP at 128 B under several socket
buffers, ``-skbs.json`` the sizes of its sk_buffs (``tests/window_bursts.py``);
``vm-2cpu-iperf3-cpu.json`` pinned TCP at 128 B and 1 KB with iperf3's own CPU time;
``vm-2cpu-udp-sizes.json`` (16:07-16:17 UTC that day, another VM host at 2.2 GHz) three
pinned passes of single-flow UDP at 64 B..1 KB and 8 KB and of TCP at 128 KB;
``vm-2cpu-switches.json`` (16:26-16:34, the same host) the same UDP and TCP at 128 B,
1 KB and 128 KB, with each iperf3 process's context switches.
``vm-2cpu-routed.json`` (2026-11-29, 22:35 and 22:38 UTC, a faster VM host at 2.2 GHz)
seven passes of 128 KB TCP and 8 KB UDP, one flow, on the paper's three paths and the
``routed`` one (containers routed by their host namespaces, no overlay);
``vm-2cpu-routed-profiled.json`` (22:40) two passes of native and routed 128 KB TCP with
``--profile``; ``vm-2cpu-profiled-3x-c.json`` (22:55-23:00, that faster host) three
passes as ``-3x-a`` and ``-3x-b``; ``vm-2cpu-profiled-3x-d.json`` (2026-11-30,
00:20-00:27 UTC, a host of that kind, Linux 6.18.44) the same again, measured after the
IP and UDP stages' measurement was written (its test); ``vm-2cpu-routed-profiled-3x.json``
(00:40-00:47) three passes of the four paths, TCP with segmentation on and off and 8 KB
UDP, every run profiled.  The
``iperf3_version`` column (3.12, installed 15:29 that day per
the VM's dpkg log) was added to the rows measured before the testbed recorded it.
"""

import dataclasses
import json
import math
import statistics
import subprocess
import sys
import tomllib
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import queuemodel as qm
from queuemodel.errors import CalibrationError, ModelInputError
from queuemodel.paths import PATHS, over_veth
from queuemodel.testbed import fit as F

DATA = Path(__file__).parent / "data" / "testbed"


def _rows(name="vm-2cpu.json"):
    return json.loads((DATA / name).read_text())


#: The costs the overlay adds, freed with the scale.
OVERLAY_FREE = ("cycles_scale", "vxlan_rx_cycles_per_packet", "bridge_cycles_per_packet")


@pytest.fixture(scope="module")
def fitted():
    return F.calibrate_dataset(_rows())


def test_fit_uses_exactly_the_selected_rows(fitted):
    roles = {(r["path"], r["proto"], r["flows"]): r["role"] for r in fitted.rows}
    assert {k for k, v in roles.items() if v == "fitted"} == {
        (p, "tcp", 1) for p in PATHS}
    assert len(fitted.predictions()) == len(fitted.rows) - 3


def test_fitted_rows_are_reproduced(fitted):
    # Three numbers for three rows; the dataset has linux-overlay a little above
    # native (run-to-run noise), which no positive VXLAN cost can follow, so the
    # fit is not exact: within 10 % of every fitted row.
    assert fitted.success
    for r in fitted.rows:
        if r["role"] == "fitted":
            assert abs(r["error"]) < 0.10, r


def test_this_vm_does_kernel_work_slower_than_the_paper_machine(fitted):
    # The same 128 KiB TCP stream costs more cycles here (Linux 6.18 in a VM vs
    # Linux 4.4 on bare metal): the fitted factor is well above 1 on both runs.
    rerun = F.calibrate_dataset(_rows("vm-2cpu-rerun.json"))
    for fit in (fitted, rerun):
        assert 1.3 < fit.values["cycles_scale"] < 3.0


def test_repeated_runs_of_a_workload_are_reported_once_by_their_median():
    # Two passes of the same workloads (the second with every throughput 20 %
    # higher): one table row per workload, two runs, the median between them,
    # the range spanning both, and the fit aiming between the passes.
    first = _rows()
    second = [{**r, "throughput_gbps": 1.2 * r["throughput_gbps"], "repeat": 1} for r in first]
    fit = F.calibrate_dataset(first + second)
    assert len(fit.rows) == len(first)
    for row, r in zip(first, fit.rows):
        assert r["runs"] == 2
        assert r["measured_gbps"] == pytest.approx(1.1 * row["throughput_gbps"])
        assert r["measured_low_gbps"] == pytest.approx(row["throughput_gbps"])
        assert r["measured_high_gbps"] == pytest.approx(1.2 * row["throughput_gbps"])
        assert r["error"] == pytest.approx(r["model_gbps"] / r["measured_gbps"] - 1)
        assert r["within_range"] == (r["measured_low_gbps"] <= r["model_gbps"]
                                     <= r["measured_high_gbps"])
    single = F.calibrate_dataset(first)
    assert fit.values["cycles_scale"] < single.values["cycles_scale"]
    assert fit.values["cycles_scale"] > single.values["cycles_scale"] / 1.2


def test_six_passes_predict_udp_and_two_flows_within_a_quarter():
    # Issue 8's bar, on the saved six-pass dataset: calibrated on single-flow TCP of
    # the three paths (cycles_scale alone), the median of each predicted workload
    # (8 KiB UDP at 1 flow, 128 KiB TCP at 2 flows, three paths) within 25 %.
    fit = F.calibrate_dataset(_rows("vm-2cpu-6x.json"))
    predicted = fit.predictions()
    assert {(r["path"], r["proto"], r["flows"]) for r in predicted} == (
        {(p, "udp", 1) for p in PATHS} | {(p, "tcp", 2) for p in PATHS})
    for r in predicted:
        assert r["runs"] == 6
        assert abs(r["error"]) < 0.25, r


@pytest.mark.parametrize("name", ["vm-2cpu-6x.json", "vm-2cpu-3x-later.json",
                                  "vm-2cpu-3x-pinned.json", "vm-2cpu-gso-a.json",
                                  "vm-2cpu-gso-b.json", "vm-2cpu-profiled-3x-a.json",
                                  "vm-2cpu-profiled-3x-b.json", "vm-2cpu-profiled-3x-c.json",
                                  "vm-2cpu-profiled-3x-d.json"])
def test_every_saved_multi_pass_dataset_against_the_bar(name):
    # Every multi-pass dataset, calibrated on single-flow TCP with segmentation on.  The
    # issue's bar is 25 %; it holds on the six passes and on gso-a, not on every set:
    # the 18:27 and 18:30 UTC sets have native and Linux-overlay UDP 17-37 % faster than
    # predicted, and gso-b (19:42) has Docker 2-flow TCP 26 % slower than predicted.  The
    # bounds below record those known gaps (the README says so); a model change that
    # widens them fails here.  Rows run with segmentation off are not held to them.
    fit = F.calibrate_dataset(_rows(name))
    for r in fit.predictions():
        if not r["segmentation"]:
            continue
        bound = 0.30 if r["proto"] == "tcp" else 0.40
        assert abs(r["error"]) < bound, r


def test_a_quarter_holds_on_the_segmentation_dataset_a():
    # gso-a (19:33 UTC, three passes): the bar holds, the largest error 19.8 %
    # (Docker overlay TCP at 2 flows), UDP within 20 %.
    fit = F.calibrate_dataset(_rows("vm-2cpu-gso-a.json"))
    bar = [r for r in fit.predictions() if r["segmentation"]]
    assert {(r["path"], r["proto"], r["flows"]) for r in bar} == (
        {(p, "udp", 1) for p in PATHS} | {(p, "tcp", 2) for p in PATHS})
    assert all(abs(r["error"]) < 0.25 for r in bar), bar


def test_segmentation_off_rows_are_predicted_not_fitted():
    # The default fit uses the runs as they come (segmentation on); the runs with it off
    # (one packet per 1448 bytes) are predictions, and a stern test of the per-packet
    # costs: this kernel runs native 3.3x faster than the Docker overlay.  The paper's
    # priors made the three paths about equally fast per packet (under 1.5x) while the
    # Docker overlay's VXLAN GRO segments stayed whole through the bridge; with the
    # testbed's devices taking no TSO segments (forward_tso off, 2026-11-30) they are
    # cut back into packets at the container's veth, and the model has native 1.8x
    # faster: nearer, still short.
    rows = _rows("vm-2cpu-gso-a.json") + _rows("vm-2cpu-gso-b.json")
    fit = F.calibrate_dataset(rows)
    off = {(r["path"], r["flows"]): r for r in fit.rows if not r["segmentation"]}
    assert len(off) == 6 and all(r["role"] == "predicted" for r in off.values())
    assert all(r["role"] == "fitted" for r in fit.rows
               if r["segmentation"] and r["proto"] == "tcp" and r["flows"] == 1)
    measured = {p: off[(p, 1)]["measured_gbps"] for p in PATHS}
    model = {p: off[(p, 1)]["model_gbps"] for p in PATHS}
    assert measured["native"] > 3 * measured["docker-overlay"]
    assert 1.5 * model["docker-overlay"] < model["native"] < 2.5 * model["docker-overlay"]


@pytest.mark.parametrize("name", ["vm-2cpu-profiled.json", "vm-2cpu-profiled-3x-a.json",
                                  "vm-2cpu-profiled-3x-b.json", "vm-2cpu-profiled-3x-c.json",
                                  "vm-2cpu-profiled-3x-d.json",
                                  "vm-2cpu-routed-profiled-3x.json"])
def test_segmentation_off_rows_on_the_profiled_sets(name):
    # README ("The bar, with the overlay's costs measured"): with segmentation off the
    # Linux overlay's TCP is within 10 %, the Docker overlay's 5-35 % low (+80 to +133 %
    # before its GRO segments were cut at the container's veth, forward_tso), native's
    # and routed's 50-65 % low (TCP's per-packet priors).  Recorded gaps, not laws.
    fit = F.calibrate_dataset(_rows(name))
    for r in fit.rows:
        if r["segmentation"]:
            continue
        low, high = {"linux-overlay": (-0.10, 0.10), "docker-overlay": (-0.35, -0.05),
                     "native": (-0.65, -0.50), "routed": (-0.65, -0.50)}[r["path"]]
        assert low < r["error"] < high, (r["path"], r["flows"], r["error"])


def test_a_pinned_run_has_one_sending_and_one_reading_cpu():
    row = {**_rows("vm-2cpu-3x-pinned.json")[1]}
    assert row["pinned"] is True and row["flows"] == 2
    host = F.testbed_host_for({**row, "iperf3_version": "3.17"})    # threads don't matter
    assert host.nic_queues == 1 and not host.app_on_softirq_core
    assert F.testbed_host_for({**row, "pinned": "false", "iperf3_version": "3.17"}
                              ).nic_queues == 2


def test_one_iperf3_thread_serves_every_stream_before_3_16():
    assert F.app_threads(2, "3.12") == 1
    assert F.app_threads(2, "3.9") == 1
    assert F.app_threads(2, "3.16") == 2
    assert F.app_threads(3, "3.17.1") == 3
    assert F.app_threads(2, "") == 2            # unknown: a thread per stream
    one = F.testbed_host(2, 2500.0, flows=2, threads=1)
    assert one.nic_queues == 1 and not one.app_on_softirq_core
    each = F.testbed_host(2, 2500.0, flows=2, threads=2)
    assert each.nic_queues == 2 and each.app_on_softirq_core


def test_two_flows_of_one_thread_go_no_faster_than_one_cpu_pair():
    # With one sending and one reading thread, two flows share the sender's CPU
    # (sending and receive softirq) and the reader's: about one flow's rate.  With
    # a thread per flow each flow has a CPU of its own and the pair goes faster.
    row = {**_rows()[0], "flows": 2}
    one = F.predict_row({**row, "iperf3_version": "3.12"}).throughput_gbps
    single = F.predict_row({**row, "flows": 1}).throughput_gbps
    each = F.predict_row({**row, "iperf3_version": "3.16"}).throughput_gbps
    assert one == pytest.approx(single, rel=0.02)
    assert each > 1.1 * one


def test_the_fit_is_deterministic(fitted):
    again = F.calibrate_dataset(_rows())
    assert again.values == fitted.values


def test_costs_the_selected_rows_do_not_see_keep_their_priors():
    fit = F.calibrate_dataset(_rows(), "path=native", OVERLAY_FREE)
    assert fit.values["vxlan_rx_cycles_per_packet"] == pytest.approx(
        fit.priors["vxlan_rx_cycles_per_packet"])
    assert fit.values["bridge_cycles_per_packet"] == pytest.approx(
        fit.priors["bridge_cycles_per_packet"])


def test_predictions_are_finite_and_udp_reports_the_sent_rate(fitted):
    for r in fitted.rows:
        assert math.isfinite(r["model_gbps"]) and r["model_gbps"] > 0
        if r["proto"] == "udp":
            assert r["model_sent_gbps"] >= r["model_gbps"] * (1 - 1e-9)
            assert r["measured_sent_gbps"] >= r["measured_gbps"]


def test_the_written_profile_is_the_fitted_host(fitted, tmp_path):
    from queuemodel.hosts import load_host, load_stage_costs

    out = tmp_path / "host.toml"
    out.write_text(fitted.to_toml())
    data = tomllib.loads(out.read_text())
    assert data["fit"] == pytest.approx(fitted.values)
    host = load_host(out)
    assert host == fitted.host
    assert host.veth_link and host.sender_on_receive_cpu and not host.link_segments
    # cycles_scale is folded into the clock: the VM's 2.5 GHz over the fitted factor
    assert host.ghz == pytest.approx(2.499998 / fitted.values["cycles_scale"])
    assert load_stage_costs(out) == {}          # cycles_scale alone frees no stage cost


def test_a_profile_with_freed_stage_costs_carries_them(tmp_path):
    from queuemodel.hosts import load_stage_costs

    fit = F.calibrate_dataset(_rows(), free=("cycles_scale", "vxlan_rx_cycles_per_packet",
                                             "bridge_cycles_per_packet"))
    out = tmp_path / "host.toml"
    out.write_text(fit.to_toml())
    assert load_stage_costs(out) == pytest.approx({
        "vxlan_rx.cost_cycles_per_unit": fit.values["vxlan_rx_cycles_per_packet"],
        "bridge.cost_cycles_per_unit": fit.values["bridge_cycles_per_packet"]})


def test_every_host_command_applies_the_profile_stage_costs(tmp_path):
    # predict, sweep and whatif read one profile alike, [stages] included.
    fit = F.calibrate_dataset(_rows(), free=OVERLAY_FREE)
    out = tmp_path / "host.toml"
    out.write_text(fit.to_toml())
    base = ["--host", str(out), "--path", "docker-overlay", "--proto", "udp"]

    def run(*args):
        done = subprocess.run([sys.executable, "-m", "queuemodel", *args], capture_output=True,
                              text=True)
        assert done.returncode == 0, done.stderr
        return done.stdout

    predicted = json.loads(run("predict", *base, "--json"))["throughput_gbps"]
    swept = json.loads(run("sweep", *base, "--json"))
    rows = swept["rows"] if isinstance(swept, dict) else swept
    whatif = json.loads(run("whatif", *base, "--change", "ghz=2", "--json"))
    assert rows[0]["throughput_gbps"] == pytest.approx(predicted, rel=1e-12)
    assert whatif["baseline"]["throughput_gbps"] == pytest.approx(predicted, rel=1e-12)
    # and the freed costs matter: without them the same host predicts another rate
    plain = fit.host
    assert float(qm.predict("docker-overlay", "udp", host=plain).throughput_gbps) != (
        pytest.approx(predicted, rel=1e-3))


def test_predict_with_the_written_profile_reproduces_the_fit(tmp_path):
    # The profile, read by `queuemodel predict --host`, gives the fit's own model
    # numbers, up to the steal of each run (the profile has none; the saved rows
    # lost at most 2 % of a CPU to it).
    rows = _rows("vm-2cpu-6x.json")
    for free in (F.DEFAULT_FREE, OVERLAY_FREE):
        fit = F.calibrate_dataset(rows, free=free)
        out = tmp_path / "host.toml"
        out.write_text(fit.to_toml())
        for row in fit.rows:
            if int(row["flows"]) != 1:
                continue
            done = subprocess.run([sys.executable, "-m", "queuemodel", "predict", "--host",
                                   str(out), "--path", row["path"], "--proto", row["proto"],
                                   "--msg-bytes", str(row["msg_bytes"]), "--json"],
                                  capture_output=True, text=True)
            assert done.returncode == 0, done.stderr
            got = json.loads(done.stdout)["throughput_gbps"]
            assert got == pytest.approx(row["model_gbps"], rel=0.03), row


def test_a_profile_carries_the_unit_scale_to_every_stage(tmp_path):
    # Fitted with every cost that is not per byte scaled, the profile lists each stage's
    # scaled costs (the veth link's too) and the host's scaled softirq entry and context
    # switch: `predict --host` then gives exactly the fit's model for a run without steal.
    # (backlog's per-poll cost is shared by name with the sender's unpolled backlog and
    # keeps its prior in a profile: that moves the Docker overlay by ~0.1 %.)
    from queuemodel.hosts import load_host

    rows = _rows("vm-2cpu-gso-a.json")
    fit = F.calibrate_dataset(rows, "path=*,proto=tcp,flows=1",
                              ("cycles_scale", "unit_cycles_scale", "tcp_cycles_per_packet"))
    out = tmp_path / "host.toml"
    out.write_text(fit.to_toml())
    assert load_host(out) == fit.host
    stages = tomllib.loads(out.read_text())["stages"]
    assert "veth_rx" in stages and "veth_link_xmit" in stages
    for path in PATHS:
        for proto, size in (("tcp", 131072), ("udp", 8192)):
            row = next(r for r in rows if r["path"] == path and r["proto"] == proto)
            row = {**row, "cpu_steal": 0.0, "flows": 1, "msg_bytes": size,
                   "segmentation": True}
            expected = F.predict_row(row, None, fit.values).throughput_gbps
            done = subprocess.run([sys.executable, "-m", "queuemodel", "predict", "--host",
                                   str(out), "--path", path, "--proto", proto,
                                   "--msg-bytes", str(size), "--json"],
                                  capture_output=True, text=True)
            assert done.returncode == 0, done.stderr
            got = json.loads(done.stdout)["throughput_gbps"]
            tolerance = 0.01 if path == "docker-overlay" else 1e-9
            assert got == pytest.approx(expected, rel=tolerance), (path, proto)


@pytest.mark.parametrize("selector", ["path", "path=", "=tcp", ""])
def test_a_malformed_selector_is_refused(selector):
    with pytest.raises(ModelInputError, match="--fit"):
        F.parse_selector(selector)


def test_an_unknown_column_is_refused():
    with pytest.raises(ModelInputError, match="dataset column"):
        F.calibrate_dataset(_rows(), "colour=red")


def test_too_few_rows_for_the_costs_is_refused():
    with pytest.raises(CalibrationError, match="fewer than the 3 costs"):
        F.calibrate_dataset(_rows(), "path=native,proto=udp", OVERLAY_FREE)


def test_a_dataset_without_the_clock_is_refused():
    rows = [{k: v for k, v in r.items() if k != "cpu_mhz"} for r in _rows()]
    with pytest.raises(CalibrationError, match="cpu_mhz"):
        F.calibrate_dataset(rows)


@pytest.mark.parametrize("kwargs, field", [
    (dict(cpus=0, mhz=2500.0), "cpus"),
    (dict(cpus=2, mhz=-1.0), "cpu_mhz"),
    (dict(cpus=2, mhz=2500.0, steal_fraction=1.0), "steal_fraction"),
    (dict(cpus=2, mhz=2500.0, cycles_scale=0.0), "cycles_scale"),
    (dict(cpus=2, mhz=2500.0, flows=2, threads=3), "threads"),
    (dict(cpus=2, mhz=2500.0, threads=0), "threads"),
])
def test_testbed_host_refuses_bad_facts(kwargs, field):
    with pytest.raises(ModelInputError, match=field):
        F.testbed_host(**kwargs)


def test_cli_calibrates_a_dataset_and_writes_the_profile(tmp_path):
    out = tmp_path / "costs.toml"
    done = subprocess.run([sys.executable, "-m", "queuemodel", "calibrate",
                           str(DATA / "vm-2cpu.json"), "--out", str(out)],
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert "predicted" in done.stdout and "fitted" in done.stdout
    assert set(tomllib.loads(out.read_text())["fit"]) == set(F.DEFAULT_FREE)


def test_cli_reads_several_datasets_as_one_and_fits_what_free_names():
    done = subprocess.run([sys.executable, "-m", "queuemodel", "calibrate",
                           str(DATA / "vm-2cpu.json"), str(DATA / "vm-2cpu-rerun.json"),
                           "--free", ",".join(F.FREE), "--json"],
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout)
    assert set(out["values"]) == set(F.FREE)
    assert all(r["runs"] == 2 for r in out["rows"])


def test_cli_refuses_a_missing_dataset_in_one_line(tmp_path):
    done = subprocess.run([sys.executable, "-m", "queuemodel", "calibrate",
                           str(tmp_path / "none.json")], capture_output=True, text=True)
    assert done.returncode == 2
    assert len(done.stderr.strip().splitlines()) == 1 and "DATA" in done.stderr


# ------------------------------------------------------------------ the model's laws

def test_a_veth_link_has_no_hard_irq_and_no_nic_stages():
    for path in PATHS.values():
        names = {s.name for s in over_veth(path).tx + over_veth(path).rx}
        assert not names & {"irq", "nic_rx", "gro", "tx_completion", "driver_tx"}
        r = qm.predict(over_veth(path), "tcp", host=F.testbed_host(2, 2500.0))
        assert r.receiver_cpu["irq"] == 0.0 and r.irq_rate_per_s == 0.0
        assert r.softirq_rate_per_s > 0           # netif_rx still raises NET_RX


def test_a_veth_host_runs_the_built_in_paths_over_veth():
    # The host flag and the path transform are one thing: the built-in paths on a
    # veth host predict exactly what their over_veth versions do (applied twice, the
    # transform changes nothing).
    host = F.testbed_host(2, 2500.0)
    for name, path in PATHS.items():
        for proto in ("tcp", "udp"):
            a = qm.predict(name, proto, host=host)
            b = qm.predict(over_veth(path), proto, host=host)
            assert float(a.throughput_gbps) == float(b.throughput_gbps)
            assert a.stages.keys() == b.stages.keys()


def test_one_kernel_puts_the_sender_on_the_flow_core():
    r = qm.predict(over_veth(PATHS["native"]), "tcp", host=F.testbed_host(2, 2500.0))
    assert any(k.startswith("rx:sender.") for k in r.stages)
    assert not any(k.startswith("tx:") for k in r.stages)


@given(path=st.sampled_from(tuple(PATHS)), proto=st.sampled_from(("tcp", "udp")),
       msg=st.integers(64, 65507), flows=st.integers(1, 8), ghz=st.floats(0.5, 5.0))
def test_sharing_the_cpu_with_the_sender_never_helps(path, proto, msg, flows, ghz):
    # The same host, once with the sender on a machine of its own and once on the
    # receive CPU: carrying the sender's work too can only slow the flow core.
    alone = qm.predict(path, proto, flows=flows, msg_bytes=msg, ghz=ghz)
    shared = qm.predict(path, proto, flows=flows, msg_bytes=msg, ghz=ghz,
                        sender_on_receive_cpu=True)
    assert shared.throughput_gbps <= alone.throughput_gbps * (1 + 1e-9)


@given(path=st.sampled_from(tuple(PATHS)), msg=st.integers(64, 1 << 20),
       ghz=st.floats(0.5, 5.0))
def test_a_link_that_keeps_segments_whole_never_slows_tcp(path, msg, ghz):
    # Fewer, larger packets: every per-packet cost is paid fewer times.
    cut = qm.predict(path, "tcp", msg_bytes=msg, ghz=ghz)
    whole = qm.predict(path, "tcp", msg_bytes=msg, ghz=ghz, link_segments=False)
    assert whole.throughput_gbps >= cut.throughput_gbps * (1 - 1e-9)


def test_udp_fragments_stay_packets_on_a_veth():
    # A veth keeps the GSO skb of TCP whole, but 8 KB UDP is still six IP fragments.
    from queuemodel.solver import features

    host = F.testbed_host(2, 2500.0)
    counts, frag = features("udp", np.array([8192.0]), host, 0)
    assert counts[0, 1] == 6.0 and frag[0] == 1.0
    counts, _ = features("tcp", np.array([131072.0]), host, 0)
    # A GSO segment holds whole MSS: 45 x 1448 B = 65160 B (64 KiB cap, MTU 1500).
    assert counts[0, 1] == pytest.approx(131072 / (45 * 1448), rel=1e-12)


# ------------------------------------------------------------------ segmentation off

def _tcp_row(**changes):
    row = next(r for r in _rows() if r["proto"] == "tcp" and int(r["flows"]) == 1)
    return {**row, **changes}


def test_a_kernel_from_4_7_on_writes_no_shared_socket_line():
    # Linux 4.7 stopped taking a reference on a UDP socket per datagram, so a testbed on
    # a newer kernel runs VXLAN without the shared line the paper's 4.4 writes.  Two
    # Docker flows from a multi-threaded iperf3 (3.16) sit on the VM's two CPUs.
    row = _tcp_row(path="docker-overlay", flows=2, iperf3_version="3.16")
    assert F.kernel_version(row) == (6, 18)
    assert F.kernel_version({"kernel": "4.4.0-142-generic"}) == (4, 4)
    assert F.kernel_version({"kernel": ""}) is None
    new = F.predict_row(row)
    old = F.predict_row({**row, "kernel": "4.4.0-142-generic"})
    assert old.shared_line_remote_fraction == 0.5           # one CPU each: half elsewhere
    assert new.shared_line_remote_fraction == 0.0           # no stage writes the line
    assert old.throughput_gbps < new.throughput_gbps
    host = F.testbed_host_for(row)
    free = qm.predict(path="docker-overlay", proto="tcp", flows=2,
                      host=dataclasses.replace(host, line_transfer_ns=0.0))
    assert new.throughput_gbps == free.throughput_gbps
    native = F.predict_row({**row, "path": "native"})          # no VXLAN: nothing to drop
    assert native.shared_line_remote_fraction == 0.0


def test_a_run_without_segmentation_moves_mss_sized_packets():
    # ethtool -K ... tso off gso off: TCP still builds GSO sk_buffs (always, since Linux
    # 4.19), the kernel cuts them into MSS-sized packets in software as they leave, and
    # a veth does no GRO, so the link and the receiver see one packet per 1448 bytes
    # instead of one per GSO sk_buff.
    off = F.testbed_host_for(_tcp_row(segmentation=False))
    on = F.testbed_host_for(_tcp_row(segmentation=True))
    assert (off.tso, off.gso, off.link_segments) == (False, True, True)
    assert (on.tso, on.gso, on.link_segments) == (True, True, False)
    assert F.segmented({k: v for k, v in _tcp_row().items() if k != "segmentation"})
    assert F.segmented(_tcp_row(segmentation="True")) and not F.segmented(
        _tcp_row(segmentation="False"))              # CSV text reads back alike
    r_off = F.predict_row(_tcp_row(segmentation=False))
    r_on = F.predict_row(_tcp_row(segmentation=True))
    per_message = r_off.wire_packet_rate_per_s / r_off.message_rate_per_s
    assert per_message == pytest.approx(131072 / 1448, rel=0.02)
    assert r_on.wire_packet_rate_per_s / r_on.message_rate_per_s < 4
    assert r_off.throughput_gbps < r_on.throughput_gbps


def test_the_unit_scale_multiplies_every_cost_but_the_per_byte_ones():
    host = F.testbed_host(2, 2500.0)
    paths, scaled = F.scale_unit_costs(PATHS, host, 3.0)
    for name, path in paths.items():
        veth = over_veth(PATHS[name])                                  # the link's stages too
        assert [s.name for s in path.tx + path.rx] == [s.name for s in veth.tx + veth.rx]
        for stage, old in zip(path.tx + path.rx, veth.tx + veth.rx):
            assert stage.cost_cycles_per_unit == 3.0 * old.cost_cycles_per_unit
            assert stage.cost_cycles_per_invocation == 3.0 * old.cost_cycles_per_invocation
            assert stage.cost_cycles_per_byte == old.cost_cycles_per_byte
    assert scaled.softirq_entry_cycles == 3.0 * host.softirq_entry_cycles
    assert scaled.context_switch_cycles == 3.0 * host.context_switch_cycles
    assert scaled.ghz == host.ghz


def test_a_profiled_routed_set_repeats_the_routed_prediction_without_the_measured_costs():
    # vm-2cpu-routed-profiled-3x.json (README, "A path the model was never fitted to"):
    # fitted to the paper's three paths as for vm-2cpu-routed.json, routed TCP and UDP
    # are within 8 % and 3 % again, and routed TCP is again measured faster than native.
    # With the profile's measured costs the same fit leaves routed UDP 20-30 % low: a
    # recorded gap (the unmeasured veth and backlog priors), not a law.
    rows = _rows("vm-2cpu-routed-profiled-3x.json")
    selector, free = "path=[!r]*,flows=1,segmentation=True", ("cycles_scale",
                                                              "unit_cycles_scale")

    def routed(fit):
        return {(r["proto"], r["segmentation"]): r for r in fit.rows if r["path"] == "routed"}

    plain = F.calibrate_dataset(rows, selector, free, measure=False)
    got = routed(plain)
    assert all(r["role"] == "predicted" for r in got.values())
    assert abs(got[("tcp", True)]["error"]) < 0.08 and abs(got[("udp", True)]["error"]) < 0.03
    native = next(r for r in plain.rows if (r["path"], r["proto"], r["segmentation"])
                  == ("native", "tcp", True))
    assert got[("tcp", True)]["measured_gbps"] > native["measured_gbps"]
    measured = routed(F.calibrate_dataset(rows, selector, free))
    assert -0.30 < measured[("udp", True)]["error"] < -0.20


def test_a_measured_cost_is_not_scaled_by_the_unit_scale(tmp_path):
    # A stage cost a profile measured is the machine's (in paper cycles through
    # cycles_scale); unit_cycles_scale is a factor on the paper's priors, so it leaves
    # a measured cost as it is: the prediction equals the priors scaled, then the
    # measured cost set; and the host profile lists the measured value unscaled.
    from queuemodel.calibrate import apply_parameters
    from queuemodel.hosts import load_stage_costs

    row = _tcp_row(path="linux-overlay", proto="udp", msg_bytes=8192)
    measured = {"vxlan_rx.cost_cycles_per_unit": 300.0, "ip_rx.cost_cycles_per_unit": 150.0}
    got = F.predict_row(row, values={"unit_cycles_scale": 0.4, **measured})
    paths, host = F.scale_unit_costs(PATHS, F.testbed_host_for(row), 0.4)
    paths, host = apply_parameters(measured, paths, host)
    expected = qm.predict(path=paths["linux-overlay"], proto="udp", msg_bytes=8192, host=host)
    assert got.throughput_gbps == expected.throughput_gbps
    both = F.predict_row(row, values={"unit_cycles_scale": 0.4,
                                      **{k: 0.4 * v for k, v in measured.items()}})
    assert both.throughput_gbps > got.throughput_gbps          # the old double scaling
    values = {"cycles_scale": 1.0, "unit_cycles_scale": 0.4, **measured}
    fit = F.DatasetFit(values, dict.fromkeys(values, 1.0), [], True,
                       host=F.testbed_host_for(row))
    out = tmp_path / "host.toml"
    out.write_text(fit.to_toml())
    costs = load_stage_costs(out)
    assert costs["vxlan_rx.cost_cycles_per_unit"] == 300.0
    assert costs["tcp_rx.cost_cycles_per_unit"] == pytest.approx(0.4 * 2500.0)


@given(st.sampled_from(tuple(PATHS)), st.sampled_from(("tcp", "udp")), st.booleans(),
       st.floats(0.1, 5.0))
def test_costlier_packets_never_speed_a_run_up(path, proto, segmentation, factor):
    row = _tcp_row(path=path, proto=proto, msg_bytes=131072 if proto == "tcp" else 8192,
                   segmentation=segmentation)
    one = F.predict_row(row, values={"unit_cycles_scale": 1.0})
    assert one.throughput_gbps == F.predict_row(row).throughput_gbps
    low = F.predict_row(row, values={"unit_cycles_scale": factor})
    high = F.predict_row(row, values={"unit_cycles_scale": factor * 1.5})
    assert high.throughput_gbps <= low.throughput_gbps * (1 + 1e-9)


def test_cli_refuses_a_bad_segmentation_setting_in_one_line():
    done = subprocess.run([sys.executable, "-m", "queuemodel", "testbed", "run",
                           "--segmentation", "maybe"], capture_output=True, text=True)
    assert done.returncode == 2
    assert len(done.stderr.strip().splitlines()) == 1 and "segmentation" in done.stderr


def test_a_profiled_dataset_shows_each_path_in_its_own_functions():
    # vm-2cpu-profiled.json (20:52 UTC, `--profile`, two passes): every run's CPU time
    # by group of kernel functions.  Each path runs exactly the devices it is built
    # from: VXLAN only on the overlays, the bridge only on the Docker overlay, veth on
    # all (the link is a veth pair).
    from queuemodel.testbed.profile import parse_shares

    rows = _rows("vm-2cpu-profiled.json")
    assert len(rows) == 18
    for row in rows:
        shares = parse_shares(row["profile"])
        assert 95.0 <= sum(shares.values()) <= 101.0
        assert shares.get("veth", 0.0) > 0.0
        assert (shares.get("vxlan", 0.0) > 0.5) == (row["path"] != "native")
        assert (shares.get("bridge", 0.0) > 0.5) == (row["path"] == "docker-overlay")


def test_a_profile_measures_the_vxlan_and_bridge_costs_per_packet():
    # By hand from the raw rows: a group's share of all CPUs' running cycles (steal
    # taken out) over the packets (1398-byte MSS inside VXLAN), median over the runs.
    # VXLAN's stages take the tunnel's outer UDP as well (paths.VXLAN_RX: "outer
    # udp_rcv -> vxlan_rcv"), which the profile's udp group holds on a TCP row.
    rows = _rows("vm-2cpu-profiled.json")
    from queuemodel.testbed.profile import parse_shares

    def by_hand(groups, paths):
        values = []
        for r in rows:
            if r["path"] in paths and r["proto"] == "tcp" and not r["segmentation"]:
                cycles_per_s = (r["cpus"] - r["cpu_steal"]) * r["cpu_mhz"] * 1e6
                packets_per_s = r["throughput_gbps"] * 1e9 / 8 / 1398
                shares = parse_shares(r["profile"])
                values.append(sum(shares[g] for g in groups) / 100 * cycles_per_s
                              / packets_per_s)
        return float(np.median(values))

    measured = F.measured_cycles_per_packet(rows)
    assert set(measured) == {"vxlan", "bridge"}
    overlays = ("linux-overlay", "docker-overlay")
    assert measured["vxlan"] == pytest.approx(by_hand(("vxlan", "udp"), overlays), rel=1e-12)
    assert measured["vxlan"] > 1.2 * by_hand(("vxlan",), overlays)    # the outer UDP counts
    assert measured["bridge"] == pytest.approx(by_hand(("bridge",), ("docker-overlay",)),
                                               rel=1e-12)
    assert F.measured_cycles_per_packet(_rows("vm-2cpu-6x.json")) == {}   # no profile


def test_measured_stage_costs_keep_the_priors_ratio_and_reach_the_profile(tmp_path):
    from queuemodel.hosts import load_stage_costs

    rows = _rows("vm-2cpu-profiled.json")
    fit = F.calibrate_dataset(rows)
    plain = F.calibrate_dataset(rows, measure=False)
    assert set(plain.values) == {"cycles_scale"}
    costs = {k: v for k, v in fit.values.items() if "." in k}
    ip = ("ip_tx", "ip_fragment", "ip_rx", "ip_defrag", "outer_ip_tx", "inner_ip_rx",
          "ip_forward")
    assert set(costs) == {f"{s}.cost_cycles_per_unit" for s in (
        "vxlan_rx", "vxlan_tx", "vxlan_gro", "bridge", "udp_tx", "udp_rx", *ip)}
    # Each group's stages keep the ratio of their priors (one factor a group).
    for group in (("vxlan_rx", "vxlan_tx", "vxlan_gro"), ("udp_tx", "udp_rx"), ip):
        factors = [costs[f"{s}.cost_cycles_per_unit"] / fit.priors[f"{s}.cost_cycles_per_unit"]
                   for s in group]
        assert factors == pytest.approx([factors[0]] * len(factors), rel=1e-12)
    # in paper cycles through the fitted scale: the measured VXLAN time per packet
    scale = fit.values["cycles_scale"]
    vxlan = (costs["vxlan_rx.cost_cycles_per_unit"] + costs["vxlan_tx.cost_cycles_per_unit"]
             + costs["vxlan_gro.cost_cycles_per_unit"]) * scale
    assert vxlan == pytest.approx(F.measured_cycles_per_packet(rows)["vxlan"], rel=1e-6)
    out = tmp_path / "host.toml"
    out.write_text(fit.to_toml())
    assert load_stage_costs(out) == pytest.approx(costs)


def test_a_profile_measures_the_ip_and_udp_costs_per_datagram():
    # By hand from the raw rows: on the profiled native 8 KiB UDP runs, the ip and udp
    # groups' cycles per datagram (steal taken out) over what the paper's priors
    # charge a datagram there.  8,200 bytes of UDP in 1,480-byte pieces: 6 fragments
    # (MTU 1500).  udp: udp_tx + udp_rx, 1000 + 1000 once.  ip: ip_tx once (300),
    # then per fragment ip_fragment 250, ip_rx 300 and ip_defrag 92.53 (S4's fit).
    from queuemodel.testbed.profile import parse_shares

    rows = _rows("vm-2cpu-profiled.json")
    charged = {"udp": 2000.0, "ip": 300.0 + 6 * (250.0 + 300.0 + 92.53)}

    def by_hand(group):
        values = []
        for r in rows:
            if (r["path"], r["proto"], r["flows"]) == ("native", "udp", 1):
                cycles_per_s = (r["cpus"] - r["cpu_steal"]) * r["cpu_mhz"] * 1e6
                datagrams_per_s = r["throughput_gbps"] * 1e9 / 8 / r["msg_bytes"]
                values.append(parse_shares(r["profile"])[group] / 100 * cycles_per_s
                              / datagrams_per_s / charged[group])
        assert len(values) == 2
        return float(np.median(values))

    ratios = F.measured_datagram_ratios(rows)
    assert set(ratios) == {"udp", "ip"}
    for group in ratios:
        assert ratios[group] == pytest.approx(by_hand(group), rel=1e-3)
    assert F.measured_datagram_ratios(_rows("vm-2cpu-6x.json")) == {}   # no profile
    # In paper cycles through the fitted scale, the datagram's udp stages cost what the
    # profile measured (the ratio of the priors kept, so each is half of it).
    fit = F.calibrate_dataset(rows)
    udp = fit.values["udp_rx.cost_cycles_per_unit"] + fit.values["udp_tx.cost_cycles_per_unit"]
    assert udp * fit.values["cycles_scale"] == pytest.approx(ratios["udp"] * 2000.0, rel=1e-6)


def test_measured_overlay_costs_predict_the_profiled_udp_within_a_quarter():
    # vm-2cpu-profiled.json: cycles_scale alone (the paper's per-packet VXLAN and bridge
    # costs) predicts UDP -6 / -28 / -18 %; with those two costs measured from the
    # profiled segmentation-off TCP runs (and IP's and UDP's from the native UDP runs:
    # -5 / +9 / +13 %), every UDP prediction is within 25 %.
    rows = _rows("vm-2cpu-profiled.json")
    plain = {r["path"]: r["error"] for r in F.calibrate_dataset(rows, measure=False).rows
             if r["proto"] == "udp"}
    measured = {r["path"]: r["error"] for r in F.calibrate_dataset(rows).rows
                if r["proto"] == "udp"}
    assert plain["linux-overlay"] < -0.25
    assert all(abs(e) < 0.25 for e in measured.values()), measured


@pytest.mark.parametrize("name", ["vm-2cpu-profiled-3x-a.json", "vm-2cpu-profiled-3x-b.json",
                                  "vm-2cpu-profiled-3x-c.json", "vm-2cpu-profiled-3x-d.json"])
def test_the_bar_holds_with_overlay_costs_measured_from_the_profile(name):
    # Issue 8's bar with the profiled calibration (single-flow TCP of the three paths,
    # with segmentation on for cycles_scale and off, profiled, for the VXLAN and bridge
    # costs; the native UDP, profiled, for IP's and UDP's): 8 KiB UDP at 1 flow and TCP
    # at 2 flows, three paths, within 25 % (largest 20.4 %, README; 3x-c missed by its
    # native UDP, -27 %, until IP and UDP were measured, 2026-11-30; 3x-d was measured
    # after, and the code before gives its native UDP -28.8 %).  With cycles_scale
    # alone the Linux overlay's UDP is predicted 24.9, 28.7, 41.8 and 43.5 % below the
    # measured, further off than with the measured costs.
    rows = _rows(name)
    bar = {("udp", 1), ("tcp", 2)}
    fit = F.calibrate_dataset(rows)
    checked = [r for r in fit.predictions()
               if r["segmentation"] and (r["proto"], int(r["flows"])) in bar]
    assert len(checked) == 6
    assert all(abs(r["error"]) < 0.25 for r in checked), checked
    plain = F.calibrate_dataset(rows, measure=False)
    linux_udp = next(r for r in plain.rows if (r["path"], r["proto"]) == ("linux-overlay", "udp"))
    measured = next(r for r in checked if (r["path"], r["proto"]) == ("linux-overlay", "udp"))
    assert linux_udp["error"] < -0.2 and abs(linux_udp["error"]) > abs(measured["error"])


def test_on_another_vm_host_the_measured_costs_mend_every_paths_udp():
    # profiled-3x-c, a faster VM host (native TCP 42 Gb/s against 23-28 on the host of
    # -3x-a and -3x-b): with the VXLAN and bridge costs its profile measured (a tenth of
    # the paper's per-packet VXLAN cost), the overlays' UDP comes within 11 % and 2-flow
    # TCP within 9 %, where cycles_scale alone leaves the overlays' UDP 40-42 % slow.
    # Native UDP was 27 % slow until its IP and UDP stages were measured too (a fifth
    # of the paper's UDP cost a datagram, 0.64 of its IP cost; 2026-11-30): -12 %.
    rows = _rows("vm-2cpu-profiled-3x-c.json")
    bar = {("udp", 1), ("tcp", 2)}
    fit = F.calibrate_dataset(rows)
    error = {(r["path"], r["proto"]): r["error"] for r in fit.predictions()
             if r["segmentation"] and (r["proto"], int(r["flows"])) in bar}
    assert len(error) == 6
    assert fit.values["vxlan_rx.cost_cycles_per_unit"] < 0.2 * qm.get_path(
        "docker-overlay").rx[4].cost_cycles_per_unit
    for path in ("linux-overlay", "docker-overlay"):
        assert abs(error[(path, "udp")]) < 0.12
    assert all(abs(error[(p, "tcp")]) < 0.10 for p in PATHS)
    assert -0.15 < error[("native", "udp")] < -0.10
    ratios = F.measured_datagram_ratios(rows)
    assert ratios["udp"] < 0.25 and ratios["ip"] < 0.7
    plain = {r["path"]: r["error"] for r in F.calibrate_dataset(rows, measure=False).rows
             if r["proto"] == "udp"}
    assert plain["linux-overlay"] < -0.35 and plain["docker-overlay"] < -0.35
    assert plain["native"] < -0.2


@pytest.mark.parametrize("name", ["vm-2cpu-sizes-tcp-a.json", "vm-2cpu-sizes-tcp-b.json"])
def test_small_tcp_messages_on_this_vm_run_in_two_regimes(name):
    # README, "Small TCP messages on this VM": single-flow TCP at 64 B..128 KB, fitted on
    # the 128 KB rows.  The data: at 1 KB a run either takes about one NET_RX softirq per
    # message (>= 90k a second) and carries at most 1.5 Gb/s, or takes few (< 50k) and
    # carries over 3.  The model with its shipped coalescing (the fast regime; the slow
    # one is the next test's) misses the small sizes; the bounds record its gaps (64 B
    # too slow, 1 KB and 8 KB too fast), so a change that widens them fails here.  They
    # widened once, on purpose (2026-11-29): a fixed burst of 11.58 segments gave 1 KB
    # +1.3..+2.2 and 8 KB +0.2..+0.9; the paper's hold (96 us, fitted to P6), applied to
    # this VM's sender, gathers 8 KB writes into 64 KB bursts: 1 KB +1.6..+2.7, 8 KB
    # +0.7..+2.0.  They moved again when iperf3's select before each read was counted
    # (later that day; the hold refitted to 68 us): 64 B -0.55..-0.62 (from -0.28..-0.42:
    # the 128 KB fit scales the per-message priors to about 2.8 us a select and read on
    # this VM, where tests/select_cost.py measures ~0.7 us), 1 KB +0.73..+1.51, 8 KB
    # +0.45..+1.81.
    rows = _rows(name)
    for r in (r for r in rows if r["msg_bytes"] == 1024):
        per_second = r["throughput_gbps"] * 1e9 / 8.0 / 1024
        if r["net_rx_softirq_per_s"] >= 90e3:
            assert per_second / r["net_rx_softirq_per_s"] < 1.5 and r["throughput_gbps"] < 1.5
        else:
            assert r["net_rx_softirq_per_s"] < 50e3 and r["throughput_gbps"] > 3.0
    fit = F.calibrate_dataset(rows, "path=*,proto=tcp,flows=1,msg_bytes=131072")
    error = {(r["path"], r["msg_bytes"]): r["error"] for r in fit.predictions()}
    assert set(error) == {(p, b) for p in PATHS for b in (64, 256, 1024, 8192)}
    for path in PATHS:
        assert -0.7 < error[(path, 64)] < -0.45
        assert 0.6 < error[(path, 1024)] < 1.8
        assert 0.35 < error[(path, 8192)] < 2.0


#: The paper host's hold (hosts.py, fitted to P6), which the testbed host keeps.
SHIPPED_HOLD_US = qm.paper_testbed().tcp_coalesce_hold_us


def _acks_per_segment(row):
    return row["tcp_receiver_segments_per_s"] / row["tcp_sender_segments_per_s"]


def _segments_per_write(row):
    writes = row["throughput_gbps"] * 1e9 / 8.0 / row["msg_bytes"]
    return row["tcp_sender_segments_per_s"] / writes


def _predicted_gbps(row, cycles_scale, hold_us):
    host = F.testbed_host_for(row, cycles_scale)
    host = qm.hosts.with_overrides(host, {"tcp_coalesce_hold_us": hold_us})
    return float(qm.predict(path=PATHS[row["path"]], proto="tcp", flows=1,
                            msg_bytes=int(row["msg_bytes"]), host=host).throughput_gbps)


def test_small_tcp_writes_slow_regime_is_every_write_leaving_alone():
    # README, "Small TCP messages on this VM": vm-2cpu-sizes-tcp-segs.json (2026-11-29,
    # 06:17-06:20 UTC, three passes) records each end's TCP segments (Tcp: OutSegs, counted
    # in MSS units).  At 1 KB and 8 KB a run is in one of two regimes, told apart by how
    # often the receiver acknowledges: at least one segment in ten (the slow regime), or
    # fewer than one in fifteen (one 8 KB run, at one in eleven, lies between; at 1 KB the
    # regimes are one in two and one in twenty).  In the slow one every write leaves alone
    # (ceil(msg / MSS) a write, not msg / MSS), which is tcp_coalesce_hold_us = 0 in the
    # model.  Fitted at 128 KB only, the model predicts those runs within 40 % with it
    # and 1.6-4.0x too fast with the shipped hold (68 us; 2.1-5.3x at 96 us before
    # iperf3's select was counted, 1.2-5x with the fixed burst of 11.58 segments); the
    # fast runs sit nearer the coalesced prediction instead (within 2.4x: the 1 KB ones
    # are 2.0x and 2.4x faster than it, 1.3x and 1.6x at 96 us).  Fails if the segment
    # counts stop showing the two regimes, or if the model's no-coalescing regime moves
    # away from the slow runs.
    rows = _rows("vm-2cpu-sizes-tcp-segs.json")
    scale = F.calibrate_dataset(rows, "path=*,proto=tcp,flows=1,msg_bytes=131072"
                                ).values["cycles_scale"]
    slow = fast = between = 0
    for r in (r for r in rows if r["msg_bytes"] in (1024, 8192)):
        acks = _acks_per_segment(r)
        if 1 / 15 <= acks <= 0.1:
            assert r["msg_bytes"] == 8192, r
            between += 1
            continue
        mss = qm.wire.tcp_mss_bytes(1500, PATHS[r["path"]].encap_bytes)
        whole = math.ceil(r["msg_bytes"] / mss)
        alone, coalesced = (_predicted_gbps(r, scale, t) for t in (0.0, SHIPPED_HOLD_US))
        if acks > 0.1:
            slow += 1
            assert 0.93 * whole < _segments_per_write(r) <= whole, r
            assert abs(r["throughput_gbps"] / alone - 1.0) < 0.4, (r, alone)
            assert 1.2 < coalesced / r["throughput_gbps"] < 5.5, (r, coalesced)
        else:
            fast += 1
            assert _segments_per_write(r) < 1.02 * r["msg_bytes"] / mss, r
            assert abs(math.log(r["throughput_gbps"] / coalesced)) < math.log(2.5), r
            assert r["throughput_gbps"] / alone > (3.0 if r["msg_bytes"] == 1024 else 1.2)
    assert slow >= 9 and fast >= 4 and between <= 1
    # At 256 B the slow runs coalesce part of the way (2-4 writes a segment), which
    # neither end of the model's range gives: recorded, not modelled.
    partial = [_segments_per_write(r) for r in rows
               if r["msg_bytes"] == 256 and _acks_per_segment(r) > 0.1]
    assert partial and all(0.25 < s < 0.5 for s in partial)


def test_without_nagle_small_writes_always_leave_alone_but_1_kb_mostly_coalesces():
    # README, "What the two regimes are": vm-2cpu-sizes-tcp-nodelay.json (2026-11-29,
    # 06:29-06:32 UTC, three passes, iperf3 -N: TCP_NODELAY) against -segs.json (the same
    # workloads with Nagle's rule).  Without Nagle every 64 B and 256 B write leaves alone
    # (>= 0.97 segments a write, against 0.045-0.055 and 0.18-0.38 with it) and the rate
    # falls; the model with no coalescing (tcp_coalesce_hold_us = 0, fitted at 128 KB)
    # gives them within -4 to +92 % (too slow for all but one), and the coalesced model
    # 1.06-2.8x too fast (1.7-4.3x at the hold of 96 us, before iperf3's select was
    # counted).  At 1 KB it goes the other way: most runs coalesce without Nagle
    # (7 of 9 under 0.82 segments a write) and most leave alone with it (7 of 9 over
    # 0.93), so Nagle's rule is not what puts 1 KB writes in the slow regime.
    nagle, nodelay = (_rows(f"vm-2cpu-sizes-tcp-{n}.json") for n in ("segs", "nodelay"))
    assert all(r["nodelay"] for r in nodelay)
    scale = F.calibrate_dataset(nodelay, "path=*,proto=tcp,flows=1,msg_bytes=131072"
                                ).values["cycles_scale"]
    for r in (r for r in nodelay if r["msg_bytes"] in (64, 256)):
        assert _segments_per_write(r) > 0.97, r
        alone, coalesced = (_predicted_gbps(r, scale, t) for t in (0.0, SHIPPED_HOLD_US))
        assert 0.9 < r["throughput_gbps"] / alone < 2.0, (r, alone)
        assert 1.0 < coalesced / r["throughput_gbps"] < 3.0, (r, coalesced)
    for r in (r for r in nagle if r["msg_bytes"] in (64, 256)):
        assert _segments_per_write(r) < 0.4, r

    def split(rows):
        share = [_segments_per_write(r) for r in rows if r["msg_bytes"] == 1024]
        return sum(s < 0.82 for s in share), sum(s > 0.93 for s in share), len(share)

    assert split(nodelay) == (7, 1, 9) and split(nagle) == (2, 7, 9)


def test_on_this_vm_each_packet_sent_takes_a_softirq_run_the_model_batches_them():
    # README, "Softirq runs on this VM".  On the namespace testbed (Linux 6.18, one
    # kernel) every 8 KB datagram's six fragments take a NET_RX run each on all three
    # paths (vm-2cpu-6x.json: 6.0-6.2 a datagram), and a 128 KB TCP message's runs are
    # its two 64 KB sk_buffs plus the receiver's acknowledgements, each a run of its own
    # (vm-2cpu-sizes-tcp-segs.json: their sum is 89-95 % of the runs counted).  The
    # model lets the six fragments arrive as one burst that one polling period takes
    # (0.6-0.9 runs a datagram), counts no acknowledgement, and on the overlays gives
    # gro_cells and the backlog runs of their own as Linux 4.4 does (Docker 4.2 a TCP
    # message, native 1.7, measured 4.3-5.1 on each).  Recorded gaps: building the
    # kernel's way (one run per packet the sending CPU sends) moved native UDP's
    # throughput error from -20 % to -32 % with the per-run costs of the paper's host,
    # so it waits for a measured per-run cost on this kernel.
    for r in (r for r in _rows("vm-2cpu-6x.json") if r["proto"] == "udp"):
        datagrams = r["throughput_gbps"] * 1e9 / 8.0 / r["msg_bytes"]
        fragments = qm.wire.udp_fragments(r["msg_bytes"], 1500, PATHS[r["path"]].encap_bytes)
        assert fragments == 6
        assert abs(r["net_rx_softirq_per_s"] / datagrams / fragments - 1.0) < 0.05, r
        model = F.predict_row(r)
        assert model.softirq_rate_per_s / model.message_rate_per_s < 1.0
    for r in (r for r in _rows("vm-2cpu-sizes-tcp-segs.json") if r["msg_bytes"] == 131072):
        messages = r["throughput_gbps"] * 1e9 / 8.0 / r["msg_bytes"]
        mss = qm.wire.tcp_mss_bytes(1500, PATHS[r["path"]].encap_bytes)
        skbs = r["msg_bytes"] / qm.wire.segment_bytes(mss, 65536)
        acks = r["tcp_receiver_segments_per_s"] / messages
        runs = r["net_rx_softirq_per_s"] / messages
        assert 0.85 < (skbs + acks) / runs < 1.0, r
        model = F.predict_row(r)
        assert model.softirq_rate_per_s / model.message_rate_per_s < 0.9 * runs


@pytest.mark.parametrize("name", ["vm-2cpu-busy-loop-a.json", "vm-2cpu-busy-loop-b.json"])
def test_a_busy_server_makes_small_writes_coalesce_fully(name):
    # README, "Small TCP messages on this VM": tests/busy_loop.py, two sets (2026-11-29,
    # 09:58-10:01 and 10:07-10:09 UTC): native TCP at 128 B, 256 B and 1 KB, Nagle on,
    # client pinned to CPU 0 and server to CPU 1, three passes each with a shell busy
    # loop on neither CPU, the client's or the server's.  Sharing the server's CPU halves
    # the rate at 128 B and 256 B (0.45-0.52x: the reader binds), and every run then
    # sends full MSS segments (96-100 % full) with an acknowledgement every 11 or more
    # segments; without the loop most runs at 256 B and 1 KB leave partial segments
    # (all six, 51-93 % full, in the first set; in the second every 1 KB run, 72 %, and
    # one 256 B run of three, 89 %), and at 1 KB the busy server carries 1.0-2.4x as
    # much.  Sharing the client's CPU did different things in the two sets: nothing
    # slower and fuller segments in the first, 0.3-0.75x and partial segments in the
    # second.  So how many writes share a segment depends on the receiver's speed,
    # which the model's hold (tcp_coalesce_hold_us, one number) does not see.
    rows = _rows(name)
    by = {c: [r for r in rows if r["busy_loop"] == c] for c in ("none", "client", "server")}
    assert all(len(v) == 9 for v in by.values())

    def fill(r):      # writes a segment over the writes a full MSS holds
        return 1.0 / _segments_per_write(r) / (1448 / r["msg_bytes"])

    def median(c, size, of=lambda r: r["throughput_gbps"]):
        return statistics.median(of(r) for r in by[c] if r["msg_bytes"] == size)

    for r in by["server"]:
        assert fill(r) > 0.95 and _acks_per_segment(r) < 1 / 11, r
    for size in (128, 256):
        assert 0.35 < median("server", size) / median("none", size) < 0.6
    assert median("none", 1024, fill) < 0.9 < 0.95 < median("server", 1024, fill)
    assert median("server", 1024) > 0.95 * median("none", 1024)
    client = [median("client", s) / median("none", s) for s in (128, 256)]
    assert all(c > 0.9 for c in client) or all(c < 0.8 for c in client)


def test_a_reader_that_binds_gets_small_writes_in_bursts_a_quarter_of_its_buffer():
    # README, "Small TCP messages on this VM": tests/window_bursts.py (2026-11-29,
    # 13:25-13:29 UTC): native TCP at 128 B, Nagle on, pinned.  Three passes with the
    # kernel's autotuned buffers and with iperf3 -w 16 KB..1 MB (both ends' buffers), each
    # with a busy loop on the server's CPU and without.  Autotuned or at 1 MB the reader
    # binds (the loop halves the rate: 0.62-0.63 against 1.24-1.26 Gb/s), segments are
    # 96-99 % full, an acknowledgement comes every 18-56 segments, and tcpdump on the
    # server's end of the link mid-run sees the data arrive in sk_buffs of a median
    # 65,160 B (45 MSS: a whole GSO sk_buff, which a veth carries whole).  With -w 16 or
    # 64 KB the sender's own buffer binds (0.35-0.74 Gb/s with or without the loop),
    # segments are 71-80 % full and the median sk_buff is at most one MSS.  With the
    # server's receive buffer alone fixed (its namespace's tcp_rmem, autotuning off; the
    # client autotuned) the rate stays at 1.22-1.25 Gb/s and the median sk_buff is about
    # a quarter of the buffer up to the 64 KB cap: 21,760 B at 87,380 (Linux 4.4's
    # default), 41,088 at 131,072, 47,232 at 262,144, 65,160 from 524,288 on.  The
    # model's hold gathers 28 writes (3.5 KB) a burst on this host.
    rows = _rows("vm-2cpu-window.json")
    assert len(rows) == 30 and all(r["pinned"] and r["msg_bytes"] == 128 for r in rows)
    big = [r for r in rows if r["window_bytes"] in (None, 1048576)]

    def rate(busy, window):
        return statistics.median(r["throughput_gbps"] for r in rows
                                 if r["busy_loop"] == busy and r["window_bytes"] == window)

    def fill(r):      # writes a segment over the writes a full MSS holds
        return 1.0 / _segments_per_write(r) / (1448 / 128)

    for window in (None, 1048576):
        assert 0.4 < rate("server", window) / rate("none", window) < 0.6
    for r in big:
        assert fill(r) > 0.9 and _acks_per_segment(r) < 0.1, r
    for r in (r for r in rows if r["window_bytes"] in (16384, 65536)):
        assert fill(r) < 0.85 and r["throughput_gbps"] < 0.8 * rate("none", None), r
    skbs = json.loads((DATA / "vm-2cpu-window-skbs.json").read_text())
    both = {e["window_bytes"]: e for e in skbs["both_ends"]}
    for window in (None, 1048576):
        assert both[window]["median_bytes"] == 45 * 1448 and both[window]["data_skbs"] > 1000
    for window in (16384, 65536):
        assert both[window]["median_bytes"] <= 1448
    alone = [e for e in skbs["receiver_only"] if e["receive_buffer_bytes"]]
    rates = [e["throughput_gbps"] for e in skbs["receiver_only"]]
    assert max(rates) < 1.05 * min(rates)          # the reader binds at every buffer
    medians = [e["median_bytes"] for e in alone]
    assert medians == sorted(medians) and medians[-1] == 45 * 1448
    for e in alone:
        quarter = e["receive_buffer_bytes"] / 4
        assert min(quarter, 45 * 1448) * 0.7 < e["median_bytes"] < quarter * 1.35, e
    # The model's bursts on this host: the hold's writes, far below any of these.
    host = F.testbed_host_for(big[0], 1.5)
    model = qm.predict(path="native", proto="tcp", msg_bytes=128, host=host)
    assert model.writes_per_burst * 128 < min(medians) / 4


def test_iperf3s_own_cpu_a_message_is_a_fraction_of_the_priors_on_this_vm():
    # README, "What iperf3 itself spends a message": vm-2cpu-iperf3-cpu.json (2026-11-29,
    # 13:41 UTC, testbed run --pin, three passes), each iperf3 process's getrusage.
    # Native TCP at 128 B: the server takes 129-151 ns of user and 701-729 ns of system
    # time a message, the client 59-62 and 241-245 ns.  The model's priors at the
    # cycles_scale the 128 KB rows fit (1.6) charge four to twelve times as much.
    rows = [r for r in _rows("vm-2cpu-iperf3-cpu.json")
            if r["path"] == "native" and r["msg_bytes"] == 128]
    assert len(rows) == 3

    def per_message_ns(r, column):
        return r[column] / (r["throughput_gbps"] * 1e9 / 8.0 / r["msg_bytes"]) * 1e9

    measured = {c: [per_message_ns(r, f"{c}") for r in rows]
                for c in ("server_cpu_usr", "server_cpu_sys", "client_cpu_usr",
                          "client_cpu_sys")}
    assert all(100 < v < 200 for v in measured["server_cpu_usr"])
    assert all(600 < v < 800 for v in measured["server_cpu_sys"])
    assert all(40 < v < 80 for v in measured["client_cpu_usr"])
    assert all(200 < v < 300 for v in measured["client_cpu_sys"])
    model = F.predict_row(rows[0], None, {"cycles_scale": 1.6})
    ns = {k: v / model.message_rate_per_s * 1e9 for k, v in model.stages.items()}
    charged = {"server_cpu_usr": ns["rx:app"],
               "server_cpu_sys": ns["rx:select"] + ns["rx:recv_syscall"]
               + ns["rx:copy_to_user"],
               "client_cpu_usr": ns["rx:sender.app_tx"],
               "client_cpu_sys": ns["rx:sender.select_tx"] + ns["rx:sender.send_syscall"]
               + ns["rx:sender.copy_from_user"] + ns["rx:sender.tcp_tx"]}
    for column, values in measured.items():
        assert charged[column] > 3.5 * max(values), (column, charged[column], values)


def test_iperf3s_cpu_time_sets_the_message_stages_and_the_small_rows_follow():
    # vm-2cpu-sizes-tcp-cpu.json (2026-11-29, 13:44-13:47 UTC, testbed run --pin, three
    # passes of single-flow TCP at 128 B, 1 KB and 128 KB on the three paths) carries
    # iperf3's own CPU time.  Only native 128 B sends full MSS segments (0.09 a write;
    # the overlays' 128 B rows 0.18, the 1 KB rows 0.7-1.0), so those rows set the message
    # stages: 148 ns of the server's user time, 706 of its system time, 56 and 261 of the
    # client's a message.  Fitted at 128 KB only, the model then predicts native 128 B
    # within 2 % (-60 % with the paper's priors), while the rows whose segments carry a
    # write or two (the overlays' 128 B, every 1 KB row), whose processes also pay each
    # segment's softirq, come out too fast: the model still gathers their writes.
    rows = _rows("vm-2cpu-sizes-tcp-cpu.json")
    per = F.measured_ns_per_message(rows)
    assert per["msg_bytes"] == 128
    assert 100 < per["server_cpu_usr"] < 200 and 600 < per["server_cpu_sys"] < 800
    assert 200 < per["client_cpu_sys"] < 300 and 40 < per["client_cpu_usr"] < 80
    big = "path=*,proto=tcp,flows=1,msg_bytes=131072"
    fit = F.calibrate_dataset(rows, big)
    plain = F.calibrate_dataset(rows, big, measure=False)
    assert set(fit.values) == {"cycles_scale", "app.cost_cycles_per_unit",
                               "app_tx.cost_cycles_per_unit", "select.cost_cycles_per_unit",
                               "recv_syscall.cost_cycles_per_unit",
                               "select_tx.cost_cycles_per_unit",
                               "send_syscall.cost_cycles_per_unit"}
    assert set(plain.values) == {"cycles_scale"}
    assert fit.priors["select.cost_cycles_per_unit"] == 2000.0
    # select and read share the reader's system time as their priors do (equally)
    assert fit.values["select.cost_cycles_per_unit"] == pytest.approx(
        fit.values["recv_syscall.cost_cycles_per_unit"], rel=1e-12)
    error = {(r["path"], r["msg_bytes"]): r["error"] for r in fit.rows}
    before = {(r["path"], r["msg_bytes"]): r["error"] for r in plain.rows}
    assert abs(error["native", 128]) < 0.02 and before["native", 128] < -0.5
    for path in ("linux-overlay", "docker-overlay"):
        assert error[path, 128] > 0.3 and error[path, 1024] > 2.0
        assert abs(error[path, 131072]) < 0.1


def test_rows_whose_writes_leave_alone_measure_no_message():
    # Each 1 KB write its own segment: the processes' time holds each segment's softirq
    # work, so the row shows no message's own cost; nor does a row without the columns.
    row = {"proto": "tcp", "flows": 1, "path": "native", "msg_bytes": 1024,
           "throughput_gbps": 2.0, "tcp_sender_segments_per_s": 2.0e9 / 8 / 1024 * 0.96,
           "server_cpu_usr": 0.05, "server_cpu_sys": 0.5, "client_cpu_usr": 0.03,
           "client_cpu_sys": 0.9, "cpus": 2, "cpu_mhz": 2100.0}
    assert F.measured_ns_per_message([row]) == {}
    full = {**row, "tcp_sender_segments_per_s": 2.0e9 / 8 / 1448}
    assert F.measured_ns_per_message([full])["msg_bytes"] == 1024
    assert F.measured_ns_per_message([{**full, "server_cpu_sys": None}]) == {}
    assert F.measured_ns_per_message(_rows("vm-2cpu-6x.json")) == {}


def test_no_measure_is_refused_without_a_dataset(capsys):
    from queuemodel.cli import main

    assert main(["calibrate", "--no-measure"]) == 2
    err = capsys.readouterr().err
    assert "only with a dataset" in err and err.count("\n") == 1


def test_message_costs_survive_a_csv_round_trip(tmp_path):
    # A dataset written as CSV reads its numbers back as numbers and a missing CPU time
    # as an empty field: the same message costs as from JSON, and none where one is empty.
    from queuemodel.testbed.run import read_dataset, write_dataset

    rows = _rows("vm-2cpu-sizes-tcp-cpu.json")
    csv_file = next(f for f in write_dataset(rows, tmp_path / "set") if f.suffix == ".csv")
    again = read_dataset(csv_file)
    assert F.measured_ns_per_message(again) == pytest.approx(F.measured_ns_per_message(rows),
                                                             rel=1e-12)
    gaps = [{**row, "client_cpu_sys": None} for row in rows]
    csv_gaps = next(f for f in write_dataset(gaps, tmp_path / "gaps") if f.suffix == ".csv")
    assert F.measured_ns_per_message(read_dataset(csv_gaps)) == {}


def test_small_writes_gather_by_nagle_or_the_readers_window_never_by_autocorking():
    # README, "Which of TCP's rules does the gathering": vm-2cpu-autocork.json (2026-11-29,
    # 14:46-14:50 UTC, testbed run --pin, single-flow TCP at 128 B and 1 KB on the three
    # paths, Nagle on and off and autocorking on and off side by side, three passes).
    rows = _rows("vm-2cpu-autocork.json")
    assert len(rows) == 72

    def per_write(r, column):
        return r[column] / (r["throughput_gbps"] * 1e9 / 8.0 / r["msg_bytes"])

    def busy(r, end):
        return r[f"{end}_cpu_usr"] + r[f"{end}_cpu_sys"]

    # The kernel's own count of autocorking holds (TcpExt: TCPAutoCorking, once per hold
    # until the held socket's next sk_buff is freed): under one in 10,000 writes with it
    # on, none with it off.
    assert all(per_write(r, "tcp_autocork_per_s") < 1e-4 for r in rows)
    assert all(r["tcp_autocork_per_s"] == 0 for r in rows if not r["autocorking"])
    small = [r for r in rows if r["msg_bytes"] == 128]
    # 128 B with Nagle gathered in every run, autocorking on or off; without Nagle no run
    # did (at most 0.184 and at least 0.976 segments a write), so autocorking gathered none.
    nagle = [per_write(r, "tcp_sender_segments_per_s") for r in small if not r["nodelay"]]
    alone = [per_write(r, "tcp_sender_segments_per_s") for r in small if r["nodelay"]]
    assert len(nagle) == len(alone) == 18
    assert max(nagle) < 0.19 and min(alone) > 0.97
    # Two states gather: the reader falls behind and its window closes (hundreds of
    # zero-window announcements a second; the writer has CPU to spare), or the writer is
    # the saturated end and Nagle holds its writes while a small segment is unacknowledged
    # (no closed window). A saturated writer never saw the window close.
    closed = [r for r in rows if r["tcp_zero_window_per_s"] > 100]
    assert len(closed) == 12
    for r in closed:
        assert busy(r, "client") < 0.85 and busy(r, "server") > 0.8, r
        assert per_write(r, "tcp_sender_segments_per_s") < 0.82, r    # alone: 1 a write
    saturated = [r for r in rows if busy(r, "client") >= 0.99]
    assert len(saturated) == 60
    assert all(r["tcp_zero_window_per_s"] < 1.0 for r in saturated)
    held = [per_write(r, "tcp_sender_segments_per_s") for r in saturated
            if r["msg_bytes"] == 128 and not r["nodelay"]]
    assert len(held) == 10 and all(0.17 < s < 0.19 for s in held)    # 5.5 writes a segment
    # ... and Nagle's hold there is an acknowledgement's round trip: one every 12-14 us,
    # about ten writes each
    for r in (r for r in saturated if r["msg_bytes"] == 128 and not r["nodelay"]):
        assert 12.0 < 1e6 / r["tcp_receiver_segments_per_s"] < 14.0, r
        assert 9.0 < 1.0 / per_write(r, "tcp_receiver_segments_per_s") < 11.0, r


def test_a_nodelay_row_is_predicted_with_every_write_alone_as_measured():
    # vm-2cpu-autocork.json: without Nagle no 128 B run gathered writes unless its reader's
    # window closed, and autocorking gathered none, so the testbed host of a TCP_NODELAY
    # row holds nothing back (testbed_host_for); a row with Nagle keeps the hold.
    rows = [r for r in _rows("vm-2cpu-autocork.json")
            if r["msg_bytes"] == 128 and r["path"] == "docker-overlay" and r["autocorking"]]
    nodelay = [r for r in rows if r["nodelay"]]
    nagle = [r for r in rows if not r["nodelay"]]
    assert F.testbed_host_for(nodelay[0]).tcp_coalesce_hold_us == 0.0
    assert F.testbed_host_for(nagle[0]).tcp_coalesce_hold_us == SHIPPED_HOLD_US
    for r in nodelay:
        assert r["tcp_zero_window_per_s"] < 1.0
        measured = r["tcp_sender_segments_per_s"] / (r["throughput_gbps"] * 1e9 / 8 / 128)
        assert measured > 0.97
        assert F.predict_row(r).writes_per_burst == 1.0
    assert all(F.predict_row(r).writes_per_burst > 5.0 for r in nagle)


def test_the_readers_window_not_the_senders_tso_deferral_sets_the_burst():
    # README, "How much a reader that binds lets out at once": tests/window_bursts.py
    # --tso-divisors 3,1,8,32 (vm-2cpu-tso-divisor.json, 2026-11-29, 15:09-15:10 UTC; native
    # TCP 128 B, pinned, the server's receive buffer alone fixed, two passes).  A sender
    # holds a TSO sk_buff back until 1/divisor of its window is open (default 3): at 3, 8
    # and 32 the bursts are the same (median 20-22 KB at 87,380 B, 47-49 KB at 262,144 in
    # all but one run), so the default deferral does not set them; only the strictest,
    # 1 (the whole window), makes them bigger.
    entries = json.loads((DATA / "vm-2cpu-tso-divisor.json").read_text())
    assert len(entries) == 16

    def runs(divisor, buffer):
        return [e for e in entries
                if e["tso_win_divisor"] == divisor and e["receive_buffer_bytes"] == buffer]

    lenient = [e for d in (3, 8, 32) for e in runs(d, 87380)]
    assert all(19000 < e["median_bytes"] < 23000 and e["p10_bytes"] < 8500 for e in lenient)
    mid = [e["median_bytes"] for d in (3, 8, 32) for e in runs(d, 262144)]
    assert sum(46000 < m < 50000 for m in mid) == 5          # one run in another state
    strict = runs(1, 87380)
    assert all(e["p10_bytes"] > 17000 for e in strict)
    assert all(e["median_bytes"] == 45 * 1448 for e in runs(1, 262144))
    assert all(1.1 < e["throughput_gbps"] < 1.4 for e in entries)   # the reader binds alike


def test_runs_with_and_without_nagle_are_separate_workloads_in_a_dataset_fit():
    # Their model differs (a TCP_NODELAY row holds nothing back), so a fit reports them
    # apart, each with its own runs and model value, and the table says which is which.
    rows = _rows("vm-2cpu-autocork.json") + _rows("vm-2cpu-sizes-tcp-cpu.json")
    fit = F.calibrate_dataset(rows, "path=*,proto=tcp,flows=1,msg_bytes=131072")
    small = {(r["path"], r["nagle"]): r for r in fit.rows if r["msg_bytes"] == 128}
    assert len(small) == 6
    for path in ("native", "linux-overlay", "docker-overlay"):
        with_nagle, without = small[path, True], small[path, False]
        assert without["runs"] == 6 and with_nagle["runs"] == 9     # + the CPU set's three
        assert without["model_gbps"] < 0.5 * with_nagle["model_gbps"]
        assert without["measured_gbps"] < 0.6 * with_nagle["measured_gbps"]
    assert " nagle " in fit.table().splitlines()[0]
    assert sum(" off   predicted" in line for line in fit.table().splitlines()) == 6


def test_a_bound_readers_window_reopens_whole_then_shrinks_burst_by_burst():
    # README, "How much a reader that binds lets out at once": tests/window_bursts.py
    # --acks --paths native,linux-overlay,docker-overlay (vm-2cpu-window-acks.json,
    # 2026-11-29 ~15:30 UTC; TCP 128 B, pinned, the server's receive buffer alone fixed at
    # 87,380, 131,072 and 262,144 B; 50 ms of the sender's acknowledgements from the
    # tcp:tcp_probe tracepoint).  On every path the window closes, reopens to about 0.6 of
    # the buffer (this 6.18 kernel's payload share of it), and each acknowledgement of a
    # burst then announces less (a median 0.37-0.51 of the window before) until it closes
    # again; a full cycle carries 0.9-0.98 of the buffer.
    traces = json.loads((DATA / "vm-2cpu-window-acks.json").read_text())
    assert {t["path"] for t in traces} == {"native", "linux-overlay", "docker-overlay"}
    for trace in traces:
        size, acks = trace["receive_buffer_bytes"], trace["acks"]
        closed = [i for i, a in enumerate(acks) if a["snd_wnd"] == 0]
        assert len(closed) > 25, (trace["path"], size)
        cycles, ratios = [], []
        for a, b in zip(closed, closed[1:]):
            windows = [acks[i]["snd_wnd"] for i in range(a + 1, b)]
            ratios += [later / earlier for earlier, later in zip(windows, windows[1:])]
            cycles.append((windows, acks[b]["acked_bytes"] - acks[a]["acked_bytes"]))
        assert all(r < 0.8 for r in ratios)                 # each window smaller
        assert 0.36 < statistics.median(ratios) < 0.52, (trace["path"], size)
        full = [(w, sent) for w, sent in cycles if 0.58 * size < w[0] < 0.63 * size]
        assert len(full) >= 0.38 * len(cycles), (trace["path"], size)
        assert all(0.9 * size < sent < 0.99 * size for _, sent in full), (trace["path"], size)
        # an acknowledgement mostly finds all the window allowed already sent
        assert sum(a["in_flight_bytes"] >= a["snd_wnd"] - 1448 for a in acks) > 0.6 * len(acks)


def test_a_write_of_an_mss_or_more_measures_no_message():
    # A 128 KB write fills 90 segments of its own, whose softirq work (over a veth the
    # receive softirq runs in the writer's system call) its process's time holds.  Read
    # as a message's cost it set iperf3's select and read at 41,772 paper cycles each
    # and its write at 115,236 on vm-2cpu-udp-sizes.json (found 2026-11-29), and every
    # small UDP prediction 87-93 % short.
    rows = [r for r in _rows("vm-2cpu-udp-sizes.json") if r["proto"] == "tcp"]
    assert len(rows) == 9 and all(r["client_cpu_sys"] > 0 for r in rows)
    assert F.measured_ns_per_message(rows) == {}
    fit = F.calibrate_dataset(_rows("vm-2cpu-udp-sizes.json"))
    assert not any(k.endswith("syscall.cost_cycles_per_unit") for k in fit.values)


def _udp_sizes():
    rows = _rows("vm-2cpu-udp-sizes.json")
    small = {}
    for r in rows:
        if r["proto"] == "udp" and r["msg_bytes"] <= 1024:
            small.setdefault((r["path"], r["msg_bytes"]), []).append(r)
    return rows, small


def test_small_udp_on_this_vm_is_sender_bound_and_dockers_reader_does_less():
    # vm-2cpu-udp-sizes.json, measured facts (no model): at 64 B..1 KB the pinned
    # sender's CPU is busy in every run (its write, and over the veth the whole receive
    # softirq), next to nothing is lost (at most 3 % in one run, 0.5 % in the median),
    # and the reader's CPU, the server's own time, falls from native (0.98-1.00) to the
    # Linux overlay (0.79-0.84) to Docker (0.69-0.72): the order of the paper's P5,
    # with Docker's datagram rate 0.53-0.54 of native's (P4's 0.4-0.6; Linux 0.70-0.74).
    _, small = _udp_sizes()
    assert len(small) == 15 and all(len(runs) == 3 for runs in small.values())
    for runs in small.values():
        for r in runs:
            assert r["client_cpu_usr"] + r["client_cpu_sys"] > 0.94
            assert r["loss_fraction"] < 0.3
        assert statistics.median(r["loss_fraction"] for r in runs) < 0.01

    def median(path, size, key):
        return statistics.median(key(r) for r in small[(path, size)])

    reader = lambda r: r["server_cpu_usr"] + r["server_cpu_sys"]      # noqa: E731
    rate = lambda r: r["throughput_gbps"]                               # noqa: E731
    for size in (64, 128, 256, 512, 1024):
        native, linux, docker = (median(p, size, reader)
                                 for p in ("native", "linux-overlay", "docker-overlay"))
        assert native > 0.95 and docker + 0.05 < linux < native - 0.1
        ratio = median("docker-overlay", size, rate) / median("native", size, rate)
        assert 0.5 < ratio < 0.56

    # Per datagram (README): native's reader alone takes as long as the sender's write
    # and the whole receive softirq together, so between two hosts the receiver would
    # bind; Docker's sending CPU outlasts its reader by under 0.8 us, so a receive
    # softirq of over 0.4 us would bind Docker's receiver.
    def us(path, size, cpu, sent=False):
        def each(r):
            per_s = r["throughput_gbps"] * 1e9 / 8 / size
            return cpu(r) / (per_s / (1.0 - r["loss_fraction"]) if sent else per_s) * 1e6
        return median(path, size, each)

    writer = lambda r: r["client_cpu_usr"] + r["client_cpu_sys"]      # noqa: E731
    for size in (64, 128, 256, 512, 1024):
        assert 0.95 < us("native", size, reader) / us("native", size, writer, True) < 1.05
        gap = us("docker-overlay", size, writer, True) - us("docker-overlay", size, reader)
        assert 0.6 < gap < 0.8


def test_two_scales_fitted_at_64_b_predict_every_small_udp_size_within_a_tenth():
    # vm-2cpu-udp-sizes.json: cycles_scale and unit_cycles_scale fitted to the three
    # paths' TCP at 128 KB and UDP at 64 B (1.18 and 0.34) predict UDP at 128 B..1 KB on
    # every path within 10 % (-8.8 .. +8.1 %; 8 KB: +4.8 .. +20.2 %), with no path
    # fitted apart: the priors' ratios between the stages and paths carry over.  The
    # model binds them where the VM does, on the sender's CPU (over a veth it runs the
    # receive softirq too), and its readers do less on the longer paths, in the
    # measured order (model 0.84 / 0.63 / 0.51 of a CPU, measured 0.98 / 0.82 / 0.70).
    # cycles_scale alone (the default fit, TCP only) has them 50-57 % too slow.
    rows, small = _udp_sizes()
    fit = F.calibrate_dataset(rows, "msg_bytes=[61][43]*",
                              free=("cycles_scale", F.UNIT_FREE))
    assert {(r["proto"], r["msg_bytes"]) for r in fit.rows if r["role"] == "fitted"} == {
        ("tcp", 131072), ("udp", 64)}
    predicted = [r for r in fit.rows if r["proto"] == "udp" and 128 <= r["msg_bytes"] <= 1024]
    assert len(predicted) == 12
    assert all(abs(r["error"]) < 0.1 for r in predicted), predicted
    assert all(r["bottleneck"].startswith("receiver:flow-core:sender.") for r in predicted)
    readers = {}
    for path in ("native", "linux-overlay", "docker-overlay"):
        result = F.predict_row(small[(path, 256)][0], None, fit.values)
        # The flow core (the sender with the receive softirq) is one CPU; the rest reads.
        assert result.core_utilisation["rx:flow-core"] == pytest.approx(1.0, abs=1e-6)
        readers[path] = result.receiver_cpu_total - 1.0
    assert readers["native"] > readers["linux-overlay"] > readers["docker-overlay"] > 0.3
    alone = F.calibrate_dataset(rows)
    assert all(r["error"] < -0.45 for r in alone.rows
               if r["proto"] == "udp" and r["msg_bytes"] <= 1024)


def _reader_blocks():
    """vm-2cpu-switches.json by workload: the medians of the server's voluntary context
    switches a message (the times the reader blocked), its CPU and the message rate."""
    groups = {}
    for r in _rows("vm-2cpu-switches.json"):
        rate = r["throughput_gbps"] * 1e9 / 8 / r["msg_bytes"]
        groups.setdefault((r["proto"], r["path"], r["msg_bytes"]), []).append(
            (r["server_voluntary_switches_per_s"] / rate,
             r["server_cpu_usr"] + r["server_cpu_sys"], rate,
             r["server_involuntary_switches_per_s"] / rate))
    return {k: tuple(statistics.median(run[i] for run in runs) for i in range(4))
            for k, runs in groups.items()}


def test_a_readers_traced_sleeps_wait_about_half_the_free_gap_then_four_microseconds():
    # vm-2cpu-wake-times.json (2026-11-29, 18:27-18:31 UTC for UDP, 18:25-18:27 for TCP;
    # pinned, two passes, one second traced mid-run: testbed run --wake-times).  On every
    # run whose reader sleeps at least once in 20 messages:
    # - the trace sees its sleeps whole: 0.997-1.41 times the voluntary switches counted
    #   over the run (which include quieter stretches);
    # - from the waking to the return of its select took 3.95-4.83 us on average (median
    #   4 us; 5 on the overlays' 128 KB TCP), on every path, size and protocol;
    # - before the waking it waited, on average, about half of what its reading leaves
    #   free of the gap between two messages, (1 - u) / (2 R), the steady sender's wait
    #   solver.wakeups_per_message takes: 0.70-2.07 times that for UDP and 128 KB TCP;
    #   1 KB TCP 2.5-3.6 times that of its segments (0.81-0.91 a write), which come less
    #   steadily.
    rows = _rows("vm-2cpu-wake-times.json")
    assert len(rows) == 54
    checked = set()
    for r in rows:
        rate = r["throughput_gbps"] * 1e9 / 8 / r["msg_bytes"]
        u = r["server_cpu_usr"] + r["server_cpu_sys"]
        if r["server_voluntary_switches_per_s"] / rate < 0.05:
            continue
        key = (r["proto"], r["path"], r["msg_bytes"])
        checked.add(key)
        assert 0.99 <= r["server_traced_sleeps_per_s"] / r["server_voluntary_switches_per_s"] \
            <= 1.45, key
        assert 3.9 < r["server_wake_latency_us"] < 4.9, key
        assert round(r["server_wake_latency_us_median"]) in (4, 5), key
        steady = (1.0 - u) / (2.0 * rate) * 1e6
        ratio = r["server_sleep_wait_us"] / steady
        if r["proto"] == "udp" or r["msg_bytes"] == 131072:
            assert 0.65 < ratio < 2.1, (key, ratio)
        else:
            segments = r["tcp_sender_segments_per_s"] / rate
            assert 0.8 < segments < 0.92 and 2.3 < ratio * segments < 4.0, (key, ratio)
    assert len(checked) == 19      # 8 KB native UDP, the overlays' UDP, TCP 1 and 128 KB
    # The 4 us is for sleeps of microseconds.  128 B TCP's writer, its reader behind (the
    # window closed 250-540 times a second), slept 1.4-1.8 ms for the window and took
    # 125-154 us (median 150-167) to come back: a vCPU idle past the host's halt polling.
    behind = [r for r in rows if r["proto"] == "tcp" and r["msg_bytes"] == 128
              and r["client_traced_sleeps_per_s"] >= 100]
    assert len(behind) == 4
    for r in behind:
        assert r["tcp_zero_window_per_s"] > 200
        assert 1400 < r["client_sleep_wait_us"] < 1900
        assert 120 < r["client_wake_latency_us"] < 160
        assert 140 < r["client_wake_latency_us_median"] < 170


def test_a_reader_below_capacity_blocks_as_often_as_a_wake_up_latency_allows():
    # vm-2cpu-switches.json (2026-11-29, 16:26-16:34 UTC; pinned, three passes): iperf3's
    # server blocks (a voluntary context switch) never at small UDP natively, where it is
    # saturated; 0.11-0.14 times a datagram on the Linux overlay and 0.26-0.28 on Docker
    # (70-84 % busy); once a datagram at 8 KB on both overlays and once a message at
    # 128 KB TCP on every path (65-80 % busy); it is almost never preempted.  A reader
    # busy a share u of the time at R messages a second blocks min(1, (1 - u) / (R L))
    # times a message: woken, it needs L before it reads, and meanwhile R L more arrive,
    # which it drains before it blocks again.  One L fits them all, 2.5-3 us, within
    # 16 % but native 8 KB (+33 % at 3 us); the chance an arriving message finds it
    # asleep, 1 - u (Poisson arrivals), misses by 2.9-4.9x at 128 KB TCP.
    blocks = _reader_blocks()
    assert len(blocks) == 27
    assert all(inv < 1e-3 for *_, inv in blocks.values())
    for size in (64, 128, 256, 512, 1024):
        assert blocks[("udp", "native", size)][0] < 0.005
        assert blocks[("udp", "native", size)][1] > 0.98
        assert 0.1 < blocks[("udp", "linux-overlay", size)][0] < 0.15
        assert 0.25 < blocks[("udp", "docker-overlay", size)][0] < 0.29
    for path in ("linux-overlay", "docker-overlay"):
        assert 0.98 < blocks[("udp", path, 8192)][0] <= 1.0
    for path in ("native", "linux-overlay", "docker-overlay"):
        assert 0.97 < blocks[("tcp", path, 131072)][0] < 1.06

    def latency_law(latency_s):
        return {k: min(1.0, (1.0 - u) / (rate * latency_s))
                for k, (w, u, rate, _) in blocks.items()
                if k[0] == "udp" or k[2] == 131072}

    def within_16_percent_but_native_8k(law, native_8k):
        for k, predicted in law.items():
            measured = blocks[k][0]
            if measured < 0.01:
                assert predicted < 0.01, k
            elif k != ("udp", "native", 8192):
                assert abs(predicted / measured - 1.0) < 0.16, (k, predicted, measured)
            else:
                assert native_8k[0] < predicted / measured - 1.0 < native_8k[1]

    for latency_s in (2.5e-6, 3e-6):
        within_16_percent_but_native_8k(latency_law(latency_s), (0.3, 0.6))
    for path in ("native", "linux-overlay", "docker-overlay"):
        w, u, *_ = blocks[("tcp", path, 131072)]
        assert 2.8 < w / (1.0 - u) < 5.0
    # A steady sender's reader does wait before it is woken (traced: vm-2cpu-wake-times
    # .json), half of what its reading leaves free of a message's gap, (1 - u) / (2 R),
    # on average.  With that wait, one L of 2.5 us fits all but native 8 KB within 16 %
    # (which it misses by +25 %, against +33 % without the wait at 3 us): the law
    # solver.wakeups_per_message states since 2026-11-29 (evening).
    steady = {k: min(1.0, (1.0 - u) / (rate * ((1.0 - u) / (2.0 * rate) + 2.5e-6)))
              for k, (w, u, rate, _) in blocks.items() if k[0] == "udp" or k[2] == 131072}
    within_16_percent_but_native_8k(steady, (0.2, 0.3))


def test_a_path_never_fitted_is_predicted_from_the_paper_paths_costs():
    # vm-2cpu-routed.json: fitted to the paper's three paths only (both protocols: the
    # clock factor and the factor on every cost that is not per byte), the routed path,
    # made of the same stages and one new prior (ip_forward), is a prediction on both.
    fit = F.calibrate_dataset(_rows("vm-2cpu-routed.json"),
                              "path=[!r]*,flows=1,segmentation=True",
                              free=("cycles_scale", "unit_cycles_scale"))
    by = {(r["path"], r["proto"]): r for r in fit.rows}
    for proto in ("tcp", "udp"):
        row = by[("routed", proto)]
        assert row["role"] == "predicted"
        assert abs(row["error"]) <= 0.10, row
        assert abs(row["model_cpus"] - row["measured_cpus"]) <= 0.25, row
    # What the measurement says on its own: routing's UDP lies between native and the
    # overlays (every fragment forwarded and crossing the veth, but no VXLAN).
    udp = {p: by[(p, "udp")]["measured_gbps"] for p in
           ("native", "routed", "linux-overlay", "docker-overlay")}
    assert udp["native"] > udp["routed"] > udp["linux-overlay"] > udp["docker-overlay"]


def test_the_routed_paths_copies_cost_less_per_byte_on_this_vm():
    # vm-2cpu-routed-profiled.json: what the model does not have.  Measured routed TCP is
    # faster than native with the sending CPU full on both; in each pass the copies (the
    # profile's "copy" group) take at least 5 % less CPU per Gb/s on the routed path
    # (10 and 16 % in these two; 17-18 % in two passes before proxy ARP answered at once).
    from queuemodel.testbed.profile import parse_shares

    rows = _rows("vm-2cpu-routed-profiled.json")
    for native, routed in zip(*([r for r in rows if r["path"] == p]
                                for p in ("native", "routed"))):
        per = {r["path"]: parse_shares(r["profile"])["copy"] / 100.0 * r["cpus"]
               / r["throughput_gbps"] for r in (native, routed)}
        assert per["routed"] <= 0.95 * per["native"], per
        assert routed["throughput_gbps"] > native["throughput_gbps"]
        assert min(native["client_cpu_sys"], routed["client_cpu_sys"]) > 0.9
