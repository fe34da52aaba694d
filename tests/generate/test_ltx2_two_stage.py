"""With a latent upsampler in the folder, LTX-2 runs the reference two-stage recipe: half size
first, the latents doubled, a short second stage at full size; held frames stay held."""

import shutil

import numpy as np
import pytest
import torch

from engine.generate import tools
from engine.generate.settings import SamplingSettings
from tests.generate.media import write_png

pytestmark = pytest.mark.filterwarnings("ignore")

PLAIN = (("stg", 0.0), ("modality", 1.0), ("rescale", 0.0), ("audio_stg", 0.0), ("audio_modality", 1.0),
         ("audio_rescale", 0.0))


@pytest.fixture(scope="module")
def two_stage(tiny_ltx2_dir, tmp_path_factory):
    from engine.generate.backends import load_backend
    from engine.generate.models import resolve
    from tests.generate.tiny_ltx2 import add_tiny_ltx2_upsampler

    folder = tmp_path_factory.mktemp("models") / "ltx2-up"
    shutil.copytree(tiny_ltx2_dir, folder)
    add_tiny_ltx2_upsampler(folder)
    return load_backend(resolve(str(folder)), device="cpu")


def test_half_size_first_then_three_unguided_steps_at_full_size(two_stage, tmp_path):
    assert two_stage.caps.latent_upsampler
    picture = (np.random.default_rng(2).random((32, 32, 3)) * 255).astype(np.uint8)
    image = str(write_png(tmp_path / "first.png", picture))
    recipe = tools.storyboard(two_stage.caps, width=32, height=32, num_frames=9, rate=25, prompt="a cat",
                              cards=[tools.Card(image, 0, 1.0)])
    calls = []
    handle = two_stage.transformer.register_forward_pre_hook(
        lambda _module, _args, kwargs: calls.append(tuple(kwargs["hidden_states"].shape[:2])), with_kwargs=True)
    try:
        result = two_stage.generate(recipe.plan, SamplingSettings(steps=2, guidance=3.0, seed=1, max_sequence_length=16,
                                                                  guidance_terms=PLAIN))
    finally:
        handle.remove()
    half, full = 5 * 8 * 8, 5 * 16 * 16  # latent frames x rows x columns at 16x16 and 32x32 pixels
    assert calls == [(2, half)] * 2 + [(1, full)] * 3  # guided (uncond, cond) first, then unguided
    assert result.frames.shape == (1, 9, 32, 32, 3) and result.audio.shape[:2] == (1, 2)
    from engine.generate.media_io import fit_frames

    held = two_stage.encode_frames(fit_frames(picture[None], 32, 32))
    assert torch.equal(result.latents[:, :, :1], held)  # the held first frame never moved in either stage


