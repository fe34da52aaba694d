"""The persistent job queue, stored in the library database (engine/library/db.py).

Every state change is one committed transaction before anyone is told about it, so after a
crash the table says exactly what happened:

    queued -> running -> done | failed | cancelled
                      -> interrupted (the worker died or was stopped) -> running again

Only one worker process runs the queue at a time (engine/jobs/worker.py holds a lock file), so
a job found `running` when a worker starts belonged to a worker that died. `recover_after_crash`
marks it interrupted and, when the job had started its own work, counts the crash; a job that
was working during MAX_CRASHES worker deaths is failed instead, so it cannot take the worker
down in a loop — the user retries it by hand.

A job has started its work once it reported a Progress with `total > 0` (sampler steps, decoded
frames, exported frames). Before that it is only loading a model or waiting, which crashes for
reasons of its own (another job's memory, the user killing a slow start) and says nothing
about the job, so a death then is not counted against it.

The worker claims from two threads at once (renders beside generations): each thread has its
own connection, and a claim is one immediate transaction, so two claims never take the same job.

A row the queue cannot read (params that are not JSON, a missing kind, numbers stored as text:
another program or a damaged disk wrote it) is set aside as failed when the worker meets it,
its data left as it was, so it never stops the worker or the jobs after it. Listing shows such
a row as failed with what is wrong. The worker's progress reports and state changes wait out
another process holding the database (db.retry_while_locked), so a backup tool holding the
file for a while delays a running job instead of failing it.
"""

from __future__ import annotations

import json
import sqlite3
import time
from dataclasses import dataclass
from typing import Any

from engine.errors import UserError
from engine.library.db import connect, library_path, retry_while_locked, transaction
from engine.progress import Progress

STATES = ("queued", "running", "done", "failed", "cancelled", "interrupted")
FINISHED = ("done", "failed", "cancelled")
MAX_CRASHES = 2
CRASH_LOOP_MESSAGE = "stopped the worker twice; retry it by hand (kinora jobs retry {id})"
UNREADABLE_MESSAGE = ("queue row {id} could not be read ({why}); it was set aside with its data kept as it was - "
                      "submit the job again, and remove this row with kinora jobs remove {id}")


@dataclass(frozen=True, slots=True)
class Job:
    id: int
    kind: str
    params: dict
    state: str
    step: int
    total: int
    message: str
    outputs: list
    error: str
    attempts: int
    crashes: int
    cancel_requested: bool
    created: float
    started: float | None
    finished: float | None

    @property
    def progress(self) -> Progress:
        return Progress(self.step, self.total, self.message)

    @property
    def working(self) -> bool:
        """Whether the job had started its own work (a report with total > 0), past loading and waiting."""
        return self.state == "running" and self.total > 0

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "kind": self.kind, "state": self.state, "step": self.step, "total": self.total,
                "message": self.message, "outputs": self.outputs, "error": self.error, "attempts": self.attempts,
                "crashes": self.crashes, "created": self.created, "started": self.started,
                "finished": self.finished, "params": self.params}


