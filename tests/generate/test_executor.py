"""The executor runs any request: outputs are atomic and carry provenance, the library keeps the
request as the recipe and re-running it reproduces the output bit for bit, presets reach every
prompt, and no request writes over its own input."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from engine.cli import main
from engine.errors import UserError
from engine.generate import requests as rq
from engine.generate.executor import execute
from engine.generate.media_io import read_video
from engine.generate.settings import Size
from engine.library.catalog import Library
from engine.media.provenance import SIDECAR_SUFFIX, read_provenance
from engine.model import edits
from engine.model.items import Clip, MediaRef, TextBlock
from engine.model.project import new_project
from engine.time import FrameRange, FrameRate
from tests.generate.media import write_clip

pytestmark = pytest.mark.filterwarnings("ignore")


def _options(model_dir, **extra):
    return ["--model", str(model_dir), "--size", "32x32", "--steps", "2", "--seed", "5", "--device", "cpu",
            "--quiet", *(f"--{k}={v}" for k, v in extra.items())]


@pytest.fixture(scope="module")
def source(tmp_path_factory):
    return str(write_clip(tmp_path_factory.mktemp("src") / "clip.mp4", 17, seed=3))


@pytest.mark.parametrize("tool, argv", [
    ("generate", ["a red fox", "--frames", "9"]),
    ("extend", ["SOURCE", "a red fox", "--frames", "8"]),
    ("loop", ["SOURCE", "--frames", "8"]),
    ("remix", ["SOURCE", "a storm"]),
    ("upscale", ["SOURCE"]),
    ("blend", ["SOURCE", "SOURCE", "--frames", "9", "--first-curve", "0:1,8:0"]),
    ("retake", ["SOURCE", "4:12", "a storm"]),
    ("fill-gap", ["SOURCE", "SOURCE", "--frames", "6"]),
])
def test_every_tool_writes_provenance_in_the_file_and_beside_it(tmp_path, tiny_ltx_dir, source, tool, argv):
    out = tmp_path / f"{tool}.mp4"
    argv = [source if a == "SOURCE" else a for a in argv]
    assert main([tool, *argv, *_options(tiny_ltx_dir), "-o", str(out)]) == 0
    sidecar = json.loads((tmp_path / f"{tool}.mp4{SIDECAR_SUFFIX}").read_text())
    os.remove(tmp_path / f"{tool}.mp4{SIDECAR_SUFFIX}")
    inside = read_provenance(str(out))  # from the container's own metadata now
    assert inside == sidecar and inside["generator"] == "Kinora"
    generated = [r for r in inside["ranges"] if r["kind"] == "generated"]
    assert generated and all(r["model"] == "tiny-ltx" and r["seed"] == 5 for r in generated)
    assert inside["num_frames"] == read_video(out).shape[0]
    assert {r.get("tool") for r in generated} == {tool}
    if tool in ("extend", "loop", "retake"):  # the source clip's own frames are called captured
        assert any(r["kind"] == "captured" and r["source"] == "clip.mp4" for r in inside["ranges"])


def test_a_library_recipe_rerun_reproduces_the_output_bit_for_bit(tmp_path, tiny_ltx_dir, source):
    """The generated frames (an .npy output) and the sampled latents (stored beside an MP4) of a
    recipe re-run from the library are the same to the bit."""
    from safetensors.torch import load_file

    first = tmp_path / "first.npy"
    assert main(["extend", source, "a red fox", "--frames", "8", *_options(tiny_ltx_dir), "-o", str(first)]) == 0
    request = rq.request_from_json(Library().generation_for_output(str(first))["settings"]["request"])
    execute(rq.request_from_json({**request.to_json(), "output": str(tmp_path / "again.npy")}))
    assert np.load(first).tobytes() == np.load(tmp_path / "again.npy").tobytes()
    made = tmp_path / "made.mp4"
    assert main(["generate", "a red fox", "--frames", "9", *_options(tiny_ltx_dir), "-o", str(made)]) == 0
    request = rq.request_from_json(Library().generation_for_output(str(made))["settings"]["request"])
    execute(rq.request_from_json({**request.to_json(), "output": str(tmp_path / "remade.mp4")}))
    latents = [load_file(str(tmp_path / f"{name}.latents.safetensors"))["latents"] for name in ("made", "remade")]
    assert latents[0].numpy().tobytes() == latents[1].numpy().tobytes()


def test_a_preset_reaches_the_prompts_of_a_timeline_generation(tmp_path, tiny_ltx_dir):
    project = new_project(32, 32, 24)
    prompts = project.timeline.tracks_of("prompt")[0].id
    edits.insert(project, prompts, TextBlock("a", 0, 5, "a red circle"))
    edits.insert(project, prompts, TextBlock("b", 5, 9, "a blue star"))
    request = rq.Storyboard(output=str(tmp_path / "board.npy"), timeline=rq.TimelineRef.of(project), start=0,
                            stop=9, size=Size(width=32, height=32),
                            sampling=rq.Sampling(steps=1, preset="cinematic", model=str(tiny_ltx_dir), device="cpu"))
    execute(request)
    record = Library().generation_for_output(str(tmp_path / "board.npy"))
    told = [p["text"] for p in record["plan_summary"]["prompts"]]
    assert told == ["cinematic, a red circle shallow depth of field, film grain, soft natural light".replace(
        "cinematic,", "cinematic shot,"), "cinematic shot, a blue star shallow depth of field, film grain, soft "
                    "natural light"]
    assert all(p["negative"].startswith("blurry") for p in record["plan_summary"]["prompts"])


def test_a_prompt_that_starts_with_a_dash_generates(tmp_path, tiny_ltx_dir):
    out = tmp_path / "dash.npy"
    assert main(["generate", "--prompt=-glitch art", "--frames", "9", *_options(tiny_ltx_dir), "-o", str(out)]) == 0
    assert Library().generation_for_output(str(out))["prompts"][0]["text"] == "-glitch art"


def test_no_tool_writes_over_its_own_input(tmp_path, tiny_ltx_dir, capsys):
    clip = write_clip(tmp_path / "mine.mp4", 9, seed=1)
    before = clip.read_bytes()
    for argv in (["extend", str(clip)], ["remix", str(clip)], ["blend", str(tmp_path / "other.mp4"), str(clip)]):
        write_clip(tmp_path / "other.mp4", 9, seed=2)
        assert main([*argv, *_options(tiny_ltx_dir), "-o", str(clip)]) == 2
        assert "is one of this command's own files" in capsys.readouterr().err
    with pytest.raises(UserError, match="is one of this command.s own files"):
        execute(rq.Remix(output=os.path.join(str(tmp_path), ".", "mine.mp4"),
                         clip=rq.ClipRef.of_file(str(clip))))
    assert clip.read_bytes() == before


def test_a_replaced_video_does_not_continue_from_the_old_latents(tmp_path, tiny_ltx_dir):
    from engine.generate.conditions import load_stored_latents
    from engine.generate.plan import PlanSource

    out = tmp_path / "made.mp4"
    assert main(["generate", "a red fox", "--frames", "9", *_options(tiny_ltx_dir), "-o", str(out)]) == 0
    source = PlanSource("video", str(out))
    assert load_stored_latents(source, str(tiny_ltx_dir), 8, 8, 8) is not None
    write_clip(out, 9, seed=9)  # another video copied over it: same name, other content
    assert load_stored_latents(source, str(tiny_ltx_dir), 8, 8, 8) is None


KILLED_WRITER = """
import sys, numpy as np
from engine.generate import media_io
slow = media_io.write_video
def write_video(path, frames, fps=24.0, metadata=None):
    open(sys.argv[2], "w").close()  # tell the test the write began
    import time; time.sleep(60)
