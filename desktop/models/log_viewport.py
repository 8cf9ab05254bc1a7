"""Which window of offsets each lane of the log view shows: follow the tail, the whole
log, or where the user zoomed and panned.

Contract: no Qt, no pixels. :class:`Viewport` holds one width in offsets (``span``) for
all lanes, so lanes are to the same scale, and each lane's window, placed by its own end;
:meth:`Viewport.fit` recomputes the windows for the lanes of a tick and the user actions
(:meth:`~Viewport.follow_tail`, :meth:`~Viewport.whole_log`, :meth:`~Viewport.zoom`,
:meth:`~Viewport.pan`) change the :class:`Mode`. Offsets are boundaries on the axis: record
``o`` occupies ``[o, o + 1)``. Windows fit themselves to round widths (:func:`nice_span`)
so the axis reads in round numbers.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the model imports this module: only the type, to avoid the cycle
    from streamscope.desktop.models.log_model import Lane

# The smallest and largest window, in offsets.
MIN_SPAN = 20.0
MAX_SPAN = 1e15
# Following the tail, the high watermark sits this fraction of the width from the right
# edge: room for the tokens arriving there.
TAIL_PAD = 0.06
# Without a cursor to show, the tail window shows this many offsets.
DEFAULT_TAIL_SPAN = 100.0

# Round widths a window takes when it fits itself: the axis reads in round numbers, and
# steps this fine waste at most a third of the width.
_NICE_STEPS = (1.0, 1.5, 2.0, 3.0, 4.0, 5.0, 6.0, 8.0, 10.0)


def nice_span(need: float) -> float:
    """The smallest round width (:data:`_NICE_STEPS` x 10^k) at or above ``need``, and at
    least :data:`MIN_SPAN`."""
    need = max(MIN_SPAN, need)
    exp = math.floor(math.log10(need))
    for m in _NICE_STEPS:
        value = m * 10.0**exp
        if value >= need * (1 - 1e-12):
            return value
    return 10.0 ** (exp + 1)  # unreachable


class Mode(StrEnum):
    TAIL = "tail"  # each lane ends just after its high watermark
    WHOLE = "whole"  # one window over every lane's whole log, first segment to the end
    FIXED = "fixed"  # where the user panned or zoomed to; new records do not move it


@dataclass
class Viewport:
    """The window of offsets of each lane: one width in offsets (``span``) for all lanes,
    so lanes are to the same scale, each placed by its own end.

    Following the tail, each lane ends :data:`TAIL_PAD` of the span after its high
    watermark, and while ``auto_span`` the span widens (in round steps, with hysteresis)
    to keep every group's cursor in view. Zooming keeps following; dragging stops
    following and fixes each lane's end where it was.
    """

    mode: Mode = Mode.TAIL
    auto_span: bool = True
    span: float = DEFAULT_TAIL_SPAN
    ends: dict[int, float] = field(default_factory=dict)  # FIXED: each lane's right end
    windows: dict[int, tuple[float, float]] = field(default_factory=dict)  # latest, per lane

    def fit(self, lanes: Sequence[Lane]) -> None:
        """Recompute each lane's window for the lanes of this tick."""
        if self.mode == Mode.WHOLE:
            lo = min((ln.first_offset_on_disk for ln in lanes), default=0)
            hi = max((ln.high_watermark for ln in lanes), default=0)
            span = max(MIN_SPAN, hi - lo)
            pad = span * 0.02
            self.span = span + 2 * pad
            self.windows = {ln.partition: (lo - pad, hi + pad) for ln in lanes}
            return
        if self.mode == Mode.TAIL:
            if self.auto_span:
                self.span = self._auto_span(lanes)
            self.windows = {}
            for ln in lanes:
                hi = ln.high_watermark + self.span * TAIL_PAD
                self.windows[ln.partition] = (hi - self.span, hi)
            return
        windows = {}
        for ln in lanes:
            hi = self.ends.get(ln.partition)
            if hi is None:  # a partition added while fixed: show its tail
                hi = self.ends[ln.partition] = ln.high_watermark + self.span * TAIL_PAD
            windows[ln.partition] = (hi - self.span, hi)
        self.windows = windows

    def _auto_span(self, lanes: Sequence[Lane]) -> float:
        need = 0.0
        for ln in lanes:
            for g in ln.groups:
                for o in (g.committed, g.read):
                    if o is not None:
                        need = max(need, ln.high_watermark - o)
        if need <= 0:
            need = min(DEFAULT_TAIL_SPAN, max((ln.retained for ln in lanes), default=0))
        # Room for the distance, the tail pad and a little air on the left.
        need = need / (1 - TAIL_PAD) * 1.08 + 1
        target = nice_span(need)
        # Hysteresis: keep the current span while it fits and is not far too wide, so the
        # scale does not change at every tick as cursors move.
        if need <= self.span <= target * 1.6:
            return self.span
        return target

    def window(self, partition: int) -> tuple[float, float] | None:
        return self.windows.get(partition)

    # -- user actions ------------------------------------------------------------------

    def follow_tail(self) -> None:
        self.mode = Mode.TAIL
        self.auto_span = True
        self.ends = {}

    def whole_log(self) -> None:
        self.mode = Mode.WHOLE
        self.ends = {}

    def _fix(self) -> None:
        if self.mode != Mode.FIXED:
            self.ends = {p: hi for p, (_lo, hi) in self.windows.items()}
            self.mode = Mode.FIXED

    def zoom(self, factor: float, at: float = 1.0) -> None:
        """Multiply the span by ``factor`` (< 1 zooms in), keeping the offset at fraction
        ``at`` of the width in place; following the tail, the tail stays in place."""
        new = min(MAX_SPAN, max(MIN_SPAN, self.span * factor))
        if self.mode == Mode.TAIL:
            self.auto_span = False
            self.span = new
            return
        self._fix()
        at = min(1.0, max(0.0, at))
        for p, hi in self.ends.items():
            lo = hi - self.span
            pivot = lo + at * self.span
            self.ends[p] = pivot - at * new + new
        self.span = new

    def pan(self, fraction: float) -> None:
        """Move every window by ``fraction`` of its width (positive: towards older records,
        as when dragging the lanes to the right). Stops following the tail."""
        self._fix()
        shift = fraction * self.span
        for p in self.ends:
            self.ends[p] -= shift

