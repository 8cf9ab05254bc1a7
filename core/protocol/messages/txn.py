"""Transaction APIs: AddPartitionsToTxn (24), AddOffsetsToTxn (25), EndTxn (26),
TxnOffsetCommit (28), DescribeProducers (61), DescribeTransactions (65) and
ListTransactions (66).

Transcribed from Kafka's message JSON specs (clients/src/main/resources/common/message),
limited to the versions served: AddPartitionsToTxn 0-3 (v4+ is the broker-to-broker
batched form of KIP-890, so the spec names the client fields ``V3AndBelow...``),
AddOffsetsToTxn / EndTxn / TxnOffsetCommit 0-3 (flexible from 3), DescribeProducers 0,
DescribeTransactions 0, ListTransactions 0-1 (all flexible).
"""

from __future__ import annotations

from ..schema import api, f

__all__ = [
    "ADD_PARTITIONS_TO_TXN", "ADD_OFFSETS_TO_TXN", "END_TXN", "TXN_OFFSET_COMMIT",
    "DESCRIBE_PRODUCERS", "DESCRIBE_TRANSACTIONS", "LIST_TRANSACTIONS",
]

ADD_PARTITIONS_TO_TXN = api(
    24, "AddPartitionsToTxn", versions="0-3", flexible="3+",
    request=[
        f("V3AndBelowTransactionalId", "string", "0-3"),
        f("V3AndBelowProducerId", "int64", "0-3"),
        f("V3AndBelowProducerEpoch", "int16", "0-3"),
        f("V3AndBelowTopics", "[]AddPartitionsToTxnTopic", "0-3",
            f("Name", "string", "0+"),
            f("Partitions", "[]int32", "0+"),
        ),
    ],
    response=[
        f("ThrottleTimeMs", "int32", "0+"),
        f("ResultsByTopicV3AndBelow", "[]AddPartitionsToTxnTopicResult", "0-3",
            f("Name", "string", "0+"),
            f("ResultsByPartition", "[]AddPartitionsToTxnPartitionResult", "0+",
                f("PartitionIndex", "int32", "0+"),
                f("PartitionErrorCode", "int16", "0+"),
            ),
        ),
    ],
)

ADD_OFFSETS_TO_TXN = api(
    25, "AddOffsetsToTxn", versions="0-3", flexible="3+",
    request=[
        f("TransactionalId", "string", "0+"),
        f("ProducerId", "int64", "0+"),
        f("ProducerEpoch", "int16", "0+"),
        f("GroupId", "string", "0+"),
    ],
    response=[
        f("ThrottleTimeMs", "int32", "0+"),
        f("ErrorCode", "int16", "0+"),
    ],
)

END_TXN = api(
    26, "EndTxn", versions="0-3", flexible="3+",
    request=[
        f("TransactionalId", "string", "0+"),
        f("ProducerId", "int64", "0+"),
        f("ProducerEpoch", "int16", "0+"),
        f("Committed", "bool", "0+"),
    ],
    response=[
        f("ThrottleTimeMs", "int32", "0+"),
        f("ErrorCode", "int16", "0+"),
    ],
)

TXN_OFFSET_COMMIT = api(
    28, "TxnOffsetCommit", versions="0-3", flexible="3+",
    request=[
        f("TransactionalId", "string", "0+"),
        f("GroupId", "string", "0+"),
        f("ProducerId", "int64", "0+"),
        f("ProducerEpoch", "int16", "0+"),
        f("GenerationId", "int32", "3+", default=-1),
        f("MemberId", "string", "3+", default=""),
        f("GroupInstanceId", "string", "3+", nullable="3+", default=None),
        f("Topics", "[]TxnOffsetCommitRequestTopic", "0+",
            f("Name", "string", "0+"),
            f("Partitions", "[]TxnOffsetCommitRequestPartition", "0+",
                f("PartitionIndex", "int32", "0+"),
                f("CommittedOffset", "int64", "0+"),
                f("CommittedLeaderEpoch", "int32", "2+", default=-1),
                f("CommittedMetadata", "string", "0+", nullable="0+"),
            ),
        ),
    ],
    response=[
        f("ThrottleTimeMs", "int32", "0+"),
        f("Topics", "[]TxnOffsetCommitResponseTopic", "0+",
            f("Name", "string", "0+"),
            f("Partitions", "[]TxnOffsetCommitResponsePartition", "0+",
                f("PartitionIndex", "int32", "0+"),
                f("ErrorCode", "int16", "0+"),
            ),
        ),
    ],
)

DESCRIBE_PRODUCERS = api(
    61, "DescribeProducers", versions="0", flexible="0+",
    request=[
        f("Topics", "[]TopicRequest", "0+",
            f("Name", "string", "0+"),
            f("PartitionIndexes", "[]int32", "0+"),
        ),
    ],
    response=[
        f("ThrottleTimeMs", "int32", "0+"),
        f("Topics", "[]TopicResponse", "0+",
            f("Name", "string", "0+"),
            f("Partitions", "[]PartitionResponse", "0+",
                f("PartitionIndex", "int32", "0+"),
                f("ErrorCode", "int16", "0+"),
                f("ErrorMessage", "string", "0+", nullable="0+", default=None),
                f("ActiveProducers", "[]ProducerState", "0+",
                    f("ProducerId", "int64", "0+"),
                    f("ProducerEpoch", "int32", "0+"),
                    f("LastSequence", "int32", "0+", default=-1),
                    f("LastTimestamp", "int64", "0+", default=-1),
                    f("CoordinatorEpoch", "int32", "0+"),
                    f("CurrentTxnStartOffset", "int64", "0+", default=-1),
                ),
            ),
        ),
    ],
)

DESCRIBE_TRANSACTIONS = api(
    65, "DescribeTransactions", versions="0", flexible="0+",
    request=[
        f("TransactionalIds", "[]string", "0+"),
    ],
    response=[
        f("ThrottleTimeMs", "int32", "0+"),
        f("TransactionStates", "[]TransactionState", "0+",
            f("ErrorCode", "int16", "0+"),
            f("TransactionalId", "string", "0+"),
            f("TransactionState", "string", "0+"),
            f("TransactionTimeoutMs", "int32", "0+"),
            f("TransactionStartTimeMs", "int64", "0+"),
            f("ProducerId", "int64", "0+"),
            f("ProducerEpoch", "int16", "0+"),
            f("Topics", "[]TopicData", "0+",
                f("Topic", "string", "0+"),
                f("Partitions", "[]int32", "0+"),
            ),
        ),
    ],
)

LIST_TRANSACTIONS = api(
    66, "ListTransactions", versions="0-1", flexible="0+",
    request=[
        f("StateFilters", "[]string", "0+"),
        f("ProducerIdFilters", "[]int64", "0+"),
        f("DurationFilter", "int64", "1+", default=-1),
    ],
    response=[
        f("ThrottleTimeMs", "int32", "0+"),
        f("ErrorCode", "int16", "0+"),
        f("UnknownStateFilters", "[]string", "0+"),
        f("TransactionStates", "[]TransactionState", "0+",
            f("TransactionalId", "string", "0+"),
            f("ProducerId", "int64", "0+"),
            f("TransactionState", "string", "0+"),
        ),
    ],
)
