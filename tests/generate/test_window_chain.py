"""A chain of windows on tiny models of the real classes: each window holds exactly the latent
frames (and, with sound, the audio latent frames) the window before made, the chain's latents are
the plan's one for one, and finished windows are committed and read back."""

from __future__ import annotations

import copy
import dataclasses

import numpy as np
import pytest
import torch

from engine.generate import tools
from engine.generate.chain import generate_chain
from engine.generate.settings import SamplingSettings
from engine.generate.window_store import WindowStore
from engine.generate.windows import audio_span, first_new_audio_frame, window_layout

pytestmark = pytest.mark.filterwarnings("ignore")

SETTINGS = SamplingSettings(steps=2, guidance=3.0, seed=4, max_sequence_length=16)


def _windowed(backend, frames: int, overlap: int):
    """The backend with windows of `frames` frames sharing `overlap` (a copy: the fixture is shared)."""
    short = copy.copy(backend)
    short.caps = dataclasses.replace(backend.caps, window_frames=frames, window_overlap_frames=overlap)
    return short


def test_each_window_holds_the_latents_the_one_before_made(tiny_ltx, tmp_path):
    backend = _windowed(tiny_ltx, 25, 9)  # 4 pixel frames a latent frame: windows of 7 sharing 3
    recipe = tools.storyboard(backend.caps, width=32, height=32, num_frames=57, rate=24, prompt="a red fox",
                              prompts=[tools.PromptSpan(30, 57, "a blue bird")])
    windows = window_layout(57, backend.caps)
    assert len(windows) == 3 and all(w.held == 3 for w in windows[1:])
    store = WindowStore(tmp_path / "windows", "key-1")
    result = generate_chain(backend, recipe.plan, SETTINGS, store=store)
    assert result.frames.shape == (1, 57, 32, 32, 3) and result.latents.shape[2] == 15
    made = [store.load(w.index)[0] for w in windows]
    for before, after in zip(made, made[1:], strict=False):
        torch.testing.assert_close(after[:, :, :3], before[:, :, -3:], rtol=0, atol=0)
    # the chain's latents: the first window's, then each later window's new ones
    torch.testing.assert_close(result.latents, torch.cat([made[0], made[1][:, :, 3:], made[2][:, :, 3:]], dim=2),
                               rtol=0, atol=0)
    # run again with the same store: nothing is sampled, the result is the same
    steps = []
    again = generate_chain(backend, recipe.plan, SETTINGS, store=store, on_step=steps.append)
    assert not any("step" in p.message for p in steps)
    np.testing.assert_array_equal(again.frames, result.frames)


def test_a_chain_with_sound_continues_the_sound_of_the_window_before(tiny_ltx2, tmp_path):
    backend = _windowed(tiny_ltx2, 25, 9)
    recipe = tools.storyboard(backend.caps, width=32, height=32, num_frames=41, rate=25, prompt="a beach")
    plan = recipe.plan
    windows = window_layout(41, backend.caps)
    assert len(windows) == 2
    store = WindowStore(tmp_path / "windows", "key-2")
    result = generate_chain(backend, plan, SETTINGS, store=store)
    assert result.audio_latents.shape[:2] == (1, plan.num_audio_frames)
    assert result.audio is not None and result.audio.shape[0] == 1
    # as long as the sound of the whole plan: the vocoder's samples per audio latent frame times its frames
    one = tools.storyboard(backend.caps, width=32, height=32, num_frames=25, rate=25, prompt="a beach").plan
    alone = backend.generate(one, SETTINGS)
    per_frame = alone.audio.shape[2] / one.num_audio_frames
    assert result.audio.shape[2] == pytest.approx(per_frame * plan.num_audio_frames, abs=per_frame)
    (video_0, audio_0, _), (video_1, audio_1, _) = (store.load(w.index) for w in windows)
    held = windows[1].held
    torch.testing.assert_close(video_1[:, :, :held], video_0[:, :, -held:], rtol=0, atol=0)
    # the second window's sound starts with the first window's over the time they share
    first_0, _ = audio_span(plan, windows[0])
    first_1, _ = audio_span(plan, windows[1])
    shared = first_new_audio_frame(plan, windows[1]) - first_1
    assert shared > 0
    torch.testing.assert_close(audio_1[:, :shared], audio_0[:, first_1 - first_0:first_1 - first_0 + shared],
                               rtol=0, atol=0)
    # and the chain's sound is the first window's, then the second one's new frames
    torch.testing.assert_close(result.audio_latents[0, first_1 + shared:], audio_1[0, shared:][
        : plan.num_audio_frames - first_1 - shared], rtol=0, atol=0)


