"""The Simulation page's partners panel: the delivery partners' apps, the producers.

Contract: a form (topic, partitions, partners, total rate in updates per second, real
client) validated as it is typed, with the reason shown before Start is pressed; Start
and Stop; while the partners run, a change of partners or rate retunes them (after a
short pause in typing), and "Lunch rush" multiplies the rate for a number of seconds.
Live figures from the :class:`~streamscope.core.sim.scenario.PartnersView` of each view
(:meth:`PartnersPanel.set_view`): updates sent, achieved rate against the target, the
burst in force (or, stopped, "stopped" or "stopped after N updates (limit)"; the figures
wrap, never cut), errors, and :class:`PartitionBars`, the updates sent to each partition
(a hot key or a skewed key space shows as one tall bar).

Commands go through :class:`~desktop.sim_service.SimService`; a refusal is shown in the
panel's error line as plain text (it may quote a topic name).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence

from PySide6.QtCore import QRectF, Qt, QTimer
from PySide6.QtGui import QColor, QFont, QFontMetrics, QPainter, QPen
from PySide6.QtWidgets import (
    QCheckBox,
    QDoubleSpinBox,
    QFormLayout,
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSizePolicy,
    QSpinBox,
    QWidget,
)
from streamscope.core.sim.scenario import PartnersView
from streamscope.desktop import format as fmt
from streamscope.desktop.commands import error_text
from streamscope.desktop.layout import named, plain_label, vbox
from streamscope.desktop.sim_service import SimService
from streamscope.desktop.theme import LIGHT, Theme, icon
from streamscope.desktop.views.widgets import section_title

DEFAULT_TOPIC = "deliveries"
MAX_PARTITIONS = 64
MAX_PARTNERS = 10_000
MAX_RATE = 50_000
RETUNE_AFTER_MS = 400  # a retune waits for a pause in typing
_TOPIC_CHARS = re.compile(r"[a-zA-Z0-9._-]+")


def message_label(style: str) -> QLabel:
    """A hidden, wrapping one-line message of the ``style`` object name ("ErrorLabel",
    "HintLabel"), in plain text: refusals and hints may quote a topic name or group id.
    Shared by the Simulation page's panels."""
    label = named(plain_label(""), style)
    label.setTextFormat(Qt.TextFormat.PlainText)
    label.setWordWrap(True)
    label.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
    label.hide()
    return label


def debounce_timer(parent: QWidget, ms: int, slot: Callable[[], None]) -> QTimer:
    """A single-shot timer calling ``slot`` ``ms`` after its last start(): a command sent
    once the user pauses (typing, dragging) instead of at every step."""
    timer = QTimer(parent)
    timer.setSingleShot(True)
    timer.setInterval(ms)
    timer.timeout.connect(slot)
    return timer


def topic_problem(name: str) -> str | None:
    """Why ``name`` is not a Kafka topic name, or None."""
    if not name:
        return "Enter a topic name."
    if len(name) > 249:
        return "A topic name may be at most 249 characters."
    if name in (".", ".."):
        return "A topic cannot be named '.' or '..'."
    if not _TOPIC_CHARS.fullmatch(name):
        return "A topic name may use only letters, digits, '.', '_' and '-'."
    return None


def rate_text(view: PartnersView) -> str:
    """The Rate line: achieved against the target while running, else why it stopped."""
    if not view.running:
        if view.limit is not None and view.sent >= view.limit:
            return f"stopped after {fmt.count(view.sent)} updates (limit)"
        return "stopped"
    target = view.rate * view.burst
    rush = f" · lunch rush ×{view.burst:g}" if view.burst > 1 else ""
    return (f"{fmt.short_count(view.achieved_rate)}/s of {fmt.short_count(target)}/s "
            f"target{rush}")


