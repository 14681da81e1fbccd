"""Many flows: hashing to queues and CPUs, hyper-thread shares, max-min sharing."""

import dataclasses

import numpy as np
import pytest
from hypothesis import example, given
from hypothesis import strategies as st

import queuemodel as qm
from queuemodel.errors import ModelInputError
from queuemodel.host import HOST_FIELDS
from queuemodel.memory import dram_read_cycles_per_byte
from queuemodel.paths import COPY_CYCLES_PER_BYTE, TCP_RX, VXLAN_RX
from queuemodel.flows import (
    SAMPLES, Patterns, aggregate, gro_segments_per_packet, hash_tells_apart, place,
    sender_busy, sender_core_units,
)

#: Every built-in path: the paper's three and those beyond it (routed).
ALL_PATHS = qm.paths.ALL_PATH_NAMES


@given(st.integers(1, 120), st.booleans(), st.booleans())
def test_every_flow_lands_somewhere(n, spreads, rps):
    p = place(n, 10, 2, 16, spreads, rps)
    assert np.all(p.counts.sum(axis=1) == n)
    busy = p.counts > 0
    assert np.all((p.level > 0) == busy)
    assert p.level.max() <= 2


def test_draws_are_nested_and_repeatable():
    small, big = place(5, 10, 2, 16, True, False), place(6, 10, 2, 16, True, False)
    assert np.all(big.counts >= small.counts)                 # the sixth flow is added
    assert np.array_equal(place(6, 10, 2, 16, True, False).counts, big.counts)


def test_an_ip_pair_hash_puts_all_flows_on_one_cpu():
    for rps in (False, True):             # the software hash of one IP pair is one value too
        p = place(80, 10, 2, 16, spreads=False, rps=rps)
        assert np.all((p.counts > 0).sum(axis=1) == 1)
    # RPS over all 20 logical CPUs, where the NIC's 16 queues reach only CPUs 0..15.
    rps = place(80, 10, 2, 16, spreads=True, rps=True)
    assert rps.counts[:, 16:].sum() > 0 and (rps.counts > 0).sum(axis=1).mean() > 16
    assert place(80, 10, 2, 16, spreads=True, rps=False).counts[:, 16:].sum() == 0


_SETTINGS = [(proto, tunnel, frag, ports, inner, own) for proto in ("tcp", "udp")
             for tunnel in ("none", "udp") for frag in (False, True)
             for ports in (False, True) for inner in (False, True) for own in (False, True)]


@pytest.mark.parametrize("proto, tunnel, fragmented, udp_ports, inner, own", _SETTINGS)
def test_what_the_nic_hash_tells_apart(proto, tunnel, fragmented, udp_ports, inner, own):
    told = bool(hash_tells_apart(proto, tunnel, fragmented, udp_ports, inner_rss=inner,
                                 own_addresses=own))
    if tunnel == "udp" and not inner:
        # Outer headers: one host pair, a UDP source port per flow, never fragmented.
        assert told == udp_ports
    elif tunnel == "none" and inner:
        assert told == bool(hash_tells_apart(proto, tunnel, fragmented, udp_ports,
                                             own_addresses=own))   # nothing inner to see
    elif own:
        assert told                       # addresses of their own, whatever else
    elif proto == "tcp":
        assert told                       # the NIC hashes TCP's ports (MLX4_RSS_TCP_IPV4)
    elif fragmented:
        assert not told                   # no ports in a fragment, one address pair
    else:
        assert told == udp_ports


def test_the_hash_rule_broadcasts_over_fragmented_scenarios():
    told = hash_tells_apart("udp", "none", np.array([False, True, False]), True, False)
    assert told.tolist() == [True, False, True]


@pytest.mark.parametrize("n", [2, 6, 16, 40])
def test_busy_queues_match_the_occupancy_formula(n):
    # Classical occupancy: n balls in q bins fill q (1 - (1 - 1/q)^n) of them on average.
    # With 16 queues on CPUs 0..15 each busy queue is one busy CPU.
    q = 16
    expected = q * (1 - (1 - 1 / q) ** n)
    busy = (place(n, 10, 2, q, True, False).counts > 0).sum(axis=1)
    assert busy.mean() == pytest.approx(expected, abs=4 * busy.std() / np.sqrt(SAMPLES) + 1e-9)


def test_hyper_thread_siblings_follow_linux_numbering():
    # Queues 0..15 on CPUs 0..15: CPUs 10..15 are the second threads of cores 0..5.
    p = place(40, 10, 2, 16, True, False)
    both = (p.counts[:, :6] > 0) & (p.counts[:, 10:16] > 0)
    assert np.all(p.level[:, :6][both] == 2) and np.all(p.level[:, 6:10][p.counts[:, 6:10] > 0] == 1)


def test_two_light_siblings_are_busy_the_time_their_shared_core_needs():
    # Two native TCP flows steered onto the two threads of core 0 (CPUs 0 and 10), with
    # a link that leaves both below capacity, against the same flows on two cores (CPUs
    # 0 and 1).  With every rate-dependent cost off (interrupts, polls, softirq entries,
    # wake-ups, the copy's DRAM misses; and the L2 misses of the flows' state, which
    # depend on how many flows share a core), each CPU does x of a core's work per second on
    # either layout.  On their own cores each is busy x.  As siblings, each runs at
    # 1 - u (1 - s) of the core while busy u, the other being busy u too (s = (1 + g) / 2:
    # derivations/sharing.py, sibling_speed), so u (1 - (1 - s) u) = x; not x / s, the
    # time a thread beside a sibling that never rests would take.
    docker = qm.get_path("native")
    free = dataclasses.replace(docker, rx=tuple(
        dataclasses.replace(st_, cost_cycles_per_unit=0.0) if st_.context == "hardirq"
        else dataclasses.replace(st_, cost_cycles_per_invocation=0.0) for st_ in docker.rx))
    common = dict(path=free, proto="tcp", flows=2, nic_queues=2, flow_steering=True,
                  link_gbps=12.0, softirq_entry_cycles=0.0, context_switch_cycles=0.0,
                  dram_latency_ns=0.0, llc_latency_ns=0.0, smt_gain=0.3)
    apart = qm.predict(queue_cpus=(0, 1), **common)
    together = qm.predict(queue_cpus=(0, 10), **common)
    assert together.throughput_gbps == pytest.approx(apart.throughput_gbps, rel=1e-12)
    x = apart.receiver_cpu_total / 2
    assert 0.2 < x < 0.65                            # both below capacity on either layout
    d = (1 - 0.3) / 2
    u = (1 - np.sqrt(1 - 4 * d * x)) / (2 * d)
    assert together.receiver_cpu_total == pytest.approx(2 * u, rel=1e-9)
    assert together.receiver_cpu_total < 2 * x / (1 - d) * 0.9


def test_patterns_are_a_distribution():
    pats = Patterns.of(place(7, 10, 2, 16, True, False))
    assert pats.weight.sum() == pytest.approx(1.0)
    assert np.all(pats.flows.sum(axis=1) == 7)
    single = Patterns.of(place(1, 10, 2, 16, True, False))
    assert single.flows.tolist() == [[1]] and single.level.tolist() == [[1]]


def test_udp_cpus_drop_what_they_cannot_carry():
    pats = Patterns(flows=np.array([[3, 1]]), level=np.array([[1, 2]]),
                    weight=np.array([1.0]), draws=1, cpu_level=np.zeros((2, 2)))
    d = aggregate(pats, np.array([[100.0, 65.0]]), np.array([50.0]), np.array([1e9]),
                  elastic=False)
    assert d.tolist() == [[[100.0, 50.0]]]


def test_tcp_fills_the_link_max_min_fairly():
    pats = Patterns(flows=np.array([[3, 1]]), level=np.array([[1, 1]]),
                    weight=np.array([1.0]), draws=1, cpu_level=np.zeros((2, 2)))
    d = aggregate(pats, np.array([[90.0, 90.0]]), np.array([1e9]), np.array([100.0]),
                  elastic=True)
    # Four flows, 100 units of link: each gets 25, so the 3-flow CPU carries 75.
    assert d[0, 0].tolist() == pytest.approx([75.0, 25.0], rel=1e-12)


def test_senders_whose_second_thread_adds_nothing_saturate_quietly():
    # With smt_gain 0 a pair of threads busy u does 1 - (1 - u)^2 of its core's work,
    # whose slope is 0 at u = 1: more work than the pool (here 10 cores' worth for 20
    # clients on 10 cores) left the Newton step dividing by zero (found by
    # tests/search_laws.py --wide, seed 13, 2026-11-28, as a RuntimeWarning).
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert sender_busy(25.0, 20, 10, 2, 0.0) == 1.0
        assert sender_busy(10.0, 20, 10, 2, 0.0) == 1.0
        assert sender_busy(9.999, 20, 10, 2, 0.0) == pytest.approx(0.99, rel=1e-12)


