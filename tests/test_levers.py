"""Levers: elasticities, steps and flips, held to the model's laws and to whatif."""

import dataclasses

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import queuemodel as qm
from queuemodel.cli import main
from queuemodel.errors import ModelInputError, UnknownNameError
from queuemodel.host import RECORDED_ONLY
from queuemodel.levers import COST_FIELDS, SETUP_FLAGS, levers
from queuemodel.whatif import run, whatif

#: Every built-in path: the paper's three and those beyond it (routed).
ALL_PATHS = qm.paths.ALL_PATH_NAMES

#: Host fields counted in cycles (the stage costs are the others).
HOST_CYCLES = ("softirq_entry_cycles", "context_switch_cycles")


def _effects(lv):
    return {row.name: row.effect for row in lv.rows}


@settings(max_examples=6, deadline=None)
@given(st.sampled_from(ALL_PATHS), st.sampled_from(("tcp", "udp")),
       st.sampled_from((64, 1024, 8192)), st.sampled_from((1, 6, 80)))
def test_only_cycles_over_the_clock_matter(path, proto, msg, flows):
    # Every cost is in cycles and every other input in seconds, bytes or packets, so the
    # model sees cycles only as cycles / GHz: scaling the clock and every cycle cost by
    # the same factor changes nothing, and to first order the elasticities of the clock
    # and of all cycle costs add up to zero (Euler's theorem for a homogeneous function).
    # A cost the levers cannot see, or a stage name with two values, breaks it; so
    # does a cycle count hidden in the multi-flow terms (hence the flow counts).
    scenario = {"path": path, "proto": proto, "msg_bytes": msg, "flows": flows}
    lv = levers(scenario, step=1e-4)
    cycles = [row for row in lv.rows
              if row.name.split(".")[-1].startswith("cost_cycles") or row.name in HOST_CYCLES]
    scaled = {row.name: 3.0 * row.value for row in cycles}
    again = run({**scenario, **scaled, "ghz": 3.0 * qm.paper_testbed().ghz})
    assert again.throughput_gbps == pytest.approx(lv.before, rel=1e-9)
    e = _effects(lv)
    # (a faster clock helps unless the link binds: 80 native TCP flows fill it)
    assert e["ghz"] > 0.0 or again.bottleneck.startswith("link")
    assert e["ghz"] + sum(row.effect for row in cycles) == pytest.approx(0.0, abs=1e-5)


def test_a_cpu_bound_flow_scales_with_the_clock_and_against_its_costs():
    # Issue 2's laws as signs: raising a cost never raises throughput, a faster clock
    # never lowers it.  Docker overlay TCP is bound by one core, so the clock's
    # elasticity is exactly 1 when every cost is in cycles (no DRAM or LLC latency), and
    # a little less with them: the bytes the copy reads from DRAM and the lines of the
    # flow's state the L2 lost take the same nanoseconds at any clock.
    e = _effects(levers({"path": "docker-overlay", "proto": "tcp", "dram_latency_ns": 0.0,
                         "llc_latency_ns": 0.0}))
    assert e["ghz"] == pytest.approx(1.0, abs=1e-6)
    e = _effects(levers({"path": "docker-overlay", "proto": "tcp"}))
    assert 0.9 < e["ghz"] < 1.0 - 1e-3
    assert e["dram_latency_ns"] < 0.0 and e["llc_latency_ns"] < 0.0
    # One core's time per message is cycles / clock plus the waits: the clock's
    # elasticity is the cycles' share of it, each latency's minus its waits' share.
    assert e["ghz"] - e["dram_latency_ns"] - e["llc_latency_ns"] == pytest.approx(1.0, abs=1e-5)
    for name, value in e.items():
        if "." in name and value is not None:
            assert value <= 1e-9, name
    assert e["vxlan_rx.cost_cycles_per_unit"] < -0.3         # the bottleneck stage


def test_a_link_bound_scenario_moves_only_with_the_link():
    e = _effects(levers({"path": "native", "proto": "tcp", "flows": 80}))
    assert e["link_gbps"] == pytest.approx(1.0, abs=1e-6)
    assert all(abs(v) < 1e-9 for k, v in e.items() if "." in k and v is not None)


