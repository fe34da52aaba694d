"""Tracks as a Kdenlive or Shotcut user works them: the header's right-click menu adds, renames,
reorders and deletes tracks; its buttons mute, solo, hide and lock; all of it undoes."""

from __future__ import annotations

from PySide6.QtCore import QPoint, Qt, QTimer
from PySide6.QtGui import QContextMenuEvent
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QInputDialog

from tests.editor import test_timeline_editing
from tests.editor.test_timeline_editing import drag, item, point

window = test_timeline_editing.window  # the editing tests' window: two video tracks, clips c1 and c2 on V1


def names(w) -> list[str]:
    return [t.name for t in w.project.timeline.tracks]


def header_point(w, track_name: str, toggle: str | None = None) -> QPoint:
    headers = w.timeline.headers
    for track, row in headers.rows():
        if track.name == track_name:
            if toggle is None:
                return QPoint(int(row.left() + 20), int(row.center().y()))
            return dict(headers.button_rects(track, row))[toggle].center().toPoint()
    raise KeyError(track_name)


def choose_from_header_menu(qtbot, w, track_name: str, entry: str) -> None:
    """Right-click a track header and click `entry` in the menu that opens."""
    headers = w.timeline.headers
    chosen = []

    def click_entry():
        menu = QApplication.activePopupWidget()
        action = next(a for a in menu.actions() if a.text() == entry)
        chosen.append(action.text())
        QTest.mouseClick(menu, Qt.MouseButton.LeftButton, pos=menu.actionGeometry(action).center())

    QTimer.singleShot(50, click_entry)
    pos = header_point(w, track_name)
    QApplication.sendEvent(headers, QContextMenuEvent(QContextMenuEvent.Reason.Mouse, pos, headers.mapToGlobal(pos)))
    assert chosen == [entry]


def test_add_a_track_from_the_header_menu_and_drag_a_clip_onto_it(qtbot, window):
    w = window
    assert names(w) == ["P1", "V2", "V1", "A1"]
    choose_from_header_menu(qtbot, w, "V2", "Add Video Track Above")
    assert names(w) == ["P1", "V3", "V2", "V1", "A1"]
    view = w.timeline.view
    drag(view, point(view, 40, "V1"), point(view, 40, "V3"))
    track, clip = item(w, "c1")
    assert track.name == "V3" and clip.start == 24
    w.timeline_actions.undo.trigger()  # the drag
    w.timeline_actions.undo.trigger()  # the new track
    assert names(w) == ["P1", "V2", "V1", "A1"] and item(w, "c1")[0].name == "V1"


def test_rename_move_and_delete_from_the_header_menu(qtbot, window, monkeypatch):
    w = window
    monkeypatch.setattr(QInputDialog, "getText", lambda *args, **kwargs: ("Backgrounds", True))
    choose_from_header_menu(qtbot, w, "V1", "Rename…")
    assert names(w) == ["P1", "V2", "Backgrounds", "A1"]
    choose_from_header_menu(qtbot, w, "Backgrounds", "Move Up")
    assert names(w) == ["P1", "Backgrounds", "V2", "A1"]
    assert [i.id for i in w.project.timeline.tracks[1].items] == ["c1", "c2"]  # the items went with it
    choose_from_header_menu(qtbot, w, "V2", "Delete Track")
    assert names(w) == ["P1", "Backgrounds", "A1"]
    for _ in range(3):
        w.timeline_actions.undo.trigger()
    assert names(w) == ["P1", "V2", "V1", "A1"]


def test_timeline_menu_track_entries_act_on_the_clicked_track(qtbot, window):
    w = window
    QTest.mouseClick(w.timeline.headers, Qt.MouseButton.LeftButton, pos=header_point(w, "A1"))
    w.track_actions.move_up.trigger()
    assert names(w) == ["P1", "V2", "A1", "V1"]
    w.track_actions.add_audio.trigger()
    assert names(w) == ["P1", "V2", "A1", "A2", "V1"]  # below the last audio track
    w.track_actions.delete.trigger()  # still A1, the track last clicked
    assert names(w) == ["P1", "V2", "A2", "V1"]


def test_header_buttons_mute_hide_and_lock_and_a_locked_track_refuses_a_drag(qtbot, window):
    w = window
    headers = w.timeline.headers
    tracks = w.project.timeline
    QTest.mouseClick(headers, Qt.MouseButton.LeftButton, pos=header_point(w, "A1", "muted"))
    QTest.mouseClick(headers, Qt.MouseButton.LeftButton, pos=header_point(w, "V2", "hidden"))
    QTest.mouseClick(headers, Qt.MouseButton.LeftButton, pos=header_point(w, "V1", "locked"))
    by_name = {t.name: t for t in tracks.tracks}
    assert by_name["A1"].muted and by_name["V2"].hidden and by_name["V1"].locked
    assert not by_name["V1"].muted and not by_name["A1"].locked
    view = w.timeline.view
    view.snapping = False
    drag(view, point(view, 40, "V1"), point(view, 60, "V1"))
    assert item(w, "c1")[1].start == 24  # locked: the clip stayed
    QTest.mouseClick(headers, Qt.MouseButton.LeftButton, pos=header_point(w, "V1", "locked"))
    drag(view, point(view, 40, "V1"), point(view, 60, "V1"))
    assert item(w, "c1")[1].start == 44
    for _ in range(5):
        w.timeline_actions.undo.trigger()
    assert not any(t.muted or t.hidden or t.locked for t in tracks.tracks)


def test_solo_mutes_the_other_tracks_of_its_kind_as_one_step(qtbot, window):
    w = window
    headers = w.timeline.headers
    QTest.mouseClick(headers, Qt.MouseButton.LeftButton, pos=header_point(w, "V1", "solo"))
    muted = {t.name: t.muted for t in w.project.timeline.tracks}
    assert muted == {"P1": False, "V2": True, "V1": False, "A1": False}
    QTest.mouseClick(headers, Qt.MouseButton.LeftButton, pos=header_point(w, "V1", "solo"))  # unsolo
    assert not any(t.muted for t in w.project.timeline.tracks)
    w.timeline_actions.undo.trigger()
    assert [t.name for t in w.project.timeline.tracks if t.muted] == ["V2"]
    w.timeline_actions.undo.trigger()  # the solo was one step
    assert not any(t.muted for t in w.project.timeline.tracks)
