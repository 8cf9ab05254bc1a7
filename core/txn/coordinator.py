"""The transaction coordinator (KIP-98, KIP-360, KIP-447): transactional ids, producer
epochs, transaction state, markers, timeouts, recovery.

Contract:

* One :class:`TransactionCoordinator` per node, on the broker's loop; every state change
  happens on the loop. It awaits only store writes (SQLite, off the loop) and the
  durability of what it appended, and while it waits the transaction is in a
  ``Prepare*`` state, in which every other request for that id is answered
  CONCURRENT_TRANSACTIONS (clients retry).
* States are Kafka's: Empty, Ongoing, PrepareCommit, PrepareAbort, CompleteCommit,
  CompleteAbort. AddPartitionsToTxn / AddOffsetsToTxn start a transaction (Ongoing);
  EndTxn writes the decision (PrepareCommit / PrepareAbort) to the store and waits for
  it; on commit it stores the offsets committed inside the transaction (TxnOffsetCommit)
  in their groups (invisible to OffsetFetch until then, discarded on abort; stored once
  the data below them is durable, as OffsetCommit's are); then it appends a marker
  (``core.idempotence.control_batch``) to every partition of the transaction, waits
  (fsync "always") for the markers to be durable, and ends in Complete* (stored without
  waiting: a restart that finds the decision writes the markers again, harmlessly). A
  marker refused by a storage error is retried every :data:`MARKER_RETRY_S`: the
  transaction stays Prepare* until every marker is written (EndTxn has its answer once
  the decision is stored), so a commit is never turned into an abort. A restart
  (:meth:`start`) finds the stored state: a decided transaction is completed, an open
  one is aborted with the producer's epoch bumped (it is fenced).
* InitProducerId with a transactional id: the first call allocates a producer id (epoch
  0); a later one bumps the epoch (fencing the older producer: its requests get
  PRODUCER_FENCED, its batches INVALID_PRODUCER_EPOCH once the abort marker carried the
  new epoch) and aborts the transaction it left open. With the producer id and epoch of
  KIP-360 (v3+) the pair must be the current one. At the top of the epoch range a new
  producer id is given with epoch 0.
* :meth:`TransactionCoordinator.verify_transactional` is what the broker asks before it appends
  a transactional batch (``core.ports.TxnVerifier``): the producer id and epoch must hold
  an Ongoing transaction that includes the partition. After recovery, :meth:`start`
  aborts any transaction a partition's log still holds open that no stored transaction
  accounts for (a "hanging" one), so no last stable offset stays stuck.
* ``transaction.timeout.ms``: an Ongoing transaction older than its timeout is aborted
  with the epoch bumped (a producer that went away is fenced), by a timer on the injected
  :class:`~core.groups.clock.Clock` (``ManualClock`` in tests). Timeouts above
  :data:`MAX_TRANSACTION_TIMEOUT_MS` (Kafka's ``transaction.max.timeout.ms``) or below 1
  are INVALID_TRANSACTION_TIMEOUT.
* Errors answered here are the current ones (PRODUCER_FENCED for an older epoch); the
  API modules map them to what each request version knows (INVALID_PRODUCER_EPOCH before
  KIP-588's versions).
* Bounds: at most :data:`MAX_TRANSACTIONAL_IDS` ids are kept (past that the least
  recently used id with no open transaction is forgotten, as Kafka expires idle ids);
  a transaction holds at most :data:`MAX_TXN_GROUPS` groups; partitions must exist, so
  they are bounded by the broker's.
* Broker events (kind ``"transaction"``) tell only what the client did not ask for: an
  abort after a timeout, by a new producer with the same id, or a restart's completion.
  A client's own commits and aborts are not events (they would flood the bounded log).
* :attr:`transactions` is read by the monitor on the loop (``TxnMeta``, live objects).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Coroutine, Iterable
from concurrent.futures import Future
from dataclasses import dataclass, field, replace
from typing import Any

from streamscope.core.broker import Broker
from streamscope.core.errors import ErrorCode, KafkaError
from streamscope.core.groups import GroupCoordinator
from streamscope.core.groups.clock import Clock, LoopClock, Timer
from streamscope.core.idempotence import ABORT, COMMIT
from streamscope.core.meta import CommittedOffset, MetaStore, TransactionRecord

log = logging.getLogger(__name__)

__all__ = [
    "EMPTY", "ONGOING", "PREPARE_COMMIT", "PREPARE_ABORT", "COMPLETE_COMMIT",
    "COMPLETE_ABORT", "STATES", "TransactionCoordinator", "TxnMeta",
    "MAX_TRANSACTION_TIMEOUT_MS", "MAX_TRANSACTIONAL_IDS", "MAX_TXN_GROUPS",
]

EMPTY = "Empty"
ONGOING = "Ongoing"
PREPARE_COMMIT = "PrepareCommit"
PREPARE_ABORT = "PrepareAbort"
COMPLETE_COMMIT = "CompleteCommit"
COMPLETE_ABORT = "CompleteAbort"
STATES = (EMPTY, ONGOING, PREPARE_COMMIT, PREPARE_ABORT, COMPLETE_COMMIT, COMPLETE_ABORT)
_PREPARING = (PREPARE_COMMIT, PREPARE_ABORT)
_IDLE = (EMPTY, COMPLETE_COMMIT, COMPLETE_ABORT)

# Kafka's transaction.max.timeout.ms default (15 minutes).
MAX_TRANSACTION_TIMEOUT_MS = 900_000
MAX_TRANSACTIONAL_IDS = 10_000
MAX_TXN_GROUPS = 100
_MAX_EPOCH = 32767
# A marker that could not be written (a storage error) is tried again this much later.
MARKER_RETRY_S = 1.0

TopicPartition = tuple[str, int]


@dataclass(slots=True)
class TxnMeta:
    """One transactional id's state (what the store keeps, plus its timer)."""

    transactional_id: str
    producer_id: int
    producer_epoch: int
    timeout_ms: int
    state: str = EMPTY
    partitions: set[TopicPartition] = field(default_factory=set)
    groups: set[str] = field(default_factory=set)
    # group -> (topic, partition) -> offset committed inside the open transaction.
    pending: dict[str, dict[TopicPartition, CommittedOffset]] = field(default_factory=dict)
    start_ms: int = -1  # wall clock, when the open transaction began
    updated_ms: int = 0
    started_at: float = 0.0  # the clock's monotonic time the transaction began
    timer: Timer | None = None

    def record(self) -> TransactionRecord:
        return TransactionRecord(
            self.transactional_id, self.producer_id, self.producer_epoch, self.timeout_ms,
            self.state, tuple(sorted(self.partitions)), tuple(sorted(self.groups)),
            {g: tuple(offs.values()) for g, offs in self.pending.items()},
            self.start_ms, self.updated_ms)


