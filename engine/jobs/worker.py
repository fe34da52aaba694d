"""The worker that runs the job queue, in two lanes: exports (`render` jobs) on one thread and
every other kind (generations, which can take many minutes) on another, each lane taking its
own jobs in order, so an export never waits behind a generation. It knows nothing of Qt. The
editor's bridge turns `on_state(job)` and `on_progress(job_id, progress)` into queued signals;
both are called from the lane's thread, always after the change they report is committed.

Only one worker process may run a queue: it holds an exclusive lock on a file beside the
database for as long as it lives. The lock dies with the process (even with kill -9), which is
how a new worker knows that jobs still marked running were orphaned by a crash.
"""

from __future__ import annotations

import gc
import os
import sys
import threading
import traceback
from collections.abc import Callable
from dataclasses import dataclass

from engine.errors import KinoraError, UserError
from engine.jobs.queue import Job, JobQueue
from engine.jobs.registry import handler_for
from engine.library.db import library_path
from engine.progress import CancelToken, JobCancelled, Progress

STOPPING = "the worker was stopped; the job runs again when the worker starts"
CANCELLED = "cancelled by the user"


@dataclass(frozen=True, slots=True)
class Lane:
    """A stream of jobs the worker runs one at a time: `kinds` only those kinds, or every kind but `exclude`."""

    name: str
    kinds: tuple[str, ...] | None = None
    exclude: tuple[str, ...] = ()


RENDER_KINDS = ("render",)
GENERATION_LANE = Lane("generation", exclude=RENDER_KINDS)
RENDER_LANE = Lane("render", kinds=RENDER_KINDS)
LANES = (GENERATION_LANE, RENDER_LANE)
CLUSTER_PARALLEL = 8


class WorkerLock:
    """An exclusive, process-lifetime lock on `<database>.worker-lock` (flock/msvcrt locking)."""

    def __init__(self, db_path: str) -> None:
        self.path = db_path + ".worker-lock"
        self._handle = None

    def acquire(self) -> None:
        handle = open(self.path, "a+")  # noqa: SIM115 - held open for the worker's lifetime: it is the lock
        try:
            _lock(handle)
        except OSError:
            handle.seek(0)
            holder = handle.read().strip() or "unknown"
            handle.close()
            raise UserError(f"another Kinora worker (process {holder}) is running the queue of {self.path[:-12]}; "
                            "let it finish or stop it first") from None
        handle.seek(0)
        handle.truncate()
        handle.write(str(os.getpid()))
        handle.flush()
        self._handle = handle

    def release(self) -> None:
        if self._handle is not None:
            self._handle.close()  # closing the file releases the lock
            self._handle = None


def _lock(handle) -> None:
    try:
        import fcntl
    except ImportError:  # Windows
        import msvcrt

        handle.seek(0)
        msvcrt.locking(handle.fileno(), msvcrt.LK_NBLCK, 1)
        return
    fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)


