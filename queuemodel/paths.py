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

A path is data, so it can be a file: :func:`path_to_toml` writes one (a
template for a user's own path) and :func:`load_path` reads it back; every
command that takes ``--path`` takes such a file.
"""

from __future__ import annotations

import dataclasses
import tomllib
from pathlib import Path as _FsPath

from .errors import ModelInputError, UnknownNameError
from .stage import Path, Stage
from .wire import VXLAN_ENCAP_BYTES

__all__ = ["NATIVE", "LINUX_OVERLAY", "DOCKER_OVERLAY", "ROUTED", "PATHS", "MORE_PATHS",
           "get_path", "PATH_NAMES", "ALL_PATH_NAMES",
           "LINK_STAGES", "over_veth", "path_to_toml", "load_path", "load_path_text"]

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
CSUM_RX = Stage(name="csum_rx", context="softirq", unit="packet",
                cost_cycles_per_byte=CSUM_CYCLES_PER_BYTE, protocols=("tcp",),
                offloaded_by="rx_csum",
                source=PRIOR + ": TCP checksum of each received packet when the NIC did not "
                       "check it (CHECKSUM_NONE): tcp4_gro_receive -> "
                       "skb_gro_checksum_validate -> csum_partial over the payload, or "
                       "with GRO off tcp_v4_rcv / the copy (Linux 4.4)")
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
                 shared_lines_per_unit=2.0,
                 source=f"{FITTED}: outer udp_rcv -> vxlan_rcv decapsulation -> "
                        "gro_cells enqueue; its shared lines: Linux 4.4's UDP lookup "
                        "(udp4_lib_lookup2, __udp4_lib_lookup) takes a reference on the "
                        "one VXLAN socket (atomic_inc_not_zero_hint) and __udp4_lib_rcv "
                        "drops it (sock_put): two writes of sk_refcnt a wire packet, on "
                        "every receive CPU (no reference since 4.7, 'udp: no longer use "
                        "SLAB_DESTROY_BY_RCU')")
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
FORWARD_GSO = Stage(name="forward_gso", context="softirq", unit="packet",
                    cost_cycles_per_unit=300.0, batching="gso", protocols=("tcp",),
                    source=PRIOR + ": validate_xmit_skb -> skb_gso_segment of a GRO-merged "
                           "segment forwarded out of a device without TSO, per packet put "
                           "out (GSO's prior); free with the host's forward_tso, the "
                           "default")
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
    rx=(IRQ, NIC_RX, CSUM_RX, GRO, IP_RX, IP_DEFRAG, TCP_RX, UDP_RX) + _RX_TAIL
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
    rx=_OVERLAY_RX_HEAD + (BRIDGE, FORWARD_GSO, VETH_XMIT, BACKLOG, INNER_IP_RX, IP_DEFRAG,
                           TCP_RX, UDP_RX)
       + _RX_TAIL + (_UDP_CSUM_RX_TUNNEL, APP_RX),
)

# ------------------------------------------------- beyond the paper: a routed container
# Container networking without an overlay, routed by the host (Calico's default, and
# Kubernetes' "host-gw"): each container's veth ends in its host's namespace, which
# forwards IP packets between it and the NIC.  No encapsulation, no bridge; the veth
# still queues on the per-CPU backlog, so a packet meets two softirq polls (the NIC's
# and the backlog's) on its way in, one fewer than Docker's overlay.
IP_FORWARD = Stage(name="ip_forward", context="softirq", unit="packet",
                   cost_cycles_per_unit=300.0,
                   source=PRIOR + ": ip_forward, TTL and FIB output, ip_finish_output onto the "
                          "next device (after ip_rcv, the ip_rx stage), IP_RX's prior")
# On the sender the host namespace receives the container's packet from the veth's
# backlog (ip_rcv: ip_rx's cost, by name) and forwards it to the NIC, in softirq context.
_IP_RX_TX = dataclasses.replace(IP_RX, source=IP_RX.source + " (sender: the host "
                                "namespace receives from the container's veth)")
_GSO_SOFTIRQ = dataclasses.replace(GSO, context="softirq")
_CSUM_TX_SOFTIRQ = dataclasses.replace(CSUM_TX, context="softirq")

ROUTED = Path(
    name="routed",
    description="container veth -> host IP forwarding -> host NIC, no overlay (Calico-style)",
    flow_addresses="per-flow",                # a container's own address per endpoint
    tx=_TX_HEAD + (UDP_CSUM_TX, TCP_TX, UDP_TX, IP_TX, IP_FRAGMENT, VETH_TX, BACKLOG_TX,
                   _IP_RX_TX, IP_FORWARD, _CSUM_TX_SOFTIRQ, _GSO_SOFTIRQ, DRIVER_TX_SOFTIRQ,
                   TX_COMPLETION),
    rx=(IRQ, NIC_RX, CSUM_RX, GRO, IP_RX, IP_FORWARD, FORWARD_GSO, VETH_XMIT, BACKLOG,
        INNER_IP_RX, IP_DEFRAG, TCP_RX, UDP_RX) + _RX_TAIL + (UDP_CSUM_RX, APP_RX),
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

#: Over a veth pair the receiver checks a TCP checksum only if the sender did not
#: leave it to the device: a sent sk_buff crosses as CHECKSUM_PARTIAL, which counts
#: as checked, and one the sender checksummed itself as CHECKSUM_NONE (measured on
#: Linux 6.18, tests/checksum_experiment.py: the receiving end's rx-checksumming
#: changes nothing, the sending end's tx-checksumming adds csum work).
_VETH_CSUM_RX = dataclasses.replace(
    CSUM_RX, offloaded_by="tx_csum",
    source=CSUM_RX.source + "; over a veth pair, when the sender checksummed in software")
#: How a path's NIC stages read when the link is a veth pair: no hard IRQ,
#: no NIC poll, no GRO (netif_rx skips napi_gro_receive), the receive checksum
#: the sender's to spare, and no TX completion; the driver's transmit becomes
#: veth_xmit.
_OVER_VETH = {"irq": None, "gro": None, "csum_rx": _VETH_CSUM_RX, "tx_completion": None,
              "nic_rx": VETH_LINK_RX}


def over_veth(path: Path) -> Path:
    """The same path with a veth pair for its link (a namespace testbed).

    The receive side loses the NIC's hard IRQ, its poll (replaced by the
    per-CPU backlog that ``netif_rx`` feeds), GRO and the transmit
    completion, and checks TCP's checksum only where the sender did
    (``tx_csum`` off); the driver's transmit becomes ``veth_xmit``.  Pair it
    with a host whose ``link_segments`` is off and ``sender_on_receive_cpu`` on
    (:func:`queuemodel.testbed.fit.testbed_host`).  The NIC's stages are known
    by the library's names (``irq``, ``nic_rx``, ``gro``, ``driver_tx``...):
    a path that gives its NIC stages names of its own keeps them.

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
    ['veth_rx', 'csum_rx', 'ip_rx']
    >>> over_veth(NATIVE).rx[1].offloaded_by
    'tx_csum'
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


