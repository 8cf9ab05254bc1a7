"""Why a chart moved: rebalances and admin events as vertical markers on the live charts.

Contract:

* :class:`ChartEvent` is one thing that happened (wall-clock time, kind, plain text).
  :func:`cluster_events`, :func:`topic_events` and :func:`group_events` pick, from one
  :class:`~core.monitor.ClusterSnapshot`, what belongs on the cluster's throughput charts,
  on one topic's and on one group's lag chart: the broker's admin events from
  ``snap.events`` (:data:`ADMIN_KINDS`: topic created or deleted, partitions added,
  configs changed, offsets reset, records deleted, group deleted) and group rebalances
  from ``GroupSnapshot.rebalances`` (the broker's own ``rebalance_*`` and ``member_*``
  events would mark each rebalance twice, so they are left out).
* :class:`ChartMarkers` draws them on one pyqtgraph chart whose x axis is "seconds before
  now" (the charts of :mod:`desktop.views.charts`): :meth:`ChartMarkers.set_events` takes
  the events and the wall-clock time of the snapshot the chart's "now" stands for, so a
  marker sits at ``event time - snapshot time`` and scrolls left with the lines, tick by
  tick. Events less than :data:`MERGE_S` apart share one marker (a topic's partitions
  deleted at once are one moment); at most :data:`MAX_MARKERS` are drawn, the newest, and
  those older than the chart's window are dropped. The line items are made once and
  reused, so a tick creates no graphics items.
* Hovering within :data:`HOVER_PX` pixels of a marker shows its events (time and text) in
  a box inside the plot, as plain text (topic names and group ids are the clients' data,
  never markup); leaving the plot hides it.

An admin event's topic and group are its ``EventSnapshot.topic`` and ``.group`` (the
broker event's own data, filled in by the observer); the message is only ever shown,
never parsed, so a topic or group name with spaces or dashes cannot mislead it.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import pyqtgraph as pg
from PySide6.QtCore import QEvent, QObject, QPointF, Qt
from PySide6.QtGui import QBrush, QColor, QPen
from streamscope.core.monitor import ClusterSnapshot, GroupSnapshot
from streamscope.core.monitor.snapshot import EventSnapshot, RebalanceSnapshot
from streamscope.desktop import format as fmt
from streamscope.desktop.theme import Theme

REBALANCE = "rebalance"
# The broker's event kinds that are an administrator's doing (core/broker.py, core/groups).
ADMIN_KINDS = frozenset(
    {
        "topic_created",
        "topic_deleted",
        "partitions_added",
        "topic_configs_changed",
        "broker_configs_changed",
        "offsets_reset",
        "records_deleted",
        "group_deleted",
    }
)
# Kinds that take data away: drawn in the "bad" colour.
_DESTRUCTIVE = frozenset({"topic_deleted", "records_deleted", "group_deleted"})
MAX_MARKERS = 24
MERGE_S = 1.0  # events closer than this share one marker
HOVER_PX = 6.0  # how near the pointer must come to a marker to show it
MAX_LINES = 6  # lines of text one marker shows; the rest are counted
# The flag on a marker's top end: a downward triangle centred on the plot's top edge,
# so its lower half shows (the view clips the rest) as a tab hanging from the edge.
_FLAG_PX = 16


@dataclass(frozen=True, slots=True)
class ChartEvent:
    ts: float  # wall clock
    kind: str  # REBALANCE or one of ADMIN_KINDS
    text: str  # plain text


def rebalance_text(group_id: str, r: RebalanceSnapshot) -> str:
    """One rebalance in words: which group, why, and what it came to."""
    members = f"{r.member_count} member{'' if r.member_count == 1 else 's'}"
    if r.completed_at is None:
        outcome = "in progress"
    else:
        outcome = f"generation {r.generation}, {members}, {r.duration_ms:.0f} ms"
    return f"Rebalance of {group_id}: {r.reason} ({outcome})"


def _rebalances(g: GroupSnapshot) -> list[ChartEvent]:
    return [ChartEvent(r.started_at, REBALANCE, rebalance_text(g.group_id, r))
            for r in g.rebalances]


def _admin(snap: ClusterSnapshot) -> Iterable[EventSnapshot]:
    return (ev for ev in snap.events if ev.kind in ADMIN_KINDS)


def _event(ev: EventSnapshot) -> ChartEvent:
    return ChartEvent(ev.ts, ev.kind, ev.message)


def cluster_events(snap: ClusterSnapshot) -> list[ChartEvent]:
    """Everything: every admin event and every group's rebalances (oldest first)."""
    out = [_event(ev) for ev in _admin(snap)]
    for g in snap.groups:
        out += _rebalances(g)
    return sorted(out, key=lambda e: e.ts)


