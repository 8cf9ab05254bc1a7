"""The "Lesson figures" page: the figures of lessons 6 (the database race) and 8 (the
idempotent producer), drawn from the open lesson's :class:`~streamscope.core.lessons.LessonView`.

Contract: :class:`LessonFiguresView` is a main-window page like the others (``title``,
``on_tick`` / ``on_slow_tick`` taking ``(snapshot, history)``, ``apply_theme``). It pulls
the lesson service's newest view (``latest()``, one frozen ``LessonView``) on every tick
and redraws only when that view changed; :meth:`LessonFiguresView.show_lesson` draws a
given view directly. It shows one of three things:

* lesson 6 (a lesson with a ``db_race`` action, or a view holding race samples or a
  result): three charts side by side against seconds since the race started, writes per
  second (rows committed per half second), p99 update-to-visible latency in ms and backlog
  in updates, each with one line for the direct path (one transaction per update straight
  into SQLite) and one for the path through the broker (a consumer writing batches; its backlog is the group's lag),
  the offered load as a dashed step line on the writes chart, and each load step marked by
  a labelled vertical line ("200/s", ..., "drain") on all three. The charts grow live from
  ``db_samples`` while the race runs. When it is done (``db_race``), a table gives every
  step's figures and says in words which path kept up, under a sentence on the top step;
* lesson 8 (an ``ack_drop`` action, or ``ack_drop`` results): for each run, without and
  with idempotence, the records sent, the records in the log and the duplicates, as a
  grouped bar chart with the values on the bars and as a table, and one sentence on what
  they mean;
* otherwise one plain sentence: this lesson's figures are on the other pages.

Every text is plain (``Qt.TextFormat.PlainText``): step labels and figures come from a
lesson file and a run, never markup. A path "kept up" during a step when, at the step's end,
fewer updates were waiting to be written than the offered rate brings in :data:`KEPT_UP_S`
seconds (its writes/s are an average that trails a step change, its backlog is not).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QEvent, Qt
from PySide6.QtGui import QColor, QFont, QFontMetrics
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QSizePolicy,
    QStackedWidget,
    QTableWidget,
    QTableWidgetItem,
    QWidget,
)
from streamscope.core.lessons import Lesson, LessonView
from streamscope.core.lessons.model import AckDrop, DbRace
from streamscope.core.monitor import ClusterSnapshot
from streamscope.core.sim.database import DbRaceResult, DbRaceSample, DbStepResult, PathFigures
from streamscope.core.sim.faults import AckDropResult
from streamscope.desktop.history import MonitorHistory
from streamscope.desktop.layout import plain_label, vbox
from streamscope.desktop.theme import Theme
from streamscope.desktop.views.charts import fixed_plot, nice_top, si_ticks, style_axes

KEPT_UP_S = 0.25  # a path kept up if less than this many seconds of load waited at the end
DIRECT = "directly into the database"
BROKER = "through the broker"
OFFERED = "offered load"
RATE_SPAN_S = 0.4  # writes/s on the chart: over at least this long (samples: every 0.5 s)
TICK_PT = 8.5  # like desktop.views.charts (presentation mode scales it)

NO_LESSON = ("No lesson is open. Lesson 6 (the database race) and lesson 8 (the idempotent "
             "producer) draw their figures here: open one from the Lesson menu.")
OTHER_LESSON = ("This lesson's figures are on the other pages (the Lesson panel opened the one "
                "that matters). This page draws lesson 6 (the database race) and lesson 8 "
                "(the idempotent producer).")


def _plain(text: str = "", name: str | None = None, wrap: bool = True) -> QLabel:
    label = plain_label(text)
    label.setTextFormat(Qt.TextFormat.PlainText)
    label.setWordWrap(wrap)
    if wrap:
        label.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
    if name:
        label.setObjectName(name)
    return label


def _legend(names: Sequence[str], width: int, height: int
            ) -> tuple[QWidget, list[tuple[QLabel, QLabel]]]:
    """A row of keys, a ``width`` x ``height`` swatch before each name; returns the row and
    each key's (swatch, name label) in ``names`` order (the caller colours the swatches
    per theme)."""
    legend = QWidget()
    row = QHBoxLayout(legend)
    row.setContentsMargins(0, 0, 0, 0)
    row.setSpacing(16)
    keys: list[tuple[QLabel, QLabel]] = []
    for name in names:
        swatch = _plain("", wrap=False)
        swatch.setFixedSize(width, height)
        text = _plain(name, wrap=False)
        row.addWidget(swatch, 0, Qt.AlignmentFlag.AlignVCenter)
        row.addWidget(text)
        keys.append((swatch, text))
    row.addStretch(1)
    return legend, keys


def _count(v: float) -> str:
    return f"{v:,.0f}"


def _ms(f: PathFigures) -> str:
    if f.p99_ms is None:
        return "-"
    return (">" if f.p99_lower_bound else "") + f"{f.p99_ms:,.0f}"


def path_cell(f: PathFigures) -> str:
    """One path's figures for a step, in one cell:
    "2,271 writes/s, p99 993 ms, 4,071 behind"."""
    p99 = "" if f.p99_ms is None else f"p99 {_ms(f)} ms, "
    return f"{_count(f.writes_per_s)} writes/s, {p99}{_count(f.backlog)} behind"


def kept_up(f: PathFigures, offered_per_s: float) -> bool:
    return f.backlog <= KEPT_UP_S * offered_per_s


def step_verdict(step: DbStepResult) -> str:
    """Which path kept up during ``step``, in words (the drain: which caught up)."""
    d, b = step.direct, step.broker
    if step.offered_per_s <= 0:
        if d.backlog == 0 and b.backlog == 0:
            return "both caught up"
        behind = [f"{name} still {_count(f.backlog)} behind"
                  for name, f in (("direct", d), ("broker", b)) if f.backlog]
        return ", ".join(behind)
    direct, broker = kept_up(d, step.offered_per_s), kept_up(b, step.offered_per_s)
    if direct and broker:
        return "both"
    if broker:
        return "only through the broker"
    if direct:
        return "only directly"
    return "neither"


def race_summary(result: DbRaceResult) -> str:
    """One plain sentence on the top load step and the drain."""
    top = result.top
    d, b = top.direct, top.broker
    text = (f"At the top step ({top.label}) the direct path wrote {_count(d.writes_per_s)} "
            f"updates/s and ended {_count(d.backlog)} behind; through the broker "
            f"{_count(b.writes_per_s)} updates/s with a lag of {_count(b.backlog)}.")
    drain = result.steps[-1]
    if drain.offered_per_s <= 0:
        text += (f" After the load stopped, both had written everything within "
                 f"{drain.seconds:.1f} s." if step_verdict(drain) == "both caught up"
                 else f" When the race ended: {step_verdict(drain)}.")
    return text


def ack_summary(results: Sequence[AckDropResult]) -> str:
    """One plain sentence on what the ack-drop runs mean."""
    without = next((r for r in results if not r.idempotent), None)
    with_ = next((r for r in results if r.idempotent), None)
    parts = []
    if without is not None:
        parts.append(
            f"Without idempotence, {without.dropped} lost acknowledgements made the producer "
            f"send batches again that the broker had already written: "
            f"{_count(without.duplicates)} duplicates in the log.")
    if with_ is not None:
        parts.append(
            f"With idempotence, the broker recognised the {with_.dropped} retried batches by "
            f"their producer id and sequence numbers: {_count(with_.duplicates)} duplicates.")
    if with_ is None and without is not None:
        parts.append("Next: the same with enable.idempotence.")
    return " ".join(parts)


class _CountAxis(pg.AxisItem):
    """y ticks in one SI format for the whole axis (as desktop.views.charts' axes)."""

    def __init__(self) -> None:
        super().__init__(orientation="left")
        self.enableAutoSIPrefix(False)

    def boundingRect(self):  # noqa: N802 - Qt's name
        # Keep the "0" at the bottom edge (pyqtgraph drops labels outside the plot).
        return super().boundingRect().adjusted(0, -10, 0, 10)

    def tickStrings(self, values, scale, spacing):  # noqa: N802 - pyqtgraph's name
        return si_ticks([v * scale for v in values], spacing * scale)


class _SecondsAxis(pg.AxisItem):
    def __init__(self) -> None:
        super().__init__(orientation="bottom")
        self.enableAutoSIPrefix(False)

    def tickStrings(self, values, scale, spacing):  # noqa: N802 - pyqtgraph's name
        return [f"{v * scale:g} s" for v in values]


class _Plot(pg.PlotWidget):
    """What the race charts and the ack bar chart share: fixed axes, no mouse, themed."""

    _ready = False  # Qt sends font and style changes while __init__ still runs
    _title_key: tuple[float, str] | None = None  # the font size and colour titled with

    def __init__(self, title: str, theme: Theme, bottom: pg.AxisItem | None = None) -> None:
        axes = {"left": _CountAxis()}
        if bottom is not None:
            axes["bottom"] = bottom
        super().__init__(axisItems=axes)
        self._title = title
        item = fixed_plot(self)
        item.showGrid(x=False, y=True)
        item.enableAutoRange(enable=False)
        item.setContentsMargins(2, 4, 10, 2)
        self.setMinimumSize(160, 120)
        self.theme = theme
        self._ready = True

    def restyle(self, theme: Theme) -> None:
        self.theme = theme
        self.setBackground(QColor(theme.chart_bg))
        style_axes(self.getPlotItem(), theme, point_size=TICK_PT, grid=True)
        self._retitle()

    def text_pt(self) -> float:
        """Titles and value labels follow the widget's font (presentation mode's is larger)."""
        return round(max(9.0, 0.95 * self.font().pointSizeF()), 1)

    def _retitle(self) -> bool:
        """Set the title for the current font and theme; False when they are as before
        (Qt sends a style change per polish, hundreds while the window is built)."""
        key = (self.text_pt(), self.theme.chart_fg)
        if key == self._title_key:
            return False
        self._title_key = key
        self.getPlotItem().setTitle(self._title, color=key[1], size=f"{key[0]}pt")
        return True

    def changeEvent(self, event) -> None:  # noqa: N802 - Qt's name
        if (self._ready and event.type() in (QEvent.Type.FontChange, QEvent.Type.StyleChange)
                and self._retitle()):
            self.text_changed()
        super().changeEvent(event)

    def text_changed(self) -> None:
        """The font changed: subclasses re-draw their own texts."""


class RaceChart(_Plot):
    """One figure of the race: the direct and the broker path against seconds, load steps
    marked; optionally the offered load as a dashed step line."""

    def __init__(self, title: str, theme: Theme, *, offered: bool = False) -> None:
        super().__init__(title, theme, _SecondsAxis())
        item = self.getPlotItem()
        self.offered = item.plot([], [], connect="finite") if offered else None
        self.direct = item.plot([], [], connect="finite")
        self.broker = item.plot([], [], connect="finite")
        self._marks: list[pg.InfiniteLine] = []
        self._mark_labels: list[tuple[float, str]] = []
        self.setXRange(0, 10, padding=0)
        self.setYRange(0, nice_top(0), padding=0)
        self.apply_theme(theme)

    def apply_theme(self, theme: Theme) -> None:
        self.restyle(theme)
        self.direct.setPen(pg.mkPen(QColor(direct_color(theme)), width=2.2))
        self.broker.setPen(pg.mkPen(QColor(broker_color(theme)), width=2.2))
        if self.offered is not None:
            self.offered.setPen(pg.mkPen(QColor(theme.muted), width=1.6,
                                         style=Qt.PenStyle.DashLine))
        marks, self._mark_labels = self._mark_labels, []
        self.set_marks(marks)

    def set_marks(self, marks: Sequence[tuple[float, str]]) -> None:
        """Vertical lines at the steps' starts, labelled with the step (plain text)."""
        marks = list(marks)
        if marks == self._mark_labels:
            return
        item = self.getPlotItem()
        for line in self._marks:
            item.removeItem(line)
        self._marks = []
        color = QColor(self.theme.chart_fg)
        fill = QColor(self.theme.chart_bg)  # legible where a line runs behind the label
        fill.setAlpha(210)
        for i, (x, label) in enumerate(marks):
            # Labels alternate between two heights: short steps put them close together.
            line = pg.InfiniteLine(
                pos=x, angle=90, movable=False,
                pen=pg.mkPen(QColor(self.theme.border), width=1.2, style=Qt.PenStyle.DotLine),
                label=label,
                labelOpts={"position": 0.97 if i % 2 == 0 else 0.84, "color": color,
                           "anchors": [(0, 0), (0, 0)], "fill": fill},
            )
            item.addItem(line)
            self._marks.append(line)
        self._mark_labels = marks

    def set_lines(self, x: np.ndarray, direct: np.ndarray, broker: np.ndarray,
                  offered: tuple[np.ndarray, np.ndarray] | None = None,
                  x_end: float = 10.0) -> None:
        self.direct.setData(x, direct, connect="finite")
        self.broker.setData(x, broker, connect="finite")
        peak = [_peak(direct), _peak(broker)]
        if self.offered is not None and offered is not None:
            self.offered.setData(*offered, connect="finite")
            peak.append(_peak(offered[1]))
        # Room above the top line for the step labels.
        self.setYRange(0, nice_top(max(peak) * 1.3), padding=0)
        self.setXRange(0, x_end, padding=0)

    def line_data(self, which: str) -> tuple[np.ndarray, np.ndarray]:
        """What is drawn for "direct", "broker" or "offered" (for tests)."""
        curve = {"direct": self.direct, "broker": self.broker, "offered": self.offered}[which]
        if curve is None:
            return np.array([]), np.array([])
        x, y = curve.getData()
        return (np.asarray(x if x is not None else []), np.asarray(y if y is not None else []))

    def mark_labels(self) -> list[str]:
        return [label for _, label in self._mark_labels]


def direct_color(theme: Theme) -> str:
    return theme.series[1]


def broker_color(theme: Theme) -> str:
    return theme.series[0]


def _peak(y: np.ndarray) -> float:
    finite = y[np.isfinite(y)] if len(y) else y
    return float(finite.max()) if len(finite) else 0.0


def race_series(samples: Sequence[DbRaceSample]) -> dict[str, np.ndarray]:
    """The chart lines from the race's samples (p99 None -> NaN: a gap, not a zero)."""
    def col(fn: Callable[[DbRaceSample], float | None]) -> np.ndarray:
        return np.array([math.nan if (v := fn(s)) is None else float(v) for s in samples],
                        dtype=np.float64)

    t = col(lambda s: s.at_s)
    return {
        "t": t,
        "offered": col(lambda s: s.offered_per_s),
        "direct_w": _rate(t, col(lambda s: s.direct.rows)),
        "broker_w": _rate(t, col(lambda s: s.broker.rows)),
        "direct_p99": col(lambda s: s.direct.p99_ms),
        "broker_p99": col(lambda s: s.broker.p99_ms),
        "direct_backlog": col(lambda s: s.direct.backlog),
        "broker_backlog": col(lambda s: s.broker_lag),
    }


def _rate(t: np.ndarray, rows: np.ndarray, span_s: float = RATE_SPAN_S) -> np.ndarray:
    """Rows committed per second since the newest sample at least ``span_s`` earlier,
    drawn at the later one: it follows a step at once, where the views' writes/s (an
    average over the last 2 s) would trail it. A step's first sample comes moments after
    the previous one's last, hence the span. Too early for a rate: NaN."""
    out = np.full(len(t), math.nan)
    for i in range(len(t)):
        j = int(np.searchsorted(t, t[i] - span_s, side="right")) - 1
        if j >= 0 and t[i] > t[j]:
            out[i] = (rows[i] - rows[j]) / (t[i] - t[j])
    return out


def step_marks(samples: Sequence[DbRaceSample]) -> list[tuple[float, str]]:
    """(start, label) of every step seen: a step's first sample is taken as it starts."""
    marks: list[tuple[float, str]] = []
    last = None
    for s in samples:
        if s.step != last:
            marks.append((s.at_s, s.label))
            last = s.step
    return marks


def offered_steps(samples: Sequence[DbRaceSample]) -> tuple[np.ndarray, np.ndarray]:
    """The offered rate as a step line: flat during a step, vertical at the next one."""
    xs: list[float] = []
    ys: list[float] = []
    for s in samples:
        if ys and ys[-1] != s.offered_per_s:
            xs.append(s.at_s)
            ys.append(ys[-1])
        xs.append(s.at_s)
        ys.append(s.offered_per_s)
    return np.array(xs, dtype=np.float64), np.array(ys, dtype=np.float64)


class _FitTable(QTableWidget):
    """A table as tall as its rows (a handful: no inner scrolling), also after
    presentation mode changes the fonts and row heights."""

    def __init__(self, rows: int, columns: int) -> None:
        super().__init__(rows, columns)
        self.verticalHeader().sectionResized.connect(lambda *_: self.updateGeometry())
        self.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)

    def _height(self) -> int:
        header = self.horizontalHeader()
        rows = sum(self.rowHeight(r) for r in range(self.rowCount()))
        bar = self.horizontalScrollBar()
        extra = bar.sizeHint().height() if bar.isVisible() else 0
        return header.sizeHint().height() + rows + 2 * self.frameWidth() + extra

    def sizeHint(self):  # noqa: N802 - Qt's name
        hint = super().sizeHint()
        hint.setHeight(self._height())
        return hint

    def minimumSizeHint(self):  # noqa: N802 - Qt's name
        hint = super().minimumSizeHint()
        hint.setHeight(self._height())
        return hint

    def changeEvent(self, event) -> None:  # noqa: N802 - Qt's name
        if event.type() in (QEvent.Type.FontChange, QEvent.Type.StyleChange):
            self.fit_width()
            self.updateGeometry()
        super().changeEvent(event)

    def fit_width(self) -> None:
        """A table whose last column does not stretch is as wide as its columns, no
        wider: no empty frame beside them."""
        header = self.horizontalHeader()
        if header.stretchLastSection():
            return
        self.resizeColumnsToContents()
        self.setMaximumWidth(header.length() + 2 * self.frameWidth())


