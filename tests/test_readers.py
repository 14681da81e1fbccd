"""The readers' wake-ups: one per delivery that finds a reader asleep, per reader.

Mechanism (queuemodel.solver.wakeups_per_message, readers_per_interrupt,
wakeup_cycles; accounted per CPU in queuemodel.kernels.level_moments): a
polling period delivers to each of the ``d`` readers whose flows it carries
packets of (runs of ``rx_flow_run_packets`` from ``k`` flows), a stream socket
is told of every segment and a datagram socket of every datagram, and a
delivery that finds its reader asleep (its core idle) wakes it: two context
switches, and one more ``read()`` when the message is not complete yet.  A
woken reader reads ``wake_latency_us`` later and drains what came meanwhile, so
how often it sleeps depends on how regularly the deliveries come.
"""

import dataclasses

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import queuemodel as qm
from queuemodel.hosts import paper_testbed
from queuemodel.paths import PATH_NAMES

#: Every receive queue's interrupt on CPU 0: all flows share one CPU.
ONE_CPU = (0,) * 16


def test_three_readers_on_one_cpu_by_hand():
    # Three native TCP flows of 2 Gb/s on CPU 0.  From the model's other outputs: i
    # interrupts and n wire packets per message, m segments per message (what the stream
    # socket is told of), u the CPU's work without wake-ups.  Each polling period takes
    # p = n / i packets in p / L runs (L = rx_flow_run_packets, 2.09 as shipped), and holds
    # d = 3 (1 - (2/3)^(p / L)) of the readers; a message sees D = min(m, d i)
    # deliveries, and wakes its reader on W = D (1 - u) / (1 + R D (2.5 us + X + c / C))
    # of them (Poisson senders, the default arrival_scv for an offered load: a reader
    # that has drained its queue waits g = 1 / (R D) on average for the next delivery,
    # and reads 2.5 us after the wake-up, Host.wake_latency_us, plus X, the exit latency
    # of the idle state its CPU reached: C1, C1E, C3 and C6 of Broadwell's intel_idle
    # table, entered after 2, 20, 100 and 400 us and left in 2, 10, 40 and 133 us, so
    # with an exponential idle of mean g, X = sum of the steps times exp(-residency /
    # g)), each costing c = 2 x 3300 cycles of switches plus 4000 for the select and the
    # read it restarts in the share 1 - 1/D (iperf3's data socket is non-blocking:
    # tests/select_cost.py).
    r = qm.predict(path="native", proto="tcp", flows=3, offered_gbps=2.0, queue_cpus=ONE_CPU)
    assert r.cores_used == 1.0
    rate = r.message_rate_per_s
    i = r.irq_rate_per_s / rate
    n = r.wire_packet_rate_per_s / rate
    m = n / r.gro_packets_per_segment
    u = r.core_utilisation["rx:flow-core"] - r.stages["rx:context_switch"]
    d = 3 * (1 - (2 / 3) ** (n / i / paper_testbed().rx_flow_run_packets))
    deliveries = min(m, d * i)
    assert deliveries == pytest.approx(m)                 # the segments bind here
    cost = 2 * 3300.0 + (2000.0 + 2000.0) * (1 - 1 / deliveries)
    g_us = 1e6 / (rate * deliveries)
    exit_us = sum(step * np.exp(-residency / g_us)
                  for residency, step in [(2, 2), (20, 8), (100, 30), (400, 93)])
    assert 2.0 < exit_us < 133.0
    woken = deliveries * (1 - u) / (1 + rate * deliveries * ((2.5 + exit_us) * 1e-6
                                                             + cost / 2.2e9))
    assert r.context_switch_rate_per_s == pytest.approx(2 * woken * rate, rel=1e-9)
    assert r.stages["rx:context_switch"] == pytest.approx(woken * cost * rate / 2.2e9,
                                                          rel=1e-9)
    # The same flows on CPUs of their own wake each reader once per delivery of its own.
    apart = qm.predict(path="native", proto="tcp", flows=3, offered_gbps=2.0,
                       flow_steering=True)
    assert apart.cores_used == 3.0
    assert apart.context_switch_rate_per_s < r.context_switch_rate_per_s


def test_one_datagram_wakes_its_reader_at_most_once():
    # A datagram socket is told once per datagram, however many readers a period holds.
    r = qm.predict(path="docker-overlay", proto="udp", flows=np.array([1, 4, 16, 64]),
                   offered_gbps=0.3, queue_cpus=ONE_CPU, msg_bytes=8192)
    assert np.all(r.context_switch_rate_per_s <= 2 * r.message_rate_per_s * (1 + 1e-12))