def test_light_senders_beside_siblings_are_busy_the_time_their_cores_need():
    # By hand: 15 clients on 10 cores of 2 threads put two on 5 cores and one on 5; 5
    # cores' worth of sending at a common busy share u is 5 u + 10 u (1 - 0.35 u) = 5
    # (a thread beside a busy sibling runs at 1 - 0.35 u with smt_gain 0.3), so
    # u = (15 - sqrt(155)) / 7.  The saturated pool (13 cores' worth for 20 clients) is
    # busy all the time; with a core each, a client is busy its work.
    assert sender_busy(5.0, 15, 10, 2, 0.3) == pytest.approx((15 - np.sqrt(155)) / 7,
                                                            rel=1e-12)
    assert sender_busy(13.0, 20, 10, 2, 0.3) == 1.0
    assert sender_busy(4.0, 8, 10, 2, 0.3) == 0.5
    # Ten and twenty native TCP flows fill the link alike; the second ten clients share
    # cores with the first ten, so the twenty CPUs are busy u with 20 u (1 - 0.35 u) =
    # the ten CPUs' busy time, not 1 / 0.65 times it.
    r = qm.predict(path="native", proto="tcp", flows=[10, 20])
    assert r.throughput_gbps[1] == pytest.approx(r.throughput_gbps[0], rel=1e-12)
    work = r.sender_cpu_total[0]
    u = (1 - np.sqrt(1 - 4 * 0.35 * work / 20)) / (2 * 0.35)
    assert r.sender_cpu_total[1] == pytest.approx(20 * u, rel=1e-9)
    assert r.sender_cpu_total[1] < work / 0.65 * 0.7


def test_sender_spreads_over_cores_then_siblings():
    assert sender_core_units(np.array([1, 10, 15, 20, 80]), 10, 2, 0.3).tolist() == \
        pytest.approx([1, 10, 11.5, 13, 13])


@given(st.sampled_from(ALL_PATHS), st.sampled_from(("tcp", "udp")), st.integers(2, 80),
       st.sampled_from((1024, 8192, 131072)))
def test_n_flows_never_beat_n_single_flows_or_the_link(path, proto, n, msg):
    if proto == "udp":
        msg = min(msg, 65507)
    one = qm.predict(path=path, proto=proto, msg_bytes=msg).throughput_gbps
    many = qm.predict(path=path, proto=proto, msg_bytes=msg, flows=n)
    assert many.throughput_gbps <= n * one * (1 + 1e-9)
    assert many.throughput_gbps <= many.link_goodput_gbps * (1 + 1e-9)
    assert 1 <= many.cores_used <= min(n, 20)
    assert many.flows_per_busy_cpu >= 1


def test_one_flow_has_no_sampling_error():
    r = qm.predict(path="docker-overlay", proto="tcp")
    assert r.throughput_stderr_gbps == 0.0 and r.cores_used == 1.0


def test_queue_map_is_validated():
    host = qm.paper_testbed()
    with pytest.raises(ModelInputError, match=r"^host\.queue_cpus = "):
        dataclasses.replace(host, queue_cpus=tuple(range(15)) + (20,))
    with pytest.raises(ModelInputError, match=r"^host\.queue_cpus = "):
        dataclasses.replace(host, queue_cpus=(0, 1))           # one CPU per queue
    pinned = dataclasses.replace(host, queue_cpus=(0,) * 16,   # every queue on CPU 0
                                 rx_flow_run_packets=1.0)
    r = qm.predict(path="docker-overlay", proto="tcp", flows=8, host=pinned)
    one = qm.predict(path="docker-overlay", proto="tcp")
    assert r.cores_used == 1.0
    # Eight flows share that CPU's polls of 64 one-packet runs: 8 (1 - (7/8)^64) of them
    # show up in a poll and each starts a segment, so segments are ~8 packets, not 45.
    assert r.gro_packets_per_segment == pytest.approx(64 / (8 * (1 - (7 / 8) ** 64)))
    assert r.throughput_gbps < one.throughput_gbps
    # Runs of a whole poll put one flow in each poll: as for one flow, once the other
    # contention terms are gone too (eight windows waiting in the cache, not one: free
    # misses, dram_latency_ns=0; eight flows' state in one L2: llc_latency_ns=0).
    free = dict(dram_latency_ns=0.0, llc_latency_ns=0.0)
    whole = qm.predict(path="docker-overlay", proto="tcp", flows=8, host=pinned,
                       rx_flow_run_packets=64, **free)
    alone = qm.predict(path="docker-overlay", proto="tcp", **free)
    assert whole.throughput_gbps == pytest.approx(alone.throughput_gbps)


@pytest.mark.parametrize("path, proto, flows", [("docker-overlay", "tcp", 6),
                                                ("linux-overlay", "udp", 9)])
def test_a_queue_map_that_relabels_the_defaults_cpus_changes_nothing(path, proto, flows):
    # The paper host's default map puts queue q on CPU q mod 20: CPUs 0-15, whose
    # hyper-thread pairs are (c, c + 10).  Written out it is the same machine, and so is
    # the map reversed (q on 15 - q takes the pair (c, c + 10) to (5 - c, 15 - c), a pair
    # again).  The hash draws are of queues and leave the map out of their seed, so
    # each map sees the same outcomes and the answers agree to the last bit, but for
    # which CPU is which.  (Until 2026-11-30 the seed held the map: 28.19 Gb/s written
    # out against 28.33.)
    def answer(**host):
        d = qm.predict(path=path, proto=proto, flows=flows, **host).to_dict()
        del d["inputs"]
        return d

    default = answer()
    assert answer(queue_cpus=tuple(range(16))) == default
    reversed_map = answer(queue_cpus=tuple(range(15, -1, -1)))
    per_cpu = reversed_map.pop("cpu_utilisation")
    assert per_cpu == default["cpu_utilisation"][15::-1] + default["cpu_utilisation"][16:]
    assert reversed_map == {k: v for k, v in default.items() if k != "cpu_utilisation"}
    # A map that does change the machine changes the answer: four CPUs for 16 queues.
    assert answer(queue_cpus=tuple(q % 4 for q in range(16))) != default


def test_hosts_that_differ_in_queues_are_compared_on_the_same_hashes():
    # Six flows over q queues occupy q (1 - (1 - 1/q)^6) of them on average: 5.01, 5.11
    # and 5.16 CPUs for 15, 16 and 17 queues (queues 10-16 sit on siblings of 0-6, which
    # the sixteenth and seventeenth queue's flows share with, so the gain is smaller
    # than the CPUs').  Every host draws the same hash values, so the model's answers
    # move the same way.  (With a stream of draws per queue count, until 2026-11-30,
    # one queue fewer came out 0.4 % faster, one more 2.1 %: the draws' noise.)
    def busy(q):
        return q * (1 - (1 - 1 / q) ** 6)

    assert busy(15) < busy(16) < busy(17)
    gbps = [float(qm.predict(path="docker-overlay", proto="tcp", flows=6, nic_queues=q)
                  .throughput_gbps) for q in (15, 16, 17)]
    assert gbps[0] < gbps[1] < gbps[2]
    assert gbps[2] / gbps[1] - 1 < busy(17) / busy(16) - 1


def test_more_flows_than_allowed():
    with pytest.raises(ModelInputError, match=r"^workload.flows = 100001:"):
        qm.predict(flows=100_001)


@given(st.lists(st.tuples(st.integers(1, 6), st.floats(1.0, 100.0)), min_size=1, max_size=8),
       st.floats(0.01, 0.99), st.integers(0, 3), st.booleans())
