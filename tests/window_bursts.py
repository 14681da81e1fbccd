"""How much a reader that binds lets a small-write TCP sender send at once.

When iperf3's reader is slower than its writer, the receive queue fills and
the sender waits for the window to open; what it then sends at once is set
by how far the receiver lets the window open before it says so.  Linux
advertises no window while the free space is under a sixteenth of the
buffer (receiver-side silly-window avoidance, ``__tcp_select_window``), and
a read sends a window update once the window it could offer has doubled
(``tcp_cleanup_rbuf``), so the sender's bursts should grow with the socket
buffer.

Native TCP at 128 B (Nagle on), iperf3's client pinned to CPU 0 and its
server to CPU 1 (``testbed run --pin``), with the kernel's autotuned buffers
and with iperf3 ``-w`` of 16 KB, 64 KB, 256 KB and 1 MB (``testbed run
--window``: both ends' buffers, doubled by the kernel, autotuning off); each
with a shell busy loop sharing the server's CPU and without one; 4 s runs,
three passes.  Each row carries ``busy_loop`` (``"server"`` or ``"none"``)
and each end's segments (``tcp_sender_segments_per_s``: data, in MSS units;
``tcp_receiver_segments_per_s``: acknowledgements).  Then, without the busy
loop, ``tcpdump`` on the server's end of the link for up to a second in the
middle of a run gives the size of the sk_buffs the sender sends (a veth
carries a GSO sk_buff whole) at each window (``"both_ends"``), and at
receive buffers set on the server's end alone (``"receiver_only"``: its
namespace's ``net.ipv4.tcp_rmem`` fixed at 87,380 B, Linux 4.4's default,
to 4 MB, with ``tcp_moderate_rcvbuf`` off; the client keeps the kernel's
autotuning): ``--skbs``'s file.  ``-w`` sets the sender's buffer too, so
only the second isolates the receiver.  What the saved sets show is in the
README ("Small TCP messages on this VM") and ``tests/test_testbed_fit.py``
holds it.

With ``--tso-divisors 3,1,8,32`` it asks instead whether the sender's TSO
deferral sets the burst: ``tcp_tso_win_divisor`` (a sender holds a TSO
sk_buff back until a 1/divisor share of its window is open,
``tcp_tso_should_defer``; default 3) in the client's namespace, at each
of ``--receive-buffers`` set on the server's end alone, two passes, the
sk_buffs' sizes as above (``--divisor-out``).

With ``--acks`` it records what the sender is told instead: for 50 ms in
the middle of a run on each of ``--paths`` at each of ``--receive-buffers``
(set on the server's end alone), every acknowledgement the sender's socket takes, from the
kernel's ``tcp:tcp_probe`` tracepoint (tracefs): its time, how far it moves
``snd_una``, the window it announces and what the sender then has out
(``--acks-out``).

Needs root, iperf3 and tcpdump (``--acks``: tracefs instead).  Writes
``tests/data/testbed/vm-2cpu-window.json`` and ``vm-2cpu-window-skbs.json``
(or ``--out``, ``--skbs``), or with ``--tso-divisors``
``vm-2cpu-tso-divisor.json``, or with ``--acks`` ``vm-2cpu-window-acks.json``.
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import subprocess
import time
from pathlib import Path

from queuemodel.testbed.netns import Testbed
from queuemodel.testbed.run import measure

HERE = Path(__file__).parent
#: iperf3 -w values (None: the kernel's autotuning).
WINDOWS = (None, 16384, 65536, 262144, 1048576)
MSG_BYTES = 128
SECONDS = 4
SERVER_CPU = 1          # where ``measure(pin=True)`` puts iperf3's server


def one_pass(bed: Testbed, repeat: int) -> list:
    """Every window with and without the busy loop on the server's CPU."""
    rows = []
    for busy in ("server", "none"):
        for window in WINDOWS:
            loop = None
            if busy == "server":
                loop = subprocess.Popen(["taskset", "-c", str(SERVER_CPU), "sh", "-c",
                                         "while :; do :; done"])
            try:
                row = measure(bed, "native", "tcp", MSG_BYTES, 1, SECONDS, pin=True,
                              window_bytes=window)
            finally:
                if loop is not None:
                    loop.kill()
                    loop.wait()
            rows.append({**row, "busy_loop": busy, "repeat": repeat})
            sent, acks = row["tcp_sender_segments_per_s"], row["tcp_receiver_segments_per_s"]
            print(f"pass {repeat} busy {busy:6} window {window}: "
                  f"{row['throughput_gbps']:.3f} Gb/s, {sent / acks:.1f} segments an ACK",
                  flush=True)
    return rows


