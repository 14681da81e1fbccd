"""Bad input: a clear ModelInputError naming field, value and range; the CLI exits 2."""

import dataclasses
import math
import re
import subprocess
import sys

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import queuemodel as qm
from queuemodel.cli import main
from queuemodel.errors import ModelInputError, QueueModelError, UnknownNameError
from queuemodel.host import Host

NUMERIC_HOST_FIELDS = [f.name for f in dataclasses.fields(Host) if f.metadata.get("kind") == "number"]
FLAG_HOST_FIELDS = [f.name for f in dataclasses.fields(Host) if f.metadata.get("kind") == "flag"]


def test_error_is_a_valueerror_and_names_everything():
    with pytest.raises(ValueError) as info:
        qm.predict(flows=0)
    err = info.value
    assert isinstance(err, ModelInputError) and isinstance(err, QueueModelError)
    assert str(err) == "workload.flows = 0: must be an integer with 1 <= x <= 100000"


@pytest.mark.parametrize("field", NUMERIC_HOST_FIELDS)
@pytest.mark.parametrize("bad", [math.nan, math.inf, -1.0, "fast"])
def test_every_numeric_host_field_rejects_bad_values(field, bad):
    with pytest.raises(ModelInputError, match=rf"^host\.{field} = "):
        qm.predict(**{field: bad})


@pytest.mark.parametrize("field", NUMERIC_HOST_FIELDS)
def test_a_plain_number_at_a_fields_bounds_is_held_to_them(field):
    # Each numeric field's declared range, at its edges, given as plain floats (which the
    # checks pass without building an array): a closed bound is accepted and kept, an
    # open one refused, and an integer field refuses a value half-way between two.
    from queuemodel.hosts import with_overrides

    meta = next(f.metadata for f in dataclasses.fields(Host) if f.name == field)
    low, high = meta.get("low", -math.inf), meta.get("high", math.inf)
    base = qm.paper_testbed()
    for edge in (low, high):
        if not math.isfinite(edge):
            continue
        if edge == low and meta.get("low_open"):
            with pytest.raises(ModelInputError, match=rf"^host\.{field} = "):
                with_overrides(base, {field: float(edge)})
            continue
        try:
            host = with_overrides(base, {field: float(edge)})
        except ModelInputError as err:      # a rule between two fields, not this range
            assert re.search(r"must be >= [a-z_]+ \(", str(err)), str(err)
        else:
            assert getattr(host, field) == float(edge)
    if meta.get("integer"):
        half = math.floor(max(low, 0.0)) + 0.5
        with pytest.raises(ModelInputError, match=rf"^host\.{field} = {half!r}: must be an "
                                                  r"integer"):
            with_overrides(base, {field: half})


@pytest.mark.parametrize("field", FLAG_HOST_FIELDS)
def test_every_flag_rejects_non_booleans(field):
    with pytest.raises(ModelInputError, match=rf"^host\.{field} = 'maybe': must be a boolean"):
        qm.predict(**{field: "maybe"})


@pytest.mark.parametrize("value, meaning", [(0, False), (1.0, True), ("no", False),
                                            ("Yes", True), (" off ", False), ("1", True)])
def test_a_flag_takes_the_usual_spellings(value, meaning):
    # The CLI's `--set tso=0` arrives as the number 0.0.
    assert qm.predict(tso=value).inputs["host"] == qm.predict(tso=meaning).inputs["host"]
    assert qm.predict(tso=value).throughput_gbps == qm.predict(tso=meaning).throughput_gbps
    assert dataclasses.replace(qm.paper_testbed(), tso=value).tso is meaning


@pytest.mark.parametrize("value", [2, 0.5, -1, "maybe", "tru"])
def test_a_flag_refuses_anything_else(value):
    with pytest.raises(ModelInputError, match=r"^host\.tso = .*: must be a boolean"):
        qm.predict(tso=value)


