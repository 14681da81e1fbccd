"""How a scenario's throughput spreads over its hash outcomes (one placement each).

``throughput_sd_gbps``, ``throughput_p05_gbps`` and ``throughput_p95_gbps``
read the distribution the expected throughput averages over;
``slowest_flow_gbps`` how the flows of one placement share it.  The reference
here is exact combinatorics, not the model's own draws; the laws hold for any
distribution.
"""

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import queuemodel as qm
from queuemodel.flows import OUTCOME_QUANTILES, SAMPLES
from queuemodel.errors import ModelInputError

#: Docker overlay TCP where every busy CPU carries one flow's rate whatever shares it:
#: one thread a core (no sibling shares), ten queues on ten CPUs, runs of a whole poll
#: (GRO as for one flow), free L2 and DRAM misses and line transfers, DRAM and link to
#: spare.
_FLAT = dict(path="docker-overlay", proto="tcp", threads_per_core=1, physical_cores=10,
             nic_queues=10, rx_flow_run_packets=64, dram_latency_ns=0.0, llc_latency_ns=0.0,
             line_transfer_ns=0.0, link_gbps=400.0, memory_gbytes_per_s=1e6)


def _stirling2(n, k):
    return sum((-1) ** j * math.comb(k, j) * (k - j) ** n for j in range(k + 1)) // math.factorial(k)


def _busy_law(n, bins):
    """Exact chance that ``n`` flows hashed uniformly into ``bins`` queues occupy ``k``."""
    return np.array([math.comb(bins, k) * _stirling2(n, k) * math.factorial(k) / bins ** n
                     for k in range(bins + 1)])


def test_outcomes_follow_the_occupancy_law():
    # n balls in 10 bins: P(k bins used) = C(10, k) S(n, k) k! / 10^n.  With every busy CPU
    # carrying the one-flow rate C, a placement delivers k C, so the model's quantiles
    # must be whole multiples of C at the exact law's quantiles, and its sd k's sd times C.
    one = qm.predict(flows=1, **_FLAT).throughput_gbps
    flows = np.arange(2, 11)
    r = qm.predict(flows=flows, **_FLAT)
    checked = 0
    for i, n in enumerate(flows):
        law = _busy_law(n, 10)
        k = np.arange(11)
        mean = (law * k).sum()
        sd = math.sqrt((law * (k - mean) ** 2).sum())
        assert r.throughput_gbps[i] / one == pytest.approx(mean, abs=4 * sd / math.sqrt(SAMPLES))
        assert r.throughput_sd_gbps[i] / one == pytest.approx(sd, rel=0.15)
        cdf = np.cumsum(law)
        for q, got in zip(OUTCOME_QUANTILES, (r.throughput_p05_gbps[i], r.throughput_p95_gbps[i])):
            want = int(np.argmax(cdf >= q))
            # 512 seeded draws read the exact quantile unless the law's CDF passes q within
            # three standard errors of a draw's share: those are not judged.
            margin = 3 * math.sqrt(q * (1 - q) / SAMPLES)
            if cdf[want] - q > margin and (want == 0 or q - cdf[want - 1] > margin):
                assert got / one == pytest.approx(want, rel=1e-9), (n, q)
                checked += 1
    assert checked >= 9


