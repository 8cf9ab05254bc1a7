"""The lesson panel: choose a lesson, step through it, see what to watch and what was checked.

Contract: :class:`LessonPanel` (the main window's "Lesson" dock) shows the
:class:`~desktop.lesson_service.LessonService`'s newest
:class:`~streamscope.core.lessons.LessonView`, redrawn when it changes:

* a lesson chooser (the built-in lessons, in order), the lesson's title, "Step n of N" and
  the step's status in words, and the caption (what to watch) in large plain text;
* previous / play-pause / next buttons and restart, and speed toggles (1x, 0.5x, 0.25x).
  The same commands are :class:`KeyAction` s for the main window's Lesson menu: Right and
  PageDown step forward, Left and PageUp step back, P plays or pauses, anywhere in the
  main window, except that a focused widget which uses the key itself (a text field, a
  list or table, a spin box, a slider) gets it instead (:func:`uses_key`). The panel's own
  buttons never take keyboard focus from a click, so a presenter can click Next and then
  press Right;
* the current step's assertion results, each "PASS" or "FAIL" in words and in colour,
  with the summary that decided it (every figure in its tooltip);
* on an external cluster (:meth:`LessonService.set_target`), a line saying where the
  lessons run; the lessons that need the embedded broker are greyed out in the chooser,
  marked "(embedded broker only)", the reason in their tooltip, and cannot be chosen;
* the bootstrap address (the embedded broker's, or the cluster's) and ready-to-paste snippets (Kafka's console
  consumer, kcat, Python with confluent-kafka) to join one of the lesson's groups, or a
  group of one's own, from a terminal on the same machine, with a copy button.

Opening a lesson emits ``show_page_requested(page, name)`` for the page that matters for
it (:func:`lesson_page`: the lesson file's ``page`` and ``focus``; for a file without
them, a guess from its actions: the Log page on its topic, the Groups page on its first
group when consumers are added, killed or slowed, the Lesson figures page for the
database race and the idempotent producer). When a step with its own ``page`` starts, it emits
the same for that step (:func:`step_page`), once per step started; steps without one
leave the page to the presenter. ``banner_changed`` carries what presentation
mode's caption banner says. Every text that may come from a lesson or a client (titles,
captions, group and topic names, figures) is shown as plain text, never markup.
"""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtCore import QEvent, Qt, Signal
from PySide6.QtGui import QAction, QKeyEvent, QKeySequence
from PySide6.QtWidgets import (
    QAbstractItemView,
    QAbstractSlider,
    QAbstractSpinBox,
    QApplication,
    QButtonGroup,
    QComboBox,
    QFrame,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QScrollArea,
    QSizePolicy,
    QTabWidget,
    QTextEdit,
    QWidget,
)
from streamscope.core.lessons import CheckResult, Lesson, LessonView
from streamscope.core.lessons.model import (
    AckDrop,
    AddConsumer,
    DbRace,
    KillConsumer,
    LunchRush,
    SetDelay,
)
from streamscope.core.monitor import ClusterSnapshot
from streamscope.desktop import format as fmt
from streamscope.desktop.history import MonitorHistory
from streamscope.desktop.layout import named, plain_label, vbox
from streamscope.desktop.lesson_service import SPEEDS, LessonService
from streamscope.desktop.presentation import BannerCheck
from streamscope.desktop.theme import Theme, icon
from streamscope.desktop.views.elided import ElidedLabel
from streamscope.desktop.views.widgets import CodeBlock, copy_button, section_title, text_toggle

OWN_GROUP = "student"  # the group a student joins to read the stream on their own
STATUS_TEXT = {
    "ready": "Ready: press Next (or \u2192) to start",
    "running": "Running this step\u2026",
    "checking": "Checking what should have happened\u2026",
    "done": "Step done: press Next for the next one",
    "finished": "Lesson finished",
    "failed": "A check failed: see the figures below",
    "error": "The step could not run",
}
PANEL_WIDTH = 320