class Worker:
    """Runs queued jobs in two lanes (see the module docstring), each one job at a time, in order.

    `start()` runs it on threads of its own (the editor); `run()` runs the generation lane in the
    calling thread (the CLI, where Ctrl-C lands in the running generation) and the render lane
    beside it. With `stop_when_empty` it returns once nothing is waiting and no lane is busy;
    otherwise it waits for new jobs (`wake()` after a submit makes it look at once).
    """

    def __init__(self, db_path: str | None = None, *, on_state: Callable[[Job], None] | None = None,
                 on_progress: Callable[[int, Progress], None] | None = None, stop_when_empty: bool = False,
                 poll_s: float = 0.5, cluster: str | None = None) -> None:
        self.db_path = db_path or library_path()
        # the Ray address to run generations on ("local": this machine); None: the user's setting
        self.cluster = cluster
        self.on_state = on_state
        self.on_progress = on_progress
        self.stop_when_empty = stop_when_empty
        self.poll_s = poll_s
        self.recovered: list[Job] = []  # the jobs found orphaned by a crash when the worker started
        self._lock = WorkerLock(self.db_path)
        self._stop = threading.Event()
        self._wakes = {lane.name: threading.Event() for lane in LANES}
        self._running: dict[int, CancelToken] = {}  # job id -> its token, for every lane's running job
        self._running_guard = threading.Lock()
        # Claims and "is any lane busy" are answered under one lock, so with stop_when_empty a
        # lane never leaves while another lane's job is about to start.
        self._claim_guard = threading.Lock()
        self._busy: dict[str, int] = {}  # lane name -> jobs it runs now
        self._thread: threading.Thread | None = None

    # -- control, from any thread ------------------------------------------------------------

    def start(self) -> None:
        """Take the worker lock (raises UserError when another worker has it) and run on threads."""
        self._begin()
        self._thread = threading.Thread(target=self._run_lanes, name="kinora-worker", daemon=True)
        self._thread.start()

    def run(self) -> None:
        self._begin()
        self._run_lanes()

    def wake(self) -> None:
        for wake in self._wakes.values():
            wake.set()

    def cancel(self, job_id: int) -> str:
        """Cancel a job: a waiting one at once, a running one (in either lane) within one step."""
        queue = JobQueue(self.db_path)
        try:
            state = queue.cancel(job_id)
        finally:
            queue.close()
        with self._running_guard:
            token = self._running.get(job_id)
        if token is not None:
            token.cancel(CANCELLED)
        return state

    def stop(self, wait: bool = True, timeout: float | None = None) -> None:
        """Stop after the current steps; the running jobs are marked interrupted and run again next time."""
        self._halt()
        if wait and self._thread is not None:
            self._thread.join(timeout)

    def join(self, timeout: float | None = None) -> None:
        if self._thread is not None:
            self._thread.join(timeout)

    def _halt(self) -> None:
        self._stop.set()
        self.wake()
        with self._running_guard:
            tokens = list(self._running.values())
        for token in tokens:
            token.cancel(STOPPING)

    # -- the lanes ---------------------------------------------------------------------------

    def _begin(self) -> None:
        self._lock.acquire()
        queue = JobQueue(self.db_path)
        try:
            self.recovered = queue.recover_after_crash()
        finally:
            queue.close()
        for job in self.recovered:
            self._emit_state(job)

    def _run_lanes(self) -> None:
        render = threading.Thread(target=self._lane_loop, args=(RENDER_LANE,), name="kinora-worker-render",
                                  daemon=True)
        try:
            render.start()
            self._lane_loop(GENERATION_LANE)
        except BaseException:  # Ctrl-C or SIGTERM in the CLI: the export is interrupted too
            self._halt()
            raise
        finally:
            try:
                self._join_lane(render)
            finally:
                self._lock.release()

    def _join_lane(self, thread: threading.Thread) -> None:
        try:
            thread.join()
        except KeyboardInterrupt:  # Ctrl-C while waiting for the last export: stop it, then go
            self._halt()
            thread.join()
            raise

    def _lane_loop(self, lane: Lane) -> None:
        queue = JobQueue(self.db_path)
        wake = self._wakes[lane.name]
        beside: list[threading.Thread] = []  # jobs running at once on a cluster
        try:
            while not self._stop.is_set():
                beside = [thread for thread in beside if thread.is_alive()]
                parallel = self._parallel(lane)
                job = None
                with self._claim_guard:
                    if len(beside) < parallel:
                        job = queue.claim_next(os.getpid(), kinds=lane.kinds, exclude=lane.exclude)
                    if job is not None:
                        self._busy[lane.name] = self._busy.get(lane.name, 0) + 1
                    elif self.stop_when_empty and not any(self._busy.values()):
                        break
                if job is None:
                    wake.wait(self.poll_s)
                    wake.clear()
                    continue
                if parallel == 1:
                    self._run_claimed(queue, job, lane)
                else:  # each job beside the others, with its own connection to the queue
                    thread = threading.Thread(target=self._run_claimed, args=(None, job, lane), daemon=True,
                                              name=f"kinora-worker-job-{job.id}")
                    thread.start()
                    beside.append(thread)
        finally:
            for thread in beside:
                thread.join()
            queue.close()

    def _parallel(self, lane: Lane) -> int:
        """Jobs a lane runs at once: one here; CLUSTER_PARALLEL generations on a cluster, where
        Ray holds those beyond the free node slots until one frees."""
        if lane is not GENERATION_LANE:
            return 1
        from engine.cluster.dispatch import cluster_address

        return CLUSTER_PARALLEL if cluster_address(self.cluster) else 1

    def _run_claimed(self, queue: JobQueue | None, job: Job, lane: Lane) -> None:
        own = queue is None
        queue = queue or JobQueue(self.db_path)
        try:
            self._emit_state(job)
            self._run_job(queue, job)
        finally:
            if own:
                queue.close()
            with self._claim_guard:
                self._busy[lane.name] -= 1
            self.wake()  # an idle lane may be waiting for this one to finish

    def _run_job(self, queue: JobQueue, job: Job) -> None:
        token = CancelToken()
        with self._running_guard:
            self._running[job.id] = token
            if self._stop.is_set():
                token.cancel(STOPPING)

        def on_step(progress: Progress) -> None:
            if queue.report(job.id, progress):
                token.cancel(CANCELLED)  # asked from another process: the next step check raises
            if self.on_progress is not None:
                self.on_progress(job.id, progress)

        try:
            if queue.cancel_requested(job.id):
                token.cancel(CANCELLED)
            token.check()
            outputs = self._handle(queue, job, on_step, token)
        except JobCancelled:
            if token.reason == STOPPING:
                queue.mark_interrupted(job.id, STOPPING)
            else:
                queue.mark_cancelled(job.id, CANCELLED)
        except KeyboardInterrupt:
            queue.mark_interrupted(job.id, STOPPING)
            raise
        except KinoraError as error:
            queue.fail(job.id, str(error))
        except Exception as error:  # one job's failure must never stop the queue
            if _is_out_of_memory(error):
                _free_memory()
                queue.fail(job.id, f"out of memory running job {job.id} ({_first_line(error)}); retry it with "
                                   f"lower settings: kinora jobs retry {job.id} --lower")
            else:
                traceback.print_exc(file=sys.stderr)
                queue.fail(job.id, f"{type(error).__name__}: {_first_line(error)}")
        else:
            queue.finish(job.id, list(outputs or []))
        finally:
            with self._running_guard:
                self._running.pop(job.id, None)
        self._emit_state(queue.get(job.id))

    def _handle(self, queue: JobQueue, job: Job, on_step, token: CancelToken) -> list:
        """Run a job here, or on the cluster when one is set and the job was not moved back here."""
        def run_here() -> list:
            return handler_for(job.kind)(queue.get(job.id).params, on_step, token)

        from engine.cluster.dispatch import cluster_address
        from engine.jobs.registry import AI_TOOLS

        address = cluster_address(self.cluster)
        if not address or job.kind not in AI_TOOLS or job.params.get("where") == "local":
            return run_here()
        from engine.jobs.cluster_job import run_on_cluster

        return run_on_cluster(queue, job, address, on_step, token, run_here)

    def _emit_state(self, job: Job) -> None:
        if self.on_state is not None:
            self.on_state(job)


def _is_out_of_memory(error: BaseException) -> bool:
    if isinstance(error, MemoryError):
        return True
    if "torch" in sys.modules:  # only a job that ran torch can have a torch out-of-memory error
        from engine.generate.backends.memory import is_out_of_memory

        return is_out_of_memory(error)
    return False


def _free_memory() -> None:
    gc.collect()
    torch = sys.modules.get("torch")
    if torch is not None and torch.cuda.is_available():
        torch.cuda.empty_cache()


def _first_line(error: BaseException) -> str:
    text = str(error).strip()
    return text.splitlines()[0][:300] if text else type(error).__name__
