"""The strip under the tracks shows the compiled plan: held strength and prompt spans."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest

from editor.main_window import MainWindow
from engine.model import edits
from engine.model.curves import Curve, Keyframe
from engine.model.items import MediaRef, Still, TextBlock
from engine.model.project import new_project


def test_strip_follows_edits_and_marks(qtbot):
    project = new_project(640, 360, 24)
    edits.add_media(project, MediaRef("img", "/m/card.png", "image"))
    video = project.timeline.tracks_of("video")[0].id
    prompt = project.timeline.tracks_of("prompt")[0].id
    edits.insert(project, video, Still("s", 0, 9, "img"))
    edits.insert(project, prompt, TextBlock("t1", 0, 20, "a red circle"))
    edits.insert(project, prompt, TextBlock("t2", 20, 13, "a blue star"))
    window = MainWindow(project)
    qtbot.addWidget(window)
    window.show()
    qtbot.waitExposed(window)
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow)
    window.timeline.view.setFocus()
    strip = window.timeline.plan_strip
    plan = strip.plan
    assert plan.num_frames == 33 and plan.frame_range.start == 0
    np.testing.assert_array_equal(plan.pixel_strength[:9], 1.0)
    np.testing.assert_array_equal(plan.pixel_strength[9:], 0.0)
    assert [plan.prompts[i] for i in plan.pixel_prompt[[0, 19, 20, 32]]] == ["a red circle"] * 2 + ["a blue star"] * 2
    # a drawn curve shows up at once
    window.document.perform("curve", lambda p: edits.set_curve(p, "s", Curve((Keyframe(0, 1.0), Keyframe(8, 0.0)))))
    np.testing.assert_allclose(strip.plan.pixel_strength[:9], np.linspace(1, 0, 9), atol=1e-6)
    # I/O marks choose the range
    view = window.timeline.view
    view.set_playhead(16)
    QTest.keyClick(view, Qt.Key.Key_I)
    view.set_playhead(24)
    QTest.keyClick(view, Qt.Key.Key_O)
    assert (view.mark_in, view.mark_out) == (16, 24)
    assert strip.plan.frame_range.start == 16 and strip.plan.num_frames == 9
