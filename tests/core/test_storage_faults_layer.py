"""The fault-injecting file layer, and what the log does on top of a failing disk.

Real files in tmp dirs; faults come from ``files.FaultyFiles`` installed in place of the
real layer. A failing write, short write, truncate or read must surface as
KAFKA_STORAGE_ERROR and never leave a partial batch or a wrong offset behind.
"""

from __future__ import annotations

import errno
import os
from pathlib import Path

import pytest
from streamscope.core.config import LogConfig
from streamscope.core.errors import ErrorCode, KafkaError
from streamscope.core.log import PartitionLog, files
from streamscope.core.log.files import FaultyFiles, FileOps
from streamscope.core.records import build_batch, iter_all_records, iter_batches, validate_batches


def append_one(log: PartitionLog, value: bytes) -> int:
    data = bytearray(build_batch([(None, value)]))
    first, _last = log.append(data, validate_batches(data))
    return first


def all_values(log: PartitionLog) -> list[bytes]:
    out: list[bytes] = []
    offset = log.log_start_offset
    while offset < log.log_end_offset:
        chunk = log.read(offset, 1 << 20)
        recs = list(iter_all_records(chunk))
        assert recs and recs[0].offset <= offset
        for r in recs:
            if r.offset >= offset:
                assert r.offset == offset, "offsets must be dense"
                out.append(r.value or b"")
                offset += 1
    return out


def assert_file_is_whole_batches(path: Path) -> None:
    raw = path.read_bytes()
    end = 0
    for h, _view in iter_batches(raw):  # iter_batches checks framing
        end += h.batch_length + 12
    assert end == len(raw), f"{path.name}: {len(raw) - end} stray bytes after the last batch"


def storage_error(exc: pytest.ExceptionInfo[KafkaError]) -> str:
    assert exc.value.code == ErrorCode.KAFKA_STORAGE_ERROR
    return exc.value.message


@pytest.fixture
def log(tmp_path: Path) -> PartitionLog:
    plog = PartitionLog.open(tmp_path / "orders-0", LogConfig(index_interval_bytes=64))
    yield plog
    plog.close()


def test_installed_swaps_the_layer_and_puts_the_real_one_back() -> None:
    real = files.FILES
    assert type(real) is FileOps
    with files.installed(FaultyFiles()) as ff:
        assert files.FILES is ff
    assert files.FILES is real


def test_faults_fire_the_number_of_times_asked_and_only_on_matching_paths(
    tmp_path: Path,
) -> None:
    ff = FaultyFiles()
    a = ff.open(tmp_path / "orders-0.log", os.O_RDWR | os.O_CREAT)
    b = ff.open(tmp_path / "audit-0.log", os.O_RDWR | os.O_CREAT)
    try:
        ff.fail_next("write", errno.ENOSPC, times=2, path_contains="orders")
        assert ff.write(b, b"fine") == 4  # another path: untouched
        for _ in range(2):
            with pytest.raises(OSError) as info:
                ff.write(a, b"x")
            assert info.value.errno == errno.ENOSPC
        assert ff.write(a, b"ok") == 2
        ff.fail_next("fsync", errno.EIO, times=None)  # until healed; covers fdatasync too
        for sync in (ff.fsync, ff.fdatasync, ff.fsync):
            with pytest.raises(OSError):
                sync(a)
        ff.heal()
        ff.fdatasync(a)
        ff.short_write_next(keep=0.25)
        assert ff.write(a, b"12345678") == 2
        assert ff.injected["write"] == 3 and ff.injected["fsync"] == 2
        assert ff.pending == 0
        with pytest.raises(ValueError):
            ff.fail_next("rename")
    finally:
        ff.close(a)
        ff.close(b)
    assert (tmp_path / "orders-0.log").read_bytes() == b"ok12"


def test_a_failed_write_leaves_the_log_as_it_was_and_the_next_append_is_dense(
    log: PartitionLog,
) -> None:
    for n in range(3):
        append_one(log, b"before-%d" % n)
    with files.installed(FaultyFiles()) as ff:
        ff.fail_next("write", errno.ENOSPC, path_contains=".log")
        with pytest.raises(KafkaError) as info:
            append_one(log, b"lost")
        assert "No space left on device" in storage_error(info)
        assert log.log_end_offset == 3
        assert append_one(log, b"after") == 3
    assert all_values(log) == [b"before-0", b"before-1", b"before-2", b"after"]
    assert_file_is_whole_batches(log.directory / "00000000000000000000.log")


