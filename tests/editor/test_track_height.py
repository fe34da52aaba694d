"""Track height as a Kdenlive user sets it: drag the bottom edge of a track header, or pick a
size in the header menu; the clip rows follow, and the project reopens with the same heights."""

from __future__ import annotations

from PySide6.QtCore import QPoint, Qt, QTimer
from PySide6.QtGui import QContextMenuEvent
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QInputDialog

from editor.main_window import MainWindow
from editor.timeline.track_height import MAX_HEIGHT, MIN_HEIGHT
from editor.timeline.view import TRACK_HEIGHTS, track_rows
from tests.editor import test_timeline_editing
from tests.editor.test_tracks import header_point

window = test_timeline_editing.window  # two video tracks, clips c1 and c2 on V1


def rows(w) -> dict[str, tuple[float, float]]:
    return {track.name: (top, height) for track, top, height in track_rows(w.project)}


def bottom_edge(w, track_name: str) -> QPoint:
    for track, row in w.timeline.headers.rows():
        if track.name == track_name:
            return QPoint(int(row.left() + 40), int(row.bottom() + 1))
    raise KeyError(track_name)


def drag_header(w, start: QPoint, dy: int, steps: int = 5) -> None:
    headers = w.timeline.headers
    QTest.mousePress(headers, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, start)
    for i in range(1, steps + 1):
        QTest.mouseMove(headers, start + QPoint(0, dy * i // steps))
    QTest.mouseRelease(headers, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, start + QPoint(0, dy))


def test_dragging_a_header_edge_resizes_the_track_and_its_clip_row(qtbot, window):
    w = window
    view = w.timeline.view
    before = rows(w)
    assert before["V1"][1] == TRACK_HEIGHTS["video"]
    QTest.mouseMove(w.timeline.headers, bottom_edge(w, "V1"))  # the pointer says the edge can be dragged
    assert w.timeline.headers.cursor().shape() == Qt.CursorShape.SizeVerCursor
    assert "height of V1" in w.timeline.headers.toolTip()
    drag_header(w, bottom_edge(w, "V1"), 40)
    after = rows(w)
    assert after["V1"] == (before["V1"][0], TRACK_HEIGHTS["video"] + 40)
    assert after["A1"][0] == before["A1"][0] + 40  # the rows below moved down
    assert after["V2"] == before["V2"]  # the rows above stayed
    qtbot.wait(10)
    clip = view.graphics["c1"]
    assert clip.height() == after["V1"][1] - 4 and clip.y() == after["V1"][0] + 2
    # the new lower part of V1 is V1 in the clip area too: a clip dragged there stays on V1
    low_in_v1 = test_timeline_editing.point(view, 100, "V1", dy=0.9)
    assert view.track_at(view.mapToScene(low_in_v1).y()).name == "V1"
    # the header buttons follow the row (its middle moved down)
    QTest.mouseClick(w.timeline.headers, Qt.MouseButton.LeftButton, pos=header_point(w, "V1", "locked"))
    assert w.project.timeline.tracks[2].locked
    w.timeline_actions.undo.trigger()  # the lock
    w.timeline_actions.undo.trigger()  # the whole drag was one step
    assert rows(w) == before
    assert w.document.undo_stack.canUndo() is False


def test_track_height_stops_at_its_limits_and_a_double_click_on_the_edge_resets_it(qtbot, window, monkeypatch):
    w = window
    drag_header(w, bottom_edge(w, "A1"), -200)
    assert rows(w)["A1"][1] == MIN_HEIGHT
    drag_header(w, bottom_edge(w, "A1"), 600)
    assert rows(w)["A1"][1] == MAX_HEIGHT
    renamed = []
    monkeypatch.setattr(QInputDialog, "getText", lambda *args, **kwargs: renamed.append(args) or ("", False))
    QTest.mouseDClick(w.timeline.headers, Qt.MouseButton.LeftButton, pos=bottom_edge(w, "A1"))
    assert rows(w)["A1"][1] == TRACK_HEIGHTS["audio"] and "row_height" not in w.project.timeline.tracks[-1].extra
    assert renamed == []  # the edge is not the name: no rename dialog


def test_header_menu_sizes_and_the_height_survive_save_and_open(qtbot, window, tmp_path):
    w = window
    headers = w.timeline.headers
    chosen = []

    def click(menu, text):
        action = next(a for a in menu.actions() if a.text().replace("&", "") == text)
        chosen.append(text)
        QTest.mouseClick(menu, Qt.MouseButton.LeftButton, pos=menu.actionGeometry(action).center())

    def open_sizes():
        click(QApplication.activePopupWidget(), "Track Height")
        QTimer.singleShot(50, lambda: click(QApplication.activePopupWidget(), "Large"))

    QTimer.singleShot(50, open_sizes)
    pos = header_point(w, "V2")
    QApplication.sendEvent(headers, QContextMenuEvent(QContextMenuEvent.Reason.Mouse, pos, headers.mapToGlobal(pos)))
    qtbot.waitUntil(lambda: len(chosen) == 2)
    assert rows(w)["V2"][1] == 2 * TRACK_HEIGHTS["video"]
    sizes = next(a.menu() for a in headers.menu_for(w.project.timeline.tracks[1]).actions() if a.menu())
    assert [a.text() for a in sizes.actions() if a.isChecked()] == ["Large"]  # the menu shows the size chosen
    drag_header(w, bottom_edge(w, "P1"), 20)
    heights = {name: height for name, (_, height) in rows(w).items()}
    path = str(tmp_path / "heights.kinora")
    assert w.save_to(path)
    reopened = MainWindow()
    qtbot.addWidget(reopened)
    assert reopened.open_project(path)
    assert {name: height for name, (_, height) in rows(reopened).items()} == heights
    assert reopened.timeline.view.graphics["c1"].height() == heights["V1"] - 4
    reopened.close()
