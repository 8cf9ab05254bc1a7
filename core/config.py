"""Broker and per-log settings, as frozen dataclasses.

``BrokerConfig`` is what ``streamscope broker`` and the app start a broker with.
``LogConfig`` is what one partition log runs by; a topic's Kafka-named configs
(``retention.ms``, ``segment.bytes`` ...) override the broker's defaults through
:meth:`LogConfig.with_topic_configs`. Every topic config name of a Kafka 3.x broker is
accepted (:data:`KNOWN_TOPIC_CONFIGS`, defined with Kafka's types and validation in
core/configdefs.py); those this broker acts on are ``LogConfig`` fields
(:attr:`LogConfig.TOPIC_CONFIGS`), the others are kept in ``LogConfig.other`` so they
are reported; ``cleanup.policy`` compact (core/log/cleaner.py) is normalised by
:func:`parse_cleanup_policy`. The broker's defaults are this module's
``BrokerConfig.log`` with the dynamic broker configs applied (core/broker_configs.py).

Fsync policy, and what each promises:

* ``"always"``: every append is fdatasynced (data and the segment's size) before the
  broker acknowledges it (acks=1/all; acks=0 is never answered). The syncs run in a
  flusher thread, off the event loop, and appends that arrive while one runs share the
  next (group commit; core/flusher.py). The high watermark (what Fetch, ListOffsets
  latest and the monitor hand out) advances only to durable offsets, so a consumer
  never sees a record a crash can take back. An acknowledged record survives a power
  loss.
* ``"interval"`` (default): appends go to the OS page cache at once and are fsynced
  every ``fsync_interval_ms`` by a background flusher (and on clean shutdown); the high
  watermark is the log end. An acknowledged record survives the broker process dying
  (kill -9), since the page cache outlives the process, but a power loss or kernel
  crash may lose up to the last interval. A committed offset is stored only after the
  data it points to is durable (an OffsetCommit may wait for one flush), so after a
  power loss a committed offset never lies beyond the log end. Recovery truncates any
  torn tail either way, so the log never serves a partial batch.
* Auto-creation (Metadata, Produce naming unknown topics): at most
  ``auto_create_max_per_request`` new topics per request (the rest answered
  UNKNOWN_TOPIC_OR_PARTITION, so the client asks again) and
  ``auto_create_max_per_connection`` per connection (then POLICY_VIOLATION), and never
  more partitions than RLIMIT_NOFILE allows (POLICY_VIOLATION).

Log compaction (core/log/cleaner.py): ``cleanup.policy`` is ``delete`` (default),
``compact`` or ``compact,delete`` (either order); ``delete.retention.ms``,
``min.cleanable.dirty.ratio``, ``min.compaction.lag.ms`` and ``max.compaction.lag.ms``
have Kafka's meanings and defaults (``LogConfig``). The cleaner's own settings are
``BrokerConfig.cleaner_interval_ms`` (Kafka's ``log.cleaner.backoff.ms``, 15 s),
``cleaner_io_bytes_per_sec`` (its I/O bound, bytes read plus written per second; 16 MiB:
the cleaner is Python sharing the broker's GIL: in ``benchmarks/compaction.py``,
unthrottled, it cut produce throughput about fourfold; at 16 MiB/s producers kept about
90% of their throughput)
and ``cleaner_max_keys`` (keys one pass maps; 500,000 16-byte digests, about 60 MB).

Limits (what one client, or many, may make the broker hold; Kafka's names in brackets).
Each has a default a lab would expect and is a ``BrokerConfig`` field:

* ``max_connections`` [``max.connections``] = 1000: connections beyond are closed at
  once on accept, counted (``BrokerCounters.connections_refused``) and logged (rate
  limited). An idle connection costs the broker well under 16 KB, so 1000 is ~16 MB;
  a class of 30 with a few clients each is ~100-200.
* ``max_connections_per_ip`` [``max.connections.per.ip``] = 300, with
  ``max_connections_per_ip_overrides`` [``max.connections.per.ip.overrides``], a tuple of
  (host, limit): one machine (a student's laptop, or the 200-connection load test on
  127.0.0.1) is never refused in normal use, while a runaway script leaking connections
  is stopped well before it takes every slot. Kafka's defaults are unbounded.
* ``queued_max_request_bytes`` [``queued.max.request.bytes``] = 100 MiB: the bytes of
  requests received but not yet handled, partial ones included, across all connections.
  A large request (over 16 KiB) is received only once there is room for its announced
  size; while over it, a connection stops reading (TCP pushes back on its client) until
  the requests it has queued are handled. Connections holding nothing keep reading, so
  a new client's ApiVersions is still answered.
* ``max_request_bytes`` [``socket.request.max.bytes``] = 100 MiB: one frame's limit.
* ``request_read_timeout_ms`` = 30 s: a request whose first byte has arrived but whose
  last has not within this time closes its connection (Kafka leaves this to
  ``connections.max.idle.ms``; a half-sent frame holds buffer memory, so it is shorter).
* ``connection_idle_ms`` [``connections.max.idle.ms``] = 10 min: no request, closed.
* ``fetch_max_bytes`` [``fetch.max.bytes``] = 16 MiB: a Fetch answer's size cap, applied
  over the client's ``max_bytes`` (whole batches; the first batch still goes out whole,
  KIP-74). Kafka's 55 MiB assumes zero-copy sendfile; here an answer is read into memory,
  so the cap is lower: 16 partitions at clients' default 1 MiB per partition.
* ``max_parked_fetches`` = 1000: long-polling Fetches waiting for data, broker-wide.
  Past it a Fetch is answered at once with what there is (possibly nothing), as if its
  ``max_wait_ms`` were 0; clients poll again. (Kafka's purgatory has no cap.)
* ``max_partitions_per_topic`` = 10,000: CreateTopics and CreatePartitions beyond it get
  INVALID_PARTITIONS (each partition is a directory and, while in use, open files).
* ``max_partitions_per_request`` = 50,000: a request naming more topic and partition
  entries than this in all (a Fetch or Produce's partitions, a Metadata or CreateTopics
  request's topics ...) closes its connection with the reason logged, as an oversized
  frame does; no real client sends that many (Kafka bounds them only by the frame size).
* ``advertised_host`` / ``advertised_port`` [``advertised.listeners``]: what Metadata,
  FindCoordinator and DescribeCluster tell clients to connect to; None: the bound
  address (a wildcard bind advertises 127.0.0.1, with a warning).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Literal

import platformdirs
from streamscope.core.configdefs import TOPIC_CONFIGS as TOPIC_CONFIG_DEFS

FsyncPolicy = Literal["always", "interval"]

DEFAULT_PORT = 9092


def default_data_dir() -> Path:
    """The platform's per-user data dir for Streamscope (e.g. ``~/.local/share/streamscope``)."""
    return Path(platformdirs.user_data_dir("streamscope", appauthor=False))


