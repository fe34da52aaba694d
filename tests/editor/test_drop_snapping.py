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
