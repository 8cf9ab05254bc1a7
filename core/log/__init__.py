"""Partition-log storage: segments of RecordBatch v2 bytes with sparse indexes.

Public API: :class:`PartitionLog` (open / append / read / retention / delete records /
flush) and :class:`SegmentInfo`. See partition_log.py for the guarantees.
"""

from streamscope.core.log.partition_log import CHECKPOINT_NAME, PartitionLog, SegmentInfo

__all__ = ["CHECKPOINT_NAME", "PartitionLog", "SegmentInfo"]
