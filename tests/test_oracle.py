"""The stochastic closed forms against an independent simulator (Ciw).

Each test simulates exactly the assumptions of one closed form with seeded
replications and checks the analytic value lies within the simulation's
99 % confidence interval or within 3 %, whichever is wider (issue: latency,
loss and the derivation book).  The default run is short (a few seconds in
all); ``pytest -m slow`` repeats each check with long runs, whose intervals
are far tighter.  Ciw is a maintained discrete-event queueing simulator
(Palmer et al., J. Simulation 2019), pinned in the test extra.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from queuemodel import queueing as q

ciw = pytest.importorskip("ciw")

#: (replications, simulated time per replication in mean service times)
RUNS = {"short": (6, 2_000.0), "long": (20, 40_000.0)}
LENGTHS = [pytest.param("short"), pytest.param("long", marks=pytest.mark.slow)]
WARM_UP = 0.1                     # share of each run discarded


def _within(analytic, samples):
    """Analytic value inside the replications' 99 % t-interval, or within 3 %."""
    from scipy import stats

    samples = np.asarray(samples, dtype=float)
    n = samples.size
    mean = samples.mean()
    half = stats.t.ppf(0.995, n - 1) * samples.std(ddof=1) / math.sqrt(n)
    tolerance = max(half, 0.03 * abs(analytic))
    assert abs(analytic - mean) <= tolerance, (analytic, mean, half)


def _gamma(mean, scv):
    return (ciw.dists.Deterministic(mean) if scv == 0 else
            ciw.dists.Gamma(shape=1.0 / scv, scale=mean * scv))


def _sojourns(records, start):
    """Per customer: arrival, exit and sojourn (all visits), for those arriving after start."""
    first, last = {}, {}
    for r in records:
        first[r.id_number] = min(first.get(r.id_number, math.inf), r.arrival_date)
        last[r.id_number] = max(last.get(r.id_number, -math.inf), r.exit_date)
    ids = [i for i in first if first[i] >= start]
    arrive = np.array([first[i] for i in ids])
    leave = np.array([last[i] for i in ids])
    return arrive, leave


def _time_average_number(arrive, leave, start, end, rng):
    """Number in system at random instants (a time average, independent of sojourn means)."""
    probes = rng.uniform(start, end, 4000)
    arrive, leave = np.sort(arrive), np.sort(leave)
    return float(np.mean(np.searchsorted(arrive, probes, "right")
                         - np.searchsorted(leave, probes, "right")))


def _run(network, seed, horizon):
    ciw.seed(seed)
    sim = ciw.Simulation(network)
    sim.simulate_until_max_time(horizon)
    return sim


@pytest.mark.parametrize("length", LENGTHS)
def test_mg1_sojourn_and_littles_law(length):
    # Pollaczek-Khinchine: Poisson arrivals, gamma service (SCV 0.5), rho = 0.7.
    reps, horizon = RUNS[length]
    lam, mean, scv = 1.0, 0.7, 0.5
    analytic = float(q.mg1_wait_s(lam, mean, scv)) + mean
    net = ciw.create_network(arrival_distributions=[ciw.dists.Exponential(lam)],
                             service_distributions=[_gamma(mean, scv)],
                             number_of_servers=[1])
    rng = np.random.default_rng(7)
    sojourn, number = [], []
    for seed in range(reps):
        sim = _run(net, seed, horizon)
        start = WARM_UP * horizon
        arrive, leave = _sojourns(sim.get_all_records(only=["service"]), start)
        sojourn.append(np.mean(leave - arrive))
        number.append(_time_average_number(arrive, leave, start, 0.9 * horizon, rng))
    _within(analytic, sojourn)
    _within(lam * analytic, number)              # Little: L = lambda T


def _priority_network(lam, high, low, scv):
    # One server; a message arrives as class "hi" (hard IRQ + softirq work), then comes back
    # as "lo" (the copy), which a later "hi" preempts (resume).  Ciw routes by the class a
    # customer has after its class change, so "lo" returns to the node once and "done" leaves.
    names = ("hi", "lo", "done")

    def change(to):
        return {n: (1.0 if n == to else 0.0) for n in names}

    return ciw.create_network(
        arrival_distributions={"hi": [ciw.dists.Exponential(lam)], "lo": [None],
                               "done": [None]},
        service_distributions={"hi": [_gamma(high, scv)], "lo": [_gamma(low, scv)],
                               "done": [ciw.dists.Deterministic(1.0)]},
        number_of_servers=[1],
        routing={"hi": [[0.0]], "lo": [[1.0]], "done": [[0.0]]},
        class_change_matrices=[{"hi": change("lo"), "lo": change("done"),
                                "done": change("done")}],
        priority_classes=({"hi": 0, "lo": 1, "done": 2}, ["resume"]),
    )


