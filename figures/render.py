"""Compute the results once, draw every figure, write them and the report.

Output is deterministic: the SVG hash salt is fixed and no date or software
version is written into the files, so two runs give identical bytes.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

__all__ = ["FIGURES", "ATTRIBUTED", "write_all", "compute", "compute_attributions",
           "write_report"]

FLOWS = np.arange(1, 81)
SIZES = 2 ** np.arange(6, 14)                   # 64 B .. 8 KB, the paper's range
WIDE_SIZES = {"tcp": 2 ** np.arange(6, 18),     # 64 B .. 128 KB (the paper's TCP writes)
              "udp": np.append(2 ** np.arange(6, 16), 65507)}   # .. the largest datagram
LOAD_SHARES = np.linspace(0.02, 0.98, 49)       # offered load as a share of the cap
LIVELOCK_SHARES = np.linspace(0.05, 2.5, 99)    # the same, through and past the cap

#: File stem, module and what it draws, in the order of the report.
FIGURES = (
    ("fig03_tcp_throughput", "Throughput of 1..80 TCP flow pairs (paper Fig. 3; shaded: "
                             "5-95 % of one placement)"),
    ("fig04_tcp_cpu", "Receiver CPU for TCP flow pairs (paper Fig. 4)"),
    ("fig05_udp_throughput", "Throughput of 1..80 UDP flow pairs (paper Fig. 5; shaded: 5-95 % "
                             "of one placement), and the drop fraction (dotted: the Docker "
                             "overlay with its senders held at the link)"),
    ("fig06_udp_cpu", "Receiver CPU for UDP flow pairs (paper Fig. 6)"),
    ("fig07_tcp_rate", "One TCP flow's message rate against size (paper Fig. 7)"),
    ("fig08_tcp_size_cpu", "One TCP flow's receiver CPU against size (paper Fig. 8)"),
    ("fig09_udp_rate", "One UDP flow's datagram rate against size (paper Fig. 9)"),
    ("fig10_udp_size_cpu", "One UDP flow's receiver CPU against size (paper Fig. 10)"),
    ("fig11_udp_irqs", "Interrupts and softirqs of one UDP flow against size (paper Fig. 11)"),
    ("fig_stage_cycles", "Receiver cycles per packet, stage by stage (the model's Fig. 2)"),
    ("fig_latency", "Latency of one flow, and loss of a UDP flow, against offered load (the "
                    "model's extension)"),
    ("fig_parallel", "One flow on k receive cores: pipeline or spray (the paper's question 1)"),
    ("fig_isolation", "Flows on dedicated cores against hashed flows (the paper's question 2)"),
    ("fig_coalescing", "Coalescing and small messages (the paper's question 3)"),
    ("fig_pipeline", "Receive pipelines as data (the model's Fig. 1)"),
    ("fig_ksoftirqd", "Receive polling handed to ksoftirqd, against size and flows (the "
                      "model's extension)"),
    ("fig_shared_gro", "TCP flows sharing a queue shorten each other's GRO segments (the "
                       "model's extension)"),
    ("fig_memory", "The receiver's DRAM traffic and the copy's reads from DRAM against TCP "
                   "flows (the paper's M5, not depicted there)"),
    ("fig_attribution", "Why: each contention mechanism's share of the M2, M8 and M4 "
                        "scenarios (the model's extension)"),
    ("fig_hashing", "Overlay flows against what the NIC's hash sees: UDP ports, addresses "
                    "only, inner headers (the model's extension)"),
    ("fig_livelock", "Receive livelock: one UDP flow past its CPU's capacity, and a real "
                     "kernel's runs (the model's extension)"),
    ("fig_outcomes", "One run's throughput over where the flows' hashes land, and a "
                     "five-run mean, against M2 (the model's extension)"),
    ("fig_fragment_cut", "A ring that cuts datagrams: one UDP flow against size and offer, "
                         "and the share wasted against a real kernel's (the model's "
                         "extension)"),
    ("fig_frag_cache", "Cut datagrams filling a fragment cache that refuses when full: "
                       "measured and predicted, and one flow against the cache's size (the "
                       "model's extension)"),
    ("fig_routed", "Containers routed by their hosts instead of overlaid: throughput, "
                   "receive CPUs and small datagrams (beyond the paper)"),
    ("fig_shared_line", "The VXLAN socket's reference count, a cache line every receive CPU "
                        "writes: how often it moves, and what that costs Docker TCP (the "
                        "model's extension)"),
)


def compute() -> dict:
    """Every model result the figures need, and the paper's numbers for them."""
    import queuemodel as qm
    from queuemodel.claims import load_claims

    names = tuple(qm.PATHS)
    flows = {t: {p: qm.predict(path=p, proto=t, flows=FLOWS) for p in names}
             for t in ("tcp", "udp")}
    held = qm.predict(path="docker-overlay", proto="udp", flows=FLOWS, veth_orphans_skb=False,
                      bridge_nf_call_iptables=False)
    sizes = {t: {p: qm.predict(path=p, proto=t, msg_bytes=SIZES) for p in names}
             for t in ("tcp", "udp")}
    single = {(p, t): qm.predict(path=p, proto=t) for p in names for t in ("tcp", "udp")}
    contexts = {(p, s.name): s.context for p, path in qm.PATHS.items() for s in path.rx}
    wide = {t: {p: qm.predict(path=p, proto=t, msg_bytes=WIDE_SIZES[t]) for p in names}
            for t in ("tcp", "udp")}
    # The same TCP flows with runs of a whole poll: GRO as if every flow were alone.
    whole_poll = qm.paper_testbed().napi_weight
    apart = {p: qm.predict(path=p, proto="tcp", flows=FLOWS, rx_flow_run_packets=whole_poll)
             for p in names}
    questions = compute_questions()
    parallel, isolated, coalesced = (questions[k] for k in ("parallel", "isolation",
                                                            "coalescing"))
    attributions = compute_attributions()
    from figures.fig_hashing import SETTINGS
    hashed = [("docker-overlay", label, host) for label, host in SETTINGS]
    hashed.append(("linux-overlay",) + SETTINGS[-1])
    hashing = {t: {(p, label): qm.predict(path=p, proto=t, flows=FLOWS, **host)
                   for p, label, host in hashed} for t in ("tcp", "udp")}
    # Latency from light load up to 98 % of each path's single-flow cap.
    latency = {t: {p: qm.predict(path=p, proto=t,
                                 offered_gbps=LOAD_SHARES * single[(p, t)].throughput_gbps)
                   for p in names} for t in ("tcp", "udp")}
    # One UDP flow up to 2.5 times each path's cap, as each kernel treats an overload.
    livelock = {(p, defers): qm.predict(path=p, proto="udp", overload_defers_softirq=defers,
                                        offered_gbps=LIVELOCK_SHARES
                                        * single[(p, "udp")].throughput_gbps)
                for p in names for defers in (True, False)}
    # One UDP flow with whole datagrams dropped and with a ring that cuts them.
    from figures.fig_fragment_cut import CUT_SHARES, CUT_SIZES, RUN_SLOTS
    docker = single[("docker-overlay", "udp")].throughput_gbps
    fragment_cut = {
        "sizes": {(p, cuts): qm.predict(path=p, proto="udp", msg_bytes=CUT_SIZES,
                                        ring_cuts_fragments=cuts)
                  for p in names for cuts in (False, True)},
        "offer": {(m, cuts): qm.predict(path="docker-overlay", proto="udp", msg_bytes=m,
                                        offered_gbps=CUT_SHARES * docker,
                                        ring_cuts_fragments=cuts)
                  for m in (8192, 65507) for cuts in (False, True)},
        "runs": {cuts: qm.predict(path="docker-overlay", proto="udp", veth_link=True,
                                  app_on_softirq_core=False, netdev_max_backlog=RUN_SLOTS,
                                  ring_cuts_fragments=cuts) for cuts in (False, True)}}
    frag_cache = _frag_cache()
    # Beyond the paper: the routed path beside the paper's three.
    routed = {"flows": {t: {**flows[t], "routed": qm.predict(path="routed", proto=t,
                                                             flows=FLOWS)}
                        for t in ("tcp", "udp")},
              "sizes": {**sizes["udp"], "routed": qm.predict(path="routed", proto="udp",
                                                             msg_bytes=SIZES)}}
    from figures.fig_outcomes import FLOW_COUNTS
    m2 = next(c.data for c in load_claims() if c.id == "M2")
    placed = {n: qm.outcomes(path=m2["path"], proto=m2["proto"], flows=n)
              for n in sorted(set(FLOW_COUNTS) | {m2["flows"]})}
    from figures.fig_shared_line import TRANSFER_NS
    transfers = {ns: qm.predict(path="docker-overlay", proto="tcp", flows=FLOWS,
                                line_transfer_ns=ns) for ns in TRANSFER_NS}
    paper = {"tcp": [], "udp": []}
    for claim in load_claims():
        d = claim.data
        if claim.kind == "value" and d.get("quantity") == "throughput_gbps":
            paper[d["proto"]].append((d["path"], d.get("flows", 1), d["value"]))
    # S8: the overlay's kernel time fills one of the 20 logical CPUs (5 %) with one flow.
    kernel = [("docker-overlay", 1, 5.0)]
    return {"flows": flows, "sizes": sizes, "single": single, "contexts": contexts,
            "paper": paper, "kernel": kernel, "paths": dict(qm.PATHS),
            "host": qm.paper_testbed(), "latency": latency,
            "parallel": parallel, "isolation": isolated, "coalescing": coalesced,
            "ghz": qm.paper_testbed().ghz, "wide_sizes": wide, "gro_apart": apart,
            "attributions": attributions, "attribution_paper": _attribution_paper(),
            "hashing": hashing, "livelock": livelock, "fragment_cut": fragment_cut,
            "frag_cache": frag_cache, "held": held, "routed": routed,
            "transfers": transfers,
            "outcomes": (placed[m2["flows"]], {n: placed[n] for n in FLOW_COUNTS},
                         m2["value"], m2["rel_tol"])}


