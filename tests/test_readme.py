"""The README stays true: its Python examples run, and its claim table matches the model."""

import json
import re
from pathlib import Path

import numpy as np
import pytest

import queuemodel as qm

README = (Path(__file__).resolve().parents[1] / "README.md").read_text()
BLOCKS = re.findall(r"```python\n(.*?)```", README, flags=re.S)


@pytest.mark.parametrize("code", BLOCKS, ids=[f"block{i}" for i in range(len(BLOCKS))])
def test_python_examples_run(code):
    exec(compile(code, "README.md", "exec"), {})


ROWS = re.findall(r"^\| (S[1-6]) \| [^|]+ \| [^|]+ \| ([0-9.]+) \|", README, flags=re.M)
CASES = {"S1": ("native", "tcp"), "S2": ("linux-overlay", "tcp"),
         "S3": ("docker-overlay", "tcp"), "S4": ("native", "udp"),
         "S5": ("linux-overlay", "udp"), "S6": ("docker-overlay", "udp")}


def test_readme_lists_the_six_throughput_claims():
    assert [cid for cid, _ in ROWS] == list(CASES)


@pytest.mark.parametrize("cid, shown", ROWS)
def test_claim_table_matches_the_model(cid, shown):
    path, proto = CASES[cid]
    assert qm.predict(path=path, proto=proto).throughput_gbps == pytest.approx(float(shown),
                                                                               abs=0.006)


TESTBED_ROWS = re.findall(
    r"^\| (native|Linux overlay|Docker overlay) (TCP|UDP 8 KB), (\d) flows? \| (fitted|predicted) "
    r"\| ([0-9.]+) \([0-9.]+-[0-9.]+\) \| ([0-9.]+) \| ([-+0-9.]+) % "
    r"\| ([0-9.]+) / ([0-9.]+) \|$", README, flags=re.M)


def test_readme_lists_the_nine_testbed_workloads():
    assert len(TESTBED_ROWS) == 9


def test_testbed_table_matches_the_saved_dataset_and_the_model():
    # The README's testbed table is the calibration of tests/data/testbed/vm-2cpu-6x.json.
    import json

    from queuemodel.testbed.fit import calibrate_dataset

    data = Path(__file__).parent / "data" / "testbed" / "vm-2cpu-6x.json"
    fit = calibrate_dataset(json.loads(data.read_text()))
    by_key = {(r["path"], r["proto"], int(r["flows"])): r for r in fit.rows}
    names = {"native": "native", "Linux overlay": "linux-overlay",
             "Docker overlay": "docker-overlay"}
    for path, proto, flows, role, measured, model, error, cpus, model_cpus in TESTBED_ROWS:
        row = by_key[(names[path], proto.split()[0].lower(), int(flows))]
        assert row["role"] == role
        assert row["measured_gbps"] == pytest.approx(float(measured), abs=0.006)
        assert row["model_gbps"] == pytest.approx(float(model), abs=0.006)
        assert 100 * row["error"] == pytest.approx(float(error), abs=0.06)
        assert row["measured_cpus"] == pytest.approx(float(cpus), abs=0.006)
        assert row["model_cpus"] == pytest.approx(float(model_cpus), abs=0.006)


CLAIM_ROWS = re.findall(r"^\| ([SMHP]\d) \|(.*)\| (fitted|predicted) \|$", README, flags=re.M)


def test_claim_table_says_what_validate_says():
    # Every answered claim has a row; its role and whether it is marked as failing are
    # validate's (a fit or a mechanism that moves a claim must move the table too).
    from queuemodel.claims import validate

    outcomes = {o.claim.id: o for o in validate().outcomes}
    assert sorted(cid for cid, _, _ in CLAIM_ROWS) == sorted(outcomes)
    for cid, middle, role in CLAIM_ROWS:
        assert role == outcomes[cid].role, cid
        assert ("fails" in middle) == (not outcomes[cid].passed), cid


def test_derivation_count_is_current():
    # The README counts the derivations; a new one must move the count (it was once
    # stale by one).
    from derivations import all_derivations

    counts = re.findall(r"`derivations/DERIVATIONS.md`: (\d+) derivations", README)
    assert counts and all(int(c) == len(all_derivations()) for c in counts)


HASHING = re.search(r"core: TCP ([0-9.]+) -> ([0-9.]+) Gb/s, UDP ([0-9.]+) -> ([0-9.]+)\..*?"
                    r"fragments, from ([0-9.]+) to ([0-9.]+) Gb/s", README, flags=re.S)


