"""kill -9 of a real worker process (`kinora jobs run`) at random points of its jobs: the queue and
the finished outputs survive, the interrupted job runs again, a job that took the worker down
twice while working is not started again on its own, and deaths while a job only loads its
model are not counted against it."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from engine.cli import main
from engine.jobs import registry
from engine.jobs.queue import JobQueue
from engine.progress import Progress
from tests.jobs.conftest import generate_argv, tool_params

REPO = Path(__file__).resolve().parents[2]


def _start_worker(*, with_test_kinds: bool = False, stderr=subprocess.DEVNULL) -> subprocess.Popen:
    command = ["-c", "from tests.jobs.test_kill9 import run_worker_with_test_kinds as r; raise SystemExit(r())"] \
        if with_test_kinds else ["-m", "engine.cli", "jobs", "run", "--quiet"]
    return subprocess.Popen([sys.executable, *command], cwd=REPO, stdout=subprocess.DEVNULL, stderr=stderr)


def _slow_loading_job(params, on_progress, cancel):
    """A real handler whose model takes long to load: it stays loading while its hold file exists."""
    on_progress(Progress(0, 0, "loading the model"))
    while os.path.exists(params["hold"]):
        cancel.check()
        time.sleep(0.02)
    for step in range(1, 4):
        cancel.check()
        on_progress(Progress(step, 3, f"step {step}/3"))
    return ["loaded and sampled"]


def run_worker_with_test_kinds() -> int:
    """`kinora jobs run --quiet` in a process that also knows this file's test job kinds."""
    registry.register("test-slow-loading", _slow_loading_job)
    return main(["jobs", "run", "--quiet"])


def _wait_for(condition, timeout=60.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("timed out waiting for the worker")
        time.sleep(0.02)


def _kill(proc: subprocess.Popen) -> None:
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(10)


def _running_in(queue: JobQueue, proc: subprocess.Popen) -> int:
    return queue.conn.execute("SELECT count(*) FROM jobs WHERE state = 'running' AND worker_pid = ?",
                              (proc.pid,)).fetchone()[0]


def _check_outputs(queue: JobQueue, outputs: dict[int, Path]) -> None:
    """Finished outputs load whole; no output is ever a cut-short file."""
    for job_id, out in outputs.items():
        if queue.get(job_id).state == "done":
            assert out.is_file()
        if out.exists():
            assert np.load(out).shape == (9, 32, 32, 3)


def test_kill_9_at_random_points_keeps_the_queue_and_outputs(tmp_path, tiny_model_dir):
    seed = random.randrange(10**6)
    rng = random.Random(seed)
    queue = JobQueue()
    outputs = {}
    for i in range(3):
        out = tmp_path / f"shot-{i}.npy"
        job_id = queue.submit("generate", tool_params(generate_argv(tiny_model_dir, out, steps=20, seed=i)))
        outputs[job_id] = out
    kills_during: dict[int, int] = {}  # job id -> how many worker deaths it was running for
    crashes_during: dict[int, int] = {}  # job id -> how many of those came after its sampling began
    for _ in range(2):
        proc = _start_worker()
        _wait_for(lambda p=proc: _running_in(queue, p) > 0)  # this worker has claimed a job
        time.sleep(rng.uniform(0.0, 1.5))  # loading, sampling, decoding, writing or between jobs
        _kill(proc)
        jobs = queue.list()
        running = [job for job in jobs if job.state == "running"]
        assert len(running) <= 1, f"seed {seed}"
        for job in running:
            kills_during[job.id] = kills_during.get(job.id, 0) + 1
            crashes_during[job.id] = crashes_during.get(job.id, 0) + job.working
        assert {job.state for job in jobs} <= {"queued", "running", "done"}, f"seed {seed}"
        _check_outputs(queue, outputs)
    proc = _start_worker()
    assert proc.wait(120) == 0
    for job in queue.list():
        kills, crashes = kills_during.get(job.id, 0), crashes_during.get(job.id, 0)
        assert job.crashes == crashes, (f"seed {seed}", kills_during, crashes_during, job)
        if crashes < 2:  # interrupted: it ran again from the start and finished
            assert job.attempts == 1 + kills, f"seed {seed}"
            assert (job.state, job.outputs) == ("done", [str(outputs[job.id])]), (f"seed {seed}", job)
        else:  # sampling during both deaths: crash-loop protection keeps it from starting again
            assert job.attempts == 2 and job.state == "failed", f"seed {seed}"
            assert "stopped the worker twice" in job.error
    _check_outputs(queue, outputs)
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".partial")]


def test_a_job_that_killed_the_worker_twice_is_not_started_again(tmp_path, tiny_model_dir, capsys):
    queue = JobQueue()
    heavy = queue.submit("generate", tool_params(generate_argv(tiny_model_dir, tmp_path / "heavy.npy",
                                                                    steps=400)))
    light = queue.submit("generate", tool_params(generate_argv(tiny_model_dir, tmp_path / "light.npy",
                                                                    steps=2)))
    for attempt in (1, 2):
        proc = _start_worker()
        _wait_for(lambda n=attempt: queue.get(heavy).attempts == n and queue.get(heavy).step >= 1)  # mid-sampling
        _kill(proc)
        assert queue.get(heavy).state == "running" and queue.get(light).state == "queued"
    proc = _start_worker()
    assert proc.wait(120) == 0
    stopped = queue.get(heavy)
    assert (stopped.state, stopped.attempts, stopped.crashes) == ("failed", 2, 2)
    assert "stopped the worker twice" in stopped.error
    assert queue.get(light).state == "done"
    assert not (tmp_path / "heavy.npy").exists()
    # By hand it is queued again.
    assert main(["jobs", "retry", str(heavy)]) == 0
    assert queue.get(heavy).state == "queued" and queue.get(heavy).crashes == 0


def test_a_clean_stop_is_not_counted_as_a_crash(tmp_path, tiny_model_dir):
    """SIGTERM (like Ctrl-C) of `kinora jobs run` marks the job interrupted without a crash count."""
    queue = JobQueue()
    job_id = queue.submit("generate", tool_params(generate_argv(tiny_model_dir, tmp_path / "a.npy", steps=400)))
    proc = _start_worker()
    _wait_for(lambda: queue.get(job_id).step >= 1)
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(30) == 130
    job = queue.get(job_id)
    assert (job.state, job.crashes) == ("interrupted", 0), job


def test_deaths_while_a_job_loads_its_model_are_not_counted_against_it(tmp_path):
    hold = tmp_path / "hold"
    hold.touch()
    queue = JobQueue()
    job_id = queue.submit("test-slow-loading", {"hold": str(hold)})
    for attempt in (1, 2, 3):
        proc = _start_worker(with_test_kinds=True)
        _wait_for(lambda n=attempt: queue.get(job_id).attempts == n  # started again each time, never failed
                  and queue.get(job_id).message == "loading the model")
        _kill(proc)
        assert (queue.get(job_id).state, queue.get(job_id).total) == ("running", 0)
    hold.unlink()  # the model loads this time
    proc = _start_worker(with_test_kinds=True, stderr=subprocess.PIPE)
    _, stderr = proc.communicate(timeout=120)
    assert proc.returncode == 0, stderr
    # The restarted worker found it orphaned: interrupted, not failed; then it ran to the end.
    assert f"job {job_id} test-slow-loading: interrupted" in stderr.decode()
    job = queue.get(job_id)
    assert (job.state, job.crashes, job.attempts, job.outputs) == ("done", 0, 4, ["loaded and sampled"])