def topic_events(snap: ClusterSnapshot, topic: str) -> list[ChartEvent]:
    """Admin events on ``topic`` and rebalances of the groups that read it."""
    out = [_event(ev) for ev in _admin(snap) if ev.topic == topic]
    for g in snap.groups:
        if topic in g.topics:
            out += _rebalances(g)
    return sorted(out, key=lambda e: e.ts)


def group_events(snap: ClusterSnapshot, group_id: str) -> list[ChartEvent]:
    """The group's rebalances, its offset resets, and admin events on the topics it reads
    (records deleted under it, partitions added, the topic deleted)."""
    g = snap.group(group_id)
    topics = set(g.topics) if g is not None else set()
    out = [
        _event(ev)
        for ev in _admin(snap)
        if ev.group == group_id or (ev.group is None and ev.topic in topics)
    ]
    if g is not None:
        out += _rebalances(g)
    return sorted(out, key=lambda e: e.ts)


@dataclass(frozen=True, slots=True)
class Marker:
    """One drawn marker: its x (seconds before now), colour role and hover text."""

    x: float
    kind: str
    text: str


def markers_for(
    events: Sequence[ChartEvent], now_wall: float, window_s: float
) -> list[Marker]:
    """The markers a chart of ``window_s`` seconds ending at ``now_wall`` shows: events
    within the window, those under :data:`MERGE_S` apart merged, the newest
    :data:`MAX_MARKERS` of them."""
    groups: list[list[ChartEvent]] = []
    for ev in sorted(events, key=lambda e: e.ts):
        x = ev.ts - now_wall
        if x < -window_s:
            continue
        if groups and ev.ts - groups[-1][0].ts < MERGE_S:
            groups[-1].append(ev)
        else:
            groups.append([ev])
    out = []
    for group in groups[-MAX_MARKERS:]:
        lines = [f"{fmt.clock(ev.ts)}  {ev.text}" for ev in group[:MAX_LINES]]
        if len(group) > MAX_LINES:
            lines.append(f"… and {len(group) - MAX_LINES} more")
        out_kind = _marker_kind({ev.kind for ev in group})
        # An event stamped a hair after the snapshot that lists it still reads "now".
        out.append(Marker(min(0.0, group[0].ts - now_wall), out_kind, "\n".join(lines)))
    return out


def _marker_kind(kinds: set[str]) -> str:
    """The kind a merged marker is drawn as: what took data away, else an admin event,
    else a rebalance."""
    destructive = sorted(kinds & _DESTRUCTIVE)
    if destructive:
        return destructive[0]
    admin = sorted(kinds - {REBALANCE})
    return admin[0] if admin else REBALANCE


