"""Partitions of one topic: log start, high watermark, messages, size, segments, counters.

Contract: :meth:`PartitionsModel.update` takes the selected topic's
:class:`~core.monitor.TopicSnapshot` (or ``None`` to empty the table); rows are keyed by
partition index and diffed like every other snapshot model.
"""

from __future__ import annotations

from streamscope.core.monitor import TopicSnapshot
from streamscope.desktop import format as fmt
from streamscope.desktop.models.table_model import KeyedTableModel, numeric


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
