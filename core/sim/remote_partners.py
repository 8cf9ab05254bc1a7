"""``RemotePartners``: the delivery partners sending through a real client, on their own thread.

What the Scenario's "real client" mode runs (``start_partners(real_client=True)``): the
same partners as the in-process :class:`~.runner.SimRunner` (city and drives from
``seed``, msgpack updates, key = partner id), but sent through a confluent-kafka
``Producer`` over TCP to ``bootstrap`` (an address, or an external cluster's
:class:`~streamscope.core.monitor.external.ExternalSettings` with its security), so the broker lists them as a real connection
(client id ``streamscope-sim-partners``, software librdkafka). The send loop, pacing and
encoding are :mod:`~.remote`'s (:class:`~.remote.PacedSender`), shared with
``streamscope sim --bootstrap``. Contract:

* ``rate`` is the TOTAL rate in updates per second (as SimRunner's), spread over
  ``partners`` partners in turn; ``limit``: send exactly that many updates, then stop
  sending (the thread flushes and ends; ``finished`` turns true).
* :meth:`start` and :meth:`stop` block (callers on an event loop use
  ``asyncio.to_thread``). ``start`` reaches the broker (at most ``connect_timeout`` s,
  else :class:`~.remote.BrokerUnreachable`), creates the topic with ``partitions``
  partitions if it is missing, and starts the sending thread. ``stop`` ends sending within
  0.1 s, waits at most ``flush_timeout`` s for acknowledgements (the rest are purged and
  count as errors), closes the producer (its connection goes) and joins the thread.
  Both are idempotent; a stopped instance can be started again (a new fleet and
  producer; counters keep counting).
* :meth:`retune` and :meth:`lunch_rush` may be called from any thread, running or not;
  they never block on the sender (the change is queued and applied by the sending thread
  within 0.1 s, from the instant it was asked).
* Counters, readable from any thread: ``sent`` (handed to the producer), ``acked``,
  ``errors``, ``per_partition`` (acknowledged per partition, a copy), ``last_error``,
  ``running``, ``finished``, ``burst`` (the multiplier in force), ``partition_count``.
"""

from __future__ import annotations

import threading
import time
from typing import TYPE_CHECKING

from streamscope.core.sim.city import generate_city
from streamscope.core.sim.partners import Fleet
from streamscope.core.sim.remote import (
    PARTNERS_CLIENT_ID,
    PacedSender,
    check_rate,
    ensure_topic,
    make_producer,
)

if TYPE_CHECKING:
    from streamscope.core.monitor.external import ExternalSettings