media_io.write_video = write_video
from engine.cli import main
sys.exit(main(["generate", "a red fox", "--frames", "9", "--model", sys.argv[1], "--size", "32x32", "--steps", "1",
               "--device", "cpu", "--quiet", "-o", sys.argv[3]]))
"""


def test_a_kill_while_writing_leaves_the_previous_file_whole(tmp_path, tiny_ltx_dir):
    out = tmp_path / "keep.mp4"
    write_clip(out, 9, seed=4)
    before = out.read_bytes()
    started = tmp_path / "started"
    child = subprocess.Popen([sys.executable, "-c", KILLED_WRITER, str(tiny_ltx_dir), str(started), str(out)],
                             cwd=os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))),
                             env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)})
    try:
        deadline = time.monotonic() + 240
        while not started.exists() and child.poll() is None and time.monotonic() < deadline:
            time.sleep(0.2)
        assert started.exists(), "the writer never began"
        child.send_signal(signal.SIGKILL)
        child.wait(30)
    finally:
        if child.poll() is None:
            child.kill()
    assert out.read_bytes() == before  # the user's previous file, whole


def test_a_clip_on_a_timeline_and_its_file_take_the_same_path(tmp_path, tiny_ltx_dir, source):
    """The editor's clip (trimmed, on a 24 fps timeline) and `kinora extend --range` are one request."""
    project = new_project(32, 32, 24)
    edits.add_media(project, MediaRef("m", source, "video", num_frames=17, rate=FrameRate.parse(24)))
    edits.insert(project, project.timeline.tracks_of("video")[0].id, Clip("c", 0, "m", FrameRange(4, 13)))
    sampling = rq.Sampling(steps=2, seed=5, model=str(tiny_ltx_dir), device="cpu")
    from_editor = rq.Extend(output=str(tmp_path / "a.npy"), clip=rq.ClipRef(timeline=rq.TimelineRef.of(project),
                                                                             clip_id="c"),
                            sampling=sampling, size=Size(width=32, height=32), frames=8)
    from_file = rq.Extend(output=str(tmp_path / "b.npy"), clip=rq.ClipRef.of_file(source, (4, 13)),
                          sampling=sampling, size=Size(width=32, height=32), frames=8)
    execute(from_editor)
    execute(from_file)
    np.testing.assert_array_equal(np.load(tmp_path / "a.npy"), np.load(tmp_path / "b.npy"))