@dataclass(frozen=True, slots=True)
class LogConfig:
    segment_bytes: int = 64 * 1024 * 1024
    segment_ms: int = 7 * 24 * 3600 * 1000
    retention_ms: int = 7 * 24 * 3600 * 1000  # -1: keep forever
    retention_bytes: int = -1  # negative: no size limit
    max_message_bytes: int = 1048588  # Kafka's message.max.bytes default
    index_interval_bytes: int = 4096
    fsync: FsyncPolicy = "interval"
    # The produce path's rewrites (core/produce_rewrite.py): the codec batches are
    # stored in ("producer": as sent) and whether the broker stamps LogAppendTime.
    compression_type: str = "producer"
    timestamp_type: str = "CreateTime"
    gzip_level: int = -1
    lz4_level: int = 9
    zstd_level: int = 3
    min_insync_replicas: int = 1
    # CreateTime topics: how far a record's timestamp may lie before / after the broker's
    # clock (Kafka's defaults: no bound); difference.max.ms is the deprecated pair of both.
    timestamp_before_max_ms: int = 2**63 - 1
    timestamp_after_max_ms: int = 2**63 - 1
    timestamp_difference_max_ms: int = 2**63 - 1
    # Accepted configs this broker does not act on, with their effective value when it
    # is not Kafka's default (name, value), sorted: DescribeConfigs reports them.
    other: tuple[tuple[str, str], ...] = ()
    # Log compaction (core/log/cleaner.py). ``cleanup_policy`` is normalised to one of
    # CLEANUP_POLICIES; Kafka's defaults otherwise.
    cleanup_policy: str = "delete"
    delete_retention_ms: int = 24 * 3600 * 1000
    min_cleanable_dirty_ratio: float = 0.5
    min_compaction_lag_ms: int = 0
    max_compaction_lag_ms: int = 2**63 - 1

    @property
    def compact(self) -> bool:
        """Whether the cleaner compacts this log (``compact`` or ``compact,delete``)."""
        return "compact" in self.cleanup_policy

    @property
    def roll_ms(self) -> int:
        """Age at which the active segment rolls: ``segment.ms``, or for a compacted log
        ``max.compaction.lag.ms`` if sooner (Kafka's rule: the active segment is never
        cleaned, so it must roll for its records to be compacted in time)."""
        if self.compact:
            return min(self.segment_ms, self.max_compaction_lag_ms)
        return self.segment_ms

    @property
    def delete(self) -> bool:
        """Whether retention deletes old segments (``delete`` or ``compact,delete``)."""
        return "delete" in self.cleanup_policy

    # Kafka config name -> field, for the topic configs this broker acts on.
    TOPIC_CONFIGS = {
        "segment.bytes": "segment_bytes",
        "segment.ms": "segment_ms",
        "retention.ms": "retention_ms",
        "retention.bytes": "retention_bytes",
        "max.message.bytes": "max_message_bytes",
        "index.interval.bytes": "index_interval_bytes",
        "compression.type": "compression_type",
        "message.timestamp.type": "timestamp_type",
        "compression.gzip.level": "gzip_level",
        "compression.lz4.level": "lz4_level",
        "compression.zstd.level": "zstd_level",
        "min.insync.replicas": "min_insync_replicas",
        "message.timestamp.before.max.ms": "timestamp_before_max_ms",
        "message.timestamp.after.max.ms": "timestamp_after_max_ms",
        "message.timestamp.difference.max.ms": "timestamp_difference_max_ms",
        "cleanup.policy": "cleanup_policy",
        "delete.retention.ms": "delete_retention_ms",
        "min.cleanable.dirty.ratio": "min_cleanable_dirty_ratio",
        "min.compaction.lag.ms": "min_compaction_lag_ms",
        "max.compaction.lag.ms": "max_compaction_lag_ms",
    }

    def with_topic_configs(self, configs: dict[str, str | None]) -> LogConfig:
        """This config with a topic's overrides applied (None values are skipped).

        Unknown names raise ``ValueError``; bad values raise
        :class:`~core.configdefs.ConfigError` (a ValueError) in Kafka's words.
        """
        changes: dict[str, object] = {}
        other = dict(self.other)
        for name, value in configs.items():
            definition = TOPIC_CONFIG_DEFS.get(name)
            if definition is None:
                raise ValueError(f"Unknown topic config name: {name}")
            if value is None:
                continue
            typed = definition.parse(value)
            attr = LogConfig.TOPIC_CONFIGS.get(name)
            if attr is None:
                other[name] = value.strip()
            elif attr == "cleanup_policy":
                changes[attr] = parse_cleanup_policy(value)
            else:
                changes[attr] = typed
        if other != dict(self.other):
            changes["other"] = tuple(sorted(other.items()))
        if not changes:
            return self
        new = replace(self, **changes)  # type: ignore[arg-type]
        if new.min_compaction_lag_ms > new.max_compaction_lag_ms:
            raise ValueError(
                f"min.compaction.lag.ms={new.min_compaction_lag_ms} is greater than"
                f" max.compaction.lag.ms={new.max_compaction_lag_ms}")
        return new

    def as_topic_configs(self) -> dict[str, str]:
        """The effective value of every topic config under Kafka's names (for
        DescribeConfigs and the GUI): this broker's values for the ones it acts on,
        Kafka's defaults (or the value set) for the others."""
        out = {name: d.default for name, d in TOPIC_CONFIG_DEFS.items()}
        out.update(self.other)
        for name, attr in LogConfig.TOPIC_CONFIGS.items():
            out[name] = str(getattr(self, attr))
        return out


