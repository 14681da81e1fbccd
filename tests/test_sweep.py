"""sweep(): a full grid, one row per scenario, equal to the point predictions."""

import csv
import io
import json

import numpy as np
import pytest

import queuemodel as qm
from queuemodel.cli import main
from queuemodel.errors import ModelInputError
from queuemodel.sweep import parse_values, sweep


def test_grid_is_the_outer_product():
    t = sweep(path=["native", "linux-overlay"], proto=["tcp", "udp"], ghz=[2.0, 3.0, 4.0],
              link_gbps=[10, 100])
    assert len(t) == 2 * 2 * 3 * 2
    assert t.columns[:4] == ("path", "proto", "ghz", "link_gbps")
    assert set(zip(t["ghz"], t["link_gbps"])) == {(g, l) for g in (2.0, 3.0, 4.0)
                                                  for l in (10, 100)}


def test_rows_equal_point_predictions():
    t = sweep(path=["native", "docker-overlay"], proto="udp", msg_bytes=[64, 1500, 8192],
              tunnel_offload=True)
    for row in t.rows():
        point = qm.predict(path=row["path"], proto=row["proto"], msg_bytes=row["msg_bytes"],
                           tunnel_offload=True)
        assert row["throughput_gbps"] == pytest.approx(point.throughput_gbps, rel=1e-9)
        assert row["bottleneck"] == point.bottleneck
        assert row["receiver_cpu.softirq"] == pytest.approx(point.receiver_cpu["softirq"],
                                                            rel=1e-9, abs=1e-15)


def test_stage_columns_of_other_paths_are_zero():
    t = sweep(path=["native", "docker-overlay"])
    native = t["path"] == "native"
    assert np.all(t["stages.rx:bridge"][native] == 0.0)
    assert np.all(t["stages.rx:bridge"][~native] > 0.0)


def test_exports_round_trip():
    t = sweep(proto="tcp", flows=[1, 2])
    rows = json.loads(t.to_json())
    assert len(rows) == 2 and rows[1]["flows"] == 2
    parsed = list(csv.DictReader(io.StringIO(t.to_csv())))
    assert [float(r["throughput_gbps"]) for r in parsed] == pytest.approx(
        list(t["throughput_gbps"]), rel=1e-12)


@pytest.mark.parametrize("text, expected", [
    ("1..4", [1, 2, 3, 4]),
    ("64..8192:x2", [64, 128, 256, 512, 1024, 2048, 4096, 8192]),
    ("2..3:0.5", [2, 2.5, 3]),
    ("1.5,2,tcp", [1.5, 2, "tcp"]),
    ("7", [7]),
])
def test_parse_values(text, expected):
    assert parse_values("x", text) == expected


@pytest.mark.parametrize("text", ["", "5..1", "1..5:0", "1..5:-1", "1..5:x1", "0..5:x2",
                                  "a..b", "1..inf"])
def test_parse_values_rejects(text):
    with pytest.raises(ModelInputError, match=r"^x = "):
        parse_values("x", text)


@pytest.mark.parametrize("kwargs", [dict(ghz=[]), dict(flows=np.ones((2, 2))), dict(path=[]),
                                    dict(mtu=[1500, 100])])
def test_sweep_rejects_bad_grids(kwargs):
    with pytest.raises(ModelInputError):
        sweep(**kwargs)


