"""Kill cycles: a broker process SIGKILLed at random moments under a real idempotent
producer and a committing consumer group; after every restart nothing acknowledged is
lost or duplicated, the log is whole, commits and topic metadata are intact.

Usage (from the repo root)::

    .venv/bin/python benchmarks/soak_kill.py --cycles 200 --fsync always
    .venv/bin/python benchmarks/soak_kill.py --cycles 200 --fsync interval --seed 7

The harness (also used by ``tests/e2e/test_kill_cycles.py``, with fewer cycles):

* The broker is a subprocess: ``streamscope broker --listen 127.0.0.1:PORT --data-dir D
  --fsync MODE`` (PORT 0 the first time, read from its ``listening on`` line on stderr;
  the same port afterwards, so clients started early find it).
* Each cycle starts one client process (``soak_kill.py client``, confluent-kafka): an
  idempotent producer (acks=all, linger 5 ms) sending unique values round-robin over the
  topic's partitions, and a consumer in group ``soak`` (subscribe, manual commits,
  synchronous, every ~50 ms). It reports on stdout: each delivery report (partition,
  offset, value), each acknowledged commit, the committed offsets it was assigned with
  and the first offset it then consumed per partition.
* Once the producer has its first acknowledgement, the broker is SIGKILLed after a random
  (seeded) 0.01-0.4 s, while records and commits are in flight; the client is killed a
  moment later (a report it had not printed only makes the check smaller).
* After each restart (with ``--overlap``, as the test does, while the next cycle's
  client already runs: its new values and growing commits cannot hide a loss): the
  topic exists with its partition count and its configs; the whole log is read back by
  a confluent-kafka consumer with CRC checks (offsets dense from the log start to the
  log end, no value twice); every
  acknowledged record is at its reported (partition, offset); every acknowledged commit
  survived (committed >= it) and no committed offset lies beyond the log end. The
  cycle's client then checks the group resumes from its commits: the first offset
  consumed per partition is the committed one (the log start if none).

SIGKILL kills the process, not the machine: the page cache survives, so both fsync modes
must lose nothing here (power loss is what ``--fsync always`` adds).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

TOPIC = "soak"
GROUP = "soak"
PARTITIONS = 3
# Small segments, so kills also land on rolls; a config that must survive restarts.
TOPIC_CONFIGS = {"segment.bytes": "65536", "retention.ms": "86400000"}
HANG_S = 60.0  # only a hang reaches it
KILL_AFTER_S = (0.01, 0.4)  # after the first acknowledgement
CLIENT_GRACE_S = 0.1  # after the broker's death, for reports already received


# --- results --------------------------------------------------------------------------


@dataclass
class Totals:
    cycles: int = 0
    acked: int = 0  # acknowledged records (each distinct)
    acked_checks: int = 0  # acknowledged records looked up, summed over restarts
    lost: int = 0
    duplicated: int = 0
    misplaced: int = 0  # present, but not at the acknowledged offset
    commits_checked: int = 0
    resumes_checked: int = 0
    records_read: int = 0  # the whole log read back, summed over restarts
    problems: list[str] = field(default_factory=list)

    def line(self, fsync: str, seconds: float) -> str:
        return (
            f"fsync={fsync} cycles={self.cycles} acknowledged={self.acked} "
            f"acknowledged-checks={self.acked_checks} lost={self.lost} "
            f"duplicated={self.duplicated} misplaced={self.misplaced} "
            f"commits-checked={self.commits_checked} resumes-checked={self.resumes_checked} "
            f"records-read-back={self.records_read} problems={len(self.problems)} "
            f"seconds={seconds:.1f}"
        )


# --- the broker process ---------------------------------------------------------------


def broker_command() -> list[str]:
    script = Path(sys.executable).with_name("streamscope")
    if script.exists():
        return [str(script), "broker"]
    found = shutil.which("streamscope")
    if found:
        return [found, "broker"]
    raise RuntimeError("the streamscope command is not installed next to this Python")


class BrokerProcess:
    """``streamscope broker`` in a subprocess; ``port`` once it is listening."""

    def __init__(self, data_dir: Path, fsync: str, port: int) -> None:
        self.proc = subprocess.Popen(
            [*broker_command(), "--listen", f"127.0.0.1:{port}", "--data-dir", str(data_dir),
             "--fsync", fsync],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
            text=True, start_new_session=True,
        )
        self.port = 0
        self.lines: list[str] = []
        self._listening = threading.Event()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            self.lines.append(line.rstrip())
            if not self.port and "listening on " in line:
                self.port = int(line.rsplit(":", 1)[1])
                self._listening.set()
        self._listening.set()  # exited: stop waiting

    def wait_listening(self) -> int:
        if not self._listening.wait(HANG_S) or not self.port:
            self.kill()
            tail = "\n".join(self.lines[-15:])
            raise RuntimeError(f"broker did not start listening:\n{tail}")
        return self.port

    def kill(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(HANG_S)
        self._reader.join(HANG_S)


# --- the client process (runs as `soak_kill.py client ...`) -----------------------------


class ClientProcess:
    """One cycle's producer + group consumer in a child process; its reports parsed."""

    def __init__(self, bootstrap: str, cycle: int, rate: int) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, str(Path(__file__).resolve()), "client", "--bootstrap", bootstrap,
             "--cycle", str(cycle), "--rate", str(rate)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            text=True, start_new_session=True,
        )
        self.acks: list[tuple[int, int, str]] = []
        self.commits: dict[int, int] = {}  # partition -> last acknowledged commit
        self.assigned: dict[int, int] = {}  # partition -> committed offset at assignment
        self.first: dict[int, int] = {}  # partition -> first offset consumed
        self.errors: list[tuple[float, str]] = []
        self.first_ack = threading.Event()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def go(self) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write("go\n")
        self.proc.stdin.flush()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            kind, _, rest = line.rstrip("\n").partition(" ")
            if kind == "A":
                p, off, value = rest.split(" ", 2)
                self.acks.append((int(p), int(off), value))
                self.first_ack.set()
            elif kind == "C":
                p, off = rest.split()
                self.commits[int(p)] = max(self.commits.get(int(p), -1), int(off))
            elif kind == "K":
                p, off = rest.split()
                self.assigned.setdefault(int(p), int(off))
            elif kind == "F":
                p, off = rest.split()
                self.first.setdefault(int(p), int(off))
            elif kind == "E":
                self.errors.append((time.monotonic(), rest))
        self.first_ack.set()  # exited: stop waiting

    def kill(self) -> str:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(HANG_S)
        self._reader.join(HANG_S)
        assert self.proc.stderr is not None
        return self.proc.stderr.read()[-2000:]