def test_each_lever_is_the_whatif_it_names():
    scenario = {"path": "docker-overlay", "proto": "udp"}
    lv = levers(scenario)
    rows = {row.name: row for row in lv.rows}
    for name in ("tunnel_offload", "physical_cores", "ghz", "bridge.cost_cycles_per_unit"):
        row = rows[name]
        w = whatif(scenario, **{name: row.changed})
        assert row.before == w.baseline.throughput_gbps
        assert row.after == w.result.throughput_gbps
        assert row.bottleneck == w.result.bottleneck
    assert rows["tunnel_offload"].kind == "flag" and rows["physical_cores"].kind == "step"
    assert rows["physical_cores"].changed == rows["physical_cores"].value + 1
    # 8 KB datagrams go as IP fragments, which no offload touches; for TCP, tunnel offloads
    # take VXLAN's work off the core and the copy to the reader binds instead.
    assert rows["tunnel_offload"].effect == 0.0
    tcp = {r.name: r for r in levers({"path": "docker-overlay", "proto": "tcp"}).rows}
    assert rows["tunnel_offload"].bottleneck.endswith(":vxlan_rx")
    assert tcp["tunnel_offload"].bottleneck.endswith(":copy_to_user")


def test_levers_cover_the_inputs_that_matter_and_only_those():
    lv = levers({"path": "linux-overlay", "proto": "tcp"})
    names = {row.name for row in lv.rows} | {name for name, _ in lv.skipped}
    assert not names & set(RECORDED_ONLY) and not names & set(SETUP_FLAGS)
    assert {"ghz", "link_gbps", "gro", "tso", "napi_weight", "rx_flow_run_packets"} <= names
    stages = {s.name for s in qm.PATHS["linux-overlay"].rx + qm.PATHS["linux-overlay"].tx}
    costs = {n for n in names if "." in n}
    assert {n.split(".")[0] for n in costs} <= stages
    assert {n.split(".")[1] for n in costs} <= set(COST_FIELDS)
    # The changes, then the elasticities (not one scale), each strongest first; the
    # undefined ones last.
    kinds = [row.kind == "elasticity" for row in lv.rows if row.effect is not None]
    assert kinds == sorted(kinds)
    assert lv.rows[:len(lv.changes) + len(lv.elasticities)] == lv.changes + lv.elasticities
    for group in (lv.changes, lv.elasticities):
        assert group
        sizes = [abs(row.effect) for row in group]
        assert sizes == sorted(sizes, reverse=True)
    assert all(row.effect is None for row in lv.rows[len(lv.changes) + len(lv.elasticities):])


def test_a_lever_at_the_edge_of_its_range_is_nudged_one_way():
    # rx_flow_run_packets at its lower bound (1): only the upward nudge is valid.
    lv = levers({"path": "native", "proto": "tcp", "flows": 80, "rx_flow_run_packets": 1.0},
                output="context_switch_rate_per_s")
    row = {r.name: r for r in lv.rows}["rx_flow_run_packets"]
    # Longer runs: fewer readers per interrupt, fewer wake-ups.
    assert row.value == 1.0 and row.changed > 1.0 and row.effect < 0.0


def test_quantities_get_elasticities_and_counts_steps_of_one():
    # One Docker 8 KB UDP flow whose ring cuts into a cache that refuses when full
    # delivers C / (J timeout) of what it would (kernels._frag_cache_share), J growing
    # with the fragments' true size: elasticities +1 for the cache's bytes, -1 for the
    # timeout and for the true size, exactly.  A byte more of cache (the old integer
    # step) moved nothing; a core more is still a step of one.
    lv = levers({"path": "docker-overlay", "proto": "udp", "msg_bytes": 8192,
                 "ring_cuts_fragments": True, "frag_cache_refuses": True})
    rows = {r.name: r for r in lv.rows}
    assert lv.bottleneck == "receiver:fragment-cache:-"
    for name, effect in (("frag_cache_bytes", 1.0), ("frag_timeout_s", -1.0),
                         ("rx_buffer_truesize_bytes", -1.0)):
        assert rows[name].kind == "elasticity"
        assert rows[name].effect == pytest.approx(effect, abs=2e-3)
    assert rows["frag_cache_bytes"].changed == round(4194304 * 1.01)
    assert rows["physical_cores"].kind == "step" and rows["physical_cores"].changed == 11
    assert rows["napi_weight"].kind == "step"          # 64 < 1 / step: a count


def test_every_stage_cost_name_means_one_number():
    # "stage.field" names every stage of that name (calibrate, whatif, levers); two stages
    # of one name with different costs would make it ambiguous.
    seen = {}
    for path in qm.PATHS.values():
        for stage in path.tx + path.rx:
            for f in COST_FIELDS:
                value = getattr(stage, f)
                assert seen.setdefault((stage.name, f), value) == value, (stage.name, f)


