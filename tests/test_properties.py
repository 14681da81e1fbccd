"""Laws the model must obey for any valid scenario (hypothesis property tests)."""

import dataclasses
import math
import re
import warnings

import numpy as np
import pytest
from hypothesis import example, given
from hypothesis import strategies as st

import queuemodel as qm
from queuemodel import wire
from queuemodel.stage import Stage

#: A prediction raises no numpy warning: an inf x 0 or 0 / 0 inside is a NaN that the
#: final answer only happens to hide.
pytestmark = pytest.mark.filterwarnings("error::RuntimeWarning")

PATH_NAMES = qm.paths.ALL_PATH_NAMES          # the paper's three and routed
COST_FIELDS = ("cost_cycles_per_unit", "cost_cycles_per_byte", "cost_cycles_per_invocation",
               "cache_misses_per_unit", "flow_state_lines", "shared_lines_per_unit")
HOST_COSTS = ("softirq_entry_cycles", "context_switch_cycles", "dram_latency_ns",
              "llc_latency_ns", "line_transfer_ns")


@st.composite
def scenarios(draw):
    proto = draw(st.sampled_from(("tcp", "udp")))
    high = 65507 if proto == "udp" else 1 << 20
    overrides = draw(st.fixed_dictionaries({}, optional={
        "ghz": st.floats(0.5, 5.0),
        "link_gbps": st.floats(1.0, 400.0),
        "mtu": st.integers(576, 9216),
        "physical_cores": st.integers(1, 32),
        "nic_queues": st.integers(1, 64),
        "tunnel_offload": st.booleans(),
        "gro": st.booleans(),
        "tso": st.booleans(),
        "gso": st.booleans(),
        "rx_csum": st.booleans(),
        "tx_csum": st.booleans(),
        "adaptive_moderation": st.booleans(),
        "app_on_softirq_core": st.booleans(),
        "link_segments": st.booleans(),
        "forward_tso": st.booleans(),          # since 2026-11-30
        "sender_on_receive_cpu": st.booleans(),
        "veth_link": st.booleans(),
        "irq_moderation_usecs": st.floats(0.0, 200.0),
        "irq_moderation_frames": st.integers(1, 256),
        "adaptive_small_frame_bytes": st.floats(0.0, 2000.0),
        "napi_weight": st.integers(1, 256),
        "context_switch_cycles": st.floats(0.0, 20000.0),
        "softirq_entry_cycles": st.floats(0.0, 5000.0),
        "dram_latency_ns": st.floats(0.0, 300.0),
        "dram_misses_in_flight": st.floats(1.0, 64.0),
        "ddio_share": st.floats(0.01, 1.0),
        "memory_gbytes_per_s": st.floats(0.5, 200.0),
        # 0: nothing held, every write alone (since 2026-11-29)
        "tcp_coalesce_hold_us": st.one_of(st.just(0.0), st.floats(1.0, 1000.0)),
    }))
    arrival_scv = draw(st.sampled_from((None, 0.0, 4.0)))
    if arrival_scv is not None:
        overrides["arrival_scv"] = arrival_scv
    return dict(
        path=draw(st.sampled_from(PATH_NAMES)),
        proto=proto,
        msg_bytes=draw(st.integers(1, high)),
        flows=draw(st.integers(1, 100)),
        offered_gbps=draw(st.one_of(st.just(math.inf), st.floats(0.01, 100.0))),
        **overrides,
    )


@given(scenarios())
def test_throughput_is_finite_and_within_the_link(sc):
    r = qm.predict(**sc)
    assert math.isfinite(r.throughput_gbps) and r.throughput_gbps > 0
    assert r.throughput_gbps <= r.link_goodput_gbps * (1 + 1e-9)
    assert 0.0 <= r.drop_fraction <= 1.0


@given(scenarios())
def test_no_core_is_more_than_fully_busy(sc):
    r = qm.predict(**sc)
    for name, util in r.core_utilisation.items():
        assert -1e-12 <= util <= 1.0 + 1e-9, name
    assert all(u >= 0 for u in r.stages.values())
    for cpu in (r.receiver_cpu, r.sender_cpu):
        assert all(v >= 0 for v in cpu.values())


@given(scenarios())
def test_cpu_accounting_is_conserved(sc):
    # The /proc/stat columns add up to the busy cores, and the stages to their cores.
    r = qm.predict(**sc)
    rx_cores = sum(v for k, v in r.core_utilisation.items() if k.startswith("rx:"))
    assert sum(r.receiver_cpu.values()) == pytest.approx(r.cores_used * rx_cores, rel=1e-9)
    rx_stages = sum(v for k, v in r.stages.items() if k.startswith("rx:"))
    assert rx_stages == pytest.approx(rx_cores, rel=1e-9, abs=1e-12)
    tx_stages = sum(v for k, v in r.stages.items() if k.startswith("tx:"))
    assert tx_stages == pytest.approx(r.core_utilisation["tx:app-core"], rel=1e-9, abs=1e-12)
    # Each client runs on a logical CPU of its own while there are enough of them.
    host = qm.hosts.paper_testbed()
    logical = sc.get("physical_cores", host.physical_cores) * host.threads_per_core
    senders = min(sc["flows"], logical)
    assert sum(r.sender_cpu.values()) == pytest.approx(
        senders * r.core_utilisation["tx:app-core"], rel=1e-9, abs=1e-12)


@given(scenarios())
@example(sc={"path": "native", "proto": "udp", "msg_bytes": 553, "flows": 1,
             "offered_gbps": math.inf, "link_gbps": 2.0})
def test_the_bottleneck_core_is_full(sc):
    # For one flow every hash outcome is the same, so the binding core is exactly full.
    # The @example (a 1,500-example run, 2026-11-27): a CPU held at its overload band's
    # lower edge was charged the copy's misses of a CPU 77 % busy (its rate over its
    # capacity), not of a full one, and came to 99.98 %.
    sc["flows"] = 1
    r = qm.predict(**sc)
    side, core, _stage = r.bottleneck.split(":")
    if core == "memory":        # the receiver's DRAM is the full server
        assert r.memory_bandwidth_gbytes_per_s == pytest.approx(sc["memory_gbytes_per_s"],
                                                                rel=1e-9)
    elif side in ("receiver", "sender") and core != "offered-load":
        key = ("rx:" if side == "receiver" else "tx:") + core
        assert r.core_utilisation[key] == pytest.approx(1.0, abs=1e-6)
    elif side == "link":
        assert r.throughput_gbps == pytest.approx(r.link_goodput_gbps, rel=1e-9)


@given(scenarios())
def test_the_named_stage_is_the_busiest_of_its_core(sc):
    # One flow, so every hash outcome is the same CPU; with the reader on that CPU every
    # receive stage shares it.
    sc["flows"] = 1
    r = qm.predict(**sc)
    side, core, stage = r.bottleneck.split(":")
    prefix = {"sender": "tx:", "receiver": "rx:"}.get(side)
    shared = sc.get("app_on_softirq_core", True)
    if prefix is None or core in ("offered-load", "memory") or (side == "receiver"
                                                                 and not shared):
        return
    on_core = {k[3:]: v for k, v in r.stages.items() if k.startswith(prefix)}
    assert on_core[stage] == max(on_core.values())


@given(scenarios(), st.data())
def test_raising_a_stage_cost_never_raises_throughput(sc, data):
    path = qm.get_path(sc.pop("path"))
    side = data.draw(st.sampled_from(("tx", "rx")))
    stages = getattr(path, side)
    index = data.draw(st.integers(0, len(stages) - 1))
    field = data.draw(st.sampled_from(COST_FIELDS))
    stage = stages[index]
    if field == "cost_cycles_per_invocation" and not stage.poll:
        field = "cost_cycles_per_unit"
    old = getattr(stage, field)
    new = old * data.draw(st.floats(1.0, 10.0)) + data.draw(st.floats(0.0, 5000.0))
    bigger = dataclasses.replace(stage, **{field: new})
    costlier = dataclasses.replace(path, **{side: stages[:index] + (bigger,) + stages[index + 1:]})
    before = qm.predict(path=path, **sc).throughput_gbps
    after = qm.predict(path=costlier, **sc).throughput_gbps
    assert after <= before * (1 + 1e-9)


@given(scenarios(), st.sampled_from(HOST_COSTS), st.floats(1.0, 10.0))
def test_raising_a_host_cost_never_raises_throughput(sc, field, factor):
    base = sc.get(field, getattr(qm.paper_testbed(), field))
    before = qm.predict(**sc).throughput_gbps
    sc[field] = base * factor + 1.0
    assert qm.predict(**sc).throughput_gbps <= before * (1 + 1e-9)


@given(scenarios(), st.floats(1.0, 4.0))
@example(sc={"path": "native", "proto": "tcp", "msg_bytes": 13239, "flows": 48,
             "offered_gbps": math.inf, "mtu": 1735, "tunnel_offload": False, "tso": False,
             "dram_misses_in_flight": 1.0, "gso": False, "sender_on_receive_cpu": False,
             "ddio_share": 1.0}, factor=2.0)          # a band opens at 4.15 GHz (2026-11-27)
