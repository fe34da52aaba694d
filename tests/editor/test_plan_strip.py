"""The strip under the tracks shows the compiled plan: held strength and prompt spans."""

from __future__ import annotations

import json

import numpy as np
import pytest
from PySide6.QtCore import QEvent, QObject, QPoint, QPointF, Qt
from PySide6.QtGui import QColor, QWheelEvent
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication

from editor.main_window import MainWindow
from engine.generate.compiler import compile as compile_plan
from engine.model import edits
from engine.model.curves import Curve, Keyframe
from engine.model.items import Clip, MediaRef, Still, TextBlock
from engine.model.project import new_project
from engine.model.serialize import save_project
from engine.time import FrameRange, FrameRate
from tests.editor.test_timeline_editing import drag, point
from tests.generate.media import moving_square, write_clip, write_png


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


def test_strip_draws_latent_frames_as_the_chosen_model_makes_them(qtbot, tmp_path):
    from tests.generate.tiny_models import save_tiny_ltx

    project = new_project(640, 360, 24)
    prompt = project.timeline.tracks_of("prompt")[0].id
    edits.insert(project, prompt, TextBlock("t", 0, 30, "a red circle"))
    window = MainWindow(project, start_worker=False)
    qtbot.addWidget(window)
    strip = window.timeline.plan_strip
    # The default model is the bundled one: 4 pixel frames per latent frame, so 30 frames -> 29.
    assert strip.caps.vae_temporal_compression == 4 and strip.plan.num_frames == 29
    # A model whose VAE downsamples time three times (8 frames per latent frame), as real LTX-Video's:
    # only its config is read, nothing is loaded.
    folder = save_tiny_ltx(tmp_path / "tiny")
    config_file = folder / "vae" / "config.json"
    config = json.loads(config_file.read_text())
    config["spatio_temporal_scaling"] = [True, True, True, False]
    config_file.write_text(json.dumps(config))
    bar = window.creation_bar
    bar.model.addItem("tiny LTX", str(folder))
    bar.model.setCurrentIndex(bar.model.count() - 1)
    assert strip.caps.vae_temporal_compression == 8 and strip.plan.num_frames == 33
    bar.model.setCurrentIndex(0)
    assert strip.caps.vae_temporal_compression == 4


# --- the strip always draws the plan of the timeline as it is now ----------------------------


@pytest.fixture
def editing(qtbot, tmp_path):
    """A window over a real picture and a real clip: a prompt over frames 0-40, the picture held
    over frames 0-8, the timeline shown at 4 pixels a frame."""
    picture = write_png(tmp_path / "card.png", moving_square(1, size=32)[0])
    clip = write_clip(tmp_path / "clip.mp4", 48)
    project = new_project(640, 360, 24)
    edits.add_media(project, MediaRef("img", str(picture), "image"))
    edits.add_media(project, MediaRef("vid", str(clip), "video", num_frames=48, rate=FrameRate.parse(24)))
    edits.insert(project, project.timeline.tracks_of("prompt")[0].id, TextBlock("t1", 0, 40, "a red circle"))
    edits.insert(project, project.timeline.tracks_of("video")[0].id, Still("s", 0, 9, "img"))
    window = MainWindow(project, start_worker=False)
    qtbot.addWidget(window)
    window.show()
    qtbot.waitExposed(window)
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow)  # Ctrl+Z only reaches the active window
    view = window.timeline.view
    view.snapping = False
    view.set_zoom(4.0, 0)
    view.horizontalScrollBar().setValue(0)
    view.setFocus()
    return window


def drawn_matches_compile(window) -> np.ndarray:
    """Asserts the strip draws exactly the plan compile() makes of the timeline now (whole
    timeline, no marks); returns the drawn strength."""
    strip = window.timeline.plan_strip
    project = window.project
    frames = FrameRange(0, strip.caps.nearest_frame_count(project.timeline.duration))
    expected = compile_plan(project, frames, strip.caps, width=strip.caps.size_multiple,
                            height=strip.caps.size_multiple)
    assert strip.plan.frame_range == frames
    drawn = strip.drawn_strength()
    np.testing.assert_allclose(drawn, expected.pixel_strength, atol=1e-6)
    np.testing.assert_array_equal(strip.plan.pixel_strength, expected.pixel_strength)
    np.testing.assert_array_equal(strip.plan.latent_strength, expected.latent_strength)
    np.testing.assert_array_equal(strip.plan.pixel_prompt, expected.pixel_prompt)
    assert strip.plan.prompts == expected.prompts
    assert [(run.start, run.stop, strip.plan.prompts[run.index]) for run in strip.prompt_runs] == [
        (start, stop, expected.prompts[expected.pixel_prompt[start]]) for start, stop in _runs(expected.pixel_prompt)]
    return drawn


def _runs(values):
    edges = [0, *(i for i in range(1, len(values)) if values[i] != values[i - 1]), len(values)]
    return list(zip(edges, edges[1:]))


def _curve_point(editor, frame: float, value: float) -> QPoint:
    return editor.plot.mapFromScene(editor.viewbox.mapViewToScene(QPointF(frame, value)))


