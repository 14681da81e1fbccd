"""Idle states: a reader's CPU that sleeps long enough wakes from a deeper state, later.

Mechanism (queuemodel.solver.idle_exit_moments, wakeups_per_message; Host.idle_states_us):
the CPU idles an exponential time of mean g, the wake-up law's wait, and wakes from the
deepest state whose target residency that reaches, paying its exit latency on top of
``wake_latency_us``.  The sleeps count it as idle time; a message whose last delivery
finds its reader asleep waits for it (the latency's ``rx:wake-up`` part).
"""

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import queuemodel as qm
from queuemodel.errors import ModelInputError
from queuemodel.paths import ALL_PATH_NAMES
from queuemodel.solver import (idle_exit_moments, steady_exit_mix, steady_idle_exit,
                               wakeups_per_message)


@st.composite
def tables(draw, min_size=1):
    """An idle-state table in seconds: residencies strictly rising, exits never falling."""
    k = draw(st.integers(min_size, 5))
    gaps = draw(st.lists(st.floats(1e-7, 1e-3), min_size=k, max_size=k))
    steps = draw(st.lists(st.floats(0.0, 2e-4), min_size=k, max_size=k))
    return np.cumsum(gaps), np.cumsum(steps)


@given(tables(), st.floats(0.0, 10.0), st.floats(1.0001, 10.0))
def test_the_exit_latency_lies_between_none_and_the_deepest_and_grows_with_the_idle(
        table, wait, longer):
    # (Waits down to 0 and subnormal ones too: no warning, no NaN.)
    # Bounds: no state (0) to the deepest state's exit; the mean square at least the
    # square of the mean (Jensen) and at most the deepest's square; a longer idle never
    # reaches a shallower state on average.
    residency, exits = table
    mean, square = (float(x) for x in idle_exit_moments(wait, residency, exits))
    later, _ = idle_exit_moments(wait * longer, residency, exits)
    deepest = float(exits[-1])
    assert 0.0 <= mean <= deepest * (1 + 1e-12)
    assert mean * mean * (1 - 1e-9) <= square <= deepest * deepest * (1 + 1e-12)
    assert float(later) >= mean * (1 - 1e-12)


@given(tables())
def test_no_idle_is_no_exit_and_an_endless_idle_the_deepest(table):
    residency, exits = table
    assert idle_exit_moments(0.0, residency, exits)[0] == 0.0
    assert idle_exit_moments(np.inf, residency, exits)[0] == pytest.approx(exits[-1])
    assert idle_exit_moments(np.inf, residency, exits)[1] == pytest.approx(exits[-1] ** 2)


@given(tables(), st.floats(0.0, 5e-3), st.floats(0.0, 5e-3))
def test_a_steady_idle_reaches_the_deepest_state_that_fits_and_more_room_never_less(
        table, room, more):
    # By the definition, state by state: the deepest whose residency and exit both fit.
    residency, exits = table
    fits = [e for r, e in zip(residency, exits) if r + e <= room]
    exit_s = float(steady_idle_exit(room, residency, exits))
    assert exit_s == (fits[-1] if fits else 0.0)
    assert float(steady_idle_exit(room + more, residency, exits)) >= exit_s


@given(tables(), st.floats(1e-7, 1e-2), st.floats(-1e-3, 1e-2), st.floats(0.0, 3.0))
def test_between_the_paces_the_exit_latency_mixes_the_two(table, wait, room, scv):
    residency, exits = table
    mean, square = (float(x) for x in steady_exit_mix(wait, room, scv, residency, exits))
    random, _ = idle_exit_moments(wait, residency, exits)
    paced = float(steady_idle_exit(room, residency, exits))
    share = min(scv, 1.0)
    assert mean == pytest.approx(share * float(random) + (1 - share) * paced, abs=1e-15)
    assert mean * mean <= square * (1 + 1e-9) + 1e-24


def test_one_state_by_hand():
    # C6 of Broadwell's intel_idle table (400 us residency, 133 us exit) after an idle of
    # mean 1 ms: reached with chance exp(-0.4) = 0.670, so 89.2 us on average.
    mean, square = idle_exit_moments(1e-3, [400e-6], [133e-6])
    assert float(mean) == pytest.approx(133e-6 * math.exp(-0.4), rel=1e-12)
    assert float(square) == pytest.approx(133e-6 ** 2 * math.exp(-0.4), rel=1e-12)


