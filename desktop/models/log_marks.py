"""A lane of the log view laid out in pixels: the :class:`Mark` rectangles the view draws.

Contract: no Qt, pure arithmetic, so the layout can be tested without a screen.
:func:`lane_marks` lays one :class:`~desktop.models.log_model.Lane` out over its window
(from :class:`~desktop.models.log_viewport.Viewport`) inside a :class:`LaneBox`, back to
front: only what falls in the window; segment boundaries thinned to one per
:data:`SEGMENT_MIN_PX`, tokens sampled to one per :data:`TOKEN_MIN_PX` on offsets that are
multiples of the step (so tokens do not shimmer as the window slides); a cursor outside
the window clipped to the edge it lies beyond. :class:`Scale` maps offsets to x and back.
Offsets are boundaries on the axis: record ``o`` occupies ``[o, o + 1)``, so a cursor at
committed offset ``c`` and the high watermark ``hw`` are ``hw - c`` records apart, and
that distance is the lag drawn. The vertical layout of a lane (:data:`BAR_H`,
:data:`GROUP_ROW_H`, :func:`lane_height`, the gutters) is defined here and painted at
these positions by :mod:`desktop.views.log_paint`.

Colours are hues, not Qt colours: a record's key hash maps to a hue (:func:`key_hue`;
``None`` for a null or unsampled key, drawn in one neutral colour).
"""

from __future__ import annotations

import bisect
import math
from dataclasses import dataclass
from enum import StrEnum

from streamscope.desktop.models.log_model import Lane

# Tokens narrower than this are sampled: one per this many pixels, on offsets that are
# multiples of the step, so tokens do not shimmer as the window slides.
TOKEN_MIN_PX = 7.0
TOKEN_MAX_PX = 16.0
# Segment boundaries closer than this are thinned (the whole log of a long topic).
SEGMENT_MIN_PX = 4.0
# A mark narrower than this is still this wide to the mouse.
HIT_MIN_PX = 8.0

# Vertical layout of one lane, in pixels (the view paints at these positions).
LANE_TOP = 8  # above the bar: room for nothing but air
BAR_H = 28  # the log itself: retained records, segments, tokens
COMPACTION_STRIP_H = 6  # the clean / dirty strip along the bar's bottom (compacted logs)
AXIS_H = 18  # under the bar: log start and high watermark numbers
GROUP_ROW_H = 22  # one row per group: lag band, cursor, label
LANE_BOTTOM = 10
LEFT_GUTTER = 118  # partition name and retained range
RIGHT_GUTTER = 104  # the partition's rate


class Kind(StrEnum):
    """What a :class:`Mark` is (its explanation depends on it)."""

    BODY = "body"  # retained records [log start, high watermark)
    DELETED = "deleted"  # below log start, still in the oldest segment's file
    SEGMENT = "segment"  # a segment's first offset
    LOG_START = "log_start"
    HIGH_WATERMARK = "high_watermark"
    TOKEN = "token"  # one (sampled) new record
    LAG = "lag"  # a group's [committed, high watermark)
    UNCOMMITTED = "uncommitted"  # a group's [committed, read position): read, not committed
    COMMITTED = "committed"  # a group's committed offset
    READ = "read"  # a group's live read position
    READER = "reader"  # a reader outside any group
    RATE = "rate"  # the partition's msgs/s, in the right gutter
    LABEL = "label"  # the partition's name, in the left gutter
    NO_COMMIT = "no_commit"  # a group's row on a partition where it has committed nothing
    PRODUCED = "produced"  # the record just produced from the app, highlighted
    CLEAN = "clean"  # compacted: [log start, cleaner checkpoint), a strip under the body
    DIRTY = "dirty"  # compacted: [checkpoint, first uncleanable offset), not cleaned yet


