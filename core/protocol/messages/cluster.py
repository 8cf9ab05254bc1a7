"""Cluster discovery APIs: ApiVersions (18), Metadata (3), DescribeCluster (60).

Transcribed from Kafka's ApiVersions/Metadata/DescribeCluster Request/Response JSON specs
(facts only). Notes: the ApiVersions *response header* is always v0 (see codec.py); an
ApiVersions request above v4 is answered with a v0 body. Metadata v10+ carries topic ids
(uuid); v8+ authorized-operations fields default to INT32_MIN ("not requested").
"""

from __future__ import annotations

from ..schema import api, f

__all__ = ["API_VERSIONS", "METADATA", "DESCRIBE_CLUSTER"]

API_VERSIONS = api(
    18, "ApiVersions", versions="0-4", flexible="3+",
    request=[
        f("ClientSoftwareName", "string", "3+"),
        f("ClientSoftwareVersion", "string", "3+"),
    ],
    response=[
        f("ErrorCode", "int16", "0+"),
        f("ApiKeys", "[]ApiVersion", "0+",
            f("ApiKey", "int16", "0+"),
            f("MinVersion", "int16", "0+"),
            f("MaxVersion", "int16", "0+"),
        ),
        f("ThrottleTimeMs", "int32", "1+"),
        f("SupportedFeatures", "[]SupportedFeatureKey", "3+",
            f("Name", "string", "3+"),
            f("MinVersion", "int16", "3+"),
            f("MaxVersion", "int16", "3+"),
            tag=0, tagged="3+",
        ),
        f("FinalizedFeaturesEpoch", "int64", "3+", default=-1, tag=1, tagged="3+"),
        f("FinalizedFeatures", "[]FinalizedFeatureKey", "3+",
            f("Name", "string", "3+"),
            f("MaxVersionLevel", "int16", "3+"),
            f("MinVersionLevel", "int16", "3+"),
            tag=2, tagged="3+",
        ),
        f("ZkMigrationReady", "bool", "3+", default=False, tag=3, tagged="3+"),
    ],
)

METADATA = api(
    3, "Metadata", versions="0-12", flexible="9+",
    request=[
        f("Topics", "[]MetadataRequestTopic", "0+",
            f("TopicId", "uuid", "10+"),
            f("Name", "string", "0+", nullable="10+"),
            nullable="1+",
        ),
        f("AllowAutoTopicCreation", "bool", "4+", default=True),
        f("IncludeClusterAuthorizedOperations", "bool", "8-10"),
        f("IncludeTopicAuthorizedOperations", "bool", "8+"),
    ],
    response=[
        f("ThrottleTimeMs", "int32", "3+"),
        f("Brokers", "[]MetadataResponseBroker", "0+",
            f("NodeId", "int32", "0+"),
            f("Host", "string", "0+"),
            f("Port", "int32", "0+"),
            f("Rack", "string", "1+", nullable="1+", default=None),
        ),
        f("ClusterId", "string", "2+", nullable="2+", default=None),
        f("ControllerId", "int32", "1+", default=-1),
        f("Topics", "[]MetadataResponseTopic", "0+",
            f("ErrorCode", "int16", "0+"),
            f("Name", "string", "0+", nullable="12+"),
            f("TopicId", "uuid", "10+"),
            f("IsInternal", "bool", "1+", default=False),
            f("Partitions", "[]MetadataResponsePartition", "0+",
                f("ErrorCode", "int16", "0+"),
                f("PartitionIndex", "int32", "0+"),
                f("LeaderId", "int32", "0+"),
                f("LeaderEpoch", "int32", "7+", default=-1),
                f("ReplicaNodes", "[]int32", "0+"),
                f("IsrNodes", "[]int32", "0+"),
                f("OfflineReplicas", "[]int32", "5+"),
            ),
            f("TopicAuthorizedOperations", "int32", "8+", default=-2147483648),
        ),
        f("ClusterAuthorizedOperations", "int32", "8-10", default=-2147483648),
    ],
)

DESCRIBE_CLUSTER = api(
    60, "DescribeCluster", versions="0-1", flexible="0+",
    request=[
        f("IncludeClusterAuthorizedOperations", "bool", "0+"),
        f("EndpointType", "int8", "1+", default=1),
    ],
    response=[
        f("ThrottleTimeMs", "int32", "0+"),
        f("ErrorCode", "int16", "0+"),
        f("ErrorMessage", "string", "0+", nullable="0+", default=None),
        f("EndpointType", "int8", "1+", default=1),
        f("ClusterId", "string", "0+"),
        f("ControllerId", "int32", "0+", default=-1),
        f("Brokers", "[]DescribeClusterBroker", "0+",
            f("BrokerId", "int32", "0+"),
            f("Host", "string", "0+"),
            f("Port", "int32", "0+"),
            f("Rack", "string", "0+", nullable="0+", default=None),
        ),
        f("ClusterAuthorizedOperations", "int32", "0+", default=-2147483648),
    ],
)
