"""The ``queuemodel`` command: a thin layer over the Python API.

Subcommands::

    queuemodel predict --path docker-overlay --proto udp [--flows N] [--msg-bytes B]
                       [--offered-gbps X] [--arrival-scv C]
                       [--host FILE.toml] [--set FIELD=VALUE ...] [--json]
    queuemodel outcomes [the same options as predict] [--json]
    queuemodel sweep --path native,docker-overlay --proto tcp --flows 1..4
                     [--msg-bytes 64..8192:x2] [--vary FIELD=VALUES ...] [--json|--csv]
    queuemodel whatif --path docker-overlay --proto tcp --change tunnel_offload=true [--json]
    queuemodel solve --target throughput_gbps>=36 --free physical_cores --bounds 1..64
                     --path docker-overlay --flows 80 [--json]
    queuemodel levers --path docker-overlay --proto tcp [--output NAME] [--top N] [--json]
    queuemodel attribute --path docker-overlay --proto tcp --flows 6 [--output NAME] [--json]
    queuemodel paths [NAME | FILE.toml] [--toml]
    queuemodel testbed run [--path P,...] [--proto tcp,udp] [--msg-bytes B] [--flows N]
                           [--seconds S] [--repeat K] [--pin] [--segmentation on,off]
                           [--nodelay [on,off]] [--autocorking on,off] [--window BYTES]
                           [--profile] [--softirq-times] [--wake-times]
                           [--out testbed]                              (root, iproute2, iperf3)
    queuemodel testbed clean
    queuemodel testbed cycles DATA [DATA ...] [--against PATH] [--per-kib] [--top N]
                              [--json] [--plot FILE.png]
    queuemodel reproduce [--out figures/out]
    queuemodel validate [--json] [--strict]
    queuemodel calibrate [--claims S1,S2,S4] [--free stage.field,...] [--json]
    queuemodel calibrate DATA [DATA ...] [--fit 'path=*,proto=tcp,flows=1'] [--free ...]
                         [--no-measure] [--out costs.toml]

Every ``--path`` (but testbed's) takes a built-in path's name or a path file
(``FILE.toml``, :func:`queuemodel.paths.load_path`).  Bad input prints one
line to stderr and exits with status 2.
"""

from __future__ import annotations

import argparse
import itertools
import json
import math
import sys

from .errors import ModelInputError, QueueModelError, UnknownNameError

__all__ = ["main"]


class _Parser(argparse.ArgumentParser):
    """argparse that reports a usage error on one line and exits 2."""

    def error(self, message):  # noqa: D102 - argparse hook
        raise _UsageError(f"{self.prog}: {message}")


class _UsageError(Exception):
    pass


