"""The Clients page lists open transactions: id, producer, state, partitions, groups,
age against timeout (issue 14). A hand-built snapshot (tests/desktop/snapshots.py, the
monitor's own classes); the real coordinator fills the same field (tests/core)."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from PySide6.QtCore import Qt
from streamscope.core import monitor
from streamscope.desktop.history import MonitorHistory
from streamscope.desktop.models.transactions_model import TransactionsModel
from streamscope.desktop.theme import LIGHT
from streamscope.desktop.views.clients_view import ClientsView

from tests.desktop import snapshots as S


def txn(tid: str, age: float, timeout_ms: int = 60_000, parts: int = 2):
    return monitor.TransactionSnapshot(
        transactional_id=tid, producer_id=4000 + len(tid), producer_epoch=3, state="Ongoing",
        partitions=tuple(("payments", p) for p in range(parts)), groups=("billing",),
        age_ms=int(age * 1000), timeout_ms=timeout_ms,
    )


def snap_with(*txns):
    return dataclasses.replace(S.snapshot(), transactions=txns)


def test_open_transactions_are_listed_with_partitions_and_age(qtbot, tmp_path: Path):
    view = ClientsView(LIGHT)
    qtbot.addWidget(view)
    view.resize(1280, 720)
    view.show()
    history = MonitorHistory()
    view.on_slow_tick(snap_with(), history)
    assert view.txn_empty.isVisible() and not view.txn_table.isVisible()

    many = txn("<b>mover</b>-7", age=75.0, parts=9)  # markup in an id stays text
    view.on_slow_tick(snap_with(txn("fare-calc-1", age=2.5), many), history)
    assert view.txn_table.isVisible() and not view.txn_empty.isVisible()
    assert view.txn_title.text() == "Open transactions (2)"
    m = view.txn_model
    row = m.row_of("<b>mover</b>-7")
    cell = lambda col: m.data(m.index(row, col))  # noqa: E731
    assert cell(TransactionsModel.TXN_ID) == "<b>mover</b>-7"
    assert cell(TransactionsModel.PRODUCER) == f"{4000 + len('<b>mover</b>-7')} / 3"
    assert cell(TransactionsModel.PARTITIONS) == (
        "payments-0, payments-1, payments-2, payments-3, … (9 in all)")
    assert cell(TransactionsModel.GROUPS) == "billing"
    assert cell(TransactionsModel.AGE) == "75.0 s" and cell(TransactionsModel.TIMEOUT) == "60.0 s"
    # Older than its timeout: drawn as bad, and the tooltip says why.
    assert m.data(m.index(row, TransactionsModel.AGE), Qt.ItemDataRole.ForegroundRole) == \
        m.bad_color
    assert "aborting" in m.data(m.index(row, TransactionsModel.AGE), Qt.ItemDataRole.ToolTipRole)
    young = m.row_of("fare-calc-1")
    assert m.data(m.index(young, TransactionsModel.AGE), Qt.ItemDataRole.ForegroundRole) is None
    # The oldest first.
    first = view.txn_table.proxy.index(0, TransactionsModel.TXN_ID).data()
    assert first == "<b>mover</b>-7"
    assert view.grab().save(str(tmp_path / "clients.png"))

    view.on_slow_tick(snap_with(), history)  # both ended
    assert view.txn_model.rowCount() == 0 and view.txn_empty.isVisible()
