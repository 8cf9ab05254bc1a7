"""What the embedded observer reads from a broker, as typed read-only views.

Contract: :class:`BrokerView` names exactly the state
:class:`core.monitor.embedded.EmbeddedObserver` reads, and nothing else; every member is a
read-only property, so a view never writes and a broker's plain attributes (and its
``dict``/``deque`` containers) satisfy it structurally. ``core.broker.Broker`` is one
BrokerView; nothing here imports it, so the arrow points from the broker to the monitor.
The group coordinator is a separate :class:`GroupsView`, passed beside the broker (the
broker does not hand out its coordinator).
A renamed or missing attribute is a type error (and, at run time, an ``AttributeError``
from the observer), never a silent zero. Every protocol is ``runtime_checkable`` so a test
can hold the real broker against it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Protocol, runtime_checkable

from streamscope.core.groups import GroupDescription


@runtime_checkable
class CountersView(Protocol):
    """The broker's running totals (monotonic counts since it started)."""

    @property
    def records_in(self) -> int: ...
    @property
    def bytes_in(self) -> int: ...
    @property
    def records_out(self) -> int: ...
    @property
    def bytes_out(self) -> int: ...
    @property
    def requests(self) -> int: ...
    @property
    def connections_total(self) -> int: ...
    @property
    def errors(self) -> int: ...


@runtime_checkable
class LogView(Protocol):
    """One partition's log: its offsets and what it occupies on disk."""

    @property
    def log_start_offset(self) -> int: ...
    @property
    def log_end_offset(self) -> int: ...
    @property
    def size_bytes(self) -> int: ...
    @property
    def segment_count(self) -> int: ...


@runtime_checkable
class PartitionView(Protocol):
    @property
    def index(self) -> int: ...
    @property
    def log(self) -> LogView: ...
    @property
    def records_in(self) -> int: ...
    @property
    def bytes_in(self) -> int: ...
    @property
    def batches_in(self) -> int: ...
    @property
    def records_out(self) -> int: ...
    @property
    def bytes_out(self) -> int: ...


@runtime_checkable
class LogConfigView(Protocol):
    """A topic's effective log settings."""

    @property
    def retention_ms(self) -> int: ...
    @property
    def retention_bytes(self) -> int: ...
    @property
    def segment_bytes(self) -> int: ...


@runtime_checkable
class TopicView(Protocol):
    @property
    def topic_id(self) -> object: ...  # a UUID; shown as its str()
    @property
    def configs(self) -> Mapping[str, str | None] | None:
        """The topic's overrides; replaced (never changed in place) when they change."""
        ...

    @property
    def log_config(self) -> LogConfigView: ...
    @property
    def partitions(self) -> Sequence[PartitionView]: ...


@runtime_checkable
class ConnectionView(Protocol):
    """One socket connection, as the server records it."""

    @property
    def conn_id(self) -> int: ...
    @property
    def host(self) -> str: ...
    @property
    def port(self) -> int: ...
    @property
    def connected_at(self) -> float: ...
    @property
    def client_id(self) -> str | None: ...
    @property
    def software_name(self) -> str | None: ...
    @property
    def software_version(self) -> str | None: ...
    @property
    def requests_by_api(self) -> Mapping[int, int]: ...
    @property
    def bytes_in(self) -> int: ...
    @property
    def bytes_out(self) -> int: ...


@runtime_checkable
class LocalClientView(Protocol):
    """An in-process client (no socket), listed beside the connections."""

    @property
    def conn_id(self) -> int: ...
    @property
    def client_id(self) -> str: ...
    @property
    def kind(self) -> str: ...
    @property
    def connected_at(self) -> float: ...
    @property
    def requests_by_api(self) -> Mapping[int, int]: ...
    @property
    def bytes_in(self) -> int: ...
    @property
    def bytes_out(self) -> int: ...


@runtime_checkable
class EventView(Protocol):
    """One entry of the broker's event feed."""

    @property
    def ts(self) -> float: ...
    @property
    def kind(self) -> str: ...
    @property
    def message(self) -> str: ...


@runtime_checkable
class GroupsView(Protocol):
    """The group coordinator, as the monitor sees it. The observer is handed it by the
    composition root (:meth:`core.node.Node.observer`), not through the broker, whose
    ``groups`` is typed only as what the broker itself calls (:class:`core.ports.BrokerGroups`).
    """

    def snapshot(self) -> Sequence[GroupDescription]:
        """Every live group as frozen data (no I/O)."""
        ...


@runtime_checkable
class BrokerConfigView(Protocol):
    @property
    def data_dir(self) -> Path | str: ...


@runtime_checkable
class BrokerView(Protocol):
    """Everything :class:`~core.monitor.embedded.EmbeddedObserver` reads from a broker."""

    @property
    def config(self) -> BrokerConfigView: ...
    @property
    def node_id(self) -> int: ...
    @property
    def cluster_id(self) -> str: ...
    @property
    def listener(self) -> tuple[str, int] | None:
        """The bound address, None until a server listens for this broker."""
        ...

    @property
    def started_at(self) -> float:
        """Wall-clock start time; 0 (falsy) until started."""
        ...

    @property
    def counters(self) -> CountersView: ...
    @property
    def topics(self) -> Mapping[str, TopicView]: ...
    @property
    def connections(self) -> Mapping[int, ConnectionView]: ...
    @property
    def local_clients(self) -> Mapping[int, LocalClientView]: ...
    @property
    def events(self) -> Sequence[EventView]:
        """Appended on the right, bounded; the observer converts each entry once."""
        ...
