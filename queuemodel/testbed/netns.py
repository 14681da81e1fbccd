"""The paper's three paths built on one Linux host, in network namespaces.

Two "hosts" are network namespaces joined by a veth pair that stands in for
the physical link; on top of it:

* ``native``: the link ends' own addresses (198.18.0.1 and .2);
* ``linux-overlay``: a VXLAN device in each host namespace over the link
  (198.18.1.1 and .2);
* ``docker-overlay``: in each host namespace a Linux bridge holding a VXLAN
  device and a veth into a container namespace (198.18.2.1 and .2 inside);
* ``routed`` (beyond the paper, :data:`queuemodel.paths.ROUTED`): a second
  veth from each host namespace into the same container namespace
  (198.18.3.1 and .2 inside), the host namespaces forwarding between it and
  the link, and answering the containers' ARP for the far one (proxy ARP).

Everything it creates carries the prefix :data:`PREFIX`, uses addresses of
198.18.0.0/15 (RFC 2544's benchmarking range, checked unused first) and is
removed on exit, on an exception, on Ctrl-C and on SIGTERM; a new testbed
first removes what a killed earlier one left.  Needs root and iproute2.
"""

from __future__ import annotations

import ipaddress
import shutil
import signal
import subprocess
from dataclasses import dataclass

from ..errors import QueueModelError

__all__ = ["Testbed", "PREFIX", "ENDPOINTS", "LINK_ENDS", "DEVICES", "TestbedError",
           "leftovers", "remove_leftovers", "set_segmentation"]

#: Prefix of every namespace and device the testbed creates.
PREFIX = "qmtb"
#: RFC 2544 benchmarking range: the only addresses the testbed uses.
BENCH_NET = ipaddress.ip_network("198.18.0.0/15")
#: Per path: (client namespace, server namespace, server address).
ENDPOINTS = {
    "native": (f"{PREFIX}-h1", f"{PREFIX}-h2", "198.18.0.2"),
    "linux-overlay": (f"{PREFIX}-h1", f"{PREFIX}-h2", "198.18.1.2"),
    "docker-overlay": (f"{PREFIX}-c1", f"{PREFIX}-c2", "198.18.2.2"),
    "routed": (f"{PREFIX}-c1", f"{PREFIX}-c2", "198.18.3.2"),
}
#: The link's two ends, (namespace, device): the sending host's and the receiving host's.
LINK_ENDS = {"tx": (f"{PREFIX}-h1", f"{PREFIX}-l1"), "rx": (f"{PREFIX}-h2", f"{PREFIX}-l2")}
_NAMESPACES = (f"{PREFIX}-h1", f"{PREFIX}-h2", f"{PREFIX}-c1", f"{PREFIX}-c2")
_TIMEOUT_S = 10


class TestbedError(QueueModelError):
    """The testbed cannot be built here (no root, no iproute2, addresses in use)."""

    __test__ = False          # not a pytest test class despite its name


def _ip(*args: str, netns: str | None = None, check: bool = True) -> str:
    cmd = ["ip"] + (["-n", netns] if netns else []) + list(args)
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=_TIMEOUT_S)
    if check and done.returncode != 0:
        raise TestbedError(f"testbed: `{' '.join(cmd)}` failed: {done.stderr.strip()}")
    return done.stdout


def _sysctl(netns: str, key: str, value) -> None:
    """Set a sysctl inside a namespace (its own copy of net.*)."""
    proc = "/proc/sys/" + key.replace(".", "/")
    cmd = ["ip", "netns", "exec", netns, "sh", "-c", f"echo {value} > {proc}"]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=_TIMEOUT_S)
    if done.returncode != 0:
        raise TestbedError(f"testbed: `{' '.join(cmd)}` failed: {done.stderr.strip()}")


def leftovers() -> list:
    """Namespaces with the testbed's prefix that exist now (from this or a killed run)."""
    if shutil.which("ip") is None:
        return []
    names = [line.split()[0] for line in _ip("netns", "list", check=False).splitlines()
             if line.strip()]
    return [n for n in names if n.startswith(PREFIX + "-")]


