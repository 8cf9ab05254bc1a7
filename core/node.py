"""The composition root of one broker node: storage, group coordinator, server, monitor.

Contract:

* ``Node(config)`` builds nothing that touches the disk or the network; ``await
  node.start()`` (on the loop the node will live on) opens the broker's storage, builds
  the group coordinator over it through its typed seams (the broker as
  :class:`~core.groups.ports.PartitionView`, the MetaStore as
  :class:`~core.groups.ports.OffsetStore`, a :class:`~core.groups.ports.GroupConfig`),
  attaches it to the broker (:class:`core.ports.BrokerGroups`), and, unless
  ``serve=False``, binds a :class:`~core.server.Server` that reports connections and
  counts through the broker's :class:`core.ports.ServerStats`. A start that fails part
  way closes what it opened and re-raises.
* ``faults`` is the node's :class:`~core.sim.faults.FaultInjector` (lesson 8), bound to
  the listener once the node serves.
* ``close()`` stops the server (answering parked requests), then the broker (which
  closes the coordinator, flushes and releases the data dir); it is idempotent.
* After the group coordinator it builds the :class:`~core.txn.TransactionCoordinator`
  (``transactions``; its :meth:`start` completes or aborts what a previous run left
  open, so it runs before the listener binds) and hands it to the server; ``close``
  stops its timers before the broker closes. ``txn_clock`` is its clock (tests).
* Unless ``BrokerConfig.activity_feed`` is off, the node builds one
  :class:`~core.monitor.feed.ActivityFeed` and attaches it to the broker (appends,
  readers, its key sampler) and to the coordinator (commits); ``activity`` is it, or None.
* :meth:`observer` builds an :class:`~core.monitor.EmbeddedObserver` of this node (its broker,
  its coordinator and its activity feed, each through its own view); keep
  one and call its ``snapshot()`` on the loop thread every tick (as the GUI does).
* Nothing below this module imports it: the broker never builds its coordinator, the
  server never builds a broker. ``core/runtime.py`` (a node on its own thread),
  ``streamscope broker`` and test fixtures build nodes here.
"""

from __future__ import annotations

from streamscope.core.broker import Broker
from streamscope.core.config import BrokerConfig
from streamscope.core.groups import Clock, GroupConfig, GroupCoordinator
from streamscope.core.monitor import EmbeddedObserver
from streamscope.core.monitor.feed import ActivityFeed
from streamscope.core.server import Server
from streamscope.core.sim.faults import FaultInjector
from streamscope.core.txn import TransactionCoordinator


class Node:
    def __init__(
        self, config: BrokerConfig, *, serve: bool = True, group_clock: Clock | None = None,
        advertised_host: str | None = None, txn_clock: Clock | None = None,
    ) -> None:
        self.config = config
        self._txn_clock = txn_clock
        self._transactions: TransactionCoordinator | None = None
        self.broker = Broker(config)
        self.activity: ActivityFeed | None = ActivityFeed() if config.activity_feed else None
        if self.activity is not None:
            self.broker.attach_activity(self.activity)
        self._serve = serve
        self._group_clock = group_clock
        self._advertised_host = advertised_host
        self._groups: GroupCoordinator | None = None
        self._server: Server | None = None
        self._closed = False
        # Lesson 8's fault switchboard; bound to the listener by serve().
        self.faults = FaultInjector()

    @property
    def groups(self) -> GroupCoordinator:
        """The group coordinator (after :meth:`start`)."""
        if self._groups is None:
            raise RuntimeError("the node has not started")
        return self._groups

    @property
    def transactions(self) -> TransactionCoordinator:
        """The transaction coordinator (after :meth:`start`)."""
        if self._transactions is None:
            raise RuntimeError("the node has not started")
        return self._transactions

    @property
    def server(self) -> Server:
        """The listener (after :meth:`start` of a serving node)."""
        if self._server is None:
            raise RuntimeError("the node is not serving")
        return self._server

    @property
    def bootstrap(self) -> str:
        return self.server.bootstrap

    async def start(self) -> Node:
        """Open storage, start the coordinator, then (``serve``) bind the listener; self."""
        broker = self.broker
        await broker.start()
        try:
            assert broker.meta is not None  # opened by start()
            groups = GroupCoordinator(
                broker, broker.meta, GroupConfig.from_broker(self.config),
                clock=self._group_clock,
            )
            broker.attach_groups(groups)
            if self.activity is not None:
                groups.attach_activity(self.activity)
            self._groups = groups
            await groups.start()
            txns = TransactionCoordinator(broker, groups, broker.meta, clock=self._txn_clock)
            self._transactions = txns
            broker.attach_transactions(txns)
            await txns.start()
            if self._serve:
                await self.serve()
        except BaseException:
            if self._transactions is not None:
                await self._transactions.close()
            await broker.close()
            raise
        return self

    async def serve(self) -> Server:
        """Bind the listener of a started node (``start`` does it unless ``serve=False``;
        ``streamscope broker`` calls it itself to tell a busy port from a locked data dir).
        """
        if self._server is not None:
            return self._server
        server = Server(self.broker, self.groups, advertised_host=self._advertised_host,
                        transactions=self._transactions)
        await server.start()
        self._server = server
        self.faults.attach(server)
        return server

    async def close(self, *, grace_s: float = 5.0) -> None:
        """Stop the listener (answering parked requests, requests in flight get
        ``grace_s``), then storage and groups."""
        if self._closed:
            return
        self._closed = True
        if self._server is not None:
            await self._server.close(grace_s=grace_s)
        if self._transactions is not None:
            await self._transactions.close()
        await self.broker.close()

    def observer(self) -> EmbeddedObserver:
        """A new observer of this node; keep it and poll its ``snapshot()`` on the loop."""
        return EmbeddedObserver(self.broker, self.groups, self.activity, self._transactions)

    async def __aenter__(self) -> Node:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.close()


async def start_node(config: BrokerConfig, *, serve: bool = True,
                     group_clock: Clock | None = None) -> Node:
    """A started node (see :class:`Node`); the caller closes it."""
    return await Node(config, serve=serve, group_clock=group_clock).start()


async def start_broker(config: BrokerConfig, *, group_clock: Clock | None = None) -> Broker:
    """A started broker with its group coordinator and no listener (in-process clients,
    tests); ``await broker.close()`` closes both."""
    return (await start_node(config, serve=False, group_clock=group_clock)).broker