class JobQueue:
    """The queue over one connection. Each thread that touches the queue opens its own JobQueue."""

    def __init__(self, path: str | None = None, conn: sqlite3.Connection | None = None) -> None:
        self.conn = conn or connect(path)
        self.path = path or (conn.execute("PRAGMA database_list").fetchone()[2] if conn else library_path())

    def close(self) -> None:
        self.conn.close()

    # -- asking ------------------------------------------------------------------------------

    def get(self, job_id: int) -> Job:
        row = self._retrying(lambda: self.conn.execute("SELECT * FROM jobs WHERE id = ?", (job_id,)).fetchone())
        if row is None:
            raise UserError(f"no job {job_id} in the queue; `kinora jobs list` shows the jobs")
        return _job(row)

    def list(self, states: tuple[str, ...] | None = None, limit: int = 1000) -> list[Job]:
        if states:
            marks = ", ".join("?" * len(states))
            rows = self.conn.execute(f"SELECT * FROM jobs WHERE state IN ({marks}) ORDER BY id LIMIT ?",
                                     (*states, limit))
        else:
            rows = self.conn.execute("SELECT * FROM jobs ORDER BY id LIMIT ?", (limit,))
        return [_job(row) for row in rows]

    def cancel_requested(self, job_id: int) -> bool:
        row = self._retrying(
            lambda: self.conn.execute("SELECT cancel_requested FROM jobs WHERE id = ?", (job_id,)).fetchone())
        return bool(row and row[0])

    # -- what users do -----------------------------------------------------------------------

    def submit(self, kind: str, params: dict) -> int:
        text = json.dumps(params)  # fails here, not in the worker, when params are not JSON
        return self.conn.execute("INSERT INTO jobs(kind, params, state, created) VALUES (?, ?, 'queued', ?)",
                                 (kind, text, time.time())).lastrowid

    def cancel(self, job_id: int) -> str:
        """Cancel a job: a waiting one at once, a running one at its next step (the worker sees the
        request). Returns the job's state after the call."""
        with transaction(self.conn):
            job = self.get(job_id)
            if job.state in ("queued", "interrupted"):
                self._set(job_id, state="cancelled", message="cancelled before it ran", finished=time.time())
                return "cancelled"
            if job.state == "running":
                self._set(job_id, cancel_requested=1)
                return "running"
        raise UserError(f"job {job_id} is {job.state} already; there is nothing to cancel")

    def retry(self, job_id: int, params: dict | None = None) -> None:
        """Queue a failed, cancelled or interrupted job again (with new params when given)."""
        with transaction(self.conn):
            job = self.get(job_id)
            if job.state not in ("failed", "cancelled", "interrupted"):
                raise UserError(f"job {job_id} is {job.state}; only failed, cancelled or interrupted jobs can be "
                                "retried")
            changes: dict[str, Any] = dict(state="queued", step=0, total=0, message="", error="", crashes=0,
                                           cancel_requested=0, started=None, finished=None)
            if params is not None:
                changes["params"] = json.dumps(params)
            self._set(job_id, **changes)

    def run_locally(self, job_id: int) -> None:
        """Run a job on this machine instead of the cluster: one waiting for the cluster moves
        at its next retry, a queued one runs here when its turn comes."""
        with transaction(self.conn):
            job = self.get(job_id)
            if job.state in FINISHED:
                raise UserError(f"job {job_id} is {job.state} already; retry it to run it again")
            self._set(job_id, params=json.dumps({**job.params, "where": "local"}))

    def update_params(self, job_id: int, params: dict) -> None:
        """Replace a job's params (the worker notes where a cluster job runs)."""
        text = json.dumps(params)
        self._retrying(lambda: self._set(job_id, params=text))

    def remove(self, job_id: int) -> None:
        with transaction(self.conn):
            if self.get(job_id).state == "running":
                raise UserError(f"job {job_id} is running; cancel it first")
            self.conn.execute("DELETE FROM jobs WHERE id = ?", (job_id,))

    # -- what the worker does ----------------------------------------------------------------

    def recover_after_crash(self) -> list[Job]:
        """Called by a worker holding the worker lock, before it claims anything: jobs still marked
        running belonged to a worker that died. The death counts against a job only when it was
        working (see the module docstring). Returns the jobs as they are now."""
        return self._retrying(self._recover_after_crash)

    def _recover_after_crash(self) -> list[Job]:
        with transaction(self.conn):
            orphans = []
            for row in self.conn.execute("SELECT * FROM jobs WHERE state = 'running' ORDER BY id").fetchall():
                job = self._readable(row)
                if job is None:
                    continue
                orphans.append(job)
                if not job.working:
                    self._set(job.id, state="interrupted",
                              message="interrupted: the worker stopped before the job's work began; it will run "
                                      "again")
                    continue
                crashes = job.crashes + 1
                if crashes >= MAX_CRASHES:
                    self._set(job.id, state="failed", crashes=crashes, finished=time.time(),
                              error=CRASH_LOOP_MESSAGE.format(id=job.id), message="")
                else:
                    self._set(job.id, state="interrupted", crashes=crashes,
                              message="interrupted: the worker stopped while it ran; it will run again")
            return [self.get(job.id) for job in orphans]

    def claim_next(self, worker_pid: int, *, kinds: tuple[str, ...] | None = None,
                   exclude: tuple[str, ...] = ()) -> Job | None:
        """Take the first waiting job (interrupted ones first: they were first in line) and mark it
        running. `kinds` limits the claim to those kinds, `exclude` leaves those out: the worker's
        lanes each take their own kinds, in order."""
        where, args = "state IN ('interrupted', 'queued')", []
        if kinds is not None:
            where += f" AND kind IN ({', '.join('?' * len(kinds))})"
            args += kinds
        if exclude:  # a row without a kind is the catch-all lane's, which sets it aside
            where += f" AND (kind IS NULL OR kind NOT IN ({', '.join('?' * len(exclude))}))"
            args += exclude
        return self._retrying(lambda: self._claim(where, args, worker_pid))

    def _claim(self, where: str, args: list, worker_pid: int) -> Job | None:
        with transaction(self.conn):
            while True:
                row = self.conn.execute(f"SELECT * FROM jobs WHERE {where} ORDER BY state = 'queued', id LIMIT 1",
                                        args).fetchone()
                if row is None:
                    return None
                if self._readable(row) is not None:
                    break
            self.conn.execute(
                "UPDATE jobs SET state = 'running', attempts = attempts + 1, started = ?, finished = NULL, "
                "worker_pid = ?, step = 0, total = 0, message = 'starting', error = '' WHERE id = ?",
                (time.time(), worker_pid, row["id"]))
            return self.get(row["id"])

    def report(self, job_id: int, progress: Progress) -> bool:
        """Store a running job's progress; returns whether the user asked to cancel it."""
        self._retrying(lambda: self.conn.execute(
            "UPDATE jobs SET step = ?, total = ?, message = ? WHERE id = ? AND state = 'running'",
            (progress.step, progress.total, progress.message, job_id)))
        return self.cancel_requested(job_id)

    def finish(self, job_id: int, outputs: list) -> None:
        self._retrying(lambda: self._set(job_id, state="done", outputs=json.dumps(outputs),
                                         finished=time.time()))  # keeps the last message

    def fail(self, job_id: int, error: str) -> None:
        self._retrying(lambda: self._set(job_id, state="failed", error=error, finished=time.time(), message=""))

    def mark_cancelled(self, job_id: int, reason: str = "cancelled") -> None:
        self._retrying(lambda: self._set(job_id, state="cancelled", message=reason, finished=time.time(),
                                         cancel_requested=0))

    def mark_interrupted(self, job_id: int, reason: str) -> None:
        """The worker is stopping cleanly (not a crash): the job runs again on the next start."""
        self._retrying(lambda: self._set(job_id, state="interrupted", message=reason))

    def _readable(self, row: sqlite3.Row) -> Job | None:
        """The job of a row, or None after setting an unreadable row aside (failed, its data kept;
        the caller holds the transaction)."""
        try:
            return _strict_job(row)
        except (TypeError, ValueError, KeyError) as error:
            self._set(row["id"], state="failed", finished=time.time(), message="",
                      error=UNREADABLE_MESSAGE.format(id=row["id"], why=error))
            return None

    def _retrying(self, work):
        return retry_while_locked(self.path, work)

    def _set(self, job_id: int, **changes: Any) -> None:
        columns = ", ".join(f"{name} = ?" for name in changes)
        self.conn.execute(f"UPDATE jobs SET {columns} WHERE id = ?", (*changes.values(), job_id))


