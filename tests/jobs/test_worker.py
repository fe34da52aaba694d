"""The worker: order, callbacks after commit, cancel within one sampler step, out of memory,
stopping, the single-worker lock, exports running beside a long generation, and the generate
job on a tiny real model."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from engine.errors import UserError
from engine.jobs import registry
from engine.jobs.queue import JobQueue
from engine.jobs.request_job import lower_settings
from engine.jobs.worker import Worker
from engine.library.catalog import Library
from tests.jobs.conftest import generate_argv, tool_params


def _counting_job(params, on_progress, cancel):
    """A real handler: counts to params["n"], one checked step at a time."""
    from engine.progress import Progress

    for i in range(params["n"]):
        cancel.check()
        on_progress(Progress(i + 1, params["n"], f"step {i + 1}"))
        if params.get("hold_at") == i + 1:  # stay in this step until the test opens the gate
            _GATES[params["gate"]].wait(5)
    return [f"counted to {params['n']}"]


def _slow_job(params, on_progress, cancel):
    """A real handler of a long job: works until its gate opens, checking its cancel token as it goes."""
    from engine.progress import Progress

    gate, step = _GATES[params["gate"]], 0
    while not gate.is_set():
        cancel.check()
        step += 1
        on_progress(Progress(step, 1_000_000, "working"))
        gate.wait(0.05)
    return [f"worked {step} steps"]


def _out_of_memory_job(params, on_progress, cancel):
    raise MemoryError("could not allocate 40 GiB")


def _broken_job(params, on_progress, cancel):
    raise ValueError("the handler has a bug")


_GATES: dict[str, threading.Event] = {}
registry.register("test-count", _counting_job)
registry.register("test-slow", _slow_job)
registry.register("test-oom", _out_of_memory_job)
registry.register("test-broken", _broken_job)


@pytest.fixture
def db_path(tmp_path):
    return str(tmp_path / "library.sqlite")


def test_jobs_run_in_order_and_callbacks_follow_the_commit(db_path):
    queue = JobQueue(db_path)
    ids = [queue.submit("test-count", {"n": n}) for n in (2, 3)]
    seen, mismatches = [], []
    observer = JobQueue(db_path)

    def on_state(job):
        seen.append((job.id, job.state))
        if observer.get(job.id).state != job.state:
            mismatches.append(job.id)

    worker = Worker(db_path, on_state=on_state, stop_when_empty=True)
    worker.run()
    assert seen == [(ids[0], "running"), (ids[0], "done"), (ids[1], "running"), (ids[1], "done")]
    assert mismatches == []
    assert queue.get(ids[1]).outputs == ["counted to 3"] and queue.get(ids[1]).progress.step == 3


def test_out_of_memory_fails_that_job_with_a_clear_message_and_the_queue_goes_on(db_path):
    queue = JobQueue(db_path)
    oom, broken, fine = (queue.submit(kind, {"n": 1}) for kind in ("test-oom", "test-broken", "test-count"))
    Worker(db_path, stop_when_empty=True).run()
    failed = queue.get(oom)
    assert failed.state == "failed"
    assert "out of memory" in failed.error and f"kinora jobs retry {oom} --lower" in failed.error
    assert queue.get(broken).state == "failed" and "the handler has a bug" in queue.get(broken).error
    assert queue.get(fine).state == "done"


def test_only_one_worker_runs_a_queue(db_path):
    first = Worker(db_path, poll_s=0.05)
    first.start()
    try:
        with pytest.raises(UserError, match="another Kinora worker"):
            Worker(db_path).start()
    finally:
        first.stop()
    second = Worker(db_path, stop_when_empty=True)  # the lock went with the first worker
    second.run()


def test_stopping_the_worker_interrupts_the_job_without_counting_a_crash(db_path):
    queue = JobQueue(db_path)
    _GATES["stop"] = gate = threading.Event()
    job_id = queue.submit("test-count", {"n": 50, "gate": "stop", "hold_at": 3})
    reached = threading.Event()
    worker = Worker(db_path, on_progress=lambda job, p: reached.set() if p.step == 3 else None)
    worker.start()
    assert reached.wait(10)
    worker.stop(wait=False)
    gate.set()
    worker.join(10)
    job = queue.get(job_id)
    assert (job.state, job.crashes, job.step) == ("interrupted", 0, 3)
    Worker(db_path, stop_when_empty=True).run()
    assert queue.get(job_id).state == "done" and queue.get(job_id).attempts == 2


@pytest.mark.parametrize("how", ["worker", "another process"])
def test_cancel_takes_effect_within_one_sampler_step(db_path, tmp_path, tiny_model_dir, how):
    out = tmp_path / "cancelled.npy"
    queue = JobQueue(db_path)
    job_id = queue.submit("generate", tool_params(generate_argv(tiny_model_dir, out, steps=12)))
    sampler_steps = []

    def on_progress(job, progress):
        if progress.message.startswith("step"):
            sampler_steps.append(progress.step)
            if progress.step == 3:
                worker.cancel(job) if how == "worker" else JobQueue(db_path).cancel(job)

    worker = Worker(db_path, on_progress=on_progress, stop_when_empty=True)
    worker.run()
    job = queue.get(job_id)
    assert job.state == "cancelled" and job.outputs == []
    # Asked during step 3's report: in-process the next step never starts; through the database
    # the request is seen at the next report, so at most one more step runs.
    assert max(sampler_steps) == (3 if how == "worker" else 4)
    assert not out.exists()


def test_generate_job_writes_outputs_and_records_the_recipe(db_path, tmp_path, tiny_model_dir):
    out = tmp_path / "fox.npy"
    queue = JobQueue(db_path)
    job_id = queue.submit("generate", tool_params(generate_argv(tiny_model_dir, out, steps=2, seed=7)))
    Worker(db_path, stop_when_empty=True).run()
    job = queue.get(job_id)
    assert job.state == "done", job.error
    assert job.outputs == [str(out)]
    assert np.load(out).shape == (9, 32, 32, 3)
    assert out.with_suffix(".latents.safetensors").is_file()
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".partial")]
    [record] = Library().search("fox snow")
    assert (record["output_path"], record["seeds"], record["model_id"]) == (str(out), [7], "tiny-ltx")
    assert record["settings"]["steps"] == 2 and len(record["weights_hash"]) == 32
    assert record["plan_summary"]["num_frames"] == 9


def test_submit_takes_exactly_the_generate_options(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "shots").mkdir()
    params = tool_params(["a cat", "--image", "cat.png@4:0.5", "--resolution", "720p", "--variations", "2",
                          "-o", "shots/out.mp4"])
    request = params["request"]
    assert request["schema"] == "Generate.1"
    assert request["output"] == str(tmp_path / "shots" / "out.mp4")
    assert request["images"] == [{"path": str(tmp_path / "cat.png"), "frame": 4, "strength": 0.5, "fit": "fill"}]
    assert (request["prompt"], request["size"]["resolution"], request["sampling"]["steps"]) == ("a cat", "720p", None)
    with pytest.raises(SystemExit):
        tool_params(["a cat", "--no-such-option", "-o", "x.mp4"])
    lowered = [lower_settings(params)]
    while lowered[-1] is not None:
        lowered.append(lower_settings(lowered[-1]))
    assert [(p["request"]["sampling"]["variations"], p["request"]["size"]["resolution"])
            for p in lowered[:-1]] == [(1, "720p"), (1, "480p")]


def test_a_job_queued_by_an_older_version_is_upgraded_to_its_request(db_path, tmp_path, tiny_model_dir):
    """Before typed requests a job held the parsed options of `kinora generate`."""
    params = {"tool": "generate", "prompt": "a red fox in the snow", "prompt_at": [], "image": [], "video": [],
              "frames": 9, "duration": None, "rate": 24.0, "size": "32x32", "aspect": None, "resolution": None,
              "steps": 1, "guidance": None, "seed": 0, "variations": 1, "model": str(tiny_model_dir),
              "device": "cpu", "output": str(tmp_path / "old.npy"), "quiet": False, "consent": False}
    queue = JobQueue(db_path)
    job_id = queue.submit("generate", params)
    Worker(db_path, stop_when_empty=True).run()
    assert queue.get(job_id).state == "done", queue.get(job_id).error
    assert np.load(tmp_path / "old.npy").shape == (9, 32, 32, 3)


def test_a_job_nobody_can_read_fails_with_a_message_and_the_queue_carries_on(db_path, tmp_path, tiny_model_dir):
    queue = JobQueue(db_path)
    unreadable = queue.submit("extend", {"request": {"schema": "Extend.99", "output": "x.mp4"}})
    fine = queue.submit("generate", tool_params(generate_argv(tiny_model_dir, tmp_path / "fine.npy", steps=1)))
    Worker(db_path, stop_when_empty=True).run()
    assert queue.get(unreadable).state == "failed"
    assert "newer Kinora" in queue.get(unreadable).error
    assert queue.get(fine).state == "done"



def _tiny_render_params(tmp_path, name="cut.mp4"):
    """A real render job: a 12-frame project of one clip, exported to H.264."""
    from engine.jobs.render_job import render_params
    from engine.model import edits
    from engine.model.items import Clip, MediaRef
    from engine.model.project import new_project
    from engine.time import FrameRange, FrameRate
    from tests.media.media_factory import index_video

    source = tmp_path / "shot.mp4"
    if not source.exists():
        index_video(source, 12, rate=24)
    project = new_project(160, 96, 24)
    edits.add_media(project, MediaRef("v", str(source), "video", num_frames=12, rate=FrameRate.parse(24)))
    edits.insert(project, project.timeline.tracks_of("video")[0].id, Clip("c", 0, "v", FrameRange(0, 12)))
    return render_params(project, str(tmp_path / name), crf=23)


def _wait_until(condition, timeout=60.0):
    import time

    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out waiting for the worker"
        time.sleep(0.02)


def test_an_export_finishes_while_a_long_generation_runs(db_path, tmp_path):
    from engine.media.probe import probe

    queue = JobQueue(db_path)
    _GATES["long"] = gate = threading.Event()
    long_job = queue.submit("test-slow", {"gate": "long"})
    render = queue.submit("render", _tiny_render_params(tmp_path))
    states = []
    worker = Worker(db_path, on_state=lambda job: states.append((job.id, job.state)), poll_s=0.05)
    worker.start()
    try:
        _wait_until(lambda: queue.get(render).state not in ("queued", "running"))
        assert queue.get(render).state == "done", queue.get(render).error
        assert queue.get(long_job).state == "running" and not gate.is_set()
        assert probe(str(tmp_path / "cut.mp4")).num_frames == 12
        assert states.index((render, "done")) > states.index((long_job, "running"))
    finally:
        worker.stop(timeout=30)
    stopped = queue.get(long_job)
    assert (stopped.state, stopped.crashes) == ("interrupted", 0)
    assert queue.get(render).state == "done" and queue.get(render).attempts == 1
    gate.set()
    Worker(db_path, stop_when_empty=True).run()  # the long job runs again and ends
    assert queue.get(long_job).state == "done" and queue.get(long_job).attempts == 2


def test_each_lane_cancels_and_stops_its_own_running_job(db_path, monkeypatch):
    """A render that takes long (a slow handler in the render kind's place) beside a long generation."""
    monkeypatch.setitem(registry._REGISTERED, "render", _slow_job)
    _GATES["slow"] = gate = threading.Event()
    queue = JobQueue(db_path)
    generation = queue.submit("test-slow", {"gate": "slow"})
    first_render, second_render = (queue.submit("render", {"gate": "slow"}) for _ in range(2))
    worker = Worker(db_path, poll_s=0.05)
    worker.start()
    try:
        _wait_until(lambda: queue.get(generation).step > 0 and queue.get(first_render).step > 0)
        assert worker.cancel(first_render) == "running"
        _wait_until(lambda: queue.get(second_render).step > 0)  # the render lane went on to the next
        assert queue.get(first_render).state == "cancelled" and queue.get(generation).state == "running"
    finally:
        worker.stop(timeout=30)
    assert not gate.is_set()
    assert [(queue.get(i).state, queue.get(i).crashes) for i in (generation, second_render)] == \
        [("interrupted", 0), ("interrupted", 0)]
    gate.set()
    Worker(db_path, stop_when_empty=True).run()
    assert [queue.get(i).state for i in (generation, first_render, second_render)] == ["done", "cancelled", "done"]


def test_run_until_empty_waits_for_both_lanes(db_path, tmp_path):
    """`kinora jobs run` returns only when neither lane has anything left, renders included."""
    queue = JobQueue(db_path)
    ids = [queue.submit("test-count", {"n": 3}), queue.submit("render", _tiny_render_params(tmp_path, "a.mp4")),
           queue.submit("render", _tiny_render_params(tmp_path, "b.mp4")), queue.submit("test-count", {"n": 2})]
    Worker(db_path, stop_when_empty=True).run()
    assert [queue.get(i).state for i in ids] == ["done"] * 4
    assert (tmp_path / "a.mp4").is_file() and (tmp_path / "b.mp4").is_file()
