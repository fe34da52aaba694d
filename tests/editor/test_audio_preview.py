"""Sound in the preview: the pictures follow the audio sink, shuttle speeds are muted, a scrub
plays a burst, and the level meter shows what sounds.

Where PulseAudio is installed, tests/conftest.py gives the session a private null sink (it
consumes sound in real time like a sound card); with no audio device at all, the tests that
need one are skipped and the rest run on the wall clock."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import QPoint, Qt
from PySide6.QtTest import QTest

from editor.main_window import MainWindow
from editor.preview.audio_playback import SAMPLE_RATE
from editor.preview.player import NO_AUDIO_OUTPUT
from engine.model import edits
from engine.model.items import Clip, MediaRef
from engine.model.project import new_project
from engine.time import FrameRange
from tests.media.audio_factory import tone, write_wav

RATE = 24
NO_DEVICE = "no audio output device on this machine (install pulseaudio: the tests then play into a null sink)"


def _window(qtbot, tmp_path, seconds=14.0, amplitude=0.5, sound=None):
    wav = write_wav(tmp_path / "tone.wav", tone(seconds, amplitude) if sound is None else sound)
    project = new_project(160, 96, RATE)
    edits.add_media(project, MediaRef("t", str(wav), "audio"))
    edits.insert(project, project.timeline.tracks_of("audio")[0].id,
                 Clip("c", 0, "t", FrameRange(0, int(seconds * RATE))))
    window = MainWindow(project, start_worker=False)
    qtbot.addWidget(window)
    window.show()
    qtbot.waitExposed(window)
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow)
    window.timeline.view.setFocus()
    return window


def _stepped_tone(seconds: int) -> np.ndarray:
    """A tone whose level tells the second it plays in: 0.04 * (second + 1)."""
    return np.concatenate([tone(1.0, 0.04 * (second + 1)) for second in range(seconds)], axis=1)


def test_pictures_follow_the_sink_within_one_frame_after_ten_seconds(qtbot, tmp_path):
    window = _window(qtbot, tmp_path, seconds=14, sound=_stepped_tone(14))
    preview = window.preview
    if not preview.audio.has_output:
        pytest.skip(NO_DEVICE)
    QTest.keyClick(window.timeline.view, Qt.Key.Key_Space)
    assert preview.speed == 1 and preview.audio.sounding
    # ten seconds of play, as the sink counts them
    qtbot.waitUntil(lambda: preview.audio.sink.processedUSecs() >= 10_000_000, timeout=60_000)
    sink = preview.audio.sink
    heard_frame = preview.audio.position_sample() * RATE / SAMPLE_RATE  # read back from the sink's processed time
    shown_frame = preview.frame
    processed_s = sink.processedUSecs() / 1e6
    sounding_level = float(preview.audio.levels[0])  # the level of the block at the sink's position
    QTest.keyClick(window.timeline.view, Qt.Key.Key_Space)
    assert preview.speed == 0 and preview.audio.sink is None
    assert processed_s >= 10.0
    # the frame on screen is the one being heard, or its neighbour
    assert abs(shown_frame - int(heard_frame)) <= 1, (shown_frame, heard_frame)
    # and what the sink is playing there is the timeline's sound at that frame: the level of
    # that second of the stepped tone (either neighbour within a block of a second's edge)
    second = heard_frame / RATE
    candidates = {int(second), int(second + 0.05), int(max(second - 0.05, 0))}
    assert any(abs(sounding_level - 0.04 * (s + 1)) < 0.004 for s in candidates), (second, sounding_level)
    assert window.timeline.view.playhead == shown_frame


def test_level_meter_reads_a_tone(qtbot, tmp_path):
    window = _window(qtbot, tmp_path, seconds=4.0, amplitude=0.25)  # -12.04 dBFS
    preview = window.preview
    QTest.keyClick(window.timeline.view, Qt.Key.Key_Space)
    qtbot.waitUntil(lambda: all(abs(level + 12.04) < 0.3 for level in preview.meter.levels_db), timeout=10_000)
    assert all(abs(hold + 12.04) < 0.3 for hold in preview.meter.hold_db)
    QTest.keyClick(window.timeline.view, Qt.Key.Key_Space)
    assert np.all(preview.audio.levels == 0)  # stopped: nothing sounds


def test_shuttle_is_muted_and_a_scrub_plays_a_burst(qtbot, tmp_path):
    window = _window(qtbot, tmp_path, seconds=6.0)
    preview, view = window.preview, window.timeline.view
    QTest.keyClick(view, Qt.Key.Key_L)
    assert preview.speed == 1 and preview.audio._playing
    QTest.keyClick(view, Qt.Key.Key_L)
    assert preview.speed == 2 and not preview.audio._playing  # 2x: muted
    QTest.keyClick(view, Qt.Key.Key_K)
    QTest.keyClick(view, Qt.Key.Key_J)
    assert preview.speed == -1 and not preview.audio._playing  # backwards: muted
    QTest.keyClick(view, Qt.Key.Key_K)
    # a click on the ruler while paused: a short burst of the sound there
    x = int(view.view_x_of(48))
    QTest.mouseClick(view.ruler, Qt.MouseButton.LeftButton, pos=QPoint(x, 10))
    assert preview.frame == 48 and preview.speed == 0
    qtbot.waitUntil(lambda: preview.meter.levels_db[0] > -7.0, timeout=10_000)  # the tone (-6 dBFS) sounded
    assert not preview.audio._playing  # a burst, not playback
    # a fast scrub (a drag along the ruler): a burst at most every burst length, the last
    # position always among them
    ruler = view.ruler
    QTest.mousePress(ruler, Qt.MouseButton.LeftButton, pos=QPoint(int(view.view_x_of(60)), 10))
    for frame in range(61, 80):
        QTest.mouseMove(ruler, QPoint(int(view.view_x_of(frame)), 10))
    QTest.mouseRelease(ruler, Qt.MouseButton.LeftButton, pos=QPoint(int(view.view_x_of(79)), 10))
    assert preview.frame == 79
    qtbot.waitUntil(lambda: preview.audio._first_sample == 79 * SAMPLE_RATE // RATE, timeout=5_000)


def test_without_an_audio_device_the_pictures_play_on_the_wall_clock(qtbot, tmp_path):
    window = _window(qtbot, tmp_path, seconds=3.0)
    preview = window.preview
    preview.audio.device = None  # what a machine without sound output has
    QTest.keyClick(window.timeline.view, Qt.Key.Key_Space)
    assert window.statusBar().currentMessage() == NO_AUDIO_OUTPUT
    assert not preview.audio.sounding
    qtbot.waitUntil(lambda: preview.frame > 12, timeout=10_000)
    qtbot.waitUntil(lambda: preview.meter.levels_db[0] > -7.0, timeout=10_000)  # the meter still shows the mix
    QTest.keyClick(window.timeline.view, Qt.Key.Key_Space)
    window.statusBar().clearMessage()
    QTest.keyClick(window.timeline.view, Qt.Key.Key_Space)
    assert window.statusBar().currentMessage() == ""  # said once
    QTest.keyClick(window.timeline.view, Qt.Key.Key_Space)


def test_mute_and_solo_of_audio_tracks_change_what_plays(qtbot, tmp_path):
    from tests.editor.test_tracks import header_point

    loud = write_wav(tmp_path / "loud.wav", tone(30.0, 0.5))  # -6.02 dBFS
    quiet = write_wav(tmp_path / "quiet.wav", tone(30.0, 0.1))  # -20 dBFS, in phase with the loud one
    project = new_project(160, 96, RATE)
    edits.add_track(project, "audio", "A2")
    a1, a2 = project.timeline.tracks_of("audio")
    for ref_id, path, track in (("l", loud, a1), ("q", quiet, a2)):
        edits.add_media(project, MediaRef(ref_id, str(path), "audio"))
        edits.insert(project, track.id, Clip("c" + ref_id, 0, ref_id, FrameRange(0, 30 * RATE)))
    window = MainWindow(project, start_worker=False)
    qtbot.addWidget(window)
    window.resize(1280, 800)
    window.show()
    qtbot.waitExposed(window)
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow)
    window.timeline.view.setFocus()
    preview, headers = window.preview, window.timeline.headers
    names = {track.id: track.name for track in window.project.timeline.tracks}
    QTest.keyClick(window.timeline.view, Qt.Key.Key_Space)
    assert preview.speed == 1

    def level_near(db):
        return lambda: abs(preview.meter.levels_db[0] - db) < 0.4

    qtbot.waitUntil(level_near(-4.44), timeout=15_000)  # both: 0.6 of full scale
    QTest.mouseClick(headers, Qt.MouseButton.LeftButton, pos=header_point(window, names[a2.id], "solo"))
    assert [t.muted for t in window.project.timeline.tracks_of("audio")] == [True, False]
    qtbot.waitUntil(level_near(-20.0), timeout=15_000)  # the soloed quiet track alone
    QTest.mouseClick(headers, Qt.MouseButton.LeftButton, pos=header_point(window, names[a2.id], "muted"))
    qtbot.waitUntil(lambda: preview.meter.levels_db[0] < -59, timeout=15_000)  # both muted: silence
    QTest.keyClick(window.timeline.view, Qt.Key.Key_Space)


def test_an_output_that_stops_taking_sound_is_given_up_on(qtbot, tmp_path):
    from editor.preview.player import OUTPUT_STALLED

    window = _window(qtbot, tmp_path, seconds=20.0)
    preview = window.preview
    if not preview.audio.has_output:
        pytest.skip(NO_DEVICE)
    QTest.keyClick(window.timeline.view, Qt.Key.Key_Space)
    qtbot.waitUntil(lambda: preview.audio.sink.processedUSecs() > 0, timeout=10_000)
    preview.audio.sink.suspend()  # the device takes nothing more, as a hung output would
    qtbot.waitUntil(lambda: window.statusBar().currentMessage() == OUTPUT_STALLED, timeout=15_000)
    assert preview.speed == 1 and not preview.audio.sounding
    frame = preview.frame
    qtbot.waitUntil(lambda: preview.frame > frame + 12, timeout=10_000)  # the pictures go on, on the wall clock
    QTest.keyClick(window.timeline.view, Qt.Key.Key_Space)