def test_hashing_bullet_matches_the_model():
    # README "What the model reproduces": eight flows with and without UDP-port hashing.
    assert HASHING, "the hashing bullet is gone or reworded"
    shown = [float(v) for v in HASHING.groups()]

    def gbps(path, proto, **host):
        return qm.predict(path=path, proto=proto, flows=8, **host).throughput_gbps

    model = [gbps("docker-overlay", "tcp"), gbps("docker-overlay", "tcp", rss_udp_ports=False),
             gbps("docker-overlay", "udp"), gbps("docker-overlay", "udp", rss_udp_ports=False),
             gbps("linux-overlay", "udp"), gbps("linux-overlay", "udp", tunnel_offload=True)]
    assert shown == [round(v, 1) for v in model]


FRAGMENTS = re.search(r"8 % at 8 KB\s+\(n = (\d+)\), 69 % at the largest datagram \(n = (\d+)\)",
                      README)
READERS = re.search(r"eight native\s+UDP flows, whose fragments all land on one softirq CPU, "
                    r"would then reach ([0-9.]+) Gb/s\s+instead of the paper's flat ([0-9.]+)",
                    README)


def test_fragment_bullet_counts_the_fragments():
    # README "What the model finds": an 8 KB and a 65,507-byte datagram over MTU 1500, and
    # the share of a ring's 64-packet run that cannot be reassembled, (n - 1) / 64.
    from queuemodel import wire

    assert FRAGMENTS, "the fragment bullet is gone or reworded"
    shown = [int(v) for v in FRAGMENTS.groups()]
    counts = [int(wire.wire_packets_per_message("udp", b, 1500)) for b in (8192, 65507)]
    assert counts == shown
    assert [round(100 * (n - 1) / 64) for n in counts] == [8, 69]
    n_max = int(wire.wire_packets_per_message("udp", 65507, 1040))
    assert n_max > 64 >= int(wire.wire_packets_per_message("udp", 65507, 1060))


def test_readers_elsewhere_line_matches_the_model():
    # README "What the model reproduces": eight native UDP flows with every reader on a CPU
    # of its own, against the paper's flat 9.3 Gb/s (M7).
    assert READERS, "the readers line is gone or reworded"
    shown, paper = (float(v) for v in READERS.groups())
    r = qm.predict(path="native", proto="udp", flows=8, app_on_softirq_core=False)
    assert round(float(r.throughput_gbps), 1) == shown
    assert paper == 9.3


DRAM_ROWS = re.findall(r"^\| (native|Docker overlay) \| ([0-9.]+) \(([0-9.]+)\) \| ([0-9.]+) "
                       r"\(([0-9.]+)\) \| ([0-9.]+) \(([0-9.]+)\) \| ([0-9.]+) \(([0-9.]+)\) \|$",
                       README, flags=re.M)


def test_dram_table_matches_the_model():
    # README "Memory traffic": TCP's DRAM traffic (GB/s, and bytes per received byte) at
    # 1, 2, 7 and 80 flows.  Its 80-flow column once stayed from an earlier fit of the run
    # length (4.66 / 7.31 while the model gave 4.65 / 7.24) until the fit came back to it.
    assert [row[0] for row in DRAM_ROWS] == ["native", "Docker overlay"]
    for name, *shown in DRAM_ROWS:
        path = {"native": "native", "Docker overlay": "docker-overlay"}[name]
        r = qm.predict(path=path, proto="tcp", flows=[1, 2, 7, 80])
        gbytes = r.memory_bandwidth_gbytes_per_s
        per_byte = gbytes * 8 / r.throughput_gbps
        assert [float(v) for v in shown[0::2]] == [round(float(v), 2) for v in gbytes]
        assert [float(v) for v in shown[1::2]] == [round(float(v), 2) for v in per_byte]


SOCKET_LINE = re.search(r"keeps 8 KB Docker UDP under 0\.1 % loss is\n([0-9.]+) KB at 2 Gb/s, "
                        r"([0-9.]+) MB at 3 Gb/s and ([0-9.]+) MB at 3\.5 Gb/s \(native at 3 "
                        r"Gb/s: ([0-9.]+) KB\)", README)
SOCKET_SOLVE = re.search(r"^socket_rcvbuf_bytes = (\S+) gives loss_fraction = (\S+) ", README,
                         flags=re.M)


def test_socket_buffer_answers_match_the_model():
    # README "Latency and loss": the smallest socket buffer for 0.1 % loss, in prose and
    # as the solve command prints it.
    from queuemodel.whatif import solve

    assert SOCKET_LINE and SOCKET_SOLVE, "the socket-buffer lines are gone or reworded"
    shown = [float(v) for v in SOCKET_LINE.groups()]
    answers = []
    for path, gbps in [("docker-overlay", 2.0), ("docker-overlay", 3.0),
                       ("docker-overlay", 3.5), ("native", 3.0)]:
        sc = {"path": path, "proto": "udp", "offered_gbps": gbps}
        answers.append(solve("loss_fraction<=0.001", "socket_rcvbuf_bytes", scenario=sc))
    assert shown == [round(answers[0].value / 1e3), round(answers[1].value / 1e6, 2),
                     round(answers[2].value / 1e6, 1), round(answers[3].value / 1e3)]
    assert float(SOCKET_SOLVE.group(1)) == pytest.approx(answers[1].value, rel=1e-5)
    assert float(SOCKET_SOLVE.group(2)) == pytest.approx(answers[1].achieved, rel=1e-5)


