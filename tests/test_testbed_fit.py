"""The namespace-testbed model and its calibration from a saved dataset.

``tests/data/testbed/vm-2cpu.json`` and ``vm-2cpu-rerun.json`` are two runs of
``queuemodel testbed run`` (5-second iperf3 runs; TCP with 128 KiB writes at 1
and 2 flows, UDP with 8 KiB datagrams at 1 flow) on the 2-vCPU VM this
project's CI uses, Linux 6.18, measured 2026-11-26.
"""

import json
import math
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


def test_the_fit_is_deterministic(fitted):
    again = F.calibrate_dataset(_rows())
    assert again.values == fitted.values


def test_costs_the_selected_rows_do_not_see_keep_their_priors():
    fit = F.calibrate_dataset(_rows(), "path=native")
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


def test_toml_profile_round_trips(fitted, tmp_path):
    data = tomllib.loads(fitted.to_toml())
    assert data["costs"] == pytest.approx(fitted.values)


@pytest.mark.parametrize("selector", ["path", "path=", "=tcp", ""])
def test_a_malformed_selector_is_refused(selector):
    with pytest.raises(ModelInputError, match="--fit"):
        F.parse_selector(selector)


def test_an_unknown_column_is_refused():
    with pytest.raises(ModelInputError, match="dataset column"):
        F.calibrate_dataset(_rows(), "colour=red")


def test_too_few_rows_for_the_costs_is_refused():
    with pytest.raises(CalibrationError, match="fewer than the 3 costs"):
        F.calibrate_dataset(_rows(), "path=native,proto=udp")


def test_a_dataset_without_the_clock_is_refused():
    rows = [{k: v for k, v in r.items() if k != "cpu_mhz"} for r in _rows()]
    with pytest.raises(CalibrationError, match="cpu_mhz"):
        F.calibrate_dataset(rows)


@pytest.mark.parametrize("kwargs, field", [
    (dict(cpus=0, mhz=2500.0), "cpus"),
    (dict(cpus=2, mhz=-1.0), "cpu_mhz"),
    (dict(cpus=2, mhz=2500.0, steal_fraction=1.0), "steal_fraction"),
    (dict(cpus=2, mhz=2500.0, cycles_scale=0.0), "cycles_scale"),
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
    assert set(tomllib.loads(out.read_text())["costs"]) == set(F.FREE)


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
        assert r.receiver_cpu["irq"] == 0.0


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
