"""Paths as files: a path written as TOML reads back equal, predicts the same, and a bad
file names the offending key; every command that takes --path takes a file."""

import dataclasses
import json
import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

import queuemodel as qm
from queuemodel.cli import main
from queuemodel.errors import ModelInputError, UnknownNameError
from queuemodel.paths import MORE_PATHS, load_path, load_path_text, over_veth, path_to_toml
from queuemodel.stage import BATCHINGS, CONTEXTS, ORPHAN_FLAGS

KNOWN = list(qm.PATHS.values()) + list(MORE_PATHS.values())
BUILT_IN = KNOWN + [over_veth(p) for p in KNOWN]


def _macvlan():
    # The README's macvlan-like path, built in Python.
    native = qm.get_path("native")
    macvlan_rx = qm.Stage(name="macvlan_rx", context="softirq", unit="packet",
                          cost_cycles_per_unit=300.0, source="my estimate")
    return dataclasses.replace(native, name="macvlan", flow_addresses="per-flow",
                               rx=native.rx[:4] + (macvlan_rx,) + native.rx[4:])


@pytest.mark.parametrize("path", BUILT_IN, ids=lambda p: p.name + ("/veth" if "veth" in
                                                                    p.description else ""))
def test_every_built_in_path_reads_back_equal(path):
    assert load_path_text(path_to_toml(path)) == path


def _stages(side):
    units = ("packet", "wire_packet", "message") + (("interrupt",) if side == "rx" else ())
    allowed = ({"none", "gro", "tunnel_gro", "reassemble"} if side == "rx"
               else {"none", "gso", "tunnel_gso", "fragment"})
    cost = st.floats(0.0, 1e6, allow_nan=False, allow_infinity=False)

    @st.composite
    def stage(draw, i):
        unit = draw(st.sampled_from(units))
        context = "hardirq" if unit == "interrupt" else draw(st.sampled_from(CONTEXTS))
        poll = context == "softirq" and draw(st.booleans())
        return qm.Stage(
            name=f"{side}{i}", context=context, unit=unit,
            cost_cycles_per_unit=draw(cost), cost_cycles_per_byte=draw(cost),
            cost_cycles_per_invocation=draw(cost) if poll else 0.0, poll=poll,
            cache_misses_per_unit=draw(cost), flow_state_lines=draw(cost),
            batching=draw(st.sampled_from(sorted(b for b in BATCHINGS if b in allowed))),
            orphans_skb=draw(st.sampled_from((False, True) + ORPHAN_FLAGS)),
            reads_received_bytes=draw(st.booleans()),
            protocols=draw(st.sampled_from((("tcp", "udp"), ("tcp",), ("udp",)))),
            offloaded_by=draw(st.sampled_from(("", "rx_csum", "tso", "tunnel_offload"))),
            source=draw(st.text(max_size=30)))

    return st.integers(1, 4).flatmap(lambda n: st.tuples(*(stage(i) for i in range(n))))


@given(tx=_stages("tx"), rx=_stages("rx"), encap=st.integers(0, 256),
       tunnel=st.sampled_from(("none", "udp")),
       addresses=st.sampled_from(("shared", "per-flow")), name=st.text(min_size=1, max_size=20))
def test_any_path_reads_back_equal(tx, rx, encap, tunnel, addresses, name):
    # Law: writing a path and reading it back is the identity, whatever its stages hold
    # (costs to the last bit, any text in a source or a name).
    path = qm.Path(name=name, tx=tx, rx=rx, encap_bytes=encap, tunnel=tunnel,
                   flow_addresses=addresses, description="drawn")
    assert load_path_text(path_to_toml(path)) == path


def test_a_path_file_predicts_what_the_same_path_in_python_does(tmp_path):
    file = tmp_path / "macvlan.toml"
    file.write_text(path_to_toml(_macvlan()))
    for proto, flows in (("tcp", 1), ("udp", 8)):
        from_file = qm.predict(path=load_path(file), proto=proto, flows=flows)
        built = qm.predict(path=_macvlan(), proto=proto, flows=flows)
        assert from_file.to_dict() == built.to_dict()
    # ... and the stage it adds costs what it says: 300 cycles a packet more than native's
    # receive flow core pays, so one TCP flow goes no faster than native.
    assert (qm.predict(path=load_path(file), proto="tcp").throughput_gbps
            <= qm.predict(path="native", proto="tcp").throughput_gbps)