CACHE = re.search(r"one Docker 8 KB UDP flow whose ring cuts\s+falls from ([0-9.]+) to ([0-9.]+) "
                  r"Gb/s.*?it fills in ([0-9]+) ms.*?a cache\s+of ([0-9]+) MB \(a ([0-9]+) MB\s+"
                  r"one still fills, after ([0-9.]+) s.*?a 1 s "
                  r"timeout with ([0-9]+) MB \(([0-9.]+) Gb/s\)", README, flags=re.S)


def test_frag_cache_paragraph_matches_the_model():
    # README "Fragments lost at the ring": one Docker 8 KB UDP flow whose ring cuts, on the
    # paper's testbed with a cache that refuses when full, and the caches that fix it.
    assert CACHE, "the fragment cache paragraph is gone or reworded"
    whole, full, fill_ms, wide, narrow, narrow_fill_s, short, short_gbps = CACHE.groups()
    kw = dict(path="docker-overlay", proto="udp", msg_bytes=8192, ring_cuts_fragments=True)
    assert round(float(qm.predict(**kw).throughput_gbps), 2) == float(whole)
    refusing = dict(kw, frag_cache_refuses=True)
    collapsed = qm.predict(**refusing)
    assert round(float(collapsed.throughput_gbps), 3) == float(full)
    assert round(collapsed.fragment_cache_fill_s * 1e3) == int(fill_ms)
    fixed = qm.predict(**refusing, frag_cache_bytes=int(wide) << 20).throughput_gbps
    assert fixed == qm.predict(**kw).throughput_gbps
    still = qm.predict(**refusing, frag_cache_bytes=int(narrow) << 20)
    assert still.throughput_gbps < 0.1 * fixed
    assert round(still.fragment_cache_fill_s, 1) == float(narrow_fill_s)
    timed = qm.predict(**refusing, frag_timeout_s=1.0, frag_cache_bytes=int(short) << 20)
    assert round(float(timed.throughput_gbps), 2) == float(short_gbps)
    # ... and the edge as the solve command prints it, between the two caches.
    from queuemodel.whatif import solve

    printed = re.search(r"frag_cache_bytes = ([0-9.e+]+) gives throughput_gbps = ([0-9.]+)",
                        README)
    assert printed, "the fragment cache's solve line is gone or reworded"
    edge = solve("throughput_gbps>=3", "frag_cache_bytes", scenario=refusing)
    assert float(printed.group(1)) == pytest.approx(edge.value, rel=1e-5)
    assert float(printed.group(2)) == pytest.approx(edge.achieved, rel=1e-5)
    assert int(narrow) << 20 < edge.value <= int(wide) << 20


# Prose numbers that drifted unnoticed until 2026-11-29 (each was stale before that day's
# model change, from earlier ones): now pinned to the model.
WHAT_IT_TAKES = re.search(
    r"80 Docker TCP flows reach 36 Gb/s with (\d+) physical cores.*?one Docker UDP flow "
    r"keeps its p99 under 500 us up to ([0-9.]+) Gb/s \((\d+) % of its cap\); six\s+Docker "
    r"TCP flows need ([0-9.]+) GHz", README, flags=re.S)
LEVER_CPUS = re.search(
    r"Docker's ([0-9.]+) receive CPUs fall (\d+) % with tunnel offloads and move ([0-9.]+) % "
    r"per % of the\s+VXLAN cost, while native's ([0-9.]+) move ([0-9.]+) % per % of the "
    r"context-switch cost.*?answers ([0-9.]+) GHz", README, flags=re.S)
READ_SHARES = re.search(
    r"Shares of TCP bytes read from DRAM, by flows: native ([0-9.]+),\s*([0-9.]+), "
    r"([0-9.]+), ([0-9.]+) at 1, 2, 7 and 80 flows; Docker overlay ([0-9.]+), ([0-9.]+), "
    r"([0-9.]+), ([0-9.]+)\.", README)


def test_what_it_would_take_answers_match_the_model():
    # README "What if, and what would it take": the answers to its three solve() calls.
    assert WHAT_IT_TAKES, "the answers paragraph is gone or reworded"
    cores, gbps, share, ghz = WHAT_IT_TAKES.groups()
    docker_tcp = {"path": "docker-overlay", "proto": "tcp"}
    udp = {"path": "docker-overlay", "proto": "udp"}
    assert qm.solve("throughput_gbps>=36", "physical_cores", (1, 64),
                    {**docker_tcp, "flows": 80}).value == int(cores)
    load = qm.solve("latency_p99_us<=500", "offered_gbps", (0.01, 3.8), udp).value
    assert round(load, 2) == float(gbps)
    assert round(100 * load / qm.predict(**udp).throughput_gbps) == int(share)
    assert round(qm.solve("throughput_p05_gbps>=30", "ghz", (2.2, 5.0),
                          {**docker_tcp, "flows": 6}).value, 1) == float(ghz)