def test_strip_follows_every_edit_undo_and_project_open(editing, qtbot, tmp_path):
    window = editing
    view = window.timeline.view
    viewport = view.viewport()
    before = drawn_matches_compile(window)
    np.testing.assert_array_equal(before[:9], 1.0)

    # add: a clip over frames 20-35
    video = window.project.timeline.tracks_of("video")[0].id
    window.document.perform("Add", lambda p: edits.insert(p, video, Clip("c", 20, "vid", FrameRange(0, 16))))
    drawn = drawn_matches_compile(window)
    np.testing.assert_array_equal(drawn[20:36], 1.0)
    before = drawn

    # move: drag the clip 6 frames right with the mouse
    drag(view, point(view, 26, "V1"), point(view, 32, "V1"))
    assert window.project.timeline.find("c")[1].start == 26
    drawn = drawn_matches_compile(window)
    assert drawn[20:26].max() == 0.0 and drawn[26:41].min() == 1.0 and not np.array_equal(drawn, before)
    before = drawn

    # trim: drag the picture's end edge from frame 9 to 14
    drag(view, point(view, 8.5, "V1"), point(view, 13.5, "V1"))
    assert window.project.timeline.find("s")[1].range == FrameRange(0, 14)
    drawn = drawn_matches_compile(window)
    np.testing.assert_array_equal(drawn[:14], 1.0)
    before = drawn

    # curve: select the clip with a click, then click a point into its curve in the Curves panel
    QTest.mouseClick(viewport, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, point(view, 34, "V1"))
    assert view.selected_ids() == ["c"]
    window.curves_dock.raise_()
    editor = window.curves
    qtbot.waitExposed(editor.plot)
    QTest.mouseClick(editor.plot.viewport(), Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier,
                     _curve_point(editor, 8, 0.25))
    assert len(window.project.timeline.find("c")[1].curve.keyframes) == 3
    drawn = drawn_matches_compile(window)
    assert 0.2 < drawn[26 + 8] < 0.3
    curved = drawn

    # undo (Ctrl+Z) takes the curve point away again; redo brings it back
    QTest.keyClick(window, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert window.project.timeline.find("c")[1].curve.is_default
    np.testing.assert_array_equal(drawn_matches_compile(window), before)
    QTest.keyClick(window, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier)
    np.testing.assert_array_equal(drawn_matches_compile(window), curved)

    # marks (I, O) choose the range; they belong to this project and go when another one opens
    view.setFocus()
    view.set_playhead(8)
    QTest.keyClick(view, Qt.Key.Key_I)
    view.set_playhead(16)
    QTest.keyClick(view, Qt.Key.Key_O)
    assert window.timeline.plan_strip.plan.frame_range == FrameRange(8, 17)
    np.testing.assert_allclose(window.timeline.plan_strip.drawn_strength(), curved[8:17], atol=1e-6)

    # open another project: a picture at half strength over frames 4-11 under a blue star
    other = new_project(640, 360, 24)
    edits.add_media(other, MediaRef("img2", str(tmp_path / "card.png"), "image"))
    edits.insert(other, other.timeline.tracks_of("prompt")[0].id, TextBlock("b", 0, 30, "a blue star"))
    edits.insert(other, other.timeline.tracks_of("video")[0].id,
                 Still("half", 4, 8, "img2", curve=Curve.flat(0.5)))
    save_project(other, tmp_path / "other.kinora")
    assert window.files.open(str(tmp_path / "other.kinora"))
    drawn = drawn_matches_compile(window)
    assert window.timeline.plan_strip.plan.prompts == ("a blue star",)
    np.testing.assert_array_equal(drawn[4:12], 0.5)
    assert drawn[:4].max() == 0.0 and drawn[12:].max() == 0.0


def test_strip_follows_the_model_layout_and_repaints_on_zoom_and_scroll(editing, qtbot):
    window = editing
    view = window.timeline.view
    strip = window.timeline.plan_strip
    # another model: the same 41 frames make 6 latent frames of 8 frames, or 11 of 4
    strip.set_layout((8, 32))
    drawn_matches_compile(window)
    assert strip.plan.num_latent_frames == 6
    strip.set_layout((4, 16))
    drawn_matches_compile(window)
    assert strip.plan.num_latent_frames == 11

    def held_at(frame: int) -> bool:
        """Whether the strip's picture shows frame `frame` held (filled), at its current zoom."""
        image = strip.grab().toImage()
        x = int(strip.left_margin + view.view_x_of(frame) + view.pixels_per_frame / 2)
        y = strip.height() - 7  # just above the strength area's bottom (0 strength)
        return QColor(image.pixel(x, y)) != QColor(image.pixel(strip.width() - 2, y))

    assert held_at(4) and not held_at(12)
    # Ctrl+wheel zooms in 1.25x around the pointer (here the left edge, so the view stays at frame 0):
    # the strip is painted again, at the new zoom
    qtbot.wait(100)  # paints already due have happened
    painted = []
    spy = _PaintSpy(strip, painted)
    event_pos = QPointF(0, 20)
    wheel = QWheelEvent(event_pos, view.viewport().mapToGlobal(event_pos), QPoint(0, 0), QPoint(0, 120),
                        Qt.MouseButton.NoButton, Qt.KeyboardModifier.ControlModifier, Qt.ScrollPhase.NoScrollPhase,
                        False)
    QApplication.sendEvent(view.viewport(), wheel)
    assert view.pixels_per_frame == pytest.approx(5.0) and view.horizontalScrollBar().value() == 0
    qtbot.waitUntil(lambda: bool(painted))
    assert held_at(8) and not held_at(9)  # the picture ends after frame 8 at any zoom
    painted.clear()
    view.horizontalScrollBar().setValue(12)
    qtbot.waitUntil(lambda: bool(painted))
    assert held_at(8) and not held_at(9)
    strip.removeEventFilter(spy)


class _PaintSpy(QObject):
    def __init__(self, widget, painted: list):
        super().__init__(widget)
        self.painted = painted
        widget.installEventFilter(self)

    def eventFilter(self, watched, event) -> bool:
        if event.type() == QEvent.Type.Paint:
            self.painted.append(event)
        return False
