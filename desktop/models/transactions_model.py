"""Open transactions: one row per transactional producer whose transaction is open.

Contract: :meth:`TransactionsModel.update` takes a snapshot's
:attr:`~core.monitor.ClusterSnapshot.transactions` (the coordinator's Ongoing and
Prepare* transactions) and keys rows by transactional id. Cells: the id, producer id and
epoch, Kafka's state name, the partitions written (as ``topic-partition``, the first few,
all of them in the tooltip), the consumer groups whose offsets ride in it, its age at the
snapshot and its timeout. A transaction older than its timeout is about to be aborted by
the coordinator: its age is drawn in the "bad" colour with a tooltip saying so. Every
text is plain (transactional ids and topic names are client data).
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor
from streamscope.core.monitor import ClusterSnapshot, TransactionSnapshot
from streamscope.desktop.models.table_model import Column, KeyedTableModel, numeric

PARTITIONS_SHOWN = 4


def partitions_text(parts: tuple[tuple[str, int], ...], limit: int = PARTITIONS_SHOWN) -> str:
    names = [f"{t}-{p}" for t, p in parts]
    if len(names) > limit:
        return ", ".join(names[:limit]) + f", … ({len(names)} in all)"
    return ", ".join(names)


def _seconds(value: float) -> str:
    return f"{value:,.1f} s"


STATE_TIP = (
    "Ongoing: the producer is writing. PrepareCommit / PrepareAbort: EndTxn was received "
    "and the coordinator is writing the commit or abort markers to every partition."
)


class TransactionsModel(KeyedTableModel):
    TXN_ID, PRODUCER, STATE, PARTITIONS, GROUPS, AGE, TIMEOUT = range(7)
    columns = (
        Column("Transactional id"),
        Column("Producer id / epoch"),
        Column("State", tooltip=STATE_TIP),
        Column("Partitions", tooltip="the partitions this transaction has written to"),
        Column("Offsets for", lambda v: v or "-",
               tooltip="consumer groups whose offsets commit with this transaction"),
        numeric("Age", _seconds, tooltip="since the transaction's first partition was added"),
        numeric("Timeout", _seconds,
                tooltip="transaction.timeout.ms: the coordinator aborts it after this long"),
    )
    styled_columns = (AGE,)
    restyled_columns = ()

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self._by_id: dict[str, TransactionSnapshot] = {}
        self.bad_color = QColor("#d92d20")

    def update(self, snap: ClusterSnapshot) -> None:
        self._by_id = {t.transactional_id: t for t in snap.transactions}
        self.set_rows(
            (
                t.transactional_id,
                (
                    t.transactional_id,
                    f"{t.producer_id} / {t.producer_epoch}",
                    t.state,
                    partitions_text(t.partitions),
                    ", ".join(t.groups),
                    round(t.age_ms / 1000, 1),
                    t.timeout_ms / 1000,
                ),
            )
            for t in snap.transactions
        )

    def _overdue(self, row: int) -> bool:
        t = self._by_id.get(self.key_at(row))  # type: ignore[arg-type]
        return t is not None and self.values_at(row)[self.AGE] * 1000 > t.timeout_ms

    def style(self, row: int, col: int, role: int) -> Any:
        if col == self.AGE and role == Qt.ItemDataRole.ForegroundRole and self._overdue(row):
            return self.bad_color
        return None

    def tooltip(self, row: int, col: int) -> Any:
        t = self._by_id.get(self.key_at(row))  # type: ignore[arg-type]
        if t is None:
            return None
        if col == self.PARTITIONS and t.partitions:
            return partitions_text(t.partitions, limit=len(t.partitions))
        if col == self.AGE and self._overdue(row):
            return "Older than its timeout: the coordinator is aborting it."
        return None
