"""Per-partition offsets and lag of one consumer group.

Contract: :meth:`LagModel.update` takes a :class:`~core.monitor.GroupSnapshot` (or
``None``) and the group's member colour slots (see :mod:`desktop.models.members_model`);
rows are keyed by ``(topic, partition)``: committed offset, high watermark, lag (with the
red/amber/green colour) and the member it is assigned to (client id, in its colour).
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor
from streamscope.core.monitor import GroupSnapshot
from streamscope.desktop import format as fmt
from streamscope.desktop.models.groups_model import LAG_TIP, lag_level
from streamscope.desktop.models.members_model import member_color_index, steady_swatch
from streamscope.desktop.models.table_model import Column, KeyedTableModel, numeric
from streamscope.desktop.theme import LIGHT, Theme


def _offset(value: int) -> str:
    return "-" if value < 0 else fmt.count(value)


class LagModel(KeyedTableModel):
    TOPIC, PARTITION, COMMITTED, HIGH_WATERMARK, LAG, MEMBER = range(6)
    columns = (
        Column("Topic"),
        numeric("Partition", str),
        numeric("Committed", _offset, tooltip="the group's committed offset (its cursor)"),
        numeric("High watermark"),
        numeric("Lag", tooltip=LAG_TIP),
        Column("Member", lambda v: v[0], tooltip="the member it is assigned to (client id)"),
    )
    styled_columns = (LAG, MEMBER)
    restyled_columns = (MEMBER,)  # the lag's colour follows its value

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self._theme: Theme = LIGHT
        self._slots: dict[str, int] = {}

    def set_theme(self, theme: Theme) -> None:
        self._theme = theme

    def update(self, group: GroupSnapshot | None, slots: dict[str, int] | None = None) -> None:
        if group is None:
            self._slots = {}
            self.set_rows(())
            return
        self._slots = slots if slots is not None else member_color_index(group)
        client_of = {m.member_id: m.client_id or m.member_id for m in group.members}
        self.set_rows(
            (
                (o.topic, o.partition),
                (
                    o.topic,
                    o.partition,
                    o.committed_offset,
                    o.high_watermark,
                    o.lag,
                    (client_of.get(o.member_id, o.member_id), o.member_id) if o.member_id else None,
                ),
            )
            for o in group.offsets
        )

    def style(self, row: int, col: int, role: int) -> Any:
        values = self.values_at(row)
        if col == self.LAG and values[self.LAG] is not None:
            # Coloured text only: a dot here would sit beside the previous column's number.
            level = lag_level(values[self.LAG])
            if role == Qt.ItemDataRole.ForegroundRole and level != "ok":
                return QColor(getattr(self._theme, level))
        if col == self.MEMBER and role == Qt.ItemDataRole.DecorationRole:
            member = values[self.MEMBER] and values[self.MEMBER][1]
            if member is not None and member in self._slots:
                return steady_swatch(self._theme.member_color(self._slots[member]))
        return None