def test_the_receive_cpu_levers_paragraph_matches_the_model():
    # README "Which lever moves it most": levers on receiver_cpu_total at 80 TCP flows.
    assert LEVER_CPUS, "the receive-CPU levers paragraph is gone or reworded"
    docker_cpus, offload_pct, vxlan, native_cpus, switch, ghz = LEVER_CPUS.groups()
    docker = qm.levers({"path": "docker-overlay", "proto": "tcp", "flows": 80},
                       output="receiver_cpu_total")
    rows = {r.name: r for r in docker.rows}
    assert round(float(qm.predict(path="docker-overlay", proto="tcp", flows=80)
                       .receiver_cpu_total), 2) == float(docker_cpus)
    assert round(-100 * rows["tunnel_offload"].effect) == int(offload_pct)
    assert round(rows["vxlan_rx.cost_cycles_per_unit"].effect, 2) == float(vxlan)
    native = qm.levers({"path": "native", "proto": "tcp", "flows": 80},
                       output="receiver_cpu_total")
    assert round(float(qm.predict(path="native", proto="tcp", flows=80)
                       .receiver_cpu_total), 2) == float(native_cpus)
    assert round({r.name: r for r in native.rows}["context_switch_cycles"].effect, 2) == \
        float(switch)
    assert round(qm.solve("receiver_cpu_total<=2.5", "ghz", (2.2, 5.0),
                          {"path": "native", "proto": "tcp", "flows": 80}).value, 2) == \
        float(ghz)


def test_the_dram_read_shares_match_the_model():
    # README "Memory traffic": the share of TCP's bytes the copy reads from DRAM.
    assert READ_SHARES, "the read-share sentence is gone or reworded"
    shown = [float(v) for v in READ_SHARES.groups()]
    model = []
    for path in ("native", "docker-overlay"):
        r = qm.predict(path=path, proto="tcp", flows=[1, 2, 7, 80])
        model += [round(float(v), 2) for v in r.read_miss_fraction]
    assert shown == model, model


SCV_MEANS = re.search(r"Docker UDP at 3 Gb/s has a mean of (\d+),\s*(\d+) and (\d+) us at SCV "
                      r"0, 1 and 4", README)


def test_the_service_scv_means_match_the_model():
    # README "Latency and loss", its assumptions: the mean latency under three service SCVs
    # (stale from an earlier change until 2026-11-29).
    assert SCV_MEANS, "the service-SCV sentence is gone or reworded"
    means = [round(float(qm.predict(path="docker-overlay", proto="udp", offered_gbps=3.0,
                                    service_scv=v).latency_mean_us)) for v in (0.0, 1.0, 4.0)]
    assert [int(v) for v in SCV_MEANS.groups()] == means


SHARED_GRO = re.search(
    r"At 80 flows \(5 per busy CPU, runs of one packet\) GRO merges ([0-9.]+)\s+packets per "
    r"segment: leaving the readers' wake-ups aside.*?go from ([0-9.]+) to ([0-9.]+) CPUs, "
    r"Docker's,.*?from ([0-9.]+) to ([0-9.]+), and the ratio from\s+([0-9.]+) to ([0-9.]+) "
    r"\(M4\).*?on 4 queues \(20 per CPU\) merge ([0-9.]+) packets per\s+segment and saturate "
    r"the four CPUs \(([0-9.]+)\)", README, flags=re.S)


def test_the_shared_gro_bullet_matches_the_model():
    # README "What the model reproduces", shared GRO at 80 TCP flows: with wake-ups free,
    # each path's receive CPUs with runs of a whole poll (no sharing) and as fitted.
    assert SHARED_GRO, "the shared-GRO bullet is gone or reworded"
    shown = [float(v) for v in SHARED_GRO.groups()]
    kw = dict(proto="tcp", flows=80, context_switch_cycles=0.0)
    unshared = {p: float(qm.predict(path=p, **kw, rx_flow_run_packets=65536.0)
                         .receiver_cpu_total) for p in ("native", "docker-overlay")}
    shared = {p: float(qm.predict(path=p, **kw).receiver_cpu_total)
              for p in ("native", "docker-overlay")}
    four = qm.predict(path="native", proto="tcp", flows=80, nic_queues=4)
    model = [round(float(qm.predict(path="native", proto="tcp", flows=80)
                         .gro_packets_per_segment), 1),
             round(unshared["native"], 2), round(shared["native"], 2),
             round(unshared["docker-overlay"], 2), round(shared["docker-overlay"], 2),
             round(unshared["docker-overlay"] / unshared["native"], 2),
             round(shared["docker-overlay"] / shared["native"], 2),
             round(float(four.gro_packets_per_segment), 1),
             round(float(four.receiver_cpu_total), 2)]
    assert shown == model, model


