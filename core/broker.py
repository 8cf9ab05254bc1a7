"""The ``Broker`` facade: topics, partition logs, produce/fetch, and the parts that own them.

Contract:

* A ``Broker`` lives on one asyncio loop. Every method that reads or changes topic,
  partition or group state is called on that loop; the synchronous ones do all their
  reading and writing with no ``await`` in between, so no other task sees half a change.
* ``produce`` takes the bytes a client sent (one or more RecordBatch v2), validates each
  batch's header and CRC32C, patches base offsets in place and appends them verbatim:
  records are never decoded on this path. ``fetch`` returns whole stored batches as-is.
* Appends wake long-polling fetchers (:meth:`wait_for_data`) when the high watermark
  moves: at once in interval mode, once the records are durable in always mode.
* Refusals are :class:`core.errors.KafkaError` with Kafka's own error codes.
* Durability follows ``BrokerConfig.fsync`` (see core/config.py and core/flusher.py),
  never on the loop: with ``interval`` a background flusher fsyncs dirty logs in a worker
  thread; with ``always`` the logs defer their syncs to one flusher thread with group
  commit, the high watermark (``PartitionLog.log_end_offset``, what fetch,
  ``partition_offsets``, ``list_offsets`` and the monitor read) covers durable records
  only, and :meth:`sync_waiter` is what a produce answer waits on.
  :meth:`make_durable` (OffsetCommit, before storing) returns once the data below the
  given offsets is durable. The MetaStore writes on its own thread (core/meta/store.py);
  the in-memory topics and offsets on the loop are the truth for reads.
* Storage faults (core/topics.py): a failed append or sync sets
  ``Partition.storage_error`` (logged and told as a ``"storage"`` event once per episode,
  cleared when a write, or for a sync failure a sync, succeeds again) and answers
  KAFKA_STORAGE_ERROR; the log keeps whole batches only. A partition that cannot be
  opened at start-up is ``Partition.offline`` (an ``OfflineLog``): :meth:`partition`
  raises KAFKA_STORAGE_ERROR for it, the others serve.
* Topics: names colliding with a live topic's (case, or '.' versus '_') are refused with
  INVALID_TOPIC_EXCEPTION naming it; a live topic's directory is never discarded;
  partitions past what RLIMIT_NOFILE allows are refused (POLICY_VIOLATION).
  :meth:`create_topic_off_loop` (auto-creation) creates the files in a worker thread and
  commits the state on the loop; :meth:`create_topic` does it all on the loop.
* Configs: ``static_config`` is what the broker was started with; ``config`` is it with
  the dynamic broker configs (``dynamic_configs``, by scope: "" cluster-wide, the node
  id per broker; core/broker_configs.py) applied to its log defaults, replaced whole
  by :meth:`alter_broker_configs`, which persists them (meta store, off the loop) and
  gives every topic without its own override the new defaults at once. A topic's log
  config is those defaults with its overrides (:meth:`alter_topic_configs`).
* Transactions: a transactional batch is appended only when the transaction coordinator
  (attached as a :class:`core.ports.TxnVerifier`) says its producer has an open
  transaction including the partition, else INVALID_PRODUCER_EPOCH (a fenced epoch) or
  INVALID_TXN_STATE; :meth:`write_marker`
  appends the coordinator's COMMIT/ABORT markers. Each partition's open and aborted
  transactions (``Partition.txns``) are kept on append and rebuilt on open.
* The broker is storage: it never builds the group coordinator or the server. The
  composition root (``core/node.py``) attaches a coordinator (:meth:`attach_groups`,
  typed :class:`core.ports.BrokerGroups`) and the server reports connections and counts
  through :class:`core.ports.ServerStats`, which the broker implements. A bare
  ``Broker(config)`` is storage alone (``groups`` is None).
* The monitor reads the public state below (``topics``, ``connections``, ``counters``,
  ``events``, ``local_clients``) on the loop thread (``core.monitor.EmbeddedObserver``).
* An activity feed (:class:`ActivitySink`, ``core.monitor.feed.ActivityFeed``), attached
  by the composition root before :meth:`start`, hears of every append (the produce
  path's own batch headers: nothing decoded), and of readers going away; the broker runs
  its key sampler as one of its tasks and serves it :meth:`read_stored`. Without one
  (``BrokerConfig.activity_feed`` off) the produce path pays one attribute test.

Log compaction: :attr:`Broker.cleaner` (core/log/cleaner.py) runs on its own thread
over the logs of topics whose ``cleanup.policy`` holds ``compact``, looking for work
every ``BrokerConfig.cleaner_interval_ms`` and at once when a topic's configs turn it
compact; :meth:`close` stops it before closing the logs. ``produce`` to such a topic
also reads each record's key length, refusing keyless records (INVALID_RECORD with the
culprits' indexes: :class:`core.errors.InvalidRecords`): the one exception to "never
decoded", for compacted topics only.

The parts live in their own modules: the data-dir lock in ``core/datadir.py``, topics
and their rules in ``core/topics.py``, idempotence in ``core/idempotence.py``, flushing
and retention in ``core/flusher.py``; their public names stay importable from here.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import struct
import time
import uuid
from collections import deque
from collections.abc import Coroutine, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from functools import partial
from pathlib import Path
from typing import Any, Protocol

from streamscope.core.broker_configs import check_broker_changes, dynamic_log_overrides
from streamscope.core.config import BrokerConfig, LogConfig
from streamscope.core.datadir import DataDir, discard_dir
from streamscope.core.errors import ErrorCode, InvalidRecords, KafkaError
from streamscope.core.flusher import Flusher, GroupSync, enforce_retention
from streamscope.core.idempotence import (
    PRODUCER_BATCH_CACHE,
    PRODUCER_SCAN_BYTES,
    ProducerState,
    check_sequences,
    control_batch,
    rebuild_producers,
    rebuild_txns,
    record_sequences,
    tap_transactional,
)
from streamscope.core.log import PartitionLog, segment
from streamscope.core.log.cleaner import CleanerConfig, LogCleaner
from streamscope.core.log.partition_log import OfflineLog
from streamscope.core.meta import MetaStore
from streamscope.core.ports import BrokerGroups, ConnectionInfo, TxnVerifier
from streamscope.core.records import (
    BatchHeader,
    keyless_records,
    parse_header,
    uncompressed_limit,
    validate_batches,
)
from streamscope.core.topics import (
    MAX_PARTITIONS_PER_TOPIC,
    Partition,
    Topic,
    check_new_partition_count,
    check_partition_increase,
    collision_key,
    log_config_for,
    validate_topic_name,
)

__all__ = [
    "LOCAL_CLIENT_HOST",
    "MAX_PARTITIONS_PER_TOPIC",
    "PRODUCER_BATCH_CACHE",
    "ActivitySink",
    "Broker",
    "BrokerCounters",
    "BrokerEvent",
    "FetchResult",
    "LocalClient",
    "Partition",
    "ProducerState",
    "Topic",
    "validate_topic_name",
]

log = logging.getLogger(__name__)

# The batch attributes bit of a transactional batch.
_TRANSACTIONAL = 0x10

# The host an in-process client is known by (its group membership, its read positions).
LOCAL_CLIENT_HOST = "in-process"

# Descriptors kept free for sockets, SQLite and the rest when checking a new topic's
# partitions against RLIMIT_NOFILE. A partition holds at most one descriptor (its
# segment's log file, opened lazily; indexes hold none), and all of them together at
# most core.log.segment.MAX_OPEN_SEGMENTS (a process-wide LRU).
RESERVED_FDS = 256


class ActivitySink(Protocol):
    """What the broker's request paths tell the activity feed (``core.monitor.feed``)."""

    def appended(self, topic: str, partition: int, headers: Sequence[BatchHeader]) -> None:
        """Batches were appended (headers patched to the offsets the log gave them)."""
        ...

    def fetched(
        self, conn_id: int, client_id: str, host: str,
        positions: Iterable[tuple[str, int, int]],
    ) -> None:
        """A reader fetched: (topic, partition, read-to offset), read-to being the offset
        after the last record handed over (the fetch offset when nothing was)."""
        ...

    def reader_closed(self, conn_id: int) -> None:
        """A connection or in-process client is gone."""
        ...

    async def run_key_sampler(self, source: Broker) -> None:
        """Read back sampled batches for their keys, off the produce path; until cancelled."""
        ...


