"""Wire arithmetic: goodput of a saturated link, and the per-packet time budget."""

from __future__ import annotations

import sympy as sp

from ._base import Derivation


def _tcp_goodput() -> Derivation:
    from queuemodel import wire

    L, mtu, e, M = sp.symbols("L_gbps mtu e M", positive=True)
    eth = sp.Integer(wire.ETH_OVERHEAD_BYTES)
    ip, tcp, ts = (sp.Integer(v) for v in (wire.IPV4_HEADER_BYTES, wire.TCP_HEADER_BYTES,
                                          wire.TCP_TIMESTAMP_OPTION_BYTES))
    mss = mtu - e - ip - tcp - ts
    frame = mtu + eth
    packets = M / mss
    wire_bytes = packets * frame
    derived = sp.simplify(L * M / wire_bytes)
    stated = L * (mtu - e - 52) / (mtu + 38)
    return Derivation(
        name="tcp_goodput",
        title="Goodput of a saturated link carrying TCP",
        assumptions=(
            "Every packet is full: a byte stream is cut into MSS-sized segments.",
            "IPv4 (20 B), TCP (20 B) with the timestamp option (12 B); a tunnel adds e bytes "
            "inside the MTU.",
            "A frame costs its IP packet plus 14 B header, 4 B FCS, 8 B preamble and 12 B "
            "inter-frame gap on the wire.",
        ),
        steps=(
            ("payload per packet (MSS)", sp.Eq(sp.Symbol("mss"), mss)),
            ("wire bytes per full frame", sp.Eq(sp.Symbol("frame"), frame)),
            ("packets per message of M bytes", sp.Eq(sp.Symbol("n"), packets)),
            ("goodput = line rate x payload / wire bytes", sp.Eq(sp.Symbol("G"), L * M / wire_bytes)),
            ("simplified", sp.Eq(sp.Symbol("G"), derived)),
        ),
        derived=derived,
        stated=stated,
        symbols=(L, mtu, e, M),
        implemented=lambda L_, mtu_, e_, M_: wire.goodput_gbps(L_, "tcp", M_, mtu_, e_),
        domain={"L_gbps": (0.1, 800.0, False), "mtu": (576, 9216, True),
                "e": (0, 100, True), "M": (1, 1 << 20, True)},
        where="queuemodel.wire.goodput_gbps (proto='tcp')",
    )


def _budget() -> Derivation:
    from queuemodel import wire

    L, mtu = sp.symbols("L_gbps mtu", positive=True)
    bits = 8 * (mtu + wire.ETH_OVERHEAD_BYTES)
    derived = bits / L        # bits / (Gb/s) = ns
    return Derivation(
        name="per_packet_budget",
        title="Time budget per full-size packet at line rate",
        assumptions=("Back-to-back full frames of mtu + 38 wire bytes.",),
        steps=(
            ("bits per frame on the wire", sp.Eq(sp.Symbol("b"), bits)),
            ("one bit takes 1/L ns at L Gb/s", sp.Eq(sp.Symbol("t_ns"), derived)),
        ),
        derived=derived,
        stated=(mtu + 38) * 8 / L,
        symbols=(L, mtu),
        implemented=wire.per_packet_budget_ns,
        domain={"L_gbps": (0.1, 800.0, False), "mtu": (576, 9216, True)},
        where="queuemodel.wire.per_packet_budget_ns",
    )


def _udp_wire_bytes() -> Derivation:
    from queuemodel import wire

    M, mtu, e = sp.symbols("M mtu e", positive=True, integer=True)
    per_frag = 8 * sp.floor((mtu - e - 20) / 8)
    n = sp.Max(1, sp.ceiling((M + 8) / per_frag))
    last_ip = M + 8 - (n - 1) * per_frag + 20
    last = sp.Max(last_ip + e + 18, 64) + 20
    full = per_frag + 20 + e + 38
    derived = (n - 1) * full + last
    return Derivation(
        name="udp_wire_bytes",
        title="Wire bytes of one UDP datagram, fragmented at the MTU",
        assumptions=(
            "A datagram of M payload bytes plus the 8 B UDP header is split into IP fragments "
            "whose payload is a multiple of 8 B (RFC 791).",
            "Each fragment is one frame; frames are padded to 64 B.",
        ),
        steps=(
            ("payload per full fragment", sp.Eq(sp.Symbol("P"), per_frag)),
            ("fragments", sp.Eq(sp.Symbol("n"), n)),
            ("IP length of the last fragment", sp.Eq(sp.Symbol("l"), last_ip)),
            ("wire bytes", sp.Eq(sp.Symbol("W"), derived)),
        ),
        derived=derived,
        stated=derived,
        symbols=(M, mtu, e),
        implemented=lambda M_, mtu_, e_: wire.wire_bytes_per_message("udp", M_, mtu_, e_),
        domain={"M": (1, 65507, True), "mtu": (576, 9216, True), "e": (0, 100, True)},
        where="queuemodel.wire.wire_bytes_per_message (proto='udp')",
    )


def derivations() -> list:
    return [_tcp_goodput(), _budget(), _udp_wire_bytes()]