PATH_ORDER = ("native", "linux-overlay", "docker-overlay")


LATENCY_CLI = re.search(r"\$ queuemodel predict --path docker-overlay --proto udp --offered-gbps 3"
                        r"\n  \.\.\.\n(  latency .*)\n(  loss fraction .*)\n", README)
LATENCY_TABLE = re.search(
    r"\| UDP 8 KB, 3 Gb/s \| (\d+) / (\d+) us \| (\d+) / (\d+) us \| (\d+) / (\d+) us \|\n"
    r"\| its loss \| (\S+) \| ([0-9.]+) % \| ([0-9.]+) % \|\n"
    r"\| TCP 128 KB, 5 Gb/s \| (\d+) / (\d+) us \| ([0-9.]+) / ([0-9.]+) ms \| ([0-9.]+) / "
    r"([0-9.]+) ms \|", README)


def test_the_latency_example_and_table_match_the_model(capsys):
    # README "Latency and loss": the CLI lines for Docker UDP at 3 Gb/s, and the table of
    # the same loads on the three paths (both stale by a rounding until 2026-11-29).
    from queuemodel.cli import main

    assert LATENCY_CLI and LATENCY_TABLE, "the latency example or table is gone or reworded"
    assert main(["predict", "--path", "docker-overlay", "--proto", "udp",
                 "--offered-gbps", "3"]) == 0
    printed = capsys.readouterr().out.splitlines()
    assert LATENCY_CLI.group(1) in printed and LATENCY_CLI.group(2) in printed
    shown = LATENCY_TABLE.groups()
    model = []
    udp = {p: qm.predict(path=p, proto="udp", offered_gbps=3.0) for p in PATH_ORDER}
    tcp = {p: qm.predict(path=p, proto="tcp", offered_gbps=5.0) for p in PATH_ORDER}
    for p in PATH_ORDER:
        model += [str(round(udp[p].latency_mean_us)), str(round(udp[p].latency_p99_us))]
    model += [f"{udp['native'].loss_fraction:.0e}".replace("e-0", "e-"),
              f"{100 * udp['linux-overlay'].loss_fraction:.1f}",
              f"{100 * udp['docker-overlay'].loss_fraction:.1f}",
              str(round(tcp["native"].latency_mean_us)), str(round(tcp["native"].latency_p99_us))]
    for p in ("linux-overlay", "docker-overlay"):
        model += [f"{tcp[p].latency_mean_us / 1e3:.1f}", f"{tcp[p].latency_p99_us / 1e3:.1f}"]
    assert list(shown) == model, model



ISOLATION = re.search(
    r"Six TCP flows reach ([0-9.]+) Gb/s \(their CPUs full, just short of the\s+link's 36.4\) "
    r"against ([0-9.]+) hashed, at\s+([0-9.]+) "
    r"receive CPUs per Gb/s \(([0-9.]+) for one flow.*?where hashing costs ([0-9.]+).*?UDP: "
    r"([0-9.]+) against ([0-9.]+) Gb/s at six flows, ([0-9.]+)\s+against ([0-9.]+) at ten\..*?"
    r"climbs to ([0-9.]+) \(TCP\) and ([0-9.]+) \(UDP\) at 16\. Steering cuts ten TCP flows'\s+"
    r"receiver DRAM traffic from ([0-9.]+) to ([0-9.]+) GB/s.*?it moves more \(([0-9.]+) "
    r"against ([0-9.]+) GB/s\).*?Six hashed TCP flows' slowest gets ([0-9.]+) Gb/s where an "
    r"even split of what\s+they carry is ([0-9.]+) \(([0-9.]+) of it\); UDP ([0-9.]+) against "
    r"([0-9.]+) \(([0-9.]+)\), and ([0-9.]+)-([0-9.]+) at 11-16\s+flows\. Steered, every flow "
    r"gets its even share \(([0-9.]+) TCP, ([0-9.]+) UDP at six\).*?second thread of core 0, "
    r"([0-9.]+)\.", README, flags=re.S)