def client_main(bootstrap: str, cycle: int, rate: int) -> None:
    from confluent_kafka import Consumer, KafkaError, Producer, TopicPartition

    out = sys.stdout
    lock = threading.Lock()

    def emit(text: str) -> None:
        with lock:
            out.write(text + "\n")

    if sys.stdin.readline().strip() != "go":
        return
    producer = Producer({
        "bootstrap.servers": bootstrap, "enable.idempotence": True, "acks": "all",
        "linger.ms": 5, "message.timeout.ms": 60000,
    })
    consumer = Consumer({
        "bootstrap.servers": bootstrap, "group.id": GROUP, "enable.auto.commit": False,
        "auto.offset.reset": "earliest", "check.crcs": True, "session.timeout.ms": 6000,
        "heartbeat.interval.ms": 500, "fetch.wait.max.ms": 50,
    })

    def report(err: KafkaError | None, msg: object) -> None:
        if err is None:
            emit(f"A {msg.partition()} {msg.offset()} {msg.value().decode()}")  # type: ignore[attr-defined]
        else:
            emit(f"E delivery {err}")

    def on_assign(c: Consumer, parts: list[TopicPartition]) -> None:
        for tp in c.committed(parts, timeout=30):
            emit(f"K {tp.partition} {tp.offset}")

    consumer.subscribe([TOPIC], on_assign=on_assign)
    seq = 0
    start = time.monotonic()
    positions: dict[int, int] = {}
    committed: dict[int, int] = {}
    last_commit = start
    while True:
        due = int((time.monotonic() - start) * rate) + 1
        while seq < due:
            value = f"{cycle}:{seq}"
            try:
                producer.produce(TOPIC, value.encode(), partition=seq % PARTITIONS,
                                 on_delivery=report)
            except BufferError:
                break
            seq += 1
        producer.poll(0)
        for msg in consumer.consume(num_messages=500, timeout=0.005):
            err = msg.error()
            if err is not None:
                if err.code() != KafkaError._PARTITION_EOF:
                    emit(f"E consume {err}")
                continue
            p = msg.partition()
            if p not in positions:
                emit(f"F {p} {msg.offset()}")
            positions[p] = msg.offset() + 1
        now = time.monotonic()
        todo = {p: o for p, o in positions.items() if committed.get(p) != o}
        if todo and now - last_commit > 0.05:
            last_commit = now
            try:
                done = consumer.commit(
                    offsets=[TopicPartition(TOPIC, p, o) for p, o in todo.items()],
                    asynchronous=False)
            except Exception as exc:  # noqa: BLE001 - reported, the parent judges it
                emit(f"E commit {exc}")
                continue
            for tp in done or []:
                if tp.error is None:
                    committed[tp.partition] = tp.offset
                    emit(f"C {tp.partition} {tp.offset}")
        with lock:
            out.flush()


