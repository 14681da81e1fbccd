"""The public surface: result keys, export, broadcasting, docstrings, lazy imports."""

import dataclasses
import inspect
import json
import re
import subprocess
import sys

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import queuemodel as qm
from queuemodel import calibrate as calibrate_module
from queuemodel import claims, hosts, model, solver, stage, wire
from queuemodel.cli import main
from queuemodel.errors import ModelInputError

REQUIRED_KEYS = {"throughput_gbps", "message_rate_per_s", "wire_packet_rate_per_s", "bottleneck",
                 "receiver_cpu", "sender_cpu", "stages"}


def test_result_has_the_documented_keys():
    d = qm.predict(path="linux-overlay", proto="udp").to_dict()
    assert REQUIRED_KEYS <= set(d)
    for side in ("receiver_cpu", "sender_cpu"):
        assert set(d[side]) == {"usr", "sys", "softirq", "irq"}
    assert all(k.startswith(("rx:", "tx:")) for k in d["stages"])
    json.dumps(d)          # JSON-ready


def test_cpu_totals_are_the_sum_of_the_proc_stat_columns():
    # The totals the paper's CPU figures plot: every column counted once, at both ends,
    # for a scalar and a grid; and an output levers and solve can aim at.
    for pairs in (1, np.array([1, 6, 80])):
        r = qm.predict(path="docker-overlay", proto="tcp", flows=pairs)
        for total, cpu in ((r.receiver_cpu_total, r.receiver_cpu),
                           (r.sender_cpu_total, r.sender_cpu)):
            parts = sum(cpu[k] for k in ("usr", "sys", "softirq", "irq"))
            assert np.array_equal(total, parts)
    assert isinstance(qm.predict().receiver_cpu_total, float)
    lv = qm.levers({"path": "docker-overlay", "proto": "tcp", "flows": 80},
                   output="receiver_cpu_total")
    tunnel = {row.name: row for row in lv.rows}["tunnel_offload"]
    assert tunnel.effect < -0.3          # NIC tunnel offloads take the per-packet VXLAN work
    answer = qm.solve("receiver_cpu_total<=2.5", "ghz", (2.2, 5.0),
                      {"path": "native", "proto": "tcp", "flows": 80})
    assert 2.2 < answer.value < 5.0
    assert qm.predict(path="native", proto="tcp", flows=80,
                      ghz=answer.value).receiver_cpu_total <= 2.5 + 1e-6


def test_grid_results_export_as_lists():
    r = qm.predict(path="native", proto="tcp", msg_bytes=np.array([[1024], [65536]]),
                   ghz=np.array([1.0, 2.0, 3.0]))
    assert r.throughput_gbps.shape == (2, 3)
    assert r.bottleneck.shape == (2, 3)
    d = r.to_dict()
    assert len(d["throughput_gbps"]) == 2 and len(d["throughput_gbps"][0]) == 3
    json.dumps(d)


def test_results_are_frozen():
    r = qm.predict()
    with pytest.raises(AttributeError):
        r.throughput_gbps = 1.0


def test_tunnel_offload_removes_per_packet_overlay_work():
    # With NIC tunnel offloads, GRO merges VXLAN packets at the NIC: the VXLAN stage then
    # sees GRO segments, not wire packets, and the overlay gets much faster.
    slow = qm.predict(path="docker-overlay", proto="tcp")
    fast = qm.predict(path="docker-overlay", proto="tcp", tunnel_offload=True)
    assert fast.stages["rx:vxlan_rx"] < slow.stages["rx:vxlan_rx"] / 10
    assert fast.throughput_gbps > 2 * slow.throughput_gbps


