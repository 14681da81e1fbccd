"""Grids of scenarios: ``sweep()`` and the labelled table it returns.

Every varied field becomes an axis of a full grid (an outer product), the
grid goes to :func:`queuemodel.predict` as numpy arrays in one call per
(path, protocol), and the answer comes back as a :class:`Table` with one
row per scenario and one column per input and output.
"""

from __future__ import annotations

import csv
import io
import json
import math
import re
from dataclasses import dataclass, fields
from typing import Any, Mapping, Sequence

import numpy as np

from .errors import ModelInputError, UnknownNameError

__all__ = ["sweep", "Table", "parse_values"]



@dataclass(frozen=True)
class Table:
    """Rows of scenarios with named columns (inputs first, then outputs).

    Attributes
    ----------
    columns : tuple of str
        Column names; mapped outputs are flattened as ``receiver_cpu.usr``,
        ``stages.rx:nic_rx`` and so on.
    data : dict
        Column name to a 1-D numpy array (``object`` dtype for text).
    inputs : tuple of str
        The columns that are inputs (``path``, ``proto`` and each varied
        field); the rest are outputs.
    """

    columns: tuple
    data: Mapping[str, np.ndarray]
    inputs: tuple = ()

    def __len__(self) -> int:
        return len(self.data[self.columns[0]]) if self.columns else 0

    def __getitem__(self, column: str) -> np.ndarray:
        return self.data[column]

    def rows(self) -> list:
        """The table as a list of dicts, one per scenario (JSON-ready)."""
        lists = {c: self.data[c].tolist() for c in self.columns}
        return [{c: lists[c][i] for c in self.columns} for i in range(len(self))]

    def to_json(self) -> str:
        """The rows as a JSON array (an infinite latency, an unstable queue, is ``null``)."""
        return json.dumps([{k: (None if isinstance(v, float) and not math.isfinite(v) else v)
                            for k, v in row.items()} for row in self.rows()])

    def to_csv(self) -> str:
        """The table as CSV text with a header row."""
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(self.columns)
        lists = [self.data[c].tolist() for c in self.columns]
        writer.writerows(zip(*lists))
        return out.getvalue()

    def _column(self, name: str) -> np.ndarray:
        if name not in self.data:
            raise UnknownNameError("column", name, "a column of the table: "
                                   + ", ".join(self.columns))
        return self.data[name]

    def select(self, **criteria) -> "Table":
        """The rows whose columns hold the given values.

        Parameters
        ----------
        **criteria
            Column name to a value, or to a list of values (any of them).

        Returns
        -------
        Table
            The matching rows, in order (possibly none).

        Examples
        --------
        >>> t = sweep(path=["native", "docker-overlay"], flows=[1, 2])
        >>> t.select(path="docker-overlay")["flows"].tolist()
        [1, 2]
        >>> len(t.select(flows=[2, 3]))
        2
        """
        keep = np.ones(len(self), dtype=bool)
        for name, wanted in criteria.items():
            column = self._column(name)
            options = list(wanted) if _is_sequence(wanted) else [wanted]
            keep &= np.array([value in options for value in column.tolist()], dtype=bool)
        return Table(columns=self.columns, data={c: self.data[c][keep] for c in self.columns},
                     inputs=self.inputs)

    def plot(self, x: str, y: str = "throughput_gbps", *, by: Sequence | None = None,
             ax=None, log_x: bool | None = None, band: Sequence | None = None):
        """Draw one numeric column against another: a line per group of rows.

        Parameters
        ----------
        x, y : str
            Numeric columns (an input such as ``flows`` and an output).
        by : sequence of str, optional
            Columns whose values tell the lines apart; default every input
            other than ``x`` that takes more than one value in the table.
        ax : matplotlib.axes.Axes, optional
            Where to draw; default a new figure's axes.
        log_x : bool, optional
            A base-2 logarithmic x axis; default when every ``x`` is positive
            and they span a factor of 64 or more (message sizes, say).
        band : pair of str, optional
            Two numeric columns shaded between, under each line; default,
            for ``y="throughput_gbps"``, where one placement of the flows'
            hashes falls (``throughput_p05_gbps``, ``throughput_p95_gbps``)
            when some row's spreads.  ``()`` for none.

        Returns
        -------
        matplotlib.axes.Axes

        Examples
        --------
        >>> import matplotlib
        >>> matplotlib.use("Agg")
        >>> t = sweep(path=["native", "docker-overlay"], flows=[1, 2, 4])
        >>> ax = t.plot("flows")
        >>> [line.get_label() for line in ax.get_lines()]
        ['path=native', 'path=docker-overlay']
        """
        xs, ys = self._column(x), self._column(y)
        for name, values in ((x, xs), (y, ys)):
            if values.dtype.kind not in "iuf":
                raise ModelInputError("column", name, "a numeric column to plot")
        if by is None:
            by = [c for c in self.inputs
                  if c != x and len(dict.fromkeys(self.data[c].tolist())) > 1]
        keys = [self._column(c).tolist() for c in by]
        groups = dict.fromkeys(zip(*keys)) if keys else {(): None}
        if band is None:
            spread = ("throughput_p05_gbps", "throughput_p95_gbps")
            band = spread if (y == "throughput_gbps" and all(c in self.data for c in spread)
                              and np.any(self.data[spread[0]] < self.data[spread[1]])) else ()
        if len(band) not in (0, 2):
            raise ModelInputError("band", tuple(band), "two columns (low, high) or none")
        shade = [self._column(c) for c in band]
        if ax is None:
            import matplotlib.pyplot as plt

            ax = plt.subplots(figsize=(6.4, 4.0), layout="constrained")[1]
        for group in groups:
            rows = np.array([tuple(k[i] for k in keys) == group for i in range(len(self))],
                            dtype=bool) if keys else np.ones(len(self), dtype=bool)
            order = np.argsort(xs[rows], kind="stable")
            label = ", ".join(f"{c}={v}" for c, v in zip(by, group)) or y
            line, = ax.plot(xs[rows][order], ys[rows][order], marker="o", markersize=3,
                            label=label)
            if shade:
                low, high = (c[rows][order] for c in shade)
                ax.fill_between(xs[rows][order], low, high, color=line.get_color(), alpha=0.15,
                                linewidth=0)
        if log_x is None:
            log_x = bool(np.all(xs > 0) and xs.max() >= 64 * xs.min())
        if log_x:
            ax.set_xscale("log", base=2)
        ax.set_xlabel(x)
        ax.set_ylabel(y)
        if len(groups) > 1:
            ax.legend(frameon=False)
        return ax