# --- verification -----------------------------------------------------------------------


@dataclass
class History:
    """What the clients were told, over all cycles so far."""

    acked: dict[str, tuple[int, int]] = field(default_factory=dict)  # value -> (p, offset)
    commits: dict[int, int] = field(default_factory=dict)  # partition -> last acked commit


# Long-lived checking clients reconnect quickly to a broker restarted on the same port.
_QUICK_RECONNECT = {"reconnect.backoff.ms": 20, "reconnect.backoff.max.ms": 200,
                    "log_level": 0}


class Verifier:
    """The checking clients (an AdminClient, a group-less consumer with CRC checks), new
    after every restart (librdkafka clients kept across a restart can hold stale
    metadata), made while the broker recovers when its port is known."""

    def __init__(self, bootstrap: str) -> None:
        from confluent_kafka import Consumer
        from confluent_kafka.admin import AdminClient

        self.bootstrap = bootstrap
        self.admin = AdminClient({"bootstrap.servers": bootstrap, **_QUICK_RECONNECT})
        self.consumer = Consumer({
            "bootstrap.servers": bootstrap, "group.id": "soak-verifier",
            "enable.auto.commit": False, "check.crcs": True, "enable.partition.eof": True,
            "fetch.max.bytes": 8 << 20, "fetch.wait.max.ms": 10, **_QUICK_RECONNECT,
        })

    def close(self) -> None:
        self.consumer.close()
        del self.admin

    def read_all(self) -> tuple[dict[int, list[tuple[int, str]]], dict[int, tuple[int, int]],
                                list[str]]:
        """Every record of the topic, read with CRC checks: per partition
        [(offset, value)], (low, high) watermarks, and problems seen while reading."""
        from confluent_kafka import OFFSET_BEGINNING, KafkaError, TopicPartition

        consumer = self.consumer
        problems: list[str] = []
        records: dict[int, list[tuple[int, str]]] = {p: [] for p in range(PARTITIONS)}
        marks: dict[int, tuple[int, int]] = {}
        for p in range(PARTITIONS):
            marks[p] = consumer.get_watermark_offsets(TopicPartition(TOPIC, p), timeout=HANG_S)
        pending = {p for p in range(PARTITIONS) if marks[p][1] > marks[p][0]}
        consumer.assign([TopicPartition(TOPIC, p, OFFSET_BEGINNING) for p in sorted(pending)])
        try:
            deadline = time.monotonic() + HANG_S
            while pending and time.monotonic() < deadline:
                for msg in consumer.consume(num_messages=5000, timeout=0.2):
                    err = msg.error()
                    if err is not None:
                        if err.code() == KafkaError._PARTITION_EOF:
                            if msg.offset() >= marks[msg.partition()][1]:
                                pending.discard(msg.partition())
                        else:
                            problems.append(f"reading back: {err}")
                        continue
                    p = msg.partition()
                    if msg.offset() >= marks[p][1]:
                        pending.discard(p)  # the next cycle's records: not this check's
                        continue
                    records[p].append((msg.offset(), msg.value().decode()))
                    if msg.offset() + 1 == marks[p][1]:
                        pending.discard(p)
            if pending:
                problems.append(f"reading back: partitions {sorted(pending)} not read to the end")
        finally:
            consumer.unassign()
        return records, marks, problems

    def check_topic(self) -> list[str]:
        from confluent_kafka.admin import ConfigResource

        md = self.admin.list_topics(TOPIC, timeout=HANG_S)
        t = md.topics.get(TOPIC)
        if t is None or t.error is not None:
            return [f"topic {TOPIC} missing after restart ({t.error if t else 'absent'})"]
        problems = []
        if len(t.partitions) != PARTITIONS:
            problems.append(f"topic has {len(t.partitions)} partitions, not {PARTITIONS}")
        res = ConfigResource(ConfigResource.Type.TOPIC, TOPIC)
        configs = self.admin.describe_configs([res])[res].result(timeout=HANG_S)
        for name, want in TOPIC_CONFIGS.items():
            got = configs[name].value if name in configs else None
            if got != want:
                problems.append(f"topic config {name} is {got!r}, not {want!r}")
        return problems

    def committed_offsets(self) -> dict[int, int]:
        from confluent_kafka import ConsumerGroupTopicPartitions, TopicPartition

        req = ConsumerGroupTopicPartitions(
            GROUP, [TopicPartition(TOPIC, p) for p in range(PARTITIONS)])
        res = self.admin.list_consumer_group_offsets([req])[GROUP].result(timeout=HANG_S)
        return {tp.partition: tp.offset for tp in res.topic_partitions if tp.error is None}


