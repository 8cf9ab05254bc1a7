"""The ``Broker`` facade: topics, partition logs, produce/fetch, and the parts that own them.

Contract:

* A ``Broker`` lives on one asyncio loop. Every method that reads or changes topic,
  partition or group state is called on that loop; the synchronous ones do all their
  reading and writing with no ``await`` in between, so no other task sees half a change.
* ``produce`` takes the bytes a client sent (one or more RecordBatch v2), validates each
  batch's header and CRC32C, patches base offsets in place and appends them verbatim:
  records are never decoded on this path. ``fetch`` returns whole stored batches as-is.
* Appends wake long-polling fetchers (:meth:`wait_for_data`) at once.
* Refusals are :class:`core.errors.KafkaError` with Kafka's own error codes.
* Durability follows ``BrokerConfig.fsync`` (see core/config.py): with ``interval`` a
  background flusher fsyncs dirty logs off the loop, in a worker thread.
* The monitor reads the public state below (``topics``, ``connections``, ``counters``,
  ``events``, ``groups``) on the loop thread; :meth:`snapshot` builds a frozen copy.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import logging
import os
import re
import shutil
import struct
import time
import uuid
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from core.config import KNOWN_TOPIC_CONFIGS, BrokerConfig, LogConfig
from core.errors import ErrorCode, KafkaError
from core.log import PartitionLog
from core.meta import MetaStore
from core.records import BatchHeader, validate_batches

log = logging.getLogger(__name__)

MAX_PARTITIONS_PER_TOPIC = 10_000
# How many recent batches per (producer, partition) are remembered to spot duplicates
# (Kafka keeps 5: a producer has at most 5 requests in flight).
PRODUCER_BATCH_CACHE = 5
_TOPIC_NAME_RE = re.compile(r"^[a-zA-Z0-9._-]+$")
_BATCH_HEAD = struct.Struct(">qi")


def validate_topic_name(name: str | None) -> str | None:
    """Kafka's topic-name rules. None when valid, else the reason (for errors and forms)."""
    if not name:
        return "Topic name must not be empty"
    if name in (".", ".."):
        return f"Topic name cannot be '{name}'"
    if len(name) > 249:
        return f"Topic name is {len(name)} characters long; the limit is 249"
    if not _TOPIC_NAME_RE.match(name):
        bad = sorted({c for c in name if not re.match(r"[a-zA-Z0-9._-]", c)})
        return (
            "Topic name may contain only ASCII letters, digits, '.', '_' and '-'"
            f" (found {''.join(bad)!r})"
        )
    return None


@dataclass(slots=True)
class ProducerState:
    """Idempotence bookkeeping for one producer id on one partition."""

    epoch: int
    # (first sequence, last sequence, base offset) of the last few batches, oldest first.
    batches: deque = field(default_factory=lambda: deque(maxlen=PRODUCER_BATCH_CACHE))


@dataclass(slots=True)
class Partition:
    topic: str
    index: int
    log: PartitionLog
    records_in: int = 0
    bytes_in: int = 0
    batches_in: int = 0
    records_out: int = 0
    bytes_out: int = 0
    dirty: bool = False
    waiters: set[asyncio.Future] = field(default_factory=set)
    producers: dict[int, ProducerState] = field(default_factory=dict)


@dataclass(slots=True)
class Topic:
    name: str
    topic_id: uuid.UUID
    configs: dict[str, str]
    log_config: LogConfig
    partitions: list[Partition]
    created_at: int = 0


@dataclass(slots=True)
class BrokerCounters:
    records_in: int = 0
    bytes_in: int = 0
    batches_in: int = 0
    records_out: int = 0
    bytes_out: int = 0
    requests: int = 0
    connections_total: int = 0
    errors: int = 0


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


