"""What-if and inverse questions over scenarios.

A *scenario* is a mapping of the names :func:`queuemodel.predict` takes
(``path``, ``proto``, ``flows``, ``msg_bytes``, ``offered_gbps``,
``arrival_scv``, ``host``), of host fields (``ghz``, ``link_gbps``, ...;
``"host.ghz"``, as :mod:`queuemodel.calibrate` names them, is ``ghz``) and
of stage costs named ``"stage.field"`` (``"vxlan_rx.cost_cycles_per_unit"``:
every stage of that name on the scenario's path; a stage of another built-in
path is accepted and changes nothing).  :func:`whatif` compares a
scenario with a changed copy, output by output; :func:`solve` finds the value
of one free input at which an output crosses a target.
"""

from __future__ import annotations

import dataclasses
import math
import re
from dataclasses import dataclass
from typing import Any, Mapping

import numpy as np

from .errors import ModelInputError, UnknownNameError

__all__ = ["whatif", "WhatIf", "solve", "Solution", "TargetUnreachableError", "run",
           "canonical_scenario", "with_stage_costs", "SCENARIO_KEYS"]

#: Scenario names that are not host fields or stage costs.
SCENARIO_KEYS = ("path", "proto", "flows", "msg_bytes", "offered_gbps", "arrival_scv", "host")


class TargetUnreachableError(ModelInputError):
    """An inverse query's target is not met anywhere within the bounds."""


def _canonical(name):
    """A scenario name as :func:`predict` takes it: ``"host.ghz"`` (the name
    :func:`~queuemodel.calibrate.calibrate` gives a host field) is ``"ghz"``."""
    from .host import HOST_FIELDS

    if isinstance(name, str) and name.startswith("host."):
        field = name[len("host."):]
        if field not in HOST_FIELDS:
            raise UnknownNameError("scenario field", name,
                                   "host.FIELD with a host field: " + ", ".join(HOST_FIELDS))
        return field
    return name


def canonical_scenario(scenario: Mapping | None) -> dict:
    """A copy of a scenario with its names as :func:`predict` takes them.

    ``"host.FIELD"`` (the name :func:`~queuemodel.calibrate.calibrate` gives
    a host field) becomes ``"FIELD"``; a name given both ways is refused.

    Examples
    --------
    >>> canonical_scenario({"path": "native", "host.ghz": 3.0})
    {'path': 'native', 'ghz': 3.0}
    """
    out = {}
    for given, value in dict(scenario or {}).items():
        name = _canonical(given)
        if name in out:
            raise ModelInputError("scenario field", given,
                                  f"a name given once ({name} is in the scenario too)")
        out[name] = value
    return out


def _split_scenario(scenario: Mapping) -> tuple:
    """(predict keyword arguments, stage-cost values) of a scenario, names checked."""
    from .host import HOST_FIELDS

    kwargs, stages = {}, {}
    for name, value in canonical_scenario(scenario).items():
        if name in SCENARIO_KEYS or name in HOST_FIELDS:
            kwargs[name] = value
        elif isinstance(name, str) and "." in name:
            stages[name] = value
        else:
            raise UnknownNameError("scenario field", name,
                                   "a workload name (" + ", ".join(SCENARIO_KEYS) +
                                   "), a host field, or a stage cost 'stage.field'")
    return kwargs, stages


def run(scenario: Mapping | None = None):
    """Predict one scenario given as a mapping (see the module docstring).

    Parameters
    ----------
    scenario : dict, optional
        Names to values; what it omits takes :func:`queuemodel.predict`'s defaults.

    Returns
    -------
    Result

    Examples
    --------
    >>> r = run({"path": "docker-overlay", "proto": "tcp", "vxlan_rx.cost_cycles_per_unit": 0})
    >>> r.throughput_gbps > 6.5
    True
    """
    from .model import predict

    kwargs, stages = _split_scenario(dict(scenario or {}))
    if stages:
        host = kwargs.get("host")
        veth = kwargs.get("veth_link", host.veth_link if host is not None else False)
        kwargs["path"] = with_stage_costs(kwargs.get("path", "native"), stages, veth)
    return predict(**kwargs)


