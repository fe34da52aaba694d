"""The engine's job worker seen from Qt: its callbacks arrive on the worker thread and leave
as queued signals, so slots always run on the UI thread.

The worker is the same one `kinora jobs run` uses (engine/jobs/worker.py); the editor starts
it on threads of its own (exports run beside generations, so callbacks come from either). If
another worker already runs the queue (a `kinora jobs run` in a terminal), the editor still
submits and watches jobs; that worker runs them.
"""

from __future__ import annotations

from PySide6.QtCore import QObject, QTimer, Signal

from engine.errors import KinoraError
from engine.jobs.queue import Job, JobQueue
from engine.jobs.worker import Worker
from engine.progress import Progress


class JobBridge(QObject):
    jobChanged = Signal(object)  # Job, after each committed state change
    jobProgress = Signal(int, object)  # job id, Progress
    workerProblem = Signal(str)

    def __init__(self, db_path: str | None = None, parent: QObject | None = None):
        super().__init__(parent)
        self.worker = Worker(db_path, on_state=self._from_worker_state, on_progress=self._from_worker_progress)
        self.db_path = self.worker.db_path
        self.running_here = False
        # jobs another process runs report only to the database: look at it now and then
        self._poll = QTimer(self)
        self._poll.setInterval(1000)
        self._poll.timeout.connect(self._on_poll_timeout)
        self._known: dict[int, tuple] = {}

    # worker thread -> queued signals
    def _from_worker_state(self, job: Job) -> None:
        self.jobChanged.emit(job)

    def _from_worker_progress(self, job_id: int, progress: Progress) -> None:
        self.jobProgress.emit(job_id, progress)

    def start(self) -> None:
        try:
            self.worker.start()
            self.running_here = True
        except KinoraError as error:
            self.workerProblem.emit(str(error))
            self._poll.start()

    def stop(self) -> None:
        if self.running_here:
            self.worker.stop(wait=True, timeout=30)
            self.running_here = False
        self._poll.stop()

    def jobs(self, limit: int = 200) -> list[Job]:
        with _queue(self.db_path) as queue:
            return queue.list(limit=limit)

    def submit(self, kind: str, params: dict) -> Job:
        with _queue(self.db_path) as queue:
            job = queue.get(queue.submit(kind, params))
        self.worker.wake()
        self.jobChanged.emit(job)
        return job

    def cancel(self, job_id: int) -> None:
        self.worker.cancel(job_id)
        self._emit_current(job_id)

    def retry(self, job_id: int, params: dict | None = None) -> None:
        with _queue(self.db_path) as queue:
            queue.retry(job_id, params)
        self.worker.wake()
        self._emit_current(job_id)

    def run_locally(self, job_id: int) -> None:
        """Run a job waiting for the cluster on this machine instead."""
        with _queue(self.db_path) as queue:
            queue.run_locally(job_id)
        self.worker.wake()
        self._emit_current(job_id)

    def _emit_current(self, job_id: int) -> None:
        with _queue(self.db_path) as queue:
            self.jobChanged.emit(queue.get(job_id))

    def _on_poll_timeout(self) -> None:
        for job in self.jobs(limit=50):
            key = (job.state, job.step, job.message, job.cancel_requested)
            if self._known.get(job.id) != key:
                self._known[job.id] = key
                self.jobChanged.emit(job)


class _queue:
    """A JobQueue for the length of a with-block (each thread uses its own connection)."""

    def __init__(self, path: str) -> None:
        self.queue = JobQueue(path)

    def __enter__(self) -> JobQueue:
        return self.queue

    def __exit__(self, *exc) -> None:
        self.queue.close()