@pytest.mark.parametrize("length", LENGTHS)
@pytest.mark.parametrize("scv", [1.0, 0.25])
def test_priority_core_sojourn_and_littles_law(length, scv):
    # The flow core: hard IRQ + softirq (0.3) ahead of the copy (0.4), rho = 0.7.
    reps, horizon = RUNS[length]
    lam, high, low = 1.0, 0.3, 0.4
    work = high + low
    core_scv = scv * (high ** 2 + low ** 2) / work ** 2     # independent segments
    analytic = float(q.priority_sojourn_s(lam, work, high, 1.0, core_scv))
    net = _priority_network(lam, high, low, scv)
    rng = np.random.default_rng(11)
    sojourn, number = [], []
    for seed in range(reps):
        sim = _run(net, seed, horizon)
        start = WARM_UP * horizon
        records = [r for r in sim.get_all_records(only=["service"])
                   if r.customer_class in ("hi", "lo")]
        arrive, leave = _sojourns(records, start)
        done = leave > arrive                          # both visits completed
        sojourn.append(np.mean((leave - arrive)[done]))
        number.append(_time_average_number(arrive[done], leave[done], start, 0.9 * horizon,
                                           rng))
    _within(analytic, sojourn)
    _within(lam * analytic, number)


@pytest.mark.parametrize("length", LENGTHS)
@pytest.mark.parametrize("rho, capacity, scv", [(0.9, 5, 0.5), (1.3, 5, 0.5), (0.8, 12, 0.0)])
def test_finite_buffer_blocking(length, rho, capacity, scv):
    reps, horizon = RUNS[length]
    lam, mean = 1.0, rho
    analytic = float(q.mg1k(lam, mean, scv, capacity)[0])
    net = ciw.create_network(arrival_distributions=[ciw.dists.Exponential(lam)],
                             service_distributions=[_gamma(mean, scv)],
                             number_of_servers=[1], queue_capacities=[capacity - 1])
    share = []
    for seed in range(reps):
        sim = _run(net, seed, horizon)
        start = WARM_UP * horizon
        records = sim.get_all_records(only=["service", "rejection"])
        kinds = np.array([r.record_type == "rejection" for r in records
                          if r.arrival_date >= start])
        share.append(kinds.mean())
    _within(analytic, share)


@pytest.mark.parametrize("length", LENGTHS)
def test_p99_of_one_station_within_ten_percent(length):
    # The tail is a two-moment fit, not exact: for M/G/1 (SCV 0.5, rho 0.7) the fitted p99
    # must lie within 10 % of the simulated one (a looser bound than the means', stated in
    # the README).
    reps, horizon = RUNS[length]
    lam, mean, scv = 1.0, 0.7, 0.5
    wait = float(q.mg1_wait_s(lam, mean, scv))
    var = float(q.wait_variance_s2(wait, lam * mean)) + scv * mean ** 2
    analytic = float(q.gamma_quantile(wait + mean, var, 0.99))
    net = ciw.create_network(arrival_distributions=[ciw.dists.Exponential(lam)],
                             service_distributions=[_gamma(mean, scv)],
                             number_of_servers=[1])
    pooled = []
    for seed in range(reps):
        sim = _run(net, seed, horizon)
        arrive, leave = _sojourns(sim.get_all_records(only=["service"]), WARM_UP * horizon)
        pooled.append(leave - arrive)
    simulated = float(np.quantile(np.concatenate(pooled), 0.99))
    assert analytic == pytest.approx(simulated, rel=0.10)