def with_stage_costs(path, costs: Mapping, veth_link=False, others=()):
    """A path with some of its stages' costs replaced.

    Parameters
    ----------
    path : str or Path
        A built-in path's name or a path of your own.
    costs : dict
        ``{"stage.field": value}``: every stage of that name on the path (its
        own stages included).  A stage of another built-in path is accepted and
        changes nothing here (so one set of costs serves several paths).
    veth_link : bool
        Whether the host's link is a veth pair (:func:`queuemodel.paths.over_veth`):
        then the veth link's stages are on the path and take costs too.
    others : sequence of str or Path
        Paths that share ``costs`` with this one (a sweep's): a stage of
        theirs is accepted too and changes nothing here.

    Returns
    -------
    Path

    Raises
    ------
    ModelInputError
        For a name that is no stage cost of this path or of a built-in one
        (``host.FIELD`` included: a host field is no stage's), or a value that
        is no number or out of its range.

    Examples
    --------
    >>> p = with_stage_costs("docker-overlay", {"vxlan_rx.cost_cycles_per_unit": 1000,
    ...                                         "ip_defrag.cost_cycles_per_unit": 5})
    >>> [s.cost_cycles_per_unit for s in p.rx if s.name in ("vxlan_rx", "ip_defrag")]
    [1000.0, 5.0]
    """
    from ._checks import flag
    from .calibrate import _as_number, apply_parameters, get_parameter
    from .paths import get_path, over_veth

    path = get_path(path)
    if not costs:
        return path
    others = [get_path(p) for p in others]
    if flag("host.veth_link", veth_link):
        path = over_veth(path)
    here = {s.name for s in path.tx + path.rx}
    for name, value in costs.items():
        if isinstance(name, str) and name.startswith("host."):
            raise UnknownNameError("stage cost", name, "'stage.field' (a host field is set "
                                   "on the host)")
        # A stage of this path (one a user added too), of the others given, or of a
        # built-in path: valid (and moot here unless this path has it).
        owner = name.split(".", 1)[0] if isinstance(name, str) else None
        having = [p for p in (path, *others) if owner in {s.name for s in p.tx + p.rx}]
        get_parameter(name, {having[0].name: having[0]} if having else None)
        number = _as_number(name, value, "a finite number >= 0")   # checked even if moot
        if not (math.isfinite(number) and number >= 0.0):
            raise ModelInputError(name, value, "a finite number >= 0")
    mine = {k: v for k, v in costs.items() if k.split(".", 1)[0] in here}
    return apply_parameters(mine, {path.name: path})[0][path.name]


@dataclass(frozen=True)
class WhatIf:
    """A scenario, a changed copy of it, and how every output moved.

    Attributes
    ----------
    base, changed : dict
        The two scenarios.
    baseline, result : Result
        Their predictions.
    difference : dict
        For every numeric output (:meth:`queuemodel.Result.outputs`) both
        scenarios have: ``changed - base``; booleans and text report whether
        they differ.  An output only one has (a stage of one path, when the
        change is the path) is left out; :meth:`table` shows it beside ``-``.
    """

    base: Mapping
    changed: Mapping
    baseline: Any
    result: Any
    difference: Mapping

    def to_dict(self) -> dict:
        """JSON-ready: both scenarios' inputs, both results and the differences."""
        from .model import _plain

        def inputs(scenario):
            return {k: (v.name if hasattr(v, "name") and not isinstance(v, (str, float, int))
                        else _plain(v)) for k, v in scenario.items()}

        return {"base": inputs(self.base), "changed": inputs(self.changed),
                "baseline": _plain(self.baseline.outputs()),
                "result": _plain(self.result.outputs()),
                "difference": _plain(self.difference)}

    def table(self, all_outputs: bool = False) -> str:
        """A readable comparison: output, base, changed, change and change in %.

        Parameters
        ----------
        all_outputs : bool
            Show every output; by default those that changed and the headline ones.
        """
        if np.ndim(self.baseline.throughput_gbps) or np.ndim(self.result.throughput_gbps):
            raise ModelInputError("whatif", "a grid of scenarios",
                                  "one scenario for a table (to_dict() and difference hold "
                                  "a grid's, element by element)")
        headline = {"throughput_gbps", "bottleneck", "latency_mean_us", "irq_rate_per_s",
                    "drop_fraction"}
        before, after = self.baseline.outputs(), self.result.outputs()
        changes = ", ".join(f"{k}={_show(v)}" for k, v in self.changed.items()
                            if self.base.get(k, _MISSING) is not v
                            and self.base.get(k, _MISSING) != v)
        lines = [f"what if {changes or 'nothing changes'}:",
                 f"  {'output':34} {'base':>14} {'changed':>14} {'change':>12} {'%':>8}"]
        for name in list(before) + [k for k in after if k not in before]:
            if name not in self.difference:         # on one path only
                old, new = (_show_output(d.get(name)) for d in (before, after))
                lines.append(f"  {name:34} {old:>14} {new:>14}")
                continue
            old, new = before[name], after[name]
            delta = self.difference[name]
            if not (all_outputs or name in headline or _moved(delta)):
                continue
            if isinstance(old, str) or isinstance(old, (bool, np.bool_)):
                lines.append(f"  {name:34} {str(old):>14} {str(new):>14}")
                continue
            pct = (100.0 * delta / old) if old and math.isfinite(old) and math.isfinite(
                delta) else float("nan")
            pct_text = f"{pct:+7.1f}%" if math.isfinite(pct) else ""
            lines.append(f"  {name:34} {old:14.4g} {new:14.4g} {delta:+12.4g} {pct_text:>8}")
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.table()