def test_water_level_fills_the_link_exactly(cpus, fraction, pads, unlimited):
    # Max-min sharing of a full link: the CPUs carry the link exactly, none more than its
    # capacity, and every CPU below capacity gives each of its flows the same rate.  Idle
    # pad columns, and a CPU that nothing limits (no work on it), must not change that.
    # Each CPU gets a capacity of its own by giving it its own "level" column.
    k = [c[0] for c in cpus] + [1] * unlimited + [0] * pads
    cap = [c[1] for c in cpus] + [np.inf] * unlimited
    # Below the limited CPUs' total, or above it when an unlimited CPU can take the rest.
    link = fraction * sum(c[1] for c in cpus) * (1 + 3 * unlimited)
    level = [i + 1 for i in range(len(cap))] + [0] * pads
    pats = Patterns(flows=np.array([k]), level=np.array([level]), weight=np.array([1.0]),
                    draws=1, cpu_level=np.zeros((len(cap), 1)))
    d = aggregate(pats, np.array([cap]), np.array([np.inf]), np.array([link]),
                  elastic=True)[0, 0]
    k, cap = np.array(k), np.array(cap + [0.0] * pads)
    assert d.sum() == pytest.approx(link, rel=1e-9)
    assert np.all(d <= cap * (1 + 1e-12))
    assert np.all(d[k == 0] == 0.0)
    below = (k > 0) & (d < cap * (1 - 1e-9))
    share = d[below] / k[below]
    assert share.size == 0 or np.ptp(share) <= 1e-9 * link


@given(st.sampled_from(ALL_PATHS), st.sampled_from(("tcp", "udp")), st.integers(1, 80),
       st.booleans())
@example("native", "tcp", 16, False)
def test_per_cpu_utilisation_adds_up(path, proto, n, shared):
    # With the readers on cores of their own, the interrupted CPUs hold only the flow-core
    # stages (found by a random search, 2026-11-27: they held the readers' work too, up to
    # 127 % busy for 16 native TCP flows).
    r = qm.predict(path=path, proto=proto, flows=n, app_on_softirq_core=shared)
    assert r.cpu_utilisation.shape == (20,)
    assert np.all((r.cpu_utilisation >= 0) & (r.cpu_utilisation <= 1 + 1e-9))
    assert np.all(r.cpu_utilisation[16:] == 0)                 # no queue interrupts CPUs 16-19
    busy_total = r.core_utilisation["rx:flow-core"] * r.cores_used
    assert r.cpu_utilisation.sum() == pytest.approx(busy_total, rel=1e-9)


@given(st.sampled_from(ALL_PATHS), st.sampled_from((64, 1024, 8192, 131072)),
       st.integers(1, 79), st.sampled_from(({}, {"ghz": 3.5}, {"link_gbps": 100.0},
                                            {"physical_cores": 4},
                                            {"memory_gbytes_per_s": 2.0})))
@example("native", 1024, 16, {"ghz": 3.5})     # 4e-7 beyond the old, mean miss term
@example("native", 131072, 1, {"memory_gbytes_per_s": 2.0})   # a second flow: -29 %
def test_adding_a_tcp_flow_never_lowers_throughput(path, msg, n, host):
    # Without the contention terms (runs of a whole poll: GRO as for one flow; free DRAM
    # misses; free L2 misses; free transfers of the lines every CPU writes; DRAM
    # bandwidth to spare) the law is strict: the draws are
    # nested (the N + 1st flow joins the same N), the link and the senders' pool only grow.
    r = qm.predict(path=path, proto="tcp", msg_bytes=msg, flows=[n, n + 1],
                   rx_flow_run_packets=64, dram_latency_ns=0.0, llc_latency_ns=0.0,
                   line_transfer_ns=0.0, **{**host, "memory_gbytes_per_s": 1e6})
    assert r.throughput_gbps[1] >= r.throughput_gbps[0] * (1 - 1e-12)
    # With them, a flow may cost the others at most what the contention terms allow.
    _assert_within_the_allowance(dict(path=path, proto="tcp", msg_bytes=msg,
                                      flows=[n, n + 1], **host))


def _contention_allowance(r, h):
    """The most one more TCP flow may cost the others, as a factor: ``r`` holds N and
    N + 1 flows on host ``h``.

    It may shorten their GRO segments (the per-segment work is only part of each
    message's) and add to the cycles per byte of the copy on the CPUs that bind (more
    bytes read from DRAM: those CPUs hold full queues, so they pay
    ``capacity_read_miss_fraction``; the copy is only part too).  Where the DRAM holds the
    receiver back, also what it adds to every byte's DRAM traffic (its window waits in
    the cache too): the DRAM's budget is its bandwidth over the bytes each byte moves.
    That term applies to the share of the hash outcomes the DRAM binds
    (``memory_bound_share``, the larger of N's and N + 1's): each such outcome delivers
    its budget at N + 1 flows (the bandwidth over ``memory_bound_bytes_per_byte``, those
    outcomes' own: the mean over all outcomes fell 4 % short where the DRAM bound 93 % of
    them, 2026-11-28), and delivered at most its budget at N, taken as the mean over N's
    outcomes (``memory_budget_gbps``).  (Until 2026-11-29 the term compared N's mean bytes
    per byte, which the outcomes under their budget set, with N + 1's bound ones; one
    more flow can lower the budget more than that: see
    ``test_one_more_flow_costs_no_more_than_its_dram_budget_falls``.)  (A random search of 100
    hosts with 0.5-32 GB/s of DRAM, 1..80 flows, 2026-11-27: no case beyond this DRAM
    term; one flow more cost up to 58 %.  The copy's term was the
    delivery-weighted ``read_miss_fraction`` until a wider random search, the same day,
    found one more flow costing 1.5 % beyond it: that mean can fall while the binding
    CPUs pay more.)  It may also evict more of the flows' state from the cores' L2 (one
    more flow sharing a core): each segment's ``tcp_rx`` then misses more of its lines
    (``flow_state_miss_fraction``, charged alike on every CPU), and ``tcp_rx``'s own cost
    is only part of a segment's work.  And it may raise the interrupts, softirq entries
    and wake-ups each message costs its flow core (:func:`_events_allowance`).  ``r`` and
    ``h`` may hold grids of scenarios (``tests/search_laws.py``): the first axis is then
    N and N + 1.
    """
    gro = np.asarray(r.gro_packets_per_segment)
    shrink = np.minimum(1.0, gro[1] / gro[0])
    penalty = dram_read_cycles_per_byte(h.ghz, h.dram_latency_ns, h.dram_misses_in_flight)
    copy = COPY_CYCLES_PER_BYTE + np.asarray(r.capacity_read_miss_fraction) * penalty
    dearer = np.minimum(1.0, copy[0] / copy[1])
    # N + 1 flows' outcomes the DRAM binds deliver their budget: the bandwidth over their
    # own bytes per byte.  At N flows each outcome delivered at most its budget then.
    bound = np.asarray(r.memory_bound_bytes_per_byte)[1]
    budget = np.asarray(r.memory_budget_gbps)[0]
    held = np.max(np.asarray(r.memory_bound_share), axis=0)    # outcomes the DRAM binds
    with np.errstate(divide="ignore", invalid="ignore"):     # no traffic: no DRAM term
        costlier = np.where((held > 0) & (bound > 0),
                            np.minimum(1.0, h.memory_gbytes_per_s * 8.0 / bound / budget), 1.0)
    per_line = np.asarray(h.llc_latency_ns) * h.ghz * TCP_RX.flow_state_lines
    state = TCP_RX.cost_cycles_per_unit + np.asarray(r.flow_state_miss_fraction) * per_line
    staler = np.minimum(1.0, state[0] / state[1])
    # The lines every receive CPU writes (VXLAN_RX's socket reference) come from another
    # CPU's cache more often as the flows spread: the stage's cost is part of a packet's.
    shared = (VXLAN_RX.cost_cycles_per_unit + np.asarray(r.shared_line_remote_fraction)
              * VXLAN_RX.shared_lines_per_unit * np.asarray(h.line_transfer_ns) * h.ghz)
    bounced = np.minimum(1.0, shared[0] / shared[1])
    return (shrink * dearer * staler * bounced * (1.0 - held * (1.0 - costlier))
            * _events_allowance(r))


