"""Calibration: the shipped fitted values are what calibrate() produces."""

import pytest

import dataclasses

import queuemodel as qm
from queuemodel.calibrate import (
    DEFAULT_FIT, DEFAULT_FITS, MULTIFLOW_FIT, apply_parameters, calibrate, calibrate_defaults,
    get_parameter, shipped_values,
)
from queuemodel.errors import CalibrationError, UnknownNameError


def test_refit_reproduces_shipped_values():
    fit = calibrate_defaults()
    assert fit.success
    shipped = shipped_values()
    assert sorted(fit.values) == sorted(shipped)
    for name, value in fit.values.items():
        # Shipped values are rounded to 0.1 cycle.
        assert value == pytest.approx(shipped[name], abs=0.1), name


def test_fit_hits_its_claims():
    fit = calibrate()
    assert max(abs(r) for r in fit.residuals.values()) < 1e-6


def test_at_most_six_free_parameters():
    # Issue 2 allows six for the one-flow model; issue 3 three more, fitted on at most
    # M1, M2 and one CPU claim.
    assert DEFAULT_FITS[0] is DEFAULT_FIT and len(DEFAULT_FIT.free) <= 6
    assert len(set(DEFAULT_FIT.claims)) == len(DEFAULT_FIT.claims)
    assert len(MULTIFLOW_FIT.free) <= 3
    assert set(MULTIFLOW_FIT.claims) <= {"M1", "M2", "M4"}


def test_one_flow_claims_ignore_the_many_flow_parameter():
    # The fits run one after the other only because one flow shares no receive queue.
    for run in (1.0, 64.0):
        for path, proto in (("native", "tcp"), ("docker-overlay", "tcp")):
            r = qm.predict(path=path, proto=proto, rx_flow_run_packets=run)
            base = qm.predict(path=path, proto=proto)
            assert r.throughput_gbps == base.throughput_gbps
            assert r.receiver_cpu == base.receiver_cpu


@pytest.mark.parametrize("start", [1.0, 30.0])
def test_the_m4_fit_reaches_m4_inside_its_range_from_either_start(start):
    # M4 (Docker / native receiver CPU at 80 flows: 2.5, range 2-3).  Since a CPU below
    # capacity runs faster beside siblings that rest (kernels.smt_speed, 2026-11-28),
    # native's lightly loaded CPUs cost less than Docker's busier ones; the readers'
    # wake-ups, counted with their latency since 2026-11-29 (a reader that keeps up
    # sleeps after every burst it drains, as measured, rather than at random), cost the
    # lightly loaded CPUs more, and the runs that reached 2.5 were two packets long, inside
    # the range: the fit ended there, off its bounds, from either start.  (Counted at
    # random, the shortest runs, one packet, brought it only to 2.67: the fit ended on
    # that bound.)  Since the VXLAN socket's line moves between the receive CPUs
    # (2026-11-30), Docker's 80-flow CPUs work more and the runs that reach 2.5 are 1.01
    # packets long: just off the bound, from either start.
    host = dataclasses.replace(qm.paper_testbed(), rx_flow_run_packets=start)
    fit = calibrate(MULTIFLOW_FIT.claims, MULTIFLOW_FIT.free, host=host)
    assert fit.at_bound == ()
    assert 1.0 < fit.values["host.rx_flow_run_packets"] < 3.0
    assert abs(fit.residuals["M4"]) < 1e-6
    assert qm.paper_testbed().rx_flow_run_packets == pytest.approx(
        fit.values["host.rx_flow_run_packets"], abs=0.01)


def test_a_fit_pushed_past_a_bound_ends_on_it():
    # With context switches nearly free, the readers' wake-ups add little to native's
    # 80-flow CPU and M4 wants a shorter run than one packet: the fit stops on 1.
    host = dataclasses.replace(qm.paper_testbed(), context_switch_cycles=200.0)
    fit = calibrate(MULTIFLOW_FIT.claims, MULTIFLOW_FIT.free, host=host)
    assert fit.values["host.rx_flow_run_packets"] == pytest.approx(1.0, abs=1e-6)
    assert fit.at_bound == ("host.rx_flow_run_packets",)
    assert fit.residuals["M4"] > 0.0          # still above 2.5: it wanted further
    # A free stage cost has no upper bound to end on.
    assert calibrate(("S1",), ("nic_rx.cost_cycles_per_unit",)).at_bound == ()


def test_a_cost_the_claims_drive_to_zero_is_reported_on_its_bound():
    # With a select and a read of 4000 cycles each, a native 8 KB datagram's reader alone
    # leaves S4's 9.3 Gb/s no room for reassembly: the fit drives ip_defrag towards 0
    # (it crept to 4e-8 cycles, 18 % short of S4, and reported success with nothing on
    # a bound before the zero was counted as one; 2026-11-29).
    paths, host = apply_parameters({"select.cost_cycles_per_unit": 4000.0,
                                    "recv_syscall.cost_cycles_per_unit": 4000.0})
    fit = calibrate(("S4",), ("ip_defrag.cost_cycles_per_unit",), paths=paths, host=host)
    assert fit.values["ip_defrag.cost_cycles_per_unit"] < 1e-6
    assert fit.at_bound == ("ip_defrag.cost_cycles_per_unit",)
    assert fit.residuals["S4"] < -0.1                 # below 9.3: it wanted less than 0


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
