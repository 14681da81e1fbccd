"""Every figure draws headless with its axes, series and the paper's markers; output is stable."""

import filecmp

import numpy as np
import pytest

from figures.render import FIGURES, compute, draw, write_all
from queuemodel.cli import main


@pytest.fixture(scope="module")
def data():
    return compute()


def _paper_markers(ax):
    return [c for c in ax.collections if c.get_label() == "paper (text)"]


@pytest.mark.parametrize("name, proto", [("fig03_tcp_throughput", "tcp"),
                                         ("fig05_udp_throughput", "udp")])
def test_throughput_figures(data, name, proto):
    fig = draw(name, data)
    ax = fig.axes[0]
    assert [line.get_label() for line in ax.lines] == ["native", "linux-overlay",
                                                      "docker-overlay"]
    assert "(Gb/s)" in ax.get_ylabel() and ax.get_xlabel() == "flow pairs"
    (stars,) = _paper_markers(ax)
    expected = sorted((f, v) for _, f, v in data["paper"][proto])
    assert sorted(map(tuple, stars.get_offsets().tolist())) == expected
    native = ax.lines[0].get_ydata()
    assert native[0] == pytest.approx(data["flows"][proto]["native"].throughput_gbps[0])


def test_udp_figure_draws_each_paths_drop_fraction(data):
    fig = draw("fig05_udp_throughput", data)
    ax = fig.axes[1]
    drawn = {line.get_label(): line.get_ydata() for line in ax.lines}
    for path, result in data["flows"]["udp"].items():
        assert np.array_equal(drawn[path], result.drop_fraction)
    assert 0.0 <= min(map(min, drawn.values())) and max(map(max, drawn.values())) <= 1.0
    assert "paper: Docker unstable past 7 pairs" in drawn
    from figures.fig05_udp_throughput import HELD_LABEL

    # The dotted line: the Docker overlay with its senders held at the link.
    assert np.array_equal(drawn[HELD_LABEL], data["held"].drop_fraction)
    assert (drawn[HELD_LABEL] <= drawn["docker-overlay"] + 1e-12).all()


@pytest.mark.parametrize("name", ["fig04_tcp_cpu", "fig06_udp_cpu", "fig08_tcp_size_cpu",
                                  "fig10_udp_size_cpu"])
def test_cpu_breakdowns_stack_four_columns_per_path(data, name):
    fig = draw(name, data)
    assert [ax.get_title() for ax in fig.axes] == ["native", "linux-overlay", "docker-overlay"]
    for ax in fig.axes:
        stacks = [c for c in ax.collections if c.get_label() in ("usr", "sys", "softirq", "irq")]
        assert len(stacks) == 4
    assert "% of 20 logical CPUs" in fig.axes[0].get_ylabel()
    if name in ("fig04_tcp_cpu", "fig06_udp_cpu"):
        assert len(_paper_markers(fig.axes[2])) == 1


@pytest.mark.parametrize("name, series", [("fig07_tcp_rate", 3), ("fig09_udp_rate", 3),
                                          ("fig11_udp_irqs", 6)])
def test_size_figures(data, name, series):
    fig = draw(name, data)
    (ax,) = fig.axes
    assert len(ax.lines) == series and ax.get_xscale() == "log"
    assert np.array_equal(ax.lines[0].get_xdata(), 2 ** np.arange(6, 14))
    assert "per second" in ax.get_ylabel()


def test_stage_figure_stacks_each_paths_stages(data):
    fig = draw("fig_stage_cycles", data)
    tcp, udp = fig.axes
    assert [t.get_text() for t in tcp.get_yticklabels()] == ["native", "linux-overlay",
                                                             "docker-overlay"]
    assert len(udp.patches) > len(tcp.patches) > 10         # UDP has reassembly and checksums