#: The seed paper's three paths by name: what its claims, figures and fits are about.
PATHS = {p.name: p for p in (NATIVE, LINUX_OVERLAY, DOCKER_OVERLAY)}
PATH_NAMES = tuple(PATHS)
#: Built-in paths beyond the paper's, by name: made of the same stages (their costs
#: included), none of them fitted to a claim.  :func:`get_path` knows them too.
MORE_PATHS = {p.name: p for p in (ROUTED,)}
ALL_PATH_NAMES = PATH_NAMES + tuple(MORE_PATHS)


def get_path(name: str) -> Path:
    """Look up a built-in path by name.

    Parameters
    ----------
    name : {'native', 'linux-overlay', 'docker-overlay', 'routed'}
        A name of :data:`PATHS` or :data:`MORE_PATHS` (a :class:`Path` is
        returned as it is).

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
        return PATHS[name] if name in PATHS else MORE_PATHS[name]
    except (KeyError, TypeError):
        raise UnknownNameError("path", name, "one of " + ", ".join(ALL_PATH_NAMES)) from None


# ---------------------------------------------------------------- paths as files

#: A path's own keys in a path file, besides its two sides.
_PATH_KEYS = ("name", "description", "encap_bytes", "tunnel", "flow_addresses")
#: What every stage in a path file must state: the rest have defaults.
_STAGE_REQUIRED = ("name", "context", "unit")


def path_to_toml(path: Path) -> str:
    """A path as TOML: a ``[path]`` table and one ``[[path.tx]]`` / ``[[path.rx]]`` table
    per stage, in order (read back by :func:`load_path`).

    Each stage lists its name, context and unit, then only the fields that
    differ from :class:`~queuemodel.stage.Stage`'s defaults.  Print a
    built-in path this way (``queuemodel paths native --toml``) to start a
    new one.

    Parameters
    ----------
    path : Path or str
        A path, or a built-in path's name.

    Returns
    -------
    str

    Examples
    --------
    >>> text = path_to_toml("docker-overlay")
    >>> text.splitlines()[:2]
    ['[path]', 'name = "docker-overlay"']
    >>> load_path_text(text) == DOCKER_OVERLAY
    True
    """
    from ._toml import toml_value

    path = get_path(path)
    lines = ["[path]"]
    lines += [f"{key} = {toml_value(f'path.{key}', getattr(path, key))}" for key in _PATH_KEYS]
    for side in ("tx", "rx"):
        for stage in getattr(path, side):
            lines += ["", f"[[path.{side}]]"]
            for f in dataclasses.fields(stage):
                value = getattr(stage, f.name)
                if f.name in _STAGE_REQUIRED or value != f.default:
                    lines.append(f"{f.name} = {toml_value(f'stage.{f.name}', value)}")
    return "\n".join(lines) + "\n"


def load_path_text(text: str) -> Path:
    """:func:`load_path` from TOML text instead of a file.

    Parameters
    ----------
    text : str
        TOML with a ``[path]`` table (its keys may also sit at the top level).

    Returns
    -------
    Path

    Raises
    ------
    ModelInputError
        For text that is not TOML, a missing name or side, a stage without
        its name, context or unit, or a value out of its range.
    UnknownNameError
        For a key that is neither a path's nor a stage's field.

    Examples
    --------
    >>> p = load_path_text('''
    ... [path]
    ... name = "loopback-ish"
    ... [[path.tx]]
    ... name = "send"
    ... context = "syscall"
    ... unit = "message"
    ... cost_cycles_per_unit = 3000
    ... [[path.rx]]
    ... name = "recv"
    ... context = "syscall"
    ... unit = "message"
    ... cost_cycles_per_unit = 3000
    ... ''')
    >>> p.name, [s.name for s in p.rx], p.rx[0].cost_cycles_per_unit
    ('loopback-ish', ['recv'], 3000.0)
    """
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as err:
        raise ModelInputError("path", text[:40], f"TOML ({err})") from None
    data = data.get("path", data)
    if not isinstance(data, dict):
        raise ModelInputError("path", data, "a table of the path's keys")
    allowed = _PATH_KEYS + ("tx", "rx")
    for key in data:
        if key not in allowed:
            raise UnknownNameError(f"path.{key}", data[key], "one of " + ", ".join(allowed))
    for key in ("name", "tx", "rx"):
        if key not in data:
            raise ModelInputError(f"path.{key}", None, "given (a path needs a name and both "
                                                       "sides' stages)")
    for key in ("name", "description"):
        if key in data and not isinstance(data[key], str):
            raise ModelInputError(f"path.{key}", data[key], "a string")
    sides = {side: tuple(_stage_from_table(f"path.{side}[{i}]", table)
                         for i, table in enumerate(_tables(f"path.{side}", data[side])))
             for side in ("tx", "rx")}
    return Path(**{**data, **sides})


def load_path(file: str | _FsPath) -> Path:
    """Read a path from a TOML file (written by :func:`path_to_toml`, or by hand).

    A path is data: a user's new path (a macvlan, an eBPF shortcut) is a
    file of stages that every command taking ``--path`` accepts, with no
    change to the solver.

    Parameters
    ----------
    file : str or pathlib.Path
        The TOML file.

    Returns
    -------
    Path

    Raises
    ------
    ModelInputError
        For a file that cannot be read or parsed, or a path that is not valid
        (:func:`load_path_text`).
    """
    try:
        text = _FsPath(file).read_text()
        tomllib.loads(text)
    except (OSError, tomllib.TOMLDecodeError) as err:
        raise ModelInputError("--path", str(file), f"a readable TOML file ({err})") from None
    return load_path_text(text)


def _tables(field: str, value) -> list:
    if not isinstance(value, list) or not value or not all(isinstance(v, dict) for v in value):
        raise ModelInputError(field, value, "a non-empty array of stage tables "
                                            f"([[{field}]] sections)")
    return value


def _stage_from_table(field: str, table: dict) -> Stage:
    names = [f.name for f in dataclasses.fields(Stage)]
    for key in table:
        if key not in names:
            raise UnknownNameError(f"{field}.{key}", table[key], "one of " + ", ".join(names))
    for key in _STAGE_REQUIRED:
        if key not in table:
            raise ModelInputError(f"{field}.{key}", None, "given (every stage names its "
                                                          "name, context and unit)")
    for key in ("name", "offloaded_by", "source"):
        if key in table and not isinstance(table[key], str):
            raise ModelInputError(f"{field}.{key}", table[key], "a string")
    if isinstance(table.get("protocols"), list):             # TOML arrays read as lists
        table = {**table, "protocols": tuple(table["protocols"])}
    return Stage(**table)