def _events_allowance(r):
    """The most a rise in a message's interrupt, softirq-entry and wake-up work may cost
    N flows when one more joins, as a factor: ``r`` holds N and N + 1 flows.

    Issue 3 lists the context changes among the hard IRQ, the softirqs and the readers as
    contention.  They are charged per event, not per byte: where one more flow lowers a
    queue's packet rate, mlx4's adaptive moderation shortens its delay, and below the
    ramp's foot (400k packets/s) every packet that finds NAPI idle raises an interrupt
    (``test_splitting_a_queue_below_the_adaptive_ramp_costs_no_more_than_its_interrupts``);
    a CPU that carries its flows at a band's lower edge takes more of them too.  All of it
    runs on the flow cores (the readers' wake-ups only where they share them), so a flow
    core that carried a message in ``x`` CPU-seconds at N flows needs ``x + d`` if each
    message's events take ``d`` more: it carries ``x / (x + d)`` of what it did.  ``x`` is
    the flow cores' busy time per message at N, ``d`` the rise of their event time per
    message from N to N + 1 (0 where it falls), both from the outputs; the clock cancels.
    """
    msgs = np.asarray(r.message_rate_per_s, dtype=float)
    busy = np.asarray(r.cores_used, dtype=float)
    events = (np.asarray(r.receiver_cpu["irq"], dtype=float)
              + np.asarray(r.stages["rx:softirq_entry"], dtype=float) * busy)
    if "rx:app-core" not in r.core_utilisation:         # the readers wake on the flow cores
        events = events + np.asarray(r.stages["rx:context_switch"], dtype=float) * busy
    flow_core = np.asarray(r.core_utilisation["rx:flow-core"], dtype=float) * busy
    with np.errstate(divide="ignore", invalid="ignore"):
        per_message = np.where(msgs > 0, events / msgs, 0.0)
        work = np.where(msgs > 0, flow_core / msgs, 0.0)
        rise = np.maximum(0.0, per_message[1] - per_message[0])
        return np.where(work[0] > 0, work[0] / (work[0] + rise), 1.0)


# Hosts a random search (tests/search_laws.py, 2026-11-27) found where one more TCP flow
# cost more than the law above allows (the tests below).
_NO_CONTENTION = dict(dram_latency_ns=0.0, memory_gbytes_per_s=1e6, context_switch_cycles=0.0)
_SIBLINGS = dict(  # native TCP, the senders on the receive CPUs, two queues on one core
    path="native", proto="tcp", app_on_softirq_core=False, sender_on_receive_cpu=True,
    tso=False, gso=False, rx_csum=False, physical_cores=21, nic_queues=2, queue_cpus=(0, 21),
    flow_steering=True, ghz=4.551, link_gbps=24.2356, mtu=3675.0, msg_bytes=541203,
    dram_misses_in_flight=62.9106, ddio_share=0.1924, napi_weight=24.0,
    rx_flow_run_packets=24.0, irq_moderation_usecs=113.4403, irq_moderation_frames=170.0,
    softirq_entry_cycles=2003.4282, arrival_scv=0.0, **_NO_CONTENTION)
_MORE_MISSES = dict(  # Linux overlay over a veth link, 24 -> 25 flows
    path="linux-overlay", proto="tcp", flows=[24, 25], veth_link=True, tso=False, gso=False,
    rx_csum=False, tx_csum=False, physical_cores=26, nic_queues=41, ghz=2.6485,
    link_gbps=318.8149, mtu=3439.0, msg_bytes=47362, memory_gbytes_per_s=172.0196,
    dram_latency_ns=231.1006, dram_misses_in_flight=22.1547, ddio_share=0.5893,
    napi_weight=105.0, irq_moderation_usecs=29.4624, irq_moderation_frames=187.0,
    context_switch_cycles=12444.3989, softirq_entry_cycles=2552.4959)
_SOME_OUTCOMES_DRAM_BOUND = dict(  # Linux overlay, 13 -> 14 flows, readers on CPUs of their own
    path="linux-overlay", proto="tcp", flows=[13, 14], app_on_softirq_core=False,
    tso=False, tunnel_offload=True, link_segments=False, tx_csum=False, physical_cores=5,
    nic_queues=61, ghz=0.5489, link_gbps=54.1452, mtu=7713.0, msg_bytes=485494,
    memory_gbytes_per_s=9.1921, dram_latency_ns=23.1131, dram_misses_in_flight=35.1972,
    ddio_share=0.8398, napi_weight=247.0, irq_moderation_usecs=130.427,
    irq_moderation_frames=206.0, context_switch_cycles=12862.6541,
    softirq_entry_cycles=3596.2636)


# Three hosts where an overload band (mlx4's adaptive ramp) lies below a CPU's capacity:
# while TCP stopped at a band's lower edge (d002571 to 2026-11-28) one more flow lost
# 7.8 %, 3.4 % and 25.6 % there; a band is now crossed by turns at its two edges
# (kernels.level_moments, convex), so the CPUs carry their offers.
def test_a_flow_on_a_busy_cpus_sibling_never_lowers_throughput():
    # Both threads of the core drop to (1 + smt_gain) / 2 of it, where a band opens.
    r = qm.predict(**_SIBLINGS, flows=[1, 2])
    assert r.throughput_gbps[1] >= r.throughput_gbps[0] * (1 - 1e-12)
    assert np.max(r.cpu_utilisation) <= 1.0 + 1e-9


def test_one_more_flow_costs_no_more_than_its_dearer_copy_across_a_band():
    # One more window in the cache makes the binding CPUs' copies dearer, which opens a
    # band below their capacity.
    _assert_within_the_allowance(_MORE_MISSES)


# Search seed 7's configuration: Docker overlay over two queues, 5 -> 6 flows, no TSO/GSO.
_SEED_7 = dict(path="docker-overlay", proto="tcp", flows=[5, 6], tso=False, gso=False,
               tx_csum=False, physical_cores=19, nic_queues=2)
_TWO_QUEUES = dict(
    _SEED_7, ghz=4.1581, link_gbps=95.5327, mtu=5933.0, msg_bytes=792278,
    memory_gbytes_per_s=8.4513, dram_latency_ns=212.0482, dram_misses_in_flight=9.1795,
    ddio_share=0.8795, napi_weight=147.0, irq_moderation_usecs=85.5555,
    irq_moderation_frames=198.0, context_switch_cycles=1735.8376,
    softirq_entry_cycles=3603.6823, offered_gbps=67.8663)


def test_one_more_flow_on_two_queues_costs_no_more_than_its_contention_terms():
    _assert_within_the_allowance(_TWO_QUEUES)


_UPPER_REGION_CLOSES = dict(
    # (3.81 GHz: found at 3.7768, which misses the cliff since iperf3's select before
    # each read is counted, 2026-11-29)
    _SEED_7, ghz=3.81, link_gbps=50.0724, mtu=8402.0, msg_bytes=227459,
    memory_gbytes_per_s=92.8914, dram_latency_ns=259.2201, dram_misses_in_flight=55.3781,
    ddio_share=0.2258, napi_weight=93.0, irq_moderation_usecs=78.4602,
    irq_moderation_frames=145.0, context_switch_cycles=980.1378,
    softirq_entry_cycles=4988.7631,
    # Found before the flows' state had L2 misses; with them, the five flows' copies are
    # already dear enough to close the upper region (41.8 Gb/s at five flows and at six).
    # Likewise before the VXLAN socket's line moved between the CPUs (2026-11-30).
    llc_latency_ns=0.0, line_transfer_ns=0.0)


# A capacity cliff: on mlx4's adaptive ramp a CPU's load can rise over 1 and fall back, so
# it sustains [0, low] and [high, capacity].  The sixth flow's window makes the copies
# dearer (2.7 % allowed), which lifts the load above the band over 1 too: the upper region
# closes and the CPUs' capacity falls to the band's lower edge, 48.0 -> 42.2 Gb/s (-12 %;
# without adaptive moderation +1.2 %).  Found by make search-laws seed 7 (2026-11-28) and
# a strict xfail until 2026-11-29: the allowance had no term for the work a message's
# events cost.  At the lower edge a queue's delay is shorter, and the flow cores spend
# 2.2 times the interrupt and softirq-entry time on each message (30k -> 66k cycles of a
# flow core's 277k): the events term allows 11.3 % of the 12.0 % lost, the dearer copy
# the rest (together 13.7 %).
def test_one_more_flow_costs_no_more_than_its_contention_terms_where_a_band_closes_off():
    r = qm.predict(**_UPPER_REGION_CLOSES)
    assert r.throughput_gbps[1] < 0.9 * r.throughput_gbps[0]
    per_message = np.asarray(r.irq_rate_per_s) / np.asarray(r.message_rate_per_s)
    assert per_message[1] > 1.5 * per_message[0]
    _assert_within_the_allowance(_UPPER_REGION_CLOSES)


@pytest.mark.xfail(strict=True, raises=AssertionError, reason=(
    "A hyper-thread sibling's share does not depend on how busy it is: five native TCP "
    "flows steered onto CPU 0 bind it; a sixth, offered a quarter of a core's rate, lands "
    "on its sibling, CPU 10, and both threads drop to (1 + smt_gain) / 2 of the core "
    "however little the sixth needs, so the five lose more than it adds (26.1 -> 23.5 "
    "Gb/s with the contention terms off). A thread whose sibling is busy a share u of "
    "the time would keep 1 - u (1 - s) of the core (s = (1 + smt_gain) / 2), which "
    "adding a flow can only lower by what the flow uses; the level model "
    "(flows.thread_shares) counts a sibling as busy or idle. Found by make search-laws "
    "seed 0 (2026-11-28: 96 -> 97 Linux overlay flows, -3.6e-5, a rare hash outcome). "
    "Since the same day a CPU below capacity runs at that speed (kernels.smt_speed, its "
    "sibling as busy as it), but capacity still takes the sibling saturated: the pairs "
    "of a hash outcome are not in the patterns (built on branch sibling-pairs, where "
    "this passes, but 1.65x slower on the what-if grid: not landed)"))
