"""A queue row another program wrote wrong is set aside, never stopping the worker; a database
held by another process for longer than SQLite's own wait delays a running job, never fails it."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import threading

from engine.cli import main
from engine.jobs import registry
from engine.jobs.queue import JobQueue
from engine.jobs.worker import Worker
from engine.library import db
from engine.progress import Progress

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

# Holds the database's write lock (an exclusive transaction: with the write-ahead log, readers
# go on and every writer waits) for argv[2] seconds, then lets go by exiting.
HOLDER = r"""
import sqlite3, sys, time
conn = sqlite3.connect(sys.argv[1], isolation_level=None)
conn.execute("BEGIN EXCLUSIVE")
conn.execute("INSERT INTO tags(name) VALUES ('held')")
print("holding", flush=True)
time.sleep(float(sys.argv[2]))
"""

_GATES: dict[str, threading.Event] = {}


def _steps_job(params, on_progress, cancel):
    """Reports step 1, waits for its gate, reports step 2 and finishes."""
    on_progress(Progress(1, 2, "first"))
    _GATES[params["gate"]].wait(30)
    cancel.check()
    on_progress(Progress(2, 2, "second"))
    return ["made it"]


def _done_job(params, on_progress, cancel):
    return [f"ran with {params['n']}"]


registry.register("test-steps", _steps_job)
registry.register("test-done", _done_job)


def _write_corrupt_rows(path: str) -> dict[int, str]:
    """Rows as a damaged disk or another program might leave them; returns id -> what is wrong."""
    conn = sqlite3.connect(path, isolation_level=None)
    # A table once written without NOT NULL on kind (as another tool might have made it)
    conn.execute("PRAGMA writable_schema = ON")
    conn.execute("UPDATE sqlite_master SET sql = replace(sql, 'kind TEXT NOT NULL', 'kind TEXT') WHERE name = 'jobs'")
    conn.execute("PRAGMA writable_schema = OFF")
    conn.close()
    conn = sqlite3.connect(path, isolation_level=None)
    rows = {
        "params is '{not json'": ("test-done", "{not json", "queued", 0),
        "kind is None": (None, '{"n": 1}', "queued", 0),
        "params is '[1, 2]'": ("test-done", "[1, 2]", "queued", 0),
        "step is 'half'": ("test-done", '{"n": 1}', "queued", "half"),
        "params is 'nul'": ("test-done", "nul", "running", 0),  # found running: a worker died on it
    }
    ids = {}
    for why, (kind, params, state, step) in rows.items():
        ids[conn.execute("INSERT INTO jobs(kind, params, state, step, created) VALUES (?, ?, ?, ?, 1.0)",
                         (kind, params, state, step)).lastrowid] = why
    conn.close()
    return ids


def test_unreadable_rows_are_set_aside_with_their_data_and_the_queue_goes_on(capsys):
    path = db.library_path()
    queue = JobQueue(path)
    corrupt = _write_corrupt_rows(path)
    good = queue.submit("test-done", {"n": 2})
    raw_before = {row[0]: row[1:] for row in sqlite3.connect(path).execute("SELECT id, kind, params FROM jobs")}
    Worker(path, stop_when_empty=True).run()
    assert queue.get(good).state == "done" and queue.get(good).outputs == ["ran with 2"]
    for job_id, why in corrupt.items():
        job = queue.get(job_id)
        assert job.state == "failed", (job_id, why)
        assert f"queue row {job_id} could not be read ({why}" in job.error and "data kept" in job.error
    raw_after = {row[0]: row[1:] for row in sqlite3.connect(path).execute("SELECT id, kind, params FROM jobs")}
    assert raw_after == raw_before  # the rows' data is as it was written
    assert sqlite3.connect(path).execute(f"SELECT count(*) FROM jobs WHERE state = 'failed' AND id IN "
                                         f"({', '.join(map(str, corrupt))})").fetchone()[0] == len(corrupt)
    Worker(path, stop_when_empty=True).run()  # a second start is as quiet as the first
    assert main(["jobs", "list", "--json"]) == 0
    listed = {job["id"]: job for job in json.loads(capsys.readouterr().out)}
    assert listed[good]["state"] == "done"
    assert all(listed[i]["state"] == "failed" and listed[i]["params"]["unreadable_row"]["id"] == i for i in corrupt)
    queue.close()


def test_a_lock_held_past_sqlites_wait_delays_a_running_job_and_never_fails_it():
    path = db.library_path()
    queue = JobQueue(path)
    _GATES["held"] = threading.Event()
    job_id = queue.submit("test-steps", {"gate": "held"})
    reports = []
    worker = Worker(path, on_progress=lambda _id, progress: reports.append(progress.step), stop_when_empty=True)
    worker.start()
    holder = None
    try:
        while queue.get(job_id).step != 1:  # the job is running and has reported
            worker.join(0.05)
        hold_s = db.BUSY_TIMEOUT_MS / 1000 + 3  # well longer than SQLite's own busy wait
        holder = subprocess.Popen([sys.executable, "-c", HOLDER, path, str(hold_s)], stdout=subprocess.PIPE,
                                  text=True)
        assert holder.stdout.readline() == "holding\n"
        _GATES["held"].set()  # the job reports and finishes while the other process holds the lock
        worker.join(120)
    finally:
        _GATES["held"].set()
        worker.stop()
        if holder is not None:
            holder.wait(60)
    assert holder.returncode == 0
    job = queue.get(job_id)
    assert (job.state, job.step, job.outputs, job.error) == ("done", 2, ["made it"], "")
    assert reports == [1, 2]
    queue.close()