@dataclass(slots=True)
class Mark:
    """One thing drawn on a lane, as a rectangle in the canvas's pixels.

    ``offset``/``end`` are the offsets it stands for (``end`` exclusive for spans, equal
    to ``offset`` for points). ``group`` indexes :attr:`Lane.groups` (-1: none); ``key``
    is a token's key hash (None: null key or not sampled); ``clipped`` marks a point
    outside the window drawn at its edge; ``age`` is a token's age in seconds.

    Not frozen only for speed (a frozen dataclass's ``__init__`` costs about twice as
    much, and a tick makes a mark per token shown); nothing changes a mark once laid out.
    """

    kind: Kind
    lane: int
    x0: float
    y0: float
    x1: float
    y1: float
    offset: int
    end: int
    group: int = -1
    key: int | None = None
    sampled: bool = False  # a token: its key was read back (else drawn neutral)
    clipped: bool = False
    age: float = 0.0

    def contains(self, x: float, y: float) -> bool:
        pad = max(0.0, (HIT_MIN_PX - (self.x1 - self.x0)) / 2)
        return self.x0 - pad <= x <= self.x1 + pad and self.y0 <= y <= self.y1

    @property
    def cx(self) -> float:
        return (self.x0 + self.x1) / 2


def lane_height(groups: int) -> int:
    return LANE_TOP + BAR_H + AXIS_H + GROUP_ROW_H * groups + LANE_BOTTOM


def key_hue(key_hash: int | None) -> int | None:
    """A hue (0-359) for a key hash, spread so that near hashes get distant hues; None
    for a null key."""
    if key_hash is None:
        return None
    mixed = ((key_hash & 0xFFFFFFFF) * 0x9E3779B1) & 0xFFFFFFFF
    return (mixed >> 8) % 360


@dataclass(frozen=True, slots=True)
class LaneBox:
    """Where a lane is drawn: its top, and the x range of its offsets axis."""

    top: float
    left: float  # x of the window's first offset
    right: float  # x of the window's last offset

    @property
    def bar_top(self) -> float:
        return self.top + LANE_TOP

    @property
    def bar_bottom(self) -> float:
        return self.bar_top + BAR_H

    def group_row(self, i: int) -> tuple[float, float]:
        y = self.bar_bottom + AXIS_H + i * GROUP_ROW_H
        return y, y + GROUP_ROW_H


class Scale:
    """Offsets to x and back over one lane's window."""

    __slots__ = ("lo", "hi", "left", "right", "_k")

    def __init__(self, window: tuple[float, float], left: float, right: float) -> None:
        self.lo, self.hi = window
        self.left, self.right = left, right
        self._k = (right - left) / max(1e-9, self.hi - self.lo)

    @property
    def px_per_offset(self) -> float:
        return self._k

    def x(self, offset: float) -> float:
        return self.left + (offset - self.lo) * self._k

    def offset_at(self, x: float) -> float:
        return self.lo + (x - self.left) / self._k

    def clamp_x(self, x: float) -> float:
        return min(self.right, max(self.left, x))


