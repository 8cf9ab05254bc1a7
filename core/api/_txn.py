"""What the transaction APIs share: the coordinator or an error, and the fencing code
each request version knows. Not an API module (its name starts with ``_``).

Contract: :func:`for_version` maps the coordinator's PRODUCER_FENCED (90) to
INVALID_PRODUCER_EPOCH (47) for request versions older than the one that added it
(KIP-588: InitProducerId v4, AddPartitionsToTxn / AddOffsetsToTxn / EndTxn v2;
TxnOffsetCommit never lists it); every other code passes unchanged.
"""

from __future__ import annotations

from streamscope.core.errors import ErrorCode


def for_version(code: ErrorCode, version: int, fenced_since: int | None) -> int:
    """``code`` as a request of ``version`` may carry it (module docstring)."""
    if code == ErrorCode.PRODUCER_FENCED and (fenced_since is None or version < fenced_since):
        return int(ErrorCode.INVALID_PRODUCER_EPOCH)
    return int(code)
