"""queuemodel: predict Linux network-stack performance on container overlays.

The hard IRQ, the softirq stages (NIC, VXLAN, veth) and the user copy of a
flow are servers in tandem sharing CPU cores; the model turns per-packet,
per-byte and per-interrupt costs into throughput, CPU use and the
bottleneck.  Start with :func:`predict`::

    >>> import queuemodel
    >>> r = queuemodel.predict(path="native", proto="tcp")
    >>> r.bottleneck
    'receiver:flow-core:copy_to_user'
"""

from .errors import CalibrationError, ModelInputError, QueueModelError, UnknownNameError
from .host import Host
from .hosts import paper_testbed
from .model import Result, evaluate, predict
from .paths import (DOCKER_OVERLAY, LINUX_OVERLAY, NATIVE, PATHS, get_path, load_path,
                    load_path_text, path_to_toml)
from .stage import Path, Stage, Workload

from . import hosts  # noqa: E402  (public sub-module: queuemodel.hosts.paper_testbed())
from .calibrate import calibrate  # scipy is imported inside, on first use
from .claims import validate
from .sweep import sweep
from .levers import levers
from .attribute import attribute
from .whatif import solve, whatif
from .outcomes import Outcomes, outcomes

__version__ = "0.1.0"

__all__ = [
    "predict", "evaluate", "Result", "Host", "Path", "Stage", "Workload",
    "paper_testbed", "get_path", "load_path", "load_path_text", "path_to_toml", "PATHS",
    "NATIVE", "LINUX_OVERLAY", "DOCKER_OVERLAY",
    "calibrate", "validate", "sweep", "QueueModelError", "ModelInputError", "UnknownNameError",
    "CalibrationError", "hosts", "whatif", "solve", "levers", "attribute", "outcomes",
    "Outcomes",
]
