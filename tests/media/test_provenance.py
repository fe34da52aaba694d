"""Every export says what made it: generated and captured frame ranges, in the file and beside it."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest

from engine.errors import MediaError
from engine.media.export import RenderSettings, export
from engine.media.provenance import SIDECAR_SUFFIX, read_provenance
from engine.model import edits
from engine.model.curves import Curve, Keyframe
from engine.model.items import Clip, MediaRef
from engine.model.project import new_project
from engine.time import FrameRange, FrameRate
from tests.media.media_factory import index_video

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def mixed_project(tmp_path):
    """Captured 0-20, generated 20-40 (on a track above), captured again 40-50, nothing 50-56."""
    shot, made = tmp_path / "shot.mp4", tmp_path / "made.mp4"
    index_video(shot, 60, width=64, height=48, rate=24)
    index_video(made, 30, width=64, height=48, rate=24)
    project = new_project(64, 48, 24)
    for media_id, path, count in (("s", shot, 60), ("g", made, 30)):
        edits.add_media(project, MediaRef(media_id, str(path), "video", num_frames=count, rate=FrameRate.parse(24)))
    edits.add_track(project, "video", "V2")
    v2, v1 = (t.id for t in project.timeline.tracks_of("video"))
    edits.insert(project, v1, Clip("c1", 0, "s", FrameRange(0, 50)))
    recipe = {"model": "toyworld", "weights_hash": "ab12", "seed": 7, "prompt": "a red circle moving right"}
    edits.insert(project, v2, Clip("c2", 20, "g", FrameRange(0, 20), generation=recipe))
    edits.insert(project, v2, Clip("c3", 50, "s", FrameRange(0, 6), opacity=Curve((Keyframe(0, 0.0, "hold"),))))
    return project


@pytest.mark.parametrize("suffix", [".mp4", ".mov", ".webm"])
def test_provenance_is_written_into_the_file_and_beside_it(tmp_path, suffix):
    out = tmp_path / f"cut{suffix}"
    export(mixed_project(tmp_path), out, RenderSettings(preset="ultrafast"))
    sidecar = json.loads((tmp_path / f"cut{suffix}{SIDECAR_SUFFIX}").read_text())
    (tmp_path / f"cut{suffix}{SIDECAR_SUFFIX}").unlink()  # what the file itself carries
    inside = read_provenance(str(out))
    assert inside == sidecar
    assert [(r["frames"], r["kind"]) for r in inside["ranges"]] == [
        ([0, 20], "captured"), ([20, 40], "generated"), ([40, 50], "captured"), ([50, 56], "empty")]
    generated = inside["ranges"][1]
    assert (generated["model"], generated["weights_hash"], generated["seed"]) == ("toyworld", "ab12", 7)
    assert generated["prompt"] == "a red circle moving right"
    assert inside["ranges"][0]["source"] == "shot.mp4" and inside["num_frames"] == 56


def test_a_range_export_counts_from_its_own_first_frame(tmp_path):
    out = tmp_path / "part.mp4"
    export(mixed_project(tmp_path), out, RenderSettings(preset="ultrafast", frame_range=FrameRange(30, 45)))
    ranges = read_provenance(str(out))["ranges"]
    assert [(r["frames"], r["kind"]) for r in ranges] == [([0, 10], "generated"), ([10, 15], "captured")]


def test_cli_reads_it_back_and_refuses_files_without(tmp_path):
    out = tmp_path / "cut.mp4"
    export(mixed_project(tmp_path), out, RenderSettings(preset="ultrafast"))
    run = [sys.executable, "-m", "engine.cli", "provenance"]
    result = subprocess.run([*run, str(out)], capture_output=True, text=True, cwd=REPO, timeout=120)
    assert result.returncode == 0 and json.loads(result.stdout)["generated"][0]["frames"] == [20, 40]
    plain = tmp_path / "plain.mp4"
    index_video(plain, 5, width=64, height=48, rate=24)
    result = subprocess.run([*run, str(plain)], capture_output=True, text=True, cwd=REPO, timeout=120)
    assert result.returncode == 2 and "carries no Kinora provenance" in result.stderr
    with pytest.raises(MediaError, match="file not found"):
        read_provenance(str(tmp_path / "missing.mp4"))


def test_the_ai_badge_marks_generated_frames_only(tmp_path):
    from engine.media.decode import VideoReader

    project = mixed_project(tmp_path)
    plain, marked = tmp_path / "plain.mp4", tmp_path / "marked.mp4"
    export(project, plain, RenderSettings(preset="ultrafast", crf=10))
    export(project, marked, RenderSettings(preset="ultrafast", crf=10, ai_badge=True))
    rate = FrameRate.parse(24)
    with VideoReader(str(plain), rate) as a, VideoReader(str(marked), rate) as b:
        def corner_change(frame):
            return float(np.abs(a.rgb(frame)[:16, -24:].astype(int) - b.rgb(frame)[:16, -24:]).mean())

        assert all(corner_change(frame) > 20 for frame in (20, 30, 39))  # generated: the badge is there
        assert all(corner_change(frame) < 3 for frame in (0, 19, 40, 49))  # captured: untouched


@pytest.mark.parametrize(("manifest", "reason"), [
    ('{"generator": "Kinora", "ranges": ' + "[" * 100_000 + "]" * 100_000 + "}", "nested more than 32 levels"),
    ('{"generator": "Kinora", "ranges": ' + "[" * 600 + "]" * 600 + "}", "nested more than 32 levels"),
    ('{"generator": "Kinora", "note": "' + "x" * (2 << 20) + '"}', "is over 1 MiB"),
])
def test_a_hostile_manifest_is_one_clear_error(tmp_path, manifest, reason):
    plain = tmp_path / "plain.mp4"
    index_video(plain, 5, width=64, height=48, rate=24)
    (tmp_path / f"plain.mp4{SIDECAR_SUFFIX}").write_text(manifest)
    result = subprocess.run([sys.executable, "-m", "engine.cli", "provenance", str(plain)], capture_output=True,
                            text=True, cwd=REPO, timeout=120)
    assert result.returncode == 2 and result.stderr.count("\n") == 1, result.stderr[-500:]
    assert "its provenance is refused" in result.stderr and reason in result.stderr


def test_output_into_a_reader_that_went_away_ends_quietly(tmp_path):
    out = tmp_path / "cut.mp4"
    export(mixed_project(tmp_path), out, RenderSettings(preset="ultrafast"))
    reader = subprocess.Popen([sys.executable, "-m", "engine.cli", "provenance", str(out)], cwd=REPO,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    reader.stdout.close()  # like `kinora provenance cut.mp4 | head -0`: the reader exits before any output
    assert reader.wait(timeout=120) == 1
    assert reader.stderr.read() == b""
    reader.stderr.close()
