"""Fitting the model's free parameters to claims.

A free parameter is named ``"stage.field"`` (every stage of that name, in
every path and on both sides, gets the value: the same kernel code) or
``"host.field"``.  :func:`calibrate` fits them with
:func:`scipy.optimize.least_squares` on the log of model/paper for each
value claim, so every claim weighs by its relative error.

The shipped defaults in :mod:`queuemodel.paths` are the result of
``calibrate()`` with :data:`DEFAULT_FIT`; the test suite re-runs that fit
and checks they still agree.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Mapping

import numpy as np

from .errors import CalibrationError, ModelInputError, UnknownNameError
from .host import HOST_FIELDS, Host
from .hosts import paper_testbed
from .paths import LINK_STAGES, MORE_PATHS, PATHS
from .stage import STAGE_COSTS, Path

__all__ = ["calibrate", "calibrate_defaults", "Calibration", "FitSpec", "DEFAULT_FIT",
           "MULTIFLOW_FIT", "DEFAULT_FITS", "FITTED_CLAIMS", "apply_parameters",
           "shipped_values", "get_parameter", "on_bound"]


@dataclass(frozen=True)
class FitSpec:
    """Which claims a fit uses and which parameters it frees."""

    claims: tuple
    free: tuple


#: The fit behind the shipped defaults: four numbers no published
#: measurement pins down, each fixed by the one claim that isolates it.
#: S1 (native TCP) fixes the NIC driver's per-packet receive cost; S2 (Linux
#: overlay TCP) the VXLAN receive stage; S4 (native UDP, 8 KB datagrams in
#: six fragments) IP reassembly; P6 (Docker UDP takes ~10x the interrupts of
#: TCP with small messages) how long a burst that left holds a sender's next
#: small TCP writes back (and so how many leave together).  Everything else
#: is a prior, so S3, S5, S6, S7-S9, H1, the M claims and P1-P5, P7 are
#: predictions.
DEFAULT_FIT = FitSpec(
    claims=("S1", "S2", "S4", "P6"),
    free=("nic_rx.cost_cycles_per_unit", "vxlan_rx.cost_cycles_per_unit",
          "ip_defrag.cost_cycles_per_unit", "host.tcp_coalesce_hold_us"),
)

#: The many-flow fit, after :data:`DEFAULT_FIT`: how finely flows interleave
#: at a shared receive queue (how much they dilute each other's GRO and how many
#: readers a polling period wakes), fitted to M4, the overlay's receiver CPU
#: over native's at 80 flows: runs of 1.09 packets (1.01 until every host drew the
#: same hash values, 2026-11-30; 2.09 until the VXLAN socket's
#: line moved between the receive CPUs, 2026-11-30, which works Docker's 80-flow CPUs
#: harder; from 2026-11-28, when
#: CPUs below capacity came to run faster beside resting hyper-thread
#: siblings, until the readers' wake-ups had their latency the next day, it
#: ended on its lower bound, runs of one packet, M4 2.67).  One flow shares
#: no queue, so this parameter moves none of DEFAULT_FIT's claims and the two
#: fits can run one after the other.
MULTIFLOW_FIT = FitSpec(claims=("M4",), free=("host.rx_flow_run_packets",))

#: The fits behind the shipped defaults, in the order they run.
DEFAULT_FITS = (DEFAULT_FIT, MULTIFLOW_FIT)

#: Every claim some shipped default was fitted to.
FITTED_CLAIMS = tuple(c for spec in DEFAULT_FITS for c in spec.claims)


@dataclass(frozen=True)
class Calibration:
    """Outcome of :func:`calibrate`.

    Attributes
    ----------
    values : dict
        Fitted value of each free parameter.
    residuals : dict
        Relative error ``model / paper - 1`` of each fitted claim at the fit.
    paths : dict
        The built-in paths with the fitted stage costs.
    host : Host
        The host with any fitted host fields.
    success : bool
        Whether the optimiser reported convergence.
    message : str
        The optimiser's message.
    at_bound : tuple of str
        Parameters that ended on a bound of their allowed range: the claims
        pull them further than they may go, so those claims' residuals are
        what the mechanism cannot reach.
    """

    values: Mapping
    residuals: Mapping
    paths: Mapping
    host: Host
    success: bool
    message: str
    at_bound: tuple = ()

    def predict(self, **kwargs):
        """:func:`queuemodel.predict` with the fitted parameters."""
        from .model import predict

        path = kwargs.pop("path", "native")
        if isinstance(path, str) and path in self.paths:
            path = self.paths[path]
        kwargs.setdefault("host", self.host)
        return predict(path=path, **kwargs)


def _split(name: str) -> tuple:
    if not isinstance(name, str) or "." not in name:
        raise UnknownNameError("parameter", name, "'stage.field' or 'host.field'")
    return tuple(name.split(".", 1))


def _as_number(name: str, value, allowed: str) -> float:
    """A parameter's value as a float (the stage or host checks its range when set)."""
    try:
        return float(value)
    except (TypeError, ValueError):
        raise ModelInputError(name, value, allowed) from None


