"""The classic compositor: placement, layering, alpha and opacity crossfades."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from engine.errors import MediaError
from engine.media.compositor import Compositor, place, render_frame
from engine.model.curves import Curve
from engine.model.items import Clip, MediaRef, Still, TextBlock
from engine.model.project import Project, ProjectSettings, Timeline, Track
from engine.time import FrameRange, FrameRate
from tests.media.media_factory import index_picture, read_index, write_video


def solid_png(path, color, size=(40, 30)) -> str:
    width, height = size
    pixels = np.zeros((height, width, len(color)), np.uint8)
    pixels[:] = color
    Image.fromarray(pixels, "RGBA" if len(color) == 4 else "RGB").save(path)
    return str(path)


def project_of(tracks, media, width=80, height=60, rate=24) -> Project:
    return Project(settings=ProjectSettings(width=width, height=height, rate=FrameRate(rate)),
                   media={ref.id: ref for ref in media}, timeline=Timeline(tracks=list(tracks)))


def image_ref(ref_id, path) -> MediaRef:
    return MediaRef(ref_id, str(path), "image")


def test_fit_fill_and_crop_place_a_wide_image(tmp_path):
    wide = np.zeros((10, 40, 3), np.uint8)
    wide[:, :20] = 255
    pixels, y0, x0 = place(wide, 20, 20, "fit")
    assert pixels.shape == (5, 20, 3) and (y0, x0) == (7, 0)  # letterboxed, centred
    pixels, y0, x0 = place(wide, 20, 20, "fill")
    assert pixels.shape == (20, 20, 3) and (y0, x0) == (0, 0)
    assert pixels[:, :9].min() == 255 and pixels[:, 11:].max() == 0  # centre of the 80-wide scaled copy
    pixels, y0, x0 = place(wide, 20, 20, "crop")
    assert pixels.shape == (10, 20, 3) and (y0, x0) == (5, 0)  # unscaled, centre 20 columns


def test_top_track_is_drawn_over_the_bottom_and_text_is_not_drawn(tmp_path):
    red = image_ref("red", solid_png(tmp_path / "red.png", (255, 0, 0), size=(80, 60)))
    small_blue = image_ref("blue", solid_png(tmp_path / "blue.png", (0, 0, 255), size=(20, 20)))
    top = Track("t", "video", items=(Still("s2", 0, 10, "blue", extra={"fit": "crop"}),))
    bottom = Track("b", "video", items=(Still("s1", 0, 10, "red"),))
    prompt = Track("p", "prompt", items=(TextBlock("x", 0, 10, "a cat"),))
    project = project_of([prompt, top, bottom], [red, small_blue])
    out = render_frame(project, 3)
    assert out.shape == (60, 80, 3)
    assert out[30, 40].tolist() == [0, 0, 255]  # blue square in the middle
    assert out[2, 2].tolist() == [255, 0, 0]  # red around it
    assert render_frame(project, 10).max() == 0  # after the items: black
    hidden = project_of([prompt, Track("t", "video", items=top.items, hidden=True), bottom], [red, small_blue])
    assert render_frame(hidden, 3)[30, 40].tolist() == [255, 0, 0]


def test_alpha_and_influence_weights_mix(tmp_path):
    white = image_ref("w", solid_png(tmp_path / "w.png", (200, 200, 200), size=(80, 60)))
    half = image_ref("h", solid_png(tmp_path / "h.png", (0, 100, 0, 128), size=(80, 60)))
    top = Track("t", "video", items=(Still("a", 0, 10, "h"),))
    bottom = Track("b", "video", items=(Still("c", 0, 10, "w"),))
    out = render_frame(project_of([top, bottom], [white, half]), 0)
    a = 128 / 255
    expected = np.array([200 * (1 - a), 100 * a + 200 * (1 - a), 200 * (1 - a)])
    assert np.abs(out[10, 10] - expected).max() <= 1
    # Opacity 0.25 on an opaque layer: 25 % of it over 75 % of what is below.
    green = image_ref("g", solid_png(tmp_path / "g.png", (0, 255, 0), size=(80, 60)))
    top = Track("t", "video", items=(Still("a", 0, 10, "g", opacity=Curve.flat(0.25)),))
    out = render_frame(project_of([top, bottom], [white, green]), 0)
    assert np.abs(out[5, 5] - np.array([150, 0.25 * 255 + 150, 150])).max() <= 1
    # An influence curve of 0.25 is for the model only: the picture stays fully green.
    top = Track("t", "video", items=(Still("a", 0, 10, "g", curve=Curve.flat(0.25)),))
    assert render_frame(project_of([top, bottom], [white, green]), 0)[5, 5].tolist() == [0, 255, 0]


def test_crossfade_between_overlapping_clips_follows_the_opacity(tmp_path):
    path_a = write_video(tmp_path / "a.mp4", [np.full((60, 80, 3), 40, np.uint8)] * 30, rate=24,
                         options={"crf": "0"}, pix_fmt="yuv444p")
    path_b = write_video(tmp_path / "b.mp4", [np.full((60, 80, 3), 220, np.uint8)] * 30, rate=24,
                         options={"crf": "0"}, pix_fmt="yuv444p")
    refs = [MediaRef("a", str(path_a), "video", 30, FrameRate(24), 80, 60),
            MediaRef("b", str(path_b), "video", 30, FrameRate(24), 80, 60)]
    # Clip b on top starts at 10 and fades in over its first 10 frames, over clip a.
    fade_in = Curve.ramp(0, 10, 0.0, 1.0)
    top = Track("t", "video", items=(Clip("cb", 10, "b", FrameRange(0, 20), opacity=fade_in),))
    bottom = Track("b", "video", items=(Clip("ca", 0, "a", FrameRange(0, 20)),))
    project = project_of([top, bottom], refs)
    levels = [float(render_frame(project, f)[30, 40].mean()) for f in range(8, 22)]
    expected = [40.0, 40.0] + [40 + (220 - 40) * w for w in fade_in.evaluate(np.arange(0, 10))] + [220.0] * 2
    assert np.abs(np.array(levels) - np.array(expected)).max() <= 2.0


def test_clip_source_range_selects_the_media_frames(tmp_path):
    path = write_video(tmp_path / "idx.mp4", [index_picture(i, 80, 60) for i in range(48)], rate=24)
    ref = MediaRef("m", str(path), "video", 48, FrameRate(24), 80, 60)
    clip = Clip("c", 100, "m", FrameRange(17, 40))
    project = project_of([Track("v", "video", items=(clip,))], [ref])
    assert [read_index(render_frame(project, f)) for f in (100, 101, 122)] == [17, 18, 39]


def test_transparent_canvas_for_alpha_exports(tmp_path):
    small = image_ref("s", solid_png(tmp_path / "s.png", (10, 20, 30), size=(40, 60)))
    project = project_of([Track("v", "video", items=(Still("a", 0, 5, "s"),))], [small])
    out = Compositor().render(project, 0, alpha=True)
    assert out.shape == (60, 80, 4)
    assert out[30, 40].tolist() == [10, 20, 30, 255]
    assert out[30, 5, 3] == 0  # pillarbox is transparent


def test_missing_media_names_the_file(tmp_path):
    gone = MediaRef("g", str(tmp_path / "moved_away.mp4"), "video", 10, FrameRate(24), 80, 60)
    project = project_of([Track("v", "video", items=(Clip("c", 0, "g", FrameRange(0, 10)),))], [gone])
    with pytest.raises(MediaError, match="moved_away.mp4.*not found"):
        Compositor().render(project, 0)
    placeholder = Compositor().render(project, 0, offline_placeholder=True)
    assert placeholder.shape == (60, 80, 3) and placeholder[0, 0, 0] > placeholder[0, 0, 1]


def test_unknown_fit_mode_is_a_clear_error(tmp_path):
    red = image_ref("red", solid_png(tmp_path / "red.png", (255, 0, 0)))
    project = project_of([Track("v", "video", items=(Still("s", 0, 5, "red", extra={"fit": "zoom"}),))], [red])
    with pytest.raises(MediaError, match="unknown fit mode 'zoom'"):
        render_frame(project, 0)
