"""What the embedded observer reads from a broker, as typed views it only reads.

Contract: :class:`BrokerView` names exactly the state
:class:`core.monitor.embedded.EmbeddedObserver` reads, and nothing else. A member is a
read-only property where the broker's own is read-only (a property, a frozen dataclass) or
where the view names a wider read-only type than the broker holds (``Mapping`` for its
``dict``, ``Sequence`` for its ``list``/``deque``, a view for a concrete part); it is a
plain attribute annotation where the broker's is a plain attribute of exactly that type.
Either way the broker satisfies it structurally. ``core.broker.Broker`` is one
BrokerView; nothing here imports it, so the arrow points from the broker to the monitor.
The group coordinator is a separate :class:`GroupsView`, passed beside the broker (the
broker does not hand out its coordinator).
A renamed or missing attribute is a type error (and, at run time, an ``AttributeError``
from the observer), never a silent zero. Every protocol is ``runtime_checkable`` so a test
can hold the real broker against it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence, Set
from pathlib import Path
from typing import Protocol, runtime_checkable

from streamscope.core.groups import GroupDescription


@runtime_checkable
class CountersView(Protocol):
    """The broker's running totals (monotonic counts since it started)."""

    records_in: int
    bytes_in: int
    records_out: int
    bytes_out: int
    requests: int
    connections_total: int
    errors: int
    connections_refused: int  # core.broker.BrokerCounters


@runtime_checkable
class SegmentView(Protocol):
    """One segment of a partition's log."""

    @property
    def base_offset(self) -> int: ...


@runtime_checkable
class CompactionView(Protocol):
    """A compacted log's cleaner state (core.log.cleaner.CompactionStatus)."""

    clean_offset: int
    dirty_end_offset: int
    dirty_ratio: float
    state: str
    passes: int
    bytes_read: int
    bytes_written: int
    last_run_ms: int
    last_error: str | None
    progress: float


@runtime_checkable
class LogView(Protocol):
    """One partition's log: its offsets, its segments and what it occupies on disk."""

    @property
    def log_start_offset(self) -> int: ...
    @property
    def log_end_offset(self) -> int: ...
    @property
    def size_bytes(self) -> int: ...
    @property
    def segment_count(self) -> int: ...
    def segment_infos(self) -> Sequence[SegmentView]:
        """The segments, oldest first."""
        ...
    def compaction(self) -> CompactionView | None:
        """The cleaner's state; None unless the log is compacted."""
        ...


@runtime_checkable
class AbortedTxnView(Protocol):
    @property
    def producer_id(self) -> int: ...
    @property
    def first_offset(self) -> int: ...
    @property
    def last_offset(self) -> int: ...


@runtime_checkable
class PartitionTxnsView(Protocol):
    """A partition's transactions (``core.idempotence.PartitionTxns``)."""

    @property
    def aborted(self) -> Sequence[AbortedTxnView]: ...

    def last_stable_offset(self, high_watermark: int) -> int: ...


@runtime_checkable
class PartitionView(Protocol):
    index: int
    txns: PartitionTxnsView

    @property
    def log(self) -> LogView: ...

    records_in: int
    bytes_in: int
    batches_in: int
    records_out: int
    bytes_out: int
    # core.topics.Partition: the last write/fsync failure, None once a
    # write succeeds again; why the partition could not be opened at start-up.
    storage_error: str | None
    offline: str | None


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
class ClientView(Protocol):
    """What a socket connection and an in-process client both show: an id, since when,
    requests by API key, and bytes each way."""

    conn_id: int
    connected_at: float
    bytes_in: int
    bytes_out: int

    @property
    def requests_by_api(self) -> Mapping[int, int]: ...


@runtime_checkable
class ConnectionView(ClientView, Protocol):
    """One socket connection, as the server records it (``core.ports.ConnectionInfo``)."""

    host: str
    port: int
    client_id: str | None
    software_name: str | None
    software_version: str | None
    user: str | None  # the authenticated principal (SASL)


@runtime_checkable
class LocalClientView(ClientView, Protocol):
    """An in-process client (no socket), listed beside the connections."""

    client_id: str
    kind: str


@runtime_checkable
class EventView(Protocol):
    """One entry of the broker's event feed."""

    @property
    def ts(self) -> float: ...
    @property
    def kind(self) -> str: ...
    @property
    def message(self) -> str: ...
    @property
    def data(self) -> Mapping[str, object]:
        """Structured details (``topic``, ``group``, ...: see ``Broker.emit_event``)."""
        ...


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
class TxnMetaView(Protocol):
    """One transactional id (``core.txn.TxnMeta``)."""

    transactional_id: str
    producer_id: int
    producer_epoch: int
    timeout_ms: int
    state: str

    @property
    def partitions(self) -> Set[tuple[str, int]]: ...
    @property
    def groups(self) -> Set[str]: ...


@runtime_checkable
class TransactionsView(Protocol):
    """The transaction coordinator, as the monitor sees it (handed over by the
    composition root beside the group coordinator)."""

    @property
    def transactions(self) -> Mapping[str, TxnMetaView]: ...

    def age_ms(self, transactional_id: str) -> int:
        """How long its transaction has been open (0: none is)."""
        ...


@runtime_checkable
class BrokerConfigView(Protocol):
    @property
    def data_dir(self) -> Path | str: ...
    @property
    def host(self) -> str:
        """The interface the listener binds (``broker.listener`` is what clients are told)."""
        ...

    @property
    def sasl_mechanisms(self) -> tuple[str, ...]:
        """Empty: no authentication."""
        ...

    @property
    def tls_cert(self) -> Path | None: ...


@runtime_checkable
class BrokerView(Protocol):
    """Everything :class:`~core.monitor.embedded.EmbeddedObserver` reads from a broker."""

    node_id: int
    cluster_id: str
    listener: tuple[str, int] | None  # the bound address; None until a server listens
    started_at: float  # wall-clock start time; 0 (falsy) until started

    @property
    def config(self) -> BrokerConfigView: ...
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