@given(path=st.sampled_from(PATH_NAMES), proto=st.sampled_from(["tcp", "udp"]),
       flows=st.integers(1, 80), msg=st.sampled_from([64, 1024, 8192, 65536, 131072]),
       offered=st.floats(0.05, 50.0), run=st.floats(1.0, 64.0))
def test_wake_ups_never_outnumber_what_the_sockets_are_told(path, proto, flows, msg, offered,
                                                             run):
    # At most one wake-up per segment a stream socket receives, per datagram a datagram
    # socket receives; context switches come two per wake-up.
    msg = min(msg, 65507) if proto == "udp" else msg
    r = qm.predict(path=path, proto=proto, flows=flows, msg_bytes=msg, offered_gbps=offered,
                   rx_flow_run_packets=run)
    told = r.message_rate_per_s
    if proto == "tcp":
        told = r.wire_packet_rate_per_s / r.gro_packets_per_segment
    assert r.context_switch_rate_per_s <= 2 * told * (1 + 1e-9) + 1e-9


@given(path=st.sampled_from(PATH_NAMES), proto=st.sampled_from(["tcp", "udp"]),
       flows=st.integers(1, 80), msg=st.sampled_from([64, 1024, 8192, 131072]),
       offered=st.none() | st.floats(0.05, 50.0), switch=st.floats(0.0, 50_000.0))
def test_a_cpu_at_capacity_wakes_no_one(path, proto, flows, msg, offered, switch):
    # A reader sleeps only while its core is idle, and a core at capacity never is: what
    # the wake-ups cost changes what a core below capacity spends, never what any core
    # sustains, so throughput does not depend on the cost of a context switch.
    msg = min(msg, 65507) if proto == "udp" else msg
    kw = dict(path=path, proto=proto, flows=flows, msg_bytes=msg)
    if offered is not None:
        kw["offered_gbps"] = offered
    base = qm.predict(**kw)
    dear = qm.predict(**kw, context_switch_cycles=switch)
    assert dear.throughput_gbps == pytest.approx(base.throughput_gbps, rel=1e-9)


@pytest.mark.parametrize("proto", ["tcp", "udp"])
@pytest.mark.parametrize("path", ["native", "docker-overlay"])
def test_more_readers_on_a_cpu_never_wake_less(path, proto):
    # One CPU, the same 2 Gb/s in all, GRO off and free DRAM and L2 misses (so the CPU's
    # work per message is the same whatever the flow count): more readers on the CPU,
    # more of them per polling period, never fewer wake-ups.
    flows = np.arange(1, 41)
    host = dataclasses.replace(paper_testbed(), queue_cpus=ONE_CPU, gro=False,
                               dram_latency_ns=0.0, llc_latency_ns=0.0)
    r = qm.predict(path=path, proto=proto, flows=flows, offered_gbps=2.0 / flows,
                   msg_bytes=8192, host=host)
    assert np.all(r.cores_used == 1.0)
    assert np.allclose(r.throughput_gbps, 2.0, rtol=1e-9)
    switches = r.context_switch_rate_per_s
    assert np.all(np.diff(switches) >= -1e-9 * switches[1:])
    # ... and strictly more once a period holds a second reader (TCP: 8 KB writes arrive
    # as several segments, so a message can be told of more than once).
    if proto == "tcp":
        assert switches[-1] > switches[0]


def test_longer_runs_put_fewer_readers_in_a_period():
    # Runs of a whole poll and more hold one flow per period: as if each CPU had one
    # reader, so 80 native flows switch far less than with the shipped interleaving.
    fine = qm.predict(path="native", proto="tcp", flows=80)
    coarse = qm.predict(path="native", proto="tcp", flows=80, rx_flow_run_packets=1e4)
    assert coarse.context_switch_rate_per_s < 0.5 * fine.context_switch_rate_per_s
    assert sum(coarse.receiver_cpu.values()) < sum(fine.receiver_cpu.values())
    assert coarse.throughput_gbps == pytest.approx(fine.throughput_gbps, rel=1e-9)


@given(rate=st.floats(1e2, 1e6), load=st.floats(0.0, 0.999), deliveries=st.floats(0.05, 50.0),
       switch=st.floats(0.0, 2e4), latency=st.floats(0.0, 1e-4), scv=st.floats(0.0, 4.0))
