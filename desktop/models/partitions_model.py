"""Partitions of one topic: log start, high watermark, messages, size, segments, counters.

Contract: :meth:`PartitionsModel.update` takes the selected topic's
:class:`~core.monitor.TopicSnapshot` (or ``None`` to empty the table); rows are keyed by
partition index and diffed like every other snapshot model.
"""

from __future__ import annotations

from streamscope.core.monitor import TopicSnapshot
from streamscope.desktop import format as fmt
from streamscope.desktop.models.table_model import Column, KeyedTableModel


class PartitionsModel(KeyedTableModel):
    columns = (
        Column("Partition", str, numeric=True),
        Column(
            "Log start",
            fmt.count,
            numeric=True,
            tooltip="log-start offset: the oldest offset still stored",
        ),
        Column("High watermark", fmt.count, numeric=True, tooltip="the next offset to be written"),
        Column("Messages", fmt.count, numeric=True),
        Column("Size", fmt.size, numeric=True),
        Column("Segments", fmt.count, numeric=True),
        Column(
            "Records in",
            fmt.count,
            numeric=True,
            tooltip="records produced since the broker started",
        ),
        Column(
            "Records out",
            fmt.count,
            numeric=True,
            tooltip="records fetched since the broker started",
        ),
    )

    def update(self, topic: TopicSnapshot | None) -> None:
        if topic is None:
            self.set_rows(())
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
                ),
            )
            for p in topic.partitions
        )