class TransactionCoordinator:
    """Transactional ids and their transactions (module docstring)."""

    def __init__(self, broker: Broker, groups: GroupCoordinator, store: MetaStore,
                 *, clock: Clock | None = None) -> None:
        self.broker = broker
        self.groups = groups
        self.store = store
        self._clock = clock
        self.transactions: dict[str, TxnMeta] = {}
        # producer id -> its transactional id's state (the broker's check per batch).
        self._by_pid: dict[int, TxnMeta] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._closed = False
        self.aborted_by_timeout = 0  # counted for the monitor and tests

    @property
    def clock(self) -> Clock:
        if self._clock is None:
            self._clock = LoopClock(asyncio.get_running_loop())
        return self._clock

    # --- lifecycle ----------------------------------------------------------------------

    async def start(self) -> None:
        """Load the stored transactions; complete decided ones, abort open ones; then
        abort what a partition still holds open that no transaction accounts for."""
        for rec in self.store.load_transactions():
            meta = TxnMeta(
                rec.transactional_id, rec.producer_id, rec.producer_epoch, rec.timeout_ms,
                rec.state, set(rec.partitions), set(rec.groups),
                {g: {(o.topic, o.partition): o for o in offs}
                 for g, offs in rec.pending_offsets.items()},
                rec.start_ms, rec.updated_ms)
            self.transactions[meta.transactional_id] = meta
            self._by_pid[meta.producer_id] = meta
        for meta in list(self.transactions.values()):
            if meta.state == ONGOING:
                log.warning("transaction %s was open at shutdown: aborting it",
                            meta.transactional_id)
                self._bump_epoch(meta)
                await self._end(meta, commit=False, why="after a restart (it was open)")
            elif meta.state in _PREPARING:
                log.warning("completing transaction %s (%s) left at shutdown",
                            meta.transactional_id, meta.state)
                await self._end(meta, commit=meta.state == PREPARE_COMMIT,
                                why="after a restart (it was decided)")
        self._abort_hanging()

    def _abort_hanging(self) -> None:
        """An open transaction in a partition's log that no stored transaction includes
        (its state was lost) would hold the last stable offset forever: aborted."""
        # Markers still being retried (a storage error) are not hanging: they are decided.
        deciding = {(m.producer_id, tp) for m in self.transactions.values()
                    if m.state in _PREPARING for tp in m.partitions}
        for topic in self.broker.topics.values():
            for part in topic.partitions:
                for pid in list(part.txns.ongoing):
                    if (pid, (part.topic, part.index)) in deciding:
                        continue
                    state = part.producers.get(pid)
                    epoch = state.epoch if state is not None else 0
                    log.warning("aborting a hanging transaction of producer %d on %s-%d",
                                pid, part.topic, part.index)
                    try:
                        self.broker.write_marker(part.topic, part.index, pid, epoch, ABORT)
                    except KafkaError as exc:
                        log.warning("could not abort it: %s", exc.message or exc.code.name)

    def verify_transactional(self, producer_id: int, producer_epoch: int, topic: str,
                             partition: int) -> ErrorCode:
        """NONE if the producer's open transaction includes the partition (the broker
        asks before it appends a transactional batch; core.ports.TxnVerifier); an older
        epoch than the id's is INVALID_PRODUCER_EPOCH (fenced), else INVALID_TXN_STATE."""
        meta = self._by_pid.get(producer_id)
        if meta is not None and producer_epoch < meta.producer_epoch:
            return ErrorCode.INVALID_PRODUCER_EPOCH
        if (meta is not None and meta.state == ONGOING
                and meta.producer_epoch == producer_epoch
                and (topic, partition) in meta.partitions):
            return ErrorCode.NONE
        return ErrorCode.INVALID_TXN_STATE

    async def close(self) -> None:
        """Stop every timer and task (a transaction being ended stays in its Prepare
        state in the store, completed by the next start)."""
        self._closed = True
        for meta in self.transactions.values():
            self._disarm(meta)
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def settle(self) -> None:
        """Wait for the timeout aborts under way (tests step a ManualClock, then this)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    # --- InitProducerId -------------------------------------------------------------

    async def init_producer_id(self, transactional_id: str, timeout_ms: int,
                               producer_id: int = -1, producer_epoch: int = -1,
                               ) -> tuple[ErrorCode, int, int]:
        """(error, producer id, epoch) for a transactional producer starting up."""
        if not transactional_id:
            return ErrorCode.INVALID_REQUEST, -1, -1
        if not 0 < timeout_ms <= MAX_TRANSACTION_TIMEOUT_MS:
            return ErrorCode.INVALID_TRANSACTION_TIMEOUT, -1, -1
        if self._closed:
            return ErrorCode.COORDINATOR_NOT_AVAILABLE, -1, -1
        meta = self.transactions.get(transactional_id)
        if meta is None:
            if not self._make_room():
                return ErrorCode.COORDINATOR_NOT_AVAILABLE, -1, -1
            meta = TxnMeta(transactional_id, self.broker.allocate_producer_id(), 0, timeout_ms)
            meta.updated_ms = self._wall_ms()
            self.transactions[transactional_id] = meta
            self._by_pid[meta.producer_id] = meta
            await self._save(meta)
            return ErrorCode.NONE, meta.producer_id, meta.producer_epoch
        if meta.state in _PREPARING:
            return ErrorCode.CONCURRENT_TRANSACTIONS, -1, -1
        if producer_id >= 0 and (producer_id, producer_epoch) != (
                meta.producer_id, meta.producer_epoch):
            return ErrorCode.PRODUCER_FENCED, -1, -1
        meta.timeout_ms = timeout_ms
        if meta.state == ONGOING:
            # A new instance of the producer: the old one's transaction is aborted and
            # the old one fenced (the markers carry the new epoch).
            self._bump_epoch(meta)
            await self._end(meta, commit=False,
                            why="by a new producer with its id (the old one is fenced)")
        else:
            self._bump_epoch(meta)
            meta.state = EMPTY
            meta.updated_ms = self._wall_ms()
            await self._save(meta)
        return ErrorCode.NONE, meta.producer_id, meta.producer_epoch

    def _bump_epoch(self, meta: TxnMeta) -> None:
        if meta.producer_epoch + 1 >= _MAX_EPOCH and meta.state != ONGOING:
            self._by_pid.pop(meta.producer_id, None)
            meta.producer_id = self.broker.allocate_producer_id()
            meta.producer_epoch = 0
            self._by_pid[meta.producer_id] = meta
        elif meta.producer_epoch + 1 < _MAX_EPOCH:
            meta.producer_epoch += 1
        # else: an open transaction at the top of the range is aborted at its epoch;
        # the next InitProducerId gives a new producer id.

    def _make_room(self) -> bool:
        """Room for one more transactional id (forgetting the least recently used idle
        one when full); False when every id kept has a transaction in progress."""
        if len(self.transactions) < MAX_TRANSACTIONAL_IDS:
            return True
        idle = [m for m in self.transactions.values() if m.state in _IDLE]
        if not idle:
            log.warning("%d transactional ids are all in a transaction: refusing a new one",
                        len(self.transactions))
            return False
        oldest = min(idle, key=lambda m: m.updated_ms)
        del self.transactions[oldest.transactional_id]
        self._by_pid.pop(oldest.producer_id, None)
        self.store.delete_transaction(oldest.transactional_id)
        return True

    # --- checks -------------------------------------------------------------------------

    def _check(self, transactional_id: str, producer_id: int,
               producer_epoch: int) -> tuple[ErrorCode, TxnMeta | None]:
        if self._closed:
            return ErrorCode.COORDINATOR_NOT_AVAILABLE, None
        meta = self.transactions.get(transactional_id)
        if meta is None or meta.producer_id != producer_id:
            return ErrorCode.INVALID_PRODUCER_ID_MAPPING, None
        if producer_epoch < meta.producer_epoch:
            return ErrorCode.PRODUCER_FENCED, None
        if producer_epoch != meta.producer_epoch:
            return ErrorCode.INVALID_PRODUCER_EPOCH, None
        if meta.state in _PREPARING:
            return ErrorCode.CONCURRENT_TRANSACTIONS, None
        return ErrorCode.NONE, meta

    def _begin(self, meta: TxnMeta) -> None:
        """An idle transactional id starts a transaction now (its timeout starts)."""
        if meta.state == ONGOING:
            return
        meta.state = ONGOING
        meta.partitions.clear()
        meta.groups.clear()
        meta.pending.clear()
        meta.start_ms = self._wall_ms()
        meta.started_at = self.clock.time()
        self._disarm(meta)
        meta.timer = self.clock.call_later(
            meta.timeout_ms / 1000, self._timed_out, meta.transactional_id, meta.started_at)

    # --- AddPartitionsToTxn / AddOffsetsToTxn / TxnOffsetCommit ----------------------------

    async def add_partitions(self, transactional_id: str, producer_id: int,
                             producer_epoch: int, partitions: Iterable[TopicPartition],
                             ) -> dict[TopicPartition, ErrorCode]:
        """Add partitions to the producer's transaction (starting one if idle)."""
        partitions = list(dict.fromkeys(partitions))
        error, meta = self._check(transactional_id, producer_id, producer_epoch)
        if meta is None:
            return dict.fromkeys(partitions, error)
        unknown = [tp for tp in partitions
                   if not 0 <= tp[1] < (self.broker.topic_partition_count(tp[0]) or 0)]
        if unknown:
            out = dict.fromkeys(partitions, ErrorCode.OPERATION_NOT_ATTEMPTED)
            out.update(dict.fromkeys(unknown, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION))
            return out
        new = [tp for tp in partitions if tp not in meta.partitions]
        if meta.state != ONGOING or new:
            self._begin(meta)
            meta.partitions.update(partitions)
            meta.updated_ms = self._wall_ms()
            # Answered once stored: a restart then knows every partition that may hold
            # this transaction's records, and aborts or completes it there.
            await self._save(meta)
        return dict.fromkeys(partitions, ErrorCode.NONE)

    async def add_offsets(self, transactional_id: str, producer_id: int,
                          producer_epoch: int, group_id: str) -> ErrorCode:
        """The group's offsets will be committed inside the producer's transaction."""
        error, meta = self._check(transactional_id, producer_id, producer_epoch)
        if meta is None:
            return error
        if not group_id:
            return ErrorCode.INVALID_GROUP_ID
        if group_id in meta.groups and meta.state == ONGOING:
            return ErrorCode.NONE
        if meta.state == ONGOING and len(meta.groups) >= MAX_TXN_GROUPS:
            return ErrorCode.POLICY_VIOLATION
        self._begin(meta)
        meta.groups.add(group_id)
        meta.updated_ms = self._wall_ms()
        await self._save(meta)
        return ErrorCode.NONE

    async def txn_offset_commit(
        self, transactional_id: str, group_id: str, producer_id: int, producer_epoch: int,
        offsets: list[CommittedOffset], *, member_id: str = "", generation_id: int = -1,
        group_instance_id: str | None = None,
    ) -> dict[TopicPartition, ErrorCode]:
        """Offsets committed inside the transaction: pending until it ends."""
        tps = [(o.topic, o.partition) for o in offsets]
        error, meta = self._check(transactional_id, producer_id, producer_epoch)
        if meta is None:
            return dict.fromkeys(tps, error)
        if meta.state != ONGOING or group_id not in meta.groups:
            return dict.fromkeys(tps, ErrorCode.INVALID_TXN_STATE)
        error = self.groups.txn_commit_check(group_id, member_id, generation_id,
                                             group_instance_id)
        if error != ErrorCode.NONE:
            return dict.fromkeys(tps, error)
        now = self._wall_ms()
        out: dict[TopicPartition, ErrorCode] = {}
        pending = meta.pending.setdefault(group_id, {})
        for o in offsets:
            tp = (o.topic, o.partition)
            if not 0 <= o.partition < (self.broker.topic_partition_count(o.topic) or 0):
                out[tp] = ErrorCode.UNKNOWN_TOPIC_OR_PARTITION
            elif o.metadata is not None and len(o.metadata) > 4096:
                out[tp] = ErrorCode.OFFSET_METADATA_TOO_LARGE
            else:
                out[tp] = ErrorCode.NONE
                pending[tp] = replace(o, metadata=o.metadata or "", commit_timestamp=now)
        meta.updated_ms = now
        await self._save(meta)
        return out

    def pending_offsets(self, group_id: str) -> set[TopicPartition]:
        """Partitions with offsets of ``group_id`` waiting in an open transaction
        (OffsetFetch with require_stable answers UNSTABLE_OFFSET_COMMIT for them)."""
        out: set[TopicPartition] = set()
        for meta in self.transactions.values():
            offs = meta.pending.get(group_id)
            if offs:
                out.update(offs)
        return out

    # --- EndTxn -------------------------------------------------------------------------

    async def end_txn(self, transactional_id: str, producer_id: int, producer_epoch: int,
                      commit: bool) -> ErrorCode:
        error, meta = self._check(transactional_id, producer_id, producer_epoch)
        if meta is None:
            return error
        if meta.state == ONGOING:
            await self._end(meta, commit=commit)
            return ErrorCode.NONE
        if (meta.state == COMPLETE_COMMIT and commit) or (
                meta.state == COMPLETE_ABORT and not commit):
            return ErrorCode.NONE  # a retry of the EndTxn that completed it
        return ErrorCode.INVALID_TXN_STATE

    async def _end(self, meta: TxnMeta, *, commit: bool, why: str | None = None) -> None:
        """Decide, store offsets (commit), write markers, complete (module docstring);
        ``why`` (not the client's own EndTxn) is told as a broker event."""
        self._disarm(meta)
        meta.state = PREPARE_COMMIT if commit else PREPARE_ABORT
        meta.updated_ms = self._wall_ms()
        await self._save(meta)  # the decision is durable before any marker
        if commit:
            for group_id, offs in meta.pending.items():
                try:
                    # As OffsetCommit: a stored offset never points past durable data.
                    await self.broker.make_durable(
                        (o.topic, o.partition, o.offset) for o in offs.values())
                except KafkaError as exc:
                    log.warning("offsets of %s for group %s stored before their data is "
                                "durable: %s", meta.transactional_id, group_id, exc.message)
                await self.groups.store_txn_offsets(group_id, offs.values())
        await self._write_markers(meta, commit, why)

    async def _write_markers(self, meta: TxnMeta, commit: bool, why: str | None,
                             retry: bool = False) -> None:
        """Markers on every partition left in ``meta.partitions``; complete once all are
        written, else retry the rest (the state stays Prepare*, so the producer's next
        transaction waits: CONCURRENT_TRANSACTIONS) after :data:`MARKER_RETRY_S`."""
        kind = COMMIT if commit else ABORT
        written: list[tuple[str, int, int]] = []
        failed: set[TopicPartition] = set()
        for topic, index in sorted(meta.partitions):
            try:
                offset = self.broker.write_marker(
                    topic, index, meta.producer_id, meta.producer_epoch, kind)
            except KafkaError as exc:
                # Told once, not at every retry (an offline partition fails each time).
                (log.debug if retry else log.warning)(
                    "marker for %s on %s-%d not written: %s", meta.transactional_id, topic,
                    index, exc.message or exc.code.name)
                if exc.code != ErrorCode.UNKNOWN_TOPIC_OR_PARTITION:
                    failed.add((topic, index))  # a deleted topic holds nothing to mark
                continue
            written.append((topic, index, offset + 1))
        if written and self.broker.config.fsync == "always":
            # Answered once the markers are durable, as a produce is in this mode (with
            # interval fsync an answer never waits for a sync).
            try:
                await self.broker.make_durable(written)
            except KafkaError as exc:
                log.warning("markers of %s not durable yet: %s", meta.transactional_id,
                            exc.message)
        if failed:
            # Never completed with a marker missing: a restart would then take the
            # partition's records for a hanging transaction and abort them.
            meta.partitions = failed
            meta.pending.clear()  # stored already
            self._save_later(meta)
            if not self._closed:
                meta.timer = self.clock.call_later(
                    MARKER_RETRY_S, self._retry_markers, meta.transactional_id, meta.state,
                    why)
            return
        meta.state = COMPLETE_COMMIT if commit else COMPLETE_ABORT
        meta.partitions.clear()
        meta.groups.clear()
        meta.pending.clear()
        meta.start_ms = -1
        meta.updated_ms = self._wall_ms()
        # Not waited for: should it be lost, the restart finds the decision and writes the
        # markers again (a second marker for an ended transaction changes nothing).
        self._save_later(meta)
        if why is not None:
            # Only what a user must notice: a client's own commits and aborts would
            # flood the bounded event log at hundreds per second.
            self.broker.emit_event(
                "transaction", f"Transaction {meta.transactional_id} "
                f"{'committed' if commit else 'aborted'} {why}",
                transactional_id=meta.transactional_id, committed=commit)

    def _retry_markers(self, transactional_id: str, state: str, why: str | None) -> None:
        meta = self.transactions.get(transactional_id)
        if meta is None or meta.state != state or self._closed:
            return
        meta.timer = None
        self._spawn(self._write_markers(meta, state == PREPARE_COMMIT, why, retry=True),
                    f"txn-markers-{transactional_id}")

    # --- timeouts -----------------------------------------------------------------------

    def _disarm(self, meta: TxnMeta) -> None:
        if meta.timer is not None:
            meta.timer.cancel()
            meta.timer = None

    def _timed_out(self, transactional_id: str, started_at: float) -> None:
        meta = self.transactions.get(transactional_id)
        if (meta is None or meta.state != ONGOING or meta.started_at != started_at
                or self._closed):
            return
        meta.timer = None
        self._spawn(self._abort_timed_out(meta), f"txn-timeout-{transactional_id}")

    def _spawn(self, coro: Coroutine[Any, Any, None], name: str) -> None:
        task = asyncio.get_running_loop().create_task(coro, name=name)
        self._tasks.add(task)
        task.add_done_callback(self._task_done)

    async def _abort_timed_out(self, meta: TxnMeta) -> None:
        log.info("transaction %s timed out after %d ms: aborting it",
                 meta.transactional_id, meta.timeout_ms)
        self.aborted_by_timeout += 1
        self._bump_epoch(meta)  # the producer that went away is fenced
        await self._end(meta, commit=False,
                        why=f"after its timeout ({meta.timeout_ms} ms)")

    def _task_done(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("transaction task %s failed", task.get_name(), exc_info=task.exception())

    # --- admin --------------------------------------------------------------------------

    def age_ms(self, transactional_id: str) -> int:
        """How long the id's open transaction has run (0 when none is open)."""
        meta = self.transactions.get(transactional_id)
        if meta is None or meta.state != ONGOING:
            return 0
        return max(0, int((self.clock.time() - meta.started_at) * 1000))

    # --- helpers ------------------------------------------------------------------------

    def _wall_ms(self) -> int:
        return int(self.clock.wall() * 1000)

    async def _save(self, meta: TxnMeta) -> None:
        await asyncio.wrap_future(self.store.save_transaction(meta.record()))

    def _save_later(self, meta: TxnMeta) -> None:
        fut = self.store.save_transaction(meta.record())
        fut.add_done_callback(_log_failure)


def _log_failure(fut: Future[None]) -> None:
    if not fut.cancelled() and fut.exception() is not None:
        log.error("storing a transaction's outcome failed: %s", fut.exception())
