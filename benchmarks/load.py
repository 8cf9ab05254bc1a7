"""Load: hundreds of concurrent client connections, producers and consumer groups mixed,
for a sustained period; nothing lost, no errors, memory and descriptors flat, the GUI
responsive (issue 13, "Load").

    .venv/bin/python benchmarks/load.py                  # headless broker, 60 s
    .venv/bin/python benchmarks/load.py --gui            # the app open, broker inside it
    .venv/bin/python benchmarks/load.py --seconds 20 --producers 40 --consumers 30

The broker:

* headless (default): ``benchmarks/_gui_peer.py``, the broker exactly as ``streamscope
  broker`` assembles it (``core.node.Node`` on 127.0.0.1 port 0, default fsync policy,
  tuned allocator) in its own process, plus a loopback socket that answers with a pickled
  ``ClusterSnapshot``: the harness reads the broker's connections, counters and group
  offsets from the broker's own snapshot, once a second;
* ``--gui``: the real app (``desktop.app.Streamscope``, ``QT_QPA_PLATFORM=offscreen``,
  window 1280x720, cycling through its views every 2 s, so the Clients view draws all the
  connections; ``--view KEY`` keeps one open) with the broker on its thread, as shipped.
  ``gui_load.lag_probe`` measures how late a 10 ms precise timer fires on the GUI thread
  (the event loop's lag); a 1 s timer prints a summary of ``BrokerService.latest()`` (the
  snapshot the views draw).

The clients: ``--workers`` processes (confluent-kafka), so the client side is not one
GIL; each opens its share of ``--producers`` Producer instances and ``--consumers``
Consumer instances, one thread each. Consumers are spread over ``--groups`` groups, all
subscribed to one topic of ``--partitions`` partitions (at least as many as the consumers
of a group, so every member owns a partition). librdkafka holds one connection per
producer and two per consumer (its fetch connection and its group coordinator's), so
the defaults (100 producers, 50 consumers) hold 200 connections; the harness waits until
the broker's snapshot counts ``--connections`` (default: that sum) before the clock starts.

Then producers send ``--rate`` msg/s in total (``--size`` bytes each, explicit partitions
round-robin, acks=all, linger 5 ms) for ``--seconds``, flush, and report every
acknowledged (partition, offset); consumers read (auto-commit every second) until their
group's committed offsets reach every partition's high watermark (read from the
snapshot), then report every (partition, offset) they were given.

Checks (each printed PASS/FAIL; the exit status is 1 if any fails):

* no client errors (delivery errors, consumer errors, librdkafka error callbacks);
* no client warnings and no rebalance: librdkafka's log lines of level warning or worse
  in the client processes' stderr (a SESSTMOUT is a group coordinator that left
  heartbeats unanswered past the 10 s session timeout) and assignments revoked during the
  sustained phase;
* nothing lost: each group consumed every acknowledged (partition, offset) at least once;
* all the connections held at once (the snapshot's minimum during the sustained phase);
* broker RSS and open descriptors flat after warm-up (the first third, at least 10 s):
  growth over the rest within a tolerance (``--rss-tolerance-mib``, ``--fd-tolerance``);
  the least-squares slope is printed beside it;
* with ``--gui``: GUI event-loop lag p99 under ``--lag-p99-ms`` (50 ms) over the phase.
  Printed beside it: the lag by the view shown (``--view KEY`` keeps one view open), and
  the share of the phase the GUI thread spent on a CPU and runnable but waiting for one
  (``/proc/thread-self/schedstat``): on a machine with more runnable threads than cores,
  that wait is lag the app did not cause. Then the GUI thread's work (every fast and slow
  tick, view switch and window repaint, timed) by kind and view, wall and CPU time, and
  each lag over 50 ms put down to the longest piece of work it overlapped.

Printed: samples over time (RSS, fds, connections, records in/out), peak RSS (VmHWM),
fds, throughput (records/s into the broker and out of it, from its counters), lag p50/p99,
errors, lost. Only processes this script started are stopped; temp dirs are removed.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import pickle
import random
import re
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import (  # noqa: E402 - the line above makes the sibling module importable
    PYTHON,
    BenchError,
    LineReader,
    copy_logs,
    human_bytes,
    install_cleanup,
    percentile,
    print_table,
    proc_status_kib,
    remove_tree,
    spawn,
    stop,
    stop_all,
    tail,
)

if TYPE_CHECKING:
    from streamscope.core.monitor.snapshot import ClusterSnapshot

SCRIPT = Path(__file__).resolve()
PEER = SCRIPT.with_name("_gui_peer.py")
TOPIC = "load"
# The session timeout is short (Kafka's default is 45 s): a group coordinator that leaves
# heartbeats unanswered for 10 s under this load is a fault the run should show (a
# SESSTMOUT warning and a rebalance), not ride out.
CONSUMER_CONF: dict[str, Any] = {
    "auto.offset.reset": "earliest",
    "enable.auto.commit": True,
    "auto.commit.interval.ms": 1000,
    "session.timeout.ms": 10000,
    "fetch.queue.backoff.ms": 10,
}
PRODUCER_CONF: dict[str, Any] = {"acks": "all", "linger.ms": 5}
PRODUCE_STEP_S = 0.02  # a producer thread sends what its pace allows, then sleeps this long
_LEN = struct.Struct(">I")

# =========================================================================================
# Accounting: offsets as inclusive ranges (compact in JSON), loss per group.
# =========================================================================================

Ranges = list[list[int]]  # sorted, disjoint, inclusive [first, last] pairs


def to_ranges(offsets: Iterable[int]) -> Ranges:
    out: Ranges = []
    for o in sorted(set(offsets)):
        if out and o == out[-1][1] + 1:
            out[-1][1] = o
        else:
            out.append([o, o])
    return out


def from_ranges(ranges: Iterable[Sequence[int]]) -> set[int]:
    got: set[int] = set()
    for first, last in ranges:
        got.update(range(first, last + 1))
    return got


def merge(parts: Iterable[dict[str, Ranges]]) -> dict[int, set[int]]:
    """Partition -> offsets, the union of several workers' ``{partition: ranges}``."""
    out: dict[int, set[int]] = defaultdict(set)
    for part in parts:
        for p, ranges in part.items():
            out[int(p)] |= from_ranges(ranges)
    return out


