"""ExternalService (issue 15): polls a real broker over the wire on its own thread at the
interval asked (settable while running), says when the cluster stops answering, and
leaves no thread behind when stopped."""

from __future__ import annotations

import threading

from confluent_kafka.admin import AdminClient, NewTopic
from streamscope.core.config import BrokerConfig
from streamscope.core.monitor.external import ExternalSettings
from streamscope.core.runtime import BrokerThread
from streamscope.desktop.external_service import ExternalService


def external_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name.startswith("streamscope-external")]


def test_polls_off_the_gui_thread_and_stops_clean(qtbot, tmp_path):
    bt = BrokerThread(BrokerConfig(host="127.0.0.1", port=0, data_dir=tmp_path / "d")).start()
    service = ExternalService("x", ExternalSettings(bt.bootstrap), interval_s=0.2,
                              timeout_s=5.0)
    stopped = False
    try:
        changes = []
        service.changed.connect(lambda: changes.append(service.state))
        service.start()
        assert service.state == "connecting" and not service.running
        qtbot.waitUntil(lambda: service.latest() is not None, timeout=10_000)
        assert service.running and service.last_error == ""
        assert "running" in changes
        assert service.stale_after_s == 2 * 0.2 + 2.0
        # A topic made meanwhile shows up at the next polls.
        admin = AdminClient({"bootstrap.servers": bt.bootstrap})
        admin.create_topics([NewTopic("fresh", 1)])["fresh"].result(10)
        qtbot.waitUntil(lambda: service.latest().topic("fresh") is not None, timeout=10_000)
        # The interval is the service's and the poller's.
        service.interval_s = 0.5
        assert service.interval_s == 0.5
        # The cluster goes away: the last snapshot stays, the error says why.
        bt.stop()
        stopped = True
        qtbot.waitUntil(lambda: bool(service.last_error), timeout=15_000)
        assert service.latest() is not None
        assert service.running  # still polling: the ticker judges staleness
    finally:
        service.stop(wait_s=10)
        if not stopped:
            bt.stop()
    assert service.state == "stopped" and service.finished
    assert not external_threads(), external_threads()
