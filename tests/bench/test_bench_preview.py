"""Preview speed of two 1080p30 H.264 files with a cross-dissolve between them and a title on
top, against decoding one of those files alone, measured in the same run.

Run: QT_QPA_PLATFORM=offscreen .venv/bin/python -m pytest -q -s tests/bench/test_bench_preview.py

The files are made here with PyAV (a moving gradient with moving blocks, libx264, CRF 18, a
keyframe every 2 s, B-frames). Printed: frames/s of the preview path (what the player does for
each frame of playback, through its own code: editor.preview.player.preview_frames) over the
frames of the dissolve, at the default preview quality Auto (composited at the 960x540 viewer's
size) and at Full (composited at 1920x1080, then fitted to the viewer: the only way before
preview quality existed); frames/s of PyAV decoding one of the files to full-size RGB arrays;
and the ratios. Targets (issue 18): >= 30 frames/s, and >= 0.8 of the single-file decode rate.
"""

from __future__ import annotations

import statistics
import time
from fractions import Fraction

import av
import numpy as np
import pytest

from engine.model.items import Clip, MediaRef
from engine.model.project import Project, ProjectSettings, Timeline, Track
from engine.model.titles import Title
from engine.model.transition import Transition
from engine.time import FrameRange, FrameRate

RATE, WIDTH, HEIGHT, SECONDS = 30, 1920, 1080, 4
NUM_FRAMES = RATE * SECONDS
DISSOLVE = 48
SCREEN = (960, 540)


