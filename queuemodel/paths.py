"""The seed paper's three paths, built as data from one library of stages.

Costs are CPU cycles on the paper's 2.2 GHz Broadwell core running Linux
4.4.  Every number is either a *prior* (an order-of-magnitude estimate of
the named kernel functions, stated and never tuned to a claim) or
*fitted* by :func:`queuemodel.calibrate.calibrate` to the claims named in
:data:`queuemodel.calibrate.DEFAULT_FIT`.  The fitted values below are the
output of that fit; ``tests/test_calibrate.py`` re-runs it and checks they
still agree.

Receive side (paper section 2, Figure 1; shared/MODEL-NOTES.md):

* native: IRQ -> NIC poll + GRO -> IP -> TCP/UDP -> socket -> recvmsg copy.
* linux-overlay: the NIC's softirq passes the outer UDP packet to VXLAN,
  which decapsulates it onto its own NAPI (gro_cells): inner GRO, inner IP,
  TCP/UDP.  Without tunnel offloads the NIC cannot GRO-merge the
  encapsulated packets, so the NIC poll, outer IP and VXLAN stages do
  per-wire-packet work, and the inner checksum is computed in software.
* docker-overlay: as linux-overlay, then the bridge forwards the inner
  frame to the container's veth, whose transmit queues it on the per-CPU
  backlog (a third softirq stage) for the container's IP/TCP.
"""

from __future__ import annotations

import dataclasses

from .errors import UnknownNameError
from .stage import Path, Stage
from .wire import VXLAN_ENCAP_BYTES

__all__ = ["NATIVE", "LINUX_OVERLAY", "DOCKER_OVERLAY", "PATHS", "get_path", "PATH_NAMES",
           "LINK_STAGES", "over_veth"]

PRIOR = "prior estimate, not fitted"
FITTED = "fitted by calibrate() to claims S1, S2, S4"

# Shared per-byte priors (cycles per byte on the 2.2 GHz core).
COPY_CYCLES_PER_BYTE = 0.25   # prior: rep-movs copy of LLC-resident data (DMA lands in the
                              # LLC through DDIO), ~9 GB/s per Broadwell core
CSUM_CYCLES_PER_BYTE = 0.2    # prior: csum_partial's add-with-carry loop,
                              # arch/x86/lib/csum-partial_64.c, ~5 B/cycle from L1,
                              # slower from the LLC

# ---------------------------------------------------------------- receive side
IRQ = Stage(name="irq", context="hardirq", unit="interrupt", cost_cycles_per_unit=2200.0,
            source=PRIOR + ": ~1 us per NIC interrupt (entry, mlx4_en_rx_irq, "
                   "napi_schedule, EOI, exit)")
NIC_RX = Stage(name="nic_rx", context="softirq", unit="wire_packet",
               cost_cycles_per_unit=308.6,  # FITTED (S1)
               cost_cycles_per_invocation=500.0, poll=True,
               source=f"per packet: {FITTED}; per poll: {PRIOR} (mlx4_en_poll_rx_cq "
                      "set-up, RX refill doorbell and CQ re-arm, two posted MMIO writes)")
GRO = Stage(name="gro", context="softirq", unit="packet", cost_cycles_per_unit=150.0,
            batching="gro",
            source=PRIOR + ": dev_gro_receive + inet/tcp4_gro_receive per packet "
                   "(Xu, 'GRO: surviving 10 Gbps with cycles to spare', 2009)")
GRO_ENCAP = Stage(name="gro", context="softirq", unit="packet", cost_cycles_per_unit=150.0,
                  batching="tunnel_gro", source=GRO.source + "; merges VXLAN packets "
                  "only when the NIC validates inner checksums (tunnel offload)")
IP_RX = Stage(name="ip_rx", context="softirq", unit="packet", cost_cycles_per_unit=300.0,
              source=PRIOR + ": ip_rcv, route lookup, netfilter hooks")
INNER_IP_RX = Stage(name="inner_ip_rx", context="softirq", unit="packet",
                    cost_cycles_per_unit=300.0, source=IP_RX.source)
