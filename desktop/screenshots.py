"""``streamscope --screenshots DIR``: run the app with a demo workload, save one PNG per view.

Contract: the window is sized to 1280x720 (a projector; every PNG is that size). Once
the broker is listening, :class:`ScreenshotRun` saves ``first_step.png`` (the overview of
the empty broker, offering a first step), starts the app's demo workload
(:mod:`desktop.demo`), waits ``after`` seconds for charts to fill, then for each shot of
:data:`VIEWS` shows it with something interesting selected, lets it draw, and saves
``DIR/<shot>.png`` from ``QWidget.grab()``:

* ``overview``, ``topics``, ``groups``, ``clients``: the main views under the demo.
* ``log``: the Log page on the showcase group's topic. Two more in-process groups
  (:data:`LOG_GROUPS`) read that topic at their own pace, so its lanes show three groups'
  cursors, read positions and key-coloured tokens.
* ``messages``: the Messages page on a page of :data:`BROWSE_TOPIC`, where a batch of
  msgpack records with keys and headers (:func:`browse_records`) was written at the start,
  one of them selected and decoded in the detail pane.
* ``produce``: the Produce dialog, filled in (key, headers, a msgpack value) and sent, its
  result line showing where the record went, drawn centred over the window as a user
  sees it.
* ``event_log``: the event log dock, tall.

The Log and Messages shots hide the event log dock (the lanes and the table need the
height); it is shown again after. The run then quits the app with exit code 0 (1 if the
broker never started or a PNG could not be written). Works offscreen. It drives the window
through its public methods and widgets only (``show_view``, ``select_topic``,
``select_group``, ``show_log``, ``show_record``, ``show_event_log``,
``event_log_fit_height``, ``dock``, the topics view's ``open_produce_dialog``, the
browser's ``table``/``model``/``reads``/``busy``/``detail``, and QWidget's ``resize`` and
``grab``). A step that waits for the app (a page read, a decoded detail, a produce) gives
up after :data:`STEP_TIMEOUT_MS` and saves what is on screen, so a slow machine still gets
every PNG.

``--screenshots DIR --lesson NAME`` saves a lesson's shots instead
(:class:`LessonScreenshotRun`): its log with one cursor per group (apart), its map, the lesson
panel with the last step's check results, and presentation mode, each at 1280x720.
"""

from __future__ import annotations

import json
import logging
import random
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import msgpack
from PySide6.QtCore import QObject, QRect, Qt, QTimer
from PySide6.QtGui import QColor, QFont, QPainter, QPalette, QPixmap
from PySide6.QtWidgets import QApplication, QWidget
from streamscope.core.lessons.model import AddApp, Lesson
from streamscope.core.records import build_batch
from streamscope.desktop.demo import GROUPS, TOPICS
from streamscope.desktop.dialogs.produce_dialog import MSGPACK, ProduceDialog
from streamscope.desktop.main_window import EVENT_LOG_HEIGHT

if TYPE_CHECKING:
    from streamscope.core.broker import Broker
    from streamscope.core.monitor.snapshot import ClusterSnapshot
    from streamscope.desktop.app import Streamscope

log = logging.getLogger(__name__)

FIRST_STEP = "first_step"
# The log view comes late in the run: its extra groups need time to drift apart.
VIEWS = (
    FIRST_STEP, "overview", "topics", "groups", "clients", "log", "messages", "produce",
    "event_log",
)
# The page each shot shows (the current view when it was grabbed); tests check it.
SHOT_PAGES = {
    FIRST_STEP: "overview", "overview": "overview", "topics": "topics", "groups": "groups",
    "clients": "clients", "log": "log", "messages": "messages", "produce": "topics",
    "event_log": "topics",
}
# Shots that hide the event log dock: lanes and the record table need the height.
NO_DOCK = ("log", "messages")
# Groups started beside the demo's own on the log view's topic: (group, consumers,
# seconds per record). One keeps up, one falls behind; the demo's group is in between.
LOG_GROUPS = (("fraud-check", 2, 0.003), ("audit", 1, 0.02))
WINDOW_SIZE = (1280, 720)

