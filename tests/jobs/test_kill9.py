"""kill -9 of a real worker process (`kinora jobs run`) at random points of its jobs: the queue and
the finished outputs survive, the interrupted job runs again, and a job that took the worker
down twice is not started again on its own."""

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
from engine.jobs.queue import JobQueue
from tests.jobs.conftest import generate_argv, tool_params

REPO = Path(__file__).resolve().parents[2]


def _start_worker() -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "engine.cli", "jobs", "run", "--quiet"], cwd=REPO,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


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
    for _ in range(2):
        proc = _start_worker()
        _wait_for(lambda p=proc: _running_in(queue, p) > 0)  # this worker has claimed a job
        time.sleep(rng.uniform(0.0, 1.5))  # loading, sampling, decoding, writing or between jobs
        _kill(proc)
        jobs = queue.list()
        running = [job.id for job in jobs if job.state == "running"]
        assert len(running) <= 1, f"seed {seed}"
        for job_id in running:
            kills_during[job_id] = kills_during.get(job_id, 0) + 1
        assert {job.state for job in jobs} <= {"queued", "running", "done"}, f"seed {seed}"
        _check_outputs(queue, outputs)
    proc = _start_worker()
    assert proc.wait(120) == 0
    for job in queue.list():
        kills = kills_during.get(job.id, 0)
        assert job.crashes == kills, (f"seed {seed}", kills_during, job)
        if kills < 2:  # interrupted once: it ran again from the start and finished
            assert job.attempts == 1 + kills, f"seed {seed}"
            assert (job.state, job.outputs) == ("done", [str(outputs[job.id])]), (f"seed {seed}", job)
        else:  # running during both deaths: crash-loop protection keeps it from starting again
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