IP_DEFRAG = Stage(name="ip_defrag", context="softirq", unit="packet",
                  cost_cycles_per_unit=92.53,  # FITTED (S4)
                  batching="reassemble", protocols=("udp",),
                  source=f"{FITTED}: ip_defrag queueing per fragment")
TCP_RX = Stage(name="tcp_rx", context="softirq", unit="packet", cost_cycles_per_unit=2500.0,
               flow_state_lines=16.0, protocols=("tcp",),
               source=PRIOR + ": tcp_v4_rcv, socket lookup, receive queue, ACK out, "
                      "per (GRO) segment; its state: about half of the ~30 cache lines of "
                      "Linux 4.4's struct tcp_sock, read or written on the established "
                      "fast path (tcp_rcv_established, tcp_ack, tcp_send_ack)")
UDP_RX = Stage(name="udp_rx", context="softirq", unit="packet", cost_cycles_per_unit=1000.0,
               flow_state_lines=6.0, protocols=("udp",),
               source=PRIOR + ": udp_rcv, socket lookup, enqueue, wake-up, per datagram; its "
                      "state: about six cache lines of the socket (lookup keys, receive "
                      "buffer accounting, receive queue, wait queue)")
VXLAN_RX = Stage(name="vxlan_rx", context="softirq", unit="packet",
                 cost_cycles_per_unit=1980.5,  # FITTED (S2)
                 source=f"{FITTED}: outer udp_rcv -> vxlan_rcv decapsulation -> "
                        "gro_cells enqueue")
VXLAN_GRO = Stage(name="vxlan_gro", context="softirq", unit="packet",
                  cost_cycles_per_unit=150.0, cost_cycles_per_invocation=200.0,
                  poll=True, batching="gro",
                  source=PRIOR + ": inner GRO per packet as for gro; per poll, gro_cell_poll "
                         "dequeue and napi_complete (no device to re-arm)")
INNER_CSUM_RX = Stage(name="inner_csum", context="softirq", unit="packet",
                      cost_cycles_per_byte=CSUM_CYCLES_PER_BYTE, protocols=("tcp",),
                      offloaded_by="tunnel_offload",
                      source=PRIOR + ": inner TCP checksum in software before GRO "
                             "(CSUM_CYCLES_PER_BYTE)")
BRIDGE = Stage(name="bridge", context="softirq", unit="packet", cost_cycles_per_unit=500.0,
               source=PRIOR + ": br_handle_frame, FDB lookup, br_forward and the bridge "
                      "netfilter hooks Docker enables, ~0.2 us")
VETH_XMIT = Stage(name="veth_xmit", context="softirq", unit="packet",
                  cost_cycles_per_unit=400.0,
                  source=PRIOR + ": veth_xmit -> netif_rx onto the per-CPU backlog, "
                         "namespace switch")
BACKLOG = Stage(name="backlog", context="softirq", unit="packet", cost_cycles_per_unit=200.0,
                cost_cycles_per_invocation=200.0, poll=True,
                source=PRIOR + ": process_backlog -> __netif_receive_skb in the "
                       "container namespace; per poll, the backlog lock and napi_complete")
SKB_FREE = Stage(name="skb_free", context="syscall", unit="packet", cost_cycles_per_unit=150.0,
                 source=PRIOR + ": consume_skb of each delivered segment or datagram")
RECV_SYSCALL = Stage(name="recv_syscall", context="syscall", unit="message",
                     cost_cycles_per_unit=2000.0,
                     source=PRIOR + ": recvmsg entry/exit, socket lock, queue walk "
                            "(Linux 4.4, no KPTI)")
COPY_TO_USER = Stage(name="copy_to_user", context="syscall", unit="message",
                     cost_cycles_per_byte=COPY_CYCLES_PER_BYTE, reads_received_bytes=True,
                     source=PRIOR + ": skb_copy_datagram_iter (COPY_CYCLES_PER_BYTE); "
                            "bytes gone from the cache cost more (host.dram_misses_in_flight)")
