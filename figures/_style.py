"""One look for every figure: colours, sizes, the paper's markers."""

from __future__ import annotations

#: Colour of each path, the same in every figure.
PATH_COLORS = {"native": "#1b9e77", "linux-overlay": "#d95f02", "docker-overlay": "#7570b3"}
#: Colour of each /proc/stat column in the CPU breakdowns.
CPU_COLORS = {"usr": "#66a61e", "sys": "#e7298a", "softirq": "#7570b3", "irq": "#e6ab02"}
#: Colour of each execution context in the stage figures.
CONTEXT_COLORS = {"hardirq": "#e6ab02", "softirq": "#7570b3", "syscall": "#e7298a",
                  "user": "#66a61e"}
PAPER = dict(marker="*", s=160, color="black", edgecolor="white", linewidth=0.6, zorder=5,
             label="paper (text)")
#: Logical CPUs of the testbed's receiver: the paper plots CPU in % of all 20.
TESTBED_LOGICAL_CPUS = 20


def new_figure(width: float = 6.4, height: float = 4.0, ncols: int = 1, nrows: int = 1,
               sharey: bool = False):
    """A figure and its axes, drawn off-screen (no pyplot, no global state)."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), dpi=100, layout="constrained")
    axes = fig.subplots(nrows, ncols, sharey=sharey, squeeze=False)
    for ax in axes.flat:
        ax.grid(True, color="#dddddd", linewidth=0.6)
        ax.set_axisbelow(True)
    return fig, axes