def test_per_segment_work_on_an_overlay_without_offloads():
    from queuemodel.solver import FEATURE_NAMES, compile_side

    c = compile_side(qm.DOCKER_OVERLAY, "rx", "tcp", qm.paper_testbed())
    unit = dict(zip(c.labels, (FEATURE_NAMES[i] if i >= 0 else "interrupt" for i in c.feature)))
    for name in ("nic_rx", "gro", "ip_rx", "vxlan_rx", "vxlan_gro"):
        assert unit[name] == "wire_packet", name          # before the inner GRO
    for name in ("bridge", "veth_xmit", "backlog", "inner_ip_rx", "tcp_rx"):
        assert unit[name] == "rx_segment", name           # after it


def test_host_toml_round_trip(tmp_path):
    f = tmp_path / "h.toml"
    f.write_text('[host]\nname = "faster"\nghz = 3.0\nlink_gbps = 100\ntunnel_offload = true\n')
    h = hosts.load_host(f)
    assert (h.name, h.ghz, h.link_gbps, h.tunnel_offload) == ("faster", 3.0, 100.0, True)
    assert main(["predict", "--host", str(f), "--json"]) == 0


def test_a_profile_without_a_host_table_keeps_its_stage_costs_apart(tmp_path, capsys):
    # Top-level fields beside [stages] and [fit]: the tables were read as host fields
    # ("host field = 'stages'") until 2026-11-28.
    f = tmp_path / "h.toml"
    f.write_text("ghz = 3.0\n[stages.vxlan_rx]\ncost_cycles_per_unit = 1000\n[fit]\nrows = 3\n")
    assert hosts.load_host(f).ghz == 3.0
    assert hosts.load_stage_costs(f) == {"vxlan_rx.cost_cycles_per_unit": 1000}
    assert main(["predict", "--host", str(f), "--path", "docker-overlay", "--json"]) == 0
    from queuemodel.whatif import run

    got = json.loads(capsys.readouterr().out)["throughput_gbps"]
    expected = run({"path": "docker-overlay", "ghz": 3.0, "vxlan_rx.cost_cycles_per_unit": 1000})
    assert got == expected.throughput_gbps


@settings(max_examples=30, deadline=None)
@given(ghz=st.floats(0.5, 5.0), queues=st.integers(1, 20), veth=st.booleans(),
       name=st.text(min_size=1, max_size=20))
def test_every_host_profile_survives_toml(ghz, queues, veth, name):
    # host_to_toml writes every field; load_host_text reads back the same host.
    h = dataclasses.replace(hosts.paper_testbed(), ghz=ghz, nic_queues=queues, veth_link=veth,
                            name=name, queue_cpus=tuple(range(queues)))
    assert hosts.load_host_text(hosts.host_to_toml(h)) == h


def test_a_grid_of_hosts_is_not_one_profile():
    h = hosts.with_overrides(hosts.paper_testbed(), {"ghz": np.array([2.0, 3.0])})
    with pytest.raises(ModelInputError, match="host.ghz"):
        hosts.host_to_toml(h)


def test_cli_predict_json_matches_the_api(capsys):
    assert main(["predict", "--path", "docker-overlay", "--proto", "udp", "--json",
                 "--set", "link_gbps=100"]) == 0
    out = json.loads(capsys.readouterr().out)
    api = qm.predict(path="docker-overlay", proto="udp", link_gbps=100).to_dict()
    assert out["throughput_gbps"] == pytest.approx(api["throughput_gbps"])
    assert out["bottleneck"] == api["bottleneck"]


def test_cli_predict_table_says_when_the_dram_binds_some_outcomes(capsys):
    # 14 Linux overlay TCP flows on 9 GB/s of DRAM: the DRAM binds almost every hash
    # outcome; on the testbed's 68.3 GB/s, none, and the table does not mention it.
    base = ["predict", "--path", "linux-overlay", "--proto", "tcp", "--flows", "14"]
    assert main(base + ["--set", "memory_gbytes_per_s=9"]) == 0
    share = qm.predict(path="linux-overlay", proto="tcp", flows=14,
                       memory_gbytes_per_s=9).memory_bound_share
    assert share > 0.5
    assert f"binds in {share:.2f} of the hash outcomes" in capsys.readouterr().out
    assert main(base) == 0
    out = capsys.readouterr().out
    assert "binds in" not in out
    # The table gives the DRAM's budget, unless the data costs the DRAM nothing (a cache
    # that holds everything: the budget is inf).
    budget = qm.predict(path="linux-overlay", proto="tcp", flows=14).memory_budget_gbps
    assert f"its budget {budget:.3g} Gb/s" in out
    assert main(base + ["--set", "llc_mib=1e9", "--set", "ddio_share=1"]) == 0
    assert "its budget" not in capsys.readouterr().out