UDP_CSUM_RX = Stage(name="udp_csum", context="syscall", unit="message",
                    cost_cycles_per_byte=CSUM_CYCLES_PER_BYTE, protocols=("udp",),
                    offloaded_by="rx_csum",
                    source=PRIOR + ": UDP checksum folded into the copy "
                           "(skb_copy_and_csum_datagram_msg) when the NIC could not check it")
APP_RX = Stage(name="app", context="user", unit="message", cost_cycles_per_unit=1000.0,
               source=PRIOR + ": iperf3's own loop per read (little: paper S8)")
# iperf3's server waits in select() before every read: it reads each ready stream once a
# pass of its loop, so a message costs it two system calls.  Measured by
# tests/select_cost.py (tests/data/select-cost.json): strace -c of iperf3 3.12 at 128 B
# over loopback, and what a pselect on one ready TCP socket costs against a read() on
# a Linux 6.18 VM (about as much as a 64-128 B read).
SELECT_RX = Stage(name="select", context="syscall", unit="message",
                  cost_cycles_per_unit=2000.0,
                  source=PRIOR + ": iperf3's pselect6 before each read, as a recvmsg's "
                         "entry, exit and socket poll (RECV_SYSCALL's prior)")

# ---------------------------------------------------------------- send side
APP_TX = Stage(name="app_tx", context="user", unit="message", cost_cycles_per_unit=1000.0,
               source=PRIOR + ": iperf3's own loop per write (APP_RX's prior; a name of its "
                      "own, so the two ends can be set apart)")
#: Writes iperf3's client makes a pass of its loop, one select a pass, when the rate is
#: unlimited (its "multisend"; strace -c counts one pselect6 per ten writes, as for
#: SELECT_RX).
IPERF3_WRITES_PER_SELECT = 10
SELECT_TX = Stage(name="select_tx", context="syscall", unit="message",
                  cost_cycles_per_unit=SELECT_RX.cost_cycles_per_unit
                  / IPERF3_WRITES_PER_SELECT,
                  source=PRIOR + ": one pselect6 (SELECT_RX's cost) per ten writes")
SEND_SYSCALL = Stage(name="send_syscall", context="syscall", unit="message",
                     cost_cycles_per_unit=2000.0, source=PRIOR + ": sendmsg entry/exit, "
                     "socket lock")
COPY_FROM_USER = Stage(name="copy_from_user", context="syscall", unit="message",
                       cost_cycles_per_byte=COPY_CYCLES_PER_BYTE,
                       source=PRIOR + ": copy into the socket buffer (COPY_CYCLES_PER_BYTE)")
UDP_CSUM_TX = Stage(name="udp_csum", context="syscall", unit="message",
                    cost_cycles_per_byte=CSUM_CYCLES_PER_BYTE, protocols=("udp",),
                    offloaded_by="tx_csum",
                    source=PRIOR + ": UDP checksum in software when the NIC cannot do it "
                           "(always for a fragmented datagram, __ip_append_data)")
TCP_TX = Stage(name="tcp_tx", context="syscall", unit="packet", cost_cycles_per_unit=2500.0,
               protocols=("tcp",),
               source=PRIOR + ": tcp_sendmsg/tcp_write_xmit per TSO segment, ACK "
                      "processing included")
UDP_TX = Stage(name="udp_tx", context="syscall", unit="packet", cost_cycles_per_unit=1000.0,
               protocols=("udp",), source=PRIOR + ": udp_sendmsg per datagram")
IP_TX = Stage(name="ip_tx", context="syscall", unit="packet", cost_cycles_per_unit=300.0,
              source=PRIOR + ": ip_queue_xmit / ip_output, route, netfilter")
IP_FRAGMENT = Stage(name="ip_fragment", context="syscall", unit="packet",
                    cost_cycles_per_unit=250.0, batching="fragment", protocols=("udp",),
                    source=PRIOR + ": one ip_fragment/ip_finish_output2 per fragment")
CSUM_TX = Stage(name="csum_tx", context="syscall", unit="packet",
                cost_cycles_per_byte=CSUM_CYCLES_PER_BYTE, protocols=("tcp",),
                offloaded_by="tx_csum", source=PRIOR + ": TCP checksum when not offloaded")
