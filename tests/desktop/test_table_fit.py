"""Tables fit their columns to their content without asking Qt to measure every cell.

The Clients page under 200 connections froze the GUI for about a second per tick (issue
13's load test, ``benchmarks/load.py --gui --view clients``: lag p99 1,041 ms): Qt's
``sizeHintForColumn`` called back into Python for every role of every cell, and each call
waited for the GIL while the broker's thread was busy. ``KeyedTableView`` now formats a
column's texts in one Python pass and has the delegate measure only the longest few.
These tests hold it: no column is narrower than Qt's own full measurement, a
fit costs a bounded number of ``data()`` calls however many rows there are, and a
cell painted answers all its roles in one call (``multiData``), as it would role by role.
"""

from __future__ import annotations

import random

from PySide6.QtCore import Qt
from streamscope.desktop import format as fmt
from streamscope.desktop.models.table_model import Column, KeyedTableModel, numeric
from streamscope.desktop.views.table import CELL_PADDING, KeyedTableView


class CountingModel(KeyedTableModel):
    columns = (
        Column("Name"),
        Column("Client id"),
        numeric("Requests"),
        numeric("Received", fmt.size),
    )

    def __init__(self) -> None:
        super().__init__()
        self.calls = 0

    def data(self, index, role=Qt.ItemDataRole.DisplayRole):  # noqa: ANN001 - Qt's signature
        self.calls += 1
        return super().data(index, role)


def rows(n: int, seed: int) -> list[tuple[int, tuple]]:
    rng = random.Random(seed)
    out = []
    for i in range(n):
        client = "c" * rng.randint(1, 30) + rng.choice(["", "WWW", "iii", "<b>x</b>"])
        out.append((i, (f"conn-{i}", client, rng.randint(0, 10 ** rng.randint(1, 9)),
                        rng.randint(0, 1 << rng.randint(1, 40)))))
    return out


def test_no_fitted_column_is_narrower_than_qts_full_measurement(qtbot):
    model = CountingModel()
    view = KeyedTableView(model, sort_column=0, stretch_column=0)
    qtbot.addWidget(view)
    view.resize(1000, 400)
    view.show()
    for seed in range(5):
        model.set_rows(rows(300, seed))
        view.fit_columns()
        for col in (1, 2, 3):
            full = view.sizeHintForColumn(col) + CELL_PADDING
            assert view.columnWidth(col) >= full, (seed, col, view.columnWidth(col), full)


def test_a_fit_costs_a_bounded_number_of_data_calls_however_many_rows(qtbot):
    model = CountingModel()
    view = KeyedTableView(model, sort_column=0, stretch_column=0)
    qtbot.addWidget(view)
    view.resize(1000, 400)
    view.show()
    costs = {}
    for n in (50, 500):
        model.set_rows(rows(n, n))
        model.calls = 0
        view.fit_columns()
        costs[n] = model.calls
    # Qt's measurement asked for ~10 roles of every cell (500 rows x 3 columns: ~15,000);
    # the longest few texts per column are measured now, whatever the row count.
    assert costs[500] < 1000, costs
    assert costs[500] <= costs[50] * 2 + 100, costs


def test_a_cell_answers_every_role_in_one_call_the_same_as_role_by_role(qtbot):
    from PySide6.QtCore import QModelRoleData
    from streamscope.desktop.models.clients_model import ClientsModel

    from tests.desktop import snapshots as S

    model = ClientsModel()
    conns = [S.connection(c, requests=7 * c, client_id=f"<b>c{c}</b>") for c in range(1, 4)]
    model.update(S.snapshot(connections=conns), {1: (2.5, 10.0, 20.0)})
    view = KeyedTableView(model, sort_column=0, stretch_column=0)
    qtbot.addWidget(view)
    roles = [Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.TextAlignmentRole,
             Qt.ItemDataRole.FontRole, Qt.ItemDataRole.ForegroundRole,
             Qt.ItemDataRole.DecorationRole, Qt.ItemDataRole.ToolTipRole]
    for row in range(view.proxy.rowCount()):
        for col in range(model.columnCount()):
            index = view.proxy.index(row, col)
            one_by_one = [index.data(role) for role in roles]
            span = [QModelRoleData(role) for role in roles]
            view.proxy.multiData(index, span)
            assert [rd.data() for rd in span] == one_by_one, (row, col)
