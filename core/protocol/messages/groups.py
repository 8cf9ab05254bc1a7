"""Classic consumer-group APIs: FindCoordinator (10), JoinGroup (11), Heartbeat (12),
LeaveGroup (13), SyncGroup (14), OffsetCommit (8), OffsetFetch (9), DescribeGroups (15),
ListGroups (16), DeleteGroups (42), OffsetDelete (47).

Transcribed from Kafka's JSON specs, including the old versions Kafka 4 dropped
(OffsetCommit 0-1, OffsetFetch 0). OffsetCommit's generation field carries the current
spec's name, ``generation_id_or_member_epoch``. OffsetFetch v8+ batches groups.
"""

from __future__ import annotations

from ..schema import api, f

__all__ = ["FIND_COORDINATOR", "JOIN_GROUP", "SYNC_GROUP", "HEARTBEAT", "LEAVE_GROUP", "OFFSET_COMMIT", "OFFSET_FETCH", "DESCRIBE_GROUPS", "LIST_GROUPS", "DELETE_GROUPS", "OFFSET_DELETE"]

FIND_COORDINATOR = api(
    10, "FindCoordinator", versions="0-4", flexible="3+",
    request=[
        f("Key", "string", "0-3"),
        f("KeyType", "int8", "1+", default=0),
        f("CoordinatorKeys", "[]string", "4+"),
    ],
    response=[
        f("ThrottleTimeMs", "int32", "1+"),
        f("ErrorCode", "int16", "0-3"),
        f("ErrorMessage", "string", "1-3", nullable="1-3"),
        f("NodeId", "int32", "0-3"),
        f("Host", "string", "0-3"),
        f("Port", "int32", "0-3"),
        f("Coordinators", "[]Coordinator", "4+",
            f("Key", "string", "4+"),
            f("NodeId", "int32", "4+"),
            f("Host", "string", "4+"),
            f("Port", "int32", "4+"),
            f("ErrorCode", "int16", "4+"),
            f("ErrorMessage", "string", "4+", nullable="4+"),
        ),
    ],
)

JOIN_GROUP = api(
    11, "JoinGroup", versions="0-7", flexible="6+",
    request=[
        f("GroupId", "string", "0+"),
        f("SessionTimeoutMs", "int32", "0+"),
        f("RebalanceTimeoutMs", "int32", "1+", default=-1),
        f("MemberId", "string", "0+"),
        f("GroupInstanceId", "string", "5+", nullable="5+", default=None),
        f("ProtocolType", "string", "0+"),
        f("Protocols", "[]JoinGroupRequestProtocol", "0+",
            f("Name", "string", "0+"),
            f("Metadata", "bytes", "0+"),
        ),
    ],
    response=[
        f("ThrottleTimeMs", "int32", "2+"),
        f("ErrorCode", "int16", "0+"),
        f("GenerationId", "int32", "0+", default=-1),
        f("ProtocolType", "string", "7+", nullable="7+", default=None),
        f("ProtocolName", "string", "0+", nullable="7+"),
        f("Leader", "string", "0+"),
        f("MemberId", "string", "0+"),
        f("Members", "[]JoinGroupResponseMember", "0+",
            f("MemberId", "string", "0+"),
            f("GroupInstanceId", "string", "5+", nullable="5+", default=None),
            f("Metadata", "bytes", "0+"),
        ),
    ],
)

SYNC_GROUP = api(
    14, "SyncGroup", versions="0-5", flexible="4+",
    request=[
        f("GroupId", "string", "0+"),
        f("GenerationId", "int32", "0+"),
        f("MemberId", "string", "0+"),
        f("GroupInstanceId", "string", "3+", nullable="3+", default=None),
        f("ProtocolType", "string", "5+", nullable="5+", default=None),
        f("ProtocolName", "string", "5+", nullable="5+", default=None),
        f("Assignments", "[]SyncGroupRequestAssignment", "0+",
            f("MemberId", "string", "0+"),
            f("Assignment", "bytes", "0+"),
        ),
    ],
    response=[
        f("ThrottleTimeMs", "int32", "1+"),
        f("ErrorCode", "int16", "0+"),
        f("ProtocolType", "string", "5+", nullable="5+", default=None),
        f("ProtocolName", "string", "5+", nullable="5+", default=None),
        f("Assignment", "bytes", "0+"),
    ],
)

