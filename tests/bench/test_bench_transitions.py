"""Preview speed through a cross-dissolve at 1080p30: two files decoded and mixed per frame.

Run: .venv/bin/python -m pytest -q -s tests/bench/test_bench_transitions.py   (under a minute)

Printed, same run: frames/s of sequential preview through a 48-frame dissolve on one track,
of the same preview without the transition (one decoder), and of PyAV decoding one file to
RGB; and the cost of the mix alone per frame (two full-frame pictures, a pillarboxed one, and
the float path for pictures with alpha). A dissolve
decodes two pictures per frame, so it cannot reach the single-file rate; the target checked is
that the mix itself stays a small part of a frame (<= 25 % of the time a frame of the dissolve
takes), so the decoders, not the mixing, set the speed.
"""

from __future__ import annotations

import shutil
import subprocess
import time

import av
import numpy as np
import pytest

from engine.media.compositor import Compositor
from engine.media.transition_mix import as_layer, mix, mix_opaque, mix_rects, premultiplied
from engine.model.items import Clip, MediaRef
from engine.model.project import Project, ProjectSettings, Timeline, Track
from engine.model.transition import Transition
from engine.time import FrameRange, FrameRate

RATE, WIDTH, HEIGHT, SECONDS = 30, 1920, 1080, 4
NUM_FRAMES = RATE * SECONDS


@pytest.fixture(scope="module")
def sources(tmp_path_factory):
    if shutil.which("ffmpeg") is None:
        pytest.skip("needs the ffmpeg command (Debian package ffmpeg)")
    folder = tmp_path_factory.mktemp("bench_transitions")
    paths = []
    for name, pattern in (("a", "testsrc2"), ("b", "smptehdbars")):
        path = folder / f"{name}.mp4"
        subprocess.run(["ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i",
                        f"{pattern}=size={WIDTH}x{HEIGHT}:rate={RATE}:duration={SECONDS}", "-c:v", "libx264",
                        "-preset", "veryfast", "-crf", "18", "-g", str(2 * RATE), "-pix_fmt", "yuv420p", str(path)],
                       check=True, timeout=300)
        paths.append(path)
    return paths


def cut_project(paths, transition: Transition | None) -> Project:
    refs = {name: MediaRef(name, str(path), "video", NUM_FRAMES, FrameRate(RATE), WIDTH, HEIGHT)
            for name, path in zip("ab", paths)}
    half = NUM_FRAMES // 2
    a = Clip("A", 0, "a", FrameRange(0, half))
    b = Clip("B", half, "b", FrameRange(half, NUM_FRAMES), transition_in=transition)
    return Project(settings=ProjectSettings(WIDTH, HEIGHT, FrameRate(RATE)), media=refs,
                   timeline=Timeline(tracks=[Track("v", "video", items=(a, b))]))


def preview_fps(project: Project, frames: range) -> float:
    compositor = Compositor()
    compositor.render(project, frames[0])  # open the decoders first
    start = time.perf_counter()
    for frame in frames:
        compositor.render(project, frame)
    fps = len(frames) / (time.perf_counter() - start)
    compositor.close()
    return fps


def test_bench_preview_through_a_dissolve(sources):
    with av.open(str(sources[0])) as container:
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        start = time.perf_counter()
        for i, frame in enumerate(container.decode(stream)):
            frame.to_ndarray(format="rgb24")
            if i + 1 == 48:
                break
        raw_fps = 48 / (time.perf_counter() - start)
    frames = range(NUM_FRAMES // 2 - 24, NUM_FRAMES // 2 + 24)
    dissolve_fps = preview_fps(cut_project(sources, Transition("dissolve", 48)), frames)
    cut_fps = preview_fps(cut_project(sources, None), frames)
    rng = np.random.default_rng(1)
    a, b = (rng.integers(0, 256, (HEIGHT, WIDTH, 3), np.uint8) for _ in range(2))
    start = time.perf_counter()
    for _ in range(10):
        mix_opaque(a, b, Transition("dissolve"), 0.4)
    fast_ms = (time.perf_counter() - start) * 100
    narrow = rng.integers(0, 256, (HEIGHT, HEIGHT * 4 // 3, 3), np.uint8)  # a 4:3 picture, pillarboxed
    placed = [(narrow, 0, (WIDTH - narrow.shape[1]) // 2, 1.0), (b, 0, 0, 1.0)]
    start = time.perf_counter()
    for _ in range(10):
        mix_rects(placed, Transition("dissolve"), 0.4, WIDTH, HEIGHT)
    rects_ms = (time.perf_counter() - start) * 100
    start = time.perf_counter()
    as_layer(mix(premultiplied(a, 0, 0, 1.0, WIDTH, HEIGHT), premultiplied(b, 0, 0, 1.0, WIDTH, HEIGHT),
                 Transition("dissolve"), 0.4))
    float_ms = (time.perf_counter() - start) * 1000
    share = fast_ms / (1000 / dissolve_fps)
    print(f"\npreview 1080p30 through a 48-frame dissolve: {dissolve_fps:.0f} fps   the same cut without it "
          f"{cut_fps:.0f} fps   PyAV decode of one file {raw_fps:.0f} fps   ratio dissolve/decode "
          f"{dissolve_fps / raw_fps:.2f}\n  mix alone: {fast_ms:.1f} ms (two full-frame pictures)   {rects_ms:.1f} ms "
          f"(a pillarboxed 4:3 picture)   {float_ms:.0f} ms (float path, pictures with alpha)   "
          f"share of a dissolve frame {share:.0%} (target <= 25 %)")
    assert share <= 0.25