def test_the_isolation_bullets_match_the_model():
    # README "Isolation and coalescing": Docker flows steered one per queue against hashed.
    assert ISOLATION, "the isolation bullets are gone or reworded"
    shown = [float(v) for v in ISOLATION.groups()]
    flows = np.arange(1, 17)
    run = {(proto, steer): qm.predict(path="docker-overlay", proto=proto, flows=flows,
                                      flow_steering=steer)
           for proto in ("tcp", "udp") for steer in (True, False)}

    def at(proto, steer, name, n):
        return float(np.asarray(getattr(run[(proto, steer)], name))[n - 1])

    def per_gbps(proto, steer, n):
        return at(proto, steer, "receiver_cpu_total", n) / at(proto, steer, "throughput_gbps", n)

    def slowest_share(proto, steer, n):
        return at(proto, steer, "slowest_flow_gbps", n) / (at(proto, steer, "throughput_gbps", n)
                                                           / n)

    udp_shares = [slowest_share("udp", False, n) for n in range(11, 17)]
    model = [round(at("tcp", True, "throughput_gbps", 6), 1),
             round(at("tcp", False, "throughput_gbps", 6), 1),
             round(per_gbps("tcp", True, 6), 3), round(per_gbps("tcp", True, 1), 3),
             round(per_gbps("tcp", False, 6), 3),
             round(at("udp", True, "throughput_gbps", 6), 1),
             round(at("udp", False, "throughput_gbps", 6), 1),
             round(at("udp", True, "throughput_gbps", 10)),
             round(at("udp", False, "throughput_gbps", 10), 1),
             round(per_gbps("tcp", True, 16), 2), round(per_gbps("udp", True, 16), 2),
             round(at("tcp", False, "memory_bandwidth_gbytes_per_s", 10), 1),
             round(at("tcp", True, "memory_bandwidth_gbytes_per_s", 10), 1),
             round(at("tcp", True, "memory_bandwidth_gbytes_per_s", 6), 1),
             round(at("tcp", False, "memory_bandwidth_gbytes_per_s", 6), 1),
             round(at("tcp", False, "slowest_flow_gbps", 6), 2),
             round(at("tcp", False, "throughput_gbps", 6) / 6, 2),
             round(slowest_share("tcp", False, 6), 2),
             round(at("udp", False, "slowest_flow_gbps", 6), 2),
             round(at("udp", False, "throughput_gbps", 6) / 6, 2),
             round(slowest_share("udp", False, 6), 2),
             round(min(udp_shares), 2), round(max(udp_shares), 2),
             round(at("tcp", True, "slowest_flow_gbps", 6), 2),
             round(at("udp", True, "slowest_flow_gbps", 6), 2),
             round(slowest_share("udp", True, 11), 2)]
    assert shown == model, model


ROUTED_ROWS = re.findall(
    r"^\| (TCP 128 KB|UDP 8 KB) \| ([0-9.]+) \([0-9.]+-[0-9.]+\) \| ([0-9.]+) \| ([-+0-9.]+) % "
    r"\| ([0-9.]+) / ([0-9.]+) \|$", README, flags=re.M)


def test_the_routed_table_is_the_saved_datasets_calibration():
    # The README's routed-path table: vm-2cpu-routed.json fitted to the paper's three paths.
    import json

    from queuemodel.testbed.fit import calibrate_dataset

    data = Path(__file__).parent / "data" / "testbed" / "vm-2cpu-routed.json"
    fit = calibrate_dataset(json.loads(data.read_text()), "path=[!r]*,flows=1,segmentation=True",
                            free=("cycles_scale", "unit_cycles_scale"))
    by = {r["proto"]: r for r in fit.rows if r["path"] == "routed"}
    assert [proto for proto, *_ in ROUTED_ROWS] == ["TCP 128 KB", "UDP 8 KB"]
    for proto, measured, model, error, cpus, model_cpus in ROUTED_ROWS:
        row = by[proto.split()[0].lower()]
        assert row["measured_gbps"] == pytest.approx(float(measured), abs=0.006)
        assert row["model_gbps"] == pytest.approx(float(model), abs=0.006)
        assert 100 * row["error"] == pytest.approx(float(error), abs=0.06)
        assert row["measured_cpus"] == pytest.approx(float(cpus), abs=0.006)
        assert row["model_cpus"] == pytest.approx(float(model_cpus), abs=0.006)


def test_the_routed_paths_paper_host_numbers():
    # "On the paper's host it predicts TCP near native (22.4 against 23.0 Gb/s ...) and 8 KB
    # UDP between native and the overlays (6.4 Gb/s against 9.3 and 3.9 ..."
    found = re.search(r"predicts TCP near native \(([0-9.]+) against ([0-9.]+) Gb/s.*?"
                      r"\(([0-9.]+) Gb/s\s+against ([0-9.]+) and ([0-9.]+):", README, flags=re.S)
    tcp, native_tcp, udp, native_udp, docker_udp = map(float, found.groups())
    gbps = {(p, t): qm.predict(path=p, proto=t).throughput_gbps
            for p in ("routed", "native", "docker-overlay") for t in ("tcp", "udp")}
    assert gbps[("routed", "tcp")] == pytest.approx(tcp, abs=0.05)
    assert gbps[("native", "tcp")] == pytest.approx(native_tcp, abs=0.05)
    assert gbps[("routed", "udp")] == pytest.approx(udp, abs=0.05)
    assert gbps[("native", "udp")] == pytest.approx(native_udp, abs=0.05)
    assert gbps[("docker-overlay", "udp")] == pytest.approx(docker_udp, abs=0.05)


