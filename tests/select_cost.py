"""What iperf3's loop costs a message in system calls, on this host.

Four measurements behind the ``select`` and ``select_tx`` stages of
:mod:`queuemodel.paths`:

1. **Calls a message.**  iperf3 (the paper's benchmark, and ours) waits in
   ``pselect6`` before it reads or writes.  Its server reads each ready stream
   once a pass of its loop; its client, at an unlimited rate, writes up to ten
   times a pass (``multisend``).  ``strace -c`` on both ends of a loopback TCP
   run at 128 B counts the calls.
2. **What a select costs against a read.**  A small C program (compiled here
   with ``cc``) reads a TCP socket that a pinned writer keeps full, first with
   ``read()`` alone, then with a ``pselect()`` on the socket before each
   ``read()``; the difference is the select's cost.
3. **Which end binds.**  iperf3 over loopback with the client pinned to CPU 0
   and the server to CPU 1 (``/proc/stat`` per CPU over 3 s of a 6 s run, 128 B
   and 1 KB): over loopback the sending CPU also runs the receive softirq, so
   the server's CPU does only iperf3's loop (a select, a read, its own work).
4. **Whether a read can wait.**  iperf3 3.12's data sockets are non-blocking
   (``O_NONBLOCK`` in ``/proc/PID/fdinfo``): a read that finds the queue empty
   returns what it has, and the loop waits in select again, so a reader woken
   inside a message pays a select and a read.

::

    python tests/select_cost.py --out tests/data/select-cost.json

Measured here (Linux 6.18, 2 vCPUs, 2026-11-29; ``tests/data/select-cost.json``),
held by ``tests/test_select_cost.py``.  Needs cc, iperf3 and strace; no root.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import subprocess
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

HERE = Path(__file__).parent
SIZES = (64, 128, 1024)

_C_SOURCE = r"""
#define _GNU_SOURCE
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/select.h>
#include <sys/socket.h>

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}