GSO = Stage(name="gso", context="syscall", unit="packet", cost_cycles_per_unit=300.0,
            batching="gso", protocols=("tcp",),
            source=PRIOR + ": skb_segment per output packet (free when TSO does it)")
DRIVER_TX = Stage(name="driver_tx", context="syscall", unit="packet",
                  cost_cycles_per_unit=400.0,
                  source=PRIOR + ": dev_queue_xmit, qdisc, mlx4_en_xmit per packet handed "
                         "to the NIC (a TSO segment counts once)")
TX_COMPLETION = Stage(name="tx_completion", context="softirq", unit="packet",
                      cost_cycles_per_unit=150.0,
                      source=PRIOR + ": mlx4_en TX completion and skb free per packet")
VXLAN_TX_SYSCALL = Stage(name="vxlan_tx", context="syscall", unit="packet",
                         cost_cycles_per_unit=800.0,
                         source=PRIOR + ": vxlan_xmit: route, headers, udp_tunnel_xmit_skb "
                                "(once per GSO segment)")
VXLAN_TX_SOFTIRQ = Stage(name="vxlan_tx", context="softirq", unit="packet",
                         cost_cycles_per_unit=800.0, source=VXLAN_TX_SYSCALL.source)
OUTER_IP_TX = Stage(name="outer_ip_tx", context="syscall", unit="packet",
                    cost_cycles_per_unit=300.0, source=IP_TX.source)
OUTER_IP_TX_SOFTIRQ = Stage(name="outer_ip_tx", context="softirq", unit="packet",
                            cost_cycles_per_unit=300.0, source=IP_TX.source)
TUNNEL_GSO = Stage(name="gso", context="syscall", unit="packet", cost_cycles_per_unit=300.0,
                   batching="tunnel_gso", protocols=("tcp",),
                   source=GSO.source + "; hardware only with tunnel offloads")
TUNNEL_GSO_SOFTIRQ = Stage(name="gso", context="softirq", unit="packet",
                           cost_cycles_per_unit=300.0, batching="tunnel_gso",
                           protocols=("tcp",), source=TUNNEL_GSO.source)
INNER_CSUM_TX = Stage(name="inner_csum", context="syscall", unit="packet",
                      cost_cycles_per_byte=CSUM_CYCLES_PER_BYTE, protocols=("tcp",),
                      offloaded_by="tunnel_offload",
                      source=PRIOR + ": inner TCP checksum in software without tunnel "
                             "offloads (a UDP datagram's is its udp_csum stage)")
INNER_CSUM_TX_SOFTIRQ = Stage(name="inner_csum", context="softirq", unit="packet",
                              cost_cycles_per_byte=CSUM_CYCLES_PER_BYTE, protocols=("tcp",),
                              offloaded_by="tunnel_offload", source=INNER_CSUM_TX.source)
DRIVER_TX_SOFTIRQ = Stage(name="driver_tx", context="softirq", unit="packet",
                          cost_cycles_per_unit=400.0, source=DRIVER_TX.source)
# The veth hands the packet to another namespace through dev_forward_skb, which scrubs it
# and, before Linux 4.19, orphans it from its socket (4.4 net/core/dev.c __dev_forward_skb
# -> skb_scrub_packet(skb, xnet=true) -> skb_orphan): the sender's socket stops feeling
# the queues behind it (Host.veth_orphans_skb).  VXLAN in the sender's own namespace
# does not (xnet false).
VETH_TX = Stage(name="veth_xmit", context="syscall", unit="packet", cost_cycles_per_unit=400.0,
                source=VETH_XMIT.source,
                orphans_skb="veth_orphans_skb")
