"""The broker thread's CPU priority (core/runtime.py, issue 11).

``BrokerThread(nice=N)`` runs the broker thread N steps nicer than the thread that
started it, on Linux where nice values are per thread, and leaves every other thread of
the process at its priority; the default changes nothing. Priorities are read back from
the kernel with ``getpriority`` on the thread ids.
"""

from __future__ import annotations

import os
import sys
import threading
from pathlib import Path

import pytest
from streamscope.core.config import BrokerConfig
from streamscope.core.runtime import BrokerThread, lower_thread_priority

pytestmark = pytest.mark.skipif(
    not sys.platform.startswith("linux"), reason="nice values are per thread on Linux only"
)
MAX_NICE = 19


def thread_nice() -> int:
    return os.getpriority(os.PRIO_PROCESS, threading.get_native_id())


def config(tmp_path: Path) -> BrokerConfig:
    return BrokerConfig(host="127.0.0.1", port=0, data_dir=tmp_path / "data")


def test_a_nicer_broker_thread_runs_below_its_starter_and_leaves_the_starter_alone(tmp_path):
    before = thread_nice()
    with BrokerThread(config(tmp_path), nice=5) as bt:
        on_broker = bt.call(thread_nice)
        assert thread_nice() == before
    assert on_broker == min(MAX_NICE, before + 5)


def test_a_broker_thread_by_default_keeps_its_starters_priority(tmp_path):
    before = thread_nice()
    with BrokerThread(config(tmp_path)) as bt:
        assert bt.call(thread_nice) == before


def test_lowering_one_threads_priority_does_not_touch_the_others():
    before = thread_nice()
    seen: list[tuple[bool, int]] = []

    def run() -> None:
        seen.append((lower_thread_priority(3), thread_nice()))

    worker = threading.Thread(target=run)
    worker.start()
    worker.join(10)
    assert seen == [(True, min(MAX_NICE, before + 3))]
    assert thread_nice() == before
