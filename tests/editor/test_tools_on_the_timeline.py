"""The AI tools from the editor with real mouse events: a curve drawn on a clip reaches the
blend's plan, Retake and Fill gap compile what the timeline shows, a dash prompt generates,
a long job is announced, and a finished storyboard lands on a new track above."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtGui import QContextMenuEvent
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QInputDialog, QMessageBox

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


def _pick(window, qtbot, item_id: str, text: str) -> bool:
    """Right-click the clip with the mouse and choose `text` in the menu that opens; returns
    whether the entry was enabled (a disabled one is not chosen)."""
    from PySide6.QtCore import QTimer

    seen = {}
    poll = QTimer()

    def choose():
        menu = QApplication.activePopupWidget()
        if menu is None or not menu.isVisible():
            return
        poll.stop()
        action = next(a for a in menu.actions() if a.text() == text)
        seen["enabled"] = action.isEnabled()
        menu.close()
        if action.isEnabled():
            QTimer.singleShot(0, action.trigger)

    poll.timeout.connect(choose)
    poll.start(20)
    viewport = window.timeline.view.viewport()
    point = _centre(window, item_id)
    # what a right-click delivers on Linux: the press, the context menu request, the release
    QTest.mousePress(viewport, Qt.MouseButton.RightButton, Qt.KeyboardModifier.NoModifier, point)
    QApplication.sendEvent(viewport, QContextMenuEvent(QContextMenuEvent.Reason.Mouse, point,
                                                       viewport.mapToGlobal(point)))
    QTest.mouseRelease(viewport, Qt.MouseButton.RightButton, Qt.KeyboardModifier.NoModifier, point)
    qtbot.waitUntil(lambda: bool(seen))
    poll.stop()
    jobs = len(window.bridge.jobs())
    if seen["enabled"]:
        qtbot.waitUntil(lambda: len(window.bridge.jobs()) > jobs, timeout=20_000)
    return seen["enabled"]


def _last_request(window):
    job = max(window.bridge.jobs(), key=lambda job: job.id)
    return request_from_json(job.params["request"])


def _draw_point(window, frame: float, value: float) -> None:
    curves = window.curves
    scene = curves.viewbox.mapViewToScene(QPointF(frame, value))
    QTest.mouseClick(curves.plot.viewport(), Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier,
                     curves.plot.mapFromScene(scene))


def test_a_curve_drawn_with_the_mouse_reaches_the_blend_plan(window, qtbot):
    viewport = window.timeline.view.viewport()
    QTest.mouseClick(viewport, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, _centre(window, "a"))
    window.curves_dock.raise_()
    _draw_point(window, 30, 0.2)  # clip A lets go towards its end
    curve = window.project.timeline.find("a")[1].curve
    assert len(curve.keyframes) == 3 and curve.evaluate(30) == pytest.approx(0.2, abs=0.03)
    QTest.mouseClick(viewport, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, _centre(window, "b"))
    _draw_point(window, 0, 0.0)  # clip B comes in from nothing: a ramp up over its length
    b_curve = window.project.timeline.find("b")[1].curve
    assert b_curve.evaluate(0) == pytest.approx(0.0, abs=0.03) and b_curve.evaluate(39) == 1.0
    QTest.mouseClick(viewport, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, _centre(window, "a"))
    QTest.mouseClick(viewport, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.ControlModifier, _centre(window, "b"))
    assert _pick(window, qtbot, "b", "Blend with the other selected clip")  # both clips stayed selected
    request = _last_request(window)
    assert request.tool == "blend" and {request.first.clip_id, request.second.clip_id} == {"a", "b"}
    plan = request.recipe(CAPS).plan
    project = window.project
    work = tools._working(project, [project.timeline.track("v2"), project.timeline.tracks_of("video")[-1]])
    expected = compile_plan(work, plan.frame_range, CAPS, width=plan.width, height=plan.height)
    np.testing.assert_allclose(plan.latent_layer_weight, expected.latent_layer_weight)
    upper, lower = plan.layers  # B on V2 over A on V1, each by its drawn curve, A where B leaves room
    frames = np.arange(plan.frame_range.start, plan.frame_range.stop)
    np.testing.assert_allclose(upper.pixel_weight, b_curve.evaluate(frames - 20), atol=1e-5)
    np.testing.assert_allclose(lower.pixel_weight, curve.evaluate(frames) * (1 - b_curve.evaluate(frames - 20)),
                               atol=1e-5)


def test_retake_and_fill_gap_from_the_menu_compile_what_the_timeline_shows(window, qtbot):
    view = window.timeline.view
    view.set_playhead(8)
    QTest.keyClick(view, Qt.Key.Key_I)
    view.set_playhead(23)
    QTest.keyClick(view, Qt.Key.Key_O)
    assert (view.mark_in, view.mark_out) == (8, 23)
    assert _pick(window, qtbot, "a", "Retake the marked range…")
    retake = _last_request(window)
    assert (retake.tool, retake.start, retake.stop, retake.prompt) == ("retake", 8, 24, "a storm")
    plan = retake.recipe(CAPS).plan
    first = plan.frame_range.start
    assert plan.pixel_strength[8 - first + retake.ramp:24 - first - retake.ramp].max() == 0.0
    assert plan.pixel_strength[:8 - first - 1].min() == 1.0
    assert _pick(window, qtbot, "a", "Fill the gap after it…")
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


def test_results_land_on_the_timeline_where_their_request_says(qtbot, tmp_path, monkeypatch):
    """A storyboard lands on a new track above its range; a remix becomes a new take of its clip,
    and switching back to the first take brings its recipe back."""
    from tests.generate.tiny_models import save_tiny_ltx

    model = save_tiny_ltx(tmp_path / "tiny-ltx")
    clip = str(write_clip(tmp_path / "shot.mp4", 17, seed=1))
    project = new_project(32, 32, 24)
    edits.add_media(project, MediaRef("m", clip, "video", num_frames=17, rate=FrameRate.parse(24), width=32,
                                      height=32))
    v1 = project.timeline.tracks_of("video")[0].id
    edits.insert(project, v1, Clip("a", 0, "m", FrameRange(0, 17)))
    edits.insert(project, project.timeline.tracks_of("prompt")[0].id, TextBlock("p", 0, 17, "a quiet lake"))
    window = MainWindow(project)
    qtbot.addWidget(window)
    window.show()
    qtbot.waitExposed(window)
    monkeypatch.setattr(QInputDialog, "getText", lambda *a, **k: ("a storm", True))
    bar = window.creation_bar
    bar.model.addItem("tiny", str(model))
    bar.model.setCurrentIndex(bar.model.count() - 1)
    bar.steps.setValue(1)
    bar.resolution.setCurrentText("Project size")
    bar.source.setCurrentText("Timeline")
    problems = []
    monkeypatch.setattr(window, "_show_problem", problems.append)
    QTest.mouseClick(bar.generate_button, Qt.MouseButton.LeftButton)
    assert not problems and len(window.bridge.jobs()) == 1, (problems, window.statusBar().currentMessage())
    [job] = window.bridge.jobs()
    qtbot.waitUntil(lambda: job.id and window.bridge.jobs()[0].state in ("done", "failed"), timeout=120_000)
    assert window.bridge.jobs()[0].state == "done", window.bridge.jobs()[0].error
    qtbot.waitUntil(lambda: len(window.project.timeline.tracks_of("video")) == 2, timeout=10_000)
    above, below = window.project.timeline.tracks_of("video")
    assert below.id == v1 and len(above.items) == 1
    [board] = above.items
    assert board.start == 0 and board.generation["tool"] == "storyboard"
    assert window.project.media[board.media_id].path.endswith(".mp4")
    # a remix of the clip from its menu becomes its new take
    _, original = window.project.timeline.find("a")
    window.clip_tools.remix(window.project, original, 0.5)
    qtbot.waitUntil(lambda: window.bridge.jobs()[-1].state in ("done", "failed"), timeout=120_000)
    assert window.bridge.jobs()[-1].state == "done", window.bridge.jobs()[-1].error
    qtbot.waitUntil(lambda: len(window.project.timeline.find("a")[1].takes) == 2, timeout=10_000)
    _, remixed = window.project.timeline.find("a")
    remix_request = request_from_json(window.bridge.jobs()[-1].params["request"])
    assert remix_request.sampling.model == str(model) and remix_request.sampling.steps == 1  # the bar's settings
    assert remixed.media_id != "m" and remixed.generation["tool"] == "remix"
    assert remixed.generation["seed"] == remix_request.sampling.seed
    window.document.perform("Switch take", lambda p: edits.switch_take(p, "a", "m"))
    _, back = window.project.timeline.find("a")
    assert back.media_id == "m" and back.generation is None
    window.document.undo_stack.undo()
    window.document.undo_stack.undo()
    assert window.project.timeline.find("a")[1].media_id == "m" and not window.project.timeline.find("a")[1].takes


def test_clips_apart_blend_under_the_curves_drawn_in_the_blend_dialog(window, qtbot, monkeypatch):
    from editor.dialogs.blend import BlendDialog

    opened = []

    def exec_dialog(dialog):
        opened.append(dialog)
        dialog.show()
        qtbot.waitExposed(dialog)
        dialog.resize(900, 400)
        editor = dialog.second_curve
        scene = editor.viewbox.mapViewToScene(QPointF(10, 0.3))
        QTest.mouseClick(editor.plot.viewport(), Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier,
                         editor.plot.mapFromScene(scene))
        return 1

    monkeypatch.setattr(BlendDialog, "exec", exec_dialog)
    project = window.project
    _, a = project.timeline.find("a")
    _, c = project.timeline.find("c")  # on the same track, apart
    assert window.clip_tools.blend(project, a, c)
    [dialog] = opened
    request = _last_request(window)
    first, second = dialog.curves()
    assert request.first_curve == first and request.second_curve == second
    drawn = [k for k in second if k[0] == pytest.approx(10, abs=1)]
    assert drawn and drawn[0][1] == pytest.approx(0.3, abs=0.03)  # the point the mouse put there
    plan = request.recipe(CAPS).plan
    upper = plan.layers[0]  # the second clip, over the first, by the drawn curve
    from engine.model.serialize import curve_from_list

    np.testing.assert_allclose(upper.pixel_weight, curve_from_list([list(k) for k in second]).evaluate(
        np.arange(plan.num_frames)), atol=1e-5)


def test_extend_offers_the_clips_own_prompt(window, monkeypatch):
    import dataclasses

    _, clip = window.project.timeline.find("a")
    window.document.perform("recipe", lambda p: edits.apply(p, edits.ReplaceItem(
        dataclasses.replace(clip, generation={"prompt": "a red circle moving right", "seed": 1}))))
    offered = []
    monkeypatch.setattr(QInputDialog, "getText", lambda parent, title, label, **k: offered.append(k.get("text"))
                        or (k.get("text"), True))
    _, clip = window.project.timeline.find("a")
    assert window.clip_tools.extend(window.project, clip, "forward")
    assert offered == ["a red circle moving right"]
    assert _last_request(window).prompt == "a red circle moving right"