def parse_values(field: str, text: str) -> list:
    """Read a list of values from the command line.

    Parameters
    ----------
    field : str
        The field's name, for error messages.
    text : str
        ``"a,b,c"`` (a list), ``"lo..hi"`` (integers, step 1), ``"lo..hi:step"``
        (arithmetic) or ``"lo..hi:xF"`` (geometric, factor F), e.g.
        ``"64..8192:x2"``.  Non-numeric items (path names, true/false) pass
        through a list unchanged.

    Returns
    -------
    list

    Raises
    ------
    ModelInputError
        For an empty range, a non-numeric bound or step, or a step that
        does not move towards the upper bound.

    Examples
    --------
    >>> parse_values("flows", "1..4"), parse_values("msg_bytes", "64..512:x2")
    ([1, 2, 3, 4], [64, 128, 256, 512])
    >>> parse_values("ghz", "2.0,2.5")
    [2, 2.5]
    """
    allowed = "a,b,c or lo..hi[:step] or lo..hi:xFACTOR with numbers"
    text = text.strip()
    match = re.fullmatch(r"([^.:]+)\.\.([^:]+)(?::(x?)(.+))?", text)
    if not match:
        items = [t.strip() for t in text.split(",") if t.strip()]
        if not items:
            raise ModelInputError(field, text, allowed)
        return [_number_or_text(t) for t in items]
    try:
        lo, hi = float(match.group(1)), float(match.group(2))
        step = float(match.group(4)) if match.group(4) else 1.0
    except ValueError:
        raise ModelInputError(field, text, allowed) from None
    geometric = match.group(3) == "x"
    if not all(map(math.isfinite, (lo, hi, step))) or hi < lo or (
            geometric and (step <= 1.0 or lo <= 0.0)) or (not geometric and step <= 0.0):
        raise ModelInputError(field, text, "a non-empty range " + allowed +
                              " (step > 0, factor > 1)")
    values, x = [], lo
    while x <= hi * (1 + 1e-12) and len(values) < 1_000_000:
        values.append(x)
        x = x * step if geometric else lo + len(values) * step
    return [int(v) if float(v).is_integer() else v for v in values]


def _number_or_text(text: str):
    try:
        value = float(text)
    except ValueError:
        return text
    return int(value) if value.is_integer() else value


