"""Property test: random appends, rolls, retention, delete-records and reopens agree with
a plain in-memory model of a Kafka partition log (offsets, segments, records)."""

from __future__ import annotations

import tempfile
from dataclasses import dataclass, field, replace
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from streamscope.core.config import LogConfig
from streamscope.core.log import PartitionLog
from streamscope.core.records import Compression, build_batch, iter_all_records, validate_batches

CONFIG = LogConfig(
    segment_bytes=600,
    segment_ms=10**15,
    retention_ms=-1,
    retention_bytes=-1,
    index_interval_bytes=150,
)


@dataclass
class Model:
    """What a Kafka partition log should hold, without files."""

    records: list[tuple[int, bytes | None, bytes | None]] = field(default_factory=list)
    segments: list[list[int]] = field(default_factory=lambda: [[0, 0]])  # [base, size]
    log_start: int = 0

    @property
    def log_end(self) -> int:
        return len(self.records)

    def append(self, batches: list[bytes], kv: list[list[tuple[bytes | None, bytes | None]]]):
        size = sum(len(b) for b in batches)
        active = self.segments[-1]
        if active[1] and active[1] + size > CONFIG.segment_bytes:
            self.roll()
        self.segments[-1][1] += size
        for records in kv:
            for key, value in records:
                self.records.append((self.log_end, key, value))

    def roll(self) -> None:
        if self.segments[-1][1]:
            self.segments.append([self.log_end, 0])

    def next_base(self, i: int) -> int:
        return self.segments[i + 1][0] if i + 1 < len(self.segments) else self.log_end

    def retention_bytes(self, limit: int) -> None:
        excess = sum(s for _, s in self.segments) - limit
        count = 0
        for _base, size in self.segments:
            if size == 0 or excess - size < 0:
                break
            excess -= size
            count += 1
        if count == len(self.segments):
            self.roll()
        del self.segments[:count]
        self.log_start = max(self.log_start, self.segments[0][0])

    def delete_records(self, before: int) -> None:
        if before <= self.log_start:
            return
        self.log_start = before
        if before == self.log_end:
            self.roll()
        while len(self.segments) > 1 and self.next_base(0) <= before:
            del self.segments[0]


keys = st.none() | st.binary(min_size=1, max_size=6)
values = st.none() | st.binary(max_size=150)
batch_records = st.lists(st.tuples(keys, values), min_size=1, max_size=8)
append_op = st.tuples(
    st.just("append"),
    st.lists(batch_records, min_size=1, max_size=3),
    st.sampled_from([Compression.NONE, Compression.LZ4, Compression.GZIP]),
)
ops = st.one_of(
    append_op,
    append_op,
    append_op,
    st.tuples(st.just("roll")),
    st.tuples(st.just("retention"), st.integers(min_value=0, max_value=3_000)),
    st.tuples(st.just("delete"), st.integers(min_value=-1, max_value=1_000)),
    st.tuples(st.just("reopen")),
)


def check(log: PartitionLog, model: Model) -> None:
    assert (log.log_start_offset, log.log_end_offset) == (model.log_start, model.log_end)
    assert [(i.base_offset, i.size_bytes) for i in log.segment_infos()] == [
        tuple(s) for s in model.segments
    ]
    assert log.size_bytes == sum(s for _, s in model.segments)
    expected = {o: (k, v) for o, k, v in model.records}
    # Everything from the log start in one read, then every offset on its own.
    if model.log_start < model.log_end:
        whole = [r for r in iter_all_records(log.read(model.log_start, 1 << 30))]
        live = [(r.offset, r.key, r.value) for r in whole if r.offset >= model.log_start]
        assert live == model.records[model.log_start :]
    for offset in range(model.log_start, model.log_end):
        got = list(iter_all_records(log.read(offset, 1)))
        assert got[0].offset <= offset <= got[-1].offset
        assert all(expected[r.offset] == (r.key, r.value) for r in got)
    assert log.read(model.log_end, 100) == b""


@settings(
    max_examples=50,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(steps=st.lists(ops, min_size=10, max_size=40))
def test_log_matches_an_in_memory_model(steps) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        d = Path(tmp) / "t-0"
        log = PartitionLog.open(d, CONFIG)
        model = Model()
        try:
            for step in steps:
                kind = step[0]
                if kind == "append":
                    _, batches_kv, codec = step
                    batches = [
                        build_batch(list(kv), base_timestamp=1_000, compression=codec)
                        for kv in batches_kv
                    ]
                    data = bytearray(b"".join(batches))
                    first, last = log.append(data, validate_batches(data))
                    assert first == model.log_end
                    model.append(batches, batches_kv)
                    assert last == model.log_end - 1
                elif kind == "roll":
                    log.roll()
                    model.roll()
                elif kind == "retention":
                    log.config = replace(CONFIG, retention_bytes=step[1])
                    log.enforce_retention()
                    log.config = CONFIG
                    model.retention_bytes(step[1])
                elif kind == "delete":
                    span = model.log_end - model.log_start + 1
                    before = -1 if step[1] < 0 else model.log_start + step[1] % span
                    assert log.delete_records(before) == max(
                        model.log_start, model.log_end if before < 0 else before
                    )
                    model.delete_records(model.log_end if before < 0 else before)
                elif kind == "reopen":
                    log.close()
                    log = PartitionLog.open(d, CONFIG)
                check(log, model)
        finally:
            log.close()
