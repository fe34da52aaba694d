"""The cluster in the editor: Preferences take a Ray address; a job waiting for an unreachable
cluster says so in the Jobs panel, and its Run here button runs it on this machine (the real
worker, the bundled model)."""

from __future__ import annotations

import os

from PySide6.QtCore import Qt
from PySide6.QtTest import QTest

from editor.bridge import JobBridge
from editor.jobs_panel import JobsPanel
from engine.generate.requests import Generate, Sampling
from engine.jobs.request_job import job_params
from engine.user_settings import UserSettings, load_settings, save_settings

PROMPT = "a red circle moving right on a black background"


def test_preferences_take_the_cluster_address(qtbot):
    from editor.dialogs.settings import SettingsDialog

    dialog = SettingsDialog(UserSettings())
    qtbot.addWidget(dialog)
    dialog.show()
    QTest.mouseClick(dialog.cluster, Qt.MouseButton.LeftButton)
    QTest.keyClicks(dialog.cluster, "10.0.0.5:6379")
    dialog.accept()
    assert load_settings().cluster == "10.0.0.5:6379"
    dialog = SettingsDialog(load_settings())
    qtbot.addWidget(dialog)
    dialog.cluster.clear()
    dialog.accept()
    assert load_settings().cluster is None  # empty: this machine


def test_a_job_waiting_for_the_cluster_says_so_and_runs_here_with_one_click(qtbot, tmp_path):
    save_settings(UserSettings(cluster="127.0.0.1:9"))  # nothing listens there
    bridge = JobBridge(str(tmp_path / "library.sqlite"))
    panel = JobsPanel(bridge)
    qtbot.addWidget(panel)
    panel.show()
    try:
        bridge.start()
        request = Generate(output=str(tmp_path / "here.mp4"), prompt=PROMPT, frames=9, sampling=Sampling(seed=3, steps=2))
        job = bridge.submit(request.tool, job_params(request))
        row = panel.rows[job.id][1]
        qtbot.waitUntil(lambda: "waiting for cluster" in row.state.text(), timeout=60_000)
        assert "127.0.0.1:9" in row.state.text() and row.run_here.isVisible()
        QTest.mouseClick(row.run_here, Qt.MouseButton.LeftButton)
        qtbot.waitUntil(lambda: row.job.state == "done", timeout=300_000)
        assert os.path.isfile(tmp_path / "here.mp4") and not row.run_here.isVisible()
        assert "(on " not in row.state.text()  # it ran here
    finally:
        bridge.stop()