# Found by a 1,500-example run (2026-11-29), after the writes a TCP burst gathers came to
# grow with the clock: over a link that carries GSO segments whole (link_segments off)
# the bytes in memory subtracted one frame's preamble, gap and FCS per GSO segment but
# added a frame's headers per MSS packet, so fewer, larger segments put more bytes in
# memory and a DRAM-bound receiver slowed (3.6992 -> 3.6985 Gb/s at 1 -> 4 GHz).
@example(sc={"path": "native", "proto": "tcp", "msg_bytes": 130, "flows": 67,
             "offered_gbps": math.inf, "mtu": 576, "ghz": 1.0, "memory_gbytes_per_s": 1.0,
             "ddio_share": 1.0, "dram_misses_in_flight": 1.0, "dram_latency_ns": 0.0,
             "softirq_entry_cycles": 0.0, "context_switch_cycles": 0.0, "napi_weight": 1,
             "adaptive_small_frame_bytes": 0.0, "irq_moderation_frames": 1,
             "irq_moderation_usecs": 0.0, "veth_link": False, "link_segments": False},
         factor=4.0)
def test_a_faster_clock_never_lowers_throughput(sc, factor):
    ghz = sc.pop("ghz", 2.2)
    slow = qm.predict(ghz=ghz, **sc).throughput_gbps
    fast = qm.predict(ghz=min(ghz * factor, 20.0), **sc).throughput_gbps
    assert fast >= slow * (1 - 1e-9)


#: Host fields that are rates (per second) and durations, by the units in their names.
_RATE_FIELD = re.compile(r"^ghz$|(_gbps|_pps|_per_s)(_|$)")
_DURATION_FIELD = re.compile(r"(_ns|_us|_usecs|_ms|_s|_jiffies)(_|$)")


def _stretched(host, factor):
    """``host`` with every duration times ``factor`` and every rate over it."""
    changes = {}
    for f in dataclasses.fields(host):
        value = getattr(host, f.name)
        if _RATE_FIELD.search(f.name):
            changes[f.name] = value / factor
        elif _DURATION_FIELD.search(f.name):
            changes[f.name] = (tuple(tuple(v * factor for v in pair) for pair in value)
                               if f.name == "idle_states_us" else value * factor)
    return dataclasses.replace(host, **changes)


def test_the_time_fields_are_the_ones_the_names_say():
    # The law below finds the host's durations and rates by the units in their names;
    # a new one named otherwise would escape it.
    names = [f.name for f in dataclasses.fields(qm.Host)]
    rates = {n for n in names if _RATE_FIELD.search(n)}
    durations = {n for n in names if not _RATE_FIELD.search(n) and _DURATION_FIELD.search(n)}
    assert rates == {"ghz", "link_gbps", "memory_gbytes_per_s", "adaptive_rate_low_pps",
                     "adaptive_rate_high_pps"}
    assert durations == {"dram_latency_ns", "llc_latency_ns", "line_transfer_ns",
                         "irq_moderation_usecs", "adaptive_usecs_low", "adaptive_usecs_high",
                         "netdev_budget_jiffies", "softirq_max_time_ms", "tcp_coalesce_hold_us",
                         "wake_latency_us", "idle_states_us", "frag_timeout_s"}


@given(scenarios(), st.sampled_from((2.0, 4.0)))
def test_time_has_no_unit_of_its_own(sc, factor):
    # Dimensional analysis: stretch every duration by a factor and divide every rate by it
    # (the clock, the link, DRAM bandwidth, the moderation's packet-rate thresholds, the
    # offered load), and the same system runs slower: throughput and every rate fall by
    # the factor exactly, latency grows by it, and what is a share (CPU use, drops) or a
    # count per message (interrupts, softirqs) does not move.  A duration hidden in the
    # code as a constant (a jiffy, a microsecond) would break it.  (The jiffy is a field's
    # unit: netdev_budget_jiffies stretches with the rest, so the factor is a whole
    # number.)  Powers of two scale floats exactly.
    offered = sc.pop("offered_gbps")
    arrival = sc.pop("arrival_scv", None)
    workload = {k: sc.pop(k) for k in ("path", "proto", "msg_bytes", "flows")}
    if arrival is not None:
        workload["arrival_scv"] = arrival
    host = qm.hosts.with_overrides(qm.paper_testbed(), sc)
    a = qm.predict(host=host, offered_gbps=offered, **workload)
    b = qm.predict(host=_stretched(host, factor), offered_gbps=offered / factor, **workload)
    assert b.throughput_gbps * factor == pytest.approx(a.throughput_gbps, rel=1e-9)
    assert b.irq_rate_per_s * factor == pytest.approx(a.irq_rate_per_s, rel=1e-9, abs=1e-9)
    assert b.receiver_cpu_total == pytest.approx(a.receiver_cpu_total, rel=1e-9, abs=1e-12)
    assert b.sender_cpu_total == pytest.approx(a.sender_cpu_total, rel=1e-9, abs=1e-12)
    assert b.drop_fraction == pytest.approx(a.drop_fraction, rel=1e-9, abs=1e-12)
    if math.isfinite(a.latency_mean_us):
        assert b.latency_mean_us == pytest.approx(a.latency_mean_us * factor, rel=1e-9)
    else:
        assert not math.isfinite(b.latency_mean_us)


def test_tcp_sharing_the_link_loses_nothing_to_a_faster_clock():
    # Found by a 1,500-example run (2026-11-27): at 3.6 GHz this CPU's moderation ramp
    # opens an overload band (48.2k-59.4k messages/s under a capacity of 59.7k; at 3.5
    # GHz none, capacity 47.8k).  The 41 flows lost 0.6 % of the link while a CPU
    # offered a rate inside its band gave up a share no other flow took, then 0.12 %
    # while a CPU whose flows climbed to the band's upper edge jumped across it.
    sc = {"path": "native", "proto": "tcp", "msg_bytes": 11476, "flows": 41, "mtu": 1718,
          "tso": False, "gso": False, "dram_misses_in_flight": 1.0, "ddio_share": 1.0}
    r = qm.predict(ghz=np.array([3.5, 3.6]), **sc)
    assert r.throughput_gbps[0] == pytest.approx(r.link_goodput_gbps[0], rel=1e-9)
    assert r.throughput_gbps[1] >= r.throughput_gbps[0] * (1 - 1e-9)


# Found by a random search (600 TCP scenarios x 81 clocks, 2026-11-27): while a CPU's
# band was judged from the offer max-min sharing first gave it, raising the clock from 1.0
# to 1.05 GHz moved that offer across the band's upper edge and these 76 flows lost
# 0.012 % of the link.  A TCP CPU now carries an offer inside its band by turns at the
# band's edges (flows.expected_spread, convex): no band moves a TCP rate.
def test_tcp_with_offloads_off_gains_from_a_faster_clock():
    sc = {"path": "native", "proto": "tcp", "msg_bytes": 57666, "flows": 76, "mtu": 1562,
          "tso": False, "gso": False, "dram_misses_in_flight": 2.0673113142369894,
          "ddio_share": 0.8376133201305318}
    r = qm.predict(ghz=np.array([1.0, 1.05]), **sc)
    assert r.throughput_gbps[1] >= r.throughput_gbps[0] * (1 - 1e-9)


# Found by make search-laws SEED=1 (2026-11-27), the same edge through a stage cost: the
# sender shares each receive CPU (sender_on_receive_cpu), so a dearer tcp_tx left the CPUs
# at capacity carrying less, the link's water level rose for the others, and one CPU's
# first offer climbed past its band's upper edge: 80 flows gained 0.002 % as tcp_tx went
# from 0.115 to 0.12 cycles per byte.
def test_a_dearer_sending_stage_gains_nothing_across_a_band_edge():
    sc = {"proto": "tcp", "flows": 80, "arrival_scv": 0.0, "app_on_softirq_core": False,
          "tso": False, "gso": False, "tunnel_offload": True, "sender_on_receive_cpu": True,
          "physical_cores": 23, "nic_queues": 64, "ghz": 3.0477353590674188,
          "link_gbps": 84.82150232506682, "mtu": 1085.0, "msg_bytes": 132427,
          "memory_gbytes_per_s": 24.70106367186803, "dram_latency_ns": 287.4775502508924,
          "dram_misses_in_flight": 63.41301887034437, "ddio_share": 0.5528603640010018,
          "napi_weight": 75.0, "irq_moderation_usecs": 28.882857581431608,
          "irq_moderation_frames": 41.0, "context_switch_cycles": 16108.500748816505,
          "softirq_entry_cycles": 1086.9702588411155}
    overlay = qm.get_path("linux-overlay")
    index = [s.name for s in overlay.tx].index("tcp_tx")

    def with_tcp_tx(per_byte):
        dearer = dataclasses.replace(overlay.tx[index], cost_cycles_per_byte=per_byte)
        tx = overlay.tx[:index] + (dearer,) + overlay.tx[index + 1:]
        return qm.predict(path=dataclasses.replace(overlay, tx=tx), **sc).throughput_gbps

    assert with_tcp_tx(0.12) <= with_tcp_tx(0.115) * (1 + 1e-9)


@given(scenarios())
def test_a_grid_equals_its_scalar_points(sc):
    ghz = np.array([1.0, 2.2, 3.5])
    sc.pop("ghz", None)
    grid = qm.predict(ghz=ghz, **sc)
    for i, g in enumerate(ghz):
        point = qm.predict(ghz=float(g), **sc)
        assert grid.throughput_gbps[i] == pytest.approx(point.throughput_gbps, rel=1e-9)
        assert grid.bottleneck[i] == point.bottleneck
        assert grid.receiver_cpu["softirq"][i] == pytest.approx(point.receiver_cpu["softirq"],
                                                                rel=1e-9, abs=1e-15)


