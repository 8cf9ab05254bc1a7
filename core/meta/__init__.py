"""Durable broker metadata: topics and their configs, committed consumer-group offsets,
transaction state.

One SQLite database (stdlib ``sqlite3``, WAL journal) in the data dir, owned by the
broker's event loop thread. Every write is one transaction; a committed offset or a
created topic is on disk (``synchronous=FULL`` under WAL) when the call returns, so
it survives a crash of the process and of the machine.
"""

from streamscope.core.meta.store import (
    CommittedOffset,
    MetaStore,
    TopicRecord,
    TransactionRecord,
)

__all__ = ["CommittedOffset", "MetaStore", "TopicRecord", "TransactionRecord"]