# The Messages shot: msgpack records with keys and headers, written once to one
# partition of a demo topic, a page of them shown and one selected.
BROWSE_TOPIC = "payments"
BROWSE_PARTITION = 0
BROWSE_RECORDS = 40
BROWSE_SELECTED = 3  # row of the page selected (not the first: the page reads as a list)
STEP_TIMEOUT_MS = 8000

# The Produce shot's form.
PRODUCE_KEY = "customer-42"
PRODUCE_HEADERS = (("content-type", "application/msgpack"), ("source", "streamscope-demo"))
PRODUCE_VALUE = {"payment_id": "pay-7731", "customer": "customer-42",
                 "amount": {"value": 129.9, "currency": "EUR"}, "method": "card"}

assert BROWSE_TOPIC in {name for name, *_ in TOPICS}


def browse_records(count: int = BROWSE_RECORDS, seed: int = 11) -> list[tuple]:
    """``count`` payment records as ``build_batch`` takes them: keyed by customer, the
    value msgpack (a nested map, as services write them), three headers each."""
    rng = random.Random(seed)
    now_ms = int(time.time() * 1000)
    out = []
    for i in range(count):
        customer = f"customer-{rng.randrange(1, 60)}"
        value = {
            "payment_id": f"pay-{7000 + i}",
            "customer": customer,
            "amount": {"value": round(rng.uniform(4, 240), 2), "currency": "EUR"},
            "method": rng.choice(("card", "sepa", "paypal")),
            "status": rng.choice(("authorized", "captured", "captured", "refunded")),
            "items": [
                {"sku": f"SKU-{rng.randrange(100, 999)}", "qty": rng.randrange(1, 4)}
                for _ in range(rng.randrange(1, 3))
            ],
        }
        headers = [
            ("content-type", b"application/msgpack"),
            ("trace-id", f"{rng.getrandbits(64):016x}".encode()),
            ("source", b"checkout-service"),
        ]
        out.append(
            (customer.encode(), msgpack.packb(value), headers, now_ms - (count - i) * 150)
        )
    return out


