"""The Simulation page's apps panel: consumer apps, each its own consumer group.

Contract:

* :class:`AddAppForm`: kind (customer map, analytics, notifications), group id, consumers,
  assignor and commit mode. It is validated as it is typed (a group id is needed, at most
  255 characters, and not one of a running app) and the reason is shown before Add is
  pressed; Add is enabled only for valid input. A refusal from the broker is shown in
  the same place, as plain text.
* :class:`AppPanel` (one tab per app): the app's counters (processed, duplicates, lost,
  lag; each explained by its tooltip), its controls (add or remove a consumer, pause or
  resume, kill one abruptly, crash one before or after committing, the processing delay
  per record), its members (client id, status, partitions, processed; an idle member
  says so) and the app's own view (:mod:`.sim_map`, :mod:`.sim_heatmap`,
  :mod:`.sim_notifications`). Kill and crash act on the member selected in the members
  table, or on one that owns partitions when none is selected; on an external cluster
  (``SimService.target`` set) they are disabled, their tooltip saying why (real clients
  always leave their group). Every action says what happens next in the line under the
  controls.
* :class:`AppsPanel`: the form and a tab per app, kept in step with each
  :class:`~streamscope.core.sim.scenario.ScenarioView` by difference (tabs are added and
  removed, never rebuilt). :meth:`AppsPanel.on_view` redraws the visible tab's picture
  (fast tick); :meth:`AppsPanel.on_slow_view` its counters and tables, and every tab's
  counters.

Group ids and client ids are the user's data: tab texts, item texts and PlainText labels
only; tooltips through :func:`desktop.format.plain_tooltip`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QEvent, Qt
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (
    QComboBox,
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSizePolicy,
    QSlider,
    QSpinBox,
    QStackedWidget,
    QTabWidget,
    QToolButton,
    QWidget,
)
from streamscope.core.sim.apps import AnalyticsSnapshot, MapSnapshot, NotificationsSnapshot
from streamscope.core.sim.city import City
from streamscope.core.sim.consumers import AppKind, AppView, CommitMode, CrashPoint, MemberView
from streamscope.core.sim.scenario import ScenarioView
from streamscope.desktop import format as fmt
from streamscope.desktop.commands import error_text
from streamscope.desktop.layout import named, plain_label, vbox
from streamscope.desktop.models.members_model import ranges
from streamscope.desktop.models.table_model import Column, KeyedTableModel, numeric
from streamscope.desktop.sim_service import SimService
from streamscope.desktop.theme import Theme, icon
from streamscope.desktop.views.elided import ElidedLabel
from streamscope.desktop.views.sim_heatmap import AnalyticsPanel
from streamscope.desktop.views.sim_map import CityMap
from streamscope.desktop.views.sim_notifications import NotificationsPanel
from streamscope.desktop.views.sim_partners import debounce_timer, message_label
from streamscope.desktop.views.table import KeyedTableView
from streamscope.desktop.views.widgets import EmptyState, StatCard, section_title

KINDS: tuple[tuple[AppKind, str, str], ...] = (
    # kind, name, default group id
    ("map", "Customer map", "customer-map"),
    ("analytics", "Analytics", "analytics"),
    ("notifications", "Notifications", "notifications"),
)
KIND_NAMES: dict[str, str] = {k: name for k, name, _g in KINDS}
ASSIGNORS = ("range", "roundrobin", "cooperative-sticky")
COMMITS: tuple[tuple[CommitMode, str, str], ...] = (
    # mode, short name, what it means
    ("after", "after processing",
     "Process a batch, then commit its offsets: a crash in between means the batch is read "
     "again (at-least-once: duplicates, never losses)"),
    ("before", "before processing",
     "Commit a batch's offsets, then process it: a crash in between means the batch is "
     "never processed (at-most-once: losses, never duplicates)"),
    ("auto", "auto, every second",
     "The client commits what it has read every second, as a default Kafka consumer does"),
)
COMMIT_NAMES: dict[str, str] = {mode: name for mode, name, _tip in COMMITS}
MAX_CONSUMERS = 16
MAX_DELAY_MS = 200
DELAY_AFTER_MS = 250  # the delay is sent once the slider rests
EMBEDDED_ONLY_TIP = ("Only on the embedded broker: a real Kafka client on another cluster "
                     "always leaves its group when it closes, so it cannot die abruptly.")
# Beside the texts of the crash row: two buttons' padding and borders, the grid's spacing.
CRASH_ROW_PADDING = 120

TIPS = {
    "processed": "Location updates this app has processed, redeliveries included.",
    "duplicates": (
        "Updates processed a second time. A consumer that processes a batch and dies before "
        "committing it leaves its offsets behind: the next owner of the partition reads the "
        "batch again (at-least-once delivery)."
    ),
    "lost": (
        "Updates never processed. A consumer that commits a batch and dies before "
        "processing it moves the group's offsets past records nobody handled "
        "(at-most-once delivery)."
    ),
    "lag": (
        "Records in the topic this group has not committed yet: for each partition, the "
        "log end offset minus the group's committed offset, summed. It grows when the app "
        "is slower than the partners and shrinks when it catches up."
    ),
}
ACTION_TIPS = {
    "add": "Start one more consumer in this group: the group rebalances and shares the "
           "partitions again (watch the Log view and the event log).",
    "remove": "The newest consumer leaves the group politely (LeaveGroup): its partitions "
              "are handed to the others at once.",
    "pause": "Stop fetching without leaving the group: the members keep their partitions "
             "and the lag grows until resumed.",
    "kill": "Kill a consumer abruptly: no commit, no LeaveGroup. The group notices only when "
            "its session times out (6 s), then gives its partitions to the others.",
    "crash_before": "The consumer processes its next batch, then dies before committing it. "
                    "Whoever gets its partitions reads that batch again: duplicates rise.",
    "crash_after": "The consumer commits its next batch, then dies before processing it. "
                   "Nobody ever processes those updates: lost rises.",
    "delay": "Time each consumer spends on every record, as a slow database write would. "
             "Above what the partners send, lag builds up; back at 0 it catches up.",
}


def group_problem(group: str, taken: set[str]) -> str | None:
    """Why ``group`` cannot be a new app's group id, or None."""
    if not group:
        return "Enter a group id for the app."
    if len(group) > 255:
        return "A group id may be at most 255 characters."
    if group in taken:
        return "An app with this group id is running: pick another group id."
    return None


