"""``MetaStore``: the SQLite store behind topics, configs and committed offsets.

Contract:

* Writes never run on the caller's thread (the broker's loop): each write method queues
  its statement for one store-writer thread and returns a
  :class:`concurrent.futures.Future` resolved once the write is durable (SQLite
  ``synchronous=FULL``); ``await asyncio.wrap_future(f)`` where the answer must wait
  (OffsetCommit), ignore it where it need not (the broker's in-memory state is the truth
  for reads; the store is what a restart loads). Writes land in the order they were
  queued; writes queued while one transaction commits share the next (group commit);
  a write that fails fails only its own future (and is logged).
* :meth:`MetaStore.close` waits for every queued write, then closes. :meth:`drain` waits
  without closing (tests, shutdown).
* Reads (``load_*``, :meth:`fetch_offsets`) are for start-up and tests; they run on the
  caller's thread under the connection's lock.
* :meth:`allocate_producer_id` hands out ids from a block reserved durably ahead
  (:data:`PRODUCER_ID_BLOCK` at a time): one synchronous write per block, so an id is
  never handed out twice, even after a crash.
* Dynamic broker configs (``broker_configs`` table, added with CREATE IF NOT EXISTS so
  an older store gains it on open): :meth:`load_broker_configs` at start-up,
  :meth:`set_broker_configs` replaces one scope's set (queued like every write).
* Transactions (``core.txn``): :meth:`save_transaction` queues one transactional id's
  whole state (a :class:`TransactionRecord`: producer id and epoch, state, partitions,
  groups, offsets committed inside the open transaction) as one row, replacing the
  last; :meth:`delete_transaction` forgets one; :meth:`load_transactions` reads them at
  start-up. The coordinator writes the decision (PrepareCommit / PrepareAbort) and waits
  for it before it writes any marker, so a restart completes what was decided.
* The schema is versioned by ``PRAGMA user_version`` so later releases can migrate it
  (the transactions and broker_configs tables were added without a version change:
  older releases ignore them, and ``CREATE TABLE IF NOT EXISTS`` adds them to older
  data dirs).
"""

from __future__ import annotations

import json
import logging
import sqlite3
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable, Iterable
from concurrent.futures import Future
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger(__name__)

# Producer ids reserved per durable write.
PRODUCER_ID_BLOCK = 1000
_Write = Callable[[sqlite3.Connection], None]

SCHEMA_VERSION = 1

_SCHEMA = """
CREATE TABLE IF NOT EXISTS cluster (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS topics (
    name TEXT PRIMARY KEY,
    topic_id TEXT NOT NULL UNIQUE,
    partitions INTEGER NOT NULL,
    configs TEXT NOT NULL,
    created_at INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS committed_offsets (
    group_id TEXT NOT NULL,
    topic TEXT NOT NULL,
    partition INTEGER NOT NULL,
    committed_offset INTEGER NOT NULL,
    leader_epoch INTEGER NOT NULL,
    metadata TEXT,
    commit_timestamp INTEGER NOT NULL,
    PRIMARY KEY (group_id, topic, partition)
);
CREATE TABLE IF NOT EXISTS broker_configs (
    scope TEXT NOT NULL,
    name TEXT NOT NULL,
    value TEXT NOT NULL,
    PRIMARY KEY (scope, name)
);
CREATE TABLE IF NOT EXISTS transactions (
    transactional_id TEXT PRIMARY KEY,
    producer_id INTEGER NOT NULL,
    producer_epoch INTEGER NOT NULL,
    timeout_ms INTEGER NOT NULL,
    state TEXT NOT NULL,
    partitions TEXT NOT NULL,
    groups TEXT NOT NULL,
    pending_offsets TEXT NOT NULL,
    start_ms INTEGER NOT NULL,
    updated_ms INTEGER NOT NULL
);
"""


