"""Counters of the link a person can read: how healthy the line is and what went over it."""

from __future__ import annotations

from dataclasses import dataclass, replace

from massagectl.firmware_bridge.host_protocol import HostProtocol


@dataclass
class LinkCounters:
    """A snapshot; `link.counters` makes a fresh copy on every read."""

    segments_sent: int = 0
    late_segments: int = 0  # sent with less than the minimum lead (the board runs them late)
    immediate_sent: int = 0
    resent_immediate: int = 0  # Stop, intensity or mask sent again because a status disagreed
    heartbeats_sent: int = 0
    heartbeats_answered: int = 0
    keepalives_sent: int = 0  # the watchdog's frames between heartbeats (never answered)
    duplicates: int = 0  # board reports received twice and dropped
    dropped_messages: int = 0  # messages() iterators that fell behind lost these
    reconnects: int = 0
    # From the protocol endpoint:
    blocks_sent: int = 0
    blocks_acked: int = 0
    retransmits: int = 0
    timeouts: int = 0
    naks: int = 0
    bad_frames: int = 0
    bad_messages: int = 0
    stale_acks: int = 0
    bytes_in: int = 0
    bytes_out: int = 0
    rtt_s: float | None = None  # smoothed round trip (SRTT)
    rto_s: float = 0.0  # current retransmission timeout

    def with_protocol(self, protocol: HostProtocol) -> LinkCounters:
        stats = protocol.stats
        return replace(
            self,
            blocks_sent=stats.blocks_sent,
            blocks_acked=stats.blocks_acked,
            retransmits=stats.retransmits,
            timeouts=stats.timeouts,
            naks=stats.naks,
            bad_frames=stats.bad_frames,
            bad_messages=stats.bad_messages,
            stale_acks=stats.stale_acks,
            bytes_in=stats.bytes_in,
            bytes_out=stats.bytes_out,
            rtt_s=protocol.rto.srtt_s,
            rto_s=protocol.rto.rto_s,
        )