def _frag_cache() -> dict:
    """The fragment cache runs against the closed form, and one Docker flow's what-if."""
    import queuemodel as qm
    from figures.fig_frag_cache import CACHE_BYTES, CACHE_RUNS, TIMEOUTS, measured_share
    from figures.fig_fragment_cut import RUN_FRAGMENTS
    from queuemodel.kernels import _cut_fragments, _frag_cache_share

    truesize = qm.paper_testbed().rx_buffer_truesize_bytes
    runs = []
    for run in CACHE_RUNS:
        backlog, cache, timeout, _, admitted = run[:5]
        # What the model's ring wastes of a queue overflowing runs of `backlog`, its
        # reader elsewhere: (n - 1) / backlog.
        kept, took = _cut_fragments(1.0, 10.0, np.inf, RUN_FRAGMENTS - 1.0, float(backlog))
        share = _frag_cache_share(admitted / RUN_FRAGMENTS, 1.0 - kept / took,
                                  float(RUN_FRAGMENTS), cache / truesize, float(timeout), 1.0)
        runs.append((run, measured_share(run), share))
    flow = dict(path="docker-overlay", proto="udp", msg_bytes=8192)
    return {"runs": runs,
            "whatif": {t: qm.predict(**flow, ring_cuts_fragments=True, frag_cache_refuses=True,
                                     frag_cache_bytes=CACHE_BYTES, frag_timeout_s=t)
                       for t in TIMEOUTS},
            "evicting": qm.predict(**flow, ring_cuts_fragments=True),
            "whole": qm.predict(**flow)}


