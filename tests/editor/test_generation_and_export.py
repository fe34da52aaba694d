"""The creation bar runs a real generation job on a tiny model, the result appears in the
Library; the export dialog writes a playable file; a clip's tools queue their jobs."""

from __future__ import annotations

import os

import pytest
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest

from editor.main_window import MainWindow
from engine.generate.requests import request_from_json
from engine.model import edits
from engine.model.items import Clip, MediaRef
from engine.model.project import new_project
from engine.time import FrameRange, FrameRate
from tests.generate.tiny_models import save_tiny_ltx


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory):
    return save_tiny_ltx(tmp_path_factory.mktemp("models") / "tiny-ltx")


def test_creation_bar_generates_and_the_result_appears_in_the_library(qtbot, tiny_model):
    window = MainWindow(new_project(32, 32, 24))
    qtbot.addWidget(window)
    window.show()
    bar = window.creation_bar
    bar.model.addItem("tiny", str(tiny_model))
    bar.model.setCurrentIndex(bar.model.count() - 1)
    bar.resolution.setCurrentText("Project size")
    bar.duration.setValue(0.5)
    bar.steps.setValue(2)
    QTest.keyClicks(bar.prompt, "a red fox in the snow")
    QTest.mouseClick(bar.generate_button, Qt.MouseButton.LeftButton)
    assert window.jobs.active_count() >= 0  # the job shows in the notification area at once
    [row] = [row for _, row in window.jobs.rows.values()]
    assert row.job.kind == "generate" and row.job.params["request"]["prompt"] == "a red fox in the snow"
    qtbot.waitUntil(lambda: row.job.state in ("done", "failed"), timeout=120_000)
    assert row.job.state == "done", row.job.error
    output = row.job.outputs[0]
    assert os.path.isfile(output)
    qtbot.waitUntil(lambda: any(window.library.grid.item(i).data(Qt.ItemDataRole.UserRole) == output
                                for i in range(window.library.grid.count())), timeout=10_000)
    assert "No jobs running" in window.jobs_label.text()


def test_export_dialog_writes_a_playable_file(qtbot, tmp_path):
    from editor.dialogs.export import ExportDialog
    from engine.media.probe import probe
    from tests.media.media_factory import index_video

    source = tmp_path / "shot.mp4"
    index_video(source, 24, rate=24)
    project = new_project(160, 96, 24)
    edits.add_media(project, MediaRef("v", str(source), "video", num_frames=24, rate=FrameRate.parse(24)))
    edits.insert(project, project.timeline.tracks_of("video")[0].id, Clip("c", 0, "v", FrameRange(0, 24)))
    window = MainWindow(project)
    qtbot.addWidget(window)
    dialog = ExportDialog(window.project, window.bridge, None, window)
    qtbot.addWidget(dialog)
    dialog.show()
    dialog.format.setCurrentText("WebM")
    assert dialog.codec.currentData() == "vp9"
    dialog.path.setText(str(tmp_path / "out.webm"))
    QTest.mouseClick(dialog.export_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: dialog.reveal_button.isVisible() or dialog.export_button.isEnabled(), timeout=60_000)
    assert dialog.reveal_button.isVisible(), dialog.status.text()
    info = probe(str(tmp_path / "out.webm"))
    assert (info.codec, info.num_frames, info.width) == ("vp9", 24, 160)


