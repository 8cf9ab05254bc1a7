"""Partitions of one topic: log start, high watermark, messages, size, segments, counters.

Contract: :meth:`PartitionsModel.update` takes the selected topic's
:class:`~core.monitor.TopicSnapshot` (or ``None`` to empty the table); rows are keyed by
partition index and diffed like every other snapshot model. A partition whose disk
writes fail or that is offline (issue 13) is marked in its Partition cell: a red dot, the
number in the theme's "bad" colour, and what failed with the whole reason as a plain
tooltip (the reason may quote a path). No column of its own: the table must show every
column whole beside the chart at 1280x720, and the topics view's banner says it in words.
"""

from __future__ import annotations

from typing import Any

from streamscope.core.monitor import TopicSnapshot
from streamscope.desktop import format as fmt
from streamscope.desktop.models.table_model import (
    Column,
    KeyedTableModel,
    numeric,
    problem_mark,
)
from streamscope.desktop.theme import LIGHT, Theme

STORAGE_TIP = {
    "disk error": "its last write or fsync failed: producers get KAFKA_STORAGE_ERROR until "
                  "a write succeeds again",
    "offline": "it could not be opened at start-up: its requests get KAFKA_STORAGE_ERROR; "
               "the other partitions serve",
    "unavailable": "no live broker leads it: producing to it and reading from it wait until "
                   "the cluster elects a leader; its watermarks are the last ones seen",
}


# The ISR cell's mark (short: every column shows whole beside the chart at 1280x720);
# the column's and the cell's tooltips spell it out.
UNDER_REPLICATED = "URP"


def _node(node: int | None) -> str:
    return "-" if node is None else str(node)


def _nodes(nodes: tuple[int, ...]) -> str:
    return ",".join(str(n) for n in nodes) if nodes else "-"


class PartitionsModel(KeyedTableModel):
    columns = (
        numeric("Partition", str),
        numeric("Log start", tooltip="log-start offset: the oldest offset still stored"),
        numeric("High watermark", tooltip="the next offset to be written"),
        numeric("Messages"),
        numeric("Size", fmt.size),
        numeric("Segments"),
        numeric("Records in", tooltip="records produced since the broker started"),
        numeric("Records out", tooltip="records fetched since the broker started"),
        numeric("Leader", _node, tooltip="the broker (node id) that leads the partition"),
        Column("Replicas", _nodes, tooltip="the brokers holding a copy, the leader first"),
        Column("ISR", tooltip="in-sync replicas: copies caught up with the leader. URP: an "
                             "under-replicated partition, fewer in sync than replicas"),
    )
    PARTITION = 0
    SIZE, SEGMENTS = 4, 5
    ISR = 10
    PLACEMENT = (8, 9, 10)  # leader, replicas, ISR
    styled_columns = (PARTITION, ISR)
    restyled_columns = ()  # a problem's change announces itself (dataChanged), a theme's restyles

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self._theme: Theme = LIGHT
        self._problems: dict[int, str] = {}

    def set_theme(self, theme: Theme) -> None:
        self._theme = theme
        self.restyle()

    def update(self, topic: TopicSnapshot | None) -> None:
        if topic is None:
            self.set_rows(())
            self._problems = {}
            return
        self.set_rows(
            (
                p.index,
                (
                    p.index,
                    p.log_start_offset,
                    p.high_watermark,
                    p.messages,
                    p.size_bytes,
                    p.segment_count,
                    p.records_in,
                    p.records_out,
                    p.leader,
                    p.replicas,
                    _nodes(p.isr) + (f" {UNDER_REPLICATED}" if p.under_replicated else ""),
                ),
            )
            for p in topic.partitions
        )
        problems = {
            p.index: p.storage_problem for p in topic.storage_problems
            if p.storage_problem is not None
        }
        if problems != self._problems:
            # Not a cell value: tell views the Partition cells' marks changed.
            self._problems = problems
            if self.rowCount():
                self.dataChanged.emit(
                    self.index(0, self.PARTITION), self.index(self.rowCount() - 1, self.PARTITION)
                )

    def problem(self, row: int) -> str | None:
        """The storage problem of the partition in ``row`` ("disk error: ..."), if any."""
        return self._problems.get(self.key_at(row))  # type: ignore[arg-type]

    def under_replicated(self, row: int) -> bool:
        return str(self._values[row][self.ISR]).endswith(UNDER_REPLICATED)

    def style(self, row: int, col: int, role: int) -> Any:
        if col == self.ISR:
            return problem_mark(self._theme.warn, role) if self.under_replicated(row) else None
        if col != self.PARTITION or self.problem(row) is None:
            return None
        return problem_mark(self._theme.bad, role)

    def tooltip(self, row: int, col: int) -> Any:
        if col == self.ISR and self.under_replicated(row):
            replicas = self._values[row][self.ISR - 1]
            return (f"Under-replicated: only {self._values[row][self.ISR].split()[0]} of "
                    f"replicas {_nodes(replicas)} are in sync. A replica fell behind or its "
                    "broker is down; if the leader fails now, fewer copies can take over.")
        problem = self.problem(row)
        if col != self.PARTITION or problem is None:
            return None
        kind = problem.split(":", 1)[0]
        return f"Storage {problem}\n({STORAGE_TIP.get(kind, '')})"  # made plain by the base
