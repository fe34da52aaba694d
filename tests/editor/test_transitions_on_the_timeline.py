"""Transitions and opacity from the editor, with real mouse and keys on the main window: a
cross-dissolve added on a cut with the right-click menu is in the export as the mix of both
clips, it undoes, it is drawn and can be selected, resized by its handle, edited in the
Inspector and deleted; opacity keyframes drawn in the Curves panel change the export while the
hold curve does not."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import QPoint, QPointF, Qt, QTimer
from PySide6.QtGui import QContextMenuEvent
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication

from editor.main_window import MainWindow
from editor.timeline.transitions import TransitionGraphic
from engine.media.decode import VideoReader
from engine.media.export import RenderSettings, export
from engine.model import edits
from engine.model.items import Clip, MediaRef
from engine.model.project import new_project
from engine.model.transition import Transition
from engine.time import FrameRange, FrameRate
from tests.media.media_factory import write_video

W, H, RATE = 64, 48, 24
DARK, LIGHT = 40, 220


@pytest.fixture
def window(qtbot, tmp_path):
    project = new_project(W, H, RATE)
    for media_id, level in (("a", DARK), ("b", LIGHT)):
        path = write_video(tmp_path / f"{media_id}.mp4", [np.full((H, W, 3), level, np.uint8)] * 48, rate=RATE,
                           options={"crf": "0"}, pix_fmt="yuv444p")
        edits.add_media(project, MediaRef(media_id, str(path), "video", 48, FrameRate(RATE), W, H))
    v1 = project.timeline.tracks_of("video")[0].id
    edits.insert(project, v1, Clip("A", 0, "a", FrameRange(12, 36)))  # 12 spare frames either side
    edits.insert(project, v1, Clip("B", 24, "b", FrameRange(12, 36)))
    window = MainWindow(project, start_worker=False)
    qtbot.addWidget(window)
    window.resize(1280, 800)
    window.show()
    qtbot.waitExposed(window)
    window.timeline.view.set_zoom(12.0)
    return window


def cut_point(window, frame: int = 24) -> QPoint:
    """The view position of the cut at `frame` on V1, a little above the middle of the track."""
    view = window.timeline.view
    graphic = view.graphics["B"]
    rect = graphic.sceneBoundingRect()
    return view.mapFromScene(QPointF(frame, rect.top() + rect.height() * 0.3))


def right_click_and_choose(window, qtbot, point: QPoint, text: str) -> list[str]:
    """Right-click at `point` as a user does and choose `text` in the menu; returns the menu's entries."""
    seen = {}
    poll = QTimer()

    def choose():
        menu = QApplication.activePopupWidget()
        if menu is None or not menu.isVisible():
            return
        poll.stop()
        seen["texts"] = [a.text() for a in menu.actions()]
        action = next(a for a in menu.actions() if a.text() == text)
        menu.close()
        QTimer.singleShot(0, action.trigger)

    poll.timeout.connect(choose)
    poll.start(20)
    viewport = window.timeline.view.viewport()
    QTest.mousePress(viewport, Qt.MouseButton.RightButton, Qt.KeyboardModifier.NoModifier, point)
    QApplication.sendEvent(viewport, QContextMenuEvent(QContextMenuEvent.Reason.Mouse, point,
                                                       viewport.mapToGlobal(point)))
    QTest.mouseRelease(viewport, Qt.MouseButton.RightButton, Qt.KeyboardModifier.NoModifier, point)
    qtbot.waitUntil(lambda: "texts" in seen)
    poll.stop()
    return seen["texts"]


