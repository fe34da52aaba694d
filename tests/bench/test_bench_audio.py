"""Sound in the editor: timeline frame times with 2,000 clips on 8 tracks all showing
waveforms, and how closely the preview's pictures follow the audio sink over a minute.

Run: QT_QPA_PLATFORM=offscreen .venv/bin/python -m pytest -q -s tests/bench/test_bench_audio.py
Targets: median repaint, scroll and zoom frame <= 16 ms with waveforms (the same view without
waveforms, measured in the same run, is printed beside it as the reference); pictures within
one frame of the sound at every check over 60 s of play (needs an audio device, or PulseAudio
for the private null sink tests/conftest.py starts).
"""

from __future__ import annotations

import numpy as np
import pytest

from engine.model.items import Clip, MediaRef, new_id
from engine.model.project import Project, ProjectSettings, Timeline, Track
from engine.time import FrameRange, FrameRate
from tests.bench.test_bench_editor import _frame_times
from tests.media.audio_factory import tone, write_wav
from tests.media.media_factory import write_video

RATE = 24


def _sound(seconds: float) -> np.ndarray:
    """A tone that swells and fades every second: a waveform with some shape to draw."""
    samples = tone(seconds, 0.8, 220.0)
    t = np.arange(samples.shape[1]) / 48000
    return (samples * np.abs(np.sin(np.pi * t))).astype(np.float32)


def _project(tmp_path, per_track: int = 250) -> Project:
    rate = FrameRate(RATE)
    wav = write_wav(tmp_path / "long.wav", _sound(40.0))
    pictures = [np.full((36, 64, 3), 40 + i, np.uint8) for i in range(48)]
    mp4 = write_video(tmp_path / "sound.mp4", pictures, rate=RATE, audio=_sound(2.0))
    audio = MediaRef(new_id(), str(wav), "audio")
    video = MediaRef(new_id(), str(mp4), "video", num_frames=48, rate=rate, width=64, height=36, has_audio=True)
    tracks = [Track(new_id(), "video", f"V{n}", tuple(Clip(new_id(), i * 30, video.id, FrameRange(0, 28))
                                                      for i in range(per_track))) for n in (2, 1)]
    tracks += [Track(new_id(), "audio", f"A{n}", tuple(Clip(new_id(), i * 30, audio.id, FrameRange(i, i + 28),
                                                            fade_in=5, fade_out=5)
                                                       for i in range(per_track))) for n in range(1, 7)]
    return Project(settings=ProjectSettings(640, 360, rate), media={audio.id: audio, video.id: video},
                   timeline=Timeline(tracks=tracks))


def _zoom_to_new_levels(window) -> float:
    """Median frame of zooming to a level not shown before (nothing drawn at that size is kept)."""
    from tests.bench.test_bench_editor import _median_ms

    view = window.timeline.view
    levels = iter(2.0 * 1.013 ** (k + 1) for k in range(1000))  # never the same width twice
    return _median_ms(lambda: (view.set_zoom(next(levels), 0), view.viewport().repaint()))


def test_bench_timeline_frames_with_2000_waveforms(qtbot, tmp_path):
    from editor.main_window import MainWindow
    from editor.timeline.graphics import PICTURES

    window = MainWindow(_project(tmp_path), start_worker=False)
    qtbot.addWidget(window)
    window.resize(1600, 960)
    window.show()
    qtbot.waitExposed(window)
    view = window.timeline.view
    view.set_zoom(2.0, 0)
    qtbot.waitUntil(lambda: all(g.waveform is not None for g in view.graphics.values()), timeout=60_000)
    figures = {}
    PICTURES.enabled = False  # every block drawn on every frame: the reference for the kept pictures
    figures["drawn each frame"] = _frame_times(window)
    view.set_zoom(2.0, 0)
    PICTURES.enabled = True
    figures["with waveforms"] = _frame_times(window)
    figures["with waveforms"]["zoom, new level"] = _zoom_to_new_levels(window)
    view.set_zoom(2.0, 0)
    for graphic in view.graphics.values():
        graphic.set_waveform(None, None)
    figures["without waveforms"] = _frame_times(window)
    window.close()
    print("\ntimeline frame times, 2,000 clips on 8 tracks, median ms (target with waveforms <= 16)")
    print(f"  {'':16s} {'with waveforms':>15s} {'without':>9s} {'drawn each frame':>17s} {'ratio to that':>14s}")
    for kind in ("repaint", "scroll", "zoom", "zoom, new level"):
        full = figures["with waveforms"][kind]
        plain = figures["without waveforms"].get(kind, float("nan"))
        drawn = figures["drawn each frame"].get(kind, float("nan"))
        print(f"  {kind:16s} {full:12.2f} ms {plain:6.2f} ms {drawn:14.2f} ms {full / drawn:14.2f}")


def test_bench_pictures_follow_the_sound_over_a_minute(qtbot, tmp_path):
    from editor.main_window import MainWindow
    from editor.preview.audio_playback import SAMPLE_RATE
    from engine.model.edits import add_media, insert
    from engine.model.project import new_project

    wav = write_wav(tmp_path / "minute.wav", tone(66.0, 0.3))
    project = new_project(160, 96, RATE)
    add_media(project, MediaRef("t", str(wav), "audio"))
    insert(project, project.timeline.tracks_of("audio")[0].id, Clip("c", 0, "t", FrameRange(0, 66 * RATE)))
    window = MainWindow(project, start_worker=False)
    qtbot.addWidget(window)
    window.show()
    qtbot.waitExposed(window)
    preview = window.preview
    if not preview.audio.has_output:
        pytest.skip("no audio output device")
    preview.play(1)
    qtbot.waitUntil(lambda: preview.audio.sink.processedUSecs() > 0, timeout=10_000)
    offsets = []
    while preview.audio.sink.processedUSecs() < 60_000_000:
        qtbot.wait(100)
        heard = preview.audio.position_sample() * RATE / SAMPLE_RATE
        offsets.append(preview.frame - int(heard))  # frames between the one shown and the one heard
    underruns = preview.audio.underruns
    preview.pause()
    offsets = np.abs(offsets)
    print(f"\npictures vs sound over 60 s of play, {len(offsets)} checks: median {np.median(offsets):.2f} frames, "
          f"worst {offsets.max():.2f} frames; sink underruns {underruns}")
    assert offsets.max() <= 1