@given(st.sampled_from(PATH_NAMES), st.sampled_from(("tcp", "udp")))
def test_free_cpu_leaves_only_the_link(path, proto):
    # Limiting case: with every cost zero the only limit left is the wire.
    p = qm.get_path(path)
    free = {f: 0.0 for f in COST_FIELDS}
    zero = dataclasses.replace(p, tx=tuple(dataclasses.replace(s, **free) for s in p.tx),
                               rx=tuple(dataclasses.replace(s, **free) for s in p.rx))
    r = qm.predict(path=zero, proto=proto, context_switch_cycles=0.0, softirq_entry_cycles=0.0,
                   dram_latency_ns=0.0)
    assert r.throughput_gbps == pytest.approx(r.link_goodput_gbps, rel=1e-12)
    assert r.bottleneck == "link:line-rate:-"


@given(st.floats(0.01, 5.0), st.sampled_from(PATH_NAMES))
def test_offered_load_below_capacity_is_carried(offered, path):
    # A TCP flow offered less than it can carry gets exactly what it asks for.
    r = qm.predict(path=path, proto="tcp", offered_gbps=offered)
    assert r.throughput_gbps == pytest.approx(offered, rel=1e-9)
    assert r.bottleneck == "sender:offered-load:-"


@given(st.integers(1, 1000))
def test_a_user_path_needs_no_solver_change(cost):
    # A macvlan-like path: native plus one cheap softirq stage of the user's own.
    native = qm.get_path("native")
    macvlan = Stage(name="macvlan_rx", context="softirq", unit="packet",
                    cost_cycles_per_unit=float(cost), source="test")
    path = dataclasses.replace(native, name="macvlan", rx=native.rx[:4] + (macvlan,)
                               + native.rx[4:])
    r = qm.predict(path=path, proto="tcp")
    assert "rx:macvlan_rx" in r.stages
    assert r.throughput_gbps <= qm.predict(path="native", proto="tcp").throughput_gbps


def _cut_in_two(stage):
    """``stage`` as two stages in a row, each with half of every cost."""
    half = {f: getattr(stage, f) / 2 for f in qm.stage.STAGE_COSTS}
    return (dataclasses.replace(stage, name=stage.name + "_a", **half),
            dataclasses.replace(stage, name=stage.name + "_b", **half))


def _cuttable(stage):
    # Not a stage that batches, polls or reads the payload: each of those is one event
    # (a merge, a poll, a pass over the bytes that the L2's stream counts), which two
    # stages would make two.
    return (stage.batching == "none" and not stage.poll and not stage.reads_received_bytes
            and stage.cost_cycles_per_byte == 0.0)


@given(scenarios(), st.data())
def test_a_stage_cut_in_two_halves_changes_nothing(sc, data):
    # How finely a user describes a path's work must not change the answer: one stage
    # written as two in a row, each with half its costs (cycles, cache misses, flow-state
    # and shared lines), on the same core and unit, leaves every rate, CPU share and
    # latency as it was (to 1e-7: the fixed points are solved to 1e-11, and a sum in
    # two parts rounds otherwise; 1e-6 absolute for a rate near 0).  Only names change.
    path = qm.get_path(sc.pop("path"))
    # Over a veth link the NIC's stages are swapped for the veth's by their names
    # (paths.over_veth): a cut one would escape the swap.
    sc["veth_link"] = False
    side = data.draw(st.sampled_from(("tx", "rx")))
    cuttable = [i for i, s in enumerate(getattr(path, side)) if _cuttable(s)]
    i = data.draw(st.sampled_from(cuttable))
    stages = getattr(path, side)
    finer = dataclasses.replace(path, **{side: stages[:i] + _cut_in_two(stages[i])
                                         + stages[i + 1:]})
    a, b = qm.predict(path=path, **sc), qm.predict(path=finer, **sc)
    for name in ("throughput_gbps", "receiver_cpu_total", "sender_cpu_total",
                 "irq_rate_per_s", "softirq_rate_per_s", "context_switch_rate_per_s",
                 "memory_bandwidth_gbytes_per_s", "drop_fraction", "latency_mean_us"):
        x, y = getattr(a, name), getattr(b, name)
        assert y == pytest.approx(x, rel=1e-7, abs=1e-6) or x == y, name
    cut = f"{side}:{stages[i].name}"
    if cut in a.stages:
        assert (b.stages[cut + "_a"] + b.stages[cut + "_b"]
                == pytest.approx(a.stages[cut], rel=1e-7, abs=1e-15))


@given(scenarios())
def test_a_stages_name_is_only_a_label(sc):
    # Paths are data: every stage of a path renamed gives the same answer, under the new
    # names.  Not over a veth link, which swaps the NIC's stages by their library names
    # (paths.over_veth).
    sc["veth_link"] = False
    path = qm.get_path(sc.pop("path"))
    special = ("softirq_entry", "context_switch", "-")      # the model's own rows

    def renamed(stages):
        return tuple(dataclasses.replace(s, name=s.name + "_mine") for s in stages)

    mine = dataclasses.replace(path, name="mine", tx=renamed(path.tx), rx=renamed(path.rx))
    a, b = qm.predict(path=path, **sc).to_dict(), qm.predict(path=mine, **sc).to_dict()

    names = {s.name for s in path.tx + path.rx}

    def label(key):                     # a stage's row or a bottleneck that names one
        last = key.split(":")[-1].removeprefix("sender.")   # one kernel: the sender's too
        return key + "_mine" if last in names and last not in special else key

    assert b.pop("stages") == {label(k): v for k, v in a.pop("stages").items()}
    assert b.pop("bottleneck") == label(a.pop("bottleneck"))
    for d in (a, b):
        del d["path"], d["inputs"]
    assert b == a


@given(scenarios())
def test_softirq_runs_bracket_the_interrupts(sc):
    # Every interrupt starts at least one NET_RX run, and a polling period of P passes
    # through n NAPI stages takes P + n - 1 runs.
    r = qm.predict(**sc)
    stages = sum(s.poll for s in qm.get_path(sc["path"]).rx)
    assert r.softirq_rate_per_s >= r.irq_rate_per_s * (1 - 1e-9)
    assert r.softirq_rate_per_s >= (stages - 1) * r.irq_rate_per_s * (1 - 1e-9)
    assert r.context_switch_rate_per_s >= 0


@given(scenarios(), st.integers(1, 9), st.floats(0.05, 0.95))
def test_ksoftirqd_takes_a_share_and_fewer_hand_offs_than_runs(sc, fewer_runs, less_time):
    # A hand-off ends a run, so hand-offs never outnumber NET_RX runs (or, off a veth link,
    # the interrupts that start the periods); the share is a share; and letting
    # __do_softirq run longer inline (more restarts, more time) never hands on more.
    r = qm.predict(**sc)
    assert 0.0 <= r.ksoftirqd_share <= 1.0
    assert 0.0 <= r.ksoftirqd_rate_per_s <= r.softirq_rate_per_s * (1 + 1e-9) + 1e-9
    if not sc.get("veth_link"):
        assert r.ksoftirqd_rate_per_s <= r.irq_rate_per_s * (1 + 1e-9) + 1e-9
    tighter = qm.predict(**{**sc, "softirq_max_restart": 10 - fewer_runs,
                            "softirq_max_time_ms": 2.0 * less_time})
    assert tighter.throughput_gbps == r.throughput_gbps       # reported, not charged
    assert tighter.ksoftirqd_share >= r.ksoftirqd_share * (1 - 1e-9)
    assert tighter.ksoftirqd_rate_per_s >= r.ksoftirqd_rate_per_s * (1 - 1e-9)


@given(scenarios(), st.integers(1, 640))
def test_a_smaller_run_budget_never_needs_fewer_runs(sc, budget):
    # A run stops once its polls have spent netdev_budget packets, so a smaller budget can
    # only split a polling period into more runs (and leave more to ksoftirqd); the work
    # is the same, and so is the throughput.
    sc.pop("netdev_budget", None)
    ample = qm.predict(**sc, netdev_budget=1 << 20)
    tight = qm.predict(**sc, netdev_budget=budget)
    assert tight.throughput_gbps == ample.throughput_gbps
    assert tight.softirq_rate_per_s >= ample.softirq_rate_per_s * (1 - 1e-12)
    assert tight.ksoftirqd_share >= ample.ksoftirqd_share * (1 - 1e-12)


def test_the_default_budget_never_binds_on_the_papers_paths():
    # ceil(300 / 64) = 5 full polls a run, more than any path's NAPI stages (Docker: 3).
    for path in PATH_NAMES:
        for proto in ("tcp", "udp"):
            r = qm.predict(path=path, proto=proto, msg_bytes=[64, 1024, 8192])
            ample = qm.predict(path=path, proto=proto, msg_bytes=[64, 1024, 8192],
                               netdev_budget=1 << 20)
            assert np.array_equal(r.softirq_rate_per_s, ample.softirq_rate_per_s)
    # One poll a run: Docker's three stages take three runs per NIC poll.
    r = qm.predict(path="docker-overlay", proto="tcp", netdev_budget=64)
    assert r.softirq_rate_per_s > qm.predict(path="docker-overlay",
                                             proto="tcp").softirq_rate_per_s


