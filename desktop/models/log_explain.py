"""What is under the pointer on a lane of the log view, what it means, and what a click
on it opens.

Contract: no Qt. :func:`hit` picks the frontmost :class:`~desktop.models.log_marks.Mark`
under a point (points before spans, tokens before the body), :func:`record_at` says which
record a click on a mark opens (if any, and only inside the retained log), and
:func:`explain` says in Kafka's words, with the live numbers, what a mark is: plain text
(client-chosen names are quoted as they are, never as markup).
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Sequence

from streamscope.desktop import format as fmt
from streamscope.desktop.models.log_marks import Kind, Mark
from streamscope.desktop.models.log_model import Lane


def hit(marks: Sequence[Mark], x: float, y: float) -> Mark | None:
    """The frontmost mark under (x, y): points before spans, tokens before the body."""
    best: Mark | None = None
    best_rank = 99
    for m in reversed(marks):
        if not m.contains(x, y):
            continue
        rank = _HIT_RANK.get(m.kind, 5)
        if rank < best_rank:
            best, best_rank = m, rank
    return best


_HIT_RANK = {
    Kind.COMMITTED: 0,
    Kind.READ: 0,
    Kind.READER: 0,
    Kind.PRODUCED: 0,
    Kind.LOG_START: 1,
    Kind.HIGH_WATERMARK: 1,
    Kind.STABLE: 1,
    Kind.UNSTABLE: 2,
    Kind.CLEAN: 2,
    Kind.DIRTY: 2,
    Kind.ABORTED: 2,
    Kind.TOKEN: 2,
    Kind.UNCOMMITTED: 3,
    Kind.SEGMENT: 3,
    Kind.LAG: 4,
    Kind.NO_COMMIT: 4,
    Kind.RATE: 4,
    Kind.LABEL: 4,
    Kind.BODY: 6,
    Kind.DELETED: 6,
}


def record_at(lane: Lane, mark: Mark, offset: float) -> int | None:
    """The record a click on ``mark`` at ``offset`` (the axis position) opens, if any."""
    if mark.kind == Kind.TOKEN:
        o = mark.offset
    elif mark.kind in (Kind.COMMITTED, Kind.READ, Kind.READER, Kind.PRODUCED):
        o = mark.offset  # the next record that reader gets
    elif mark.kind in (Kind.BODY, Kind.LAG, Kind.UNCOMMITTED, Kind.CLEAN, Kind.DIRTY,
                       Kind.ABORTED, Kind.UNSTABLE):
        o = math.floor(offset)
    else:
        return None
    if lane.log_start <= o < lane.high_watermark:
        return o
    return None


def _n(value: int) -> str:
    return fmt.count(value)


def _records(value: int) -> str:
    return fmt.plural(value, "record")


def _explain_cleaner(lane: Lane, mark: Mark) -> str:
    cl = lane.compaction
    assert cl is not None
    tp = lane.name
    if cl.state == "cleaning":
        state = f"The cleaner is compacting it now ({cl.progress:.0%} read)."
    elif cl.passes:
        freed = max(0, cl.bytes_read - cl.bytes_written)
        state = (f"The cleaner has run {fmt.plural(cl.passes, 'time')} here and freed "
                 f"{fmt.size(freed)}.")
    else:
        state = "The cleaner has not run here yet."
    if cl.last_error:
        state += f" Its last run failed: {cl.last_error}."
    if mark.kind == Kind.CLEAN:
        return (
            f"Cleaned (compacted) part of {tp}: offsets {_n(mark.offset)} to {_n(mark.end - 1)}.\n"
            "Compaction kept at least the latest record of every key here and removed older "
            "ones; offsets never change, so the log has gaps. " + state
        )
    return (
        f"Dirty part of {tp}: offsets {_n(mark.offset)} to {_n(mark.end - 1)}, written since "
        f"the last clean (dirty ratio {cl.dirty_ratio:.2f}).\nThe cleaner compacts it once "
        "the dirty ratio passes min.cleanable.dirty.ratio; the active segment (and records "
        "younger than min.compaction.lag.ms) is never cleaned. " + state
    )


def explain(lane: Lane, mark: Mark, offset: float | None = None) -> str:
    """What ``mark`` on ``lane`` is, in Kafka's terms and with the live numbers: plain
    text (client-chosen names are quoted as they are, never as markup)."""
    tp = lane.name
    ls, hw = lane.log_start, lane.high_watermark
    kind = mark.kind
    g = lane.groups[mark.group] if 0 <= mark.group < len(lane.groups) else None
    if kind == Kind.LOG_START:
        return (
            f"Log start offset of {tp} = {_n(ls)}: the oldest record still kept.\n"
            "Records below it were removed (retention or DeleteRecords) and can no longer "
            "be read."
        )
    if kind == Kind.HIGH_WATERMARK:
        last = f", offsets {_n(ls)} to {_n(hw - 1)}" if hw > ls else ""
        return (
            f"High watermark of {tp} = {_n(hw)}: the offset the next record appended will "
            f"get.\n{_records(lane.retained)} kept{last}."
        )
    if kind in (Kind.CLEAN, Kind.DIRTY) and lane.compaction is not None:
        return _explain_cleaner(lane, mark)
    if kind == Kind.ABORTED:
        return (
            f"Offsets {_n(mark.offset)} to {_n(mark.end - 1)} of {tp}: written by a "
            "transaction that was aborted.\nThe records stay in the log, followed by an "
            "abort marker: read_committed consumers skip them, read_uncommitted ones see "
            "them."
        )
    if kind in (Kind.STABLE, Kind.UNSTABLE) and lane.stable_offset is not None:
        lso = lane.stable_offset
        return (
            f"Last stable offset of {tp} = {_n(lso)}: an open transaction wrote at offset "
            f"{_n(lso)}, and has neither committed nor aborted.\nread_committed consumers "
            f"stop here until it ends; read_uncommitted ones read on to the high watermark "
            f"{_n(hw)} ({_records(hw - lso)} not yet stable)."
        )
    if kind == Kind.SEGMENT:
        bases = lane.segment_bases
        i = bisect.bisect_left(bases, mark.offset)
        if i + 1 < len(bases):
            which = f"to {_n(bases[i + 1] - 1)}, file {mark.offset:020d}.log."
        else:
            which = (
                f"on, file {mark.offset:020d}.log: the active segment, where new records "
                "are appended."
            )
        return (
            f"Segment of {tp} from offset {_n(mark.offset)} {which}\n"
            f"Retention deletes whole segments, oldest first. {tp} has "
            f"{fmt.plural(lane.segment_count, 'segment')}, {fmt.size(lane.size_bytes)}."
        )
    if kind == Kind.DELETED:
        return (
            f"Offsets {_n(mark.offset)} to {_n(mark.end - 1)} of {tp}: deleted (below the log "
            "start offset).\nThey are still in the oldest segment's file until retention "
            "removes the whole segment, but are never served again."
        )
    if kind == Kind.BODY:
        at = ""
        if offset is not None and ls <= offset < hw:
            at = f"\nClick to open offset {_n(math.floor(offset))} in the message browser."
        return (
            f"Records {_n(ls)} to {_n(hw - 1)} of {tp}: {_records(lane.retained)} kept."
            f"{at}"
        )
    if kind == Kind.TOKEN:
        if not mark.sampled:
            key = "key not sampled (at high rates only some batches are read back)"
        elif mark.key is None:
            key = "null key"
        else:
            key = f"key hash {mark.key & 0xFFFFFFFF:#010x}"
        return (
            f"New record at offset {_n(mark.offset)} of {tp}, {key}.\n"
            "Same colour, same key: a key's records all go to one partition and keep "
            "their order there.\nClick to open it in the message browser."
        )
    if kind == Kind.RATE:
        sampled = (
            "\nAt this rate not every record is drawn: the tokens are a sample."
            if lane.rate > 200
            else ""
        )
        return (
            f"{tp} receives {fmt.rate(lane.rate)} (records appended over the last second)."
            f"{sampled}"
        )
    if kind == Kind.LABEL:
        text = (
            f"Partition {lane.partition} of topic {lane.topic}: an append-only log. "
            f"Offsets {_n(ls)} to {_n(hw - 1) if hw > ls else '-'} are kept "
            f"({_records(lane.retained)}, {fmt.size(lane.size_bytes)}, "
            f"{fmt.plural(lane.segment_count, 'segment')})."
        )
        if lane.storage_problem and lane.storage_problem.startswith("unavailable"):
            text += (f"\nNo leader ({lane.storage_problem.split(': ', 1)[-1]}): producing "
                     "and reading wait until the cluster elects one.")
        elif lane.storage_problem:
            text += (f"\nStorage {lane.storage_problem}. Requests for it get "
                     "KAFKA_STORAGE_ERROR until the disk recovers.")
        return text
    if kind == Kind.PRODUCED:
        return (
            f"The record you produced: offset {_n(mark.offset)} of {tp}.\n"
            "Click to open it in the message browser."
        )
    if kind == Kind.READER:
        return (
            f"A reader outside any consumer group last fetched {tp} from offset "
            f"{_n(mark.offset)}: the next record it will be handed."
        )
    if g is None:
        return ""
    gid = g.group_id
    if kind == Kind.NO_COMMIT:
        return f"{gid} has committed no offset on {tp} and is not reading it now."
    if kind == Kind.LAG:
        assert g.committed is not None
        return (
            f"lag of {gid} on {tp} = high watermark {_n(g.high_watermark)} - committed "
            f"{_n(g.committed)} = {_records(g.lag if g.lag is not None else 0)}\n"
            "Records appended that the group has not committed yet."
        )
    if kind == Kind.UNCOMMITTED:
        assert g.committed is not None and g.read is not None
        n = g.uncommitted
        return (
            f"Read, not committed: {gid} has fetched offsets {_n(g.committed)} to "
            f"{_n(g.read - 1)} of {tp} ({_records(n)}) but committed only up to "
            f"{_n(g.committed)}.\nIf its consumer crashed now, these {_records(n)} would be "
            "delivered again."
        )
    if kind == Kind.COMMITTED:
        assert g.committed is not None
        lag = g.lag if g.lag is not None else max(0, g.high_watermark - g.committed)
        where = ""
        if mark.clipped:
            where = "\n(The cursor is outside the window: zoom out or press Whole log.)"
        return (
            f"Committed offset of {gid} on {tp} = {_n(g.committed)}: the group is done with "
            f"every record before it; after a restart or rebalance it resumes here.\n"
            f"lag = high watermark {_n(g.high_watermark)} - committed {_n(g.committed)} "
            f"= {_records(lag)}{where}"
        )
    if kind == Kind.READ:
        assert g.read is not None
        age = f", {g.read_age_s:.1f} s ago" if g.read_age_s is not None else ""
        if g.committed is None:
            vs = "It has committed nothing on this partition yet."
        elif g.read > g.committed:
            vs = (
                f"{_records(g.uncommitted)} ahead of its committed offset "
                f"{_n(g.committed)}: read, not committed."
            )
        elif g.read == g.committed:
            vs = "Equal to its committed offset: everything read is committed."
        else:
            vs = (
                f"Behind its committed offset {_n(g.committed)}: its last Fetch, from offset "
                f"{_n(g.read)}, returned records it is still working through and has "
                "committed some of."
            )
        return (
            f"Read position of {gid} on {tp} = {_n(g.read)}: its consumer ({g.reader}) last "
            f"fetched from here{age}; the next record it will be handed.\n{vs}"
        )
    return ""