class ScreenshotRun(QObject):
    def __init__(self, shell: Streamscope, out_dir: Path, after: float) -> None:
        super().__init__()
        self.shell = shell
        self.out_dir = Path(out_dir)
        self.after_ms = max(0, int(after * 1000))
        self.exit_code = 1
        self.saved: list[Path] = []
        self.demo = shell.demo
        self._queue: list[str] = []
        self.browse_base: int | None = None  # first offset of the browse_records batch
        self.pages: dict[str, str] = {}  # shot -> the current view when it was grabbed
        self._dialog: ProduceDialog | None = None

    def start(self) -> None:
        w = self.shell.window
        w.resize(*WINDOW_SIZE)
        self.shell.service.started.connect(self._on_started)
        self.shell.service.failed.connect(lambda _e: None)
        # Give up if the broker never comes up.
        QTimer.singleShot(self.after_ms + 60_000, self, self._give_up)

    def _on_started(self, _bootstrap: str) -> None:
        self.out_dir.mkdir(parents=True, exist_ok=True)
        # The empty broker first, as a new user sees it; then the demo fills it.
        self._queue = [FIRST_STEP]
        self._next()

    def _start_demo(self) -> None:
        self.demo.start()
        QTimer.singleShot(self.after_ms, self, self._begin)
        self._when_topics_exist()

    @property
    def log_topic(self) -> str:
        """The topic the demo's showcase group reads: the log view's."""
        return next(topic for group, topic, *_ in GROUPS if group == self.demo.showcase_group)

    def _when_topics_exist(self) -> None:
        # The demo creates its topics on the broker loop: go on once a snapshot lists them.
        snap = self.shell.ticker.snapshot
        if snap is None or any(snap.topic(t) is None for t in (self.log_topic, BROWSE_TOPIC)):
            QTimer.singleShot(200, self, self._when_topics_exist)
            return
        for group, count, delay in LOG_GROUPS:
            self.shell.commands.start_consumers(
                group, self.log_topic, count, "range", processing_delay_s=delay
            )
        self._write_browse_records()

    def _write_browse_records(self) -> None:
        batch = build_batch(browse_records())

        def append(broker: Broker) -> tuple[int, int]:
            return broker.produce(BROWSE_TOPIC, BROWSE_PARTITION, batch)

        def done(result: object, error: BaseException | None) -> None:
            if error is not None or not isinstance(result, tuple):
                log.warning("screenshots: could not write the records to browse: %s", error)
                return
            self.browse_base = int(result[0])

        self.shell.service.call(append, done)

    def _give_up(self) -> None:
        if not self.saved:
            log.error("screenshots: the app did not get going; nothing saved")
            self._finish(1)

    def _begin(self) -> None:
        self._queue = [v for v in VIEWS if v != FIRST_STEP]
        self._next()

    # -- one shot at a time ------------------------------------------------------------

    def _next(self) -> None:
        if not self._queue:
            self._finish(0)
            return
        view = self._queue[0]
        w = self.shell.window
        if view in NO_DOCK:
            w.hide_event_log()
        else:
            w.show_event_log()
        if view == FIRST_STEP:
            w.show_view("overview")
        elif view == "event_log":
            # The log tall, over a view that still fits in what is left (no scrolling).
            w.show_view("topics")
            w.select_topic(self.demo.showcase_topic)
            w.show_event_log()
            QApplication.processEvents()  # lay the dock out before measuring the room left
            w.show_event_log(w.event_log_fit_height(int(WINDOW_SIZE[1] * 0.5)))
        elif view == "messages":
            self._prepare_messages()
            return
        elif view == "produce":
            self._prepare_produce()
            return
        else:
            w.show_view(view)
            self._select_interesting(view)
        self._settle()

    def _settle(self) -> None:
        self.shell.ticker.refresh_now()
        # Let layouts settle and a couple of ticks draw before grabbing.
        QTimer.singleShot(700, self, self._grab)

    def _wait_until(self, ready: Callable[[], bool], then: Callable[[], None]) -> None:
        """``then()`` once ``ready()`` (polled), or after :data:`STEP_TIMEOUT_MS` anyway."""
        deadline = time.monotonic() + STEP_TIMEOUT_MS / 1000

        def poll() -> None:
            if ready():
                then()
            elif time.monotonic() > deadline:
                log.warning("screenshots: %s not ready in time; saving it as it is",
                            self._queue[0] if self._queue else "?")
                then()
            else:
                QTimer.singleShot(100, self, poll)

        poll()

    def _select_interesting(self, view: str) -> None:
        w = self.shell.window
        if view == "topics":
            w.select_topic(self.demo.showcase_topic)
        elif view == "groups":
            w.select_group(self.demo.showcase_group)
        elif view == "log":
            w.show_log(self.log_topic)

    def _prepare_messages(self) -> None:
        w = self.shell.window
        browser = w.message_browser()
        reads = browser.reads
        if self.browse_base is None:  # the records could not be written: the newest ones
            w.browse_messages(BROWSE_TOPIC, BROWSE_PARTITION)
        else:
            w.show_record(BROWSE_TOPIC, BROWSE_PARTITION, self.browse_base)

        def select() -> None:
            if browser.model.rowCount() > BROWSE_SELECTED and self.browse_base is not None:
                index = browser.model.index(BROWSE_SELECTED, 0)
                browser.table.setCurrentIndex(index)
                browser.table.scrollTo(index)
            self._wait_until(lambda: browser.detail is not None, shown)

        def shown() -> None:
            record, detail = browser.selected_record(), browser.detail
            if record is not None and detail is not None:
                log.info("screenshots: messages selects %s-%d offset %d, decoded as %s",
                         record.topic, record.partition, record.offset, detail.value.kind)
            self._settle()

        self._wait_until(lambda: browser.reads > reads and not browser.busy, select)

    def _prepare_produce(self) -> None:
        w = self.shell.window
        dialog = w.open_produce_dialog(BROWSE_TOPIC)
        if dialog is None:
            log.warning("screenshots: the produce dialog did not open")
            self._settle()
            return
        self._dialog = dialog
        dialog.key.setText(PRODUCE_KEY)
        for name, value in PRODUCE_HEADERS:
            dialog.add_header(name, value)
        dialog.set_value(json.dumps(PRODUCE_VALUE, indent=2), MSGPACK)
        dialog.ok_button.click()

        def sent() -> None:
            log.info("screenshots: produce dialog says: %s", dialog.result_label.text())
            self._settle()

        self._wait_until(lambda: not dialog.busy and dialog.result_label.isVisible(), sent)

    def _grab(self) -> None:
        view = self._queue.pop(0)
        w = self.shell.window
        QApplication.processEvents()
        path = self.out_dir / f"{view}.png"
        self.pages[view] = w.current_view()
        image = w.grab()
        if self._dialog is not None:
            image = over(image, self._dialog)
            self._dialog.close()
            self._dialog.deleteLater()
            self._dialog = None
        if not image.save(str(path)):
            log.error("screenshots: could not write %s", path)
            self._finish(1)
            return
        self.saved.append(path)
        log.info("screenshot saved: %s (%s page)", path, self.pages[view])
        if view == "event_log":
            w.show_event_log(EVENT_LOG_HEIGHT)
        w.show_event_log()
        if view == FIRST_STEP:
            self._start_demo()
        else:
            self._next()

    def _finish(self, code: int) -> None:
        self.exit_code = code
        self.demo.stop()
        self.shell.quit(code)


