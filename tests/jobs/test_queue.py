"""The persistent queue's state machine, on a real database."""

from __future__ import annotations

import pytest

from engine.errors import UserError
from engine.jobs.queue import MAX_CRASHES, JobQueue
from engine.progress import Progress


@pytest.fixture
def db_path(tmp_path):
    return str(tmp_path / "library.sqlite")


def test_every_change_is_committed_before_the_call_returns(db_path):
    queue, observer = JobQueue(db_path), JobQueue(db_path)  # two connections, as two processes
    job_id = queue.submit("generate", {"prompt": "a fox"})
    assert observer.get(job_id).state == "queued"
    assert queue.claim_next(worker_pid=123).id == job_id
    assert observer.get(job_id).state == "running" and observer.get(job_id).attempts == 1
    assert queue.report(job_id, Progress(3, 8, "step 3/8")) is False
    assert observer.get(job_id).progress == Progress(3, 8, "step 3/8")
    queue.finish(job_id, ["/out/a.mp4"])
    done = observer.get(job_id)
    assert (done.state, done.outputs, done.finished is not None) == ("done", ["/out/a.mp4"], True)


def test_jobs_run_in_order_with_interrupted_ones_first(db_path):
    queue = JobQueue(db_path)
    first, second, third = (queue.submit("generate", {"n": n}) for n in range(3))
    assert queue.claim_next(1).id == first
    queue.finish(first, [])
    assert queue.claim_next(1).id == second
    queue.mark_interrupted(second, "stopped")
    assert queue.claim_next(1).id == second  # it was first in line
    queue.finish(second, [])
    assert queue.claim_next(1).id == third
    queue.finish(third, [])
    assert queue.claim_next(1) is None


def test_a_job_that_crashed_the_worker_twice_is_not_started_again(db_path):
    queue = JobQueue(db_path)
    bad, good = queue.submit("generate", {"n": 1}), queue.submit("generate", {"n": 2})
    assert queue.claim_next(1).id == bad
    [orphan] = queue.recover_after_crash()  # a new worker finds it still running
    assert (orphan.state, orphan.crashes) == ("interrupted", 1)
    assert queue.claim_next(2).id == bad
    [orphan] = queue.recover_after_crash()
    assert (orphan.state, orphan.crashes) == ("failed", MAX_CRASHES)
    assert "stopped the worker twice" in orphan.error and f"kinora jobs retry {bad}" in orphan.error
    assert queue.claim_next(3).id == good
    queue.finish(good, [])
    assert queue.claim_next(3) is None
    queue.retry(bad)  # by hand it runs again, with a clean crash count
    again = queue.claim_next(4)
    assert (again.id, again.crashes, again.attempts) == (bad, 0, 3)


def test_cancel_and_retry_rules(db_path):
    queue = JobQueue(db_path)
    waiting, running = queue.submit("generate", {}), queue.submit("generate", {})
    queue.conn.execute("UPDATE jobs SET state = 'running' WHERE id = ?", (running,))
    assert queue.cancel(waiting) == "cancelled"
    assert queue.get(waiting).state == "cancelled"
    assert queue.cancel(running) == "running"  # the worker stops it at its next step
    assert queue.get(running).cancel_requested and queue.report(running, Progress(1, 2)) is True
    with pytest.raises(UserError, match="cancelled already"):
        queue.cancel(waiting)
    with pytest.raises(UserError, match="only failed, cancelled or interrupted"):
        queue.retry(running)
    queue.retry(waiting, {"steps": 2})
    assert (queue.get(waiting).state, queue.get(waiting).params) == ("queued", {"steps": 2})
    with pytest.raises(UserError, match="no job 99"):
        queue.get(99)