def test_the_chain_frames_are_one_decode_of_the_chains_latents(tiny_ltx):
    backend = _windowed(tiny_ltx, 25, 9)
    recipe = tools.storyboard(backend.caps, width=32, height=32, num_frames=81, rate=24, prompt="a red fox")
    assert len(window_layout(81, backend.caps)) == 5
    result = generate_chain(backend, recipe.plan, SETTINGS)
    whole = backend.decode(result.latents, SETTINGS, torch.Generator().manual_seed(SETTINGS.seed))
    assert whole.shape == result.frames.shape
    assert float(np.abs(whole - result.frames).max()) < 2.0 / 255.0


@pytest.mark.parametrize("family", ["tiny_ltx", "tiny_ltx2"])
def test_a_window_is_steered_to_its_anchor_while_it_is_sampled(family, request):
    """The pull to the anchor acts on every step: the finished latents already have the anchor's
    statistics, where a window sampled freely is far from them."""
    from engine.generate.chain import Anchor, pull, window_plan

    backend = _windowed(request.getfixturevalue(family), 25, 9)
    plan = tools.storyboard(backend.caps, width=32, height=32, num_frames=41, rate=25, prompt="a beach").plan
    first, second = window_layout(41, backend.caps)
    made = backend.generate(window_plan(plan, first), SETTINGS, decode=False).latents.float()
    channels = made.shape[1]
    anchor = Anchor(torch.linspace(-1.0, 1.0, channels).view(1, -1, 1, 1, 1),
                    torch.linspace(0.5, 2.0, channels).view(1, -1, 1, 1, 1), ("a beach",))
    sub = window_plan(plan, second, made[:, :, -second.held:].numpy())
    to_anchor = pull(second, anchor)
    free = backend.generate(sub, SETTINGS, decode=False).latents.float()
    steered = backend.generate(sub, SETTINGS, decode=False, steer=to_anchor).latents.float()
    torch.testing.assert_close(steered[:, :, :second.held], made[:, :, -second.held:], rtol=0, atol=1e-6)

    def off(latents):  # how far the new frames' per-channel mean and spread are from the anchor's
        new = latents[:, :, second.held:]
        return float((new.mean(dim=(2, 3, 4), keepdim=True) - anchor.mean).abs().mean()
                     + (new.std(dim=(2, 3, 4), keepdim=True) - anchor.std).abs().mean())
    assert off(steered) < 0.5 * off(free)


@pytest.mark.parametrize("family", ["tiny_ltx", "tiny_ltx2"])
def test_frame_guidance_scales_the_guidance_of_its_latent_frames(family, request):
    """A weight of 1 on every latent frame is the take's guidance, bit for bit; a weight of 0 on a
    latent frame removes its guidance, which changes that frame."""
    backend = request.getfixturevalue(family)
    plan = tools.storyboard(backend.caps, width=32, height=32, num_frames=17, rate=25, prompt="a beach").plan
    frames = plan.num_latent_frames
    plain = backend.generate(plan, SETTINGS, decode=False).latents
    ones = backend.generate(plan, SETTINGS, decode=False, frame_guidance=[1.0] * frames).latents
    torch.testing.assert_close(ones, plain, rtol=0, atol=0)
    eased = backend.generate(plan, SETTINGS, decode=False, frame_guidance=[0.0] * 2 + [1.0] * (frames - 2)).latents
    assert float((eased - plain)[:, :, :2].abs().mean()) > 1e-3