def compute_questions() -> dict:
    """The model's answers to the paper's three open questions (figures and report)."""
    import queuemodel as qm
    from queuemodel.parallel import parallel_caps
    from queuemodel.questions import coalescing, isolation

    protos = ("tcp", "udp")
    return {"parallel": {t: {p: parallel_caps(p, t) for p in qm.PATHS} for t in protos},
            "isolation": {t: isolation("docker-overlay", t, flows=np.arange(1, 17))
                          for t in protos},
            "coalescing": {t: coalescing("docker-overlay", t, sizes=SIZES) for t in protos}}


#: Scenarios whose outputs the report splits among the contention mechanisms:
#: (label, scenario, output).
ATTRIBUTED = (
    ("six Docker overlay TCP flows, Gb/s (M2)",
     {"path": "docker-overlay", "proto": "tcp", "flows": 6}, "throughput_gbps"),
    ("six Docker overlay UDP flows, Gb/s (M8)",
     {"path": "docker-overlay", "proto": "udp", "flows": 6}, "throughput_gbps"),
    ("80 native TCP flows, receive CPUs (M4)",
     {"path": "native", "proto": "tcp", "flows": 80}, "receiver_cpu_total"),
    ("80 Docker overlay TCP flows, receive CPUs (M4)",
     {"path": "docker-overlay", "proto": "tcp", "flows": 80}, "receiver_cpu_total"),
)