class RemotePartners:
    def __init__(
        self, bootstrap: str | ExternalSettings, topic: str, partners: int, rate: float, seed: int,
        limit: int | None = None, partitions: int = 6, *, connect_timeout: float = 10.0,
        flush_timeout: float = 10.0, client_id: str = PARTNERS_CLIENT_ID,
    ) -> None:
        check_rate(rate)
        if partners < 1 or partitions < 1:
            raise ValueError("partners and partitions must be positive")
        if limit is not None and limit < 0:
            raise ValueError("limit must be >= 0")
        self.bootstrap = bootstrap
        self.topic = topic
        self.partners = partners
        self.rate = float(rate)
        self.seed = seed
        self.limit = limit
        self.partitions = partitions
        self.connect_timeout = connect_timeout
        self.flush_timeout = flush_timeout
        self.client_id = client_id
        self.partition_count = partitions  # the topic's, once start() has seen it
        self._sender: PacedSender | None = None
        self._thread: threading.Thread | None = None
        self._stopping = threading.Event()
        self._control = threading.Lock()  # start/stop against each other
        self._rush: tuple[float, float, float] | None = None  # monotonic start, end, mult
        # Every sender so far, replaced as a whole (readers on other threads see one
        # consistent tuple): a restart keeps counting from the stopped ones.
        self._senders: tuple[PacedSender, ...] = ()

    # --- lifecycle (blocking) -----------------------------------------------------------

    def start(self) -> None:
        with self._control:
            if self._thread is not None:
                return
            self.partition_count = ensure_topic(
                self.bootstrap, self.topic, self.partitions, self.connect_timeout)
            producer = make_producer(self.bootstrap, flush_timeout=self.flush_timeout,
                                     client_id=self.client_id)
            fleet = Fleet(generate_city(self.seed), self.partners, seed=self.seed)
            sender = PacedSender(producer, self.topic, fleet, self.rate, limit=self.limit)
            rush = self._rush
            if rush is not None and rush[1] > sender.start:  # asked before start: still on
                sender.lunch_rush(rush[2], rush[1] - sender.start)
            self._stopping.clear()
            self._sender = sender
            self._senders = (*self._senders, sender)
            self._thread = threading.Thread(
                target=self._run, args=(sender,), name="sim-remote-partners", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        with self._control:
            thread, sender = self._thread, self._sender
            if thread is None or sender is None:
                return
            self._stopping.set()
            # The thread flushes (bounded) then closes; give it that long and a margin.
            thread.join(self.flush_timeout + 10.0)
            self._thread = None
            self._sender = None

    def _run(self, sender: PacedSender) -> None:
        try:
            sender.run(self._stopping.is_set)
        except Exception as exc:  # e.g. the topic went away: seen as last_error, not lost
            sender.last_error = f"sending stopped: {exc}"
        finally:
            # Bounded: what is not acknowledged by then is purged (its delivery reports
            # are errors) so close() has nothing left to wait for.
            sender.flush(self.flush_timeout)
            if len(sender.producer) > 0:
                sender.producer.purge()
                sender.producer.poll(0)
            sender.producer.close()
            sender.count_undelivered()

    # --- knobs (any thread, never blocking) ---------------------------------------------

    def retune(self, *, rate: float | None = None, partners: int | None = None) -> None:
        """Change the total rate and/or the number of partners (running or not)."""
        if rate is not None:
            check_rate(rate)
        if partners is not None and partners < 1:
            raise ValueError("a fleet has at least one partner")
        sender = self._sender
        if sender is not None:
            sender.retune(rate=rate, partners=partners)
        if rate is not None:
            self.rate = float(rate)
        if partners is not None:
            self.partners = partners

    def lunch_rush(self, multiplier: float, seconds: float) -> None:
        """Multiply the rate by ``multiplier`` for the next ``seconds`` seconds."""
        if multiplier <= 0 or seconds < 0:
            raise ValueError("a rush needs a positive multiplier and a duration >= 0")
        now = time.monotonic()
        self._rush = (now, now + seconds, float(multiplier))
        sender = self._sender
        if sender is not None:
            sender.lunch_rush(multiplier, seconds)

    # --- counters (any thread) ----------------------------------------------------------

    @property
    def running(self) -> bool:
        thread = self._thread
        return thread is not None and thread.is_alive()

    @property
    def finished(self) -> bool:
        """The limit was reached (never true without a limit)."""
        senders = self._senders
        return bool(senders) and senders[-1].finished

    @property
    def burst(self) -> float:
        rush = self._rush
        now = time.monotonic()
        return rush[2] if rush is not None and rush[0] <= now < rush[1] else 1.0

    @property
    def sent(self) -> int:
        return sum(s.sent for s in self._senders)

    @property
    def acked(self) -> int:
        return sum(s.acked for s in self._senders)

    @property
    def errors(self) -> int:
        return sum(s.errors for s in self._senders)

    @property
    def last_error(self) -> str:
        return next((s.last_error for s in reversed(self._senders) if s.last_error), "")

    @property
    def per_partition(self) -> dict[int, int]:
        out: dict[int, int] = {}
        for sender in self._senders:
            for p, n in sender.per_partition.items():
                out[p] = out.get(p, 0) + n
        return out