def _table(headers: Sequence[str], stretch_last: bool = True) -> QTableWidget:
    table = _FitTable(0, len(headers))
    table.setHorizontalHeaderLabels(list(headers))
    table.verticalHeader().hide()
    table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    table.setSelectionMode(QAbstractItemView.SelectionMode.NoSelection)
    table.setFocusPolicy(Qt.FocusPolicy.NoFocus)
    table.setAlternatingRowColors(True)
    header = table.horizontalHeader()
    header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
    header.setStretchLastSection(stretch_last)
    # Rows as tall as their text (presentation mode's larger font too), no taller.
    table.verticalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
    header.setDefaultAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
    return table


def _fill(table: QTableWidget, rows: Sequence[Sequence[str]]) -> None:
    table.setRowCount(len(rows))
    for r, row in enumerate(rows):
        for c, text in enumerate(row):
            cell = QTableWidgetItem(text)  # items are plain text
            if c and (text[:1].isdigit() or text[:1] in ("-", ">")):
                cell.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            table.setItem(r, c, cell)
    if isinstance(table, _FitTable):
        table.fit_width()
    table.updateGeometry()


RACE_HEADERS = ("Step", "Directly into the database", "Through the broker", "Which kept up")


class RacePanel(QWidget):
    """Lesson 6: the three charts, the legend, and the table once the race is done."""

    def __init__(self, theme: Theme) -> None:
        super().__init__()
        root = vbox(self, spacing=6)
        self.status = _plain("", "Muted")
        root.addWidget(self.status)
        names = (DIRECT, BROKER, OFFERED)
        self.legend, keys = _legend(names, 22, 4)  # line keys
        self.keys = dict(zip(names, keys, strict=True))
        root.addWidget(self.legend)
        charts = QWidget()
        row = QHBoxLayout(charts)
        row.setContentsMargins(0, 0, 0, 0)
        row.setSpacing(6)
        self.writes = RaceChart("Writes (updates/s)", theme, offered=True)
        self.latency = RaceChart("p99 update-to-visible (ms)", theme)
        self.backlog = RaceChart("Backlog (updates)", theme)
        for chart in (self.writes, self.latency, self.backlog):
            row.addWidget(chart, 1)
        root.addWidget(charts, 1)
        self.summary = _plain("", "SectionTitle")
        root.addWidget(self.summary)
        self.table = _table(RACE_HEADERS)
        root.addWidget(self.table)
        self.summary.hide()
        self.table.hide()
        self._samples: tuple[DbRaceSample, ...] | None = None
        self._result: DbRaceResult | None = None
        self.apply_theme(theme)

    def charts(self) -> tuple[RaceChart, RaceChart, RaceChart]:
        return self.writes, self.latency, self.backlog

    def apply_theme(self, theme: Theme) -> None:
        for chart in self.charts():
            chart.apply_theme(theme)
        for name, color in ((DIRECT, direct_color(theme)), (BROKER, broker_color(theme)),
                            (OFFERED, theme.muted)):
            self.keys[name][0].setStyleSheet(f"background: {color};")

    def show_race(self, samples: tuple[DbRaceSample, ...], result: DbRaceResult | None,
                  running: bool) -> None:
        if samples is not self._samples:
            self._samples = samples
            self._draw(samples)
        if result is not self._result:
            self._result = result
            self._show_result(result)
        # Once the race is over, the sentence and the table under the charts say it all.
        self.status.setVisible(result is None)
        if samples:
            last = samples[-1]
            phase = ("draining: no new updates, both paths write what is left"
                     if last.offered_per_s <= 0 else f"offering {last.label}")
            self.status.setText(
                f"Racing, {last.at_s:.0f} s since it started, {phase}. Direct backlog "
                f"{_count(last.direct.backlog)} updates, broker lag {_count(last.broker_lag)}.")
        else:
            self.status.setText(
                "The race is running: the first figures come in a moment." if running else
                "The race has not started: press Next. The same updates go straight into "
                "SQLite (one transaction each) and through the broker (a consumer writing "
                "batches), while the offered load rises step by step.")

    def _draw(self, samples: Sequence[DbRaceSample]) -> None:
        s = race_series(samples)
        t = s["t"]
        # The x axis grows with the race (a little room after the newest sample).
        end = max(2.0, math.ceil(float(t[-1]) * 1.04 + 0.2)) if len(t) else 10.0
        marks = step_marks(samples)
        self.writes.set_lines(t, s["direct_w"], s["broker_w"], offered_steps(samples), end)
        self.latency.set_lines(t, s["direct_p99"], s["broker_p99"], x_end=end)
        self.backlog.set_lines(t, s["direct_backlog"], s["broker_backlog"], x_end=end)
        for chart in self.charts():
            chart.set_marks(marks)

    def _show_result(self, result: DbRaceResult | None) -> None:
        if result is None or not result.steps:
            self.summary.hide()
            self.table.hide()
            return
        self.summary.setText(race_summary(result))
        rows = []
        for step in result.steps:
            d, b = step.direct, step.broker
            rows.append((
                step.label,
                path_cell(d), path_cell(b),
                step_verdict(step),
            ))
        _fill(self.table, rows)
        self.summary.show()
        self.table.show()

    def table_rows(self) -> list[list[str]]:
        return [[self.table.item(r, c).text() for c in range(self.table.columnCount())]
                for r in range(self.table.rowCount())]


