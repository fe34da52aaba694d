"""Compositing at the preview's size (engine/media/preview_scale.py): a frame rendered at scale s
looks like the full-size frame resized, and the full-size path (every export) is untouched.

How close is close enough: PSNR against cv2.resize(full render, INTER_AREA). Above 30 dB two
pictures are hard to tell apart at a glance (a JPEG at middling quality sits at 30-35 dB); the
differences left here are resampling at edges: the transformed clip is warped from an already
shrunk picture, and a title's raster is shrunk on its own before it is blended. What this test
measures is printed (31-34 dB at the worst frames, where the rotated clip and the unscaled still
show; a frame with only the dissolve and the title is at 55 dB and above); the threshold is 30 dB
for every frame.
"""

from __future__ import annotations

import math

import cv2
import numpy as np
import pytest

from engine.media.compositor import Compositor
from engine.media.export import RenderSettings, export
from engine.media.preview_scale import canvas_size, fit_scale_to, placed_size, read_size
from engine.model.curves import Curve
from engine.model.items import Clip, MediaRef, Still
from engine.model.project import Track
from engine.model.titles import Title
from engine.model.transform import Param, Transform
from engine.model.transition import Transition
from engine.time import FrameRange, FrameRate
from tests.media.media_factory import write_video
from tests.media.test_compositor import project_of

WIDTH, HEIGHT, RATE, FRAMES = 320, 180, 24, 24


def moving_pictures(width: int, height: int, seed: int, count: int = FRAMES):
    """Smooth gradients with hard-edged moving blocks: detail at every scale."""
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    rng = np.random.default_rng(seed)
    blocks = [(int(rng.integers(0, height - 40)), int(rng.integers(0, width - 40)), rng.integers(0, 255, 3))
              for _ in range(6)]
    for n in range(count):
        picture = np.empty((height, width, 3), np.uint8)
        picture[..., 0] = 127 + 120 * np.sin((x + 4 * n) / 23.0 + seed)
        picture[..., 1] = 255 * y / height
        picture[..., 2] = 127 + 120 * np.cos((x + y + 3 * n) / 31.0)
        for top, left, colour in blocks:
            top = (top + 3 * n) % (height - 40)
            picture[top:top + 40, left:left + 40] = colour
        yield picture


@pytest.fixture(scope="module")
def media(tmp_path_factory):
    folder = tmp_path_factory.mktemp("preview_scale")
    refs = []
    for name, (w, h), seed in (("a", (WIDTH, HEIGHT), 0), ("b", (WIDTH, HEIGHT), 1), ("c", (240, 160), 2)):
        path = write_video(folder / f"{name}.mp4", list(moving_pictures(w, h, seed)), rate=RATE,
                           options={"crf": "12"})
        refs.append(MediaRef(name, str(path), "video", FRAMES, FrameRate(RATE), w, h))
    still = np.zeros((60, 90, 3), np.uint8)
    still[:, :45] = (250, 200, 40)
    still[20:40, 50:80] = (30, 90, 220)
    cv2.imwrite(str(folder / "still.png"), cv2.cvtColor(still, cv2.COLOR_RGB2BGR))
    refs.append(MediaRef("s", str(folder / "still.png"), "image"))
    return refs


def dissolve_title_transform(media, transformed: bool = True):
    """V1: a then b with a 12-frame dissolve on the cut; V2 above: c (another size and aspect)
    moved, scaled, rotated and cropped (left out without `transformed`); V3: a still placed
    unscaled ("crop" fit mode) at half opacity; on top a title with a box."""
    a = Clip("A", 0, "a", FrameRange(0, 18))
    b = Clip("B", 18, "b", FrameRange(0, 18), transition_in=Transition("dissolve", duration=12))
    moved = Transform(x=Param.constant(0.2), y=Param.constant(-0.1), scale=Param.constant(0.6),
                      rotation=Param.constant(12), crop_left=Param.constant(0.1))
    c = Clip("C", 6, "c", FrameRange(0, 20), transform=moved)
    still = Still("S", 0, 36, "s", extra={"fit": "crop"}, opacity=Curve.flat(0.5))
    title = Title("T", 0, 36, "Preview at the viewer's size", size=22, y=0.85, box=True, box_padding=6)
    tracks = [Track("t", "video", items=(title,)), Track("s", "video", items=(still,)),
              Track("c", "video", items=(c,) if transformed else ()), Track("v", "video", items=(a, b))]
    return project_of(tracks, media, width=WIDTH, height=HEIGHT, rate=RATE)


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = float(np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2))
    return math.inf if mse == 0 else 10 * math.log10(255.0 ** 2 / mse)