def test_ksoftirqd_polls_for_good_when_the_napi_work_fills_a_cpu():
    # Limiting cases.  A reader on a CPU of its own leaves the flow CPU to NAPI; offered
    # more than that CPU drains (UDP never slows) and with interrupts that cost nothing
    # (so polling alone fills the CPU), polling never stops: every packet is polled in
    # ksoftirqd.  With the interrupts' real costs a little of the CPU is left between
    # periods.  A trickle of 64-byte datagrams makes periods of (almost always) one
    # packet, which the first run finishes: next to nothing is handed on.
    docker = qm.get_path("docker-overlay")
    free_irq = dataclasses.replace(docker, rx=tuple(
        dataclasses.replace(s, cost_cycles_per_unit=0.0) if s.context == "hardirq"
        else dataclasses.replace(s, cost_cycles_per_invocation=0.0) for s in docker.rx))
    flooded = qm.predict(path=free_irq, proto="udp", app_on_softirq_core=False,
                         softirq_entry_cycles=0.0)
    assert flooded.drop_fraction > 0.0
    assert flooded.ksoftirqd_share == pytest.approx(1.0, abs=1e-9)
    real = qm.predict(path=docker, proto="udp", app_on_softirq_core=False)
    assert 0.5 < real.ksoftirqd_share < flooded.ksoftirqd_share
    trickle = qm.predict(path="native", proto="udp", msg_bytes=64, offered_gbps=0.001)
    assert trickle.ksoftirqd_share < 1e-12 and trickle.ksoftirqd_rate_per_s < 1e-9


@pytest.mark.xfail(strict=True, reason=(
    "known: the model drops a saturated UDP receiver's excess at the ring, yet counts "
    "interrupts from the polling of what the CPU carries (NAPI idle 1 - rho of the time), "
    "so Docker overlay UDP 8 KB takes 14.5k IRQs/s with ksoftirqd_share 0. In Linux a ring "
    "that drops is full, NAPI never completes and no interrupt is raised (ksoftirqd polls). "
    "Counting the polling of what arrives instead would also remove the interrupts P6 was "
    "fitted to (64 B Docker UDP drops too) unless its drops move to the socket, which is "
    "receive livelock (README). Open; 2026-11-27"))
def test_a_cpu_that_drops_at_its_ring_takes_no_interrupts():
    r = qm.predict(path="docker-overlay", proto="udp", msg_bytes=8192)
    assert r.drop_fraction > 0.0 and r.sender_drop_fraction == 0.0
    assert r.irq_rate_per_s == pytest.approx(0.0, abs=1.0)


def test_ksoftirqd_deferral_worked_by_hand():
    # derivations/softirq.py: q = 1 - i/B = 0.9, bursts of b = 45 packets (a 64 KB GSO
    # segment), an awake reader on Docker's three NAPI stages: (10 + 1 - 3) x 64 = 512
    # packets inline = 11 whole bursts and 17 packets: chance 0.9**11 = 0.313811;
    # share 0.313811 x (1 - 17 x 0.1 / 45) = 0.301956.
    from queuemodel.solver import ksoftirqd_deferral

    chance, share = ksoftirqd_deferral(0.1, 1.0, 45.0, 0.0, 1e-6, 64, 3, 10, 2e-3)
    assert float(chance) == pytest.approx(0.313811, abs=1e-6)
    assert float(share) == pytest.approx(0.301956, abs=1e-6)
    # Asleep, one batch of 64 packets = 1 burst and 19 packets: 0.9 and 0.9 x (1 - 1.9/45).
    chance, share = ksoftirqd_deferral(0.1, 1.0, 45.0, 1.0, 1e-6, 64, 3, 10, 2e-3)
    assert float(chance) == pytest.approx(0.9, abs=1e-9)
    assert float(share) == pytest.approx(0.9 * (1 - 1.9 / 45), abs=1e-9)
    # The 2 ms limit binds when a 64-packet batch takes 0.5 ms: 4 batches = 256 packets.
    chance, _ = ksoftirqd_deferral(0.1, 1.0, 45.0, 0.0, 45 * 0.5e-3 / 64, 64, 3, 10, 2e-3)
    assert float(chance) == pytest.approx(0.9 ** 5, abs=1e-9)


def test_an_offer_below_capacity_can_still_overload_the_core():
    # Found by hypothesis (dev profile, at 243 bytes; 260 since the copy pays for its
    # DRAM reads): 260-byte UDP datagrams on a 1 Gb/s link arrive at ~380k packets/s,
    # under mlx4's 400k threshold, where moderation stops delaying interrupts.  The core
    # sustains its full capacity at higher rates but not this offer, which lies in its
    # overload band.  It carries it by turns at the band's edges (it falls behind, polls
    # its backlog with interrupts off, catches up): fully busy, never over, nothing
    # dropped (until 2026-11-28 it was held at the band's lower edge and dropped 13 %).
    # At 3.1 GHz since iperf3's select before each read is counted (2026-11-29): at 2.2
    # the reader's extra call leaves the core short of the offer.
    r = qm.predict(path="native", proto="udp", msg_bytes=260, link_gbps=1.0, ghz=3.1)
    cores, irq = _one_cpu("native", "udp", 260,
                          dataclasses.replace(qm.paper_testbed(), ghz=3.1))
    from queuemodel import solver as S
    offer = r.message_rate_per_s
    assert S._load(cores, irq, np.array([offer]))[0] > 1.0       # inside the band
    assert r.core_utilisation["rx:flow-core"] == pytest.approx(1.0, abs=1e-9)
    assert r.drop_fraction == 0.0
    assert r.throughput_gbps == pytest.approx(r.link_goodput_gbps, rel=1e-12)


def _one_cpu(path, proto, msg_bytes, host, wake_scv=0.0):
    """The receive cores and interrupt model of one CPU, built as the model builds them
    (``wake_scv`` 0: its reader fed at a steady pace, by a sender as fast as it goes)."""
    from queuemodel import model as M
    from queuemodel import solver as S

    p = qm.get_path(path)
    rx = S.compile_side(p, "rx", proto, host)
    h = M._FlatHost(host, lambda v: v)
    msg = np.array([float(msg_bytes)])
    counts, frag, _ = S.path_features(p, proto, msg, host, h)
    units, data = S.gated_counts(counts, frag, msg)
    static = M._stage_cycles(rx, units, data, h.dram_latency_ns * h.ghz)
    burst = counts[:, 1] / counts[:, 3] if (proto == "udp" or host.tso or host.gso) \
        else np.ones(1)
    frame = wire.mean_frame_bytes(proto, msg, h.mtu, p.encap_bytes)
    cores, irq = M._receive_cpu(rx, units, static, h, h.ghz * 1e9, counts[:, 1], burst, frame,
                                np.full(1, float(wake_scv)))
    return list(cores.values()), irq


def _level_moments(cores, irq, runs, capacity, rate, band, limits, shared, convex):
    """kernels.level_moments for one scenario of one CPU level: ``runs`` is (flows, level,
    count, weights) of the patterns, ``rate`` their (1, P) rates per flow (started
    there), ``band`` the level's (low, high).  Returns its seven (1, 1[, K]) outputs."""
    from queuemodel import kernels

    flow_core, app_core = cores[0], cores[-1]

    def row(v):
        return np.broadcast_to(np.asarray(v, dtype=float), (1,)).copy()

    bursts, frames, napi_load, irq_load, delay = irq._parts
    floor = np.ascontiguousarray(flow_core.poll_floor.reshape(1, -1))
    app_floor = np.ascontiguousarray(app_core.poll_floor.reshape(1, -1))
    out = (np.empty((1, 1)), np.empty((1, 1)), np.empty((1, 1)),
           np.empty((1, 1, floor.shape[1])), *(np.empty((1, 1)) for _ in range(7)))
    low, high = (np.full((1, 1), float(np.ravel(b)[0])) for b in band)
    kernels.level_moments(*runs, np.reshape(capacity, (1, 1)), rate, rate, low, high,
                          np.zeros((1, 1)), np.zeros((1, 1)), np.array([[1.0, np.inf, 1.0, 0.0]]),
                          *map(row, (irq.n_wire, bursts, frames)),
                          row(napi_load)[:, None], row(irq_load)[:, None],
                          *map(row, (delay.low_s, delay.span_s, delay.rate_low,
                                     delay.inv_width)),
                          floor, row(app_core.static), row(app_core.irq_cycles),
                          np.asarray(app_core.poll_cycles, dtype=float), app_floor,
                          row(app_core.switch_cycles), row(app_core.capacity)[:, None],
                          limits, row(flow_core.static), row(flow_core.irq_cycles), row(0.3),
                          np.asarray(flow_core.poll_cycles, dtype=float),
                          app_core.idle_residency_s, app_core.idle_exit_s, shared, convex, *out)
    return (out[0],) + out[2:8]


class _Opaque:
    """A core or interrupt model hidden behind plain attribute forwarding, so that
    ``solve_rate`` takes its generic numpy loop instead of the compiled one."""

    def __init__(self, inner):
        self._inner = inner

    def __getattr__(self, name):
        return getattr(self._inner, name)

    def take(self, idx):
        return _Opaque(self._inner.take(idx))


#: Found by make search-laws seed 15 (2026-11-28), on one core of one thread.
_ACROSS_THE_RAMP = dict(
    path="native", proto="tcp", flows=3, arrival_scv=4.0, tso=False, gso=False,
    physical_cores=1, threads_per_core=1, nic_queues=3, ghz=1.2480445046450879,
    link_gbps=18.475053050462414, mtu=8093.0, msg_bytes=276956,
    memory_gbytes_per_s=89.24798227921407, dram_latency_ns=178.9364943791268,
    dram_misses_in_flight=27.96782125306561, ddio_share=0.8918817520476197,
    napi_weight=148.0, irq_moderation_usecs=94.2254731362894, irq_moderation_frames=29.0,
    context_switch_cycles=497.1423384731044, softirq_entry_cycles=4558.514635010273,
    l2_kib=480.17002266613787)


