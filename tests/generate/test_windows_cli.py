"""The command line says when a range is made as a chain of windows: `kinora plan` lists them
(and says how many), `kinora generate --frames N` on the bundled model makes any N, saying its
windows and how long they will take before it starts."""

from __future__ import annotations

import json

import av
import pytest

from engine.cli import main
from engine.generate.models import resolve
from engine.generate.planning import planning_caps
from engine.generate.windows import window_layout
from engine.model import edits
from engine.model.items import TextBlock
from engine.model.project import new_project
from engine.model.serialize import save_project

pytestmark = pytest.mark.filterwarnings("ignore")
PROMPT = "a red circle moving right on a black background"


@pytest.fixture
def long_project(tmp_path):
    project = new_project(64, 64, 24)
    edits.insert(project, project.timeline.tracks_of("prompt")[0].id, TextBlock("t", 0, 200, PROMPT))
    path = tmp_path / "long.kinora"
    save_project(project, path)
    return path


def test_plan_of_200_frames_prints_the_bundled_models_windows(long_project, capsys):
    assert main(["plan", str(long_project), "--range", "0:200"]) == 0
    out, err = capsys.readouterr()
    printed = json.loads(out)
    layout = window_layout(printed["num_frames"], planning_caps(resolve(None)))
    assert printed["num_frames"] == 201 and len(layout) == 8
    assert [(w["start"], w["stop"], w["first_new_frame"]) for w in printed["windows"]] == [
        (w.start, w.stop, w.first_new_frame) for w in layout]
    assert [w["timeline"] for w in printed["windows"]] == [[w.start, w.stop] for w in layout]
    assert printed["windows"][-1]["stop"] == 201 and printed["windows"][1]["held_latent_frames"] == 3
    assert err.strip() == ("kinora plan: 201 frames in 8 windows of at most 33 frames, each continuing from the "
                           "last 9 frames of the one before")
    # a range later on the timeline: the same windows, where they sit on the timeline
    assert main(["plan", str(long_project), "--range", "40:140"]) == 0
    out, err = capsys.readouterr()
    later = json.loads(out)["windows"]
    assert len(later) == 4 and later[0]["timeline"] == [40, 40 + later[0]["stop"]] and "4 windows" in err
    # what the model makes at once has one window and nothing to say
    assert main(["plan", str(long_project), "--range", "0:33"]) == 0
    out, err = capsys.readouterr()
    assert len(json.loads(out)["windows"]) == 1 and err == ""


def test_generate_any_number_of_frames_says_its_windows_first(tmp_path, capsys):
    out = tmp_path / "long.mp4"
    assert main(["generate", PROMPT, "--frames", "61", "--steps", "1", "--seed", "2", "-o", str(out)]) == 0
    err = capsys.readouterr().err
    assert "will degrade" not in err  # made as windows the model was trained for
    assert "kinora generate: 3 windows, " in err  # with how long they take, before the model loads
    assert err.index("3 windows, ") < err.index("loading the model")
    assert "61 frames in 3 windows of at most 33 frames" in err and "window 3 of 3 done" in err
    with av.open(str(out)) as container:
        assert sum(1 for _ in container.decode(video=0)) == 61