@given(st.floats(1e3, 1e6), st.floats(0.0, 0.95), tables(), st.floats(0.0, 2.0))
def test_deeper_idle_states_never_make_a_reader_sleep_more_often(rate, busy, table, scv):
    # At the same load, a sleep that ends later leaves the reader's CPU idle longer per
    # sleep, so it fits fewer sleeps into the same idle time.
    residency, exits = table
    other = busy * 2.2e9 / rate
    args = (rate, 1.0, other, 6600.0, 2.2e9)
    plain = wakeups_per_message(*args, latency_s=2.5e-6, arrival_scv=scv)
    deep = wakeups_per_message(*args, latency_s=2.5e-6, arrival_scv=scv,
                               idle_residency_s=residency, idle_exit_s=exits)
    assert 0.0 <= float(deep) <= float(plain) * (1 + 1e-12)


@given(path=st.sampled_from(ALL_PATH_NAMES), proto=st.sampled_from(["tcp", "udp"]),
       flows=st.integers(1, 40), msg=st.sampled_from([64, 1024, 8192, 65507]),
       offered=st.sampled_from([0.01, 0.5, 5.0, np.inf]), app=st.booleans())
def test_idle_states_move_no_throughput_only_cpu_and_latency(path, proto, flows, msg, offered,
                                                             app):
    # A CPU at its capacity never sleeps, so how deeply an idle one sleeps never changes
    # what the binding CPU sustains: the throughput is the same with and without idle
    # states, and only the CPUs below capacity and the latency see them.
    sc = dict(path=path, proto=proto, flows=flows, msg_bytes=msg, offered_gbps=offered,
              app_on_softirq_core=app)
    deep, polling = qm.predict(**sc), qm.predict(**sc, idle_states_us=())
    assert deep.throughput_gbps == pytest.approx(polling.throughput_gbps, rel=1e-9)
    assert deep.latency_parts_us["rx:wake-up"] >= polling.latency_parts_us["rx:wake-up"] \
        * (1 - 1e-9) or not deep.queue_stable


def test_a_lightly_loaded_reader_waits_for_the_deepest_state_it_reaches():
    # One Docker UDP flow of 8 KB datagrams: at 0.1 Gb/s (1,500 a second) the reader's
    # CPU idles ~650 us between them and mostly reaches C6; at 1 Gb/s (~65 us) C1E and
    # some C3; at 3 Gb/s it hardly sleeps.  The wake-up's share of the latency falls with
    # the load, from most of it to almost none.
    parts = [qm.predict(path="docker-overlay", proto="udp", offered_gbps=load
                        ).latency_parts_us["rx:wake-up"] for load in (0.1, 1.0, 3.0)]
    assert 50.0 < parts[0] < 135.5
    assert 2.5 < parts[1] < 30.0
    assert parts[2] < 2.5
    assert parts[0] > parts[1] > parts[2]


@pytest.mark.parametrize("text", ["1:2:3", "20:5,10:8", "20:5,40:4", "nan:1", "-1:0",
                                  "inf:2", "x"])
