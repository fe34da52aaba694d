"""The Ray actor that runs one job on a worker node.

One named, detached actor per job ("kinora-job-<key>" in the "kinora" namespace): detached so
it keeps working and keeps its result when the desktop that submitted it dies, named so the
desktop finds it again after a restart. `run` is idempotent within one actor: a second call
(Ray retrying it after the actor was restarted on another node, or a desktop submitting again
after a restart) waits for the run in progress or returns the result already made, so a job
never runs twice at once. The actor is threaded: `status` and `cancel` answer while `run` works.

The worker finds the model in its own folders by name and checks its weights fingerprint, so
a job never runs on other weights than it was asked for.
"""

from __future__ import annotations

import os
import shutil
import socket
import tempfile
import threading

from engine.errors import KinoraError, ModelError
from engine.progress import CancelToken, JobCancelled, Progress

RESOURCE = "kinora"  # the custom resource a node offers when it runs Kinora jobs (one per job slot)


class JobRunner:
    def __init__(self) -> None:
        self.node = _node_name()
        self._guard = threading.Lock()
        self._done = threading.Event()
        self._state = "idle"  # idle -> running -> done | failed | cancelled
        self._progress = Progress(0, 0, "")
        self._result: dict | None = None
        self._token = CancelToken()

    def run(self, request_json: str, files: dict, expect: dict) -> dict:
        with self._guard:
            start = self._state == "idle"
            if start:
                self._state = "running"
        if not start:
            self._done.wait()
            return self._result
        try:
            result = self._run(request_json, files, expect)
        except JobCancelled:
            result = {"state": "cancelled"}
        except KinoraError as error:
            result = {"state": "failed", "error": str(error)}
        except Exception as error:  # reported to the desktop, which records it on the job
            result = {"state": "failed", "error": f"{type(error).__name__} on {self.node}: {error}"}
        with self._guard:
            self._result = {**result, "node": self.node}
            self._state = result["state"]
        self._done.set()
        return self._result

    def status(self) -> dict:
        with self._guard:
            progress = self._progress
            return {"state": self._state, "node": self.node, "step": progress.step, "total": progress.total,
                    "message": progress.message, "preview": progress.preview}

    def result(self) -> dict | None:
        return self._result

    def cancel(self) -> None:
        self._token.cancel("cancelled by the user")

    def _report(self, progress: Progress) -> None:
        with self._guard:
            self._progress = progress

    def _run(self, request_json: str, files: dict, expect: dict) -> dict:
        from engine.cluster import transport
        from engine.generate.executor import produce

        folder = tempfile.mkdtemp(prefix="kinora-job-")
        try:
            request = transport.unpack(request_json, files, folder)
            check_model(expect, self.node)
            made = produce(request, on_progress=self._report, cancel=self._token)
            made["written"] = [os.path.basename(path) for path in made["written"]]
            return {"state": "done", "made": made, "files": transport.collect(folder)}
        finally:
            shutil.rmtree(folder, ignore_errors=True)


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
