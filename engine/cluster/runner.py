"""The Ray actor that runs Kinora jobs on a worker node: one warm runner per node slot.

A runner holds one "kinora" slot of its node and takes job after job, one at a time, keeping
its process, and so the model it loaded (engine.generate.executor caches the backend per
process), between them: a job's cost on the cluster is shipping its request and files, running,
and shipping the results back, not starting a process and loading the model again.

Runners are named and detached ("kinora-runner-<kind>-<n>" in the "kinora" namespace), so every
desktop finds them and they keep working when the desktop that submitted a job dies. A runner
keeps a record per job (by the job's name, which the desktop derives from its queue), with its
progress, its cancel token and, once finished, its result, until the desktop collects it: a
desktop restarted after a crash asks the runners for its jobs and collects what they finished
meanwhile. `submit` is atomic within a runner and a runner takes one job at a time, so a job
never runs twice at once on it.

The actor is threaded and the job runs on a thread of its own, so `status` and `cancel` answer
while a job works: a cancel sets the job's CancelToken, which the sampler checks every step.
(Ray's own `ray.cancel` does not interrupt a running method of a threaded actor.)

The worker finds the model in its own folders by name and checks its weights fingerprint, so
a job never runs on other weights than it was asked for.
"""

from __future__ import annotations

import os
import shutil
import socket
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from engine.errors import KinoraError, ModelError
from engine.progress import CancelToken, JobCancelled, Progress

RESOURCE = "kinora"  # the custom resource a node offers when it runs Kinora jobs (one per job slot)
FINISHED = ("done", "failed", "cancelled", "lost")
# Results a runner keeps for desktops that have not collected them (a desktop that died and
# never came back): the oldest beyond this are dropped, and such a job is submitted again.
KEEP_FINISHED = 32
MAX_NOTES = 50  # messages a runner keeps between two polls of the desktop


@dataclass
class _Record:
    """One job on this runner: running, or finished and waiting to be collected."""

    token: CancelToken = field(default_factory=CancelToken)
    state: str = "running"  # running -> done | failed | cancelled | lost (its inputs were gone)
    progress: Progress = field(default_factory=lambda: Progress(0, 0, "starting on the node"))
    result: dict | None = None
    finished: float = 0.0
    forgotten: bool = False  # the desktop gave it up while it ran: dropped when it ends
    windows: Path | None = None  # where a chained job commits its windows here
    windows_brought: dict = field(default_factory=dict)  # tokens of the windows that came with the job
    # Messages since the desktop's last poll: a quick one ("window 1 of 5 was made before") is
    # shown too, not only the one that is the latest when the desktop asks.
    notes: list = field(default_factory=list)


