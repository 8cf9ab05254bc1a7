"""Admin APIs: CreateTopics (19), DeleteTopics (20), CreatePartitions (37),
DescribeConfigs (32), AlterConfigs (33), IncrementalAlterConfigs (44).

Transcribed from Kafka's JSON specs, including the old versions Kafka 4 dropped
(CreateTopics 0-1, DeleteTopics 0, DescribeConfigs 0).
"""

from __future__ import annotations

from ..schema import api, f

__all__ = ["CREATE_TOPICS", "DELETE_TOPICS", "CREATE_PARTITIONS", "DESCRIBE_CONFIGS", "ALTER_CONFIGS", "INCREMENTAL_ALTER_CONFIGS"]

CREATE_TOPICS = api(
    19, "CreateTopics", versions="0-7", flexible="5+",
    request=[
        f("Topics", "[]CreatableTopic", "0+",
            f("Name", "string", "0+"),
            f("NumPartitions", "int32", "0+"),
            f("ReplicationFactor", "int16", "0+"),
            f("Assignments", "[]CreatableReplicaAssignment", "0+",
                f("PartitionIndex", "int32", "0+"),
                f("BrokerIds", "[]int32", "0+"),
            ),
            f("Configs", "[]CreatableTopicConfig", "0+",
                f("Name", "string", "0+"),
                f("Value", "string", "0+", nullable="0+"),
            ),
        ),
        f("timeoutMs", "int32", "0+", default=60000),
        f("validateOnly", "bool", "1+", default=False),
    ],
    response=[
        f("ThrottleTimeMs", "int32", "2+"),
        f("Topics", "[]CreatableTopicResult", "0+",
            f("Name", "string", "0+"),
            f("TopicId", "uuid", "7+"),
            f("ErrorCode", "int16", "0+"),
            f("ErrorMessage", "string", "1+", nullable="0+"),
            f("TopicConfigErrorCode", "int16", "5+", tag=0, tagged="5+"),
            f("NumPartitions", "int32", "5+", default=-1),
            f("ReplicationFactor", "int16", "5+", default=-1),
            f("Configs", "[]CreatableTopicConfigs", "5+",
                f("Name", "string", "5+"),
                f("Value", "string", "5+", nullable="5+"),
                f("ReadOnly", "bool", "5+"),
                f("ConfigSource", "int8", "5+", default=-1),
                f("IsSensitive", "bool", "5+"),
                nullable="5+",
            ),
        ),
    ],
)

DELETE_TOPICS = api(
    20, "DeleteTopics", versions="0-6", flexible="4+",
    request=[
        f("Topics", "[]DeleteTopicState", "6+",
            f("Name", "string", "6+", nullable="6+", default=None),
            f("TopicId", "uuid", "6+"),
        ),
        f("TopicNames", "[]string", "0-5"),
        f("TimeoutMs", "int32", "0+"),
    ],
    response=[
        f("ThrottleTimeMs", "int32", "1+"),
        f("Responses", "[]DeletableTopicResult", "0+",
            f("Name", "string", "0+", nullable="6+"),
            f("TopicId", "uuid", "6+"),
            f("ErrorCode", "int16", "0+"),
            f("ErrorMessage", "string", "5+", nullable="5+", default=None),
        ),
    ],
)

CREATE_PARTITIONS = api(
    37, "CreatePartitions", versions="0-3", flexible="2+",
    request=[
        f("Topics", "[]CreatePartitionsTopic", "0+",
            f("Name", "string", "0+"),
            f("Count", "int32", "0+"),
            f("Assignments", "[]CreatePartitionsAssignment", "0+",
                f("BrokerIds", "[]int32", "0+"),
                nullable="0+",
            ),
        ),
        f("TimeoutMs", "int32", "0+"),
        f("ValidateOnly", "bool", "0+"),
    ],
    response=[
        f("ThrottleTimeMs", "int32", "0+"),
        f("Results", "[]CreatePartitionsTopicResult", "0+",
            f("Name", "string", "0+"),
            f("ErrorCode", "int16", "0+"),
            f("ErrorMessage", "string", "0+", nullable="0+", default=None),
        ),
    ],
)

DESCRIBE_CONFIGS = api(
    32, "DescribeConfigs", versions="0-4", flexible="4+",
    request=[
        f("Resources", "[]DescribeConfigsResource", "0+",
            f("ResourceType", "int8", "0+"),
            f("ResourceName", "string", "0+"),
            f("ConfigurationKeys", "[]string", "0+", nullable="0+"),
        ),
        f("IncludeSynonyms", "bool", "1+", default=False),
        f("IncludeDocumentation", "bool", "3+", default=False),
    ],
    response=[
        f("ThrottleTimeMs", "int32", "0+"),
        f("Results", "[]DescribeConfigsResult", "0+",
            f("ErrorCode", "int16", "0+"),
            f("ErrorMessage", "string", "0+", nullable="0+"),
            f("ResourceType", "int8", "0+"),
            f("ResourceName", "string", "0+"),
            f("Configs", "[]DescribeConfigsResourceResult", "0+",
                f("Name", "string", "0+"),
                f("Value", "string", "0+", nullable="0+"),
                f("ReadOnly", "bool", "0+"),
                f("ConfigSource", "int8", "1+", default=-1),
                f("IsDefault", "bool", "0"),
                f("IsSensitive", "bool", "0+"),
                f("Synonyms", "[]DescribeConfigsSynonym", "1+",
                    f("Name", "string", "1+"),
                    f("Value", "string", "1+", nullable="0+"),
                    f("Source", "int8", "1+"),
                ),
                f("ConfigType", "int8", "3+", default=0),
                f("Documentation", "string", "3+", nullable="0+"),
            ),
        ),
    ],
)

ALTER_CONFIGS = api(
    33, "AlterConfigs", versions="0-2", flexible="2+",
    request=[
        f("Resources", "[]AlterConfigsResource", "0+",
            f("ResourceType", "int8", "0+"),
            f("ResourceName", "string", "0+"),
            f("Configs", "[]AlterableConfig", "0+",
                f("Name", "string", "0+"),
                f("Value", "string", "0+", nullable="0+"),
            ),
        ),
        f("ValidateOnly", "bool", "0+"),
    ],
    response=[
        f("ThrottleTimeMs", "int32", "0+"),
        f("Responses", "[]AlterConfigsResourceResponse", "0+",
            f("ErrorCode", "int16", "0+"),
            f("ErrorMessage", "string", "0+", nullable="0+"),
            f("ResourceType", "int8", "0+"),
            f("ResourceName", "string", "0+"),
        ),
    ],
)

INCREMENTAL_ALTER_CONFIGS = api(
    44, "IncrementalAlterConfigs", versions="0-1", flexible="1+",
    request=[
        f("Resources", "[]AlterConfigsResource", "0+",
            f("ResourceType", "int8", "0+"),
            f("ResourceName", "string", "0+"),
            f("Configs", "[]AlterableConfig", "0+",
                f("Name", "string", "0+"),
                f("ConfigOperation", "int8", "0+"),
                f("Value", "string", "0+", nullable="0+"),
            ),
        ),
        f("ValidateOnly", "bool", "0+"),
    ],
    response=[
        f("ThrottleTimeMs", "int32", "0+"),
        f("Responses", "[]AlterConfigsResourceResponse", "0+",
            f("ErrorCode", "int16", "0+"),
            f("ErrorMessage", "string", "0+", nullable="0+"),
            f("ResourceType", "int8", "0+"),
            f("ResourceName", "string", "0+"),
        ),
    ],
)