HEARTBEAT = api(
    12, "Heartbeat", versions="0-4", flexible="4+",
    request=[
        f("GroupId", "string", "0+"),
        f("GenerationId", "int32", "0+"),
        f("MemberId", "string", "0+"),
        f("GroupInstanceId", "string", "3+", nullable="3+", default=None),
    ],
    response=[
        f("ThrottleTimeMs", "int32", "1+"),
        f("ErrorCode", "int16", "0+"),
    ],
)

LEAVE_GROUP = api(
    13, "LeaveGroup", versions="0-5", flexible="4+",
    request=[
        f("GroupId", "string", "0+"),
        f("MemberId", "string", "0-2"),
        f("Members", "[]MemberIdentity", "3+",
            f("MemberId", "string", "3+"),
            f("GroupInstanceId", "string", "3+", nullable="3+", default=None),
            f("Reason", "string", "5+", nullable="5+", default=None),
        ),
    ],
    response=[
        f("ThrottleTimeMs", "int32", "1+"),
        f("ErrorCode", "int16", "0+"),
        f("Members", "[]MemberResponse", "3+",
            f("MemberId", "string", "3+"),
            f("GroupInstanceId", "string", "3+", nullable="3+"),
            f("ErrorCode", "int16", "3+"),
        ),
    ],
)

OFFSET_COMMIT = api(
    8, "OffsetCommit", versions="0-8", flexible="8+",
    request=[
        f("GroupId", "string", "0+"),
        f("GenerationIdOrMemberEpoch", "int32", "1+", default=-1),
        f("MemberId", "string", "1+"),
        f("GroupInstanceId", "string", "7+", nullable="7+", default=None),
        f("RetentionTimeMs", "int64", "2-4", default=-1),
        f("Topics", "[]OffsetCommitRequestTopic", "0+",
            f("Name", "string", "0-9"),
            f("Partitions", "[]OffsetCommitRequestPartition", "0+",
                f("PartitionIndex", "int32", "0+"),
                f("CommittedOffset", "int64", "0+"),
                f("CommittedLeaderEpoch", "int32", "6+", default=-1),
                f("CommitTimestamp", "int64", "1", default=-1),
                f("CommittedMetadata", "string", "0+", nullable="0+"),
            ),
        ),
    ],
    response=[
        f("ThrottleTimeMs", "int32", "3+"),
        f("Topics", "[]OffsetCommitResponseTopic", "0+",
            f("Name", "string", "0-9"),
            f("Partitions", "[]OffsetCommitResponsePartition", "0+",
                f("PartitionIndex", "int32", "0+"),
                f("ErrorCode", "int16", "0+"),
            ),
        ),
    ],
)

