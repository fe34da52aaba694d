"""The AI tools from the editor with real mouse events: a curve drawn on a clip reaches the
blend's plan, Retake and Fill gap compile what the timeline shows, a dash prompt generates,
a long job is announced, and a finished storyboard lands on a new track above."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtGui import QContextMenuEvent
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QInputDialog, QMenu, QMessageBox

from editor.main_window import MainWindow
from engine.generate import tools
from engine.generate.caps import caps_for_layout
from engine.generate.compiler import compile as compile_plan
from engine.generate.requests import request_from_json
from engine.model import edits
from engine.model.items import Clip, MediaRef, TextBlock
from engine.model.project import new_project
from engine.time import FrameRange, FrameRate
from tests.generate.media import write_clip

CAPS = caps_for_layout((4, 8))


@pytest.fixture
def window(qtbot, tmp_path, monkeypatch):
    clips = [str(write_clip(tmp_path / f"shot{i}.mp4", 40, seed=i)) for i in range(2)]
    project = new_project(64, 64, 24)
    for i, path in enumerate(clips):
        edits.add_media(project, MediaRef(f"m{i}", path, "video", num_frames=40, rate=FrameRate.parse(24)))
    edits.add_track(project, "video", "V2", index=1, track_id="v2")
    v1 = project.timeline.tracks_of("video")[-1].id
    edits.insert(project, v1, Clip("a", 0, "m0", FrameRange(0, 40)))
    edits.insert(project, "v2", Clip("b", 20, "m1", FrameRange(0, 40)))
    edits.insert(project, v1, Clip("c", 60, "m1", FrameRange(0, 20)))
    edits.insert(project, project.timeline.tracks_of("prompt")[0].id, TextBlock("p", 0, 80, "a quiet lake"))
    window = MainWindow(project, start_worker=False)
    qtbot.addWidget(window)
    window.resize(1440, 900)
    window.show()
    qtbot.waitExposed(window)
    monkeypatch.setattr(QInputDialog, "getText", lambda *a, **k: ("a storm", True))
    return window


def _centre(window, item_id: str) -> QPoint:
    view = window.timeline.view
    graphic = next(g for g in view.scene().items() if getattr(getattr(g, "item", None), "id", None) == item_id)
    return view.mapFromScene(graphic.sceneBoundingRect().center())


def _context_menu_action(window, monkeypatch, item_id: str, text: str):
    """Right-click the clip with the mouse and pick `text` from the menu that opens."""
    shown = []
    monkeypatch.setattr(QMenu, "exec", lambda menu, *a, **k: shown.append(menu))
    viewport = window.timeline.view.viewport()
    point = _centre(window, item_id)
    QTest.mousePress(viewport, Qt.MouseButton.RightButton, Qt.KeyboardModifier.NoModifier, point)
    QApplication.sendEvent(viewport, QContextMenuEvent(QContextMenuEvent.Reason.Mouse, point,
                                                       viewport.mapToGlobal(point)))
    QTest.mouseRelease(viewport, Qt.MouseButton.RightButton, Qt.KeyboardModifier.NoModifier, point)
    [menu] = shown
    [action] = [a for a in menu.actions() if a.text() == text]
    return action


def _last_request(window):
    job = max(window.bridge.jobs(), key=lambda job: job.id)
    return request_from_json(job.params["request"])


def _draw_point(window, frame: float, value: float) -> None:
    curves = window.curves
    scene = curves.viewbox.mapViewToScene(QPointF(frame, value))
    QTest.mouseClick(curves.plot.viewport(), Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier,
                     curves.plot.mapFromScene(scene))


def test_a_curve_drawn_with_the_mouse_reaches_the_blend_plan(window, monkeypatch):
    viewport = window.timeline.view.viewport()
    QTest.mouseClick(viewport, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, _centre(window, "a"))
    window.curves_dock.raise_()
    _draw_point(window, 30, 0.2)  # clip A lets go towards its end
    curve = window.project.timeline.find("a")[1].curve
    assert len(curve.keyframes) == 3 and curve.evaluate(30) == pytest.approx(0.2, abs=0.03)
    QTest.mouseClick(viewport, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.ControlModifier, _centre(window, "b"))
    blend = _context_menu_action(window, monkeypatch, "b", "Blend with the other selected clip")
    assert blend.isEnabled()  # the right-click kept both clips selected
    blend.trigger()
    request = _last_request(window)
    assert request.tool == "blend" and {request.first.clip_id, request.second.clip_id} == {"a", "b"}
    plan = request.recipe(CAPS).plan
    project = window.project
    work = tools._working(project, [project.timeline.track("v2"), project.timeline.tracks_of("video")[-1]])
    expected = compile_plan(work, plan.frame_range, CAPS, width=plan.width, height=plan.height)
    np.testing.assert_allclose(plan.latent_layer_weight, expected.latent_layer_weight)
    lower = plan.layers[1]  # A under B: holds by the drawn curve where B leaves it room
    local = np.arange(plan.frame_range.start, plan.frame_range.stop)
    assert lower.pixel_weight[0] == pytest.approx(curve.evaluate(local[0]), abs=1e-5)


def test_retake_and_fill_gap_from_the_menu_compile_what_the_timeline_shows(window, monkeypatch):
    view = window.timeline.view
    view.set_playhead(8)
    QTest.keyClick(view, Qt.Key.Key_I)
    view.set_playhead(23)
    QTest.keyClick(view, Qt.Key.Key_O)
    assert (view.mark_in, view.mark_out) == (8, 23)
    _context_menu_action(window, monkeypatch, "a", "Retake the marked range…").trigger()
    retake = _last_request(window)
    assert (retake.tool, retake.start, retake.stop, retake.prompt) == ("retake", 8, 24, "a storm")
    plan = retake.recipe(CAPS).plan
    first = plan.frame_range.start
    assert plan.pixel_strength[8 - first + retake.ramp:24 - first - retake.ramp].max() == 0.0
    assert plan.pixel_strength[:8 - first - 1].min() == 1.0
    _context_menu_action(window, monkeypatch, "a", "Fill the gap after it…").trigger()
    gap = _last_request(window)
    assert (gap.tool, gap.start, gap.stop) == ("fill-gap", 40, 60)
    plan = gap.recipe(CAPS).plan
    project = window.project
    expected = compile_plan(tools._working(project, [project.timeline.tracks_of("video")[-1]]), plan.frame_range,
                            CAPS, width=plan.width, height=plan.height)
    np.testing.assert_array_equal(plan.pixel_strength, expected.pixel_strength)
    assert gap.place["mode"] == "gap" and gap.place["start"] == 40


def test_a_dash_prompt_generates_from_the_creation_bar(window):
    bar = window.creation_bar
    QTest.keyClicks(bar.prompt, "-glitch art")
    QTest.mouseClick(bar.generate_button, Qt.MouseButton.LeftButton)
    request = _last_request(window)
    assert request.tool == "generate" and request.prompt == "-glitch art"


def test_a_long_job_is_announced_before_it_is_queued(window, monkeypatch):
    asked = []
    monkeypatch.setattr(QMessageBox, "question",
                        lambda parent, title, text, *a, **k: asked.append(text) or QMessageBox.StandardButton.No)
    bar = window.creation_bar
    bar.resolution.setCurrentText("1080p")
    bar.duration.setValue(20)
    bar.steps.setValue(200)
    QTest.keyClicks(bar.prompt, "a red circle moving right on a black background")
    QTest.mouseClick(bar.generate_button, Qt.MouseButton.LeftButton)
    assert asked and "hours on this CPU" in asked[0]
    assert window.bridge.jobs() == []  # declined: nothing queued
