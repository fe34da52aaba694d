"""File > Project Settings…: size, rate, sample rate and colour space as one undo step, the
warning a rate change on a timeline with items gives, and `kinora info` showing the result."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from PySide6.QtCore import Qt, QTimer
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QDialogButtonBox

from editor.dialogs.project_settings import ProjectSettingsDialog
from editor.main_window import MainWindow
from engine.model import edits
from engine.model.items import Clip, MediaRef, new_id
from engine.model.project import new_project
from engine.model.serialize import load_project, save_project
from engine.time import FrameRange, FrameRate

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def project_with_a_whole_clip(tmp_path):
    """A 24 fps project whose only clip uses every one of its file's 48 frames."""
    project = new_project(1280, 720, 24)
    ref = MediaRef(new_id(), str(tmp_path / "shot.mp4"), "video", num_frames=48, rate=FrameRate(24),
                   width=1280, height=720)
    edits.add_media(project, ref)
    edits.insert(project, project.timeline.tracks_of("video")[0].id, Clip(new_id(), 0, ref.id, FrameRange(0, 48)))
    save_project(project, tmp_path / "film.kinora")
    return str(tmp_path / "film.kinora")


def file_action(window, text):
    menu = next(a.menu() for a in window.menuBar().actions() if a.text() == "&File")
    return next(a for a in menu.actions() if a.text() == text)


def choose(combo, steps):
    """Pick an item of a combo box with the keyboard, as a user tabbing through the form does."""
    combo.setFocus()
    key = Qt.Key.Key_Down if steps > 0 else Qt.Key.Key_Up
    for _ in range(abs(steps)):
        QTest.keyClick(combo, key)


def click_ok(dialog):
    ok = dialog.buttons.button(QDialogButtonBox.StandardButton.Ok)
    QTest.mouseClick(ok, Qt.MouseButton.LeftButton)


def test_the_dialog_changes_size_and_rate_undoably_and_kinora_info_shows_them(qtbot, tmp_path):
    path = project_with_a_whole_clip(tmp_path)
    window = MainWindow(start_worker=False)
    qtbot.addWidget(window)
    assert window.open_project(path)
    seen = {}

    def fill_in():
        dialog = QApplication.activeModalWidget()
        assert isinstance(dialog, ProjectSettingsDialog)
        choose(dialog.size_preset, 1)  # HD -> Full HD
        seen["aspect"] = dialog.aspect.text()
        choose(dialog.rate, 3)  # 24 -> 30 fps (23.976, 24, 25, 29.97, 30)
        seen["note"] = dialog.note.text() if dialog.note.isVisibleTo(dialog) else ""
        choose(dialog.sample_rate, -1)  # 48000 -> 44100
        choose(dialog.color_space, 2)  # Rec. 709 -> Rec. 2020
        click_ok(dialog)

    QTimer.singleShot(0, fill_in)
    file_action(window, "Project Se&ttings…").trigger()
    settings = window.project.settings
    assert (settings.width, settings.height, settings.rate, settings.sample_rate, settings.color_space) == \
        (1920, 1080, FrameRate(30), 44100, "bt2020")
    assert seen["aspect"] == "16:9 (1.778)"
    assert "1 item(s) keep their frame positions" in seen["note"] and "1.6 s at 30 fps" in seen["note"]
    assert window.project_label.text().startswith("1920×1080 · 30 fps")
    _, clip = next(window.project.timeline.items())
    assert (clip.start, clip.source_range) == (0, FrameRange(0, 48))  # the items kept their frames

    window.timeline_actions.undo.trigger()  # one step takes all of it back
    settings = window.project.settings
    assert (settings.width, settings.height, settings.rate, settings.sample_rate, settings.color_space) == \
        (1280, 720, FrameRate(24), 48000, "bt709")
    window.timeline_actions.redo.trigger()
    assert window.save_to(path)
    assert load_project(path).settings.color_space == "bt2020"

    info = subprocess.run([sys.executable, "-m", "engine.cli", "info", path, "--json"], capture_output=True,
                          text=True, cwd=REPO, timeout=120)
    assert info.returncode == 0, info.stderr
    summary = json.loads(info.stdout)
    assert (summary["size"], summary["rate"], summary["fps"], summary["sample_rate"], summary["color_space"]) == \
        ([1920, 1080], "30/1", "30", 44100, "bt2020")
    text = subprocess.run([sys.executable, "-m", "engine.cli", "info", path], capture_output=True, text=True,
                          cwd=REPO, timeout=120).stdout
    assert "1920x1080 (16:9) at 30 fps" in text and "sound at 44100 Hz, colour space bt2020" in text


