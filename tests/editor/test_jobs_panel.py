"""The Jobs panel: a running job the user cancels says "cancelling…" from the click until it ends,
whether the cancel came from its Cancel button or from another process."""

from __future__ import annotations

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
