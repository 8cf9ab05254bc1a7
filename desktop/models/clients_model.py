"""Connected clients: address, client id, software, requests and request rate.

Contract: :meth:`ClientsModel.update` takes a snapshot and the per-connection rates that
:class:`desktop.history.MonitorHistory` keeps (``{conn_id: (req/s, B/s in, B/s out)}``);
rows are keyed by connection id. The tooltip of the requests column breaks the count
down by Kafka API.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from core.monitor import ClusterSnapshot, api_name
from desktop import format as fmt
from desktop.models.table_model import Column, KeyedTableModel


class ClientsModel(KeyedTableModel):
    ADDRESS, CLIENT_ID, SOFTWARE, CONNECTED, REQUESTS, REQ_RATE, BYTES_IN, BYTES_OUT = range(8)
    columns = (
        Column("Address"),
        Column("Client id"),
        Column("Software"),
        Column("Connected", fmt.timestamp),
        Column("Requests", fmt.count, numeric=True),
        Column("Requests/s", lambda v: fmt.short_count(v), numeric=True),
        Column("Received", fmt.size, numeric=True, tooltip="bytes of requests from this client"),
        Column("Sent", fmt.size, numeric=True, tooltip="bytes of responses to this client"),
    )

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self._by_api: dict[int, tuple[tuple[int, int], ...]] = {}

    def update(
        self, snap: ClusterSnapshot, rates: Mapping[int, tuple[float, float, float]] | None = None
    ) -> None:
        rates = rates or {}
        self._by_api = {c.conn_id: c.requests_by_api for c in snap.connections}
        self.set_rows(
            (
                c.conn_id,
                (
                    c.address,
                    c.client_id,
                    c.software,
                    c.connected_at,
                    c.requests,
                    round(rates.get(c.conn_id, (0.0,))[0], 1),
                    c.bytes_in,
                    c.bytes_out,
                ),
            )
            for c in snap.connections
        )

    def tooltip(self, row: int, col: int) -> Any:
        if col in (self.REQUESTS, self.REQ_RATE):
            by_api = self._by_api.get(self.key_at(row), ())  # type: ignore[arg-type]
            if by_api:
                return "\n".join(f"{api_name(k)}: {fmt.count(n)}" for k, n in by_api)
        return None