OFFSET_FETCH = api(
    9, "OffsetFetch", versions="0-8", flexible="6+",
    request=[
        f("GroupId", "string", "0-7"),
        f("Topics", "[]OffsetFetchRequestTopic", "0-7",
            f("Name", "string", "0-7"),
            f("PartitionIndexes", "[]int32", "0-7"),
            nullable="2-7",
        ),
        f("Groups", "[]OffsetFetchRequestGroup", "8+",
            f("GroupId", "string", "8+"),
            f("Topics", "[]OffsetFetchRequestTopics", "8+",
                f("Name", "string", "8-9"),
                f("PartitionIndexes", "[]int32", "8+"),
                nullable="8+",
            ),
        ),
        f("RequireStable", "bool", "7+", default=False),
    ],
    response=[
        f("ThrottleTimeMs", "int32", "3+"),
        f("Topics", "[]OffsetFetchResponseTopic", "0-7",
            f("Name", "string", "0-7"),
            f("Partitions", "[]OffsetFetchResponsePartition", "0-7",
                f("PartitionIndex", "int32", "0-7"),
                f("CommittedOffset", "int64", "0-7"),
                f("CommittedLeaderEpoch", "int32", "5-7", default=-1),
                f("Metadata", "string", "0-7", nullable="0-7"),
                f("ErrorCode", "int16", "0-7"),
            ),
        ),
        f("ErrorCode", "int16", "2-7", default=0),
        f("Groups", "[]OffsetFetchResponseGroup", "8+",
            f("GroupId", "string", "8+"),
            f("Topics", "[]OffsetFetchResponseTopics", "8+",
                f("Name", "string", "8-9"),
                f("Partitions", "[]OffsetFetchResponsePartitions", "8+",
                    f("PartitionIndex", "int32", "8+"),
                    f("CommittedOffset", "int64", "8+"),
                    f("CommittedLeaderEpoch", "int32", "8+", default=-1),
                    f("Metadata", "string", "8+", nullable="8+"),
                    f("ErrorCode", "int16", "8+"),
                ),
            ),
            f("ErrorCode", "int16", "8+", default=0),
        ),
    ],
)

DESCRIBE_GROUPS = api(
    15, "DescribeGroups", versions="0-5", flexible="5+",
    request=[
        f("Groups", "[]string", "0+"),
        f("IncludeAuthorizedOperations", "bool", "3+"),
    ],
    response=[
        f("ThrottleTimeMs", "int32", "1+"),
        f("Groups", "[]DescribedGroup", "0+",
            f("ErrorCode", "int16", "0+"),
            f("GroupId", "string", "0+"),
            f("GroupState", "string", "0+"),
            f("ProtocolType", "string", "0+"),
            f("ProtocolData", "string", "0+"),
            f("Members", "[]DescribedGroupMember", "0+",
                f("MemberId", "string", "0+"),
                f("GroupInstanceId", "string", "4+", nullable="4+", default=None),
                f("ClientId", "string", "0+"),
                f("ClientHost", "string", "0+"),
                f("MemberMetadata", "bytes", "0+"),
                f("MemberAssignment", "bytes", "0+"),
            ),
            f("AuthorizedOperations", "int32", "3+", default=-2147483648),
        ),
    ],
)

LIST_GROUPS = api(
    16, "ListGroups", versions="0-4", flexible="3+",
    request=[
        f("StatesFilter", "[]string", "4+"),
    ],
    response=[
        f("ThrottleTimeMs", "int32", "1+"),
        f("ErrorCode", "int16", "0+"),
        f("Groups", "[]ListedGroup", "0+",
            f("GroupId", "string", "0+"),
            f("ProtocolType", "string", "0+"),
            f("GroupState", "string", "4+"),
        ),
    ],
)

DELETE_GROUPS = api(
    42, "DeleteGroups", versions="0-2", flexible="2+",
    request=[
        f("GroupsNames", "[]string", "0+"),
    ],
    response=[
        f("ThrottleTimeMs", "int32", "0+"),
        f("Results", "[]DeletableGroupResult", "0+",
            f("GroupId", "string", "0+"),
            f("ErrorCode", "int16", "0+"),
        ),
    ],
)

OFFSET_DELETE = api(
    47, "OffsetDelete", versions="0", flexible="none",
    request=[
        f("GroupId", "string", "0+"),
        f("Topics", "[]OffsetDeleteRequestTopic", "0+",
            f("Name", "string", "0+"),
            f("Partitions", "[]OffsetDeleteRequestPartition", "0+",
                f("PartitionIndex", "int32", "0+"),
            ),
        ),
    ],
    response=[
        f("ErrorCode", "int16", "0+"),
        f("ThrottleTimeMs", "int32", "0+"),
        f("Topics", "[]OffsetDeleteResponseTopic", "0+",
            f("Name", "string", "0+"),
            f("Partitions", "[]OffsetDeleteResponsePartition", "0+",
                f("PartitionIndex", "int32", "0+"),
                f("ErrorCode", "int16", "0+"),
            ),
        ),
    ],
)
