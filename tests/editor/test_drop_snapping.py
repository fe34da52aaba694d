"""A file dropped from the file manager snaps onto the playhead, item edges and marks, as a
moved clip does; with snapping off (N) it lands where it was let go."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtTest import QTest

from tests.editor import test_timeline_editing
from tests.editor.test_timeline_editing import _drop, point
from tests.media.media_factory import index_video

window = test_timeline_editing.window  # c1 on V1 at frames 24..71, c2 at 120..167; 4 pixels a frame


def dropped_start(w, path, frame: int) -> int:
    view = w.timeline.view
    _drop(view, [path], point(view, frame, "V2"))
    [clip] = [i for t in w.project.timeline.tracks if t.name == "V2" for i in t.items]
    w.timeline_actions.undo.trigger()
    return clip.start


def test_a_dropped_file_snaps_its_start_or_end_and_not_when_snapping_is_off(qtbot, window, tmp_path):
    shot = tmp_path / "shot.mp4"
    index_video(shot, 36, rate=24)
    w, view = window, window.timeline.view
    assert view.snapping
    assert dropped_start(w, shot, 74) == 72  # two frames (8 px) after c1's end: its start snaps to it
    assert dropped_start(w, shot, 83) == 84  # its end (119) one frame short of c2's start snaps to 120
    assert dropped_start(w, shot, 96) == 96  # nothing near: where it was let go
    view.set_playhead(200)
    assert dropped_start(w, shot, 198) == 200
    view.set_playhead(0)
    view.mark_in = 300
    assert dropped_start(w, shot, 301) == 300
    QTest.keyClick(view, Qt.Key.Key_N)  # snapping off
    assert not view.snapping
    assert dropped_start(w, shot, 74) == 74


def test_while_a_file_is_dragged_over_the_timeline_a_line_shows_where_it_will_start(qtbot, window, tmp_path):
    from PySide6.QtCore import QMimeData, QUrl
    from PySide6.QtGui import QDragEnterEvent, QDragLeaveEvent, QDragMoveEvent
    from PySide6.QtWidgets import QApplication

    shot = tmp_path / "shot.mp4"
    index_video(shot, 36, rate=24)
    view = window.timeline.view
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(shot))])
    viewport = view.viewport()

    def move_to(frame: int) -> None:
        at = point(view, frame, "V2")
        QApplication.sendEvent(viewport, QDragMoveEvent(at, Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton,
                                                        Qt.KeyboardModifier.NoModifier))

    at = point(view, 90, "V2")
    QApplication.sendEvent(viewport, QDragEnterEvent(at, Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton,
                                                     Qt.KeyboardModifier.NoModifier))
    move_to(90)
    assert view.drop_frame == 90
    move_to(74)
    assert view.drop_frame == 72  # snapped onto c1's end, as the drop will be
    shown = viewport.grab().toImage()
    line = shown.pixelColor(round(view.view_x_of(72)), point(view, 72, "V2").y())
    assert line.blue() > 200 and line.red() < 150, line.name()  # the accent-blue line is drawn there
    QApplication.sendEvent(viewport, QDragLeaveEvent())
    assert view.drop_frame is None
    _drop(view, [shot], point(view, 74, "V2"))
    assert view.drop_frame is None
    assert [i.start for t in window.project.timeline.tracks if t.name == "V2" for i in t.items] == [72]
