"""Before it runs, the creation bar says how a range longer than the model makes at once will be
made: "8 windows, about M minutes on this CPU", the same estimate the job is judged by."""

from __future__ import annotations

import re

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
