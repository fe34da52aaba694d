"""The Jobs panel: a running job the user cancels says "cancelling…" from the click until it ends,
whether the cancel came from its Cancel button or from another process; rows say what a job
makes (tool, prompt, length) and show a running job's preview at a readable size."""

from __future__ import annotations

import os
import threading

import pytest
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest

from editor.bridge import JobBridge
from editor.jobs_panel import CANCELLING, JobsPanel
from engine.jobs import registry
from engine.jobs.queue import JobQueue
from engine.jobs.worker import Worker
from engine.progress import Progress

_GATES: dict[str, threading.Event] = {}


def _long_step_job(params, on_progress, cancel):
    """A real handler whose current step is long (as a large model's is): it reports progress while
    the step runs and looks at its cancel token only when the step ends (when its gate opens)."""
    gate, step = _GATES[params["gate"]], 0
    while True:
        step += 1
        on_progress(Progress(step, 1000, f"step {step}/1000"))
        if gate.wait(0.05):
            cancel.check()
            return ["finished"]


registry.register("test-long-step", _long_step_job)


@pytest.fixture
def panel(qtbot, tmp_path):
    bridge = JobBridge(str(tmp_path / "library.sqlite"))
    panel = JobsPanel(bridge)
    qtbot.addWidget(panel)
    panel.show()
    yield panel
    for gate in _GATES.values():
        gate.set()
    bridge.stop()


def test_the_row_says_cancelling_from_the_click_until_the_job_ends(qtbot, panel):
    _GATES["click"] = gate = threading.Event()
    reports = []
    panel.bridge.jobProgress.connect(lambda job_id, progress: reports.append(progress.step))
    panel.bridge.start()
    job = panel.bridge.submit("test-long-step", {"gate": "click"})
    row = panel.rows[job.id][1]
    qtbot.waitUntil(lambda: row.job.state == "running" and row.state.text().startswith("running — step"))
    assert row.cancel.isVisible()
    QTest.mouseClick(row.cancel, Qt.MouseButton.LeftButton)
    assert row.state.text() == CANCELLING and not row.cancel.isVisible()  # before any worker news
    seen = len(reports)
    qtbot.waitUntil(lambda: len(reports) > seen + 3)  # the step goes on reporting; the row stays
    assert row.job.state == "running" and row.state.text() == CANCELLING
    assert JobQueue(panel.bridge.db_path).get(job.id).state == "running"
    gate.set()  # the step ends: the job sees its cancel token
    qtbot.waitUntil(lambda: row.job.state == "cancelled")
    assert row.state.text().startswith("cancelled") and row.retry.isVisible() and not row.cancel.isVisible()


def test_a_cancel_from_another_process_shows_as_cancelling(qtbot, panel):
    """The queue runs in another worker (as `kinora jobs run` would); the editor watches the database."""
    _GATES["elsewhere"] = gate = threading.Event()
    other = Worker(panel.bridge.db_path, poll_s=0.05)
    other.start()
    try:
        problems = []
        panel.bridge.workerProblem.connect(problems.append)
        panel.bridge.start()
        assert "another Kinora worker" in problems[0]
        job_id = JobQueue(panel.bridge.db_path).submit("test-long-step", {"gate": "elsewhere"})
        qtbot.waitUntil(lambda: job_id in panel.rows and panel.rows[job_id][1].job.state == "running", timeout=10_000)
        row = panel.rows[job_id][1]
        assert row.state.text() != CANCELLING
        assert JobQueue(panel.bridge.db_path).cancel(job_id) == "running"
        qtbot.waitUntil(lambda: row.state.text() == CANCELLING, timeout=10_000)
        assert row.job.state == "running" and not row.cancel.isVisible()
        gate.set()
        qtbot.waitUntil(lambda: row.job.state == "cancelled", timeout=10_000)
        assert row.state.text().startswith("cancelled")
    finally:
        gate.set()
        other.stop(timeout=30)


def _preview_job(params, on_progress, cancel):
    """A job whose model gives an 8x8 preview picture (as a tiny latent preview is)."""
    import numpy as np

    preview = np.zeros((8, 8, 3), np.uint8)
    preview[..., 0] = np.arange(8)[None, :] * 30  # red grows to the right, green downwards
    preview[..., 1] = np.arange(8)[:, None] * 30
    on_progress(Progress(1, 2, "step 1/2", preview=preview))
    _GATES[params["gate"]].wait(30)
    return []


registry.register("test-preview", _preview_job)