def uses_key(widget: QWidget | None, key: int) -> bool:
    """Whether ``widget`` does something with ``key`` itself, so a lesson shortcut must
    leave it the key: text fields move their cursor, lists and tables their selection,
    spin boxes and sliders their value."""
    if widget is None:
        return False
    if isinstance(widget, QLineEdit | QTextEdit | QPlainTextEdit | QAbstractSpinBox):
        return True
    if isinstance(widget, QAbstractItemView | QAbstractSlider):
        return True
    return isinstance(widget, QComboBox) and key in (Qt.Key.Key_PageUp, Qt.Key.Key_PageDown)


class KeyAction(QAction):
    """A window-wide action whose shortcuts yield to a focused widget using the same key.

    Qt gives a shortcut precedence over the focused widget (except widgets that claim the
    key, as a line edit claims Left and Right). Here, when the focused widget would use
    the key (:func:`uses_key`), the key press is handed to it instead of triggering."""

    def event(self, e: QEvent) -> bool:
        if e.type() == QEvent.Type.Shortcut:
            seq = e.key()  # type: ignore[attr-defined] - a QShortcutEvent
            focus = QApplication.focusWidget()
            if seq.count() == 1 and focus is not None:
                combo = seq[0]
                if uses_key(focus, combo.key()):
                    press = QKeyEvent(QEvent.Type.KeyPress, combo.key(), combo.keyboardModifiers())
                    # A key press sent by hand goes through the shortcut map again:
                    # disabled meanwhile, this action lets it reach the widget.
                    enabled = self.isEnabled()
                    self.setEnabled(False)
                    try:
                        QApplication.sendEvent(focus, press)
                    finally:
                        self.setEnabled(enabled)
                    return True
        return super().event(e)


def lesson_page(lesson: Lesson) -> tuple[str, str]:
    """(page, name) of the page that shows what a lesson is about (see the module doc)."""
    if lesson.page is not None:
        return lesson.page, lesson.page_focus(lesson.page, lesson.focus)
    return guess_page(lesson)


def step_page(lesson: Lesson, step: int) -> tuple[str, str] | None:
    """(page, name) for step ``step`` (0-based) of ``lesson``; None: the step has none."""
    if not 0 <= step < len(lesson.steps):
        return None
    page = lesson.steps[step].page
    if page is None:
        return None
    return page, lesson.page_focus(page, lesson.steps[step].focus)


def guess_page(lesson: Lesson) -> tuple[str, str]:
    """The fallback for a lesson file without ``page``: guessed from its actions."""
    actions = [a for step in lesson.steps for a in step.actions]
    if any(isinstance(a, DbRace | AckDrop) for a in actions):
        return "figures", ""
    if lesson.groups and any(
        isinstance(a, KillConsumer | AddConsumer | LunchRush | SetDelay) for a in actions
    ):
        return "groups", lesson.groups[0]
    return "log", lesson.topic or (lesson.topics[0] if lesson.topics else "")


def join_snippets(bootstrap: str, topic: str, group: str) -> dict[str, str]:
    """Commands that join consumer group ``group`` on ``topic`` at ``bootstrap``. The
    records' values are msgpack, so the shell tools print where each record is, and the
    Python one decodes it."""
    return {
        "Console consumer": (
            "# Kafka's own tool (bin/ of a Kafka download)\n"
            f"kafka-console-consumer.sh --bootstrap-server {bootstrap} \\\n"
            f"  --topic {topic} --group {group} --from-beginning \\\n"
            "  --property print.partition=true --property print.offset=true \\\n"
            "  --property print.key=true --property print.value=false\n"
        ),
        "kcat": (
            "# one line per record: where it is and whose it is\n"
            f"kcat -b {bootstrap} -G {group} {topic} \\\n"
            "  -f 'partition %p  offset %o  key %k\\n'\n"
        ),
        "Python": (
            "# pip install confluent-kafka msgpack\n"
            "import msgpack\n"
            "from confluent_kafka import Consumer\n\n"
            "consumer = Consumer({\n"
            f'    "bootstrap.servers": "{bootstrap}",\n'
            f'    "group.id": "{group}",\n'
            '    "auto.offset.reset": "earliest",\n'
            "})\n"
            f'consumer.subscribe(["{topic}"])\n'
            "while True:\n"
            "    msg = consumer.poll(1.0)\n"
            "    if msg is not None and not msg.error():\n"
            "        print(msg.partition(), msg.offset(), msgpack.unpackb(msg.value()))\n"
        ),
    }