def test_pipeline_figure_draws_one_box_per_stage(data):
    fig = draw("fig_pipeline", data)
    (ax,) = fig.axes
    boxes = [p for p in ax.patches if type(p).__name__ == "FancyBboxPatch"]
    assert len(boxes) == sum(len([s for s in p.rx if "tcp" in s.protocols])
                             for p in data["paths"].values())
    # On the paper's host two stages never run: the Docker overlay's forward_gso (the
    # veth takes GRO segments whole: forward_tso) and native's csum_rx (the NIC checks
    # plain TCP's checksums: rx_csum). Two outlined boxes.
    hollow = [p for p in boxes if p.get_facecolor()[:3] == (1.0, 1.0, 1.0)]
    assert len(hollow) == 2


def test_ksoftirqd_figure_plots_each_results_share(data):
    fig = draw("fig_ksoftirqd", data)
    by_size, by_flows = fig.axes
    assert by_size.get_xscale() == "log" and len(by_size.lines) == len(by_flows.lines) == 6
    line = by_size.lines[2]                 # TCP first, paths in order
    r = data["wide_sizes"]["tcp"]["docker-overlay"]
    assert line.get_label() == "docker-overlay TCP"
    assert np.array_equal(line.get_xdata(), r.inputs["msg_bytes"])
    assert np.array_equal(line.get_ydata(), 100.0 * r.ksoftirqd_share)
    r = data["flows"]["udp"]["native"]
    assert np.array_equal(by_flows.lines[3].get_ydata(), 100.0 * r.ksoftirqd_share)
    for ax in fig.axes:
        for ln in ax.lines:
            assert 0.0 <= min(ln.get_ydata()) and max(ln.get_ydata()) <= 100.0


def test_every_figure_is_listed_and_draws(data):
    for name, caption in FIGURES:
        assert caption and draw(name, data).axes


def test_two_runs_write_identical_bytes(data, tmp_path):
    names = ("fig03_tcp_throughput", "fig_pipeline")
    first = write_all(tmp_path / "a", data, names)
    second = write_all(tmp_path / "b", data, names)
    assert len(first) == 4
    for a, b in zip(first, second):
        assert filecmp.cmp(a, b, shallow=False), a.name