@pytest.mark.parametrize("kwargs, error", [
    ({"output": "nope"}, UnknownNameError),
    ({"output": "bottleneck"}, UnknownNameError),
    ({"step": 0.0}, ModelInputError),
    ({"step": 0.7}, ModelInputError),
    ({"scenario": {"nosuch": 1}}, UnknownNameError),
    ({"scenario": {"flows": [1, 2]}}, ModelInputError),            # a grid, not a point
])
def test_bad_requests(kwargs, error):
    with pytest.raises(error):
        levers(**kwargs)


def test_cli(capsys):
    assert main(["levers", "--path", "docker-overlay", "--top", "3"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("throughput_gbps = ")
    # Three of each group under its heading, a count of the rest, and the legend.
    assert out[2].startswith("  -- changes") and "tunnel_offload" in out[5]
    assert out[3].split()[:4] == ["path", "path", "docker-overlay", "native"]
    assert out[7].startswith("  -- dials") and out[8].split()[:2] == ["ghz", "elasticity"]
    assert out[6].strip().endswith("more)") and out[11].strip().endswith("more)")
    assert len(out) == 2 + 2 * (1 + 3 + 1) + 1
    for bad in (["--top", "-1"], ["--top", "2.5"], ["--output", "nope"]):
        assert main(["levers", *bad]) == 2
        assert len(capsys.readouterr().err.strip().splitlines()) == 1


def test_a_custom_host_is_asked_about_its_own_values():
    host = dataclasses.replace(qm.paper_testbed(), ghz=3.0, name="fast")
    lv = levers({"path": "native", "proto": "tcp", "host": host})
    assert {r.name: r for r in lv.rows}["ghz"].value == 3.0
    assert lv.before == pytest.approx(qm.predict(host=host).throughput_gbps)


def test_every_stage_cost_is_a_lever_and_a_parameter():
    # A stage cost that levers, what-ifs and fits cannot name is a knob nobody can turn:
    # the flows' state lines joined the costs after the others (2026-11-28).
    from queuemodel.calibrate import get_parameter
    from queuemodel.stage import STAGE_COSTS

    assert "flow_state_lines" in STAGE_COSTS
    assert get_parameter("tcp_rx.flow_state_lines") == 16.0
    e = _effects(levers({"path": "native", "proto": "tcp", "flows": 80},
                        output="receiver_cpu_total"))
    assert e["tcp_rx.flow_state_lines"] > 0.0          # more lines refetched, more CPU
    r = run({"path": "native", "proto": "udp", "flows": 80, "udp_rx.flow_state_lines": 60.0})
    assert r.throughput_gbps < run({"path": "native", "proto": "udp", "flows": 80}).throughput_gbps


def test_every_other_path_is_a_lever_and_says_what_it_gives():
    # The design fix beside the settings: each other built-in path swapped in, its effect
    # the plain prediction's, and never the scenario's own path.
    lv = levers({"path": "docker-overlay", "proto": "udp", "flows": 6})
    swapped = {row.changed: row for row in lv.rows if row.kind == "path"}
    assert sorted(swapped) == ["linux-overlay", "native", "routed"]
    for other, row in swapped.items():
        assert row.name == "path" and row.value == "docker-overlay"
        want = qm.predict(path=other, proto="udp", flows=6).throughput_gbps
        assert row.after == want and row.effect == pytest.approx(want / lv.before - 1.0)
    # Six native UDP flows share one address pair (one core): routed's own addresses
    # spread them, so it gains where the overlays' VXLAN costs pull the other way.
    native = levers({"path": "native", "proto": "udp", "flows": 6})
    gains = {row.changed: row.effect for row in native.rows if row.kind == "path"}
    assert gains["routed"] > gains["linux-overlay"] > gains["docker-overlay"] > 0


def test_a_stage_cost_only_the_scenarios_path_has_skips_the_other_paths():
    import dataclasses as dc

    native = qm.get_path("native")
    own = qm.Stage(name="shortcut", context="softirq", unit="packet", cost_cycles_per_unit=100.0)
    path = dc.replace(native, name="mine", rx=native.rx[:3] + (own,) + native.rx[3:])
    lv = levers({"path": path, "proto": "tcp", "shortcut.cost_cycles_per_unit": 200.0})
    assert not [row for row in lv.rows if row.kind == "path"]
    assert sorted(name for name, _ in lv.skipped) == ["path=docker-overlay",
                                                      "path=linux-overlay", "path=native",
                                                      "path=routed"]
