"""Upscale jobs: a bounded worker pool with progress, cancellation and in-memory results."""

from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from ..errors import first_line
from .queue import Busy
from .store import new_id

__all__ = ["Job", "JobCancelled", "JobManager"]

log = logging.getLogger(__name__)


class JobCancelled(Exception):
    """Raised inside a job's work when it has been cancelled."""


@dataclass
class Job:
    id: str
    image_id: str
    params: dict[str, Any]
    state: str = "queued"  # queued, running, done, error, cancelled, expired (result dropped)
    progress: float = 0.0
    error: str | None = None
    result: bytes | None = None
    media_type: str = "application/octet-stream"
    filename: str = "result"
    created: float = field(default_factory=time.time)
    seconds: float | None = None
    cancel_event: threading.Event = field(default_factory=threading.Event)

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "image_id": self.image_id,
            "state": self.state,
            "progress": round(self.progress, 4),
            "error": self.error,
            "params": self.params,
            "seconds": self.seconds,
            "result_url": f"/api/jobs/{self.id}/result" if self.state == "done" else None,
            "filename": self.filename if self.state == "done" else None,
        }


class JobManager:
    """Runs jobs on ``workers`` threads; keeps at most ``max_jobs`` finished jobs (oldest out)."""

    def __init__(
        self, workers: int = 1, max_jobs: int = 32, max_pending: int = 8, max_result_bytes: int = 512 << 20
    ):
        """At most ``max_pending`` jobs queued or running (more raise :class:`~.queue.Busy`), and at
        most ``max_result_bytes`` of finished images kept (the oldest expire first)."""
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="clearzoom-job")
        self._jobs: OrderedDict[str, Job] = OrderedDict()
        self._lock = threading.Lock()
        self.max_jobs, self.max_pending, self.max_result_bytes = max_jobs, max_pending, max_result_bytes

    def submit(
        self,
        image_id: str,
        params: dict[str, Any],
        work: Callable[[Job, Callable[[float], None]], tuple[bytes, str, str]],
    ) -> Job:
        """Queue ``work(job, progress)``, which returns ``(bytes, media_type, filename)``."""
        job = Job(new_id(), image_id, params)
        with self._lock:
            pending = sum(1 for j in self._jobs.values() if j.state in ("queued", "running"))
            if pending >= self.max_pending:
                raise Busy(f"{pending} upscale jobs are queued or running", retry_after=10)
            self._jobs[job.id] = job
            self._trim()
        self._pool.submit(self._run, job, work)
        return job

    def _run(self, job: Job, work) -> None:
        if job.cancel_event.is_set():
            job.state = "cancelled"
            return
        job.state = "running"
        t = time.perf_counter()

        def progress(fraction: float) -> None:
            if job.cancel_event.is_set():
                raise JobCancelled()
            job.progress = max(0.0, min(1.0, fraction))

        try:
            job.result, job.media_type, job.filename = work(job, progress)
            job.progress, job.state = 1.0, "done"
            self._expire_results()
        except JobCancelled:
            job.state = "cancelled"
        except Exception as exc:  # a job's failure is reported, never kills the pool
            log.warning("job %s failed: %s", job.id, exc)
            job.state, job.error = "error", first_line(exc)
        finally:
            job.seconds = round(time.perf_counter() - t, 3)

    def result_bytes(self) -> int:
        """The bytes of finished jobs' images held for download."""
        with self._lock:
            return sum(len(j.result) for j in self._jobs.values() if j.result is not None)

    def _expire_results(self) -> None:
        """Drop the oldest finished images until they fit ``max_result_bytes`` (state "expired")."""
        with self._lock:
            done = [j for j in self._jobs.values() if j.result is not None]
            total = sum(len(j.result) for j in done if j.result is not None)
            for j in done[:-1]:  # the newest result is kept, whatever its size
                if total <= self.max_result_bytes:
                    break
                total -= len(j.result or b"")
                j.result, j.state = None, "expired"
                j.error = "its image was dropped to stay within the server's memory budget: run it again"

    def get(self, job_id: str) -> Job | None:
        with self._lock:
            return self._jobs.get(job_id)

    def cancel(self, job_id: str) -> Job | None:
        job = self.get(job_id)
        if job is not None:
            job.cancel_event.set()
            if job.state == "queued":
                job.state = "cancelled"
        return job

    def cancel_image(self, image_id: str) -> None:
        with self._lock:
            jobs = [j for j in self._jobs.values() if j.image_id == image_id]
        for j in jobs:
            j.cancel_event.set()

    def _trim(self) -> None:
        finished = [k for k, j in self._jobs.items() if j.state in ("done", "error", "cancelled", "expired")]
        while len(self._jobs) > self.max_jobs and finished:
            self._jobs.pop(finished.pop(0))

    def shutdown(self) -> None:
        for j in list(self._jobs.values()):
            j.cancel_event.set()
        self._pool.shutdown(wait=False, cancel_futures=True)
