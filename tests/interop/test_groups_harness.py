"""Harness for the real-client group tests: one consumer per OS process.

Each member runs as ``python -m tests.interop.test_groups_harness CLIENT BOOTSTRAP GROUP
TOPIC NAME`` (confluent-kafka, also with cooperative-sticky, kafka-python or aiokafka),
subscribes with a rebalance
listener and writes JSON lines to stdout: ``assigned`` / ``revoked`` (with partitions),
``recs`` (partition, offsets, values), ``committed``, ``closing``, ``closed``; every line
carries ``time.monotonic()`` (system-wide on Linux, so comparable with the test's
clock). On stdin it takes ``commit`` and ``close``. A real process means "killed"
is SIGKILL: no LeaveGroup, heartbeats just stop.

:class:`Member` is the test side: it starts the process, collects its lines in a thread,
and offers ``close()`` and ``kill()``. The module defines no tests.
"""

from __future__ import annotations

import json
import queue
import subprocess
import sys
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
SESSION_TIMEOUT_MS = 6000
HEARTBEAT_INTERVAL_MS = 500
AUTO_COMMIT_INTERVAL_MS = 1000


# --- the test side -----------------------------------------------------------------------


class Member:
    def __init__(self, client: str, bootstrap: str, group: str, topic: str, name: str,
                 log_dir: Path) -> None:
        self.client = client
        self.name = name
        self.log_path = log_dir / f"{name}.log"
        self._log = open(self.log_path, "w")  # noqa: SIM115 - closed in _reader
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "tests.interop.test_groups_harness", client, bootstrap,
             group, topic, name],
            cwd=REPO, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self._log,
            text=True, bufsize=1,
        )
        self.records: list[tuple[int, int, str]] = []  # partition, offset, value
        self.events: list[dict] = []
        self.assigned: set[tuple[str, int]] = set()
        self.first_offsets: dict[int, int] = {}
        self.ended_at: float | None = None  # stopped consuming (closing or killed)
        self.committed = threading.Event()
        self.exited = threading.Event()
        self._thread = threading.Thread(target=self._reader, daemon=True)
        self._thread.start()

    def _reader(self) -> None:
        for line in self.proc.stdout:
            try:
                ev = json.loads(line)
            except ValueError:
                continue
            kind = ev["e"]
            if kind == "recs":
                p = ev["p"]
                self.first_offsets.setdefault(p, ev["o"][0])
                self.records.extend((p, o, v) for o, v in zip(ev["o"], ev["v"], strict=True))
                continue
            self.events.append(ev)
            tps = {(t, p) for t, p in ev.get("tps", ())}
            if kind == "assigned":
                self.assigned |= tps
            elif kind == "revoked":
                self.assigned -= tps
            elif kind == "committed":
                self.committed.set()
            elif kind == "closing":
                self.ended_at = ev["t"]
        self.exited.set()
        self._log.close()

    def send(self, command: str) -> None:
        self.proc.stdin.write(command + "\n")
        self.proc.stdin.flush()

    def commit(self, timeout: float = 15) -> None:
        self.committed.clear()
        self.send("commit")
        assert self.committed.wait(timeout), f"{self.name} did not commit: {self.log_tail()}"

    def close(self, timeout: float = 30) -> None:
        """Graceful: the client closes itself (commit + LeaveGroup) and exits."""
        self.send("close")
        self.proc.wait(timeout)
        self.exited.wait(5)

    def kill(self) -> float:
        """SIGKILL: no LeaveGroup. Returns when it died (monotonic)."""
        self.ended_at = time.monotonic()
        self.proc.kill()
        self.proc.wait(10)
        self.exited.wait(5)
        self.assigned = set()
        return self.ended_at

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)

    def log_tail(self, lines: int = 20) -> str:
        try:
            return "\n".join(self.log_path.read_text().splitlines()[-lines:])
        except OSError:
            return ""

    def intervals(self) -> list[tuple[tuple[str, int], float, float]]:
        """(partition, from, to) for each stretch this member owned a partition."""
        out = []
        start: dict[tuple[str, int], float] = {}
        for ev in self.events:
            for t, p in ev.get("tps", ()):
                if ev["e"] == "assigned":
                    start[(t, p)] = ev["t"]
                elif ev["e"] == "revoked" and (t, p) in start:
                    out.append(((t, p), start.pop((t, p)), ev["t"]))
        end = self.ended_at if self.ended_at is not None else time.monotonic()
        out.extend((tp, s, end) for tp, s in start.items())
        return out