# The bridge the container's frames cross on their way out hands each IPv4 frame to
# iptables when br_netfilter is on (bridge-nf-call-iptables, which Docker needs), and
# br_netfilter's setup_pre_routing orphans it first ("Must drop socket now because of
# tproxy": 6.1 net/bridge/br_netfilter_hooks.c, read; believed, not checked, to be in 4.4)
# (Host.bridge_nf_call_iptables).  Measured on 6.18 (tests/sender_hold.py): a container's
# UDP sender behind a 300 Mb/s link sent 3.6 Gb/s with it on, 0.28 with it off.
BRIDGE_TX = dataclasses.replace(BRIDGE, orphans_skb="bridge_nf_call_iptables")
# A name of its own: "stage.field" names every stage of that name, and this one is not
# a polling stage (a sender's polls are not charged), so it cannot share the receiver's
# per-poll cost.
BACKLOG_TX = Stage(name="host_backlog", context="softirq", unit="packet",
                   cost_cycles_per_unit=200.0,
                   source=BACKLOG.source + " (sender: host side of the veth)")

_RX_TAIL = (SKB_FREE, SELECT_RX, RECV_SYSCALL, COPY_TO_USER)
_OVERLAY_RX_HEAD = (IRQ, NIC_RX, GRO_ENCAP, IP_RX, VXLAN_RX, VXLAN_GRO, INNER_CSUM_RX)
_UDP_CSUM_RX_TUNNEL = Stage(name="udp_csum", context="syscall", unit="message",
                            cost_cycles_per_byte=CSUM_CYCLES_PER_BYTE, protocols=("udp",),
                            offloaded_by="tunnel_offload", source=UDP_CSUM_RX.source)
_UDP_CSUM_TX_TUNNEL = Stage(name="udp_csum", context="syscall", unit="message",
                            cost_cycles_per_byte=CSUM_CYCLES_PER_BYTE, protocols=("udp",),
                            offloaded_by="tunnel_offload", source=UDP_CSUM_TX.source)
_TX_HEAD = (APP_TX, SELECT_TX, SEND_SYSCALL, COPY_FROM_USER)

NATIVE = Path(
    name="native",
    description="host IPs on the physical NIC, no overlay",
    # Hashed on the flow's own headers: the paper's flows share one IP pair (3.2), so only
    # ports tell them apart, and an 8 KB datagram's IP fragments carry none
    # (queuemodel.flows.hash_tells_apart).
    tx=_TX_HEAD + (UDP_CSUM_TX, TCP_TX, UDP_TX, IP_TX, IP_FRAGMENT, CSUM_TX, GSO, DRIVER_TX,
                   TX_COMPLETION),
    rx=(IRQ, NIC_RX, GRO, IP_RX, IP_DEFRAG, TCP_RX, UDP_RX) + _RX_TAIL
       + (UDP_CSUM_RX, APP_RX),
)

LINUX_OVERLAY = Path(
    name="linux-overlay",
    description="a VXLAN device on the host NIC; applications in the host namespace",
    encap_bytes=VXLAN_ENCAP_BYTES,
    # VXLAN sets the outer UDP source port from a hash of the inner flow (RFC 7348 section 5,
    # udp_flow_src_port): a hash that sees UDP ports tells overlay flows apart.
    tunnel="udp",
    tx=_TX_HEAD + (_UDP_CSUM_TX_TUNNEL, TCP_TX, UDP_TX, IP_TX, IP_FRAGMENT, VXLAN_TX_SYSCALL,
                   OUTER_IP_TX, TUNNEL_GSO, INNER_CSUM_TX, DRIVER_TX, TX_COMPLETION),
    rx=_OVERLAY_RX_HEAD + (INNER_IP_RX, IP_DEFRAG, TCP_RX, UDP_RX) + _RX_TAIL
       + (_UDP_CSUM_RX_TUNNEL, APP_RX),
)

DOCKER_OVERLAY = Path(
    name="docker-overlay",
    description="container veth -> Linux bridge -> VXLAN -> host NIC (three namespaces)",
    encap_bytes=VXLAN_ENCAP_BYTES,
    tunnel="udp",                             # as the Linux overlay: outer source port
    flow_addresses="per-flow",                # paper 3.1-3.2: containers' private IPs,
                                              # "different among flows"
    tx=_TX_HEAD + (_UDP_CSUM_TX_TUNNEL, TCP_TX, UDP_TX, IP_TX, IP_FRAGMENT, VETH_TX,
                   BACKLOG_TX, BRIDGE_TX, VXLAN_TX_SOFTIRQ, OUTER_IP_TX_SOFTIRQ,
                   TUNNEL_GSO_SOFTIRQ, INNER_CSUM_TX_SOFTIRQ, DRIVER_TX_SOFTIRQ,
                   TX_COMPLETION),
    rx=_OVERLAY_RX_HEAD + (BRIDGE, VETH_XMIT, BACKLOG, INNER_IP_RX, IP_DEFRAG, TCP_RX, UDP_RX)
       + _RX_TAIL + (_UDP_CSUM_RX_TUNNEL, APP_RX),
)