def card_count(n: int) -> str:
    """Exact up to 9,999; above, three significant digits ("12.3 k"): a card is narrow."""
    return fmt.count(n) if n < 10_000 else fmt.short_count(n)


def member_status(m: MemberView) -> str:
    """Short (the consumer's id needs the room): the column's tooltip says the rest."""
    if m.status == "dead":
        return "dead"
    if m.paused:
        return f"{m.status}, paused"
    if m.idle:
        return "idle"
    return m.status


class SimMembersModel(KeyedTableModel):
    CLIENT, STATUS, PARTITIONS, PROCESSED = range(4)
    columns = (
        Column("Consumer"),
        Column("Status", tooltip="stable: reading its partitions; idle: no partition for it "
               "(more consumers than partitions); dead: killed or crashed, the group drops "
               "it when its session times out"),
        Column("Partitions", tooltip="the partitions of the topic this consumer reads"),
        numeric("Processed", tooltip="records this consumer processed"),
    )
    styled_columns = (STATUS,)

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self._theme: Theme | None = None
        self._kinds: dict[str, str] = {}  # client id -> "idle" | "dead" | ""

    def set_theme(self, theme: Theme) -> None:
        self._theme = theme

    def update(self, members: tuple[MemberView, ...]) -> None:
        self._kinds = {
            m.client_id: "dead" if m.status == "dead" else "idle" if m.idle else ""
            for m in members
        }
        self.set_rows(
            (m.client_id, (m.client_id, member_status(m),
                           ranges([p for _t, p in m.assignment]) or "–", m.processed))
            for m in members
        )

    def style(self, row: int, col: int, role: int) -> Any:
        if col != self.STATUS or role != Qt.ItemDataRole.ForegroundRole or self._theme is None:
            return None
        kind = self._kinds.get(str(self.key_at(row)), "")
        if kind == "dead":
            return QColor(self._theme.bad)
        if kind == "idle":
            return QColor(self._theme.warn)
        return None


