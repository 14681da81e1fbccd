"""DRAM traffic of received data: direct cache access, and how long data waits.

A NIC writes each received frame straight into the last-level cache (Intel
DDIO), but only into a share of its ways; a line written there stays until
later writes into that share push it out.  Two things decide whether a
received byte also costs DRAM traffic:

* **read miss**: the copy to the application reads the byte only after the
  bytes that arrived while it waited; if they overflowed the share first,
  the line was written back to DRAM (a write) and the copy fetches it again
  (a read);
* **write-back**: a line that was read in time is still dirty; it is written
  back when later frames push it out, unless the NIC reuses its buffer first
  (writing into a line that is still cached updates it in place).  A buffer
  comes back after the NIC has gone once round the rings in use.

Both are an eviction before a reuse: with ``C`` bytes of cache share and a
reuse distance ``D`` (bytes written into the share in between) exponentially
distributed with mean ``W``, the line is gone with probability
``exp(-C / W)`` (``derivations/memory.py``).  Before the copy, ``W`` is what
all flows write while a byte waits: the data queued ahead of it at its
receive CPU scaled by the total rate over that CPU's (Little).  A saturated
CPU holds its queues full (a TCP window per flow; a ring, and a socket
buffer per flow, for UDP); below saturation a CPU at utilisation ``rho``
holds ``rho + rho^2 (ca2 + cs2) / (2 (1 - rho))`` messages, Kingman's mean
queue and the one in service (``rho / (1 - rho)`` for Poisson senders and
exponential service; :func:`queuemodel.flows.expected_spread`).
Before a buffer's reuse, ``W`` is the rings' footprint.

Over a veth pair (one kernel, no DMA) the sender's copy writes the data; a
CPU write may allocate in the whole cache, and there is no ring.

A read miss also costs the reading core time: the copy waits for each line
that comes from DRAM.  A core keeps at most ``dram_misses_in_flight`` lines
in flight, each for ``dram_latency_ns``, so by Little's law it streams at most
``dram_misses_in_flight * 64`` bytes per latency from DRAM; that is the
penalty :func:`dram_read_cycles_per_byte` charges per missed byte, on top of
the copy's own per-byte cost (which assumes cached data).  Adding the two
is the pessimistic reading: a copy that overlapped its cached-data work
with the waits would pay only the larger of them.

The per-core L2 holds each flow's own state (its socket and protocol
control block: a stage's ``flow_state_lines``) between the flow's
packets.  The same law decides whether a state line is still there when
the flow touches it next (:func:`flow_state_miss`): in between, the core
streams the other messages' bytes through its L2 (the headers and
descriptors of every wire packet, :data:`PACKET_TOUCHED_BYTES`, and the
payload of every stage on it that works per byte, twice for the copy,
which also writes it into the reader's buffer) and touches the other
flows' state.  A line the L2 lost comes back from the last-level cache
(``host.llc_latency_ns``), where a few kilobytes per flow stay: extra
cycles, no DRAM traffic.  With ``K`` flows on a core the state waits ``K``
times the stream a flow's own touches leave between them, so the more
flows share a core the more its state misses: the per-core cache's part
in how contention grows with the flows.
"""

from __future__ import annotations

import numpy as np

__all__ = ["eviction_probability", "dram_bytes_per_byte", "dram_bytes_from",
           "dram_read_cycles_per_byte", "flow_state_miss", "shared_line_remote",
           "CACHE_LINE_BYTES",
           "PACKET_TOUCHED_BYTES"]

#: Bytes per cache line on x86 (Intel 64 and IA-32 Architectures Optimization
#: Reference Manual).
CACHE_LINE_BYTES = 64

#: Bytes of new data each received wire packet brings through its receive
#: core's L2 besides the payload: prior estimate, three cache lines, the
#: frame's headers (one line; two for a VXLAN frame's 50 more bytes, within
#: this estimate) and mlx4_en's 32-byte completion entry and 16-byte receive
#: descriptor.  The ``sk_buff`` and ``skb_shared_info`` come from per-CPU
#: slab caches that hand the same objects back, so they stay cached.
PACKET_TOUCHED_BYTES = 3 * CACHE_LINE_BYTES


