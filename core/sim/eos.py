"""Lesson 10, exactly-once: consume-transform-produce with a crash in the middle, run twice.

Contract:

* :func:`run_transform` runs the experiment against ``bootstrap`` with real confluent-kafka
  clients (Kafka's own semantics, nothing simulated): ``records`` location updates of
  ``partners`` delivery partners (deterministic for a seed, key = partner id) are written
  to an input topic; a *transformer* reads them in a consumer group and writes one
  "progress" record per update (key = partner id, value = msgpack ``{partner, seq, km}``,
  the distance travelled so far) to an output topic.
* The transformer is a child process (``python -m streamscope.core.sim.eos``). The first
  instance SIGKILLs itself after producing ``crash_after`` outputs, in the middle of a
  batch: its outputs of that batch are flushed to the broker (acknowledged), its input
  offsets are not committed. A second instance with the same identity (static group
  member id, and with exactly-once the same ``transactional.id``) takes over from the
  group's committed offsets and runs to the end of the input.
* ``exactly_once=False`` (at least once): a plain idempotent producer; offsets are
  committed after each batch's outputs are acknowledged. The crashed batch is processed
  again: its outputs are in the output topic twice.
* ``exactly_once=True``: a transactional producer (``transactional.id``), one transaction
  per batch holding the outputs *and* the input offsets (``send_offsets_to_transaction``),
  and a ``read_committed`` consumer. The second instance's ``init_transactions`` fences the
  dead one and the coordinator aborts its open transaction: its outputs stay in the log,
  marked aborted, and ``read_committed`` readers never see them.
* :class:`TransformResult` counts the output topic read back twice from its offsets before
  the run: ``read_committed`` (what a downstream service sees: duplicates and missing by
  ``(partner, seq)``) and ``read_uncommitted`` (every record appended, aborted ones too).
* ``bootstrap`` is an address (PLAINTEXT) or an external cluster's ``ExternalSettings``:
  every client, the child's too, connects with its :func:`~.remote.client_config`
  (SSL, SASL); the child gets it through the environment (``STREAMSCOPE_KAFKA_CONFIG``),
  never on its command line.
* Every client call runs in a worker thread or the child; the caller's loop only waits.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass
from typing import TYPE_CHECKING

import msgpack
from confluent_kafka import Consumer, Producer, TopicPartition
from streamscope.core.sim.faults import ensure_topic, partition_offsets, read_back, updates_for
from streamscope.core.sim.partners import decode_update, encode_update
from streamscope.core.sim.remote import client_config

if TYPE_CHECKING:
    from streamscope.core.monitor.external import ExternalSettings

BATCH = 20  # input records per batch (and per transaction)
# The child's librdkafka connection settings (JSON), security included: by environment.
CONFIG_ENV = "STREAMSCOPE_KAFKA_CONFIG"
# The transformer's group and static member id, one pair per mode (the source topics
# differ): the restarted instance takes over its dead predecessor's partitions at once.
GROUP = "streamscope-lesson-transformer-{mode}"
INSTANCE = "transformer-{mode}-1"


@dataclass(frozen=True, slots=True)
class TransformResult:
    exactly_once: bool
    records: int  # input updates
    crashed_after: int  # outputs the first instance produced before it was killed
    committed_view: int  # output records a read_committed reader sees
    duplicates: int  # of those, copies of an update already seen
    missing: int  # input updates with no output a read_committed reader sees
    in_log: int  # output records appended (read_uncommitted), aborted ones included
    aborted: int  # in_log - committed_view: appended, then aborted


def topics_for(exactly_once: bool) -> tuple[str, str]:
    mode = "exactly-once" if exactly_once else "at-least-once"
    return f"locations-{mode}", f"progress-{mode}"


async def run_transform(
    bootstrap: str | ExternalSettings, *, exactly_once: bool, records: int = 200, crash_after: int = 90,
    partitions: int = 3, partners: int = 8, seed: int = 1, timeout_s: float = 60.0,
) -> TransformResult:
    """The experiment (module contract). Runs on the broker's loop."""
    if not 0 < crash_after < records or partitions < 1 or partners < 1:
        raise ValueError("need 0 < crash_after < records and positive partitions, partners")
    source, sink = topics_for(exactly_once)
    for topic in (source, sink):
        await asyncio.to_thread(ensure_topic, bootstrap, topic, partitions, timeout_s)
    updates = await asyncio.to_thread(updates_for, records, partners, seed)
    before = await asyncio.to_thread(partition_offsets, bootstrap, sink, timeout_s)
    await asyncio.to_thread(_produce_input, bootstrap, source, updates, timeout_s)
    first = await _instance(bootstrap, source, sink, exactly_once, crash_after, timeout_s)
    if first.returncode != -signal.SIGKILL:
        raise RuntimeError(f"the first transformer did not crash as planned: {first.detail}")
    second = await _instance(bootstrap, source, sink, exactly_once, None, timeout_s)
    if second.returncode != 0:
        raise RuntimeError(f"the second transformer failed: {second.detail}")
    after = await asyncio.to_thread(partition_offsets, bootstrap, sink, timeout_s)
    ranges = {p: (max(before.get(p, (0, 0))[1], lo), hi) for p, (lo, hi) in after.items()}
    committed = await asyncio.to_thread(read_back, bootstrap, sink, ranges, timeout_s,
                                        committed_only=True, decode=_progress)
    everything = await asyncio.to_thread(read_back, bootstrap, sink, ranges, timeout_s,
                                         decode=_progress)
    counts = Counter(committed)
    expected = {(u.partner, u.seq) for u in updates}
    return TransformResult(
        exactly_once=exactly_once, records=records, crashed_after=crash_after,
        committed_view=len(committed), duplicates=len(committed) - len(counts),
        missing=len(expected - counts.keys()), in_log=len(everything),
        aborted=len(everything) - len(committed),
    )