@dataclass(slots=True)
class BrokerCounters:
    """Broker-wide running totals, incremented in place on the request path (a plain
    slots attribute, the cheapest increment there is). The monitor copies them into its
    frozen :class:`core.monitor.snapshot.Counters` through ``CountersView``; the three
    name the same fields (``tests/core/test_typed_seams.py`` holds them together)."""

    records_in: int = 0
    bytes_in: int = 0
    records_out: int = 0
    bytes_out: int = 0
    requests: int = 0
    connections_total: int = 0
    errors: int = 0
    connections_refused: int = 0


@dataclass(frozen=True, slots=True)
class BrokerEvent:
    ts: float
    kind: str
    message: str
    data: dict[str, Any]


@dataclass(slots=True)
class LocalClient:
    """An in-process client (no socket), listed by the monitor beside real connections.

    The client counts its own calls by the Kafka API they stand for (Fetch, Heartbeat,
    OffsetCommit...), so the Clients view shows it as it shows a connection.
    """

    conn_id: int  # negative: never the id of a socket connection
    client_id: str
    kind: str  # "consumer" or "producer"
    connected_at: float  # wall clock
    requests_by_api: dict[int, int] = field(default_factory=dict)
    bytes_in: int = 0  # what it handed the broker (produced records)
    bytes_out: int = 0  # what the broker handed it (fetched records)

    def count(self, api_key: int, bytes_out: int = 0) -> None:
        self.requests_by_api[api_key] = self.requests_by_api.get(api_key, 0) + 1
        self.bytes_out += bytes_out


@dataclass(frozen=True, slots=True)
class FetchResult:
    records: bytes
    high_watermark: int
    log_start_offset: int
    # The offset after the last batch in ``records`` (-1 when empty): where a reader
    # handed these records has read to. Found by the same header walk that counts them.
    next_offset: int = -1


