"""The Messages page's reads: pages, filtered scans and the live tail, off the GUI thread.

Contract:

* :class:`BrowserReads` runs every read as a :mod:`core.browse.reader` coroutine
  submitted to the broker loop through :meth:`BrokerService.submit` (not ``call``: a read
  is not a command, and must not make every view refresh). Raw batches are read there;
  they are decoded, filtered and turned into table rows
  (:func:`~desktop.models.records_model.make_rows`, with the decoder chosen when the read
  began) in a worker thread. Results come back on the GUI thread through the page's
  :class:`~desktop.views.browser_worker.BrowseWorker`.
* One page read at a time: :meth:`~BrowserReads.load` / :meth:`~BrowserReads.next_page`
  supersede (and cancel the scan of) the read in flight, whose answer is then dropped.
  A page is at most :data:`PAGE_RECORDS` records and :data:`PAGE_BYTES` of payload.
  A read with a filter is a scan: :attr:`~BrowserReads.progress` is polled by the page
  each tick (no signal per record) and :meth:`~BrowserReads.cancel_scan` stops it.
* The live tail (:meth:`~BrowserReads.poll_tail`, called each tick while on) reads what
  follows the shown page, one read in flight at most, and skips ahead when it falls more
  than a page behind; its answer is dropped if a new page was read meanwhile or the tail
  was switched off.
* The page (:class:`ReadsHost`) is told through its methods: ``reads_busy`` when a read
  starts or ends, ``reads_failed`` with an error's text ("" when a read starts),
  ``page_read`` with a new page and its rows, ``tail_read`` with what the tail found.
  State for tests: :attr:`busy`, :attr:`reads` (reads finished), :attr:`tail_busy`.
* External mode (issue 15): while ``external()`` returns an
  :class:`~desktop.external_service.ExternalService`, the same reads go to that cluster
  through :func:`core.browse.external.read_page_external` /
  :func:`~core.browse.external.read_next_external` (assign and seek, never a group, never
  a commit) on the service's read worker; rows are made on the same worker. Filters are
  applied there too (a page read with a filter scans as the embedded read does). The live
  tail reads at most once per the cluster's poll interval (at least
  :data:`EXTERNAL_TAIL_MIN_S`): each read opens a client.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

from streamscope.core.broker import Broker
from streamscope.core.browse.decode import Decoder
from streamscope.core.browse.reader import (
    DEFAULT_MAX_BYTES,
    Page,
    RecordFilter,
    ScanProgress,
    Start,
    StartKind,
    read_next,
    read_page,
)
from streamscope.desktop.broker_service import BrokerService
from streamscope.desktop.commands import error_text
from streamscope.desktop.models.records_model import RecordRow, make_rows
from streamscope.desktop.views.browser_worker import BrowseWorker

PAGE_RECORDS = 200
EXTERNAL_TAIL_MIN_S = 0.5  # an external cluster's tail reads at most this often
PAGE_BYTES = DEFAULT_MAX_BYTES


class ReadsHost(Protocol):
    def decoder(self) -> Decoder: ...

    def tailing(self) -> bool: ...

    def reads_busy(self, busy: bool, scanning: bool) -> None: ...

    def reads_failed(self, text: str) -> None: ...

    def page_read(self, page: Page, rows: list[RecordRow], newest_first: bool) -> None: ...

    def tail_read(self, page: Page, rows: list[RecordRow]) -> None: ...


class BrowserReads:
    def __init__(self, service: BrokerService, worker: BrowseWorker, host: ReadsHost,
                 external: Callable[[], Any] = lambda: None) -> None:
        self._service = service
        self._external = external
        self._worker = worker
        self._host = host
        self.page: Page | None = None  # the last page read (positions: where next continues)
        self.busy = False  # a page read or scan is in flight
        self.reads = 0  # page reads finished (with a page or an error): tests wait on it
        self.tail_busy = False
        self._tail_at = float("-inf")  # when the last external tail read began
        self.request = 0  # bumps with each page read: older results are dropped
        self.progress: ScanProgress | None = None
        # What the table shows: the topic, the partition (None: all) and the filter.
        self.topic: str | None = None
        self.partition: int | None = None
        self.filter: RecordFilter | None = None

    def load(
        self, topic: str, partition: int | None, start: Start, flt: RecordFilter | None
    ) -> None:
        """Read the page of ``topic``/``partition`` at ``start``, scanning with ``flt``."""
        ext = self._external()
        if ext is not None:
            from streamscope.core.browse.external import read_page_external

            settings = ext.settings
            self._begin(
                lambda _b, progress: read_page_external(
                    settings, topic, partition, start, max_records=PAGE_RECORDS,
                    max_bytes=PAGE_BYTES, record_filter=flt, progress=progress,
                ),
                start_kind=start.kind, topic=topic, partition=partition, flt=flt,
            )
            return
        self._begin(
            lambda b, progress: read_page(
                b, topic, partition, start, max_records=PAGE_RECORDS, max_bytes=PAGE_BYTES,
                record_filter=flt, progress=progress,
            ),
            start_kind=start.kind, topic=topic, partition=partition, flt=flt,
        )

    def next_page(self) -> None:
        """The page after the one shown (same topic, partition and filter)."""
        page = self.page
        if page is None or self.topic is None or page.at_end:
            return
        topic, partition, flt = self.topic, self.partition, self.filter
        positions = dict(page.positions)
        ext = self._external()
        if ext is not None:
            from streamscope.core.browse.external import read_next_external

            settings = ext.settings
            self._begin(
                lambda _b, _progress: read_next_external(
                    settings, topic, positions, max_records=PAGE_RECORDS, max_bytes=PAGE_BYTES
                ),
                start_kind=None, topic=topic, partition=partition, flt=flt,
            )
            return
        self._begin(
            lambda b, progress: read_next(
                b, topic, positions, all_partitions=partition is None,
                max_records=PAGE_RECORDS, max_bytes=PAGE_BYTES, record_filter=flt,
                progress=progress,
            ),
            start_kind=None, topic=topic, partition=partition, flt=flt,
        )

    def abandon(self) -> None:
        """Forget the shown page and drop every read in flight (another cluster is
        shown): their answers are ignored when they come."""
        self.cancel_scan()
        self.request += 1
        self.page = None
        self.progress = None
        if self.busy:
            self._set_busy(False)

    def cancel_scan(self) -> None:
        if self.progress is not None:
            self.progress.cancel()

    def _begin(
        self,
        read: Callable[[Broker, ScanProgress], Awaitable[Page]],
        *,
        start_kind: StartKind | None,
        topic: str,
        partition: int | None,
        flt: RecordFilter | None,
    ) -> None:
        if self.progress is not None:
            self.progress.cancel()  # a newer read supersedes it
        self.request += 1
        token = self.request
        progress = ScanProgress()
        self.progress = progress
        self._set_busy(True, scanning=flt is not None)
        self._host.reads_failed("")

        def settle() -> bool:
            if token != self.request:
                return False  # superseded
            self.reads += 1
            self._set_busy(False)
            self.progress = None
            return True

        def show(page: Page, rows: list[RecordRow]) -> None:
            self.page = page
            self.topic, self.partition, self.filter = topic, partition, flt
            self._host.page_read(page, rows, start_kind is StartKind.LATEST)

        self._submit(lambda b: read(b, progress), settle, show)

    def poll_tail(self) -> None:
        """Read what follows the shown page (the page calls it each tick while tailing)."""
        page = self.page
        topic = self.topic
        if page is None or topic is None:
            return
        partition, flt = self.partition, self.filter
        positions = dict(page.positions)
        ext = self._external()
        if ext is not None:
            # Each external read opens a client: tail at the cluster's poll interval, not
            # at every tick.
            now = time.monotonic()
            if now - self._tail_at < max(EXTERNAL_TAIL_MIN_S, ext.interval_s):
                return
            self._tail_at = now
        token = self.request
        self.tail_busy = True

        def settle() -> bool:
            self.tail_busy = False
            # False: a new page was read meanwhile, or the tail was switched off.
            return token == self.request and self._host.tailing()

        def show(new: Page, rows: list[RecordRow]) -> None:
            self.page = new
            self._host.tail_read(new, rows)

        if ext is not None:
            from streamscope.core.browse.external import read_next_external

            settings = ext.settings
            self._submit(
                lambda _b: read_next_external(
                    settings, topic, positions, max_records=PAGE_RECORDS, max_bytes=PAGE_BYTES
                ),
                settle,
                show,
            )
            return
        self._submit(
            lambda b: read_next(
                b, topic, positions, all_partitions=partition is None,
                max_records=PAGE_RECORDS, max_bytes=PAGE_BYTES, record_filter=flt,
                max_behind=PAGE_RECORDS,
            ),
            settle,
            show,
        )

    def _submit(
        self,
        read: Callable[[Broker], Awaitable[Page]],
        settle: Callable[[], bool],
        show: Callable[[Page, list[RecordRow]], None],
    ) -> None:
        """Run ``read`` on the broker loop and make its rows in a worker thread (with the
        decoder chosen now); back on the GUI thread, ``settle()`` tidies up and says
        whether the answer is still wanted, then an error is shown or ``show`` gets the
        page and its rows."""
        decoder = self._host.decoder()
        ext = self._external()
        if ext is not None:
            def blocking() -> tuple[Page, list[RecordRow]]:
                page = read(None)  # type: ignore[arg-type]  # a blocking read of the cluster
                assert isinstance(page, Page)
                return page, make_rows(page.records, decoder) if page.records else []

            def arrived(result: Any, error: BaseException | None) -> None:
                if not settle():
                    return
                if error is not None:
                    self._host.reads_failed(error_text(error))
                    return
                show(*result)

            ext.run_blocking(blocking, arrived)
            return

        async def run(b: Broker) -> tuple[Page, list[RecordRow]]:
            page = await read(b)
            rows = await asyncio.to_thread(make_rows, page.records, decoder) if page.records else []
            return page, rows

        def done(result: tuple[Page, list[RecordRow]] | None, error: BaseException | None) -> None:
            if not settle():
                return
            if error is not None:
                self._host.reads_failed(error_text(error))
                return
            assert result is not None
            show(*result)

        self._worker.deliver(self._service.submit(run), done)

    def _set_busy(self, busy: bool, *, scanning: bool = False) -> None:
        self.busy = busy
        self._host.reads_busy(busy, scanning)


__all__ = ["PAGE_BYTES", "PAGE_RECORDS", "BrowserReads", "ReadsHost"]
