"""Wire arithmetic: headers, MSS, fragments, frames and link goodput.

Pure functions of numbers (or numpy arrays) in bytes and Gb/s.  The
constants are protocol facts; each carries its standard.
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "ETH_HEADER_BYTES", "ETH_FCS_BYTES", "ETH_PREAMBLE_SFD_BYTES", "ETH_IFG_BYTES",
    "ETH_MIN_FRAME_BYTES", "IPV4_HEADER_BYTES", "TCP_HEADER_BYTES",
    "TCP_TIMESTAMP_OPTION_BYTES", "UDP_HEADER_BYTES", "VXLAN_ENCAP_BYTES",
    "ETH_OVERHEAD_BYTES",
    "inner_mtu_bytes", "tcp_mss_bytes", "tcp_burst_bytes", "udp_fragment_payload_bytes", "udp_fragments",
    "wire_packets_per_message", "wire_bytes_per_message", "mean_frame_bytes", "goodput_gbps",
    "per_packet_budget_ns", "segment_bytes",
]

ETH_HEADER_BYTES = 14          # IEEE 802.3: destination, source, EtherType
ETH_FCS_BYTES = 4              # IEEE 802.3 frame check sequence
ETH_PREAMBLE_SFD_BYTES = 8     # IEEE 802.3 preamble (7) + start delimiter (1)
ETH_IFG_BYTES = 12             # IEEE 802.3 minimum inter-frame gap
ETH_MIN_FRAME_BYTES = 64       # IEEE 802.3 minimum frame, header to FCS
IPV4_HEADER_BYTES = 20         # RFC 791, no options
TCP_HEADER_BYTES = 20          # RFC 793, no options
TCP_TIMESTAMP_OPTION_BYTES = 12  # RFC 7323 timestamps (10) + 2 NOPs; on by default in Linux
UDP_HEADER_BYTES = 8           # RFC 768
VXLAN_ENCAP_BYTES = 50         # RFC 7348: outer Ethernet 14 + IPv4 20 + UDP 8 + VXLAN 8

#: Bytes a frame occupies on the wire beyond its IP packet: header, FCS,
#: preamble and inter-frame gap (14 + 4 + 8 + 12 = 38).
ETH_OVERHEAD_BYTES = ETH_HEADER_BYTES + ETH_FCS_BYTES + ETH_PREAMBLE_SFD_BYTES + ETH_IFG_BYTES


def inner_mtu_bytes(mtu, encap_bytes=0):
    """IP MTU left to the inner packet of a tunnel.

    Parameters
    ----------
    mtu : int or array_like
        IP MTU of the link in bytes.
    encap_bytes : int or array_like
        Tunnel headers per packet in bytes (VXLAN: 50).

    Returns
    -------
    numpy.ndarray or float
        ``mtu - encap_bytes``.

    Examples
    --------
    >>> float(inner_mtu_bytes(1500, VXLAN_ENCAP_BYTES))
    1450.0
    """
    return np.subtract(mtu, encap_bytes, dtype=float)


def tcp_mss_bytes(mtu, encap_bytes=0):
    """TCP payload bytes per full packet (IPv4, timestamps on).

    Parameters
    ----------
    mtu : int or array_like
        IP MTU of the link in bytes.
    encap_bytes : int or array_like
        Tunnel headers per packet in bytes.

    Returns
    -------
    numpy.ndarray or float
        ``mtu - encap - 20 - 20 - 12``.

    Examples
    --------
    >>> float(tcp_mss_bytes(1500)), float(tcp_mss_bytes(1500, 50))
    (1448.0, 1398.0)
    """
    return inner_mtu_bytes(mtu, encap_bytes) - (
        IPV4_HEADER_BYTES + TCP_HEADER_BYTES + TCP_TIMESTAMP_OPTION_BYTES)


def udp_fragment_payload_bytes(mtu, encap_bytes=0):
    """IP payload bytes carried by each full fragment (a multiple of 8, RFC 791).

    Parameters
    ----------
    mtu : int or array_like
        IP MTU of the link in bytes.
    encap_bytes : int or array_like
        Tunnel headers per packet in bytes.

    Returns
    -------
    numpy.ndarray or float
        ``8 * floor((inner_mtu - 20) / 8)``.

    Examples
    --------
    >>> float(udp_fragment_payload_bytes(1500)), float(udp_fragment_payload_bytes(1500, 50))
    (1480.0, 1424.0)
    """
    return 8.0 * np.floor((inner_mtu_bytes(mtu, encap_bytes) - IPV4_HEADER_BYTES) / 8.0)


def udp_fragments(msg_bytes, mtu, encap_bytes=0):
    """IP packets one UDP datagram becomes (1 when it fits the MTU).

    Parameters
    ----------
    msg_bytes : int or array_like
        UDP payload in bytes.
    mtu : int or array_like
        IP MTU of the link in bytes.
    encap_bytes : int or array_like
        Tunnel headers per packet in bytes.

    Returns
    -------
    numpy.ndarray or float
        ``ceil((msg + 8) / fragment_payload)``, at least 1.

    Examples
    --------
    >>> float(udp_fragments(8192, 1500)), float(udp_fragments(8192, 1500, 50))
    (6.0, 6.0)
    >>> float(udp_fragments(1472, 1500)), float(udp_fragments(1473, 1500))
    (1.0, 2.0)
    """
    datagram = np.add(msg_bytes, UDP_HEADER_BYTES, dtype=float)
    return np.maximum(1.0, np.ceil(datagram / udp_fragment_payload_bytes(mtu, encap_bytes)))


def segment_bytes(mss, max_bytes, max_packets=np.inf):
    """Payload of one GRO or GSO segment: as many full MSS as fit, at least one.

    Parameters
    ----------
    mss : float or array_like
        TCP payload per wire packet in bytes.
    max_bytes : float or array_like
        Largest segment (``gro_max_bytes`` or ``gso_max_bytes``).
    max_packets : float or array_like
        Largest number of packets in one segment (GRO: ``napi_weight``,
        because Linux 4.4 with HZ < 1000 flushes GRO after every full poll).

    Returns
    -------
    numpy.ndarray or float
        ``mss * max(1, min(floor(max_bytes / mss), max_packets))``.

    Examples
    --------
    >>> float(segment_bytes(1448, 65536, 64))
    65160.0
    """
    packets = np.maximum(1.0, np.minimum(np.floor(np.divide(max_bytes, mss)), max_packets))
    return np.multiply(mss, packets)


def tcp_burst_bytes(msg_bytes, mss, gso_max_bytes, writes_per_burst):
    """Payload a TCP sender puts on the wire back to back (one TSO/GSO segment).

    Parameters
    ----------
    msg_bytes : float or array_like
        Bytes per application write.
    mss : float or array_like
        TCP payload per wire packet.
    gso_max_bytes : float or array_like
        Largest GSO/TSO segment.
    writes_per_burst : float or array_like
        Writes that leave together (:func:`queuemodel.solver.tcp_writes_per_burst`);
        1 or less: each write leaves alone.

    Returns
    -------
    numpy.ndarray or float
        ``min(segment_bytes(mss, gso_max), msg_bytes * max(1, writes_per_burst))``:
        the writes gathered go out together, and no burst is bigger than one
        GSO segment (a write bigger than that goes out in GSO segments).

    Examples
    --------
    >>> float(tcp_burst_bytes(64, 1448, 65536, 12)), float(tcp_burst_bytes(131072, 1448, 65536, 12))
    (768.0, 65160.0)
    >>> float(tcp_burst_bytes(1024, 1448, 65536, 0))
    1024.0
    """
    return np.minimum(segment_bytes(mss, gso_max_bytes),
                      np.multiply(msg_bytes, np.maximum(1.0, writes_per_burst)))


def wire_packets_per_message(proto, msg_bytes, mtu, encap_bytes=0):
    """Wire packets per application message.

    TCP is a byte stream cut into full MSS packets (fluid: a fraction of a
    packet per message is fine); a UDP datagram is one packet per fragment.

    Parameters
    ----------
    proto : {'tcp', 'udp'}
        Transport protocol.
    msg_bytes : int or array_like
        Message (datagram payload) in bytes.
    mtu : int or array_like
        IP MTU of the link in bytes.
    encap_bytes : int or array_like
        Tunnel headers per packet in bytes.

    Returns
    -------
    numpy.ndarray or float

    Examples
    --------
    >>> round(float(wire_packets_per_message("tcp", 131072, 1500)), 2)
    90.52
    """
    if proto == "tcp":
        return np.divide(msg_bytes, tcp_mss_bytes(mtu, encap_bytes), dtype=float)
    return udp_fragments(msg_bytes, mtu, encap_bytes)


def wire_bytes_per_message(proto, msg_bytes, mtu, encap_bytes=0, tcp_packets=None):
    """Bytes a message occupies on the wire, every header, preamble and gap included.

    Parameters
    ----------
    proto : {'tcp', 'udp'}
        Transport protocol.
    msg_bytes : int or array_like
        Message (datagram payload) in bytes.
    mtu : int or array_like
        IP MTU of the link in bytes.
    encap_bytes : int or array_like
        Tunnel headers per packet in bytes.
    tcp_packets : float or array_like, optional
        TCP packets per message, where they are more than full MSS packets
        would be (writes that leave alone); default ``msg / MSS``.

    Returns
    -------
    numpy.ndarray or float

    Notes
    -----
    TCP sends full packets of ``mtu + 38`` wire bytes, each carrying one
    MSS: the payload and ``mtu + 38 - MSS`` bytes of headers a packet (a
    TCP frame, with its 52 bytes of IP and TCP headers, never needs
    padding).  A UDP datagram is ``n`` fragments: ``n - 1`` full ones and
    a last one with the rest; every frame is padded to the 64-byte minimum.

    Examples
    --------
    >>> float(wire_bytes_per_message("udp", 18, 1500))   # padded minimum frame
    84.0
    >>> float(wire_bytes_per_message("tcp", 64, 1500, tcp_packets=1.0))   # 64 + 90
    154.0
    """
    frame_full = np.add(mtu, ETH_OVERHEAD_BYTES, dtype=float)
    if proto == "tcp":
        if tcp_packets is None:
            return wire_packets_per_message("tcp", msg_bytes, mtu, encap_bytes) * frame_full
        headers = frame_full - tcp_mss_bytes(mtu, encap_bytes)
        return np.add(msg_bytes, np.multiply(tcp_packets, headers), dtype=float)
    n = udp_fragments(msg_bytes, mtu, encap_bytes)
    per_frag = udp_fragment_payload_bytes(mtu, encap_bytes)
    last_ip = np.add(msg_bytes, UDP_HEADER_BYTES) - (n - 1.0) * per_frag + IPV4_HEADER_BYTES
    last_frame = np.maximum(last_ip + encap_bytes + ETH_HEADER_BYTES + ETH_FCS_BYTES,
                            ETH_MIN_FRAME_BYTES) + ETH_PREAMBLE_SFD_BYTES + ETH_IFG_BYTES
    full_frame = per_frag + IPV4_HEADER_BYTES + encap_bytes + ETH_OVERHEAD_BYTES
    return (n - 1.0) * full_frame + last_frame


def mean_frame_bytes(proto, msg_bytes, mtu, encap_bytes=0, tcp_packets=None):
    """Mean bytes per frame of a message's packets, as the receiving NIC counts them.

    The Ethernet header to the end of the payload (padding included): the
    FCS the NIC strips, the preamble and the gap are not counted.  This is
    what a driver divides its ring's bytes by its packets to get (mlx4_en's
    ``avg_pkt_size``).

    Parameters
    ----------
    proto : {'tcp', 'udp'}
        Transport protocol.
    msg_bytes : int or array_like
        Message (datagram payload) in bytes.
    mtu : int or array_like
        IP MTU of the link in bytes.
    encap_bytes : int or array_like
        Tunnel headers per packet in bytes.
    tcp_packets : float or array_like, optional
        As in :func:`wire_bytes_per_message`.

    Returns
    -------
    numpy.ndarray or float

    Examples
    --------
    >>> float(mean_frame_bytes("udp", 64, 1500))       # 14 + 20 + 8 + 64
    106.0
    >>> float(mean_frame_bytes("udp", 64, 1500, 50))   # a VXLAN frame: 50 more
    156.0
    >>> float(mean_frame_bytes("tcp", 131072, 1500))   # full MSS packets
    1514.0
    >>> float(mean_frame_bytes("tcp", 64, 1500, tcp_packets=1.0))   # 14 + 20 + 32 + 64
    130.0
    """
    if proto == "tcp" and tcp_packets is None:   # full MSS packets
        return np.add(mtu, ETH_HEADER_BYTES, dtype=float) + np.multiply(msg_bytes, 0.0)
    packets = tcp_packets if proto == "tcp" else udp_fragments(msg_bytes, mtu, encap_bytes)
    on_wire = wire_bytes_per_message(proto, msg_bytes, mtu, encap_bytes, tcp_packets)
    return on_wire / packets - (ETH_FCS_BYTES + ETH_PREAMBLE_SFD_BYTES + ETH_IFG_BYTES)


def goodput_gbps(link_gbps, proto, msg_bytes, mtu, encap_bytes=0, tcp_packets=None):
    """Application payload rate a saturated link carries, in Gb/s.

    Parameters
    ----------
    link_gbps : float or array_like
        Line rate in Gb/s.
    proto : {'tcp', 'udp'}
        Transport protocol.
    msg_bytes : int or array_like
        Message (datagram payload) in bytes.
    mtu : int or array_like
        IP MTU of the link in bytes.
    encap_bytes : int or array_like
        Tunnel headers per packet in bytes.
    tcp_packets : float or array_like, optional
        As in :func:`wire_bytes_per_message`.

    Returns
    -------
    numpy.ndarray or float
        ``link_gbps * msg_bytes / wire_bytes_per_message``.

    Examples
    --------
    >>> round(float(goodput_gbps(40, "tcp", 131072, 1500)), 2)   # 40 * 1448 / 1538
    37.66
    """
    return np.multiply(link_gbps, msg_bytes) / wire_bytes_per_message(
        proto, msg_bytes, mtu, encap_bytes, tcp_packets)


def per_packet_budget_ns(link_gbps, mtu):
    """Time between two full-size frames on a saturated link, in ns.

    Parameters
    ----------
    link_gbps : float or array_like
        Line rate in Gb/s.
    mtu : int or array_like
        IP MTU in bytes.

    Returns
    -------
    numpy.ndarray or float
        ``(mtu + 38) * 8 / link_gbps``.

    Examples
    --------
    >>> round(float(per_packet_budget_ns(40, 1500)), 1)   # the paper's "300 ns"
    307.6
    """
    return np.add(mtu, ETH_OVERHEAD_BYTES, dtype=float) * 8.0 / np.asarray(link_gbps, float)
