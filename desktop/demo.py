"""A small, lively demo workload for screenshots and first impressions.

Contract: :meth:`DemoWorkload.start` (GUI thread, broker running) creates a few topics,
starts in-process producers on the broker loop (real RecordBatch v2 bytes appended through
``Broker.produce``, keyed by delivery-partner id) and in-process consumer groups, and, when
``confluent_kafka`` is installed, one real Kafka client producing and one consuming over
TCP so the Clients view has something to show. :meth:`stop` ends all of it (the service
also cancels its background tasks when it stops). Nothing here runs unless asked.
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

from PySide6.QtCore import QTimer

from core.records import build_batch
from desktop.broker_service import BrokerService
from desktop.commands import Commands

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


class DemoWorkload:
    showcase_topic = "gps-updates"
    showcase_group = "analytics"

    def __init__(self, service: BrokerService, commands: Commands) -> None:
        self.service = service
        self.commands = commands
        self._futures: list[Any] = []
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []

    def start(self) -> None:
        pending = len(TOPICS)

        def topic_ready(_result: object, error: BaseException | None) -> None:
            nonlocal pending
            if error is not None:
                log.info("demo topic: %s", error)  # already there from an earlier run
            pending -= 1
            if pending == 0:
                self._start_traffic()

        for name, partitions, configs, _rate, _keys in TOPICS:
            self.commands.create_topic(name, partitions, configs, topic_ready)

    def _start_traffic(self) -> None:
        for name, _partitions, _configs, rate, keys in TOPICS:
            self._futures.append(self.service.spawn(_producer(name, rate, keys)))
        for group, topic, count, assignor, delay in GROUPS:
            self.commands.start_consumers(group, topic, count, assignor, processing_delay_s=delay)
        for group in STOP_LATER:
            QTimer.singleShot(3000, lambda g=group: self._stop_group(g))
        self._start_real_clients()

    def _stop_group(self, group: str) -> None:
        if not self._stop.is_set():
            self.commands.stop_consumers(group)

    def _start_real_clients(self) -> None:
        try:
            import confluent_kafka  # noqa: F401 - optional, only for the demo
        except ImportError:
            return
        bootstrap = self.service.bootstrap
        self._threads = [
            threading.Thread(target=self._real_producer, args=(bootstrap,), daemon=True),
            threading.Thread(target=self._real_consumer, args=(bootstrap,), daemon=True),
        ]
        try:
            import kafka  # noqa: F401 - optional: a second client library in the Clients view
        except ImportError:
            pass
        else:
            self._threads.append(
                threading.Thread(target=self._kafka_python_consumer, args=(bootstrap,), daemon=True)
            )
        for t in self._threads:
            t.start()

    def _real_producer(self, bootstrap: str) -> None:
        from confluent_kafka import Producer

        p = Producer(
            {"bootstrap.servers": bootstrap, "client.id": "checkout-service", "linger.ms": 20}
        )
        n = 0
        while not self._stop.is_set():
            for _ in range(40):
                n += 1
                p.produce("orders", key=f"customer-{n % 37}", value=json.dumps({"order": n}))
            p.poll(0)
            self._stop.wait(0.1)
        p.flush(2)

    def _real_consumer(self, bootstrap: str) -> None:
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
            while not self._stop.is_set():
                c.poll(0.2)
        finally:
            c.close()

    def _kafka_python_consumer(self, bootstrap: str) -> None:
        from kafka import KafkaConsumer

        c = KafkaConsumer(
            "notifications",
            bootstrap_servers=bootstrap,
            group_id="audit-log",
            client_id="audit-log",
            auto_offset_reset="earliest",
        )
        try:
            while not self._stop.is_set():
                c.poll(timeout_ms=200)
        finally:
            c.close()

    def stop(self) -> None:
        self._stop.set()
        for fut in self._futures:
            fut.cancel()
        for t in self._threads:
            t.join(5)
        self._threads = []


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
