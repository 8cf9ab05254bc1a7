"""Consumer groups table: group, state, members, assignor, generation, total lag (with cue).

Contract: :meth:`GroupsModel.update` diffs a snapshot's groups into rows keyed by group
id. The lag column carries a red/amber/green cue (decoration and foreground) from
:func:`lag_level`; colours come from the theme given to :meth:`set_theme`.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor

from core.monitor import ClusterSnapshot
from desktop import format as fmt
from desktop.models.table_model import Column, KeyedTableModel, swatch
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


class GroupsModel(KeyedTableModel):
    GROUP, STATE, MEMBERS, ASSIGNOR, GENERATION, LAG = range(6)
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
    )

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self._theme: Theme = LIGHT

    def set_theme(self, theme: Theme) -> None:
        self._theme = theme
        if self.rowCount():
            self.dataChanged.emit(
                self.index(0, self.LAG), self.index(self.rowCount() - 1, self.LAG)
            )

    def update(self, snap: ClusterSnapshot) -> None:
        self.set_rows(
            (
                g.group_id,
                (g.group_id, g.state, len(g.members), g.assignor or "", g.generation, g.total_lag),
            )
            for g in snap.groups
        )

    def style(self, row: int, col: int, role: int) -> Any:
        if col != self.LAG:
            return None
        level = lag_level(self.values_at(row)[self.LAG])
        color = QColor(getattr(self._theme, level))
        if role == Qt.ItemDataRole.DecorationRole:
            return swatch(color, round_=True)
        if role == Qt.ItemDataRole.ForegroundRole and level != "ok":
            return color
        return None

    def tooltip(self, row: int, col: int) -> Any:
        if col == self.LAG:
            level = lag_level(self.values_at(row)[self.LAG])
            return {"ok": "keeping up", "warn": "falling behind", "bad": "far behind"}[level]
        return None