def test_a_light_flow_on_a_busy_cpus_sibling_costs_no_more_than_it_adds():
    # (The flows' state in the L2 is a contention term too, llc_latency_ns=0: with it the
    # five carried 1 % less than one flow, and the test failed at its premise.)
    steered = dict(path="native", proto="tcp", nic_queues=6, queue_cpus=(0, 0, 0, 0, 0, 10),
                   flow_steering=True, rx_flow_run_packets=64, dram_latency_ns=0.0,
                   llc_latency_ns=0.0, memory_gbytes_per_s=1e6)
    one = qm.predict(**steered).throughput_gbps
    r = qm.predict(**steered, flows=[5, 6], offered_gbps=0.25 * one)
    assert r.throughput_gbps[0] > 0.99 * one             # the five bind CPU 0
    assert r.throughput_gbps[1] >= r.throughput_gbps[0] * (1 - 1e-12)


#: Found by make search-laws seed 14 (2026-11-28): one core of two threads, the senders
#: on the receive CPUs (one kernel), the readers elsewhere, mlx4's adaptive moderation;
#: the contention terms off.  (Found with rx_csum off, which the tunnel offload ignored
#: until 2026-11-30; its VXLAN GRO needs the receive checksum, so it is on here.)
_ONE_CORE_TWO_THREADS = dict(
    path="linux-overlay", proto="tcp", flows=[1, 2], app_on_softirq_core=False,
    tso=False, gso=False, tunnel_offload=True, sender_on_receive_cpu=True, rx_csum=True,
    physical_cores=1, nic_queues=26, ghz=4.725220169666603, link_gbps=83.96874902548468,
    mtu=7143.0, msg_bytes=847024, memory_gbytes_per_s=1e6, dram_latency_ns=0.0,
    llc_latency_ns=0.0, ddio_share=0.9416315624841635, napi_weight=130.0,
    rx_flow_run_packets=130.0, irq_moderation_usecs=171.10448467964466,
    irq_moderation_frames=148.0, context_switch_cycles=3765.7342018763206,
    softirq_entry_cycles=4766.034934093155, l2_kib=1139.8982930381221, line_transfer_ns=0.0)


# mlx4's adaptive moderation, reached through a hyper-thread sibling: one flow's queue takes
# 615k packets/s, above the adaptive ramp (a 128 us delay); a second flow hashed to the
# sibling thread shares the core, so each thread sustains at most (1 + smt_gain) / 2 = 0.65
# of it, 399k packets/s, just below the ramp's foot (400k), where the delay is 0 us
# (mlx4_en_auto_moderation uses rx_usecs_low, 0, below 400k packets/s a ring): each packet
# that finds NAPI idle (the senders share these CPUs) raises an interrupt, 65 a message
# where one flow took 1.25, each with a 4,766-cycle softirq entry, and each thread falls
# to 261k.  Over the hash draws (half put both flows on one CPU) two flows carry 32.2 Gb/s
# against one flow's 34.7; with adaptive moderation off, 39.6.  Found by make search-laws
# seed 14 (2026-11-28; 34 scenarios of this host, up to -6.8 %) with the contention terms
# off, and a strict xfail until 2026-11-29: no term of the allowance stated what a
# message's events cost.  The events term (_events_allowance) allows 24.5 %.
def test_splitting_a_queue_below_the_adaptive_ramp_costs_no_more_than_its_interrupts():
    r = qm.predict(**_ONE_CORE_TWO_THREADS)
    t = np.asarray(r.throughput_gbps)
    fixed = qm.predict(**_ONE_CORE_TWO_THREADS, adaptive_moderation=False).throughput_gbps
    assert fixed[1] > fixed[0]                   # without the ramp the second flow gains,
    assert t[1] < t[0]                           # across it the two carry less than one,
    per_message = np.asarray(r.irq_rate_per_s) / np.asarray(r.message_rate_per_s)
    assert per_message[1] > 10 * per_message[0]  # as each message takes more interrupts:
    assert t[1] >= t[0] * _events_allowance(r) * (1 - 1e-12)     # no more than they cost
    h = dataclasses.replace(qm.paper_testbed(), **{
        k: v for k, v in _ONE_CORE_TWO_THREADS.items() if k in HOST_FIELDS})
    assert _contention_allowance(r, h) == pytest.approx(
        _events_allowance(r), rel=1e-12)         # (every other term is off here)


#: Found by tests/search_laws.py --wide, seed 4 (2026-11-28), reduced by hand.
_DRAM_BINDS_MOST_OUTCOMES = dict(
    path="docker-overlay", proto="tcp", flows=[1, 2], gro=False, tunnel_offload=True,
    ghz=3.680527554740583, mtu=4798.0, memory_gbytes_per_s=0.6147298138771193,
    ddio_share=0.1868819051820485, adaptive_rate_low_pps=65364.12145193356, rx_ring=2663.0,
    llc_mib=39.49949251522167, tcp_window_bytes=77051.0)


# The allowance's DRAM term once took the mean bytes per byte over all hash outcomes:
# here one flow carries 16.7 Gb/s moving 0.607 of the DRAM's 0.615 GB/s (its ring's
# write-backs), and two flows on two CPUs write back two rings' worth; in the 93 % of
# outcomes where they do, the DRAM binds at 0.545 bytes per byte against a mean of
# 0.514, so 9.56 Gb/s fell 4 % under the 9.96 the term allowed.  It now takes the bound
# outcomes' own (memory_bound_bytes_per_byte).
def test_one_more_flow_costs_no_more_than_its_dram_term_where_most_outcomes_bind():
    r = qm.predict(**_DRAM_BINDS_MOST_OUTCOMES)
    # The premise: the DRAM binds most of the two flows' outcomes, none of the one
    # flow's, no outcome overruns it, and the bound ones move more per byte than the mean.
    share = np.asarray(r.memory_bound_share)
    assert share[0] == 0.0 and 0.5 < share[1] < 1.0
    assert np.all(np.asarray(r.memory_bandwidth_gbytes_per_s) <= 0.6147298138771193)
    mean = r.memory_bandwidth_gbytes_per_s[1] * 8.0 / r.throughput_gbps[1]
    assert r.memory_bound_bytes_per_byte[1] > 1.05 * mean
    _assert_within_the_allowance(_DRAM_BINDS_MOST_OUTCOMES)


def test_one_more_flow_costs_no_more_than_its_dram_term_where_some_outcomes_bind():
    # Found by the random search with the DRAM term applied only where the bottleneck
    # named the memory (at least half the hash outcomes): 14 flows bind the DRAM in 22 %
    # of their outcomes, 13 in none, and the 14th flow cost 0.08 % beyond the CPU terms
    # (with DRAM to spare it costs nothing).  The term now applies to the outcomes the
    # DRAM binds (memory_bound_share).
    r = qm.predict(**_SOME_OUTCOMES_DRAM_BOUND)
    assert r.memory_bound_share[0] == 0.0 and 0.0 < r.memory_bound_share[1] < 0.5
    assert r.throughput_gbps[1] < r.throughput_gbps[0]
    _assert_within_the_allowance(_SOME_OUTCOMES_DRAM_BOUND)


#: Found by tests/search_laws.py --wide, seed 22 (2026-11-29), reduced by hand: Linux
#: overlay TCP over a veth link (no ring to write back), 24 -> 25 flows.
_BUDGET_FALLS = dict(
    path="linux-overlay", proto="tcp", flows=[24, 25], veth_link=True, gro=False,
    threads_per_core=1, ghz=1.731, link_gbps=276.5, mtu=3871.0, msg_bytes=764513,
    memory_gbytes_per_s=2.1065, dram_latency_ns=42.22, adaptive_rate_low_pps=37382.0,
    tcp_window_bytes=492118.0)