def wait_until(predicate, timeout: float, what: str, members=()) -> float:
    """Poll ``predicate`` until true; returns the seconds it took."""
    start = time.monotonic()
    while not predicate():
        if time.monotonic() - start > timeout:
            tails = "\n".join(f"--- {m.name}:\n{m.log_tail()}" for m in members)
            raise AssertionError(f"timed out after {timeout}s waiting for {what}\n{tails}")
        time.sleep(0.05)
    return time.monotonic() - start


def produce(bootstrap: str, topic: str, start: int, count: int, keys: int = 300) -> None:
    """Keyed messages ``k{i % keys}:{i}`` for i in [start, start + count), in order."""
    from confluent_kafka import Producer

    producer = Producer({"bootstrap.servers": bootstrap, "linger.ms": 5,
                         "partitioner": "murmur2_random"})
    for i in range(start, start + count):
        key = f"k{i % keys}"
        while True:
            try:
                producer.produce(topic, key=key.encode(), value=f"{key}:{i}".encode())
                break
            except BufferError:
                producer.poll(0.05)
    assert producer.flush(30) == 0


def check_records(members: list[Member], total: int) -> dict:
    """Every message seen, per-partition offsets and per-key order kept per member.

    Returns figures: distinct, received, duplicates.
    """
    seen: Counter = Counter()
    for m in members:
        last_offset: dict[int, int] = {}
        last_seq: dict[str, int] = defaultdict(lambda: -1)
        for p, offset, value in m.records:
            assert offset > last_offset.get(p, -1), f"{m.name}: partition {p} went back"
            last_offset[p] = offset
            key, seq = value.rsplit(":", 1)
            assert int(seq) > last_seq[key], f"{m.name}: key {key} out of order"
            last_seq[key] = int(seq)
            seen[(p, offset)] += 1
    received = sum(seen.values())
    assert len(seen) == total, f"saw {len(seen)} distinct messages of {total}"
    return {"distinct": len(seen), "received": received, "duplicates": received - total}


def check_exclusive(members: list[Member]) -> None:
    """No partition was owned by two members at the same time."""
    by_tp: dict[tuple[str, int], list[tuple[float, float, str]]] = defaultdict(list)
    for m in members:
        for tp, start, end in m.intervals():
            by_tp[tp].append((start, end, m.name))
    for tp, spans in by_tp.items():
        spans.sort()
        for (_s1, e1, n1), (s2, _e2, n2) in zip(spans, spans[1:], strict=False):
            assert s2 >= e1, f"{tp}: {n2} got it at {s2:.3f} before {n1} let go at {e1:.3f}"


def check_delivery(members: list[Member], total: int) -> dict:
    """Both checks, :func:`check_records` and :func:`check_exclusive`; returns the figures."""
    figures = check_records(members, total)
    check_exclusive(members)
    return figures


def distinct_seen(members: list[Member]) -> int:
    return len({(p, o) for m in members for p, o, _ in m.records})


# --- the member side ---------------------------------------------------------------------


def _emit(kind: str, **data) -> None:
    data["e"] = kind
    data["t"] = time.monotonic()
    sys.stdout.write(json.dumps(data) + "\n")
    sys.stdout.flush()


def _commands() -> queue.Queue:
    q: queue.Queue = queue.Queue()

    def read() -> None:
        for line in sys.stdin:
            q.put(line.strip())
        q.put("close")  # the test went away: leave

    threading.Thread(target=read, daemon=True).start()
    return q


def _emit_batch(by_partition: dict[int, list[tuple[int, str]]]) -> None:
    for p, items in by_partition.items():
        _emit("recs", p=p, o=[o for o, _ in items], v=[v for _, v in items])


def _next_command(commands: queue.Queue) -> str | None:
    """The test's next command ("close", "commit"), or None when it sent none."""
    try:
        return commands.get_nowait()
    except queue.Empty:
        return None


def _emit_polled(got: dict) -> None:
    """kafka-python's and aiokafka's ``{TopicPartition: [record]}`` as ``recs`` lines."""
    batch: dict[int, list[tuple[int, str]]] = defaultdict(list)
    for tp, msgs in got.items():
        batch[tp.partition].extend((m.offset, m.value.decode()) for m in msgs)
    _emit_batch(batch)


def _emit_tps(kind: str, tps) -> None:
    _emit(kind, tps=[(tp.topic, tp.partition) for tp in tps])


def _python_client_settings(bootstrap: str, group: str, name: str) -> dict:
    """kafka-python and aiokafka take the same consumer settings."""
    return dict(
        bootstrap_servers=bootstrap, group_id=group, client_id=name,
        auto_offset_reset="earliest", session_timeout_ms=SESSION_TIMEOUT_MS,
        heartbeat_interval_ms=HEARTBEAT_INTERVAL_MS, enable_auto_commit=True,
        auto_commit_interval_ms=AUTO_COMMIT_INTERVAL_MS,
    )


