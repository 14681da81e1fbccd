"""One-way latency of a light UDP flow against its rate (tests/udp_latency.py), and what
the model says of it with the VM's idle states (README "Latency and loss")."""

import collections
import json
import os
import shutil
import statistics
import sys
from pathlib import Path

import numpy as np
import pytest

import queuemodel as qm
from queuemodel.testbed import fit

sys.path.insert(0, str(Path(__file__).resolve().parent))

from udp_latency import row  # noqa: E402

DATA = Path(__file__).parent / "data" / "testbed" / "vm-2cpu-udp-latency.json"
PACED = DATA.parent / "vm-2cpu-udp-latency-paced.json"


def test_a_row_leaves_the_warm_up_out_and_summarises_the_rest():
    late = [10_000_000] + [1_000 * k for k in range(1, 10)]     # the first: a warm-up
    r = row("native", 100.0, 1024, late)
    assert r["count"] == 9 and r["mean_us"] == 5.0
    assert (r["median_us"], r["p90_us"], r["p99_us"]) == (5.0, 9.0, 9.0)


def _measured():
    by = collections.defaultdict(list)
    for r in json.loads(DATA.read_text())["rows"]:
        by[(r["path"], r["rate_per_s"])].append(r["mean_us"])
    return {key: statistics.fmean(means) for key, means in by.items()}


def test_the_vms_light_flows_wait_for_their_readers_idle_cpu_as_the_model_says():
    # Measured 2026-11-29 (Linux 6.18, 2 vCPUs at 2.2 GHz, two passes; 1 KB datagrams at
    # Poisson times, sender spinning on CPU 0, reader blocked on CPU 1): the mean latency
    # falls from 160 us (native) and 197 us (Docker) at 100 a second to 7 and 10 us at
    # 30,000, as the reader's CPU idles shorter and wakes from shallower states.  The
    # model on this VM's host (testbed_host, the paper's cycles at 2.2 GHz, the VM's idle
    # states read from the pipe curve, vm-2cpu-wake-curve.json) gives 150-153 us at 100/s,
    # 70-73 at 1,000 and 11-15 at 30,000; every rate within 40 % or 10 us (both ends are
    # Python here, iperf3 in the model; the passes differ by up to a third at 1,000-3,000
    # a second, where the deep step is hit in some gaps and not others).  The Docker path
    # at 100/s waits 44 us more than the model says (cold caches after a long idle?).  A
    # CPU that polls, the model without idle states, says 11-14 us at 100/s: 10x short.
    measured = _measured()
    host = fit.testbed_host(2, 2200.0, 0.0, flows=1, cycles_scale=1.0)
    for path in ("native", "docker-overlay"):
        rates = np.array(sorted(rate for p, rate in measured if p == path))
        assert rates.size == 7
        shown = np.array([measured[(path, rate)] for rate in rates])
        sc = dict(path=path, proto="udp", msg_bytes=1024, arrival_scv=1.0,
                  offered_gbps=rates * 1024 * 8 / 1e9)
        model = qm.predict(**sc, host=host).latency_mean_us
        polling = qm.predict(**sc, host=host, idle_states_us=()).latency_mean_us
        assert shown[0] > 10 * shown[-1]
        assert np.all(np.abs(model - shown) <= np.maximum(0.4 * shown, 10.0)), (path, model)
        assert shown[0] > 8 * polling[0]


_CAN_MEASURE = (hasattr(os, "geteuid") and os.geteuid() == 0 and (os.cpu_count() or 1) >= 2
                and shutil.which("ip") is not None)


@pytest.mark.slow
@pytest.mark.skipif(not _CAN_MEASURE, reason="needs root, two CPUs and ip")
def test_a_short_run_times_every_datagram():
    from udp_latency import measure

    r = measure("native", 2000.0, seconds=0.2)
    assert r["count"] == 360 and 0.0 < r["median_us"] < r["p99_us"] < 1e5


@pytest.mark.parametrize("pace", ["", " paced"])
def test_the_readme_tables_show_the_saved_runs_and_the_model(pace):
    import re

    readme = (Path(__file__).parent.parent / "README.md").read_text()
    table = dict(re.findall(rf"^\| ((?:native|Docker){pace}, (?:measured mean \(us\)|model|"
                            rf"measured)) \| ([0-9 |]+) \|$", readme, flags=re.M))
    assert len(table) == 4, "a light-flow latency table is gone or reworded"
    if pace:
        measured = {}
        for r in json.loads(PACED.read_text())["rows"]:
            measured.setdefault((r["path"], r["rate_per_s"]), []).append(r["mean_us"])
        measured = {k: statistics.fmean(v) for k, v in measured.items()}
    else:
        measured = _measured()
    host = fit.testbed_host(2, 2200.0, 0.0, flows=1, cycles_scale=1.0)
    for name, path in (("native", "native"), ("Docker", "docker-overlay")):
        rates = np.array(sorted(rate for p, rate in measured if p == path))
        model = qm.predict(path=path, proto="udp", msg_bytes=1024, arrival_scv=0.0 if pace
                           else 1.0, host=host, offered_gbps=rates * 1024 * 8 / 1e9
                           ).latency_mean_us
        shown = [measured[(path, rate)] for rate in rates]
        row = f"{name}{pace}, measured" + (" mean (us)" if name == "native" else "")
        assert table[row].split(" | ") == [str(round(v)) for v in shown]
        assert table[f"{name}{pace}, model"].split(" | ") == [str(round(v)) for v in model]



