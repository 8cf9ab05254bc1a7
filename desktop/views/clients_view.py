"""Clients: every connection to the broker, who it is, and how busy it is.

Contract: on the slow tick the connections table (address, client id, software, connected
since, requests, requests/s, bytes) and, for the selected connection, its requests by Kafka
API are diffed from the snapshot and the history's per-connection rates. In-process
consumers (started inside the app) are listed too, marked "in-process"; the summary line
counts them apart from socket connections, and says how many connections the broker
refused over its limits ("refused N", the latest reasons as the line's tooltip). The
User column is who a connection authenticated as, shown while the broker asks clients to
authenticate (or any connection did). Under the requests by API, the open transactions
(transactional producers between their first write and the end of their commit or abort,
issue 14) are listed with their partitions and age; while there are none, one muted
line beside the section title says so, so the tables above keep the page's height.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QHBoxLayout, QWidget
from streamscope.core.monitor import ClusterSnapshot
from streamscope.desktop import format as fmt
from streamscope.desktop.history import MonitorHistory
from streamscope.desktop.layout import named, plain_label, vbox
from streamscope.desktop.models.api_requests_model import ApiRequestsModel
from streamscope.desktop.models.clients_model import ClientsModel
from streamscope.desktop.models.transactions_model import TransactionsModel
from streamscope.desktop.theme import Theme
from streamscope.desktop.views.elided import ElidedLabel
from streamscope.desktop.views.table import KeyedTableView
from streamscope.desktop.views.widgets import EmptyState, section_title, table_over_details

# The broker's event kind for a refused connection (core/server.py), and the summing-up
# of a flood of them.
REFUSED_EVENT = "connection"


def refusals_tooltip(snap: ClusterSnapshot) -> str:
    """Why connections were refused (the broker's latest refusal events), as a plain
    tooltip; "" while none was."""
    refused = snap.counters.connections_refused
    if not refused:
        return ""
    reasons = [e.message for e in snap.events if e.kind == REFUSED_EVENT][-5:]
    lines = [f"{fmt.plural(refused, 'connection')} refused since start (connection limits)"]
    lines += reasons
    return fmt.plain_tooltip("\n".join(lines))


LOCAL_EMPTY = ("No clients connected. Point a producer or consumer at the bootstrap address "
               "shown in Overview, or start consumers from Consumer groups.")
WIRE_EMPTY = ("An external cluster does not say who is connected: Kafka's protocol has no "
              "request for it. Its consumer groups and their members are on Consumer groups.")


class ClientsView(QWidget):
    title = "Clients"

    def __init__(self, theme: Theme, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("ClientsView")
        self.snapshot: ClusterSnapshot | None = None
        root = vbox(self, (18, 14, 18, 16), spacing=8)
        self.summary = named(plain_label(""), "Muted")
        root.addWidget(section_title("Clients"))
        root.addWidget(self.summary)
        self.model = ClientsModel(self)
        m = ClientsModel
        self.table = KeyedTableView(self.model, sort_column=m.CONNECTED, stretch_column=m.SOFTWARE)
        self.table.set_column_widths({
            m.ADDRESS: 150, m.CLIENT_ID: 170, m.USER: 90, m.CONNECTED: 150, m.REQUESTS: 90,
            m.REQ_RATE: 90, m.BYTES_IN: 90, m.BYTES_OUT: 90,
        })
        self.empty = EmptyState(LOCAL_EMPTY)
        self.api_model = ApiRequestsModel(self)
        self.api_table = KeyedTableView(self.api_model, sort_column=2, stretch_column=0)
        self.api_table.sortByColumn(2, Qt.SortOrder.DescendingOrder)
        # Shows a client's own id: plain text, elided, so a long id cannot widen the window.
        self.api_title = named(ElidedLabel("Requests by API"), "SectionTitle")
        lower = QWidget()
        ll = vbox(lower)
        ll.addWidget(self.api_title)
        ll.addWidget(self.api_table, 1)
        self.txn_title = named(plain_label("Open transactions"), "SectionTitle")
        self.txn_model = TransactionsModel(self)
        self.txn_model.bad_color = QColor(theme.bad)
        t = TransactionsModel
        self.txn_table = KeyedTableView(self.txn_model, sort_column=t.AGE,
                                        stretch_column=t.PARTITIONS)
        self.txn_table.sortByColumn(t.AGE, Qt.SortOrder.DescendingOrder)
        self.txn_table.set_column_widths({
            t.TXN_ID: 170, t.PRODUCER: 130, t.STATE: 110, t.GROUPS: 120, t.AGE: 80,
            t.TIMEOUT: 80,
        })
        # One muted line beside the title while there is none: the tables above keep
        # the page's height (most brokers never see a transaction).
        self.txn_empty = named(ElidedLabel(
            "none: a transactional producer's transaction is listed here from its first "
            "write until its commit or abort markers are written"), "Muted")
        self.txn_empty.setToolTip(
            "Open transactions are listed here, with their partitions and age, from the "
            "first write until the coordinator has written the commit or abort markers.")
        header = QHBoxLayout()
        header.addWidget(self.txn_title)
        header.addWidget(self.txn_empty, 1)
        ll.addLayout(header)
        ll.addWidget(self.txn_table, 1)
        root.addWidget(table_over_details(self.table, self.empty, lower, (3, 2)), 1)
        self.table.selection_changed.connect(lambda _k: self._update_details())
        self._update_empty()

    def apply_theme(self, theme: Theme) -> None:
        self.txn_model.bad_color = QColor(theme.bad)  # the rest follows the palette

    def on_tick(self, snap: ClusterSnapshot, history: MonitorHistory) -> None:
        pass  # nothing here moves faster than text

    def on_slow_tick(self, snap: ClusterSnapshot, history: MonitorHistory) -> None:
        self.snapshot = snap
        self.model.update(snap, history.client_rates)
        self.empty.setText(WIRE_EMPTY if snap.external else LOCAL_EMPTY)
        # The User column only where there are users: without SASL it would be a column
        # of dashes taking the Software column's room.
        self.table.setColumnHidden(ClientsModel.USER, not (
            snap.broker.sasl_mechanisms or any(c.user for c in snap.connections)))
        self.table.ensure_selection()
        rate = sum(r[0] for r in history.client_rates.values())
        local = sum(1 for c in snap.connections if c.in_process)
        sockets = len(snap.connections) - local
        # The broker counts socket requests; in-process calls are counted by their clients.
        requests = snap.counters.requests + sum(c.requests for c in snap.connections
                                                if c.in_process)
        parts = [
            f"{fmt.count(sockets)} connection{'' if sockets == 1 else 's'} open",
            f"{fmt.count(snap.counters.connections_total)} since start",
        ]
        if snap.external:
            self.summary.setText("Connections and requests: not visible on an external "
                                 "cluster (Kafka's protocol does not list them)")
            parts = []
        refused = snap.counters.connections_refused
        if refused:
            parts.append(f"refused {fmt.count(refused)}")
        self.summary.setToolTip(refusals_tooltip(snap))
        if local:
            parts.append(f"{fmt.count(local)} in-process consumer{'' if local == 1 else 's'}")
        if parts:
            parts.append(f"{fmt.short_count(rate)} requests/s")
            parts.append(f"{fmt.count(requests)} requests in all")
            self.summary.setText(" · ".join(parts))
        self.txn_model.update(snap)
        open_txns = len(snap.transactions)
        self.txn_title.setText(
            f"Open transactions ({open_txns})" if open_txns else "Open transactions")
        self.txn_empty.setVisible(open_txns == 0)
        self.txn_table.setVisible(open_txns > 0)
        self._update_details()
        self._update_empty()

    def _update_details(self) -> None:
        key = self.table.selected_key()
        conn = None
        if key is not None and self.snapshot is not None:
            conn = next((c for c in self.snapshot.connections if c.conn_id == key), None)
        self.api_model.update(conn)
        if conn is None:
            self.api_title.setText("Requests by API")
        else:
            who = conn.client_id or conn.address
            if conn.in_process:
                self.api_title.setText(f"Calls by the Kafka API they stand for · {who} (in-process)")
            else:
                self.api_title.setText(f"Requests by API · {who} ({conn.address})")

    def _update_empty(self) -> None:
        self.empty.show_instead_of(self.table, self.model.rowCount() == 0)