def test_two_stage_equals_ltx2_pipelines_chained_by_hand(two_stage, tiny_ltx2_dir):
    """(64x64 pixels: the pipelines take sizes in multiples of 32.) The reference two-stage recipe written with diffusers' pipelines: LTX2Pipeline at half size
    (latents out), LTX2LatentUpsamplePipeline, then LTX2Pipeline again at full size from the
    upsampled latents and the first stage's sound, re-noised to the first of the stage-2 levels,
    which are used as they are (no shift), one generator running through both stages."""
    from diffusers import FlowMatchEulerDiscreteScheduler, LTX2LatentUpsamplePipeline, LTX2Pipeline
    from diffusers.pipelines.ltx2 import LTX2LatentUpsamplerModel
    from diffusers.pipelines.ltx2.utils import STAGE_2_DISTILLED_SIGMA_VALUES

    from engine.generate.compiler import compile
    from engine.model.project import new_project
    from engine.time import FrameRange
    from tests.generate.test_ltx2_conformance import PLAIN_GUIDANCE, PLAIN_TERMS

    plan = compile(new_project(64, 64, 25), FrameRange(0, 9), two_stage.caps, prompt="a robot dancing",
                   negative="blurry")
    ours = two_stage.generate(plan, SamplingSettings(steps=3, guidance=3.0, seed=7, max_sequence_length=16,
                                                     guidance_terms=PLAIN_TERMS))

    pipe = LTX2Pipeline.from_pretrained(tiny_ltx2_dir, local_files_only=True)
    generator = torch.Generator().manual_seed(7)
    common = dict(prompt="a robot dancing", negative_prompt="blurry", num_frames=9, frame_rate=25.0,
                  max_sequence_length=16, generator=generator, return_dict=False, **PLAIN_GUIDANCE)
    video_latents, audio_latents = pipe(height=32, width=32, num_inference_steps=3, guidance_scale=3.0,
                                        audio_guidance_scale=3.0, output_type="latent", **common)
    upsampler = LTX2LatentUpsamplerModel.from_pretrained(two_stage.name + "/latent_upsampler", local_files_only=True)
    upsampled = LTX2LatentUpsamplePipeline(vae=pipe.vae, latent_upsampler=upsampler)(
        latents=video_latents, height=32, width=32, output_type="latent", return_dict=False)[0]
    pipe.scheduler = FlowMatchEulerDiscreteScheduler.from_config(pipe.scheduler.config, use_dynamic_shifting=False,
                                                                 shift_terminal=None)
    video, audio = pipe(height=64, width=64, latents=upsampled, audio_latents=audio_latents, num_inference_steps=3,
                        sigmas=STAGE_2_DISTILLED_SIGMA_VALUES, noise_scale=STAGE_2_DISTILLED_SIGMA_VALUES[0],
                        guidance_scale=1.0, audio_guidance_scale=1.0, output_type="pt", **common)
    video = video.permute(0, 1, 3, 4, 2).numpy()
    assert ours.frames.shape == video.shape == (1, 9, 64, 64, 3)
    assert np.abs(ours.frames - video).max() <= 1e-4
    assert ours.audio.shape == tuple(audio.shape)
    assert np.abs(ours.audio - audio.numpy()).max() <= 1e-4
    # the second stage really acts: the first stage's latents doubled and decoded as they are are another video
    doubled = two_stage.decode(two_stage._normalize(upsampled), SamplingSettings())
    assert doubled.shape == video.shape and np.abs(doubled - video).max() > 1e-3


def test_every_window_of_a_chain_runs_both_stages_and_holds_both_stages_latents(two_stage, tmp_path):
    """A chain's later window holds the window before's first-stage latents at half size in its first
    stage and its final latents in the second: every window runs the recipe a window alone runs,
    and a resumed chain reads both back from its store."""
    import copy
    import dataclasses

    from engine.generate.chain import generate_chain
    from engine.generate.window_store import WindowStore
    from engine.generate.windows import window_layout

    backend = copy.copy(two_stage)
    backend.caps = dataclasses.replace(two_stage.caps, window_frames=9, window_overlap_frames=5)
    recipe = tools.text_to_video(backend.caps, width=32, height=32, num_frames=21, rate=25, prompt="a cat")
    windows = window_layout(21, backend.caps)
    assert len(windows) == 3 and all(w.num_latent_frames == 5 and w.held == 2 for w in windows[1:])
    settings = SamplingSettings(steps=2, guidance=3.0, seed=1, max_sequence_length=16, guidance_terms=PLAIN)
    calls = []
    handle = two_stage.transformer.register_forward_pre_hook(
        lambda _module, _args, kwargs: calls.append(tuple(kwargs["hidden_states"].shape[:2])), with_kwargs=True)
    try:
        store = WindowStore(tmp_path / "windows", "key")
        result = generate_chain(backend, recipe.plan, settings, store=store)
    finally:
        handle.remove()
    half, full = 5 * 8 * 8, 5 * 16 * 16
    assert calls == ([(2, half)] * 2 + [(1, full)] * 3) * 3
    made = [store.load(w.index) for w in windows]
    assert all(m.first_stage_latents.shape[3:] == (8, 8) and m.latents.shape[3:] == (16, 16) for m in made)
    for before, after in zip(made, made[1:]):
        assert torch.equal(after.latents[:, :, :2], before.latents[:, :, -2:])
        assert torch.equal(after.first_stage_latents[:, :, :2], before.first_stage_latents[:, :, -2:])
    assert result.frames.shape == (1, 21, 32, 32, 3)
    # killed after window 2: run again, window 3 starts from both stages of window 2 as stored
    store.path(2).unlink()
    again = generate_chain(backend, recipe.plan, settings, store=WindowStore(tmp_path / "windows", "key"))
    torch.testing.assert_close(again.latents, result.latents, rtol=0, atol=1e-5)  # float sums' order aside
    np.testing.assert_allclose(again.frames, result.frames, rtol=0, atol=1e-4)