def test_one_more_flow_costs_no_more_than_its_dram_budget_falls():
    # The DRAM's budget is its bandwidth over the bytes each byte moves when every busy CPU
    # holds its queue (kernels.dram_budget); a byte is gone before its copy with chance
    # exp(-cache / backlog), and the 25th flow's queue adds 4 % to the backlog: the budget
    # falls 8.3 %, from 70.4 to 64.6 Gb/s.  The 31 % of the outcomes it then binds lose up
    # to that (one carried 70.2), 1.7 % in all.  The outcomes under their budget at 24
    # flows move 0.254 bytes per byte and the bound ones at 25 flows 0.261, only 2.8 %
    # more: a term built on those (until 2026-11-29) allowed 1.2 %.
    r = qm.predict(**_BUDGET_FALLS)
    share, budget = np.asarray(r.memory_bound_share), np.asarray(r.memory_budget_gbps)
    assert share[0] == 0.0 and 0.1 < share[1] < 0.5
    assert budget[1] < 0.95 * budget[0]
    mean = r.memory_bandwidth_gbytes_per_s[0] * 8.0 / r.throughput_gbps[0]
    assert r.memory_bound_bytes_per_byte[1] < 1.05 * mean
    assert r.throughput_gbps[1] < 0.99 * r.throughput_gbps[0]
    _assert_within_the_allowance(_BUDGET_FALLS)


def _assert_within_the_allowance(scenario):
    """``scenario`` (N and N + 1 flows) loses no more than :func:`_contention_allowance`."""
    r = qm.predict(**scenario)
    h = dataclasses.replace(qm.paper_testbed(),
                            **{k: v for k, v in scenario.items() if k in HOST_FIELDS})
    assert r.throughput_gbps[1] >= r.throughput_gbps[0] * _contention_allowance(r, h) * (
        1 - 1e-12)


@given(st.sampled_from(ALL_PATHS), st.sampled_from(("tcp", "udp")), st.integers(1, 10))
def test_one_flow_per_core_adds_up_exactly(path, proto, n):
    # Flows steered one to a physical core (ten queues on CPUs 0..9, no hash): with no
    # contention term, N flows carry exactly min(N x one flow, link).
    # (Free DRAM misses, dram_latency_ns=0: N flows write N times the bytes into the
    # cache while one waits; and free line transfers, line_transfer_ns=0: the overlays'
    # N CPUs write the one VXLAN socket's reference count.)
    # (Native UDP at 1 KB: a rule matches ports, and the fragments of 8 KB datagrams
    # between one address pair carry none, so they would not be steered.)
    host = dataclasses.replace(qm.paper_testbed(), nic_queues=10, queue_cpus=tuple(range(10)),
                               flow_steering=True, dram_latency_ns=0.0, line_transfer_ns=0.0)
    size = {"msg_bytes": 1024} if (path, proto) == ("native", "udp") else {}
    one = qm.predict(path=path, proto=proto, host=host, **size)
    many = qm.predict(path=path, proto=proto, host=host, flows=n, **size)
    expected = min(n * one.throughput_gbps, many.link_goodput_gbps)
    assert many.throughput_gbps == pytest.approx(expected, rel=1e-9)
    assert many.throughput_stderr_gbps == 0.0 and many.cores_used == n
    if n * one.throughput_gbps <= many.link_goodput_gbps * (1 - 1e-9):
        # Each CPU is then the one flow's CPU: its events add up and its shares stay.
        for name in ("irq_rate_per_s", "softirq_rate_per_s", "ksoftirqd_rate_per_s"):
            assert getattr(many, name) == pytest.approx(n * getattr(one, name), rel=1e-9,
                                                        abs=1e-9), name
        assert many.ksoftirqd_share == pytest.approx(one.ksoftirqd_share, rel=1e-9, abs=1e-12)


def _held(path):
    """The path with no stage orphaning the sender's packets: the link blocks the socket."""
    return dataclasses.replace(path, name=path.name + "-held", tx=tuple(
        dataclasses.replace(stage, orphans_skb=False) for stage in path.tx))


@given(st.integers(1, 80), st.sampled_from((10.0, 25.0, 40.0, 100.0)), st.data())
def test_an_orphaned_udp_sender_loses_the_links_excess_at_the_sender(n, link, data):
    # Linux 4.4's veth orphans the skb from its socket (__dev_forward_skb ->
    # skb_scrub_packet(skb, true) -> skb_orphan), so a container's UDP sender is not held
    # back by a full link: it sends as fast as its core goes and the NIC queue drops the
    # rest.  A sender whose socket keeps its packets blocks instead.  What arrives is the
    # same either way.
    path = qm.get_path(data.draw(st.sampled_from(("docker-overlay", "linux-overlay"))))
    free = qm.predict(path=path, proto="udp", flows=n, link_gbps=link)
    held = qm.predict(path=_held(path), proto="udp", flows=n, link_gbps=link)
    assert free.throughput_gbps == pytest.approx(held.throughput_gbps, rel=1e-12)
    assert free.drop_fraction >= held.drop_fraction - 1e-12
    assert free.sender_cpu["sys"] >= held.sender_cpu["sys"] * (1 - 1e-12)
    sent = held.message_rate_per_s / (1.0 - held.drop_fraction)
    link_rate = held.link_goodput_gbps * 1e9 / (8 * 8192)
    assert sent <= link_rate * (1 + 1e-9)          # a held sender never outruns the link
    assert held.sender_drop_fraction == 0.0
    assert 0.0 <= free.sender_drop_fraction <= free.drop_fraction + 1e-12
    if any(stage.orphans_skb for stage in path.tx):
        one = qm.predict(path=path, proto="udp", link_gbps=link)
        one_sent = one.message_rate_per_s / (1.0 - one.drop_fraction)
        if n * one_sent > 1.01 * link_rate and n <= 10:    # one client per physical core
            sent_free = free.message_rate_per_s / (1.0 - free.drop_fraction)
            assert sent_free == pytest.approx(n * one_sent, rel=1e-9)
            assert free.drop_fraction >= 1.0 - link_rate / (n * one_sent) - 1e-9
            # what the link cannot take is the sender's drop, exactly
            assert free.sender_drop_fraction == pytest.approx(
                1.0 - link_rate / (n * one_sent), abs=1e-9)
    else:
        assert free.drop_fraction == held.drop_fraction


@given(st.integers(1, 80), st.sampled_from((10.0, 40.0, 100.0)),
       st.sampled_from(("docker-overlay", "linux-overlay", "native")), st.booleans())
def test_the_host_flags_decide_which_stages_orphan(n, link, name, bridge_on):
    # The stages name the host flag that decides whether they take the sender's packets
    # from its socket (Stage.orphans_skb): with every such flag off a path behaves, to
    # the bit, as the same path with no orphaning stage; one flag on suffices.
    path = qm.get_path(name)
    kw = dict(path=path, proto="udp", flows=n, link_gbps=link)
    modern = qm.predict(**kw, veth_orphans_skb=False,
                        bridge_nf_call_iptables=bridge_on).to_dict()
    held = qm.predict(**dict(kw, path=_held(path))).to_dict()
    shipped = qm.predict(**kw).to_dict()
    assert held.pop("path") == name + "-held" and modern.pop("path") == name
    shipped.pop("path")
    expected = shipped if bridge_on and name == "docker-overlay" else held
    assert repr(modern) == repr(expected)


def test_docker_udp_drops_past_the_link_come_from_its_orphaned_packets():
    # The paper saw Docker UDP "unstable beyond 7 pairs because of a high packet drop
    # rate" (claim M9): past the link (7 flows and more) its senders keep sending, their
    # packets taken from their sockets by the container's veth (Linux 4.4) and by the
    # bridge's netfilter hook (br_netfilter, 4.4 to 6.18; tests/sender_hold.py measured it
    # on 6.18), and the sending NIC's queue drops the excess.  A host whose bridge does
    # not call iptables, on a kernel whose veth keeps the socket, holds the senders at
    # the link as the Linux overlay's are: the same throughput, none of those drops, and
    # the drop falls as more receive CPUs share what the link carries.
    flows = np.array([4, 8, 20, 80])
    old = qm.predict(path="docker-overlay", proto="udp", flows=flows)
    assert repr(qm.predict(path="docker-overlay", proto="udp", flows=flows,
                           veth_orphans_skb=False).to_dict()) == repr(old.to_dict())
    new = qm.predict(path="docker-overlay", proto="udp", flows=flows,
                     veth_orphans_skb=False, bridge_nf_call_iptables=False)
    np.testing.assert_array_equal(new.throughput_gbps, old.throughput_gbps)
    assert (old.sender_drop_fraction[1:] > 0.1).all() and (new.sender_drop_fraction == 0).all()
    assert old.drop_fraction[0] == new.drop_fraction[0]      # under the link: the same
    assert (new.drop_fraction[1:] < old.drop_fraction[1:]).all()
    assert (np.diff(new.drop_fraction[1:]) < 0).all()
    assert (new.sender_cpu_total[1:] < old.sender_cpu_total[1:]).all()