def test_the_slowest_flow_follows_the_busiest_cpu():
    # Where every busy CPU carries C, a CPU with k flows gives each C / k, so a placement's
    # slowest flow gets C / (its busiest CPU's flows).  The exact mean of that over all
    # 10^n ways n flows can land in 10 queues, against the model's 512 draws.
    one = qm.predict(flows=1, **_FLAT).throughput_gbps
    flows = np.arange(2, 7)
    r = qm.predict(flows=flows, **_FLAT)
    for i, n in enumerate(flows):
        # Every assignment of n flows to 10 queues: the digits of 0 .. 10^n - 1.
        ways = (np.arange(10 ** int(n))[:, None] // 10 ** np.arange(int(n))) % 10
        crowded = np.max([(ways == q).sum(axis=1) for q in range(10)], axis=0)
        exact = 1.0 / crowded
        error = exact.std() / math.sqrt(SAMPLES)
        assert r.slowest_flow_gbps[i] / one == pytest.approx(exact.mean(), abs=4 * error), n


@given(st.sampled_from(tuple(qm.PATHS)), st.sampled_from(("tcp", "udp")),
       st.integers(1, 80), st.sampled_from((1024, 8192, 131072)),
       st.sampled_from(({}, {"ghz": 3.5}, {"physical_cores": 4}, {"link_gbps": 100.0},
                        {"app_on_softirq_core": False})))
def test_the_spread_obeys_the_laws_of_any_distribution(path, proto, n, msg, host):
    if proto == "udp" and msg > 65507:
        msg = 8192
    r = qm.predict(path=path, proto=proto, flows=n, msg_bytes=msg, **host)
    mean, sd = r.throughput_gbps, r.throughput_sd_gbps
    low, high = r.throughput_p05_gbps, r.throughput_p95_gbps
    assert all(math.isfinite(v) for v in (sd, low, high))
    assert 0.0 <= low <= high <= r.link_goodput_gbps * (1 + 1e-12)
    assert sd >= 0.0
    # Cantelli: P(X <= mean - k sd) <= 1 / (1 + k^2).  At least 5 % of the outcomes lie at
    # or below p05 and more than 5 % at or above p95, so neither is more than sqrt(19)
    # standard deviations from the mean.
    reach = math.sqrt(19.0) * sd + 1e-9 * mean
    assert mean - low <= reach and high - mean <= reach
    # The Monte Carlo's standard error is that spread over the draws.
    assert r.throughput_stderr_gbps == pytest.approx(sd / math.sqrt(SAMPLES), rel=1e-9,
                                                     abs=1e-15)
    if sd == 0.0:
        assert low == high == pytest.approx(mean, rel=1e-12)
    # The slowest flow of a placement gets at most its fair share, and all of one alone.
    assert 0.0 <= r.slowest_flow_gbps <= mean / n * (1 + 1e-9)
    if n == 1:
        assert r.slowest_flow_gbps == pytest.approx(mean, rel=1e-12)


@pytest.mark.parametrize("path, proto", [("docker-overlay", "tcp"), ("native", "udp"),
                                         ("linux-overlay", "udp")])
def test_one_placement_has_no_spread(path, proto):
    # One flow, or native UDP's flows that share one hash (paper section 3.2): every
    # outcome is the same.
    flows = 1 if proto == "tcp" else 12
    r = qm.predict(path=path, proto=proto, flows=[1, flows])
    if path == "native":
        assert np.all(r.throughput_sd_gbps == 0.0)
        # One CPU serves them all, and each gets the same share of it.
        assert r.slowest_flow_gbps == pytest.approx(r.throughput_gbps / np.array([1, flows]),
                                                    rel=1e-12)
        assert np.array_equal(r.throughput_p05_gbps, r.throughput_gbps)
        assert np.array_equal(r.throughput_p95_gbps, r.throughput_gbps)
    else:
        assert r.throughput_sd_gbps[0] == 0.0
        assert r.throughput_p05_gbps[0] == r.throughput_p95_gbps[0] == r.throughput_gbps[0]


def test_two_native_tcp_flows_collide_often_enough_to_set_p05():
    # Two flows share one of 16 queues with chance 1/16 = 6.25 % > 5 %, so p05 is the
    # collided outcome: what two flows steered onto one queue deliver.  (GRO as for one
    # flow and free misses: the model's GRO sharing and cache terms are means over the
    # outcomes, which pinning changes.)
    free = dict(rx_flow_run_packets=64, dram_latency_ns=0.0, llc_latency_ns=0.0)
    two = qm.predict(path="native", proto="tcp", flows=2, **free)
    pinned = qm.predict(path="native", proto="tcp", flows=2, queue_cpus=(0,) * 16, **free)
    assert pinned.throughput_sd_gbps == 0.0
    assert two.throughput_p05_gbps == pytest.approx(pinned.throughput_gbps, rel=1e-9)
    assert two.throughput_p95_gbps == pytest.approx(two.link_goodput_gbps, rel=1e-9)


@given(st.sampled_from(tuple(qm.PATHS)), st.sampled_from(("tcp", "udp")),
       st.integers(1, 40), st.sampled_from(({}, {"physical_cores": 4}, {"nic_queues": 8})))
def test_the_distribution_is_what_predict_summarises(path, proto, n, host):
    o = qm.outcomes(path=path, proto=proto, flows=n, **host)
    r = qm.predict(path=path, proto=proto, flows=n, **host)
    assert np.all(np.diff(o.throughput_gbps) > 0) and np.all(o.probability > 0)
    assert o.probability.sum() == pytest.approx(1.0, rel=1e-12)
    assert o.mean_gbps == pytest.approx(r.throughput_gbps, rel=1e-12)
    sd = math.sqrt(o.probability @ (o.throughput_gbps - o.mean_gbps) ** 2)
    assert sd == pytest.approx(r.throughput_sd_gbps, rel=1e-6, abs=1e-9)
    assert o.quantile(0.05) == pytest.approx(r.throughput_p05_gbps, rel=1e-12)
    assert o.quantile(0.95) == pytest.approx(r.throughput_p95_gbps, rel=1e-12)
    # Every probability is a whole number of draws.
    counts = o.probability * o.draws
    assert np.allclose(counts, np.round(counts), atol=1e-6)
    for x in (o.throughput_gbps[0], o.mean_gbps, o.throughput_gbps[-1]):
        at = o.probability[o.throughput_gbps == x].sum()
        assert o.cdf(x) + o.chance_at_least(x) == pytest.approx(1.0 + at, abs=1e-12)


def test_two_flows_land_as_the_queues_say():
    # Two native TCP flows over 16 queues, queues i and i + 10 (i < 6) the two threads of
    # one core: the same queue with chance 1/16, sibling queues 12/256, else two cores.
    o = qm.outcomes(path="native", proto="tcp", flows=2)
    assert o.throughput_gbps.size == 3
    exact = np.array([1 / 16, 12 / 256, 1 - 1 / 16 - 12 / 256])
    error = np.sqrt(exact * (1 - exact) / o.draws)
    assert np.all(np.abs(o.probability - exact) <= 4 * error)
    # Two cores carry what the link lets through; one CPU, what it can.
    assert o.throughput_gbps[-1] == pytest.approx(
        qm.predict(path="native", proto="tcp", flows=2).link_goodput_gbps, rel=1e-12)


def test_outcomes_takes_one_scenario_and_checks_its_questions():
    with pytest.raises(ModelInputError, match=r"^workload\.flows = \[1, 2\]: must be one value"):
        qm.outcomes(flows=[1, 2])
    with pytest.raises(ModelInputError, match=r"^host\.ghz = "):
        qm.outcomes(ghz=np.array([2.0, 3.0]))
    with pytest.raises(ModelInputError, match=r"^host\.ghz = -1"):
        qm.outcomes(ghz=-1.0)
    o = qm.outcomes(path="docker-overlay", proto="tcp", flows=6)
    for q in (0.0, 1.5, float("nan")):
        with pytest.raises(ModelInputError, match=r"^q = "):
            o.quantile(q)
    assert o.quantile(1.0) == o.throughput_gbps[-1]
    d = o.to_dict()
    assert d["mean_gbps"] == o.mean_gbps and len(d["probability"]) == o.throughput_gbps.size


def test_the_distribution_plots(tmp_path):
    import matplotlib

    matplotlib.use("Agg")
    ax = qm.outcomes(path="docker-overlay", proto="udp", flows=6).plot()
    ax.figure.savefig(tmp_path / "cdf.png")
    assert (tmp_path / "cdf.png").stat().st_size > 0


def test_the_cli_prints_the_distribution(capsys):
    import json

    from queuemodel.cli import main

    assert main(["outcomes", "--path", "docker-overlay", "--flows", "6", "--json"]) == 0
    d = json.loads(capsys.readouterr().out)
    o = qm.outcomes(path="docker-overlay", proto="tcp", flows=6)
    assert d["throughput_gbps"] == o.throughput_gbps.tolist()
    assert main(["outcomes", "--path", "docker-overlay", "--flows", "6"]) == 0
    rows = capsys.readouterr().out.splitlines()[2:]
    assert len(rows) == o.throughput_gbps.size
    assert float(rows[-1].split()[-1]) == pytest.approx(1.0, abs=1e-3)
    assert main(["outcomes", "--flows", "0"]) == 2
    assert capsys.readouterr().err.startswith("queuemodel: error: workload.flows = 0")


def test_a_mean_of_runs_is_the_binomial_for_two_outcomes():
    # Two placements equally likely, delivering 10 and 20: the mean of four runs is
    # 10 + 10 k / 4 with chance C(4, k) / 16.
    coin = qm.Outcomes(path="p", proto="tcp", flows=2, throughput_gbps=np.array([10.0, 20.0]),
                       probability=np.array([0.5, 0.5]), draws=2)
    four = coin.mean_of_runs(4)
    assert four.throughput_gbps.tolist() == [10.0, 12.5, 15.0, 17.5, 20.0]
    assert four.probability == pytest.approx([math.comb(4, k) / 16 for k in range(5)], abs=1e-15)


@pytest.mark.parametrize("runs", [1, 2, 5])
def test_a_mean_of_runs_keeps_the_mean_and_divides_the_variance(runs):
    one = qm.outcomes(path="docker-overlay", proto="udp", flows=6)
    many = one.mean_of_runs(runs)
    assert many.probability.sum() == pytest.approx(1.0, rel=1e-12)
    assert np.all(np.diff(many.throughput_gbps) > 0)
    assert many.mean_gbps == pytest.approx(one.mean_gbps, rel=1e-12)

    def var(o):
        return o.probability @ (o.throughput_gbps - o.mean_gbps) ** 2

    assert var(many) == pytest.approx(var(one) / runs, rel=1e-9)
    assert many.throughput_gbps[0] == pytest.approx(one.throughput_gbps[0], rel=1e-12)
    assert many.throughput_gbps[-1] == pytest.approx(one.throughput_gbps[-1], rel=1e-12)
    for bad in (0, 1001, 2.5, True):
        with pytest.raises(ModelInputError, match=r"^runs = "):
            one.mean_of_runs(bad)


@given(st.lists(st.tuples(st.floats(0.0, 100.0), st.integers(1, 50)), min_size=1, max_size=8,
                unique_by=lambda t: t[0]),
       st.integers(1, 6))
def test_a_mean_of_runs_obeys_the_laws_of_averages(points, runs):
    # Any distribution: the n-run mean keeps the mean, divides the variance by n, stays
    # within the least and greatest outcome, and its probabilities sum to one.
    values = np.array(sorted(v for v, _ in points))
    weights = np.array([w for _, w in sorted(points)], dtype=float)
    one = qm.Outcomes(path="p", proto="udp", flows=2, throughput_gbps=values,
                      probability=weights / weights.sum(), draws=int(weights.sum()))
    many = one.mean_of_runs(runs)
    assert many.probability.sum() == pytest.approx(1.0, rel=1e-12)
    assert np.all(many.probability > 0) and np.all(np.diff(many.throughput_gbps) > 0)
    assert many.mean_gbps == pytest.approx(one.mean_gbps, rel=1e-9, abs=1e-9)
    var_one = one.probability @ (one.throughput_gbps - one.mean_gbps) ** 2
    var_many = many.probability @ (many.throughput_gbps - many.mean_gbps) ** 2
    assert var_many == pytest.approx(var_one / runs, rel=1e-6, abs=1e-9)
    assert values[0] * (1 - 1e-12) <= many.throughput_gbps[0]
    assert many.throughput_gbps[-1] <= values[-1] * (1 + 1e-12) + 1e-12