_MISSING = object()


def _show(value) -> str:
    return getattr(value, "name", None) or str(value)


def _show_output(value) -> str:
    return "-" if value is None else f"{value:.4g}"


def _moved(delta) -> bool:
    if isinstance(delta, (bool, np.bool_)):
        return bool(delta)
    return bool(np.any(np.asarray(delta) != 0))


def _difference(before, after):
    if isinstance(before, str) or isinstance(after, str):
        return bool(np.any(np.asarray(before) != np.asarray(after)))
    if isinstance(before, (bool, np.bool_)) or (isinstance(before, np.ndarray)
                                                and before.dtype.kind in "bOU"):
        return np.asarray(before) != np.asarray(after)      # flags, and names in a grid
    with np.errstate(invalid="ignore"):
        delta = np.subtract(after, before, dtype=float)
    # inf - inf (both unstable) is no change
    delta = np.where(np.equal(before, after), 0.0, delta)
    return float(delta) if np.ndim(delta) == 0 else delta


def whatif(base: Mapping | None = None, **changes) -> WhatIf:
    """Compare a scenario with a changed copy of it, for every output.

    Parameters
    ----------
    base : dict, optional
        The scenario (see the module docstring); default the native TCP
        flow on the paper's testbed.
    **changes
        Names to new values; stage costs can be passed with
        ``**{"vxlan_rx.cost_cycles_per_unit": 1000}``.

    Returns
    -------
    WhatIf

    Raises
    ------
    UnknownNameError
        For a name that is no workload name, host field or stage cost.
    ModelInputError
        For a value out of its field's range.

    Examples
    --------
    >>> w = whatif({"path": "docker-overlay", "proto": "tcp"}, tunnel_offload=True)
    >>> round(w.difference["throughput_gbps"], 1)
    14.6
    >>> print(w.table().splitlines()[0])
    what if tunnel_offload=True:
    """
    base = canonical_scenario(base)
    changed = {**base, **canonical_scenario(changes)}
    baseline, result = run(base), run(changed)
    before, after = baseline.outputs(), result.outputs()
    difference = {k: _difference(before[k], after[k]) for k in before if k in after}
    return WhatIf(base=base, changed=changed, baseline=baseline, result=result,
                  difference=difference)


@dataclass(frozen=True)
class Solution:
    """Answer of :func:`solve`.

    Attributes
    ----------
    free : str
        The input that was varied.
    value : float
        Its value at the threshold: the smallest (or largest) value in the
        bounds that meets the target, whichever end the feasible set reaches.
    target : str
        The output and condition, e.g. ``"throughput_gbps >= 40"``.
    achieved : float
        The output at ``value``.
    feasible : str
        ``"above"`` when every larger value also meets the target,
        ``"below"`` when every smaller one does, ``"everywhere"`` when the
        output is the same at every point of the grid and meets it (``value``
        is then the lower bound).
    evaluations : int
        Model evaluations used.
    """

    free: str
    value: float
    target: str
    achieved: float
    feasible: str
    evaluations: int

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


_TARGET = re.compile(r"^\s*([A-Za-z_][\w.:-]*)\s*(>=|<=|=)\s*([-+0-9.eE]+|inf)\s*$")


def _parse_target(target: str) -> tuple:
    match = _TARGET.match(target or "")
    if not match:
        raise ModelInputError("target", target, "OUTPUT>=VALUE, OUTPUT<=VALUE or OUTPUT=VALUE "
                              "(= means reach at least), e.g. throughput_gbps>=40")
    name, op, value = match.groups()
    return name, ">=" if op == "=" else op, float(value)