@dataclass(frozen=True, slots=True)
class TopicRecord:
    name: str
    topic_id: uuid.UUID
    partitions: int
    configs: dict[str, str]
    created_at: int


@dataclass(frozen=True, slots=True)
class CommittedOffset:
    topic: str
    partition: int
    offset: int
    leader_epoch: int = -1
    metadata: str | None = ""
    commit_timestamp: int = 0


@dataclass(frozen=True, slots=True)
class TransactionRecord:
    """One transactional id's stored state (see ``core.txn.coordinator``)."""

    transactional_id: str
    producer_id: int
    producer_epoch: int
    timeout_ms: int
    state: str
    partitions: tuple[tuple[str, int], ...]
    groups: tuple[str, ...]
    # group -> offsets committed inside the open transaction (TxnOffsetCommit).
    pending_offsets: dict[str, tuple[CommittedOffset, ...]]
    start_ms: int
    updated_ms: int


class MetaStore:
    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        version = self._db.execute("PRAGMA user_version").fetchone()[0]
        if version > SCHEMA_VERSION:
            raise RuntimeError(
                f"{self.path} was written by a newer Streamscope (schema {version})"
            )
        self._db.executescript(_SCHEMA)
        self._db.execute(f"PRAGMA user_version={SCHEMA_VERSION}")
        row = self._db.execute("SELECT value FROM cluster WHERE key='cluster_id'").fetchone()
        if row is None:
            # Kafka cluster ids are 22-char url-safe base64 of a UUID.
            import base64

            cid = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
            self._db.execute("INSERT INTO cluster VALUES ('cluster_id', ?)", (cid,))
            row = (cid,)
        self.cluster_id: str = row[0]
        self._lock = threading.Lock()  # the connection: one user at a time
        self._cond = threading.Condition()
        self._queue: deque[tuple[_Write, Future[None]]] = deque()
        self._busy = False
        self._closed = False
        self._next_pid = 0
        self._reserved_pid = 0  # ids below this are durably reserved
        self.transactions = 0  # committed by the writer (tests, figures)
        self._writer = threading.Thread(target=self._run, name="streamscope-meta", daemon=True)
        self._writer.start()

    def close(self) -> None:
        """Wait for every queued write, stop the writer, close the database."""
        with self._cond:
            if self._closed:
                return
            self._closed = True
            self._cond.notify_all()
        self._writer.join()
        with self._lock:
            self._db.close()

    def drain(self) -> None:
        """Block until every write queued so far is done."""
        with self._cond:
            while self._queue or self._busy:
                self._cond.wait()

    def allocate_producer_id(self) -> int:
        """A producer id never handed out before by this data dir (InitProducerId)."""
        if self._next_pid >= self._reserved_pid:
            with self._lock, self._transaction():
                row = self._db.execute(
                    "SELECT value FROM cluster WHERE key='next_producer_id'"
                ).fetchone()
                pid = int(row[0]) if row else 1000
                self._db.execute(
                    "INSERT OR REPLACE INTO cluster VALUES ('next_producer_id', ?)",
                    (str(pid + PRODUCER_ID_BLOCK),),
                )
            self._next_pid = pid
            self._reserved_pid = pid + PRODUCER_ID_BLOCK
        pid = self._next_pid
        self._next_pid += 1
        return pid

    # --- the writer -------------------------------------------------------------------

    def _submit(self, write: _Write) -> Future[None]:
        fut: Future[None] = Future()
        with self._cond:
            if self._closed:
                fut.set_exception(RuntimeError(f"{self.path} is closed"))
                return fut
            self._queue.append((write, fut))
            self._cond.notify_all()
        return fut

    def _run(self) -> None:
        cond = self._cond
        while True:
            with cond:
                while not self._queue and not self._closed:
                    cond.wait()
                if not self._queue:
                    return
                batch = list(self._queue)
                self._queue.clear()
                self._busy = True
            try:
                self._write_batch(batch)
            finally:
                with cond:
                    self._busy = False
                    cond.notify_all()

    def _write_batch(self, batch: list[tuple[_Write, Future[None]]]) -> None:
        with self._lock:
            try:
                with self._transaction():
                    for write, _fut in batch:
                        write(self._db)
                self.transactions += 1
                failed: list[tuple[_Write, Future[None]]] = []
            except Exception:
                failed = batch  # one bad write: do them one by one, so only it fails
            for write, fut in failed:
                try:
                    with self._transaction():
                        write(self._db)
                    self.transactions += 1
                except Exception as exc:
                    log.error("meta store write failed: %s", exc)
                    fut.set_exception(exc)
        for _write, fut in batch:
            if not fut.done():
                fut.set_result(None)

    # --- topics -------------------------------------------------------------------

    def load_topics(self) -> list[TopicRecord]:
        with self._lock:
            rows = self._db.execute(
                "SELECT name, topic_id, partitions, configs, created_at FROM topics"
                " ORDER BY name"
            ).fetchall()
        return [
            TopicRecord(n, uuid.UUID(tid), p, json.loads(c), ts) for n, tid, p, c, ts in rows
        ]

    def create_topic(
        self, name: str, topic_id: uuid.UUID, partitions: int, configs: dict[str, str]
    ) -> TopicRecord:
        """The new topic's record at once; its row is written by the writer (queued)."""
        rec = self.create_topic_later(name, topic_id, partitions, configs)[0]
        return rec

    def create_topic_later(
        self, name: str, topic_id: uuid.UUID, partitions: int, configs: dict[str, str]
    ) -> tuple[TopicRecord, Future[None]]:
        """The new topic's record, and the future of its row's write."""
        now = int(time.time() * 1000)
        row = (name, str(topic_id), partitions, json.dumps(configs, sort_keys=True), now)
        fut = self._submit(lambda db: db.execute("INSERT INTO topics VALUES (?, ?, ?, ?, ?)", row))
        return TopicRecord(name, topic_id, partitions, dict(configs), now), fut

    def set_partitions(self, name: str, partitions: int) -> Future[None]:
        return self._submit(lambda db: db.execute(
            "UPDATE topics SET partitions=? WHERE name=?", (partitions, name)))

    def set_topic_configs(self, name: str, configs: dict[str, str]) -> Future[None]:
        text = json.dumps(configs, sort_keys=True)
        return self._submit(lambda db: db.execute(
            "UPDATE topics SET configs=? WHERE name=?", (text, name)))

    # --- dynamic broker configs (scope "": cluster-wide default; a node id: per broker) --

    def load_broker_configs(self) -> dict[str, dict[str, str]]:
        with self._lock:
            rows = self._db.execute(
                "SELECT scope, name, value FROM broker_configs ORDER BY scope, name").fetchall()
        out: dict[str, dict[str, str]] = {}
        for scope, name, value in rows:
            out.setdefault(scope, {})[name] = value
        return out

    def set_broker_configs(self, scope: str, configs: dict[str, str]) -> Future[None]:
        """Replace every dynamic config of ``scope`` (queued, like every write)."""
        rows = [(scope, k, v) for k, v in sorted(configs.items())]

        def write(db: sqlite3.Connection) -> None:
            db.execute("DELETE FROM broker_configs WHERE scope=?", (scope,))
            db.executemany("INSERT INTO broker_configs VALUES (?, ?, ?)", rows)
        return self._submit(write)

    def delete_topic(self, name: str) -> Future[None]:
        def write(db: sqlite3.Connection) -> None:
            db.execute("DELETE FROM topics WHERE name=?", (name,))
            db.execute("DELETE FROM committed_offsets WHERE topic=?", (name,))
        return self._submit(write)

    # --- committed offsets ----------------------------------------------------------

    def commit_offsets(self, group: str, offsets: Iterable[CommittedOffset]) -> Future[None]:
        rows = [
            (group, o.topic, o.partition, o.offset, o.leader_epoch, o.metadata, o.commit_timestamp)
            for o in offsets
        ]
        return self._submit(lambda db: db.executemany(
            "INSERT OR REPLACE INTO committed_offsets VALUES (?, ?, ?, ?, ?, ?, ?)", rows))

    def fetch_offsets(self, group: str) -> dict[tuple[str, int], CommittedOffset]:
        with self._lock:
            rows = self._db.execute(
                "SELECT topic, partition, committed_offset, leader_epoch, metadata,"
                " commit_timestamp FROM committed_offsets WHERE group_id=?",
                (group,),
            ).fetchall()
        return {(r[0], r[1]): CommittedOffset(*r) for r in rows}

    def load_all_offsets(self) -> dict[str, dict[tuple[str, int], CommittedOffset]]:
        out: dict[str, dict[tuple[str, int], CommittedOffset]] = {}
        with self._lock:
            rows = self._db.execute(
                "SELECT group_id, topic, partition, committed_offset, leader_epoch, metadata,"
                " commit_timestamp FROM committed_offsets"
            ).fetchall()
        for g, *r in rows:
            out.setdefault(g, {})[(r[0], r[1])] = CommittedOffset(*r)
        return out

    def delete_offsets(
        self, group: str, partitions: Iterable[tuple[str, int]] | None = None
    ) -> Future[None]:
        if partitions is None:
            return self._submit(lambda db: db.execute(
                "DELETE FROM committed_offsets WHERE group_id=?", (group,)))
        rows = [(group, t, p) for t, p in partitions]
        return self._submit(lambda db: db.executemany(
            "DELETE FROM committed_offsets WHERE group_id=? AND topic=? AND partition=?", rows))

    # --- transactions -----------------------------------------------------------------

    def save_transaction(self, rec: TransactionRecord) -> Future[None]:
        pending = {g: [[o.topic, o.partition, o.offset, o.leader_epoch, o.metadata,
                        o.commit_timestamp] for o in offs]
                   for g, offs in rec.pending_offsets.items()}
        row = (rec.transactional_id, rec.producer_id, rec.producer_epoch, rec.timeout_ms,
               rec.state, json.dumps([list(tp) for tp in rec.partitions]),
               json.dumps(list(rec.groups)), json.dumps(pending), rec.start_ms, rec.updated_ms)
        return self._submit(lambda db: db.execute(
            "INSERT OR REPLACE INTO transactions VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", row))

    def delete_transaction(self, transactional_id: str) -> Future[None]:
        return self._submit(lambda db: db.execute(
            "DELETE FROM transactions WHERE transactional_id=?", (transactional_id,)))

    def load_transactions(self) -> list[TransactionRecord]:
        with self._lock:
            rows = self._db.execute(
                "SELECT transactional_id, producer_id, producer_epoch, timeout_ms, state,"
                " partitions, groups, pending_offsets, start_ms, updated_ms"
                " FROM transactions ORDER BY transactional_id"
            ).fetchall()
        out = []
        for tid, pid, epoch, timeout, state, parts, groups, pending, start, updated in rows:
            offsets = {g: tuple(CommittedOffset(*o) for o in offs)
                       for g, offs in json.loads(pending).items()}
            out.append(TransactionRecord(
                tid, pid, epoch, timeout, state,
                tuple((t, p) for t, p in json.loads(parts)), tuple(json.loads(groups)),
                offsets, start, updated))
        return out

    def _transaction(self):
        return _Tx(self._db)


class _Tx:
    def __init__(self, db: sqlite3.Connection) -> None:
        self.db = db

    def __enter__(self) -> None:
        self.db.execute("BEGIN IMMEDIATE")

    def __exit__(self, exc_type, exc, tb) -> None:
        self.db.execute("COMMIT" if exc_type is None else "ROLLBACK")
