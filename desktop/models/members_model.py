"""Members of one consumer group: colour, heartbeat against session timeout, partitions.

Contract: :meth:`MembersModel.update` takes a :class:`~core.monitor.GroupSnapshot` (or
``None``) and the group's colour slots (from :class:`desktop.history.MemberColors`, so the
members table, the assignment drawing, the lag table and the lag chart agree on who is who,
and a member keeps its colour while it lives); rows are keyed by member id. The heartbeat
column reads "0.4 s of 10 s" (time since the coordinator last heard from the member,
against its session timeout, on the broker's clock) and, once the member has missed
heartbeats, "no heartbeat for 6.2 s of 10 s" in the alarm colour. Assigned partitions are
written as compact ranges: "rider-locations 0-1, 4".
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QIcon
from streamscope.core.monitor import GroupSnapshot, MemberSnapshot
from streamscope.desktop.models.table_model import Column, KeyedTableModel, swatch
from streamscope.desktop.theme import LIGHT, Theme


def member_color_index(group: GroupSnapshot) -> dict[str, int]:
    """Colour slots when no history is at hand: members in member-id order.

    Views use :class:`desktop.history.MemberColors` instead, which keeps a member's slot
    when others leave; this is only the fallback for a one-off rendering.
    """
    return {m.member_id: i for i, m in enumerate(sorted(group.members, key=lambda m: m.member_id))}


_STEADY: dict[tuple[str, bool], QIcon] = {}


def steady_swatch(color: QColor | str, round_: bool = False) -> QIcon:
    """A colour swatch that keeps its colour on a selected row.

    Qt tints icons in selected rows with the highlight colour, which would make a member
    look a different colour (or a red dot purple) the moment its row is selected.
    """
    c = QColor(color)
    key = (c.name(), round_)
    icon = _STEADY.get(key)
    if icon is None:
        pixmap = swatch(c, round_).pixmap(12, 12)
        icon = QIcon(pixmap)
        icon.addPixmap(pixmap, QIcon.Mode.Selected)
        _STEADY[key] = icon
    return icon


def ranges(numbers: list[int] | tuple[int, ...]) -> str:
    """``[0, 1, 2, 4, 6, 7]`` -> ``"0-2, 4, 6-7"``."""
    out: list[str] = []
    run: list[int] = []
    for n in sorted(set(numbers)):
        if run and n == run[-1] + 1:
            run.append(n)
            continue
        if run:
            out.append(f"{run[0]}-{run[-1]}" if len(run) > 1 else str(run[0]))
        run = [n]
    if run:
        out.append(f"{run[0]}-{run[-1]}" if len(run) > 1 else str(run[0]))
    return ", ".join(out)


def compact_assignment(value: tuple[tuple[str, int], ...]) -> str:
    """``(("rider-locations", 0), ("rider-locations", 1), ("rider-locations", 4))`` ->
    ``"rider-locations 0-1, 4"``; several topics are separated by "; "."""
    by_topic: dict[str, list[int]] = {}
    for topic, partition in value:
        by_topic.setdefault(topic, []).append(partition)
    return "; ".join(f"{t} {ranges(ps)}" for t, ps in sorted(by_topic.items()))


def _seconds(ms: float) -> str:
    s = ms / 1000
    return f"{s:.1f} s" if s < 10 else f"{s:.0f} s"


HeartbeatCell = tuple[int, int, bool, bool]  # (since ms, rounded; session ms; suspect; parked)


def heartbeat_cell(m: MemberSnapshot) -> HeartbeatCell | None:
    if m.since_heartbeat_ms is None or m.session_timeout_ms <= 0:
        return None
    # Rounded to a tenth of a second: the cell changes when the text would.
    since = int(round(m.since_heartbeat_ms / 100)) * 100
    return (since, m.session_timeout_ms, m.suspect, m.awaiting_rebalance)


def heartbeat_text(cell: HeartbeatCell) -> str:
    since, session, suspect, parked = cell
    if parked:
        return f"in rebalance · timeout {_seconds(session)}"
    if suspect:
        return f"no heartbeat for {_seconds(since)} of {_seconds(session)}"
    return f"{_seconds(since)} of {_seconds(session)}"


class MembersModel(KeyedTableModel):
    """Rows keyed by member id; the member id itself is the Client id cell's tooltip (it
    is long and a uuid: a column of it would crowd out what a class needs to see)."""

    CLIENT, HEARTBEAT, PARTITIONS, HOST = range(4)
    columns = (
        Column("Client id"),
        Column(
            "Last heartbeat",
            heartbeat_text,
            tooltip="time since the coordinator last heard from the member, of its session "
            "timeout (it is evicted when that runs out)",
        ),
        Column("Partitions", compact_assignment, tooltip="the partitions assigned to it"),
        Column("Host", tooltip="in-process, or the address the client connected from"),
    )
    styled_columns = (CLIENT, HEARTBEAT)

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self._theme: Theme = LIGHT
        self._slots: dict[str, int] = {}
        self._leader: str | None = None

    def set_theme(self, theme: Theme) -> None:
        self._theme = theme

    def update(self, group: GroupSnapshot | None, slots: dict[str, int] | None = None) -> None:
        if group is None:
            self._slots = {}
            self._leader = None
            self.set_rows(())
            return
        self._slots = slots if slots is not None else member_color_index(group)
        self._leader = group.leader
        self.set_rows(
            (
                m.member_id,
                (m.client_id, heartbeat_cell(m), m.assignment, m.host),
            )
            for m in sorted(group.members, key=lambda m: m.member_id)
        )

    def slot_of(self, member_id: str) -> int | None:
        return self._slots.get(member_id)

    def is_suspect(self, row: int) -> bool:
        cell = self.values_at(row)[self.HEARTBEAT]
        return bool(cell and cell[2])

    def style(self, row: int, col: int, role: int) -> Any:
        if col == self.CLIENT and role == Qt.ItemDataRole.DecorationRole:
            slot = self._slots.get(str(self.key_at(row)))
            return steady_swatch(self._theme.member_color(slot if slot is not None else 0))
        if col == self.HEARTBEAT and self.is_suspect(row):
            if role == Qt.ItemDataRole.ForegroundRole:
                return QColor(self._theme.bad)
        return None

    def tooltip(self, row: int, col: int) -> Any:
        if col == self.HEARTBEAT and self.is_suspect(row):
            session = self.values_at(row)[self.HEARTBEAT][1]
            return (
                "Suspect: it has missed heartbeats and is probably dead. The coordinator "
                f"evicts it once its session timeout ({_seconds(session)}) runs out; until "
                "then its partitions are not consumed."
            )
        if col == self.HEARTBEAT:
            return self.columns[col].tooltip
        if col == self.CLIENT:
            member = str(self.key_at(row))
            leader = "\ngroup leader (it computes the assignment)" if member == self._leader else ""
            return f"member id {member}{leader}"
        return None