def _job(row: sqlite3.Row) -> Job:
    """The job a row holds; a row that cannot be read shows as a failed job saying why, with its
    columns as they are stored under params["unreadable_row"] (listing never fails on one row)."""
    try:
        return _strict_job(row)
    except (TypeError, ValueError, KeyError) as error:
        columns = row.keys()  # a Row iterates over its values, not its column names
        stored = {key: row[key] if row[key] is None or isinstance(row[key], int | float | str) else repr(row[key])
                  for key in columns}
        error_text = row["error"] if row["state"] == "failed" and isinstance(row["error"], str) and row["error"] \
            else UNREADABLE_MESSAGE.format(id=row["id"], why=error)
        return Job(id=row["id"], kind=str(row["kind"]), params={"unreadable_row": stored}, state="failed", step=0,
                   total=0, message="", outputs=[], error=error_text, attempts=0, crashes=0, cancel_requested=False,
                   created=row["created"] if isinstance(row["created"], int | float) else 0.0, started=None,
                   finished=None)


def _strict_job(row: sqlite3.Row) -> Job:
    """The job a row holds, or TypeError/ValueError naming the first column that is not as written."""
    def typed(column: str, kinds, optional: bool = False):
        value = row[column]
        if (value is None and optional) or (isinstance(value, kinds) and not isinstance(value, bool)):
            return value
        raise TypeError(f"{column} is {value!r:.60}")

    def parsed(column: str):
        try:
            return json.loads(typed(column, str))
        except ValueError:
            raise ValueError(f"{column} is {row[column]!r:.60}, not JSON") from None

    params, outputs = parsed("params"), parsed("outputs")
    if not isinstance(params, dict) or not isinstance(outputs, list):
        raise TypeError(f"params is {row['params']!r:.60}" if not isinstance(params, dict)
                        else f"outputs is {row['outputs']!r:.60}")
    if row["state"] not in STATES or not typed("kind", str):
        raise TypeError(f"state is {row['state']!r:.30}" if row["state"] not in STATES else "kind is empty")
    return Job(id=row["id"], kind=row["kind"], params=params, state=row["state"],
               step=typed("step", int), total=typed("total", int), message=typed("message", str), outputs=outputs,
               error=typed("error", str), attempts=typed("attempts", int), crashes=typed("crashes", int),
               cancel_requested=bool(typed("cancel_requested", int)), created=typed("created", int | float),
               started=typed("started", int | float, True), finished=typed("finished", int | float, True))