@dataclass(frozen=True, slots=True)
class _Exit:
    returncode: int
    detail: str


async def _instance(bootstrap: str | ExternalSettings, source: str, sink: str,
                    exactly_once: bool, crash_after: int | None, timeout_s: float) -> _Exit:
    conf = client_config(bootstrap)
    # The connection (its password included) goes by the environment, never the command
    # line, where other users could read it from the process list.
    env = {**os.environ, CONFIG_ENV: json.dumps(conf)}
    args = [sys.executable, "-m", "streamscope.core.sim.eos", "--bootstrap",
            str(conf["bootstrap.servers"]),
            "--source", source, "--sink", sink, "--timeout", str(timeout_s)]
    if exactly_once:
        args.append("--exactly-once")
    if crash_after is not None:
        args += ["--crash-after", str(crash_after)]

    def run() -> _Exit:
        try:
            done = subprocess.run(args, capture_output=True, text=True, timeout=timeout_s + 15,
                                  env=env)
        except subprocess.TimeoutExpired:
            return _Exit(-1, f"no exit within {timeout_s + 15:.0f} s")
        return _Exit(done.returncode, (done.stderr or done.stdout)[-2000:])

    return await asyncio.to_thread(run)


def _produce_input(bootstrap: str | ExternalSettings, topic: str, updates: list,
                   timeout_s: float) -> None:
    producer = Producer({**client_config(bootstrap), "enable.idempotence": True,
                         "linger.ms": 5, "partitioner": "murmur2_random"})
    for u in updates:
        producer.produce(topic, encode_update(u), u.key, timestamp=u.ts)
        producer.poll(0)
    if producer.flush(timeout_s):
        raise TimeoutError(f"input records to {topic} not acknowledged within {timeout_s} s")


def _progress(value: bytes) -> tuple[str, int]:
    obj = msgpack.unpackb(value)
    return obj["partner"], obj["seq"]


# --- the transformer (a child process) ------------------------------------------------


