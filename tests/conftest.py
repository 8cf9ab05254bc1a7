"""Fixtures every test directory may use: ``tansu`` (a Tansu broker on a free port, see
:mod:`tests.tansu`; skipped with the reason only where its wheel cannot be installed);
``rdkafka_cluster`` and ``tansu_cluster`` (multi-broker clusters, see
:mod:`tests.multibroker`; skipped with the reason where they cannot run)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.multibroker import (
    MockCluster,
    MultiBrokerMissing,
    TansuCluster,
    run_tansu_cluster,
)
from tests.tansu import TansuMissing, run_tansu, tansu_binary


@pytest.fixture
def tansu(tmp_path: Path) -> Iterator[str]:
    try:
        tansu_binary()
    except TansuMissing as exc:
        pytest.skip(str(exc))
    yield from run_tansu(tmp_path)


@pytest.fixture
def rdkafka_cluster() -> Iterator[MockCluster]:
    """librdkafka's mock cluster of 3 brokers (see :mod:`tests.multibroker`)."""
    try:
        cluster = MockCluster(3)
    except MultiBrokerMissing as exc:
        pytest.skip(str(exc))
    with cluster:
        yield cluster


@pytest.fixture
def tansu_cluster(tmp_path: Path) -> Iterator[TansuCluster]:
    """3 Tansu brokers over one S3 bucket (moto's server), see :mod:`tests.multibroker`."""
    try:
        tansu_binary()
        import moto.server  # noqa: F401
    except (TansuMissing, ImportError) as exc:
        pytest.skip(f"several Tansu brokers cannot run here: {exc}")
    yield from run_tansu_cluster(tmp_path, 3)
