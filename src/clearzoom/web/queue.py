"""A bounded, fair work queue for the web app: what renders tiles and decodes uploads.

Work runs on a fixed number of threads of its own, so slow renders never occupy the threads every
other route shares (``/api/health`` and the page stay responsive). Waiting work is bounded: past
``max_waiting`` a submission raises :class:`Busy` (the route answers 503 with ``Retry-After``).
Waiting work is served round-robin across keys (an image, a client), so one client asking for
hundreds of tiles does not starve another. Work that is still waiting can be cancelled
(``future.cancel()``, when its client has gone away) and is then never run. Work that has waited
longer than ``max_wait_s`` is not run either: its future gets :class:`Busy`, so a client is told to
come back instead of waiting past its own timeout.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict, deque
from collections.abc import Callable, Hashable
from concurrent.futures import Future
from typing import Any

__all__ = ["Busy", "FairQueue"]

log = logging.getLogger(__name__)


class Busy(Exception):
    """The queue is full: try again after ``retry_after`` seconds."""

    def __init__(self, what: str, retry_after: int = 2):
        super().__init__(f"the server is busy ({what}); try again in {retry_after} s")
        self.retry_after = retry_after


class FairQueue:
    """Run ``fn()`` on ``threads`` worker threads, at most ``max_waiting`` waiting, round-robin by key.

    Example::

        q = FairQueue(threads=2, max_waiting=64, name="tiles")
        future = q.submit(image_id, lambda: render(...))   # raises Busy when full
        data = future.result()
    """

    def __init__(self, threads: int, max_waiting: int, name: str = "work", max_wait_s: float = float("inf")):
        if threads < 1 or max_waiting < 0:
            raise ValueError("a FairQueue needs at least one thread and max_waiting >= 0")
        self.name, self.max_waiting, self.max_wait_s = name, max_waiting, max_wait_s
        self._queues: OrderedDict[Hashable, deque[tuple[Future, Callable[[], Any], float]]] = OrderedDict()
        self._cond = threading.Condition()
        self._closed = False
        self.running = 0
        self.served = self.refused = self.cancelled = self.expired = 0
        self._threads = [
            threading.Thread(target=self._work, name=f"clearzoom-{name}-{i}", daemon=True)
            for i in range(threads)
        ]
        for t in self._threads:
            t.start()

    @property
    def waiting(self) -> int:
        """Submitted work not yet started and not cancelled."""
        with self._cond:
            return self._count_waiting()

    def _count_waiting(self) -> int:
        return sum(1 for q in self._queues.values() for f, _, _ in q if not f.cancelled())

    def submit(self, key: Hashable, fn: Callable[[], Any]) -> Future:
        """Queue ``fn`` under ``key``; its future gets the result or the exception."""
        future: Future = Future()
        with self._cond:
            if self._closed:
                raise Busy(f"{self.name}: shutting down")
            if self._count_waiting() >= self.max_waiting:
                self.refused += 1
                raise Busy(f"{self.max_waiting} {self.name} requests are waiting")
            self._queues.setdefault(key, deque()).append((future, fn, time.monotonic()))
            self._cond.notify()
        return future

    def _next(self) -> tuple[Future, Callable[[], Any]] | None:
        """The first waiting item of the key served longest ago (None when closed)."""
        with self._cond:
            while True:
                while self._queues:
                    key, q = next(iter(self._queues.items()))
                    future, fn, since = q.popleft()
                    if q:
                        self._queues.move_to_end(key)  # this key waits for the others' turn
                    else:
                        del self._queues[key]
                    if not future.set_running_or_notify_cancel():
                        self.cancelled += 1
                    elif time.monotonic() - since > self.max_wait_s:
                        self.expired += 1
                        future.set_exception(Busy(f"a {self.name} request waited over {self.max_wait_s:g} s"))
                    else:
                        self.running += 1
                        return future, fn
                if self._closed:
                    return None
                self._cond.wait()

    def _work(self) -> None:
        while (item := self._next()) is not None:
            future, fn = item
            try:
                future.set_result(fn())
            except BaseException as exc:  # the caller sees it; the worker lives on
                future.set_exception(exc)
            finally:
                with self._cond:
                    self.running -= 1
                    self.served += 1

    def close(self) -> None:
        """Cancel what waits, let what runs finish, stop the threads."""
        with self._cond:
            self._closed = True
            for q in self._queues.values():
                for f, _, _ in q:
                    f.cancel()
            self._queues.clear()
            self._cond.notify_all()

    def stats(self) -> dict[str, int]:
        with self._cond:
            return {
                "running": self.running,
                "waiting": self._count_waiting(),
                "served": self.served,
                "refused": self.refused,
                "cancelled": self.cancelled,
                "expired": self.expired,
            }
