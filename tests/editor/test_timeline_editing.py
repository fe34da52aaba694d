"""Editing on the timeline with real mouse and key events: move, trim, split, snap, zoom,
prompt blocks, copy/paste, selection, and exact undo/redo."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtGui import QContextMenuEvent, QWheelEvent
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication

from editor.main_window import MainWindow
from engine.model import edits
from engine.model.items import Clip, MediaRef
from engine.model.project import new_project
from engine.time import FrameRange, FrameRate
from tests.model.test_edits import snapshot


@pytest.fixture
def window(qtbot):
    project = new_project(1280, 720, 24)
    ref = MediaRef("m1", "/media/a.mp4", "video", num_frames=2400, rate=FrameRate.parse(24))
    edits.add_media(project, ref)
    edits.add_track(project, "video", "V2")
    v1 = project.timeline.tracks_of("video")[1]
    edits.insert(project, v1.id, Clip("c1", 24, "m1", FrameRange(100, 148)))   # frames 24..71
    edits.insert(project, v1.id, Clip("c2", 120, "m1", FrameRange(500, 548)))  # frames 120..167
    w = MainWindow(project)
    qtbot.addWidget(w)
    w.show()
    qtbot.waitExposed(w)
    w.activateWindow()
    qtbot.waitUntil(w.isActiveWindow)  # window shortcuts (S, Ctrl+Z...) only reach the active window
    w.timeline.view.set_zoom(4.0, 0)
    w.timeline.view.horizontalScrollBar().setValue(0)
    w.timeline.view.setFocus()
    return w


def point(view, frame: float, track_name: str, dy: float = 0.5) -> QPoint:
    """Viewport position of `frame` on the named track (dy: fraction of the track height)."""
    from editor.timeline.view import track_rows

    for track, top, height in track_rows(view.project):
        if track.name == track_name:
            return view.mapFromScene(QPointF(frame + 0.5 / view.pixels_per_frame, top + height * dy))
    raise KeyError(track_name)


def drag(view, start: QPoint, end: QPoint, steps: int = 6, modifier=Qt.KeyboardModifier.NoModifier) -> None:
    viewport = view.viewport()
    QTest.mousePress(viewport, Qt.MouseButton.LeftButton, modifier, start)
    for i in range(1, steps + 1):
        QTest.mouseMove(viewport, start + (end - start) * i / steps)
    QTest.mouseRelease(viewport, Qt.MouseButton.LeftButton, modifier, end)


def item(w, item_id):
    return w.project.timeline.find(item_id)


def test_dragging_a_clip_moves_it_and_is_one_undo_step(window):
    view = window.timeline.view
    before = snapshot(window.project)
    window.timeline.view.snapping = False
    drag(view, point(view, 40, "V1"), point(view, 50, "V1"))
    assert item(window, "c1")[1].start == 34
    assert window.document.undo_stack.count() == 1
    window.document.undo_stack.undo()
    assert snapshot(window.project) == before
    window.document.undo_stack.redo()
    assert item(window, "c1")[1].start == 34


def test_dragging_onto_another_track_moves_it_there(window):
    view = window.timeline.view
    drag(view, point(view, 40, "V1"), point(view, 40, "V2"))
    track, clip = item(window, "c1")
    assert track.name == "V2" and clip.start == 24


def test_dragging_an_edge_trims(window):
    view = window.timeline.view
    view.snapping = False
    # the right edge of c1 is at frame 72; grab it 1 px inside
    edge = view.mapFromScene(QPointF(72 - 1 / view.pixels_per_frame, 0))
    start = QPoint(edge.x(), point(view, 60, "V1").y())
    drag(view, start, start + QPoint(int(10 * view.pixels_per_frame), 0))
    clip = item(window, "c1")[1]
    assert clip.range == FrameRange(24, 82) and clip.source_range == FrameRange(100, 158)
    left = view.mapFromScene(QPointF(24 + 1 / view.pixels_per_frame, 0))
    start = QPoint(left.x(), point(view, 60, "V1").y())
    drag(view, start, start + QPoint(int(4 * view.pixels_per_frame), 0))
    clip = item(window, "c1")[1]
    assert clip.range == FrameRange(28, 82) and clip.source_range == FrameRange(104, 158)


def test_moves_snap_to_other_edges(window):
    view = window.timeline.view
    # drag c1 so its end lands 1 frame short of c2's start (120): it snaps to touch
    drag(view, point(view, 40, "V1"), point(view, 40 + 47, "V1"))
    assert item(window, "c1")[1].range.stop == 120


def test_s_splits_at_the_playhead(window):
    view = window.timeline.view
    QTest.mouseClick(view.ruler, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier,
                     QPoint(int(view.view_x_of(50)) + 1, 10))
    assert view.playhead == 50
    QTest.keyClick(view, Qt.Key.Key_S)
    track = window.project.timeline.tracks_of("video")[1]
    assert [i.range for i in track.items] == [FrameRange(24, 50), FrameRange(50, 72), FrameRange(120, 168)]
    QTest.keyClick(view, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert [i.range for i in window.project.timeline.tracks_of("video")[1].items] == [FrameRange(24, 72),
                                                                                   FrameRange(120, 168)]
    QTest.keyClick(view, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier)
    assert len(window.project.timeline.tracks_of("video")[1].items) == 3


def test_ctrl_wheel_zooms_around_the_pointer(window):
    view = window.timeline.view
    before = view.pixels_per_frame
    pos = QPointF(view.view_x_of(100), 30)
    event = QWheelEvent(pos, view.viewport().mapToGlobal(pos), QPoint(0, 0), QPoint(0, 120), Qt.MouseButton.NoButton,
                        Qt.KeyboardModifier.ControlModifier, Qt.ScrollPhase.NoScrollPhase, False)
    QApplication.sendEvent(view.viewport(), event)
    assert view.pixels_per_frame == pytest.approx(before * 1.25)
    assert view.frame_at(pos.x()) in (99, 100, 101)  # the frame under the pointer stays put
    QTest.keyClick(view, Qt.Key.Key_Minus)
    assert view.pixels_per_frame == pytest.approx(before * 1.25 / 1.5)


def test_double_click_on_a_prompt_track_creates_a_block_edited_in_place(window, qtbot):
    view = window.timeline.view
    QTest.mouseDClick(view.viewport(), Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier,
                      point(view, 30, "P1"))
    blocks = window.project.timeline.tracks_of("prompt")[0].items
    assert len(blocks) == 1 and blocks[0].start == 30 and blocks[0].duration == 48
    editor = view._editor
    assert editor is not None and editor.hasFocus()
    QTest.keyClicks(editor, "a red circle moving right")
    QTest.keyClick(editor, Qt.Key.Key_Return)
    assert window.project.timeline.tracks_of("prompt")[0].items[0].text == "a red circle moving right"
    # double-click the block again to change it
    QTest.mouseDClick(view.viewport(), Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, point(view, 40, "P1"))
    QTest.keyClicks(view._editor, "a blue star")
    QTest.keyClick(view._editor, Qt.Key.Key_Return)
    assert window.project.timeline.tracks_of("prompt")[0].items[0].text == "a blue star"


def test_rubber_band_and_shift_selection_then_copy_paste(window):
    view = window.timeline.view
    above_v2 = point(view, 10, "V2", 0.1)
    drag(view, above_v2, point(view, 200, "V1", 0.9))
    assert sorted(view.selected_ids()) == ["c1", "c2"]
    QTest.mouseClick(view.viewport(), Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, point(view, 40, "V1"))
    assert view.selected_ids() == ["c1"]
    QTest.mouseClick(view.viewport(), Qt.MouseButton.LeftButton, Qt.KeyboardModifier.ShiftModifier,
                     point(view, 130, "V1"))
    assert sorted(view.selected_ids()) == ["c1", "c2"]
    QTest.keyClick(view, Qt.Key.Key_C, Qt.KeyboardModifier.ControlModifier)
    view.set_playhead(300)
    QTest.keyClick(view, Qt.Key.Key_V, Qt.KeyboardModifier.ControlModifier)
    ranges = [i.range for i in window.project.timeline.tracks_of("video")[1].items]
    assert ranges == [FrameRange(24, 72), FrameRange(120, 168), FrameRange(300, 348), FrameRange(396, 444)]


def test_many_edits_then_undo_all_restores_exactly(window):
    view = window.timeline.view
    original = snapshot(window.project)
    view.snapping = False
    drag(view, point(view, 40, "V1"), point(view, 44, "V1"))
    view.set_playhead(60)
    QTest.keyClick(view, Qt.Key.Key_S)
    drag(view, point(view, 130, "V1"), point(view, 130, "V2"))
    QTest.mouseClick(view.viewport(), Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, point(view, 50, "V1"))
    QTest.keyClick(view, Qt.Key.Key_Delete)
    stack = window.document.undo_stack
    assert stack.count() == 4
    edited = snapshot(window.project)
    while stack.canUndo():
        QTest.keyClick(view, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert snapshot(window.project) == original
    while stack.canRedo():
        QTest.keyClick(view, Qt.Key.Key_Y, Qt.KeyboardModifier.ControlModifier)
    assert snapshot(window.project) == edited


def _drop(view, paths, at: QPoint):
    from PySide6.QtCore import QMimeData, QUrl
    from PySide6.QtGui import QDragEnterEvent, QDragMoveEvent, QDropEvent

    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(p)) for p in paths])
    # what a file manager's drag delivers: enter, move, drop
    for event in (QDragEnterEvent(at, Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton,
                                  Qt.KeyboardModifier.NoModifier),
                  QDragMoveEvent(at, Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton,
                                 Qt.KeyboardModifier.NoModifier),
                  QDropEvent(QPointF(at), Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton,
                             Qt.KeyboardModifier.NoModifier)):
        QApplication.sendEvent(view.viewport(), event)
        assert event.isAccepted()


def test_dropping_files_from_the_desktop_places_them_at_the_drop_frame(window, tmp_path, monkeypatch):
    from PySide6.QtWidgets import QMessageBox

    warnings = []
    monkeypatch.setattr(QMessageBox, "warning", lambda parent, title, text: warnings.append(text))
    from tests.media.media_factory import index_video

    video = tmp_path / "shot.mp4"
    index_video(video, 36, rate=24)
    image = tmp_path / "card.png"
    import cv2
    import numpy as np

    cv2.imwrite(str(image), np.full((60, 80, 3), 200, np.uint8))
    (tmp_path / "notes.mp4").write_text("not a video")
    view = window.timeline.view
    before = snapshot(window.project)
    _drop(view, [video, image, tmp_path / "notes.mp4"], point(view, 200, "V2"))
    v2 = window.project.timeline.tracks_of("video")[0]
    assert [(type(i).__name__, i.range) for i in v2.items] == [("Clip", FrameRange(200, 236)),
                                                                ("Still", FrameRange(236, 356))]
    assert sorted(m.name for m in window.project.media.values()) == ["a.mp4", "card.png", "shot.mp4"]
    assert len(warnings) == 1 and "notes.mp4" in warnings[0]
    window.document.undo_stack.undo()  # the whole drop is one step
    assert snapshot(window.project) == before


def _context_menu_on(view, qtbot, at: QPoint) -> dict:
    """Right-clicks at `at` and reads the context menu that opens (then closes it): whether
    "Blend with the other selected clip" is enabled, and the selection while it is open."""
    from PySide6.QtCore import QTimer

    seen = {}
    poll = QTimer()

    def read_menu():
        menu = QApplication.activePopupWidget()
        if menu is None or not menu.isVisible():
            return
        poll.stop()
        blend = next(a for a in menu.actions() if a.text() == "Blend with the other selected clip")
        seen.update(blend=blend.isEnabled(), selected=sorted(view.selected_ids()))
        menu.close()

    poll.timeout.connect(read_menu)
    poll.start(20)
    # the events a right-click delivers on Linux: the press, the context menu request (sent on
    # press there; QTest does not make it), the release
    viewport = view.viewport()
    QTest.mousePress(viewport, Qt.MouseButton.RightButton, Qt.KeyboardModifier.NoModifier, at)
    QApplication.sendEvent(viewport, QContextMenuEvent(QContextMenuEvent.Reason.Mouse, at, viewport.mapToGlobal(at)))
    QTest.mouseRelease(viewport, Qt.MouseButton.RightButton, Qt.KeyboardModifier.NoModifier, at)
    qtbot.waitUntil(lambda: bool(seen))
    poll.stop()
    return seen


def test_right_click_keeps_a_multi_selection_and_selects_an_unselected_clip_alone(window, qtbot):
    view = window.timeline.view
    viewport = view.viewport()
    QTest.mouseClick(viewport, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, point(view, 40, "V1"))
    QTest.mouseClick(viewport, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.ControlModifier, point(view, 140, "V1"))
    assert sorted(view.selected_ids()) == ["c1", "c2"]
    # right-click one of the two: both stay selected, so the two can be blended
    assert _context_menu_on(view, qtbot, point(view, 40, "V1")) == {"blend": True, "selected": ["c1", "c2"]}
    assert sorted(view.selected_ids()) == ["c1", "c2"]
    # select c1 alone, then right-click c2, which is not selected: it becomes the selection
    QTest.mouseClick(viewport, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, point(view, 40, "V1"))
    assert view.selected_ids() == ["c1"]
    assert _context_menu_on(view, qtbot, point(view, 140, "V1")) == {"blend": False, "selected": ["c2"]}


def test_switching_a_take_shows_its_picture_and_carries_its_recipe(qtbot, tmp_path):
    from PySide6.QtGui import QPixmap

    from engine.library.catalog import GenerationRecord
    from engine.media.thumbnails import thumbnail
    from tests.generate.media import write_clip

    takes = [write_clip(tmp_path / f"fox-{i}.mp4", 24, seed=i) for i in (1, 2, 3)]  # different colours
    window = MainWindow(new_project(160, 96, 24), start_worker=False)
    qtbot.addWidget(window)
    for seed, path in zip((101, 202, 303), takes):
        window.library.library.add_generation(GenerationRecord(
            tool="generate", output_path=str(path), prompts=[{"start": None, "stop": None, "text": "a red fox"}],
            model_id="toyworld", seeds=[seed], settings={"steps": 8, "takes": [str(p) for p in takes]}))
    view = window.timeline.view
    assert view.drop_paths([str(takes[0])], QPointF(view.view_x_of(10), point(view, 10, "V1").y()))
    [clip] = window.project.timeline.tracks_of("video")[0].items
    assert clip.generation["seed"] == 101
    assert [clip.take_recipes[media_id]["seed"] for media_id in clip.takes] == [101, 202, 303]
    graphic = view.graphics[clip.id]

    def shows(path) -> bool:
        expected = QPixmap(str(thumbnail(str(path), 0, window.project.rate, 36))).toImage()
        return graphic.thumbnail is not None and graphic.thumbnail.toImage() == expected

    qtbot.waitUntil(lambda: shows(takes[0]))
    view.select_ids([clip.id])
    menu = window.clip_tools.menu(window.project, window._selected_clips())
    [switch] = [action.menu() for action in menu.actions() if action.text() == "Switch take"]
    switch.actions()[2].trigger()
    [switched] = window.project.timeline.tracks_of("video")[0].items
    assert window.project.media[switched.media_id].path == str(takes[2]) and switched.generation["seed"] == 303
    qtbot.waitUntil(lambda: shows(takes[2]))
    window.document.undo_stack.undo()
    [back] = window.project.timeline.tracks_of("video")[0].items
    assert back.media_id == clip.media_id and back.generation["seed"] == 101
    qtbot.waitUntil(lambda: shows(takes[0]))