def test_a_short_write_that_then_fails_is_cut_back_to_the_last_batch(log: PartitionLog) -> None:
    append_one(log, b"first")
    path = log.directory / "00000000000000000000.log"
    size = path.stat().st_size
    with files.installed(FaultyFiles()) as ff:
        ff.short_write_next(path_contains=".log")
        ff.fail_next("write", errno.ENOSPC, path_contains=".log")
        with pytest.raises(KafkaError) as info:
            append_one(log, b"x" * 500)
        storage_error(info)
        assert ff.injected["write"] == 2
    assert path.stat().st_size == size  # the half batch is gone
    assert append_one(log, b"second") == 1
    assert all_values(log) == [b"first", b"second"]


def test_a_short_write_alone_is_finished_and_the_batch_is_whole(log: PartitionLog) -> None:
    with files.installed(FaultyFiles()) as ff:
        ff.short_write_next(times=3, keep=0.3)
        for n in range(3):
            assert append_one(log, b"v" * 300 + b"%d" % n) == n
    assert [v[-1:] for v in all_values(log)] == [b"0", b"1", b"2"]
    assert_file_is_whole_batches(log.directory / "00000000000000000000.log")


def test_when_even_the_cut_fails_later_appends_cut_first_and_never_build_on_garbage(
    tmp_path: Path, log: PartitionLog,
) -> None:
    append_one(log, b"kept")
    path = log.directory / "00000000000000000000.log"
    with files.installed(FaultyFiles()) as ff:
        ff.short_write_next(path_contains=".log")
        ff.fail_next("write", errno.EIO, path_contains=".log")
        ff.fail_next("ftruncate", errno.EIO, times=2, path_contains=".log")
        with pytest.raises(KafkaError):
            append_one(log, b"y" * 400)  # half of it stays on disk: the cut failed
        assert path.stat().st_size > log.size_bytes
        with pytest.raises(KafkaError):
            append_one(log, b"refused")  # the cut is retried first, and fails again
        assert append_one(log, b"next") == 1  # cut now succeeds, then the write
    assert all_values(log) == [b"kept", b"next"]
    assert_file_is_whole_batches(path)
    log.close()
    again = PartitionLog.open(log.directory, LogConfig(index_interval_bytes=64))
    try:
        assert all_values(again) == [b"kept", b"next"]
    finally:
        again.close()


def test_a_failing_read_is_a_storage_error_and_reads_work_again_once_healed(
    log: PartitionLog,
) -> None:
    for n in range(5):
        append_one(log, b"r%d" % n)
    with files.installed(FaultyFiles()) as ff:
        ff.fail_next("pread", errno.EIO, times=None, path_contains="orders-0")
        with pytest.raises(KafkaError) as info:
            log.read(2, 1 << 20)
        assert "Input/output error" in storage_error(info)
        ff.heal()
        assert [r.value for r in iter_all_records(log.read(2, 1 << 20))][-3:] == [b"r2", b"r3", b"r4"]


def test_a_failing_index_write_does_not_fail_appends_and_recovery_rebuilds_the_index(
    tmp_path: Path,
) -> None:
    cfg = LogConfig(index_interval_bytes=1)  # an index entry for every batch
    log = PartitionLog.open(tmp_path / "orders-0", cfg)
    try:
        with files.installed(FaultyFiles()) as ff:
            ff.fail_next("write", errno.ENOSPC, times=None, path_contains=".index")
            ff.fail_next("write", errno.ENOSPC, times=None, path_contains=".timeindex")
            for n in range(100):
                assert append_one(log, b"i%d" % n) == n
            assert ff.injected["write"] > 0
        assert all_values(log) == [b"i%d" % n for n in range(100)]
    finally:
        log.close()
    again = PartitionLog.open(tmp_path / "orders-0", cfg)
    try:
        assert again.log_end_offset == 100
        assert [r.value for r in iter_all_records(again.read(77, 100))][:1] == [b"i77"]
        assert (tmp_path / "orders-0" / "00000000000000000000.index").stat().st_size == 99 * 8
    finally:
        again.close()


def test_a_failing_open_is_a_storage_error_for_that_partition_only(tmp_path: Path) -> None:
    cfg = LogConfig()
    a = PartitionLog.open(tmp_path / "orders-0", cfg)
    b = PartitionLog.open(tmp_path / "audit-0", cfg)
    try:
        with files.installed(FaultyFiles()) as ff:
            ff.fail_next("open", errno.EMFILE, times=None, path_contains="orders-0")
            with pytest.raises(KafkaError) as info:
                append_one(a, b"no")
            assert "Too many open files" in storage_error(info)
            assert append_one(b, b"yes") == 0
            ff.heal()
            assert append_one(a, b"now") == 0
    finally:
        a.close()
        b.close()
