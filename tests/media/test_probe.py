"""Probing real files the test makes, and every kind of bad input."""

from __future__ import annotations

import os
from fractions import Fraction

import numpy as np
import pytest

from engine.errors import MediaError
from engine.media.probe import probe, probe_in_process
from tests.media.conftest import gradient_pictures
from tests.media.media_factory import ffmpeg, write_video


def test_constant_rate_video_with_audio(media_dir):
    path = media_dir / "probe_av.mp4"
    audio = np.zeros((2, 48000), np.float32)
    write_video(path, gradient_pictures(45, 160, 90), rate=Fraction(30000, 1001), audio=audio)
    info = probe(path)
    assert info.kind == "video" and info.codec == "h264"
    assert (info.width, info.height) == (160, 90)
    assert info.rate == Fraction(30000, 1001) and not info.variable_rate
    assert info.num_frames == 45
    assert info.pixel_format == "yuv420p" and info.bit_depth == 8 and not info.has_alpha
    assert [(a.sample_rate, a.channels) for a in info.audio] == [(48000, 2)]
    assert info.to_json()["rate"] == "30000/1001"


def test_variable_frame_rate_is_detected(vfr_mp4):
    path, pts_ms = vfr_mp4
    info = probe(path)
    assert info.variable_rate
    assert info.num_frames == len(pts_ms)
    span = Fraction(pts_ms[-1] + 33, 1000)
    assert abs(float(info.rate) - len(pts_ms) / float(span)) < 2.0


def test_rotated_video_reports_display_size(media_dir):
    path = media_dir / "probe_rot.mp4"
    write_video(path, gradient_pictures(3, 96, 64), rotation=270)
    info = probe(path)
    assert info.rotation == 270
    assert (info.width, info.height, info.coded_width, info.coded_height) == (64, 96, 96, 64)


def test_ten_bit_hevc_and_prores_alpha(media_dir):
    hevc = media_dir / "probe10.mp4"
    ffmpeg("-f", "lavfi", "-i", "testsrc2=size=854x480:rate=24:duration=0.5", "-c:v", "libx265",
           "-pix_fmt", "yuv420p10le", "-x265-params", "log-level=error", hevc)
    info = probe(hevc)
    assert (info.codec, info.bit_depth, info.width, info.height) == ("hevc", 10, 854, 480)
    assert info.rate == 24 and info.num_frames == 12
    prores = media_dir / "probe_alpha.mov"
    write_video(prores, [np.zeros((32, 48, 4), np.uint8)] * 2, codec="prores_ks", pix_fmt="yuva444p10le",
                input_format="rgba", options={"profile": "4"})
    info = probe(prores)
    assert info.codec == "prores" and info.has_alpha and info.bit_depth >= 10  # decoded as 12-bit


def test_audio_only_file(media_dir):
    path = media_dir / "tone.wav"
    ffmpeg("-f", "lavfi", "-i", "sine=frequency=440:sample_rate=44100:duration=1", "-ac", "1", path)
    info = probe(path)
    assert info.kind == "audio" and info.audio[0].sample_rate == 44100 and info.audio[0].channels == 1
    assert abs(info.duration_s - 1.0) < 0.05


def _message(path) -> str:
    with pytest.raises(MediaError) as caught:
        probe(path)
    message = str(caught.value)
    assert str(path) in message and "\n" not in message
    return message


def test_bad_inputs_give_one_clear_message(media_dir, tmp_path):
    empty = tmp_path / "empty.mp4"
    empty.write_bytes(b"")
    assert "empty" in _message(empty)
    text = tmp_path / "notes.mp4"
    text.write_text("this is a shopping list, not a video\n" * 20)
    assert "not a video" in _message(text)
    assert "not found" in _message(tmp_path / "gone.mov")
    assert "folder" in _message(tmp_path)


def test_truncated_files_fail_alone(media_dir, tmp_path):
    whole = media_dir / "probe_av.mp4"
    if not whole.exists():
        write_video(whole, gradient_pictures(45, 160, 90))
    data = whole.read_bytes()
    head = tmp_path / "head.mp4"  # the index (moov) is at the end: cut off
    head.write_bytes(data[: len(data) // 3])
    assert "re-encode" in _message(head) or "convert" in _message(head)
    # A raw H.264 stream cut mid-picture is the classic decoder crasher; the child takes any fall.
    raw = tmp_path / "cut.h264"
    ffmpeg("-f", "lavfi", "-i", "testsrc2=size=320x240:rate=30:duration=1", "-c:v", "libx264", "-f", "h264", raw)
    raw_data = raw.read_bytes()
    raw.write_bytes(raw_data[: len(raw_data) // 2 + 37])
    try:
        info = probe(raw)
    except MediaError as error:
        assert str(raw) in str(error)
    else:
        assert info.kind == "video" and 0 < info.num_frames < 30


def test_unsupported_codec(tmp_path):
    known = tmp_path / "known.mkv"
    ffmpeg("-f", "lavfi", "-i", "testsrc=size=64x48:rate=5:duration=1", "-c:v", "libx264", known)
    data = known.read_bytes()
    assert data.count(b"V_MPEG4/ISO/AVC") == 1
    unknown = tmp_path / "unknown.mkv"
    unknown.write_bytes(data.replace(b"V_MPEG4/ISO/AVC", b"V_KINORA/NOPE!!"))  # a codec no FFmpeg has
    message = _message(unknown)
    assert "not supported" in message and "convert" in message


def test_a_hanging_read_is_cut_off_by_the_time_limit(media_dir):
    path = media_dir / "probe_av.mp4"
    if not path.exists():
        write_video(path, gradient_pictures(45, 160, 90))
    with pytest.raises(MediaError, match="longer than"):
        probe(path, timeout_s=0.01)  # no Python can even start in 10 ms: the child is killed


def test_probe_child_survives_unreadable_files(tmp_path):
    # probe_in_process raises; the child turns any failure into an answer, never a traceback.
    bad = tmp_path / "bad.mov"
    bad.write_bytes(os.urandom(4096))
    with pytest.raises(MediaError):
        probe_in_process(bad)
    assert str(bad) in _message(bad)


def test_ntsc_rate_in_millisecond_timestamps_snaps_to_the_exact_fraction(media_dir):
    from tests.media.media_factory import index_video

    path = index_video(media_dir / "ntsc.mkv", 60, rate=Fraction(30000, 1001))  # Matroska: 1/1000 s ticks
    info = probe(path)
    assert info.rate == Fraction(30000, 1001) and not info.variable_rate and info.num_frames == 60