class Broker:
    def __init__(self, config: BrokerConfig | None = None) -> None:
        self.config = config or BrokerConfig()
        self.node_id = self.config.node_id
        self.data_dir = Path(self.config.data_dir)
        self.topics: dict[str, Topic] = {}
        self.connections: dict = {}
        # In-process clients by (negative) id; registered and removed on the loop.
        self.local_clients: dict[int, LocalClient] = {}
        self._local_serial = 0
        self.counters = BrokerCounters()
        self.events: deque[BrokerEvent] = deque(maxlen=2000)
        self.listener: tuple[str, int] | None = None
        self.started_at = 0.0
        self.cluster_id = ""
        self.meta: MetaStore | None = None
        self.groups: Any = None
        self._lock_fd: int | None = None
        self._tasks: list[asyncio.Task] = []
        self._closed = False
        self._flush_lock = asyncio.Lock()

    # --- lifecycle ------------------------------------------------------------------

    async def start(self) -> None:
        """Open the data dir (locked against a second broker), topics and logs."""
        self.data_dir.mkdir(parents=True, exist_ok=True)
        for leftover in self.data_dir.glob("*-delete"):
            shutil.rmtree(leftover, ignore_errors=True)  # deleted topics a crash left behind
        self._lock_fd = os.open(self.data_dir / ".lock", os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(self._lock_fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(self._lock_fd)
            self._lock_fd = None
            raise RuntimeError(f"data dir {self.data_dir} is in use by another broker") from None
        self.meta = MetaStore(self.data_dir / "meta.sqlite")
        self.cluster_id = self.meta.cluster_id
        for rec in self.meta.load_topics():
            log_config = self.config.log.with_topic_configs(rec.configs)
            topic = Topic(rec.name, rec.topic_id, dict(rec.configs), log_config, [], rec.created_at)
            for i in range(rec.partitions):
                topic.partitions.append(self._open_partition(topic, i))
            self.topics[rec.name] = topic
        from core.groups import GroupConfig, GroupCoordinator  # needs a built Broker

        self.groups = GroupCoordinator(self, self.meta, GroupConfig.from_broker(self.config))
        await self.groups.start()
        self.started_at = time.time()
        if self.config.fsync == "interval":
            self._spawn(self._flush_loop(), "flusher")
        self._spawn(self._retention_loop(), "retention")

    async def close(self) -> None:
        """Stop background work, flush and close every log, release the data dir."""
        if self._closed:
            return
        self._closed = True
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if self.groups is not None:
            await self.groups.close()
        async with self._flush_lock:
            for topic in self.topics.values():
                for p in topic.partitions:
                    self._wake(p)
                    p.log.flush()
                    p.log.close()
        if self.meta is not None:
            self.meta.close()
        if self._lock_fd is not None:
            os.close(self._lock_fd)
            self._lock_fd = None

    def _spawn(self, coro, name: str) -> None:
        task = asyncio.get_running_loop().create_task(coro, name=f"broker-{name}")
        task.add_done_callback(self._task_done)
        self._tasks.append(task)

    def _task_done(self, task: asyncio.Task) -> None:
        if not task.cancelled() and task.exception() is not None:
            log.error("broker task %s failed", task.get_name(), exc_info=task.exception())
            self.emit_event("error", f"{task.get_name()} failed: {task.exception()!r}")

    async def _flush_loop(self) -> None:
        interval = self.config.fsync_interval_ms / 1000
        while True:
            await asyncio.sleep(interval)
            await self.flush_dirty()

    async def flush_dirty(self) -> None:
        """fsync every log appended to since the last flush, in a worker thread."""
        async with self._flush_lock:
            dirty = [p for t in self.topics.values() for p in t.partitions if p.dirty]
            for p in dirty:
                p.dirty = False
            if dirty:
                await asyncio.to_thread(_flush_logs, [p.log for p in dirty])

    async def _retention_loop(self) -> None:
        while True:
            await asyncio.sleep(self.config.retention_check_ms / 1000)
            self.enforce_retention()

    def enforce_retention(self) -> int:
        """Delete whole old segments past each topic's retention; returns how many."""
        deleted = 0
        now = int(time.time() * 1000)
        for topic in self.topics.values():
            for p in topic.partitions:
                deleted += p.log.enforce_retention(now)
        return deleted

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

    # --- events ---------------------------------------------------------------------

    def emit_event(self, kind: str, message: str, **data: Any) -> None:
        self.events.append(BrokerEvent(time.time(), kind, message, data))

    # --- topics ---------------------------------------------------------------------

    def _partition_dir(self, topic: str, index: int) -> Path:
        return self.data_dir / f"{topic}-{index}"

    def _open_partition(self, topic: Topic, index: int) -> Partition:
        plog = PartitionLog.open(
            self._partition_dir(topic.name, index), topic.log_config, topic=topic.name, partition=index
        )
        return Partition(topic.name, index, plog)

    def create_topic(
        self,
        name: str,
        partitions: int | None = None,
        configs: dict[str, str] | None = None,
        *,
        validate_only: bool = False,
    ) -> Topic | None:
        """Create a topic (Kafka's rules and errors); ``validate_only`` checks and returns None."""
        reason = validate_topic_name(name)
        if reason:
            raise KafkaError(ErrorCode.INVALID_TOPIC_EXCEPTION, reason)
        if name in self.topics:
            raise KafkaError(ErrorCode.TOPIC_ALREADY_EXISTS, f"Topic '{name}' already exists.")
        if partitions is None or partitions == -1:
            partitions = self.config.default_partitions
        if not 1 <= partitions <= MAX_PARTITIONS_PER_TOPIC:
            raise KafkaError(
                ErrorCode.INVALID_PARTITIONS,
                f"Number of partitions must be between 1 and {MAX_PARTITIONS_PER_TOPIC}.",
            )
        configs = {k: v for k, v in (configs or {}).items() if v is not None}
        log_config = self._log_config_for(configs)
        if validate_only:
            return None
        topic_id = uuid.uuid4()
        rec = self.meta.create_topic(name, topic_id, partitions, configs)
        topic = Topic(name, topic_id, configs, log_config, [], rec.created_at)
        for i in range(partitions):
            # A leftover dir of a deleted topic with the same name must not come back.
            stale = self._partition_dir(name, i)
            if stale.exists():
                _discard_dir(stale)
            topic.partitions.append(self._open_partition(topic, i))
        self.topics[name] = topic
        noun = "partition" if partitions == 1 else "partitions"
        self.emit_event("topic_created", f"Topic {name} created with {partitions} {noun}",
                        topic=name, partitions=partitions)
        return topic

    def _log_config_for(self, configs: dict[str, str]) -> LogConfig:
        for key in configs:
            if key not in KNOWN_TOPIC_CONFIGS:
                raise KafkaError(ErrorCode.INVALID_CONFIG, f"Unknown topic config name: {key}")
        try:
            return self.config.log.with_topic_configs(configs)
        except ValueError as exc:
            raise KafkaError(ErrorCode.INVALID_CONFIG, str(exc)) from None

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
        """The topic, auto-created when the broker allows it (Metadata / Produce)."""
        topic = self.topics.get(name)
        if topic is not None:
            return topic
        if not self.config.auto_create_topics:
            return self.get_topic(name)
        return self.create_topic(name)

    def delete_topic(self, name: str) -> None:
        topic = self.get_topic(name)
        del self.topics[name]
        self.meta.delete_topic(name)
        for p in topic.partitions:
            p.dirty = False
            self._wake(p)
            p.log.close(flush=False)  # about to be deleted: no fsync on the loop
            _discard_dir(p.log.directory)
        if hasattr(self.groups, "on_topic_deleted"):
            self.groups.on_topic_deleted(name)
        self.emit_event("topic_deleted", f"Topic {name} deleted", topic=name)

    def add_partitions(self, name: str, total: int, *, validate_only: bool = False) -> None:
        topic = self.get_topic(name)
        current = len(topic.partitions)
        if total <= current:
            raise KafkaError(
                ErrorCode.INVALID_PARTITIONS,
                f"Topic currently has {current} partitions, which is higher than or equal"
                f" to the requested {total}.",
            )
        if total > MAX_PARTITIONS_PER_TOPIC:
            raise KafkaError(
                ErrorCode.INVALID_PARTITIONS,
                f"Number of partitions must be at most {MAX_PARTITIONS_PER_TOPIC}.",
            )
        if validate_only:
            return
        self.meta.set_partitions(name, total)
        for i in range(current, total):
            stale = self._partition_dir(name, i)
            if stale.exists():
                _discard_dir(stale)
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
        topic.log_config = log_config
        for p in topic.partitions:
            p.log.config = log_config
        self.emit_event("topic_configs_changed", f"Topic {name} configs changed", topic=name)

    def topic_config_values(self, name: str) -> dict[str, tuple[str, bool]]:
        """Every effective config of a topic: name -> (value, is_default)."""
        topic = self.get_topic(name)
        values = topic.log_config.as_topic_configs()
        return {k: (v, k not in topic.configs) for k, v in values.items()}

    # --- produce / fetch ------------------------------------------------------------

    def partition(self, topic: str, index: int) -> Partition:
        t = self.topics.get(topic)
        if t is None or not 0 <= index < len(t.partitions):
            raise KafkaError(
                ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
                f"This server does not host {topic}-{index}",
            )
        return t.partitions[index]

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
        dup = self._check_sequences(p, headers)
        if dup is not None:
            return dup, plog.log_start_offset
        # Patched in place: a bytearray or a writable memoryview (the server hands over
        # each frame's own buffer) is used as is; read-only bytes are copied once.
        if isinstance(data, bytearray) or (isinstance(data, memoryview) and not data.readonly):
            buf = data
        else:
            buf = bytearray(data)
        base, _last = plog.append(buf, headers)
        self._record_sequences(p, headers, base)
        n_records = 0
        for h in headers:
            n_records += h.last_offset_delta + 1
        size = len(buf)
        p.records_in += n_records
        p.bytes_in += size
        p.batches_in += len(headers)
        c = self.counters
        c.records_in += n_records
        c.bytes_in += size
        c.batches_in += len(headers)
        if plog.config.fsync == "interval":
            p.dirty = True
        if p.waiters:
            self._wake(p)
        return base, plog.log_start_offset

    def _check_sequences(self, p: Partition, headers: list[BatchHeader]) -> int | None:
        """Kafka's idempotence rules; the original base offset for a duplicate, else None."""
        for h in headers:
            if h.producer_id < 0 or h.base_sequence < 0:
                continue
            state = p.producers.get(h.producer_id)
            if state is None:
                continue  # unknown producer (e.g. after a restart): accept any sequence
            if h.producer_epoch < state.epoch:
                raise KafkaError(
                    ErrorCode.INVALID_PRODUCER_EPOCH,
                    f"Producer epoch {h.producer_epoch} is older than {state.epoch}",
                )
            if h.producer_epoch > state.epoch:
                if h.base_sequence != 0:
                    raise KafkaError(
                        ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER,
                        f"New epoch {h.producer_epoch} must start at sequence 0",
                    )
                continue
            last_seq = h.base_sequence + h.last_offset_delta
            for first, last, base in state.batches:
                if first == h.base_sequence and last == last_seq:
                    if len(headers) == 1:
                        return base
                    raise KafkaError(ErrorCode.DUPLICATE_SEQUENCE_NUMBER)
            expected = (state.batches[-1][1] + 1) & 0x7FFFFFFF if state.batches else None
            if expected is not None and h.base_sequence != expected:
                raise KafkaError(
                    ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER,
                    f"Expected sequence {expected}, got {h.base_sequence}",
                )
        return None

    def _record_sequences(self, p: Partition, headers: list[BatchHeader], base: int) -> None:
        offset = base
        for h in headers:
            if h.producer_id >= 0 and h.base_sequence >= 0:
                state = p.producers.get(h.producer_id)
                if state is None or h.producer_epoch > state.epoch:
                    state = p.producers[h.producer_id] = ProducerState(h.producer_epoch)
                state.batches.append(
                    (h.base_sequence, h.base_sequence + h.last_offset_delta, offset)
                )
            offset += h.last_offset_delta + 1

    def fetch(self, topic: str, index: int, offset: int, max_bytes: int) -> FetchResult:
        """Whole batches from the one containing ``offset`` (at least one if any exist)."""
        p = self.partition(topic, index)
        plog = p.log
        data = plog.read(offset, max_bytes)
        if data:
            records = _count_records(data)
            p.records_out += records
            p.bytes_out += len(data)
            self.counters.records_out += records
            self.counters.bytes_out += len(data)
        return FetchResult(data, plog.log_end_offset, plog.log_start_offset)

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
        low = p.log.delete_records(before_offset)
        self.emit_event("records_deleted", f"{topic}-{index} log start moved to {low}",
                        topic=topic, partition=index, log_start_offset=low)
        return low

    def allocate_producer_id(self) -> int:
        return self.meta.allocate_producer_id()

    # --- monitor --------------------------------------------------------------------

    def snapshot(self):
        """A frozen snapshot of the whole broker (see core/monitor)."""
        from core.monitor import build_snapshot

        return build_snapshot(self)


def _resolve(fut: asyncio.Future) -> None:
    if not fut.done():
        fut.set_result(None)


def _count_records(data: bytes) -> int:
    """Records in a run of stored batches, from each header's lastOffsetDelta (no decoding)."""
    n = 0
    pos = 0
    end = len(data)
    unpack = struct.unpack_from
    while pos + 27 <= end:
        length = unpack(">i", data, pos + 8)[0]
        n += unpack(">i", data, pos + 23)[0] + 1
        pos += 12 + length
    return n


def _flush_logs(logs: list[PartitionLog]) -> None:
    for plog in logs:
        try:
            plog.flush()
        except (OSError, ValueError):
            # A log closed or deleted meanwhile has nothing left to flush.
            pass


def _discard_dir(path: Path) -> None:
    """Remove a partition dir: renamed aside at once, deleted in the background."""
    if not path.exists():
        return
    aside = path.with_name(f"{path.name}.{uuid.uuid4().hex}-delete")
    try:
        path.rename(aside)
    except OSError:
        aside = path
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:
        shutil.rmtree(aside, ignore_errors=True)
    else:
        loop.run_in_executor(None, shutil.rmtree, aside, True)
