"""A small, lively demo workload for screenshots and first impressions.

Contract: :meth:`DemoWorkload.start` (GUI thread, broker running) creates a few topics,
starts in-process producers on the broker loop (real RecordBatch v2 bytes appended through
``Broker.produce``, keyed by delivery-partner id) and in-process consumer groups, and, when
``confluent_kafka`` is installed, one real Kafka client producing and one consuming over
TCP so the Clients view has something to show (not while the broker requires SASL: the
demo has no user to log in as). Nothing here runs unless asked: the app
starts it from the Demo menu or the overview's first step, ``--screenshots`` at launch.

:meth:`stop` ends all of it without blocking the GUI thread: producers are cancelled, the
demo's in-process groups are stopped (they leave their groups), and the real clients'
threads are told to finish; ``stop(wait=True)`` also joins them (at app shutdown, before
the broker stops, so they leave their groups politely). The workload can be started again
after a stop; ``running_changed(bool)`` follows its state for menus. Starting while it
runs, or stopping while it is stopped, does nothing.
"""

from __future__ import annotations

import asyncio
import json
import logging
import math
import random
import threading
import time
from typing import Any

from PySide6.QtCore import QObject, QTimer, Signal
from streamscope.core.records import build_batch
from streamscope.desktop.broker_service import BrokerService
from streamscope.desktop.commands import Commands

log = logging.getLogger(__name__)

TOPICS = (
    # name, partitions, configs, messages/s, keys
    ("gps-updates", 8, {"retention.ms": str(3_600_000)}, 2500, 200),
    ("orders", 6, {}, 400, 50),
    ("notifications", 3, {"retention.ms": str(86_400_000)}, 150, 20),
    ("payments", 4, {}, 60, 30),
)
GROUPS = (
    # group, topic, consumers, assignor, seconds of processing per record (lag builds up)
    ("map-app", "gps-updates", 4, "range", 0.0),
    ("analytics", "orders", 3, "roundrobin", 0.0042),
    ("notifier", "notifications", 2, "cooperative-sticky", 0.0),
    ("billing", "payments", 2, "range", 0.0),
)
# Groups that are stopped after a while, leaving an Empty group whose lag grows.
STOP_LATER = ("billing",)


