"""The mix read block after block (as the preview plays it) is the mix read at once, whether
the reads go on from the last one or seek (a jump back, a jump far ahead)."""

from __future__ import annotations

import numpy as np
import pytest

from engine.media.audio import AudioMixer
from engine.model import edits
from engine.model.items import Clip, MediaRef
from engine.model.project import new_project
from engine.time import FrameRange, FrameRate
from tests.media.audio_factory import write_wav
from tests.media.media_factory import write_video


def _sweep(seconds: float) -> np.ndarray:
    t = np.arange(round(seconds * 48000)) / 48000
    wave = (0.5 * np.sin(2 * np.pi * (200 + 300 * t) * t)).astype(np.float32)  # a rising pitch: no two blocks alike
    return np.stack([wave, -wave])


@pytest.mark.parametrize("container", ["wav", "mp4"])
def test_blocks_read_on_match_one_read(tmp_path, container):
    project = new_project(64, 36, 24)
    if container == "wav":
        path = write_wav(tmp_path / "sweep.wav", _sweep(6.0))
        ref = MediaRef("s", str(path), "audio")
        track = project.timeline.tracks_of("audio")[0]
    else:
        path = write_video(tmp_path / "sweep.mp4", [np.zeros((36, 64, 3), np.uint8)] * 144, rate=24, audio=_sweep(6.0))
        ref = MediaRef("s", str(path), "video", num_frames=144, rate=FrameRate(24), width=64, height=36, has_audio=True)
        track = project.timeline.tracks_of("video")[0]
    edits.add_media(project, ref)
    edits.insert(project, track.id, Clip("c", 12, "s", FrameRange(6, 120)))  # starts 0.5 s in, from 0.25 s of the file
    whole = AudioMixer(project)
    blocks = AudioMixer(project)
    try:
        expected = whole.mix_samples(0, 48000 * 5)
        read = np.concatenate([blocks.mix_samples(first, first + 2048) for first in range(0, 48000 * 5, 2048)],
                              axis=1)[:, :48000 * 5]
        tolerance = 0 if container == "wav" else 1e-4  # the AAC decoder's state differs after a seek
        assert np.abs(read - expected).max() <= tolerance
        assert np.abs(expected[:, 30000:]).max() > 0.45  # sound, not silence, was compared
        # a jump back and a jump far ahead seek, and read the same samples
        assert np.abs(blocks.mix_samples(30000, 34096) - expected[:, 30000:34096]).max() <= tolerance
        assert np.abs(blocks.mix_samples(200000, 204096) - expected[:, 200000:204096]).max() <= tolerance
    finally:
        whole.close()
        blocks.close()
