"""Calibration: the shipped fitted values are what calibrate() produces."""

import pytest

from queuemodel.calibrate import (
    DEFAULT_FIT, apply_parameters, calibrate, get_parameter, shipped_values,
)
from queuemodel.errors import CalibrationError, UnknownNameError


def test_refit_reproduces_shipped_values():
    fit = calibrate()
    assert fit.success
    shipped = shipped_values()
    for name, value in fit.values.items():
        # Shipped values are rounded to 0.1 cycle.
        assert value == pytest.approx(shipped[name], abs=0.1), name


def test_fit_hits_its_claims():
    fit = calibrate()
    assert max(abs(r) for r in fit.residuals.values()) < 1e-6


def test_at_most_six_free_parameters():
    assert len(DEFAULT_FIT.free) <= 6
    assert len(set(DEFAULT_FIT.claims)) == len(DEFAULT_FIT.claims)


def test_fit_recovers_a_perturbed_parameter():
    # Start the VXLAN cost far off: the fit must come back to the shipped value.
    paths, host = apply_parameters({"vxlan_rx.cost_cycles_per_unit": 500.0})
    fit = calibrate(("S2",), ("vxlan_rx.cost_cycles_per_unit",), paths=paths, host=host)
    assert fit.values["vxlan_rx.cost_cycles_per_unit"] == pytest.approx(
        get_parameter("vxlan_rx.cost_cycles_per_unit"), rel=1e-3)


def test_apply_parameters_changes_every_stage_of_that_name_only():
    paths, _ = apply_parameters({"bridge.cost_cycles_per_unit": 1234.0})
    docker = paths["docker-overlay"]
    bridges = [s for s in docker.tx + docker.rx if s.name == "bridge"]
    assert len(bridges) == 2 and all(s.cost_cycles_per_unit == 1234.0 for s in bridges)
    assert get_parameter("bridge.cost_cycles_per_unit") != 1234.0   # defaults untouched


def test_host_parameters_can_be_freed():
    fit = calibrate(("S1",), ("host.ghz",))
    assert fit.values["host.ghz"] == pytest.approx(2.2, rel=1e-3)


@pytest.mark.parametrize("claims, free, error", [
    (("S7",), DEFAULT_FIT.free, CalibrationError),       # a shape claim cannot be fitted
    (("S99",), DEFAULT_FIT.free, CalibrationError),
    (("S1",), (), CalibrationError),
    (("S1",), ("nosuchstage.cost_cycles_per_unit",), UnknownNameError),
    (("S1",), ("nic_rx.name",), UnknownNameError),
    (("S1",), ("host.nosuchfield",), UnknownNameError),
])
def test_bad_calibration_requests(claims, free, error):
    with pytest.raises(error):
        calibrate(claims, free)