def remove_leftovers() -> list:
    """Delete every namespace with the prefix (their devices go with them); the names."""
    gone = leftovers()
    for name in gone:
        _ip("netns", "del", name, check=False)
    return gone


def _check_can_build() -> None:
    import os

    if shutil.which("ip") is None:
        raise TestbedError("testbed: needs iproute2 (`ip`); install it with "
                           "`apt-get install iproute2`")
    if os.geteuid() != 0:
        raise TestbedError("testbed: needs root to create network namespaces; run as root")
    for line in _ip("-o", "-4", "addr", "show").splitlines():
        words = line.split()
        if "inet" in words:
            addr = ipaddress.ip_interface(words[words.index("inet") + 1])
            if addr.network.overlaps(BENCH_NET):
                raise TestbedError(f"testbed: {addr} on {words[1]} already uses "
                                   f"{BENCH_NET}, the range the testbed needs")


@dataclass
class Testbed:
    """Build the paths on enter, remove everything on exit (and on signals).

    Examples
    --------
    ::

        with Testbed() as bed:                     # needs root and iproute2
            client, server, address = bed.endpoints("docker-overlay")
    """

    built: bool = False
    segmentation: bool = True
    __test__ = False          # not a pytest test class despite its name

    def segment(self, on: bool) -> None:
        """TSO and GSO on or off on every device (:func:`set_segmentation`), if not already."""
        if bool(on) != self.segmentation:
            set_segmentation(bool(on))
            self.segmentation = bool(on)

    def endpoints(self, path: str) -> tuple:
        """(client namespace, server namespace, server address) of a path."""
        if path not in ENDPOINTS:
            from ..errors import UnknownNameError

            raise UnknownNameError("path", path, "one of " + ", ".join(ENDPOINTS))
        return ENDPOINTS[path]

    def __enter__(self) -> "Testbed":
        _check_can_build()
        remove_leftovers()
        self._old = {s: signal.getsignal(s) for s in (signal.SIGTERM,)}
        signal.signal(signal.SIGTERM, _raise_exit)      # SIGTERM unwinds through __exit__
        try:
            self._build()
        except BaseException:
            self.__exit__(None, None, None)
            raise
        self.built = True
        return self

    def __exit__(self, *exc) -> None:
        remove_leftovers()
        for sig, handler in getattr(self, "_old", {}).items():
            signal.signal(sig, handler)
        self.built = False

    def _build(self) -> None:
        h1, h2, c1, c2 = _NAMESPACES
        for ns in _NAMESPACES:
            _ip("netns", "add", ns)
            _ip("link", "set", "lo", "up", netns=ns)
        # The "physical link": a veth pair between the host namespaces.
        _ip("link", "add", f"{PREFIX}-l1", "netns", h1, "type", "veth", "peer", "name",
            f"{PREFIX}-l2", "netns", h2)
        for ns, side, peer in ((h1, 1, 2), (h2, 2, 1)):
            link = f"{PREFIX}-l{side}"
            _ip("addr", "add", f"198.18.0.{side}/24", "dev", link, netns=ns)
            _ip("link", "set", link, "up", netns=ns)
            # Linux overlay: a VXLAN device with an address, over the link.
            _ip("link", "add", f"{PREFIX}-vx", "type", "vxlan", "id", "42", "local",
                f"198.18.0.{side}", "remote", f"198.18.0.{peer}", "dstport", "4789",
                "dev", link, netns=ns)
            _ip("addr", "add", f"198.18.1.{side}/24", "dev", f"{PREFIX}-vx", netns=ns)
            _ip("link", "set", f"{PREFIX}-vx", "up", netns=ns)
            # Docker overlay: bridge + VXLAN (no address) + veth into the container.
            _ip("link", "add", f"{PREFIX}-br", "type", "bridge", netns=ns)
            _ip("link", "add", f"{PREFIX}-vd", "type", "vxlan", "id", "43", "local",
                f"198.18.0.{side}", "remote", f"198.18.0.{peer}", "dstport", "4790",
                "dev", link, netns=ns)
            _ip("link", "set", f"{PREFIX}-vd", "master", f"{PREFIX}-br", netns=ns)
            container = c1 if side == 1 else c2
            _ip("link", "add", f"{PREFIX}-ve", "netns", ns, "type", "veth", "peer", "name",
                "eth0", "netns", container)
            _ip("link", "set", f"{PREFIX}-ve", "master", f"{PREFIX}-br", netns=ns)
            for dev in (f"{PREFIX}-vd", f"{PREFIX}-ve", f"{PREFIX}-br"):
                _ip("link", "set", dev, "up", netns=ns)
            # The container's MTU leaves room for the VXLAN header, as Docker's overlay does.
            _ip("link", "set", "eth0", "mtu", "1450", netns=container)
            _ip("addr", "add", f"198.18.2.{side}/24", "dev", "eth0", netns=container)
            _ip("link", "set", "eth0", "up", netns=container)
            # Routed: a veth of the container's own to its host namespace, which forwards
            # its packets to and from the link (no encapsulation, no bridge).
            _ip("link", "add", f"{PREFIX}-vr", "netns", ns, "type", "veth", "peer", "name",
                "eth1", "netns", container)
            _ip("addr", "add", f"198.18.3.{side}/32", "dev", "eth1", netns=container)
            _ip("link", "set", "eth1", "up", netns=container)
            _ip("route", "add", "198.18.3.0/24", "dev", "eth1", netns=container)
            _ip("link", "set", f"{PREFIX}-vr", "up", netns=ns)
            _ip("route", "add", f"198.18.3.{side}/32", "dev", f"{PREFIX}-vr", netns=ns)
            _ip("route", "add", f"198.18.3.{peer}/32", "via", f"198.18.0.{peer}", "dev", link,
                netns=ns)
            _sysctl(ns, "net.ipv4.ip_forward", 1)
            _sysctl(ns, f"net.ipv4.conf.{PREFIX}-vr.proxy_arp", 1)
            # Answer at once: a proxy ARP reply waits up to proxy_delay (0.8 s by default),
            # which a path's first run would count in its elapsed time.
            _sysctl(ns, f"net.ipv4.neigh.{PREFIX}-vr.proxy_delay", 0)


