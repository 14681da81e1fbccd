"""Speed targets (issue: core model).  Run with ``make bench``; not in the default run.

Targets: ``import queuemodel`` under 0.3 s; one scalar ``predict`` under 200 us;
a vectorised ``predict`` over 1,000,000 single-flow scenarios at more than
1,000,000 scenarios per second.  Each test records its figure and checks it.
"""

import os
import subprocess
import sys

import numpy as np
import pytest

import queuemodel as qm

pytestmark = pytest.mark.benchmark

IMPORT_CODE = ("import time; t = time.perf_counter(); import queuemodel; "
               "print(time.perf_counter() - t)")


def test_import_time(benchmark):
    # A user's import reads compiled bytecode: pip compiles it at install (an editable
    # install writes it at the first import).  PYTHONDONTWRITEBYTECODE, set on some
    # machines (this project's sandboxes), would make every import compile the package's
    # sources again (about 50 ms of 0.2 s), so the child does without it and the first,
    # untimed import writes the caches.
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}

    def fresh_import():
        out = subprocess.run([sys.executable, "-c", IMPORT_CODE], capture_output=True,
                             text=True, check=True, env=env)
        return float(out.stdout)

    fresh_import()
    benchmark.pedantic(fresh_import, rounds=5, iterations=1)
    times = [fresh_import() for _ in range(5)]
    benchmark.extra_info["import_s_min"] = min(times)
    assert min(times) < 0.3


@pytest.mark.parametrize("path, proto", [("native", "tcp"), ("docker-overlay", "udp")])
def test_scalar_predict(benchmark, path, proto):
    qm.predict(path=path, proto=proto)
    benchmark(qm.predict, path=path, proto=proto)
    assert benchmark.stats.stats.min < 200e-6


def _grid():
    rng = np.random.default_rng(20261126)
    return dict(msg_bytes=rng.integers(64, 65507, 1_000_000),
                ghz=rng.uniform(1.5, 4.0, 1_000_000))


@pytest.mark.parametrize("path, proto", [("native", "tcp"), ("docker-overlay", "udp")])
def test_vectorised_predict_million(benchmark, path, proto):
    grid = _grid()
    result = benchmark.pedantic(qm.predict, kwargs=dict(path=path, proto=proto, **grid),
                                rounds=3, iterations=1)
    assert result.throughput_gbps.shape == (1_000_000,)
    per_second = 1_000_000 / benchmark.stats.stats.min
    benchmark.extra_info["scenarios_per_s"] = per_second
    assert per_second > 1_000_000


def test_calibrate(benchmark):
    from queuemodel.calibrate import calibrate

    fit = benchmark.pedantic(calibrate, rounds=1, iterations=1)
    assert fit.success


def test_multiflow_sweep(benchmark):
    # Issue target: flows 1..80 on all three paths and both protocols under 0.5 s,
    # placements drawn afresh (cold cache) each round.
    from queuemodel import flows

    def sweep_all():
        flows._patterns.cache_clear()
        flows._draws.cache_clear()
        return [qm.predict(path=p, proto=t, flows=np.arange(1, 81))
                for p in qm.PATHS for t in ("tcp", "udp")]

    results = benchmark.pedantic(sweep_all, rounds=3, iterations=1)
    assert len(results) == 6
    assert benchmark.stats.stats.min < 0.5


def test_reproduce(benchmark, tmp_path):
    # Issue target: the main job, figures and report, under 15 s including matplotlib start-up.
    def run():
        return subprocess.run([sys.executable, "-m", "queuemodel", "reproduce", "--out",
                               str(tmp_path)], capture_output=True, text=True, check=True)

    benchmark.pedantic(run, rounds=1, iterations=1)
    assert benchmark.stats.stats.min < 15.0
