"""Members of one consumer group, each with its colour and its assigned partitions.

Contract: :meth:`MembersModel.update` takes a :class:`~core.monitor.GroupSnapshot` (or
``None``); rows are keyed by member id. Member colours are given by
:func:`member_color_index` so the members table, the assignment drawing and the lag table
agree on who is who.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt

from core.monitor import GroupSnapshot
from desktop.models.table_model import Column, KeyedTableModel, swatch
from desktop.theme import LIGHT, Theme


def member_color_index(group: GroupSnapshot) -> dict[str, int]:
    """Stable colour slots: members in member-id order (ids embed the join order)."""
    return {m.member_id: i for i, m in enumerate(sorted(group.members, key=lambda m: m.member_id))}


def _assignment(value: tuple[tuple[str, int], ...]) -> str:
    by_topic: dict[str, list[int]] = {}
    for topic, partition in value:
        by_topic.setdefault(topic, []).append(partition)
    return "; ".join(f"{t} [{', '.join(map(str, ps))}]" for t, ps in sorted(by_topic.items()))


class MembersModel(KeyedTableModel):
    CLIENT, MEMBER, HOST, PARTITIONS = range(4)
    columns = (
        Column("Client id"),
        Column("Member id"),
        Column("Host"),
        Column("Assigned partitions", _assignment),
    )

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self._theme: Theme = LIGHT
        self._slots: dict[str, int] = {}
        self._leader: str | None = None

    def set_theme(self, theme: Theme) -> None:
        self._theme = theme

    def update(self, group: GroupSnapshot | None) -> None:
        if group is None:
            self._slots = {}
            self._leader = None
            self.set_rows(())
            return
        self._slots = member_color_index(group)
        self._leader = group.leader
        self.set_rows(
            (m.member_id, (m.client_id, m.member_id, m.host, m.assignment))
            for m in sorted(group.members, key=lambda m: m.member_id)
        )

    def style(self, row: int, col: int, role: int) -> Any:
        if col == self.CLIENT and role == Qt.ItemDataRole.DecorationRole:
            key = self.key_at(row)
            return swatch(self._theme.member_color(self._slots.get(str(key), 0)))
        return None

    def tooltip(self, row: int, col: int) -> Any:
        if self.key_at(row) == self._leader:
            return "group leader (it computes the assignment)"
        return None
