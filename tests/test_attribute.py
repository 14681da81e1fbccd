"""attribute(): an output split among the contention mechanisms by Shapley values.

The laws of a Shapley split (efficiency, the null player, symmetry in the
order given) and a two-mechanism split worked out from four predictions.
"""

import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import queuemodel as qm
from queuemodel.attribute import CONTENTION, MAX_MECHANISMS, Mechanism, attribute
from queuemodel.cli import main
from queuemodel.errors import ModelInputError, UnknownNameError
from queuemodel.paths import ALL_PATH_NAMES


@settings(max_examples=15)
@given(path=st.sampled_from(ALL_PATH_NAMES), proto=st.sampled_from(["tcp", "udp"]),
       flows=st.sampled_from([1, 2, 6, 20, 80]),
       output=st.sampled_from(["throughput_gbps", "receiver_cpu_total",
                               "context_switch_rate_per_s", "memory_bandwidth_gbytes_per_s"]))
def test_the_shares_add_up_to_the_change(path, proto, flows, output):
    scenario = {"path": path, "proto": proto, "flows": flows}
    a = attribute(scenario, output=output)
    assert a.full == pytest.approx(float(getattr(qm.predict(**scenario), output)), rel=1e-12)
    everything_off = dict(scenario)
    for m in CONTENTION:
        everything_off.update(m.off)
    assert a.base == pytest.approx(float(getattr(qm.predict(**everything_off), output)),
                                   rel=1e-12)
    assert sum(v for _, v in a.shares) == pytest.approx(a.full - a.base, rel=1e-9, abs=1e-9)


def test_a_mechanism_that_changes_nothing_gets_nothing():
    # One flow shares no queue: how flows hash and interleave cannot matter, and a CPU at
    # capacity wakes no one.  Its own copy still streams through the cache: past the
    # DDIO share (DRAM reads) and through its core's L2 (its socket state's misses).
    a = attribute({"path": "docker-overlay", "proto": "tcp"})
    shares = dict(a.shares)
    assert shares["uneven hashing"] == 0.0
    assert shares["interleaved flows"] == 0.0
    assert shares["reader wake-ups"] == 0.0
    assert shares["copy's DRAM reads"] + shares["flow state in L2"] == pytest.approx(
        a.full - a.base, rel=1e-12)
    assert shares["copy's DRAM reads"] < 0.0 and shares["flow state in L2"] < 0.0


def test_two_mechanisms_by_hand():
    # phi_1 = ((v1 - v0) + (v12 - v2)) / 2: the change switching mechanism 1 on makes,
    # averaged over the two orders.
    scenario = {"path": "native", "proto": "tcp", "flows": 80}
    wake, interleave = CONTENTION[3], CONTENTION[2]

    def v(*on):
        changed = dict(scenario)
        for m in (wake, interleave):
            if m not in on:
                changed.update(m.off)
        return qm.predict(**changed).receiver_cpu_total

    a = attribute(scenario, output="receiver_cpu_total", mechanisms=(wake, interleave))
    shares = dict(a.shares)
    assert shares[wake.name] == pytest.approx(
        ((v(wake) - v()) + (v(wake, interleave) - v(interleave))) / 2, rel=1e-12)
    assert shares[interleave.name] == pytest.approx(
        ((v(interleave) - v()) + (v(wake, interleave) - v(wake))) / 2, rel=1e-12)
    # The two interact: each does more with the other on (more segments wake more).
    assert v(wake, interleave) - v(interleave) > v(wake) - v()
    # No order is favoured: reversed, the same split.
    back = dict(attribute(scenario, output="receiver_cpu_total",
                          mechanisms=(interleave, wake)).shares)
    assert back == pytest.approx(shares, rel=1e-12)


def test_a_scenario_that_already_switches_one_off():
    # Steered flows: switching "uneven hashing" off changes nothing, so it gets nothing.
    a = attribute({"path": "docker-overlay", "proto": "tcp", "flows": 6,
                   "flow_steering": True})
    assert dict(a.shares)["uneven hashing"] == 0.0


def test_bad_requests_are_refused():
    with pytest.raises(UnknownNameError, match=r"^output = 'bottleneck'"):
        attribute(output="bottleneck")
    with pytest.raises(ModelInputError, match=r"^scenario = "):
        attribute({"flows": np.array([1, 2])})
    with pytest.raises(ModelInputError, match=r"^mechanisms = "):
        attribute(mechanisms=())
    many = tuple(Mechanism(f"m{i}", {"smt_gain": 1.0}) for i in range(MAX_MECHANISMS + 1))
    with pytest.raises(ModelInputError, match=r"^mechanisms = 11"):
        attribute(mechanisms=many)
    with pytest.raises(ModelInputError, match=r"distinct names"):
        attribute(mechanisms=(CONTENTION[0], CONTENTION[0]))
    with pytest.raises(ModelInputError, match=r"^host\.smt_gain = "):
        attribute(mechanisms=(Mechanism("bad", {"smt_gain": -1.0}),))
    # An offered load no CPU carries: its queue grows without bound, latency infinite.
    with pytest.raises(ModelInputError, match=r"^output = 'latency_mean_us'"):
        attribute({"path": "docker-overlay", "proto": "udp", "offered_gbps": 9.0},
                  output="latency_mean_us")


def test_cli_attribute(capsys):
    assert main(["attribute", "--path", "docker-overlay", "--flows", "6", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert set(out["shares"]) == {m.name for m in CONTENTION}
    assert sum(out["shares"].values()) == pytest.approx(out["full"] - out["base"], abs=1e-9)
    assert main(["attribute", "--flows", "6"]) == 0
    assert "uneven hashing" in capsys.readouterr().out
    assert main(["attribute", "--output", "nosuch"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("queuemodel: error: output = 'nosuch'")
