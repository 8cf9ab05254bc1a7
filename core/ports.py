"""The typed seams between the broker (storage) and the parts built above it.

Contract: nothing here imports anything above ``core.errors``; the broker depends on
these Protocols, never on the group coordinator or the server themselves, and the
composition root (``core/node.py``) plugs the real parts in.

* :class:`BrokerGroups`: what the broker calls on its group coordinator (a deleted
  topic's offsets go; the coordinator closes with the broker). ``GroupCoordinator``
  satisfies it.
* :class:`TxnVerifier`: what the broker asks the transaction coordinator before it
  appends a transactional batch (``core.txn.TransactionCoordinator`` satisfies it).
* :class:`ServerStats`: how a listener reports its address, connections (opened,
  closed, refused by a limit), requests and errors;
  ``Broker`` implements it, and the monitor reads the result from the broker.
* :class:`ConnectionInfo`: what the server knows of one client connection.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

from streamscope.core.errors import ErrorCode


@dataclass(slots=True)
class ConnectionInfo:
    """What the server knows of one client connection (shown by the monitor)."""

    conn_id: int
    host: str
    port: int
    connected_at: float
    client_id: str | None = None
    software_name: str | None = None
    software_version: str | None = None
    requests_by_api: dict[int, int] = field(default_factory=dict)
    bytes_in: int = 0
    bytes_out: int = 0
    # the SASL principal once the connection authenticated, else None.
    user: str | None = None


@runtime_checkable
class BrokerGroups(Protocol):
    def on_topic_deleted(self, topic: str) -> None:
        """A topic is gone: forget its committed offsets."""
        ...

    async def close(self) -> None:
        """Answer parked joins and syncs (NOT_COORDINATOR) and stop every timer."""
        ...


@runtime_checkable
class TxnVerifier(Protocol):
    def verify_transactional(self, producer_id: int, producer_epoch: int, topic: str,
                             partition: int) -> ErrorCode:
        """NONE when the producer has an open transaction that includes the partition;
        else INVALID_PRODUCER_EPOCH (an older epoch: fenced) or INVALID_TXN_STATE."""
        ...


@runtime_checkable
class ServerStats(Protocol):
    def listener_changed(self, address: tuple[str, int] | None) -> None:
        """The bound (host, port), or None once the listener closed."""
        ...

    def connection_opened(self, info: ConnectionInfo) -> None: ...

    def connection_closed(self, conn_id: int) -> None: ...

    def connection_refused(self, host: str, why: str) -> None:
        """A connection from ``host`` was closed on accept (a connection limit, ``why``)."""
        ...

    def request_handled(self) -> None:
        """One request was decoded and handed to its API module."""
        ...

    def request_failed(self) -> None:
        """A connection was dropped for a bad request, or a handler failed."""
        ...