def _attribution_paper() -> dict:
    """The paper's value for an attributed scenario's output, where it states one (M2)."""
    from queuemodel.claims import load_claims

    stated = {}
    for claim in load_claims():
        d = claim.data
        if claim.kind == "value" and d.get("quantity") == "throughput_gbps":
            stated[(d["path"], d["proto"], d.get("flows", 1))] = d["value"]
    return {i: stated[key] for i, (_, sc, output) in enumerate(ATTRIBUTED)
            if output == "throughput_gbps"
            and (key := (sc["path"], sc["proto"], sc["flows"])) in stated}


def compute_attributions() -> list:
    """:func:`queuemodel.attribute` of every :data:`ATTRIBUTED` scenario, in order."""
    import queuemodel as qm

    return [qm.attribute(scenario, output=output) for _, scenario, output in ATTRIBUTED]


def _attribution_lines(attributions: list) -> list:
    """The report's section splitting outputs among the contention mechanisms."""
    from queuemodel.attribute import CONTENTION

    names = [m.name for m in CONTENTION]
    lines = ["## Why: each contention mechanism's share", "",
             "`queuemodel attribute`: the output as predicted, with every mechanism below "
             "switched off, and the difference split by Shapley values (each mechanism's "
             "change averaged over every order of switching them on).", "",
             "| scenario | predicted | all off | " + " | ".join(names) + " |",
             "|---|---|---|" + "---|" * len(names)]
    for (label, _, _), a in zip(ATTRIBUTED, attributions):
        shares = dict(a.shares)
        lines.append(f"| {label} | {a.full:.2f} | {a.base:.2f} | "
                     + " | ".join(f"{shares[n]:+.2f}" for n in names) + " |")
    return lines + [""]


def _question_lines(q: dict) -> list:
    """The report's section on the open questions, every number read from ``q``."""
    lines = ["## The paper's open questions, asked of the model", ""]
    for proto in ("tcp", "udp"):
        c = q["parallel"][proto]["docker-overlay"]
        k = list(c["k"])
        until = c["pays_off_until"]
        lines.append(
            f"- Q1, one Docker overlay {proto.upper()} flow on k receive cores: pipeline "
            f"{c['pipeline_gbps'][0]:.1f} -> {c['pipeline_gbps'][-1]:.1f} Gb/s (pays off up to "
            f"k = {until['pipeline']}), spray {c['spread_gbps'][0]:.1f} -> "
            f"{c['spread_gbps'][-1]:.1f} Gb/s (up to k = {until['spread']}), k = {k[0]}..{k[-1]}; "
            f"at k = {k[-1]} the spray is limited by {c['splits']['spread'][-1].limit}; "
            f"RPS's own cut (the NIC's poll and GRO on one core, the rest on another) "
            f"{c['rps_gbps']:.1f} Gb/s.")
    for proto in ("tcp", "udp"):
        o = q["isolation"][proto]
        six = int(np.flatnonzero(np.asarray(o["flows"]) == 6)[0])
        lines.append(
            f"- Q2, six Docker overlay {proto.upper()} flows: {o['hashed']['gbps'][six]:.1f} Gb/s "
            f"hashed, {o['steered']['gbps'][six]:.1f} Gb/s on dedicated cores; receive CPUs per "
            f"Gb/s {o['hashed']['cpu_per_gbps'][six]:.3f} against "
            f"{o['steered']['cpu_per_gbps'][six]:.3f}; receiver DRAM traffic "
            f"{o['hashed']['memory_gbytes_per_s'][six]:.2f} against "
            f"{o['steered']['memory_gbytes_per_s'][six]:.2f} GB/s. Caches: a partition among "
            f"cores (CAT) changes nothing in this model (the misses it charges are the copy's "
            f"reads of bytes gone from the NIC's share, which CAT does not partition); the "
            f"NIC's share of the LLC at "
            + ", ".join(f"{share:.0%}" for share in o["io_share"]["shares"]) + " gives "
            + ", ".join(f"{m:.2f}" for m in o["io_share"]["memory_gbytes_per_s"][:, six])
            + " GB/s hashed.")
    # TCP at its largest size (where segments form), UDP at its smallest (where IRQs storm).
    for proto, at in (("tcp", -1), ("udp", 0)):
        c = q["coalescing"][proto]
        base = c["as shipped"]
        parts = []
        for name in ("GRO across the overlay", "NAPI batches of 256", "moderation 64 us, fixed"):
            v = c[name]
            parts.append(f"{name}: {v['rate_per_s'][at] / base['rate_per_s'][at]:.2f}x the "
                         f"messages/s, {v['irq_per_s'][at] / base['irq_per_s'][at]:.2f}x the "
                         f"IRQs, {v['softirq_per_s'][at] / base['softirq_per_s'][at]:.2f}x the "
                         f"softirqs, mean latency at half load {base['latency_us'][at]:.0f} -> "
                         f"{v['latency_us'][at]:.0f} us")
        lines.append(f"- Q3, Docker overlay {proto.upper()}, {int(c['sizes'][at])} B messages: "
                     + "; ".join(parts) + ".")
    return lines + [""]


