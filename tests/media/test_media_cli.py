"""`kinora probe` and `kinora render` as a user runs them."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from engine.media.probe import probe_in_process
from engine.model.items import Clip, MediaRef
from engine.model.project import Project, ProjectSettings, Timeline, Track
from engine.model.serialize import save_project
from engine.time import FrameRange, FrameRate
from tests.media.media_factory import index_video, read_index

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def kinora(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "engine.cli", *map(str, args)], capture_output=True, text=True,
                          cwd=REPO, timeout=180)


def test_probe_prints_json(index_mp4):
    result = kinora("probe", index_mp4)
    assert result.returncode == 0, result.stderr
    info = json.loads(result.stdout)
    assert (info["kind"], info["rate"], info["num_frames"], info["width"]) == ("video", "30/1", 300, 160)


def test_probe_of_a_bad_file_is_one_line_and_exit_2(tmp_path):
    bad = tmp_path / "holiday.mp4"
    bad.write_text("not really a video")
    result = kinora("probe", bad)
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and "holiday.mp4" in result.stderr and result.stdout == ""


def test_render_a_saved_project(tmp_path):
    source = index_video(tmp_path / "source.mp4", 48, width=128, height=96, rate=24)
    ref = MediaRef("m", str(source), "video", 48, FrameRate(24), 128, 96)
    project = Project(settings=ProjectSettings(width=128, height=96, rate=FrameRate(24)), media={"m": ref},
                      timeline=Timeline(tracks=[Track("v", "video", items=(Clip("c", 0, "m", FrameRange(0, 48)),))]))
    save_project(project, tmp_path / "film.kinora")
    out = tmp_path / "film.mp4"
    result = kinora("render", tmp_path / "film.kinora", "-o", out, "--range", "10:22", "--crf", "12",
                    "--preset", "ultrafast")
    assert result.returncode == 0, result.stderr
    assert "12/12 frames" in result.stderr  # the progress bar's last state
    info = probe_in_process(out)
    assert info.num_frames == 12
    from engine.media.decode import VideoReader

    with VideoReader(str(out), FrameRate(24)) as reader:
        assert [read_index(reader.rgb(i)) for i in (0, 5, 11)] == [10, 15, 21]
    bad_range = kinora("render", tmp_path / "film.kinora", "-o", tmp_path / "x.mp4", "--range", "9-3")
    assert bad_range.returncode == 2 and "--range" in bad_range.stderr
    over_input = kinora("render", tmp_path / "film.kinora", "-o", source)
    assert over_input.returncode == 2 and "own files" in over_input.stderr


def test_render_with_media_missing_on_disk_says_which_file(tmp_path):
    source = index_video(tmp_path / "shot.mp4", 12, width=64, height=48, rate=24)
    ref = MediaRef("m", str(source), "video", 12, FrameRate(24), 64, 48)
    project = Project(settings=ProjectSettings(width=64, height=48, rate=FrameRate(24)), media={"m": ref},
                      timeline=Timeline(tracks=[Track("v", "video", items=(Clip("c", 0, "m", FrameRange(0, 12)),))]))
    save_project(project, tmp_path / "p.kinora")
    source.unlink()
    result = kinora("render", tmp_path / "p.kinora", "-o", tmp_path / "out.mp4", "--quiet")
    assert result.returncode == 2
    assert "shot.mp4" in result.stderr and "relink" in result.stderr and result.stderr.count("\n") == 1
    assert not (tmp_path / "out.mp4").exists() and not [p for p in os.listdir(tmp_path) if p.startswith(".out.")]
