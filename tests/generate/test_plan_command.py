"""`kinora plan` prints exactly what the plan strip draws, and `kinora generate --project`
generates the same storyboard request the editor's Timeline mode submits."""

from __future__ import annotations

import json

import numpy as np
import pytest

from engine.cli import main
from engine.library.catalog import Library
from engine.model import edits
from engine.model.curves import Curve
from engine.model.items import Clip, MediaRef, TextBlock
from engine.model.project import new_project
from engine.model.serialize import save_project
from engine.time import FrameRange, FrameRate
from tests.generate.media import write_clip

pytestmark = pytest.mark.filterwarnings("ignore")


@pytest.fixture
def project_file(tmp_path):
    clip = write_clip(tmp_path / "shot.mp4", 20, seed=2)
    project = new_project(64, 64, 24)
    edits.add_media(project, MediaRef("m", str(clip), "video", num_frames=20, rate=FrameRate.parse(24)))
    edits.insert(project, project.timeline.tracks_of("video")[0].id,
                 Clip("c", 4, "m", FrameRange(0, 20), curve=Curve.ramp(0, 19, 1.0, 0.0)))
    prompts = project.timeline.tracks_of("prompt")[0].id
    edits.insert(project, prompts, TextBlock("a", 0, 12, "a red circle moving right on a black background"))
    edits.insert(project, prompts, TextBlock("b", 12, 13, "a blue square moving up on a black background"))
    path = tmp_path / "board.kinora"
    save_project(project, path)
    return path


def test_plan_prints_what_the_plan_strip_draws(qtbot, project_file, capsys):
    from editor.main_window import MainWindow
    from engine.model.serialize import load_project

    assert main(["plan", str(project_file)]) == 0
    printed = json.loads(capsys.readouterr().out)
    window = MainWindow(load_project(project_file), start_worker=False)
    qtbot.addWidget(window)
    drawn = window.timeline.plan_strip.plan
    for key in ("pixel_strength", "latent_strength", "pixel_prompt", "latent_prompt"):
        np.testing.assert_allclose(printed[key], drawn.summary()[key], err_msg=key)
    assert printed["frame_range"] == drawn.frame_range.to_json()
    assert [p["text"] for p in printed["prompts"]] == list(drawn.prompts)
    assert main(["plan", str(project_file), "--range", "10:20"]) == 0
    assert json.loads(capsys.readouterr().out)["frame_range"][0] == 10


def test_generate_a_project_range_headless(project_file, tmp_path):
    out = tmp_path / "board.mp4"
    assert main(["generate", "--project", str(project_file), "--range", "0:17", "--steps", "2", "--quiet",
                 "-o", str(out)]) == 0
    record = Library().generation_for_output(str(out))
    assert record["tool"] == "storyboard" and record["settings"]["request"]["schema"] == "Storyboard.1"
    told = [p["text"] for p in record["plan_summary"]["prompts"]]
    assert told == ["a red circle moving right on a black background", "a blue square moving up on a black background"]
    assert max(record["plan_summary"]["pixel_strength"]) == 1.0  # the clip, held by its curve


def test_plan_of_a_bad_project_is_one_clear_error(tmp_path, capsys):
    bad = tmp_path / "bad.kinora"
    bad.write_text("{not json")
    assert main(["plan", str(bad)]) == 2
    assert "bad.kinora" in capsys.readouterr().err
