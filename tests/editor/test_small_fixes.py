"""Small things a user trips over: the Library's Import button, leaving full screen, toolbar
buttons that keep their place, and a finished render row that says where its file went."""

from __future__ import annotations

import os

from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QFileDialog, QToolBar

from editor.bridge import JobBridge
from editor.jobs_panel import JobsPanel
from editor.main_window import MainWindow
from engine.jobs.queue import JobQueue
from engine.model import edits
from engine.model.items import TextBlock
from engine.model.project import new_project
from engine.progress import Progress
from tests.media.media_factory import index_video


def _window(qtbot) -> MainWindow:
    window = MainWindow(new_project(160, 96, 24), start_worker=False)
    qtbot.addWidget(window)
    window.show()
    qtbot.waitExposed(window)
    return window


def test_the_library_import_button_imports_the_chosen_files(qtbot, tmp_path, monkeypatch):
    shot = tmp_path / "shot.mp4"
    index_video(shot, 12, rate=24)
    window = _window(qtbot)
    # the file dialog is the operating system's; the user's choice is what it returns
    monkeypatch.setattr(QFileDialog, "getOpenFileNames", lambda *args, **kwargs: ([str(shot)], ""))
    assert window.library.library.list_media() == []
    QTest.mouseClick(window.library.import_button, Qt.MouseButton.LeftButton)
    assert [m["path"] for m in window.library.library.list_media()] == [str(shot)]
    assert window.library.grid.count() == 1


def test_full_screen_preview_is_left_with_f_or_escape(qtbot):
    window = _window(qtbot)
    screen = window.preview.screen
    for key in (Qt.Key.Key_F, Qt.Key.Key_Escape):
        window.preview.toggle_full_screen()
        assert screen.isFullScreen() and screen.isWindow()
        QTest.keyClick(screen, key)
        assert not screen.isFullScreen() and not screen.isWindow()
        assert screen.parent() is window.preview


def test_toolbar_buttons_keep_their_place_when_the_undo_text_changes(qtbot):
    window = _window(qtbot)
    toolbar = window.findChild(QToolBar, "EditToolbar")
    split_button = toolbar.widgetForAction(window.timeline_actions.split)
    track = window.project.timeline.tracks_of("prompt")[0]
    window.document.perform("Add", lambda p: edits.insert(p, track.id, TextBlock("t1", 0, 10, "a")))
    qtbot.wait(10)
    before = split_button.geometry()
    window.document.perform("Add a prompt block with a very long undo name",
                            lambda p: edits.insert(p, track.id, TextBlock("t2", 20, 10, "b")))
    qtbot.wait(10)
    assert window.timeline_actions.undo.text().endswith("very long undo name")
    assert split_button.geometry() == before
    undo_button = toolbar.widgetForAction(window.timeline_actions.undo_tool)
    assert undo_button.text() == "Undo" and undo_button.toolTip().endswith("very long undo name")
    QTest.mouseClick(undo_button, Qt.MouseButton.LeftButton)
    assert [i.id for _, i in window.project.timeline.items()] == ["t1"]


def test_a_finished_render_row_names_its_file_not_its_last_step(qtbot, tmp_path):
    bridge = JobBridge(str(tmp_path / "library.sqlite"))
    queue = JobQueue(bridge.db_path)
    job_id = queue.submit("render", {"output": str(tmp_path / "film.mp4")})
    queue.claim_next(os.getpid())
    queue.report(job_id, Progress(5, 10, "exporting"))
    queue.finish(job_id, [str(tmp_path / "film.mp4")])
    panel = JobsPanel(bridge)
    qtbot.addWidget(panel)
    text = panel.rows[job_id][1].state.text()
    assert text == "done — exported to film.mp4"
    assert panel.rows[job_id][1].title.text() == f"#{job_id} Export — film.mp4"
    bridge.stop()
