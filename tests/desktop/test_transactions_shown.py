"""The Clients page lists open transactions while there are some (pytest-qt)."""

from __future__ import annotations

import dataclasses

from PySide6.QtCore import Qt
from streamscope.core import monitor
from streamscope.desktop.history import MonitorHistory
from streamscope.desktop.models.transactions_model import TransactionsModel
from streamscope.desktop.theme import resolve
from streamscope.desktop.views.clients_view import ClientsView

from tests.desktop import snapshots as S


def open_txn(txn_id: str, age_ms: int, timeout_ms: int = 60_000) -> monitor.TransactionSnapshot:
    return monitor.TransactionSnapshot(
        txn_id, 1000, 3, "Ongoing", (("orders", 0), ("orders", 2)), ("enricher",),
        age_ms, timeout_ms)


def test_open_transactions_appear_with_their_partitions_and_go_when_done(qtbot):
    view = ClientsView(resolve("light"))
    qtbot.addWidget(view)
    view.resize(1000, 640)
    view.show()
    plain = S.snapshot(connections=[S.connection(1)])
    view.on_slow_tick(plain, MonitorHistory())
    assert not view.txn_table.isVisible()

    busy = dataclasses.replace(plain, transactions=(
        open_txn("enricher-0", 2_500), open_txn("stale", 70_000)))
    view.on_slow_tick(busy, MonitorHistory())
    qtbot.waitUntil(view.txn_table.isVisible)
    model = view.txn_model
    assert model.rowCount() == 2
    assert view.txn_title.text() == "Open transactions (2)"
    row = next(r for r in range(2) if model.key_at(r) == "enricher-0")
    cells = [model.index(row, c).data() for c in range(len(TransactionsModel.columns))]
    assert cells == ["enricher-0", "1000", "3", "Ongoing", "orders-0, orders-2", "2 s",
                     "1 min"]
    tip = model.index(row, TransactionsModel.PARTITIONS).data(Qt.ItemDataRole.ToolTipRole)
    assert "orders-2" in tip and "offsets of: enricher" in tip
    stale = next(r for r in range(2) if model.key_at(r) == "stale")
    assert "aborting" in model.index(stale, TransactionsModel.AGE).data(
        Qt.ItemDataRole.ToolTipRole)

    view.on_slow_tick(plain, MonitorHistory())
    assert model.rowCount() == 0 and not view.txn_table.isVisible()
