"""Typed requests: versioned JSON, validation with one clear message, and every tool compiling
the clip's own range of the timeline (its trim, curve, prompt blocks and neighbours) through
the same compile() the plan strip draws."""

from __future__ import annotations

import numpy as np
import pytest

from engine.errors import UserError
from engine.generate import requests as rq
from engine.generate import tools
from engine.generate.caps import ModelCaps
from engine.generate.compiler import compile as compile_plan
from engine.generate.settings import Size
from engine.model import edits
from engine.model.curves import Curve
from engine.model.items import Clip, MediaRef, TextBlock
from engine.model.project import new_project
from engine.time import FrameRange, FrameRate
from tests.generate.media import write_clip

CAPS = ModelCaps(family="ltx", vae_temporal_compression=4, vae_spatial_compression=8, size_multiple=8,
                 per_token_timesteps=True, keyframe_tokens=True, max_frames=257)
SIZE = Size(width=32, height=32)


@pytest.fixture(scope="module")
def clips(tmp_path_factory):
    folder = tmp_path_factory.mktemp("clips")
    return [str(write_clip(folder / f"clip{i}.mp4", 33, seed=i)) for i in range(3)]


def _project(clips):
    """A at 0..33 on V1 with a drawn curve, B at 40..73 on V1, C on V2 over 20..53, prompt blocks."""
    project = new_project(32, 32, 24)
    for i, path in enumerate(clips):
        edits.add_media(project, MediaRef(f"m{i}", path, "video", num_frames=33, rate=FrameRate.parse(24)))
    edits.add_track(project, "video", "V2", index=1, track_id="v2")
    v1 = project.timeline.tracks_of("video")[-1].id
    edits.insert(project, v1, Clip("a", 0, "m0", FrameRange(0, 33), curve=Curve.ramp(20, 32, 1.0, 0.25, "linear")))
    edits.insert(project, v1, Clip("b", 40, "m1", FrameRange(0, 33)))
    edits.insert(project, "v2", Clip("c", 20, "m2", FrameRange(0, 33), curve=Curve.ramp(0, 12, 0.0, 1.0)))
    prompts = project.timeline.tracks_of("prompt")[0].id
    edits.insert(project, prompts, TextBlock("p1", 0, 30, "a quiet lake"))
    edits.insert(project, prompts, TextBlock("p2", 30, 50, "a storm rolls in"))
    return project, v1


def _track(project, clip_id):
    track, clip = project.timeline.find(clip_id)
    return project, track, clip


def test_every_request_round_trips_through_json(clips):
    project, v1 = _project(clips)
    snapshot = rq.TimelineRef.of(project)
    common = {"output": "/tmp/out.mp4", "sampling": rq.Sampling(seed=7, variations=2, guidance_interval=(0.1, 0.9))}
    made = [
        rq.Generate(prompt="-glitch art", prompts_at=(rq.PromptAt(start=0, stop=9, text="a"),),
                    images=(rq.Placement(path="/x.png", frame=3, strength=0.5),), frames=25, **common),
        rq.Storyboard(timeline=snapshot, start=0, stop=40, size=Size(aspect="9:16", resolution="720p"), **common),
        rq.Extend(clip=rq.ClipRef(timeline=snapshot, clip_id="a"), direction="backward", **common),
        rq.Loop(clip=rq.ClipRef(timeline=snapshot, clip_id="a"), frames=8, **common),
        rq.Remix(clip=rq.ClipRef(timeline=snapshot, clip_id="a"), strength=0.2, **common),
        rq.Upscale(clip=rq.ClipRef(timeline=snapshot, clip_id="a"), **common),
        rq.Blend(first=rq.ClipRef(timeline=snapshot, clip_id="a"), second=rq.ClipRef(timeline=snapshot, clip_id="c"),
                 first_curve=((0, 1.0, "linear"), (8, 0.0, "smooth")), **common),
        rq.Retake(clip=rq.ClipRef(timeline=snapshot, clip_id="a"), start=8, stop=16, **common),
        rq.FillGap(timeline=snapshot, track_id=v1, start=33, stop=40, **common),
    ]
    made.append(rq.Variations(base=made[2], **common))
    for request in made:
        data = request.to_json()
        assert data["schema"] == f"{type(request).__name__}.1"
        again = rq.request_from_json(data)
        assert again == request and again.to_json() == data
    assert {type(r).__name__ for r in made} == set(rq.REQUEST_TYPES)