def test_a_rate_under_which_a_clip_runs_past_its_file_is_refused_in_the_dialog(qtbot, tmp_path):
    window = MainWindow(start_worker=False)
    qtbot.addWidget(window)
    assert window.open_project(project_with_a_whole_clip(tmp_path))
    dialog = ProjectSettingsDialog(window.document, window)
    qtbot.addWidget(dialog)
    dialog.show()
    choose(dialog.rate, 1)  # 24 -> 25 fps: fine, the clip's 48 frames are less of its file
    choose(dialog.rate, -2)  # -> 23.976 fps: the file has only 47 frames at that rate
    click_ok(dialog)
    assert dialog.isVisible() and "would need more frames than the file has" in dialog.problem.text()
    assert window.project.settings.rate == FrameRate(24) and window.document.undo_stack.count() == 0
    choose(dialog.rate, 2)
    click_ok(dialog)
    assert not dialog.isVisible() and window.project.settings.rate == FrameRate(25)


def test_custom_size_and_an_empty_timeline_say_nothing_about_items(qtbot):
    window = MainWindow(start_worker=False)
    qtbot.addWidget(window)
    for track in window.project.timeline.tracks:
        assert not track.items
    dialog = ProjectSettingsDialog(window.document, window)
    qtbot.addWidget(dialog)
    dialog.show()
    dialog.width_box.setFocus()
    dialog.width_box.selectAll()
    QTest.keyClicks(dialog.width_box, "1000")
    assert dialog.size_preset.currentText() == "Custom" and dialog.aspect.text() == "25:18 (1.389), nearest 4:3"
    choose(dialog.rate, 1)  # 24 -> 25 fps
    assert not dialog.note.isVisibleTo(dialog)
    click_ok(dialog)
    assert (window.project.settings.width, window.project.settings.rate) == (1000, FrameRate(25))


def test_the_export_dialog_writes_the_chosen_size_and_rate(qtbot, tmp_path):
    import av

    from editor.dialogs.export import ExportDialog
    from tests.media.media_factory import index_video

    source = tmp_path / "shot.mp4"
    index_video(source, 24, width=160, height=96, rate=24)
    project = new_project(160, 96, 24)
    edits.add_media(project, MediaRef("v", str(source), "video", num_frames=24, rate=FrameRate(24)))
    edits.insert(project, project.timeline.tracks_of("video")[0].id, Clip("c", 0, "v", FrameRange(0, 24)))
    window = MainWindow(project)
    qtbot.addWidget(window)
    dialog = ExportDialog(window.project, window.bridge, None, window)
    qtbot.addWidget(dialog)
    dialog.show()
    assert [dialog.size.itemText(i) for i in range(dialog.size.count())] == [
        "Project size (160×96)", "720p (1200×720)", "1080p (1800×1080)", "4K (3600×2160)",
        "Half (80×48)", "Custom"]
    choose(dialog.size, 4)  # Half
    choose(dialog.rate, 2)  # project rate -> 23.976 -> 25 (24, the project's own, is not listed twice)
    assert dialog.rate.currentText() == "25 fps"
    dialog.path.setText(str(tmp_path / "out.mp4"))
    QTest.mouseClick(dialog.export_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: dialog.reveal_button.isVisible() or dialog.export_button.isEnabled(), timeout=60_000)
    assert dialog.reveal_button.isVisible(), dialog.status.text()
    with av.open(str(tmp_path / "out.mp4")) as container:
        stream = container.streams.video[0]
        count = sum(1 for _ in container.decode(stream))
        assert (stream.width, stream.height, stream.average_rate) == (80, 48, 25)
    assert count == 25  # one second of the timeline, at the chosen rate
