"""Capture the fuzz corpus: request frames real clients send, recorded by a proxy.

Run once (it rewrites ``tests/fuzz_corpus/frames/``)::

    .venv/bin/python tests/fuzz_corpus/capture.py

A broker on 127.0.0.1 (port 0, a temporary data dir) advertises the port of a recording
proxy in front of it (its ``server.port``, what Metadata answers), so every connection a client opens goes through the proxy. The
proxy cuts the client-to-broker byte stream into frames (4-byte size, then the frame)
and keeps each distinct frame (without its size prefix) as
``frames/<client>-k<api key>-v<version>-<sha1 prefix>.bin``, at most
``PER_KIND`` per (client, api key, version) (more for Produce). confluent-kafka, kafka-python and aiokafka
then produce (every codec), consume in a group and commit, list offsets by time, and use
their admin clients. The fuzz tests (tests/core/test_fuzz*.py,
tests/interop/test_fuzz_sockets.py) and benchmarks/fuzz_soak.py mutate these frames.
"""

from __future__ import annotations

import asyncio
import hashlib
import struct
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path

from streamscope.core.config import BrokerConfig
from streamscope.core.node import start_node

OUT = Path(__file__).resolve().parent / "frames"
PER_KIND = 6
# Produce frames carry the batches (and so each codec's bytes): keep more of them.
PER_PRODUCE_KIND = 24
TOPIC = "corpus"


class Recorder:
    """Frames seen per client, deduplicated, capped per (client, key, version)."""

    def __init__(self) -> None:
        self.client = "none"
        self.frames: dict[str, bytes] = {}
        self._kinds: Counter[tuple[str, int, int]] = Counter()
        self._lock = threading.Lock()

    def add(self, frame: bytes) -> None:
        if len(frame) < 8:
            return
        key, version = struct.unpack_from(">hh", frame)
        digest = hashlib.sha1(frame).hexdigest()[:12]
        name = f"{self.client}-k{key}-v{version}-{digest}.bin"
        with self._lock:
            kind = (self.client, key, version)
            cap = PER_PRODUCE_KIND if key == 0 else PER_KIND
            if name in self.frames or self._kinds[kind] >= cap:
                return
            self._kinds[kind] += 1
            self.frames[name] = frame


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
                recorder: Recorder | None) -> None:
    buf = bytearray()
    try:
        while data := await reader.read(1 << 16):
            writer.write(data)
            await writer.drain()
            if recorder is None:
                continue
            buf += data
            while len(buf) >= 4:
                (size,) = struct.unpack_from(">i", buf)
                if len(buf) < 4 + size:
                    break
                recorder.add(bytes(buf[4 : 4 + size]))
                del buf[: 4 + size]
    except ConnectionError:
        pass
    finally:
        writer.close()


async def _serve(recorder: Recorder, ready: threading.Event, stop: asyncio.Event,
                 box: dict) -> None:
    target: dict[str, tuple[str, int]] = {}

    async def on_client(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        host, port = target["broker"]
        up_reader, up_writer = await asyncio.open_connection(host, port)
        await asyncio.gather(_pipe(reader, up_writer, recorder),
                             _pipe(up_reader, writer, None))

    proxy = await asyncio.start_server(on_client, "127.0.0.1", 0)
    proxy_port = proxy.sockets[0].getsockname()[1]
    with tempfile.TemporaryDirectory() as tmp:
        node = await start_node(BrokerConfig(host="127.0.0.1", port=0, data_dir=Path(tmp)))
        target["broker"] = (node.server.host, node.server.port)
        # Metadata and FindCoordinator answer the server's (advertised) port: the proxy's.
        node.server.port = proxy_port
        node.broker.create_topic(TOPIC, 2)
        box["bootstrap"] = f"127.0.0.1:{proxy_port}"
        ready.set()
        await stop.wait()
        proxy.close()
        await node.close()


def _confluent(bootstrap: str) -> None:
    from confluent_kafka import Consumer, Producer, TopicPartition
    from confluent_kafka.admin import AdminClient, ConfigResource, NewTopic

    for codec in ("none", "gzip", "snappy", "lz4", "zstd"):
        p = Producer({"bootstrap.servers": bootstrap, "compression.type": codec,
                      "linger.ms": 5, "enable.idempotence": codec == "zstd"})
        for i in range(20):
            p.produce(TOPIC, key=f"k{i}".encode(), value=f"{codec} value {i}".encode() * 3,
                      headers=[("h", b"v")], partition=i % 2)
        p.flush(10)
    admin = AdminClient({"bootstrap.servers": bootstrap})
    for f in admin.create_topics([NewTopic("corpus-admin", 3, 1)]).values():
        f.result(10)
    admin.list_topics(timeout=10)
    for f in admin.describe_configs([ConfigResource("topic", TOPIC)]).values():
        f.result(10)
    admin.list_consumer_groups().result(10)
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": "corpus-ck",
                  "auto.offset.reset": "earliest", "enable.auto.commit": False})
    c.subscribe([TOPIC])
    got = 0
    deadline = time.monotonic() + 20
    while got < 40 and time.monotonic() < deadline:
        m = c.poll(0.5)
        if m is not None and m.error() is None:
            got += 1
    c.commit(asynchronous=False)
    c.offsets_for_times([TopicPartition(TOPIC, 0, int(time.time() * 1000) - 60_000)], 10)
    c.get_watermark_offsets(TopicPartition(TOPIC, 1), 10)
    c.close()
    for f in admin.describe_consumer_groups(["corpus-ck"]).values():
        f.result(10)
    for f in admin.delete_topics(["corpus-admin"]).values():
        f.result(10)


