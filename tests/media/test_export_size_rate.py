"""An export at its own size and frame rate, and in the project's colour space: the file's
stream says so, and its pictures and sound are the project's at that size and time."""

from __future__ import annotations

import dataclasses
from fractions import Fraction

import av
import numpy as np
import pytest

from engine.errors import UserError
from engine.media.compositor import render_frame
from engine.media.export import RenderSettings, export, fitted_size, output_frames
from engine.time import FrameRange, FrameRate
from tests.media.test_export import RATE, first_click_seconds, one_clip_project, psnr
from tests.media.test_export import flash_mp4 as flash_mp4_fixture

flash_mp4 = flash_mp4_fixture  # the module-scoped source video, a fixture of this module too


def stream_facts(path):
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        pictures = [frame.to_ndarray(format="rgb24") for frame in container.decode(stream)]
        context = stream.codec_context
        return (stream.width, stream.height, stream.average_rate, len(pictures),
                (context.color_primaries, context.color_trc, context.colorspace)), pictures


def test_half_size_export_is_the_project_scaled_down(flash_mp4, tmp_path):
    project = one_clip_project(flash_mp4, source=FrameRange(0, 24))
    out = tmp_path / "half.mp4"
    export(project, out, RenderSettings(crf=8, preset="ultrafast", size=(80, 48)))
    (width, height, rate, count, _), pictures = stream_facts(out)
    assert (width, height, rate, count) == (80, 48, Fraction(RATE), 24)
    for frame in (0, 11, 23):
        full = render_frame(project, frame).astype(np.float32)
        halved = full.reshape(48, 2, 80, 2, 3).mean(axis=(1, 3))  # what an area scale computes
        assert psnr(pictures[frame], halved) > 30.0


@pytest.mark.parametrize("output_rate,expected_frames", [(12, 24), (60, 120), ("30000/1001", 60)])
def test_another_rate_shows_the_frame_on_screen_at_each_time(flash_mp4, tmp_path, output_rate, expected_frames):
    project = one_clip_project(flash_mp4)  # 48 frames at 24 fps; the flash and the click at frame 30
    out = tmp_path / "rate.mp4"
    rate = FrameRate.parse(output_rate)
    export(project, out, RenderSettings(crf=8, preset="ultrafast", rate=rate))
    (width, height, stream_rate, count, _), pictures = stream_facts(out)
    assert (width, height, stream_rate, count) == (160, 96, rate.fps, expected_frames)
    flashes = [i for i, p in enumerate(pictures) if p.mean() > 240]
    # the flash is on screen from 30/24 s to 31/24 s: the output frames whose time falls in it
    assert flashes == [i for i in range(count) if Fraction(30, 24) <= i / rate.fps < Fraction(31, 24)]
    assert abs(first_click_seconds(out) - 30 / RATE) < 1 / RATE  # the sound is where it was


def test_output_frames_cover_the_range_duration():
    assert output_frames(FrameRange(10, 14), Fraction(24), Fraction(24)) == [10, 11, 12, 13]
    assert output_frames(FrameRange(0, 5), Fraction(24), Fraction(12)) == [0, 2, 4]
    assert output_frames(FrameRange(0, 2), Fraction(24), Fraction(60)) == [0, 0, 0, 1, 1]


def test_another_aspect_is_fitted_between_black_bars(flash_mp4, tmp_path):
    project = one_clip_project(flash_mp4, source=FrameRange(0, 4))  # 160x96, 5:3
    assert fitted_size((160, 96), (96, 96)) == (96, 58)
    assert fitted_size((1280, 720), (1919, 1080)) == (1919, 1080)  # a pixel off: stretched, no bar
    out = tmp_path / "square.mp4"
    export(project, out, RenderSettings(crf=8, preset="ultrafast", size=(96, 96)))
    (width, height, _, _, _), pictures = stream_facts(out)
    assert (width, height) == (96, 96)
    bar = (96 - 58) // 2
    assert pictures[1][:bar - 2].max() < 24 and pictures[1][-(bar - 2):].max() < 24
    assert pictures[1][bar + 2:96 - bar - 2].mean() > 40


def test_the_project_colour_space_is_converted_and_tagged(flash_mp4, tmp_path):
    project = one_clip_project(flash_mp4, source=FrameRange(0, 4))
    project.settings = dataclasses.replace(project.settings, color_space="bt601")
    out = tmp_path / "sd.mp4"
    export(project, out, RenderSettings(crf=8, preset="ultrafast"))
    (_, _, _, _, tags), pictures = stream_facts(out)
    assert tags == (6, 6, 6)
    with av.open(str(out)) as container:  # decoded with the matrix it is tagged with: the same colours
        frame = next(container.decode(video=0))
        assert psnr(frame.to_ndarray(format="rgb24", src_colorspace="SMPTE170M"), render_frame(project, 0)) > 34
        assert psnr(frame.to_ndarray(format="rgb24", src_colorspace="ITU709"), render_frame(project, 0)) < \
            psnr(frame.to_ndarray(format="rgb24", src_colorspace="SMPTE170M"), render_frame(project, 0))


def test_a_bad_export_size_is_one_clear_message(flash_mp4, tmp_path):
    project = one_clip_project(flash_mp4, source=FrameRange(0, 4))
    with pytest.raises(UserError, match="export size 0x96"):
        export(project, tmp_path / "bad.mp4", RenderSettings(size=(0, 96)))
    assert not (tmp_path / "bad.mp4").exists()


def test_kinora_render_takes_a_size_and_a_rate(flash_mp4, tmp_path):
    import subprocess
    import sys

    from engine.model.serialize import save_project

    project = one_clip_project(flash_mp4, source=FrameRange(0, 24))
    save_project(project, tmp_path / "p.kinora")
    repo = __file__.rsplit("/tests/", 1)[0]

    def render(*args):
        return subprocess.run([sys.executable, "-m", "engine.cli", "render", str(tmp_path / "p.kinora"), "--quiet",
                               "--preset", "ultrafast", *args], capture_output=True, text=True, cwd=repo, timeout=120)

    done = render("-o", str(tmp_path / "out.mp4"), "--size", "80x48", "--fps", "12")
    assert done.returncode == 0, done.stderr
    (width, height, rate, count, _), _ = stream_facts(tmp_path / "out.mp4")
    assert (width, height, rate, count) == (80, 48, 12, 12)
    bad = render("-o", str(tmp_path / "bad.mp4"), "--size", "wide")
    assert bad.returncode == 2 and "--size 'wide' is not a size" in bad.stderr
    bad = render("-o", str(tmp_path / "bad.mp4"), "--fps", "0")
    assert bad.returncode == 2 and "--fps '0' is not a frame rate" in bad.stderr