def test_the_fixed_point_extrapolates_only_on_one_side_of_the_adaptive_ramp():
    # From the top (11,701 messages/s, on mlx4's adaptive ramp) the first step fell below
    # the ramp, where the map is gentler; the ratio of the two steps (0.89) was taken as
    # the geometric tail's, which leapt to a negative rate, from which the iteration
    # ended unlimited.  The CPU then took the senders' 6,305 messages/s at 100.24 % busy
    # (its capacity is about 6,290), and a dearer L2 raised throughput: 13.76 Gb/s at 87
    # ns, 13.97 at 88.  The tail now stays on the side of the ramp it was measured on.
    latency = np.linspace(80.0, 100.0, 201)
    r = qm.predict(**_ACROSS_THE_RAMP, llc_latency_ns=latency)
    assert np.all(np.diff(r.throughput_gbps) <= 0.0)
    assert np.all(r.core_utilisation["rx:flow-core"] <= 1.0 + 1e-9)
    assert np.all(r.throughput_gbps < 13.8)          # the CPU, not the senders, binds


@given(path=st.sampled_from(PATH_NAMES), proto=st.sampled_from(("tcp", "udp")),
       msg=st.integers(64, 65507), ghz=st.floats(0.5, 6.0), share=st.floats(0.01, 1.5),
       adaptive=st.booleans(), usecs=st.floats(1.0, 256.0), switch=st.floats(0.0, 2e4),
       shared=st.booleans())
def test_the_compiled_fixed_point_agrees_with_the_numpy_loop(path, proto, msg, ghz, share,
                                                             adaptive, usecs, switch, shared):
    # kernels.core_rates (every built-in query) against solve_rate's generic loop (the
    # reference, used for duck-typed cores): the same rate, bounded or not.  A reader on
    # a core of its own pays its wake-ups there, where they can bind.
    from queuemodel import solver as S

    host = dataclasses.replace(qm.paper_testbed(), ghz=ghz, adaptive_moderation=adaptive,
                               adaptive_usecs_high=usecs, context_switch_cycles=switch,
                               app_on_softirq_core=shared)
    cores, irq = _one_cpu(path, proto, msg, host)
    unbounded = S.solve_rate(np.array([np.inf]), cores, irq)
    reference = S.solve_rate(np.array([np.inf]), [_Opaque(c) for c in cores], _Opaque(irq))
    assert unbounded == pytest.approx(reference, rel=1e-9)
    bound = share * reference
    assert S.solve_rate(bound, cores, irq) == pytest.approx(
        S.solve_rate(bound, [_Opaque(c) for c in cores], _Opaque(irq)), rel=1e-9)
    # From below (TCP's climb): the compiled loop starts at the ramp and extrapolates
    # outside it; the generic one climbs plainly from 0.  The same smallest fixed point.
    climbed = S.solve_rate(np.array([np.inf]), cores, irq, from_below=True)
    assert climbed == pytest.approx(S.solve_rate(np.array([np.inf]), [_Opaque(c) for c in cores],
                                                 _Opaque(irq), from_below=True), rel=1e-7)
    assert climbed <= unbounded * (1 + 1e-9)


@given(path=st.sampled_from(PATH_NAMES), proto=st.sampled_from(("tcp", "udp")),
       msg=st.integers(64, 65507), shared=st.booleans(), switch=st.floats(0.0, 2e4),
       adaptive=st.booleans(),
       shares=st.lists(st.sampled_from([0.0, 1.0]) | st.floats(0.0, 1.0), min_size=2,
                       max_size=2),
       weight=st.floats(0.05, 0.95), budget=st.sampled_from([64, 100, 300]),
       napi_weight=st.sampled_from([32, 64, 128]), most=st.floats(0.05, 100.0),
       read=st.floats(0.0, 5000.0), run=st.floats(1.0, 64.0),
       latency_us=st.sampled_from([0.0, 3.0]) | st.floats(0.0, 50.0),
       scv=st.sampled_from([0.0, 1.0]) | st.floats(0.0, 2.0))
def test_a_levels_work_per_message_is_its_cpus_mean_weighted_by_what_they_carry(
        path, proto, msg, shared, switch, adaptive, shares, weight, budget, napi_weight,
        most, read, run, latency_us, scv):
    # kernels.level_moments against the numpy formulas (solver.Interrupts.per_message,
    # CoreLoad.terms, wakeups_per_message with the host's idle states,
    # readers_per_interrupt, ksoftirqd_deferral) evaluated CPU by CPU.  Two hash outcomes of CPUs at one level: the first puts 2 CPUs
    # of 1 flow and 1 CPU of 3 flows there, the second 1 CPU of 2 flows; each CPU carries
    # min(capacity, flows x rate per flow), and its wake-ups count its own readers.
    host = dataclasses.replace(qm.paper_testbed(), app_on_softirq_core=shared,
                               context_switch_cycles=switch, adaptive_moderation=adaptive,
                               netdev_budget=budget, napi_weight=napi_weight,
                               wake_latency_us=latency_us)
    cores, irq = _one_cpu(path, proto, msg, host, scv)
    flow_core, app_core = cores[0], cores[-1]
    from queuemodel import solver as S
    capacity = S.solve_rate(np.array([np.inf]), cores, irq)
    flows = np.array([[1, 3], [2, 0]])
    level = np.ones((2, 2), dtype=np.int64)
    count = np.array([[2, 1], [1, 0]])
    weights = np.array([weight, 1.0 - weight])
    per_flow = np.array([shares]) * capacity[:, None]             # (1, 2) rate per flow
    bursts, frames, napi_load, irq_load, delay = irq._parts
    floor = np.ascontiguousarray(flow_core.poll_floor.reshape(1, -1))
    limits = np.array([[host.napi_weight, host.softirq_max_restart,
                        host.softirq_max_time_ms * 1e-3,
                        S.polls_per_run(host.netdev_budget, host.napi_weight),
                        most, read, run, latency_us * 1e-6, scv]], dtype=float)
    out = _level_moments(cores, irq, (flows, level, count, weights), capacity, per_flow,
                         (np.inf, np.inf), limits, shared, False)
    carried, ipm, polls, wake_cycles, wakes, handoffs, deferred = (o[:, 0] for o in out)
    # The reference, CPU by CPU.
    runs = [(weights[p] * count[p, j], min(capacity[0], flows[p, j] * per_flow[0, p]),
             flows[p, j]) for p in range(2) for j in range(2) if count[p, j]]
    total = sum(n * r for n, r, _ in runs)
    assert carried[0] == pytest.approx(total, rel=1e-12)
    # Weighted by what each CPU carries; a level that carries nothing takes rate 0's values.
    points = [(n * r, r, k) for n, r, k in runs] if total > 0.0 else [(1.0, 0.0, 1)]
    norm = sum(w for w, _, _ in points)
    ref_ipm = ref_wake_cycles = ref_wakes = ref_handoffs = ref_deferred = 0.0
    ref_polls = np.zeros(floor.shape[1])
    switch_cycles = float(np.ravel(app_core.switch_cycles)[0])
    for w, r, k in points:
        i = irq.per_message(np.array([r]))
        ref_ipm += w * float(i[0])
        ref_polls += w * np.maximum(i[0], floor[0])
        dyn, _ = app_core.terms(np.array([r]), i)
        other = float(np.ravel(app_core.static + dyn)[0])
        if switch_cycles:
            packets = float(irq.n_wire[0] / i[0]) if i[0] > 0 else np.inf
            readers = S.readers_per_interrupt(k, packets, run)
            deliveries = min(most, float(readers * i[0]))
            woken = float(S.wakeups_per_message(r, i[0], other, switch_cycles,
                                                float(np.ravel(app_core.capacity)[0]),
                                                readers=readers, most=most, read_cycles=read,
                                                latency_s=latency_us * 1e-6, arrival_scv=scv,
                                                idle_residency_s=app_core.idle_residency_s,
                                                idle_exit_s=app_core.idle_exit_s))
            ref_wakes += w * woken
            ref_wake_cycles += w * woken * float(S.wakeup_cycles(switch_cycles, deliveries,
                                                                 read))
        # An interrupt finds the reader it delivers to first (on this CPU only) asleep as
        # often as one reader alone would be woken.
        first_woken = S.wakeups_per_message(r, i[0], other, switch_cycles,
                                            float(np.ravel(app_core.capacity)[0]),
                                            latency_s=latency_us * 1e-6, arrival_scv=scv,
                                            idle_residency_s=app_core.idle_residency_s,
                                            idle_exit_s=app_core.idle_exit_s)
        asleep = min(1.0, float(first_woken) / float(i[0])) if shared and i[0] > 0 else 0.0
        first = [float(np.ravel(v)[0]) for v in (bursts, irq.n_wire, napi_load)]
        chance, late = S.ksoftirqd_deferral(i[0], *first[:2], asleep, first[2],
                                            host.napi_weight, floor.shape[1],
                                            host.softirq_max_restart,
                                            host.softirq_max_time_ms * 1e-3,
                                            S.polls_per_run(host.netdev_budget,
                                                            host.napi_weight))
        ref_handoffs += w * float(i[0] * chance)
        ref_deferred += w * float(late)
    assert ipm[0] == pytest.approx(ref_ipm / norm, rel=1e-9)
    assert polls[0] == pytest.approx(ref_polls / norm, rel=1e-9)
    assert wake_cycles[0] == pytest.approx(ref_wake_cycles / norm, rel=1e-9, abs=1e-9)
    assert wakes[0] == pytest.approx(ref_wakes / norm, rel=1e-9, abs=1e-12)
    assert handoffs[0] == pytest.approx(ref_handoffs / norm, rel=1e-9, abs=1e-12)
    assert deferred[0] == pytest.approx(ref_deferred / norm, rel=1e-9, abs=1e-12)


