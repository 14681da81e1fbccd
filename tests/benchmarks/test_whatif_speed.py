"""Inverse queries (issue: what-if engine).  Target: one inverse query under 50 ms.

Run with ``make bench``; not in the default run.
"""

import pytest

import queuemodel as qm

pytestmark = pytest.mark.benchmark

CASES = {
    "clock for 30 Gb/s native TCP": ("throughput_gbps>=30", "ghz", (1.0, 6.0),
                                     {"path": "native"}),
    "cores for 36 Gb/s, 80 Docker TCP flows": ("throughput_gbps>=36", "physical_cores",
                                               (1, 64), {"path": "docker-overlay",
                                                         "flows": 80}),
    "largest load with p99 <= 500 us, Docker UDP": ("latency_p99_us<=500", "offered_gbps",
                                                    (0.01, 3.8), {"path": "docker-overlay",
                                                                  "proto": "udp"}),
}


@pytest.mark.parametrize("case", list(CASES))
def test_inverse_query(benchmark, case):
    args = CASES[case]
    qm.solve(*args)                                  # warm the placement caches
    answer = benchmark.pedantic(qm.solve, args=args, rounds=5, iterations=1)
    assert answer.evaluations > 0
    assert benchmark.stats.stats.min < 0.05
