"""Waveform peaks: computed from the file's sound, cached on disk by its content."""

from __future__ import annotations

import os
import shutil

import numpy as np
import pytest

from engine.errors import MediaError
from engine.media import waveform as waveform_module
from engine.media.waveform import PEAKS_PER_SECOND, waveform
from tests.media.audio_factory import tone, write_wav
from tests.media.media_factory import index_video


def test_peaks_match_a_tone_and_its_silence(tmp_path):
    sound = np.concatenate([tone(1.0, 0.5), np.zeros((2, 24000), np.float32), tone(1.0, 0.25)], axis=1)
    wav = write_wav(tmp_path / "tone.wav", sound)
    wave = waveform(str(wav))
    assert not wave.from_cache
    assert wave.sample_rate == 48000 and abs(wave.peaks_per_second - PEAKS_PER_SECOND) < 1e-9
    assert len(wave.peaks) == 250  # 2.5 s at 100 peaks a second
    loud, silent, quiet = wave.peaks[:100], wave.peaks[100:150], wave.peaks[150:]
    assert np.allclose(loud, 0.5, atol=0.005)
    assert silent.max() < 1e-6
    assert np.allclose(quiet, 0.25, atol=0.005)
    # a slice by source seconds
    assert np.allclose(wave.peaks_between(1.0, 1.5), silent)


def test_second_request_is_read_from_the_cache_by_content(tmp_path):
    wav = write_wav(tmp_path / "tone.wav", tone(0.5, 0.3))
    first = waveform(str(wav))
    entries = os.listdir(waveform_module.cache_dir())
    assert len(entries) == 1
    again = waveform(str(wav))
    assert again.from_cache and np.allclose(again.peaks, first.peaks, atol=1e-3)
    moved = shutil.copy(wav, tmp_path / "renamed.wav")  # same content, another name: the same entry
    assert waveform(str(moved)).from_cache
    other = write_wav(tmp_path / "other.wav", tone(0.5, 0.9))
    changed = waveform(str(other))
    assert not changed.from_cache and np.allclose(changed.peaks, 0.9, atol=0.01)
    assert len(os.listdir(waveform_module.cache_dir())) == 2


def test_video_with_sound_has_a_waveform_and_one_without_sound_is_a_clear_error(tmp_path):
    from tests.media.media_factory import write_video

    pictures = [np.full((32, 32, 3), 100, np.uint8)] * 24
    with_sound = write_video(tmp_path / "sound.mp4", pictures, rate=24, audio=tone(1.0, 0.4))
    wave = waveform(str(with_sound))
    assert 0.35 < float(np.median(wave.peaks[10:90])) < 0.45  # AAC keeps the level
    silent = index_video(tmp_path / "silent.mp4", 12)
    with pytest.raises(MediaError, match="silent.mp4.*no audio stream"):
        waveform(str(silent))