def test_clip_tools_queue_requests_naming_the_clip_on_the_timeline(qtbot, tmp_path, monkeypatch):
    from tests.media.media_factory import index_video

    source = tmp_path / "shot.mp4"
    index_video(source, 24, rate=24)
    project = new_project(160, 96, 24)
    edits.add_media(project, MediaRef("v", str(source), "video", num_frames=24, rate=FrameRate.parse(24),
                                      height=96))
    edits.insert(project, project.timeline.tracks_of("video")[0].id, Clip("c", 0, "v", FrameRange(0, 24)))
    edits.insert(project, project.timeline.tracks_of("video")[0].id, Clip("t", 30, "v", FrameRange(6, 18)))
    window = MainWindow(project, start_worker=False)
    qtbot.addWidget(window)
    from PySide6.QtWidgets import QInputDialog

    monkeypatch.setattr(QInputDialog, "getText", lambda *a, **k: ("a watercolor painting", True))
    window.timeline.view.select_ids(["c"])
    menu = window.clip_tools.menu(window.project, window._selected_clips())
    titles = [a.text() for a in menu.actions()]
    assert titles[:1] == ["Re-cut"] and "Loop…" in titles and "Generate variations" in titles
    recut = menu.actions()[0].menu()
    [extend_back] = [a for a in recut.actions() if a.text() == "Extend backwards…"]
    extend_back.trigger()
    [job] = window.bridge.jobs()
    request = request_from_json(job.params["request"])
    assert job.kind == "extend" and request.direction == "backward" and request.clip.clip_id == "c"
    assert request.clip.source_path() == str(source) and request.prompt == "a watercolor painting"
    assert request.place["mode"] == "track_above" and request.place["end"] == 24
    window.clip_tools.remix(window.project, window.project.timeline.find("c")[1], 0.75)
    remix = request_from_json(max(window.bridge.jobs(), key=lambda job: job.id).params["request"])
    assert (remix.tool, remix.strength, remix.prompt) == ("remix", 0.75, "a watercolor painting")
    assert remix.place == {"mode": "take", "clip_id": "c", "document": window._place_token()}
    # A trimmed clip: the request names the clip on a snapshot of the timeline, trim and all.
    window.timeline.view.select_ids(["t"])
    menu = window.clip_tools.menu(window.project, window._selected_clips())
    [extend] = [a for a in menu.actions()[0].menu().actions() if a.text() == "Extend forwards…"]
    extend.trigger()
    trimmed = request_from_json(max(window.bridge.jobs(), key=lambda job: job.id).params["request"])
    _, _, clip = trimmed.clip.resolve()
    assert (trimmed.tool, trimmed.direction, clip.source_range, clip.start) == ("extend", "forward",
                                                                              FrameRange(6, 18), 30)


def test_variations_are_takes_of_one_clip_the_user_can_switch(qtbot, tmp_path):
    from PySide6.QtCore import QPointF

    from editor.timeline.view import track_rows
    from engine.library.catalog import GenerationRecord
    from tests.media.media_factory import index_video

    takes = [tmp_path / f"fox-{i}.mp4" for i in (1, 2, 3)]
    for i, path in enumerate(takes):
        index_video(path, 24 + i, rate=24)
    window = MainWindow(new_project(160, 96, 24), start_worker=False)
    qtbot.addWidget(window)
    library = window.library.library
    for seed, path in enumerate(takes):
        library.add_generation(GenerationRecord(
            tool="generate", output_path=str(path), prompts=[{"start": None, "stop": None, "text": "a red fox"}],
            model_id="toyworld", seeds=[seed], settings={"steps": 8, "takes": [str(p) for p in takes]}))
    view = window.timeline.view
    row = [top for track, top, _ in track_rows(window.project) if track.kind == "video"][0]
    assert view.drop_paths([str(takes[1])], QPointF(view.view_x_of(10), row + 20 - view.verticalScrollBar().value()))
    [clip] = window.project.timeline.tracks_of("video")[0].items
    assert clip.start == 10 and len(clip.takes) == 3
    assert clip.generation["model"] == "toyworld" and clip.generation["seed"] == 1
    assert window.project.media[clip.media_id].path == str(takes[1])
    view.select_ids([clip.id])
    menu = window.clip_tools.menu(window.project, window._selected_clips())
    [switch] = [a.menu() for a in menu.actions() if a.text() == "Switch take"]
    switch.actions()[2].trigger()
    [switched] = window.project.timeline.tracks_of("video")[0].items
    assert window.project.media[switched.media_id].path == str(takes[2]) and switched.takes == clip.takes
    window.document.undo_stack.undo()
    assert window.project.timeline.tracks_of("video")[0].items[0].media_id == clip.media_id
