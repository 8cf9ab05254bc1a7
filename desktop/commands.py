"""What views and dialogs may ask the broker to do, as functions of the broker.

Contract: every method takes plain values plus an ``on_done(result, error)`` callback
that runs later on the GUI thread (see :meth:`BrokerService.call`); nothing here blocks,
and no broker object ever leaves the broker thread. Refusals arrive as
:class:`core.errors.KafkaError`; :func:`error_text` renders them as Kafka users know them
(``INVALID_PARTITIONS: ...``). :meth:`Commands.in_worker` runs blocking work (the user
store's file I/O and key derivation) on a worker thread, answered the same way.

External mode (issue 15): after :meth:`Commands.set_external` with an
:class:`~desktop.external_service.ExternalService`, the topic and group commands go to
that cluster's :class:`core.monitor.external_admin.ExternalAdmin` on the service's worker
thread instead (its refusals arrive as :class:`core.monitor.external.ExternalError`,
"CODE_NAME: message"); :meth:`Commands.route` lets a dialog pass both versions of its work
(a function of the broker, a function of the admin). What only the embedded broker has
(in-process consumers and their members) refuses with :data:`EMBEDDED_ONLY` in external
mode; the window disables those actions then, saying why. ``set_external(None)`` returns
to the embedded broker.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import Any

from streamscope.core.broker import validate_topic_name
from streamscope.core.config import LogConfig
from streamscope.core.errors import ErrorCode, KafkaError
from streamscope.desktop.broker_service import BrokerService, LocalConsumer, OnDone

__all__ = ["EMBEDDED_ONLY", "Commands", "error_text", "validate_topic_name"]

EMBEDDED_ONLY = "only the embedded broker has this; switch the cluster to Embedded to use it"


def error_text(error: BaseException) -> str:
    if isinstance(error, KafkaError):
        return f"{error.code.name}: {error.message}" if error.message else error.code.name
    return str(error) or type(error).__name__


class Commands:
    def __init__(self, service: BrokerService) -> None:
        self.service = service
        # The service's own method, signature and all: a copy of its parameter list here
        # would be one more place to change when it grows one.
        self._start_consumers = service.start_consumers
        self.external: Any = None  # an ExternalService while an external cluster is shown

    def set_external(self, external: Any) -> None:
        """Route commands to ``external`` (an ExternalService), or back to the embedded
        broker with None."""
        self.external = external

    @property
    def external_mode(self) -> bool:
        return self.external is not None

    def route(self, embedded: Callable[[Any], Any], external: Callable[[Any], Any],
              on_done: OnDone | None = None) -> None:
        """``embedded(broker)`` on the broker loop, or in external mode ``external(admin)``
        on the external service's worker thread (blocking is fine there)."""
        if self.external is not None:
            self.external.admin_call(external, on_done)
        else:
            self._call(embedded, on_done)

    def start_consumers(self, *args: Any, **kwargs: Any) -> None:
        """In-process consumers on the embedded broker (BrokerService.start_consumers)."""
        if self.external is not None:
            on_done = kwargs.get("on_done", args[4] if len(args) > 4 else None)
            if on_done is not None:
                on_done(None, RuntimeError(EMBEDDED_ONLY))
            return
        self._start_consumers(*args, **kwargs)

    @property
    def log_defaults(self) -> LogConfig:
        """The broker's topic defaults: what a topic without config overrides follows."""
        return self.service.config.log

    def _call(self, fn: Callable[[Any], Any], on_done: OnDone | None) -> None:
        self.service.call(fn, on_done)

    def in_worker(self, fn: Callable[[], Any], on_done: OnDone | None = None) -> None:
        """``fn()`` on a worker thread (file I/O, key derivation: neither the GUI thread
        nor the broker loop waits for it); ``on_done(result, error)`` on the GUI thread."""
        self._call(lambda _b: asyncio.to_thread(fn), on_done)

    @property
    def data_dir(self) -> Path:
        """Where the broker keeps its files (``users.json`` among them)."""
        return Path(self.service.config.data_dir)

    # -- topics ------------------------------------------------------------------------

    def create_topic(
        self,
        name: str,
        partitions: int,
        configs: dict[str, str] | None,
        on_done: OnDone | None = None,
    ) -> None:
        # The broker's create_topic returns the live Topic object: return only its name so
        # no broker object crosses to the GUI thread.
        def external(a: Any) -> str:
            a.create_topic(name, partitions, configs=configs or None)
            return name

        self.route(lambda b: b.create_topic(name, partitions, configs or None).name, external,
                   on_done)

    def delete_topic(self, name: str, on_done: OnDone | None = None) -> None:
        self.route(lambda b: b.delete_topic(name), lambda a: a.delete_topic(name), on_done)

    def add_partitions(self, name: str, total: int, on_done: OnDone | None = None) -> None:
        self.route(lambda b: b.add_partitions(name, total),
                   lambda a: a.add_partitions(name, total), on_done)

    def alter_topic_configs(
        self, name: str, configs: dict[str, str | None], on_done: OnDone | None = None
    ) -> None:
        """Incremental: ``None`` removes an override (back to the broker default)."""
        set_configs = {k: v for k, v in configs.items() if v is not None}
        delete = [k for k, v in configs.items() if v is None]
        self.route(lambda b: b.alter_topic_configs(name, configs, incremental=True),
                   lambda a: a.alter_topic_configs(name, set_configs, delete), on_done)

    # -- groups ------------------------------------------------------------------------

    def reset_offsets(
        self, group: str, topic: str | None, kind: str, value: int, on_done: OnDone | None = None
    ) -> None:
        from streamscope.core.groups.model import OffsetSpec

        spec = OffsetSpec(kind, value)

        async def run(b: Any) -> dict[tuple[str, int], int]:
            topics = [topic] if topic else sorted({tp[0] for tp in _group_partitions(b, group)})
            if not topics:
                raise KafkaError(ErrorCode.INVALID_REQUEST, f"group {group} has no topics to reset")
            new: dict[tuple[str, int], int] = {}
            for t in topics:
                new.update(await b.groups.reset_offsets(group, t, spec))
            return new

        if self.external is not None:
            self._reset_external(group, topic, kind, value, on_done)
            return
        self._call(run, on_done)

    def _reset_external(
        self, group: str, topic: str | None, kind: str, value: int, on_done: OnDone | None
    ) -> None:
        to: str | int
        if kind in ("earliest", "latest"):
            to = kind
        elif kind == "offset":
            to = int(value)
        elif kind == "timestamp":
            to = f"ts:{int(value)}"
        else:
            if on_done is not None:
                on_done(None, RuntimeError(
                    f"resetting by {kind} is not available on an external cluster"))
            return
        partitions = None
        snap = self.external.latest()
        if topic and snap is not None:
            g = next((g for g in snap.groups if g.group_id == group), None)
            tps = {(o.topic, o.partition) for o in g.offsets} if g is not None else set()
            partitions = sorted(tp for tp in tps if tp[0] == topic) or None
            if partitions is None:
                t = next((t for t in snap.topics if t.name == topic), None)
                partitions = [(topic, p.index) for p in t.partitions] if t is not None else None
        self.external.admin_call(lambda a: a.reset_offsets(group, to, partitions), on_done)

    def delete_group(self, group: str, on_done: OnDone | None = None) -> None:
        async def run(b: Any) -> None:
            result = await b.groups.delete_groups([group])
            # The coordinator answers per group (Kafka's DeleteGroups): surface a refusal.
            code = ErrorCode(result.get(group, ErrorCode.NONE))
            if code != ErrorCode.NONE:
                raise KafkaError(code, _delete_reason(code, group))

        self.route(run, lambda a: a.delete_group(group), on_done)


    def stop_consumers(self, group: str, on_done: OnDone | None = None) -> None:
        if self.external is not None:
            if on_done is not None:
                on_done(None, RuntimeError(EMBEDDED_ONLY))
            return
        self.service.stop_consumers(group, on_done)

    def consumer_count(self, group: str) -> int:
        if self.external is not None:
            return 0  # no in-process consumer ever joins an external cluster's group
        return self.service.consumer_count(group)

    # -- one in-process member ---------------------------------------------------------

    def local_member(self, group: str, member_id: str) -> LocalConsumer | None:
        """The in-process consumer started here that is ``member_id``, if it is one."""
        if self.external is not None:
            return None
        return self.service.local_member(group, member_id)

    def stop_member(self, group: str, member_id: str, on_done: OnDone | None = None) -> None:
        """Gracefully: commit, LeaveGroup; the group rebalances at once."""
        self.service.member_action(group, member_id, "stop", on_done)

    def kill_member(self, group: str, member_id: str, on_done: OnDone | None = None) -> None:
        """Abruptly: no commit, no LeaveGroup; the group notices at the session timeout."""
        self.service.member_action(group, member_id, "kill", on_done)

    def pause_member(self, group: str, member_id: str, on_done: OnDone | None = None) -> None:
        """Stop handing out records (heartbeats go on, so it keeps its partitions)."""
        self.service.member_action(group, member_id, "pause", on_done)

    def resume_member(self, group: str, member_id: str, on_done: OnDone | None = None) -> None:
        self.service.member_action(group, member_id, "resume", on_done)


def _group_partitions(b: Any, group: str) -> list[tuple[str, int]]:
    for g in b.groups.snapshot():
        if g.group_id == group:
            tps = set(g.offsets)
            for m in g.members:
                for t, ps in m.assignment.items():
                    tps.update((t, p) for p in ps)
            return sorted(tps)
    raise KafkaError(ErrorCode.GROUP_ID_NOT_FOUND, f"group {group} does not exist")


def _delete_reason(code: ErrorCode, group: str) -> str:
    if code == ErrorCode.NON_EMPTY_GROUP:
        return f"group {group} still has members; stop them first"
    if code == ErrorCode.GROUP_ID_NOT_FOUND:
        return f"group {group} does not exist"
    return f"group {group} could not be deleted"