def sweep(path: str | Sequence = "native", proto: str | Sequence = "tcp", *,
          flows: Any = 1, msg_bytes: Any = None, offered_gbps: Any = math.inf,
          arrival_scv: Any = 1.0, host=None, **overrides) -> Table:
    """Predict every combination of the given values; one row per scenario.

    Parameters
    ----------
    path : str, Path or sequence of them
        Path(s) to sweep.
    proto : str or sequence of str
        Protocol(s) to sweep.
    flows, msg_bytes, offered_gbps, arrival_scv : scalar or sequence
        Workload values; a sequence becomes an axis of the grid.
        ``msg_bytes=None`` uses each protocol's paper default.
    host : Host, optional
        Host profile (default the paper's testbed).
    **overrides
        Host fields and stage costs (``"stage.field"``, as
        :func:`queuemodel.whatif.with_stage_costs` takes them; pass them as
        ``**{"vxlan_rx.cost_cycles_per_unit": [500, 1000]}``), each a scalar
        or a sequence (an axis of the grid).

    Returns
    -------
    Table
        Columns: ``path``, ``proto``, every varied field, then every output.

    Raises
    ------
    ModelInputError
        For an empty sequence or any invalid value (as :func:`predict`).

    Examples
    --------
    >>> t = sweep(path=["native", "docker-overlay"], proto="tcp", ghz=[2.2, 3.0])
    >>> len(t), t.columns[:4]
    (4, ('path', 'proto', 'ghz', 'throughput_gbps'))
    >>> [round(float(x), 1) for x in t["throughput_gbps"]]
    [23.0, 30.1, 6.5, 8.7]
    """
    import itertools

    from .host import Host
    from .model import predict
    from .whatif import canonical_scenario, with_stage_costs

    flags = {f.name for f in fields(Host) if f.metadata.get("kind") == "flag"}
    overrides = canonical_scenario(overrides)
    costs = {k: overrides.pop(k) for k in list(overrides) if "." in k}
    numeric = {"flows": flows, "msg_bytes": msg_bytes, "offered_gbps": offered_gbps,
               "arrival_scv": arrival_scv, **overrides, **costs}
    for name, value in numeric.items():
        if np.ndim(value) > 1:
            raise ModelInputError(name, f"an array of shape {np.shape(value)}",
                                  "a scalar or a 1-D list of values (each list is one axis)")
    axes = {k: v for k, v in numeric.items() if _is_sequence(v)}
    for name, values in axes.items():
        if len(values) == 0:
            raise ModelInputError(name, list(values), "a non-empty list of values")
    # Paths, protocols, on/off settings and stage costs change the model's structure:
    # they are looped over; numeric axes go to predict as one flattened grid.
    loops = {"path": _as_list("path", path), "proto": _as_list("proto", proto)}
    loops.update({k: list(v) for k, v in axes.items() if k in flags or k in costs})
    numeric_axes = {k: v for k, v in axes.items() if k not in loops}
    grids = np.meshgrid(*[np.asarray(v) for v in numeric_axes.values()], indexing="ij")
    flat = {k: g.reshape(-1) for k, g in zip(numeric_axes, grids)}
    size = len(next(iter(flat.values()))) if flat else 1
    fixed = {k: v for k, v in numeric.items() if k not in axes and k not in costs}
    fixed_costs = {k: v for k, v in costs.items() if k not in axes}

    parts = []
    for combo in itertools.product(*loops.values()):
        chosen = dict(zip(loops, combo))
        p, t = chosen.pop("path"), chosen.pop("proto")
        settings = dict(chosen)
        stage_costs = {**fixed_costs, **{k: chosen.pop(k) for k in list(chosen) if k in costs}}
        on_path = p
        if stage_costs:
            veth = chosen.get("veth_link", fixed.get(
                "veth_link", host.veth_link if host is not None else False))
            on_path = with_stage_costs(p, stage_costs, veth, others=loops["path"])
        result = predict(path=on_path, proto=t, host=host, **fixed, **chosen, **flat)
        parts.append(_columns(p, t, settings, flat, size, result))
    columns = tuple(dict.fromkeys(c for part in parts for c in part))
    # A stage that one path lacks takes no time there: its column is 0 for that path.
    data = {c: np.concatenate([part[c] if c in part else np.zeros(len(part["path"]))
                               for part in parts]) for c in columns}
    return Table(columns=columns, data=data, inputs=(*loops, *numeric_axes))


def _columns(path, proto, settings, flat, size, result) -> dict:
    name = path if isinstance(path, str) else path.name
    cols = {"path": np.full(size, name, dtype=object),
            "proto": np.full(size, proto, dtype=object)}
    cols.update({k: np.full(size, v, dtype=float if "." in k else object)
                 for k, v in settings.items()})      # a stage cost's column is numeric
    cols.update({k: np.asarray(v) for k, v in flat.items()})
    for key, value in result.outputs().items():
        kind = object if key == "bottleneck" else bool if key == "queue_stable" else float
        cols[key] = np.broadcast_to(np.asarray(value, dtype=kind), (size,)).reshape(size)
    return cols


def _is_sequence(value) -> bool:
    return isinstance(value, (list, tuple, np.ndarray, range)) and np.ndim(value) == 1


def _as_list(field, value) -> list:
    if isinstance(value, (list, tuple)):
        if not value:
            raise ModelInputError(field, list(value), "a non-empty list")
        return list(value)
    return [value]