def check_text(result: CheckResult) -> str:
    """A check result in words: PASS or FAIL, the check, and what decided it (the summary
    names the figures that decide; :func:`check_figures` lists all of them)."""
    name = result.check.replace("_", " ")
    return f"{'PASS' if result.ok else 'FAIL'}  {name}\n{result.summary}"


def check_figures(result: CheckResult) -> str:
    """Every figure of a check result, one ``name: value`` a line."""
    return "\n".join(f"{k}: {v}" for k, v in result.figures)


@dataclass(frozen=True, slots=True)
class Banner:
    """What presentation mode's caption banner says (an empty heading: no lesson)."""

    heading: str
    caption: str
    checks: tuple[BannerCheck, ...]


def _plain(text: str = "", name: str | None = None) -> QLabel:
    label = plain_label(text)
    label.setTextFormat(Qt.TextFormat.PlainText)
    if name:
        label.setObjectName(name)
    return label


def _wrapped(text: str = "", name: str | None = None) -> QLabel:
    label = _plain(text, name)
    label.setWordWrap(True)
    # Wrapped labels must not widen the dock: their width is the dock's.
    label.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
    label.setMinimumWidth(120)
    return label


def _no_click_focus(widget: QWidget) -> QWidget:
    # Tab still reaches it; a click does not take the focus (and the arrow keys) away.
    widget.setFocusPolicy(Qt.FocusPolicy.TabFocus)
    return widget