def test_reproduce_writes_report_and_all_figures(tmp_path, capsys):
    assert main(["reproduce", "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "claims pass" in out
    assert len(list(tmp_path.glob("*.png"))) == len(FIGURES) == len(list(tmp_path.glob("*.svg")))
    report = (tmp_path / "report.md").read_text()
    assert "| S1 | fitted | pass |" in report and "fig03_tcp_throughput.png" in report


def test_committed_report_is_current(tmp_path):
    # figures/out is committed and shown in the README: it must be what reproduce writes now.
    from pathlib import Path

    import queuemodel as qm
    from figures.render import write_report

    fresh = write_report(tmp_path, qm.validate(), qm.paper_testbed()).read_text()
    committed = Path(__file__).resolve().parents[1] / "figures" / "out" / "report.md"
    assert committed.read_text() == fresh, "run `make reproduce` and commit figures/out"


def test_shared_gro_figure_plots_merging_and_its_cost(data):
    fig = draw("fig_shared_gro", data)
    gro, cpu = fig.axes
    assert [ln.get_label() for ln in gro.lines] == ["native", "linux-overlay", "docker-overlay"]
    r, apart = data["flows"]["tcp"]["native"], data["gro_apart"]["native"]
    assert np.array_equal(gro.lines[0].get_ydata(), r.gro_packets_per_segment)
    per_gbps = {ln.get_label(): ln.get_ydata() for ln in cpu.lines}
    total = sum(np.asarray(v) for v in apart.receiver_cpu.values())
    assert np.array_equal(per_gbps["native, alone"], total / apart.throughput_gbps)
    # Whole-poll runs merge as for one flow at every count; sharing never costs less.
    assert np.allclose(apart.gro_packets_per_segment, 45.0)
    assert np.all(per_gbps["native, shared GRO"] >= per_gbps["native, alone"] * (1 - 1e-12))


def test_memory_figure_plots_traffic_and_read_misses(data):
    fig = draw("fig_memory", data)
    traffic, misses = fig.axes
    assert [ln.get_label() for ln in traffic.lines] == ["native", "linux-overlay",
                                                        "docker-overlay"]
    for line, (path, r) in zip(traffic.lines, data["flows"]["tcp"].items()):
        assert np.array_equal(line.get_ydata(), r.memory_bandwidth_gbytes_per_s)
    for line, r in zip(misses.lines, data["flows"]["tcp"].values()):
        assert np.array_equal(line.get_ydata(), r.read_miss_fraction)
        assert np.all((line.get_ydata() >= 0) & (line.get_ydata() <= 1))


def test_attribution_figure_is_a_waterfall_of_the_shares(data):
    # Each panel: every mechanism off, each Shapley share stacked from there, and the
    # prediction; the bars' tops and bottoms are the attribution's numbers, and the
    # paper's 25 Gb/s (M2) is starred on the six-Docker-flow panel.
    fig = draw("fig_attribution", data)
    panels = [ax for ax in fig.axes if ax.get_visible()]
    assert len(panels) == len(data["attributions"])
    for ax, a in zip(panels, data["attributions"]):
        bars = list(ax.patches)
        assert len(bars) == len(a.shares) + 2
        assert bars[0].get_height() == pytest.approx(a.base)
        assert bars[-1].get_height() == pytest.approx(a.full)
        level = a.base
        for bar, (_, share) in zip(bars[1:-1], a.shares):
            assert bar.get_height() == pytest.approx(abs(share))
            assert bar.get_y() == pytest.approx(min(level, level + share))
            level += share
        assert level == pytest.approx(a.full)
    (stars,) = _paper_markers(panels[0])
    assert stars.get_offsets()[0][1] == pytest.approx(25.0)
    assert not any(_paper_markers(ax) for ax in panels[1:])


def test_hashing_figure_draws_each_setting(data):
    # One line per (path, hashing setting) and protocol, each the model's throughput; with
    # UDP ports unhashed the Docker flows share one core, so its line stays near one flow's.
    fig = draw("fig_hashing", data)
    panels = fig.axes
    assert len(panels) == 2
    for ax, (proto, results) in zip(panels, data["hashing"].items()):
        assert [ln.get_label() for ln in ax.lines] == [f"{p}: {label}" for p, label in results]
        for line, r in zip(ax.lines, results.values()):
            assert np.array_equal(line.get_ydata(), r.throughput_gbps)
        alone = results[("docker-overlay", "addresses only")].throughput_gbps
        spread = results[("docker-overlay", "UDP ports hashed (mlx4_en default)")].throughput_gbps
        assert alone.max() <= alone[0] * 1.1 and spread[-1] > 4 * spread[0]


def test_reproduce_into_a_place_it_cannot_write_is_one_line(tmp_path, capsys):
    # A file where the directory should be: refused before the work (a traceback after
    # it until 2026-11-28).
    blocker = tmp_path / "taken"
    blocker.write_text("")
    assert main(["reproduce", "--out", str(blocker)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("queuemodel: error: --out = '") and err.count("\n") == 1
    assert "must be a directory that can be written" in err


def test_latency_figure_draws_each_paths_udp_loss(data):
    # The last panel: each path's loss fraction (in %) at the offered loads.
    fig = draw("fig_latency", data)
    ax = fig.axes[-1]
    drawn = {line.get_label(): line for line in ax.lines}
    assert set(drawn) == set(data["latency"]["udp"])
    for path, r in data["latency"]["udp"].items():
        assert np.array_equal(drawn[path].get_xdata(), r.inputs["offered_gbps"])
        assert np.allclose(drawn[path].get_ydata(), 100 * r.loss_fraction)
    assert "lost" in ax.get_ylabel()


def test_livelock_figure_draws_both_kernels_and_the_kernels_runs(data):
    # Left: each path's delivery with the softirq deferring (solid) and in charge
    # (dashed); the dashed line never above the solid one and Docker's falling to 0.
    # Right: the kernel's runs and the model's socket from each run's costs.
    from figures.fig_livelock import KERNEL_RUNS

    fig = draw("fig_livelock", data)
    left, right = fig.axes[:2]
    assert len(left.lines) == 2 * len(data["paths"])
    for line, ((path, defers), r) in zip(left.lines, data["livelock"].items()):
        assert np.array_equal(line.get_ydata(), r.throughput_gbps)
        assert line.get_linestyle() == ("-" if defers else "--")
    for path in data["paths"]:
        soft = data["livelock"][(path, True)].throughput_gbps
        hard = data["livelock"][(path, False)].throughput_gbps
        assert np.all(hard <= soft * (1 + 1e-12))
    assert data["livelock"][("docker-overlay", False)].throughput_gbps[-1] == 0.0
    kernel, model = right.collections[:2]
    assert np.allclose(kernel.get_offsets()[:, 1], [run[1] / 1e3 for run in KERNEL_RUNS])
    # Past capacity (the last two runs) the model is within 10 % of what the kernel read.
    assert np.allclose(model.get_offsets()[-2:, 1], kernel.get_offsets()[-2:, 1], rtol=0.1)


def test_outcomes_figure_draws_one_run_and_a_five_run_mean(data):
    # Left: one run's and a five-run mean's distributions end at 1, the mean's steps
    # lie between the one run's least and greatest outcomes, and the paper's star sits
    # on the five-run mean's curve at 25 Gb/s.  Right: one curve per flow count.
    from figures.fig_outcomes import FLOW_COUNTS, RUNS

    six, by_flows, paper, _ = data["outcomes"]
    fig = draw("fig_outcomes", data)
    left, right = fig.axes[:2]
    one, mean = left.lines[:2]
    assert one.get_ydata()[-1] == mean.get_ydata()[-1] == 1.0
    lo, hi = six.throughput_gbps[0], six.throughput_gbps[-1]
    assert lo <= mean.get_xdata()[1] and mean.get_xdata()[-2] <= hi * (1 + 1e-12)
    star = left.collections[-1].get_offsets()[0]
    assert star[0] == paper and star[1] == pytest.approx(six.mean_of_runs(RUNS).cdf(paper))
    assert len(right.lines) == len(FLOW_COUNTS) == len(by_flows)


def test_fragment_cut_figure_draws_both_rings_and_the_kernels_runs(data):
    # Left and middle: each line is its result, a cutting ring's (dashed) never above the
    # whole-datagram one's.  Right: the model's wasted share against the run length, and
    # the kernel's runs within 10 % of it where they were measured.
    from figures.fig_fragment_cut import BACKLOG_RUNS, RUN_SLOTS

    fig = draw("fig_fragment_cut", data)
    left, middle, right = fig.axes[:3]
    cut = data["fragment_cut"]
    for ax, key in ((left, "sizes"), (middle, "offer")):
        assert len(ax.lines) == len(cut[key])
        for line, ((which, cuts), r) in zip(ax.lines, cut[key].items()):
            assert np.array_equal(line.get_ydata(), r.throughput_gbps)
            assert line.get_linestyle() == ("--" if cuts else "-")
            whole = cut[key][(which, False)].throughput_gbps
            assert np.all(np.asarray(r.throughput_gbps) <= np.asarray(whole) * (1 + 1e-12))
    model = right.lines[0]
    assert np.array_equal(model.get_xdata(), RUN_SLOTS)
    kernel = right.collections[0].get_offsets()
    assert np.allclose(kernel[:, 0], [run[0] for run in BACKLOG_RUNS])
    at = np.exp(np.interp(np.log(kernel[:, 0]), np.log(RUN_SLOTS), np.log(model.get_ydata())))
    assert np.allclose(kernel[:, 1], at, rtol=0.1)


def test_frag_cache_figure_draws_the_kernels_runs_and_the_flow_against_the_cache(data):
    # Left: each run where the closed form and the kernel put it; right: one line per
    # timeout, rising with the cache and never above the cache that evicts, which (a
    # horizontal line) never rises above the ring that drops whole datagrams.
    from figures.fig_frag_cache import CACHE_BYTES, CACHE_RUNS

    fig = draw("fig_frag_cache", data)
    left, right = fig.axes[:2]
    frag = data["frag_cache"]
    points = np.vstack([c.get_offsets() for c in left.collections])
    assert len(points) == len(CACHE_RUNS)
    assert np.allclose(points, [(p, m) for _, m, p in frag["runs"]])
    assert np.all((points > 0) & (points <= 1))
    timeouts = list(frag["whatif"])
    for line, t in zip(right.lines, timeouts):
        y = line.get_ydata()
        assert np.array_equal(line.get_xdata(), CACHE_BYTES / float(1 << 20))
        assert np.array_equal(y, frag["whatif"][t].throughput_gbps)
        assert np.all(np.diff(y) >= 0) and y[-1] <= float(frag["evicting"].throughput_gbps)
    assert float(frag["evicting"].throughput_gbps) <= float(frag["whole"].throughput_gbps)


def test_routed_figure_sets_the_routed_path_beside_the_papers(data):
    fig = draw("fig_routed", data)
    tcp, udp, cpus, small = fig.axes[:4]
    for ax, proto in ((tcp, "tcp"), (udp, "udp"), (cpus, "tcp")):
        assert [ln.get_label() for ln in ax.lines] == ["native", "linux-overlay",
                                                       "docker-overlay", "routed"]
        assert ax.get_xlabel() == "flow pairs"
    routed = data["routed"]["flows"]
    assert np.array_equal(tcp.lines[3].get_ydata(), routed["tcp"]["routed"].throughput_gbps)
    assert np.array_equal(cpus.lines[3].get_ydata(),
                          routed["tcp"]["routed"].receiver_cpu_total)
    # The paper's paths are the same results the paper's figures draw.
    assert np.array_equal(udp.lines[0].get_ydata(), data["flows"]["udp"]["native"].throughput_gbps)
    rate = data["routed"]["sizes"]["routed"].message_rate_per_s / 1e3
    assert np.array_equal(small.lines[3].get_ydata(), rate)
    assert small.get_xscale() == "log"


def test_shared_line_figure_plots_the_share_and_its_cost(data):
    # The share of the VXLAN socket line's writes found elsewhere (0 for one flow, rising
    # towards 1 as the flows spread), and Docker TCP with free, shipped and dearer transfers.
    fig = draw("fig_shared_line", data)
    share, gbps = fig.axes
    assert [ln.get_label() for ln in share.lines] == ["linux-overlay", "docker-overlay"]
    docker = data["flows"]["tcp"]["docker-overlay"]
    assert np.array_equal(share.lines[1].get_ydata(), docker.shared_line_remote_fraction)
    assert share.lines[1].get_ydata()[0] == 0.0 and share.lines[1].get_ydata()[-1] > 0.9
    lines = {ln.get_label(): ln.get_ydata() for ln in gbps.lines}
    free, shipped, dear = (lines["0 ns a transfer"], lines["as shipped (50 ns a transfer)"],
                           lines["100 ns a transfer"])
    assert free[0] == shipped[0] == dear[0]                      # one flow: nothing moves
    assert np.all(dear <= shipped * (1 + 1e-12)) and np.all(shipped <= free * (1 + 1e-12))
    assert shipped[5] < free[5] - 0.5                            # six flows: 1.1 Gb/s
    marks = next(ln for ln in gbps.lines if ln.get_label() == "paper")
    assert (6, 25.0) in zip(marks.get_xdata(), marks.get_ydata())   # M2
