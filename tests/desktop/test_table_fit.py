"""Tables fit their columns to their content without asking Qt to measure every cell.

The Clients page under 200 connections froze the GUI for about a second per tick (issue
13's load test, ``benchmarks/load.py --gui --view clients``: lag p99 1,041 ms): Qt's
``sizeHintForColumn`` called back into Python for every role of every cell, and each call
waited for the GIL while the broker's thread was busy. ``KeyedTableView`` now formats a
column's texts in one Python pass and has the delegate measure only the longest few.
These tests hold it: no column is narrower than Qt's own full measurement, a
fit costs a bounded number of ``data()`` calls however many rows there are, and views
draw a C++ mirror of the model that answers every role as the model does, so painting and
sorting never call into Python.
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


def shown_view(qtbot, *, sort_column: int = 0, stretch_column: int | None = 0,
               size: tuple[int, int] = (1000, 400)) -> tuple[CountingModel, KeyedTableView]:
    """A counting model in a keyed table view, shown at ``size``."""
    model = CountingModel()
    view = KeyedTableView(model, sort_column=sort_column, stretch_column=stretch_column)
    qtbot.addWidget(view)
    view.resize(*size)
    view.show()
    return model, view


def test_no_fitted_column_is_narrower_than_qts_full_measurement(qtbot):
    model, view = shown_view(qtbot)
    for seed in range(5):
        model.set_rows(rows(300, seed))
        view.fit_columns()
        for col in (1, 2, 3):
            full = view.sizeHintForColumn(col) + CELL_PADDING
            assert view.columnWidth(col) >= full, (seed, col, view.columnWidth(col), full)


def test_a_fit_costs_a_bounded_number_of_data_calls_however_many_rows(qtbot):
    model, view = shown_view(qtbot)
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


def test_the_mirror_a_view_draws_answers_every_role_as_the_model_does(qtbot):
    from streamscope.desktop.models.clients_model import ClientsModel
    from streamscope.desktop.models.table_model import KEY_ROLE, SORT_ROLE

    from tests.desktop import snapshots as S

    model = ClientsModel()
    view = KeyedTableView(model, sort_column=0, stretch_column=0)
    qtbot.addWidget(view)
    roles = [Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.TextAlignmentRole,
             Qt.ItemDataRole.FontRole, Qt.ItemDataRole.ForegroundRole,
             Qt.ItemDataRole.DecorationRole, SORT_ROLE, KEY_ROLE]
    for step in range(3):  # inserted, then changed, then some removed
        conns = [S.connection(c, requests=7 * c * step, client_id=f"<b>c{c}</b>")
                 for c in range(1 + step, 6)]
        model.update(S.snapshot(connections=conns), {2: (2.5 * step, 10.0, 20.0)})
        assert view.proxy.rowCount() == model.rowCount() == 5 - step
        for row in range(view.proxy.rowCount()):
            for col in range(model.columnCount()):
                index = view.proxy.index(row, col)
                source = view.proxy.mapToSource(index)
                expected = [model.data(model.index(source.row(), col), role) for role in roles]
                assert [index.data(role) for role in roles] == expected, (step, row, col)
                # Tooltips are asked of the model when shown, not mirrored.
                tip = model.data(model.index(source.row(), col), Qt.ItemDataRole.ToolTipRole)
                if tip is not None:
                    assert view.cell_tooltip(index) == tip, (step, row, col)


def test_painting_and_sorting_a_table_never_call_into_the_model(qtbot):
    model, view = shown_view(qtbot, sort_column=2, size=(800, 400))
    model.set_rows(rows(200, 1))
    model.set_rows(rows(200, 2))  # every number changes: the proxy sorts again
    view.fit_columns()
    model.calls = 0
    view.sortByColumn(3, Qt.SortOrder.DescendingOrder)
    view.grab()
    assert model.calls == 0
    shown = [view.proxy.index(r, 3).data(Qt.ItemDataRole.DisplayRole) for r in range(3)]
    values = sorted((v[3] for _k, v in rows(200, 2)), reverse=True)[:3]
    assert shown == [fmt.size(v) for v in values]


def test_a_table_given_the_width_it_asks_for_asks_for_the_same_again(qtbot):
    # The Topics page gives its partitions table (last column stretched) the width of its
    # columns; counting the stretched column at its stretched width asked for 2 px more
    # each time, so under load the table ate the chart beside it a tick at a time.
    model, view = shown_view(qtbot, stretch_column=None)
    model.set_rows(rows(5, 3))  # no vertical scroll bar
    view.fit_columns()
    asked = []
    for _ in range(5):
        asked.append(view.columns_width())
        view.resize(asked[-1], 400)
        qtbot.waitUntil(lambda: view.width() == asked[-1])
    assert len(set(asked)) == 1, asked
    last = model.columnCount() - 1
    assert view.columnWidth(last) >= view.content_width(last)
