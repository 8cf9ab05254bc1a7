"""Frozen snapshot dataclasses: the whole cluster as the monitor sees it at one instant.

Contract: everything here is immutable plain data (no broker objects, no Qt), safe to
hand from the broker's thread to any other thread and to keep. Counters are monotonic
totals since the broker started; rates are derived by the reader from the deltas between
two snapshots (``ClusterSnapshot.monotonic`` is the clock to divide by). Both observers
(the embedded broker, an external Kafka cluster) fill these same classes. Groups reuse
the groups model where the fields match (``RebalanceSnapshot`` is its RebalanceRecord)
and carry lag as :mod:`core.groups.lag` defines it. ``ClusterSnapshot.activity`` is the
log view's sampled feed (:mod:`core.monitor.activity`), ``None`` where the observer cannot
see one; ``PartitionSnapshot.segment_bases`` is empty where segments are not visible.
Issue 13 adds what a user must see about safety: a partition's storage failure or
offline reason, connections refused over a limit, the user a connection authenticated
as, and whether the listener needs authentication (``BrokerInfo.loopback_only`` says
whether anyone beyond this machine can reach it).
Transactions: ``PartitionSnapshot.last_stable_offset`` (None where the observer cannot
see it) and ``aborted`` (the newest :data:`ABORTED_SHOWN` aborted transactions' offset
ranges), and ``ClusterSnapshot.transactions``: the transactional ids with a transaction
in progress (Ongoing, or being committed or aborted), empty where none can be seen.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

from streamscope.core.groups.model import RebalanceRecord
from streamscope.core.monitor.activity import ActivitySnapshot
from streamscope.core.protocol.api_keys import ApiKey

__all__ = [
    "API_NAMES",
    "BrokerInfo",
    "ClusterSnapshot",
    "CompactionSnapshot",
    "ConnectionSnapshot",
    "Counters",
    "EventSnapshot",
    "GroupSnapshot",
    "MemberSnapshot",
    "OffsetSnapshot",
    "PartitionSnapshot",
    "RebalanceSnapshot",
    "TopicSnapshot",
    "TransactionSnapshot",
    "AbortedRange",
    "ABORTED_SHOWN",
    "api_name",
    "is_loopback_host",
]

# Kafka's API names by key, for request counters: derived from the one table of API keys
# (:class:`core.protocol.api_keys.ApiKey`), never kept by hand here.
API_NAMES: dict[int, str] = {key.value: key.title for key in ApiKey}


# Aborted transactions shown per partition (the newest): enough to draw, bounded per tick.
ABORTED_SHOWN = 32


def api_name(key: int) -> str:
    """Kafka's CamelCase name of an API key (``ApiVersions``); ``Api<N>`` for an unknown one."""
    return API_NAMES.get(key, f"Api{key}")


def is_loopback_host(host: str) -> bool:
    """A listener host only this machine can reach."""
    name = host.strip("[]")
    if name.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False  # a host name: it may resolve to anything


@dataclass(frozen=True, slots=True)
class BrokerInfo:
    """The broker itself: where it listens and where it keeps its logs."""

    node_id: int
    cluster_id: str
    host: str | None  # None while not listening
    port: int | None
    data_dir: str
    started_at: float  # wall clock (time.time()) of start
    uptime_s: float
    # Authentication the listener asks for: SASL mechanisms (empty: none, anyone who can
    # reach the port is in) and whether it speaks TLS.
    sasl_mechanisms: tuple[str, ...] = ()
    tls: bool = False
    # The interface the listener is bound to ("0.0.0.0": all of them), where ``host`` is
    # the address clients are told (a wildcard bind advertises a real address). None:
    # not known (an external cluster), then ``host`` stands for it.
    bind_host: str | None = None

    @property
    def listening(self) -> bool:
        return self.host is not None and self.port is not None

    @property
    def loopback_only(self) -> bool:
        """Only this machine can connect (bound to 127.0.0.0/8, ::1, localhost); True
        while not listening. A wildcard (0.0.0.0, ::) or a LAN address is reachable by
        others."""
        if not self.listening:
            return True
        host = self.bind_host if self.bind_host is not None else self.host
        return host is not None and is_loopback_host(host)

    @property
    def exposed_host(self) -> str | None:
        """The bound interface when others can reach it (for the warning); else None."""
        if self.loopback_only:
            return None
        return self.bind_host if self.bind_host is not None else self.host

    @property
    def authenticated(self) -> bool:
        return bool(self.sasl_mechanisms)

    @property
    def bootstrap(self) -> str:
        """``host:port`` to give a client, or ``""`` while not listening."""
        if not self.listening:
            return ""
        host = self.host
        if host and ":" in host and not host.startswith("["):
            host = f"[{host}]"
        return f"{host}:{self.port}"


