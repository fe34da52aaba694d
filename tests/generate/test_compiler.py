import json
from fractions import Fraction

import numpy as np
import pytest

from engine.errors import UserError
from engine.generate.caps import ModelCaps
from engine.generate.compiler import compile
from engine.model.curves import Curve, Keyframe
from engine.model.items import Clip, MediaRef, Still, TextBlock
from engine.model.project import Track, new_project
from engine.time import FrameRange, FrameRate

LTX = ModelCaps(family="ltx", vae_temporal_compression=8, vae_spatial_compression=32, size_multiple=32,
                per_token_timesteps=True)


def _project(video_items=(), prompt_items=(), media=(), upper_video_items=()):
    project = new_project(64, 64, 24)
    tracks = project.timeline.tracks
    p1, v1, a1 = tracks
    project.timeline.tracks = [
        Track(p1.id, "prompt", "P1", tuple(sorted(prompt_items, key=lambda i: i.start))),
        Track("v2", "video", "V2", tuple(sorted(upper_video_items, key=lambda i: i.start))),
        Track(v1.id, "video", "V1", tuple(sorted(video_items, key=lambda i: i.start))),
        a1,
    ]
    project.media = {m.id: m for m in media}
    return project


def test_frame_mapping_of_a_causal_vae():
    assert LTX.num_latent_frames(1) == 1 and LTX.num_latent_frames(9) == 2 and LTX.num_latent_frames(25) == 4
    assert list(LTX.pixel_frames_of_latent(0)) == [0]
    assert list(LTX.pixel_frames_of_latent(1)) == [1, 2, 3, 4, 5, 6, 7, 8]
    assert [LTX.latent_of_pixel(p) for p in (0, 1, 8, 9, 16, 17)] == [0, 1, 1, 2, 2, 3]
    assert LTX.nearest_frame_count(24) == 25 and LTX.nearest_frame_count(20) == 17 and LTX.nearest_frame_count(0) == 1


def test_text_only_plan_is_free_with_one_prompt():
    plan = compile(_project(), FrameRange(0, 17), LTX, prompt="a red fox", negative="blurry")
    assert plan.num_latent_frames == 3
    assert plan.prompts == ("a red fox",) and plan.negatives == ("blurry",)
    np.testing.assert_array_equal(plan.latent_strength, np.zeros(3, np.float32))
    np.testing.assert_array_equal(plan.pixel_prompt, np.zeros(17, np.int64))
    assert not plan.has_conditions and plan.layers == ()


def test_image_on_one_frame_holds_its_latent_frame_golden():
    image = MediaRef("img", "/media/cat.png", "image")
    still = Still("s1", start=10, duration=1, media_id="img")
    plan = compile(_project([still], media=[image]), FrameRange(0, 17), LTX)
    expected_pixel = np.zeros(17, np.float32)
    expected_pixel[10] = 1.0
    np.testing.assert_array_equal(plan.pixel_strength, expected_pixel)
    # pixel 10 lives in latent frame 2 (pixels 9..16)
    np.testing.assert_array_equal(plan.latent_strength, np.array([0, 0, 1], np.float32))
    (layer,) = plan.layers
    np.testing.assert_array_equal(layer.pixel_source_frame, np.where(np.arange(17) == 10, 0, -1))
    assert plan.sources[0].path == "/media/cat.png"


def test_clip_with_fade_curve_and_range_offset_golden():
    video = MediaRef("vid", "/media/walk.mp4", "video", num_frames=100, rate=FrameRate(Fraction(24)))
    # the clip shows source frames 30.. from timeline frame 4; its influence fades 1 -> 0 over 8 frames
    clip = Clip("c1", start=4, media_id="vid", source_range=FrameRange(30, 60), curve=Curve.ramp(0, 8, 1.0, 0.0))
    plan = compile(_project([clip], media=[video]), FrameRange(8, 25), LTX)
    # generation pixel p is timeline frame 8+p, clip-local frame 4+p
    local = 4 + np.arange(17)
    expected_weight = np.clip(1.0 - local / 8.0, 0, 1).astype(np.float32)
    np.testing.assert_allclose(plan.pixel_strength, expected_weight, atol=1e-7)
    np.testing.assert_array_equal(plan.layers[0].pixel_source_frame, 30 + local)
    np.testing.assert_allclose(plan.latent_strength, [0.5, 0.375, 0.0], atol=1e-7)


