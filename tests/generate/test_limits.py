"""A model's declared limits (example prompts, vocabulary, trained frame range and sizes) become
hints before a job runs: in the engine, and on stderr from `kinora generate`."""

from __future__ import annotations

import json
import shutil

import pytest

from engine.cli import main
from engine.generate import requests as rq
from engine.generate.limits import (
    ModelLimits,
    limits_of,
    prompt_hints,
    range_hint,
    request_hints,
    size_note,
    timeline_hints,
    word_completions,
)
from engine.generate.models import BUNDLED_MODEL, inspect_model
from engine.generate.settings import Size
from engine.model import edits
from engine.model.items import TextBlock, new_id
from engine.model.project import new_project
from engine.time import FrameRange
from engine.toyworld.world import EXAMPLE_CAPTIONS, parse_caption, vocabulary

BUNDLED = inspect_model(BUNDLED_MODEL)


def test_the_bundled_model_declares_its_caption_grammar_frame_range_and_size():
    limits = limits_of(BUNDLED)
    assert limits.vocabulary == frozenset(vocabulary())
    assert limits.example_prompts == EXAMPLE_CAPTIONS
    for example in limits.example_prompts:
        parse_caption(example)  # each example is a caption of the grammar it was trained on
    assert (limits.min_frames, limits.max_frames) == (25, 33)
    assert limits.sizes == ((64, 64),) and limits.native_size == (64, 64)


def test_unknown_words_are_named_and_a_caption_of_the_grammar_gets_no_hint():
    [hint] = prompt_hints(BUNDLED, "A cat playing piano, on a RED background!")
    assert "“cat”, “playing”, “piano” are words toyworld was not trained on" in hint
    assert "a red circle moving right on a black background" in hint
    assert prompt_hints(BUNDLED, "An orange star spinning on a sky background") == []
    assert prompt_hints(BUNDLED, "a red circle moving left and a blue square growing on a grass background") == []
    many = prompt_hints(BUNDLED, "one two three four five six seven")[0]
    assert "“five” and 2 more are words" in many


def test_an_empty_prompt_gets_a_hint_with_an_example():
    [hint] = prompt_hints(BUNDLED, "   ")
    assert hint.startswith("No prompt: toyworld will make whatever it likes") and "e.g. “a red circle" in hint


def test_a_range_outside_the_trained_frames_gets_a_hint():
    # longer than it was trained on: made as a chain of windows of 33 frames, which it knows
    assert limits_of(BUNDLED).window_frames == 33 and range_hint(BUNDLED, 64) is None and range_hint(BUNDLED, 201) is None
    wide = ModelLimits(name="wide", min_frames=25, max_frames=33, window_frames=65)
    assert range_hint(wide, 64) == ("wide was trained on 25-33 frames but makes windows of 65 frames, which will "
                                    "degrade: set \"window_frames\" in its model_index.json to at most 33")
    assert range_hint(wide, 33) is None
    assert "9 frames is shorter than it knows" in range_hint(BUNDLED, 9)
    assert range_hint(BUNDLED, 25) is None and range_hint(BUNDLED, 33) is None and range_hint(BUNDLED, None) is None


def test_a_model_that_declares_nothing_gets_no_hints(tmp_path, tiny_ltx_dir):
    assert prompt_hints(inspect_model(tiny_ltx_dir), "anything at all") == []
    assert range_hint(inspect_model(tiny_ltx_dir), 10_000) is None
    assert limits_of(str(tmp_path / "no-such-model")).declares_anything is False


def test_word_completions_come_from_the_vocabulary():
    assert word_completions(BUNDLED, "gr") == ["grass", "green", "growing"]
    assert word_completions(BUNDLED, "Sq") == ["square"]


def test_request_hints_read_a_storyboards_prompt_blocks_and_range(tmp_path):
    project = new_project()
    track = project.timeline.tracks_of("prompt")[0]
    edits.insert(project, track.id, TextBlock(new_id(), 0, 20, "a dragon flying"))
    edits.insert(project, track.id, TextBlock(new_id(), 40, 20, "a red star growing on a sky background"))
    request = rq.Storyboard(output=str(tmp_path / "o.mp4"), timeline=rq.TimelineRef.of(project), start=0, stop=64)
    hints = request_hints(request, BUNDLED)
    assert len(hints) == 1 and "“dragon”, “flying” are words" in hints[0]  # 64 frames: windows it knows
    short = rq.Storyboard(output=str(tmp_path / "o.mp4"), timeline=rq.TimelineRef.of(project), start=40, stop=49)
    assert request_hints(short, BUNDLED) == [range_hint(BUNDLED, 9)]
    assert timeline_hints(BUNDLED, project, FrameRange(40, 65)) == []  # the good block only, 25 frames


def test_what_the_model_makes_is_said_and_an_aspect_it_cannot_make_is_named():
    assert size_note(BUNDLED, Size(), "1:1") == ("64x64 (1:1) — this model makes one size", None)
    note, hint = size_note(BUNDLED, Size(), "16:9")
    assert note == "64x64 (1:1) — this model makes one size"
    assert hint == "16:9 cannot be made: toyworld makes one size, 64x64 (1:1)"
    note, hint = size_note(BUNDLED, Size(aspect="16:9", resolution="480p"), "16:9")
    assert note == "856x480 (16:9)" and "trained at 64x64 only; 856x480 will degrade" in hint


@pytest.fixture
def declared_tiny_model(tmp_path, tiny_ltx_dir):
    """The tiny LTX model declaring a vocabulary and a trained frame range, as the bundled one does."""
    folder = tmp_path / "declared"
    shutil.copytree(tiny_ltx_dir, folder)
    index = json.loads((folder / "model_index.json").read_text())
    index["_kinora_defaults"] = {"vocabulary": ["a", "red", "fox"], "example_prompts": ["a red fox"],
                                 "trained_frames": [9, 9]}
    (folder / "model_index.json").write_text(json.dumps(index))
    return folder


def test_kinora_generate_prints_the_hints_on_stderr_before_it_runs(tmp_path, declared_tiny_model, capsys):
    out = tmp_path / "o.npy"
    argv = ["generate", "a red cat", "--frames", "17", "--model", str(declared_tiny_model), "--size", "32x32",
            "--steps", "1", "--device", "cpu", "--quiet", "-o", str(out)]
    assert main(argv) == 0
    err = capsys.readouterr().err
    assert "kinora generate: hint: “cat” is a word declared was not trained on" in err
    # longer than it was trained on: no warning, it is made as a chain of windows of 9 frames
    assert "will degrade" not in err and "kinora generate: 2 windows, " in err
    assert out.is_file()  # a hint is advice: the job still runs
    assert main(["generate", "a red fox", "--frames", "9", *argv[4:]]) == 0
    assert "hint" not in capsys.readouterr().err  # within what the model declares: nothing to say


@pytest.mark.parametrize("defaults", [
    {"vocabulary": "red blue", "example_prompts": [1, None, ""], "trained_frames": [33, 25]},
    {"vocabulary": [None, 3], "trained_frames": [True, 5], "trained_sizes": [[64], "64x64", [0, 64]]},
    {"trained_frames": "25-33", "width": "64", "height": 64, "trained_sizes": {"w": 64}},
    [],
])
def test_malformed_declarations_are_left_aside_and_never_raise(defaults):
    limits = limits_of(defaults)
    assert not limits.declares_anything and limits.native_size is None
    assert prompt_hints(limits, "anything") == [] and range_hint(limits, 10_000) is None
