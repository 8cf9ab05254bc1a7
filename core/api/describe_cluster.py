"""DescribeCluster (key 60), versions 0-1: the cluster id, controller and brokers.

Behaviour: one broker (``broker_id`` = node id, the advertised host and port, rack null);
``controller_id`` = node id; ``cluster_id`` = the broker's stable cluster id;
``cluster_authorized_operations`` INT32_MIN unless requested, then every cluster
operation (there is no ACL).

Version notes: v1 adds ``endpoint_type``: 1 (brokers) is served; 2 (controllers) gets
UNSUPPORTED_ENDPOINT_TYPE (115), as a Kafka broker answers it. Both versions are flexible.
"""

from __future__ import annotations

from streamscope.core.api import RequestContext
from streamscope.core.errors import ErrorCode

API_KEY = 60
MIN_VERSION = 0
MAX_VERSION = 1

INT32_MIN = -2147483648
# Kafka's AclOperation codes for the cluster: CREATE 5, ALTER 7, DESCRIBE 8, CLUSTER_ACTION 9,
# DESCRIBE_CONFIGS 10, ALTER_CONFIGS 11, IDEMPOTENT_WRITE 12.
CLUSTER_OPERATIONS = sum(1 << op for op in (5, 7, 8, 9, 10, 11, 12))
ENDPOINT_BROKERS = 1


async def handle(ctx: RequestContext, version: int, request: dict) -> dict:
    broker = ctx.broker
    endpoint_type = request.get("endpoint_type", ENDPOINT_BROKERS)
    if version >= 1 and endpoint_type != ENDPOINT_BROKERS:
        return {"throttle_time_ms": 0, "error_code": int(ErrorCode.UNSUPPORTED_ENDPOINT_TYPE),
                "error_message": "Only broker endpoints are served here.",
                "endpoint_type": endpoint_type, "cluster_id": broker.cluster_id,
                "controller_id": -1, "brokers": [],
                "cluster_authorized_operations": INT32_MIN}
    want_ops = bool(request.get("include_cluster_authorized_operations", False))
    return {
        "throttle_time_ms": 0,
        "error_code": 0,
        "error_message": None,
        "endpoint_type": ENDPOINT_BROKERS,
        "cluster_id": broker.cluster_id,
        "controller_id": broker.node_id,
        "brokers": [{"broker_id": broker.node_id, "host": ctx.advertised_host,
                     "port": ctx.advertised_port, "rack": None}],
        "cluster_authorized_operations": CLUSTER_OPERATIONS if want_ops else INT32_MIN,
    }