def test_top_track_covers_the_one_below_and_blend_shares_frames():
    a = MediaRef("a", "/media/a.png", "image")
    b = MediaRef("b", "/media/b.png", "image")
    lower = Still("lo", start=0, duration=9, media_id="a")
    upper = Still("up", start=0, duration=9, media_id="b", curve=Curve((Keyframe(0, 1.0, "hold"), Keyframe(4, 0.5, "hold"))))
    plan = compile(_project([lower], media=[a, b], upper_video_items=[upper]), FrameRange(0, 9), LTX)
    up_layer, low_layer = plan.layers
    assert plan.sources[up_layer.source].path == "/media/b.png"
    np.testing.assert_allclose(up_layer.pixel_weight, [1, 1, 1, 1, .5, .5, .5, .5, .5])
    np.testing.assert_allclose(low_layer.pixel_weight, [0, 0, 0, 0, .5, .5, .5, .5, .5])
    np.testing.assert_allclose(plan.pixel_strength, np.ones(9))
    np.testing.assert_allclose(plan.latent_layer_weight, [[1, 1], [0, .5]])


def test_prompts_per_frame_from_text_blocks_golden():
    blocks = [TextBlock("t1", 0, 5, "sunrise"), TextBlock("t2", 9, 8, "storm", negative="calm")]
    plan = compile(_project(prompt_items=blocks), FrameRange(0, 25), LTX, prompt="sky", negative="ugly")
    assert plan.prompts == ("sunrise", "sky", "storm")
    assert plan.negatives == ("ugly", "ugly", "calm")
    expected = np.array([0] * 5 + [1] * 4 + [2] * 8 + [1] * 8)
    np.testing.assert_array_equal(plan.pixel_prompt, expected)
    # latent 1 = pixels 1..8: four "sunrise", four "sky" -> the first wins the tie
    np.testing.assert_array_equal(plan.latent_prompt, [0, 0, 2, 1])


def test_summary_is_json_and_arrays_are_read_only():
    image = MediaRef("img", "/media/cat.png", "image")
    plan = compile(_project([Still("s1", 0, 1, "img")], [TextBlock("t", 0, 9, "cat")], [image]), FrameRange(0, 9), LTX)
    summary = json.loads(json.dumps(plan.summary()))
    assert summary["latent_strength"] == [1.0, 0.0] and summary["prompts"] == [{"text": "cat", "negative": ""}]
    with pytest.raises(ValueError):
        plan.arrays()["latent_strength"][0] = 0.5


def test_bad_frame_count_and_size_name_the_fix():
    with pytest.raises(UserError, match="use 17 frames"):
        compile(_project(), FrameRange(0, 16), LTX)
    with pytest.raises(UserError, match="multiples of 32"):
        compile(_project(), FrameRange(0, 9), LTX, width=50, height=64)


def test_missing_media_is_a_clear_error():
    with pytest.raises(UserError, match="not in the project's media bin"):
        compile(_project([Still("s1", 0, 1, "gone")]), FrameRange(0, 9), LTX)


def test_picture_between_latent_frames_becomes_keyframe_tokens_golden():
    caps = ModelCaps(family="ltx", vae_temporal_compression=8, vae_spatial_compression=32, size_multiple=32,
                     per_token_timesteps=True, keyframe_tokens=True)
    image = MediaRef("img", "/media/cat.png", "image")
    on_grid = Still("a", start=8, duration=1, media_id="img")
    between = Still("b", start=13, duration=1, media_id="img", curve=Curve.flat(0.7))
    plan = compile(_project([on_grid], media=[image], upper_video_items=[between]), FrameRange(0, 17), caps)
    assert [(k.pixel_frame, k.source_frame, k.strength) for k in plan.keyframes] == [(13, 0, pytest.approx(0.7))]
    np.testing.assert_array_equal(plan.latent_strength, [0, 1, 0])  # frame 8 is latent frame 1's own time
    assert plan.pixel_strength[13] == pytest.approx(0.7) and plan.pixel_strength[8] == 1.0
    assert json.loads(json.dumps(plan.summary()))["keyframes"][0]["pixel_frame"] == 13