def lost_by_group(results: Sequence[dict[str, Any]], groups: Sequence[str]) -> dict[str, int]:
    """For each group, how many acknowledged (partition, offset)s none of its consumers
    was given."""
    acked = merge(r["acked"] for r in results)
    lost: dict[str, int] = {}
    for g in groups:
        consumed = merge(r["consumed"].get(g, {}) for r in results)
        lost[g] = sum(len(offs - consumed.get(p, set())) for p, offs in acked.items())
    return lost


# =========================================================================================
# The broker's snapshot, summarised (the same in both modes).
# =========================================================================================


def summarize(snap: ClusterSnapshot, topic: str = TOPIC) -> dict[str, Any]:
    """What the harness needs of a snapshot: socket connections, counters, the topic's
    high watermarks and each group's committed offsets on it."""
    t = snap.topic(topic)
    return {
        "t": snap.monotonic,
        "conns": sum(1 for c in snap.connections if not c.in_process),
        "records_in": snap.counters.records_in,
        "records_out": snap.counters.records_out,
        "hw": {str(p.index): p.high_watermark for p in t.partitions} if t else {},
        "groups": {g.group_id: {"members": len(g.members), "state": g.state,
                                "committed": {str(o.partition): o.committed_offset
                                              for o in g.offsets if o.topic == topic}}
                   for g in snap.groups},
    }


def behind(summary: dict[str, Any], groups: Sequence[str]) -> int:
    """Records the groups together have not committed past yet (0: all drained)."""
    hw: dict[str, int] = summary["hw"]
    if not hw:
        return -1
    total = 0
    for g in groups:
        committed = summary["groups"].get(g, {}).get("committed", {})
        total += sum(max(0, end - max(0, committed.get(p, 0))) for p, end in hw.items())
    return total


def fetch_snapshot(addr: tuple[str, int], timeout_s: float = 10.0) -> ClusterSnapshot:
    """One snapshot from ``_gui_peer.py``'s snapshot socket (one byte out, length + pickle
    back)."""
    with socket.create_connection(addr, timeout=timeout_s) as s:
        s.sendall(b"?")
        head = _recv_exact(s, _LEN.size)
        return pickle.loads(_recv_exact(s, _LEN.unpack(head)[0]))  # noqa: S301 - our child


def _recv_exact(s: socket.socket, n: int) -> bytes:
    buf = bytearray()
    while len(buf) < n:
        chunk = s.recv(n - len(buf))
        if not chunk:
            raise ConnectionError("snapshot socket closed")
        buf += chunk
    return bytes(buf)


# =========================================================================================
# Workers (each in its own process; the harness starts them with a JSON spec).
# =========================================================================================