def test_a_hand_written_file_needs_only_name_context_and_unit():
    path = load_path_text("""
        name = "two-stage"
        [[tx]]
        name = "send"
        context = "syscall"
        unit = "message"
        cost_cycles_per_unit = 4000
        [[rx]]
        name = "recv"
        context = "softirq"
        unit = "packet"
        cost_cycles_per_unit = 22000
    """)
    assert path.rx[0].cost_cycles_per_unit == 22000.0 and path.rx[0].poll is False
    assert path.tunnel == "none" and path.encap_bytes == 0
    # A receiver paying 22,000 cycles a packet at 2.2 GHz (the sender 4000 a datagram):
    # 100,000 one-packet 8 KB datagrams a second, 6.55 Gb/s, at most (the model's own
    # terms, a softirq's entry and the reader's wake-ups, only add to the stage's cost).
    r = qm.predict(path=path, proto="udp", msg_bytes=8192, mtu=9000)
    assert 0.9 * 6.5536 <= r.throughput_gbps <= 6.5536 * (1 + 1e-9)
    assert r.bottleneck.startswith("receiver:") and r.bottleneck.endswith(":recv")


@pytest.mark.parametrize("text, field", [
    ('[path]\nname = "x"\ncolour = "red"\n[[path.tx]]\nname="a"\ncontext="user"\n'
     'unit="message"\n[[path.rx]]\nname="b"\ncontext="user"\nunit="message"\n', "path.colour"),
    ('name = "x"\n[[tx]]\nname="a"\ncontext="user"\nunit="message"\ncosts=3\n'
     '[[rx]]\nname="b"\ncontext="user"\nunit="message"\n', "path.tx[0].costs"),
])
def test_an_unknown_key_is_named(text, field):
    with pytest.raises(UnknownNameError, match=rf"^{field.replace('[', '.').replace(']', '.')}"):
        load_path_text(text)


@pytest.mark.parametrize("text, field", [
    ('name = "x"\n[[rx]]\nname="b"\ncontext="user"\nunit="message"\n', "path.tx"),
    ('name = "x"\ntx = []\n[[rx]]\nname="b"\ncontext="user"\nunit="message"\n', "path.tx"),
    ('name = "x"\n[[tx]]\nname="a"\nunit="message"\n[[rx]]\nname="b"\ncontext="user"\n'
     'unit="message"\n', "path.tx[0].context"),
    ('name = "x"\n[[tx]]\nname="a"\ncontext="user"\nunit="message"\n'
     'cost_cycles_per_unit=-1\n[[rx]]\nname="b"\ncontext="user"\nunit="message"\n',
     "stage['a'].cost_cycles_per_unit"),
    ('name = "x"\n[[tx]]\nname="a"\ncontext="kernel"\nunit="message"\n'
     '[[rx]]\nname="b"\ncontext="user"\nunit="message"\n', "stage['a'].context"),
    ('name = 3\n[[tx]]\nname="a"\ncontext="user"\nunit="message"\n'
     '[[rx]]\nname="b"\ncontext="user"\nunit="message"\n', "path.name"),
    ('name = "x" [', "path"),
])
def test_a_bad_file_names_its_field(text, field):
    with pytest.raises(ModelInputError) as info:
        load_path_text(text)
    assert info.value.field == field


def _cli(args, capsys):
    status = main(args)
    out = capsys.readouterr()
    return status, out.out, out.err


def test_cli_paths_lists_shows_and_writes_a_template(tmp_path, capsys):
    status, out, _ = _cli(["paths"], capsys)
    assert status == 0 and [line.split()[0] for line in out.splitlines()] == [p.name for p in
                                                                            KNOWN]
    status, out, _ = _cli(["paths", "docker-overlay"], capsys)
    rows = [line.split() for line in out.splitlines()[3:]]
    path = qm.get_path("docker-overlay")
    assert [(r[0], r[1]) for r in rows] == ([("tx", s.name) for s in path.tx]
                                           + [("rx", s.name) for s in path.rx])
    vxlan = next(r for r in rows if r[:2] == ["rx", "vxlan_rx"])
    assert float(vxlan[4]) == path.rx[4].cost_cycles_per_unit
    status, out, _ = _cli(["paths", "docker-overlay", "--toml"], capsys)
    assert status == 0 and load_path_text(out) == path


def test_every_path_option_takes_a_file(tmp_path, capsys):
    file = tmp_path / "macvlan.toml"
    file.write_text(path_to_toml(_macvlan()))
    status, out, _ = _cli(["predict", "--path", str(file), "--proto", "udp", "--flows", "8",
                           "--json"], capsys)
    want = qm.predict(path=_macvlan(), proto="udp", flows=8)
    assert status == 0 and json.loads(out)["throughput_gbps"] == want.throughput_gbps
    # A stage cost of the file's own stage, by name: dearer, never faster.
    status, out, _ = _cli(["predict", "--path", str(file), "--json",
                           "--set", "macvlan_rx.cost_cycles_per_unit=30000"], capsys)
    assert json.loads(out)["throughput_gbps"] < qm.predict(path=_macvlan(),
                                                            proto="tcp").throughput_gbps
    status, out, _ = _cli(["sweep", "--path", f"native,{file}", "--json"], capsys)
    assert [row["path"] for row in json.loads(out)] == ["native", "macvlan"]
    # A sweep over the file's own stage cost: it moves the file's path, not native.
    status, out, _ = _cli(["sweep", "--path", f"native,{file}", "--json",
                           "--vary", "macvlan_rx.cost_cycles_per_unit=300,30000"], capsys)
    rows = {(r["path"], r["macvlan_rx.cost_cycles_per_unit"]): r["throughput_gbps"]
            for r in json.loads(out)}
    assert rows[("native", 300.0)] == rows[("native", 30000.0)]
    assert rows[("macvlan", 30000.0)] < rows[("macvlan", 300.0)]
    for command in (["whatif", "--change", "ghz=3"], ["levers", "--top", "3"],
                    ["attribute", "--flows", "4"], ["outcomes", "--flows", "2"],
                    ["solve", "--target", "throughput_gbps>=20", "--free", "ghz"]):
        status, out, err = _cli(command + ["--path", str(file)], capsys)
        assert status == 0 and out and not err, command