class Broker:
    """Topics, partition logs and the counters the monitor reads (module docstring)."""

    def __init__(self, config: BrokerConfig | None = None) -> None:
        # What the broker was started with; ``config`` is it with the dynamic broker
        # configs applied (core/broker_configs.py), replaced whole when they change.
        self.static_config = config or BrokerConfig()
        self.config = self.static_config
        # Dynamic broker configs by scope ("": cluster-wide default; the node id).
        self.dynamic_configs: dict[str, dict[str, str]] = {}
        self.node_id = self.config.node_id
        self.data_dir = Path(self.config.data_dir)
        self._dir = DataDir(self.data_dir)
        self.topics: dict[str, Topic] = {}
        # Socket connections, reported by the server (ServerStats below).
        self.connections: dict[int, ConnectionInfo] = {}
        # In-process clients by (negative) id; registered and removed on the loop.
        self.local_clients: dict[int, LocalClient] = {}
        self._local_serial = 0
        self.counters = BrokerCounters()
        self.events: deque[BrokerEvent] = deque(maxlen=2000)
        self.listener: tuple[str, int] | None = None
        self.started_at = 0.0
        self.cluster_id = ""
        self.meta: MetaStore | None = None
        # The group coordinator, attached by the composition root (core/node.py).
        self.groups: BrokerGroups | None = None
        # The activity feed, likewise; None when BrokerConfig.activity_feed is off.
        self.activity: ActivitySink | None = None
        # The transaction coordinator, likewise (checks transactional batches); None: none.
        self.txn_verifier: TxnVerifier | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._closed = False
        self._flusher = Flusher(self._all_partitions, self._sync_result)
        # Log compaction (core/log/cleaner.py): one thread, over the compacted logs.
        self.cleaner = LogCleaner(
            CleanerConfig(self.config.cleaner_interval_ms,
                          self.config.cleaner_io_bytes_per_sec, self.config.cleaner_max_keys),
            self._compacted_logs)
        # fsync "always": the flusher thread with group commit (core/flusher.py).
        self._group_sync: GroupSync | None = None
        # Topics being created off the loop (name -> its future) and every live or
        # pending name by collision key (core/topics.collision_key).
        self._creating: dict[str, asyncio.Future[Topic]] = {}
        self._name_keys: dict[str, str] = {}
        # Topics each connection has auto-created (core/api/metadata.auto_create's budget).
        self.auto_created_by_connection: dict[int, int] = {}

    # --- lifecycle ------------------------------------------------------------------

    async def start(self) -> None:
        """Open the data dir (locked against a second broker), topics and logs."""
        self._dir.lock()
        self.meta = MetaStore(self.data_dir / "meta.sqlite")
        self.cluster_id = self.meta.cluster_id
        self._load_dynamic_configs()
        if self.config.fsync == "always":
            self._group_sync = GroupSync(self._sync_result, self._wake)
            self._group_sync.start()
        for rec in self.meta.load_topics():
            log_config = self._log_config_for(rec.configs)
            topic = Topic(rec.name, rec.topic_id, dict(rec.configs), log_config, [], rec.created_at)
            for i in range(rec.partitions):
                topic.partitions.append(self._open_at_start(topic, i))
            self.topics[rec.name] = topic
            self._name_keys.setdefault(collision_key(rec.name), rec.name)
        self.started_at = time.time()
        if self.config.fsync == "interval":
            self._spawn(self._flusher.run(self.config.fsync_interval_ms / 1000), "flusher")
        self._spawn(self._retention_loop(), "retention")
        self._spawn(self.cleaner.run(), "log-cleaner")
        if self.activity is not None:
            self._spawn(self.activity.run_key_sampler(self), "key-sampler")

    def attach_groups(self, groups: BrokerGroups) -> None:
        """The group coordinator built over this broker (by core/node.py); closed with it."""
        self.groups = groups

    def attach_transactions(self, verifier: TxnVerifier) -> None:
        """The transaction coordinator (by core/node.py): a transactional batch is
        appended only inside an open transaction that includes its partition."""
        self.txn_verifier = verifier

    def attach_activity(self, sink: ActivitySink) -> None:
        """The activity feed to tell of appends and readers (by core/node.py, before
        :meth:`start`, which starts its key sampler)."""
        self.activity = sink

    async def close(self) -> None:
        """Stop background work, flush and close every log, release the data dir."""
        if self._closed:
            return
        self._closed = True
        await self.cleaner.close()  # its thread reads the logs closed below
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        for fut in list(self._creating.values()):
            with contextlib.suppress(BaseException):
                await fut
        if self._group_sync is not None:
            await self._group_sync.stop()
        if self.meta is not None:
            await asyncio.to_thread(self.meta.drain)
        # From here on nothing suspends: clients on this loop see the coordinator and
        # the logs close together.
        if self.groups is not None:
            await self.groups.close()
        async with self._flusher.lock:
            for topic in self.topics.values():
                for p in topic.partitions:
                    self._wake(p)
                    try:
                        p.log.close()  # flushes
                    except (OSError, KafkaError) as exc:
                        log.error("closing %s-%d: %s", p.topic, p.index, exc)
                        p.log.close(flush=False)
                        _settle(p.sync_waiters, KafkaError(
                            ErrorCode.KAFKA_STORAGE_ERROR, f"final flush failed: {exc}"))
                    else:
                        p.log.advance_high_watermark(p.log.next_offset)
                        _settle(p.sync_waiters, None)
        if self.meta is not None:
            self.meta.close()  # what the coordinator's close queued: drained just above
        self._dir.unlock()

    def _spawn(self, coro: Coroutine[Any, Any, None], name: str) -> None:
        task = asyncio.get_running_loop().create_task(coro, name=f"broker-{name}")
        task.add_done_callback(self._task_done)
        self._tasks.append(task)

    def _task_done(self, task: asyncio.Task[None]) -> None:
        if not task.cancelled() and task.exception() is not None:
            log.error("broker task %s failed", task.get_name(), exc_info=task.exception())
            self.emit_event("error", f"{task.get_name()} failed: {task.exception()!r}")

    def _compacted_logs(self) -> Iterator[PartitionLog]:
        for topic in self.topics.values():
            if topic.log_config.compact:
                for p in topic.partitions:
                    yield p.log

    def _all_partitions(self) -> Iterator[Partition]:
        for topic in self.topics.values():
            yield from topic.partitions

    async def flush_dirty(self) -> None:
        """fsync every log appended to since the last flush, in a worker thread."""
        await self._flusher.flush_dirty()

    # --- durability and storage faults ------------------------------------------------

    def sync_waiter(self, topic: str, index: int) -> asyncio.Future[None] | None:
        """fsync "always": a future resolved once the partition's records appended so far
        are durable (and visible), failing with KAFKA_STORAGE_ERROR if the sync fails;
        None when there is nothing to wait for (interval mode, or already durable)."""
        gs = self._group_sync
        if gs is None:
            return None
        t = self.topics.get(topic)
        if t is None or not 0 <= index < len(t.partitions):
            return None
        return gs.waiter(t.partitions[index])

    async def make_durable(self, positions: Iterable[tuple[str, int, int]]) -> None:
        """Return once each partition's records below the offset (capped at what the log
        holds) are durable; KafkaError KAFKA_STORAGE_ERROR if they cannot be made so.
        Free when earlier flushes already covered them (OffsetCommit calls this before
        storing offsets, so a stored offset never points past durable data)."""
        wanted: list[tuple[Partition, int]] = []
        for topic, index, offset in positions:
            t = self.topics.get(topic)
            if t is None or not 0 <= index < len(t.partitions):
                continue
            p = t.partitions[index]
            wanted.append((p, min(offset, p.log.next_offset)))
        if not wanted:
            return
        gs = self._group_sync
        if gs is None:
            await self._flusher.make_durable(wanted)
            return
        waits = []
        for p, offset in wanted:
            if offset > p.log.log_end_offset:
                fut = gs.waiter(p)
                if fut is not None:
                    waits.append(fut)
        for fut in waits:
            await fut

    def _sync_result(self, p: Partition, error: Exception | None) -> None:
        """A flusher's sync of ``p`` ended (on the loop): storage error set or cleared."""
        if error is None:
            if p.storage_error is not None:
                self._storage_recovered(p)
        else:
            self._storage_failed(p, f"fsync failed: {_reason(error)}", from_sync=True)

    def _storage_failed(self, p: Partition, reason: str, *, from_sync: bool = False) -> None:
        """An append or sync of ``p`` failed: logged and told once per episode (an error
        from a sync is cleared only by a sync that succeeds, one from a write by any
        write or sync that does)."""
        if p.storage_error is None:
            log.error("storage error on %s-%d: %s", p.topic, p.index, reason)
            self.emit_event("storage", f"Storage error on {p.topic}-{p.index}: {reason}",
                            topic=p.topic, partition=p.index, error=reason)
        p.storage_error = reason
        p.storage_error_from_sync = from_sync

    def _storage_recovered(self, p: Partition) -> None:
        log.warning("storage on %s-%d works again (was: %s)", p.topic, p.index, p.storage_error)
        self.emit_event("storage", f"Storage on {p.topic}-{p.index} works again",
                        topic=p.topic, partition=p.index, error=None)
        p.storage_error = None
        p.storage_error_from_sync = False

    async def _retention_loop(self) -> None:
        while True:
            await asyncio.sleep(self.config.retention_check_ms / 1000)
            self.enforce_retention()

    def enforce_retention(self) -> int:
        """Delete whole old segments past each topic's retention; returns how many."""
        return enforce_retention(self.topics.values())

    @property
    def closed(self) -> bool:
        """True once :meth:`close` began: logs are closing, nothing new will be appended."""
        return self._closed

    # --- in-process clients -----------------------------------------------------------

    def register_local_client(self, client_id: str, kind: str) -> LocalClient:
        self._local_serial += 1
        client = LocalClient(-self._local_serial, client_id, kind, time.time())
        self.local_clients[client.conn_id] = client
        return client

    def unregister_local_client(self, client: LocalClient) -> None:
        self.local_clients.pop(client.conn_id, None)
        if self.activity is not None:
            self.activity.reader_closed(client.conn_id)

    # --- what the server reports (core.ports.ServerStats) -------------------------------

    def listener_changed(self, address: tuple[str, int] | None) -> None:
        self.listener = address

    def connection_opened(self, info: ConnectionInfo) -> None:
        self.connections[info.conn_id] = info
        self.counters.connections_total += 1

    def connection_closed(self, conn_id: int) -> None:
        self.connections.pop(conn_id, None)
        self.auto_created_by_connection.pop(conn_id, None)
        if self.activity is not None:
            self.activity.reader_closed(conn_id)

    def connection_refused(self, host: str, why: str) -> None:
        self.counters.connections_refused += 1

    def request_handled(self) -> None:
        self.counters.requests += 1

    def request_failed(self) -> None:
        self.counters.errors += 1

    # --- events ---------------------------------------------------------------------

    def emit_event(self, kind: str, message: str, **data: Any) -> None:
        self.events.append(BrokerEvent(time.time(), kind, message, data))

    # --- topics ---------------------------------------------------------------------

    def _open_partition(self, topic: Topic, index: int) -> Partition:
        plog = PartitionLog.open(
            self._dir.partition_dir(topic.name, index), topic.log_config, topic=topic.name, partition=index
        )
        return self._partition_of(plog)

    def _partition_of(self, plog: PartitionLog) -> Partition:
        """The broker's Partition over an opened log (deferred sync in "always" mode)."""
        if self._group_sync is not None:
            plog.defer_sync()
        p = Partition(plog.topic, plog.partition, plog)
        p.synced_to = plog.next_offset  # what recovery found is on disk
        # Idempotent producers' sequences survive a restart (core/idempotence.py).
        # Open transactions and aborted ones likewise, from the same scan (markers that
        # end a transaction are read back, nothing else).
        txn_batches: list[tuple[int, int, bool]] = []
        p.producers = rebuild_producers(
            tap_transactional(plog.tail_headers(PRODUCER_SCAN_BYTES), txn_batches))
        p.txns = rebuild_txns(txn_batches, partial(_read_batch, plog), plog.log_start_offset)
        plog.txns = p.txns  # the cleaner stops at the LSO and drops aborted records
        return p

    def _open_at_start(self, topic: Topic, index: int) -> Partition:
        """Open a stored partition; one that cannot be opened (a corrupt segment recovery
        cannot handle, an unreadable file) goes offline alone: logged, told, and its
        requests answered KAFKA_STORAGE_ERROR while the others serve."""
        path = self._dir.partition_dir(topic.name, index)
        try:
            plog = PartitionLog.open(path, topic.log_config, topic=topic.name, partition=index)
        except Exception as exc:  # noqa: BLE001 - whatever it is, only this partition stops
            reason = _reason(exc)
            log.error("partition %s-%d is offline: %s", topic.name, index, reason)
            self.emit_event("storage", f"Partition {topic.name}-{index} is offline: {reason}",
                            topic=topic.name, partition=index, error=reason, offline=True)
            offline = OfflineLog(path, topic.log_config, topic.name, index, reason)
            return Partition(topic.name, index, offline, offline=reason)
        return self._partition_of(plog)

    def create_topic(
        self,
        name: str,
        partitions: int | None = None,
        configs: dict[str, str] | None = None,
        *,
        validate_only: bool = False,
    ) -> Topic | None:
        """Create a topic (Kafka's rules and errors); ``validate_only`` checks and returns None.

        The files are created on the caller's thread (the loop): for creations a person
        asked for. Auto-creation uses :meth:`create_topic_off_loop`."""
        count, configs, log_config = self._check_new_topic(name, partitions, configs)
        if validate_only:
            return None
        logs = _open_logs(self._claim_dirs(name, count), log_config, name)
        return self._commit_topic(name, configs, log_config, logs)

    async def create_topic_off_loop(
        self, name: str, partitions: int | None = None, configs: dict[str, str] | None = None,
    ) -> Topic:
        """:meth:`create_topic` with the directories and files created in a worker thread;
        the checks run and the new state is committed on the loop. Until then the name is
        reserved: another creation of it (or of a colliding name) waits for this one or
        is refused."""
        count, configs, log_config = self._check_new_topic(name, partitions, configs)
        loop = asyncio.get_running_loop()
        fut: asyncio.Future[Topic] = loop.create_future()
        key = collision_key(name)
        self._creating[name] = fut
        self._name_keys[key] = name
        try:
            dirs = self._claim_dirs(name, count)
            logs = await asyncio.to_thread(_open_logs, dirs, log_config, name)
            if self._closed:
                for plog in logs:
                    plog.close()
                raise KafkaError(ErrorCode.NOT_CONTROLLER, "The broker is shutting down.")
            topic = self._commit_topic(name, configs, log_config, logs)
            fut.set_result(topic)
            return topic
        except BaseException as exc:
            if self._name_keys.get(key) == name and name not in self.topics:
                del self._name_keys[key]
            if not fut.done():
                fut.set_exception(exc)
                fut.exception()  # retrieved: waiters re-raise it, nobody else must
            raise
        finally:
            self._creating.pop(name, None)

    def _check_new_topic(
        self, name: str, partitions: int | None, configs: dict[str, str] | None,
    ) -> tuple[int, dict[str, str], LogConfig]:
        """Kafka's checks for a new topic, the name collision and descriptor checks;
        (partition count, configs, log config)."""
        reason = validate_topic_name(name)
        if reason:
            raise KafkaError(ErrorCode.INVALID_TOPIC_EXCEPTION, reason)
        if name in self.topics or name in self._creating:
            raise KafkaError(ErrorCode.TOPIC_ALREADY_EXISTS, f"Topic '{name}' already exists.")
        other = self._name_keys.get(collision_key(name))
        if other is not None and other != name:
            raise KafkaError(
                ErrorCode.INVALID_TOPIC_EXCEPTION,
                f"Topic '{name}' collides with existing topic: {other} (names that differ"
                " only in case, or by '.' versus '_', are refused)",
            )
        if partitions is None or partitions == -1:
            partitions = self.config.default_partitions
        check_new_partition_count(partitions, self.config.max_partitions_per_topic)
        configs = {k: v for k, v in (configs or {}).items() if v is not None}
        log_config = self._log_config_for(configs)
        self.check_descriptor_budget(partitions)
        return partitions, configs, log_config

    @property
    def creating(self) -> Mapping[str, asyncio.Future[Topic]]:
        """Topics being created off the loop (name -> future of the topic)."""
        return self._creating

    def partition_total(self) -> int:
        """Partitions the broker holds, counting topics being created."""
        total = sum(len(t.partitions) for t in self.topics.values())
        return total + len(self._creating) * self.config.default_partitions

    def check_descriptor_budget(self, new_partitions: int) -> None:
        """Refuse (POLICY_VIOLATION) partitions the process's descriptor limit
        (RLIMIT_NOFILE) could not serve, rather than failing later mid-request."""
        try:
            import resource  # POSIX only; elsewhere there is no such limit to check
        except ImportError:
            return
        soft, _hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        if soft == resource.RLIM_INFINITY:
            return
        total = self.partition_total() + new_partitions
        allowed = max(0, soft - RESERVED_FDS)
        if min(total, segment.MAX_OPEN_SEGMENTS) > allowed:
            raise KafkaError(
                ErrorCode.POLICY_VIOLATION,
                f"Creating {new_partitions} partition(s) would bring this broker to {total}"
                f" partitions; its file-descriptor limit (RLIMIT_NOFILE {soft}) leaves room"
                f" for {allowed} open log files. Delete topics, or raise the limit"
                " (ulimit -n) and restart.",
            )

    def _claim_dirs(self, name: str, count: int) -> list[Path]:
        """The new topic's partition dirs; a leftover dir of a deleted topic with the same
        name is discarded first (it must not come back), never a live topic's."""
        dirs = []
        for i in range(count):
            path = self._dir.partition_dir(name, i)
            if path.exists():
                self._discard_stale(path)
            dirs.append(path)
        return dirs

    def _live_dir_keys(self) -> set[str]:
        return {
            p.log.directory.name.casefold()
            for t in self.topics.values() for p in t.partitions
        }

    def _discard_stale(self, path: Path) -> None:
        """Discard a partition dir no live topic owns (compared as a case-insensitive file
        system would); one a live topic owns is refused, never removed."""
        if path.name.casefold() in self._live_dir_keys():
            raise KafkaError(
                ErrorCode.INVALID_TOPIC_EXCEPTION,
                f"Directory {path.name} belongs to a live topic; not reused.",
            )
        discard_dir(path)

    def _commit_topic(
        self, name: str, configs: dict[str, str], log_config: LogConfig,
        logs: list[PartitionLog],
    ) -> Topic:
        """The new topic's state, on the loop: in memory at once, its store row queued."""
        rec = self.meta.create_topic(name, uuid.uuid4(), len(logs), configs)
        topic = Topic(name, rec.topic_id, configs, log_config, [], rec.created_at)
        topic.partitions.extend(self._partition_of(plog) for plog in logs)
        self.topics[name] = topic
        self._name_keys[collision_key(name)] = name
        partitions = len(logs)
        noun = "partition" if partitions == 1 else "partitions"
        self.emit_event("topic_created", f"Topic {name} created with {partitions} {noun}",
                        topic=name, partitions=partitions)
        return topic

    def _log_config_for(self, configs: dict[str, str]) -> LogConfig:
        return log_config_for(self.config.log, configs)

    def get_topic(self, name: str) -> Topic:
        topic = self.topics.get(name)
        if topic is None:
            raise KafkaError(
                ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, f"This server does not host topic {name!r}"
            )
        return topic

    def topic_by_id(self, topic_id: uuid.UUID) -> Topic | None:
        for topic in self.topics.values():
            if topic.topic_id == topic_id:
                return topic
        return None

    def topic_partition_count(self, name: str) -> int | None:
        topic = self.topics.get(name)
        return None if topic is None else len(topic.partitions)

    def ensure_topic(self, name: str) -> Topic:
        """The topic, auto-created (files on the loop) when the broker allows it."""
        topic = self.topics.get(name)
        if topic is not None:
            return topic
        if not self.config.auto_create_topics:
            return self.get_topic(name)
        return self.create_topic(name)

    async def ensure_topic_off_loop(self, name: str) -> Topic:
        """The topic, auto-created off the loop when the broker allows it (Metadata,
        Produce); a creation of the same name already under way is waited for."""
        topic = self.topics.get(name)
        if topic is not None:
            return topic
        pending = self._creating.get(name)
        if pending is not None:
            return await asyncio.shield(pending)
        if not self.config.auto_create_topics:
            return self.get_topic(name)
        return await self.create_topic_off_loop(name)

    def delete_topic(self, name: str) -> None:
        topic = self.get_topic(name)
        del self.topics[name]
        if self._name_keys.get(collision_key(name)) == name:
            del self._name_keys[collision_key(name)]
        self.meta.delete_topic(name)  # queued for the store's writer
        gone = KafkaError(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, f"Topic {name} was deleted")
        for p in topic.partitions:
            p.dirty = False
            self._wake(p)
            _settle(p.sync_waiters, gone)
            p.log.close(flush=False)  # about to be deleted: no fsync on the loop
            discard_dir(p.log.directory)
        if self.groups is not None:
            self.groups.on_topic_deleted(name)
        self.emit_event("topic_deleted", f"Topic {name} deleted", topic=name)

    def add_partitions(self, name: str, total: int, *, validate_only: bool = False) -> None:
        topic = self.get_topic(name)
        current = len(topic.partitions)
        check_partition_increase(current, total, self.config.max_partitions_per_topic)
        if validate_only:
            return
        self.check_descriptor_budget(total - current)
        self.meta.set_partitions(name, total)
        for i in range(current, total):
            stale = self._dir.partition_dir(name, i)
            if stale.exists():
                self._discard_stale(stale)
            topic.partitions.append(self._open_partition(topic, i))
        self.emit_event("partitions_added", f"Topic {name} now has {total} partitions",
                        topic=name, partitions=total)

    def alter_topic_configs(
        self, name: str, configs: dict[str, str | None], *, incremental: bool = False,
        validate_only: bool = False,
    ) -> None:
        """Replace (AlterConfigs) or update (incremental; None deletes) a topic's overrides."""
        topic = self.get_topic(name)
        if incremental:
            new = dict(topic.configs)
            for k, v in configs.items():
                if v is None:
                    new.pop(k, None)
                else:
                    new[k] = v
        else:
            new = {k: v for k, v in configs.items() if v is not None}
        log_config = self._log_config_for(new)
        if validate_only:
            return
        self.meta.set_topic_configs(name, new)
        topic.configs = new
        self._set_log_config(topic, log_config)
        self.emit_event("topic_configs_changed", f"Topic {name} configs changed", topic=name)

    def alter_broker_configs(
        self, scope: str, configs: dict[str, str], *, read_only: set[str] = frozenset(),
        validate_only: bool = False,
    ) -> None:
        """Replace the dynamic broker configs of ``scope`` ("" or the node id), persisted
        (queued off the loop); every topic's log config follows at once. KafkaError
        INVALID_REQUEST (nothing changed) for read-only, unknown or bad values."""
        check_broker_changes(configs, set(read_only))
        dynamic = {**self.dynamic_configs, scope: dict(configs)}
        config = self._with_dynamic(dynamic)
        logs = {n: log_config_for(config.log, t.configs) for n, t in self.topics.items()}
        if validate_only:
            return
        self.meta.set_broker_configs(scope, configs)
        self.dynamic_configs = {k: v for k, v in dynamic.items() if v}
        self.config = config
        for name, log_config in logs.items():
            self._set_log_config(self.topics[name], log_config)
        label = "cluster-wide default" if scope == "" else f"broker {scope}"
        self.emit_event("broker_configs_changed", f"Dynamic configs of the {label} changed",
                        scope=scope)

    def _load_dynamic_configs(self) -> None:
        """The stored dynamic broker configs; a scope this version refuses (a stored
        value it no longer accepts) is left out with an error logged, not fatal."""
        node_scope = str(self.node_id)
        for scope, configs in self.meta.load_broker_configs().items():
            if scope not in ("", node_scope):
                continue  # another node id's (the data dir was used with another --node-id)
            try:
                check_broker_changes(configs, set())
                config = self._with_dynamic({**self.dynamic_configs, scope: configs})
            except KafkaError as exc:
                log.error("dynamic broker configs of scope %r ignored: %s", scope, exc.message)
                continue
            self.dynamic_configs[scope] = configs
            self.config = config

    def _with_dynamic(self, dynamic: dict[str, dict[str, str]]) -> BrokerConfig:
        """The static config with the dynamic broker configs' log defaults applied."""
        overrides = dynamic_log_overrides(dynamic.get("", {}),
                                          dynamic.get(str(self.node_id), {}))
        if not overrides:
            return self.static_config
        return replace(self.static_config,
                       log=log_config_for(self.static_config.log, overrides))

    def _set_log_config(self, topic: Topic, log_config: LogConfig) -> None:
        topic.log_config = log_config
        for p in topic.partitions:
            p.log.config = log_config
        if log_config.compact:
            self.cleaner.wake()  # a topic just turned compact: its first pass now

    def topic_config_values(self, name: str) -> dict[str, tuple[str, bool]]:
        """Every effective config of a topic: name -> (value, is_default)."""
        topic = self.get_topic(name)
        values = topic.log_config.as_topic_configs()
        return {k: (v, k not in topic.configs) for k, v in values.items()}

    # --- produce / fetch ------------------------------------------------------------

    def partition(self, topic: str, index: int) -> Partition:
        """The partition (KafkaError UNKNOWN_TOPIC_OR_PARTITION, or KAFKA_STORAGE_ERROR
        for one offline since start-up)."""
        t = self.topics.get(topic)
        if t is None or not 0 <= index < len(t.partitions):
            raise KafkaError(
                ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
                f"This server does not host {topic}-{index}",
            )
        p = t.partitions[index]
        if p.offline is not None:
            raise KafkaError(
                ErrorCode.KAFKA_STORAGE_ERROR, f"{topic}-{index} is offline: {p.offline}")
        return p

    def partition_offsets(self, topic: str, index: int) -> tuple[int, int]:
        p = self.partition(topic, index)
        return p.log.log_start_offset, p.log.log_end_offset

    def produce(self, topic: str, index: int, data: bytes | bytearray | memoryview) -> tuple[int, int]:
        """Validate and append the batches in ``data``; (base offset, log start offset).

        Runs with no ``await``: validation, idempotence checks and the append happen as
        one step on the loop. A duplicate batch of an idempotent producer is answered
        with its original offset and not appended again.
        """
        p = self.partition(topic, index)
        plog = p.log
        headers = validate_batches(data, max_batch_bytes=plog.config.max_message_bytes)
        if plog.config.compact:
            _refuse_keyless(data, headers, plog.config.max_message_bytes, topic, index)
        dup = check_sequences(p.producers, headers)
        if dup is not None:
            return dup, plog.log_start_offset
        verifier = self.txn_verifier
        if verifier is not None:
            for h in headers:
                if h.attributes & _TRANSACTIONAL:
                    # A batch outside any open transaction would hold the last stable
                    # offset forever (a "hanging transaction"): refused, as KIP-890 does.
                    code = verifier.verify_transactional(
                        h.producer_id, h.producer_epoch, topic, index)
                    if code != ErrorCode.NONE:
                        raise KafkaError(
                            code, f"Producer {h.producer_id} epoch {h.producer_epoch} has "
                            f"no open transaction with {topic}-{index}")
        # Patched in place: a bytearray or a writable memoryview (the server hands over
        # each frame's own buffer) is used as is; read-only bytes are copied once.
        if isinstance(data, bytearray) or (isinstance(data, memoryview) and not data.readonly):
            buf = data
        else:
            buf = bytearray(data)
        return self._append(p, buf, headers), plog.log_start_offset

    def write_marker(self, topic: str, index: int, producer_id: int, producer_epoch: int,
                     kind: int, coordinator_epoch: int = 0) -> int:
        """Append a transaction marker (``core.idempotence.COMMIT`` / ``ABORT``) for
        ``producer_id`` to a partition, on the loop; its offset. The marker's epoch
        becomes the partition's epoch for that producer, so batches of an older epoch (a
        fenced producer) are refused from here on. KafkaError as :meth:`produce`."""
        p = self.partition(topic, index)
        buf = control_batch(producer_id, producer_epoch, kind, coordinator_epoch)
        headers = [parse_header(buf)]
        offset = self._append(p, buf, headers)
        p.txns.marker(producer_id, kind, offset)
        p.txns.trim(p.log.log_start_offset)
        state = p.producers.get(producer_id)
        if state is None or producer_epoch > state.epoch:
            p.producers[producer_id] = ProducerState(producer_epoch)
        return offset

    def _append(self, p: Partition, buf: bytearray | memoryview,
                headers: list[BatchHeader]) -> int:
        """Append validated batches to ``p`` and do the bookkeeping; the base offset."""
        topic, index = p.topic, p.index
        plog = p.log
        try:
            base, _last = plog.append(buf, headers)
        except KafkaError as exc:
            if exc.code == ErrorCode.KAFKA_STORAGE_ERROR:
                self._storage_failed(p, exc.message or str(exc))
            raise
        except OSError as exc:  # e.g. a new segment's file could not be created
            self._storage_failed(p, _reason(exc))
            raise KafkaError(ErrorCode.KAFKA_STORAGE_ERROR, _reason(exc)) from exc
        if p.storage_error is not None and not p.storage_error_from_sync:
            self._storage_recovered(p)
        record_sequences(p.producers, headers, base)
        if self.activity is not None:
            self.activity.appended(topic, index, headers)
        n_records = 0
        transactional = 0
        for h in headers:
            n_records += h.last_offset_delta + 1
            transactional |= h.attributes & _TRANSACTIONAL
        if transactional:
            p.txns.appended(headers)
        size = len(buf)
        p.records_in += n_records
        p.bytes_in += size
        p.batches_in += len(headers)
        c = self.counters
        c.records_in += n_records
        c.bytes_in += size
        gs = self._group_sync
        if gs is not None:
            gs.submit(p)  # visible, and fetchers woken, once durable
        else:
            if plog.config.fsync == "interval":
                p.dirty = True
            if p.waiters:
                self._wake(p)
        return base

    def fetch(self, topic: str, index: int, offset: int, max_bytes: int) -> FetchResult:
        """Whole batches from the one containing ``offset`` (at least one if any exist)."""
        p = self.partition(topic, index)
        plog = p.log
        data = plog.read(offset, max_bytes)
        next_offset = -1
        if data:
            records, next_offset = _count_records(data)
            p.records_out += records
            p.bytes_out += len(data)
            self.counters.records_out += records
            self.counters.bytes_out += len(data)
        return FetchResult(data, plog.log_end_offset, plog.log_start_offset, next_offset)

    def read_stored(self, topic: str, index: int, offset: int, max_bytes: int) -> bytes:
        """Stored batches as :meth:`fetch` reads them, counted nowhere: the monitor's
        reading back (key sampling), not a consumer's."""
        return self.partition(topic, index).log.read(offset, max_bytes)

    async def wait_for_data(self, positions: list[tuple[str, int, int]], timeout_s: float) -> None:
        """Wait until a listed partition's high watermark passes its offset, or ``timeout_s``.

        Every path suspends, so a polling loop around this call can never starve the loop:
        data already there still yields once; partitions that do not exist (a deleted
        topic) are not waited on, since no append can wake them; with nothing left to wait
        on, or on a closed broker, it sleeps out the timeout. Woken at once by an append,
        a topic deletion or the broker closing. A cancellation is never lost: the timeout
        resolves the future with a timer instead of ``asyncio.wait_for``, which in Python
        3.11 returns the result and drops a cancel that arrives as the future completes.
        """
        if timeout_s <= 0:
            await asyncio.sleep(0)
            return
        if self._closed:
            await asyncio.sleep(timeout_s)
            return
        parts = []
        for topic, index, offset in positions:
            t = self.topics.get(topic)
            if t is None or not 0 <= index < len(t.partitions):
                continue  # gone (deleted topic): no append will ever wake it
            p = t.partitions[index]
            if p.log.log_end_offset > offset:
                await asyncio.sleep(0)
                return
            parts.append(p)
        if not parts:
            await asyncio.sleep(timeout_s)
            return
        loop = asyncio.get_running_loop()
        fut = loop.create_future()
        for p in parts:
            p.waiters.add(fut)
        timer = loop.call_later(timeout_s, _resolve, fut)
        try:
            await fut
        finally:
            timer.cancel()
            for p in parts:
                p.waiters.discard(fut)

    async def begin_shutdown(self) -> None:
        """Answer every parked request now: long-polls get what they have, joins and syncs
        parked in a rebalance get NOT_COORDINATOR (clients then look for the next broker).
        Only for a full shutdown: group calls keep answering NOT_COORDINATOR after this."""
        self.wake_fetchers()
        if self.groups is not None:
            await self.groups.close()

    def wake_fetchers(self) -> None:
        """Wake every long-polling fetcher now (shutdown: they answer with what they have)."""
        for topic in self.topics.values():
            for p in topic.partitions:
                self._wake(p)

    @staticmethod
    def _wake(p: Partition) -> None:
        waiters, p.waiters = p.waiters, set()
        for fut in waiters:
            if not fut.done():
                fut.set_result(None)

    def list_offsets(self, topic: str, index: int, timestamp: int) -> tuple[int, int]:
        """Kafka's ListOffsets: -2 earliest, -1 latest, -3 max timestamp, else by time."""
        plog = self.partition(topic, index).log
        if timestamp == -2:
            return plog.log_start_offset, -1
        if timestamp == -1:
            return plog.log_end_offset, -1
        if timestamp == -3:
            found = plog.max_timestamp_offset()
            return found if found is not None else (-1, -1)
        found = plog.offset_for_timestamp(timestamp)
        return found if found is not None else (-1, -1)

    def delete_records(self, topic: str, index: int, before_offset: int) -> int:
        p = self.partition(topic, index)
        if not p.log.config.delete:
            # Kafka's rule: only a policy with "delete" lets records be deleted.
            raise KafkaError(ErrorCode.POLICY_VIOLATION,
                             f"Records of partition {topic}-{index} can not be deleted due"
                             " to the configured policy")
        low = p.log.delete_records(before_offset)
        self.emit_event("records_deleted", f"{topic}-{index} log start moved to {low}",
                        topic=topic, partition=index, log_start_offset=low)
        return low

    def allocate_producer_id(self) -> int:
        return self.meta.allocate_producer_id()


