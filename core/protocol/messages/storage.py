"""Log-level APIs: OffsetForLeaderEpoch (23), DescribeLogDirs (35).

Transcribed from Kafka's OffsetForLeaderEpoch{Request,Response}.json and
DescribeLogDirs{Request,Response}.json (facts only), including the versions Kafka 4
dropped (OffsetForLeaderEpoch 0-1, DescribeLogDirs 0). DescribeLogDirs v4 adds the
disk's TotalBytes and UsableBytes per log dir (KIP-827).
"""

from __future__ import annotations

from ..schema import api, f

__all__ = ["OFFSET_FOR_LEADER_EPOCH", "DESCRIBE_LOG_DIRS"]

OFFSET_FOR_LEADER_EPOCH = api(
    23, "OffsetForLeaderEpoch", versions="0-4", flexible="4+",
    request=[
        f("ReplicaId", "int32", "3+", default=-2),
        f("Topics", "[]OffsetForLeaderTopic", "0+",
            f("Topic", "string", "0+"),
            f("Partitions", "[]OffsetForLeaderPartition", "0+",
                f("Partition", "int32", "0+"),
                f("CurrentLeaderEpoch", "int32", "2+", default=-1),
                f("LeaderEpoch", "int32", "0+"),
            ),
        ),
    ],
    response=[
        f("ThrottleTimeMs", "int32", "2+"),
        f("Topics", "[]OffsetForLeaderTopicResult", "0+",
            f("Topic", "string", "0+"),
            f("Partitions", "[]OffsetForLeaderPartitionResult", "0+",
                f("ErrorCode", "int16", "0+"),
                f("Partition", "int32", "0+"),
                f("LeaderEpoch", "int32", "1+", default=-1),
                f("EndOffset", "int64", "0+"),
            ),
        ),
    ],
)

DESCRIBE_LOG_DIRS = api(
    35, "DescribeLogDirs", versions="0-4", flexible="2+",
    request=[
        f("Topics", "[]DescribableLogDirTopic", "0+",
            f("Topic", "string", "0+"),
            f("Partitions", "[]int32", "0+"),
            nullable="0+",
        ),
    ],
    response=[
        f("ThrottleTimeMs", "int32", "0+"),
        f("ErrorCode", "int16", "3+"),
        f("Results", "[]DescribeLogDirsResult", "0+",
            f("ErrorCode", "int16", "0+"),
            f("LogDir", "string", "0+"),
            f("Topics", "[]DescribeLogDirsTopic", "0+",
                f("Name", "string", "0+"),
                f("Partitions", "[]DescribeLogDirsPartition", "0+",
                    f("PartitionIndex", "int32", "0+"),
                    f("PartitionSize", "int64", "0+"),
                    f("OffsetLag", "int64", "0+"),
                    f("IsFutureKey", "bool", "0+"),
                ),
            ),
            f("TotalBytes", "int64", "4+", default=-1),
            f("UsableBytes", "int64", "4+", default=-1),
        ),
    ],
)
