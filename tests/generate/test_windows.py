"""A plan longer than one window compiled into a chain of windows: golden tests of the split."""

import dataclasses
import json

import numpy as np
import pytest
from PIL import Image

from engine.generate import tools
from engine.generate.caps import ModelCaps
from engine.generate.windows import overlap_latents, summary, window_layout, window_plan
from tests.generate.media import write_tone

# the bundled model's layout: 4 pixel frames per latent frame; windows of 33 frames sharing 9
CAPS = ModelCaps(family="ltx", vae_temporal_compression=4, vae_spatial_compression=8, size_multiple=8,
                 per_token_timesteps=True, window_frames=33, window_overlap_frames=9)


def _image(path, colour):
    Image.new("RGB", (64, 64), colour).save(path)
    return str(path)


def test_a_range_the_model_makes_at_once_is_one_window():
    (only,) = window_layout(33, CAPS)
    assert (only.start, only.stop, only.held, only.first_new_frame) == (0, 33, 0, 0)


def test_windows_cover_the_plan_share_their_held_frames_and_are_about_equal():
    for num_frames in (37, 57, 101, 153, 249, 1001):
        windows = window_layout(num_frames, CAPS)
        assert windows[0].start == 0 and windows[-1].stop == num_frames
        lengths = [w.num_frames for w in windows]
        assert max(lengths) <= 33 and max(lengths) - min(lengths) <= 4  # one latent frame apart at most
        for before, after in zip(windows, windows[1:], strict=False):
            assert after.held == overlap_latents(CAPS) == 3
            # the held latent frames are the last ones of the window before, one for one
            assert after.first_latent == before.first_latent + before.num_latent_frames - after.held
            assert before.stop == after.first_new_frame  # nothing made twice, nothing left out
        # the chain's latent frames are the plan's: the first window's, then each later one's new ones
        assert sum(w.num_latent_frames - w.held for w in windows) == (num_frames - 1) // 4 + 1
    assert len(window_layout(249, CAPS)) == 10


def test_six_windows_keep_keyframes_and_prompts_of_their_own_span_golden(tmp_path):
    num_frames = 153  # 39 latent frames: 6 windows of 9, each holding 3 from the one before
    windows = window_layout(num_frames, CAPS)
    assert [(w.start, w.stop, w.first_new_frame) for w in windows] == [
        (0, 33, 0), (24, 57, 33), (48, 81, 57), (72, 105, 81), (96, 129, 105), (120, 153, 129)]
    red, green, blue = (_image(tmp_path / f"{c}.png", c) for c in ("red", "green", "blue"))
    # stills in window 1, window 3 (where only it makes frames) and the last window
    cards = [tools.Card(red, 10, 1.0), tools.Card(green, 70, 1.0), tools.Card(blue, 150, 0.8)]
    prompts = [tools.PromptSpan(0, 30, "a red circle"), tools.PromptSpan(30, 100, "a blue square"),
               tools.PromptSpan(100, 153, "a green star")]
    plan = tools.storyboard(CAPS, width=64, height=64, num_frames=num_frames, rate=25, prompt="a background",
                            cards=cards, prompts=prompts).plan
    held_at = {}
    for window in windows:
        held = None if window.index == 0 else np.zeros((1, 16, 3, 8, 8), np.float32)
        part = window_plan(plan, window, held)
        span = slice(window.start, window.stop)
        assert part.num_frames == window.num_frames and part.frame_range.start == window.start
        # each frame follows the prompt it follows in the whole plan, and only those prompts are encoded
        texts = [part.prompts[i] for i in part.pixel_prompt]
        assert texts == [plan.prompts[i] for i in plan.pixel_prompt[span]]
        assert set(part.prompts) == set(texts)
        # what each frame holds is what it holds in the whole plan, shifted to the window
        whole = np.sum([layer.pixel_weight[span] for layer in plan.layers], axis=0)
        mine = np.sum([layer.pixel_weight for layer in part.layers], axis=0) if part.layers else np.zeros(len(whole))
        new = window.first_new_frame - window.start
        np.testing.assert_allclose(mine[new:], whole[new:])
        held_at[window.index] = sorted(window.start + int(np.flatnonzero(layer.pixel_weight > 0)[0])
                                       for layer in part.layers)
        if held is not None:  # the window before's latent frames held at its start
            np.testing.assert_array_equal(part.latent_strength[:3], [1, 1, 1])
            assert part.has_conditions and part.held_latents is held
    assert held_at[0] == [10] and held_at[2] == [70] and held_at[5] == [150]
    assert held_at[1] == held_at[3] == held_at[4] == []
    # the prompt boundary at frame 30 falls inside window 2 (24..57): it follows both
    assert set(window_plan(plan, windows[1], np.zeros((1, 16, 3, 8, 8), np.float32)).prompts) == {
        "a red circle", "a blue square"}


def test_plan_summary_of_windows_is_json_with_timeline_frames(tmp_path):
    plan = tools.text_to_video(CAPS, width=64, height=64, num_frames=57, rate=25, prompt="a red circle").plan
    plan = dataclasses.replace(plan, frame_range=type(plan.frame_range)(100, 157))
    printed = json.loads(json.dumps(summary(plan, CAPS)))
    assert [w["timeline"] for w in printed] == [[100, 133], [124, 157]]
    assert printed[1]["held_latent_frames"] == 3 and printed[1]["first_new_frame"] == 33


def test_held_sound_is_split_with_its_windows(tmp_path):
    caps = dataclasses.replace(CAPS, audio_latents_per_second=25.0, audio_sample_rate=16000)
    tone = str(write_tone(tmp_path / "tone.wav", 2.0))
    plan = tools.storyboard(caps, width=64, height=64, num_frames=57, rate=25, prompt="a beach",
                            cards=[], sounds=[tools.Card(tone, 20, 0.7)],
                            prompts=[tools.PromptSpan(0, 28, "calm"), tools.PromptSpan(28, 57, "storm")]).plan
    assert plan.num_audio_frames == 57
    for window in window_layout(57, caps):
        part = window_plan(plan, window)
        take = slice(window.start, window.stop)  # one audio latent frame per picture frame here
        assert part.num_audio_frames == window.num_frames
        np.testing.assert_allclose(part.audio_strength, plan.audio_strength[take])
        np.testing.assert_allclose(part.audio_layers[0].audio_source_time, plan.audio_layers[0].audio_source_time[take])
        assert [part.prompts[i] for i in part.audio_prompt] == [plan.prompts[i] for i in plan.audio_prompt[take]]
    # the sound from frame 20 on crosses the boundary: both windows hold it where it sounds
    first, second = (window_plan(plan, w) for w in window_layout(57, caps))
    assert first.audio_strength[20:].min() == pytest.approx(0.7) and second.audio_strength.min() == pytest.approx(0.7)
