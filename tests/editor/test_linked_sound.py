"""A clip generated with sound (LTX-2) lands with its sound on an audio track, linked: moving or
trimming one moves or trims the other until Unlink; the plan strip draws the audio row."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtTest import QTest

from editor.main_window import MainWindow
from engine.model import edits
from engine.model.curves import Curve
from engine.model.items import Clip, MediaRef, TextBlock
from engine.model.links import link_of, sound_apart
from engine.model.project import new_project
from engine.time import FrameRange
from tests.editor.test_timeline_editing import drag, point
from tests.editor.test_transitions_on_the_timeline import right_click_and_choose

pytestmark = pytest.mark.filterwarnings("ignore")


@pytest.fixture(scope="module")
def ltx2_model(tmp_path_factory):
    from tests.generate.tiny_ltx2 import save_tiny_ltx2

    return save_tiny_ltx2(tmp_path_factory.mktemp("models") / "tiny-ltx2")


def _window(qtbot, project, model):
    window = MainWindow(project)
    qtbot.addWidget(window)
    window.show()
    qtbot.waitExposed(window)
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow)
    bar = window.creation_bar
    bar.model.addItem("tiny LTX-2", str(model))
    bar.model.setCurrentIndex(bar.model.count() - 1)
    return window


def _find(window, item_id):
    return window.project.timeline.find(item_id)


def test_a_generated_clip_lands_with_its_sound_linked_and_they_move_and_trim_together(qtbot, ltx2_model,
                                                                                     monkeypatch):
    from PySide6.QtWidgets import QInputDialog

    monkeypatch.setattr(QInputDialog, "getText", lambda *a, **k: ("a storm", True))  # the remix's prompt
    project = new_project(32, 32, 25)
    edits.insert(project, project.timeline.tracks_of("prompt")[0].id, TextBlock("p", 0, 17, "waves on a shore"))
    window = _window(qtbot, project, ltx2_model)
    bar = window.creation_bar
    bar.steps.setValue(1)
    bar.resolution.setCurrentText("Project size")
    bar.source.setCurrentText("Timeline")
    QTest.mouseClick(bar.generate_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: window.bridge.jobs() and window.bridge.jobs()[0].state in ("done", "failed"),
                    timeout=180_000)
    assert window.bridge.jobs()[0].state == "done", window.bridge.jobs()[0].error
    qtbot.waitUntil(lambda: len(window.project.timeline.tracks_of("video")) == 2, timeout=10_000)
    [board] = window.project.timeline.tracks_of("video")[0].items
    sounds = [i for t in window.project.timeline.tracks_of("audio") for i in t.items]
    [sound] = sounds
    assert window.project.media[board.media_id].has_audio
    assert sound.media_id == board.media_id and sound.range == board.range == FrameRange(0, 17)
    assert link_of(sound) == link_of(board) is not None
    assert sound_apart(board)  # the mix plays its sound once, from the audio track
    video_track = window.project.timeline.tracks_of("video")[0].name
    view = window.timeline.view
    view.snapping = False
    view.set_zoom(20.0, 0)
    view.horizontalScrollBar().setValue(0)
    view.setFocus()

    # dragging the picture moves its sound
    drag(view, point(view, 4, video_track), point(view, 10, video_track))
    board, sound = _find(window, board.id)[1], _find(window, sound.id)[1]
    assert board.start == 6 and sound.start == 6
    # trimming the picture's right edge trims its sound
    edge = view.mapFromScene(QPointF(board.range.stop - 1 / view.pixels_per_frame, 0))
    start = QPoint(edge.x(), point(view, 10, video_track).y())
    drag(view, start, start - QPoint(int(5 * view.pixels_per_frame), 0))
    board, sound = _find(window, board.id)[1], _find(window, sound.id)[1]
    assert board.range == FrameRange(6, 18) and sound.range == FrameRange(6, 18)
    assert sound.source_range == board.source_range == FrameRange(0, 12)
    # one undo step puts both back
    window.document.undo_stack.undo()
    assert _find(window, board.id)[1].range == _find(window, sound.id)[1].range == FrameRange(6, 23)

    from engine.media.audio import AudioMixer

    assert [c.id for c in AudioMixer(window.project).sounding_clips()] == [sound.id]  # heard once
    # a remix lands as a new take of the picture, and its sound follows onto the linked audio clip
    window.clip_tools.remix(window.project, _find(window, board.id)[1], 0.5)
    qtbot.waitUntil(lambda: window.bridge.jobs()[-1].state in ("done", "failed"), timeout=180_000)
    assert window.bridge.jobs()[-1].state == "done", window.bridge.jobs()[-1].error
    qtbot.waitUntil(lambda: len(_find(window, board.id)[1].takes) == 2, timeout=10_000)
    board, sound = _find(window, board.id)[1], _find(window, sound.id)[1]
    assert board.generation["tool"] == "remix" and sound.media_id == board.media_id
    assert link_of(sound) == link_of(board) is not None and sound.range == board.range

    # Unlink from the picture's context menu: then the picture moves alone
    QTest.mouseClick(view.viewport(), Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier,
                     point(view, 10, video_track))
    texts = right_click_and_choose(window, qtbot, point(view, 10, video_track), "Unlink picture and sound")
    assert "Unlink picture and sound" in texts
    qtbot.waitUntil(lambda: link_of(_find(window, board.id)[1]) is None)
    assert link_of(_find(window, sound.id)[1]) is None
    drag(view, point(view, 10, video_track), point(view, 14, video_track))
    assert _find(window, board.id)[1].start == 10 and _find(window, sound.id)[1].start == 6


def test_the_plan_strip_draws_the_audio_row_for_a_model_that_makes_sound(qtbot, ltx2_model, tmp_path):
    from tests.generate.media import write_tone

    tone = write_tone(tmp_path / "bell.wav", 1.0)
    project = new_project(32, 32, 25)
    edits.add_media(project, MediaRef("t", str(tone), "audio", has_audio=True))
    audio_track = project.timeline.tracks_of("audio")[0]
    edits.insert(project, audio_track.id, Clip("bell", 4, "t", FrameRange(0, 8), curve=Curve.flat(0.5)))
    edits.insert(project, project.timeline.tracks_of("prompt")[0].id, TextBlock("p", 0, 33, "a bell rings"))
    window = MainWindow(project)
    qtbot.addWidget(window)
    window.show()
    qtbot.waitExposed(window)
    strip = window.timeline.plan_strip
    assert not strip.plan.num_audio_frames and not len(strip.drawn_audio_strength())  # a silent model: no row
    bar = window.creation_bar
    bar.model.addItem("tiny LTX-2", str(ltx2_model))
    bar.model.setCurrentIndex(bar.model.count() - 1)
    plan = strip.plan
    assert plan.audio_latents_per_second == 25.0 and plan.num_audio_frames == plan.num_frames
    expected = np.where((np.arange(plan.num_frames) >= 4) & (np.arange(plan.num_frames) < 12), 0.5, 0.0)
    np.testing.assert_allclose(strip.drawn_audio_strength(), expected, atol=1e-6)
    np.testing.assert_allclose(strip.drawn_audio_strength(), plan.audio_strength, atol=1e-6)
    # a real drag of the sound moves its row
    view = window.timeline.view
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow)
    view.snapping = False
    view.set_zoom(20.0, 0)
    view.horizontalScrollBar().setValue(0)
    drag(view, point(view, 6, audio_track.name), point(view, 16, audio_track.name))
    assert window.project.timeline.find("bell")[1].start == 14
    moved = np.where((np.arange(plan.num_frames) >= 14) & (np.arange(plan.num_frames) < 22), 0.5, 0.0)
    np.testing.assert_allclose(strip.drawn_audio_strength()[:len(moved)], moved, atol=1e-6)


def test_a_link_survives_a_save_and_moving_the_sound_moves_the_picture(tmp_path):
    from engine.model.serialize import load_project, save_project
    from engine.time import FrameRate

    project = new_project(32, 32, 25)
    edits.add_media(project, MediaRef("m", "/x.mp4", "video", num_frames=20, rate=FrameRate.parse(25),
                                      has_audio=True))
    edits.insert(project, project.timeline.tracks_of("video")[0].id, Clip("c", 0, "m", FrameRange(0, 10)))
    edits.insert(project, project.timeline.tracks_of("audio")[0].id, Clip("s", 0, "m", FrameRange(0, 10)))
    edits.link(project, ["c", "s"], sound_apart=["c"])
    save_project(project, tmp_path / "linked.kinora")
    loaded = load_project(tmp_path / "linked.kinora")
    picture, sound = loaded.timeline.find("c")[1], loaded.timeline.find("s")[1]
    assert link_of(picture) == link_of(sound) is not None and sound_apart(picture) and not sound_apart(sound)
    undo = edits.move(loaded, "s", 5)
    assert loaded.timeline.find("c")[1].start == 5
    edits.apply(loaded, undo)
    assert loaded.timeline.find("c")[1].start == 0 and loaded.timeline.find("s")[1].start == 0
    # a split keeps the link on the left parts only
    edits.split(loaded, "c", 4, new_item_id="c2")
    assert link_of(loaded.timeline.find("c2")[1]) is None and link_of(loaded.timeline.find("c")[1]) is not None
    edits.unlink(loaded, "c")
    assert link_of(loaded.timeline.find("s")[1]) is None
