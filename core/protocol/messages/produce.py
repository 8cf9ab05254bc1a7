"""Producer APIs: Produce (0) and InitProducerId (22).

Transcribed from Kafka's Produce/InitProducerId JSON specs. Key names follow the current
spec: ``topic_data[].partition_data[].index / records`` in requests and
``responses[].partition_responses[].index`` in responses. Produce v0-2 predate record
batch v2 (message sets); their layout is the same apart from missing fields.
"""

from __future__ import annotations

from ..schema import api, f

__all__ = ["PRODUCE", "INIT_PRODUCER_ID"]

PRODUCE = api(
    0, "Produce", versions="0-9", flexible="9+",
    request=[
        f("TransactionalId", "string", "3+", nullable="3+", default=None),
        f("Acks", "int16", "0+"),
        f("TimeoutMs", "int32", "0+"),
        f("TopicData", "[]TopicProduceData", "0+",
            f("Name", "string", "0-12"),
            f("PartitionData", "[]PartitionProduceData", "0+",
                f("Index", "int32", "0+"),
                f("Records", "records", "0+", nullable="0+"),
            ),
        ),
    ],
    response=[
        f("Responses", "[]TopicProduceResponse", "0+",
            f("Name", "string", "0-12"),
            f("PartitionResponses", "[]PartitionProduceResponse", "0+",
                f("Index", "int32", "0+"),
                f("ErrorCode", "int16", "0+"),
                f("BaseOffset", "int64", "0+"),
                f("LogAppendTimeMs", "int64", "2+", default=-1),
                f("LogStartOffset", "int64", "5+", default=-1),
                f("RecordErrors", "[]BatchIndexAndErrorMessage", "8+",
                    f("BatchIndex", "int32", "8+"),
                    f("BatchIndexErrorMessage", "string", "8+", nullable="8+", default=None),
                ),
                f("ErrorMessage", "string", "8+", nullable="8+", default=None),
            ),
        ),
        f("ThrottleTimeMs", "int32", "1+", default=0),
    ],
)

INIT_PRODUCER_ID = api(
    22, "InitProducerId", versions="0-4", flexible="2+",
    request=[
        f("TransactionalId", "string", "0+", nullable="0+"),
        f("TransactionTimeoutMs", "int32", "0+"),
        f("ProducerId", "int64", "3+", default=-1),
        f("ProducerEpoch", "int16", "3+", default=-1),
    ],
    response=[
        f("ThrottleTimeMs", "int32", "0+"),
        f("ErrorCode", "int16", "0+"),
        f("ProducerId", "int64", "0+", default=-1),
        f("ProducerEpoch", "int16", "0+"),
    ],
)