def test_cli_validate_reports_and_strict_fails_on_failures(capsys):
    from queuemodel.claims import validate

    report = validate()
    assert main(["validate"]) == 0
    out = capsys.readouterr().out
    passed = sum(o.passed for o in report.outcomes)
    assert f"{passed} passed, {len(report.outcomes) - passed} failed" in out
    assert main(["validate", "--strict"]) == (0 if report.all_passed else 1)


def test_import_is_lazy():
    # numba (the compiled loops) imports the bare scipy package itself (13 ms); the
    # heavy scipy modules, sympy and matplotlib must wait until something needs them.
    heavy = ('sympy', 'matplotlib', 'scipy.optimize', 'scipy.stats', 'scipy.special')
    code = ("import sys, queuemodel; queuemodel.predict(); "
            f"print(sorted(m for m in {heavy!r} if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


from queuemodel import flows, kernels, memory  # noqa: E402
from queuemodel import latency, parallel, queueing, questions, sweep, whatif  # noqa: E402
from queuemodel.testbed import netns, procfs, run  # noqa: E402

PUBLIC_MODULES = [qm, wire, solver, model, stage, hosts, claims, calibrate_module, queueing,
                  latency, whatif, parallel, questions, sweep, procfs, netns, run, flows,
                  kernels, memory]


def _public_functions():
    for module in PUBLIC_MODULES:
        for name in getattr(module, "__all__", []):
            obj = getattr(module, name, None)
            obj = getattr(obj, "py_func", obj)           # a numba kernel: its Python source
            if inspect.isfunction(obj) and obj.__module__.startswith("queuemodel"):
                yield f"{obj.__module__}.{name}", obj


@pytest.mark.parametrize("name, fn", sorted(set(_public_functions())), ids=lambda x: x
                         if isinstance(x, str) else "")
def test_docstring_documents_every_argument(name, fn):
    doc = inspect.getdoc(fn) or ""
    assert doc, f"{name} has no docstring"
    params = [p for p in inspect.signature(fn).parameters.values()
              if p.kind not in (p.VAR_POSITIONAL,)]
    if not params:
        return
    assert "Parameters\n----------" in doc, f"{name}: no Parameters section"
    section = doc.split("Parameters\n----------", 1)[1].split("\n\n" + "Returns", 1)[0]
    documented = set()
    for line in section.splitlines():
        match = re.match(r"^(\*\*)?([\w, ]+?)\s*(:|$)", line)
        if match and not line.startswith(" "):
            documented |= {n.strip() for n in match.group(2).split(",")}
    missing = [p.name for p in params if p.name not in documented]
    assert not missing, f"{name}: undocumented {missing}"


def _knob_scenarios():
    # Between them these runs reach every mechanism a host field can feed: one flow and
    # many, both protocols, small messages, a finite offer (latency and buffer loss), fixed
    # interrupt moderation, software segmentation, a stage with cache misses, native
    # UDP datagrams the NIC can checksum arriving at 425k packets/s, inside mlx4's
    # adaptive-moderation ramp, with a frame limit too high to cut the delay short (at
    # 3 GHz: at 2.2 a 1 KB datagram's CPU saturates at 323k, below the ramp, which it
    # reached only through the bands until 2026-11-28), their 342-byte frames within
    # twice the size adaptive moderation leaves alone, a receiver short of DRAM
    # bandwidth, NAPI batches a run's budget can cut short, and rings that cut datagrams.
    native = qm.get_path("native")
    missing = dataclasses.replace(native, name="with-misses", rx=tuple(
        dataclasses.replace(s, cache_misses_per_unit=1.0) if s.name == "nic_rx" else s
        for s in native.rx))
    return [dict(path="native", proto="tcp"),
            dict(path="docker-overlay", proto="udp", flows=8),
            dict(path="linux-overlay", proto="tcp", flows=40, offered_gbps=0.5),
            dict(path="docker-overlay", proto="udp", msg_bytes=64, offered_gbps=0.05),
            dict(path="docker-overlay", proto="tcp", msg_bytes=64),
            dict(path="native", proto="tcp", adaptive_moderation=False, tso=False,
                 msg_bytes=4096),
            # Fixed moderation on 1 KB datagrams: the delay, not the frame count, ends
            # each interrupt's wait (TCP bursts of 45 packets reach the 44 frames first).
            dict(path="native", proto="udp", adaptive_moderation=False, msg_bytes=1024),
            dict(path=missing, proto="udp", flows=3),
            dict(path="native", proto="udp", msg_bytes=300, offered_gbps=1.02,
                 irq_moderation_frames=256, ghz=3.0),
            dict(path="docker-overlay", proto="tcp", flows=7, memory_gbytes_per_s=6.0),
            # NAPI batches of 128: the default budget (300) allows three full polls a run,
            # as many as Docker's NAPI stages, so half of it binds.
            dict(path="docker-overlay", proto="tcp", napi_weight=128),
            # Rings that cut datagrams, whose fragments a cache that refuses when full
            # (Linux >= 4.17) cannot hold.
            dict(path="native", proto="udp", msg_bytes=8192, ring_cuts_fragments=True),
            dict(path="native", proto="udp", msg_bytes=8192, ring_cuts_fragments=True,
                 frag_cache_refuses=True),
            # UDP senders past a rate-limited veth link (tests/sender_hold.py's set-up),
            # whose veth decides alone whether they are held at the link.
            dict(path="native", proto="udp", flows=4, veth_link=True, link_gbps=5.0),
            # Docker UDP senders past the link on a kernel whose veth keeps the socket:
            # the bridge's netfilter hook decides alone.
            dict(path="docker-overlay", proto="udp", flows=8, veth_orphans_skb=False)]


@pytest.mark.parametrize("name", [f.name for f in dataclasses.fields(qm.Host)
                                  if f.metadata.get("kind") in ("number", "flag")])
def test_every_host_field_moves_a_prediction_unless_recorded_only(name):
    # A field that changes nothing is a knob wired to nothing: it must be listed (and
    # documented) as recorded only; a listed one must really change nothing.
    from queuemodel.host import HOST_FIELDS, RECORDED_ONLY

    def moved(sc):
        overrides = {k: sc.pop(k) for k in list(sc) if k in HOST_FIELDS}
        host = dataclasses.replace(hosts.paper_testbed(), **overrides)
        value = getattr(host, name)
        one = repr(qm.predict(host=host, **sc).to_dict())
        for candidate in ([not value] if isinstance(value, bool) else
                          [value * 2 if value else 1, value / 2]):
            try:
                other = dataclasses.replace(host, **{name: type(value)(candidate)})
            except ModelInputError:
                continue
            if repr(qm.predict(host=other, **sc).to_dict()) != one:
                return True
        return False

    changed = any(moved(sc) for sc in _knob_scenarios())
    assert changed == (name not in RECORDED_ONLY), name


def test_version_is_the_packages(capsys):
    import tomllib
    from pathlib import Path

    pyproject = tomllib.loads((Path(__file__).resolve().parents[1] / "pyproject.toml")
                              .read_text())
    with pytest.raises(SystemExit) as done:
        main(["--version"])
    assert done.value.code == 0
    assert capsys.readouterr().out.strip() == f"queuemodel {pyproject['project']['version']}"
    assert qm.__version__ == pyproject["project"]["version"]