def verify(verifier: Verifier, history: History, totals: Totals, label: str) -> None:
    """The checks after a restart (see the module docstring); problems into ``totals``."""
    # Commits first, then the log ends: the next cycle's consumer may already be committing
    # past log ends read earlier, never past those read later.
    committed = verifier.committed_offsets()
    problems = [f"{label}: {p}" for p in verifier.check_topic()]
    records, marks, read_problems = verifier.read_all()
    problems += [f"{label}: {p}" for p in read_problems]
    where: dict[str, tuple[int, int]] = {}
    for p, recs in records.items():
        low, high = marks[p]
        expected = low
        for off, value in recs:
            if off != expected:
                problems.append(f"{label}: partition {p} jumps from {expected} to {off}")
            expected = off + 1
            if value in where:
                problems.append(f"{label}: {value!r} at {where[value]} and at {(p, off)}")
            where[value] = (p, off)
        if expected != high and not read_problems:
            problems.append(f"{label}: partition {p} read to {expected}, log end is {high}")
        totals.records_read += len(recs)
    for value, (p, off) in history.acked.items():
        totals.acked_checks += 1
        found = where.get(value)
        if found is None:
            totals.lost += 1
            problems.append(f"{label}: acknowledged {value!r} at {(p, off)} is lost")
        elif found != (p, off):
            totals.misplaced += 1
            problems.append(f"{label}: acknowledged {value!r} at {(p, off)} found at {found}")
    seen: dict[str, int] = {}
    for recs in records.values():
        for _off, value in recs:
            seen[value] = seen.get(value, 0) + 1
    totals.duplicated += sum(n - 1 for n in seen.values() if n > 1)
    for p, acked in history.commits.items():
        totals.commits_checked += 1
        got = committed.get(p, -1)
        if got < acked:
            problems.append(f"{label}: partition {p} committed {got}, but {acked} was acknowledged")
    for p, got in committed.items():
        if got >= 0 and got > marks[p][1]:
            problems.append(f"{label}: partition {p} committed {got} beyond its log end {marks[p][1]}")
    totals.problems += problems


# --- the cycles -------------------------------------------------------------------------