@pytest.mark.parametrize("scale", [0.5, 0.37])
def test_a_frame_at_preview_scale_is_the_full_frame_resized(media, scale):
    project = dissolve_title_transform(media)
    full, small = Compositor(), Compositor()
    size = canvas_size(WIDTH, HEIGHT, scale)
    measured = []
    try:
        for frame in range(4, 32, 3):  # before, through and after the dissolve; c shows from 6 to 26
            expected = cv2.resize(np.ascontiguousarray(full.render(project, frame)), size, interpolation=cv2.INTER_AREA)
            shown = small.render(project, frame, scale=scale)
            assert shown.shape == (size[1], size[0], 3)
            measured.append(psnr(shown, expected))
    finally:
        full.close()
        small.close()
    print(f"\nscale {scale} ({size[0]}x{size[1]}): PSNR against the full frame resized, "
          f"min {min(measured):.1f} dB, mean {np.mean(measured):.1f} dB")
    assert min(measured) > 30.0


def test_the_full_size_path_is_untouched_by_preview_renders(media):
    """Pictures of every size share a reader's caches and the title caches: a full-size render
    after previews is byte for byte what a fresh compositor makes, at scale 1 as without it."""
    project = dissolve_title_transform(media)
    fresh, previewed = Compositor(), Compositor()
    try:
        for frame in range(0, 36, 5):
            previewed.render(project, frame, scale=0.5)
            previewed.render(project, frame, scale=0.25)
            reference = fresh.render(project, frame)
            assert np.array_equal(previewed.render(project, frame), reference)
            assert np.array_equal(previewed.render(project, frame, scale=1.0), reference)
            assert np.array_equal(previewed.render(project, frame, scale=1.5), reference)  # never enlarged
    finally:
        fresh.close()
        previewed.close()


def _video_packets(path) -> bytes:
    import av

    with av.open(str(path)) as container:
        return b"".join(bytes(packet) for packet in container.demux(video=0))


def test_export_is_unchanged_by_previewing(media, tmp_path):
    """An export made after previews at half size on the same thread (shared title caches,
    the same files decoded) holds the same pictures, byte for byte, as one made before them.
    ProRes: an intra-only codec whose output depends on nothing but the pictures. (Left out: the
    transformed clip, whose exports differ from run to run in its region with or without
    previews, a matter of its own.)"""
    from engine.media.compositor import thread_compositor

    project = dissolve_title_transform(media, transformed=False)
    settings = RenderSettings(codec="prores", audio=False)
    before = export(project, tmp_path / "before.mov", settings)
    for frame in range(36):
        thread_compositor().render(project, frame, scale=0.5)
    after = export(project, tmp_path / "after.mov", settings)
    assert _video_packets(before) == _video_packets(after)


def test_preview_sizes():
    assert canvas_size(1920, 1080, 0.5) == (960, 540)
    assert fit_scale_to(1920, 1080, 960, 700) == 0.5  # the width limits
    assert fit_scale_to(1920, 1080, 4000, 4000) == 1.0  # never larger than the project
    # a picture's size on the smaller canvas is its size on the full one, scaled
    assert placed_size((1280, 720), (1920, 1080), "fit", (0.5, 0.5)) == (960, 540)
    assert placed_size((1280, 720), (1920, 1080), "crop", (0.5, 0.5)) == (640, 360)
    assert placed_size((1000, 1000), (1920, 1080), "fill", (0.5, 0.5)) == (960, 960)
    assert placed_size((320, 180), (320, 180), "fit", (118 / 320, 67 / 180)) == (118, 67)  # rounding apart
    # a zoomed picture is read larger, never larger than the file
    assert read_size((960, 540), (1920, 1080), zoom=1.5) == (1440, 810)
    assert read_size((960, 540), (1920, 1080), zoom=4.0) == (1920, 1080)