def test_a_bad_table_names_the_field_and_changes_nothing(text, capsys):
    from queuemodel.cli import main

    with pytest.raises(ModelInputError, match="host.idle_states_us"):
        qm.predict(idle_states_us=text)
    assert main(["predict", "--path", "native", "--proto", "tcp", "--set",
                 f"idle_states_us={text}"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "host.idle_states_us" in err[0]
    assert qm.paper_testbed().idle_states_us == ((2.0, 2.0), (20.0, 10.0), (100.0, 40.0),
                                                 (400.0, 133.0))


def test_the_command_line_and_a_profile_take_a_table(tmp_path):
    from queuemodel.hosts import host_to_toml, load_host

    host = qm.hosts.with_overrides(qm.paper_testbed(), {"idle_states_us": "200:14,1000:155"})
    assert host.idle_states_us == ((200.0, 14.0), (1000.0, 155.0))
    path = tmp_path / "vm.toml"
    path.write_text(host_to_toml(host))
    assert load_host(path) == host
    assert qm.hosts.with_overrides(host, {"idle_states_us": "none"}).idle_states_us == ()


def test_levers_offer_a_cpu_that_polls_and_it_moves_only_what_sleeps():
    # queuemodel.levers tries idle_states_us=() (idle=poll) as a step: at a light load it
    # is the lever that lowers the latency most; it never moves a throughput; with no
    # states to take away there is no lever.  (Moving the reader to a core of its own
    # raises the latency more: then two CPUs leave idle for each message.)
    light = {"path": "docker-overlay", "proto": "udp", "offered_gbps": 0.1}
    rows = {r.name: r for r in qm.levers(light, output="latency_mean_us").rows}
    lever = rows["idle_states_us"]
    assert (lever.kind, lever.changed) == ("step", ())
    assert lever.effect < -0.5 and lever.effect == min(r.effect for r in rows.values()
                                                       if r.effect is not None)
    assert rows["app_on_softirq_core"].effect > 0.5
    busy = {r.name: r for r in qm.levers({"path": "native", "proto": "tcp"}).rows}
    assert busy["idle_states_us"].effect == 0.0
    polling = {r.name for r in qm.levers({**light, "idle_states_us": ()}).rows}
    assert "idle_states_us" not in polling


# ------------------------------------------------ a flow core of its own also sleeps

OWN_CORE = {"path": "docker-overlay", "proto": "udp", "msg_bytes": 8192,
            "app_on_softirq_core": False}


def _gbps(per_s):
    return per_s * 8192 * 8 / 1e9


def test_a_flow_core_of_its_own_waits_out_its_idle_exit_worked_by_hand():
    # 100 datagrams a second at random: the flow core idles 10 ms on average (an M/G/1
    # idle period, 1 / rate) and an arrival finds it idle unless busy (~0.1 %).  The
    # paper's table (C1 2/2, C1E 20/10, C3 100/40, C6 400/133 us) gives
    # X = 2 e^-0.0002 + 8 e^-0.002 + 30 e^-0.01 + 93 e^-0.04 = 129.0 us.
    r = qm.predict(**OWN_CORE, offered_gbps=_gbps(100.0))
    states = qm.paper_testbed().idle_states_us
    exits = [e for _, e in states]
    steps = np.diff([0.0] + exits)
    by_hand = sum(step * math.exp(-res / 10_000.0) for step, (res, _) in zip(steps, states))
    assert by_hand == pytest.approx(129.0, abs=0.05)
    assert r.latency_parts_us["rx:irq-wake-up"] == pytest.approx(by_hand, rel=0.003)
    assert r.latency_parts_us["rx:irq-wake-up"] < by_hand
    # Paced at 1,000 a second every message finds the core idle the rest of its 1 ms gap,
    # long enough for C6 (400 + 133 us): 133 us each.
    paced = qm.predict(**OWN_CORE, offered_gbps=_gbps(1000.0), arrival_scv=0.0)
    assert paced.latency_parts_us["rx:irq-wake-up"] == pytest.approx(133.0, rel=1e-9)
    # Paced at a gap too short for C6 but long enough for C3 (100 + 40 us): 40 us.
    c3 = qm.predict(**OWN_CORE, offered_gbps=_gbps(5000.0), arrival_scv=0.0)
    assert c3.latency_parts_us["rx:irq-wake-up"] == pytest.approx(40.0, rel=1e-9)


def test_the_flow_cores_wake_up_is_there_only_where_it_sleeps():
    light = {**OWN_CORE, "offered_gbps": _gbps(1000.0)}
    # A reader on the flow core: the one CPU's exit is the reader's wake-up's (no station).
    assert "rx:irq-wake-up" not in qm.predict(**{**light, "app_on_softirq_core": True}
                                              ).latency_parts_us
    # A CPU that polls, or a flow core that is the sender's (one kernel over a veth):
    # nothing to wait for.
    for host in ({"idle_states_us": ()}, {"sender_on_receive_cpu": True, "veth_link": True}):
        assert qm.predict(**light, **host).latency_parts_us["rx:irq-wake-up"] == 0.0
    # It adds to the latency exactly what it waits, the throughput unmoved.
    polling = qm.predict(**light, idle_states_us=())
    sleeping = qm.predict(**light)
    assert sleeping.throughput_gbps == polling.throughput_gbps
    assert sleeping.latency_mean_us > polling.latency_mean_us


def test_the_flow_cores_wake_up_never_grows_with_its_load():
    # Busier, it idles less often and for shorter times (shallower states).
    cap = qm.predict(**OWN_CORE).throughput_gbps
    r = qm.predict(**OWN_CORE, offered_gbps=cap * np.linspace(0.001, 0.95, 60))
    part = np.asarray(r.latency_parts_us["rx:irq-wake-up"])
    assert np.all(np.diff(part) <= 1e-9) and part[-1] < 0.2 * part[0]