class SlotRunner:
    def __init__(self, kind: str) -> None:
        self.node = _node_name()
        self.kind = kind  # "cpu" or "gpu": the resources it holds (engine.cluster.pool)
        self._guard = threading.Lock()
        self._jobs: dict[str, _Record] = {}
        self._current: str | None = None  # the job running now; None: idle
        self._retired = False
        self._model: str | None = None  # the model of the last job: it is loaded here
        self._jobs_run = 0

    # -- asked by desktops -------------------------------------------------------------------

    def describe(self) -> dict:
        with self._guard:
            return {"node": self.node, "kind": self.kind, "busy": self._current is not None,
                    "retired": self._retired, "model": self._model, "pid": os.getpid(), "jobs_run": self._jobs_run}

    def submit(self, name: str, request_json: str, files_ref: list, expect: dict) -> str:
        """Start job `name` when idle: "started"; "known" when this runner has it already (a
        desktop after a restart); "busy" or "retired" when it cannot take it. `files_ref` holds
        the object-store reference to the job's files (in a list, so Ray does not fetch them for
        a runner that turns the job down)."""
        with self._guard:
            if name in self._jobs and self._jobs[name].state != "lost":
                return "known"
            if self._retired:
                return "retired"
            if self._current is not None:
                return "busy"
            record = self._jobs[name] = _Record()
            self._current = name
            self._jobs_run += 1
        threading.Thread(target=self._work, args=(name, record, request_json, files_ref, expect), daemon=True,
                         name=f"kinora-{name}").start()
        return "started"

    def status(self, name: str, poll: bool = False) -> dict:
        """The job's state and progress; on the desktop's own poll (not a search for the job),
        also the messages since its last poll ("notes"), which it takes."""
        with self._guard:
            record = self._jobs.get(name)
            if record is None:
                return {"state": "unknown", "node": self.node, "step": 0, "total": 0, "message": "", "preview": None}
            progress = record.progress
            answer = {"state": record.state, "node": self.node, "step": progress.step, "total": progress.total,
                      "message": progress.message, "preview": progress.preview}
            if poll:
                answer["notes"], record.notes = record.notes, []
            return answer

    def windows(self, name: str, known: dict) -> dict | None:
        """The windows job `name` committed here that the desktop does not hold yet: {"tokens": of
        every window file now, "content": bytes by name} (engine.cluster.window_relay); `known`
        holds the tokens of those it holds. None when the job keeps no windows here (now)."""
        from engine.cluster import window_relay

        with self._guard:
            record = self._jobs.get(name)
            if record is None or record.windows is None:
                return None
            folder, brought = record.windows, record.windows_brought
        tokens, content = window_relay.changed(folder, {**brought, **known})
        return {"tokens": tokens, "content": content}

    def result(self, name: str) -> dict | None:
        with self._guard:
            record = self._jobs.get(name)
            return None if record is None else record.result

    def cancel(self, name: str) -> None:
        with self._guard:
            record = self._jobs.get(name)
        if record is not None:
            record.token.cancel("cancelled by the user")

    def forget(self, name: str) -> None:
        """The desktop has what it needs: drop the record (a running job is cancelled first)."""
        with self._guard:
            record = self._jobs.get(name)
            if record is None:
                return
            if record.state == "running":
                record.forgotten = True
                record.token.cancel("cancelled by the user")
                return
            del self._jobs[name]

    def retire(self) -> bool:
        """Take no more jobs, when idle: the desktop then ends this runner to free its slot for
        a runner of another kind."""
        with self._guard:
            if self._current is None:
                self._retired = True
            return self._retired

    def jobs(self) -> list[str]:
        with self._guard:
            return list(self._jobs)

    # -- the job's own thread ----------------------------------------------------------------

    def _work(self, name: str, record: _Record, request_json: str, files_ref: list, expect: dict) -> None:
        try:
            result = self._run(name, record, request_json, files_ref, expect)
        except JobCancelled:
            result = {"state": "cancelled"}
        except _InputsLost as error:
            result = {"state": "lost", "error": str(error)}
        except KinoraError as error:
            result = {"state": "failed", "error": str(error)}
        except Exception as error:  # reported to the desktop, which records it on the job
            result = {"state": "failed", "error": f"{type(error).__name__} on {self.node}: {error}"}
        with self._guard:
            record.result = {**result, "node": self.node}
            record.state = result["state"]
            record.finished = time.monotonic()
            self._current = None
            if record.forgotten and self._jobs.get(name) is record:
                del self._jobs[name]
            finished = sorted((r.finished, n) for n, r in self._jobs.items() if r.state in FINISHED)
            for _, old in finished[:max(0, len(finished) - KEEP_FINISHED)]:
                del self._jobs[old]

    def _report(self, record: _Record, progress: Progress) -> None:
        with self._guard:
            if progress.message and progress.message != record.progress.message:
                record.notes = [*record.notes[-(MAX_NOTES - 1):], progress.message]
            record.progress = progress

    def _run(self, name: str, record: _Record, request_json: str, files_ref: list, expect: dict) -> dict:
        from engine.cluster import transport, window_relay
        from engine.generate.executor import produce
        from engine.generate.window_store import windows_folder

        files = _fetch(files_ref)
        record.token.check()
        folder, lock = _job_folder(name)
        try:
            request = transport.unpack(request_json, files, folder)
            del files
            windows = windows_folder(Path(request.output))
            brought = window_relay.tokens(windows)
            with self._guard:
                record.windows, record.windows_brought = windows, brought
            check_model(expect, self.node)
            with self._guard:
                self._model = expect.get("model")
            made = produce(request, on_progress=lambda progress: self._report(record, progress), cancel=record.token)
            made["written"] = [os.path.basename(path) for path in made["written"]]
            return {"state": "done", "made": made, "files": transport.collect(folder)}
        finally:
            with self._guard:
                record.windows = None
            shutil.rmtree(folder, ignore_errors=True)
            if lock is not None:
                os.close(lock)


class _InputsLost(Exception):
    """The desktop that put the job's files in the object store died before they were fetched."""


def _fetch(files_ref: list) -> dict:
    """The job's files: its inputs, and the windows an earlier run finished when it came with them."""
    import ray
    from ray import exceptions

    try:
        files = {}
        for part in ray.get(list(files_ref), timeout=600):
            files.update(part)
        return files
    except (exceptions.ObjectLostError, exceptions.OwnerDiedError, exceptions.GetTimeoutError) as error:
        raise _InputsLost(f"the job's files were lost ({type(error).__name__})") from None


def _job_folder(name: str) -> tuple[str, int | None]:
    """The folder a job runs in, and the lock that holds it. The same job runs in the same folder
    every time on a machine (its inputs have the same paths, so the windows an earlier run
    finished are of the same plan and are taken); a fresh one when another runner here holds it."""
    try:
        import fcntl
    except ImportError:  # no file locks here: a fresh folder each time (windows of jobs with inputs are made again)
        return tempfile.mkdtemp(prefix="kinora-job-"), None
    base = Path(tempfile.gettempdir()) / "kinora-jobs"
    base.mkdir(parents=True, exist_ok=True)
    safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in name)
    lock = os.open(base / f"{safe}.lock", os.O_CREAT | os.O_RDWR, 0o644)
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        os.close(lock)
        return tempfile.mkdtemp(prefix="kinora-job-"), None
    folder = base / safe
    shutil.rmtree(folder, ignore_errors=True)  # what a runner killed here left
    folder.mkdir()
    return str(folder), lock


def check_model(expect: dict, node: str) -> None:
    """The model the desktop asked for is on this node, with the same weights."""
    from engine.generate.executor import weights_hash
    from engine.generate.models import resolve

    name = expect.get("model")
    try:
        info = resolve(name)
    except KinoraError as error:
        raise ModelError(f"cluster node {node} does not have the model {name or 'bundled'!r} ({error}); put its "
                         "folder in that node's KINORA_MODELS folders, or run the job on this machine") from None
    wanted = expect.get("weights_hash")
    if wanted and weights_hash(info.path) != wanted:
        raise ModelError(f"cluster node {node} has other weights for the model {info.name!r} than this machine; "
                         "copy the same model folder to that node")


def _node_name() -> str:
    try:
        import ray

        return f"{socket.gethostname()} ({ray.get_runtime_context().get_node_id()[:8]})"
    except Exception:  # outside Ray (tests of the class itself)
        return socket.gethostname()
