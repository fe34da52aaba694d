"""Sessions: File > Open Recent, the start page, reopening the last project, and recovery
offered at launch after the editor was killed (a real editor process, killed with SIGKILL)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest
from PySide6.QtCore import QPoint, Qt, QTimer
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication

from editor.dialogs.recover_at_launch import RecoverAtLaunchDialog
from editor.main_window import MainWindow
from editor.session import start_session
from engine.model import recovery
from engine.model.items import TextBlock
from engine.model.project import new_project
from engine.model.serialize import save_project
from engine.user_settings import UserSettings, load_recent, remember_project, save_settings

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def saved_project(folder, name, width=1280):
    path = str(folder / f"{name}.kinora")
    save_project(new_project(width, 720, 24), path)
    return path


def click_menu_entry(qtbot, menu, text):
    """Pop the menu up and click the entry with the mouse, as a user does."""
    menu.popup(QPoint(40, 40))
    qtbot.waitUntil(menu.isVisible)
    action = next(a for a in menu.actions() if a.text().endswith(text))
    QTest.mouseClick(menu, Qt.MouseButton.LeftButton, pos=menu.actionGeometry(action).center())
    return action


def recent_entries(qtbot, window):
    menu = window.recent_menu
    menu.popup(QPoint(40, 40))
    qtbot.waitUntil(menu.isVisible)
    entries = [(a.text(), a.data()) for a in menu.actions() if not a.isSeparator()]
    menu.hide()
    return entries


def test_open_recent_lists_opened_and_saved_projects_and_opens_one(qtbot, tmp_path):
    first, second, gone = (saved_project(tmp_path, n) for n in ("first", "second", "gone"))
    window = MainWindow(start_worker=False)
    qtbot.addWidget(window)
    window.show()
    assert recent_entries(qtbot, window) == [("No recent projects", None), ("&Clear List", None)]
    assert window.open_project(gone)
    assert window.save_to(first)  # saving remembers too
    assert window.open_project(second)
    os.unlink(gone)  # a project whose file is gone is not offered
    assert recent_entries(qtbot, window) == [("&1 second", second), ("&2 first", first), ("&Clear List", None)]

    click_menu_entry(qtbot, window.recent_menu, "first")
    qtbot.waitUntil(lambda: window.project.path == first)
    assert window.windowTitle() == "first.kinora — Kinora"
    assert [r.path for r in load_recent()] == [first, second]

    click_menu_entry(qtbot, window.recent_menu, "Clear List")
    assert load_recent(existing_only=False) == []
    assert recent_entries(qtbot, window)[0] == ("No recent projects", None)


def test_the_start_page_opens_a_recent_project_with_a_click(qtbot, tmp_path):
    older, newer = saved_project(tmp_path, "older"), saved_project(tmp_path, "newer", width=640)
    remember_project(older, now=1000.0)
    remember_project(newer, now=2000.0)
    save_settings(UserSettings(reopen_last_project=False))
    window = MainWindow(start_worker=False)
    qtbot.addWidget(window)
    window.show()
    assert start_session(window) == "start page"
    page = window.start_page
    qtbot.waitExposed(page)
    rows = [[page.recent.topLevelItem(i).text(c) for c in range(3)] for i in range(page.recent.topLevelItemCount())]
    assert [row[:2] for row in rows] == [["newer", str(tmp_path)], ["older", str(tmp_path)]]
    assert rows[0][2] == time.strftime("%Y-%m-%d %H:%M", time.localtime(2000.0))
    item = page.recent.topLevelItem(1)
    rect = page.recent.visualItemRect(item)
    QTest.mouseClick(page.recent.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    qtbot.waitUntil(lambda: window.project.path == older)
    assert not page.isVisible()


def test_the_last_project_reopens_at_launch_unless_the_preference_is_off(qtbot, tmp_path):
    last = saved_project(tmp_path, "last", width=640)
    remember_project(saved_project(tmp_path, "before"), now=1.0)
    remember_project(last, now=2.0)
    window = MainWindow(start_worker=False)
    qtbot.addWidget(window)
    assert start_session(window) == "reopened"  # on by default
    assert window.project.path == last and window.project.settings.width == 640
    from editor.dialogs.settings import SettingsDialog
    from engine.user_settings import load_settings

    preferences = SettingsDialog(load_settings(), window)
    qtbot.addWidget(preferences)
    preferences.show()
    assert preferences.reopen_last.isChecked()
    preferences.reopen_last.click()
    preferences.accept()  # what OK does
    assert load_settings().reopen_last_project is False
    other = MainWindow(start_worker=False)
    qtbot.addWidget(other)
    assert start_session(other) == "start page" and other.project.path is None


EDITOR_THAT_EDITS = """
import os, sys
from PySide6.QtCore import QTimer
from editor.app import build_editor
from editor.session import start_session
from engine.model import edits
from engine.model.items import TextBlock, new_id

app, window, project = build_editor(sys.argv[1:])
print("STARTED", start_session(window, project), flush=True)

def edit():
    track = window.project.timeline.tracks_of("prompt")[0].id
    block = TextBlock(new_id(), 0, 48, "words that were never saved")
    window.document.perform("Add prompt", lambda p: edits.insert(p, track, block))