class LessonPanel(QScrollArea):
    show_page_requested = Signal(str, str)  # (page key, topic or group)
    banner_changed = Signal(object)  # Banner

    def __init__(
        self, lessons: LessonService, theme: Theme, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.setObjectName("LessonPanel")
        self.setFrameShape(QFrame.Shape.NoFrame)
        self.setWidgetResizable(True)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.lessons = lessons
        self._theme = theme
        self._view: LessonView | None = None
        self._paged_step = -1  # the step whose own page was last asked for
        self._bootstrap = ""
        self._shown_results: tuple[CheckResult, ...] | None = None

        body = QWidget()
        body.setObjectName("LessonPanelBody")
        self.setWidget(body)
        root = vbox(body, (12, 10, 12, 10), spacing=8)

        # The lesson: chooser, title, step, caption.
        self.chooser = _no_click_focus(QComboBox())
        self.chooser.addItem("Choose a lesson\u2026", "")
        for i, lesson in enumerate(lessons.lessons(), 1):
            self.chooser.addItem(f"{i}. {lesson.title}", lesson.name)
        self.chooser.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.chooser.setMinimumContentsLength(16)
        self.chooser.activated.connect(self._chosen)
        root.addWidget(self.chooser)
        # On an external cluster: where lessons run, and which cannot (greyed out above).
        self.target_note = _wrapped("", "Muted")
        self.target_note.hide()
        root.addWidget(self.target_note)
        self.title = _wrapped("", "SectionTitle")
        root.addWidget(self.title)
        self.step = _plain("No lesson open", "LessonStep")
        root.addWidget(self.step)
        self.caption = _wrapped(
            "Pick a lesson above. Each step says what to watch; Next runs it.", "LessonCaption"
        )
        self.caption.setTextInteractionFlags(Qt.TextInteractionFlag.NoTextInteraction)
        root.addWidget(self.caption)

        # Commands.
        self.previous_action = KeyAction(icon("rewind"), "&Previous step", self)
        self.previous_action.setShortcuts([QKeySequence(Qt.Key.Key_Left),
                                           QKeySequence(Qt.Key.Key_PageUp)])
        self.next_action = KeyAction(icon("play"), "&Next step", self)
        self.next_action.setShortcuts([QKeySequence(Qt.Key.Key_Right),
                                       QKeySequence(Qt.Key.Key_PageDown)])
        self.play_action = KeyAction("P&lay the lesson", self)
        self.play_action.setShortcut(QKeySequence(Qt.Key.Key_P))
        self.restart_action = QAction(icon("rewind"), "&Restart the lesson", self)
        for action in (self.previous_action, self.next_action, self.play_action):
            action.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
        self.previous_action.triggered.connect(self.previous)
        self.next_action.triggered.connect(self.next)
        self.play_action.triggered.connect(self.play_or_pause)
        self.restart_action.triggered.connect(self.restart)

        buttons = QHBoxLayout()
        buttons.setSpacing(6)
        self.previous_button = self._button("\u25c0  Previous", "Back one step (\u2190 or PgUp)")
        self.play_button = self._button("Play", "Run the remaining steps on their own (P)")
        self.next_button = self._button("Next  \u25b6", "Run the next step (\u2192 or PgDn)")
        self.next_button.setObjectName("PrimaryButton")
        self.previous_button.clicked.connect(self.previous)
        self.play_button.clicked.connect(self.play_or_pause)
        self.next_button.clicked.connect(self.next)
        buttons.addWidget(self.previous_button)
        buttons.addWidget(self.play_button)
        buttons.addWidget(self.next_button, 1)
        root.addLayout(buttons)

        row = QHBoxLayout()
        row.setSpacing(4)
        row.addWidget(_plain("Speed", "Muted"))
        self.speed_group = QButtonGroup(self)
        self.speed_buttons: dict[float, QWidget] = {}
        for speed in SPEEDS:
            toggle = _no_click_focus(text_toggle(f"{speed:g}x"))
            toggle.setToolTip("Slow motion: partners, waits and delays at this pace"
                              if speed < 1 else "Real time")
            toggle.setChecked(speed == 1.0)
            self.speed_group.addButton(toggle)
            self.speed_buttons[speed] = toggle
            toggle.clicked.connect(lambda _c=False, s=speed: self.set_speed(s))
            row.addWidget(toggle)
        row.addStretch(1)
        self.restart_button = self._button("Restart", "Back to a clean state, before step 1")
        self.restart_button.clicked.connect(self.restart)
        row.addWidget(self.restart_button)
        root.addLayout(row)

        self.status = _wrapped("", "Muted")
        root.addWidget(self.status)
        self.error = _wrapped("", "ErrorLabel")
        self.error.hide()
        root.addWidget(self.error)

        # Checks of the current step.
        self.checks_title = section_title("Checks")
        root.addWidget(self.checks_title)
        self.checks_box = QWidget()
        self.checks_layout = vbox(self.checks_box, spacing=6)
        root.addWidget(self.checks_box)
        self.no_checks = _wrapped("This step checks nothing: watch.", "Muted")
        self.checks_layout.addWidget(self.no_checks)
        self.check_labels: list[QLabel] = []

        # Join from a terminal.
        root.addSpacing(4)
        root.addWidget(section_title("Join with your own client"))
        self.address_title = _plain("Bootstrap server (this broker)", "Muted")
        root.addWidget(self.address_title)
        address_row = QHBoxLayout()
        self.address = named(ElidedLabel("starting\u2026", mode=Qt.TextElideMode.ElideRight),
                             "LessonAddress")
        self.copy_address = _no_click_focus(
            copy_button(lambda: self._bootstrap, "Copy the bootstrap address"))
        address_row.addWidget(self.address, 1)
        address_row.addWidget(self.copy_address)
        root.addLayout(address_row)
        group_row = QHBoxLayout()
        group_row.addWidget(_plain("Group", "Muted"))
        self.group = _no_click_focus(QComboBox())
        self.group.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.group.setMinimumContentsLength(10)
        self.group.currentIndexChanged.connect(lambda _i: self._update_snippets())
        group_row.addWidget(self.group, 1)
        root.addLayout(group_row)
        self.join_hint = _wrapped("", "Muted")
        root.addWidget(self.join_hint)
        self.snippet_tabs = named(QTabWidget(), "SnippetTabs")
        self.snippet_tabs.setFocusPolicy(Qt.FocusPolicy.TabFocus)
        self.snippet_blocks: dict[str, CodeBlock] = {}
        for name, text in join_snippets("HOST:PORT", "deliveries", OWN_GROUP).items():
            block = CodeBlock(text)
            block.edit.setMinimumHeight(130)
            block.copy.setFocusPolicy(Qt.FocusPolicy.TabFocus)
            self.snippet_blocks[name] = block
            self.snippet_tabs.addTab(block, name)
        root.addWidget(self.snippet_tabs)
        root.addStretch(1)

        self.setMinimumWidth(PANEL_WIDTH)
        lessons.view_changed.connect(self.show_view)
        lessons.busy_changed.connect(lambda _b: self._sync_buttons())
        lessons.opened.connect(self._opened)
        lessons.target_changed.connect(self._target_changed)
        self._sync_buttons()
        self._update_group_choices(None)
        self._mark_unavailable()

    def _button(self, text: str, tip: str) -> QPushButton:
        button = QPushButton(text)
        button.setToolTip(tip)
        _no_click_focus(button)
        return button

    # -- commands ---------------------------------------------------------------------------

    def open_lesson(self, name: str) -> None:
        """Open lesson ``name`` (the chooser follows)."""
        self.lessons.open(name, self._done)

    def next(self) -> None:
        if self.lessons.lesson is not None:
            self.lessons.next(self._done)

    def previous(self) -> None:
        if self.lessons.lesson is not None:
            self.lessons.previous(self._done)

    def restart(self) -> None:
        if self.lessons.lesson is not None:
            self.lessons.restart(self._done)

    def play_or_pause(self) -> None:
        if self.lessons.lesson is None:
            return
        view = self._view
        if view is not None and view.playing:
            self.lessons.pause(self._done)
        else:
            self.lessons.play(self._done)

    def set_speed(self, speed: float) -> None:
        if self.lessons.lesson is not None:
            self.lessons.set_speed(speed, self._done)

    def _chosen(self, index: int) -> None:
        name = self.chooser.itemData(index)
        if name and (self.lessons.lesson is None or self.lessons.lesson.name != name):
            self.open_lesson(str(name))

    def _done(self, _result: object, error: BaseException | None) -> None:
        if error is not None:
            self.error.setText(f"Could not do that: {error}")
            self.error.show()

    # -- updates ---------------------------------------------------------------------------

    def apply_theme(self, theme: Theme) -> None:
        self._theme = theme

    def on_slow_tick(self, snap: ClusterSnapshot, _history: MonitorHistory | None = None) -> None:
        target = self.lessons.target
        if target is not None:  # lessons run on that cluster: join it there
            bootstrap = target.bootstrap
        else:
            bootstrap = snap.broker.bootstrap if snap.broker.listening else ""
        if bootstrap != self._bootstrap:
            self._bootstrap = bootstrap
            self.address.setText(bootstrap or "not listening")
            self._update_snippets()

    def _mark_unavailable(self) -> None:
        """Grey out (with the reason as tooltip) the lessons the target cannot run."""
        model = self.chooser.model()
        blocked = 0
        for i, lesson in enumerate(self.lessons.lessons(), 1):
            reason = self.lessons.unavailable_reason(lesson)
            blocked += reason is not None
            self.chooser.setItemText(
                i, f"{i}. {lesson.title}" + (" (embedded broker only)" if reason else ""))
            self.chooser.setItemData(i, reason or "", Qt.ItemDataRole.ToolTipRole)
            item = model.item(i) if hasattr(model, "item") else None
            if item is not None:
                item.setEnabled(reason is None)
        target = self.lessons.target
        if target is None:
            self.target_note.hide()
            self.address_title.setText("Bootstrap server (this broker)")
            return
        self.target_note.setText(
            f"Lessons run on {target.bootstrap} through real clients. {blocked} lesson"
            f"{'s need' if blocked != 1 else ' needs'} the embedded broker (greyed out:"
            " hover for why) and cannot be started here.")
        self.target_note.show()
        self.address_title.setText("Bootstrap server (the cluster)")

    def _target_changed(self, _settings: object) -> None:
        self._mark_unavailable()
        if self.lessons.lesson is None:  # the open lesson cannot run there: closed
            self.chooser.setCurrentIndex(0)
            self.title.setText("")
            self.step.setText("No lesson open")
            self.caption.setText(
                "Pick a lesson above. Each step says what to watch; Next runs it.")
            self._view = None
            self._show_results(())
            self.error.hide()
            self._update_group_choices(None)
            self._sync_buttons()

    def _opened(self, lesson: Lesson) -> None:
        index = self.chooser.findData(lesson.name)
        if index >= 0:
            self.chooser.setCurrentIndex(index)
        self.title.setText(lesson.title)
        self.step.setText(f"{len(lesson.steps)} steps")
        self.caption.setText(lesson.intro)
        self._view = None
        self._paged_step = -1
        self._shown_results = None
        self._show_results(())
        self.error.hide()
        self._update_group_choices(lesson)
        self._sync_buttons()
        page, name = lesson_page(lesson)
        self.show_page_requested.emit(page, name)

    def show_view(self, view: LessonView) -> None:
        """Draw ``view`` (the service's newest view of the open lesson)."""
        self._view = view
        self._follow_step_page(view)
        self.title.setText(view.title)
        if view.step < 0:
            self.step.setText(f"Introduction \u00b7 {view.count} steps")
        else:
            self.step.setText(f"Step {view.step + 1} of {view.count}")
        if self.caption.text() != view.caption:
            self.caption.setText(view.caption)
        self.status.setText(STATUS_TEXT.get(view.status, view.status))
        if view.error:
            self.error.setText(view.error)
            self.error.show()
        elif view.status != "error":
            self.error.hide()
        self.play_button.setText("Pause" if view.playing else "Play")
        self.play_action.setText("Pa&use the lesson" if view.playing else "P&lay the lesson")
        button = self.speed_buttons.get(view.speed)
        if button is not None and not button.isChecked():  # type: ignore[attr-defined]
            button.setChecked(True)  # type: ignore[attr-defined]
        if view.results != self._shown_results:
            self._show_results(view.results)
        self._sync_buttons()
        self.banner_changed.emit(self.banner())

    def _follow_step_page(self, view: LessonView) -> None:
        """Ask for the page of a step that names one, once, when the step starts."""
        if view.step == self._paged_step:
            return
        self._paged_step = view.step
        lesson = self.lessons.lesson
        if lesson is None or view.name != lesson.name:
            return
        page = step_page(lesson, view.step)
        if page is not None:
            self.show_page_requested.emit(*page)

    def _show_results(self, results: tuple[CheckResult, ...]) -> None:
        self._shown_results = results
        for label in self.check_labels:
            self.checks_layout.removeWidget(label)
            label.deleteLater()
        self.check_labels = []
        for result in results:
            label = _wrapped(check_text(result), "CheckRow")
            label.setProperty("outcome", "pass" if result.ok else "fail")
            label.setToolTip(fmt.plain_tooltip(check_figures(result)))
            self.checks_layout.addWidget(label)
            self.check_labels.append(label)
        self.no_checks.setVisible(not results)

    def _sync_buttons(self) -> None:
        view = self._view
        has = self.lessons.lesson is not None
        step = view.step if view is not None else -1
        count = view.count if view is not None else 0
        more = view is None or step + 1 < count
        self.next_button.setEnabled(has and more)
        self.next_action.setEnabled(has and more)
        self.previous_button.setEnabled(has and step >= 0)
        self.previous_action.setEnabled(has and step >= 0)
        self.play_button.setEnabled(has and (more or (view is not None and view.playing)))
        self.play_action.setEnabled(self.play_button.isEnabled())
        self.restart_button.setEnabled(has)
        self.restart_action.setEnabled(has)
        for toggle in self.speed_buttons.values():
            toggle.setEnabled(has)
        if has and self.lessons.busy() and view is not None and view.status == "ready":
            self.status.setText("Getting ready\u2026")
        elif view is not None:
            # No longer busy: the view may have come while it was (no new view follows).
            self.status.setText(STATUS_TEXT.get(view.status, view.status))

    def _update_group_choices(self, lesson: Lesson | None) -> None:
        current = self.group.currentData()
        self.group.blockSignals(True)
        self.group.clear()
        for group in lesson.groups if lesson is not None else ():
            self.group.addItem(group, group)
        self.group.addItem(f"{OWN_GROUP} (your own group)", OWN_GROUP)
        index = self.group.findData(current)
        self.group.setCurrentIndex(index if index >= 0 else 0)
        self.group.blockSignals(False)
        self._update_snippets()

    def _update_snippets(self) -> None:
        lesson = self.lessons.lesson
        topic = (lesson.topic or (lesson.topics[0] if lesson.topics else None)
                 if lesson is not None else None) or "deliveries"
        group = str(self.group.currentData() or OWN_GROUP)
        bootstrap = self._bootstrap or "HOST:PORT"
        for name, text in join_snippets(bootstrap, topic, group).items():
            self.snippet_blocks[name].set_text(text)
        if group == OWN_GROUP:
            self.join_hint.setText(
                f"A new group reads all of {topic} from the start: a new cursor on the log.")
        else:
            self.join_hint.setText(
                f"Joining {group} rebalances it: your client takes some of its partitions.")

    # -- what other parts read ----------------------------------------------------------------

    def banner(self) -> Banner:
        """What the caption banner says now."""
        lesson, view = self.lessons.lesson, self._view
        if lesson is None:
            return Banner("", "", ())
        if view is None or view.step < 0:
            return Banner(f"{lesson.title}  \u00b7  introduction", view.caption if view else
                          lesson.intro, ())
        checks = tuple(
            BannerCheck(
                f"{'PASS' if r.ok else 'FAIL'}  {r.check.replace('_', ' ')}: {r.summary}",
                "pass" if r.ok else "fail",
            )
            for r in view.results
        )
        if view.status == "checking":
            checks += (BannerCheck("Checking\u2026", "wait"),)
        return Banner(f"{view.title}  \u00b7  step {view.step + 1} of {view.count}",
                      view.caption, checks)

    def caption_text(self) -> str:
        return self.caption.text()

    def step_text(self) -> str:
        return self.step.text()

    def check_rows(self) -> list[tuple[str, str]]:
        """(outcome, text) of each check result shown."""
        return [(str(label.property("outcome")), label.text()) for label in self.check_labels]

    def snippet_text(self, name: str) -> str:
        return self.snippet_blocks[name].edit.toPlainText()

    def labels(self) -> list[QLabel]:
        """Every label of the panel (tests check none renders markup)."""
        return self.widget().findChildren(QLabel)