def test_the_routed_sections_numbers():
    # "six UDP flows reach 28.8 Gb/s (Docker 17.9, native 9.2)"; "80 TCP flows take 3.6
    # receive CPUs (native 3.4, Docker 8.5)"; "TCP fills the link with three flows"
    found = re.search(r"six UDP flows reach ([0-9.]+) Gb/s \(Docker ([0-9.]+), native ([0-9.]+)\)"
                      r".*?80 TCP flows take ([0-9.]+)\s+receive CPUs \(native ([0-9.]+), Docker "
                      r"([0-9.]+)\)", README, flags=re.S)
    udp, docker_udp, native_udp, cpus, native_cpus, docker_cpus = map(float, found.groups())
    six = {p: qm.predict(path=p, proto="udp", flows=6).throughput_gbps
           for p in ("routed", "docker-overlay", "native")}
    assert (six["routed"], six["docker-overlay"], six["native"]) == pytest.approx(
        (udp, docker_udp, native_udp), abs=0.05)
    eighty = {p: qm.predict(path=p, proto="tcp", flows=80).receiver_cpu_total
              for p in ("routed", "native", "docker-overlay")}
    assert (eighty["routed"], eighty["native"], eighty["docker-overlay"]) == pytest.approx(
        (cpus, native_cpus, docker_cpus), abs=0.05)
    tcp = qm.predict(path="routed", proto="tcp", flows=np.arange(1, 5))
    link = tcp.link_goodput_gbps[0]
    assert tcp.throughput_gbps[2] >= 0.99 * link > tcp.throughput_gbps[1]


def test_the_path_levers_in_the_levers_paragraph():
    # "native's path (host networking) +256 % and routed containers +247 %" (one Docker TCP
    # flow); "native's or the routed path +28 %" (six); "routed containers are worth +215 %"
    # (six native UDP flows).
    found = re.search(r"native's path \(host networking\) \+(\d+) % and\s+routed containers "
                      r"\+(\d+) %.*?native's or the routed path \+(\d+) %.*?routed "
                      r"containers are worth \+(\d+) %", README, flags=re.S)
    one_native, one_routed, six, native_udp = (float(g) / 100 for g in found.groups())

    def path_levers(**scenario):
        return {row.changed: row.effect for row in qm.levers(scenario).rows
                if row.kind == "path"}

    one = path_levers(path="docker-overlay", proto="tcp")
    assert (one["native"], one["routed"]) == pytest.approx((one_native, one_routed), abs=0.006)
    many = path_levers(path="docker-overlay", proto="tcp", flows=6)
    assert (many["native"], many["routed"]) == pytest.approx((six, six), abs=0.006)
    assert path_levers(path="native", proto="udp", flows=6)["routed"] == pytest.approx(
        native_udp, abs=0.006)


PAPER_PATHS = ("native", "linux-overlay", "docker-overlay")


def test_the_cycles_a_datagram_paragraph_is_the_saved_profile():
    # README, the `testbed cycles` paragraph: 3x-c's 8 KB datagrams, thousands of cycles.
    from queuemodel.testbed.profile import cycles_by_workload
    from queuemodel.testbed.run import read_dataset

    data = Path(__file__).resolve().parent / "data" / "testbed" / "vm-2cpu-profiled-3x-c.json"
    udp = {w["path"]: w for w in cycles_by_workload(read_dataset(data)) if w["proto"] == "udp"}
    total = [round(udp[p]["total_cycles_per_message"] / 1e3, 1) for p in PAPER_PATHS]
    assert "24.5k cycles natively,\n38.6k over the Linux overlay and 52.7k over Docker's" in README
    assert total == [24.5, 38.6, 52.7]

    def k(path, group):
        return round(udp[path]["cycles_per_message"].get(group, 0.0) / 1e3, 1)

    assert [k(p, "copy") for p in PAPER_PATHS] == [7.3, 8.0, 9.1]          # 7.3-9.1k
    assert (k("native", "ip"), k("docker-overlay", "ip")) == (2.8, 7.3)
    assert (k("native", "sched"), k("docker-overlay", "sched")) == (4.1, 9.9)
    assert (k("native", "skb"), k("docker-overlay", "skb")) == (5.4, 7.4)
    assert (k("native", "netcore"), k("docker-overlay", "netcore")) == (0.7, 3.8)
    assert (k("linux-overlay", "vxlan"), k("docker-overlay", "vxlan")) == (1.9, 2.2)
    assert k("docker-overlay", "bridge") == 3.8