@pytest.mark.parametrize("value, says", [
    ("nowhere.toml", "--path = 'nowhere.toml': must be a readable TOML file"),
    ("macvlan", "--path = 'macvlan': must be one of native, linux-overlay, docker-overlay, "
                "routed, or a path file FILE.toml"),
])
def test_cli_a_bad_path_is_one_line_and_status_2(value, says, capsys):
    status, out, err = _cli(["predict", "--path", value], capsys)
    assert status == 2 and not out
    assert err.count("\n") == 1 and err.startswith(f"queuemodel: error: {says}")


# ---------------------------------------------------------------- laws on a user's paths

COSTS = ("cost_cycles_per_unit", "cost_cycles_per_byte", "cache_misses_per_unit",
         "flow_state_lines")


def _some_of(stages):
    # A user's path made by leaving stages out of a built-in one (never none).
    return st.lists(st.booleans(), min_size=len(stages), max_size=len(stages)).map(
        lambda keep: tuple(s for s, k in zip(stages, keep) if k) or stages[-1:])


@st.composite
def user_paths(draw):
    tunnel = st.sampled_from(("none", "udp"))
    addresses = st.sampled_from(("shared", "per-flow"))
    if draw(st.booleans()):
        base = draw(st.sampled_from(BUILT_IN))
        tx, rx = draw(_some_of(base.tx)), draw(_some_of(base.rx))
    else:
        tx, rx = draw(_stages("tx")), draw(_stages("rx"))
    return qm.Path(name="drawn", tx=tx, rx=rx, encap_bytes=draw(st.integers(0, 256)),
                   tunnel=draw(tunnel), flow_addresses=draw(addresses))


@pytest.mark.filterwarnings("error::RuntimeWarning")
@given(path=user_paths(), proto=st.sampled_from(("tcp", "udp")), flows=st.integers(1, 40),
       msg=st.integers(1, 65507), offered=st.one_of(st.just(math.inf), st.floats(0.01, 100.0)),
       host=st.fixed_dictionaries({}, optional={
           "app_on_softirq_core": st.booleans(), "veth_link": st.booleans(),
           "sender_on_receive_cpu": st.booleans(), "tso": st.booleans(), "gro": st.booleans(),
           "rps": st.booleans(), "tunnel_offload": st.booleans(),
           "ring_cuts_fragments": st.booleans()}),
       side=st.sampled_from(("tx", "rx")), which=st.integers(0, 40), field=st.sampled_from(COSTS),
       factor=st.floats(1.0, 100.0))
def test_the_laws_hold_on_any_path_a_user_builds(path, proto, flows, msg, offered, host, side,
                                                 which, field, factor):
    # The solver takes a path as data: on a path of drawn stages, or a built-in one with
    # stages left out, the answer is finite, within the link, no core is more than full,
    # and a dearer stage never makes it faster.
    r = qm.predict(path=path, proto=proto, flows=flows, msg_bytes=msg, offered_gbps=offered,
                   **host)
    assert math.isfinite(r.throughput_gbps) and r.throughput_gbps > 0
    assert r.throughput_gbps <= r.link_goodput_gbps * (1 + 1e-9)
    assert all(-1e-12 <= u <= 1.0 + 1e-9 for u in r.core_utilisation.values())
    stages = list(getattr(path, side))
    i = which % len(stages)
    stages[i] = dataclasses.replace(stages[i], **{field: getattr(stages[i], field) * factor
                                                  + 1.0})
    dearer = qm.predict(path=dataclasses.replace(path, **{side: tuple(stages)}), proto=proto,
                        flows=flows, msg_bytes=msg, offered_gbps=offered, **host)
    assert dearer.throughput_gbps <= r.throughput_gbps * (1 + 1e-9)


def test_a_poll_outside_softirq_is_refused():
    # (found by the law above: a "poll" in process context reached no softirq run count)
    with pytest.raises(ModelInputError, match=r"^stage\['busy'\]\.poll = True: must be False "
                                              r"unless context='softirq'"):
        qm.Stage(name="busy", context="syscall", unit="packet", poll=True)
