"""Topics table model: one row per topic, keyed by name, fed from snapshots and rates.

Contract: :meth:`TopicsModel.update` takes a :class:`~core.monitor.ClusterSnapshot` and
the current per-topic rates (``{name: (msgs_in/s, msgs_out/s, bytes_in/s, bytes_out/s)}``
as :class:`desktop.history.MonitorHistory` keeps them) and diffs them into the table.
A topic with a failing or offline partition is marked: its name and its Storage cell in
the theme's "bad" colour with a red dot, the partitions and reasons as a plain tooltip.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from streamscope.core.monitor import ClusterSnapshot, TopicSnapshot
from streamscope.desktop import format as fmt
from streamscope.desktop.models.table_model import Column, KeyedTableModel, numeric, problem_mark
from streamscope.desktop.theme import LIGHT, Theme

# A topic's storage problems: ((partition, problem), ...), empty when all is well.
Problems = tuple[tuple[int, str], ...]


def storage_problems(topic: TopicSnapshot) -> Problems:
    return tuple(
        (p.index, p.storage_problem) for p in topic.storage_problems
        if p.storage_problem is not None
    )


def _storage(problems: Problems) -> str:
    if not problems:
        return "ok"
    if len(problems) == 1:
        index, problem = problems[0]
        return f"partition {index} {problem.split(':', 1)[0]}"
    if all(problem.startswith("unavailable") for _, problem in problems):
        return f"{len(problems)} partitions unavailable"
    return f"{len(problems)} partitions failing"


def _retention(value: tuple[int, int]) -> str:
    return fmt.retention(*value)


class TopicsModel(KeyedTableModel):
    NAME, PARTITIONS, MESSAGES, SIZE, RATE_IN, RATE_OUT, RETENTION, STORAGE = range(8)
    columns = (
        Column("Topic"),
        numeric("Partitions"),
        numeric(
            "Messages", tooltip="High watermark minus log start offset, summed over partitions"
        ),
        numeric("Size", fmt.size, tooltip="Bytes on disk (all segments)"),
        numeric("In", fmt.rate, tooltip="Messages produced per second"),
        numeric("Out", fmt.rate, tooltip="Messages fetched per second (all consumers)"),
        Column("Retention", _retention, tooltip="retention.ms / retention.bytes (per partition)"),
        Column("Storage", _storage, tooltip="ok, or which partitions' disk writes fail or "
               "which are offline"),
    )
    styled_columns = (NAME, STORAGE)

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self._theme: Theme = LIGHT

    def set_theme(self, theme: Theme) -> None:
        self._theme = theme

    def update(
        self,
        snap: ClusterSnapshot,
        rates: Mapping[str, tuple[float, float, float, float]] | None = None,
    ) -> None:
        rates = rates or {}
        rows = []
        for t in snap.topics:
            r = rates.get(t.name, (0.0, 0.0, 0.0, 0.0))
            rows.append(
                (
                    t.name,
                    (
                        t.name,
                        len(t.partitions),
                        t.messages,
                        t.size_bytes,
                        round(r[0], 1),
                        round(r[1], 1),
                        (t.retention_ms, t.retention_bytes),
                        storage_problems(t),
                    ),
                )
            )
        self.set_rows(rows)

    def _problems(self, row: int) -> Problems:
        return self.values_at(row)[self.STORAGE]

    def style(self, row: int, col: int, role: int) -> Any:
        if col not in (self.NAME, self.STORAGE) or not self._problems(row):
            return None
        return problem_mark(self._theme.bad, role)

    def tooltip(self, row: int, col: int) -> Any:
        problems = self._problems(row)
        if col not in (self.NAME, self.STORAGE) or not problems:
            return None
        return "\n".join(f"Partition {index}: {problem}" for index, problem in problems)