def _field_spec(free: str) -> dict:
    """Range metadata of the free input (host field, workload number or stage cost)."""
    from .host import Host

    spec = {f.name: f.metadata for f in dataclasses.fields(Host)}
    if free in spec:
        meta = spec[free]
        if meta.get("kind") != "number":
            raise ModelInputError("free", free, "a numeric field (a flag or list cannot be "
                                  "solved for; compare its settings with whatif)")
        return {"low": meta.get("low", -math.inf), "high": meta.get("high", math.inf),
                "integer": meta.get("integer", False), "low_open": meta.get("low_open", False)}
    workload = {"flows": (1, 100_000, True), "msg_bytes": (1, 1 << 40, True),
                "offered_gbps": (0.0, math.inf, False), "arrival_scv": (0.0, 100.0, False)}
    if free in workload:
        low, high, integer = workload[free]
        return {"low": low, "high": high, "integer": integer,
                "low_open": free == "offered_gbps"}
    if "." in free:
        from .calibrate import get_parameter

        get_parameter(free)                                  # checks the name
        return {"low": 0.0, "high": math.inf, "integer": False, "low_open": False}
    raise UnknownNameError("free", free, "a numeric host field, flows, msg_bytes, "
                           "offered_gbps, arrival_scv or a stage cost 'stage.field'")