@pytest.mark.parametrize("kw", [dict(path="docker-overlay", proto="tcp"),
                                dict(path="docker-overlay", proto="udp", msg_bytes=8192,
                                     ring_cuts_fragments=True, frag_cache_refuses=True)])
def test_threads_change_nothing(monkeypatch, kw):
    # The compiled loops cut the scenarios over threads when there is enough work; the
    # cut must not change a single number (each scenario is computed alone).  The second
    # case has fragment caches that fill: until 2026-11-29 a part after the first left
    # its scenarios' fill times unwritten (its (1, n) output was cut along the wrong
    # axis) and wrote past the array's end.
    from queuemodel import flows

    # Many flow counts (each its own task), then one count on many clocks (one task,
    # itself cut into parts).
    grid = dict(kw, flows=np.r_[np.arange(1, 41), np.full(360, 8)],
                ghz=np.r_[np.linspace(1.5, 4.0, 40), np.linspace(1.5, 4.0, 360)])
    monkeypatch.setattr(flows, "THREADS", 1)
    alone = qm.predict(**grid)
    # Fill the memory the next run's arrays may come from with a value no output takes
    # (np.empty could otherwise hand back this run's numbers in an unwritten array).
    junk = [np.full(size, -7.0) for size in (40, 360, 720, 1440) for _ in range(20)]
    del junk
    monkeypatch.setattr(flows, "THREADS", 3)
    monkeypatch.setattr(flows, "_PAIRS_PER_THREAD", 1)
    threaded = qm.predict(**grid)
    assert repr(threaded.to_dict()) == repr(alone.to_dict())
    if kw["proto"] == "udp":        # the case can fail: its caches fill
        assert np.isfinite(alone.fragment_cache_fill_s).all()


def test_blocks_in_threads_change_nothing(monkeypatch):
    # A large grid is solved in blocks, several at once in threads; neither the cut nor
    # the threads may change a number, a bottleneck name or a per-CPU figure.
    from queuemodel import flows, model

    grid = dict(path="docker-overlay", proto="udp", flows=np.arange(1, 41)[:, None],
                ghz=np.linspace(1.5, 4.0, 9)[None, :], offered_gbps=np.array([2.0, np.inf])[
                    :, None, None])
    whole = qm.predict(**grid).to_dict()
    monkeypatch.setattr(model, "BLOCK", 7)
    monkeypatch.setattr(flows, "THREADS", 1)
    serial = qm.predict(**grid).to_dict()
    monkeypatch.setattr(flows, "THREADS", 3)
    threaded = qm.predict(**grid).to_dict()
    assert threaded == serial
    # Cut into blocks, numpy's vector loops may round differently in the last bits.
    for key, value in whole.items():
        for name, part in (value.items() if isinstance(value, dict) else [(None, value)]):
            other = serial[key] if name is None else serial[key][name]
            if np.asarray(part).dtype.kind in "fi":
                np.testing.assert_allclose(other, part, rtol=1e-9, atol=1e-9, err_msg=key)
            else:
                assert other == part, key


def test_blocks_drawn_in_threads_number_their_topologies_alike(monkeypatch):
    # Two blocks solved at once from a cold placement cache need the same topologies at
    # the same time.  A result numbers its topologies by their tables' identity, so the
    # two threads must share one drawn object per topology: two equal copies would give
    # the same inputs another numbering (and more tables) than a serial solve.
    from queuemodel import flows, model

    grid = dict(path="docker-overlay", proto="tcp", flows=np.tile(np.arange(1, 31), 2))
    monkeypatch.setattr(model, "BLOCK", 30)
    monkeypatch.setattr(flows, "THREADS", 1)
    serial = qm.predict(**grid).cpu_parts
    monkeypatch.setattr(flows, "THREADS", 2)
    for _ in range(3):
        flows._patterns.cache_clear()
        flows._draws.cache_clear()
        threaded = qm.predict(**grid).cpu_parts
        assert len(threaded[2]) == len(serial[2]) == 30
        assert np.array_equal(threaded[1], serial[1])


