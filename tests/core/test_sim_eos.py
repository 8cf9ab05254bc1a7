"""Lesson 10's engine: consume-transform-produce with a crash in the middle, at least
once and exactly once (core/sim/eos.py).

Real confluent-kafka clients against a real serving node: the transformer is a child
process that SIGKILLs itself after its outputs are acknowledged and before its input
offsets are committed; a second instance takes over. The output topic is read back with
read_committed and read_uncommitted and every (partner, seq) counted.
"""

from __future__ import annotations

import pytest
from streamscope.core.node import Node
from streamscope.core.sim.eos import run_transform

pytestmark = pytest.mark.timeout(180)


async def test_at_least_once_processes_the_crashed_batch_again(node: Node) -> None:
    result = await run_transform(node.bootstrap, exactly_once=False, records=120,
                                 crash_after=50, timeout_s=60)
    # The first instance died mid-batch (50 is not a multiple of the batch size, 20):
    # the outputs of that batch it had produced are written again by the second.
    assert result.missing == 0
    assert result.duplicates == 10
    assert result.committed_view == 130 and result.in_log == 130 and result.aborted == 0


async def test_exactly_once_leaves_no_duplicate_for_read_committed(node: Node) -> None:
    result = await run_transform(node.bootstrap, exactly_once=True, records=120,
                                 crash_after=50, timeout_s=60)
    assert result.missing == 0 and result.duplicates == 0
    assert result.committed_view == 120
    # The dead instance's open transaction was aborted: its 10 outputs are in the log,
    # and a read_uncommitted reader sees them.
    assert result.aborted == 10 and result.in_log == 130