#: The cleanup.policy values honoured, normalised (Kafka's list, in any order).
CLEANUP_POLICIES = ("delete", "compact", "compact,delete")


def parse_cleanup_policy(value: str) -> str:
    """A ``cleanup.policy`` value normalised to one of :data:`CLEANUP_POLICIES`;
    ``ValueError`` for anything else (an empty list, an unknown policy)."""
    items = {v.strip() for v in value.split(",") if v.strip()}
    if not items or not items <= {"delete", "compact"}:
        raise ValueError(
            f"Invalid value {value!r} for configuration cleanup.policy: String must be"
            " one of: compact, delete")
    return ",".join(sorted(items))

#: Every topic config name a Kafka 3.x broker accepts (core/configdefs.py); any other
#: name is INVALID_CONFIG.
KNOWN_TOPIC_CONFIGS = frozenset(TOPIC_CONFIG_DEFS)


#: The integer limits of the module docstring: each at least 1, each settable with
#: ``streamscope broker --limit NAME=N``.
LIMITS = (
    "max_connections", "max_connections_per_ip", "queued_max_request_bytes",
    "max_request_bytes", "request_read_timeout_ms", "connection_idle_ms",
    "fetch_max_bytes", "max_parked_fetches", "max_partitions_per_topic",
    "max_partitions_per_request", "auto_create_max_per_request",
    "auto_create_max_per_connection",
)