class DemoWorkload(QObject):
    showcase_topic = "gps-updates"
    showcase_group = "analytics"
    running_changed = Signal(bool)

    def __init__(
        self, service: BrokerService, commands: Commands, parent: QObject | None = None
    ) -> None:
        super().__init__(parent)
        self.service = service
        self.commands = commands
        self._futures: list[Any] = []
        # One event per run: a stopped run's threads keep theirs while they wind down,
        # and a new run gets a fresh one.
        self._stop = threading.Event()
        self._stop.set()
        self._threads: list[threading.Thread] = []

    @property
    def running(self) -> bool:
        return not self._stop.is_set()

    def start(self) -> None:
        if self.running:
            return
        if not self.service.running:
            log.warning("demo workload: the broker is not running")
            return
        stop = self._stop = threading.Event()
        pending = len(TOPICS)

        def topic_ready(_result: object, error: BaseException | None) -> None:
            nonlocal pending
            if error is not None:
                log.info("demo topic: %s", error)  # already there from an earlier run
            pending -= 1
            if pending == 0 and not stop.is_set():
                self._start_traffic(stop)

        for name, partitions, configs, _rate, _keys in TOPICS:
            self.commands.create_topic(name, partitions, configs, topic_ready)
        self.running_changed.emit(True)

    def _start_traffic(self, stop: threading.Event) -> None:
        for name, _partitions, _configs, rate, keys in TOPICS:
            self._futures.append(self.service.spawn(_producer(name, rate, keys)))
        for group, topic, count, assignor, delay in GROUPS:
            self.commands.start_consumers(group, topic, count, assignor, processing_delay_s=delay)
        for group in STOP_LATER:
            QTimer.singleShot(3000, self, lambda g=group: self._stop_group(g, stop))
        self._start_real_clients(stop)

    def _stop_group(self, group: str, stop: threading.Event) -> None:
        if not stop.is_set():
            self.commands.stop_consumers(group)

    def _start_real_clients(self, stop: threading.Event) -> None:
        if self.service.config.sasl_mechanisms:
            # The broker wants users (Broker > Listen address…) and the demo has none: its
            # socket clients would be refused. The in-process part runs all the same.
            log.info("demo: authentication is on, so no socket clients are started")
            return
        try:
            import confluent_kafka  # noqa: F401 - optional, only for the demo
        except ImportError:
            return
        bootstrap = self.service.bootstrap
        self._threads += [
            threading.Thread(target=self._real_producer, args=(bootstrap, stop), daemon=True),
            threading.Thread(target=self._real_consumer, args=(bootstrap, stop), daemon=True),
        ]
        try:
            import kafka  # noqa: F401 - optional: a second client library in the Clients view
        except ImportError:
            pass
        else:
            self._threads.append(
                threading.Thread(
                    target=self._kafka_python_consumer, args=(bootstrap, stop), daemon=True
                )
            )
        for t in self._threads:
            if not t.is_alive() and t.ident is None:
                t.start()

    def _real_producer(self, bootstrap: str, stop: threading.Event) -> None:
        from confluent_kafka import Producer

        p = Producer(
            {"bootstrap.servers": bootstrap, "client.id": "checkout-service", "linger.ms": 20}
        )
        n = 0
        while not stop.is_set():
            for _ in range(40):
                n += 1
                p.produce("orders", key=f"customer-{n % 37}", value=json.dumps({"order": n}))
            p.poll(0)
            stop.wait(0.1)
        p.flush(2)

    def _real_consumer(self, bootstrap: str, stop: threading.Event) -> None:
        from confluent_kafka import Consumer

        c = Consumer(
            {
                "bootstrap.servers": bootstrap,
                "group.id": "fraud-check",
                "client.id": "fraud-check",
                "auto.offset.reset": "earliest",
            }
        )
        c.subscribe(["orders"])
        try:
            while not stop.is_set():
                c.poll(0.2)
        finally:
            c.close()

    def _kafka_python_consumer(self, bootstrap: str, stop: threading.Event) -> None:
        from kafka import KafkaConsumer

        c = KafkaConsumer(
            "notifications",
            bootstrap_servers=bootstrap,
            group_id="audit-log",
            client_id="audit-log",
            auto_offset_reset="earliest",
        )
        try:
            while not stop.is_set():
                c.poll(timeout_ms=200)
        finally:
            c.close()

    def stop(self, *, wait: bool = False) -> None:
        """End the run; ``wait`` also joins the real clients' threads (shutdown only)."""
        was_running = self.running
        self._stop.set()
        for fut in self._futures:
            fut.cancel()
        self._futures = []
        if was_running and self.service.running:
            for group, *_rest in GROUPS:
                self.commands.stop_consumers(group)
        # Threads that have finished are dropped; the others finish on their own (each
        # checks its run's event every 0.2 s), joined only when the caller can wait.
        if wait:
            for t in self._threads:
                t.join(5)
        self._threads = [t for t in self._threads if t.is_alive()]
        if was_running:
            self.running_changed.emit(False)


def _producer(topic: str, rate: int, keys: int):
    """A coroutine function of the broker producing ``rate`` msgs/s, keyed, in batches."""

    async def run(broker: Any) -> None:
        rng = random.Random(topic)
        period = 0.05
        t0 = time.monotonic()
        n = 0
        while True:
            # A slow swell keeps the charts interesting.
            swell = 1.0 + 0.35 * math.sin((time.monotonic() - t0) / 6.0)
            per_tick = max(1, int(rate * period * swell))
            t = broker.topics.get(topic)
            if t is None:
                return  # deleted by the user: stop producing
            by_partition: dict[int, list] = {}
            for _ in range(per_tick):
                n += 1
                key = f"partner-{rng.randrange(keys)}"
                value = json.dumps(
                    {"id": n, "lat": 52.5 + rng.random() / 10, "lon": 13.4 + rng.random() / 10}
                ).encode()
                partition = hash(key) % len(t.partitions)
                by_partition.setdefault(partition, []).append((key.encode(), value))
            for partition, records in by_partition.items():
                broker.produce(topic, partition, build_batch(records))
            await asyncio.sleep(period)

    return run