@given(path=st.sampled_from(PATH_NAMES), proto=st.sampled_from(("tcp", "udp")),
       msg=st.integers(64, 65507), share=st.floats(0.01, 1.0),
       high=st.floats(200_000, 2_000_000), usecs=st.floats(1.0, 256.0))
def test_the_overload_band_agrees_with_solving_each_offer(path, proto, msg, share, high, usecs):
    # The per-scenario band (solver.overload_band) must give what solving the fixed point
    # with the offer as bound gives, for any offer below capacity.
    from queuemodel import solver as S

    host = dataclasses.replace(qm.paper_testbed(), adaptive_rate_low_pps=high / 2,
                               adaptive_rate_high_pps=high, adaptive_usecs_high=usecs)
    cores, irq = _one_cpu(path, proto, msg, host)
    capacity = S.solve_rate(np.array([np.inf]), cores, irq)
    offer = share * capacity
    exact = S.solve_rate(offer, cores, irq)
    low, high_edge = S.overload_band(cores, irq, capacity)
    banded = np.where((offer > low) & (offer < high_edge), low, offer)
    assert banded == pytest.approx(exact, rel=1e-7)
    # A load climbing from nothing (TCP) stops at the band's lower edge, else at capacity.
    climbed = S.solve_rate(np.array([np.inf]), cores, irq, from_below=True)
    assert climbed == pytest.approx(np.where(np.isfinite(low), low, capacity), rel=1e-7)


def test_a_load_climbing_from_nothing_stops_at_the_bands_lower_edge():
    # Linux overlay, 940-byte datagrams, an adaptive ramp of 246k-492k packets/s up to
    # 75.92 us: the load rises over 1 on the ramp and falls back (a band of 241.2k-254.0k
    # messages/s under a capacity of 258.2k; at 2.755 GHz since iperf3's select before
    # each read is counted, which puts the band where 2.2 GHz had it before).  From above the capacity iteration finds
    # the capacity; from below (TCP's climb, solve_rate from_below) the band's lower
    # edge, in the compiled loop (which starts at the ramp) as in the generic one.
    from queuemodel import solver as S

    host = dataclasses.replace(qm.paper_testbed(), adaptive_rate_low_pps=246199.0,
                               adaptive_rate_high_pps=492398.0, adaptive_usecs_high=75.92,
                               ghz=2.755)
    cores, irq = _one_cpu("linux-overlay", "udp", 940, host)
    inf = np.array([np.inf])
    capacity = S.solve_rate(inf, cores, irq)
    low, high = S.overload_band(cores, irq, capacity)
    assert low[0] < high[0] < capacity[0]
    climbed = S.solve_rate(inf, cores, irq, from_below=True)
    assert climbed == pytest.approx(low, rel=1e-9)
    assert S.solve_rate(inf, [_Opaque(c) for c in cores], _Opaque(irq),
                        from_below=True) == pytest.approx(low, rel=1e-9)


def test_a_cpu_inside_its_band_works_as_the_mix_of_its_edges():
    # The band of test_a_load_climbing_from_nothing_stops_at_the_bands_lower_edge
    # (241.2k-254.0k messages/s).  Offered 247k inside it, a CPU ("convex", the model's
    # way) carries it by turns at the edges: a share theta of the time at the upper edge,
    # where theta * high + (1 - theta) * low = 247k, so its interrupts per message are the
    # edges' weighted by what each carries, and its load the edges' mix (1: both are
    # sustained exactly), never the load at 247k itself (above 1).  Held (the model's way
    # until 2026-11-28), it carries the lower edge.
    from queuemodel import solver as S

    host = dataclasses.replace(qm.paper_testbed(), adaptive_rate_low_pps=246199.0,
                               adaptive_rate_high_pps=492398.0, adaptive_usecs_high=75.92,
                               ghz=2.755)
    cores, irq = _one_cpu("linux-overlay", "udp", 940, host)
    capacity = S.solve_rate(np.array([np.inf]), cores, irq)
    low, high = S.overload_band(cores, irq, capacity)
    offer = 247_000.0
    assert low[0] < offer < high[0] < capacity[0]
    assert S._load(cores, irq, np.array([offer]))[0] > 1.0
    one = (np.array([[1]]), np.array([[1]]), np.array([[1]]), np.array([1.0]))
    limits = np.array([[64.0, 10.0, 2e-3, 5.0, 1.0, 0.0, 1.0, 3e-6, 0.0]])

    def moments(convex):
        out = _level_moments(cores, irq, one, capacity, np.array([[offer]]), (low, high),
                             limits, True, convex)
        return out[0][0, 0], out[1][0, 0]

    theta = (offer - low[0]) / (high[0] - low[0])
    carried, ipm = moments(True)
    assert carried == pytest.approx(offer, rel=1e-12)
    i_low, i_high = (float(irq.per_message(np.array([r]))[0]) for r in (low[0], high[0]))
    assert ipm == pytest.approx((theta * high[0] * i_high + (1 - theta) * low[0] * i_low)
                                / offer, rel=1e-9)
    loads = S._load(cores, irq, np.array([low[0], high[0]]))
    assert theta * loads[1] + (1 - theta) * loads[0] == pytest.approx(1.0, abs=1e-6)
    held, held_ipm = moments(False)
    assert held == pytest.approx(low[0], rel=1e-12)
    assert held_ipm == pytest.approx(i_low, rel=1e-9)


def test_a_reader_on_its_own_core_is_named_when_it_binds():
    # Found by hypothesis (dev profile): 1-byte TCP messages with the reader on its own
    # core were named as bound by the flow core (0.08 % busy).  With the sender's stages
    # made four times cheaper the receiver binds, and the core named must be its full one
    # (the reader's), not the flow core that does less.  (Its dearest stage is a tie:
    # iperf3's select and the read cost the same.)
    native = qm.get_path("native")
    cheap = dataclasses.replace(native, name="cheap-sender", tx=tuple(
        dataclasses.replace(s, cost_cycles_per_unit=s.cost_cycles_per_unit / 4,
                            cost_cycles_per_byte=s.cost_cycles_per_byte / 4)
        for s in native.tx))
    for msg in (1, 1024):
        r = qm.predict(path=cheap, proto="tcp", msg_bytes=msg, ghz=1.0, gro=False,
                       app_on_softirq_core=False)
        assert r.bottleneck in ("receiver:app-core:select", "receiver:app-core:recv_syscall")
        assert r.core_utilisation["rx:app-core"] == pytest.approx(1.0, abs=1e-6)


@given(scenarios())
def test_interrupts_never_outnumber_wire_packets(sc):
    # One interrupt announces at least one packet (moderation and NAPI only merge them).
    r = qm.predict(**sc)
    assert r.irq_rate_per_s <= r.wire_packet_rate_per_s * (1 + 1e-9)


def _runs_per_interrupt_law(sc, r):
    """Softirq runs per interrupt of a one-flow result ``r`` of scenario ``sc``.

    While one pass of the NIC's poll serves each interrupt (no more packets per
    interrupt than napi_weight), an interrupt starts one NET_RX run per NAPI stage on
    the path: between 1 and the number of stages (3 for the Docker overlay: NIC, VXLAN,
    backlog).  That premise is about the one rate the CPU runs at: a CPU carried by turns
    at the two edges of an overload band (fully busy, yet not what binds) mixes two, and
    the mean packets per interrupt can meet it while one edge polls more.  Always: a run
    per stage per poll at most, and an interrupt's period takes 1 + packets /
    napi_weight polls at most.
    """
    if r.irq_rate_per_s <= 0:
        return
    stages = sum(s.poll for s in qm.get_path(sc["path"]).rx)
    per_irq = r.softirq_rate_per_s / r.irq_rate_per_s
    packets = r.wire_packet_rate_per_s / r.irq_rate_per_s
    weight = sc.get("napi_weight", qm.paper_testbed().napi_weight)
    assert 1 - 1e-9 <= per_irq <= stages * (1 + packets / weight) * (1 + 1e-9)
    by_turns = (r.core_utilisation["rx:flow-core"] >= 1 - 1e-9
                and not r.bottleneck.startswith("receiver:flow-core:"))
    if packets <= weight and not by_turns:
        assert per_irq <= stages * (1 + 1e-9)


@given(scenarios())
def test_softirq_runs_per_interrupt_within_the_napi_chain(sc):
    # One flow, so the packets per interrupt are those of its one CPU.
    sc["flows"] = 1
    _runs_per_interrupt_law(sc, qm.predict(**sc))


