"""Load and save of a 10,000-item project against plain json.load / json.dump of the same file.

Run: make bench   (or: .venv/bin/python -m pytest -q -s tests/bench/test_bench_project_io.py)
Prints the times and ratios; the target is a ratio <= 3 for both.
"""

from __future__ import annotations

import json
import statistics
import time

from engine.model.curves import Curve, Keyframe
from engine.model.items import Clip, MediaRef, Still, TextBlock, new_id
from engine.model.project import Project, ProjectSettings, Timeline, Track
from engine.model.serialize import load_project, project_to_dict, save_project
from engine.time import FrameRange, FrameRate

NUM_ITEMS = 10_000


def big_project(root: str, num_items: int = NUM_ITEMS) -> Project:
    """`num_items` items over four tracks: prompt blocks, stills and clips with curves, audio."""
    rate = FrameRate.parse(24)
    video = MediaRef(new_id(), f"{root}/a.mp4", "video", num_frames=10**7, rate=rate, has_audio=True)
    image = MediaRef(new_id(), f"{root}/b.png", "image")
    curve = Curve((Keyframe(0, 0.0), Keyframe(5, 1.0, "smooth"), Keyframe(20, 0.5)))
    per_track = num_items // 4
    tracks = [
        Track(new_id(), "prompt", "P1", tuple(TextBlock(new_id(), i * 30, 30, f"prompt {i}: a red circle moving right")
                                              for i in range(per_track))),
        Track(new_id(), "video", "V2", tuple(Still(new_id(), i * 30, 25, image.id, curve=curve) for i in range(per_track))),
        Track(new_id(), "video", "V1", tuple(Clip(new_id(), i * 30, video.id, FrameRange(i, i + 30), curve=curve)
                                             for i in range(per_track))),
        Track(new_id(), "audio", "A1", tuple(Clip(new_id(), i * 30, video.id, FrameRange(i, i + 30))
                                             for i in range(per_track))),
    ]
    return Project(settings=ProjectSettings(1920, 1080, rate), media={video.id: video, image.id: image},
                   timeline=Timeline(tracks=tracks))


def _median_seconds(function, repeats=7) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def test_bench_load_and_save_10000_items(tmp_path):
    project = big_project(str(tmp_path))
    path = tmp_path / "big.kinora"
    save_project(project, path)
    data = project_to_dict(project, str(tmp_path))
    plain = tmp_path / "plain.json"

    def plain_dump():
        with open(plain, "w") as handle:
            json.dump(data, handle)

    def plain_load():
        with open(path) as handle:
            json.load(handle)

    save = _median_seconds(lambda: save_project(project, path))
    dump = _median_seconds(plain_dump)
    load = _median_seconds(lambda: load_project(path))
    reference_load = _median_seconds(plain_load)
    assert load_project(path) == project
    print(f"\nproject io, {NUM_ITEMS} items, {path.stat().st_size / 2**20:.1f} MiB")
    print(f"  save {save * 1000:7.1f} ms   json.dump {dump * 1000:7.1f} ms   ratio {save / dump:.2f}  (target <= 3)")
    print(f"  load {load * 1000:7.1f} ms   json.load {reference_load * 1000:7.1f} ms   ratio {load / reference_load:.2f}  (target <= 3)")
    assert save / dump <= 3 and load / reference_load <= 3
