"""``streamscope --self-test``: check that this installation works, print each check, exit.

Contract: :class:`SelfTestRun` drives a :class:`~desktop.app.Streamscope` that
:func:`desktop.app.main` built for it (non-interactive, a throwaway data dir and settings,
the broker on a free loopback port: :func:`self_test_config`; offscreen unless
``QT_QPA_PLATFORM`` says otherwise). It checks, in order, and prints one line per check
on stdout, ``ok   NAME: what was seen`` or ``FAIL NAME: why``:

* ``resources``: the style sheets, the icons (the app icon loads), the built-in lessons
  parse, the desktop file and metainfo are in the package data;
* ``qt``: the Qt version and the platform plugin in use;
* ``passwords``: where cluster profiles' passwords go (the system keyring's backend, or
  asked for at connect time when none is usable; either is a pass);
* ``broker``: the embedded broker listens (its bootstrap address);
* ``produce`` and ``consume``: a real Kafka client (confluent-kafka, librdkafka) creates a
  topic, produces a record over the wire protocol and a consumer group reads the same
  record back; this runs on a worker thread, never on the GUI thread;
* ``monitor``: the window's snapshot shows the topic with that record (high watermark);
* ``window``: the main window renders at 1280x720 and the picture is not blank.

The first failure ends the run: exit code 1 (the reason printed); all passed: exit code 0
and a last line ``self-test passed (N checks, S s)``. Each step gives up after
:data:`STEP_TIMEOUT_S`, so a broken installation fails with a reason instead of hanging.
Nothing is written outside the temporary directory, which :mod:`desktop.app` removes.

Start-up time: with ``STREAMSCOPE_STARTUP_PROBE=1`` in the environment, the app (any
mode) prints once, on stderr, how long after its process started the main window first
painted (:func:`probe_first_frame`): ``startup: first frame painted 1.23 s after the
process started``. The process start is the kernel's (``/proc``), so the figure includes
the bundle's loader and Python's start, not only the app's own code. Linux only.
"""

from __future__ import annotations

import argparse
import os
import sys
import threading
import time
import uuid
from dataclasses import replace
from typing import TYPE_CHECKING

from PySide6.QtCore import QEvent, QObject, QTimer, Signal, qVersion
from PySide6.QtGui import QGuiApplication, QImage
from PySide6.QtWidgets import QWidget
from streamscope.core.config import BrokerConfig
from streamscope.desktop.broker_service import port_in_use
from streamscope.desktop.commands import error_text
from streamscope.desktop.theme import RESOURCES, icon

if TYPE_CHECKING:
    from streamscope.desktop.app import Streamscope

TOPIC = "streamscope-self-test"
GROUP = "streamscope-self-test"
WINDOW_SIZE = (1280, 720)
STEP_TIMEOUT_S = 30.0
POLL_MS = 100
#: Fewer distinct colours than this on a grid of samples: a blank (or all-black) window.
MIN_COLOURS = 8
APP_ID = "org.streamscope.Streamscope"


def process_age() -> float | None:
    """Seconds since this process started, from /proc (None where there is no /proc)."""
    try:
        with open("/proc/self/stat", encoding="ascii") as f:
            # Field 22 (starttime, in clock ticks since boot); the name (2) may hold spaces.
            start_ticks = int(f.read().rpartition(")")[2].split()[19])
        with open("/proc/uptime", encoding="ascii") as f:
            uptime = float(f.read().split()[0])
    except (OSError, ValueError, IndexError):
        return None
    return uptime - start_ticks / os.sysconf("SC_CLK_TCK")