ACK_BARS = ("records sent", "in the log", "duplicates")
ACK_HEADERS = ("Run", "Records sent", "Acks dropped", "In the log", "Duplicates", "Missing")


def bar_top(peak: float) -> float:
    """The bar chart's top: a quarter above the tallest bar (room for its value), rounded
    up to half a power of ten (428 -> 550), so the bars fill the chart."""
    need = max(peak, 1.0) * 1.25
    half = 10 ** math.floor(math.log10(need)) / 2
    return math.ceil(need / half) * half


def run_name(r: AckDropResult) -> str:
    return "with idempotence" if r.idempotent else "without idempotence"


class _RunAxis(pg.AxisItem):
    def __init__(self) -> None:
        super().__init__(orientation="bottom")
        self.names: list[str] = []

    def setTickFont(self, font: QFont) -> None:  # noqa: N802 - pyqtgraph's name
        # Tall enough for its labels at any font (presentation mode scales it).
        super().setTickFont(font)
        self.setHeight(QFontMetrics(font).height() + 14)

    def tickValues(self, minVal, maxVal, size):  # noqa: N802, N803 - pyqtgraph's names
        return [(1.0, [float(i) for i in range(len(self.names))])]

    def tickStrings(self, values, scale, spacing):  # noqa: N802
        return [self.names[int(round(v))] if 0 <= round(v) < len(self.names) else ""
                for v in values]