def _build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="queuemodel",
                     description="Queueing model of the Linux network stack on container "
                                 "overlay networks.")
    from . import __version__

    parser.add_argument("--version", action="version", version=f"queuemodel {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    p = sub.add_parser("predict", help="predict one scenario")
    _one_scenario_arguments(p)
    p.add_argument("--json", action="store_true", help="print the result as JSON")

    u = sub.add_parser("outcomes", help="one scenario's throughput in every hash placement")
    _one_scenario_arguments(u)
    u.add_argument("--json", action="store_true", help="print the distribution as JSON")

    s = sub.add_parser("sweep", help="predict a grid of scenarios, one row each")
    s.add_argument("--path", default="native",
                   help="path(s), comma-separated: built-in names or path files FILE.toml")
    s.add_argument("--proto", default="tcp", help="protocol(s), comma-separated")
    s.add_argument("--flows", default="1", help="e.g. 1..80 or 1,2,4")
    s.add_argument("--msg-bytes", default=None, help="e.g. 64..8192:x2")
    s.add_argument("--offered-gbps", default="inf", help="e.g. 1..10:1")
    s.add_argument("--arrival-scv", default=None, help="e.g. 0,1 (default 1: Poisson)")
    s.add_argument("--host", default=None, help="host profile TOML (default: paper testbed)")
    s.add_argument("--set", action="append", default=[], metavar="FIELD=VALUE",
                   help="fix a host field or a stage cost stage.field (repeatable)")
    s.add_argument("--vary", action="append", default=[], metavar="FIELD=VALUES",
                   help="sweep a host field or a stage cost, e.g. --vary ghz=2..4:0.5 or "
                        "--vary vxlan_rx.cost_cycles_per_unit=500..2000:500 (repeatable)")
    form = s.add_mutually_exclusive_group()
    form.add_argument("--json", action="store_true", help="print rows as JSON")
    form.add_argument("--csv", action="store_true", help="print CSV (the default)")
    s.add_argument("--plot", default=None, metavar="FILE",
                   help="draw --y against --x into FILE (.png, .svg or .pdf); prints the "
                        "table only with --csv or --json")
    s.add_argument("--x", default=None, help="the plot's x axis: a numeric input "
                   "(default the first one that varies)")
    s.add_argument("--y", default="throughput_gbps", help="the plot's y axis: an output")

    w = sub.add_parser("whatif", help="compare a scenario with a changed copy of it")
    _scenario_arguments(w)
    w.add_argument("--change", action="append", default=[], metavar="FIELD=VALUE",
                   help="what changes: a host field, workload name or stage.field (repeatable)")
    w.add_argument("--all", action="store_true", help="list every output, changed or not")
    w.add_argument("--json", action="store_true", help="print the comparison as JSON")

    o = sub.add_parser("solve", help="the value of one input at which an output meets a target")
    _scenario_arguments(o)
    o.add_argument("--target", required=True, help="e.g. throughput_gbps>=40 or "
                   "latency_p99_us<=500 (= reads as >=)")
    o.add_argument("--free", required=True, help="the input to vary: a numeric host field, "
                   "flows, msg_bytes, offered_gbps, arrival_scv or stage.field")
    o.add_argument("--bounds", default=None, metavar="LOW..HIGH",
                   help="search range (default the field's valid range, where finite)")
    o.add_argument("--json", action="store_true", help="print the solution as JSON")

    lv = sub.add_parser("levers", help="rank every input by how much it moves an output")
    _scenario_arguments(lv)
    lv.add_argument("--output", default="throughput_gbps",
                    help="a numeric output (default throughput_gbps)")
    lv.add_argument("--top", default="10", help="how many levers of each group (changes, "
                                                "elasticities) to list (default 10; 0: all)")
    lv.add_argument("--json", action="store_true", help="print every lever as JSON")

    at = sub.add_parser("attribute", help="split an output among the contention mechanisms")
    _scenario_arguments(at)
    at.add_argument("--output", default="throughput_gbps",
                    help="a numeric output (default throughput_gbps)")
    at.add_argument("--json", action="store_true", help="print the split as JSON")

    pa = sub.add_parser("paths", help="list the paths, or show one's stages and costs")
    pa.add_argument("path", nargs="?", default=None,
                    help="a built-in path's name or a path file FILE.toml (default: list them)")
    pa.add_argument("--toml", action="store_true",
                    help="print the path as a path file (a template for a new path)")

    b = sub.add_parser("testbed", help="measure this host's paths in network namespaces")
    bsub = b.add_subparsers(dest="testbed_command", required=True, parser_class=_Parser)
    br = bsub.add_parser("run", help="build the paths, run iperf3, write a dataset (root)")
    br.add_argument("--path", default="native,linux-overlay,docker-overlay",
                    help="paths, comma-separated: the paper's three (default) and routed")
    br.add_argument("--proto", default="tcp,udp", help="protocols, comma-separated")
    br.add_argument("--msg-bytes", default="8192", help="sizes, e.g. 64..8192:x2")
    br.add_argument("--flows", default="1", help="parallel flow pairs, e.g. 1,2")
    br.add_argument("--seconds", default="2", help="duration of each run, whole seconds (1..600)")
    br.add_argument("--repeat", default="1",
                    help="passes over every combination (1..100); rows carry their pass number")
    br.add_argument("--pin", action="store_true",
                    help="pin iperf3's client to CPU 0 and its server to CPU 1 (-A)")
    br.add_argument("--nodelay", nargs="?", const="on", default="off",
                    help="TCP runs with TCP_NODELAY (iperf3 -N): Nagle never holds a write "
                         "(--nodelay alone, or on, off, on,off)")
    br.add_argument("--autocorking", default="on",
                    help="TCP autocorking in the client's namespace (net.ipv4."
                         "tcp_autocorking): on, off or on,off; restored after each run")
    br.add_argument("--window", default=None,
                    help="each end's socket buffer in bytes (iperf3 -w; the kernel caps it "
                         "at net.core.rmem_max/wmem_max, doubles it and stops autotuning); "
                         "default autotuned")
    br.add_argument("--softirq-times", action="store_true",
                    help="trace NET_RX softirq runs over a second mid-run (perf tracepoints) "
                         "and record their mean and median length (needs perf)")
    br.add_argument("--wake-times", action="store_true",
                    help="trace both iperf3 processes' sleeps over a second mid-run "
                         "(scheduler and system-call events, through tracefs) and record "
                         "each end's wait and wake-up latency")
    br.add_argument("--profile", action="store_true",
                    help="sample every CPU during each run (perf record) and record where "
                         "the time goes, by group of kernel functions (needs perf)")
    br.add_argument("--segmentation", default="on",
                    help="TSO/GSO on the testbed's devices for TCP runs: on, off or on,off "
                         "(off exposes per-packet costs; needs ethtool)")
    br.add_argument("--out", default="testbed", help="dataset path (writes OUT.csv and OUT.json)")
    bsub.add_parser("clean", help="remove what an interrupted testbed left behind")
    bc = bsub.add_parser("cycles", help="where each profiled workload's CPU time went, by "
                                        "group of kernel functions, per message")
    bc.add_argument("data", nargs="+", help="testbed datasets (.csv or .json), read as one")
    bc.add_argument("--top", default="10",
                    help="groups with columns of their own, the largest (default 10; 0: all)")
    bc.add_argument("--against", default=None, metavar="PATH",
                    help="print what each workload costs beyond the same workload on PATH "
                         "(e.g. native: where an overlay's extra time goes)")
    bc.add_argument("--per-kib", action="store_true",
                    help="cycles per KiB of messages instead of per message (sizes compare)")
    bc.add_argument("--json", action="store_true", help="print the workloads as JSON")
    bc.add_argument("--plot", default=None, metavar="FILE",
                    help="also draw them as stacked bars into FILE (.png, .svg or .pdf)")

    r = sub.add_parser("reproduce", help="the paper's figures and the claim report")
    r.add_argument("--out", default="figures/out", help="folder for figures and report.md")

    v = sub.add_parser("validate", help="evaluate the paper's claims")
    v.add_argument("--json", action="store_true", help="print the report as JSON")
    v.add_argument("--strict", action="store_true",
                   help="exit with status 1 if any answered claim fails")

    c = sub.add_parser("calibrate", help="fit free parameters to claims, or to a testbed "
                                         "dataset")
    c.add_argument("data", nargs="*", default=[],
                   help="testbed datasets (.csv or .json), read as one; without any, fit "
                        "to the claims")
    c.add_argument("--fit", default=None,
                   help="dataset rows to fit, COLUMN=PATTERN,... (default "
                        "'path=*,proto=tcp,flows=1')")
    c.add_argument("--out", default=None, help="write the fitted costs to this TOML file")
    c.add_argument("--claims", default=None, help="comma-separated value-claim ids")
    c.add_argument("--free", default=None, help="comma-separated parameters (stage.field; "
                                                "with DATA, names from the testbed fit)")
    c.add_argument("--no-measure", action="store_true",
                   help="with DATA: keep the paper's stage costs where the dataset measured "
                        "some (profiles of TCP runs without segmentation and of native "
                        "UDP runs, iperf3's CPU time a message)")
    c.add_argument("--json", action="store_true", help="print the fit as JSON")
    return parser


def _scenario_arguments(p) -> None:
    """The options that describe one scenario (as for predict)."""
    from .paths import ALL_PATH_NAMES

    p.add_argument("--path", default="native",
                   help="one of " + ", ".join(ALL_PATH_NAMES) + ", or a path file FILE.toml")
    p.add_argument("--proto", default="tcp", help="tcp or udp")
    p.add_argument("--flows", default=None, help="concurrent flow pairs (default 1)")
    p.add_argument("--msg-bytes", default=None, help="bytes per send/recv")
    p.add_argument("--offered-gbps", default=None, help="rate each sender tries to send")
    p.add_argument("--host", default=None, help="host profile TOML (default: paper testbed)")
    p.add_argument("--set", action="append", default=[], metavar="FIELD=VALUE",
                   help="a host field or stage.field of the scenario (repeatable)")


def _one_scenario_arguments(p) -> None:
    """``predict``'s and ``outcomes``' arguments: one scenario."""
    from .paths import ALL_PATH_NAMES

    p.add_argument("--path", default="native",
                   help="one of " + ", ".join(ALL_PATH_NAMES) + ", or a path file FILE.toml")
    p.add_argument("--proto", default="tcp", help="tcp or udp")
    p.add_argument("--flows", default="1", help="concurrent flow pairs (integer >= 1)")
    p.add_argument("--msg-bytes", default=None,
                   help="bytes per send/recv (default: 131072 for TCP, 8192 for UDP)")
    p.add_argument("--offered-gbps", default="inf",
                   help="rate each sender tries to send (default inf: as fast as it can); "
                        "a finite rate adds latency and loss")
    p.add_argument("--arrival-scv", default="1",
                   help="variability of a sender's message gaps: 1 Poisson (default), 0 paced")
    p.add_argument("--host", default=None, help="host profile TOML (default: paper testbed)")
    p.add_argument("--set", action="append", default=[], metavar="FIELD=VALUE",
                   help="override a host field or a stage cost, e.g. --set link_gbps=100 or "
                        "--set vxlan_rx.cost_cycles_per_unit=1000 (repeatable)")


def _profile(args):
    """The ``--host`` profile (default the paper's testbed) and its ``[stages]`` costs."""
    from .hosts import load_host, load_stage_costs, paper_testbed

    if not args.host:
        return paper_testbed(), {}
    return load_host(args.host), load_stage_costs(args.host)


def _path_arg(text):
    """A ``--path`` value: a path file (``*.toml``) read into a Path, else a built-in's name."""
    from .paths import ALL_PATH_NAMES, get_path, load_path

    if isinstance(text, str) and text.lower().endswith(".toml"):
        return load_path(text)
    try:
        return get_path(text).name
    except UnknownNameError as err:
        raise UnknownNameError("--path", text, "one of " + ", ".join(ALL_PATH_NAMES)
                               + ", or a path file FILE.toml") from err


def _paths_with(costs: dict, names: list, host) -> list:
    """The paths (built-in names or path files) with stage costs applied (a profile's,
    ``--set``'s); on a veth-link host the link's own stages take costs as well."""
    names = [_path_arg(name) for name in names]
    if not costs:
        return names
    from .whatif import with_stage_costs

    return [with_stage_costs(name, costs, host.veth_link, others=names) for name in names]


def _scenario(args) -> dict:
    scenario = {"path": _path_arg(args.path), "proto": args.proto}
    for name, text, integer in (("flows", args.flows, True), ("msg_bytes", args.msg_bytes, True),
                                ("offered_gbps", args.offered_gbps, False)):
        if text is not None:
            scenario[name] = _number(f"workload.{name}", text, integer)
    if args.host:
        scenario["host"], costs = _profile(args)
        scenario.update(costs)                   # stage.field entries, as --set takes them
    scenario.update(_overrides(args.set))
    return scenario


def _changes(pairs: list) -> dict:
    out = {}
    for key, value in _overrides(pairs, "--change").items():
        if key in ("flows", "msg_bytes", "offered_gbps", "arrival_scv"):
            value = _number(f"workload.{key}", value, key in ("flows", "msg_bytes"))
        out[key] = value
    return out


def _cmd_whatif(args) -> int:
    from .whatif import whatif

    if not args.change:
        raise ModelInputError("--change", "(none)", "at least one FIELD=VALUE")
    result = whatif(_scenario(args), **_changes(args.change))
    print(json.dumps(result.to_dict(), indent=2) if args.json else result.table(args.all))
    return 0


def _cmd_solve(args) -> int:
    from .whatif import solve

    bounds = None
    if args.bounds is not None:
        if ".." not in args.bounds:
            raise ModelInputError("--bounds", args.bounds, "LOW..HIGH")
        lo, hi = args.bounds.split("..", 1)
        bounds = (_number("--bounds", lo), _number("--bounds", hi))
    answer = solve(args.target, args.free, bounds, _scenario(args))
    if args.json:
        print(json.dumps(answer.to_dict(), indent=2))
    else:
        where = ("the output is the same over the whole range, and meets it"
                 if answer.feasible == "everywhere"
                 else f"every value {answer.feasible} it meets the target")
        print(f"{answer.free} = {answer.value:.6g} gives {answer.target.split()[0]} = "
              f"{answer.achieved:.6g} (target {answer.target}; {where}; "
              f"{answer.evaluations} model evaluations)")
    return 0


def _cmd_levers(args) -> int:
    from .levers import levers

    top = _number("--top", args.top, integer=True)
    if not isinstance(top, int) or top < 0:
        raise ModelInputError("--top", args.top, "a whole number >= 0 (0 lists every lever)")
    answer = levers(_scenario(args), output=args.output)
    print(json.dumps(answer.to_dict(), indent=2) if args.json
          else answer.table(int(top) or None))
    return 0


def _cmd_attribute(args) -> int:
    from .attribute import attribute

    answer = attribute(_scenario(args), output=args.output)
    print(json.dumps(answer.to_dict(), indent=2) if args.json else answer.table())
    return 0


def _cmd_paths(args) -> int:
    from .paths import MORE_PATHS, PATHS, get_path, path_to_toml

    if args.path is None:
        if args.toml:
            raise ModelInputError("--toml", True, "given with a path (paths NAME --toml)")
        for p in PATHS.values():
            print(f"{p.name:16} {p.description}")
        for p in MORE_PATHS.values():
            print(f"{p.name:16} {p.description} [beyond the paper: not fitted to it]")
        return 0
    path = get_path(_path_arg(args.path))
    if args.toml:
        print(path_to_toml(path), end="")
        return 0
    print(f"path {path.name}: {path.description or '(no description)'}")
    print(f"  tunnel {path.tunnel} ({path.encap_bytes} B of headers a packet), "
          f"flow addresses {path.flow_addresses}")
    print(f"  {'side':4} {'stage':16} {'context':8} {'unit':12} {'cycles/unit':>11} "
          f"{'/byte':>6} {'/poll':>6}  notes")
    for side in ("tx", "rx"):
        for stage in getattr(path, side):
            notes = [f"{stage.batching}"] if stage.batching != "none" else []
            if tuple(stage.protocols) != ("tcp", "udp"):
                notes.append("+".join(stage.protocols) + " only")
            if stage.offloaded_by:
                notes.append(f"off with {stage.offloaded_by}")
            if stage.poll:
                notes.append("NAPI poll")
            if stage.reads_received_bytes:
                notes.append("reads the received bytes")
            if stage.flow_state_lines:
                notes.append(f"{stage.flow_state_lines:g} lines of flow state")
            if stage.shared_lines_per_unit:
                notes.append(f"{stage.shared_lines_per_unit:g} lines every CPU writes")
            if stage.cache_misses_per_unit:
                notes.append(f"{stage.cache_misses_per_unit:g} DRAM misses a unit")
            if stage.orphans_skb:
                notes.append("orphans the packet" if stage.orphans_skb is True
                             else f"orphans the packet with {stage.orphans_skb}")
            print(f"  {side:4} {stage.name:16} {stage.context:8} {stage.unit:12} "
                  f"{stage.cost_cycles_per_unit:11.6g} {stage.cost_cycles_per_byte:6.3g} "
                  f"{stage.cost_cycles_per_invocation:6.4g}  {', '.join(notes)}".rstrip())
    return 0


def _number(field: str, text: str, integer: bool = False):
    try:
        value = float(text)
    except ValueError:
        raise ModelInputError(field, text, "an integer" if integer else "a number") from None
    if integer and value.is_integer():
        return int(value)
    return value


def _overrides(pairs: list, option: str = "--set") -> dict:
    out = {}
    for pair in pairs:
        if "=" not in pair:
            raise ModelInputError(option, pair, "FIELD=VALUE")
        key, value = pair.split("=", 1)
        out[key.strip()] = value.strip()
    return out


def _host_and_costs(args) -> tuple:
    """The ``--host`` profile with ``--set``'s host fields, and its stage costs with
    ``--set``'s ``stage.field`` ones (``host.FIELD`` is a host field too)."""
    from .hosts import with_overrides
    from .whatif import canonical_scenario

    host, costs = _profile(args)
    fields, stages = {}, {}
    for name, value in canonical_scenario(_overrides(args.set)).items():
        (stages if "." in name else fields)[name] = value
    return with_overrides(host, fields), {**costs, **stages}


def _one_scenario(args) -> dict:
    """``predict``'s keyword arguments from the one-scenario options."""
    host, costs = _host_and_costs(args)
    path = _paths_with(costs, [args.path], host)[0]
    msg = None if args.msg_bytes is None else _number("workload.msg_bytes", args.msg_bytes, True)
    return dict(path=path, proto=args.proto, flows=_number("workload.flows", args.flows, True),
                msg_bytes=msg, host=host,
                offered_gbps=_number("workload.offered_gbps", args.offered_gbps),
                arrival_scv=_number("workload.arrival_scv", args.arrival_scv))


def _cmd_predict(args) -> int:
    from .model import predict

    result = predict(**_one_scenario(args))
    if args.json:
        print(json.dumps(result.to_dict(), indent=2))
    else:
        print(_table(result))
    return 0


def _cmd_outcomes(args) -> int:
    from .outcomes import outcomes

    dist = outcomes(**_one_scenario(args))
    if args.json:
        print(json.dumps(dist.to_dict(), indent=2))
        return 0
    print(f"path {dist.path}, {dist.proto}, flows {dist.flows}: throughput of one placement "
          f"(expected {dist.mean_gbps:.3f} Gb/s; {dist.draws} draws)")
    print(f"  {'Gb/s':>10} {'chance':>8} {'at most':>8}")
    for gbps, chance, seen in zip(dist.throughput_gbps, dist.probability,
                                  itertools.accumulate(dist.probability)):
        print(f"  {gbps:10.3f} {chance:8.3f} {seen:8.3f}")
    return 0


def _table(r) -> str:
    lines = [
        f"path {r.path}, {r.proto}, flows {r.inputs['flows']:g}, "
        f"message {r.inputs['msg_bytes']:g} B, host {r.inputs['host']}",
        f"  throughput        {r.throughput_gbps:10.3f} Gb/s  (link goodput "
        f"{r.link_goodput_gbps:.2f})",
    ]
    if r.throughput_sd_gbps > 0:
        lines += [f"  hash outcomes     {r.throughput_p05_gbps:10.3f} - "
                  f"{r.throughput_p95_gbps:.3f} Gb/s  (5th-95th percentile of one placement; "
                  f"sd {r.throughput_sd_gbps:.3f})"]
    if r.inputs["flows"] > 1:
        lines += [f"  slowest flow      {r.slowest_flow_gbps:10.3f} Gb/s  (expected over the "
                  f"placements; an even share is {r.throughput_gbps / r.inputs['flows']:.3f})"]
    lines += [
        f"  messages          {r.message_rate_per_s:12.0f} /s",
        f"  wire packets      {r.wire_packet_rate_per_s:12.0f} /s",
        f"  interrupts        {r.irq_rate_per_s:12.0f} /s",
        f"  ksoftirqd         {r.ksoftirqd_rate_per_s:12.0f} /s hand-offs  "
        f"({r.ksoftirqd_share:.3f} of messages polled there)",
        f"  drop fraction     {r.drop_fraction:10.3f}" + (
            f"  ({r.sender_drop_fraction:.3f} at the sending NIC's queue)"
            if r.sender_drop_fraction > 0 else "") + (
            f"  ({r.late_drop_fraction:.3f} after the receiver's softirq worked on them: "
            f"livelock, cut datagrams or a full fragment cache)"
            if r.late_drop_fraction > 0 else "") + (
            f"; a full fragment cache in {r.fragment_cache_bound_share:.2f} of the hash "
            f"outcomes" + (f", full after {r.fragment_cache_fill_s:.3g} s"
                           if math.isfinite(r.fragment_cache_fill_s) else "")
            if r.fragment_cache_bound_share > 0 else ""),
        f"  memory traffic    {r.memory_bandwidth_gbytes_per_s:10.2f} GB/s  (receiver DRAM; "
        f"{r.read_miss_fraction:.2f} of the copied bytes read from it"
        + (f"; binds in {r.memory_bound_share:.2f} of the hash outcomes"
           if r.memory_bound_share > 0 else "")
        + (f"; its budget {r.memory_budget_gbps:.3g} Gb/s"
           if math.isfinite(r.memory_budget_gbps) else "") + ")",
        f"  flow state misses {r.flow_state_miss_fraction:10.3f}   (of a flow's socket lines, "
        f"gone from its core's L2 when next touched)",
        *([f"  shared line       {r.shared_line_remote_fraction:10.3f}   (of the writes of a "
           f"line every receive CPU writes, found in another CPU's cache)"]
          if r.shared_line_remote_fraction > 0 else []),
        f"  busy receive CPUs {r.cores_used:10.2f}   ({r.flows_per_busy_cpu:.2f} flows each; "
        f"throughput standard error {r.throughput_stderr_gbps:.3f} Gb/s)",
        f"  GRO               {r.gro_packets_per_segment:10.2f} wire packets per segment",
        f"  writes per burst  {r.writes_per_burst:10.2f}   (TCP writes the sender sends "
        f"together)",
        f"  bottleneck        {r.bottleneck}",
    ]
    if r.queue_stable:
        parts = ", ".join(f"{k} {v:.1f}" for k, v in r.latency_parts_us.items())
        lines += [f"  latency           {r.latency_mean_us:10.1f} us mean, "
                  f"{r.latency_p99_us:.1f} us p99  ({parts})"]
    elif r.inputs["offered_gbps"] != float("inf"):
        lines += ["  latency           unbounded: the offered load is above what the "
                  "flows can carry (queue_stable false)"]
    if r.proto == "udp" and r.inputs["offered_gbps"] != float("inf"):
        lines += [f"  loss fraction     {r.loss_fraction:10.3g}  (finite RX ring and socket "
                  "buffer)"]
    lines.append("  CPU (logical CPUs)  usr      sys      softirq  irq      total")
    for name, cpu, total in (("receiver", r.receiver_cpu, r.receiver_cpu_total),
                             ("sender", r.sender_cpu, r.sender_cpu_total)):
        lines.append(f"    {name:16}" + "".join(f"{cpu[k]:9.3f}"
                                                 for k in ("usr", "sys", "softirq", "irq"))
                     + f"{total:9.3f}")
    lines.append("  stage utilisation of its CPU (mean over busy CPUs):")
    for key, util in r.stages.items():
        if util > 0:
            lines.append(f"    {key:24} {util:7.3f}")
    return "\n".join(lines)


def _cmd_sweep(args) -> int:
    from .sweep import parse_values, sweep

    host, costs = _host_and_costs(args)
    grid = {}
    for name, text in (("flows", args.flows), ("msg_bytes", args.msg_bytes),
                       ("offered_gbps", args.offered_gbps), ("arrival_scv", args.arrival_scv)):
        if text is not None:
            values = parse_values(name, text)
            grid[name] = values if len(values) > 1 else values[0]
    for name, text in _overrides(args.vary, "--vary").items():
        grid[name] = parse_values(name, text)
    table = sweep(path=_paths_with(costs, parse_values("path", args.path), host),
                  proto=parse_values("proto", args.proto), host=host, **grid)
    if args.plot:
        _plot_sweep(table, args.plot, args.x, args.y)
        if not (args.csv or args.json):
            return 0
    print(table.to_json() if args.json else table.to_csv(), end="" if not args.json else "\n")
    return 0


def _check_figure_file(flag: str, out: str) -> None:
    """A figure's file name must say its format (.png, .svg or .pdf)."""
    import os

    if os.path.splitext(out)[1].lower() not in (".png", ".svg", ".pdf"):
        raise ModelInputError(flag, out, "a file name ending in .png, .svg or .pdf")


def _save_figure(flag: str, figure, out: str) -> None:
    """Write ``figure`` (a matplotlib Figure made without pyplot) to ``out``."""
    try:
        figure.savefig(out)
    except OSError as err:
        raise ModelInputError(flag, out, f"a file that can be written ({err.strerror})") \
            from None


def _plot_sweep(table, out: str, x, y: str) -> None:
    """``sweep --plot``: ``y`` against ``x`` (default the first numeric axis), saved."""
    import matplotlib

    _check_figure_file("--plot", out)
    if x is None:
        numeric = [c for c in table.inputs if table[c].dtype.kind in "iuf"]
        if not numeric:
            raise ModelInputError("--x", "(none)", "a numeric input that varies: give a "
                                  "range to --flows, --msg-bytes, --offered-gbps, "
                                  "--arrival-scv or --vary")
        x = numeric[0]
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt     # (after choosing the backend)

    ax = table.plot(x, y)
    ax.set_ylim(bottom=min(0.0, ax.get_ylim()[0]))
    try:
        ax.figure.savefig(out)
    except OSError as err:
        raise ModelInputError("--plot", out, f"a file that can be written ({err.strerror})") \
            from None
    finally:
        plt.close(ax.figure)


def _switches(name: str, text: str) -> tuple:
    """``'on,off'`` to ``(True, False)``."""
    values = {"on": True, "off": False}
    parts = [p.strip().lower() for p in str(text).split(",")]
    if not parts or any(p not in values for p in parts):
        raise ModelInputError(name, text, "on, off or on,off")
    return tuple(values[p] for p in parts)


def _cmd_testbed(args) -> int:
    from .sweep import parse_values
    from .testbed.netns import remove_leftovers

    if args.testbed_command == "clean":
        from .testbed.profile import remove_sleep_trace

        gone = remove_leftovers()
        print(f"removed {len(gone)} testbed namespaces" + (f": {', '.join(gone)}" if gone
                                                         else "")
              + ("; and a sleep trace's tracefs instance" if remove_sleep_trace() else ""))
        return 0
    if args.testbed_command == "cycles":
        from .paths import ALL_PATH_NAMES
        from .testbed.profile import (cycles_against, cycles_by_workload,
                                      format_cycles_table, per_kib)

        top = _number("--top", args.top, integer=True)
        if not isinstance(top, int) or top < 0:
            raise ModelInputError("--top", args.top, "a whole number >= 0 (0: every group)")
        if args.against is not None and args.against not in ALL_PATH_NAMES:
            raise UnknownNameError("--against", args.against,
                                   "a built-in path: " + ", ".join(ALL_PATH_NAMES))
        if args.plot is not None:
            _check_figure_file("--plot", args.plot)
        workloads = cycles_by_workload(_read_datasets(args.data))
        if args.against is not None:
            workloads = cycles_against(workloads, args.against)
        if args.per_kib:
            workloads = per_kib(workloads)
        print(json.dumps(workloads, indent=2) if args.json
              else format_cycles_table(workloads, top or None))
        if args.plot is not None and workloads:
            from .testbed.profile import plot_cycles

            _save_figure("--plot", plot_cycles(workloads, top or None).figure, args.plot)
        return 0
    from .testbed.run import run_all, write_dataset

    _check_writable("--out", args.out)
    rows = run_all(paths=parse_values("path", args.path), protos=parse_values("proto",
                                                                              args.proto),
                   sizes=parse_values("msg_bytes", args.msg_bytes),
                   flows=parse_values("flows", args.flows),
                   seconds=_number("seconds", args.seconds),
                   repeats=_number("repeat", args.repeat, integer=True), pin=args.pin,
                   segmentation=_switches("segmentation", args.segmentation),
                   profile=args.profile, nodelay=_switches("nodelay", args.nodelay),
                   autocorking=_switches("autocorking", args.autocorking),
                   softirq_times=args.softirq_times, wake_times=args.wake_times,
                   window_bytes=(None if args.window is None
                                 else _number("window", args.window, integer=True)))
    for row in rows:
        gso = ("" if row["segmentation"] else " (TSO/GSO off)") + (
            " (no Nagle)" if row["nodelay"] else "") + (
            "" if row["autocorking"] else " (no autocorking)")
        # A reader a buffer behind closes its window (vm-2cpu-autocork.json: 130-2,530
        # times a second where it bound, under once a second where the writer did).
        closed = row.get("tcp_zero_window_per_s") if row["proto"] == "tcp" else None
        behind = (f", reader behind (window closed {closed:.0f}/s)"
                  if closed and closed >= 100 else "")
        print(f"{row['path']:15} {row['proto']} {row['msg_bytes']:>7} B x{row['flows']}{gso}: "
              f"{row['throughput_gbps']:7.3f} Gb/s, loss {row['loss_fraction']:.3f}, CPUs "
              f"{row['cpu_usr'] + row['cpu_sys'] + row['cpu_softirq'] + row['cpu_irq']:.2f}"
              f"{behind}{_sleeps(row)}")
    files = write_dataset(rows, args.out)
    print("wrote " + " and ".join(str(f) for f in files))
    return 0


def _sleeps(row: dict) -> str:
    """A traced run's reader sleeps (``--wake-times``) for the run listing: how often a
    message, the mean wait before the wake-up and the wake-up's latency."""
    per_s = row.get("server_traced_sleeps_per_s")
    if per_s is None:
        return ""
    messages = row["throughput_gbps"] * 1e9 / 8.0 / row["msg_bytes"]
    text = f", reader slept {per_s / messages if messages > 0 else 0.0:.2f} a message"
    if row.get("server_wake_latency_us") is not None:
        text += (f" (waited {row['server_sleep_wait_us']:.1f} us, woke in "
                 f"{row['server_wake_latency_us']:.1f} us)")
    return text


def _check_writable(flag: str, target: str, directory: bool = False) -> None:
    """Refuse an output that cannot be written, before the work that would fill it.

    ``target`` is a directory to make (``directory``) or a file (or file stem) whose
    folder must exist and take files.
    """
    import tempfile
    from pathlib import Path

    folder = Path(target) if directory else Path(target).parent
    try:
        if directory:
            folder.mkdir(parents=True, exist_ok=True)
        elif Path(target).is_dir():
            raise IsADirectoryError(21, "a directory is there")
        tempfile.TemporaryFile(dir=folder).close()
    except OSError as err:
        kind = "directory" if directory else "file"
        raise ModelInputError(flag, target, f"a {kind} that can be written "
                              f"({err.strerror})") from None


def _cmd_reproduce(args) -> int:
    try:
        from figures.render import compute, write_all, write_report
    except ImportError:        # pragma: no cover - the figures package ships with queuemodel
        raise ModelInputError("reproduce", "figures", "the figures package installed") from None
    from .claims import validate
    from .hosts import paper_testbed

    _check_writable("--out", args.out, directory=True)
    report = validate()
    data = compute()
    files = write_all(args.out, data=data)
    target = write_report(args.out, report, paper_testbed(), data=data)
    passed = sum(o.passed for o in report.outcomes)
    failed = [o.claim.id for o in report.outcomes if not o.passed]
    print(f"queuemodel reproduce: {passed} claims pass, {len(failed)} fail"
          + (f" ({', '.join(failed)})" if failed else "")
          + f", {len(report.unanswered)} not answered yet")
    for o in report.outcomes:
        err = "" if o.error is None else f" ({o.error:+.1%})"
        print(f"  {o.claim.id:4} {'pass' if o.passed else 'FAIL'}{err}")
    print(f"{len(files)} figure files and {target} written to {args.out}")
    return 0


def _cmd_validate(args) -> int:
    from .claims import validate

    report = validate()
    print(json.dumps(report.to_dict(), indent=2) if args.json else report.to_text())
    return 1 if args.strict and not report.all_passed else 0


def _cmd_calibrate(args) -> int:
    from .calibrate import DEFAULT_FIT, FITTED_CLAIMS, calibrate, calibrate_defaults

    if args.data:
        return _calibrate_dataset(args)
    if args.fit or args.out or args.no_measure:
        raise ModelInputError("--fit/--out/--no-measure",
                              args.fit or args.out or "--no-measure",
                              "only with a dataset (queuemodel calibrate DATA ...)")

    if args.claims or args.free:
        claims = tuple(args.claims.split(",")) if args.claims else DEFAULT_FIT.claims
        free = tuple(args.free.split(",")) if args.free else DEFAULT_FIT.free
        fit = calibrate(claims, free)
    else:                           # the shipped defaults' fits, one after the other
        claims, fit = FITTED_CLAIMS, calibrate_defaults()
    if args.json:
        print(json.dumps({"values": fit.values, "residuals": fit.residuals,
                          "at_bound": list(fit.at_bound), "success": fit.success,
                          "message": fit.message}, indent=2))
    else:
        print(f"fitted to {', '.join(claims)} ({fit.message})")
        for name, value in fit.values.items():
            bound = "  (on the bound of its range)" if name in fit.at_bound else ""
            print(f"  {name} = {value:.6g}{bound}")
        for cid, res in fit.residuals.items():
            print(f"  {cid}: model/paper - 1 = {res:+.2e}")
    return 0


def _read_datasets(names) -> list:
    """The rows of testbed datasets, read as one."""
    from pathlib import Path

    from .testbed.run import read_dataset

    rows = []
    for name in names:
        source = Path(name)
        if not source.is_file() or source.suffix not in (".csv", ".json"):
            raise ModelInputError("DATA", name, "an existing .csv or .json testbed dataset")
        rows += read_dataset(source)
    return rows


def _calibrate_dataset(args) -> int:
    from pathlib import Path

    from .testbed.fit import DEFAULT_SELECTOR, calibrate_dataset

    if args.out:
        _check_writable("--out", args.out)
    rows = _read_datasets(args.data)
    free = tuple(args.free.split(",")) if args.free else None
    fit = calibrate_dataset(rows, args.fit or DEFAULT_SELECTOR, free,
                            measure=not args.no_measure)
    if args.out:
        Path(args.out).write_text(fit.to_toml())
    if args.json:
        print(json.dumps({"values": fit.values, "priors": fit.priors, "rows": fit.rows,
                          "success": fit.success}, indent=2))
        return 0
    print(f"fitted to {sum(r['role'] == 'fitted' for r in fit.rows)} rows "
          f"({args.fit or DEFAULT_SELECTOR})")
    for name, value in fit.values.items():
        how = "measured on this machine; paper" if "." in name else "prior"
        print(f"  {name} = {value:.6g}   ({how} {fit.priors[name]:.6g})")
    print(fit.table())
    print(fit.summary())
    if args.out:
        print(f"wrote {args.out}")
    return 0


def main(argv=None) -> int:
    """Run the command line; return the exit status.

    Parameters
    ----------
    argv : list of str, optional
        Arguments (default ``sys.argv[1:]``).

    Returns
    -------
    int
        0 on success, 1 when ``validate --strict`` finds a failing claim, 2 on bad input.
    """
    try:
        args = _build_parser().parse_args(argv)
        handler = {"predict": _cmd_predict, "outcomes": _cmd_outcomes,
                   "sweep": _cmd_sweep, "validate": _cmd_validate,
                   "calibrate": _cmd_calibrate, "reproduce": _cmd_reproduce,
                   "whatif": _cmd_whatif, "solve": _cmd_solve, "levers": _cmd_levers,
                   "attribute": _cmd_attribute, "paths": _cmd_paths,
                   "testbed": _cmd_testbed}[args.command]
        return handler(args)
    except BrokenPipeError:             # e.g. `queuemodel predict | head`: stop quietly
        import os

        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except (_UsageError, QueueModelError, ValueError) as err:
        print(f"queuemodel: error: {err}".replace("queuemodel: error: queuemodel", "queuemodel"),
              file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