class _FirstFrame(QObject):
    """Prints the process's age at the window's first paint, then removes itself."""

    def __init__(self, window: QWidget) -> None:
        super().__init__(window)
        self._window = window

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 (Qt's name)
        if event.type() == QEvent.Type.Paint:
            self._window.removeEventFilter(self)
            # After this paint is done and flushed: the frame is on screen then.
            QTimer.singleShot(0, self._report)
        return False

    def _report(self) -> None:
        age = process_age()
        text = f"{age:.2f} s" if age is not None else "(no /proc: unknown)"
        sys.stderr.write(f"startup: first frame painted {text} after the process started "
                         f"(platform {QGuiApplication.platformName()})\n")
        sys.stderr.flush()
        self.deleteLater()


def probe_first_frame(window: QWidget) -> None:
    """Print, once, the process's age when ``window`` first paints (see the module doc)."""
    window.installEventFilter(_FirstFrame(window))


def self_test_config(args: argparse.Namespace, config: BrokerConfig) -> BrokerConfig:
    """The self-test's broker: where ``--listen`` says, else a free loopback port."""
    if args.listen is None:
        return replace(config, host="127.0.0.1", port=0)
    return config


def check_resources() -> str:
    """What the package data holds; raises RuntimeError naming what is missing."""
    from streamscope.core.lessons.model import builtin_lessons

    themes = sorted(p.stem for p in (RESOURCES / "themes").glob("*.qss"))
    if not {"light", "dark"} <= set(themes):
        raise RuntimeError(f"style sheets missing from {RESOURCES / 'themes'} (found {themes})")
    if icon("streamscope").isNull():
        raise RuntimeError(f"the app icon does not load from {RESOURCES / 'icons'}")
    missing = [name for name in (f"desktop/{APP_ID}.desktop", f"desktop/{APP_ID}.metainfo.xml")
               if not (RESOURCES / name).is_file()]
    if missing:
        raise RuntimeError(f"missing from {RESOURCES}: {', '.join(missing)}")
    lessons = builtin_lessons()
    icons = len(list((RESOURCES / "icons").glob("*.svg")))
    return (f"{len(themes)} style sheets, {icons} icons, {len(lessons)} lessons, desktop file "
            f"and metainfo in {RESOURCES}")


def password_store() -> str:
    """Where cluster profiles' passwords go: the system keyring's backend, or (none usable:
    not a failure) asked for at connect time and kept in memory."""
    from streamscope.desktop.profiles import keyring_usable

    if keyring_usable():
        import keyring

        backend = keyring.get_keyring()
        return f"system keyring ({type(backend).__module__}.{type(backend).__name__})"
    return "no usable system keyring: passwords are asked for at connect time"


def produce_and_consume(bootstrap: str, deadline_s: float) -> tuple[str, str]:
    """Create :data:`TOPIC`, produce one record and read it back in :data:`GROUP` with a
    real client. Blocking (run it on a worker thread); returns the produce and consume
    lines, raises RuntimeError with the reason."""
    from confluent_kafka import Consumer, KafkaException, Producer
    from confluent_kafka.admin import AdminClient, NewTopic

    deadline = time.monotonic() + deadline_s
    token = uuid.uuid4().hex.encode()
    admin = AdminClient({"bootstrap.servers": bootstrap})
    try:
        admin.create_topics([NewTopic(TOPIC, 1, 1)])[TOPIC].result(timeout=deadline_s)
    except KafkaException as exc:
        raise RuntimeError(f"could not create topic {TOPIC}: {exc}") from None
    producer = Producer({"bootstrap.servers": bootstrap, "acks": "all"})
    delivered: list = []
    producer.produce(TOPIC, value=token, key=b"self-test",
                     on_delivery=lambda err, msg: delivered.append((err, msg)))
    producer.flush(max(0.1, deadline - time.monotonic()))
    if not delivered:
        raise RuntimeError(f"no acknowledgement from {bootstrap} within {deadline_s:.0f} s")
    err, msg = delivered[0]
    if err is not None:
        raise RuntimeError(f"produce failed: {err}")
    produced = (f"1 record to {TOPIC}[{msg.partition()}] at offset {msg.offset()} "
                f"(confluent-kafka {_client_version()})")
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": GROUP,
                         "auto.offset.reset": "earliest", "enable.auto.commit": False})
    started = time.monotonic()
    try:
        consumer.subscribe([TOPIC])
        while time.monotonic() < deadline:
            record = consumer.poll(0.2)
            if record is None:
                continue
            if record.error() is not None:
                raise RuntimeError(f"consume failed: {record.error()}")
            if record.value() == token:
                consumer.commit(record, asynchronous=False)
                ms = (time.monotonic() - started) * 1000
                return produced, (f"the same record back in group {GROUP} from offset "
                                  f"{record.offset()}, committed ({ms:.0f} ms)")
        raise RuntimeError(f"the record did not come back within {deadline_s:.0f} s")
    finally:
        consumer.close()


def _client_version() -> str:
    import confluent_kafka

    return f"{confluent_kafka.__version__}, librdkafka {confluent_kafka.libversion()[0]}"


