"""Process-wide settings belong to the app's entry point, not to the app object tests build.

``desktop.app.main`` freezes the GC once the broker is up and tunes the allocator; the
:class:`desktop.app.Streamscope` that tests (and benchmarks) build does neither, so a test
run's process is not changed behind its back.
"""

from __future__ import annotations

import gc


def test_the_app_object_leaves_the_garbage_collector_alone(app_shell, qtbot):
    # app_shell waited for the broker to listen and for the first snapshot: past the point
    # where the app object used to call gc.freeze().
    qtbot.waitUntil(lambda: "Listening on" in app_shell.window.status_listener.text(),
                    timeout=10_000)  # the started signal was handled
    assert gc.get_freeze_count() == 0
