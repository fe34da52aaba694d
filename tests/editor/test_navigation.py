"""Moving about the timeline with the keys a Kdenlive or Shotcut user knows, markers, and the
Help menu's shortcut list, which is read from the window's own actions."""

from __future__ import annotations

from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QTableWidget

from editor.actions import about_text, shortcut_rows
from engine.version import kinora_version
from tests.editor import test_timeline_editing

window = test_timeline_editing.window  # c1 at frames 24..72 and c2 at 120..168 on V1



def test_home_end_and_next_previous_edit_move_the_playhead(qtbot, window):
    w, view = window, window.timeline.view
    for keys, frame in (("End", 168), ("Home", 0), ("Down", 24), ("Down", 72), ("Down", 120), ("Up", 72),
                        ("Up", 24), ("Up", 24)):
        QTest.keySequence(w, QKeySequence(keys))
        assert view.playhead == frame, keys
    assert w.preview.frame == 24  # the preview follows


def test_markers_with_keys_rename_recolour_and_jump(qtbot, window):
    w, view = window, window.timeline.view
    view.set_playhead(30)
    QTest.keySequence(w, QKeySequence("M"))
    view.set_playhead(100)
    QTest.keySequence(w, QKeySequence("M"))
    QTest.keySequence(w, QKeySequence("M"))  # one marker a frame
    markers = w.project.timeline.markers
    assert [(m.range.start, m.name) for m in markers] == [(30, "Marker 1"), (100, "Marker 2")]
    assert w.navigation.edit_marker_at_playhead("Storm starts", "red")
    assert (markers := w.project.timeline.markers)[1].name == "Storm starts" and markers[1].color == "red"
    QTest.keySequence(w, QKeySequence("Shift+Up"))
    assert view.playhead == 30
    QTest.keySequence(w, QKeySequence("Shift+Down"))
    assert view.playhead == 100
    from PySide6.QtWidgets import QMenu

    menu = QMenu()
    w.navigation.fill_marker_menu(menu)
    assert [a.text().split("  ")[1] for a in menu.actions()] == ["Marker 1", "Storm starts"]
    menu.actions()[0].trigger()
    assert view.playhead == 30
    for _ in range(3):
        w.timeline_actions.undo.trigger()
    assert w.project.timeline.markers == []


def test_clear_in_out_and_play_in_to_out(qtbot, window):
    w, view = window, window.timeline.view
    view.set_playhead(24)
    QTest.keySequence(w, QKeySequence("I"))
    view.set_playhead(40)
    QTest.keySequence(w, QKeySequence("O"))
    assert (view.mark_in, view.mark_out) == (24, 40)
    QTest.keySequence(w, QKeySequence("Ctrl+Space"))
    assert w.preview.speed == 1 and w.preview.loop_range == (24, 40) and w.preview.frame == 24
    qtbot.waitUntil(lambda: w.preview.speed == 0, timeout=10_000)
    assert w.preview.frame == 40  # stopped at Out
    QTest.keySequence(w, QKeySequence("Alt+X"))
    assert view.mark_in is None and view.mark_out is None


def test_the_shortcut_list_has_every_action_with_a_shortcut(qtbot, window):
    w = window
    listed = {keys for _, keys in shortcut_rows(w)}
    with_keys = [a for a in w.findChildren(QAction) if a.shortcuts()]
    assert len(with_keys) > 30
    for action in with_keys:
        keys = ", ".join(s.toString(QKeySequence.SequenceFormat.NativeText) for s in action.shortcuts())
        assert keys in listed, action.text()
    commands = {command for command, _ in shortcut_rows(w)}
    assert {"Add Marker", "Go to Start", "Preferences", "Split at Playhead"} <= commands
    assert kinora_version() in about_text()
    from editor.actions import shortcuts_dialog

    table = shortcuts_dialog(w).findChild(QTableWidget, "ShortcutTable")
    assert table.rowCount() == len(shortcut_rows(w))


def test_ctrl_comma_opens_preferences(qtbot, window, monkeypatch):
    from editor.dialogs.settings import SettingsDialog

    opened = []
    monkeypatch.setattr(SettingsDialog, "exec", lambda self: opened.append(self) or 0)
    QTest.keySequence(window, QKeySequence("Ctrl+,"))
    assert len(opened) == 1
