"""Before it runs, the creation bar says how a range longer than the model makes at once will be
made: "8 windows, about M minutes on this CPU", the same estimate the job is judged by."""

from __future__ import annotations

import re
import threading

from PySide6.QtCore import Qt
from PySide6.QtTest import QTest

from editor.main_window import MainWindow
from engine.generate.cost import describe, estimate_request
from engine.model import edits
from engine.model.items import TextBlock
from engine.model.project import new_project

PROMPT = "a red circle moving right on a black background"


def test_a_long_timeline_range_says_its_windows_and_minutes_before_it_runs(qtbot):
    project = new_project(64, 64, 24)
    edits.insert(project, project.timeline.tracks_of("prompt")[0].id, TextBlock("t", 0, 200, PROMPT))
    window = MainWindow(project, start_worker=False)
    qtbot.addWidget(window)
    window.resize(1600, 900)
    window.show()
    qtbot.waitExposed(window)
    bar, note = window.creation_bar, window.creation_bar.length_note
    bar.source.setFocus()
    QTest.keyClick(bar.source, Qt.Key.Key_Down)  # Prompt -> Timeline
    assert bar.source.currentText() == "Timeline"
    # at once: the window count, on the bar itself (no hovering), and no warning about the length
    assert note.isVisible() and note.text().startswith("8 windows") and not bar.hint.isVisible()
    assert "201 frames in 8 windows of at most 33 frames" in note.toolTip()
    # then the minutes, as the job the Generate button queues will be estimated
    qtbot.waitUntil(lambda: "about" in note.text(), timeout=120_000)
    assert re.fullmatch(r"8 windows, (about|under) .+ on this (CPU|GPU)(: a long job)?", note.text()), note.text()
    assert note.text() == describe(estimate_request(window.storyboard_request()))
    qtbot.waitUntil(lambda: note.width() >= note.fontMetrics().horizontalAdvance(note.text()))  # shown whole
    assert note.geometry().right() <= bar.width()

    # a range the model makes at once says nothing about windows
    view = window.timeline.view
    view.setFocus()
    view.set_playhead(0)
    QTest.keyClick(view, Qt.Key.Key_I)
    view.set_playhead(24)
    QTest.keyClick(view, Qt.Key.Key_O)
    assert not note.isVisible()
    # a longer one: its windows at once
    view.set_playhead(120)
    QTest.keyClick(view, Qt.Key.Key_O)
    assert note.isVisible() and note.text().startswith("5 windows")  # 121 frames
    # and the whole length again: its estimate is already known
    view.set_playhead(199)
    QTest.keyClick(view, Qt.Key.Key_O)
    assert note.text() == describe(estimate_request(window.storyboard_request()))


def test_a_long_duration_in_prompt_mode_says_its_windows(qtbot):
    window = MainWindow(new_project(64, 64, 24), start_worker=False)
    qtbot.addWidget(window)
    window.show()
    qtbot.waitExposed(window)
    bar, note = window.creation_bar, window.creation_bar.length_note
    QTest.keyClicks(bar.prompt, PROMPT)
    assert not note.isVisible()  # the model's own length: one window
    spin = bar.duration.lineEdit()
    spin.selectAll()
    QTest.keyClicks(spin, "6")  # 145 frames
    assert note.isVisible() and note.text().startswith("6 windows")
    qtbot.waitUntil(lambda: "about" in note.text(), timeout=120_000)
    assert note.text() == describe(estimate_request(bar.request("/tmp/long.mp4")))


def test_a_timeline_range_with_a_still_counts_its_keyframe_fit(qtbot, tmp_path):
    """A still on one frame inside a latent frame is refitted after sampling: the estimate the
    bar shows is the range's own storyboard's, with that fit in it, and moving the still is
    estimated again."""
    import numpy as np

    from engine.model.items import MediaRef, Still
    from tests.generate.media import write_png

    picture = write_png(tmp_path / "key.png", (np.random.default_rng(0).random((64, 64, 3)) * 255).astype(np.uint8))
    project = new_project(64, 64, 24)
    project.path = str(tmp_path / "p.kinora")
    edits.insert(project, project.timeline.tracks_of("prompt")[0].id, TextBlock("t", 0, 100, PROMPT))
    edits.add_media(project, MediaRef("img", str(picture), "image"))
    edits.insert(project, project.timeline.tracks_of("video")[0].id, Still("s", 44, 1, "img"))
    window = MainWindow(project, start_worker=False)
    qtbot.addWidget(window)
    window.show()
    qtbot.waitExposed(window)
    bar, note = window.creation_bar, window.creation_bar.length_note
    bar.source.setCurrentText("Timeline")
    assert note.isVisible() and note.text().startswith("4 windows")
    qtbot.waitUntil(lambda: "about" in note.text(), timeout=120_000)
    assert "holding keyframes as their pictures: 1 latent frame refitted" in note.toolTip()
    assert note.text() == describe(estimate_request(window.storyboard_request()))
    # moved about quickly: one estimate runs at a time, the latest settings next
    for start in (52, 60, 68, 76):
        edits.move(project, "s", start)
        bar.refresh_hints()
        assert sum(thread.name == "kinora-length-note" for thread in threading.enumerate()) <= 1
    # on the first frame, which a latent frame of its own holds whole, it needs no fit
    edits.move(project, "s", 0)
    bar.refresh_hints()
    qtbot.waitUntil(lambda: "about" in note.text() and "holding keyframes" not in note.toolTip(), timeout=120_000)
    assert note.text() == describe(estimate_request(window.storyboard_request()))