def _resolve(fut: asyncio.Future) -> None:
    if not fut.done():
        fut.set_result(None)


def _settle(waiters: list[tuple[int, asyncio.Future[None]]], error: Exception | None) -> None:
    """Resolve (or fail with ``error``) and forget every produce waiting on a sync."""
    for _target, fut in waiters:
        if not fut.done():
            if error is None:
                fut.set_result(None)
            else:
                fut.set_exception(error)
    waiters.clear()


def _reason(exc: BaseException) -> str:
    """A storage failure as one line for logs, events and error messages."""
    if isinstance(exc, KafkaError):
        return exc.message or exc.code.name
    if isinstance(exc, OSError) and exc.strerror:
        where = f" ({exc.filename})" if exc.filename else ""
        return f"{exc.strerror}{where}"
    return str(exc) or type(exc).__name__


def _open_logs(dirs: list[Path], config: LogConfig, topic: str) -> list[PartitionLog]:
    """Open (creating) a new topic's partition logs; any thread. All or none: on a failure
    the ones opened are closed and their directories discarded before it re-raises."""
    logs: list[PartitionLog] = []
    try:
        for index, path in enumerate(dirs):
            logs.append(PartitionLog.open(path, config, topic=topic, partition=index))
    except BaseException as exc:
        for plog in logs:
            plog.close(flush=False)
        for path in dirs:
            discard_dir(path)
        if isinstance(exc, OSError):
            raise KafkaError(ErrorCode.KAFKA_STORAGE_ERROR,
                             f"Could not create topic {topic}: {_reason(exc)}") from exc
        raise
    return logs