@dataclass(frozen=True, slots=True)
class Counters:
    """Broker-wide monotonic totals since start."""

    records_in: int = 0
    bytes_in: int = 0
    records_out: int = 0
    bytes_out: int = 0
    requests: int = 0
    connections_total: int = 0
    errors: int = 0
    connections_refused: int = 0  # over a connection limit (total or per client address)


@dataclass(frozen=True, slots=True)
class CompactionSnapshot:
    """A compacted partition's cleaner state: offsets [log start, ``clean_offset``) are
    clean (compacted: gaps), [``clean_offset``, ``dirty_end_offset``) dirty and
    cleanable, the rest (the active segment, or records younger than
    min.compaction.lag.ms) not cleanable yet. ``dirty_ratio`` is dirty bytes over
    cleanable bytes; ``state`` "idle" or "cleaning", and while cleaning ``progress`` the
    share of its input the running pass has read (0-1); ``bytes_read`` /
    ``bytes_written`` by the cleaner's passes since the broker started; ``last_run_ms``
    epoch ms (0: none)."""

    clean_offset: int
    dirty_end_offset: int
    dirty_ratio: float
    state: str
    passes: int
    bytes_read: int
    bytes_written: int
    last_run_ms: int
    last_error: str | None = None
    progress: float = 0.0


@dataclass(frozen=True, slots=True)
class AbortedRange:
    """An aborted transaction's records on one partition: [first_offset, last_offset]
    (the last is its ABORT marker), all of one producer."""

    producer_id: int
    first_offset: int
    last_offset: int


@dataclass(frozen=True, slots=True)
class TransactionSnapshot:
    """A transactional id with a transaction in progress (Kafka's state names)."""

    transactional_id: str
    producer_id: int
    producer_epoch: int
    state: str  # Ongoing, PrepareCommit, PrepareAbort
    partitions: tuple[tuple[str, int], ...]  # sorted
    groups: tuple[str, ...]  # groups whose offsets it commits, sorted
    age_ms: int  # how long it has been open
    timeout_ms: int


@dataclass(frozen=True, slots=True)
class PartitionSnapshot:
    topic: str
    index: int
    log_start_offset: int
    high_watermark: int  # log end offset: last offset + 1
    size_bytes: int
    segment_count: int
    records_in: int
    bytes_in: int
    batches_in: int
    records_out: int
    bytes_out: int
    segment_bases: tuple[int, ...] = ()  # base offset of each segment, oldest first
    # The last write or fsync failure (None once a write succeeded again), and the reason
    # the partition could not be opened at start-up (None: it serves). Observers that
    # cannot see storage (an external cluster) leave both None.
    storage_error: str | None = None
    offline: str | None = None
    # cleanup.policy with compact: the cleaner's state (None otherwise, or unknown).
    compaction: CompactionSnapshot | None = None
    # The last stable offset (below the oldest open transaction; the high watermark when
    # none is open), None where not visible; the newest aborted transactions, oldest first.
    last_stable_offset: int | None = None
    aborted: tuple[AbortedRange, ...] = ()
    # Placement as Metadata reports it (the external observer fills these): the leader's
    # node id and the replica and in-sync replica node ids. None / () where not reported.
    leader: int | None = None
    replicas: tuple[int, ...] = ()
    isr: tuple[int, ...] = ()
    # An external cluster's partition that no live broker leads (why, in words): its
    # watermarks are the last ones seen. None: it has a live leader, or not known.
    unavailable: str | None = None

    @property
    def under_replicated(self) -> bool:
        """A replica is out of sync (False where replicas are not reported)."""
        return any(r not in self.isr for r in self.replicas)

    @property
    def storage_problem(self) -> str | None:
        """Why this partition does not serve, in words ("offline: ...", "disk error: ...",
        or on an external cluster "unavailable: ..." when no live broker leads it); None
        when it serves."""
        if self.offline is not None:
            return f"offline: {self.offline}"
        if self.storage_error is not None:
            return f"disk error: {self.storage_error}"
        if self.unavailable is not None:
            return f"unavailable: {self.unavailable}"
        return None

    @property
    def messages(self) -> int:
        """Offsets currently retained (high watermark minus log start)."""
        return max(0, self.high_watermark - self.log_start_offset)


