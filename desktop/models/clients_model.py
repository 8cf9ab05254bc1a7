"""Clients: socket connections and in-process clients, who they are and how busy.

Contract: :meth:`ClientsModel.update` takes a snapshot and the per-connection rates that
:class:`desktop.history.MonitorHistory` keeps (``{conn_id: (req/s, B/s in, B/s out)}``);
rows are keyed by connection id. In-process clients (consumers started inside the app:
``ConnectionSnapshot.in_process``, negative ids) are rows too, marked in-process: their
address reads "in-process" in italics, with a tooltip saying what that means, and their
Received cell is empty (no request bytes: they call the broker directly, and their calls
are counted as the Kafka requests they stand for). The tooltip of the requests columns
breaks the count down by Kafka API. The User column is the principal a connection
authenticated as (SASL, issue 13), "-" where there is none.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtGui import QFont
from streamscope.core.monitor import ClusterSnapshot, api_name
from streamscope.desktop import format as fmt
from streamscope.desktop.models.table_model import Column, KeyedTableModel, numeric

IN_PROCESS_TIP = (
    "In-process: this consumer runs inside Streamscope, on the broker's own loop, with no "
    "socket. It joins groups, fetches and commits through the same code a Kafka request "
    "reaches; its calls are counted here as the requests they stand for."
)


USER_TIP = (
    "The user the connection authenticated as (SASL); '-' where the broker asks for no "
    "authentication, or for an in-process client"
)


class ClientsModel(KeyedTableModel):
    ADDRESS, CLIENT_ID, USER, SOFTWARE, CONNECTED, REQUESTS, REQ_RATE, BYTES_IN, BYTES_OUT = (
        range(9)
    )
    columns = (
        Column("Address"),
        Column("Client id"),
        Column("User", lambda v: v or "-", tooltip=USER_TIP),
        Column("Software"),
        Column("Connected", fmt.timestamp),
        numeric("Requests"),
        numeric("Requests/s", lambda v: fmt.short_count(v)),
        numeric("Received", fmt.size, tooltip="bytes of requests from this client"),
        numeric("Sent", fmt.size, tooltip="bytes of responses to this client"),
    )
    styled_columns = (ADDRESS,)
    restyled_columns = ()  # in-process or not is fixed per connection

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self._by_api: dict[int, tuple[tuple[int, int], ...]] = {}
        self._in_process: set[int] = set()

    def update(
        self, snap: ClusterSnapshot, rates: Mapping[int, tuple[float, float, float]] | None = None
    ) -> None:
        rates = rates or {}
        self._by_api = {c.conn_id: c.requests_by_api for c in snap.connections}
        self._in_process = {c.conn_id for c in snap.connections if c.in_process}
        self.set_rows(
            (
                c.conn_id,
                (
                    c.address,
                    c.client_id,
                    c.user or "",
                    c.software,
                    c.connected_at,
                    c.requests,
                    round(rates.get(c.conn_id, (0.0,))[0], 1),
                    None if c.in_process else c.bytes_in,
                    c.bytes_out,
                ),
            )
            for c in snap.connections
        )

    def is_in_process(self, row: int) -> bool:
        return self.key_at(row) in self._in_process

    def style(self, row: int, col: int, role: int) -> Any:
        if (
            col == self.ADDRESS
            and role == Qt.ItemDataRole.FontRole
            and self.is_in_process(row)
        ):
            font = QFont()
            font.setItalic(True)
            return font
        return None

    def tooltip(self, row: int, col: int) -> Any:
        if col in (self.REQUESTS, self.REQ_RATE):
            by_api = self._by_api.get(self.key_at(row), ())  # type: ignore[arg-type]
            if by_api:
                return "\n".join(f"{api_name(k)}: {fmt.count(n)}" for k, n in by_api)
        if col in (self.ADDRESS, self.BYTES_IN) and self.is_in_process(row):
            return IN_PROCESS_TIP
        return None
