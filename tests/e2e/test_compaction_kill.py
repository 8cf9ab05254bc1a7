"""A real ``streamscope broker`` process SIGKILLed while its log cleaner is swapping
segments (its I/O bound set low so a pass takes a while): after each kill the partition
opens with no ``*.cleaned`` file left, every record in it is one that was produced, at
its own offset, and every key's latest value is still there; a last restart finishes the
cleaning and a confluent-kafka consumer reads exactly the latest value per key.

The topic is switched from delete to compact (IncrementalAlterConfigs) once every record
is in, so the first pass cleans the whole log. The kill moments: the pass's first merged
group swapped in (fewer segment files: a condition on the data dir), then a delay drawn
from a seeded RNG inside the pass.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

from confluent_kafka import Consumer, KafkaError, KafkaException, Producer
from confluent_kafka.admin import (
    AdminClient,
    AlterConfigOpType,
    ConfigEntry,
    ConfigResource,
    NewTopic,
    ResourceType,
)
from streamscope.core.config import LogConfig
from streamscope.core.log import PartitionLog
from streamscope.core.records import iter_all_records, iter_batches

HANG_S = 60
CYCLES = 4
SEED = 29
TOPIC = "kv"
RATE = 1_500_000  # the cleaner's bytes per second: a pass over ~1 MB takes ~1.5 s
KEYS = 1500  # drawn at random: every segment loses some records, many groups to swap


class Broker:
    """``streamscope broker`` on port 0 in its own session; ``port`` once listening."""

    def __init__(self, data_dir: Path) -> None:
        exe = Path(sys.executable).with_name("streamscope")
        self.proc = subprocess.Popen(
            [str(exe), "broker", "--listen", "127.0.0.1:0", "--data-dir", str(data_dir),
             "--log-cleaner-backoff-ms", "50",
             "--log-cleaner-io-max-bytes-per-second", str(RATE)],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
            text=True, start_new_session=True)
        self.port = 0
        self.lines: list[str] = []
        self._listening = threading.Event()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            self.lines.append(line.rstrip())
            if not self.port and "listening on " in line:
                self.port = int(line.rsplit(":", 1)[1])
                self._listening.set()
        self._listening.set()

    @property
    def bootstrap(self) -> str:
        if not self._listening.wait(HANG_S) or not self.port:
            self.kill()
            raise RuntimeError("broker did not listen:\n" + "\n".join(self.lines[-15:]))
        return f"127.0.0.1:{self.port}"

    def kill(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(HANG_S)


def wait_for(check, what: str) -> None:
    deadline = time.monotonic() + HANG_S
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.005)


def produce_all(bootstrap: str) -> dict[int, tuple[bytes, bytes]]:
    admin = AdminClient({"bootstrap.servers": bootstrap})
    # Created with the delete policy and switched to compact once every record is in:
    # the first pass then cleans the whole log (a pass during producing would be short).
    configs = {"segment.bytes": "32768", "min.cleanable.dirty.ratio": "0.01"}
    for fut in admin.create_topics([NewTopic(TOPIC, 1, 1, config=configs)]).values():
        fut.result(timeout=15)
    producer = Producer({"bootstrap.servers": bootstrap, "acks": "all", "linger.ms": 0})
    sent: dict[int, tuple[bytes, bytes]] = {}

    def done(err, msg) -> None:
        assert err is None, err
        sent[msg.offset()] = (msg.key(), msg.value())

    rng = random.Random(SEED)
    for i in range(3000):
        producer.produce(TOPIC, key=f"key{rng.randrange(KEYS)}".encode(), value=rng.randbytes(300),
                         partition=0, on_delivery=done)
        if i % 20 == 19:
            assert producer.flush(15) == 0  # many small batches, many segments
    assert producer.flush(15) == 0
    change = ConfigResource(ResourceType.TOPIC, TOPIC, incremental_configs=[
        ConfigEntry("cleanup.policy", "compact", incremental_operation=AlterConfigOpType.SET)])
    admin.incremental_alter_configs([change])[change].result(timeout=15)
    return sent


def segment_files(part: Path) -> int:
    return sum(1 for n in os.listdir(part) if n.endswith(".log"))


def cleaned_files(part: Path) -> list[str]:
    return [n for n in os.listdir(part) if n.endswith(".cleaned")]


def finished(part: Path) -> bool:
    """The checkpoint has reached the active segment: a whole pass completed."""
    try:
        state = json.loads((part / "cleaner-checkpoint").read_text())
    except (FileNotFoundError, ValueError):
        return False
    bases = sorted(int(n[:20]) for n in os.listdir(part) if n.endswith(".log"))
    return state["clean_offset"] == bases[-1]


def check_on_disk(part: Path, sent: dict[int, tuple[bytes, bytes]]) -> int:
    """Open the log as the broker would after the crash; how many records it holds."""
    log = PartitionLog.open(part, LogConfig(cleanup_policy="compact"), topic=TOPIC)
    try:
        assert not cleaned_files(part)  # a swap in progress was discarded
        assert log.log_end_offset == len(sent)
        seen = {}
        offset = 0
        while offset < log.log_end_offset:
            data = log.read(offset, 1 << 20)
            for r in iter_all_records(data):
                if r.offset >= offset:
                    assert sent[r.offset] == (r.key, r.value), r.offset
                    seen[r.offset] = r.key
            offset = max(h.base_offset + h.last_offset_delta for h, _v in iter_batches(data)) + 1
        latest = {}
        for off, (key, _value) in sent.items():
            latest[key] = off
        assert set(latest.values()) <= set(seen)  # every key's latest value is there
        return len(seen)
    finally:
        log.close()


def test_sigkill_mid_clean_leaves_old_or_new_segments(tmp_path: Path) -> None:
    data = tmp_path / "data"
    part = data / f"{TOPIC}-0"
    rng = random.Random(SEED)
    sent: dict[int, tuple[bytes, bytes]] = {}
    counts = []
    kills = 0
    for cycle in range(CYCLES):
        broker = Broker(data)
        try:
            bs = broker.bootstrap
            if cycle == 0:
                sent = produce_all(bs)
            # Mid-pass: a merged group has been swapped in (fewer segment files), then a
            # while more (unless an earlier cycle got far enough for this pass to end).
            start = segment_files(part)
            wait_for(lambda start=start: segment_files(part) < start or finished(part),
                     "a cleaner swap")
            if finished(part):
                break
            time.sleep(rng.uniform(0, 0.15))  # the kill moment, from the seeded RNG
        finally:
            broker.kill()
        kills += 1
        counts.append(check_on_disk(part, sent))
    print("records on disk after each kill:", counts, "of", len(sent))
    assert kills >= 2
    assert counts[-1] < len(sent)  # passes were interrupted, yet cleaning made progress
    # A last run finishes the job: the checkpoint reaches the active segment.
    broker = Broker(data)
    try:
        bs = broker.bootstrap

        wait_for(lambda: finished(part), "the cleaner to finish")
        consumer = Consumer({"bootstrap.servers": bs, "group.id": "check",
                             "auto.offset.reset": "earliest", "enable.partition.eof": True})
        got = []
        try:
            consumer.subscribe([TOPIC])
            deadline = time.monotonic() + HANG_S
            while time.monotonic() < deadline:
                msg = consumer.poll(0.5)
                if msg is None:
                    continue
                if msg.error():
                    if msg.error().code() == KafkaError._PARTITION_EOF:
                        break
                    raise KafkaException(msg.error())
                got.append((msg.offset(), msg.key(), msg.value()))
        finally:
            consumer.close()
    finally:
        broker.kill()
    active = max(int(n[:20]) for n in os.listdir(part) if n.endswith(".log"))
    cleaned = [g for g in got if g[0] < active]
    assert len({k for _o, k, _v in cleaned}) == len(cleaned)  # one per key
    latest = {}
    for off, (key, value) in sorted(sent.items()):
        latest[key] = (off, key, value)
    assert {k: (o, v) for o, k, v in got} == {k: (o, v) for o, k, v in latest.values()}
    assert all(sent[o] == (k, v) for o, k, v in got)