def draw(name: str, data: dict):
    """The figure called ``name`` (a stem of :data:`FIGURES`) from computed ``data``."""
    import importlib

    module = importlib.import_module(f"figures.{name}")
    flows, sizes, paper = data["flows"], data["sizes"], data["paper"]
    args = {
        "fig03_tcp_throughput": (flows["tcp"], paper["tcp"]),
        "fig04_tcp_cpu": (flows["tcp"], data["kernel"]),
        "fig05_udp_throughput": (flows["udp"], paper["udp"], data["held"]),
        "fig06_udp_cpu": (flows["udp"], data["kernel"]),
        "fig07_tcp_rate": (sizes["tcp"],),
        "fig08_tcp_size_cpu": (sizes["tcp"],),
        "fig09_udp_rate": (sizes["udp"],),
        "fig10_udp_size_cpu": (sizes["udp"],),
        "fig11_udp_irqs": (sizes["udp"],),
        "fig_stage_cycles": (data["single"], data["contexts"], data["ghz"]),
        "fig_pipeline": (data["paths"], "tcp", data["host"]),
        "fig_latency": (data["latency"],),
        "fig_parallel": (data["parallel"],),
        "fig_isolation": (data["isolation"],),
        "fig_coalescing": (data["coalescing"],),
        "fig_ksoftirqd": (data["wide_sizes"], flows),
        "fig_shared_gro": (flows["tcp"], data["gro_apart"]),
        "fig_memory": (flows["tcp"],),
        "fig_attribution": (data["attributions"], [label for label, _, _ in ATTRIBUTED],
                            {i: value for i, value in data["attribution_paper"].items()}),
        "fig_hashing": (data["hashing"],),
        "fig_livelock": (data["livelock"],),
        "fig_outcomes": data["outcomes"],
        "fig_fragment_cut": (data["fragment_cut"],),
        "fig_frag_cache": (data["frag_cache"],),
        "fig_routed": (data["routed"]["flows"], data["routed"]["sizes"]),
        "fig_shared_line": (flows["tcp"], data["transfers"], paper["tcp"]),
    }[name]
    return module.figure(*args)