@pytest.mark.parametrize("kwargs, pattern", [
    (dict(path="macvlan"), r"^path = 'macvlan': must be one of native, linux-overlay"),
    (dict(proto="sctp"), r"^workload.proto = 'sctp': must be one of tcp, udp"),
    (dict(flows=1.5), r"^workload.flows = 1.5: must be an integer"),
    (dict(flows=0), r"^workload.flows = 0:"),
    (dict(msg_bytes=0), r"^workload.msg_bytes = 0:"),
    (dict(proto="udp", msg_bytes=65508), r"65507 \(UDP: one IPv4 datagram\)"),
    (dict(mtu=575), r"^host.mtu = 575: must be an integer with 576 <= x <= 9216"),
    (dict(mtu=9217), r"^host.mtu = 9217:"),
    (dict(ghz=0), r"^host.ghz = 0: must be a finite number with 0.001 <= x <= 20"),
    (dict(ghz=5e-324), r"^host.ghz = 5e-324: must be a finite number with 0.001 <= x"),
    (dict(link_gbps=-40), r"^host.link_gbps = -40:"),
    (dict(offered_gbps=0), r"^workload.offered_gbps = 0:"),
    (dict(offered_gbps=math.nan), r"^workload.offered_gbps = nan:"),
    (dict(napi_weight=0), r"^host.napi_weight = 0:"),
    (dict(irq_moderation_frames=0), r"^host.irq_moderation_frames = 0:"),
    (dict(irq_moderation_usecs=-1), r"^host.irq_moderation_usecs = -1:"),
    (dict(nosuchfield=1), r"^field = 'nosuchfield': must be a host field"),
    (dict(msg_bytes=np.array([1024, 0])), r"^workload.msg_bytes = 0.0 \(an element of the array\)"),
    (dict(adaptive_rate_low_pps=5e5),
     r"^host.adaptive_rate_high_pps = 450000.0: must be >= adaptive_rate_low_pps \(500000.0\)$"),
    # A grid that breaks an ordering names the first pair, not the whole array.
    (dict(adaptive_usecs_low=np.r_[np.zeros(500), 200.0]),
     r"^host.adaptive_usecs_high = 128.0 \(an element of the array\): must be >= "
     r"adaptive_usecs_low \(200.0 there\)$"),
    (dict(flows=np.array([1, 2]), ghz=np.array([2.0, 2.5, 3.0])),
     r"^array inputs = \[\(2,\), \(3,\)\]: must be shapes that broadcast together"),
    (dict(msg_bytes=np.array([], dtype=int)), r"^array inputs = \[\(0,\)\]: must be at least one"),
    (dict(ghz=np.ones((3, 0))), r"^array inputs = \[\(3, 0\)\]: must be at least one"),
])
def test_documented_errors(kwargs, pattern):
    with pytest.raises(ModelInputError, match=pattern):
        qm.predict(**kwargs)


def test_unknown_names_are_their_own_subclass():
    with pytest.raises(UnknownNameError):
        qm.predict(path="nope")


@given(st.sampled_from(NUMERIC_HOST_FIELDS),
       st.one_of(st.just(math.nan), st.just(-math.inf), st.floats(-1e9, -1e-9)))
def test_bad_values_change_nothing(field, bad):
    before = qm.predict(path="docker-overlay", proto="udp").to_dict()
    with pytest.raises(ModelInputError):
        qm.predict(path="docker-overlay", proto="udp", **{field: bad})
    assert qm.predict(path="docker-overlay", proto="udp").to_dict() == before


@pytest.mark.parametrize("bad", [
    dict(cost_cycles_per_unit=-1.0),
    dict(cost_cycles_per_byte=math.nan),
    dict(cost_cycles_per_unit=math.inf),
    dict(context="kernel"),
    dict(unit="segment"),
    dict(batching="lro"),
    dict(protocols=("sctp",)),
    dict(offloaded_by="magic"),
    dict(orphans_skb="sometimes"),                    # a bool or a host flag that decides
    dict(orphans_skb="tso"),                          # a flag, but not one of those
    dict(orphans_skb=2),
    dict(cost_cycles_per_invocation=10.0),            # only poll stages have invocations
])
def test_bad_stages(bad):
    fields = dict(name="x", context="softirq", unit="packet") | bad
    with pytest.raises(ModelInputError, match=r"^stage\['x'\]\."):
        qm.Stage(**fields)