class AddAppForm(QFrame):
    """Kind, group id, consumers, assignor, commit mode, and Add."""

    def __init__(
        self, sim: SimService, topic: Callable[[], str], parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.sim = sim
        self.topic = topic
        self.taken: set[str] = set()
        self.busy = False
        self._auto_group = True  # the group id is ours until the user types one
        layout = vbox(self, spacing=3)
        grid = QGridLayout()
        grid.setHorizontalSpacing(6)
        grid.setVerticalSpacing(1)
        self.kind = QComboBox()
        for kind, name, _g in KINDS:
            self.kind.addItem(name, kind)
        self.kind.setToolTip("What the app does with each location update")
        self.group = QLineEdit()
        self.group.setPlaceholderText("group id")
        self.group.setToolTip("The app's consumer group: its own offsets, its own members")
        self.consumers = QSpinBox()
        self.consumers.setRange(1, MAX_CONSUMERS)
        self.consumers.setValue(1)
        self.consumers.setToolTip("Consumers (instances of the app) sharing the partitions")
        self.assignor = QComboBox()
        self.assignor.addItems(list(ASSIGNORS))
        self.assignor.setToolTip(
            "How the group shares partitions: range and roundrobin stop everyone at a "
            "rebalance (eager); cooperative-sticky moves only the partitions that change owner"
        )
        self.commit = QComboBox()
        for i, (mode, text, tip) in enumerate(COMMITS):
            self.commit.addItem(text, mode)
            self.commit.setItemData(i, tip, Qt.ItemDataRole.ToolTipRole)
        self.commit.setToolTip("When the app commits its offsets, relative to processing")
        self.commit.currentIndexChanged.connect(
            lambda i: self.commit.setToolTip(COMMITS[i][2]) if i >= 0 else None
        )
        # The app kind as wide as its longest item ("Customer map", never "Customer ma");
        # the others may shrink a little (their tooltips say it all). A narrow page puts
        # the fields on two rows instead.
        self.kind.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)
        for box in (self.assignor, self.commit):
            box.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
            box.setMinimumContentsLength(7)
        self.commit.setMinimumContentsLength(16)  # "before processing" whole
        self._fit_to_font()
        self.add_button = QPushButton(icon("add"), "Add")
        self.add_button.setToolTip("Start the app: its consumers join its group and read the topic")
        fields = (
            ("App", self.kind), ("Group id", self.group), ("Consumers", self.consumers),
            ("Assignor", self.assignor), ("Commit", self.commit),
        )
        self._grid = grid
        self._fields: list[tuple[QLabel, QWidget]] = []
        for caption, widget in fields:
            label = named(plain_label(caption), "Muted")
            label.setBuddy(widget)
            self._fields.append((label, widget))
        self.compact = True
        self.set_compact(False)
        layout.addLayout(grid)
        self.hint = message_label("HintLabel")
        self.error = message_label("ErrorLabel")  # refusals quote the group id
        layout.addWidget(self.hint)
        layout.addWidget(self.error)
        self._suggest()
        self.kind.currentIndexChanged.connect(self._kind_changed)
        self.group.textEdited.connect(self._group_edited)
        self.group.textChanged.connect(self.revalidate)
        self.group.returnPressed.connect(self.submit)
        self.add_button.clicked.connect(self.submit)
        self.revalidate()

    def _fit_to_font(self) -> None:
        # In characters, so presentation mode's larger font widens the fields with it.
        ch = self.fontMetrics().averageCharWidth()
        self.consumers.setMaximumWidth(8 * ch)
        self.assignor.setMaximumWidth(17 * ch)
        self.commit.setMaximumWidth(22 * ch)
        self.group.setMinimumWidth(10 * ch)

    def changeEvent(self, event: QEvent) -> None:  # noqa: N802 - Qt's name
        if event.type() in (QEvent.Type.FontChange, QEvent.Type.StyleChange):
            self._fit_to_font()
        super().changeEvent(event)

    def set_compact(self, compact: bool) -> None:
        """One row of fields (wide), or two (a narrow page: the lesson dock is open)."""
        if compact == self.compact:
            return
        self.compact = compact
        grid = self._grid
        for label, widget in self._fields:
            grid.removeWidget(label)
            grid.removeWidget(widget)
        grid.removeWidget(self.add_button)
        per_row = 3 if compact else len(self._fields)
        for i, (label, widget) in enumerate(self._fields):
            row, col = divmod(i, per_row)
            grid.addWidget(label, 2 * row, col)
            grid.addWidget(widget, 2 * row + 1, col)
        last = len(self._fields) - 1
        row, col = divmod(last, per_row)
        if compact:
            grid.addWidget(self.add_button, 2 * row + 1, col + 1)
        else:
            grid.addWidget(self.add_button, 1, len(self._fields))

    def _suggest(self) -> None:
        base = next(g for k, _n, g in KINDS if k == self.kind.currentData())
        name, n = base, 2
        while name in self.taken:
            name, n = f"{base}-{n}", n + 1
        if self.group.text() != name:
            self.group.setText(name)
            self.group.setCursorPosition(0)  # a narrow field shows the name's start

    def _kind_changed(self, *_: object) -> None:
        if self._auto_group:
            self._suggest()

    def _group_edited(self, _text: str) -> None:
        self._auto_group = False

    def set_taken(self, groups: set[str]) -> None:
        if groups != self.taken:
            self.taken = groups
            if self._auto_group:
                self._suggest()
            self.revalidate()

    def validate(self) -> str | None:
        return group_problem(self.group.text().strip(), self.taken)

    def revalidate(self, *_: object) -> None:
        reason = self.validate()
        self.hint.setText(reason or "")
        self.hint.setVisible(bool(reason))
        self.add_button.setEnabled(reason is None and not self.busy)
        self.error.hide()

    def submit(self) -> None:
        reason = self.validate()
        if reason is not None or self.busy:
            self.revalidate()
            return
        group = self.group.text().strip()
        self.busy = True
        self.add_button.setEnabled(False)
        self.sim.add_app(
            self.kind.currentData(), group, topic=self.topic(),
            consumers=self.consumers.value(), assignor=self.assignor.currentText(),
            commit=self.commit.currentData(), on_done=self._done,
        )

    def _done(self, _result: object, error: BaseException | None) -> None:
        self.busy = False
        if error is not None:
            self.error.setText(error_text(error))
            self.error.show()
            self.add_button.setEnabled(self.validate() is None)
            return
        self._auto_group = True
        self.taken = self.taken | {self.group.text().strip()}
        self._suggest()
        self.revalidate()