def over(window: QPixmap, dialog: QWidget) -> QPixmap:
    """``window`` with ``dialog`` drawn centred on it as a user sees a dialog: the window
    dimmed behind, a title bar with the dialog's title (offscreen there is no window
    manager to draw one), a shadow and a frame. A grab of the window alone omits it."""
    out = QPixmap(window)
    shot = dialog.grab()
    bar = 30
    w, h = shot.width(), shot.height() + bar
    x = max(0, (out.width() - w) // 2)
    y = max(0, (out.height() - h) // 2)
    palette = dialog.palette()
    p = QPainter(out)
    p.fillRect(out.rect(), QColor(0, 0, 0, 70))
    for i in range(1, 9):  # a soft shadow: widening, fading rectangles
        p.fillRect(QRect(x - i, y - i + 4, w + 2 * i, h + 2 * i), QColor(0, 0, 0, 12))
    p.fillRect(QRect(x, y, w, bar), palette.color(QPalette.ColorRole.Window).darker(112))
    title_font = QFont(dialog.font())
    title_font.setBold(True)
    p.setFont(title_font)
    p.setPen(palette.color(QPalette.ColorRole.WindowText))
    p.drawText(QRect(x, y, w, bar), Qt.AlignmentFlag.AlignCenter, dialog.windowTitle())
    p.drawPixmap(x, y + bar, shot)
    p.setPen(QColor(0, 0, 0, 110))
    p.setBrush(Qt.BrushStyle.NoBrush)
    p.drawRect(x - 1, y - 1, w + 1, h + 1)
    p.end()
    return out


# -- ``streamscope --screenshots DIR --lesson NAME`` ---------------------------------------

# The shots of a lesson run, in order, and the page each is grabbed on.
LESSON_SHOTS = ("lesson_map", "lesson_log", "lesson_panel", "lesson_presentation")
LESSON_SHOT_PAGES = {
    "lesson_map": "simulation", "lesson_log": "log", "lesson_panel": "groups",
    "lesson_presentation": "log",
}
LESSON_SETTLE_MS = 1500  # ticks for the map's trails and the lanes' cursors to draw
# The lesson log shot waits (up to STEP_TIMEOUT_MS) until the groups' cursors stand
# apart: every two at least this share of the log (or CURSOR_GAP_MIN records) apart.
CURSOR_GAP_SHARE = 0.05
CURSOR_GAP_MIN = 10


def slowest_group(lesson: Lesson) -> str:
    """The lesson's group with the longest processing delay (its first group on a tie)."""
    apps = [a for step in lesson.steps for a in step.actions if isinstance(a, AddApp)]
    return max(apps, key=lambda a: a.delay).group if apps else ""


def cursor_positions(snap: ClusterSnapshot | None, topic: str) -> dict[str, int]:
    """Each group's committed position on ``topic``: its committed offsets summed over
    the partitions (what the log view's cursors show, one lane each)."""
    out: dict[str, int] = {}
    for g in snap.groups if snap is not None else ():
        committed = [o.committed_offset for o in g.offsets if o.topic == topic]
        if committed:
            out[g.group_id] = sum(max(0, c) for c in committed)
    return out


def cursors_apart(snap: ClusterSnapshot | None, topic: str, groups: Sequence[str]) -> bool:
    """Every group in ``groups`` committed on ``topic``, and no two cursors together."""
    at = cursor_positions(snap, topic)
    if snap is None or len(groups) < 2 or any(at.get(g, 0) <= 0 for g in groups):
        return False
    info = snap.topic(topic)
    size = sum(p.high_watermark for p in info.partitions) if info is not None else 0
    gap = max(CURSOR_GAP_MIN, CURSOR_GAP_SHARE * size)
    spots = sorted(at[g] for g in groups)
    return all(b - a >= gap for a, b in zip(spots, spots[1:], strict=False))
LESSON_GIVE_UP_MS = 240_000  # the whole run, broker start to the last shot


class LessonScreenshotRun(QObject):
    """Plays a lesson in the app and saves :data:`LESSON_SHOTS` at 1280x720.

    Once the broker listens it opens the lesson (``MainWindow.open_lesson``) with the
    event log hidden and steps through it (``LessonService.next``) until every group the
    lesson has made so far runs and has processed updates; then saves ``lesson_log`` (the
    Log page on its topic: one lane per partition, a cursor per group, grabbed once the
    groups' cursors stand apart, :func:`cursors_apart`, as fan-out's groups read at
    different paces; after :data:`STEP_TIMEOUT_MS` it is grabbed as it is) and
    ``lesson_map`` (the Simulation page on its first app, a customer map when it has one;
    the Lesson dock hidden for it, as the page needs the width). It plays the remaining steps, saves ``lesson_panel`` (the Consumer groups page on
    the lesson's slowest group beside the Lesson dock showing the last step's caption and
    its check results), then
    ``lesson_presentation`` (presentation mode on the Log page, the caption banner at
    the bottom; the window kept at 1280x720 rather than full screen) and leaves
    presentation mode. Exit code 0, or 1 when the broker never started, a step failed
    or a PNG could not be written (every shot is still attempted).
    """

    def __init__(self, shell: Streamscope, out_dir: Path, lesson: str) -> None:
        super().__init__()
        self.shell = shell
        self.out_dir = Path(out_dir)
        self.lesson_name = lesson
        self.exit_code = 1
        self.saved: list[Path] = []
        self.pages: dict[str, str] = {}
        self.failed_step: str | None = None
        self._steps_done = 0

    def start(self) -> None:
        self.shell.window.resize(*WINDOW_SIZE)
        self.shell.service.started.connect(self._on_started)
        QTimer.singleShot(LESSON_GIVE_UP_MS, self, self._give_up)

    def _give_up(self) -> None:
        if len(self.saved) < len(LESSON_SHOTS):
            log.error("screenshots: the lesson did not get through in time")
            self._finish(1)

    def _on_started(self, _bootstrap: str) -> None:
        self.out_dir.mkdir(parents=True, exist_ok=True)
        w = self.shell.window
        w.hide_event_log()
        w.open_lesson(self.lesson_name)
        self._wait_until(lambda: self.shell.lessons.latest() is not None, self._step_until_apps)

    def _wait_until(self, ready: Callable[[], bool], then: Callable[[], None],
                    timeout_ms: int = STEP_TIMEOUT_MS) -> None:
        deadline = time.monotonic() + timeout_ms / 1000

        def poll() -> None:
            if ready() or time.monotonic() > deadline:
                then()
            else:
                QTimer.singleShot(100, self, poll)

        poll()

    # -- playing -----------------------------------------------------------------------

    def _apps_run(self) -> bool:
        """Every group the lesson has made so far runs and has processed updates."""
        view = self.shell.sim.latest()
        return view is not None and bool(view.apps) and all(a.processed > 0 for a in view.apps)

    def _step(self, then: Callable[[], None]) -> None:
        def done(result: object, error: BaseException | None) -> None:
            self._steps_done += 1
            view = self.shell.lessons.latest()
            if error is not None or (view is not None and view.status in ("failed", "error")):
                self.failed_step = str(error or view.error or view.status)  # type: ignore[union-attr]
                log.error("screenshots: lesson step %d: %s", self._steps_done, self.failed_step)
            then()

        self.shell.lessons.next(done)

    def _more_steps(self) -> bool:
        view = self.shell.lessons.latest()
        return view is not None and view.step + 1 < view.count and self.failed_step is None

    def _step_until_apps(self) -> None:
        self.shell.sim.request_view()
        if self._more_steps() and not (self._steps_done and self._apps_run()):
            self._step(lambda: self._wait_until(self._apps_run, self._step_until_apps, 3000))
            return
        self._wait_until(self._apps_run, self._log_shot)

    def _map_shot(self) -> None:
        w = self.shell.window
        # The Simulation page needs the window's width for the map beside the apps.
        w.hide_lesson_panel()
        w.show_view("simulation")
        view = self.shell.sim.latest()
        if view is not None and view.apps:
            first = next((a for a in view.apps if a.kind == "map"), view.apps[0])
            w.show_sim_app(first.group)
        self._settle("lesson_map", self._play_rest)

    def _log_shot(self) -> None:
        """The Log page while the groups' cursors stand apart (a lesson whose groups read
        at different paces, like fan-out, shows each where it is); taken before the map,
        while the slow groups are still behind."""
        w = self.shell.window
        lesson = self.shell.lessons.lesson
        topic = (lesson.topic if lesson is not None else None) or "deliveries"
        groups = lesson.groups if lesson is not None else ()
        w.show_log(topic)

        def apart() -> bool:
            return cursors_apart(self.shell.ticker.snapshot, topic, groups)

        def described() -> None:
            snap = self.shell.ticker.snapshot
            readers = sorted(g.group_id for g in snap.groups if topic in g.topics) if snap else []
            log.info("screenshots: lesson_log shows %s with the cursors of %s", topic,
                     ", ".join(readers) or "no group")
            at = cursor_positions(snap, topic)
            log.info("screenshots: lesson_log cursors %s: %s", "apart" if apart() else "NOT apart",
                     ", ".join(f"{g} at {at.get(g, 0)}" for g in groups))

        self._settle("lesson_log", self._map_shot, ready=apart, before=described)

    def _play_rest(self) -> None:
        if self._more_steps():
            self._step(self._play_rest)
            return
        self._panel_shot()

    def _panel_shot(self) -> None:
        w = self.shell.window
        w.show_lesson_panel()  # the map shot hid it
        lesson = self.shell.lessons.lesson
        w.show_view("groups")
        if lesson is not None and lesson.groups:
            w.select_group(slowest_group(lesson))  # its lag chart has the most to show
        self._settle("lesson_panel", self._presentation_shot)

    def _presentation_shot(self) -> None:
        w = self.shell.window
        lesson = self.shell.lessons.lesson
        w.show_log((lesson.topic if lesson is not None else None) or "deliveries")
        w.set_presentation(True, fullscreen=False)  # the window stays 1280x720, a projector's
        w.resize(*WINDOW_SIZE)

        def leave() -> None:
            w.set_presentation(False)
            self._finish(0 if self.failed_step is None else 1)

        self._settle("lesson_presentation", leave)

    # -- grabbing ----------------------------------------------------------------------

    def _settle(self, shot: str, then: Callable[[], None],
                ready: Callable[[], bool] | None = None,
                before: Callable[[], None] | None = None) -> None:
        """Grab ``shot`` after :data:`LESSON_SETTLE_MS`, and once ``ready()`` holds (for
        up to :data:`STEP_TIMEOUT_MS` more); ``before`` runs just before the grab."""
        self.shell.ticker.refresh_now()

        def grab() -> None:
            QApplication.processEvents()
            if before is not None:
                before()
            w = self.shell.window
            path = self.out_dir / f"{shot}.png"
            self.pages[shot] = w.current_view()
            image = w.grab()
            if image.save(str(path)):
                self.saved.append(path)
                log.info("screenshot saved: %s (%s page)", path, self.pages[shot])
            else:
                log.error("screenshots: could not write %s", path)
                self.failed_step = self.failed_step or f"could not write {path}"
            then()

        if ready is None:
            QTimer.singleShot(LESSON_SETTLE_MS, self, grab)
        else:
            QTimer.singleShot(LESSON_SETTLE_MS, self, lambda: self._wait_until(ready, grab))

    def _finish(self, code: int) -> None:
        if self.exit_code == 1 and code == 0 and len(self.saved) == len(LESSON_SHOTS):
            self.exit_code = 0
        self.shell.quit(self.exit_code)