def transform(bootstrap: str, source: str, sink: str, *, exactly_once: bool,
              crash_after: int | None, timeout_s: float) -> int:
    """Read ``source`` to its end in the group, write one output per update; with
    ``crash_after``, SIGKILL this process once that many outputs were acknowledged."""
    mode = "exactly-once" if exactly_once else "at-least-once"
    base = {"bootstrap.servers": bootstrap, **json.loads(os.environ.get(CONFIG_ENV, "{}"))}
    consumer = Consumer({
        **base, "group.id": GROUP.format(mode=mode),
        "group.instance.id": INSTANCE.format(mode=mode),
        "enable.auto.commit": False, "auto.offset.reset": "earliest",
        "isolation.level": "read_committed", "session.timeout.ms": 10_000,
    })
    conf = {**base, "enable.idempotence": True, "linger.ms": 5,
            "partitioner": "murmur2_random"}
    if exactly_once:
        conf["transactional.id"] = f"streamscope-lesson-transformer-{mode}"
        conf["transaction.timeout.ms"] = 60_000
    producer = Producer(conf)
    if exactly_once:
        producer.init_transactions(timeout_s)  # fences a dead instance, aborting its work
    consumer.subscribe([source])
    km: dict[str, float] = {}
    last_xy: dict[str, tuple[float, float]] = {}
    produced = 0
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        batch = [m for m in consumer.consume(BATCH, timeout=1.0) if m.error() is None]
        if not batch:
            if _at_end(consumer, source):
                break
            continue
        if exactly_once:
            producer.begin_transaction()
        for msg in batch:
            u = decode_update(msg.value())
            x0, y0 = last_xy.get(u.partner, (u.x, u.y))
            km[u.partner] = km.get(u.partner, 0.0) + math.hypot(u.x - x0, u.y - y0) / 1000
            last_xy[u.partner] = (u.x, u.y)
            value = msgpack.packb({"partner": u.partner, "seq": u.seq,
                                   "km": round(km[u.partner], 3)})
            producer.produce(sink, value, u.partner.encode())
            produced += 1
            if crash_after is not None and produced >= crash_after:
                producer.flush(timeout_s)  # these outputs reach the broker...
                os.kill(os.getpid(), signal.SIGKILL)  # ...and nothing after them does
        positions = [TopicPartition(source, m.partition(), m.offset() + 1)
                     for m in _last_per_partition(batch)]
        if exactly_once:
            producer.send_offsets_to_transaction(
                positions, consumer.consumer_group_metadata(), timeout_s)
            producer.commit_transaction(timeout_s)
        else:
            if producer.flush(timeout_s):
                raise TimeoutError("outputs not acknowledged")
            consumer.commit(offsets=positions, asynchronous=False)
    else:
        raise TimeoutError(f"{source} not read to its end within {timeout_s} s")
    consumer.close()
    return 0


def _last_per_partition(batch: list) -> list:
    last = {}
    for m in batch:
        last[m.partition()] = m
    return list(last.values())


def _at_end(consumer: Consumer, topic: str) -> bool:
    """Every assigned partition's position (or, where nothing was read yet, its committed
    offset) is at its high watermark."""
    assigned = consumer.assignment()
    if not assigned:
        return False
    positions = consumer.position(assigned)
    unread = [tp for tp in positions if tp.offset < 0]
    committed = {(tp.topic, tp.partition): tp.offset
                 for tp in (consumer.committed(unread, timeout=5.0) if unread else [])}
    for tp in positions:
        at = tp.offset if tp.offset >= 0 else committed.get((tp.topic, tp.partition), -1)
        lo, hi = consumer.get_watermark_offsets(tp, timeout=5.0, cached=False)
        if at < 0 and hi > lo:
            return False
        if at >= 0 and at < hi:
            return False
    return True


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m streamscope.core.sim.eos",
                                     description="The lesson's transformer (see the module).")
    parser.add_argument("--bootstrap", required=True)
    parser.add_argument("--source", required=True)
    parser.add_argument("--sink", required=True)
    parser.add_argument("--exactly-once", action="store_true")
    parser.add_argument("--crash-after", type=int)
    parser.add_argument("--timeout", type=float, default=60.0)
    a = parser.parse_args(argv)
    return transform(a.bootstrap, a.source, a.sink, exactly_once=a.exactly_once,
                     crash_after=a.crash_after, timeout_s=a.timeout)


if __name__ == "__main__":
    sys.exit(main())