#: Every device the testbed creates, by namespace: what segmentation settings change.
DEVICES = {
    f"{PREFIX}-h1": (f"{PREFIX}-l1", f"{PREFIX}-vx", f"{PREFIX}-vd", f"{PREFIX}-br",
                     f"{PREFIX}-ve", f"{PREFIX}-vr"),
    f"{PREFIX}-h2": (f"{PREFIX}-l2", f"{PREFIX}-vx", f"{PREFIX}-vd", f"{PREFIX}-br",
                     f"{PREFIX}-ve", f"{PREFIX}-vr"),
    f"{PREFIX}-c1": ("eth0", "eth1"),
    f"{PREFIX}-c2": ("eth0", "eth1"),
}


def set_segmentation(on: bool) -> None:
    """Turn TSO and GSO on or off on every testbed device (``ethtool -K``).

    With them off, TCP's sk_buffs are cut into MSS-sized packets at the first
    device they leave by (the socket still builds large ones; the kernel
    segments them in software there), so every stage after it, and the
    link, sees one packet per 1448 bytes instead of one per ~64 KB.

    Parameters
    ----------
    on : bool
        The setting for both TSO and GSO.

    Raises
    ------
    TestbedError
        Without ethtool, or when a device refuses the change.
    """
    if shutil.which("ethtool") is None:
        raise TestbedError("testbed: turning segmentation off needs ethtool; install it "
                           "with `apt-get install ethtool`")
    state = "on" if on else "off"
    for namespace, devices in DEVICES.items():
        for device in devices:
            cmd = ["ip", "netns", "exec", namespace, "ethtool", "-K", device,
                   "tso", state, "gso", state]
            done = subprocess.run(cmd, capture_output=True, text=True, timeout=_TIMEOUT_S)
            if done.returncode != 0:
                raise TestbedError(f"testbed: `{' '.join(cmd)}` failed: "
                                   f"{done.stderr.strip()}")


def _raise_exit(signum, frame):
    raise SystemExit(128 + signum)