def get_parameter(name: str, paths: Mapping | None = None, host: Host | None = None) -> float:
    """Current value of a named parameter.

    Parameters
    ----------
    name : str
        ``"stage.field"`` or ``"host.field"``.
    paths : dict, optional
        Paths to look in (default the built-in ones).
    host : Host, optional
        Host to look in (default the paper's testbed).

    Returns
    -------
    float

    Examples
    --------
    >>> get_parameter("host.ghz")
    2.2
    """
    owner, fieldname = _split(name)
    if owner == "host":
        if fieldname not in HOST_FIELDS:
            raise UnknownNameError("parameter", name, "a numeric host field")
        return float(getattr(host or paper_testbed(), fieldname))
    # By default every built-in path (the paper's and those beyond it) and the stages a
    # veth link swaps in (a testbed's).
    stages = [s for path in (paths or {**PATHS, **MORE_PATHS}).values()
              for s in path.tx + path.rx]
    if paths is None:
        stages += list(LINK_STAGES)
    for stage in stages:
        if stage.name == owner:
            if fieldname not in STAGE_COSTS:
                raise UnknownNameError("parameter", name,
                                       "a stage cost field (" + ", ".join(STAGE_COSTS) + ")")
            return float(getattr(stage, fieldname))
    raise UnknownNameError("parameter", name, "a stage name of a built-in path, or host")


def apply_parameters(values: Mapping, paths: Mapping | None = None,
                     host: Host | None = None) -> tuple:
    """Return (paths, host) with named parameters replaced.

    Parameters
    ----------
    values : dict
        Parameter name to value.
    paths : dict, optional
        Paths to start from (default the built-in ones).
    host : Host, optional
        Host to start from (default the paper's testbed).

    Returns
    -------
    tuple
        ``(paths, host)``, new objects; the inputs are unchanged.
    """
    paths = dict(paths or PATHS)
    host = host or paper_testbed()
    stage_values: dict = {}
    host_values: dict = {}
    for name, value in values.items():
        get_parameter(name, paths, host)              # validates the name
        owner, fieldname = _split(name)
        if owner == "host":
            host_values[fieldname] = _as_number(name, value, "a number")
        else:
            stage_values.setdefault(owner, {})[fieldname] = _as_number(
                name, value, "a finite number >= 0")
    if host_values:
        host = dataclasses.replace(host, **host_values)

    def fix(stages):
        return tuple(dataclasses.replace(s, **stage_values[s.name]) if s.name in stage_values
                     else s for s in stages)

    new_paths = {k: dataclasses.replace(p, tx=fix(p.tx), rx=fix(p.rx)) if isinstance(p, Path)
                 else p for k, p in paths.items()}
    return new_paths, host


def shipped_values(spec: FitSpec | None = None) -> dict:
    """Values of the free parameters as shipped in :mod:`queuemodel.paths`.

    Parameters
    ----------
    spec : FitSpec, optional
        Which parameters (default those of every fit in :data:`DEFAULT_FITS`).

    Returns
    -------
    dict
        Parameter name to its current default value.

    Examples
    --------
    >>> sorted(shipped_values())[:2]
    ['host.rx_flow_run_packets', 'host.tcp_coalesce_hold_us']
    """
    names = spec.free if spec else [n for s in DEFAULT_FITS for n in s.free]
    return {name: get_parameter(name) for name in names}


def _log_bounds(name: str) -> tuple:
    """The range a parameter may take, in log space (a host field's own limits)."""
    owner, fieldname = _split(name)
    low, high = 0.0, math.inf                      # stage costs: any positive number
    if owner == "host":
        meta = {f.name: f.metadata for f in dataclasses.fields(Host)}[fieldname]
        low, high = meta.get("low", low), meta.get("high", high)
    return (math.log(low) if low > 0 else -math.inf,
            math.log(high) if math.isfinite(high) else math.inf)


#: A fitted value below this (in the parameter's own unit: cycles, microseconds...)
#: whose range starts at zero has been driven to zero: the log-space range has no
#: finite lower end, so the fit only creeps towards it (a cost at 4e-8 cycles seen),
#: and the claims want it lower than nothing.
_ZERO = 1e-6


def on_bound(name: str, value: float) -> bool:
    """Whether a parameter's value sits on a bound of its allowed range.

    A parameter whose range starts at zero (a stage cost, some host fields)
    is on its bound when the fit has driven it to zero.

    Examples
    --------
    >>> on_bound("host.rx_flow_run_packets", 1.0), on_bound("host.ghz", 2.2)
    (True, False)
    >>> on_bound("ip_defrag.cost_cycles_per_unit", 4e-8)
    True
    """
    low, high = _log_bounds(name)
    if low == -math.inf and value < _ZERO:
        return True
    # least_squares stops short of a bound it runs into by about its step tolerance.
    return any(math.isfinite(b) and math.isclose(math.log(value), b, abs_tol=1e-6)
               for b in (low, high))