class AppPanel(QWidget):
    """One app: counters, controls, members and its picture (see the module docstring)."""

    def __init__(
        self, sim: SimService, group: str, kind: str, theme: Theme,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.sim = sim
        self.group = group
        self.kind = kind
        self.app: AppView | None = None
        root = QHBoxLayout(self)
        root.setContentsMargins(0, 6, 0, 0)
        root.setSpacing(12)

        left = QWidget()
        self.left = left
        ll = vbox(left, spacing=5)
        head = QHBoxLayout()
        self.info = named(ElidedLabel("", mode=Qt.TextElideMode.ElideRight), "Muted")
        self.remove_button = QToolButton()
        self.remove_button.setIcon(icon("delete"))
        self.remove_button.setText("Remove app")
        self.remove_button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.remove_button.setAutoRaise(True)
        self.remove_button.setToolTip(
            "Close the app: its consumers leave the group; its committed offsets stay"
        )
        head.addWidget(self.info, 1)
        head.addWidget(self.remove_button)
        ll.addLayout(head)

        cards = QGridLayout()
        cards.setSpacing(6)
        self._cards_grid = cards
        self.cards: dict[str, StatCard] = {}
        for key, caption in (("processed", "Processed"), ("duplicates", "Duplicates"),
                             ("lost", "Lost"), ("lag", "Lag")):
            card = StatCard(caption)
            card.layout().setContentsMargins(8, 5, 8, 5)
            card.setToolTip(TIPS[key])
            card.setMinimumWidth(60)
            self.cards[key] = card
        ll.addLayout(cards)

        buttons = QGridLayout()
        buttons.setHorizontalSpacing(4)
        buttons.setVerticalSpacing(4)
        self.add_consumer_button = QPushButton("+")
        self.remove_consumer_button = QPushButton("−")

        self.pause_button = QPushButton("Pause")
        self.pause_button.setCheckable(True)
        self.kill_button = QPushButton("Kill one")
        self.crash_before_button = QPushButton("before commit")
        self.crash_after_button = QPushButton("after commit")
        for button, tip in (
            (self.add_consumer_button, "add"), (self.remove_consumer_button, "remove"),
            (self.pause_button, "pause"), (self.kill_button, "kill"),
            (self.crash_before_button, "crash_before"), (self.crash_after_button, "crash_after"),
        ):
            button.setToolTip(ACTION_TIPS[tip])
        consumers_caption = plain_label("Consumers")
        consumers_caption.setToolTip(ACTION_TIPS["add"])
        plus_minus = QHBoxLayout()
        plus_minus.setSpacing(4)
        plus_minus.addWidget(self.add_consumer_button)
        plus_minus.addWidget(self.remove_consumer_button)
        plus_minus.addStretch(1)
        crash_caption = plain_label("Crash one")
        self._crash_texts = (crash_caption.text(), self.crash_before_button.text(),
                             self.crash_after_button.text())
        crash_caption.setToolTip(
            "A consumer dies in the middle of its next batch, between processing and "
            "committing: which comes first decides whether updates are repeated or lost"
        )
        self._buttons_grid = buttons
        self._consumers_caption = consumers_caption
        self._plus_minus = plus_minus
        self._crash_caption = crash_caption
        ll.addLayout(buttons)

        delay = QHBoxLayout()
        delay_caption = plain_label("Delay")
        delay_caption.setToolTip(ACTION_TIPS["delay"])
        self.delay = QSlider(Qt.Orientation.Horizontal)
        self.delay.setRange(0, MAX_DELAY_MS)
        self.delay.setSingleStep(1)
        self.delay.setPageStep(10)
        self.delay.setToolTip(ACTION_TIPS["delay"])
        self.delay_label = plain_label("")
        delay.addWidget(delay_caption)
        delay.addWidget(self.delay, 1)
        delay.addWidget(self.delay_label)
        ll.addLayout(delay)
        self.delay_note = named(plain_label(""), "Muted")
        self.delay_note.setWordWrap(True)
        self.delay_note.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        ll.addWidget(self.delay_note)
        self.compact = True
        self._place(compact=False)

        self.members_model = SimMembersModel(self)
        self.members_model.set_theme(theme)
        self.members = KeyedTableView(self.members_model, sort_column=0, stretch_column=0)
        self.members.setMinimumHeight(70)
        ll.addWidget(self.members, 1)
        self.note = named(plain_label(""), "Muted")
        self.note.setTextFormat(Qt.TextFormat.PlainText)  # names client ids
        self.note.setWordWrap(True)
        self.note.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        ll.addWidget(self.note)
        root.addWidget(left)

        self.picture: CityMap | AnalyticsPanel | NotificationsPanel | None
        if kind == "map":
            self.picture = CityMap(theme)
        elif kind == "analytics":
            self.picture = AnalyticsPanel(theme)
        elif kind == "notifications":
            self.picture = NotificationsPanel(theme)
        else:
            self.picture = None
        if self.picture is not None:
            root.addWidget(self.picture, 1)
        else:
            root.addStretch(1)

        self._delay_timer = debounce_timer(self, DELAY_AFTER_MS, self._send_delay)
        self.delay.valueChanged.connect(self._delay_moved)
        self.add_consumer_button.clicked.connect(self.add_consumer)
        self.remove_consumer_button.clicked.connect(self.remove_consumer)
        self.pause_button.clicked.connect(self._pause_clicked)
        self.kill_button.clicked.connect(self.kill)
        self.crash_before_button.clicked.connect(lambda: self.crash("before_commit"))
        self.crash_after_button.clicked.connect(lambda: self.crash("after_commit"))
        self.remove_button.clicked.connect(self.remove)
        self._show_delay(0)
        self._fit_to_font()

    def set_compact(self, compact: bool) -> None:
        """Controls in a narrow column (cards 2 x 2, buttons two by two), so the app's
        picture keeps its room on a narrow page (the lesson dock open), or in one wide."""
        if compact != self.compact:
            self._place(compact)
            self._fit_to_font()

    def _place(self, compact: bool) -> None:
        self.compact = compact
        cards, buttons = self._cards_grid, self._buttons_grid
        for i, card in enumerate(self.cards.values()):
            cards.removeWidget(card)
            cards.addWidget(card, *(divmod(i, 2) if compact else (0, i)))
        for c in range(4):
            cards.setColumnStretch(c, 1 if not compact or c < 2 else 0)
        placed = (self._consumers_caption, self.pause_button, self.kill_button,
                  self._crash_caption, self.crash_before_button, self.crash_after_button)
        for w in placed:
            buttons.removeWidget(w)
        buttons.removeItem(self._plus_minus)
        if compact:
            # Consumers [+][-] / Pause, Kill one / Crash one: / before commit, after commit
            buttons.addWidget(self._consumers_caption, 0, 0)
            buttons.addLayout(self._plus_minus, 0, 1)
            buttons.addWidget(self.pause_button, 1, 0)
            buttons.addWidget(self.kill_button, 1, 1)
            buttons.addWidget(self._crash_caption, 2, 0, 1, 2)
            buttons.addWidget(self.crash_before_button, 3, 0)
            buttons.addWidget(self.crash_after_button, 3, 1)
        else:
            buttons.addWidget(self._consumers_caption, 0, 0)
            buttons.addLayout(self._plus_minus, 0, 1)
            buttons.addWidget(self.pause_button, 0, 2)
            buttons.addWidget(self.kill_button, 0, 3)
            buttons.addWidget(self._crash_caption, 1, 0)
            buttons.addWidget(self.crash_before_button, 1, 1, 1, 2)
            buttons.addWidget(self.crash_after_button, 1, 3)
        for c in range(4):
            stretch = (1 if c < 2 else 0) if compact else (1 if c else 0)
            buttons.setColumnStretch(c, stretch)
        # Narrow: the height goes to the buttons' extra rows; the note repeats what the
        # slider's label and tooltip say.
        self.delay_note.setVisible(not compact)

    def _fit_to_font(self) -> None:
        # In characters, so presentation mode's larger font widens the column with it.
        fm = self.fontMetrics()
        ch = fm.averageCharWidth()
        # The widest row (caption and two crash buttons, with the style's padding) whole;
        # the rest goes to the app's picture.
        if self.compact:
            row = sum(fm.horizontalAdvance(self._crash_texts[i]) for i in (1, 2))
            least = max(30 * ch, row + CRASH_ROW_PADDING // 2)
        else:
            row = sum(fm.horizontalAdvance(self._crash_texts[i]) for i in range(3))
            least = max(44 * ch, row + CRASH_ROW_PADDING)
        self.left.setMinimumWidth(least)
        self.left.setMaximumWidth(least + 6 * ch)
        for b in (self.add_consumer_button, self.remove_consumer_button):
            b.setFixedWidth(fm.horizontalAdvance("+") + 4 * ch + 6)
        self.delay_label.setMinimumWidth(fm.horizontalAdvance("200 ms/record") + 4)
        for card in self.cards.values():
            card.setMinimumHeight(0)
            card.setMinimumHeight(card.sizeHint().height())  # never a cut figure

    def changeEvent(self, event: QEvent) -> None:  # noqa: N802 - Qt's name
        if event.type() in (QEvent.Type.FontChange, QEvent.Type.StyleChange):
            self._fit_to_font()
        super().changeEvent(event)

    # -- updates -------------------------------------------------------------------------

    def apply_theme(self, theme: Theme) -> None:
        self.members_model.set_theme(theme)
        if self.picture is not None:
            self.picture.apply_theme(theme)

    def set_counters(self, app: AppView) -> None:
        self.app = app
        d = app.delivery
        for key, n in (("processed", app.processed), ("duplicates", d.duplicates),
                       ("lost", d.lost), ("lag", app.lag)):
            self.cards[key].set(card_count(n))

    def set_details(self, app: AppView) -> None:
        """Counters, members, info and controls (slow tick)."""
        self.set_counters(app)
        live = [m for m in app.members if m.status != "dead"]
        idle = sum(1 for m in live if m.idle)
        parts = [KIND_NAMES.get(app.kind, app.kind), f"reads {app.topic}", app.assignor,
                 f"commits {COMMIT_NAMES.get(app.commit, app.commit)}",
                 fmt.plural(len(live), "consumer")]
        if idle:
            parts.append(f"{idle} idle")
        self.info.setText(" · ".join(parts))
        self.members_model.update(app.members)
        if self.pause_button.isChecked() != app.paused:
            self.pause_button.setChecked(app.paused)
        self.pause_button.setText("Resume" if app.paused else "Pause")
        for b in (self.remove_consumer_button, self.pause_button):
            b.setEnabled(bool(live))
        # On an external cluster the consumers are real clients: they cannot die without
        # leaving their group, so killing and crashing stay with the embedded broker.
        external = self.sim.target is not None
        for b, tip in ((self.kill_button, "kill"), (self.crash_before_button, "crash_before"),
                       (self.crash_after_button, "crash_after")):
            b.setEnabled(bool(live) and not external)
            b.setToolTip(EMBEDDED_ONLY_TIP if external else ACTION_TIPS[tip])
        ms = round(app.delay_s * 1000)
        if not self.delay.isSliderDown() and not self._delay_timer.isActive() \
                and self.delay.value() != ms:
            self.delay.blockSignals(True)  # what runs already: nothing to send back
            self.delay.setValue(min(ms, MAX_DELAY_MS))
            self.delay.blockSignals(False)
            self._show_delay(ms)

    def set_picture(self, app: AppView, city: City, partners: int | None) -> None:
        """The app's own view of the stream (fast tick, visible tab only)."""
        model = app.model
        if isinstance(self.picture, CityMap) and isinstance(model, MapSnapshot):
            self.picture.set_city(city)
            self.picture.set_snapshot(model)
        elif isinstance(self.picture, AnalyticsPanel) and isinstance(model, AnalyticsSnapshot):
            self.picture.set_snapshot(city, model, partners)
        elif isinstance(self.picture, NotificationsPanel) and isinstance(
            model, NotificationsSnapshot
        ):
            self.picture.set_snapshot(model)

    def _show_delay(self, ms: int) -> None:
        self.delay_label.setText(f"{ms} ms/record")
        if ms == 0:
            note = "No processing delay: each consumer handles records as fast as it gets them."
        else:
            note = (f"Each consumer handles at most {fmt.short_count(1000 / ms)} updates/s; "
                    "lag builds up when the partners send more.")
        self.delay_note.setText(note)

    # -- actions -------------------------------------------------------------------------

    def _report(self, text: str) -> Callable[[Any, BaseException | None], None]:
        def done(result: Any, error: BaseException | None) -> None:
            if error is not None:
                self.note.setText(error_text(error))
            else:
                self.note.setText(text.format(result=result))

        return done

    def selected_index(self) -> int | None:
        """The selected member's place in the app's members, or None."""
        key = self.members.selected_key()
        if key is None or self.app is None:
            return None
        for i, m in enumerate(self.app.members):
            if m.client_id == key and m.status != "dead":
                return i
        return None

    def add_consumer(self) -> None:
        self.sim.add_consumer(self.group, self._report(
            "A consumer joined: the group rebalances and shares the partitions again."))

    def remove_consumer(self) -> None:
        self.sim.remove_consumer(self.group, self._report(
            "The newest consumer left the group (LeaveGroup): its partitions moved at once."))

    def _pause_clicked(self, checked: bool) -> None:
        if checked:
            self.sim.pause(self.group, self._report(
                "Paused: the members keep their partitions but fetch nothing; lag grows."))
        else:
            self.sim.resume(self.group, self._report("Resumed: the app catches up."))
        self.pause_button.setText("Resume" if checked else "Pause")

    def kill(self) -> None:
        self.sim.kill_consumer(self.group, self.selected_index(), self._report(
            "Killed {result}: no LeaveGroup, so the group waits for its session timeout "
            "(6 s), then rebalances."))

    def crash(self, point: CrashPoint) -> None:
        if point == "before_commit":
            text = ("Armed: a consumer will process its next batch and die before committing "
                    "it; the batch is read again, so duplicates rise.")
        else:
            text = ("Armed: a consumer will commit its next batch and die before processing "
                    "it; those updates are lost.")
        self.sim.crash(self.group, point, self.selected_index(), self._report(text))

    def _delay_moved(self, ms: int) -> None:
        self._show_delay(ms)
        self._delay_timer.start()

    def _send_delay(self) -> None:
        ms = self.delay.value()
        self.sim.set_delay(self.group, ms / 1000, self._report(
            f"Processing delay set to {ms} ms per record." if ms else "Processing delay off."))

    def remove(self) -> None:
        self.remove_button.setEnabled(False)

        def done(_result: Any, error: BaseException | None) -> None:
            self.remove_button.setEnabled(True)
            if error is not None:
                self.note.setText(error_text(error))

        self.sim.remove_app(self.group, done)


class AppsPanel(QFrame):
    compact = False

    def set_compact(self, compact: bool) -> None:
        """Narrow page: the form on two rows, every app's controls in a narrow column."""
        self.compact = compact
        self.form.set_compact(compact)
        for panel in self.panels.values():
            panel.set_compact(compact)

    def __init__(
        self, sim: SimService, theme: Theme, topic: Callable[[], str],
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("Panel")
        self.sim = sim
        self.theme = theme
        self.view: ScenarioView | None = None
        layout = vbox(self, (14, 10, 14, 10), spacing=6)
        title = section_title("Consumer apps: each one is its own consumer group")
        title.setToolTip(fmt.plain_tooltip(
            "Every app reads every update of the topic, at its own pace, with its own "
            "committed offsets (fan-out): a slow or crashed app never slows the others."
        ))
        layout.addWidget(title)
        self.form = AddAppForm(sim, topic)
        layout.addWidget(self.form)
        self.stack = QStackedWidget()
        self.tabs = QTabWidget()
        self.tabs.setDocumentMode(True)
        self.tabs.setElideMode(Qt.TextElideMode.ElideMiddle)
        self.tabs.setUsesScrollButtons(True)
        self.empty = EmptyState(
            "No apps yet. Add one above: a customer map, analytics or notifications. Each "
            "reads the partners' topic on its own, as its own consumer group."
        )
        self.stack.addWidget(self.empty)
        self.stack.addWidget(self.tabs)
        layout.addWidget(self.stack, 1)
        self.panels: dict[str, AppPanel] = {}
        self.tabs.currentChanged.connect(lambda _i: self._draw_current())

    def apply_theme(self, theme: Theme) -> None:
        self.theme = theme
        for panel in self.panels.values():
            panel.apply_theme(theme)

    def current(self) -> AppPanel | None:
        widget = self.tabs.currentWidget()
        return widget if isinstance(widget, AppPanel) else None

    def show_app(self, group: str) -> bool:
        panel = self.panels.get(group)
        if panel is None:
            return False
        self.tabs.setCurrentWidget(panel)
        return True

    def _sync_tabs(self, view: ScenarioView) -> None:
        groups = {a.group: a for a in view.apps}
        for group in [g for g in self.panels if g not in groups]:
            panel = self.panels.pop(group)
            self.tabs.removeTab(self.tabs.indexOf(panel))
            panel.deleteLater()
        for group, app in groups.items():
            if group in self.panels:
                continue
            panel = AppPanel(self.sim, group, app.kind, self.theme)
            panel.set_compact(self.compact)
            self.panels[group] = panel
            index = self.tabs.addTab(panel, group)  # tab text is never markup
            self.tabs.setTabToolTip(
                index, fmt.plain_tooltip(f"{KIND_NAMES.get(app.kind, app.kind)}: group {group}")
            )
            self.tabs.setCurrentIndex(index)  # a new app is what the user wants to see
        self.stack.setCurrentWidget(self.tabs if self.panels else self.empty)
        self.form.set_taken(set(groups))

    def _partners(self) -> int | None:
        v = self.view
        return v.partners.partners if v is not None and v.partners is not None else None

    def _draw_current(self, *, details: bool = True) -> None:
        """The visible app's picture, with its details (members, controls) or only its
        counters (the fast tick)."""
        panel, view = self.current(), self.view
        if panel is None or view is None:
            return
        app = next((a for a in view.apps if a.group == panel.group), None)
        if app is not None:
            if details:
                panel.set_details(app)
            else:
                panel.set_counters(app)
            panel.set_picture(app, view.city, self._partners())

    def on_view(self, view: ScenarioView) -> None:
        """Fast tick: the visible app's picture and counters."""
        self.view = view
        if set(self.panels) != {a.group for a in view.apps}:
            self._sync_tabs(view)
        self._draw_current(details=False)

    def on_slow_view(self, view: ScenarioView) -> None:
        """Slow tick: tabs, every app's counters, the visible app's members and controls."""
        self.view = view
        self._sync_tabs(view)
        current = self.current()
        for app in view.apps:
            panel = self.panels.get(app.group)
            if panel is None:
                continue
            if panel is current:
                panel.set_details(app)
            else:
                panel.set_counters(app)