def _pictures(seed: int):
    """Moving pictures with some detail (a gradient and blocks), one at a time."""
    y, x = np.mgrid[0:HEIGHT, 0:WIDTH]
    rng = np.random.default_rng(seed)
    blocks = [(int(rng.integers(0, HEIGHT - 200)), int(rng.integers(0, WIDTH - 200)), rng.integers(0, 255, 3))
              for _ in range(12)]
    for n in range(NUM_FRAMES):
        picture = np.empty((HEIGHT, WIDTH, 3), np.uint8)
        picture[..., 0] = (x + 7 * n + 90 * seed) % 256
        picture[..., 1] = (y + 3 * n) % 256
        picture[..., 2] = ((x + y) // 4 + 5 * n) % 256
        for top, left, colour in blocks:
            top = (top + 9 * n) % (HEIGHT - 200)
            picture[top:top + 200, left:left + 200] = colour
        yield picture


def _encode(path, seed: int) -> None:
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=Fraction(RATE))
        stream.width, stream.height, stream.pix_fmt = WIDTH, HEIGHT, "yuv420p"
        stream.codec_context.gop_size = 2 * RATE
        stream.options = {"crf": "18", "preset": "veryfast"}
        for picture in _pictures(seed):
            for packet in stream.encode(av.VideoFrame.from_ndarray(picture, format="rgb24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)


@pytest.fixture(scope="module")
def sources(tmp_path_factory):
    folder = tmp_path_factory.mktemp("bench_preview")
    paths = [folder / "a.mp4", folder / "b.mp4"]
    for seed, path in enumerate(paths):
        _encode(path, seed)
    return paths


def dissolve_project(paths) -> Project:
    """Track V1: clip A then clip B with a cross-dissolve on the cut; track T above: a title."""
    refs = {name: MediaRef(name, str(path), "video", NUM_FRAMES, FrameRate(RATE), WIDTH, HEIGHT)
            for name, path in zip("ab", paths)}
    half = NUM_FRAMES // 2
    a = Clip("A", 0, "a", FrameRange(0, half))
    b = Clip("B", half, "b", FrameRange(half, NUM_FRAMES), transition_in=Transition("dissolve", duration=DISSOLVE))
    title = Title("T", 0, NUM_FRAMES, "Kinora preview benchmark", size=72, y=0.85, box=True)
    return Project(settings=ProjectSettings(WIDTH, HEIGHT, FrameRate(RATE)), media=refs,
                   timeline=Timeline(tracks=[Track("t", "video", items=(title,)), Track("v", "video", items=(a, b))]))


def decode_fps(path, count: int) -> tuple[float, float]:
    """PyAV decoding `count` pictures of one file to RGB arrays (its own threads, as the readers
    use): frames/s, and milliseconds of CPU (all the process's threads) per frame."""
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        start = None
        decoded = 0
        for frame in container.decode(stream):
            frame.to_ndarray(format="rgb24")
            if start is None:  # the first picture opens the decoder's threads: not counted
                start, cpu = time.perf_counter(), time.process_time()
                continue
            decoded += 1
            if decoded == count:
                break
    return decoded / (time.perf_counter() - start), (time.process_time() - cpu) * 1000 / decoded


def preview_frames_of(project: Project, frames: range, cache):
    from editor.preview.player import preview_frames

    yield from preview_frames(project, frames, *SCREEN, "auto", cache)


def preview_fps(project: Project, frames: range, quality: str, cache=None) -> tuple[float, float]:
    """Frames/s of the preview over `frames`, and milliseconds of CPU per frame."""
    from editor.preview.player import preview_frames

    start = None
    for n, _ in enumerate(preview_frames(project, frames, *SCREEN, quality, cache)):
        if n == 0:  # the first frame opens the decoders and seeks: not counted
            start, cpu = time.perf_counter(), time.process_time()
    return (len(frames) - 1) / (time.perf_counter() - start), (time.process_time() - cpu) * 1000 / (len(frames) - 1)


def test_bench_preview_of_a_dissolve_under_a_title(qapp, sources):
    import os

    project = dissolve_project(sources)
    half = NUM_FRAMES // 2
    frames = range(half - DISSOLVE // 2, half + DISSOLVE // 2)
    rounds = []
    load = os.getloadavg()[0]
    from engine.media.render_cache import RenderCache

    fills = []
    for _ in range(5):  # taken in turns: the machine is shared, so each round's ratios are its own
        # the transition cache as the player fills it while stopped (every frame of the dissolve
        # rendered ahead at the viewer's size), then playback through it
        cache = RenderCache()
        started = time.perf_counter()
        for _frame in preview_frames_of(project, frames, cache):
            pass
        fills.append(time.perf_counter() - started)
        rounds.append((decode_fps(sources[0], DISSOLVE), preview_fps(project, frames, "auto"),
                       preview_fps(project, frames, "full"), preview_fps(project, frames, "auto", cache)))
    load = max(load, os.getloadavg()[0])
    decode = max(r[0][0] for r in rounds)
    decode_cpu = statistics.median(r[0][1] for r in rounds)
    print(f"\npreview of a {DISSOLVE}-frame cross-dissolve between two 1080p30 H.264 files under a title, "
          f"{SCREEN[0]}x{SCREEN[1]} viewer (target >= 30 frames/s, >= 0.8 of one file's decode); "
          f"{os.cpu_count()} CPUs, load average up to {load:.1f}")
    print(f"PyAV decoding one of the files to full-size RGB: best {decode:.1f} frames/s, "
          f"{decode_cpu:.1f} ms of CPU a frame (median)")
    print(f"filling the transition cache ({DISSOLVE} frames at the viewer's size, while stopped): "
          f"{statistics.median(fills):.2f} s (median)")
    for column, quality in ((1, "Auto (at the viewer's size)"), (2, "Full (at 1920x1080, then fitted)"),
                            (3, "Auto, the dissolve played from the filled transition cache")):
        best = max(r[column][0] for r in rounds)
        ratio = statistics.median(r[column][0] / r[0][0] for r in rounds)
        cpu = statistics.median(r[column][1] for r in rounds)
        print(f"preview quality {quality}: best {best:.1f} frames/s; ratio to one file's decode, median of "
              f"{len(rounds)} rounds: {ratio:.2f}; {cpu:.1f} ms of CPU a frame (median), "
              f"{decode_cpu / cpu:.2f} of one file's decode work")
    print("rounds (decode / auto / full / cached frames/s): "
          + ", ".join(f"{d[0]:.0f}/{a[0]:.0f}/{f[0]:.0f}/{c[0]:.0f}" for d, a, f, c in rounds))
