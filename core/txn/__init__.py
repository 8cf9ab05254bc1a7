"""Transactions: the transaction coordinator (``coordinator.py``).

The partition side (open transactions, the last stable offset, aborted transactions,
markers) lives with the producer state in ``core.idempotence``, below the broker; the
coordinator sits above the broker and the group coordinator and is built by
``core.node``. The API modules (AddPartitionsToTxn, AddOffsetsToTxn, EndTxn,
TxnOffsetCommit, DescribeProducers, DescribeTransactions, ListTransactions, and
InitProducerId with a transactional id) reach it through ``RequestContext.transactions``.
"""

from streamscope.core.txn.coordinator import (
    COMPLETE_ABORT,
    COMPLETE_COMMIT,
    EMPTY,
    ONGOING,
    PREPARE_ABORT,
    PREPARE_COMMIT,
    STATES,
    TransactionCoordinator,
    TxnMeta,
)

__all__ = [
    "COMPLETE_ABORT", "COMPLETE_COMMIT", "EMPTY", "ONGOING", "PREPARE_ABORT",
    "PREPARE_COMMIT", "STATES", "TransactionCoordinator", "TxnMeta",
]