def _kafka_python(bootstrap: str) -> None:
    from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer, TopicPartition
    from kafka.admin import NewTopic

    for codec in (None, "gzip"):
        p = KafkaProducer(bootstrap_servers=bootstrap, compression_type=codec)
        for i in range(10):
            p.send(TOPIC, key=b"kp%d" % i, value=b"kafka-python %d" % i,
                   headers=[("h", b"v")])
        p.flush(10)
        p.close()
    admin = KafkaAdminClient(bootstrap_servers=bootstrap)
    admin.create_topics([NewTopic("corpus-kp", 1, 1)])
    admin.list_topics()
    admin.list_groups()
    admin.describe_cluster()
    c = KafkaConsumer(TOPIC, bootstrap_servers=bootstrap, group_id="corpus-kp",
                      auto_offset_reset="earliest", enable_auto_commit=False,
                      consumer_timeout_ms=3000)
    for _i, _m in zip(range(30), c, strict=False):
        pass
    c.commit()
    c.offsets_for_times({TopicPartition(TOPIC, 0): int(time.time() * 1000) - 60_000})
    c.close()
    admin.describe_groups(["corpus-kp"])
    admin.list_group_offsets("corpus-kp")
    admin.delete_topics(["corpus-kp"])
    admin.close()


def _aiokafka(bootstrap: str) -> None:
    from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

    async def run() -> None:
        p = AIOKafkaProducer(bootstrap_servers=bootstrap, compression_type="gzip")
        await p.start()
        for i in range(10):
            await p.send_and_wait(TOPIC, b"aiokafka %d" % i, key=b"ak%d" % i)
        await p.stop()
        c = AIOKafkaConsumer(TOPIC, bootstrap_servers=bootstrap, group_id="corpus-ak",
                             auto_offset_reset="earliest", enable_auto_commit=False)
        await c.start()
        await c.getmany(timeout_ms=3000)
        await c.commit()
        await c.offsets_for_times({TopicPartition(TOPIC, 1): int(time.time() * 1000) - 60_000})
        await c.stop()

    asyncio.run(run())


def main() -> int:
    recorder = Recorder()
    ready = threading.Event()
    box: dict[str, str] = {}
    loop = asyncio.new_event_loop()
    stop = asyncio.Event()
    thread = threading.Thread(
        target=loop.run_until_complete, args=(_serve(recorder, ready, stop, box),))
    thread.start()
    try:
        if not ready.wait(30):
            raise SystemExit("broker did not start")
        for name, run in (("confluent", _confluent), ("kafkapython", _kafka_python),
                          ("aiokafka", _aiokafka)):
            recorder.client = name
            run(box["bootstrap"])
    finally:
        loop.call_soon_threadsafe(stop.set)
        thread.join(30)
    OUT.mkdir(exist_ok=True)
    for old in OUT.glob("*.bin"):
        old.unlink()
    for name, frame in sorted(recorder.frames.items()):
        (OUT / name).write_bytes(frame)
    kinds = Counter(n.split("-v")[0] for n in recorder.frames)
    print(f"{len(recorder.frames)} frames, {sum(map(len, recorder.frames.values()))} bytes")
    for kind, n in sorted(kinds.items()):
        print(f"  {kind}: {n}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