def _shared_core_loss(rate, softirq_s, reader_s, ring, sock, arrivals, seed, flows=1):
    """Loss at the RX ring and at the sockets when one CPU runs its flows' softirq work
    ahead of their readers (preemptive resume), by simulation.

    Poisson arrivals, each of one of ``flows`` flows at random; each message brings
    exponential softirq work (``softirq_s`` mean), done first and in turn, then joins
    its flow's socket, if that has room for it (``sock`` messages, the one being read
    included), for exponential reading work (``reader_s``), done only while no softirq
    work waits, in the order the messages reached the sockets.  The ring holds ``ring``
    messages waiting for the softirq.  Written here, sharing nothing with the model.
    """
    import random

    rnd = random.Random(seed)
    t, next_arrival = 0.0, rnd.expovariate(rate)
    waiting, socket = [], []        # [remaining work, flow], head first
    held = [0] * flows
    seen = lost_ring = lost_sock = 0
    while seen < arrivals:
        head = waiting or socket
        finish = t + head[0][0] if head else math.inf
        if next_arrival <= finish:
            if head:
                head[0][0] -= next_arrival - t
            t = next_arrival
            seen += 1
            if len(waiting) >= ring:
                lost_ring += 1
            else:
                waiting.append([rnd.expovariate(1.0 / softirq_s), rnd.randrange(flows)])
            next_arrival = t + rnd.expovariate(rate)
        else:
            t = finish
            if waiting:
                _, flow = waiting.pop(0)
                if held[flow] >= sock:
                    lost_sock += 1
                else:
                    socket.append([rnd.expovariate(1.0 / reader_s), flow])
                    held[flow] += 1
            else:
                held[socket.pop(0)[1]] -= 1
    return lost_ring / seen, lost_sock / seen


def test_the_shared_core_simulation_is_mm1k_when_the_softirq_is_free():
    # With next to no softirq work the socket is an M/M/1/4 queue at load 0.5: loss
    # (1 - rho) rho^4 / (1 - rho^5) = 0.0323 (Kleinrock vol. 1, 3.6).
    _, lost = _shared_core_loss(1.0, 1e-9, 0.5, 170, 4, 200_000, seed=3)
    assert lost == pytest.approx(0.5 ** 4 * 0.5 / (1 - 0.5 ** 5), rel=0.08)


@pytest.mark.parametrize("offered_gbps, flows, rel", [(3.0, 1, 0.08), (3.5, 1, 0.08),
                                                      (3.8, 1, 0.08), (3.5, 2, 0.1),
                                                      (3.5, 3, 0.16)])
def test_a_shared_core_loses_what_a_simulation_of_it_loses(offered_gbps, flows, rel):
    # 8 KB Docker UDP, the readers on the softirq's CPU, 78 %, 90 % and 98 % of the CPU
    # busy: the model's stage costs fed to the simulation above.  Until 2026-11-28 the
    # model pooled ring and socket into one M/G/1/K and lost 0, 3e-11 and 8e-5 of what
    # the simulation loses, 13 %, 29 % and 41 % (of a 15-datagram socket, as the model
    # then counted it; queueing.reader_blocking now).  Two or
    # three flows on the one CPU (one receive queue, no RPS), their sockets read in the
    # order data came: the model takes one socket of their summed size, 15.1 % and
    # 9.5 % where four 400,000-message runs of the simulation average 15.6 % and 10.2 %
    # (one socket of one flow's size would lose 27 %).  Since iperf3's select before each
    # read is counted (2026-11-29) the reader is a larger share of the CPU and the
    # summed socket loses less than the simulation: 11.1 % and 6.5 % against 11.9 % and
    # 7.6 % (seeds 5-8); one flow still agrees within 2 %.
    import queuemodel as qm
    from queuemodel import wire
    from queuemodel.paths import get_path

    r = qm.predict(path="docker-overlay", proto="udp", offered_gbps=offered_gbps / flows,
                   flows=flows, nic_queues=1, rps=False)
    assert r.flows_per_busy_cpu == flows                      # the premise
    rate = r.message_rate_per_s
    context = {s.name: s.context for s in get_path("docker-overlay").rx}
    busy = {"soft": 0.0, "read": 0.0}
    for name, util in r.stages.items():
        kind = context.get(name[3:], "softirq" if name == "rx:softirq_entry" else "read")
        if name.startswith("rx:"):
            busy["soft" if kind in ("hardirq", "softirq") else "read"] += util
    host = qm.paper_testbed()
    fragments = float(wire.udp_fragments(8192, host.mtu, get_path("docker-overlay").encap_bytes))
    ring = host.rx_ring // fragments                          # 170 datagrams
    # A socket takes a datagram while what it holds is under SO_RCVBUF (Linux 4.4,
    # __sock_queue_rcv_skb): 212,992 B at 6 x 2,304 B is 15.4, so 16 datagrams.
    sock = math.ceil(host.socket_rcvbuf_bytes / (fragments * host.rx_buffer_truesize_bytes))
    lost = sum(_shared_core_loss(rate, busy["soft"] / rate, busy["read"] / rate, ring, sock,
                                 400_000, seed=5, flows=flows))
    assert r.loss_fraction == pytest.approx(lost, rel=rel)
