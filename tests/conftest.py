"""Shared test set-up: a derandomised hypothesis profile, so CI runs are repeatable."""

import os

from hypothesis import HealthCheck, settings

settings.register_profile(
    "ci", derandomize=True, max_examples=60, deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile("dev", max_examples=200, deadline=None,
                          suppress_health_check=[HealthCheck.too_slow])
# 1,500 fresh examples per law (make test-laws LAWS_PROFILE=deep, 9-13 minutes here):
# the size of run that found the cases tests/test_properties.py pins from 2026-11-27.
settings.register_profile("deep", max_examples=1500, deadline=None,
                          suppress_health_check=list(HealthCheck))
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))