def lane_marks(lane: Lane, index: int, window: tuple[float, float], box: LaneBox) -> list[Mark]:
    """Everything drawn on ``lane`` over ``window``, back to front.

    Only what the window shows is laid out: segment boundaries are thinned to one per
    :data:`SEGMENT_MIN_PX`, and tokens sampled to one per :data:`TOKEN_MIN_PX` (on
    offsets that are multiples of the sampling step). A group cursor or read position
    outside the window is drawn clipped at the edge it lies beyond.
    """
    s = Scale(window, box.left, box.right)
    top, bot = box.bar_top, box.bar_bottom
    marks: list[Mark] = []

    def span_mark(kind: Kind, a: int, b: int, y0: float, y1: float, group: int = -1) -> None:
        x0, x1 = s.clamp_x(s.x(a)), s.clamp_x(s.x(b))
        if x1 > x0:
            marks.append(Mark(kind, index, x0, y0, x1, y1, a, b, group))

    def point_mark(kind: Kind, o: int, y0: float, y1: float, group: int = -1) -> None:
        x = s.x(o)
        clipped = x < s.left or x > s.right
        x = s.clamp_x(x)
        marks.append(Mark(kind, index, x - 1, y0, x + 1, y1, o, o, group, clipped=clipped))

    ls, hw = lane.log_start, lane.high_watermark
    marks.append(Mark(Kind.LABEL, index, 0, top, box.left - 8, bot + AXIS_H, ls, hw))
    first = lane.first_offset_on_disk
    if first < ls:
        span_mark(Kind.DELETED, first, ls, top, bot)
    span_mark(Kind.BODY, ls, hw, top, bot)
    c = lane.compaction
    if c is not None:
        strip = bot - COMPACTION_STRIP_H
        span_mark(Kind.CLEAN, ls, max(ls, c.clean_offset), strip, bot)
        span_mark(Kind.DIRTY, max(ls, c.clean_offset), max(ls, c.dirty_end_offset), strip, bot)

    # Segment boundaries (the first segment's base is where the log begins on disk).
    bases = lane.segment_bases
    if bases:
        lo_off = max(first, math.ceil(s.lo))
        i = bisect.bisect_left(bases, lo_off)
        step_off = SEGMENT_MIN_PX / s.px_per_offset
        while i < len(bases) and bases[i] <= s.hi:
            b = bases[i]
            if b > first:
                x = s.x(b)
                marks.append(Mark(Kind.SEGMENT, index, x - 0.5, top, x + 0.5, bot, b, b))
            # Skip boundaries that would fall within SEGMENT_MIN_PX of this one.
            i = max(i + 1, bisect.bisect_left(bases, b + step_off))

    marks.extend(_token_marks(lane, index, s, top, bot))

    point_mark(Kind.LOG_START, ls, top - 4, bot + 4)
    point_mark(Kind.HIGH_WATERMARK, hw, top - 4, bot + 4)

    for gi, g in enumerate(lane.groups):
        y0, y1 = box.group_row(gi)
        band0, band1 = y0 + 4, y1 - 4
        if g.committed is None:
            if g.read is None:
                marks.append(Mark(Kind.NO_COMMIT, index, s.left, band0, s.right, band1, hw, hw, gi))
            else:
                point_mark(Kind.READ, g.read, band0 - 2, band1 + 2, gi)
            continue
        c = g.committed
        span_mark(Kind.LAG, c, max(c, hw), band0, band1, gi)
        if g.read is not None and g.read > c:
            span_mark(Kind.UNCOMMITTED, c, g.read, band0, band1, gi)
        if g.read is not None:
            point_mark(Kind.READ, g.read, band0 - 2, band1 + 2, gi)
        point_mark(Kind.COMMITTED, c, top, band1 + 2, gi)

    if lane.produced is not None and ls <= lane.produced < hw:
        x0, x1 = s.x(lane.produced), s.x(lane.produced + 1)
        if x1 >= s.left and x0 <= s.right:
            cx = (max(x0, s.left) + min(x1, s.right)) / 2
            half = max(6.0, (x1 - x0) / 2 + 3)
            marks.append(
                Mark(Kind.PRODUCED, index, cx - half, top - 3, cx + half, bot + 3,
                     lane.produced, lane.produced + 1)
            )

    for rp in lane.readers:
        x = s.x(rp.offset)
        if s.left <= x <= s.right:
            marks.append(
                Mark(Kind.READER, index, x - 4, bot - 6, x + 4, bot + 2, rp.offset, rp.offset)
            )

    marks.append(Mark(Kind.RATE, index, box.right + 8, top, box.right + RIGHT_GUTTER, bot, hw, hw))
    return marks


def _token_marks(lane: Lane, index: int, s: Scale, top: float, bot: float) -> list[Mark]:
    """The recent appends within the window, one token per record or per sampling step."""
    if not lane.appends:
        return []
    k = s.px_per_offset
    step = max(1, math.ceil(TOKEN_MIN_PX / k))
    width = min(TOKEN_MAX_PX, max(3.0, k * step - 2))
    lo = max(lane.log_start, math.floor(s.lo))
    hi = min(lane.high_watermark - 1, math.ceil(s.hi))
    out: dict[int, Mark] = {}
    pad = (BAR_H - 16) / 2
    # Newest last, so a newer sample of an offset (a recreated topic) wins.
    for a in lane.appends:
        start = max(a.base_offset, lo)
        stop = min(a.last_offset, hi)
        if start > stop:
            continue
        first = -(-start // step) * step
        age = max(0.0, lane.now - a.at)
        keys = a.key_hashes
        for o in range(first, stop + 1, step):
            x = s.x(o + 0.5)
            key = None
            if keys is not None:
                rel = o - a.base_offset
                key = keys[rel] if 0 <= rel < len(keys) else None
            out[o] = Mark(
                Kind.TOKEN,
                index,
                x - width / 2,
                top + pad,
                x + width / 2,
                bot - pad,
                o,
                o + 1,
                key=key,
                sampled=keys is not None,
                age=age,
            )
    return [out[o] for o in sorted(out)]