def test_bad_paths():
    stage = qm.Stage(name="x", context="softirq", unit="packet")
    with pytest.raises(ModelInputError, match="unique"):
        qm.Path(name="p", tx=(stage,), rx=(stage, stage))
    with pytest.raises(ModelInputError, match="batching"):
        qm.Path(name="p", tx=(dataclasses.replace(stage, batching="gro"),), rx=(stage,))
    with pytest.raises(ModelInputError, match="non-empty tuple of Stage"):
        qm.Path(name="p", tx=(), rx=(stage,))
    with pytest.raises(ModelInputError, match=r"path\['p'\]\.tunnel.*'gre'.*none, udp"):
        qm.Path(name="p", tx=(stage,), rx=(stage,), tunnel="gre")
    with pytest.raises(ModelInputError, match=r"flow_addresses.*'own'.*shared, per-flow"):
        qm.Path(name="p", tx=(stage,), rx=(stage,), flow_addresses="own")


@pytest.mark.parametrize("argv", [
    ["predict", "--path", "bogus"],
    ["predict", "--flows", "0"],
    ["predict", "--flows", "two"],
    ["predict", "--proto", "udp", "--msg-bytes", "70000"],
    ["predict", "--set", "mtu=100"],
    ["predict", "--set", "nosuch=1"],
    ["predict", "--set", "ghz"],
    ["predict", "--host", "/nonexistent.toml"],
    ["frobnicate"],
])
def test_cli_bad_input_one_line_exit_2(argv, capsys):
    assert main(argv) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert err.count("\n") == 1 and err.startswith("queuemodel")


@pytest.mark.parametrize("argv, option", [(["predict", "--set", "ghz"], "--set"),
                                          (["whatif", "--change", "ghz"], "--change"),
                                          (["sweep", "--vary", "ghz"], "--vary")])
def test_cli_names_the_option_a_pair_came_from(argv, option, capsys):
    assert main(argv) == 2
    assert capsys.readouterr().err == f"queuemodel: error: {option} = 'ghz': must be FIELD=VALUE\n"


def test_cli_as_a_process_has_no_traceback():
    proc = subprocess.run([sys.executable, "-m", "queuemodel", "predict", "--set", "ghz=nan"],
                          capture_output=True, text=True)
    assert proc.returncode == 2
    assert proc.stderr.strip() == ("queuemodel: error: host.ghz = nan: must be a finite number "
                                   "with 0.001 <= x <= 20")
    assert "Traceback" not in proc.stderr


@pytest.mark.parametrize("value", [math.nan, -1.0, math.inf])
@pytest.mark.parametrize("as_array", [False, True])
def test_the_last_guard_refuses_a_nan_negative_or_infinite_output(value, as_array):
    # model._check_finite, the guard every Result passes before it leaves predict(); a
    # scalar query takes a path of its own there (plain float comparisons).
    from queuemodel import model
    from queuemodel.errors import QueueModelError

    r = qm.predict(path="docker-overlay", proto="tcp")
    bad = np.array([1.0, value]) if as_array else value
    with pytest.raises(QueueModelError, match="throughput_gbps"):
        model._check_finite(dataclasses.replace(r, throughput_gbps=bad))
    # A latency may be infinite (an unstable queue), never NaN or negative.
    latency = dataclasses.replace(r, latency_mean_us=bad)
    if value == math.inf:
        model._check_finite(latency)
    else:
        with pytest.raises(QueueModelError, match="latency_mean_us"):
            model._check_finite(latency)