def test_the_cycles_against_native_sentence_is_the_saved_profile():
    # README, `testbed cycles --against native` on 3x-d's 8 KB datagrams.
    from queuemodel.testbed.profile import cycles_against, cycles_by_workload
    from queuemodel.testbed.run import read_dataset

    data = Path(__file__).resolve().parent / "data" / "testbed" / "vm-2cpu-profiled-3x-d.json"
    extra = {w["path"]: w for w in cycles_against(cycles_by_workload(read_dataset(data)))
             if w["proto"] == "udp"}

    def k(path, group=None):
        w = extra[path]
        value = (w["total_cycles_per_message"] if group is None
                 else w["cycles_per_message"][group])
        return round(value / 1e3, 1)

    assert "a datagram took 16.6k cycles more over the Linux overlay" in README
    assert [k("linux-overlay", g) for g in (None, "ip", "sched", "vxlan", "netcore")] == [
        16.6, 4.1, 3.8, 2.1, 1.7]
    assert [k("docker-overlay", g) for g in (None, "sched", "bridge", "ip", "netcore",
                                             "vxlan")] == [19.6, 4.9, 3.5, 3.3, 2.6, 2.0]


def _section(title):
    start = README.index(f"## {title}\n")
    return README[start:README.index("\n## ", start + 1)]


def test_the_five_commands_run_and_say_what_their_comments_say(tmp_path, capsys, monkeypatch):
    # README, "The question in five commands": each command runs (exit 0), and the
    # numbers in its comment are the model's.
    import shlex

    from queuemodel.cli import main
    from queuemodel.testbed.run import read_dataset

    section = _section("The question in five commands")
    blocks = re.findall(r"```\n(.*?)```", section, flags=re.S)
    assert len(blocks) == 2
    data = Path(__file__).resolve().parent / "data" / "testbed" / "vm-2cpu-profiled-3x-d.json"
    rows = read_dataset(data)
    for proto in ("tcp", "udp"):       # what the two `testbed run` lines would write
        (tmp_path / f"{proto}.json").write_text(
            json.dumps([r for r in rows if r["proto"] == proto]))
    monkeypatch.chdir(tmp_path)
    ran = 0
    for block in blocks:
        for line in block.strip().splitlines():
            command = shlex.split(line.split("#")[0])
            if command[0] == "sudo":
                continue
            assert command[0] == "queuemodel"
            assert main(command[1:]) == 0, line
            capsys.readouterr()
            ran += 1
    assert ran == 8
    docker = {"path": "docker-overlay", "proto": "tcp"}
    one = qm.predict(**docker)
    assert f"{one.throughput_gbps:.2f} Gb/s; bottleneck {one.bottleneck}" in section
    six = qm.attribute({**docker, "flows": 6})
    shares = dict(six.shares)
    assert (f"{six.full:.1f} of {six.base:.1f} Gb/s: uneven hashing "
            f"{shares['uneven hashing']:.1f}, hyper-threads {shares['hyper-thread sharing']:.1f}"
            in section)
    changes = qm.levers(docker).changes
    assert [(r.name, r.changed) for r in changes[:3]] == [
        ("path", "native"), ("path", "routed"), ("tunnel_offload", True)]
    top = ", ".join(f"{name} {row.effect:+.0%}".replace("%", " %") for name, row in zip(
        ("native path", "routed", "tunnel offloads"), changes[:3]))
    assert top in section
    fixed = qm.predict(**docker, tunnel_offload=True).throughput_gbps
    assert f"{one.throughput_gbps:.2f} -> {fixed:.2f} Gb/s" in section
    clock = qm.solve("throughput_gbps>=10", "ghz", (2.2, 5.0), docker).value
    assert f"{clock:.2f} GHz would do" in section


def test_the_forward_tso_lever_in_the_levers_paragraph():
    # README, "Which lever moves it most": one Docker TCP flow, TSO off on the bridge and
    # the container's veth.
    row = next(r for r in qm.levers({"path": "docker-overlay", "proto": "tcp"}).changes
               if r.name == "forward_tso")
    assert f"(`forward_tso`) {row.effect:+.0%}".replace("%", " %") in README
    assert row.bottleneck == "receiver:flow-core:tcp_rx"


def test_the_leaves_out_section_says_what_the_model_does():
    # README "What the model leaves out": a 64 KB window comes out faster than the
    # default (the copy finds more cached) where a real one would cap the flow, and the
    # host field rps moves one flow whole (no change) where parallel.rps splits it.
    from queuemodel.parallel import receive_work, rps

    section = _section("What the model leaves out")
    assert "A 64 KB window comes out faster than the default" in section
    small = qm.predict(path="native", proto="tcp", tcp_window_bytes=65536)
    assert small.throughput_gbps > qm.predict(path="native", proto="tcp").throughput_gbps
    docker = qm.predict(path="docker-overlay", proto="tcp")
    assert qm.predict(path="docker-overlay", proto="tcp", rps=True).throughput_gbps == \
        docker.throughput_gbps
    assert rps(receive_work("docker-overlay", "tcp")).throughput_gbps < docker.throughput_gbps