@dataclass(frozen=True, slots=True)
class BrokerConfig:
    host: str = "127.0.0.1"
    port: int = DEFAULT_PORT
    data_dir: Path = field(default_factory=default_data_dir)
    node_id: int = 0
    fsync: FsyncPolicy = "interval"
    fsync_interval_ms: int = 1000
    auto_create_topics: bool = True
    auto_create_max_per_request: int = 100
    auto_create_max_per_connection: int = 1000
    default_partitions: int = 1
    max_request_bytes: int = 100 * 1024 * 1024
    retention_check_ms: int = 30_000
    # Log compaction (core/log/cleaner.py), Kafka's names in brackets: how often the
    # cleaner looks for work [log.cleaner.backoff.ms], its I/O rate bound, bytes read plus
    # written per second [log.cleaner.io.max.bytes.per.second], and the most keys one pass
    # maps (16-byte digests; [log.cleaner.dedupe.buffer.size] counts bytes).
    cleaner_interval_ms: int = 15_000
    cleaner_io_bytes_per_sec: int = 16 * 1024 * 1024
    cleaner_max_keys: int = 500_000
    connection_idle_ms: int = 10 * 60 * 1000
    # Limits (module docstring).
    max_connections: int = 1000
    max_connections_per_ip: int = 300
    max_connections_per_ip_overrides: tuple[tuple[str, int], ...] = ()
    queued_max_request_bytes: int = 100 * 1024 * 1024
    request_read_timeout_ms: int = 30_000
    fetch_max_bytes: int = 16 * 1024 * 1024
    max_parked_fetches: int = 1000
    max_partitions_per_topic: int = 10_000
    max_partitions_per_request: int = 50_000
    advertised_host: str | None = None
    advertised_port: int | None = None
    log: LogConfig = field(default_factory=LogConfig)
    # Consumer groups (core/groups). Kafka waits group.initial.rebalance.delay.ms = 3000 before
    # completing a new group's first rebalance; a short delay still folds consumers started
    # together into one rebalance without making every first join slow.
    group_initial_rebalance_delay_ms: int = 300
    # Kafka's minimum is 6000; lower here so a killed consumer's eviction can be shown quickly.
    group_min_session_timeout_ms: int = 1000
    group_max_session_timeout_ms: int = 1_800_000
    # The monitor's activity feed (core/monitor/feed.py: sampled appends, commits, read
    # positions). Off only to measure what it costs (benchmarks/throughput.py).
    activity_feed: bool = True
    # Auth: SASL mechanisms required of every client (empty: no authentication;
    # names in core.auth.SASL_MECHANISMS, users in <data_dir>/users.json), and the PEM
    # certificate and key that make the listener TLS (None: plaintext).
    sasl_mechanisms: tuple[str, ...] = ()
    tls_cert: Path | None = None
    tls_key: Path | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "data_dir", Path(self.data_dir))
        if self.fsync not in ("always", "interval"):
            raise ValueError(f"fsync must be 'always' or 'interval', not {self.fsync!r}")
        if self.log.fsync != self.fsync:
            object.__setattr__(self, "log", replace(self.log, fsync=self.fsync))
        for name in (*LIMITS, "cleaner_interval_ms", "cleaner_io_bytes_per_sec",
                     "cleaner_max_keys"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1, got {getattr(self, name)}")
        object.__setattr__(self, "max_connections_per_ip_overrides",
                           tuple((str(h), int(n)) for h, n in self.max_connections_per_ip_overrides))
