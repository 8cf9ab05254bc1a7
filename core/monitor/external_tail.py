"""Sampled tailing of an external cluster's topics on screen: the new records the Log page
colours by key, read over the wire (issue 15).

Contract:

* :class:`SampledTail` holds one confluent-kafka ``Consumer`` that is only ever
  *assigned* (never subscribes, never joins a group, never commits: ``enable.auto.commit``
  and ``enable.auto.offset.store`` are off, its ``group.id`` is unique and unused).
  :meth:`follow` assigns the named partitions at the high watermarks it is given (the
  snapshot's: what is written after that snapshot is seen; a partition already followed
  keeps its position); partitions no longer named are unassigned.
* :meth:`sample` BLOCKS for at most ``wait_s`` (the poller's thread calls it, never an
  event loop or the GUI thread) and takes at most ``budget`` records from what arrived.
  Consecutive records of one partition become one :class:`~core.monitor.activity.AppendSample`
  (``key_hashes``: :func:`core.monitor.feed.key_hash` of each key, as the embedded
  broker's feed, so a key has the same colour on both). The newest ``keep`` samples are
  kept and returned, ``seq`` increasing. A partition further behind its end than
  ``skip_behind`` records jumps to the end; what it skipped counts in :attr:`dropped`
  (sampling, as the embedded feed's ``appends_dropped``).
* :attr:`dropped` and the samples may be read between calls; :meth:`close` closes the
  consumer (idempotent). Errors reaching the cluster are not raised here: the poller's
  own requests report them; a tail that cannot read just yields nothing new.
"""

from __future__ import annotations

import time
import uuid
from collections import deque
from collections.abc import Iterable, Mapping
from typing import Any

from confluent_kafka import OFFSET_END, Consumer, TopicPartition
from streamscope.core.external_conn import ExternalSettings
from streamscope.core.monitor.activity import AppendSample
from streamscope.core.monitor.feed import key_hash

__all__ = ["SampledTail"]


class SampledTail:
    def __init__(self, settings: ExternalSettings, *, budget: int = 2000, keep: int = 512,
                 skip_behind: int = 5000) -> None:
        self.budget = budget
        self.keep = keep
        self.skip_behind = skip_behind
        conf: dict[str, Any] = dict(settings.client_config())
        conf.update({
            "group.id": f"streamscope-tail-{uuid.uuid4().hex}",
            "client.id": "streamscope-tail",
            "enable.auto.commit": False,
            "enable.auto.offset.store": False,
            "auto.offset.reset": "latest",
            "allow.auto.create.topics": False,
            "queued.max.messages.kbytes": 4096,  # what waits in the client is bounded
            "log_level": 0,
        })
        self._consumer: Consumer | None = Consumer(conf)
        self._followed: dict[tuple[str, int], None] = {}
        self._samples: deque[AppendSample] = deque(maxlen=keep)
        self._seq = 0
        self.dropped = 0

    def follow(self, ends: Mapping[tuple[str, int], int]) -> None:
        """Follow these partitions ((topic, partition) -> its high watermark now): a new
        one from that offset, so what is written after it is seen; others stop."""
        if self._consumer is None:
            return
        wanted = set(ends)
        if wanted == set(self._followed):
            return
        gone = [TopicPartition(t, p) for t, p in self._followed if (t, p) not in wanted]
        new = [TopicPartition(t, p, ends[(t, p)] if ends[(t, p)] >= 0 else OFFSET_END)
               for t, p in sorted(wanted) if (t, p) not in self._followed]
        if gone:
            self._consumer.incremental_unassign(gone)
        if new:
            self._consumer.incremental_assign(new)
        self._followed = dict.fromkeys(sorted(wanted))

    def sample(self, wait_s: float = 0.0,
               high_watermarks: Mapping[tuple[str, int], int] | None = None
               ) -> tuple[AppendSample, ...]:
        """Take what arrived (at most ``budget`` records), newest ``keep`` samples back."""
        if self._consumer is None or not self._followed:
            return tuple(self._samples)
        messages: list[Any] = []
        deadline = time.monotonic() + wait_s
        while len(messages) < self.budget:
            left = max(0.0, deadline - time.monotonic())
            got = self._consumer.consume(num_messages=self.budget - len(messages), timeout=left)
            got = [m for m in got if m.error() is None]
            if not got:
                break
            messages.extend(got)
        self._add(messages)
        if high_watermarks:
            self._skip_ahead(high_watermarks)
        return tuple(self._samples)

    def _add(self, messages: Iterable[Any]) -> None:
        now = time.time()
        run: list[Any] = []
        for m in messages:
            if run and (m.topic() != run[-1].topic() or m.partition() != run[-1].partition()
                        or m.offset() != run[-1].offset() + 1):
                self._push(run, now)
                run = []
            run.append(m)
        if run:
            self._push(run, now)

    def _push(self, run: list[Any], now: float) -> None:
        self._seq += 1
        self._samples.append(AppendSample(
            seq=self._seq, topic=run[0].topic(), partition=run[0].partition(),
            base_offset=run[0].offset(), last_offset=run[-1].offset(),
            max_timestamp_ms=max(m.timestamp()[1] for m in run), at=now,
            key_hashes=tuple(key_hash(m.key()) for m in run)))

    def _skip_ahead(self, high_watermarks: Mapping[tuple[str, int], int]) -> None:
        assert self._consumer is not None
        far = []
        try:
            positions = self._consumer.position(
                [TopicPartition(t, p) for t, p in self._followed])
        except Exception:  # noqa: BLE001 - not assigned yet, or the cluster went away
            return
        for tp in positions:
            hw = high_watermarks.get((tp.topic, tp.partition))
            if hw is not None and tp.offset >= 0 and hw - tp.offset > self.skip_behind:
                self.dropped += hw - tp.offset
                far.append(TopicPartition(tp.topic, tp.partition, hw))
        for tp in far:
            self._consumer.seek(tp)

    def close(self) -> None:
        if self._consumer is not None:
            consumer, self._consumer = self._consumer, None
            consumer.close()