class AckPanel(QWidget):
    """Lesson 8: per run, records sent, in the log and duplicates, as bars and a table."""

    def __init__(self, theme: Theme) -> None:
        super().__init__()
        root = vbox(self, spacing=6)
        self.status = _plain("", "Muted")
        root.addWidget(self.status)
        self.legend, keys = _legend(ACK_BARS, 14, 14)  # bar keys
        self.keys = [swatch for swatch, _ in keys]
        root.addWidget(self.legend)
        self._results: tuple[AckDropResult, ...] | None = None
        self.axis = _RunAxis()
        self.chart = _Plot("Records per run", theme, self.axis)
        self.chart.text_changed = self._redraw  # type: ignore[method-assign]
        self.chart.getPlotItem().showGrid(x=False, y=True)
        root.addWidget(self.chart, 1)
        self.sentence = _plain("", "SectionTitle")
        root.addWidget(self.sentence)
        self.table = _table(ACK_HEADERS, stretch_last=False)
        root.addWidget(self.table)
        self._bars: list[pg.GraphicsObject] = []
        self.theme = theme
        self.apply_theme(theme)

    def apply_theme(self, theme: Theme) -> None:
        self.theme = theme
        self.chart.restyle(theme)
        for swatch, color in zip(self.keys, self._colors(theme), strict=True):
            swatch.setStyleSheet(f"background: {color};")
        self._redraw()

    @staticmethod
    def _colors(theme: Theme) -> tuple[str, str, str]:
        return theme.series[0], theme.series[2], theme.bad

    def _redraw(self) -> None:
        results, self._results = self._results, None
        if results is not None:
            self.show_runs(results)

    def show_runs(self, results: tuple[AckDropResult, ...]) -> None:
        if results == self._results:
            return
        self._results = results
        item = self.chart.getPlotItem()
        for bar in self._bars:
            item.removeItem(bar)
        self._bars = []
        self.axis.names = [run_name(r) for r in results]
        width = 0.26
        peak = 0.0
        for k, color in enumerate(self._colors(self.theme)):
            xs = [i + (k - 1) * width for i in range(len(results))]
            values = [self._bar_values(r)[k] for r in results]
            peak = max([peak, *values])
            bars = pg.BarGraphItem(x=xs, height=values, width=width * 0.92,
                                   brush=pg.mkBrush(QColor(color)), pen=pg.mkPen(None))
            item.addItem(bars)
            self._bars.append(bars)
            for x, v in zip(xs, values, strict=True):
                text = pg.TextItem(_count(v), color=QColor(self.theme.chart_fg),
                                   anchor=(0.5, 1.0))
                font = QFont()
                font.setPointSizeF(self.chart.text_pt())
                text.setFont(font)
                text.setPos(x, v)
                item.addItem(text)
                self._bars.append(text)
        self.chart.setXRange(-0.6, max(1, len(results)) - 0.4, padding=0)
        self.chart.setYRange(0, bar_top(peak), padding=0)
        self.axis.picture = None
        self.axis.update()
        _fill(self.table, [
            (run_name(r), _count(r.records), _count(r.dropped), _count(r.in_log),
             _count(r.duplicates), _count(r.missing))
            for r in results
        ])
        self.sentence.setText(ack_summary(results))
        self.status.setText(
            "A real producer (librdkafka) sends its records; the broker writes some batches "
            "but drops the answer, so the producer sends them again." if results else
            "No run yet: press Next. A real producer sends records while the broker drops a "
            "few acknowledgements, once without and once with enable.idempotence.")
        self.table.setVisible(bool(results))

    @staticmethod
    def _bar_values(r: AckDropResult) -> tuple[int, int, int]:
        return r.records, r.in_log, r.duplicates

    def table_rows(self) -> list[list[str]]:
        return [[self.table.item(r, c).text() for c in range(self.table.columnCount())]
                for r in range(self.table.rowCount())]


