"""Open transactions: who holds one, on which partitions, for how long.

Contract: :meth:`TransactionsModel.update` takes a snapshot and lists
``ClusterSnapshot.transactions`` (transactional ids with a transaction in progress:
Ongoing, PrepareCommit, PrepareAbort), keyed by transactional id: producer id and epoch,
state, the partitions it writes (``topic-partition``, comma-separated; the tooltip has
them one per line with the groups whose offsets it commits), its age and its timeout.
A transaction older than its timeout is about to be aborted by the broker; the Age cell
says so in its tooltip.
"""

from __future__ import annotations

from typing import Any

from streamscope.core.monitor import ClusterSnapshot, TransactionSnapshot
from streamscope.desktop import format as fmt
from streamscope.desktop.models.table_model import Column, KeyedTableModel, numeric


def partitions_text(t: TransactionSnapshot) -> str:
    return ", ".join(f"{topic}-{index}" for topic, index in t.partitions)


class TransactionsModel(KeyedTableModel):
    TXN_ID, PRODUCER, EPOCH, STATE, PARTITIONS, AGE, TIMEOUT = range(7)
    columns = (
        Column("Transactional id"),
        numeric("Producer id", str),
        numeric("Epoch", str),
        Column("State"),
        Column("Partitions"),
        numeric("Age", lambda ms: fmt.duration(ms / 1000)),
        numeric("Timeout", lambda ms: fmt.duration(ms / 1000),
                tooltip="transaction.timeout.ms: the broker aborts the transaction after it"),
    )
    styled_columns = ()
    restyled_columns = ()

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self._by_id: dict[str, TransactionSnapshot] = {}

    def update(self, snap: ClusterSnapshot) -> None:
        self._by_id = {t.transactional_id: t for t in snap.transactions}
        self.set_rows(
            (t.transactional_id, (t.transactional_id, t.producer_id, t.producer_epoch,
                                  t.state, partitions_text(t), t.age_ms, t.timeout_ms))
            for t in snap.transactions
        )

    def tooltip(self, row: int, col: int) -> Any:
        t = self._by_id.get(self.key_at(row))  # type: ignore[arg-type]
        if t is None:
            return None
        if col == self.PARTITIONS:
            lines = [f"{topic}-{index}" for topic, index in t.partitions]
            if t.groups:
                lines.append("offsets of: " + ", ".join(t.groups))
            return "\n".join(lines) or "no partitions yet"
        if col == self.AGE and t.age_ms >= t.timeout_ms:
            return "Past its timeout: the broker is aborting it"
        return None
