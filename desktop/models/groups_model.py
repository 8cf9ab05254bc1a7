"""Consumer groups table: group, state, members, assignor, generation, total lag, health.

Contract: :meth:`GroupsModel.update` diffs a snapshot's groups into rows keyed by group
id. The total lag is coloured red/amber/green by :func:`lag_level`; the Health column,
under its own header, carries the cue as a dot and words ("keeping up", "falling behind",
"far behind"), and says when members have missed heartbeats ("1 member silent"), which
outranks lag: such a group still reads Stable until the session timeout evicts them.
Colours come from the theme given to :meth:`set_theme`.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor

from core.monitor import ClusterSnapshot
from desktop import format as fmt
from desktop.models.members_model import steady_swatch
from desktop.models.table_model import Column, KeyedTableModel
from desktop.theme import LIGHT, Theme

LAG_AMBER = 1_000  # messages behind: worth a look
LAG_RED = 10_000  # messages behind: falling behind


def lag_level(lag: int | None) -> str:
    """``"ok"``, ``"warn"`` or ``"bad"`` for a lag figure."""
    if lag is None or lag < LAG_AMBER:
        return "ok"
    if lag < LAG_RED:
        return "warn"
    return "bad"


LEVEL_TEXT = {"ok": "keeping up", "warn": "falling behind", "bad": "far behind"}


IDLE = "idle"  # no members: nothing is consuming, whatever the lag says


def _health(value: tuple[str, int]) -> str:
    level, silent = value
    if level == IDLE:
        return "no members"
    if silent:
        return f"{silent} member{'s' if silent != 1 else ''} silent"
    return LEVEL_TEXT[level]


class GroupsModel(KeyedTableModel):
    GROUP, STATE, MEMBERS, ASSIGNOR, GENERATION, LAG, HEALTH = range(7)
    columns = (
        Column("Group"),
        Column("State"),
        Column("Members", fmt.count, numeric=True),
        Column("Assignor"),
        Column("Generation", str, numeric=True),
        Column(
            "Total lag",
            fmt.count,
            numeric=True,
            tooltip="messages not yet consumed (high watermark minus committed offset)",
        ),
        Column(
            "Health",
            _health,
            tooltip="keeping up / falling behind / far behind by total lag; members silent: "
            "they missed heartbeats and are probably dead",
        ),
    )

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self._theme: Theme = LIGHT

    def set_theme(self, theme: Theme) -> None:
        self._theme = theme
        if self.rowCount():
            self.dataChanged.emit(
                self.index(0, self.LAG), self.index(self.rowCount() - 1, self.HEALTH)
            )

    def update(self, snap: ClusterSnapshot) -> None:
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
                        lag_level(g.total_lag) if g.members else IDLE,
                        len(g.suspect_members),
                    ),
                ),
            )
            for g in snap.groups
        )

    def _level(self, row: int) -> str:
        level, silent = self.values_at(row)[self.HEALTH]
        return "bad" if silent else level

    def style(self, row: int, col: int, role: int) -> Any:
        if col == self.LAG:
            level = lag_level(self.values_at(row)[self.LAG])
            if role == Qt.ItemDataRole.ForegroundRole and level != "ok":
                return QColor(getattr(self._theme, level))
            return None
        if col != self.HEALTH:
            return None
        level = self._level(row)
        color = QColor(self._theme.muted if level == IDLE else getattr(self._theme, level))
        if role == Qt.ItemDataRole.DecorationRole:
            return steady_swatch(color, round_=True)
        if role == Qt.ItemDataRole.ForegroundRole and level != "ok":
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
            if level == IDLE:
                return "No member is consuming: the lag stays until consumers join again."
            return LEVEL_TEXT[level]
        return None
