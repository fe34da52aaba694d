"""What titles, transforms and speed cost in the compositor, on a 4 s 1080p30 H.264 file: frames
per second of one plain track, the same with a title over it, with a scaled and rotated clip, and
at half speed (every other frame blended), each printed with its ratio to the plain track in the
same run. Target (issue 18): a title over a track keeps >= 0.8x the plain rate.

Run: .venv/bin/python -m pytest -q -s tests/bench/test_bench_effects.py   (about a minute)
"""

from __future__ import annotations

import dataclasses
import shutil
import subprocess
import time

import pytest

from engine.media.compositor import Compositor
from engine.model.items import Clip, MediaRef
from engine.model.project import Project, ProjectSettings, Timeline, Track
from engine.model.titles import Title
from engine.model.transform import Param, Transform
from engine.time import FrameRange, FrameRate

SECONDS, RATE, WIDTH, HEIGHT = 4, 30, 1920, 1080
NUM_FRAMES = SECONDS * RATE


@pytest.fixture(scope="module")
def source_1080p(tmp_path_factory):
    if shutil.which("ffmpeg") is None:
        pytest.skip("needs the ffmpeg command (Debian package ffmpeg)")
    path = tmp_path_factory.mktemp("bench_effects") / "source.mp4"
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i",
                    f"testsrc2=size={WIDTH}x{HEIGHT}:rate={RATE}:duration={SECONDS}", "-c:v", "libx264",
                    "-preset", "veryfast", "-crf", "18", "-g", str(2 * RATE), "-pix_fmt", "yuv420p", str(path)],
                   check=True, timeout=300)
    return path


def project_of(path, clip: Clip, *above) -> Project:
    ref = MediaRef("m", str(path), "video", NUM_FRAMES, FrameRate(RATE), WIDTH, HEIGHT)
    tracks = [Track(f"t{i}", "video", items=(item,)) for i, item in enumerate(above)]
    return Project(settings=ProjectSettings(WIDTH, HEIGHT, FrameRate(RATE)), media={"m": ref},
                   timeline=Timeline(tracks=[*tracks, Track("v", "video", items=(clip,))]))


def frames_per_second(project: Project, frames: int) -> float:
    compositor = Compositor()
    compositor.render(project, 0)  # open the decoder, draw the title once
    started = time.perf_counter()
    for frame in range(1, frames):
        compositor.render(project, frame)
    elapsed = time.perf_counter() - started
    compositor.close()
    return (frames - 1) / elapsed


def test_bench_title_transform_and_speed_against_a_plain_track(source_1080p):
    plain = Clip("c", 0, "m", FrameRange(0, NUM_FRAMES))
    title = Title("t", 0, NUM_FRAMES, "Kinora\nA title over a clip", size=96, box=True, anchor="bottom", x=0.5, y=0.9)
    moved = dataclasses.replace(plain, transform=Transform(scale=Param.constant(0.6), rotation=Param.constant(8.0),
                                                           x=Param(((0, -0.1), (NUM_FRAMES, 0.1)))))
    slow = dataclasses.replace(plain, speed=0.5)
    projects = {"plain": project_of(source_1080p, plain), "title": project_of(source_1080p, plain, title),
                "transform": project_of(source_1080p, moved), "half speed": project_of(source_1080p, slow)}
    rates = dict.fromkeys(projects, 0.0)
    for _ in range(2):  # the best of two rounds, the cases taking turns, so a busy moment hurts all alike
        for name, project in projects.items():
            rates[name] = max(rates[name], frames_per_second(project, NUM_FRAMES - 1))
    for name, rate in rates.items():
        print(f"{name:>10}: {rate:6.1f} frames/s  ({rate / rates['plain']:.2f}x the plain track)")
    assert all(rate > 0 for rate in rates.values())