@dataclass(frozen=True, slots=True)
class TopicSnapshot:
    name: str
    topic_id: str
    partitions: tuple[PartitionSnapshot, ...]
    configs: tuple[tuple[str, str], ...]  # overrides only, sorted by name
    retention_ms: int  # effective; -1 = forever
    retention_bytes: int  # effective, per partition; -1 = unlimited
    segment_bytes: int  # effective
    # Sums over the partitions, computed once at build time.
    messages: int
    size_bytes: int
    segment_count: int
    records_in: int
    bytes_in: int
    records_out: int
    bytes_out: int

    @property
    def partition_count(self) -> int:
        return len(self.partitions)

    @property
    def storage_problems(self) -> tuple[PartitionSnapshot, ...]:
        """Partitions whose disk failed or that are offline."""
        return tuple(p for p in self.partitions if p.storage_problem is not None)

    def config(self, name: str) -> str | None:
        for key, value in self.configs:
            if key == name:
                return value
        return None


# A member is suspect once it has been silent this many of its heartbeat intervals.
SUSPECT_MISSED_HEARTBEATS = 2


@dataclass(frozen=True, slots=True)
class MemberSnapshot:
    """One member of a group. Heartbeat fields are on the broker's clock at build time;
    an observer that cannot see them (an external cluster) leaves them at their defaults
    and the member is never called suspect."""

    member_id: str
    client_id: str
    host: str
    group_instance_id: str | None
    assignment: tuple[tuple[str, int], ...]  # (topic, partition), sorted
    session_timeout_ms: int = 0  # 0: unknown
    # Since the coordinator last heard from it (heartbeat, join, sync or commit): the
    # session timeout runs from there. None: unknown.
    since_heartbeat_ms: float | None = None
    heartbeat_interval_ms: float | None = None  # as observed by the broker; None: unknown
    awaiting_rebalance: bool = False  # parked in JoinGroup/SyncGroup: alive, not heartbeating

    @property
    def suspect_after_ms(self) -> float | None:
        """Silence after which the member has missed heartbeats (None: cannot tell).

        Twice the interval it was seen heartbeating at, but never more than half its
        session timeout; before an interval is known, a third of the session timeout
        (Kafka's advice: heartbeat no less often than that).
        """
        session = self.session_timeout_ms
        if self.since_heartbeat_ms is None or session <= 0:
            return None
        if self.heartbeat_interval_ms:
            return min(SUSPECT_MISSED_HEARTBEATS * self.heartbeat_interval_ms, session / 2)
        return session / 3

    @property
    def suspect(self) -> bool:
        """Missed heartbeats: probably dead, until the session timeout evicts it."""
        after = self.suspect_after_ms
        if after is None or self.awaiting_rebalance or self.since_heartbeat_ms is None:
            return False
        return self.since_heartbeat_ms > after


@dataclass(frozen=True, slots=True)
class OffsetSnapshot:
    """One partition of one group: where the group's cursor is and how far behind."""

    topic: str
    partition: int
    committed_offset: int  # -1: nothing committed
    high_watermark: int
    log_start_offset: int
    lag: int | None  # core.groups.lag.partition_lag: None when nothing is committed
    member_id: str | None  # the member it is assigned to now, if any


# One rebalance of a group: the groups model's own record (generation, started_at,
# completed_at, reason, member_count first; an external observer fills only those).
RebalanceSnapshot = RebalanceRecord