class ChartMarkers(QObject):
    """The markers of one chart (a ``pg.PlotWidget`` whose x is seconds before now)."""

    def __init__(self, chart: pg.PlotWidget, theme: Theme, window_s: float) -> None:
        super().__init__(chart)
        self._chart = chart
        self._item = chart.getPlotItem()
        # Added to the view box, not the plot item: the plot item would take the flags'
        # scatter for a data line (downsampling it, listing it); markers are no data.
        self._view = self._item.getViewBox()
        self._window_s = window_s
        self._lines: list[pg.InfiniteLine] = []  # a pool: made on first need, then reused
        self._markers: list[Marker] = []
        self._hovered: int | None = None
        self._flags = pg.ScatterPlotItem(pxMode=True, symbol="t", size=_FLAG_PX)
        self._flags.setZValue(-4)
        self._view.addItem(self._flags, ignoreBounds=True)
        self._label = pg.TextItem("", anchor=(0, 0))
        self._label.setZValue(1000)
        self._label.hide()
        self._view.addItem(self._label, ignoreBounds=True)
        self._pens: dict[str, tuple[QPen, QPen, QBrush]] = {}
        self._now = 0.0  # the wall-clock "now" of the latest set_events
        self._flags_key: tuple | None = None  # what the flags' spots were last built for
        self._flags_now = 0.0  # the "now" their x values are relative to
        self.apply_theme(theme)
        chart.scene().sigMouseMoved.connect(self._mouse_moved)
        # The flags sit on the top edge: follow the y axis when the chart rescales.
        self._view.sigYRangeChanged.connect(self._place_flags)
        chart.viewport().installEventFilter(self)

    # -- theme ---------------------------------------------------------------------------

    def apply_theme(self, theme: Theme) -> None:
        self._pens = {}
        self._flags_key = None  # new brushes: rebuild the spots
        for role, colour in (("rebalance", theme.warn), ("admin", theme.accent),
                             ("destructive", theme.bad)):
            c = QColor(colour)
            pen = pg.mkPen(c, width=1.4, style=Qt.PenStyle.DashLine)
            self._pens[role] = (pen, pg.mkPen(c, width=2.6), pg.mkBrush(c))
        bg = QColor(theme.base)
        bg.setAlpha(235)
        self._label.fill = pg.mkBrush(bg)
        self._label.border = pg.mkPen(QColor(theme.border))
        self._label.setColor(QColor(theme.text))
        self._redraw()

    @staticmethod
    def _role(kind: str) -> str:
        if kind == REBALANCE:
            return "rebalance"
        return "destructive" if kind in _DESTRUCTIVE else "admin"

    # -- per tick --------------------------------------------------------------------------

    def set_events(self, events: Sequence[ChartEvent], now_wall: float) -> None:
        """Place the markers for ``events`` on a chart whose "now" is ``now_wall``."""
        self._now = now_wall
        markers = markers_for(events, now_wall, self._window_s)
        if markers == self._markers:
            return
        if self._hovered is not None:
            # The hovered marker stays hovered as it scrolls, though others come and go.
            text = self._markers[self._hovered].text
            self._hovered = next((i for i, m in enumerate(markers) if m.text == text), None)
            if self._hovered is None:
                self._label.hide()
        self._markers = markers
        self._redraw()

    def clear(self) -> None:
        self.set_events((), 0.0)

    def _redraw(self) -> None:
        while len(self._lines) < len(self._markers):
            line = pg.InfiniteLine(angle=90, movable=False)
            line.setZValue(-5)  # under the data lines: a marker explains them, not hides them
            self._view.addItem(line, ignoreBounds=True)
            self._lines.append(line)
        for i, line in enumerate(self._lines):
            if i >= len(self._markers):
                line.hide()
                continue
            m = self._markers[i]
            pen, wide, _brush = self._pens[self._role(m.kind)]
            line.setPen(wide if i == self._hovered else pen)
            line.setValue(m.x)
            line.show()
        self._place_flags()
        if self._hovered is not None and self._hovered >= len(self._markers):
            self._hide_label()
        elif self._hovered is not None:
            self._show_label(self._hovered)

    def _place_flags(self, *_: object) -> None:
        # The flags scroll left as time passes. pyqtgraph's ScatterPlotItem.setData is
        # costly (it rebuilds every spot), so while the same events sit at the same
        # height the item is only moved by how far "now" has advanced.
        top = self._item.viewRange()[1][1]
        now = self._now
        key = (tuple((m.kind, round(m.x + now, 3)) for m in self._markers), top)
        if key == self._flags_key:
            self._flags.setPos(self._flags_now - now, 0.0)
            return
        self._flags_key, self._flags_now = key, now
        brushes = [self._pens[self._role(m.kind)][2] for m in self._markers]
        self._flags.setPos(0.0, 0.0)
        self._flags.setData(
            x=[m.x for m in self._markers], y=[top] * len(self._markers),
            brush=brushes, pen=None,
        )

    # -- what is drawn (tests and callers read these) ------------------------------------

    def markers(self) -> list[Marker]:
        return list(self._markers)

    def hover_text(self) -> str | None:
        """The text shown for the hovered marker, or ``None`` when none is."""
        return self._label.textItem.toPlainText() if self._label.isVisible() else None

    def marker_scene_x(self, index: int) -> float:
        """Where marker ``index`` is drawn, in the chart's scene coordinates."""
        vb = self._view
        return vb.mapViewToScene(QPointF(self._markers[index].x, 0.0)).x()

    # -- hover -----------------------------------------------------------------------------

    def _mouse_moved(self, pos: QPointF) -> None:
        vb = self._view
        if not vb.sceneBoundingRect().contains(pos) or not self._markers:
            self._hide_label()
            return
        nearest, best = None, HOVER_PX
        for i in range(len(self._markers)):
            d = abs(self.marker_scene_x(i) - pos.x())
            if d <= best:
                nearest, best = i, d
        if nearest is None:
            self._hide_label()
        elif nearest != self._hovered or not self._label.isVisible():
            self._hovered = nearest
            self._redraw()

    def _show_label(self, index: int) -> None:
        m = self._markers[index]
        label = self._label
        label.setText(m.text)  # TextItem.setText: plain text, never markup
        label.textItem.setTextWidth(-1)
        vb = self._view
        plot = vb.sceneBoundingRect()
        at = self.marker_scene_x(index)
        room_right, room_left = plot.right() - at - 8, at - plot.left() - 8
        natural = label.textItem.boundingRect().width()
        # The box opens to the side it fits on (the right first, reading on from the
        # marker), else to the roomier side, wrapped to fit: it never hangs out of the plot.
        right = natural <= room_right or (natural > room_left and room_right >= room_left)
        room = room_right if right else room_left
        if natural > room:
            label.textItem.setTextWidth(max(room, 80.0))
        label.setAnchor((0.0, 0.0) if right else (1.0, 0.0))
        label.setPos(m.x, self._item.viewRange()[1][1])
        label.show()

    def _hide_label(self) -> None:
        if self._hovered is None and not self._label.isVisible():
            return
        self._hovered = None
        self._label.hide()
        self._redraw()

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 - Qt's name
        if event.type() == QEvent.Type.Leave:
            self._hide_label()
        return False