int main(int argc, char **argv) {
    int n = atoi(argv[1]), msg = atoi(argv[2]);
    struct sockaddr_in a = {0};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(0x7f000001);
    int ls = socket(AF_INET, SOCK_STREAM, 0);
    socklen_t len = sizeof a;
    bind(ls, (void *)&a, sizeof a);
    getsockname(ls, (void *)&a, &len);
    listen(ls, 1);
    int c = socket(AF_INET, SOCK_STREAM, 0);
    connect(c, (void *)&a, sizeof a);
    int s = accept(ls, 0, 0);
    char *buf = calloc(1, 1 << 16);
    if (fork() == 0) {                  /* the writer, on CPU 0, keeps the socket full */
        cpu_set_t cpus;
        CPU_ZERO(&cpus);
        CPU_SET(0, &cpus);
        sched_setaffinity(0, sizeof cpus, &cpus);
        while (write(c, buf, 1 << 16) > 0) {}
        _exit(0);
    }
    usleep(300000);
    long short_reads = 0;
    double t0 = now();
    for (int i = 0; i < n; i++)
        short_reads += read(s, buf, msg) != msg;
    double t1 = now();
    for (int i = 0; i < n; i++) {
        fd_set r;
        FD_ZERO(&r);
        FD_SET(s, &r);
        pselect(s + 1, &r, 0, 0, 0, 0);
        short_reads += read(s, buf, msg) != msg;
    }
    double t2 = now();
    printf("%.1f %.1f %ld\n", (t1 - t0) / n * 1e9, (t2 - t1) / n * 1e9, short_reads);
    fflush(stdout);
    kill(0, SIGTERM);
    return 0;
}
"""


def select_against_read(workdir: Path, sizes=SIZES, reads: int = 300_000,
                        repeat: int = 5) -> list:
    """Nanoseconds of a ``read()`` alone and of a ``pselect()`` + ``read()``, per size."""
    source, binary = workdir / "select_cost.c", workdir / "select_cost"
    source.write_text(_C_SOURCE)
    subprocess.run(["cc", "-O2", "-o", str(binary), str(source)], check=True)
    rows = []
    for run in range(repeat):
        for size in sizes:
            # Its own session: the program ends its writer with kill(0, ...).
            out = subprocess.run(["taskset", "-c", "1", "setsid", "--wait", str(binary),
                                  str(reads), str(size)], capture_output=True, text=True)
            read_ns, both_ns, short = out.stdout.split()
            rows.append({"msg_bytes": size, "repeat": run, "read_ns": float(read_ns),
                         "select_and_read_ns": float(both_ns),
                         "select_ns": float(both_ns) - float(read_ns),
                         "short_reads": int(short)})
    return rows


def _strace_counts(pid: int, seconds: float) -> dict:
    out = subprocess.run(["timeout", "-s", "INT", str(seconds), "strace", "-c", "-p",
                          str(pid)], capture_output=True, text=True).stderr
    counts = {}
    for line in out.splitlines():
        m = re.match(r"\s*[\d.]+\s+[\d.]+\s+\d+\s+(\d+)\s+(?:\d+\s+)?(\w+)$", line)
        if m and m.group(2) != "total":
            counts[m.group(2)] = int(m.group(1))
    return counts


def iperf3_calls(msg_bytes: int = 128, seconds: float = 2.0, port: int = 5299) -> dict:
    """System calls of iperf3's server and client over loopback TCP (``strace -c``)."""
    server = subprocess.Popen(["iperf3", "-s", "-1", "-p", str(port)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(0.5)
    client = subprocess.Popen(["iperf3", "-c", "127.0.0.1", "-p", str(port), "-l",
                               str(msg_bytes), "-t", str(seconds + 3)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        time.sleep(1.0)
        # Both at once, so each end runs traced while the other is.
        with ThreadPoolExecutor(2) as pool:
            srv, cli = pool.map(lambda p: _strace_counts(p.pid, seconds), (server, client))
        nonblocking = {end: _nonblocking_sockets(p.pid) for end, p in
                       (("server", server), ("client", client))}
    finally:
        client.wait()
        server.wait()
    version = subprocess.run(["iperf3", "--version"], capture_output=True,
                             text=True).stdout.split("\n")[0]
    return {"iperf3": version, "msg_bytes": msg_bytes, "server": srv, "client": cli,
            "nonblocking_sockets": nonblocking}


def _nonblocking_sockets(pid: int) -> list:
    """Whether each of a process's sockets is non-blocking (O_NONBLOCK in its fdinfo)."""
    out = []
    for fd in sorted(Path(f"/proc/{pid}/fd").iterdir(), key=lambda p: int(p.name)):
        if os.readlink(fd).startswith("socket:"):
            flags = Path(f"/proc/{pid}/fdinfo/{fd.name}").read_text().split()[3]
            out.append(bool(int(flags, 8) & os.O_NONBLOCK))
    return out


def _cpu_times() -> dict:
    rows = [line.split() for line in Path("/proc/stat").read_text().splitlines()
            if line.startswith(("cpu0 ", "cpu1 "))]
    return {r[0]: [int(v) for v in r[1:]] for r in rows}


def which_end_binds(sizes=(128, 1024), seconds: float = 6.0, port: int = 5301) -> list:
    """Each pinned end's busy share (client CPU 0, server CPU 1) over loopback TCP."""
    rows = []
    for size in sizes:
        server = subprocess.Popen(["taskset", "-c", "1", "iperf3", "-s", "-1", "-p",
                                   str(port)], stdout=subprocess.DEVNULL,
                                  stderr=subprocess.DEVNULL)
        time.sleep(0.5)
        client = subprocess.Popen(["taskset", "-c", "0", "iperf3", "-c", "127.0.0.1", "-p",
                                   str(port), "-l", str(size), "-t", str(seconds), "--json"],
                                  stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                                  text=True)
        time.sleep(seconds / 3)
        before = _cpu_times()
        time.sleep(seconds / 2)
        after = _cpu_times()
        out, _ = client.communicate()
        server.wait()
        row = {"msg_bytes": size, "gbps": json.loads(out)["end"]["sum_received"][
            "bits_per_second"] / 1e9}
        for cpu, end in (("cpu0", "client"), ("cpu1", "server")):
            delta = [b - a for a, b in zip(before[cpu], after[cpu])]
            idle = delta[3] + delta[4]                  # idle and iowait
            row[f"{end}_cpu_busy"] = 1.0 - idle / sum(delta)
            row[f"{end}_cpu_usr"] = delta[0] / sum(delta)
        rows.append(row)
    return rows


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=str(HERE / "data" / "select-cost.json"))
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        costs = select_against_read(Path(tmp))
    data = {"kernel": platform.release(), "cpus": len(os.sched_getaffinity(0)),
            "measured": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
            "select_against_read": costs, "iperf3_calls": iperf3_calls(),
            "which_end_binds": which_end_binds()}
    Path(args.out).write_text(json.dumps(data, indent=1) + "\n")
    print(json.dumps(data["iperf3_calls"]), *(
        f"{r['msg_bytes']} B: read {r['read_ns']:.0f} ns, select {r['select_ns']:.0f} ns"
        for r in costs), *(f"{r['msg_bytes']} B: {r['gbps']:.2f} Gb/s, client CPU "
                           f"{r['client_cpu_busy']:.2f}, server CPU {r['server_cpu_busy']:.2f}"
                           for r in data["which_end_binds"]), sep="\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
