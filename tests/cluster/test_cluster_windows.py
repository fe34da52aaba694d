"""A chained job (a plan longer than the model makes at once) whose worker node dies resumes on
the other node from the last window it finished: each window the runner commits travels back to
the desktop's windows folder as the job runs, and travels with the job when it is submitted again.
A real local Ray cluster, as in test_cluster.py (a cluster of this module's own)."""

from __future__ import annotations

import threading
import time

import pytest

ray = pytest.importorskip("ray", reason="the cluster extra is not installed (pip install -e '.[cluster]')")

from engine.generate.requests import Generate, Sampling  # noqa: E402
from engine.generate.window_store import windows_folder  # noqa: E402
from engine.jobs.queue import JobQueue  # noqa: E402
from engine.jobs.request_job import job_params  # noqa: E402
from engine.jobs.worker import Worker  # noqa: E402
from engine.library.db import library_path  # noqa: E402
from tests.cluster import test_cluster as shared  # noqa: E402
from tests.cluster.test_cluster import PROMPT, _same_output, execute_here  # noqa: E402

cluster = shared.cluster  # the same fixture: a cluster of this module's own
pytestmark = pytest.mark.slow
FRAMES = 129  # the bundled model's windows of 33 frames sharing 9: five windows


def _long(output) -> Generate:
    return Generate(output=str(output), prompt=PROMPT, sampling=Sampling(seed=5, steps=2), frames=FRAMES)


def _identity(path):
    try:
        stat = path.stat()
    except FileNotFoundError:
        return None
    return stat.st_ino, stat.st_mtime_ns


def test_a_chained_job_whose_node_dies_resumes_on_the_other_from_its_last_finished_window(cluster, tmp_path):
    output = tmp_path / "long.mp4"
    kept = windows_folder(output) / "seed-5"  # where a local run keeps them: the desktop's own copy
    first_two = [kept / "window-000.safetensors", kept / "window-001.safetensors"]
    queue = JobQueue(library_path())
    job_id = queue.submit("generate", job_params(_long(output)))
    killed = threading.Event()
    after_kill = []  # (message, the desktop's windows 1 and 2 as they were then) once the node died

    def on_progress(job, progress):
        if killed.is_set():
            after_kill.append((progress.message, [_identity(path) for path in first_two]))

    worker = Worker(library_path(), stop_when_empty=True, cluster=cluster.address, poll_s=0.1, on_progress=on_progress)
    thread = threading.Thread(target=worker.run)
    thread.start()
    deadline = time.monotonic() + 600
    while not first_two[1].exists():  # windows 1 and 2 came back from the node
        assert thread.is_alive() and time.monotonic() < deadline, queue.get(job_id).error
        time.sleep(0.02)
    before = [_identity(path) for path in first_two]
    running_on = queue.get(job_id).params["cluster"]["nodes"][0].rsplit("(", 1)[1].rstrip(")")
    victim = next(node for node in cluster.workers if node.node_id.startswith(running_on))
    cluster.remove_node(victim, allow_graceful=False)  # SIGKILL of its raylet and workers
    cluster.workers.remove(victim)
    killed.set()
    thread.join(900)
    job = queue.get(job_id)
    assert job.state == "done", job.error
    assert job.params["cluster"]["nodes"][0] != running_on and cluster.workers[0].node_id[:8] in job.params["cluster"]["nodes"][0]

    # The second run started at window 3: windows 1 and 2 were read back, not sampled there (it
    # said so, no step of theirs was reported, and no new copy was committed and relayed back here).
    messages = [message for message, _ in after_kill]
    print("after the node died:", messages)
    # (the dead node's last progress may still arrive after the kill: the second run is what
    # follows its start on the other node)
    assert "starting on the node" in messages, messages
    messages = messages[messages.index("starting on the node"):]
    assert "window 1 of 5 was made before" in messages and "window 2 of 5 was made before" in messages
    assert not any(m.startswith(("window 1 of 5: step", "window 2 of 5: step")) for m in messages), messages
    assert any(m.startswith(("window 4 of 5", "window 5 of 5")) for m in messages), messages
    assert all(seen == before for _, seen in after_kill if seen != [None, None]), "windows 1-2 were made again"
    assert not windows_folder(output).exists()  # gone once the output was delivered, as after a local run

    # and the result is the one an uninterrupted local run makes
    expected = tmp_path / "expected.mp4"
    execute_here(_long(expected))
    _same_output(output, expected)
    queue.close()