def write_all(out_dir: str | os.PathLike = "figures/out", data: dict | None = None,
              names=None) -> list:
    """Draw every figure (or those in ``names``) and write it as PNG and SVG into ``out_dir``.

    Parameters
    ----------
    out_dir : str or path
        Folder to write (created if missing).
    data : dict, optional
        From :func:`compute`; computed here if not given.
    names : sequence of str, optional
        Stems of :data:`FIGURES` to write; all by default.

    Returns
    -------
    list of pathlib.Path
        The files written, PNG and SVG for each figure.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    data = data if data is not None else compute()
    chosen = [name for name, _ in FIGURES if names is None or name in names]
    workers = min(len(chosen), os.cpu_count() or 1)
    if workers > 1 and "fork" in _start_methods():
        # Drawing dominates the run; figures are independent, so draw them side by side.
        # Children inherit the computed data by fork (nothing is pickled but names).
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor

        global _SHARED
        _SHARED = (out, data)
        try:
            with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("fork")) as pool:
                files = list(pool.map(_write_one, chosen))
        finally:
            _SHARED = None
        return [f for pair in files for f in pair]
    return [f for name in chosen for f in _save(name, out, data)]


_SHARED = None


def _start_methods() -> list:
    import multiprocessing

    return multiprocessing.get_all_start_methods()


def _write_one(name: str) -> list:
    out, data = _SHARED
    return _save(name, out, data)


def _save(name: str, out: Path, data: dict) -> list:
    """Draw one figure and write it as PNG and SVG; the paths written."""
    import matplotlib

    written = []
    with matplotlib.rc_context({"svg.hashsalt": "queuemodel", "font.size": 9}):
        fig = draw(name, data)
        engine = fig.get_layout_engine()
        if engine is not None:          # lay out once, then save both formats as laid out
            engine.execute(fig)
            fig.set_layout_engine("none")
        for ext, meta in (("png", {"Software": None}),
                          ("svg", {"Date": None, "Creator": None})):
            target = out / f"{name}.{ext}"
            fig.savefig(target, metadata=meta)
            written.append(target)
    return written


def write_report(out_dir: str | os.PathLike, report, host, data: dict | None = None) -> Path:
    """Write ``report.md``: the testbed, every claim, the free parameters, the open
    questions and the figures.

    Parameters
    ----------
    out_dir : str or path
        Folder holding the figures.
    report : queuemodel.claims.Report
        From :func:`queuemodel.validate`.
    host : queuemodel.Host
        The profile the model ran on.
    data : dict, optional
        From :func:`compute` (its open-question answers and attributions are
        reused); computed here if not given.

    Returns
    -------
    pathlib.Path
        The report file.
    """
    import dataclasses

    lines = ["# queuemodel: the seed paper, reproduced from the model", "",
             "Generated by `queuemodel reproduce`. Paper: Lei, Suo, Lu, Rao, *Tackling "
             "Parallelization Challenges of Kernel Network Stack for Container Overlay "
             "Networks*, HotCloud 2019.", "", "## Testbed profile", "",
             "| field | value |", "|---|---|"]
    for f in dataclasses.fields(host):
        value = getattr(host, f.name)
        shown = f"{value:g}" if isinstance(value, float) else value
        lines.append(f"| {f.name} | {shown} |")
    lines += ["", "## Claims", "",
              "| claim | role | result | error | model | paper |", "|---|---|---|---|---|---|"]
    for o in report.outcomes:
        err = "" if o.error is None else f"{o.error:+.1%}"
        lines.append(f"| {o.claim.id} | {o.role} | {'pass' if o.passed else 'FAIL'} | {err} "
                     f"| {o.model} | {o.paper} |")
    lines += ["", "Not answered yet:", ""]
    lines += [f"- {c.id}: {reason}" for c, reason in report.unanswered]
    lines += ["", "## Free parameters", "",
              f"Fitted by `calibrate()` to {', '.join(report.fitted_claims)}; every other "
              "number is a stated prior.", ""]
    lines += [f"- `{k}` = {v:.6g}" for k, v in report.fitted_parameters.items()]
    lines += [""] + _attribution_lines(data["attributions"] if data is not None
                                       else compute_attributions())
    lines += _question_lines(data if data is not None else compute_questions())
    lines += ["## Figures", ""]
    for name, caption in FIGURES:
        lines += [f"### {caption}", "", f"![{caption}]({name}.png)", ""]
    target = Path(out_dir) / "report.md"
    target.write_text("\n".join(lines))
    return target
