"""Read-path APIs: Fetch (1), ListOffsets (2), DeleteRecords (21).

Transcribed from Kafka's JSON specs. Fetch v12 (first flexible) adds tagged
diverging_epoch (0), current_leader (1) and snapshot_id (2) per partition and a tagged
cluster_id in the request. ``records`` decode as zero-copy memoryviews and default to b""
(never null: librdkafka rejects a null record set).
"""

from __future__ import annotations

from ..schema import api, f

__all__ = ["FETCH", "LIST_OFFSETS", "DELETE_RECORDS"]

FETCH = api(
    1, "Fetch", versions="4-12", flexible="12+",
    request=[
        f("ClusterId", "string", "12+", nullable="12+", default=None, tag=0, tagged="12+"),
        f("ReplicaId", "int32", "0-14", default=-1),
        f("MaxWaitMs", "int32", "0+"),
        f("MinBytes", "int32", "0+"),
        f("MaxBytes", "int32", "3+", default=0x7FFFFFFF),
        f("IsolationLevel", "int8", "4+", default=0),
        f("SessionId", "int32", "7+", default=0),
        f("SessionEpoch", "int32", "7+", default=-1),
        f("Topics", "[]FetchTopic", "0+",
            f("Topic", "string", "0-12"),
            f("Partitions", "[]FetchPartition", "0+",
                f("Partition", "int32", "0+"),
                f("CurrentLeaderEpoch", "int32", "9+", default=-1),
                f("FetchOffset", "int64", "0+"),
                f("LastFetchedEpoch", "int32", "12+", default=-1),
                f("LogStartOffset", "int64", "5+", default=-1),
                f("PartitionMaxBytes", "int32", "0+"),
            ),
        ),
        f("ForgottenTopicsData", "[]ForgottenTopic", "7+",
            f("Topic", "string", "7-12"),
            f("Partitions", "[]int32", "7+"),
        ),
        f("RackId", "string", "11+", default=""),
    ],
    response=[
        f("ThrottleTimeMs", "int32", "1+"),
        f("ErrorCode", "int16", "7+"),
        f("SessionId", "int32", "7+", default=0),
        f("Responses", "[]FetchableTopicResponse", "0+",
            f("Topic", "string", "0-12"),
            f("Partitions", "[]PartitionData", "0+",
                f("PartitionIndex", "int32", "0+"),
                f("ErrorCode", "int16", "0+"),
                f("HighWatermark", "int64", "0+"),
                f("LastStableOffset", "int64", "4+", default=-1),
                f("LogStartOffset", "int64", "5+", default=-1),
                f("DivergingEpoch", "EpochEndOffset", "12+",
                    f("Epoch", "int32", "12+", default=-1),
                    f("EndOffset", "int64", "12+", default=-1),
                    tag=0, tagged="12+",
                ),
                f("CurrentLeader", "LeaderIdAndEpoch", "12+",
                    f("LeaderId", "int32", "12+", default=-1),
                    f("LeaderEpoch", "int32", "12+", default=-1),
                    tag=1, tagged="12+",
                ),
                f("SnapshotId", "SnapshotId", "12+",
                    f("EndOffset", "int64", "0+", default=-1),
                    f("Epoch", "int32", "0+", default=-1),
                    tag=2, tagged="12+",
                ),
                f("AbortedTransactions", "[]AbortedTransaction", "4+",
                    f("ProducerId", "int64", "4+"),
                    f("FirstOffset", "int64", "4+"),
                    nullable="4+",
                ),
                f("PreferredReadReplica", "int32", "11+", default=-1),
                f("Records", "records", "0+", nullable="0+"),
            ),
        ),
    ],
)

LIST_OFFSETS = api(
    2, "ListOffsets", versions="1-7", flexible="6+",
    request=[
        f("ReplicaId", "int32", "0+"),
        f("IsolationLevel", "int8", "2+"),
        f("Topics", "[]ListOffsetsTopic", "0+",
            f("Name", "string", "0+"),
            f("Partitions", "[]ListOffsetsPartition", "0+",
                f("PartitionIndex", "int32", "0+"),
                f("CurrentLeaderEpoch", "int32", "4+", default=-1),
                f("Timestamp", "int64", "0+"),
            ),
        ),
    ],
    response=[
        f("ThrottleTimeMs", "int32", "2+"),
        f("Topics", "[]ListOffsetsTopicResponse", "0+",
            f("Name", "string", "0+"),
            f("Partitions", "[]ListOffsetsPartitionResponse", "0+",
                f("PartitionIndex", "int32", "0+"),
                f("ErrorCode", "int16", "0+"),
                f("Timestamp", "int64", "1+", default=-1),
                f("Offset", "int64", "1+", default=-1),
                f("LeaderEpoch", "int32", "4+", default=-1),
            ),
        ),
    ],
)

DELETE_RECORDS = api(
    21, "DeleteRecords", versions="0-2", flexible="2+",
    request=[
        f("Topics", "[]DeleteRecordsTopic", "0+",
            f("Name", "string", "0+"),
            f("Partitions", "[]DeleteRecordsPartition", "0+",
                f("PartitionIndex", "int32", "0+"),
                f("Offset", "int64", "0+"),
            ),
        ),
        f("TimeoutMs", "int32", "0+"),
    ],
    response=[
        f("ThrottleTimeMs", "int32", "0+"),
        f("Topics", "[]DeleteRecordsTopicResult", "0+",
            f("Name", "string", "0+"),
            f("Partitions", "[]DeleteRecordsPartitionResult", "0+",
                f("PartitionIndex", "int32", "0+"),
                f("LowWatermark", "int64", "0+"),
                f("ErrorCode", "int16", "0+"),
            ),
        ),
    ],
)