def _refuse_keyless(data: bytes | bytearray | memoryview, headers: list[BatchHeader],
                    max_message_bytes: int, topic: str, index: int) -> None:
    """Compacted topics only (the one place records are decoded on produce): a record
    without a key is refused, as Kafka's LogValidator does, naming each culprit."""
    keyless = keyless_records(data, headers,
                              max_uncompressed=uncompressed_limit(max_message_bytes))
    if keyless:
        message = f"Compacted topic cannot accept message without key in topic partition {topic}-{index}."
        raise InvalidRecords(message, [(i, message) for i in keyless])


def _read_batch(plog: PartitionLog, offset: int) -> bytes:
    """The stored bytes from the batch at ``offset`` (a marker read back on open)."""
    return plog.read(offset, 1)


def _count_records(data: bytes) -> tuple[int, int]:
    """(records, offset after the last batch) of a run of stored batches, from each
    header's recordsCount (fewer than its offsets once compacted) and the last one's base
    offset and lastOffsetDelta (no record is decoded)."""
    n = 0
    pos = 0
    last = -1
    end = len(data)
    unpack = struct.unpack_from
    while pos + 61 <= end:
        length = unpack(">i", data, pos + 8)[0]
        n += unpack(">i", data, pos + 57)[0]
        last = pos
        pos += 12 + length
    if last < 0:
        return n, -1
    return n, unpack(">q", data, last)[0] + unpack(">i", data, last + 23)[0] + 1
