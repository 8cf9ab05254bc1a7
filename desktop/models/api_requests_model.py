"""Requests of one client connection broken down by Kafka API (name, key, count, share).

Contract: :meth:`ApiRequestsModel.update` takes a
:class:`~core.monitor.ConnectionSnapshot` (or ``None``); rows are keyed by API key.
"""

from __future__ import annotations

from streamscope.core.monitor import ConnectionSnapshot, api_name
from streamscope.desktop.models.table_model import Column, KeyedTableModel, numeric


class ApiRequestsModel(KeyedTableModel):
    columns = (
        Column("API"),
        numeric("Key", str),
        numeric("Requests"),
        numeric("Share", lambda v: f"{v:.1f} %"),
    )

    def update(self, conn: ConnectionSnapshot | None) -> None:
        if conn is None:
            self.set_rows(())
            return
        total = conn.requests or 1
        self.set_rows(
            (key, (api_name(key), key, n, round(100.0 * n / total, 1)))
            for key, n in conn.requests_by_api
        )