def test_cli_sweep_csv_and_json(capsys):
    assert main(["sweep", "--path", "native,docker-overlay", "--proto", "tcp",
                 "--vary", "ghz=2.2,3"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("path,proto,ghz,throughput_gbps")
    assert len(lines) == 1 + 4
    assert main(["sweep", "--proto", "udp", "--msg-bytes", "64..256:x2", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [r["msg_bytes"] for r in rows] == [64, 128, 256]


@pytest.mark.parametrize("argv", [["sweep", "--flows", "5..1"], ["sweep", "--vary", "ghz="],
                                  ["sweep", "--vary", "nosuch=1,2"], ["sweep", "--path", "x"]])
def test_cli_sweep_bad_input(argv, capsys):
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1


def test_on_off_settings_are_axes_too(capsys):
    t = sweep(path="docker-overlay", proto="tcp", tunnel_offload=[False, True], ghz=[2.2, 3.0])
    assert len(t) == 4 and list(t["tunnel_offload"]) == [False, False, True, True]
    offload = t["throughput_gbps"][t["tunnel_offload"] == True]  # noqa: E712
    plain = t["throughput_gbps"][t["tunnel_offload"] == False]  # noqa: E712
    assert np.all(offload > plain)
    assert main(["sweep", "--path", "docker-overlay", "--vary", "tunnel_offload=false,true"]) == 0
    assert len(capsys.readouterr().out.splitlines()) == 3


def test_select_keeps_the_matching_rows_in_order():
    t = sweep(path=["native", "docker-overlay"], proto=["tcp", "udp"], flows=[1, 2, 3])
    assert t.inputs == ("path", "proto", "flows")
    docker_tcp = t.select(path="docker-overlay", proto="tcp")
    assert docker_tcp["flows"].tolist() == [1, 2, 3]
    point = qm.predict(path="docker-overlay", proto="tcp", flows=[1, 2, 3])
    assert docker_tcp["throughput_gbps"].tolist() == point.throughput_gbps.tolist()
    assert t.select(flows=[1, 3])["flows"].tolist() == [1, 3] * 4
    assert len(t.select(flows=7)) == 0
    assert docker_tcp.columns == t.columns and docker_tcp.inputs == t.inputs
    with pytest.raises(qm.errors.UnknownNameError, match="column = 'nosuch'"):
        t.select(nosuch=1)


def test_plot_draws_each_group_against_its_inputs():
    import matplotlib
    import matplotlib.pyplot

    matplotlib.use("Agg")
    t = sweep(path=["native", "docker-overlay"], proto="udp", msg_bytes=[8192, 64, 1024])
    ax = t.plot("msg_bytes", "message_rate_per_s")
    lines = ax.get_lines()
    assert [line.get_label() for line in lines] == ["path=native", "path=docker-overlay"]
    for line, path in zip(lines, ("native", "docker-overlay")):
        rows = t.select(path=path)
        order = np.argsort(rows["msg_bytes"])
        assert line.get_xdata().tolist() == [64, 1024, 8192]
        assert line.get_ydata().tolist() == rows["message_rate_per_s"][order].tolist()
    assert ax.get_xscale() == "log"                 # 64 B to 8 KB: a factor of 128
    assert t.plot("msg_bytes", by=["path", "proto"], log_x=False).get_xscale() == "linear"
    with pytest.raises(ModelInputError, match="column = 'bottleneck'"):
        t.plot("msg_bytes", "bottleneck")
    matplotlib.pyplot.close("all")


def test_a_throughput_plot_shades_where_one_placement_falls():
    import matplotlib
    import matplotlib.pyplot

    matplotlib.use("Agg")
    t = sweep(path=["native", "docker-overlay"], proto="tcp", flows=[1, 2, 4, 6])
    ax = t.plot("flows")
    # One band per line, between the 5th and 95th percentiles of one placement.
    assert len(ax.collections) == len(ax.get_lines()) == 2
    for band, path in zip(ax.collections, ("native", "docker-overlay")):
        rows = t.select(path=path)
        edge = band.get_paths()[0].vertices[:, 1]
        assert edge.min() == pytest.approx(rows["throughput_p05_gbps"].min())
        assert edge.max() == pytest.approx(rows["throughput_p95_gbps"].max())
    assert not t.plot("flows", band=()).collections           # asked for none
    assert not t.plot("flows", "cores_used").collections      # not a throughput
    one = sweep(path="native", proto="udp", flows=[1, 4, 8])  # one hash: no spread
    assert not one.plot("flows").collections
    with pytest.raises(ModelInputError, match=r"^band = \('throughput_gbps',\)"):
        t.plot("flows", band=["throughput_gbps"])
    with pytest.raises(qm.errors.UnknownNameError, match="column = 'nosuch'"):
        t.plot("flows", band=["nosuch", "throughput_gbps"])
    matplotlib.pyplot.close("all")


def test_cli_sweep_plots_to_a_file(tmp_path, capsys):
    out = tmp_path / "flows.png"
    assert main(["sweep", "--path", "native,docker-overlay", "--flows", "1..4",
                 "--plot", str(out)]) == 0
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert capsys.readouterr().out == ""            # the plot alone, unless asked
    assert main(["sweep", "--flows", "1,2", "--plot", str(tmp_path / "f.svg"), "--csv"]) == 0
    assert capsys.readouterr().out.startswith("path,proto,flows,")
    bad = [["--flows", "1,2", "--plot", str(tmp_path / "f.txt")],   # not an image format
           ["--plot", str(out)],                                    # no axis varies
           ["--flows", "1,2", "--plot", str(out), "--x", "path"],  # not numeric
           ["--flows", "1,2", "--plot", str(tmp_path / "no" / "f.png")]]
    for argv in bad:
        assert main(["sweep", *argv]) == 2
        assert capsys.readouterr().err.count("\n") == 1


def test_stage_costs_are_axes_and_match_what_if_runs(capsys):
    from queuemodel.whatif import run

    cost = "vxlan_rx.cost_cycles_per_unit"
    t = sweep(path=["native", "docker-overlay"], flows=[1, 4], **{cost: [500, 2000]})
    assert t.inputs == ("path", "proto", cost, "flows") and len(t) == 8
    for row in t.rows():
        expected = run({"path": row["path"], "flows": row["flows"], cost: row[cost]})
        assert row["throughput_gbps"] == expected.throughput_gbps
    docker = t.select(path="docker-overlay", flows=1)
    assert docker["throughput_gbps"][0] > docker["throughput_gbps"][1]    # dearer: slower
    native = t.select(path="native", flows=1)                       # no VXLAN stage there
    assert native["throughput_gbps"][0] == native["throughput_gbps"][1]
    fixed = sweep(path="docker-overlay", flows=[1, 2], **{cost: 500, "host.ghz": 3.0})
    assert fixed.inputs == ("path", "proto", "flows")
    assert fixed["throughput_gbps"].tolist() == [
        run({"path": "docker-overlay", "flows": n, "ghz": 3.0, cost: 500.0}).throughput_gbps
        for n in (1, 2)]
    assert main(["sweep", "--path", "docker-overlay", "--vary", f"{cost}=500..2000:500"]) == 0
    assert len(capsys.readouterr().out.splitlines()) == 1 + 4
    assert main(["sweep", "--vary", f"{cost}=a,b"]) == 2
    assert capsys.readouterr().err.strip() == (f"queuemodel: error: {cost} = 'a': must be a "
                                              "finite number >= 0")
