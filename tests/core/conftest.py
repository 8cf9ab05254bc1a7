"""The default ``broker`` fixture of the core tests.

Contract: a started broker with its group coordinator (:func:`tests.core.helpers.make_broker`)
and no listener, closed afterwards whatever the test did. A test module that needs another
configuration defines its own ``broker`` fixture, which wins over this one.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from streamscope.core.broker import Broker

from tests.core.helpers import make_broker


@pytest.fixture
async def broker(tmp_path: Path) -> AsyncIterator[Broker]:
    b = await make_broker(tmp_path / "data")
    try:
        yield b
    finally:
        await b.close()