def calibrate(claims=DEFAULT_FIT.claims, free=DEFAULT_FIT.free, *, host: Host | None = None,
              paths: Mapping | None = None) -> Calibration:
    """Fit free parameters to value claims with ``scipy.optimize.least_squares``.

    Parameters
    ----------
    claims : sequence of str
        Ids of value claims (``kind = "value"``) to fit.
    free : sequence of str
        Parameters to free, ``"stage.field"`` or ``"host.field"``.
    host : Host, optional
        Starting host (default the paper's testbed).
    paths : dict, optional
        Starting paths (default the built-in ones).

    Returns
    -------
    Calibration

    Raises
    ------
    CalibrationError
        If a claim is unknown or not a value claim, or no parameter is free.
    UnknownNameError
        If a parameter name does not exist.

    Notes
    -----
    Parameters are fitted in log space (they are positive costs), starting
    from their current values and kept within a host field's allowed range;
    residuals are ``log(model / paper)``.  A parameter that ends on a bound
    of its range is one the claims would push further than it may go.

    Examples
    --------
    >>> fit = calibrate()
    >>> sorted(fit.values) == sorted(DEFAULT_FIT.free)
    True
    >>> max(abs(r) for r in fit.residuals.values()) < 1e-6
    True
    """
    from scipy.optimize import least_squares

    from .claims import ANSWERED, _quantity, evaluate_claim, load_claims

    free = tuple(free)
    if not free:
        raise CalibrationError("calibrate: name at least one free parameter")
    by_id = {c.id: c for c in load_claims()}
    chosen = []
    for cid in claims:
        claim = by_id.get(cid)
        value = claim is not None and claim.kind == "value" and "quantity" in claim.data
        ratio = claim is not None and claim.kind == "ratio" and cid in ANSWERED
        if not (value or ratio):
            raise CalibrationError(f"calibrate: claim {cid!r} is not a value or ratio claim "
                                   "the model answers (only those have a number to fit)")
        chosen.append(claim)
    host0 = host or paper_testbed()
    paths0 = dict(paths or PATHS)
    x0 = np.log([max(get_parameter(n, paths0, host0), 1e-9) for n in free])
    low, high = np.array([_log_bounds(n) for n in free]).T
    # Start strictly inside the range: trf scales the gradient by the distance to a bound,
    # so a parameter that starts on one (a previous fit's) could never leave it.
    inside = 1e-3 * np.minimum(1.0, high - low)
    x0 = np.clip(x0, low + inside, high - inside)

    def model_values(x):
        ps, h = apply_parameters(dict(zip(free, np.exp(x))), paths0, host0)

        def pred(path, **kw):
            from .model import predict
            return predict(path=ps[path], host=h, **kw)

        # model / paper for each claim: a value claim's quantity, a ratio claim's checked number
        return np.array([_quantity(c.data["quantity"], c.data, pred) / c.data["value"]
                         if c.kind == "value" else 1.0 + evaluate_claim(c, pred).error
                         for c in chosen])

    def residuals(x):
        return np.log(model_values(x))

    fit = least_squares(residuals, x0, method="trf", bounds=(low, high), x_scale=1.0,
                        xtol=1e-12, ftol=1e-12, gtol=1e-12, diff_step=1e-6)
    # trf stays strictly inside the bounds; a value within 1e-9 of one is on it
    x = np.where(fit.x - low < 1e-9, low, np.where(high - fit.x < 1e-9, high, fit.x))
    values = {n: float(v) for n, v in zip(free, np.exp(x))}
    final = model_values(x) - 1.0
    ps, h = apply_parameters(values, paths0, host0)
    if not all(math.isfinite(v) for v in values.values()):
        raise CalibrationError("calibrate: the fit diverged")
    bound = tuple(n for n, v in values.items() if on_bound(n, v))
    return Calibration(values=values, residuals={c.id: float(r) for c, r in zip(chosen, final)},
                       paths=ps, host=h, success=bool(fit.success), message=str(fit.message),
                       at_bound=bound)


def calibrate_defaults(specs=DEFAULT_FITS, *, host: Host | None = None,
                       paths: Mapping | None = None) -> Calibration:
    """Run several fits one after another, each from where the last left off.

    Parameters
    ----------
    specs : sequence of FitSpec
        The fits, in order (default :data:`DEFAULT_FITS`, the shipped defaults).
    host : Host, optional
        Starting host (default the paper's testbed).
    paths : dict, optional
        Starting paths (default the built-in ones).

    Returns
    -------
    Calibration
        Every fit's values and residuals; the last fit's paths and host;
        success only if every fit converged.

    Examples
    --------
    >>> fit = calibrate_defaults()
    >>> sorted(fit.residuals) == sorted(FITTED_CLAIMS)
    True
    """
    values, residuals, messages, bound, success = {}, {}, [], (), True
    for spec in specs:
        fit = calibrate(spec.claims, spec.free, host=host, paths=paths)
        host, paths = fit.host, fit.paths
        values.update(fit.values)
        residuals.update(fit.residuals)
        messages.append(fit.message)
        bound += fit.at_bound
        success = success and fit.success
    return Calibration(values=values, residuals=residuals, paths=paths, host=host,
                       success=success, message="; ".join(dict.fromkeys(messages)),
                       at_bound=bound)
