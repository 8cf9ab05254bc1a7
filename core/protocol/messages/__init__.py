"""All message definitions, written once in the :mod:`core.protocol.schema` form.

Contract: :data:`ALL_APIS` lists every :class:`ApiSchema` we define, keyed by api key in
:mod:`core.protocol.codec`. Add an API by declaring it in one of these modules and
listing it here.
"""

from __future__ import annotations

from ..schema import ApiSchema
from .admin import (
    ALTER_CONFIGS,
    CREATE_PARTITIONS,
    CREATE_TOPICS,
    DELETE_TOPICS,
    DESCRIBE_CONFIGS,
    INCREMENTAL_ALTER_CONFIGS,
)
from .cluster import API_VERSIONS, DESCRIBE_CLUSTER, METADATA
from .consumer_protocol import CONSUMER_PROTOCOL_ASSIGNMENT, CONSUMER_PROTOCOL_SUBSCRIPTION
from .fetch import DELETE_RECORDS, FETCH, LIST_OFFSETS
from .groups import (
    DELETE_GROUPS,
    DESCRIBE_GROUPS,
    FIND_COORDINATOR,
    HEARTBEAT,
    JOIN_GROUP,
    LEAVE_GROUP,
    LIST_GROUPS,
    OFFSET_COMMIT,
    OFFSET_DELETE,
    OFFSET_FETCH,
    SYNC_GROUP,
)
from .produce import INIT_PRODUCER_ID, PRODUCE
from .sasl import SASL_AUTHENTICATE, SASL_HANDSHAKE

__all__ = ["ALL_APIS", "CONSUMER_PROTOCOL_SUBSCRIPTION", "CONSUMER_PROTOCOL_ASSIGNMENT"]

ALL_APIS: tuple[ApiSchema, ...] = (
    PRODUCE, FETCH, LIST_OFFSETS, METADATA, OFFSET_COMMIT, OFFSET_FETCH, FIND_COORDINATOR,
    JOIN_GROUP, HEARTBEAT, LEAVE_GROUP, SYNC_GROUP, DESCRIBE_GROUPS, LIST_GROUPS,
    API_VERSIONS, CREATE_TOPICS, DELETE_TOPICS, DELETE_RECORDS, INIT_PRODUCER_ID,
    DESCRIBE_CONFIGS, ALTER_CONFIGS, CREATE_PARTITIONS, DELETE_GROUPS,
    INCREMENTAL_ALTER_CONFIGS, OFFSET_DELETE, DESCRIBE_CLUSTER,
    SASL_HANDSHAKE, SASL_AUTHENTICATE,
)