def test_kernels_compile_without_a_cache_location():
    # A read-only install with no user cache directory: numba refuses cache=True, and the
    # kernels must then compile in memory rather than fail to import.
    import subprocess
    import sys

    code = ("import numba\n"
            "plain = numba.njit\n"
            "def refusing(*args, **kwargs):\n"
            "    if kwargs.get('cache'):\n"
            "        raise RuntimeError('cannot cache function: no locator available')\n"
            "    return plain(*args, **kwargs)\n"
            "numba.njit = refusing\n"
            "import queuemodel as qm\n"
            "print(repr(qm.predict(path='docker-overlay', flows=3).throughput_gbps))\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    expected = qm.predict(path="docker-overlay", flows=3).throughput_gbps
    assert float(out.stdout) == pytest.approx(expected, rel=1e-9)


@given(st.integers(1, 40), st.booleans(), st.floats(0.2, 3.0), st.floats(0.05, 2.0),
       st.floats(0.1, 2.0), st.sampled_from([0.0, 0.3, 4.0]), st.sampled_from([0.0, 5.0, 46.0]),
       st.sampled_from([np.inf, 0.05, 5.0]), st.booleans())
def test_the_accounting_sees_what_the_spread_delivers(n, elastic, second, per_flow, link,
                                                     waste, lost, cache, own):
    # kernels.level_moments (each CPU's interrupts at its own rate) re-derives what every
    # CPU carries and its softirq handles; its sums per thread level must be
    # spread_moments' (flows.expected_spread), livelocked CPUs (waste > 0) and rings that
    # cut datagrams (lost > 0, waste their softirq's over their reader's time) included,
    # with fragment caches that fill (cache: fragments held; own: one per flow) or not.
    from queuemodel import kernels
    from queuemodel.flows import _patterns, expected_spread

    groups = [(np.arange(1), _patterns(n, 10, 2, 16, True, False, (), False))]
    capacity = np.array([[100.0, 100.0 * second]])
    spread = expected_spread("tcp" if elastic else "udp", groups, np.array([n]), capacity,
                             np.array([100.0 * per_flow]), np.array([100.0 * n * link]),
                             waste=np.full((1, 2), waste), lost=np.full((1, 2), lost),
                             slots=np.array([64.0]),
                             frag_cache=np.array([[cache, 30.0, float(own)]]))
    (at, patterns, rate, start), = spread["outcomes"]
    one, zero = np.ones(1), np.zeros(1)
    carried, handled, ipm, switch = (np.empty((1, 2)) for _ in range(4))
    kernels.level_moments(*patterns.runs, patterns.weight, capacity, rate, start,
                          spread["band_low"], spread["band_high"], spread["waste"],
                          spread["lost"], spread["cuts"], one, one,
                          one,
                          np.zeros((1, 2)), np.zeros((1, 2)), zero, zero, zero, zero,
                          np.zeros((1, 0)), zero, zero, np.zeros(0), np.zeros((1, 0)), zero,
                          np.ones((1, 2)), np.array([[64.0, 10.0, 2e-3, 5.0, 1.0, 0.0, 1.0]]),
                          zero, zero, zero, np.zeros(0), np.zeros(0), np.zeros(0), True,
                          spread["convex"], carried, handled, ipm, np.empty((1, 2, 0)), switch,
                          *(np.empty((1, 2)) for _ in range(6)))
    assert carried[0] == pytest.approx(spread["rate_at_level"][0], rel=1e-12, abs=1e-9)
    assert handled[0] == pytest.approx(spread["handled_at_level"][0], rel=1e-12, abs=1e-9)
    assert np.all(handled[0] >= carried[0] * (1 - 1e-12))


def test_collisions_and_siblings_scale_both_protocols_alike_when_the_link_is_wide():
    # The explanation of M8's miss (README): overlay flows of either protocol land on the
    # same CPUs, so with a link that never binds, one to six flows gains the same for both;
    # at 40 Gb/s TCP's luckiest outcomes are capped by the link and UDP's are not.
    # Shared GRO (TCP only) is left out by runs of a whole poll; with it, colliding TCP
    # flows shorten each other's segments and TCP gains a little less again.
    # The copy's DRAM reads are left out too (dram_latency_ns=0): TCP's windows and UDP's
    # socket buffers keep different amounts waiting in the cache; and so are the flows'
    # state's L2 misses (llc_latency_ns=0), which TCP takes per segment, UDP per datagram,
    # and the VXLAN socket's line (line_transfer_ns=0), moved per wire packet: a UDP
    # fragment carries fewer bytes than a TCP packet.
    def gain(proto, link, run=64.0):
        one, six = (qm.predict(path="docker-overlay", proto=proto, flows=n, link_gbps=link,
                               rx_flow_run_packets=run, dram_latency_ns=0.0,
                               llc_latency_ns=0.0, line_transfer_ns=0.0) for n in (1, 6))
        return six.throughput_gbps / one.throughput_gbps

    assert gain("tcp", 100.0) == pytest.approx(gain("udp", 100.0), rel=1e-9)
    assert gain("tcp", 40.0) < gain("udp", 40.0)
    assert gain("tcp", 100.0, run=1.0) < gain("udp", 100.0, run=1.0)


def _one_pattern(counts):
    """Patterns of a single outcome: ``counts`` flows on each busy CPU."""
    counts = np.array([counts])
    return [(np.arange(1), Patterns(flows=counts, level=(counts > 0).astype(int),
                                    weight=np.array([1.0]), draws=1,
                                    cpu_level=np.zeros((counts.size, 1))))]


def test_shared_gro_by_hand():
    # Three flows on one CPU and one alone; runs of 16 packets, polls of 64: four runs a
    # poll, from 3 (1 - (2/3)^4) = 195/81 distinct flows on the shared CPU, one segment
    # each.  Three of the four flows see that; the lone flow keeps its 45-packet segments.
    got = gro_segments_per_packet(_one_pattern([3, 1]), np.array([1 / 45]), 64, 16.0)
    assert got[0] == pytest.approx(0.75 * (195 / 81) / 64 + 0.25 / 45, rel=1e-12)


@pytest.mark.parametrize("n", [1, 6, 80])
def test_sharing_is_what_a_random_flow_sees(n):
    # The chances of sharing a CPU with k - 1 others, from the collapsed patterns, against
    # the draws themselves: a flow picked at random in a draw sits with counts[c] flows on
    # its CPU c, so the mean of k is sum(counts^2) / N over the draws.
    from queuemodel.flows import _patterns

    k, q = _patterns(n, 10, 2, 16, True, False, (), False).sharing
    counts = place(n, 10, 2, 16, True, False).counts
    assert q.sum() == pytest.approx(1.0, rel=1e-12)
    assert k @ q == pytest.approx(((counts ** 2).sum(axis=1) / n).mean(), rel=1e-12)
    assert k.max() == counts.max()


def test_gro_that_holds_one_segment_by_hand():
    # Two flows in one-packet runs, GRO holding one segment: the first run starts one, and
    # every later run is the other flow (and flushes) with chance 1/2: 1 + 63/2 segments
    # in a poll of 64.  Exact: once one segment is held it stays one.
    got = gro_segments_per_packet(_one_pattern([2]), np.array([1 / 45]), 64, 1.0, held=1)
    assert got[0] == pytest.approx((1 + 63 / 2) / 64, rel=1e-12)


@given(st.lists(st.integers(0, 12), min_size=1, max_size=8).filter(any),
       st.floats(1.0, 200.0), st.floats(1.0, 64.0), st.sampled_from((16, 64, 256)),
       st.integers(1, 12))
def test_shared_gro_laws(counts, run, alone_packets, weight, held):
    alone = np.array([1 / min(alone_packets, weight)])     # never more than a poll's packets
    groups = _one_pattern(counts)
    got = gro_segments_per_packet(groups, alone, weight, run)[0]
    # A GRO that holds fewer segments never merges more; one that holds every flow of a
    # CPU changes nothing.
    limited = gro_segments_per_packet(groups, alone, weight, run, held=held)[0]
    assert got * (1 - 1e-12) <= limited <= 1.0
    assert gro_segments_per_packet(groups, alone, weight, run, held=held + 1)[0] <= limited * (
        1 + 1e-12)
    if held >= max(counts):
        assert limited == got
    # Never fewer segments than a flow alone, never more than one per packet.
    assert alone[0] * (1 - 1e-12) <= got <= 1.0
    # Shorter runs never merge more.
    assert gro_segments_per_packet(groups, alone, weight, run / 2)[0] >= got * (1 - 1e-12)
    # One more flow on the busiest CPU never merges more.
    more = list(counts)
    more[int(np.argmax(more))] += 1
    assert gro_segments_per_packet(_one_pattern(more), alone, weight, run)[0] >= got * (
        1 - 1e-12)
    # Runs of a whole poll (or flows alone on their CPUs) change nothing.
    assert gro_segments_per_packet(groups, alone, weight, weight)[0] == pytest.approx(alone[0])
    if max(counts) == 1:
        assert got == alone[0]


def _two_cpus(link, rate, band=(50.0, 100.0)):
    # Two CPUs of capacity 120 with one flow each; the second (its core's other thread
    # busy, level 2) has the overload band; senders without limit.
    from queuemodel.kernels import banded_flow_rates

    runs = (np.array([[1, 1]]), np.array([[1, 2]]), np.array([[1, 1]]))
    out = np.array([[rate]])
    banded_flow_rates(*runs, np.array([2]), np.array([[120.0, 120.0]]), np.array([np.inf]),
                      np.array([link]), np.full((1, 3), np.inf),
                      np.array([[np.inf, band[0]]]), np.array([[np.inf, band[1]]]), out)
    return float(out[0, 0])


def test_a_cpu_held_in_its_band_leaves_its_share_to_the_other_flows():
    # Worked by hand: a link of 140 shared gives 70 each; 70 lies in the second CPU's band
    # (50, 100), which carries 50, so the first flow may take 140 - 50 = 90.
    assert _two_cpus(140.0, 70.0) == pytest.approx(90.0, rel=1e-12)


def test_a_cpu_that_climbs_into_its_band_stays_there_while_the_others_climb_on():
    # A link of 160, sharing first at 80 each (the second CPU's offer inside its band):
    # that CPU's flow cannot take a rate inside the band, so it stays at 50 and the first
    # climbs to 160 - 50 = 110, past the band's upper edge; the link is full.
    assert _two_cpus(160.0, 80.0) == pytest.approx(110.0, rel=1e-12)


def test_patterns_without_a_band_keep_their_rate():
    assert _two_cpus(140.0, 60.0, band=(np.inf, np.inf)) == 60.0


def _banded_pair():
    # The two CPUs above as one hash outcome for expected_spread, and their bands.
    from queuemodel.flows import Patterns

    pats = Patterns(flows=np.array([[1, 1]]), level=np.array([[1, 2]]),
                    weight=np.array([1.0]), draws=1, cpu_level=np.zeros((2, 2)))

    def band(t, lowest):
        edges = (np.inf, np.inf) if t == 0 else (50.0, 100.0)
        return np.array([edges[0]]), np.array([edges[1]])

    return [(np.arange(1), pats)], band


def test_tcp_delivery_counts_the_share_a_banded_cpu_leaves():
    # The same two CPUs through expected_spread: 90 + 50 = 140, the link (sharing
    # without the band would deliver 70 + 50 = 120).
    from queuemodel.flows import expected_spread

    groups, band = _banded_pair()
    out = expected_spread("tcp", groups, np.array([2]), np.array([[120.0, 120.0]]),
                          np.array([np.inf]), np.array([140.0]), band)
    assert out["delivered"][0] == pytest.approx(140.0, rel=1e-12)


def test_udp_delivery_counts_the_share_a_banded_cpu_leaves_of_the_dram():
    # UDP senders ignore the link, but the flows share the DRAM's budget max-min (found by
    # a random search, 2026-11-27: a faster clock opened a band under a DRAM-bound 45-flow
    # outcome and 0.23 % went to no one).  Every byte read from DRAM (no cache) costs 2
    # bytes of traffic, so 280 of bandwidth allow 140: 70 each, inside the second CPU's
    # band, which carries 50; the first flow takes the other 90.
    from queuemodel.flows import expected_spread

    groups, band = _banded_pair()
    waiting = {"per_flow": np.ones(1), "per_cpu": np.zeros(1), "cache": np.zeros(1),
               "ring": np.zeros(1), "memory": np.array([280.0])}
    out = expected_spread("udp", groups, np.array([2]), np.array([[120.0, 120.0]]),
                          np.array([200.0]), np.array([np.inf]), band, waiting)
    assert out["delivered"][0] == pytest.approx(140.0, rel=1e-12)
    assert out["dram_per_byte"][0] == pytest.approx(2.0, rel=1e-12)
