"""``MetaStore``: the SQLite store behind topics, configs and committed offsets.

Contract: calls are synchronous and made from one thread (the broker's loop); each
write is one transaction, durable when it returns. The schema is versioned by
``PRAGMA user_version`` so later releases can migrate it.
"""

from __future__ import annotations

import json
import sqlite3
import time
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

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

    def close(self) -> None:
        self._db.close()

    def allocate_producer_id(self) -> int:
        """A producer id never handed out before by this data dir (InitProducerId)."""
        with self._transaction():
            row = self._db.execute(
                "SELECT value FROM cluster WHERE key='next_producer_id'"
            ).fetchone()
            pid = int(row[0]) if row else 1000
            self._db.execute(
                "INSERT OR REPLACE INTO cluster VALUES ('next_producer_id', ?)", (str(pid + 1),)
            )
        return pid

    # --- topics -------------------------------------------------------------------

    def load_topics(self) -> list[TopicRecord]:
        rows = self._db.execute(
            "SELECT name, topic_id, partitions, configs, created_at FROM topics ORDER BY name"
        ).fetchall()
        return [
            TopicRecord(n, uuid.UUID(tid), p, json.loads(c), ts) for n, tid, p, c, ts in rows
        ]

    def create_topic(
        self, name: str, topic_id: uuid.UUID, partitions: int, configs: dict[str, str]
    ) -> TopicRecord:
        now = int(time.time() * 1000)
        self._db.execute(
            "INSERT INTO topics VALUES (?, ?, ?, ?, ?)",
            (name, str(topic_id), partitions, json.dumps(configs, sort_keys=True), now),
        )
        return TopicRecord(name, topic_id, partitions, dict(configs), now)

    def set_partitions(self, name: str, partitions: int) -> None:
        self._db.execute("UPDATE topics SET partitions=? WHERE name=?", (partitions, name))

    def set_topic_configs(self, name: str, configs: dict[str, str]) -> None:
        self._db.execute(
            "UPDATE topics SET configs=? WHERE name=?", (json.dumps(configs, sort_keys=True), name)
        )

    def delete_topic(self, name: str) -> None:
        with self._transaction():
            self._db.execute("DELETE FROM topics WHERE name=?", (name,))
            self._db.execute("DELETE FROM committed_offsets WHERE topic=?", (name,))

    # --- committed offsets ----------------------------------------------------------

    def commit_offsets(self, group: str, offsets: Iterable[CommittedOffset]) -> None:
        rows = [
            (group, o.topic, o.partition, o.offset, o.leader_epoch, o.metadata, o.commit_timestamp)
            for o in offsets
        ]
        if not rows:
            return
        with self._transaction():
            self._db.executemany(
                "INSERT OR REPLACE INTO committed_offsets VALUES (?, ?, ?, ?, ?, ?, ?)", rows
            )

    def fetch_offsets(self, group: str) -> dict[tuple[str, int], CommittedOffset]:
        rows = self._db.execute(
            "SELECT topic, partition, committed_offset, leader_epoch, metadata, commit_timestamp"
            " FROM committed_offsets WHERE group_id=?",
            (group,),
        ).fetchall()
        return {(r[0], r[1]): CommittedOffset(*r) for r in rows}

    def load_all_offsets(self) -> dict[str, dict[tuple[str, int], CommittedOffset]]:
        out: dict[str, dict[tuple[str, int], CommittedOffset]] = {}
        for g, *r in self._db.execute(
            "SELECT group_id, topic, partition, committed_offset, leader_epoch, metadata,"
            " commit_timestamp FROM committed_offsets"
        ):
            out.setdefault(g, {})[(r[0], r[1])] = CommittedOffset(*r)
        return out

    def delete_offsets(
        self, group: str, partitions: Iterable[tuple[str, int]] | None = None
    ) -> None:
        with self._transaction():
            if partitions is None:
                self._db.execute("DELETE FROM committed_offsets WHERE group_id=?", (group,))
            else:
                self._db.executemany(
                    "DELETE FROM committed_offsets WHERE group_id=? AND topic=? AND partition=?",
                    [(group, t, p) for t, p in partitions],
                )

    def _transaction(self):
        return _Tx(self._db)


class _Tx:
    def __init__(self, db: sqlite3.Connection) -> None:
        self.db = db

    def __enter__(self) -> None:
        self.db.execute("BEGIN IMMEDIATE")

    def __exit__(self, exc_type, exc, tb) -> None:
        self.db.execute("COMMIT" if exc_type is None else "ROLLBACK")
