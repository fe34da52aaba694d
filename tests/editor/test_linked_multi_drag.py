"""Dragging a multi-selection moves the sound (or picture) linked to any selected item too, by the
same shift, in one undo step; a partner that is selected itself moves once."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest

from editor.main_window import MainWindow
from engine.model import edits
from engine.model.items import Clip, MediaRef
from engine.model.project import new_project
from engine.time import FrameRange, FrameRate
from tests.editor.test_timeline_editing import drag, point
from tests.generate.media import write_clip, write_tone

pytestmark = pytest.mark.filterwarnings("ignore")


@pytest.fixture
def window(qtbot, tmp_path):
    project = new_project(32, 32, 24)
    picture = write_clip(tmp_path / "picture.mp4", 48)
    tone = write_tone(tmp_path / "sound.wav", 2.0)
    edits.add_media(project, MediaRef("pic", str(picture), "video", num_frames=48, rate=FrameRate.parse(24)))
    edits.add_media(project, MediaRef("snd", str(tone), "audio", num_frames=48, rate=FrameRate.parse(24),
                                      has_audio=True))
    video, audio = project.timeline.tracks_of("video")[0], project.timeline.tracks_of("audio")[0]
    edits.insert(project, video.id, Clip("a", 0, "pic", FrameRange(0, 24)))
    edits.insert(project, video.id, Clip("b", 40, "pic", FrameRange(24, 48)))
    edits.insert(project, audio.id, Clip("s", 0, "snd", FrameRange(0, 24)))
    edits.insert(project, audio.id, Clip("t", 40, "snd", FrameRange(24, 34)))  # not linked: stays
    edits.link(project, ["a", "s"], sound_apart=["a"])
    w = MainWindow(project)
    qtbot.addWidget(w)
    w.show()
    qtbot.waitExposed(w)
    w.activateWindow()
    qtbot.waitUntil(w.isActiveWindow)
    view = w.timeline.view
    view.snapping = False
    view.set_zoom(8.0, 0)
    view.horizontalScrollBar().setValue(0)
    view.setFocus()
    return w


def _starts(window) -> dict[str, int]:
    return {item.id: item.start for _track, item in window.project.timeline.items()}


def _click(view, at, modifier=Qt.KeyboardModifier.NoModifier) -> None:
    QTest.mouseClick(view.viewport(), Qt.MouseButton.LeftButton, modifier, at)


@pytest.mark.parametrize("sound_selected", [False, True], ids=["pictures selected", "sound selected too"])
def test_dragging_a_multi_selection_moves_linked_sound_with_it(window, sound_selected):
    view = window.timeline.view
    video = window.project.timeline.tracks_of("video")[0].name
    audio = window.project.timeline.tracks_of("audio")[0].name
    _click(view, point(view, 5, video))
    _click(view, point(view, 45, video), Qt.KeyboardModifier.ShiftModifier)
    if sound_selected:
        _click(view, point(view, 5, audio), Qt.KeyboardModifier.ShiftModifier)
    assert sorted(view.selected_ids()) == (["a", "b", "s"] if sound_selected else ["a", "b"])
    before = _starts(window)
    drag(view, point(view, 5, video), point(view, 15, video))
    assert _starts(window) == {"a": 10, "b": 50, "s": 10, "t": 40}
    window.document.undo_stack.undo()
    assert _starts(window) == before