def report():
    if os.path.exists(window.files.autosaver.path) and not window.files.autosaver.pending:
        print("AUTOSAVED", window.files.autosaver.path, flush=True)
        poll.stop()

QTimer.singleShot(0, edit)
poll = QTimer()
poll.timeout.connect(report)
poll.start(100)
sys.exit(app.exec())
"""


def start_editor_that_edits(project_path: str | None, log) -> tuple[subprocess.Popen, str]:
    """The real editor (build_editor and start_session of `kinora`) in its own process: it makes
    one edit and reports when its autosave is written. Returns the process and the autosave."""
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "PYTHONPATH": REPO}
    with open(log, "w") as errors:  # a file, not a pipe nobody reads that could fill and stall it
        process = subprocess.Popen([sys.executable, "-c", EDITOR_THAT_EDITS, *([project_path] if project_path else [])],
                                   cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=errors, text=True)
    for line in process.stdout:
        if line.startswith("AUTOSAVED "):
            return process, line.split(" ", 1)[1].strip()
    process.wait(timeout=60)
    with open(log) as errors:
        raise AssertionError(f"the editor ended before autosaving: {errors.read()[-3000:]}")


@pytest.mark.parametrize("saved", [True, False], ids=["saved project", "never saved"])
def test_recovery_is_offered_at_launch_after_the_editor_is_killed(qtbot, tmp_path, saved):
    path = saved_project(tmp_path, "film") if saved else None
    if saved:
        remember_project(path)
    process, autosave = start_editor_that_edits(path, tmp_path / "editor.log")
    try:
        # while that editor runs, its autosave is its own: another window does not offer it
        assert recovery.find_recoveries_at_launch([path] if path else []) == []
        os.kill(process.pid, signal.SIGKILL)
        process.wait(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=60)
    assert process.returncode == -signal.SIGKILL and os.path.exists(autosave)

    window = MainWindow(start_worker=False)
    qtbot.addWidget(window)
    window.show()
    offered = []

    def answer():
        dialog = QApplication.activeModalWidget()
        if not isinstance(dialog, RecoverAtLaunchDialog):
            QTimer.singleShot(50, answer)
            return
        offered.extend(dialog.list.item(i).text() for i in range(dialog.list.count()))
        QTest.mouseClick(dialog.recover_button, Qt.MouseButton.LeftButton)

    QTimer.singleShot(0, answer)
    assert start_session(window) == "recovered"
    assert len(offered) == 1
    assert offered[0].startswith("film.kinora — changes from" if saved else "Untitled (never saved)")
    texts = [item.text for _, item in window.project.timeline.items() if isinstance(item, TextBlock)]
    assert texts == ["words that were never saved"]
    assert window.project.path == path and window.windowTitle().endswith("• — Kinora")  # not saved yet
    assert window.files.save() if saved else window.save_to(str(tmp_path / "named at last.kinora"))
    assert recovery.find_recoveries_at_launch([path] if saved else []) == []  # nothing offered twice


def test_not_now_keeps_the_changes_for_later_and_shows_the_start_page(qtbot, tmp_path):
    path = saved_project(tmp_path, "film")
    remember_project(path)
    edited = new_project(1280, 720, 24)
    edited.path = path
    recovery.write_recovery(edited, recovery.recovery_path(path), path)
    os.utime(path, (1, 1))  # the project file is older than its autosave
    window = MainWindow(start_worker=False)
    qtbot.addWidget(window)

    def later():
        dialog = QApplication.activeModalWidget()
        if not isinstance(dialog, RecoverAtLaunchDialog):
            QTimer.singleShot(50, later)
            return
        QTest.mouseClick(dialog.later_button, Qt.MouseButton.LeftButton)

    QTimer.singleShot(0, later)
    assert start_session(window) == "start page"  # not the last project: its changes were just offered
    assert window.project.path is None and window.start_page.isVisible()
    assert [r.project_path for r in recovery.find_recoveries_at_launch([path])] == [path]


def test_a_recent_project_that_vanished_is_said_and_forgotten(qtbot, tmp_path, monkeypatch):
    from PySide6.QtWidgets import QMessageBox

    shown = []
    monkeypatch.setattr(QMessageBox, "warning", lambda parent, title, text: shown.append(text))
    kept, vanishing = saved_project(tmp_path, "kept"), saved_project(tmp_path, "vanishing")
    remember_project(kept, now=1.0)
    remember_project(vanishing, now=2.0)
    save_settings(UserSettings(reopen_last_project=False))
    window = MainWindow(start_worker=False)
    qtbot.addWidget(window)
    window.show()
    start_session(window)
    page = window.start_page
    qtbot.waitExposed(page)
    os.unlink(vanishing)  # gone while the start page shows it
    rect = page.recent.visualItemRect(page.recent.topLevelItem(0))
    QTest.mouseClick(page.recent.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    assert shown == [f"{vanishing} is no longer there; it was removed from the recent projects"]
    assert page.isVisible() and page.recent.topLevelItemCount() == 1
    assert [r.path for r in load_recent(existing_only=False)] == [kept] and window.project.path is None