@dataclass
class ClientTally:
    """What one client process saw; the threads append under ``lock``."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    acked: dict[int, list[int]] = field(default_factory=lambda: defaultdict(list))
    consumed: dict[str, dict[int, list[int]]] = field(
        default_factory=lambda: defaultdict(lambda: defaultdict(list)))
    sent: int = 0
    errors: int = 0
    revoked: int = 0  # assignments taken back during the sustained phase (rebalances)
    error_samples: list[str] = field(default_factory=list)

    def error(self, text: str) -> None:
        with self.lock:
            self.errors += 1
            if len(self.error_samples) < 8:
                self.error_samples.append(text)


def worker_clients(spec: dict[str, Any]) -> dict[str, Any]:
    """``producers`` Producer and ``len(groups)`` Consumer instances (consumer i in group
    ``groups[i]``), one thread each. Prints READY once every producer knows the topic and
    every consumer has been assigned partitions, produces from the moment ``go_file``
    exists for ``seconds``, prints PRODUCED after the flush, and consumes until
    ``stop_file`` exists."""
    from confluent_kafka import Consumer, Producer

    bootstrap, topic, parts = spec["bootstrap"], spec["topic"], spec["partitions"]
    tally = ClientTally()
    go, stop_now = threading.Event(), threading.Event()
    ready = threading.Semaphore(0)

    def on_error(err: Any) -> None:
        tally.error(f"client: {err}")

    producers = [Producer({"bootstrap.servers": bootstrap, **PRODUCER_CONF,
                           "client.id": f"load-p{spec['index']}-{i}", "error_cb": on_error})
                 for i in range(spec["producers"])]
    consumer_conf = {**CONSUMER_CONF, **spec.get("consumer_conf", {})}
    consumers = [(g, Consumer({"bootstrap.servers": bootstrap, "group.id": g, **consumer_conf,
                               "client.id": f"load-c{spec['index']}-{i}",
                               "error_cb": on_error}))
                 for i, g in enumerate(spec["groups"])]

    def on_delivery(err: Any, msg: Any) -> None:
        if err is not None:
            tally.error(f"delivery: {err}")
            return
        with tally.lock:
            tally.acked[msg.partition()].append(msg.offset())

    def produce(i: int, producer: Any) -> None:
        try:
            md = producer.list_topics(topic, timeout=30)
            t = md.topics.get(topic)
            if t is None or t.error is not None or len(t.partitions) != parts:
                tally.error(f"producer {i}: topic {topic} not visible")
                return
        finally:
            ready.release()
        go.wait()
        rate, value = spec["rate_each"], os.urandom(spec["size"])
        # Start at a random point of the first step, so the producers do not send in lockstep.
        t0 = time.monotonic() + random.uniform(0, PRODUCE_STEP_S)
        end, sent, part = t0 + spec["seconds"], 0, i % parts
        while (now := time.monotonic()) < end:
            due = int((now - t0) * rate) + 1
            while sent < due:
                try:
                    producer.produce(topic, value, partition=part, on_delivery=on_delivery)
                except BufferError:
                    break  # the local queue is full: serve callbacks and come back
                sent += 1
                part = (part + 1) % parts
            producer.poll(0)
            time.sleep(PRODUCE_STEP_S)
        left = producer.flush(spec.get("flush_s", 60))
        with tally.lock:
            tally.sent += sent
        if left:
            tally.error(f"producer {i}: {left} records not acknowledged after flush")

    def consume(group: str, consumer: Any) -> None:
        told = [False]

        def on_assign(_c: Any, partitions: list[Any]) -> None:
            if partitions and not told[0]:
                told[0] = True
                ready.release()

        def on_revoke(_c: Any, partitions: list[Any]) -> None:
            if partitions and go.is_set() and not stop_now.is_set():
                with tally.lock:
                    tally.revoked += 1

        consumer.subscribe([topic], on_assign=on_assign, on_revoke=on_revoke)
        with tally.lock:
            mine = tally.consumed[group]
        try:
            while not stop_now.is_set():
                msgs = consumer.consume(500, 0.2)
                good = []
                for m in msgs:
                    err = m.error()
                    if err is None:
                        good.append((m.partition(), m.offset()))
                    else:
                        tally.error(f"consumer {group}: {err}")
                if good:
                    with tally.lock:
                        for p, o in good:
                            mine[p].append(o)
        finally:
            consumer.close()  # commits the final positions and leaves the group

    threads = [threading.Thread(target=produce, args=(i, p), daemon=True)
               for i, p in enumerate(producers)]
    threads += [threading.Thread(target=consume, args=c, daemon=True) for c in consumers]
    for th in threads:
        th.start()
    deadline = time.monotonic() + spec.get("ready_s", 120)
    for _ in threads:
        if not ready.acquire(timeout=max(0.0, deadline - time.monotonic())):
            stop_now.set()
            go.set()
            return {"error": "clients not connected and assigned in time", "errors": tally.errors,
                    "error_samples": tally.error_samples}
    print("READY", flush=True)
    go_file, stop_file = Path(spec["go_file"]), Path(spec["stop_file"])
    while not go_file.exists():
        time.sleep(0.01)
    go.set()
    for th in threads[:len(producers)]:
        th.join()
    print("PRODUCED", flush=True)
    while not stop_file.exists():
        time.sleep(0.05)
    stop_now.set()
    for th in threads[len(producers):]:
        th.join(60)
    with tally.lock:
        return {
            "sent": tally.sent, "errors": tally.errors, "error_samples": tally.error_samples,
            "revoked": tally.revoked,
            "acked_n": sum(len(v) for v in tally.acked.values()),
            "acked": {str(p): to_ranges(v) for p, v in tally.acked.items()},
            "consumed": {g: {str(p): to_ranges(v) for p, v in parts_.items()}
                         for g, parts_ in tally.consumed.items()},
        }


def worker_gui(spec: dict[str, Any]) -> int:
    """The app offscreen with its broker: prints ``READY BOOTSTRAP PID``, then ``SNAP
    {summary}`` every second, measures the event-loop lag, and when ``stop_file`` exists
    closes the app and writes the lag samples to ``result_file``."""
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    os.environ.setdefault("QT_NO_GUI_THREADPOOL", "1")  # as desktop.app.main does
    import asyncio
    import gc

    import qasync
    from gui_load import lag_probe
    from PySide6.QtCore import QCoreApplication, QEvent, QSettings, QTimer
    from PySide6.QtWidgets import QApplication
    from streamscope.core.config import BrokerConfig
    from streamscope.core.server import tune_allocator
    from streamscope.desktop.app import Streamscope, _quiet_offscreen_warnings
    from streamscope.desktop.main_window import VIEW_KEYS

    _quiet_offscreen_warnings()
    if os.environ.get("SWITCH_MS"):
        import sys as _s
        _s.setswitchinterval(float(os.environ["SWITCH_MS"]) / 1000)
    app = QApplication.instance() or QApplication(["load"])
    data_dir = Path(spec["data_dir"])
    settings = QSettings(str(data_dir.parent / "settings.ini"), QSettings.Format.IniFormat)
    shell = Streamscope(app, BrokerConfig(host="127.0.0.1", port=0, data_dir=data_dir),
                        settings, theme="light", interactive=False)
    loop = qasync.QEventLoop(app)
    asyncio.set_event_loop(loop)
    lag_t: list[float] = []
    lag_ms: list[float] = []
    probe = lag_probe(lag_t, lag_ms)
    views = [spec["view"]] if spec.get("view") else list(VIEW_KEYS)
    view_i = [0]
    shown: list[tuple[float, str]] = [(time.monotonic(), views[0])]  # (since, view key)

    def cycle_views() -> None:
        view_i[0] = (view_i[0] + 1) % len(views)
        shell.window.show_view(views[view_i[0]])
        shown.append((time.monotonic(), views[view_i[0]]))

    def report() -> None:
        snap = shell.service.latest()
        if snap is not None:
            # The GUI thread's CPU time and its time runnable but waiting for a CPU (ns):
            # lag on a machine with more runnable threads than cores is partly that wait.
            with open("/proc/thread-self/schedstat") as f:
                cpu_ns, wait_ns = (int(v) for v in f.read().split()[:2])
            print("SNAP " + json.dumps({**summarize(snap, spec["topic"]), "gui_cpu_ns": cpu_ns,
                                        "gui_wait_ns": wait_ns, "now": time.monotonic()}),
                  flush=True)

    stop_file = Path(spec["stop_file"])
    started_at = time.monotonic()

    def check_stop() -> None:
        if stop_file.exists() or time.monotonic() - started_at > spec["max_s"]:
            QCoreApplication.quit()

    # What ran on the GUI thread, to put each long lag down to its cause: (start, end,
    # "what:view", CPU ms, ms runnable waiting for a core) of every fast and slow tick,
    # view switch and window repaint (the window's UpdateRequest paints every dirty
    # widget). The rest of a span's wall time the thread slept: a wait for the GIL.
    spans: list[tuple[float, float, str, float, float]] = []

    # Every garbage collection in the process, on any thread (it holds the GIL, so one on
    # the broker's thread stalls the GUI too): (start, end, generation, on the GUI thread).
    gc_runs: list[tuple[float, float, int, bool]] = []
    gc_started: dict[int, float] = {}
    gui_ident = threading.get_ident()

    def on_gc(phase: str, info: dict[str, int]) -> None:
        ident = threading.get_ident()
        if phase == "start":
            gc_started[ident] = time.monotonic()
        elif ident in gc_started:
            gc_runs.append((gc_started.pop(ident), time.monotonic(), info["generation"],
                            ident == gui_ident))

    gc.callbacks.append(on_gc)

    sched_fd = os.open("/proc/thread-self/schedstat", os.O_RDONLY)  # this (GUI) thread's

    def sched() -> tuple[int, int]:
        cpu_ns, wait_ns = os.pread(sched_fd, 128, 0).split()[:2]
        return int(cpu_ns), int(wait_ns)

    def spanned(fn: Any, kind: str) -> Any:
        def timed(*args: Any) -> Any:
            t0, s0 = time.monotonic(), sched()
            result = fn(*args)
            s1 = sched()
            spans.append((t0, time.monotonic(), f"{kind}:{views[view_i[0]]}",
                          (s1[0] - s0[0]) / 1e6, (s1[1] - s0[1]) / 1e6))
            return result
        return timed

    ticker = shell.ticker
    for ticker_timer, kind, fn in ((ticker._fast, "fast tick", ticker._on_fast),
                                   (ticker._slow, "slow tick", ticker._on_slow)):
        ticker_timer.timeout.disconnect()
        ticker_timer.timeout.connect(spanned(fn, kind))
    cycle_views = spanned(cycle_views, "switch to")
    window_event = shell.window.event
    timed_paint = spanned(window_event, "paint")
    shell.window.event = lambda event: (  # type: ignore[method-assign]
        timed_paint(event) if event.type() == QEvent.Type.UpdateRequest
        else window_event(event))

    timers = []
    for ms, fn in ((2000, cycle_views), (1000, report), (100, check_stop)):
        timer = QTimer()
        timer.setInterval(ms)
        timer.timeout.connect(fn)
        timers.append(timer)
    tune_allocator()  # what desktop.app.main does before its broker starts
    shell.service.started.connect(lambda _b: gc.freeze())
    shell.service.started.connect(lambda b: print(f"READY {b} {os.getpid()}", flush=True))
    shell.service.failed.connect(lambda exc: (print(f"FAILED {exc}", flush=True),
                                              QCoreApplication.quit()))
    shell.window.resize(1280, 720)
    shell.start()
    shell.window.show_view(views[0])
    probe.start()
    for timer in timers:
        timer.start()
    closed = asyncio.Event()
    app.aboutToQuit.connect(closed.set)
    with loop:
        loop.run_until_complete(closed.wait())
    probe.stop()
    for timer in timers:
        timer.stop()
    os.close(sched_fd)
    shell.close()
    gc.callbacks.remove(on_gc)
    Path(spec["result_file"]).write_text(json.dumps({"lag_t": lag_t, "lag_ms": lag_ms,
                                                     "views": shown, "spans": spans,
                                                     "gc_runs": gc_runs}))
    print("DONE", flush=True)
    return 0


def worker_main(kind: str, spec_json: str) -> int:
    spec = json.loads(spec_json)
    if kind == "gui":
        return worker_gui(spec)
    if kind != "clients":
        raise SystemExit(f"unknown worker {kind}")
    try:
        result = worker_clients(spec)
    except Exception as exc:  # noqa: BLE001 - reported to the harness as a result
        result = {"error": f"{type(exc).__name__}: {exc}"}
    print(json.dumps(result), flush=True)
    return 0


# =========================================================================================
# Planning and figures (shared with tests/e2e/test_load.py).
# =========================================================================================


@dataclass(frozen=True)
class Plan:
    """Who runs where: producers and consumers (with their group) per client process."""

    producers: int
    consumers: int
    groups: tuple[str, ...]
    workers: int
    partitions: int

    @property
    def connections(self) -> int:
        """Connections librdkafka holds: one per producer, two per consumer."""
        return self.producers + 2 * self.consumers

    def share(self, index: int) -> tuple[int, list[str]]:
        """Producers and the consumers' groups of client process ``index``."""
        producers = len(range(index, self.producers, self.workers))
        groups = [self.groups[i % len(self.groups)]
                  for i in range(index, self.consumers, self.workers)]
        return producers, groups


