"""A NIC that does not check received TCP checksums leaves them to the CPU.

Linux 4.4: a packet the driver hands up as ``CHECKSUM_NONE`` has its TCP
checksum computed in software, by ``csum_partial`` over the payload, in GRO
(``tcp4_gro_receive`` -> ``skb_gro_checksum_validate``) or, with GRO off, in
``tcp_v4_rcv`` or the copy.  The native and routed paths carry that work as
the ``csum_rx`` stage, offloaded by the host's ``rx_csum`` (the paper's
ConnectX-3 checks plain TCP and UDP); the overlays' inner checksum is their
``inner_csum`` stage, offloaded by ``tunnel_offload`` instead, and UDP's is
folded into its copy (``udp_csum``).
"""

import pytest
from hypothesis import given
from hypothesis import strategies as st

import queuemodel as qm
from queuemodel.paths import CSUM_CYCLES_PER_BYTE


def test_without_receive_checksum_offload_native_tcp_pays_per_byte():
    on = qm.predict(path="native", proto="tcp", msg_bytes=131072)
    off = qm.predict(path="native", proto="tcp", msg_bytes=131072, rx_csum=False)
    assert on.stages["rx:csum_rx"] == 0.0
    # By hand: 0.2 cycles a byte (csum_partial's prior) over a 128 KB message, at the
    # model's message rate, on a 2.2 GHz core.
    by_hand = off.message_rate_per_s * CSUM_CYCLES_PER_BYTE * 131072 / 2.2e9
    assert off.stages["rx:csum_rx"] == pytest.approx(by_hand, rel=1e-9)
    assert 0.1 < off.stages["rx:csum_rx"] < 0.3
    # The receiver binds, so the checksum costs throughput.
    assert off.bottleneck.startswith("receiver:flow-core")
    assert off.throughput_gbps < 0.9 * on.throughput_gbps


@pytest.mark.parametrize("path", ["linux-overlay", "docker-overlay"])
def test_the_overlays_inner_checksum_follows_the_tunnel_offload_not_rx_csum(path):
    on = qm.predict(path=path, proto="tcp")
    off = qm.predict(path=path, proto="tcp", rx_csum=False)
    assert off.throughput_gbps == pytest.approx(on.throughput_gbps, rel=1e-12)
    assert on.stages["rx:inner_csum"] > 0.0         # the plain ConnectX-3: in software


@given(st.sampled_from(["native", "routed"]), st.sampled_from(["tcp", "udp"]),
       st.integers(1, 16), st.sampled_from([64, 1024, 8192, 65507]), st.floats(1.5, 4.0))
def test_turning_receive_checksum_offload_off_never_helps(path, proto, flows, size, ghz):
    base = dict(path=path, proto=proto, flows=flows, msg_bytes=size, ghz=ghz)
    on = qm.predict(**base).throughput_gbps
    off = qm.predict(**base, rx_csum=False).throughput_gbps
    assert off <= on * (1 + 1e-9)