#: Receive buffers set on the server's end alone (None: the kernel's autotuning).
RECEIVE_BUFFERS = (None, 87380, 131072, 262144, 524288, 1048576, 2097152, 4194304)


def _receive_buffer(namespace: str, size) -> None:
    """Fix a namespace's TCP receive buffer at ``size`` bytes, or restore autotuning."""
    rmem, moderate = (f"4096 {size} {size}", "0") if size else ("4096 131072 6291456", "1")
    for setting in (f"net.ipv4.tcp_rmem={rmem}", f"net.ipv4.tcp_moderate_rcvbuf={moderate}"):
        subprocess.run(["ip", "netns", "exec", namespace, "sysctl", "-q", "-w", setting],
                       check=True)


def _mid_run(bed: Testbed, path: str, window, receive_buffer, during) -> tuple:
    """Run pinned single-flow iperf3 TCP at :data:`MSG_BYTES` on ``path`` (iperf3 ``-w
    window``, or the server's receive buffer alone set), call ``during(server_ns,
    address, port)`` in the middle of the run, and return what it returned with the
    run's goodput in Gb/s."""
    client, server, address = bed.endpoints(path)
    port = "5299"
    _receive_buffer(server, receive_buffer)
    iperf3 = subprocess.Popen(["ip", "netns", "exec", server, "iperf3", "-s", "-1", "-B",
                               address, "-p", port, "-A", str(SERVER_CPU)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        time.sleep(0.3)
        args = ["ip", "netns", "exec", client, "iperf3", "-c", address, "-p", port, "-t",
                str(SECONDS), "-l", str(MSG_BYTES), "-A", "0", "-J"]
        if window is not None:
            args += ["-w", str(window)]
        sender = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                                  text=True)
        time.sleep(SECONDS / 2)
        seen = during(server, address, port)
        report = json.loads(sender.communicate(timeout=SECONDS + 10)[0])
    finally:
        iperf3.kill()
        iperf3.wait()
        _receive_buffer(server, None)
    return seen, report["end"]["sum_received"]["bits_per_second"] / 1e9


def skb_lengths(bed: Testbed, window, receive_buffer=None) -> dict:
    """Payload bytes of the data sk_buffs the server's end of the link sees mid-run,
    with iperf3 ``-w window`` (both ends) or the server's receive buffer alone set."""
    def capture(server, address, port):
        return subprocess.run(["ip", "netns", "exec", server, "timeout", "1", "tcpdump",
                               "-i", "qmtb-l2", "-nn", "-c", "3000", "tcp"],
                              capture_output=True, text=True).stdout

    dump, gbps = _mid_run(bed, "native", window, receive_buffer, capture)
    lengths = [int(line.rsplit(" length ", 1)[1].split()[0].rstrip(":"))
               for line in dump.splitlines() if " length " in line]
    data = sorted(n for n in lengths if n > 0)
    return {"window_bytes": window, "receive_buffer_bytes": receive_buffer,
            "throughput_gbps": gbps, "data_skbs": len(data),
            "acks": len(lengths) - len(data), "median_bytes": statistics.median(data),
            "p10_bytes": data[len(data) // 10], "p90_bytes": data[9 * len(data) // 10],
            "max_bytes": data[-1]}


def divisor_bursts(bed: Testbed, divisors, receive_buffers, passes: int = 2) -> list:
    """:func:`skb_lengths` at each receive buffer under each sender TSO divisor."""
    client = bed.endpoints("native")[0]
    key = "net.ipv4.tcp_tso_win_divisor"
    old = subprocess.run(["ip", "netns", "exec", client, "sysctl", "-n", key],
                         capture_output=True, text=True, check=True).stdout.strip()
    out = []
    try:
        for repeat in range(passes):
            for divisor in divisors:
                subprocess.run(["ip", "netns", "exec", client, "sysctl", "-q", "-w",
                                f"{key}={divisor}"], check=True)
                for size in receive_buffers:
                    entry = {**skb_lengths(bed, None, size), "tso_win_divisor": divisor,
                             "repeat": repeat}
                    print(entry, flush=True)
                    out.append(entry)
    finally:
        subprocess.run(["ip", "netns", "exec", client, "sysctl", "-q", "-w", f"{key}={old}"],
                       check=True)
    return out


TRACEFS = Path("/sys/kernel/tracing")


def sender_acks(bed: Testbed, receive_buffer: int, window_s: float = 0.05,
                path: str = "native") -> dict:
    """The acknowledgements the sender takes over ``window_s`` mid-run (``tcp:tcp_probe``
    on the sender's socket), with the server's receive buffer fixed at ``receive_buffer``."""
    probe = TRACEFS / "events" / "tcp" / "tcp_probe" / "enable"

    def trace(server, address, port):
        (TRACEFS / "trace").write_text("")
        probe.write_text("1")
        try:
            time.sleep(window_s)
        finally:
            probe.write_text("0")
        return (TRACEFS / "trace").read_text(), address, port

    (text, address, port), gbps = _mid_run(bed, path, None, receive_buffer, trace)
    acks = []
    for line in text.splitlines():
        if "tcp_probe:" not in line or f"src={address}:{port}" in line:
            continue                         # the server's socket, or not a probe line
        fields = dict(re.findall(r"(\w+)=(\S+)", line.split("tcp_probe:", 1)[1]))
        if not fields.get("dest", "").endswith(f":{port}"):
            continue
        stamp = float(line.split("tcp_probe:", 1)[0].split()[-1].rstrip(":"))
        una, nxt, wnd = (int(fields[k], 0) for k in ("snd_una", "snd_nxt", "snd_wnd"))
        acks.append({"t_us": stamp * 1e6, "snd_una": una, "snd_nxt": nxt, "snd_wnd": wnd})
    t0 = acks[0]["t_us"] if acks else 0.0
    una0 = acks[0]["snd_una"] if acks else 0
    for ack in acks:                         # relative to the first (sequence wraps mod 2^32)
        ack["t_us"] = round(ack["t_us"] - t0, 1)
        ack["acked_bytes"] = (ack["snd_una"] - una0) % 2**32
        ack["in_flight_bytes"] = (ack.pop("snd_nxt") - ack.pop("snd_una")) % 2**32
    return {"path": path, "receive_buffer_bytes": receive_buffer,
            "throughput_gbps": gbps, "acks": acks}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=str(HERE / "data" / "testbed" / "vm-2cpu-window.json"))
    parser.add_argument("--skbs",
                        default=str(HERE / "data" / "testbed" / "vm-2cpu-window-skbs.json"))
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--tso-divisors", default=None,
                        help="e.g. 3,1,8,32: measure bursts under each sender TSO divisor")
    parser.add_argument("--receive-buffers", default="87380,262144")
    parser.add_argument("--divisor-out",
                        default=str(HERE / "data" / "testbed" / "vm-2cpu-tso-divisor.json"))
    parser.add_argument("--acks", action="store_true",
                        help="record the sender's acknowledgements (tcp:tcp_probe) instead")
    parser.add_argument("--paths", default="native",
                        help="with --acks: the paths to trace, e.g. native,docker-overlay")
    parser.add_argument("--acks-out",
                        default=str(HERE / "data" / "testbed" / "vm-2cpu-window-acks.json"))
    args = parser.parse_args(argv)
    if args.acks:
        with Testbed() as bed:
            traces = [sender_acks(bed, int(b), path=path)
                      for path in args.paths.split(",")
                      for b in args.receive_buffers.split(",")]
        for trace in traces:
            print(trace["path"], trace["receive_buffer_bytes"], len(trace["acks"]), "acks",
                  f"{trace['throughput_gbps']:.3f} Gb/s")
        Path(args.acks_out).write_text(json.dumps(traces, indent=0))
        print(f"wrote {args.acks_out}")
        return 0
    if args.tso_divisors:
        with Testbed() as bed:
            entries = divisor_bursts(bed, [int(d) for d in args.tso_divisors.split(",")],
                                     [int(b) for b in args.receive_buffers.split(",")])
        Path(args.divisor_out).write_text(json.dumps(entries, indent=1))
        print(f"wrote {args.divisor_out}")
        return 0
    with Testbed() as bed:
        rows = [row for repeat in range(args.repeat) for row in one_pass(bed, repeat)]
        Path(args.out).write_text(json.dumps(rows, indent=1))
        print(f"wrote {len(rows)} rows to {args.out}")
        skbs = {"both_ends": [skb_lengths(bed, window) for window in WINDOWS],
                "receiver_only": [skb_lengths(bed, None, size) for size in RECEIVE_BUFFERS]}
    for kind, entries in skbs.items():
        for entry in entries:
            print(kind, entry)
    Path(args.skbs).write_text(json.dumps(skbs, indent=1))
    print(f"wrote {args.skbs}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