def run_cycles(
    workdir: Path, fsync: str, cycles: int, *, seed: int = 1, rate: int = 2000,
    overlap: bool = True, progress: Callable[[str], None] | None = None,
) -> Totals:
    """``cycles`` kill cycles on a fresh data dir under ``workdir``; the totals.

    ``overlap``: the cycle's client starts producing while the restart is verified
    (quicker cycles); without it, after (each cycle then adds about the same number of
    records however long the growing log takes to read back: for long soaks)."""
    from confluent_kafka.admin import AdminClient, NewTopic

    rng = random.Random(f"{seed}/{fsync}")
    data_dir = workdir / f"data-{fsync}"
    totals = Totals()
    history = History()
    port = 0
    verifier: Verifier | None = None
    for cycle in range(cycles + 1):  # the extra restart checks the last cycle
        t_start = time.monotonic()
        broker = BrokerProcess(data_dir, fsync, port)
        client: ClientProcess | None = None
        try:
            if port:  # the clients start while the broker recovers
                client = ClientProcess(f"127.0.0.1:{port}", cycle, rate)
                verifier = Verifier(f"127.0.0.1:{port}")
            try:
                listening = broker.wait_listening()
            except RuntimeError:
                if not port or not any("address already in use" in line
                                       for line in broker.lines):
                    raise
                # Someone took the port meanwhile: a new one, and clients for it.
                broker = BrokerProcess(data_dir, fsync, 0)
                listening = broker.wait_listening()
            if listening != port and port:
                assert client is not None and verifier is not None
                client.kill()
                verifier.close()
                client = ClientProcess(f"127.0.0.1:{listening}", cycle, rate)
                verifier = Verifier(f"127.0.0.1:{listening}")
            port = listening
            bootstrap = f"127.0.0.1:{port}"
            t_up = time.monotonic()
            if cycle == 0:
                admin = AdminClient({"bootstrap.servers": bootstrap})
                fut = admin.create_topics([NewTopic(TOPIC, PARTITIONS, 1, config=TOPIC_CONFIGS)])
                fut[TOPIC].result(timeout=HANG_S)
                del admin  # its threads stop with it, before this broker dies
            if cycle < cycles:
                if client is None:
                    client = ClientProcess(bootstrap, cycle, rate)
                # New records do not disturb the checks below (new values, beyond the
                # watermarks read; commits only grow), so the client need not wait.
                if overlap:
                    client.go()
            if cycle > 0:
                assert verifier is not None
                verify(verifier, history, totals, f"{fsync} restart {cycle}")
                verifier.close()
                verifier = None
            if client is not None and not overlap:
                client.go()
            t_verified = time.monotonic()
            if cycle == cycles:
                break
            assert client is not None
            if not client.first_ack.wait(HANG_S) or not client.acks:
                totals.problems.append(f"{fsync} cycle {cycle}: no acknowledgement; "
                                       f"client said {client.kill()!r}")
            else:
                time.sleep(rng.uniform(*KILL_AFTER_S))
            killed_at = time.monotonic()
            timing = (f"up {t_up - t_start:.2f}s, verified {t_verified - t_up:.2f}s, "
                      f"killed {killed_at - t_up:.2f}s after listening")
            broker.kill()
            time.sleep(CLIENT_GRACE_S)
            client.kill()
            for at, text in client.errors:
                if at < killed_at:
                    totals.problems.append(f"{fsync} cycle {cycle}: client error {text}")
            for p, off, value in client.acks:
                if value not in history.acked:
                    totals.acked += 1
                history.acked[value] = (p, off)
            for p, first in client.first.items():
                # The group resumes from its commits: the first record consumed is the
                # committed offset (none yet: the log start, 0 here), and that commit is
                # no older than the last one acknowledged before the kill.
                committed = client.assigned.get(p, -1)
                totals.resumes_checked += 1
                if first != max(committed, 0):
                    totals.problems.append(
                        f"{fsync} cycle {cycle}: partition {p} resumed at {first}, "
                        f"committed {committed}")
                if p in history.commits and committed < history.commits[p]:
                    totals.problems.append(
                        f"{fsync} cycle {cycle}: partition {p} assigned at commit {committed}, "
                        f"but {history.commits[p]} was acknowledged before")
            for p, off in client.commits.items():
                history.commits[p] = max(history.commits.get(p, -1), off)
            totals.cycles += 1
            if progress is not None:
                progress(f"{fsync} cycle {cycle + 1}/{cycles}: {len(client.acks)} acked, "
                         f"{len(totals.problems)} problems ({timing})")
        finally:
            if verifier is not None:
                verifier.close()
                verifier = None
            broker.kill()
            if client is not None:
                client.kill()
    return totals


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command")
    client = sub.add_parser("client", help="(internal) one cycle's producer and consumer")
    client.add_argument("--bootstrap", required=True)
    client.add_argument("--cycle", type=int, required=True)
    client.add_argument("--rate", type=int, default=2000)
    parser.add_argument("--cycles", type=int, default=100)
    parser.add_argument("--fsync", choices=("always", "interval"), default="always")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--rate", type=int, default=1000, help="records/s per cycle's producer")
    parser.add_argument("--json", type=Path, default=None, help="also write the totals here")
    parser.add_argument("--quiet", action="store_true", help="no line per cycle")
    parser.add_argument("--overlap", action="store_true",
                        help="produce while each restart is verified (the test's quicker way)")
    args = parser.parse_args(argv)
    if args.command == "client":
        client_main(args.bootstrap, args.cycle, args.rate)
        return 0
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="soak-kill-") as tmp:
        totals = run_cycles(Path(tmp), args.fsync, args.cycles, seed=args.seed, rate=args.rate,
                            overlap=args.overlap, progress=None if args.quiet else print)
    line = totals.line(args.fsync, time.monotonic() - started)
    for problem in totals.problems[:30]:
        print("PROBLEM", problem)
    print(line)
    if args.json is not None:
        args.json.write_text(json.dumps(totals.__dict__, indent=1))
    return 1 if totals.problems else 0


if __name__ == "__main__":
    sys.exit(main())