@pytest.mark.parametrize("change, message", [
    ({"sampling": {"seed": -1}}, "--seed -1 must be between"),
    ({"sampling": {"steps": 0}}, "--steps 0 must be between"),
    ({"sampling": {"guidance": float("nan")}}, "--guidance nan must be a finite number"),
    ({"sampling": {"guidance_interval": [0.9, 0.2]}}, "--guidance-interval 0.9 0.2"),
    ({"output": "/tmp/out.gif"}, "must end in .mp4 or .npy"),
    ({"frames": 0}, "--frames 0 must be between"),
    ({"rate": 0}, "--rate 0 must be between"),
    ({"duration": float("inf")}, "--duration inf must be a finite number"),
    ({"prompt": "bad \udc80 text"}, "not valid UTF-8"),
    ({"size": {"width": 64}}, "--size needs both"),
    ({"colour": "red"}, "unknown fields colour"),
])
def test_bad_values_are_one_clear_error(change, message):
    data = rq.Generate(output="/tmp/out.mp4", prompt="waves").to_json()
    for key, value in change.items():
        data[key] = {**data[key], **value} if isinstance(value, dict) else value
    with pytest.raises(UserError, match=message.replace("(", r"\(")):
        rq.request_from_json(data)


def test_versions_upgrade_and_unknown_ones_are_refused():
    data = rq.Generate(output="/tmp/out.mp4", prompt="waves").to_json()
    with pytest.raises(UserError, match="newer Kinora"):
        rq.request_from_json({**data, "schema": "Generate.2"})
    with pytest.raises(UserError, match="does not know"):
        rq.request_from_json({**data, "schema": "Teleport.1"})
    try:  # an upgrade registered for an older version runs before the fields are read
        rq.upgrade("Generate", 0)(lambda old: {**{k: v for k, v in old.items() if k != "text"}, "prompt": old["text"]})
        old = {k: v for k, v in data.items() if k != "prompt"} | {"schema": "Generate.0", "text": "old words"}
        assert rq.request_from_json(old).prompt == "old words"
    finally:
        rq._UPGRADES.pop(("Generate", 0))


def test_extend_compiles_the_clips_range_with_its_curve_prompts_and_neighbours(clips):
    project, v1 = _project(clips)
    recipe = tools.extend_clip(CAPS, *_track(project, "a"), context=5, new_frames=8, size=SIZE)
    frames = recipe.plan.frame_range
    assert frames.start == 33 - 5 and frames.stop == frames.start + recipe.plan.num_frames
    # what compile() says of the clip's track and the prompt tracks over that range
    work = tools._working(project, [project.timeline.track(v1)])
    expected = compile_plan(work, frames, CAPS, width=32, height=32)
    np.testing.assert_array_equal(recipe.plan.pixel_strength, expected.pixel_strength)
    np.testing.assert_array_equal(recipe.plan.latent_strength, expected.latent_strength)
    # the drawn curve holds the clip's tail as drawn (0.5 at its frame 28), not at 1; V2's clip takes no part
    drawn = Curve.ramp(20, 32, 1.0, 0.25, "linear").evaluate(np.arange(28, 33))
    np.testing.assert_allclose(recipe.plan.pixel_strength[:5], drawn, atol=1e-6)
    assert [project.media[m].path for m in ("m0",)] == [recipe.plan.sources[0].path]
    # the prompt blocks over the range condition their own frames
    assert recipe.plan.prompts == ("a quiet lake", "a storm rolls in")
    assert recipe.plan.pixel_prompt[:2].tolist() == [0, 0] and recipe.plan.pixel_prompt[-1] == 1
    assert recipe.before == tuple(range(33)) and recipe.keep == (5, recipe.plan.num_frames)


def test_extend_into_a_neighbour_holds_the_neighbour_where_it_sits(clips):
    project, _ = _project(clips)
    recipe = tools.extend_clip(CAPS, *_track(project, "a"), context=5, new_frames=12, size=SIZE)
    frames = recipe.plan.frame_range
    assert frames.stop > 40  # the range reaches clip B, which starts at 40
    b_from = 40 - frames.start
    assert recipe.plan.pixel_strength[b_from:].min() == 1.0
    assert recipe.plan.pixel_strength[5:b_from].max() == 0.0


def test_extend_backwards_from_the_start_of_the_timeline(clips):
    project, _ = _project(clips)
    recipe = tools.extend_clip(CAPS, *_track(project, "a"), direction="backward", context=4, new_frames=8, size=SIZE)
    new = recipe.keep[1]
    assert recipe.plan.latent_strength[0] == 0.0 and recipe.plan.pixel_strength[new:].min() == 1.0
    assert recipe.after == tuple(range(33))


def test_loop_holds_the_tail_first_and_the_head_last(clips):
    project, _ = _project(clips)
    recipe = tools.loop_clip(CAPS, *_track(project, "b"), context=4, bridge=8, size=SIZE)
    held = np.max([layer.pixel_source_frame for layer in recipe.plan.layers], axis=0)  # tail, then head
    n = recipe.plan.num_frames
    assert held[0] == 33 - recipe.keep[0] and held[-1] == n - recipe.keep[1] - 1  # the head ends the bridge
    assert (held[recipe.keep[0]:recipe.keep[1]] == -1).all()
    assert n - recipe.keep[1] == recipe.keep[0]


def test_remix_scales_the_drawn_curve(clips):
    project, _ = _project(clips)
    recipe = tools.remix_clip(CAPS, *_track(project, "a"), strength=0.5, size=SIZE)
    curve = Curve.ramp(20, 32, 1.0, 0.25, "linear").evaluate(np.arange(recipe.plan.num_frames))
    np.testing.assert_allclose(recipe.plan.pixel_strength, 0.5 * curve, atol=1e-6)