def test_sleeps_are_bounded_by_the_deliveries_and_the_idle_time(rate, load, deliveries,
                                                                switch, latency, scv):
    # Laws of solver.wakeups_per_message: never more sleeps than deliveries; each sleep
    # takes its latency and its switches out of the core's idle time, so they never
    # exceed it; the more irregular the deliveries or the longer the latency, the fewer
    # the sleeps; a core with no idle time sleeps never.
    from queuemodel.solver import wakeups_per_message

    cap = 2.2e9
    other = load * cap / rate

    def w(**kw):
        args = dict(latency_s=latency, arrival_scv=scv)
        args.update(kw)
        return float(wakeups_per_message(rate, deliveries, other, switch, cap, **args))

    sleeps = w()
    assert 0.0 <= sleeps <= deliveries * (1 + 1e-12)
    assert rate * sleeps * (latency + switch / cap) <= (1.0 - load) * (1 + 1e-9)
    assert w(arrival_scv=scv + 0.5) <= sleeps * (1 + 1e-12)
    assert w(latency_s=latency + 1e-6) <= sleeps * (1 + 1e-12)
    assert float(wakeups_per_message(rate, deliveries, cap / rate, switch, cap,
                                     latency_s=latency, arrival_scv=scv)) == 0.0


def test_random_deliveries_without_latency_find_the_reader_asleep_its_idle_share():
    # Limiting case: Poisson deliveries (v = 1) and a reader that reads the moment it is
    # woken (L = 0) give PASTA's law, each delivery finding it asleep with the core's
    # idle share, the wake-ups' own cycles counted in it: D (1 - u) / (1 + c D R / C).
    # At 1e4 messages/s, 3 deliveries each, 40 % busy, 6,600-cycle wake-ups on 2.2 GHz:
    # 3 x 0.6 / (1 + 6600 x 3 x 1e4 / 2.2e9) = 1.8 / 1.09.
    from queuemodel.solver import wakeups_per_message

    other = 0.4 * 2.2e9 / 1e4
    poisson = wakeups_per_message(1e4, 3.0, other, 6600.0, 2.2e9, most=3.0, latency_s=0.0,
                                  arrival_scv=1.0)
    assert float(poisson) == pytest.approx(1.8 / 1.09, rel=1e-12)
    # At a steady pace the same reader sleeps after every delivery: its 60 % idle time
    # pays for 3 x 1e4 sleeps a second, each a wait of half the 60 % of a 33 us gap its
    # reading leaves free (10 us), 3 us of latency and 3 us of switches, 0.48 s...
    steady = wakeups_per_message(1e4, 3.0, other, 6600.0, 2.2e9, most=3.0, latency_s=3e-6)
    assert float(steady) == 3.0
    # ...until the deliveries come faster than its idle time can pay for: at 2e5
    # messages/s (a delivery every 1.67 us), 40 % busy, each sleep takes 0.5 + 3 + 3 us,
    # so 0.6 / 6.5 us sleeps a second.
    fast = wakeups_per_message(2e5, 3.0, 0.4 * 2.2e9 / 2e5, 6600.0, 2.2e9, most=3.0,
                               latency_s=3e-6)
    assert float(fast) == pytest.approx(0.6 / 6.5e-6 / 2e5, rel=1e-12)


def test_a_paced_offered_load_wakes_its_reader_more_often_than_a_random_one():
    # An offered load's deliveries are as irregular as its arrival_scv: a reader fed at
    # a steady pace (0; a sender as fast as it can go is taken so, as measured: README
    # "How often a reader sleeps") drains each and sleeps, one fed at random (1) often
    # finds more queued when it wakes.  Both readers below capacity, on cores of their own.
    sc = dict(path="docker-overlay", proto="udp", msg_bytes=8192, flows=2,
              app_on_softirq_core=False)
    per_flow = 0.25 * float(qm.predict(**sc).throughput_gbps) / 2
    paced = qm.predict(**sc, offered_gbps=per_flow, arrival_scv=0.0)
    poisson = qm.predict(**sc, offered_gbps=per_flow, arrival_scv=1.0)
    assert paced.message_rate_per_s == pytest.approx(poisson.message_rate_per_s, rel=1e-9)
    assert 0.0 < poisson.context_switch_rate_per_s < 0.9 * paced.context_switch_rate_per_s
