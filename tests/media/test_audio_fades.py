"""Clip fades and gain in the timeline mix and the export; fades in project files and edits."""

from __future__ import annotations

import av
import numpy as np
import pytest

from engine.errors import EditError
from engine.media.audio import AudioMixer
from engine.media.export import RenderSettings, export
from engine.model import edits
from engine.model.items import Clip, MediaRef, Still
from engine.model.project import Project, ProjectSettings, Timeline, Track
from engine.model.serialize import load_project, save_project
from engine.time import FrameRange, FrameRate
from tests.media.audio_factory import tone, write_wav

RATE = 24
SR = 48000


def _project(tmp_path, **clip_args) -> Project:
    wav = write_wav(tmp_path / "tone.wav", tone(2.0, 0.5))
    still = tmp_path / "grey.png"
    from PIL import Image

    Image.fromarray(np.full((96, 160, 3), 90, np.uint8)).save(still)
    refs = {"t": MediaRef("t", str(wav), "audio"), "g": MediaRef("g", str(still), "image")}
    return Project(settings=ProjectSettings(width=160, height=96, rate=FrameRate(RATE)), media=refs,
                   timeline=Timeline(tracks=[
                       Track("v", "video", items=(Still("s", 0, 48, "g"),)),
                       Track("a", "audio", items=(Clip("c", 0, "t", FrameRange(0, 48), **clip_args),))]))


def _envelope(samples: np.ndarray, window: int = 480) -> np.ndarray:
    """The peak level of each 10 ms of a mono signal."""
    usable = len(samples) // window * window
    return np.abs(samples[:usable]).reshape(-1, window).max(axis=1)


def test_fades_ramp_the_mix_from_and_to_silence(tmp_path):
    project = _project(tmp_path, fade_in=12, fade_out=6, gain_db=-6.0)
    mixer = AudioMixer(project)
    try:
        mixed = mixer.mix(FrameRange(0, 48))[0]
    finally:
        mixer.close()
    level = _envelope(mixed)  # 200 windows of 10 ms over 2 s
    full = 0.5 * 10 ** (-6 / 20)
    assert level[0] < 0.02 * full  # silence at the start
    assert abs(level[24] - full * 0.5) < 0.03 * full  # halfway through the 0.5 s fade-in (12 frames)
    assert np.all(np.diff(level[:50]) > 0)  # rising all the way
    assert np.allclose(level[52:170], full, rtol=0.01)  # between the fades: the gain alone
    assert level[-1] < 0.05 * full and level[-13] < level[-26]  # the 0.25 s fade-out falls to silence


def test_fades_change_the_exported_sound(tmp_path):
    plain, faded = _project(tmp_path), _project(tmp_path, fade_in=24)
    export(plain, tmp_path / "plain.mp4", RenderSettings(preset="ultrafast"))
    export(faded, tmp_path / "faded.mp4", RenderSettings(preset="ultrafast"))

    def levels(path):
        with av.open(str(path)) as container:
            return _envelope(np.concatenate([f.to_ndarray() for f in container.decode(audio=0)], axis=1)[0])

    plain_level, faded_level = levels(tmp_path / "plain.mp4"), levels(tmp_path / "faded.mp4")
    assert plain_level[5] > 0.45  # without a fade the tone starts at once
    assert faded_level[3] < 0.05  # with one: silence at the start...
    assert 0.15 < faded_level[50] < 0.35  # ...half level halfway through the 1 s fade...
    assert faded_level[120] > 0.45  # ...and the whole tone after it
    assert np.mean(np.diff(faded_level[2:98]) > 0) > 0.9  # ramping up


def test_fades_are_saved_and_edited(tmp_path):
    project = _project(tmp_path)
    inverse = edits.set_clip_audio(project, "c", fade_in=10, fade_out=5, gain_db=3.0)
    clip = project.timeline.find("c")[1]
    assert (clip.fade_in, clip.fade_out, clip.gain_db) == (10, 5, 3.0)
    save_project(project, tmp_path / "p.kinora")
    assert load_project(tmp_path / "p.kinora").timeline.find("c")[1] == clip
    edits.apply(project, inverse)
    assert project.timeline.find("c")[1].fade_in == 0
    with pytest.raises(EditError, match="do not fit"):
        edits.set_clip_audio(project, "c", fade_in=40, fade_out=10)
    with pytest.raises(EditError, match="outside"):
        edits.set_clip_audio(project, "c", gain_db=40)
    edits.set_clip_audio(project, "c", fade_in=10, fade_out=5)
    edits.split(project, "c", 20, new_item_id="right")
    left, right = project.timeline.find("c")[1], project.timeline.find("right")[1]
    assert (left.fade_in, left.fade_out, right.fade_in, right.fade_out) == (10, 0, 0, 5)
    # a clip trimmed shorter than its fades: a gain change shortens the kept fades to fit
    edits.trim_end(project, "c", 6)
    edits.set_clip_audio(project, "c", gain_db=-2.0)
    trimmed = project.timeline.find("c")[1]
    assert (trimmed.range.duration, trimmed.fade_in, trimmed.fade_out, trimmed.gain_db) == (6, 6, 0, -2.0)