def test_a_cpu_carried_by_turns_polls_more_than_its_mean_interrupt_shows():
    # Found by make search-laws seed 21 (2026-11-28): native UDP, offered 335k packets/s,
    # inside the adaptive-moderation band, so the CPU alternates between its unmoderated
    # edge (an interrupt a packet or so) and its moderated edge (more than napi_weight = 7
    # packets an interrupt, several polls, each a NET_RX run in Linux 4.4: a full poll is
    # put back and the softirq raised again).  3.05 packets an interrupt on average, yet
    # 1.09 runs.  With a fixed delay there is one rate and the premise sees it (19.5
    # packets an interrupt, 2.79 runs: outside the premise).  Since iperf3's select
    # before each read is counted (2026-11-29) the clock is 3.15 GHz, not 2.33, to keep
    # the offer inside the band: 2.33 packets an interrupt, 1.048 runs.
    sc = dict(path="native", proto="udp", arrival_scv=0.0, napi_weight=7.0, mtu=2027.0,
              msg_bytes=1705, offered_gbps=4.578347421713385, nic_queues=59,
              ghz=3.15, link_gbps=50.866404200096866, gso=False,
              irq_moderation_usecs=38.153447405789834, irq_moderation_frames=167.0,
              dram_latency_ns=239.63713895688602, dram_misses_in_flight=15.569199369470267,
              ddio_share=0.4106539057616734, context_switch_cycles=356.6657135172013,
              softirq_entry_cycles=2040.0095130884843, memory_gbytes_per_s=10.41448765837001,
              l2_kib=535.7993947975813, llc_latency_ns=99.80730587495741)
    r = qm.predict(**sc)
    assert r.bottleneck == "sender:offered-load:-"
    assert r.core_utilisation["rx:flow-core"] == pytest.approx(1.0, abs=1e-9)   # by turns
    assert r.wire_packet_rate_per_s / r.irq_rate_per_s < 7.0
    assert r.softirq_rate_per_s / r.irq_rate_per_s > 1.02
    _runs_per_interrupt_law(sc, r)
    fixed = qm.predict(**sc, adaptive_moderation=False)
    assert fixed.core_utilisation["rx:flow-core"] < 1.0 - 1e-6
    assert fixed.wire_packet_rate_per_s / fixed.irq_rate_per_s > 7.0
    _runs_per_interrupt_law(sc, fixed)


@given(path=st.sampled_from(PATH_NAMES), msg=st.integers(1473, 65507),
       mtu=st.integers(576, 9216))
def test_udp_above_the_mtu_sends_one_wire_packet_per_fragment(path, msg, mtu):
    from queuemodel import wire

    encap = qm.get_path(path).encap_bytes
    fragments = float(wire.udp_fragments(msg, mtu, encap))
    r = qm.predict(path=path, proto="udp", msg_bytes=msg, mtu=mtu)
    assert r.wire_packet_rate_per_s / r.message_rate_per_s == pytest.approx(fragments,
                                                                            rel=1e-12)


# ------------------------------------------------------------------ memory traffic laws

@given(scenarios())
def test_memory_traffic_is_at_most_two_passes_over_the_received_frames(sc):
    # Each received byte costs at most one DRAM write-back and one DRAM read.  (A TCP
    # write that leaves alone is a packet of its own, with its own headers.)
    r = qm.predict(**sc)
    args = (r.proto, r.inputs["msg_bytes"], sc.get("mtu", 1500),
            qm.get_path(sc["path"]).encap_bytes)
    packets = None
    if r.proto == "tcp" and r.message_rate_per_s > 0:
        packets = max(r.wire_packet_rate_per_s / r.message_rate_per_s,
                      wire.wire_packets_per_message(*args))
    frames_gbytes = r.message_rate_per_s * wire.wire_bytes_per_message(
        *args, tcp_packets=packets) / 1e9
    assert math.isfinite(r.memory_bandwidth_gbytes_per_s)
    assert 0.0 <= r.memory_bandwidth_gbytes_per_s <= 2.0 * frames_gbytes * (1 + 1e-9)


@given(scenarios())
def test_without_a_cache_for_the_nic_memory_traffic_is_never_below_the_bytes_delivered(sc):
    # Issue 3's law "memory traffic never below the bytes delivered", where it holds: a
    # NIC that cannot write into the cache (no DDIO share) puts every frame in DRAM, so
    # each delivered byte is written there at least once.  With DDIO a byte copied out
    # before it is pushed out of the NIC's share never reaches DRAM (the paper testbed's
    # seven native flows move 0.90 DRAM bytes per byte delivered; README, Memory
    # traffic), and over a veth link there is no NIC at all.
    sc.update(veth_link=False, ddio_share=1e-12)
    r = qm.predict(**sc)
    delivered_gbytes = r.throughput_gbps / 8.0
    assert r.memory_bandwidth_gbytes_per_s >= delivered_gbytes * (1 - 1e-9)


@given(scenarios(), st.floats(1.0, 10.0))
@example(sc={"path": "native", "proto": "udp", "msg_bytes": 2953, "flows": 2,
             "offered_gbps": math.inf, "ghz": 0.5, "memory_gbytes_per_s": 1.0,
             "ddio_share": 1.0, "dram_misses_in_flight": 1.0, "link_gbps": 2.0,
             "softirq_entry_cycles": 0.0, "app_on_softirq_core": False, "napi_weight": 1},
         factor=4.0)
def test_a_bigger_cache_share_never_adds_memory_traffic(sc, factor):
    # More cache for the NIC's writes: fewer lines pushed out before use, so fewer bytes
    # the copy reads from DRAM and never less throughput.  With free misses the share
    # touches nothing but the traffic: the rates stay put, and the traffic never grows.
    # The rates are fixed points solved to a relative step of 1e-11 (solver._RTOL): the
    # @example, found by a 1,500-example run, differs by 1.4e-12 with the reader elsewhere.
    sc["memory_gbytes_per_s"] = 1e9       # DRAM bandwidth to spare
    sc.pop("ddio_share", None)
    small = qm.predict(ddio_share=0.1 / factor, **sc)
    large = qm.predict(ddio_share=0.1, **sc)
    assert large.throughput_gbps >= small.throughput_gbps * (1 - 1e-10)
    sc["dram_latency_ns"] = 0.0
    small = qm.predict(ddio_share=0.1 / factor, **sc)
    large = qm.predict(ddio_share=0.1, **sc)
    assert large.throughput_gbps == small.throughput_gbps
    assert large.memory_bandwidth_gbytes_per_s <= small.memory_bandwidth_gbytes_per_s * (1 + 1e-12)


@given(scenarios())
def test_a_cache_larger_than_anything_waiting_means_no_memory_traffic(sc):
    # Limiting case: with the whole (huge) cache open to the NIC, nothing is evicted.
    r = qm.predict(**{**sc, "llc_mib": 1e9, "ddio_share": 1.0})
    assert r.memory_bandwidth_gbytes_per_s == 0.0


@given(scenarios(), st.floats(1.0, 64.0))
def test_a_bigger_l2_never_lowers_throughput_nor_loses_more_flow_state(sc, factor):
    # A larger per-core L2 keeps more of the flows' state between their packets: no more
    # misses per touch, never less throughput; with free refetches it changes nothing else.
    small = qm.predict(l2_kib=256.0, **sc)
    large = qm.predict(l2_kib=256.0 * factor, **sc)
    assert 0.0 <= large.flow_state_miss_fraction <= small.flow_state_miss_fraction <= 1.0
    assert large.throughput_gbps >= small.throughput_gbps * (1 - 1e-10)
    free = {**sc, "llc_latency_ns": 0.0}
    assert (qm.predict(l2_kib=256.0, **free).throughput_gbps
            == qm.predict(l2_kib=256.0 * factor, **free).throughput_gbps)


@given(scenarios())
def test_an_l2_larger_than_anything_streamed_loses_no_flow_state(sc):
    # Limiting case: nothing is evicted, so the refetch latency cannot matter.
    huge = qm.predict(l2_kib=1e12, **sc)
    assert huge.flow_state_miss_fraction == 0.0
    assert huge.to_dict() == qm.predict(l2_kib=1e12, llc_latency_ns=300.0, **sc).to_dict()


@given(scenarios())
def test_dram_traffic_never_exceeds_the_memory_bandwidth(sc):
    # Known to break in rare cases that the CI profile does not draw and a 1,500-example
    # run does (rare DRAM misses, a crowded CPU, DRAM far below the link): the strict xfail
    # test_a_crowded_receiver_under_its_dram_budget_stays_within_the_bandwidth says why.
    r = qm.predict(**sc)
    bandwidth = sc.get("memory_gbytes_per_s", qm.hosts.paper_testbed().memory_gbytes_per_s)
    assert r.memory_bandwidth_gbytes_per_s <= bandwidth * (1 + 1e-9)


@given(scenarios())
def test_the_share_of_outcomes_the_dram_binds_is_a_chance_that_names_the_memory(sc):
    # memory_bound_share is a probability over the hash outcomes; the bottleneck names the
    # memory when it is at least a half; with a DRAM no traffic can fill, it is 0.
    r = qm.predict(**sc)
    assert 0.0 <= r.memory_bound_share <= 1.0 + 1e-12
    assert (r.bottleneck == "receiver:memory:dram") == (r.memory_bound_share >= 0.5)
    wide = qm.predict(**{**sc, "memory_gbytes_per_s": 1e9})
    assert wide.memory_bound_share == 0.0