class PartitionBars(QWidget):
    """Updates sent per partition, one bar each, numbered under it."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._theme: Theme = LIGHT
        self.counts: tuple[int, ...] = ()
        fm = QFontMetrics(self.font())
        self.setMinimumHeight(fm.height() * 2 + 24)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)

    def set_theme(self, theme: Theme) -> None:
        self._theme = theme
        self.update()

    def set_counts(self, counts: Sequence[int]) -> None:
        counts = tuple(counts)
        if counts != self.counts:
            self.counts = counts
            self.update()

    def paintEvent(self, event) -> None:  # noqa: N802 - Qt's name
        p = QPainter(self)
        t = self._theme
        fm = QFontMetrics(self.font())
        n = len(self.counts)
        w, h = self.width(), self.height()
        label_h = fm.height()
        if n == 0:
            p.setPen(QColor(t.muted))
            p.drawText(self.rect(), Qt.AlignmentFlag.AlignCenter, "No partition written yet")
            p.end()
            return
        peak = max(max(self.counts), 1)
        slot = w / n
        bar_w = max(2.0, min(slot * 0.7, 48.0))
        top = label_h + 2  # the count above the tallest bar
        area = max(4.0, h - top - label_h - 4)
        p.setPen(QPen(QColor(t.border), 1))
        base_y = top + area
        p.drawLine(0, int(base_y), w, int(base_y))
        # The counts above the bars, in a smaller font if need be, never overlapping.
        count_font = QFont(self.font())
        show_counts = False
        for scale in (1.0, 0.85):
            count_font.setPointSizeF(self.font().pointSizeF() * scale)
            widest = max(QFontMetrics(count_font).horizontalAdvance(fmt.short_count(c))
                         for c in self.counts)
            if widest + 2 <= slot:
                show_counts = True
                break
        for i, c in enumerate(self.counts):
            x = i * slot + (slot - bar_w) / 2
            bh = area * c / peak
            p.setPen(Qt.PenStyle.NoPen)
            p.setBrush(QColor(t.accent))
            p.drawRect(QRectF(x, base_y - bh, bar_w, bh))
            p.setPen(QColor(t.chart_fg))
            cell = QRectF(i * slot, base_y + 2, slot, label_h)
            p.drawText(cell, Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignTop, str(i))
            if show_counts:
                above = QRectF(i * slot, base_y - bh - label_h - 1, slot, label_h)
                p.setFont(count_font)
                p.drawText(above, Qt.AlignmentFlag.AlignCenter, fmt.short_count(c))
                p.setFont(self.font())
        if not show_counts:
            # Too narrow for a count per bar: the scale, by the tallest one's count.
            p.setPen(QColor(t.muted))
            p.drawText(QRectF(0, 0, w, label_h), Qt.AlignmentFlag.AlignRight,
                       f"tallest: {fmt.short_count(peak)} updates")
        p.end()


class PartnersPanel(QFrame):
    def __init__(self, sim: SimService, theme: Theme, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("Panel")
        self.sim = sim
        self.view: PartnersView | None = None
        self.busy = False
        layout = vbox(self, (14, 10, 14, 10), spacing=6)
        title = section_title("Delivery partners")
        title.setToolTip(fmt.plain_tooltip(
            "Each partner's phone app sends its location as a record whose key is the "
            "partner id: Kafka's default partitioner puts one key in one partition, so "
            "each partner's updates stay in order."
        ))
        layout.addWidget(title)

        form = QFormLayout()
        form.setHorizontalSpacing(8)
        form.setVerticalSpacing(4)
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        self.topic = QLineEdit(DEFAULT_TOPIC)
        self.topic.setToolTip("The topic the partners write to; created if it is missing")
        self.partitions = QSpinBox()
        self.partitions.setRange(1, MAX_PARTITIONS)
        self.partitions.setValue(6)
        self.partitions.setToolTip(
            "Partitions of the topic when it is created here (an existing topic keeps its own)"
        )
        self.partners = QSpinBox()
        self.partners.setRange(1, MAX_PARTNERS)
        self.partners.setValue(50)
        self.partners.setToolTip(
            "Delivery partners driving, each a distinct record key: one partner's updates "
            "all go to one partition, so they stay in order"
        )
        self.rate = QSpinBox()
        self.rate.setRange(1, MAX_RATE)
        self.rate.setValue(100)
        self.rate.setSuffix(" /s")
        self.rate.setToolTip("Location updates per second, all partners together")
        self.real_client = QCheckBox("real Kafka client (TCP)")
        self.real_client.setToolTip(
            "Send through confluent-kafka over a socket to the bootstrap address, as a real "
            "phone backend would: the producer then shows in the Clients view. Off: the "
            "partners run inside the broker's process."
        )
        form.addRow("Topic", self.topic)
        form.addRow("Partitions", self.partitions)
        form.addRow("Partners", self.partners)
        form.addRow("Updates", self.rate)
        form.addRow(self.real_client)

        self.start_button = QPushButton(icon("play"), "Start")
        self.stop_button = QPushButton(icon("stop"), "Stop")
        self.start_button.setToolTip("Start the partners (creates the topic if missing)")
        self.stop_button.setToolTip("Stop the partners: no more updates are sent")
        self.rush_button = QPushButton("Lunch rush")
        self.rush_button.setToolTip(
            "Multiply the rate for a while, as at lunchtime: watch the apps' lag grow, then "
            "shrink once the rush is over"
        )
        self.rush_factor = QDoubleSpinBox()
        self.rush_factor.setRange(1.5, 100.0)
        self.rush_factor.setDecimals(1)
        self.rush_factor.setValue(5.0)
        self.rush_factor.setPrefix("×")
        self.rush_factor.setToolTip("How many times the normal rate")
        self.rush_seconds = QSpinBox()
        self.rush_seconds.setRange(1, 600)
        self.rush_seconds.setValue(15)
        self.rush_seconds.setSuffix(" s")
        self.rush_seconds.setToolTip("How long the rush lasts")
        rush = QHBoxLayout()
        rush.setSpacing(4)
        rush.addWidget(self.rush_factor, 1)
        rush.addWidget(plain_label("for"))
        rush.addWidget(self.rush_seconds, 1)
        form.addRow("Rush", rush)
        layout.addLayout(form)
        buttons = QHBoxLayout()
        buttons.setSpacing(6)
        buttons.addWidget(self.start_button, 1)
        buttons.addWidget(self.stop_button, 1)
        layout.addLayout(buttons)
        layout.addWidget(self.rush_button)

        self.error = message_label("ErrorLabel")
        layout.addWidget(self.error)

        figures = QGridLayout()
        figures.setHorizontalSpacing(8)
        figures.setVerticalSpacing(1)
        self.sent = plain_label("–")
        self.achieved = plain_label("–")
        self.errors = plain_label("–")
        rows = (
            ("Sent", self.sent, "Updates handed to the producer since the partners started"),
            ("Rate", self.achieved,
             "Updates per second actually sent over the last 2 s, against the target "
             "(the rate times the lunch-rush multiplier)"),
            ("Errors", self.errors, "Updates the broker did not accept"),
        )
        for row, (name, value, tip) in enumerate(rows):
            caption = named(plain_label(name), "Muted")
            caption.setToolTip(tip)
            value.setToolTip(tip)
            value.setWordWrap(True)  # "stopped after 1,234 updates (limit)" in a narrow panel
            value.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
            value.setAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop)
            caption.setAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop)
            figures.addWidget(caption, row, 0)
            figures.addWidget(value, row, 1)
        figures.setColumnStretch(1, 1)
        # Two lines for the rate: it wraps in a narrow panel (the grid would not grow a
        # row for a wrapped label on its own, and the text would be cut).
        self.achieved.setMinimumHeight(2 * self.achieved.fontMetrics().lineSpacing() + 4)
        layout.addLayout(figures)
        bars_title = named(plain_label("Updates sent per partition"), "Muted")
        bars_title.setToolTip(
            "Each partner's updates go to the partition its key hashes to; many partners "
            "spread evenly, one busy partner (a hot key) makes one bar tall"
        )
        layout.addWidget(bars_title)
        self.bars = PartitionBars()
        self.bars.set_theme(theme)
        self.bars.setMaximumHeight(150)
        layout.addWidget(self.bars, 1)
        layout.addStretch(0)

        self._retune = debounce_timer(self, RETUNE_AFTER_MS, self._send_retune)
        self.start_button.clicked.connect(self.start)
        self.stop_button.clicked.connect(self.stop)
        self.rush_button.clicked.connect(self.lunch_rush)
        self.rush_factor.valueChanged.connect(self._name_rush)
        self.rush_seconds.valueChanged.connect(self._name_rush)
        self._name_rush()
        self.topic.textChanged.connect(self._revalidate)
        self.partners.valueChanged.connect(self._tuned)
        self.rate.valueChanged.connect(self._tuned)
        self._revalidate()
        self._sync_state()

    # -- state -------------------------------------------------------------------------

    @property
    def running(self) -> bool:
        return self.view is not None and self.view.running

    def topic_name(self) -> str:
        """The topic the partners write to (running) or will write to (the field)."""
        if self.running and self.view is not None:
            return self.view.topic
        return self.topic.text().strip()

    def validate(self) -> str | None:
        return topic_problem(self.topic.text().strip())

    def _revalidate(self, *_: object) -> None:
        reason = None if self.running else self.validate()
        self._show_error(reason)
        self._sync_state()

    def _show_error(self, text: str | None) -> None:
        self.error.setText(text or "")
        self.error.setVisible(bool(text))

    def _sync_state(self) -> None:
        running = self.running
        for field in (self.topic, self.partitions, self.real_client):
            field.setEnabled(not running and not self.busy)
        self.start_button.setEnabled(not running and not self.busy and self.validate() is None)
        self.stop_button.setEnabled(running and not self.busy)
        self.rush_button.setEnabled(running and not self.busy)

    def apply_theme(self, theme: Theme) -> None:
        self.bars.set_theme(theme)

    def set_view(self, view: PartnersView | None) -> None:
        """Figures and button states from the simulation's latest view."""
        was_running = self.running
        self.view = view
        if view is None:
            self.sent.setText("–")
            self.achieved.setText("not running")
            self.errors.setText("–")
            self.bars.set_counts(())
        else:
            self.sent.setText(fmt.count(view.sent))
            self.achieved.setText(rate_text(view))
            self.errors.setText(fmt.count(view.errors))
            self.bars.set_counts(view.per_partition)
            if view.running:
                # Reflect what runs (a lesson may have tuned it), unless being edited.
                self._follow(self.partners, view.partners)
                self._follow(self.rate, round(view.rate))
                if not self.topic.hasFocus() and self.topic.text() != view.topic:
                    self.topic.setText(view.topic)
                self._follow(self.partitions, view.partitions)
                self.real_client.setChecked(view.real_client)
        if was_running != self.running:
            self._revalidate()
        else:
            self._sync_state()

    def _follow(self, box: QSpinBox, value: int) -> None:
        if not box.hasFocus() and not self._retune.isActive() and box.value() != value:
            box.blockSignals(True)  # what runs already: no retune back to it
            box.setValue(value)
            box.blockSignals(False)

    # -- commands ------------------------------------------------------------------------

    def _done(self, _result: object, error: BaseException | None) -> None:
        self.busy = False
        self._show_error(error_text(error) if error is not None else None)
        self._sync_state()

    def start(self) -> None:
        reason = self.validate()
        if reason is not None:
            self._show_error(reason)
            return
        self.busy = True
        self._sync_state()
        self.sim.start_partners(
            topic=self.topic.text().strip(),
            partitions=self.partitions.value(),
            partners=self.partners.value(),
            rate=float(self.rate.value()),
            real_client=self.real_client.isChecked(),
            on_done=self._done,
        )

    def stop(self) -> None:
        self.busy = True
        self._sync_state()
        self.sim.stop_partners(on_done=self._done)

    def _name_rush(self, *_: object) -> None:
        self.rush_button.setText(
            f"Lunch rush ×{self.rush_factor.value():g}, {self.rush_seconds.value()} s"
        )

    def lunch_rush(self) -> None:
        self.sim.lunch_rush(self.rush_factor.value(), float(self.rush_seconds.value()),
                            on_done=self._done)

    def _tuned(self, *_: object) -> None:
        if self.running:
            self._retune.start()

    def _send_retune(self) -> None:
        if self.running:
            self.sim.retune(rate=float(self.rate.value()), partners=self.partners.value(),
                            on_done=self._done)
