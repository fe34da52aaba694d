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
    queue.report(bad, Progress(1, 8, "step 1/8"))  # it was sampling when the worker died
    [orphan] = queue.recover_after_crash()  # a new worker finds it still running
    assert (orphan.state, orphan.crashes) == ("interrupted", 1)
    assert queue.claim_next(2).id == bad
    queue.report(bad, Progress(5, 8, "step 5/8"))
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


def test_a_claim_takes_only_the_kinds_asked_for_in_order(db_path):
    queue = JobQueue(db_path)
    kinds = ["generate", "render", "timeline", "render", "generate"]
    ids = [queue.submit(kind, {}) for kind in kinds]
    assert queue.claim_next(1, kinds=("render",)).id == ids[1]
    queue.mark_interrupted(ids[1], "stopped")
    assert queue.claim_next(1, exclude=("render",)).id == ids[0]  # the interrupted render is not its kind
    assert queue.claim_next(1, kinds=("render",)).id == ids[1]  # interrupted first: it was first in line
    assert queue.claim_next(1, kinds=("render",)).id == ids[3]
    assert queue.claim_next(1, kinds=("render",)) is None
    assert [queue.claim_next(1, exclude=("render",)).id for _ in range(2)] == [ids[2], ids[4]]
    assert queue.claim_next(1) is None


def test_two_threads_claiming_at_once_never_take_the_same_job(db_path):
    """Each thread on its own connection, as the worker's two lanes and a second process would be."""
    import threading

    submitter = JobQueue(db_path)
    ids = {kind: [submitter.submit(kind, {"n": n}) for n in range(30)] for kind in ("render", "generate")}
    claimed: dict[str, list[int]] = {"render": [], "generate": [], "any": []}
    start = threading.Barrier(3)

    def claim_all(name, **only):
        queue = JobQueue(db_path)
        start.wait()
        while (job := queue.claim_next(2, **only)) is not None:
            claimed[name].append(job.id)
            queue.finish(job.id, [])
        queue.close()

    threads = [threading.Thread(target=claim_all, args=("render",), kwargs={"kinds": ("render",)}),
               threading.Thread(target=claim_all, args=("generate",), kwargs={"exclude": ("render",)}),
               threading.Thread(target=claim_all, args=("any",))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    every = claimed["render"] + claimed["generate"] + claimed["any"]
    assert sorted(every) == sorted(ids["render"] + ids["generate"])  # each job exactly once
    assert set(claimed["render"]) <= set(ids["render"]) and set(claimed["generate"]) <= set(ids["generate"])
    assert all(claims == sorted(claims) for claims in claimed.values())  # each in order
    assert {job.state for job in submitter.list()} == {"done"}


def test_a_crash_counts_against_a_job_only_once_its_work_began(db_path):
    queue = JobQueue(db_path)
    job_id = queue.submit("generate", {})
    for attempt in range(1, 4):  # the worker dies while the job loads its model, three times
        assert queue.claim_next(attempt).id == job_id
        queue.report(job_id, Progress(0, 0, "loading the model"))
        [orphan] = queue.recover_after_crash()
        assert (orphan.state, orphan.crashes, orphan.attempts) == ("interrupted", 0, attempt)
        assert "before the job's work began" in orphan.message
    assert queue.claim_next(4).id == job_id
    queue.report(job_id, Progress(2, 20, "step 2/20"))  # sampling: a death now may be the job's doing
    [orphan] = queue.recover_after_crash()
    assert (orphan.state, orphan.crashes) == ("interrupted", 1)
    assert queue.claim_next(5).progress == Progress(0, 0, "starting")  # a new attempt starts unworked
    [orphan] = queue.recover_after_crash()
    assert (orphan.state, orphan.crashes) == ("interrupted", 1)
