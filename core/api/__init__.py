"""The registry of Kafka APIs the broker serves: one module per API key.

Each module in this package defines::

    API_KEY: int          # Kafka's API key
    MIN_VERSION: int      # lowest version served
    MAX_VERSION: int      # highest version served
    async def handle(ctx: RequestContext, version: int, request: dict) -> dict | None

``handle`` gets the decoded request body (a dict, field names in snake_case as the
message specs name them) and returns the response body as a dict (fields left out take
the schema's defaults), or ``None`` for "send no response" (Produce with acks=0).
The module docstring states the versions served, the behaviour and the version notes.

``ApiVersions`` is built from these registrations, so what is advertised is exactly
what is implemented. Handlers change broker state only on the broker's loop, with no
``await`` between reading and writing partition or group state.
"""

from __future__ import annotations

import importlib
import pkgutil
from dataclasses import dataclass, field
from types import ModuleType
from typing import TYPE_CHECKING, Any

from streamscope.core.ports import ConnectionInfo

if TYPE_CHECKING:
    from streamscope.core.auth import SaslSession
    from streamscope.core.broker import Broker
    from streamscope.core.groups import GroupCoordinator
    from streamscope.core.txn import TransactionCoordinator

__all__ = ["CloseConnection", "ConnectionInfo", "RequestContext", "load_handlers"]


class CloseConnection(Exception):
    """Raised by a handler to close the connection without answering (Kafka's way with
    a failed acks=0 produce: the client reads no reply, so the broker hangs up)."""


@dataclass(slots=True)
class RequestContext:
    broker: Broker
    connection: ConnectionInfo
    api_key: int
    api_version: int
    correlation_id: int
    client_id: str | None
    # The node's group coordinator (the group APIs' state).
    groups: GroupCoordinator
    # Where the listener really is, for Metadata / FindCoordinator answers.
    advertised_host: str = "127.0.0.1"
    advertised_port: int = 9092
    extra: dict[str, Any] = field(default_factory=dict)
    # The connection's SASL session; None when the broker has no SASL.
    sasl: SaslSession | None = None
    # The node's transaction coordinator; None where none was built (transactional
    # requests then get COORDINATOR_NOT_AVAILABLE).
    transactions: TransactionCoordinator | None = None


def load_handlers() -> dict[int, ModuleType]:
    """Import every API module in this package; map API key -> module."""
    handlers: dict[int, ModuleType] = {}
    for info in pkgutil.iter_modules(__path__):
        if info.name.startswith("_"):
            continue
        module = importlib.import_module(f"{__name__}.{info.name}")
        key = getattr(module, "API_KEY", None)
        if key is None:
            continue
        if key in handlers:
            raise RuntimeError(f"API key {key} registered twice: {module.__name__}")
        handlers[key] = module
    return handlers
