"""Export round trips: render, decode the file back, compare with the compositor."""

from __future__ import annotations

import json
import os
from fractions import Fraction

import av
import numpy as np
import pytest

from engine.errors import UserError
from engine.media.compositor import render_frame
from engine.media.decode import VideoReader
from engine.media.export import RenderSettings, export
from engine.media.probe import probe_in_process
from engine.model.curves import Curve
from engine.model.items import Clip, MediaRef, Still
from engine.model.project import Project, ProjectSettings, Timeline, Track
from engine.progress import CancelToken, JobCancelled
from engine.time import FrameRange, FrameRate
from tests.media.conftest import gradient_pictures
from tests.media.media_factory import write_video

RATE = 24
SAMPLE_RATE = 48000


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2)
    return float("inf") if mse == 0 else 10 * np.log10(255.0**2 / mse)


def flash_source(path, count=48, flash_at=30, width=160, height=96, rate=RATE):
    """Smooth pictures with a white flash at `flash_at`, and a click in the sound at the same time."""
    pictures = gradient_pictures(count, width, height)
    pictures[flash_at][:] = 255
    samples = np.zeros((2, count * SAMPLE_RATE // rate), np.float32)
    click = flash_at * SAMPLE_RATE // rate
    samples[:, click:click + 400] = 0.8
    return write_video(path, pictures, rate=rate, audio=samples, options={"crf": "8"})


WHOLE = FrameRange(0, 48)


def one_clip_project(ref: MediaRef, start=0, source=WHOLE, width=160, height=96, **clip_args):
    clip = Clip("c", start, ref.id, source, **clip_args)
    return Project(settings=ProjectSettings(width=width, height=height, rate=FrameRate(RATE)),
                   media={ref.id: ref},
                   timeline=Timeline(tracks=[Track("v", "video", items=(clip,)), Track("a", "audio")]))


@pytest.fixture(scope="module")
def flash_mp4(tmp_path_factory):
    path = flash_source(tmp_path_factory.mktemp("export") / "flash.mp4")
    return MediaRef("m", str(path), "video", 48, FrameRate(RATE), 160, 96, has_audio=True)


def first_flash_frame(path) -> int:
    with av.open(str(path)) as container:
        for i, frame in enumerate(container.decode(video=0)):
            if frame.to_ndarray(format="gray").mean() > 240:
                return i
    raise AssertionError("no flash in the export")


def first_click_seconds(path) -> float:
    with av.open(str(path)) as container:
        stream = container.streams.audio[0]
        chunks = []
        for frame in container.decode(stream):
            chunks.append(frame.to_ndarray().reshape(frame.layout.nb_channels if frame.format.is_planar else 1, -1))
        samples = np.concatenate(chunks, axis=1)[0]
        onset = int(np.argmax(np.abs(samples) > 0.4))
        start = float(stream.start_time * stream.time_base) if stream.start_time else 0.0
        return onset / stream.sample_rate + start


def test_h264_round_trip_is_faithful_and_in_sync(flash_mp4, tmp_path):
    # The clip starts 5 frames into the timeline and 6 frames into its media.
    project = one_clip_project(flash_mp4, start=5, source=FrameRange(6, 46))
    out = tmp_path / "out.mp4"
    progress = []
    export(project, out, RenderSettings(crf=6, preset="fast"), on_progress=progress.append)
    assert [p.step for p in progress] == list(range(1, 46)) and progress[-1].fraction == 1.0
    info = probe_in_process(out)
    assert (info.codec, info.num_frames, info.width, info.height) == ("h264", 45, 160, 96)
    assert info.audio and info.audio[0].codec == "aac"
    with VideoReader(str(out), FrameRate(RATE)) as reader:
        scores = [psnr(reader.rgb(f), render_frame(project, f)) for f in range(45)]
    assert min(scores) >= 40.0, scores
    flash = first_flash_frame(out)
    assert flash == 5 + (30 - 6)
    assert abs(first_click_seconds(out) - flash / RATE) < 1 / RATE


def test_colour_tags_and_provenance(flash_mp4, tmp_path):
    generated = {"model": "kinora-toy-1", "seed": 1234, "prompts": ["a red kite"]}
    project = one_clip_project(flash_mp4, start=0, source=FrameRange(0, 20), generation=generated)
    out = tmp_path / "tagged.mp4"
    export(project, out, RenderSettings(frame_range=FrameRange(4, 16), preset="ultrafast"))
    with av.open(str(out)) as container:
        tag = json.loads(container.metadata["comment"])
        context = container.streams.video[0].codec_context
        tags = (context.color_primaries, context.color_trc, context.colorspace)
        frames = container.streams.video[0].frames
    assert tag["generator"] == "Kinora" and tag["version"]
    assert tag["generated"] == [{"frames": [0, 12], "model": "kinora-toy-1", "seed": 1234}]
    assert tags == (1, 1, 1) and frames == 12


def test_odd_project_size_gives_even_h264(flash_mp4, tmp_path):
    project = one_clip_project(flash_mp4, source=FrameRange(0, 6), width=853, height=481)
    out = tmp_path / "odd.mp4"
    export(project, out, RenderSettings(preset="ultrafast"))
    info = probe_in_process(out)
    assert (info.width, info.height, info.pixel_format) == (852, 480, "yuv420p")


@pytest.mark.parametrize("codec,suffix,video_codec,audio_codec", [
    ("h265", ".mp4", "hevc", "aac"),
    ("vp9", ".webm", "vp9", "opus"),
    ("av1", ".mkv", "av1", "opus"),
    ("gif", ".gif", "gif", None),
])
def test_other_codecs(flash_mp4, tmp_path, codec, suffix, video_codec, audio_codec):
    project = one_clip_project(flash_mp4, source=FrameRange(0, 8))
    out = tmp_path / f"out{suffix}"
    export(project, out, RenderSettings(codec=codec, preset="ultrafast"))
    info = probe_in_process(out)
    assert info.codec == video_codec and info.num_frames == 8
    assert [a.codec for a in info.audio] == ([audio_codec] if audio_codec else [])
    with VideoReader(str(out), FrameRate(RATE)) as reader:
        threshold = 18.0 if codec == "gif" else 30.0  # GIF: a fixed 256-colour palette
        assert psnr(reader.rgb(3), render_frame(project, 3)) > threshold


def test_prores_4444_keeps_the_transparent_canvas(tmp_path):
    from PIL import Image

    logo = np.zeros((48, 40, 4), np.uint8)
    logo[..., 2] = 230
    logo[..., 3] = 255
    Image.fromarray(logo, "RGBA").save(tmp_path / "logo.png")
    ref = MediaRef("l", str(tmp_path / "logo.png"), "image")
    project = Project(settings=ProjectSettings(width=96, height=48, rate=FrameRate(RATE)), media={"l": ref},
                      timeline=Timeline(tracks=[Track("v", "video", items=(Still("s", 0, 3, "l"),))]))
    out = tmp_path / "alpha.mov"
    export(project, out, RenderSettings(codec="prores"))
    with VideoReader(str(out), FrameRate(RATE)) as reader:
        assert reader.has_alpha
        pixels = reader.rgba(1)
    assert pixels[24, 5, 3] <= 2 and pixels[24, 48, 3] >= 253  # side bars clear, the logo opaque
    assert abs(int(pixels[24, 48, 2]) - 230) <= 3


def test_audio_track_clips_are_resampled_and_mixed_with_gain(tmp_path):
    # A 44.1 kHz mono file: the export resamples it to 48 kHz stereo.
    wav_rate = 44100
    tone = (np.sin(2 * np.pi * 300 * np.arange(wav_rate) / wav_rate) * 0.5).astype(np.float32)[None, :]
    wav = tmp_path / "tone.wav"
    with av.open(str(wav), "w") as container:
        stream = container.add_stream("pcm_f32le", rate=wav_rate)
        stream.layout = "mono"
        frame = av.AudioFrame.from_ndarray(tone, format="flt", layout="mono")
        frame.sample_rate = wav_rate
        for packet in stream.encode(frame):
            container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    still = tmp_path / "grey.png"
    from PIL import Image

    Image.fromarray(np.full((96, 160, 3), 90, np.uint8)).save(still)
    refs = {"t": MediaRef("t", str(wav), "audio"), "g": MediaRef("g", str(still), "image")}
    project = Project(
        settings=ProjectSettings(width=160, height=96, rate=FrameRate(RATE)), media=refs,
        timeline=Timeline(tracks=[
            Track("v", "video", items=(Still("s", 0, 24, "g"),)),
            Track("a", "audio", items=(Clip("c", 12, "t", FrameRange(0, 12), gain_db=-6.0),)),
        ]))
    out = tmp_path / "mixed.mp4"
    export(project, out, RenderSettings(preset="ultrafast"))
    with av.open(str(out)) as container:
        samples = np.concatenate([f.to_ndarray() for f in container.decode(audio=0)], axis=1)[0]
    silent, sounding = samples[2000:20000], samples[26000:44000]
    assert np.abs(silent).max() < 0.01
    expected_peak = 0.5 * 10 ** (-6 / 20)
    assert abs(np.abs(sounding).max() - expected_peak) < 0.05
    spectrum = np.abs(np.fft.rfft(sounding * np.hanning(len(sounding))))
    assert abs(np.argmax(spectrum) * SAMPLE_RATE / len(sounding) - 300) < 5  # pitch kept: resampled right
    muted = Project(settings=project.settings, media=refs, timeline=Timeline(tracks=[
        project.timeline.tracks[0], Track("a", "audio", items=project.timeline.tracks[1].items, muted=True)]))
    export(muted, tmp_path / "muted.mp4", RenderSettings(preset="ultrafast"))
    assert probe_in_process(tmp_path / "muted.mp4").audio == ()


def test_cancel_leaves_the_old_file_and_no_partial_file(flash_mp4, tmp_path):
    out = tmp_path / "keep.mp4"
    out.write_bytes(b"the previous export")
    project = one_clip_project(flash_mp4)
    token = CancelToken()

    def cancel_after_ten_frames(progress):
        if progress.step == 10:
            token.cancel("user pressed cancel")

    with pytest.raises(JobCancelled, match="user pressed cancel"):
        export(project, out, RenderSettings(preset="ultrafast"), on_progress=cancel_after_ten_frames,
               check_cancel=token.check)
    assert out.read_bytes() == b"the previous export"
    assert sorted(os.listdir(tmp_path)) == ["keep.mp4"]


def test_refuses_to_overwrite_an_input(flash_mp4, tmp_path):
    project = one_clip_project(flash_mp4)
    before = os.path.getsize(flash_mp4.path)
    with pytest.raises(UserError, match="own files"):
        export(project, flash_mp4.path, RenderSettings(preset="ultrafast"))
    assert os.path.getsize(flash_mp4.path) == before


def test_bad_settings_are_user_errors(flash_mp4, tmp_path):
    project = one_clip_project(flash_mp4)
    with pytest.raises(UserError, match="prores cannot be written to a .mp4"):
        export(project, tmp_path / "x.mp4", RenderSettings(codec="prores"))
    with pytest.raises(UserError, match="unknown output type .avi"):
        export(project, tmp_path / "x.avi")
    with pytest.raises(UserError, match="does not exist"):
        export(project, tmp_path / "no" / "x.mp4")
    with pytest.raises(UserError, match="empty"):
        export(project, tmp_path / "x.mp4", RenderSettings(frame_range=FrameRange(5, 5)))
    assert Fraction(1) and not [p for p in os.listdir(tmp_path) if p.startswith(".")]


def test_unchanged_bt709_pictures_go_to_the_encoder_as_they_are(tmp_path):
    from engine.media.compositor import Compositor
    from tests.media.media_factory import ffmpeg

    source = tmp_path / "tagged709.mp4"
    ffmpeg("-f", "lavfi", "-i", "testsrc2=size=160x96:rate=24:duration=1", "-vf", "scale=out_color_matrix=bt709",
           "-colorspace", "bt709", "-color_primaries", "bt709", "-color_trc", "bt709", "-c:v", "libx264",
           "-crf", "4", source)
    ref = MediaRef("t", str(source), "video", 24, FrameRate(RATE), 160, 96)
    project = one_clip_project(ref, source=FrameRange(0, 24))
    compositor = Compositor()
    picture, reader = compositor.passthrough(project, 5)
    assert picture.format.name == "yuv420p" and reader.colorspace == 1
    # Anything that changes the picture takes the compositing path instead.
    faded = one_clip_project(ref, source=FrameRange(0, 24), opacity=Curve.flat(0.5))
    held_loosely = one_clip_project(ref, source=FrameRange(0, 24), curve=Curve.flat(0.5))
    resized = one_clip_project(ref, source=FrameRange(0, 24), width=320, height=192)
    assert compositor.passthrough(faded, 5) is None and compositor.passthrough(resized, 5) is None
    assert compositor.passthrough(held_loosely, 5) is not None  # the influence curve is not the picture
    out = tmp_path / "copy.mp4"
    export(project, out, RenderSettings(crf=4, preset="ultrafast"))
    with VideoReader(str(out), FrameRate(RATE)) as exported, VideoReader(str(source), FrameRate(RATE)) as original:
        assert min(psnr(exported.rgb(f), original.rgb(f)) for f in range(24)) >= 40.0
    compositor.close()


def test_finished_file_has_the_usual_permissions(flash_mp4, tmp_path):
    out = tmp_path / "shared.mp4"
    export(one_clip_project(flash_mp4, source=FrameRange(0, 3)), out, RenderSettings(preset="ultrafast"))
    umask = os.umask(0)
    os.umask(umask)
    assert out.stat().st_mode & 0o777 == 0o666 & ~umask


def _far_out_project(start: int) -> Project:
    """A prompt block (no media needed) placed `start` frames in: the timeline ends past it."""
    from engine.model.items import TextBlock

    prompt = Track("p", "prompt", "P1", (TextBlock("t", start, 24, "a red circle"),))
    return Project(settings=ProjectSettings(64, 48, FrameRate.parse(RATE)), timeline=Timeline(tracks=[prompt]))


def test_absurd_ranges_and_timelines_are_refused_before_any_work(tmp_path):
    import subprocess
    import sys

    from engine.model.serialize import MAX_FRAME, save_project

    repo = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    save_project(_far_out_project(0), tmp_path / "short.kinora")
    save_project(_far_out_project(MAX_FRAME - 100), tmp_path / "far.kinora")
    huge = json.loads((tmp_path / "short.kinora").read_text())
    huge["timeline"]["tracks"][0]["items"][0]["start"] = 10**12
    (tmp_path / "huge.kinora").write_text(json.dumps(huge))
    cases = [("short.kinora", ["--range", "0:99999999999"], "outside the timeline, which holds frames 0:24"),
             ("short.kinora", ["--range", "20:30"], "outside the timeline"),
             ("far.kinora", [], "is an item placed far out"),
             ("far.kinora", ["--range", f"0:{MAX_FRAME - 200}"], "one export is at most 24 hours"),
             ("huge.kinora", [], "past the 2147483647 frames a project can hold")]
    for name, options, reason in cases:
        # before these checks each of these ran for days (one loop turn per frame) or forever
        result = subprocess.run([sys.executable, "-m", "engine.cli", "render", str(tmp_path / name), "-o",
                                 str(tmp_path / "out.mp4"), *options], capture_output=True, text=True, cwd=repo,
                                timeout=120)
        assert result.returncode == 2 and reason in result.stderr and result.stderr.count("\n") == 1, result.stderr
    assert sorted(os.listdir(tmp_path)) == ["far.kinora", "huge.kinora", "short.kinora"]
