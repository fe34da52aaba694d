"""Drawing influence curves with the mouse changes the model's keyframes; one drag is one undo."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtTest import QTest

from editor.curves.editor import CurveEditor
from editor.document import Document
from engine.model import edits
from engine.model.curves import Curve, Keyframe
from engine.model.items import Clip, MediaRef
from engine.model.project import new_project
from engine.time import FrameRange, FrameRate


@pytest.fixture
def editor(qtbot):
    project = new_project(640, 360, 24)
    edits.add_media(project, MediaRef("m", "/m/a.mp4", "video", num_frames=500, rate=FrameRate.parse(24)))
    edits.insert(project, project.timeline.tracks_of("video")[0].id, Clip("c", 0, "m", FrameRange(0, 101)))
    widget = CurveEditor(Document(project))
    qtbot.addWidget(widget)
    widget.resize(700, 320)
    widget.show()
    qtbot.waitExposed(widget)
    widget.set_item("c")
    return widget


def at(editor: CurveEditor, frame: float, value: float) -> QPoint:
    scene = editor.viewbox.mapViewToScene(QPointF(frame, value))
    return editor.plot.mapFromScene(scene)


def curve(editor):
    return editor.document.project.timeline.find("c")[1].curve


def test_click_adds_a_point(editor):
    QTest.mouseClick(editor.plot.viewport(), Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, at(editor, 50, 0.25))
    keys = curve(editor).keyframes
    assert [k.frame for k in keys] == [0, 50, 100]
    assert keys[1].value == pytest.approx(0.25, abs=0.02)
    assert curve(editor).evaluate(25) == pytest.approx((1 + keys[1].value) / 2, abs=1e-6)


def test_drag_moves_a_point_in_one_undo_step(editor):
    doc = editor.document
    doc.perform("set", lambda p: edits.set_curve(p, "c", Curve((Keyframe(0, 0.0), Keyframe(40, 0.5), Keyframe(100, 1.0)))))
    viewport = editor.plot.viewport()
    start, end = at(editor, 40, 0.5), at(editor, 70, 0.9)
    QTest.mousePress(viewport, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, start)
    for i in range(1, 9):
        QTest.mouseMove(viewport, start + (end - start) * i / 8)
    QTest.mouseRelease(viewport, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, end)
    keys = curve(editor).keyframes
    assert [k.frame for k in keys] == [0, pytest.approx(70, abs=1), 100]
    assert keys[1].value == pytest.approx(0.9, abs=0.02)
    assert doc.undo_stack.count() == 2  # the preset set-up, then the whole drag
    doc.undo_stack.undo()
    assert [(k.frame, k.value) for k in curve(editor).keyframes] == [(0, 0.0), (40, 0.5), (100, 1.0)]


def test_right_click_deletes_a_point(editor):
    editor.document.perform("set", lambda p: edits.set_curve(
        p, "c", Curve((Keyframe(0, 0.0), Keyframe(40, 0.5), Keyframe(100, 1.0)))))
    QTest.mouseClick(editor.plot.viewport(), Qt.MouseButton.RightButton, Qt.KeyboardModifier.NoModifier,
                     at(editor, 40, 0.5))
    assert [k.frame for k in curve(editor).keyframes] == [0, 100]


def test_presets_replace_the_curve(editor):
    editor.preset_buttons["ease in"].click()
    c = curve(editor)
    assert c.evaluate(0) == 0.0 and c.evaluate(100) == 1.0
    assert c.evaluate(25) < 0.25  # eases in: slower than linear at first
    editor.preset_buttons["flat"].click()
    assert curve(editor).is_default
