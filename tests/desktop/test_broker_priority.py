"""The app's broker thread gives way to its GUI thread (desktop/broker_service.py, issue 11).

Under load the GUI thread's repaints waited for a core behind the broker thread of the same
process; the service starts the broker thread ``BROKER_NICE`` steps nicer (Linux keeps a
nice value per thread). Read back from the kernel for the real app on a real broker.
"""

from __future__ import annotations

import os
import sys
import threading

import pytest
from streamscope.core.broker import Broker
from streamscope.desktop.broker_service import BROKER_NICE

pytestmark = pytest.mark.skipif(
    not sys.platform.startswith("linux"), reason="nice values are per thread on Linux only"
)
MAX_NICE = 19


def thread_nice(_broker: Broker | None = None) -> int:
    return os.getpriority(os.PRIO_PROCESS, threading.get_native_id())


def test_the_apps_broker_thread_runs_nicer_than_its_gui_thread(app_shell):
    gui = thread_nice()
    broker = app_shell.service.submit(thread_nice).result(10)
    assert BROKER_NICE > 0
    assert broker == min(MAX_NICE, gui + BROKER_NICE)
    assert thread_nice() == gui  # the GUI thread kept its priority
