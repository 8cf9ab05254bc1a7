"""The monitor: frozen snapshots of a cluster, and the observers that build them.

``snapshot`` holds the immutable dataclasses (safe across threads); ``embedded`` builds
them from an in-process :class:`core.broker.Broker` on the broker's loop thread. An
external observer (a real Kafka client polling a cluster) fills the same classes.
The package exports the observer and every name in ``snapshot.__all__`` (listed once,
there).
"""

from streamscope.core.monitor import snapshot
from streamscope.core.monitor.embedded import EmbeddedObserver, build_snapshot
from streamscope.core.monitor.snapshot import *  # noqa: F403  (snapshot.__all__)

__all__ = ["EmbeddedObserver", "build_snapshot"]
__all__ += snapshot.__all__