def levels(project, path, frames) -> np.ndarray:
    export(project, path, RenderSettings(crf=0, preset="ultrafast", audio=False))
    with VideoReader(str(path), FrameRate(RATE)) as reader:
        return np.array([float(reader.rgb(f)[H // 2, W // 2].mean()) for f in frames])


def incoming(window):
    return window.project.timeline.find("B")[1]


def test_cross_dissolve_from_the_menu_exports_the_mix_and_undoes(window, qtbot, tmp_path):
    texts = right_click_and_choose(window, qtbot, cut_point(window), "Add cross-dissolve")
    assert "Blend with AI…" in texts and "Add dip to black" in texts and "Add wipe" in texts
    qtbot.waitUntil(lambda: incoming(window).transition_in is not None)
    transition = incoming(window).transition_in
    assert transition.kind == "dissolve" and transition.duration == 24  # a second, within the 12-frame handles
    frames = np.arange(8, 40)
    p = np.clip((frames - 12 + 0.5) / 24, 0.0, 1.0)
    p[(frames < 12)] = 0.0
    p[(frames >= 36)] = 1.0
    exported = levels(window.project, tmp_path / "dissolve.mp4", frames)
    assert np.abs(exported - (DARK * (1 - p) + LIGHT * p)).max() <= 2.0
    halfway = exported[list(frames).index(24)]
    assert abs(halfway - (DARK + LIGHT) / 2) <= 0.03 * (LIGHT - DARK) + 2  # the mix of both, a frame past the middle
    # undo with the keyboard takes the transition away; redo brings it back
    window.activateWindow()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is window)
    QTest.keyClick(window, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert incoming(window).transition_in is None
    assert not window.timeline.view.transitions.graphics
    QTest.keyClick(window, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier)
    assert incoming(window).transition_in == transition


def test_a_transition_is_drawn_selected_resized_edited_and_deleted(window, qtbot):
    right_click_and_choose(window, qtbot, cut_point(window), "Add dip to black")
    qtbot.waitUntil(lambda: incoming(window).transition_in is not None)
    view = window.timeline.view
    graphic = view.transitions.graphics["B"]
    assert isinstance(graphic, TransitionGraphic) and graphic.isVisible()
    rect = graphic.sceneBoundingRect()
    assert (rect.left(), rect.width()) == (12, 24)
    # click its middle: it is selected and the Inspector shows it
    middle = view.mapFromScene(QPointF(18, rect.center().y()))
    QTest.mouseClick(view.viewport(), Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, middle)
    assert graphic.isSelected() and not view.selected_ids()
    section = window.inspector.picture
    assert section.kind.currentData() == "dip" and section.duration.value() == 24
    # drag its right handle 4 frames inwards: 8 frames shorter, centred on the cut, one undo step
    handle = view.mapFromScene(QPointF(rect.right() - 0.1, rect.center().y()))
    target = view.mapFromScene(QPointF(rect.right() - 4, rect.center().y()))
    count = window.document.undo_stack.count()
    QTest.mousePress(view.viewport(), Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, handle)
    for i in range(1, 6):
        QTest.mouseMove(view.viewport(), handle + (target - handle) * i / 5)
    QTest.mouseRelease(view.viewport(), Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, target)
    assert incoming(window).transition_in.duration == 16
    assert window.document.undo_stack.count() == count + 1
    assert view.transitions.graphics["B"].sceneBoundingRect().left() == 16
    # the Inspector changes its type
    section.kind.setCurrentIndex(section.kind.findData("wipe"))
    assert incoming(window).transition_in.kind == "wipe" and incoming(window).transition_in.duration == 16
    # Delete removes the selected transition, not the clip under it
    window.activateWindow()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is window)
    QTest.mouseClick(view.viewport(), Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, middle)
    assert view.transitions.graphics["B"].isSelected()
    QTest.keyClick(view, Qt.Key.Key_Delete)
    assert incoming(window).transition_in is None
    assert [item.id for _, item in window.project.timeline.items()] == ["A", "B"]


def test_opacity_keyframes_change_the_export_and_the_hold_curve_does_not(window, qtbot, tmp_path):
    frames = np.arange(0, 12)
    plain = levels(window.project, tmp_path / "plain.mp4", frames)
    view, curves = window.timeline.view, window.curves
    QTest.mouseClick(view.viewport(), Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier,
                     view.mapFromScene(view.graphics["A"].sceneBoundingRect().center()))
    assert curves.item_id == "A"

    def click_curve(frame, value):
        scene = curves.viewbox.mapViewToScene(QPointF(frame, value))
        QTest.mouseClick(curves.plot.viewport(), Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier,
                         curves.plot.mapFromScene(scene))

    curves.kind.setCurrentIndex(curves.kind.findData("curve"))  # "Hold strength (for the model)"
    click_curve(0, 0.0)
    clip = window.project.timeline.find("A")[1]
    assert clip.curve.evaluate(0) == pytest.approx(0.0, abs=0.03) and clip.opacity.is_default
    assert np.array_equal(levels(window.project, tmp_path / "held.mp4", frames), plain)
    curves.kind.setCurrentIndex(curves.kind.findData("opacity"))  # "Opacity (picture)"
    click_curve(0, 0.0)
    clip = window.project.timeline.find("A")[1]
    assert clip.opacity.evaluate(0) == pytest.approx(0.0, abs=0.03)
    assert "keyframes" in window.inspector.picture.opacity.text()
    faded = levels(window.project, tmp_path / "faded.mp4", frames)
    expected = DARK * clip.opacity.evaluate(frames.astype(float))
    assert faded[0] <= 2 and np.abs(faded - expected).max() <= 2.0
    window.document.undo_stack.undo()
    assert window.project.timeline.find("A")[1].opacity.is_default


def test_cross_dissolve_over_an_overlap_on_two_tracks(window, qtbot, tmp_path):
    """B moved to a second track so that it overlaps A by 8 frames: its menu offers the
    dissolve (an opacity ramp on B) and the AI blend; the export dissolves A into B."""
    project = window.project
    window.document.perform("Add track", lambda p: edits.add_track(p, "video", "V2", index=1, track_id="v2"))
    window.document.perform("Move", lambda p: edits.move(p, "B", 16, "v2"))
    view = window.timeline.view
    view.select_ids(["B"])
    texts = right_click_and_choose(window, qtbot, view.mapFromScene(view.graphics["B"].sceneBoundingRect().center()),
                                   "Cross-dissolve over the overlap")
    assert "Blend with AI…" in texts
    qtbot.waitUntil(lambda: not project.timeline.find("B")[1].opacity.is_default)
    assert project.timeline.find("A")[1].opacity.is_default and project.timeline.find("B")[1].curve.is_default
    frames = np.arange(14, 26)
    p = np.clip((frames - 16 + 0.5) / 8, 0.0, 1.0)
    p[frames < 16] = 0.0
    exported = levels(project, tmp_path / "overlap.mp4", frames)
    assert np.abs(exported - (DARK * (1 - p) + LIGHT * p)).max() <= 2.0


def test_inspector_fades_the_picture_and_opens_the_opacity_curve(window, qtbot):
    view = window.timeline.view
    QTest.mouseClick(view.viewport(), Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier,
                     view.mapFromScene(view.graphics["A"].sceneBoundingRect().center()))
    section = window.inspector.picture
    QTest.mouseClick(section.fade_buttons["Fade in"], Qt.MouseButton.LeftButton)
    QTest.mouseClick(section.fade_buttons["Fade out"], Qt.MouseButton.LeftButton)
    clip = window.project.timeline.find("A")[1]
    values = clip.opacity.evaluate(np.array([0.0, 12.0, 23.0]))
    assert values.tolist() == [0.0, 1.0, 0.0] and clip.curve.is_default  # 24 frames: half of it each way
    assert clip.opacity.evaluate(np.array([11.5]))[0] == pytest.approx(1.0)
    QTest.mouseClick(section.fade_buttons["Edit…"], Qt.MouseButton.LeftButton)
    assert window.curves.field == "opacity" and window.curves.item_id == "A"
    QTest.mouseClick(section.fade_buttons["Full"], Qt.MouseButton.LeftButton)
    assert window.project.timeline.find("A")[1].opacity.is_default


def test_the_inspector_refuses_a_transition_where_there_is_no_cut(window, qtbot):
    window.document.perform("Move", lambda p: edits.move(p, "B", 30))  # a gap before B
    view = window.timeline.view
    QTest.mouseClick(view.viewport(), Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier,
                     view.mapFromScene(view.graphics["B"].sceneBoundingRect().center()))
    section = window.inspector.picture
    messages = []
    window.document.editFailed.connect(messages.append)
    section.kind.setCurrentIndex(section.kind.findData("dissolve"))
    assert incoming(window).transition_in is None
    assert section.kind.currentData() is None  # the field shows what the model holds
    assert "does not start where another item ends" in messages[0]


def test_ctrl_d_adds_a_cross_dissolve_on_the_cut_nearest_the_playhead(window, qtbot):
    window.timeline.view.set_playhead(20)
    window.activateWindow()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is window)
    QTest.keyClick(window, Qt.Key.Key_D, Qt.KeyboardModifier.ControlModifier)
    assert incoming(window).transition_in == Transition("dissolve", 24)