def eviction_probability(reuse_bytes, cache_bytes):
    """Chance that a cached line is pushed out before it is used again.

    Parameters
    ----------
    reuse_bytes : float or array_like
        Mean bytes written into the cache share between the line's write
        and its reuse (>= 0); 0 means it is reused at once.
    cache_bytes : float or array_like
        Bytes of the cache share those writes go into (> 0).

    Returns
    -------
    numpy.ndarray
        ``exp(-cache / reuse)``, 0 where nothing is written in between.

    Examples
    --------
    >>> float(eviction_probability(2.5e6, 2.5e6))
    0.36787944117144233
    >>> float(eviction_probability(0.0, 2.5e6))
    0.0
    """
    reuse = np.asarray(reuse_bytes, dtype=float)
    cache = np.asarray(cache_bytes, dtype=float)
    ratio = np.divide(cache, reuse, out=np.full(np.broadcast(reuse, cache).shape, np.inf),
                      where=reuse > 0)
    return np.exp(-ratio)


def dram_bytes_per_byte(waiting_bytes, ring_bytes, cache_bytes):
    """DRAM bytes moved per byte received (reads and write-backs).

    Parameters
    ----------
    waiting_bytes : float or array_like
        Mean bytes written into the cache share between a frame's arrival
        and its copy to the application: the data queued ahead of it when
        its flow alone writes, more when other flows write meanwhile.
    ring_bytes : float or array_like
        Bytes of receive buffers the NIC cycles through (every ring in use).
    cache_bytes : float or array_like
        Bytes of cache the received data may occupy (the DDIO share).

    Returns
    -------
    numpy.ndarray
        In [0, 2]: ``2 m + (1 - m) b`` with ``m`` the read-miss and ``b``
        the write-back probability.

    Examples
    --------
    >>> float(dram_bytes_per_byte(0.0, 0.0, 2.5e6))           # read in time, reused in time
    0.0
    >>> round(float(dram_bytes_per_byte(1e15, 0.0, 2.5e6)), 6)  # evicted before the copy
    2.0
    """
    return dram_bytes_from(eviction_probability(waiting_bytes, cache_bytes),
                           eviction_probability(ring_bytes, cache_bytes))


def dram_bytes_from(read_miss, write_back):
    """DRAM bytes per byte from the two eviction chances: ``2 m + (1 - m) b``.

    Affine in the read-miss chance ``m``, so a rate-weighted mean of ``m``
    over CPUs that share ``b`` gives their rate-weighted mean DRAM traffic.

    Parameters
    ----------
    read_miss : float or array_like
        Chance a byte leaves the cache before its copy (a write-back and a read).
    write_back : float or array_like
        Chance a byte read in time leaves before its buffer's reuse (a write-back).

    Returns
    -------
    numpy.ndarray

    Examples
    --------
    >>> float(dram_bytes_from(0.5, 0.2))
    1.1
    """
    m = np.asarray(read_miss, dtype=float)
    return 2.0 * m + (1.0 - m) * np.asarray(write_back, dtype=float)


def dram_read_cycles_per_byte(ghz, dram_latency_ns, dram_misses_in_flight):
    """Extra cycles a core spends per byte it must read from DRAM, not the cache.

    Little's law on the core's line fill buffers: with ``dram_misses_in_flight``
    misses in flight, each taking ``dram_latency_ns``, the core streams
    ``dram_misses_in_flight * 64 / dram_latency_ns`` bytes per ns, so a byte
    costs ``ghz * dram_latency_ns / (dram_misses_in_flight * 64)`` cycles.

    Parameters
    ----------
    ghz : float or array_like
        Core clock, GHz.
    dram_latency_ns : float or array_like
        Load latency of a DRAM miss, ns.
    dram_misses_in_flight : float or array_like
        Misses a core keeps in flight (> 0).

    Returns
    -------
    numpy.ndarray
        Cycles per byte.

    Examples
    --------
    The paper's Xeon: 16 misses in flight, 90 ns, 2.2 GHz: 11.4 GB/s from DRAM
    per core, 0.19 cycles per byte.

    >>> round(float(dram_read_cycles_per_byte(2.2, 90.0, 16)), 4)
    0.1934
    """
    return (np.asarray(ghz, dtype=float) * np.asarray(dram_latency_ns, dtype=float)
            / (np.asarray(dram_misses_in_flight, dtype=float) * CACHE_LINE_BYTES))