@given(scenarios(), st.floats(1.0, 20.0))
def test_no_outcome_delivers_past_its_dram_budget(sc, factor):
    # Each hash outcome carries at most its DRAM budget, so their mean does too; where the
    # DRAM binds every outcome they carry exactly it.  The budget is the bandwidth over
    # bytes per byte that do not depend on it: it scales with the bandwidth.
    bandwidth = sc.pop("memory_gbytes_per_s", 10.0)
    r = qm.predict(memory_gbytes_per_s=bandwidth, **sc)
    assert r.memory_budget_gbps > 0.0
    assert r.throughput_gbps <= r.memory_budget_gbps * (1 + 1e-9)
    if r.memory_bound_share == 1.0:
        assert r.throughput_gbps == pytest.approx(r.memory_budget_gbps, rel=1e-6)
    wider = qm.predict(memory_gbytes_per_s=bandwidth * factor, **sc)
    assert wider.memory_budget_gbps == pytest.approx(r.memory_budget_gbps * factor, rel=1e-12)


@given(scenarios())
def test_a_flow_more_never_raises_the_dram_budget(sc):
    # A flow more lengthens the backlog a byte waits behind and never frees a busy CPU
    # (the draws are nested), so every outcome's budget, and their mean, can only fall.
    n = sc.pop("flows")
    budget = qm.predict(**sc, flows=[n, n + 1]).memory_budget_gbps
    assert budget[1] <= budget[0] * (1 + 1e-12)


def test_a_dram_budget_past_a_floats_range_is_no_limit_and_no_warning():
    # Found by tests/search_laws.py --wide (seeds 4 and 22, 2026-11-29): a cache so large
    # that a byte leaves it with chance 1e-308 gives a budget of 1e305 messages/s, which
    # overflowed to inf with a RuntimeWarning on its way to Gb/s.
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        r = qm.predict(path="linux-overlay", proto="tcp", veth_link=True,
                       llc_mib=np.array([1000.0, 2240.0]))
    assert 1e135 < r.memory_budget_gbps[0] < np.inf
    assert r.memory_budget_gbps[1] == np.inf
    assert r.to_dict()["memory_budget_gbps"] == [r.memory_budget_gbps[0], None]


@given(scenarios(), st.floats(1.0, 20.0))
def test_more_memory_bandwidth_never_lowers_throughput(sc, factor):
    bandwidth = sc.pop("memory_gbytes_per_s", 10.0)
    low = qm.predict(memory_gbytes_per_s=bandwidth, **sc)
    high = qm.predict(memory_gbytes_per_s=bandwidth * factor, **sc)
    assert high.throughput_gbps >= low.throughput_gbps * (1 - 1e-9)


def test_udp_sharing_the_dram_loses_nothing_to_a_faster_clock():
    # Found by a random search of DRAM-bound scenarios (2026-11-27): at 3.36 GHz an overload
    # band opened on a CPU whose share of the DRAM's budget it fell in, and the share it
    # gave up went to no one (-0.23 %).  UDP's water level now climbs again with the bands
    # in it, as TCP's does (kernels.banded_flow_rates).
    r = qm.predict(path="native", proto="udp", msg_bytes=413, flows=45, mtu=8726,
                   dram_misses_in_flight=15.84, dram_latency_ns=66.06, link_gbps=193.6,
                   tso=False, ddio_share=0.2937, memory_gbytes_per_s=1.326,
                   ghz=np.array([3.175, 3.364]))
    assert r.bottleneck[1] == "receiver:memory:dram"
    assert r.throughput_gbps[1] >= r.throughput_gbps[0] * (1 - 1e-9)


@pytest.mark.xfail(strict=True, reason=(
    "known, 2026-11-27: the DRAM budget a hash outcome's flows share (kernels.dram_budget) "
    "assumes every byte waits alike (the whole backlog), while the traffic "
    "(kernels.spread_moments) has each CPU's own wait; where misses are rare and a crowded "
    "CPU's bytes wait much longer than the rest, an outcome under its budget moves more "
    "than the bandwidth: 27 % more here; 3 of 400 random scenarios, worst 16 % (the first "
    "found by a 1,500-example run: native UDP, 50 flows, 6e-6 over). Budgeting with each "
    "CPU's own wait fixes it, but a faster clock then evens a DRAM-bound outcome's waits, "
    "which costs more bytes per byte where misses are common: 57 of 293 random DRAM-bound "
    "scenarios lost throughput to a faster clock (worst 1.1 %; none shipped) and 34 gained "
    "it from a dearer softirq entry (worst +0.013 %). Not shipped; README, Testing"))
def test_a_crowded_receiver_under_its_dram_budget_stays_within_the_bandwidth():
    r = qm.predict(path="linux-overlay", proto="udp", msg_bytes=35085, flows=50,
                   memory_gbytes_per_s=0.3, mtu=1274, dram_misses_in_flight=17.5,
                   dram_latency_ns=76.7, ghz=2.5, link_gbps=229.0,
                   app_on_softirq_core=False, veth_link=True, tso=False, ddio_share=0.494)
    assert r.memory_bandwidth_gbytes_per_s <= 0.3 * (1 + 1e-9)


@pytest.mark.parametrize("path, proto", [("native", "tcp"), ("docker-overlay", "udp")])
def test_a_receiver_short_of_dram_bandwidth_carries_what_it_moves(path, proto):
    # One flow: its bytes cost DRAM traffic at the operating point's bytes per byte; with
    # a quarter of that traffic's bandwidth the flow carries a quarter as much, and the
    # DRAM is named.
    free = qm.predict(path=path, proto=proto)
    bound = qm.predict(path=path, proto=proto,
                       memory_gbytes_per_s=free.memory_bandwidth_gbytes_per_s / 4)
    assert bound.bottleneck == "receiver:memory:dram"
    assert bound.throughput_gbps == pytest.approx(free.throughput_gbps / 4, rel=1e-9)
    assert bound.memory_bandwidth_gbytes_per_s == pytest.approx(
        free.memory_bandwidth_gbytes_per_s / 4, rel=1e-9)
    assert "memory" not in free.bottleneck
    # The bound flow carries its DRAM budget; the free one had four times that to spare
    # and more (its budget is the paper testbed's bandwidth over the same bytes per byte).
    assert bound.memory_budget_gbps == pytest.approx(bound.throughput_gbps, rel=1e-9)
    assert free.memory_budget_gbps == pytest.approx(
        bound.memory_budget_gbps * qm.paper_testbed().memory_gbytes_per_s
        / (free.memory_bandwidth_gbytes_per_s / 4), rel=1e-9)


def test_one_kernel_udp_collisions_keep_the_flow_core_within_one_cpu():
    # Found by hypothesis (dev profile): accounting a thread level's CPUs at their mean
    # rate put that rate inside the overload band, where one CPU would need more than
    # itself, although every CPU was at capacity or below the band: 100.0017 % busy.
    # Each CPU is now accounted at its own rate (kernels.level_moments).
    r = qm.predict(path="linux-overlay", proto="udp", msg_bytes=1, flows=7, link_gbps=2.0,
                   irq_moderation_frames=16, dram_latency_ns=0.0, tunnel_offload=False,
                   context_switch_cycles=0.0, irq_moderation_usecs=0.0, physical_cores=5,
                   ghz=5.0, link_segments=False, app_on_softirq_core=False, napi_weight=1,
                   tx_csum=False, rx_csum=False, gso=False, tso=False, gro=False,
                   softirq_entry_cycles=920.0, nic_queues=4, sender_on_receive_cpu=True)
    assert r.core_utilisation["rx:flow-core"] <= 1.0 + 1e-9


# Linux 4.4 drivers/net/ethernet/mellanox/mlx4/en_netdev.c, mlx4_en_auto_moderation():
# a ring's delay follows the rate only while its packets average more than
# MLX4_EN_AVG_PKT_SMALL (256) bytes; otherwise it is rx_usecs_low (0) at any rate.
def test_adaptive_moderation_leaves_a_ring_of_small_frames_at_its_low_delay():
    from queuemodel.solver import moderation_delay_us

    h = qm.paper_testbed()
    on_ramp = 425e3                                  # half-way between 400k and 450k
    assert float(moderation_delay_us(on_ramp, h)) == pytest.approx(64.0)
    assert float(moderation_delay_us(on_ramp, h, frame_bytes=256.0)) == 0.0
    assert float(moderation_delay_us(on_ramp, h, frame_bytes=257.0)) == pytest.approx(64.0)
    assert float(moderation_delay_us(1e6, h, frame_bytes=106.0)) == 0.0


@pytest.mark.parametrize("msg_bytes, small", [(64, True), (214, True), (215, False),
                                               (256, False)])
def test_small_native_datagrams_are_not_moderated(msg_bytes, small):
    # Native UDP at 3.0 GHz runs its queue at 425-429k packets/s, on the ramp (2.2 GHz
    # did until iperf3's select before each read was counted, 2026-11-29).  A
    # datagram of 214 bytes or less makes frames of 256 or less (42 bytes of headers):
    # the prediction is the one with the ramp flattened to its low delay; from 215
    # bytes on, the one without the small-frame rule.
    r = qm.predict(path="native", proto="udp", msg_bytes=msg_bytes, ghz=3.0)
    flat = qm.predict(path="native", proto="udp", msg_bytes=msg_bytes, ghz=3.0,
                      adaptive_usecs_high=0.0)
    ramp = qm.predict(path="native", proto="udp", msg_bytes=msg_bytes, ghz=3.0,
                      adaptive_small_frame_bytes=0.0)
    assert 400e3 < ramp.wire_packet_rate_per_s < 450e3      # the premise: on the ramp
    same = flat if small else ramp
    assert r.to_dict() == same.to_dict()
    assert (r.irq_rate_per_s > 10 * ramp.irq_rate_per_s) == small
