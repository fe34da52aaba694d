"""The timeline job generates a marked range of a project (prompt blocks, held stills); the
render job exports a project; both run through the persistent queue and its worker."""

from __future__ import annotations

import cv2
import numpy as np

from engine.generate.requests import Sampling, Size, Storyboard, TimelineRef
from engine.jobs.queue import JobQueue
from engine.jobs.render_job import render_params
from engine.jobs.request_job import job_params
from engine.jobs.worker import Worker
from engine.library.catalog import Library
from engine.model import edits
from engine.model.items import Clip, MediaRef, Still, TextBlock
from engine.model.project import new_project
from engine.time import FrameRange, FrameRate


def test_timeline_job_generates_the_marked_range(tmp_path, tiny_model_dir):
    card = tmp_path / "card.png"
    cv2.imwrite(str(card), np.full((32, 32, 3), (40, 60, 220), np.uint8))
    project = new_project(32, 32, 24)
    edits.add_media(project, MediaRef("img", str(card), "image", width=32, height=32))
    edits.insert(project, project.timeline.tracks_of("video")[0].id, Still("s", 10, 4, "img"))
    prompt = project.timeline.tracks_of("prompt")[0].id
    edits.insert(project, prompt, TextBlock("a", 10, 5, "a red circle"))
    edits.insert(project, prompt, TextBlock("b", 15, 4, "a blue star"))
    out = tmp_path / "board.npy"
    request = Storyboard(output=str(out), timeline=TimelineRef.of(project), start=10, stop=19,
                         size=Size(width=32, height=32),
                         sampling=Sampling(seed=3, steps=2, model=str(tiny_model_dir), device="cpu"))
    params = job_params(request)
    queue = JobQueue(str(tmp_path / "library.sqlite"))
    job_id = queue.submit("storyboard", params)
    Worker(str(tmp_path / "library.sqlite"), stop_when_empty=True).run()
    job = queue.get(job_id)
    assert job.state == "done", job.error
    assert np.load(out).shape == (9, 32, 32, 3)
    [record] = Library().search("blue star")
    assert [(p["start"], p["stop"], p["text"]) for p in record["prompts"]] == [(0, 5, "a red circle"),
                                                                               (5, 9, "a blue star")]
    assert record["seeds"] == [3] and record["tool"] == "storyboard"
    assert record["plan_summary"]["num_frames"] == 9
    assert record["settings"]["request"] == request.to_json()  # the full recipe, re-runnable


def test_a_timeline_job_queued_before_typed_requests_still_runs(tmp_path, tiny_model_dir):
    from engine.model.serialize import project_to_dict

    project = new_project(32, 32, 24)
    edits.insert(project, project.timeline.tracks_of("prompt")[0].id, TextBlock("a", 0, 9, "a red circle"))
    out = tmp_path / "old.npy"
    params = {"project": project_to_dict(project, str(tmp_path)), "base_dir": str(tmp_path), "range": [0, 9],
              "output": str(out), "aspect": None, "resolution": "480p", "variations": 1, "seed": 1, "steps": 1,
              "guidance": None, "preset": None, "model": str(tiny_model_dir), "device": "cpu", "consent": False,
              "model_size": False}
    queue = JobQueue(str(tmp_path / "library.sqlite"))
    job_id = queue.submit("timeline", params)
    Worker(str(tmp_path / "library.sqlite"), stop_when_empty=True).run()
    assert queue.get(job_id).state == "done", queue.get(job_id).error
    assert np.load(out).shape == (9, 32, 32, 3)


def test_render_job_exports_a_playable_file(tmp_path):
    from engine.media.probe import probe
    from tests.media.media_factory import index_video

    source = tmp_path / "shot.mp4"
    index_video(source, 30, rate=24)
    project = new_project(160, 96, 24)
    edits.add_media(project, MediaRef("v", str(source), "video", num_frames=30, rate=FrameRate.parse(24)))
    edits.insert(project, project.timeline.tracks_of("video")[0].id, Clip("c", 0, "v", FrameRange(0, 30)))
    out = tmp_path / "cut.mp4"
    queue = JobQueue(str(tmp_path / "library.sqlite"))
    job_id = queue.submit("render", render_params(project, str(out), crf=18, frame_range=FrameRange(5, 25)))
    Worker(str(tmp_path / "library.sqlite"), stop_when_empty=True).run()
    job = queue.get(job_id)
    assert job.state == "done", job.error
    assert job.outputs == [str(out)]
    info = probe(str(out))
    assert (info.width, info.height, info.num_frames) == (160, 96, 20)