class LessonFiguresView(QWidget):
    title = "Lesson figures"

    def __init__(
        self,
        theme: Theme,
        latest: Callable[[], LessonView | None] = lambda: None,
        find: Callable[[str], Lesson | None] = lambda _name: None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("LessonFiguresView")
        self._latest = latest
        self._find = find
        self._drawn: LessonView | None = None
        self.mode = "none"  # "none", "other", "race" or "acks"
        root = vbox(self, (18, 10, 18, 12), spacing=6)
        self.heading = _plain("Lesson figures", "SectionTitle")
        root.addWidget(self.heading)
        self.stack = QStackedWidget()
        self.message = _plain(NO_LESSON, "EmptyState")
        self.message.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.stack.addWidget(self.message)
        # The chart panels are built when a lesson first needs them: four plots cost more
        # to build (and to restyle on every theme change) than the rest of the page, and
        # most sessions never open lesson 6 or 8.
        self._race: RacePanel | None = None
        self._acks: AckPanel | None = None
        root.addWidget(self.stack, 1)
        self.theme = theme

    @property
    def race(self) -> RacePanel:
        if self._race is None:
            self._race = RacePanel(self.theme)
            self.stack.addWidget(self._race)
        return self._race

    @property
    def acks(self) -> AckPanel:
        if self._acks is None:
            self._acks = AckPanel(self.theme)
            self.stack.addWidget(self._acks)
        return self._acks

    # -- the page's contract -------------------------------------------------------------

    def apply_theme(self, theme: Theme) -> None:
        self.theme = theme
        for panel in (self._race, self._acks):
            if panel is not None:
                panel.apply_theme(theme)

    def on_tick(self, snap: ClusterSnapshot, history: MonitorHistory) -> None:
        self.refresh()

    def on_slow_tick(self, snap: ClusterSnapshot, history: MonitorHistory) -> None:
        self.refresh()

    def refresh(self) -> None:
        """Draw the lesson service's newest view, if it changed since the last one drawn."""
        view = self._latest()
        if view is self._drawn and view is not None:
            return
        self.show_lesson(view, self._find(view.name) if view is not None else None)

    # -- drawing -------------------------------------------------------------------------

    def show_lesson(self, view: LessonView | None, lesson: Lesson | None = None) -> None:
        self._drawn = view
        if view is None:
            self._show_message("Lesson figures", NO_LESSON)
            return
        actions = [a for step in lesson.steps for a in step.actions] if lesson else []
        heading = f"Lesson figures: {view.title}"
        if view.db_samples or view.db_race is not None or any(
                isinstance(a, DbRace) for a in actions):
            self.mode = "race"
            self.heading.setText(heading)
            self.race.show_race(view.db_samples, view.db_race,
                                running=view.status in ("running", "checking"))
            self.stack.setCurrentWidget(self.race)
        elif view.ack_drop or any(isinstance(a, AckDrop) for a in actions):
            self.mode = "acks"
            self.heading.setText(heading)
            self.acks.show_runs(view.ack_drop)
            self.stack.setCurrentWidget(self.acks)
        else:
            self._show_message(heading, OTHER_LESSON)
            self.mode = "other"

    def _show_message(self, heading: str, text: str) -> None:
        self.mode = "none"
        self.heading.setText(heading)
        self.message.setText(text)
        self.stack.setCurrentWidget(self.message)

    def labels(self) -> list[QLabel]:
        """Every label of the page's own (tests check they are plain text): pyqtgraph's
        option menus, owned by the charts, hold fixed labels of their own."""
        def in_plot(widget: QWidget) -> bool:
            parent = widget.parentWidget()
            while parent is not None and parent is not self:
                if isinstance(parent, pg.PlotWidget):
                    return True
                parent = parent.parentWidget()
            return False

        return [label for label in self.findChildren(QLabel) if not in_plot(label)]