def test_blend_of_overlapping_clips_follows_the_drawn_curves(clips):
    project, _ = _project(clips)
    recipe = tools.blend_clips(CAPS, _track(project, "a"), _track(project, "c"), size=SIZE)
    frames = recipe.plan.frame_range
    assert frames.start == 20  # the overlap of A (0..33) and C (20..53)
    work = tools._working(project, [project.timeline.track("v2"), project.timeline.tracks_of("video")[-1]])
    expected = compile_plan(work, frames, CAPS, width=32, height=32)
    np.testing.assert_allclose(recipe.plan.latent_layer_weight, expected.latent_layer_weight)
    upper, lower = recipe.plan.layers  # C on V2 over A on V1, each holding by its curve
    local = np.arange(recipe.plan.num_frames)
    c_curve = Curve.ramp(0, 12, 0.0, 1.0).evaluate(local)
    a_curve = Curve.ramp(20, 32, 1.0, 0.25).evaluate(local + 20)
    np.testing.assert_allclose(upper.pixel_weight, c_curve, atol=1e-6)
    np.testing.assert_allclose(lower.pixel_weight, a_curve * (1 - c_curve), atol=1e-6)


def test_blend_of_clips_apart_uses_the_given_curves(clips):
    project, _ = _project(clips)
    curve = Curve.ramp(0, 8, 0.0, 1.0)
    recipe = tools.blend_clips(CAPS, _track(project, "a"), _track(project, "b"), curves=(None, curve), size=SIZE,
                               num_frames=17)
    upper = recipe.plan.layers[0]
    np.testing.assert_allclose(upper.pixel_weight, curve.evaluate(np.arange(17)), atol=1e-6)


def test_retake_frees_the_range_with_ramps_and_keeps_the_rest_exact(clips):
    project, _ = _project(clips)
    recipe = tools.retake_clip(CAPS, *_track(project, "b"), 50, 62, ramp=3, size=SIZE)
    strength = recipe.plan.pixel_strength
    first = recipe.plan.frame_range.start
    inside = slice(50 - first + 3, 62 - first - 3)
    assert strength[inside].max() == 0.0
    assert strength[:50 - first - 1].min() == 1.0 and strength[62 - first:].min() == 1.0
    assert 0 < strength[50 - first + 1] < 1  # the ramp
    assert recipe.before == tuple(range(10)) and recipe.after == tuple(range(22, 33))
    assert recipe.keep == (50 - first, 62 - first)
    with pytest.raises(UserError, match="not inside"):
        tools.retake_clip(CAPS, *_track(project, "b"), 30, 45, size=SIZE)


def test_fill_gap_holds_both_neighbours_and_prompts_the_gap(clips):
    project, v1 = _project(clips)
    recipe = tools.fill_gap(CAPS, project, v1, 33, 40, context=4, size=SIZE)
    frames = recipe.plan.frame_range
    assert frames.start == 29 and recipe.keep == (4, 11)
    strength = recipe.plan.pixel_strength
    assert strength[4:11].max() == 0.0  # the gap itself is free
    assert strength[11:].min() == 1.0  # clip B, held where it starts
    assert recipe.plan.prompts[-1] == "a storm rolls in"
    with pytest.raises(UserError, match="not empty"):
        tools.fill_gap(CAPS, project, v1, 30, 38, size=SIZE)


def test_the_clip_prompt_defaults_to_its_recipe(clips):
    project, _ = _project(clips)
    edits.ReplaceItem  # noqa: B018 - the edit used below
    _, clip = project.timeline.find("b")
    import dataclasses

    edits.apply(project, edits.ReplaceItem(dataclasses.replace(clip, generation={"prompt": "a red circle"})))
    snapshot = rq.TimelineRef.of(project)
    request = rq.Extend(output="/tmp/x.mp4", clip=rq.ClipRef(timeline=snapshot, clip_id="b"), size=SIZE)
    assert "a red circle" in request.recipe(CAPS).plan.prompts
    told = rq.Extend(output="/tmp/x.mp4", clip=rq.ClipRef(timeline=snapshot, clip_id="b"), size=SIZE,
                     prompt="a blue star")
    assert "a red circle" not in told.recipe(CAPS).plan.prompts


def test_a_job_is_titled_by_its_tool_and_prompt(clips):
    from engine.jobs.request_job import describe, job_params

    project, _ = _project(clips)
    board = rq.Storyboard(output="/tmp/b.mp4", timeline=rq.TimelineRef.of(project), start=0, stop=9)
    assert describe("storyboard", job_params(board)) == "storyboard: the marked range of the timeline"
    prompted = rq.Storyboard(output="/tmp/b.mp4", timeline=rq.TimelineRef.of(project), start=0, stop=9,
                             prompt="a quiet lake")
    assert describe("storyboard", job_params(prompted)) == "storyboard: a quiet lake"