def solve(target: str, free: str, bounds: tuple | None = None,
          scenario: Mapping | None = None, *, grid_points: int = 9) -> Solution:
    """Find where an output crosses a target as one input varies.

    The output is taken as monotone in the free input over ``bounds``
    (checked at a grid of points).  The answer is the threshold: for an
    output that rises with the input, the smallest value that meets
    ``>=`` (the largest that meets ``<=``); for a falling one the other
    way round.  A grid brackets the crossing in one vectorised call, then
    :func:`scipy.optimize.brentq` (continuous inputs) or integer bisection
    (integer inputs) pins it down.

    Parameters
    ----------
    target : str
        ``"OUTPUT>=VALUE"``, ``"OUTPUT<=VALUE"`` or ``"OUTPUT=VALUE"`` (read
        as ``>=``), where OUTPUT is any numeric name of
        :meth:`queuemodel.Result.outputs`.
    free : str
        A numeric host field, ``flows``, ``msg_bytes``, ``offered_gbps``,
        ``arrival_scv`` or a stage cost ``"stage.field"``.
    bounds : tuple of float, optional
        ``(low, high)`` to search; default the field's valid range where
        finite.  Bounds outside the valid range are refused, never
        extrapolated.
    scenario : dict, optional
        The rest of the scenario (see the module docstring).
    grid_points : int
        Points of the bracketing grid: evenly spaced, or evenly on a log scale
        when the bounds are positive and span a factor of 1,000 or more (flows
        1..100,000, a buffer's bytes), so small answers are bracketed closely
        and few points land where the model is slow (many flows).

    Returns
    -------
    Solution

    Raises
    ------
    TargetUnreachableError
        If no value within the bounds meets the target; the message gives
        the best value found and where.
    ModelInputError
        For a malformed target, an unknown or non-numeric free input, or bounds
        outside its valid range.

    Examples
    --------
    >>> s = solve("throughput_gbps>=30", "ghz", (1.0, 6.0), {"path": "native"})
    >>> round(s.value, 3), s.feasible
    (2.993, 'above')
    """
    from .model import NUMERIC_OUTPUTS, OUTPUT_MAPS

    output, op, wanted = _parse_target(target)
    scenario = canonical_scenario(scenario)
    free = _canonical(free)
    if output not in NUMERIC_OUTPUTS and output.split(".")[0] not in OUTPUT_MAPS:
        raise UnknownNameError("target output", output,
                               "a numeric output: " + ", ".join(NUMERIC_OUTPUTS)
                               + " or group.key")
    spec = _field_spec(free)
    if bounds is None:
        # The field's valid range; an open end is the nearest number inside it.
        low = np.nextafter(spec["low"], math.inf) if spec["low_open"] else spec["low"]
        bounds = (low, spec["high"])
    low, high = float(bounds[0]), float(bounds[1])
    if not (math.isfinite(low) and math.isfinite(high)) or low >= high:
        raise ModelInputError("bounds", (low, high), f"finite with low < high for {free} "
                              f"(valid range {spec['low']:g}..{spec['high']:g})")
    if low < spec["low"] or high > spec["high"] or (spec["low_open"] and low == spec["low"]):
        raise ModelInputError("bounds", (low, high),
                              f"within {free}'s valid range {spec['low']:g}..{spec['high']:g}"
                              + (f" ({free} > {spec['low']:g})" if spec["low_open"] else ""))
    integer = spec["integer"]
    if integer:
        low, high = math.ceil(low), math.floor(high)
    count = [0]

    def out(x):
        count[0] += np.size(x)
        outputs = run({**scenario, free: x}).outputs()
        if output not in outputs:
            raise UnknownNameError("target output", output, "an output of this path: "
                                   + ", ".join(k for k in outputs if "." in k))
        return np.asarray(outputs[output], dtype=float)

    if low > 0 and high >= 1000 * low:
        # Geometric, its inner points within 15 decades of the top: an open lower end
        # (the least number above 0) would otherwise put them 40 decades apart.
        spaced = np.geomspace(max(low, high * 1e-15), high, grid_points)
    else:
        spaced = np.linspace(low, high, grid_points)
    spaced[0], spaced[-1] = low, high                 # exactly the bounds (geomspace rounds)
    xs = np.unique(np.round(spaced)) if integer else spaced
    ys = out(xs) if "." not in free else np.array([float(out(float(x))) for x in xs])
    meets = ys >= wanted if op == ">=" else ys <= wanted
    if not meets.any():
        best = int(np.argmax(ys) if op == ">=" else np.argmin(ys))
        raise TargetUnreachableError(
            "target", target,
            f"reachable for {free} in {low:g}..{high:g}; the best found is {output} = "
            f"{ys[best]:.6g} at {free} = {xs[best]:.6g}")
    rising = ys[-1] >= ys[0]
    if meets.all():
        feasible = "above" if rising == (op == ">=") else "below"
    elif meets[-1] and not meets[0]:
        feasible = "above"
    elif meets[0] and not meets[-1]:
        feasible = "below"
    else:
        feasible = "none"
    run_ok = meets[int(np.argmax(meets)):] if feasible == "above" else \
        meets[: len(meets) - int(np.argmax(meets[::-1]))]
    if feasible == "none" or not run_ok.all():
        raise ModelInputError("bounds", (low, high),
                              f"a range over which {output} is monotone in {free} (it "
                              "meets the target only in places); narrow the bounds")
    if meets.all():
        if np.all(ys == ys[0]):     # flat and met: no threshold (a loss of 0 throughout)
            feasible = "everywhere"
        end = -1 if feasible == "below" else 0
        return Solution(free, float(xs[end]), f"{output} {op} {wanted:g}", float(ys[end]),
                        feasible, count[0])
    if feasible == "above":
        k = int(np.argmax(meets))                        # first point that meets it
        lo_x, hi_x = xs[k - 1], xs[k]
    else:
        k = len(meets) - 1 - int(np.argmax(meets[::-1]))  # last point that meets it
        lo_x, hi_x = xs[k], xs[k + 1]
    if integer:
        good, bad = (hi_x, lo_x) if feasible == "above" else (lo_x, hi_x)
        achieved = float(ys[xs == good][0])
        while abs(good - bad) > 1:
            mid = (good + bad) // 2
            got = float(out(int(mid)))
            if (got >= wanted) if op == ">=" else (got <= wanted):
                good, achieved = mid, got
            else:
                bad = mid
        value = int(good)
    else:
        from scipy.optimize import brentq

        g = (lambda x: float(out(float(x))) - wanted)
        # To a millionth of the bracket: far inside the 1 % a fed-back answer must meet.
        tol = 1e-6 * (hi_x - lo_x)
        root = brentq(g, lo_x, hi_x, xtol=tol, rtol=1e-12)
        # brentq's root can sit a hair on the wrong side: step to the feasible side,
        # never past the bracket's end that meets the target (where the output jumps
        # across the target, a step would otherwise leave the field's range).
        value = root
        step = tol
        for _ in range(60):
            achieved = float(out(float(value)))
            if (achieved >= wanted) if op == ">=" else (achieved <= wanted):
                break
            value = min(hi_x, value + step) if feasible == "above" else max(lo_x, value - step)
            step *= 2
    return Solution(free, float(value), f"{output} {op} {wanted:g}", achieved, feasible,
                    count[0])