def distinct_colours(image: QImage, grid: int = 48) -> int:
    """Distinct colours on a ``grid`` x ``grid`` sample of ``image``."""
    w, h = image.width(), image.height()
    if w == 0 or h == 0:
        return 0
    return len({image.pixel(x * (w - 1) // (grid - 1), y * (h - 1) // (grid - 1))
                for x in range(grid) for y in range(grid)})


class SelfTestRun(QObject):
    """Runs the checks on the app's GUI thread, each waiting on a condition, never sleeping."""

    _client_done = Signal(object, object)  # (produced, consumed) lines, or (None, error)

    def __init__(self, shell: Streamscope, out=None) -> None:
        super().__init__()
        self.shell = shell
        self.out = out if out is not None else sys.stdout
        self.exit_code = 1
        self.passed: list[str] = []
        self._t0 = time.monotonic()
        self._step = ""
        self._step_deadline = 0.0
        self._worker: threading.Thread | None = None
        self._finished = False
        self._client_done.connect(self._on_client_done)

    # -- the run -----------------------------------------------------------------------

    def start(self) -> None:
        self.shell.window.resize(*WINDOW_SIZE)
        self.shell.service.started.connect(self._on_started)
        self.shell.service.failed.connect(self._on_failed)
        try:
            self._ok("resources", check_resources())
        except Exception as exc:  # anything missing is the reason to print
            self._fail("resources", error_text(exc))
            return
        self._ok("qt", f"Qt {qVersion()}, platform {QGuiApplication.platformName()}")
        self._ok("passwords", password_store())
        self._begin("broker")

    def _on_started(self, bootstrap: str) -> None:
        if self._finished or self._step != "broker":
            return
        self._ok("broker", f"listening on {bootstrap}")
        self._begin("produce")
        self._worker = threading.Thread(target=self._client_work, args=(bootstrap,),
                                        name="self-test-client", daemon=True)
        self._worker.start()

    def _on_failed(self, exc: BaseException) -> None:
        if port_in_use(exc):
            return  # the app, not interactive, listens on a free port instead
        self._fail("broker", f"could not start: {error_text(exc)}")

    def _client_work(self, bootstrap: str) -> None:
        try:
            produced, consumed = produce_and_consume(bootstrap, STEP_TIMEOUT_S)
        except Exception as exc:  # the reason goes to the GUI thread, which prints it
            self._client_done.emit(None, exc)
        else:
            self._client_done.emit(produced, consumed)

    def _on_client_done(self, produced: object, result: object) -> None:
        if self._finished:
            return
        if produced is None:
            self._fail(self._step, error_text(result) if isinstance(result, BaseException)
                       else str(result))
            return
        self._ok("produce", str(produced))
        self._ok("consume", str(result))
        self._begin("monitor")
        self._wait_for_monitor()

    def _wait_for_monitor(self) -> None:
        if self._finished or self._timed_out():
            return
        snap = self.shell.ticker.snapshot
        topic = snap.topic(TOPIC) if snap is not None else None
        if topic is None or sum(p.high_watermark for p in topic.partitions) < 1:
            QTimer.singleShot(POLL_MS, self, self._wait_for_monitor)
            return
        hw = sum(p.high_watermark for p in topic.partitions)
        self._ok("monitor", f"the window's snapshot shows {TOPIC} with high watermark {hw}")
        self._begin("window")
        self.shell.window.show_view("topics")
        self.shell.window.select_topic(TOPIC)
        QTimer.singleShot(POLL_MS, self, self._render)

    def _render(self) -> None:
        if self._finished:
            return
        window = self.shell.window
        image = window.grab().toImage()
        colours = distinct_colours(image)
        size = (image.width(), image.height())
        if not window.isVisible():
            self._fail("window", "the main window is not shown")
        elif size != WINDOW_SIZE:
            self._fail("window", f"rendered {size[0]}x{size[1]}, not "
                                 f"{WINDOW_SIZE[0]}x{WINDOW_SIZE[1]}")
        elif colours < MIN_COLOURS:
            self._fail("window", f"the picture is blank ({colours} colours)")
        else:
            self._ok("window", f"rendered {size[0]}x{size[1]} ({colours} colours sampled), "
                               f"title {window.windowTitle()!r}")
            self._finish(0)

    # -- bookkeeping -------------------------------------------------------------------

    def _begin(self, step: str) -> None:
        self._step = step
        self._step_deadline = time.monotonic() + STEP_TIMEOUT_S
        QTimer.singleShot(int(STEP_TIMEOUT_S * 1000) + 500, self, self._check_timeout)

    def _check_timeout(self) -> None:
        self._timed_out()

    def _timed_out(self) -> bool:
        if self._finished or time.monotonic() < self._step_deadline:
            return False
        self._fail(self._step, f"no result within {STEP_TIMEOUT_S:.0f} s")
        return True

    def _ok(self, name: str, detail: str) -> None:
        self.passed.append(name)
        self._print(f"ok   {name}: {detail}")

    def _fail(self, name: str, reason: str) -> None:
        if self._finished:
            return
        self._print(f"FAIL {name}: {reason}")
        self._print(f"self-test failed ({len(self.passed)} checks passed before it)")
        self._finish(1)

    def _print(self, line: str) -> None:
        self.out.write(line + "\n")
        self.out.flush()

    def _finish(self, code: int) -> None:
        if self._finished:
            return
        self._finished = True
        if code == 0:
            self._print(f"self-test passed ({len(self.passed)} checks, "
                        f"{time.monotonic() - self._t0:.1f} s)")
        self.exit_code = code
        if self._worker is not None:
            self._worker.join(timeout=STEP_TIMEOUT_S)
        self.shell.quit(code)