def flow_state_miss(flows_on_core, stream_bytes, touches, state_bytes, cache_bytes):
    """Chance that a line of a flow's state has left the core's L2 since the flow last touched it.

    Between two touches of one flow's state its core serves every flow on
    it alike, ``flows_on_core / touches`` messages' worth of work, streaming
    ``stream_bytes`` per message, and touches each other flow's state once:
    the reuse distance is ``K s / d + (K - 1) W``, and the line is gone with
    :func:`eviction_probability` of it (``derivations/memory.py``, which
    also shows it is Che's approximation when the stream fills the cache).

    Parameters
    ----------
    flows_on_core : float or array_like
        Flows whose work shares the core's L2 (``K >= 1``).
    stream_bytes : float or array_like
        New bytes the core moves through its L2 per message (>= 0).
    touches : float or array_like
        Times a message's work touches the flow's state (the stage's units
        per message); 0 means never, and gives 0.
    state_bytes : float or array_like
        Bytes of one flow's state on the core (``W >= 0``).
    cache_bytes : float or array_like
        The core's L2, bytes (> 0).

    Returns
    -------
    numpy.ndarray
        In [0, 1).

    Examples
    --------
    One TCP flow reading 128 KB messages in two 64 KB segments: the copy
    streams 256 KB and 90.5 packets 17 KB per message, so 137 KB between
    two touches of its socket; a 256 KB L2 keeps it with chance 0.85.

    >>> round(float(flow_state_miss(1, 2 * 131072 + 90.5 * 192, 2.0, 1024, 262144)), 3)
    0.153
    >>> round(float(flow_state_miss(5, 2 * 131072 + 90.5 * 192, 2.0, 1024, 262144)), 3)
    0.689
    """
    k = np.asarray(flows_on_core, dtype=float)
    d = np.asarray(touches, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        # Never touched (d = 0): no miss; nothing in between (reuse 0, or so little that
        # cache / reuse overflows): exp(-inf) = 0.
        reuse = k * (stream_bytes / d) + (k - 1.0) * state_bytes
        return np.where(d > 0, np.exp(-(cache_bytes / reuse)), 0.0)


def shared_line_remote(flows_on_cpu, chance, flows):
    """Chance that a line every CPU writes was last written by another CPU.

    Each CPU writes the line in proportion to its flows: one with ``k`` of
    the ``N`` flows makes ``k / N`` of the writes, so a write of its finds
    the line elsewhere with chance ``1 - k / N``; over the writes (a flow
    picked at random sits on a CPU with ``k`` flows with ``chance``) that
    is ``1 - E[k] / N`` (``derivations/memory.py``).  The writes of the
    CPUs interleave at random.

    Parameters
    ----------
    flows_on_cpu : array_like
        The values ``k`` (flows on a flow's CPU), ``1 <= k <= N``.
    chance : array_like
        Their chances (summing to 1).
    flows : float
        ``N``, the flows.

    Returns
    -------
    float
        In [0, 1): 0 for one flow or every flow on one CPU.

    Examples
    --------
    Six flows on six CPUs, and six flows two to a CPU:

    >>> round(shared_line_remote([1.0], [1.0], 6), 4), round(shared_line_remote([2.0], [1.0], 6), 4)
    (0.8333, 0.6667)
    """
    mean = float(np.dot(np.asarray(flows_on_cpu, dtype=float), np.asarray(chance, dtype=float)))
    return max(0.0, 1.0 - mean / float(flows))