def _listener(base: type) -> object:
    """A kafka-python or aiokafka rebalance listener (``base``, the client's abstract one;
    aiokafka takes plain functions as well as coroutines) writing ``assigned`` and
    ``revoked`` lines."""

    class Listener(base):
        def on_partitions_revoked(self, revoked):
            _emit_tps("revoked", revoked)

        def on_partitions_assigned(self, assigned):
            _emit_tps("assigned", assigned)

    return Listener()


def _serve(commit: Callable[[], object], poll: Callable[[], None],
           close: Callable[[], object]) -> None:
    """A subscribed member's life, whatever its client: ``poll`` (which writes ``recs``
    lines) until the test says "close", ``commit`` whenever it asks, then ``close``."""
    commands = _commands()
    while True:
        command = _next_command(commands)
        if command == "close":
            break
        if command == "commit":
            commit()
            _emit("committed")
        poll()
    _emit("closing")
    close()
    _emit("closed")


def run_confluent(bootstrap: str, group: str, topic: str, name: str,
                  strategy: str = "range,roundrobin") -> None:
    from confluent_kafka import Consumer

    consumer = Consumer({
        "bootstrap.servers": bootstrap, "group.id": group, "client.id": name,
        "auto.offset.reset": "earliest", "session.timeout.ms": SESSION_TIMEOUT_MS,
        "heartbeat.interval.ms": HEARTBEAT_INTERVAL_MS, "enable.auto.commit": True,
        "auto.commit.interval.ms": AUTO_COMMIT_INTERVAL_MS,
        "partition.assignment.strategy": strategy,
    })
    tps = lambda parts: [(p.topic, p.partition) for p in parts]  # noqa: E731
    consumer.subscribe(
        [topic],
        on_assign=lambda c, parts: _emit("assigned", tps=tps(parts)),
        on_revoke=lambda c, parts: _emit("revoked", tps=tps(parts)),
    )

    def commit() -> None:
        try:
            consumer.commit(asynchronous=False)
        except Exception as exc:  # nothing to commit yet is fine
            print(f"commit: {exc!r}", file=sys.stderr)

    def poll() -> None:
        batch: dict[int, list[tuple[int, str]]] = defaultdict(list)
        for msg in consumer.consume(500, 0.1):
            if msg.error() is None:
                batch[msg.partition()].append((msg.offset(), msg.value().decode()))
        _emit_batch(batch)

    _serve(commit, poll, consumer.close)


def run_kafka_python(bootstrap: str, group: str, topic: str, name: str) -> None:
    from kafka import ConsumerRebalanceListener, KafkaConsumer

    consumer = KafkaConsumer(**_python_client_settings(bootstrap, group, name))
    consumer.subscribe([topic], listener=_listener(ConsumerRebalanceListener))
    _serve(consumer.commit,
           lambda: _emit_polled(consumer.poll(timeout_ms=100, max_records=500)),
           consumer.close)


def run_aiokafka(bootstrap: str, group: str, topic: str, name: str) -> None:
    import asyncio

    from aiokafka import AIOKafkaConsumer, ConsumerRebalanceListener

    async def start() -> AIOKafkaConsumer:
        # aiokafka's default assignor is roundrobin only (KAFKA-NOTES pitfall 7).
        consumer = AIOKafkaConsumer(**_python_client_settings(bootstrap, group, name))
        await consumer.start()
        consumer.subscribe([topic], listener=_listener(ConsumerRebalanceListener))
        return consumer

    # One loop for the consumer's whole life: its background tasks (heartbeats, fetches)
    # run while each call below waits, as they would between the awaits of one coroutine.
    with asyncio.Runner() as runner:
        consumer = runner.run(start())

        def poll() -> None:
            _emit_polled(runner.run(consumer.getmany(timeout_ms=100, max_records=500)))

        _serve(lambda: runner.run(consumer.commit()), poll, lambda: runner.run(consumer.stop()))


def run_confluent_cooperative(bootstrap: str, group: str, topic: str, name: str) -> None:
    """librdkafka with the cooperative-sticky assignor (incremental rebalances)."""
    run_confluent(bootstrap, group, topic, name, strategy="cooperative-sticky")


RUNNERS = {"confluent": run_confluent, "confluent-cooperative": run_confluent_cooperative,
           "kafka-python": run_kafka_python, "aiokafka": run_aiokafka}


if __name__ == "__main__":
    client, bootstrap, group, topic, name = sys.argv[1:6]
    RUNNERS[client](bootstrap, group, topic, name)