def test_a_running_job_shows_its_tiny_preview_readably_and_sharp(qtbot, panel):
    _GATES["preview"] = gate = threading.Event()
    panel.bridge.start()
    job = panel.bridge.submit("test-preview", {"gate": "preview"})
    row = panel.rows[job.id][1]
    qtbot.waitUntil(lambda: row.preview.isVisible() and row.preview.pixmap() is not None
                    and not row.preview.pixmap().isNull())
    image = row.preview.pixmap().toImage()
    assert (image.width(), image.height()) == (160, 160)  # 8 pixels enlarged 20 times
    for x, y in ((0, 0), (19, 19), (20, 0), (139, 159), (159, 40)):  # whole cells of one colour each
        colour = image.pixelColor(x, y)
        assert (colour.red(), colour.green()) == ((x // 20) * 30, (y // 20) * 30), (x, y)
    gate.set()
    qtbot.waitUntil(lambda: row.job.state == "done")
    assert not row.preview.isVisible()


def test_rows_name_the_tool_the_prompt_and_the_length(qtbot, tmp_path):
    from engine.generate import requests as rq
    from engine.jobs.request_job import job_params
    from engine.model import edits
    from engine.model.items import TextBlock
    from engine.model.project import new_project
    from engine.model.serialize import project_to_dict
    from tests.media.media_factory import index_video

    project = new_project(64, 64, 24)
    edits.insert(project, project.timeline.tracks_of("prompt")[0].id,
                 TextBlock("p", 0, 64, "a red circle moving right on a black background"))
    shot = tmp_path / "shot.mp4"
    index_video(shot, 24, rate=24)
    out = str(tmp_path / "out.mp4")
    queue = JobQueue(str(tmp_path / "library.sqlite"))
    storyboard = queue.submit("storyboard", job_params(rq.Storyboard(
        output=out, timeline=rq.TimelineRef.of(project), start=0, stop=64)))
    legacy = queue.submit("timeline", {"range": [0, 48], "project": project_to_dict(project, str(tmp_path)),
                                       "base_dir": str(tmp_path), "output": out, "seed": 3})
    generate = queue.submit("generate", job_params(rq.Generate(output=out, prompt="a blue square", frames=9,
                                                               sampling=rq.Sampling(variations=2))))
    extend = queue.submit("extend", job_params(rq.Extend(output=out, clip=rq.ClipRef.of_file(str(shot)),
                                                         prompt="more")))
    queue.claim_next(os.getpid())
    queue.finish(storyboard, [out])
    bridge = JobBridge(queue.path)
    panel = JobsPanel(bridge)
    qtbot.addWidget(panel)
    titles = {job_id: row.title.text() for job_id, (_, row) in panel.rows.items()}
    assert titles[storyboard] == f"#{storyboard} Storyboard — 'a red circle moving right on a black…' (64 frames)"
    assert titles[legacy] == f"#{legacy} Storyboard — 'a red circle moving right on a black…' (48 frames)"
    assert titles[generate] == f"#{generate} Generate ×2 — 'a blue square' (9 frames)"
    assert titles[extend] == f"#{extend} Extend forwards — 'more' of shot.mp4 (16 new frames)"
    assert panel.rows[storyboard][1].state.text() == "done — out.mp4"
    bridge.stop()


def test_a_finished_row_with_a_long_file_name_wraps_within_the_panel(qtbot, tmp_path):
    """A generated file's name is long ("20261130-140931-a-yellow-star-…"): the row wraps it at its
    dashes and stays as wide as the panel, all of it readable without scrolling sideways."""
    name = "20261130-140931-a-yellow-star-bouncing-on-a-sky-background-seed-12345.mp4"
    queue = JobQueue(str(tmp_path / "library.sqlite"))
    job_id = queue.submit("generate", {"prompt": "a yellow star bouncing on a sky background"})
    queue.claim_next(os.getpid())
    queue.finish(job_id, [str(tmp_path / name)])
    panel = JobsPanel(JobBridge(queue.path))
    qtbot.addWidget(panel)
    panel.resize(300, 400)
    panel.show()
    qtbot.waitExposed(panel)
    item, row = panel.rows[job_id]
    qtbot.waitUntil(lambda: row.width() <= panel.list.viewport().width())
    assert row.state.text().replace("\u200b", "").endswith(name)
    for label in (row.title, row.state):  # each as tall as its wrapped lines at its width: nothing cut off
        assert label.width() <= panel.list.viewport().width()
        assert label.height() >= label.heightForWidth(label.width())
    assert row.state.heightForWidth(row.state.width()) > row.state.fontMetrics().height()  # wrapped
    assert item.sizeHint().width() == panel.list.viewport().width()
