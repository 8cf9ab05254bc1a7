"""The GUI under load: event-loop lag and broker throughput, GUI open versus headless, and
the broker on a thread of the GUI process versus in a child process.

    .venv/bin/python benchmarks/gui_load.py            # 3 rounds, ~10 minutes on 2 cores
    .venv/bin/python benchmarks/gui_load.py --quick    # 1 round, shorter phases, ~2 min
    .venv/bin/python benchmarks/gui_load.py --rounds 5 --json out.json --keep-logs /tmp/gl
    .venv/bin/python benchmarks/gui_load.py --rounds 2 --variants log,log-headless

What one run measures, per round, with the variants in rotating order (A B C, B C A, ...):

* ``headless``: ``python -m streamscope.core.cli broker --listen 127.0.0.1:0`` as a subprocess (as
  ``throughput.py`` starts it), no GUI anywhere.
* ``gui-thread`` (what ships): the desktop app (``desktop.app.Streamscope``, offscreen,
  window 1440x900, views cycling every second) with its embedded broker, which
  ``desktop/broker_service.py`` runs on a ``core.runtime.BrokerThread``: one process, one
  GIL shared by the GUI thread and the broker thread.
* ``gui-process`` (the alternative, a benchmark stand-in): the same app and views, but the
  GUI process runs no broker. The broker runs in a child process (``_gui_peer.py``: the
  same Broker + Server as ``streamscope broker``) that also answers snapshot requests on a
  second loopback socket with a pickled ``ClusterSnapshot``; the GUI's ticker is pointed
  at that (``RemoteSnapshots`` replaces ``BrokerService.latest``/``request_snapshot``), so
  the views draw the real broker state under the real load. The app has no such
  transport; commands (create topic, start consumers) would need one too. What this
  shows is the GIL-contention cost of the thread design against the cost of a second
  process (CPU on a 2-core machine, pickling snapshots).
* ``log`` (issue 11): the app as shipped with its Log page open on topic ``lanes``
  (``--log-partitions`` 12), no view cycling, read by ``--log-groups`` 5 consumer groups
  (one confluent-kafka consumer each, in its own process, committing every second) while
  a producer paces ``--log-rate`` 50,000 msg/s into it for ``--log-seconds``, then produces
  flat out for ``--seconds``. The lane canvas's paint times are read from its
  ``frame_times`` ring. ``log-headless`` runs the same workload on a headless broker.

Each variant gets a fresh broker and data dir, then, from separate client processes
(confluent-kafka, 1 KiB values by default, ``--size 100`` for small ones, 6 partitions
round-robin, linger.ms 5, batch.size 1000000, acks=1, as in ``throughput.py``):

1. *idle*: the GUI idles (views cycling) for 2 s;
2. *flat-out produce* for ``--seconds`` (topic ``flat``), timed from the first
   ``produce()`` to ``flush()`` returning: msg/s = messages acknowledged / that time;
3. *consume* the first ``--consume-max`` messages of ``flat`` in a fresh group (timed from
   the first message to the last, join excluded);
4. *paced produce* at ``--pace`` msg/s (60,000) for ``--paced-seconds`` (GUI variants).

Inside the GUI process a 10 ms ``Qt.PreciseTimer`` records how late each timeout fires
(the event loop's lag); the ticker's snapshot arrivals and the CPU time of the GUI thread
spent in each fast/slow tick (``time.thread_time``: GIL waits excluded) are recorded with
timestamps, and sliced by the phases' start/end (``CLOCK_MONOTONIC`` is one clock for all
processes). The producer and consumer workers sample /proc for the CPU of the broker
process, the GUI process and the GUI's main thread over exactly their interval.

Where the GUI thread's time goes: every fast/slow tick, view switch and window repaint
(the top-level widget's ``UpdateRequest``) is kept as a span with its CPU time and the
time the thread sat runnable waiting for a core (``/proc/thread-self/schedstat``); each
lag sample over 20 ms is put down to the span that overlapped it, and the report lists
those stalls by cause (wall = CPU + runnable + asleep, asleep being a wait for the GIL).
``--trace-events`` (diagnosis; it costs time itself) times every Qt event delivery and
paint instead; ``--profile DIR`` runs the GUI under py-spy (``pip install py-spy``).

Experiments (not in the default run): ``--thread-loop uvloop`` sets uvloop's policy in the
GUI process (the broker thread runs on uvloop where installed anyway), ``--switch-interval-ms``
sets the GUI process's GIL switch interval, ``--peer-nice N`` lowers the broker child's CPU
priority, ``--broker-nice N`` sets the broker thread's (the app runs it at
``BROKER_NICE``; 0 is as before issue 11), ``--qt-gui-threadpool`` and
``--polyline-charts`` undo the other two fixes of issue 11, ``--size 100`` uses 100-byte
values (there the Python client is the limit).

Printed: per figure the median over rounds; GUI/headless ratios (target >= 0.7x for
produce); lag p50/p99/max per phase (target p99 < 50 ms with >= 50,000 msg/s going in);
the CPU split. Every wait has a deadline; ``--max-minutes`` bounds the run (runs that
would not fit are skipped with a note); only processes this script started are killed.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from _common import (  # noqa: E402 - after the path set-up above
    PRODUCER_CONF,
    PYTHON,
    BenchError,
    LineReader,
    consume_timed,
    copy_logs,
    fmt_num,
    fmt_ratio,
    install_cleanup,
    median,
    parse_worker_output,
    percentile,
    print_table,
    remove_tree,
    run_worker,
    spawn,
    start_streamscope,
    stop,
    stop_all,
    tail,
)

SCRIPT = Path(__file__).resolve()
PEER = SCRIPT.with_name("_gui_peer.py")
VARIANTS = ("gui-thread", "headless", "gui-process", "log", "log-headless")
LABELS = {
    "headless": "headless broker",
    "gui-thread": "GUI + broker thread",
    "gui-process": "GUI + broker process",
    "log": "GUI + broker thread, Log page",
    "log-headless": "headless broker",
}
PHASES = ("idle", "flat", "consume", "paced", "log", "log_flat")
PHASE_LABELS = {"idle": "idle", "flat": "flat-out", "consume": "consume", "paced": "paced",
                "log": "log view, paced", "log_flat": "log view, flat-out"}
LOG_TOPIC = "lanes"
LOAD_PRODUCER_CONF = {**PRODUCER_CONF, "enable.idempotence": False}
CONSUMER_CONF = {"session.timeout.ms": 6000, "fetch.queue.backoff.ms": 10}
LAG_PROBE_MS = 10
IDLE_S = 2.0
LEGEND = """\
What was measured:
  headless      `python -m streamscope.core.cli broker` subprocess, no GUI running.
  broker thread the app as shipped: GUI and embedded broker (BrokerThread) share one process
                and one GIL; views cycle every second.
  broker process a stand-in for the alternative design: the same app and views, no broker in
                the GUI process; a child process runs the headless broker and serves pickled
                snapshots on a loopback socket, which the ticker pulls at 10 Hz. The app has
                no such transport (commands would need one too).
  msg/s in = the phase's producer (or consumer) rate; lag = lateness of a 10 ms timer on
  the GUI thread (samples = timeouts seen in the phase: a short phase's p99 is its max);
  snapshots/s = fresh snapshots the GUI got (10 asked); build p99 = one snapshot's build on
  the broker loop, ms; GUI tick CPU % = GUI-thread CPU in the ticker's fast and slow ticks
  (views drawing), % of one core; fast tick p99 = wall time of one fast tick, ms (a wait
  for the GIL counts here, not in the CPU figure)."""


def fmt_rate(value: float | None) -> str:
    return "-" if value is None else f"{value:,.0f}"


def fmt_pct(value: float | None) -> str:
    return "-" if value is None else f"{value:.0f}"

# =========================================================================================
# Workers: separate processes, started as ``gui_load.py worker KIND SPEC``; the produce and
# consume workers print one JSON object as their last stdout line.
# =========================================================================================


def _cpu_seconds(stat_path: str) -> float | None:
    """utime + stime of a /proc/.../stat (a process, or one thread under task/)."""
    try:
        with open(stat_path) as f:
            stat = f.read()
    except OSError:
        return None
    fields = stat[stat.rfind(")") + 2:].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _machine_busy() -> tuple[int, int]:
    """(busy, total) jiffies of all CPUs, from /proc/stat."""
    with open("/proc/stat") as f:
        values = [int(x) for x in f.readline().split()[1:9]]
    idle = values[3] + values[4]  # idle + iowait
    return sum(values) - idle, sum(values)


def _cpu_sampler(paths: dict[str, str]):
    """CPU % of one core for each /proc path (and this client) over an interval, and how
    busy the whole machine was (other engineers' work shows up there)."""
    start = {k: _cpu_seconds(p) for k, p in paths.items()}
    client0 = time.process_time()
    busy0, total0 = _machine_busy()

    def finish(elapsed: float) -> dict[str, float | None]:
        busy1, total1 = _machine_busy()
        cores = os.cpu_count() or 1
        out: dict[str, float | None] = {
            "client": 100 * (time.process_time() - client0) / elapsed,
            "machine": 100 * cores * (busy1 - busy0) / max(1, total1 - total0),
        }
        for k, p in paths.items():
            end = _cpu_seconds(p)
            s = start[k]
            # /proc counts 10 ms ticks: below a second the figure would be noise.
            ok = s is not None and end is not None and elapsed >= 1.0
            out[k] = 100 * (end - s) / elapsed if ok else None  # type: ignore[operator]
        return out

    return finish


def _ensure_topic(bootstrap: str, topic: str, partitions: int, deadline: float) -> None:
    from confluent_kafka.admin import AdminClient, NewTopic

    admin = AdminClient({"bootstrap.servers": bootstrap})
    futures = admin.create_topics([NewTopic(topic, partitions, 1)], operation_timeout=20)
    with contextlib.suppress(Exception):  # TOPIC_ALREADY_EXISTS is fine; metadata decides
        futures[topic].result(max(1.0, deadline - time.monotonic()))
    while True:
        with contextlib.suppress(Exception):
            t = admin.list_topics(topic, timeout=5).topics.get(topic)
            if t is not None and t.error is None and len(t.partitions) == partitions:
                return
        if time.monotonic() > deadline:
            raise TimeoutError(f"topic {topic} not visible with {partitions} partitions")
        time.sleep(0.05)


def worker_produce(spec: dict[str, Any]) -> dict[str, Any]:
    """Produce for ``seconds`` (flat out, or paced at ``rate`` msg/s), then flush."""
    from confluent_kafka import Producer

    topic, parts, seconds, rate = spec["topic"], spec["partitions"], spec["seconds"], spec["rate"]
    _ensure_topic(spec["bootstrap"], topic, parts, time.monotonic() + 40)
    errors = [0]

    def on_delivery(err, _msg) -> None:
        if err is not None:
            errors[0] += 1

    producer = Producer({"bootstrap.servers": spec["bootstrap"], **LOAD_PRODUCER_CONF,
                         "on_delivery": on_delivery, "delivery.report.only.error": True})
    # Connect and learn the leaders before the clock starts, as throughput.py does.
    producer.list_topics(topic, timeout=10)
    value = os.urandom(spec["size"])
    produce, poll = producer.produce, producer.poll
    chunk = 100 if rate > 0 else 1000
    cpu = _cpu_sampler(spec.get("cpu", {}))
    t0 = time.monotonic()
    end = t0 + seconds
    sent = 0
    while (now := time.monotonic()) < end:
        if rate > 0 and sent >= (now - t0) * rate:
            poll(0.0005)  # ahead of the pace: serve callbacks, then look again
            continue
        for _ in range(chunk):
            while True:
                try:
                    produce(topic, value, partition=sent % parts)
                    break
                except BufferError:  # the local queue is full: let librdkafka drain it
                    poll(0.005)
            sent += 1
        poll(0)
    left = producer.flush(spec.get("flush_s", 60))
    t1 = time.monotonic()
    delivered = sent - left - errors[0]
    return {"sent": sent, "delivered": delivered, "undelivered": left, "errors": errors[0],
            "seconds": t1 - t0, "msg_s": delivered / (t1 - t0), "t0": t0, "t1": t1,
            "cpu": cpu(t1 - t0)}


def worker_consume(spec: dict[str, Any]) -> dict[str, Any]:
    """Consume ``n`` messages of ``topic`` in a fresh group, timed first to last message."""
    from confluent_kafka import Consumer

    n = spec["n"]
    consumer = Consumer({"bootstrap.servers": spec["bootstrap"], "group.id": spec["group"],
                         "auto.offset.reset": "earliest", "enable.auto.commit": False,
                         **CONSUMER_CONF})
    consumer.subscribe([spec["topic"]])
    t_sub = time.monotonic()
    read = consume_timed(consumer, n, t_sub + spec.get("timeout_s", 90), time.monotonic,
                         lambda: _cpu_sampler(spec.get("cpu", {})))
    figures = read.figures(n, t_sub)
    if "error" not in figures:  # the phase's interval, on the GUI samples' clock
        figures.update(t0=read.first, t1=read.last)
    return figures


def worker_follow(spec: dict[str, Any]) -> dict[str, Any]:
    """One consumer group of the log-view workload: a confluent-kafka consumer that
    commits every second (so the lanes show its cursor) and reads until the stop file
    appears. Prints ``ASSIGNED`` once it owns partitions; returns (time, messages read)
    samples every 0.25 s, so the harness can cut the reading rate by phase."""
    from confluent_kafka import Consumer

    _ensure_topic(spec["bootstrap"], spec["topic"], spec["partitions"], time.monotonic() + 40)
    consumer = Consumer({"bootstrap.servers": spec["bootstrap"], "group.id": spec["group"],
                         "auto.offset.reset": "earliest", "enable.auto.commit": True,
                         "auto.commit.interval.ms": 1000, **CONSUMER_CONF})
    told = [False]

    def on_assign(_consumer: Any, partitions: list[Any]) -> None:
        if partitions and not told[0]:
            told[0] = True
            print("ASSIGNED", flush=True)

    consumer.subscribe([spec["topic"]], on_assign=on_assign)
    stop_file = Path(spec["stop_file"])
    deadline = time.monotonic() + spec["max_s"]
    got = errors = 0
    samples: list[tuple[float, int]] = [(time.monotonic(), 0)]
    try:
        while time.monotonic() < deadline and not stop_file.exists():
            for m in consumer.consume(10_000, 0.1):
                if m.error() is None:
                    got += 1
                else:
                    errors += 1
            now = time.monotonic()
            if now - samples[-1][0] >= 0.25:
                samples.append((now, got))
    finally:
        consumer.close()
    samples.append((time.monotonic(), got))
    return {"msgs": got, "errors": errors, "samples": samples}


def _read_between(samples: list[list[float]], t0: float, t1: float) -> float | None:
    """Messages a follower read in [t0, t1], interpolated between its samples."""
    def at(t: float) -> float | None:
        for (ta, na), (tb, nb) in zip(samples, samples[1:], strict=False):
            if ta <= t <= tb:
                return na + (nb - na) * ((t - ta) / (tb - ta) if tb > ta else 1.0)
        return None

    a, b = at(t0), at(t1)
    return None if a is None or b is None else b - a


def lag_probe(lag_t: list[float], lag_ms: list[float]):
    """A precise Qt timer firing every LAG_PROBE_MS on the GUI thread (start it when the
    window measured begins): each firing appends its time to ``lag_t`` and how late it
    fired to ``lag_ms``, the GUI event loop's lag."""
    from PySide6.QtCore import Qt, QTimer

    last = [0.0]

    def on_probe() -> None:
        now = time.monotonic()
        if last[0]:
            lag_t.append(now)
            lag_ms.append(max(0.0, (now - last[0]) * 1000 - LAG_PROBE_MS))
        last[0] = now

    probe = QTimer()
    probe.setTimerType(Qt.TimerType.PreciseTimer)
    probe.setInterval(LAG_PROBE_MS)
    probe.timeout.connect(on_probe)
    return probe


def worker_gui(spec: dict[str, Any]) -> int:
    """The app, offscreen, with the lag probe; prints READY BOOTSTRAP, runs until the stop
    file appears, writes its samples to ``result_file``."""
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    import asyncio
    import gc

    # desktop.app.main keeps Qt's raster engine from farming fills out to its GUI thread
    # pool (QT_NO_GUI_THREADPOOL); --qt-gui-threadpool restores Qt's default to compare.
    if spec.get("qt_gui_threadpool"):
        os.environ.pop("QT_NO_GUI_THREADPOOL", None)
    else:
        os.environ.setdefault("QT_NO_GUI_THREADPOOL", "1")
    if spec.get("switch_interval_ms"):
        sys.setswitchinterval(spec["switch_interval_ms"] / 1000)
    if spec.get("thread_loop") == "uvloop":
        import uvloop  # the GUI's own loops; BrokerThread picks uvloop where installed

        asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())

    import qasync
    from PySide6.QtCore import QCoreApplication, QEvent, QSettings, QTimer
    from PySide6.QtWidgets import QApplication
    from streamscope.core.config import BrokerConfig
    from streamscope.core.server import tune_allocator
    from streamscope.desktop.app import Streamscope, _quiet_offscreen_warnings
    from streamscope.desktop.main_window import VIEW_KEYS

    _quiet_offscreen_warnings()
    if spec.get("polyline_charts"):
        import pyqtgraph as pg  # desktop.views.charts (imported above) set its options

        pg.setConfigOptions(segmentedLineMode="auto")
    # --trace-events (diagnosis only: a Python call per Qt event costs time and GIL
    # hand-offs): every top-level event delivery of 2 ms or more, with its receiver.
    events: list[tuple[float, float, str]] = []
    if spec.get("trace_events"):
        depth = [0]

        class TracingApp(QApplication):
            def notify(self, receiver: Any, event: Any) -> bool:  # noqa: N802 - Qt's name
                depth[0] += 1
                t0 = time.monotonic()
                try:
                    return super().notify(receiver, event)
                finally:
                    depth[0] -= 1
                    t1 = time.monotonic()
                    if depth[0] == 0 and t1 - t0 >= 0.002:
                        events.append((t0, t1, f"{event.type().name} -> "
                                               f"{type(receiver).__name__}"))
                    elif event.type() == QEvent.Type.Paint and t1 - t0 >= 0.0005:
                        events.append((t0, t1, f"  (inner) Paint -> "
                                               f"{type(receiver).__name__}"))

        app = TracingApp(["gui_load"])
    else:
        app = QApplication.instance() or QApplication(["gui_load"])
    settings_dir = Path(spec["data_dir"]).parent
    settings = QSettings(str(settings_dir / "settings.ini"), QSettings.Format.IniFormat)
    config = BrokerConfig(host="127.0.0.1", port=0, data_dir=Path(spec["data_dir"]))
    shell = Streamscope(app, config, settings, theme="light", interactive=False)
    loop = qasync.QEventLoop(app)
    asyncio.set_event_loop(loop)

    remote = None
    if spec["mode"] == "process":
        from _gui_peer import RemoteSnapshots

        host, _, port = spec["snapshots"].rpartition(":")
        remote = RemoteSnapshots(host, int(port))
        # The ticker asks its service for snapshots; point it at the child process.
        shell.service.latest = remote.latest  # type: ignore[method-assign]
        shell.service.request_snapshot = remote.request  # type: ignore[method-assign]

    lag_t: list[float] = []
    lag_ms: list[float] = []
    ticks: list[tuple[float, float]] = []  # (arrival, build_ms)
    work: list[tuple[float, str, float, float]] = []  # (t, fast|slow, wall ms, cpu ms)
    probe = lag_probe(lag_t, lag_ms)

    # What ran on the GUI thread, for attributing stalls: (start, end, what, CPU ms, ms
    # waiting for a CPU) of the ticker's ticks, the view switches and the window's
    # repaints. /proc/thread-self/schedstat gives this thread's CPU time and the time it
    # sat runnable in the run queue; the rest of a span's wall time it slept (a wait for
    # the GIL, or for Qt's raster thread pool).
    spans: list[tuple[float, float, str, float, float]] = []

    def sched() -> tuple[int, int]:
        with open("/proc/thread-self/schedstat") as f:
            cpu_ns, wait_ns = f.read().split()[:2]
        return int(cpu_ns), int(wait_ns)

    def span(t0: float, t1: float, what: str, s0: tuple[int, int]) -> None:
        cpu_ns, wait_ns = sched()
        spans.append((t0, t1, what, (cpu_ns - s0[0]) / 1e6, (wait_ns - s0[1]) / 1e6))

    # Time the ticker's work on the GUI thread: wall time, and CPU time of this thread only
    # (a wait for the GIL is wall time but not CPU time).
    ticker = shell.ticker
    for timer, kind, fn in ((ticker._fast, "fast", ticker._on_fast),
                            (ticker._slow, "slow", ticker._on_slow)):
        timer.timeout.disconnect()

        def timed(fn=fn, kind=kind) -> None:
            w0, c0, m0, s0 = time.perf_counter(), time.thread_time(), time.monotonic(), sched()
            fn()
            m1 = time.monotonic()
            work.append((m1, kind, (time.perf_counter() - w0) * 1000,
                         (time.thread_time() - c0) * 1000))
            span(m0, m1, f"{kind} tick ({views[view_i[0]]})", s0)

        timer.timeout.connect(timed)
    ticker.tick.connect(lambda snap, _h: ticks.append((time.monotonic(), snap.build_ms)))

    # The window's repaints: the top-level widget's UpdateRequest paints every dirty child
    # (its event() is wrapped on the instance).
    def time_paints(widget: Any) -> None:
        widget_event = widget.event

        def timed_event(event: Any) -> bool:
            if event.type() != QEvent.Type.UpdateRequest:
                return widget_event(event)
            t0, s0 = time.monotonic(), sched()
            result = widget_event(event)
            span(t0, time.monotonic(), f"paint {views[view_i[0]]}", s0)
            return result

        widget.event = timed_event

    time_paints(shell.window)

    views = list(VIEW_KEYS)
    view_i = [0]

    def cycle_views() -> None:
        t0, s0 = time.monotonic(), sched()
        view_i[0] = (view_i[0] + 1) % len(views)
        shell.window.show_view(views[view_i[0]])
        if views[view_i[0]] == "topics":
            shell.window.topics.table.select_key(spec.get("select_topic", "flat"))
        span(t0, time.monotonic(), f"switch to {views[view_i[0]]}", s0)

    cycler = QTimer()
    cycler.setInterval(spec.get("cycle_ms", 1000))
    cycler.timeout.connect(cycle_views)

    # The log-view variant: the Log page stays open on one topic (no cycling) and the lane
    # canvas's paint times (its frame_times ring, drained every 100 ms) are kept with the
    # time they were drained at, to be cut by phase like the lag samples.
    frames: list[tuple[float, float]] = []
    frames_cpu: list[tuple[float, float]] = []
    log_note = ""
    log_view = None
    log_topic = spec.get("log_topic")
    if log_topic:
        from streamscope.desktop.views.log_view import LogView

        pages = shell.window.findChildren(LogView)
        if pages:
            log_view = pages[0]
            keys = [k for k in VIEW_KEYS if shell.window.views.get(k) is log_view]
            if keys:
                views[:] = keys
        else:
            # The main window has no Log page yet: show the page as a window of its own,
            # fed by the same ticker, with the main window hidden (nothing else paints).
            log_note = "Log page not in the main window: shown as its own window"
            log_view = LogView(shell.themes.theme)
            log_view.resize(1440, 900)
            time_paints(log_view)
            views[:] = ["log"]
            ticker.tick.connect(log_view.on_tick)
            ticker.slow_tick.connect(log_view.on_slow_tick)
        canvas = log_view.lanes
        # The ring holds wall time, which a wait for a core or for the GIL stretches;
        # the CPU time of each paint (wrapped on the instance) says what the paint costs.
        canvas_paint = canvas.paintEvent

        def timed_paint(event: Any) -> None:
            c0 = time.thread_time()
            canvas_paint(event)
            frames_cpu.append((time.monotonic(), (time.thread_time() - c0) * 1000))

        canvas.paintEvent = timed_paint

        def drain_frames() -> None:
            now = time.monotonic()
            ring = canvas.frame_times
            while ring:
                frames.append((now, ring.popleft()))
            if log_view.selected_topic() != log_topic:
                log_view.show_topic(log_topic)

        framer = QTimer()
        framer.setInterval(100)
        framer.timeout.connect(drain_frames)

    stop_file = Path(spec["stop_file"])
    started_at = time.monotonic()

    def check_stop() -> None:
        if stop_file.exists() or time.monotonic() - started_at > spec.get("max_s", 600):
            QCoreApplication.quit()

    watcher = QTimer()
    watcher.setInterval(100)
    watcher.timeout.connect(check_stop)

    def ready(bootstrap: str) -> None:
        print(f"READY {bootstrap} {os.getpid()}", flush=True)

    shell.window.resize(1440, 900)
    if remote is not None:
        shell.window.show()
        shell.window.set_listener_text(f"Listening on {spec['bootstrap']}")
        ticker.start()
        remote.request()
        gc.freeze()  # as desktop.app.main does once its broker is up
        QTimer.singleShot(0, lambda: ready(spec["bootstrap"]))
    else:
        # What desktop.app.main does around the app: the allocator tuned before the broker
        # starts, the heap frozen for the GC once it is up.
        tune_allocator()
        shell.service.started.connect(lambda _bootstrap: gc.freeze())
        if spec.get("broker_nice") is not None:
            def renice(_bootstrap: str) -> None:
                # Linux nice values are per thread: this lowers the broker thread alone.
                broker_thread = shell.service._thread
                assert broker_thread is not None
                tid = broker_thread._thread.native_id
                assert tid is not None
                os.setpriority(os.PRIO_PROCESS, tid, spec["broker_nice"])

            shell.service.started.connect(renice)
        shell.service.started.connect(ready)
        shell.service.failed.connect(lambda exc: (print(f"FAILED {exc}", flush=True),
                                                  QCoreApplication.quit()))
        shell.start()
    probe.start()
    if log_view is None:
        cycler.start()
    else:
        if log_note:
            shell.window.hide()
            log_view.show()
        else:
            shell.window.show_view(views[0])
        framer.start()
    watcher.start()
    closed = asyncio.Event()
    app.aboutToQuit.connect(closed.set)
    with loop:
        loop.run_until_complete(closed.wait())
    probe.stop()
    if log_view is not None:
        framer.stop()
        if log_note:
            log_view.close()
            log_view.deleteLater()
    shell.close()
    if remote is not None:
        fetch = list(remote.fetch_ms)
        unpickle = list(remote.unpickle_ms)
        snap_bytes = remote.bytes_last
        remote.close()
    else:
        fetch, unpickle, snap_bytes = [], [], 0
    Path(spec["result_file"]).write_text(json.dumps({
        "lag_t": lag_t, "lag_ms": lag_ms, "ticks": ticks, "work": work, "spans": spans,
        "frames": frames, "frames_cpu": frames_cpu, "log_note": log_note, "events": events,
        "fetch_ms": fetch, "unpickle_ms": unpickle, "snapshot_bytes": snap_bytes,
    }))
    print("DONE", flush=True)
    return 0


def worker_main(kind: str, spec_json: str) -> int:
    spec = json.loads(spec_json)
    if kind == "gui":
        return worker_gui(spec)
    fn = {"produce": worker_produce, "consume": worker_consume, "follow": worker_follow}[kind]
    try:
        result = fn(spec)
    except Exception as exc:  # noqa: BLE001 - reported to the harness as a result
        result = {"error": f"{type(exc).__name__}: {exc}"}
    print(json.dumps(result), flush=True)
    return 0


# =========================================================================================
# Harness
# =========================================================================================


def _sorted_in(times: list[float], values: list[float], t0: float, t1: float) -> list[float]:
    return sorted(v for t, v in zip(times, values, strict=True) if t0 <= t <= t1)


def phase_figures(gui: dict[str, Any], t0: float, t1: float) -> dict[str, float | None]:
    """The GUI's figures over one phase [t0, t1] (monotonic seconds)."""
    lags = _sorted_in(gui["lag_t"], gui["lag_ms"], t0, t1)
    ticks = [b for t, b in gui["ticks"] if t0 <= t <= t1]
    span = max(t1 - t0, 1e-9)
    cpu = sum(c for t, _k, _w, c in gui["work"] if t0 <= t <= t1)
    wall = sorted(w for t, k, w, _c in gui["work"] if t0 <= t <= t1 and k == "fast")
    frames = sorted(ms for t, ms in gui.get("frames", []) if t0 <= t <= t1)
    frames_cpu = sorted(ms for t, ms in gui.get("frames_cpu", []) if t0 <= t <= t1)
    return {
        "frame_cpu_p50": percentile(frames_cpu, 50) if frames_cpu else None,
        "frame_cpu_p99": percentile(frames_cpu, 99) if frames_cpu else None,
        "frame_p50": percentile(frames, 50) if frames else None,
        "frame_p99": percentile(frames, 99) if frames else None,
        "frame_max": frames[-1] if frames else None,
        "frames_per_s": len(frames) / span,
        "lag_p50": percentile(lags, 50) if lags else None,
        "lag_p99": percentile(lags, 99) if lags else None,
        "lag_max": lags[-1] if lags else None,
        "lag_n": len(lags),
        "snaps_per_s": len(ticks) / span,
        "build_p99": percentile(sorted(ticks), 99) if ticks else None,
        "tick_cpu_pct": 100 * cpu / 1000 / span,  # GUI thread CPU in ticker work
        "fast_tick_wall_p99": percentile(wall, 99) if wall else None,
    }


STALL_MS = 20.0


def span_totals(gui: dict[str, Any], t0: float, t1: float) -> dict[str, dict[str, float]]:
    """Per kind of GUI-thread work (paint of a view, tick, switch): how many, and the
    total wall, CPU and run-queue ms, in [t0, t1]."""
    out: dict[str, dict[str, float]] = {}
    for s, e, what, cpu, runq in gui.get("spans", []):
        if t0 <= s <= t1:
            key = what.split(" (")[0] if what.startswith(("fast", "slow")) else what
            f = out.setdefault(key, {"n": 0, "wall_ms": 0.0, "cpu_ms": 0.0, "runq_ms": 0.0})
            f["n"] += 1
            f["wall_ms"] += (e - s) * 1000
            f["cpu_ms"] += cpu
            f["runq_ms"] += runq
    return out


def stall_causes(gui: dict[str, Any], t0: float, t1: float) -> dict[str, Any]:
    """Each lag sample over ``STALL_MS`` in [t0, t1], put down to the GUI-thread work that
    overlapped it (the longest such span), or to nothing the GUI thread ran (waiting for
    the GIL, or Qt work outside the wrapped spans). Returns per cause the count, the total
    stall ms, and the overlapping spans' wall, CPU and run-queue ms (wall - CPU - run
    queue = asleep: waiting for the GIL, or for Qt's raster thread pool)."""
    spans = sorted(gui.get("spans", []))
    causes: dict[str, list[float]] = {}
    for t, lag in zip(gui["lag_t"], gui["lag_ms"], strict=True):
        if not (t0 <= t <= t1) or lag < STALL_MS:
            continue
        start = t - (lag + LAG_PROBE_MS) / 1000
        over = [(min(e, t) - max(s, start), what, cpu, runq, (e - s) * 1000)
                for s, e, what, cpu, runq in spans if s < t and e > start]
        if over:
            _, what, cpu, runq, wall = max(over)
            key = what.split(" (")[0] if what.startswith(("fast", "slow")) else what
        else:
            key, cpu, runq, wall = "(no GUI work: GIL wait or unwrapped Qt work)", 0.0, 0.0, 0.0
        if gui.get("events"):
            ev = [(min(e, t) - max(s, start), what) for s, e, what in gui["events"]
                  if s < t and e > start and not what.startswith(" ")]
            key = max(ev)[1] if ev else "(no event over 2 ms)"
        entry = causes.setdefault(key, [0, 0.0, 0.0, 0.0, 0.0])
        for i, x in enumerate((1, lag, cpu, runq, wall)):
            entry[i] += x
    return {k: {"n": n, "ms": ms, "cpu_ms": cpu, "runq_ms": runq, "wall_ms": wall}
            for k, (n, ms, cpu, runq, wall) in causes.items()}


class Bench:
    def __init__(self, args: argparse.Namespace, workdir: Path) -> None:
        self.args = args
        self.workdir = workdir
        self.started = time.monotonic()
        self.budget_s = args.max_minutes * 60
        self.rounds: dict[str, list[dict[str, Any]]] = {v: [] for v in args.variants}
        self.notes: list[str] = []
        self.serial = 0

    def note(self, text: str) -> None:
        self.notes.append(text)
        print(f"  note: {text}", flush=True)

    def unique(self, stem: str) -> str:
        self.serial += 1
        return f"{stem}-{self.serial}"

    def run_estimate(self, variant: str) -> float:
        a = self.args
        if variant == "headless":
            return a.seconds + 12
        if variant in ("log", "log-headless"):
            return a.log_seconds + a.seconds + 25 + (IDLE_S + 10 if variant == "log" else 0)
        return IDLE_S + a.seconds + a.paced_seconds + 22

    def fits(self, variant: str) -> bool:
        return time.monotonic() - self.started + self.run_estimate(variant) <= self.budget_s

    # -- phases shared by every variant -------------------------------------------------

    def produce(self, bootstrap: str, topic: str, rate: float, seconds: float,
                cpu: dict[str, str], partitions: int | None = None) -> dict[str, Any]:
        spec = {"bootstrap": bootstrap, "topic": topic,
                "partitions": partitions or self.args.partitions,
                "size": self.args.size, "seconds": seconds, "rate": rate, "cpu": cpu}
        name = self.unique(f"produce-{topic}")
        r = run_worker(SCRIPT, "produce", spec, seconds + 120, self.workdir / f"{name}.log")
        if r["undelivered"] or r["errors"]:
            self.note(f"{topic}: {r['undelivered']} undelivered, {r['errors']} errors")
        return r

    def consume(self, bootstrap: str, topic: str, n: int, cpu: dict[str, str]) -> dict[str, Any]:
        spec = {"bootstrap": bootstrap, "topic": topic, "n": n,
                "group": self.unique("readers"), "cpu": cpu, "timeout_s": 90}
        return run_worker(SCRIPT, "consume", spec, 120,
                          self.workdir / f"{self.unique('consume')}.log")

    def load(self, bootstrap: str, cpu: dict[str, str], paced: bool,
             out: dict[str, Any]) -> None:
        """flat-out produce, consume, then (GUI variants) paced produce; results into out."""
        a = self.args
        flat = self.produce(bootstrap, "flat", 0, a.seconds, cpu)
        out["flat"] = flat
        n = min(flat["delivered"], a.consume_max)
        if n > 0:
            try:
                out["consume"] = self.consume(bootstrap, "flat", n, cpu)
            except BenchError as exc:
                self.note(f"consume: {exc}")
        if paced:
            out["paced"] = self.produce(bootstrap, "paced", a.pace, a.paced_seconds, cpu)
        # What the machine spent beyond our processes: kernel writeback, other users.
        ours = ["client", "broker"] + (["gui"] if cpu.get("gui", cpu["broker"]) != cpu["broker"]
                                       else [])
        for phase in ("flat", "consume", "paced"):
            c = out.get(phase, {}).get("cpu", {})
            if c.get("machine") is not None and all(c.get(k) is not None for k in ours):
                c["rest"] = c["machine"] - sum(c[k] for k in ours)

    def load_log(self, bootstrap: str, cpu: dict[str, str], out: dict[str, Any]) -> None:
        """The log-view workload: ``--log-groups`` consumer groups (one confluent-kafka
        consumer each, in its own process) read a topic of ``--log-partitions``, first
        while a producer paces ``--log-rate`` msg/s into it for ``--log-seconds``, then
        while it produces flat out for ``--seconds``. Results into out["log"] and
        out["log_flat"], each with the rate the groups read at (all groups together)."""
        a = self.args
        stop_file = self.workdir / self.unique("followers-stop")
        followers = []
        try:
            for g in range(a.log_groups):
                spec = {"bootstrap": bootstrap, "topic": LOG_TOPIC,
                        "partitions": a.log_partitions, "group": f"lane-readers-{g + 1}",
                        "stop_file": str(stop_file), "max_s": self.run_estimate("log") + 60}
                name = self.unique("follow")
                proc = spawn([PYTHON, str(SCRIPT), "worker", "follow", json.dumps(spec)],
                             stdout=subprocess.PIPE, log_path=self.workdir / f"{name}.log")
                followers.append((proc, LineReader(proc), self.workdir / f"{name}.log"))
            deadline = time.monotonic() + 60
            for _proc, reader, log in followers:
                if reader.wait_for(lambda ln: ln == "ASSIGNED", deadline) is None:
                    raise BenchError(f"a log-view consumer got no partitions: {tail(log)}")
            out["log"] = self.produce(bootstrap, LOG_TOPIC, a.log_rate, a.log_seconds, cpu,
                                      a.log_partitions)
            out["log_flat"] = self.produce(bootstrap, LOG_TOPIC, 0, a.seconds, cpu,
                                           a.log_partitions)
        finally:
            stop_file.touch()
            results = []
            for proc, reader, log in followers:
                reader.wait_eof(time.monotonic() + 20)
                with contextlib.suppress(Exception):
                    proc.wait(5)
                with contextlib.suppress(BenchError):
                    results.append(parse_worker_output("follow", proc.returncode,
                                                       "\n".join(reader.lines).encode(), log))
                stop(proc)
        for phase in ("log", "log_flat"):
            r = out.get(phase)
            if r is None:
                continue
            reads = [_read_between(f["samples"], r["t0"], r["t1"]) for f in results]
            if results and all(x is not None for x in reads):
                r["read_msg_s"] = sum(reads) / (r["t1"] - r["t0"])  # type: ignore[arg-type]
                r["groups_read"] = len(results)

    # -- variants -----------------------------------------------------------------------

    def run_headless(self, log: bool = False) -> dict[str, Any]:
        handle = start_streamscope(self.workdir, name=self.unique("headless"))
        out: dict[str, Any] = {}
        try:
            cpu = {"broker": f"/proc/{handle.pid}/stat"}
            if log:
                self.load_log(handle.bootstrap, cpu, out)
            else:
                self.load(handle.bootstrap, cpu, False, out)
            handle.check_alive()
        finally:
            handle.stop()
            if handle.data_dir is not None:
                remove_tree(handle.data_dir)
        return out

    def start_peer(self, name: str) -> tuple[Any, str, str, Path, Path]:
        data_dir = self.workdir / f"data-{name}"
        log_path = self.workdir / f"{name}.log"
        cmd = [PYTHON, str(PEER), "--data-dir", str(data_dir)]
        if self.args.peer_nice:
            cmd = ["nice", "-n", str(self.args.peer_nice), *cmd]
        proc = spawn(cmd, log_path=log_path)
        deadline = time.monotonic() + 30
        while True:
            text = log_path.read_text(errors="replace") if log_path.exists() else ""
            found = {k: ln.split(" on ", 1)[1].strip() for ln in text.splitlines()
                     for k in ("listening", "snapshots") if ln.startswith(f"{k} on ")}
            if len(found) == 2:
                return proc, found["listening"], found["snapshots"], data_dir, log_path
            if proc.poll() is not None or time.monotonic() > deadline:
                stop(proc)
                raise BenchError(f"broker child process did not start: {tail(log_path)}")
            time.sleep(0.05)

    def run_gui(self, mode: str) -> dict[str, Any]:
        name = self.unique(f"gui-{mode}")
        run_dir = self.workdir / name
        run_dir.mkdir()
        spec: dict[str, Any] = {
            "mode": mode, "data_dir": str(run_dir / "data"), "stop_file": str(run_dir / "stop"),
            "result_file": str(run_dir / "result.json"), "select_topic": "flat",
            "max_s": self.run_estimate("gui-thread") + 120,
            "switch_interval_ms": self.args.switch_interval_ms,
            "thread_loop": self.args.thread_loop,
            "qt_gui_threadpool": self.args.qt_gui_threadpool,
            "log_topic": LOG_TOPIC if mode == "log" else None,
            "trace_events": self.args.trace_events,
            "broker_nice": self.args.broker_nice,
            "polyline_charts": self.args.polyline_charts,
        }
        peer = None
        out: dict[str, Any] = {}
        gui_proc = None
        try:
            if mode == "process":
                peer, bootstrap, snaps, peer_data, _log = self.start_peer(f"{name}-broker")
                spec.update(bootstrap=bootstrap, snapshots=snaps)
            gui_log = self.workdir / f"{name}.log"
            cmd = [PYTHON, str(SCRIPT), "worker", "gui", json.dumps(spec)]
            if self.args.profile:
                # py-spy samples every thread (waits included, native frames: a wait for
                # the GIL shows as take_gil) and writes collapsed stacks when the GUI exits.
                self.args.profile.mkdir(parents=True, exist_ok=True)
                cmd = [str(Path(PYTHON).with_name("py-spy")), "record", "--threads", "--idle",
                       "--native", "--rate", "200", "--format", "raw", "--output",
                       str(self.args.profile / f"{name}.txt"), "--", *cmd]
            gui_proc = spawn(cmd, stdout=subprocess.PIPE, log_path=gui_log)
            reader = LineReader(gui_proc)
            line = reader.wait_for(lambda ln: ln.startswith(("READY", "FAILED")),
                                   time.monotonic() + 60)
            if not line or not line.startswith("READY"):
                raise BenchError(f"the GUI did not start: {line or tail(gui_log)}")
            t_ready = time.monotonic()
            bootstrap, gui_pid = line.split()[1], int(line.split()[2])
            cpu = {"gui": f"/proc/{gui_pid}/stat",
                   "gui_main": f"/proc/{gui_pid}/task/{gui_pid}/stat",
                   "broker": f"/proc/{peer.pid if peer else gui_pid}/stat"}
            time.sleep(IDLE_S)
            out["idle"] = {"t0": t_ready + 0.3, "t1": time.monotonic()}
            if mode == "log":
                self.load_log(bootstrap, cpu, out)
            else:
                self.load(bootstrap, cpu, True, out)
            Path(spec["stop_file"]).touch()
            if not reader.wait_eof(time.monotonic() + 40):
                self.note(f"{name}: the GUI did not exit in 40 s after the stop request")
            with contextlib.suppress(Exception):
                gui_proc.wait(10)
            result_file = Path(spec["result_file"])
            if not result_file.exists():
                raise BenchError(f"{name}: no result file; GUI log: {tail(gui_log)}")
            gui = json.loads(result_file.read_text())
            if gui.get("log_note"):
                self.note(f"{name}: {gui['log_note']}")
            out["gui"] = {ph: phase_figures(gui, out[ph]["t0"], out[ph]["t1"])
                          for ph in PHASES if ph in out}
            out["spans"] = span_totals(gui, out["idle"]["t0"],
                                       max(out[ph]["t1"] for ph in PHASES if ph in out))
            if gui.get("events"):
                ev: dict[str, list[float]] = {}
                for s0, s1, what in gui["events"]:
                    ev.setdefault(what, []).append((s1 - s0) * 1000)
                out["events"] = {k: {"n": len(v), "ms": sum(v), "max": max(v),
                                     "p90": percentile(sorted(v), 90)} for k, v in ev.items()}
            out["stalls"] = stall_causes(gui, out["idle"]["t0"],
                                         max(out[ph]["t1"] for ph in PHASES if ph in out))
            if gui["fetch_ms"]:
                fetch, unp = sorted(gui["fetch_ms"]), sorted(gui["unpickle_ms"])
                out["transport"] = {"fetch_p50": percentile(fetch, 50),
                                    "fetch_p99": percentile(fetch, 99),
                                    "unpickle_p50": percentile(unp, 50),
                                    "bytes": gui["snapshot_bytes"]}
        finally:
            if gui_proc is not None:
                stop(gui_proc)
            if peer is not None:
                stop(peer)
            remove_tree(run_dir / "data")
            if mode == "process":
                remove_tree(self.workdir / f"data-{name}-broker")
        return out

    def run(self) -> None:
        variants = list(self.args.variants)
        for r in range(self.args.rounds):
            order = variants[r % len(variants):] + variants[:r % len(variants)]
            print(f"round {r + 1}/{self.args.rounds}: {' -> '.join(order)}", flush=True)
            for v in order:
                if not self.fits(v):
                    self.note(f"round {r + 1} {v}: skipped, --max-minutes would be exceeded")
                    continue
                t = time.monotonic()
                try:
                    res = (self.run_headless(log=v == "log-headless")
                           if v in ("headless", "log-headless")
                           else self.run_gui(v.removeprefix("gui-")))
                except BenchError as exc:
                    self.note(f"round {r + 1} {v}: {exc}")
                    continue
                self.rounds[v].append(res)
                ph = "log_flat" if v.startswith("log") else "flat"
                flat = res.get(ph, {}).get("msg_s")
                lag = res.get("gui", {}).get(ph, {}).get("lag_p99")
                print(f"  {v:<12} produce {fmt_rate(flat)} msg/s"
                      + (f", lag p99 {fmt_num(lag, 'ms')} ms" if lag is not None else "")
                      + f"  ({time.monotonic() - t:.0f} s)", flush=True)

    # -- report -------------------------------------------------------------------------

    def _values(self, variant: str, path: tuple[str, ...]) -> list[float]:
        """The figure at ``path`` in each round of ``variant`` that has one."""
        vals = []
        for res in self.rounds.get(variant, []):
            cur: Any = res
            for key in path:
                cur = cur.get(key) if isinstance(cur, dict) else None
            if isinstance(cur, (int, float)):
                vals.append(float(cur))
        return vals

    def med(self, variant: str, *path: str) -> float | None:
        return median(self._values(variant, path))

    def worst(self, variant: str, *path: str) -> float | None:
        vals = self._values(variant, path)
        return max(vals) if vals else None

    def report(self) -> None:
        if any(v in self.rounds for v in ("gui-thread", "gui-process", "headless")):
            self.report_main()
        if "log" in self.rounds or "log-headless" in self.rounds:
            self.report_log()
        self.report_stalls()
        if self.notes:
            print()
            print("Notes:")
            for text in self.notes:
                print(f"  - {text}")

    def report_main(self) -> None:
        a = self.args
        n = {v: len(r) for v, r in self.rounds.items() if not v.startswith("log")}
        print()
        print(f"Throughput, median of rounds ({', '.join(f'{v} {k}' for v, k in n.items())}); "
              f"{a.size} B values, {a.partitions} partitions, confluent-kafka")
        gv = [v for v in ("gui-thread", "gui-process") if v in self.rounds]
        headers = ["figure", LABELS["headless"]]
        for v in gv:
            headers += [LABELS[v], f"{v.removeprefix('gui-')}/headless"]
        rows = []
        for label, path, headless_too in (
            ("produce flat-out, msg/s", ("flat", "msg_s"), True),
            (f"consume {a.consume_max:,} msgs, msg/s", ("consume", "msg_s"), True),
            (f"produce paced {a.pace:,.0f}/s, achieved msg/s", ("paced", "msg_s"), False),
        ):
            h = self.med("headless", *path) if headless_too else None
            row = [label, fmt_rate(h)]
            for v in gv:
                g = self.med(v, *path)
                row += [fmt_rate(g), fmt_ratio(g, h) if headless_too else "-"]
            rows.append(row)
        print_table(headers, rows)

        print()
        print(f"GUI event-loop lag, ms ({LAG_PROBE_MS} ms PreciseTimer, lateness of each "
              "timeout), per phase: median of rounds [worst round]")
        headers = ["variant / phase", "msg/s in", "samples", "lag p50", "lag p99", "lag max",
                   "snapshots/s", "build p99", "GUI tick CPU %", "fast tick p99"]
        rows = []
        for v in gv:
            for ph in PHASES:
                if not any(ph in r.get("gui", {}) for r in self.rounds[v]):
                    continue
                rate = (self.med(v, ph, "msg_s") if ph in ("flat", "paced") else
                        self.med(v, "consume", "msg_s") if ph == "consume" else None)
                g = ("gui", ph)
                rows.append([
                    f"{LABELS[v]} / {PHASE_LABELS[ph]}",
                    fmt_rate(rate),
                    fmt_rate(self.med(v, *g, "lag_n")),
                    fmt_num(self.med(v, *g, "lag_p50"), "ms"),
                    f"{fmt_num(self.med(v, *g, 'lag_p99'), 'ms')} "
                    f"[{fmt_num(self.worst(v, *g, 'lag_p99'), 'ms')}]",
                    f"{fmt_num(self.med(v, *g, 'lag_max'), 'ms')} "
                    f"[{fmt_num(self.worst(v, *g, 'lag_max'), 'ms')}]",
                    fmt_num(self.med(v, *g, "snaps_per_s")),
                    fmt_num(self.med(v, *g, "build_p99"), "ms"),
                    fmt_pct(self.med(v, *g, "tick_cpu_pct")),
                    fmt_num(self.med(v, *g, "fast_tick_wall_p99"), "ms"),
                ])
        print_table(headers, rows)
        for v in gv:
            if self.med(v, "transport", "fetch_p99") is not None:
                print(f"  {LABELS[v]}: snapshot transport (request -> unpickled) "
                      f"p50 {fmt_num(self.med(v, 'transport', 'fetch_p50'), 'ms')} ms, "
                      f"p99 {fmt_num(self.med(v, 'transport', 'fetch_p99'), 'ms')} ms; "
                      f"unpickle p50 {fmt_num(self.med(v, 'transport', 'unpickle_p50'), 'ms')}"
                      f" ms; {fmt_num(self.med(v, 'transport', 'bytes'))} bytes per snapshot")

        print()
        print(f"CPU during flat-out produce, % of one core ({os.cpu_count()} cores = "
              f"{100 * (os.cpu_count() or 1)} %), median of rounds; 'rest' = whole machine "
              "minus these processes (kernel writeback, anything else running)")
        headers = ["variant", "producer", "broker process", "GUI process", "GUI main thread",
                   "whole machine", "rest"]
        rows = []
        for v in [x for x in ("headless", "gui-thread", "gui-process") if x in self.rounds]:
            c = ("flat", "cpu")
            same = v == "gui-thread"
            rows.append([
                LABELS[v], fmt_pct(self.med(v, *c, "client")),
                fmt_pct(self.med(v, *c, "broker")) + (" (= GUI process)" if same else ""),
                fmt_pct(self.med(v, *c, "gui")) if v != "headless" else "-",
                fmt_pct(self.med(v, *c, "gui_main")) if v != "headless" else "-",
                fmt_pct(self.med(v, *c, "machine")),
                fmt_pct(self.med(v, *c, "rest")),
            ])
        print_table(headers, rows)
        print(LEGEND)

        print()
        print("Targets (issue 6):")
        h = self.med("headless", "flat", "msg_s")
        for v in gv:
            g = self.med(v, "flat", "msg_s")
            ratio = g / h if g and h else None
            print(f"  {LABELS[v]}: produce with the GUI open / headless = "
                  f"{fmt_ratio(g, h)} (target >= 0.70x): "
                  f"{'met' if ratio is not None and ratio >= 0.7 else 'NOT met'}")
            for ph in ("flat", "paced"):
                p99 = self.med(v, "gui", ph, "lag_p99")
                rate = self.med(v, ph, "msg_s")
                ok = p99 is not None and p99 < 50 and rate is not None and rate >= 50_000
                print(f"  {LABELS[v]}: lag p99 {fmt_num(p99, 'ms')} ms with "
                      f"{fmt_rate(rate)} msg/s going in ({PHASE_LABELS[ph]}; target p99 < 50 ms "
                      f"at >= 50,000 msg/s): {'met' if ok else 'NOT met'}")

    def report_stalls(self) -> None:
        for v in [x for x in ("gui-thread", "gui-process", "log") if x in self.rounds]:
            total: dict[str, list[float]] = {}
            for res in self.rounds[v]:
                for cause, f in res.get("stalls", {}).items():
                    t = total.setdefault(cause, [0.0] * 5)
                    for i, k in enumerate(("n", "ms", "wall_ms", "cpu_ms", "runq_ms")):
                        t[i] += f[k]
            if not total:
                continue
            print()
            print(f"{LABELS[v]}: stalls (lag samples > {STALL_MS:.0f} ms, all phases, all "
                  "rounds) by the GUI-thread work that overlapped them; that work's wall "
                  "time = CPU + runnable, waiting for a core + asleep (GIL, Qt's pool)")
            rows = [[cause, f"{n:.0f}", fmt_num(ms, "ms"), fmt_num(ms / n, "ms"),
                     fmt_num(wall / n, "ms"), fmt_num(cpu / n, "ms"), fmt_num(runq / n, "ms"),
                     fmt_num(max(0.0, wall - cpu - runq) / n, "ms")]
                    for cause, (n, ms, wall, cpu, runq)
                    in sorted(total.items(), key=lambda kv: -kv[1][1])]
            print_table(["cause", "stalls", "stall ms", "mean lag", "span wall", "CPU",
                         "runnable", "asleep"], rows)

    def report_log(self) -> None:
        a = self.args
        n = {v: len(self.rounds.get(v, [])) for v in ("log", "log-headless")}
        print()
        print(f"Log view: the Log page open on '{LOG_TOPIC}' ({a.log_partitions} partitions), "
              f"{a.log_groups} consumer groups reading it (confluent-kafka, one process "
              f"each), fed at {a.log_rate:,.0f} msg/s for {a.log_seconds:.0f} s, then flat out "
              f"for {a.seconds:.0f} s; median of rounds (log {n['log']}, headless "
              f"{n['log-headless']}) [worst round]")
        headers = ["phase", "produced msg/s", "headless", "GUI/headless", "read msg/s (all groups)",
                   "headless", "GUI/headless", "frame p50", "frame p99", "CPU p50", "CPU p99",
                   "frames/s", "lag p99"]
        rows = []
        for ph in ("log", "log_flat"):
            g, h = self.med("log", ph, "msg_s"), self.med("log-headless", ph, "msg_s")
            gr, hr = self.med("log", ph, "read_msg_s"), self.med("log-headless", ph, "read_msg_s")
            f = ("gui", ph)
            rows.append([
                PHASE_LABELS[ph], fmt_rate(g), fmt_rate(h), fmt_ratio(g, h),
                fmt_rate(gr), fmt_rate(hr), fmt_ratio(gr, hr),
                fmt_num(self.med("log", *f, "frame_p50"), "ms"),
                f"{fmt_num(self.med('log', *f, 'frame_p99'), 'ms')} "
                f"[{fmt_num(self.worst('log', *f, 'frame_p99'), 'ms')}]",
                fmt_num(self.med("log", *f, "frame_cpu_p50"), "ms"),
                fmt_num(self.med("log", *f, "frame_cpu_p99"), "ms"),
                fmt_num(self.med("log", *f, "frames_per_s")),
                f"{fmt_num(self.med('log', *f, 'lag_p99'), 'ms')} "
                f"[{fmt_num(self.worst('log', *f, 'lag_p99'), 'ms')}]",
            ])
        print_table(headers, rows)
        print("  frame = wall time of one LaneCanvas.paintEvent (its frame_times ring), ms; "
              "CPU = the GUI thread's CPU time in it (a wait for a core or the GIL is wall "
              "time only); lag = lateness of a 10 ms timer on the GUI thread; read = "
              "messages all groups consumed per second")
        print("Targets (issue 11):")
        for ph in ("log", "log_flat"):
            fp = self.med("log", "gui", ph, "frame_p99")
            lp = self.med("log", "gui", ph, "lag_p99")
            print(f"  {PHASE_LABELS[ph]}: frame p99 {fmt_num(fp, 'ms')} ms (target < 16.7): "
                  f"{'met' if fp is not None and fp < 16.7 else 'NOT met'}; lag p99 "
                  f"{fmt_num(lp, 'ms')} ms (target < 50): "
                  f"{'met' if lp is not None and lp < 50 else 'NOT met'}")
            for what, key in (("produced", "msg_s"), ("read", "read_msg_s")):
                g, h = self.med("log", ph, key), self.med("log-headless", ph, key)
                ok = g is not None and h is not None and g >= 0.9 * h
                print(f"  {PHASE_LABELS[ph]}: {what} with the view open / headless = "
                      f"{fmt_ratio(g, h)} (target >= 0.90x): {'met' if ok else 'NOT met'}")

    def dump_json(self, path: Path) -> None:
        path.write_text(json.dumps({"args": {k: (str(v) if isinstance(v, Path) else v)
                                             for k, v in vars(self.args).items()},
                                    "rounds": self.rounds, "notes": self.notes}, indent=1))


def parse_args(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--rounds", type=int, default=None, help="default 3 (quick: 1)")
    p.add_argument("--seconds", type=float, default=None,
                   help="flat-out produce phase, s (default 8; quick 5)")
    p.add_argument("--paced-seconds", type=float, default=None,
                   help="paced produce phase, s (default 6; quick 4)")
    p.add_argument("--pace", type=float, default=60_000, help="paced phase msg/s")
    p.add_argument("--consume-max", type=int, default=None,
                   help="messages to consume back (default 2,000,000; quick 1,000,000)")
    p.add_argument("--partitions", type=int, default=6)
    p.add_argument("--log-seconds", type=float, default=None,
                   help="log-view variants: paced produce phase, s (default 10; quick 6)")
    p.add_argument("--log-rate", type=float, default=50_000,
                   help="log-view variants: paced produce msg/s (default 50,000)")
    p.add_argument("--log-partitions", type=int, default=12)
    p.add_argument("--log-groups", type=int, default=5,
                   help="log-view variants: consumer groups reading the topic (default 5)")
    p.add_argument("--size", type=int, default=1024, help="value bytes (default 1024)")
    p.add_argument("--variants", default=",".join(VARIANTS),
                   help=f"comma-separated subset of {','.join(VARIANTS)}")
    p.add_argument("--switch-interval-ms", type=float, default=None,
                   help="sys.setswitchinterval in the GUI process (experiment; default 5 ms)")
    p.add_argument("--thread-loop", choices=("asyncio", "uvloop"), default="asyncio",
                   help="event loop policy in the GUI process (experiment; BrokerThread "
                        "uses uvloop's loop where it is installed either way)")
    p.add_argument("--qt-gui-threadpool", action="store_true",
                   help="let Qt's raster engine hand big fills to its GUI thread pool and "
                        "wait for them, as before the app set QT_NO_GUI_THREADPOOL "
                        "(experiment)")
    p.add_argument("--peer-nice", type=int, default=0,
                   help="run the gui-process variant's broker child at this niceness "
                        "(experiment; the thread design's counterpart is --broker-nice)")
    p.add_argument("--profile", type=Path, default=None, metavar="DIR",
                   help="run each GUI under py-spy (install it in the venv); collapsed "
                        "stacks of every thread, waits included, to DIR/<run>.txt")
    p.add_argument("--polyline-charts", action="store_true",
                   help="experiment: charts stroke each antialiased line as one polyline "
                        "(pyqtgraph's default) instead of as segments, as before issue 11")
    p.add_argument("--broker-nice", type=int, default=None,
                   help="experiment: the GUI process's broker thread at this niceness "
                        "(the app sets desktop.broker_service.BROKER_NICE; 0 as before)")
    p.add_argument("--trace-events", action="store_true",
                   help="diagnosis: time every Qt event delivery in the GUI (costs time "
                        "itself); stalls are then put down to the events that overlapped them")
    p.add_argument("--quick", action="store_true")
    p.add_argument("--max-minutes", type=float, default=None,
                   help="stop starting runs after this (default 12; quick 4)")
    p.add_argument("--json", type=Path, default=None)
    p.add_argument("--keep-logs", type=Path, default=None, metavar="DIR")
    args = p.parse_args(argv)
    q = args.quick
    args.rounds = args.rounds if args.rounds is not None else (1 if q else 3)
    args.seconds = args.seconds if args.seconds is not None else (5.0 if q else 8.0)
    args.paced_seconds = args.paced_seconds if args.paced_seconds is not None else (
        4.0 if q else 6.0)
    args.log_seconds = args.log_seconds if args.log_seconds is not None else (
        6.0 if q else 10.0)
    args.consume_max = args.consume_max if args.consume_max is not None else (
        1_000_000 if q else 2_000_000)
    args.max_minutes = args.max_minutes if args.max_minutes is not None else (
        4.0 if q else 12.0)
    args.variants = [v.strip() for v in args.variants.split(",") if v.strip()]
    bad = [v for v in args.variants if v not in VARIANTS]
    if bad:
        p.error(f"unknown variants {bad}; choose from {VARIANTS}")
    return args


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["worker"]:
        return worker_main(argv[1], argv[2])
    args = parse_args(argv)
    install_cleanup()
    workdir = Path(tempfile.mkdtemp(prefix="streamscope-gui-load-"))
    bench = Bench(args, workdir)
    log_text = (f"; log view: {args.log_partitions} partitions, {args.log_groups} groups, "
                f"{args.log_rate:,.0f} msg/s for {args.log_seconds:.0f} s"
                if any(v.startswith("log") for v in args.variants) else "")
    print(f"gui_load: {args.rounds} round(s) of {', '.join(args.variants)}; flat-out "
          f"{args.seconds:.0f} s, paced {args.pace:,.0f} msg/s for {args.paced_seconds:.0f} s, "
          f"consume up to {args.consume_max:,}{log_text}; workdir {workdir}", flush=True)
    try:
        bench.run()
        bench.report()
        if args.json:
            bench.dump_json(args.json)
    finally:
        stop_all()
        if args.keep_logs:
            copy_logs(workdir, args.keep_logs)
        remove_tree(workdir)
    print(f"total {time.monotonic() - bench.started:.0f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
