"""What views and dialogs may ask the broker to do, as functions of the broker.

Contract: every method takes plain values plus an ``on_done(result, error)`` callback
that runs later on the GUI thread (see :meth:`BrokerService.call`); nothing here blocks,
and no broker object ever leaves the broker thread. Refusals arrive as
:class:`core.errors.KafkaError`; :func:`error_text` renders them as Kafka users know them
(``INVALID_PARTITIONS: ...``). :meth:`Commands.in_worker` runs blocking work (the user
store's file I/O and key derivation) on a worker thread, answered the same way.
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

__all__ = ["Commands", "error_text", "validate_topic_name"]


def error_text(error: BaseException) -> str:
    if isinstance(error, KafkaError):
        return f"{error.code.name}: {error.message}" if error.message else error.code.name
    return str(error) or type(error).__name__


class Commands:
    def __init__(self, service: BrokerService) -> None:
        self.service = service
        # The service's own method, signature and all: a copy of its parameter list here
        # would be one more place to change when it grows one.
        self.start_consumers = service.start_consumers

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
        self._call(lambda b: b.create_topic(name, partitions, configs or None).name, on_done)

    def delete_topic(self, name: str, on_done: OnDone | None = None) -> None:
        self._call(lambda b: b.delete_topic(name), on_done)

    def add_partitions(self, name: str, total: int, on_done: OnDone | None = None) -> None:
        self._call(lambda b: b.add_partitions(name, total), on_done)

    def alter_topic_configs(
        self, name: str, configs: dict[str, str | None], on_done: OnDone | None = None
    ) -> None:
        """Incremental: ``None`` removes an override (back to the broker default)."""
        self._call(lambda b: b.alter_topic_configs(name, configs, incremental=True), on_done)

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

        self._call(run, on_done)

    def delete_group(self, group: str, on_done: OnDone | None = None) -> None:
        async def run(b: Any) -> None:
            result = await b.groups.delete_groups([group])
            # The coordinator answers per group (Kafka's DeleteGroups): surface a refusal.
            code = ErrorCode(result.get(group, ErrorCode.NONE))
            if code != ErrorCode.NONE:
                raise KafkaError(code, _delete_reason(code, group))

        self._call(run, on_done)


    def stop_consumers(self, group: str, on_done: OnDone | None = None) -> None:
        self.service.stop_consumers(group, on_done)

    def consumer_count(self, group: str) -> int:
        return self.service.consumer_count(group)

    # -- one in-process member ---------------------------------------------------------

    def local_member(self, group: str, member_id: str) -> LocalConsumer | None:
        """The in-process consumer started here that is ``member_id``, if it is one."""
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
