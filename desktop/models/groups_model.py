"""Consumer groups table: group, state, members, assignor, generation, total lag, health.

Contract: :meth:`GroupsModel.update` diffs a snapshot's groups into rows keyed by group
id, given each group's lag trend from the history (:func:`desktop.history.lag_trend`).
Health is judged by the trend, not the size of the lag (a consumer committing once a
second at 5,000 msg/s always trails by thousands and is keeping up): "keeping up" (lag
steady), "catching up" (shrinking), "falling behind" (growing; "far behind" once it is
also large), "measuring" (not enough history yet), "no members". Members that missed
heartbeats ("1 member silent") outrank all of it: such a group still reads Stable until
the session timeout evicts them. The Health column carries the cue as a dot and words,
under its own header, and the total lag takes its colour when it is a warning. Colours
come from the theme given to :meth:`set_theme`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor
from streamscope.core.monitor import ClusterSnapshot
from streamscope.desktop import format as fmt
from streamscope.desktop.models.members_model import steady_swatch
from streamscope.desktop.models.table_model import Column, KeyedTableModel, numeric
from streamscope.desktop.theme import LIGHT, Theme

LAG_AMBER = 1_000  # messages behind: worth a look
LAG_RED = 10_000  # messages behind: falling behind
# The lag columns' header tooltip (the groups table's total, the lag table's per partition).
LAG_TIP = "messages not yet consumed (high watermark minus committed offset)"


def lag_level(lag: int | None) -> str:
    """``"ok"``, ``"warn"`` or ``"bad"`` for a lag figure."""
    if lag is None or lag < LAG_AMBER:
        return "ok"
    if lag < LAG_RED:
        return "warn"
    return "bad"


IDLE = "idle"  # no members: nothing is consuming, whatever the lag says
MEASURING = "measuring"  # members, but too little history to tell a trend
CATCHING_UP = "catching"  # lag shrinking
LEVEL_TEXT = {
    "ok": "keeping up",
    CATCHING_UP: "catching up",
    "warn": "falling behind",
    "bad": "far behind",
    MEASURING: "measuring…",
    IDLE: "no members",
}
LEVEL_TIPS = {
    "ok": "Lag is steady: the group reads as fast as records arrive (the lag left is what "
    "arrived since its last commit).",
    CATCHING_UP: "Lag is shrinking: the group reads faster than records arrive.",
    "warn": "Lag has grown over the last 20 s: records arrive faster than the group reads.",
    "bad": "Lag has grown over the last 20 s and is large: the group cannot keep up.",
    MEASURING: "Watching the lag for a few seconds to tell whether it grows.",
    IDLE: "No member is consuming: the lag stays until consumers join again.",
}


def health_level(total_lag: int, members: int, trend: str | None) -> str:
    """The Health level of a group from its lag trend (see the module docstring)."""
    if not members:
        return IDLE
    if trend is None:
        return MEASURING
    if trend == "growing":
        return "bad" if total_lag >= LAG_RED else "warn"
    if trend == "shrinking":
        return CATCHING_UP
    return "ok"


def _level_color_name(level: str) -> str:
    if level in (IDLE, MEASURING):
        return "muted"
    return "ok" if level == CATCHING_UP else level


def _health(value: tuple[str, int]) -> str:
    level, silent = value
    if silent and level != IDLE:
        return f"{silent} member{'s' if silent != 1 else ''} silent"
    return LEVEL_TEXT[level]


class GroupsModel(KeyedTableModel):
    GROUP, STATE, MEMBERS, ASSIGNOR, GENERATION, LAG, HEALTH = range(7)
    columns = (
        Column("Group"),
        Column("State"),
        numeric("Members"),
        Column("Assignor"),
        numeric("Generation", str),
        numeric("Total lag", tooltip=LAG_TIP),
        Column(
            "Health",
            _health,
            tooltip="whether the lag grows (falling behind), holds (keeping up) or shrinks "
            "(catching up) over the last 20 s; members silent: they missed heartbeats and "
            "are probably dead",
        ),
    )
    styled_columns = (LAG, HEALTH)

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self._theme: Theme = LIGHT

    def set_theme(self, theme: Theme) -> None:
        self._theme = theme
        if self.rowCount():
            self.dataChanged.emit(
                self.index(0, self.LAG), self.index(self.rowCount() - 1, self.HEALTH)
            )

    def update(
        self, snap: ClusterSnapshot, trends: Mapping[str, str | None] | None = None
    ) -> None:
        """``trends``: group id -> lag trend (``MonitorHistory.group_trend``); a group
        without one reads "measuring"."""
        trends = trends or {}
        self.set_rows(
            (
                g.group_id,
                (
                    g.group_id,
                    g.state,
                    len(g.members),
                    g.assignor or "",
                    g.generation,
                    g.total_lag,
                    (
                        health_level(g.total_lag, len(g.members), trends.get(g.group_id)),
                        len(g.suspect_members),
                    ),
                ),
            )
            for g in snap.groups
        )

    def _level(self, row: int) -> str:
        level, silent = self.values_at(row)[self.HEALTH]
        return "bad" if silent and level != IDLE else level

    def style(self, row: int, col: int, role: int) -> Any:
        if col not in (self.LAG, self.HEALTH):
            return None
        level = self._level(row)
        color = QColor(getattr(self._theme, _level_color_name(level)))
        if col == self.LAG:
            # The figure takes the warning colour only when its trend is a warning.
            if role == Qt.ItemDataRole.ForegroundRole and level in ("warn", "bad"):
                return color
            return None
        if role == Qt.ItemDataRole.DecorationRole:
            return steady_swatch(color, round_=True)
        if role == Qt.ItemDataRole.ForegroundRole and level not in ("ok", CATCHING_UP):
            return color
        return None

    def tooltip(self, row: int, col: int) -> Any:
        if col in (self.LAG, self.HEALTH):
            level, silent = self.values_at(row)[self.HEALTH]
            if silent and col == self.HEALTH:
                return (
                    f"{fmt.plural(silent, 'member')} missed heartbeats: probably dead. The "
                    "group stays "
                    "Stable until their session timeout runs out; their partitions wait."
                )
            return LEVEL_TIPS[level]
        return None