@dataclass(frozen=True, slots=True)
class GroupSnapshot:
    group_id: str
    state: str  # Kafka's names: Empty, PreparingRebalance, CompletingRebalance, Stable, Dead
    protocol_type: str
    assignor: str  # the chosen protocol name (range, roundrobin, ...)
    generation: int
    leader: str | None
    members: tuple[MemberSnapshot, ...]
    offsets: tuple[OffsetSnapshot, ...]  # sorted by (topic, partition)
    total_lag: int  # core.groups.lag.total_lag of the offsets' lags
    rebalances: tuple[RebalanceSnapshot, ...]  # oldest first, bounded

    @property
    def is_empty(self) -> bool:
        return not self.members

    @property
    def suspect_members(self) -> tuple[MemberSnapshot, ...]:
        return tuple(m for m in self.members if m.suspect)

    @property
    def topics(self) -> tuple[str, ...]:
        seen: dict[str, None] = {}
        for o in self.offsets:
            seen.setdefault(o.topic)
        for m in self.members:
            for topic, _ in m.assignment:
                seen.setdefault(topic)
        return tuple(sorted(seen))


@dataclass(frozen=True, slots=True)
class ConnectionSnapshot:
    conn_id: int
    host: str
    port: int
    connected_at: float  # wall clock
    client_id: str
    software_name: str
    software_version: str
    requests_by_api: tuple[tuple[int, int], ...]  # (api key, count), sorted by key
    requests: int
    bytes_in: int
    bytes_out: int
    # An in-process client (no socket; negative conn id): host is "in-process", port 0.
    in_process: bool = False
    user: str | None = None  # the authenticated principal (SASL); None: not authenticated

    @property
    def address(self) -> str:
        return self.host if self.in_process else f"{self.host}:{self.port}"

    @property
    def software(self) -> str:
        if not self.software_name:
            return ""
        return f"{self.software_name} {self.software_version}".strip()


@dataclass(frozen=True, slots=True)
class EventSnapshot:
    seq: int  # increasing per observer; lets readers append only what is new
    ts: float  # wall clock
    kind: str
    message: str
    # What the event is about, from the broker event's data (never parsed from the
    # message): the topic and the consumer group it names, None where it names none.
    topic: str | None = None
    group: str | None = None


@dataclass(frozen=True, slots=True)
class ClusterSnapshot:
    taken_at: float  # wall clock
    monotonic: float  # time.monotonic() at build: divide counter deltas by this
    build_ms: float  # how long building this snapshot took
    broker: BrokerInfo
    counters: Counters
    topics: tuple[TopicSnapshot, ...]  # sorted by name
    groups: tuple[GroupSnapshot, ...]  # sorted by group id
    connections: tuple[ConnectionSnapshot, ...]  # sorted by conn id
    events: tuple[EventSnapshot, ...]  # oldest first, bounded
    activity: ActivitySnapshot | None = None  # sampled appends, commits, read positions
    transactions: tuple[TransactionSnapshot, ...] = ()  # in progress, by transactional id
    # Every broker of the cluster, by node id (the embedded node alone: (broker,)); empty
    # in snapshots built before the list existed, read through :attr:`all_brokers`.
    brokers: tuple[BrokerInfo, ...] = ()
    controller_id: int | None = None  # the cluster's controller, when it says
    # Observed over the wire (an external cluster): sizes, segments, byte counters,
    # connections and group generations are not known and read as 0 / empty.
    external: bool = False

    @property
    def all_brokers(self) -> tuple[BrokerInfo, ...]:
        return self.brokers or (self.broker,)

    @property
    def under_replicated(self) -> tuple[PartitionSnapshot, ...]:
        """Partitions whose in-sync replicas are fewer than their replicas (only where
        the cluster reports replicas)."""
        return tuple(p for t in self.topics for p in t.partitions if p.under_replicated)

    def topic(self, name: str) -> TopicSnapshot | None:
        for t in self.topics:
            if t.name == name:
                return t
        return None

    def group(self, group_id: str) -> GroupSnapshot | None:
        for g in self.groups:
            if g.group_id == group_id:
                return g
        return None

    @property
    def partition_count(self) -> int:
        return sum(len(t.partitions) for t in self.topics)

    @property
    def messages(self) -> int:
        return sum(t.messages for t in self.topics)

    @property
    def size_bytes(self) -> int:
        return sum(t.size_bytes for t in self.topics)