def test_paced_datagrams_wake_their_reader_from_the_step_their_gap_reaches():
    # The same runs with a fixed gap (--paced; 2026-11-29, two passes, both paths): each
    # gap is one idle, so the medians show the VM's steps (VM_IDLE_STATES_US) plainly:
    # 6.7-9.4 us at gaps of 33-100 us (no step), 21-30 us at 333 us-1 ms (past the 200 us
    # step, +14), 157-177 us at 3.3 ms (past the ~1 ms step, +155) and 210-228 us at
    # 10 ms, past anything the pipe curve reached (3 ms).  At 1,000 a second paced they
    # stay on the first step (idle just short of 1 ms) where Poisson gaps of the same mean
    # reach the deep one a third of the time (means 28-32 us against 54-75).
    from queuemodel.testbed.fit import VM_IDLE_STATES_US

    rows = json.loads(PACED.read_text())["rows"]
    assert len(rows) == 28 and all(r["paced"] for r in rows)
    base = min(r["median_us"] for r in rows)
    for r in rows:
        gap_us = 1e6 / r["rate_per_s"]
        if gap_us <= 100:
            assert r["median_us"] < base + 3.0, r
        elif gap_us <= 1000:
            assert abs(r["median_us"] - base - VM_IDLE_STATES_US[0][1]) < 10.0, r
        elif gap_us < 5000:
            assert abs(r["median_us"] - base - VM_IDLE_STATES_US[1][1]) < 20.0, r
        else:
            assert r["median_us"] > base + VM_IDLE_STATES_US[1][1] + 40.0, r
    poisson = _measured()
    for path in ("native", "docker-overlay"):
        paced = statistics.fmean(r["mean_us"] for r in rows
                                 if r["path"] == path and r["rate_per_s"] == 1000.0)
        assert paced < 35.0 < 50.0 < poisson[(path, 1000.0)]


def test_past_a_few_milliseconds_the_vms_wake_ups_vary_from_pass_to_pass():
    # Paced native runs at 4-8 ms gaps (two passes, 2026-11-29): the same gap woke the
    # reader in a median of 41-182 us, an idle the VM's host treats one way or another.
    rows = json.loads((DATA.parent / "vm-2cpu-udp-latency-paced-4-8ms.json").read_text())["rows"]
    assert len(rows) == 8
    medians = [r["median_us"] for r in rows]
    assert 40.0 < min(medians) < 45.0 and 180.0 < max(medians) < 185.0


def test_a_paced_readers_cpu_reaches_the_deepest_state_that_fits_in_its_gap():
    # The model for the paced runs (arrival_scv=0: solver.steady_idle_exit, the deepest
    # state whose residency and exit fit in what each gap leaves): 166-169 us at 100 and
    # 300 a second, 25-28 at 1,000-3,000, 12-15 at 10,000-30,000, against 202-227,
    # 134-149, 24-38 and 8-12 measured; every rate within 40 % or 10 us (the VM wakes
    # later past ~3 ms than its table, read from the pipe curve up to 3 ms, says).  With
    # the exponential idle of Poisson senders instead it said 40-43 us at 1,000 a second.
    rows = json.loads(PACED.read_text())["rows"]
    host = fit.testbed_host(2, 2200.0, 0.0, flows=1, cycles_scale=1.0)
    for path in ("native", "docker-overlay"):
        rates = np.array(sorted({r["rate_per_s"] for r in rows if r["path"] == path}))
        shown = np.array([statistics.fmean(r["mean_us"] for r in rows if r["path"] == path
                                           and r["rate_per_s"] == rate) for rate in rates])
        sc = dict(path=path, proto="udp", msg_bytes=1024, host=host,
                  offered_gbps=rates * 1024 * 8 / 1e9)
        paced = qm.predict(**sc, arrival_scv=0.0).latency_mean_us
        assert np.all(np.abs(paced - shown) <= np.maximum(0.4 * shown, 10.0)), (path, paced)
        at_random = qm.predict(**sc, arrival_scv=1.0).latency_mean_us
        thousand = int(np.flatnonzero(rates == 1000.0)[0])
        assert at_random[thousand] > shown[thousand] + 10.0 > paced[thousand]