def make_plan(producers: int, consumers: int, groups: int, workers: int,
              partitions: int | None = None) -> Plan:
    per_group = -(-consumers // groups)
    return Plan(producers, consumers, tuple(f"load-g{i}" for i in range(groups)), workers,
                max(partitions or 0, per_group))


def client_spec(plan: Plan, index: int, bootstrap: str, run_dir: Path, *, rate: float,
                seconds: float, size: int) -> dict[str, Any]:
    producers, groups = plan.share(index)
    return {"index": index, "bootstrap": bootstrap, "topic": TOPIC,
            "partitions": plan.partitions, "producers": producers, "groups": groups,
            "rate_each": rate / max(1, plan.producers), "seconds": seconds, "size": size,
            "go_file": str(run_dir / "go"), "stop_file": str(run_dir / "stop")}


def client_command(spec: dict[str, Any]) -> list[str]:
    return [PYTHON, str(SCRIPT), "worker", "clients", json.dumps(spec)]


_RDKAFKA_WARNING = re.compile(r"^%[0-4]\|[0-9.]+\|(\w+)\|")


def client_warnings(logs: Iterable[Path]) -> list[str]:
    """librdkafka's log lines of level warning or worse (``%4|time|FACILITY|...``, written
    to the client processes' stderr): a session timeout, a request timeout, a refused
    connection. None are expected under this load."""
    found = []
    for log in logs:
        with contextlib.suppress(OSError):
            found += [ln for ln in log.read_text(errors="replace").splitlines()
                      if _RDKAFKA_WARNING.match(ln)]
    return found


def slope(points: Sequence[tuple[float, float]]) -> float:
    """Least-squares slope (per second) of (t, value) points; 0 for fewer than two."""
    n = len(points)
    if n < 2:
        return 0.0
    mt = sum(t for t, _ in points) / n
    mv = sum(v for _, v in points) / n
    den = sum((t - mt) ** 2 for t, _ in points)
    return sum((t - mt) * (v - mv) for t, v in points) / den if den else 0.0


def fd_count(pid: int) -> int | None:
    try:
        return len(os.listdir(f"/proc/{pid}/fd"))
    except OSError:
        return None


def established_on(pid: int, port: int) -> int | None:
    """TCP connections in ESTABLISHED state on local ``port`` that process ``pid`` holds
    (the kernel's count, to set beside the snapshot's)."""
    try:
        inodes = set()
        for name in os.listdir(f"/proc/{pid}/fd"):
            with contextlib.suppress(OSError):
                target = os.readlink(f"/proc/{pid}/fd/{name}")
                if target.startswith("socket:["):
                    inodes.add(target[8:-1])
        count = 0
        for table in ("tcp", "tcp6"):
            with contextlib.suppress(OSError), open(f"/proc/{pid}/net/{table}") as f:
                next(f)
                for line in f:
                    cols = line.split()
                    if (cols[3] == "01" and int(cols[1].rsplit(":", 1)[1], 16) == port
                            and cols[9] in inodes):
                        count += 1
        return count
    except OSError:
        return None


# =========================================================================================
# Harness
# =========================================================================================


@dataclass
class Sample:
    t: float
    rss_kib: int | None
    fds: int | None
    conns: int | None
    tcp: int | None
    records_in: int | None
    records_out: int | None
    snap_t: float | None  # when the broker built the snapshot the counts come from


class Bench:
    def __init__(self, args: argparse.Namespace, workdir: Path) -> None:
        self.args = args
        self.workdir = workdir
        self.plan = make_plan(args.producers, args.consumers, args.groups, args.workers,
                              args.partitions)
        self.samples: list[Sample] = []
        self.summary: dict[str, Any] | None = None
        self.broker_pid = 0
        self.port = 0
        self.peer_addr: tuple[str, int] | None = None
        self.gui_reader: LineReader | None = None
        self.failures: list[str] = []
        self.notes: list[str] = []
        self.loadavg: list[float] = []  # the machine's 1-minute load at go and at the end
        self.gui_sched: list[dict[str, Any]] = []  # the GUI's summaries at go and at the end

    # --- the broker ---------------------------------------------------------------------

    def start_headless(self) -> subprocess.Popen:
        log_path = self.workdir / "broker.log"
        proc = spawn([PYTHON, str(PEER), "--data-dir", str(self.workdir / "data")],
                     log_path=log_path)
        deadline = time.monotonic() + 60
        while True:
            text = log_path.read_text(errors="replace") if log_path.exists() else ""
            found = {k: ln.split(" on ", 1)[1].strip() for ln in text.splitlines()
                     for k in ("listening", "snapshots") if ln.startswith(f"{k} on ")}
            if len(found) == 2:
                break
            if proc.poll() is not None or time.monotonic() > deadline:
                raise BenchError(f"the broker did not start: {tail(log_path)}")
            time.sleep(0.05)
        host, _, port = found["snapshots"].rpartition(":")
        self.peer_addr = (host, int(port))
        self.bootstrap = found["listening"]
        self.broker_pid = proc.pid
        return proc

    def start_gui(self) -> subprocess.Popen:
        spec = {"data_dir": str(self.workdir / "gui" / "data"), "topic": TOPIC,
                "stop_file": str(self.workdir / "gui-stop"),
                "result_file": str(self.workdir / "gui-result.json"),
                "max_s": self.args.seconds + 600, "view": self.args.view}
        (self.workdir / "gui").mkdir()
        proc = spawn([PYTHON, str(SCRIPT), "worker", "gui", json.dumps(spec)],
                     stdout=subprocess.PIPE, log_path=self.workdir / "gui.log")
        self.gui_reader = LineReader(proc)
        line = self.gui_reader.wait_for(lambda ln: ln.startswith(("READY", "FAILED")),
                                        time.monotonic() + 90)
        if not line or not line.startswith("READY"):
            raise BenchError(f"the app did not start: {line or tail(self.workdir / 'gui.log')}")
        _, self.bootstrap, pid = line.split()
        self.broker_pid = int(pid)
        return proc

    def snapshot_summary(self) -> dict[str, Any] | None:
        if self.peer_addr is not None:
            try:
                return summarize(fetch_snapshot(self.peer_addr))
            except (OSError, ConnectionError) as exc:
                self.notes.append(f"snapshot fetch failed: {exc}")
                return None
        assert self.gui_reader is not None
        with self.gui_reader._cond:  # the newest SNAP line
            lines = [ln for ln in self.gui_reader.lines[-50:] if ln.startswith("SNAP ")]
        return json.loads(lines[-1][5:]) if lines else None

    def sample(self) -> dict[str, Any] | None:
        summary = self.snapshot_summary()
        if summary is not None:
            self.summary = summary
        s = summary or {}
        self.samples.append(Sample(time.monotonic(), proc_status_kib(self.broker_pid, "VmRSS"),
                                   fd_count(self.broker_pid), s.get("conns"),
                                   established_on(self.broker_pid, self.port),
                                   s.get("records_in"), s.get("records_out"), s.get("t")))
        return summary

    def wait(self, what: str, done: Any, timeout_s: float, every_s: float = 1.0) -> None:
        """Sample once every ``every_s`` until ``done(summary)``; BenchError at the deadline."""
        deadline = time.monotonic() + timeout_s
        while True:
            summary = self.sample()
            if summary is not None and done(summary):
                return
            if time.monotonic() > deadline:
                raise BenchError(f"{what}: not reached in {timeout_s:.0f} s "
                                 f"(last: {json.dumps(summary)[:300] if summary else None})")
            time.sleep(every_s)

    # --- the run ------------------------------------------------------------------------

    def create_topic(self) -> None:
        from confluent_kafka.admin import AdminClient, NewTopic

        admin = AdminClient({"bootstrap.servers": self.bootstrap})
        admin.create_topics([NewTopic(TOPIC, self.plan.partitions, 1)])[TOPIC].result(60)
        del admin  # closes its connection before the count starts

    def run(self) -> int:
        a = self.args
        broker = self.start_gui() if a.gui else self.start_headless()
        self.port = int(self.bootstrap.rsplit(":", 1)[1])
        run_dir = self.workdir / "clients"
        run_dir.mkdir()
        readers: list[tuple[subprocess.Popen, LineReader]] = []
        gui_result: dict[str, Any] = {}
        try:
            self.create_topic()
            for i in range(a.workers):
                spec = client_spec(self.plan, i, self.bootstrap, run_dir, rate=a.rate,
                                   seconds=a.seconds, size=a.size)
                proc = spawn(client_command(spec), stdout=subprocess.PIPE,
                             log_path=self.workdir / f"clients-{i}.log")
                readers.append((proc, LineReader(proc)))
            deadline = time.monotonic() + 180
            for i, (_proc, reader) in enumerate(readers):
                line = reader.wait_for(lambda ln: ln == "READY" or ln.startswith("{"), deadline)
                if line != "READY":
                    raise BenchError(f"client process {i}: {line or 'no READY'}: "
                                     f"{tail(self.workdir / f'clients-{i}.log')}")
            target = a.connections or self.plan.connections
            self.wait(f"{target} connections", lambda s: s["conns"] >= target, 60, 0.5)
            print(f"{self.summary['conns'] if self.summary else '?'} connections held; "
                  f"producing {a.rate:,.0f} msg/s of {a.size} B for {a.seconds:.0f} s",
                  flush=True)
            first = len(self.samples)
            (run_dir / "go").touch()
            t_go = time.monotonic()
            self.loadavg = [os.getloadavg()[0]]
            self.gui_sched = [self.summary or {}]
            produced = [False] * len(readers)

            def all_produced(_s: dict[str, Any]) -> bool:
                for i, (_p, r) in enumerate(readers):
                    produced[i] = produced[i] or r.wait_for(lambda ln: ln == "PRODUCED",
                                                            time.monotonic()) is not None
                return all(produced)

            self.wait("producers done", all_produced, a.seconds + 120)
            t_end = time.monotonic()
            self.loadavg.append(os.getloadavg()[0])
            self.gui_sched.append(self.summary or {})
            phase = [s for s in self.samples[first:] if s.t <= t_end]
            self.wait("groups drained", lambda s: behind(s, self.plan.groups) == 0, 180)
            peak_kib = proc_status_kib(self.broker_pid, "VmHWM")
            (run_dir / "stop").touch()
            results = []
            for i, (proc, reader) in enumerate(readers):
                reader.wait_eof(time.monotonic() + 90)
                with contextlib.suppress(subprocess.TimeoutExpired):
                    proc.wait(10)
                line = reader.lines[-1] if reader.lines else ""
                try:
                    result = json.loads(line)
                except ValueError:
                    raise BenchError(f"client process {i} gave no result: {line!r} "
                                     f"{tail(self.workdir / f'clients-{i}.log')}") from None
                if result.get("error"):
                    raise BenchError(f"client process {i}: {result['error']}")
                results.append(result)
            if a.gui:
                (self.workdir / "gui-stop").touch()
                assert self.gui_reader is not None
                self.gui_reader.wait_eof(time.monotonic() + 60)
                with contextlib.suppress(Exception):
                    gui_result = json.loads((self.workdir / "gui-result.json").read_text())
        finally:
            for proc, _r in readers:
                stop(proc)
            stop(broker)
        return self.report(phase, t_go, t_end, results, gui_result, peak_kib)

    # --- the report ---------------------------------------------------------------------

    def report_gui_detail(self, gui: dict[str, Any], t_go: float, t_end: float) -> None:
        """Lag by the view shown, and how the GUI thread spent the phase."""
        views: list[list[Any]] = gui.get("views", [])
        by_view: dict[str, list[float]] = defaultdict(list)
        for t, lag in zip(gui["lag_t"], gui["lag_ms"], strict=True):
            if t_go <= t <= t_end:
                key = next((v for since, v in reversed(views) if since <= t), "?")
                by_view[key].append(lag)
        rows = [[key, str(len(v)), f"{percentile(sorted(v), 50):.1f}",
                 f"{percentile(sorted(v), 99):.1f}", f"{max(v):.0f}"]
                for key, v in sorted(by_view.items())]
        if rows:
            print_table(["view shown", "probes", "lag p50 ms", "p99 ms", "max ms"], rows)
        self.report_gui_spans(gui, t_go, t_end)
        a, b = (self.gui_sched + [{}, {}])[:2]
        if all(k in d for d in (a, b) for k in ("gui_cpu_ns", "gui_wait_ns", "now")):
            span = b["now"] - a["now"]
            if span > 0:
                cpu = (b["gui_cpu_ns"] - a["gui_cpu_ns"]) / 1e9 / span
                wait = (b["gui_wait_ns"] - a["gui_wait_ns"]) / 1e9 / span
                print(f"GUI thread over the phase: {100 * cpu:.0f}% on a CPU, {100 * wait:.0f}% "
                      "runnable but waiting for one (the machine's other load)")

    def report_gui_spans(self, gui: dict[str, Any], t_go: float, t_end: float,
                         long_ms: float = 50.0) -> None:
        """The GUI thread's work by kind and view (wall and CPU time), and each lag over
        ``long_ms`` put down to the longest piece of work it overlapped."""
        from gui_load import LAG_PROBE_MS

        spans = [s for s in gui.get("spans", []) if t_go <= s[0] <= t_end]
        if not spans:
            return
        by_kind: dict[str, list[list[float]]] = defaultdict(list)
        for t0, t1, what, cpu, _runnable in spans:
            by_kind[what].append([(t1 - t0) * 1000, cpu])
        rows = []
        for what, xs in sorted(by_kind.items()):
            wall, cpu = sorted(x[0] for x in xs), sorted(x[1] for x in xs)
            rows.append([what, str(len(xs)), f"{percentile(wall, 50):.1f}",
                         f"{percentile(wall, 99):.1f}", f"{percentile(cpu, 99):.1f}"])
        print_table(["GUI work", "n", "wall p50 ms", "wall p99 ms", "CPU p99 ms"], rows)
        causes: dict[str, int] = defaultdict(int)
        for t, lag in zip(gui["lag_t"], gui["lag_ms"], strict=True):
            if t_go <= t <= t_end and lag > long_ms:
                since = t - (lag + LAG_PROBE_MS) / 1000
                hit = [s for s in spans if s[1] > since and s[0] < t]
                top = max(hit, key=lambda s: s[1] - s[0])[2] if hit else "nothing timed"
                causes[top] += 1
        if causes:
            print(f"lags over {long_ms:.0f} ms by the longest GUI work they overlapped: "
                  + ", ".join(f"{what} {n}" for what, n in
                              sorted(causes.items(), key=lambda kv: -kv[1])))
        # Garbage collections (any thread: each holds the GIL while it runs).
        runs = [r for r in gui.get("gc_runs", []) if t_go <= r[0] <= t_end]
        if runs:
            parts = []
            for gen in (0, 1, 2):
                ms = sorted((r[1] - r[0]) * 1000 for r in runs if r[2] == gen)
                if ms:
                    on_gui = sum(1 for r in runs if r[2] == gen and r[3])
                    parts.append(f"gen{gen} {len(ms)} (p50 {percentile(ms, 50):.1f}, max "
                                 f"{ms[-1]:.1f} ms; {on_gui} on the GUI thread)")
            hit = 0
            for t, lag in zip(gui["lag_t"], gui["lag_ms"], strict=True):
                if t_go <= t <= t_end and lag > long_ms:
                    since = t - (lag + LAG_PROBE_MS) / 1000
                    hit += any(r[1] > since and r[0] < t for r in runs if r[1] - r[0] > 0.005)
            print("garbage collections: " + "; ".join(parts)
                  + f"; lags over {long_ms:.0f} ms overlapping one over 5 ms: {hit}")

    def check(self, ok: bool, text: str) -> None:
        print(f"  {'PASS' if ok else 'FAIL'}  {text}")
        if not ok:
            self.failures.append(text)

    def report(self, phase: list[Sample], t_go: float, t_end: float,
               results: list[dict[str, Any]], gui: dict[str, Any], peak_kib: int | None) -> int:
        a = self.args
        print(f"\nsamples (broker {'GUI process' if a.gui else 'process'}, sustained phase):")
        step = max(1, len(phase) // 20)
        rows = []
        for s in phase[::step] + ([phase[-1]] if phase and (len(phase) - 1) % step else []):
            rows.append([f"{s.t - t_go:5.1f}", human_bytes((s.rss_kib or 0) * 1024),
                         str(s.fds), str(s.conns), str(s.tcp), f"{s.records_in or 0:,}",
                         f"{s.records_out or 0:,}"])
        print_table(["t s", "RSS", "fds", "conns (snapshot)", "TCP (kernel)", "records in",
                     "records out"], rows)
        warm = t_go + max(a.warmup_min_s, (t_end - t_go) / 3)
        steady = [s for s in phase if s.t >= warm]
        rss = [(s.t, s.rss_kib / 1024) for s in steady if s.rss_kib is not None]
        fds = [(s.t, float(s.fds)) for s in steady if s.fds is not None]
        conns = [s.conns for s in phase if s.conns is not None]
        rss_growth = rss[-1][1] - rss[0][1] if rss else 0.0
        fd_growth = fds[-1][1] - fds[0][1] if fds else 0.0
        with_counts = [s for s in phase if s.records_in is not None and s.snap_t is not None]
        span = (with_counts[-1].snap_t - with_counts[0].snap_t  # type: ignore[operator]
                if len(with_counts) > 1 else 0.0)
        rate_in = ((with_counts[-1].records_in - with_counts[0].records_in) / span
                   if span else None)
        rate_out = ((with_counts[-1].records_out - with_counts[0].records_out) / span
                    if span else None)
        errors = sum(r["errors"] for r in results)
        revoked = sum(r["revoked"] for r in results)
        warnings = client_warnings(sorted(self.workdir.glob("clients-*.log")))
        kinds: dict[str, int] = {}
        for ln in warnings:
            m = _RDKAFKA_WARNING.match(ln)
            if m:
                kinds[m.group(1)] = kinds.get(m.group(1), 0) + 1
        samples_err = [e for r in results for e in r["error_samples"]][:5]
        lost = lost_by_group(results, self.plan.groups)
        acked = sum(r["acked_n"] for r in results)
        sent = sum(r["sent"] for r in results)
        print(f"\nclients: {self.plan.producers} producers, {self.plan.consumers} consumers in "
              f"{len(self.plan.groups)} groups, {a.workers} processes; topic {TOPIC} "
              f"({self.plan.partitions} partitions); {a.seconds:.0f} s sustained "
              f"(warm-up {warm - t_go:.0f} s); machine load average "
              f"{' -> '.join(f'{v:.1f}' for v in self.loadavg)} on {os.cpu_count()} CPUs")
        print(f"connections held (snapshot): min {min(conns) if conns else '-'}, max "
              f"{max(conns) if conns else '-'} during the phase; kernel count at the end "
              f"{phase[-1].tcp if phase else '-'}")
        print(f"peak RSS (VmHWM) {human_bytes((peak_kib or 0) * 1024)}; RSS after warm-up "
              f"{rss[0][1] if rss else 0:.1f} -> {rss[-1][1] if rss else 0:.1f} MiB, slope "
              f"{slope(rss) * 60:+.2f} MiB/min")
        print(f"fds after warm-up {fds[0][1] if fds else 0:.0f} -> "
              f"{fds[-1][1] if fds else 0:.0f}, slope {slope(fds) * 60:+.2f}/min; "
              f"max {max((s.fds or 0) for s in phase) if phase else '-'}")
        print(f"throughput: {rate_in or 0:,.0f} records/s in, {rate_out or 0:,.0f} records/s "
              f"out (broker counters; out = {len(self.plan.groups)} groups reading)")
        print(f"records: {sent:,} sent, {acked:,} acknowledged; lost per group: {lost}")
        print(f"client errors: {errors}" + (f" e.g. {samples_err}" if samples_err else ""))
        kinds_text = f" {kinds}" if kinds else ""
        print(f"librdkafka warnings: {len(warnings)}{kinds_text}; assignments revoked "
              f"during the phase (rebalances): {revoked}")
        for ln in warnings[:3]:
            print(f"  {ln[:220]}")
        lag_p50 = lag_p99 = lag_max = None
        if gui:
            lags = sorted(v for t, v in zip(gui["lag_t"], gui["lag_ms"], strict=True)
                          if t_go <= t <= t_end)
            if lags:
                lag_p50, lag_p99, lag_max = (percentile(lags, 50), percentile(lags, 99),
                                             lags[-1])
                print(f"GUI event-loop lag over the phase: p50 {lag_p50:.1f} ms, p99 "
                      f"{lag_p99:.1f} ms, max {lag_max:.0f} ms ({len(lags)} probes)")
            self.report_gui_detail(gui, t_go, t_end)
        for note in self.notes[:5]:
            print(f"note: {note}")
        print("\nchecks:")
        target = a.connections or self.plan.connections
        self.check(errors == 0, f"no client errors ({errors})")
        self.check(not warnings and not revoked,
                   f"no client warnings ({len(warnings)}), no rebalance ({revoked} revoked)")
        self.check(acked > 0 and acked == sent and not any(lost.values()),
                   f"nothing lost: {acked:,} of {sent:,} acknowledged, each consumed by "
                   f"every group (lost {sum(lost.values())})")
        self.check(bool(conns) and min(conns) >= target,
                   f"{target} connections held throughout (min {min(conns) if conns else 0})")
        self.check(rss_growth <= a.rss_tolerance_mib,
                   f"RSS flat after warm-up (+{rss_growth:.1f} MiB <= {a.rss_tolerance_mib} MiB)")
        self.check(fd_growth <= a.fd_tolerance,
                   f"fds flat after warm-up ({fd_growth:+.0f} <= {a.fd_tolerance})")
        if a.gui:
            self.check(lag_p99 is not None and lag_p99 < a.lag_p99_ms,
                       f"GUI lag p99 {lag_p99 if lag_p99 is not None else float('nan'):.1f} ms "
                       f"< {a.lag_p99_ms:.0f} ms")
        print(f"\n{'ALL PASS' if not self.failures else f'{len(self.failures)} FAILED'}")
        return 0 if not self.failures else 1


def parse_args(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--gui", action="store_true",
                   help="the broker inside the real app (offscreen), measuring GUI lag")
    p.add_argument("--seconds", type=float, default=60.0, help="sustained phase (60)")
    p.add_argument("--producers", type=int, default=100)
    p.add_argument("--consumers", type=int, default=50, help="consumer instances (50)")
    p.add_argument("--groups", type=int, default=5)
    p.add_argument("--workers", type=int, default=4, help="client processes (4)")
    p.add_argument("--partitions", type=int, default=12)
    p.add_argument("--rate", type=float, default=2000.0, help="msg/s, all producers (2000)")
    p.add_argument("--size", type=int, default=200, help="value bytes (200)")
    p.add_argument("--connections", type=int, default=0,
                   help="connections to hold (default: producers + 2 x consumers)")
    p.add_argument("--warmup-min-s", type=float, default=10.0)
    p.add_argument("--rss-tolerance-mib", type=float, default=32.0)
    p.add_argument("--fd-tolerance", type=int, default=8)
    p.add_argument("--lag-p99-ms", type=float, default=50.0)
    p.add_argument("--view", default=None, metavar="KEY",
                   help="with --gui: keep this view open (overview, clients, ...) instead of "
                        "cycling through all of them every 2 s")
    p.add_argument("--keep-logs", type=Path, default=None, metavar="DIR",
                   help="copy the broker's, the app's and the clients' logs here")
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["worker"]:
        return worker_main(argv[1], argv[2])
    args = parse_args(argv)
    install_cleanup()
    workdir = Path(tempfile.mkdtemp(prefix="streamscope-load-"))
    started = time.monotonic()
    print(f"load: {'the app (offscreen)' if args.gui else 'headless broker'}; "
          f"{args.producers} producers + {args.consumers} consumers in {args.groups} groups "
          f"over {args.workers} client processes; workdir {workdir}", flush=True)
    bench = Bench(args, workdir)
    try:
        code = bench.run()
    except Exception as exc:  # noqa: BLE001 - a failed run is reported, with the logs' tails
        print(f"FAILED: {type(exc).__name__}: {exc}")
        for log in sorted(workdir.glob("*.log")):
            print(f"  {log.name}: {tail(log, 6)}")
        code = 2
    finally:
        stop_all()
        if args.keep_logs:
            copy_logs(workdir, args.keep_logs, "*.log")
        remove_tree(workdir)
    print(f"total {time.monotonic() - started:.0f} s")
    return code


if __name__ == "__main__":
    raise SystemExit(main())
