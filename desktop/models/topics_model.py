"""Topics table model: one row per topic, keyed by name, fed from snapshots and rates.

Contract: :meth:`TopicsModel.update` takes a :class:`~core.monitor.ClusterSnapshot` and
the current per-topic rates (``{name: (msgs_in/s, msgs_out/s, bytes_in/s, bytes_out/s)}``
as :class:`desktop.history.MonitorHistory` keeps them) and diffs them into the table.
"""

from __future__ import annotations

from collections.abc import Mapping

from streamscope.core.monitor import ClusterSnapshot
from streamscope.desktop import format as fmt
from streamscope.desktop.models.table_model import Column, KeyedTableModel, numeric


def _retention(value: tuple[int, int]) -> str:
    return fmt.retention(*value)


class TopicsModel(KeyedTableModel):
    NAME, PARTITIONS, MESSAGES, SIZE, RATE_IN, RATE_OUT, RETENTION = range(7)
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
    )

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
                    ),
                )
            )
        self.set_rows(rows)