# ------------------------------------------------- the link as a veth pair (testbed)
VETH_LINK_RX = Stage(name="veth_rx", context="softirq", unit="wire_packet",
                     cost_cycles_per_unit=300.0, cost_cycles_per_invocation=200.0, poll=True,
                     source=PRIOR + ": enqueue_to_backlog, then process_backlog -> "
                            "__netif_receive_skb on the sending CPU; per poll as for backlog")
VETH_LINK_TX = Stage(name="veth_link_xmit", context="syscall", unit="packet",
                     cost_cycles_per_unit=400.0, source=VETH_XMIT.source,
                     orphans_skb="veth_orphans_skb")
VETH_LINK_TX_SOFTIRQ = Stage(name="veth_link_xmit", context="softirq", unit="packet",
                             cost_cycles_per_unit=400.0, source=VETH_XMIT.source,
                             orphans_skb="veth_orphans_skb")

#: The stages a veth link swaps in (:func:`over_veth`), for looking up their costs by name.
LINK_STAGES = (VETH_LINK_RX, VETH_LINK_TX, VETH_LINK_TX_SOFTIRQ)

#: How a path's NIC stages read when the link is a veth pair: no hard IRQ,
#: no NIC poll, no GRO (netif_rx skips napi_gro_receive) and no TX
#: completion; the driver's transmit becomes veth_xmit.
_OVER_VETH = {"irq": None, "gro": None, "tx_completion": None, "nic_rx": VETH_LINK_RX}


def over_veth(path: Path) -> Path:
    """The same path with a veth pair for its link (a namespace testbed).

    The receive side loses the NIC's hard IRQ, its poll (replaced by the
    per-CPU backlog that ``netif_rx`` feeds), GRO and the transmit
    completion; the driver's transmit becomes ``veth_xmit``.  Pair it with
    a host whose ``link_segments`` is off and ``sender_on_receive_cpu`` on
    (:func:`queuemodel.testbed.fit.testbed_host`).

    Parameters
    ----------
    path : Path
        A path whose link is a NIC.

    Returns
    -------
    Path
        Same name, the link's stages swapped.

    Examples
    --------
    >>> [s.name for s in over_veth(NATIVE).rx][:3]
    ['veth_rx', 'ip_rx', 'ip_defrag']
    """
    def swap(stages):
        out = []
        for stage in stages:
            if stage.name == "driver_tx":
                stage = VETH_LINK_TX if stage.context == "syscall" else VETH_LINK_TX_SOFTIRQ
            else:
                stage = _OVER_VETH.get(stage.name, stage)
            if stage is not None:
                out.append(stage)
        return tuple(out)

    return dataclasses.replace(path, tx=swap(path.tx), rx=swap(path.rx),
                               description=path.description + "; the link a veth pair")


#: The built-in paths by name.
PATHS = {p.name: p for p in (NATIVE, LINUX_OVERLAY, DOCKER_OVERLAY)}
PATH_NAMES = tuple(PATHS)


def get_path(name: str) -> Path:
    """Look up a built-in path by name.

    Parameters
    ----------
    name : {'native', 'linux-overlay', 'docker-overlay'}

    Returns
    -------
    Path

    Raises
    ------
    UnknownNameError
        For any other name.

    Examples
    --------
    >>> get_path("docker-overlay").encap_bytes
    50
    """
    if isinstance(name, Path):
        return name
    try:
        return PATHS[name]
    except (KeyError, TypeError):
        raise UnknownNameError("path", name, "one of " + ", ".join(PATH_NAMES)) from None
