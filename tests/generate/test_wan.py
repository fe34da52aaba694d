"""The Wan backend: conformance with diffusers' WanPipeline, held frames and per-frame prompts."""

import numpy as np
import pytest
import torch

from engine.generate import tools
from engine.generate.backends import load_backend
from engine.generate.models import resolve
from engine.generate.settings import SamplingSettings
from tests.generate.media import moving_square, write_png
from tests.generate.tiny_models import save_tiny_wan

pytestmark = pytest.mark.filterwarnings("ignore")
SIZE = {"width": 16, "height": 16}


@pytest.fixture(scope="module")
def wan_dir(tmp_path_factory):
    return save_tiny_wan(tmp_path_factory.mktemp("models") / "tiny-wan")


@pytest.fixture(scope="module")
def wan(wan_dir):
    return load_backend(resolve(str(wan_dir)), device="cpu")


def test_text_to_video_equals_wan_pipeline(wan, wan_dir):
    from diffusers import WanPipeline

    assert wan.caps.family == "wan" and not wan.caps.per_token_timesteps
    recipe = tools.text_to_video(wan.caps, num_frames=9, prompt="a paper boat", negative="dark", **SIZE)
    ours = wan.generate(recipe.plan, SamplingSettings(steps=3, guidance=5.0, seed=2, max_sequence_length=16)).frames
    pipe = WanPipeline.from_pretrained(wan_dir, local_files_only=True)
    reference = pipe("a paper boat", negative_prompt="dark", height=16, width=16, num_frames=9, num_inference_steps=3,
                     generator=torch.Generator().manual_seed(2), max_sequence_length=16, output_type="np").frames
    assert ours.shape == reference.shape == (1, 9, 16, 16, 3)
    assert np.abs(ours - reference).max() <= 1e-4


def test_held_first_frame_stays_on_its_source_with_the_fallback(wan, tmp_path):
    image = write_png(tmp_path / "first.png", moving_square(1, size=16, seed=6)[0])
    recipe = tools.image_to_video(wan.caps, str(image), frame=0, num_frames=9, prompt="waves", **SIZE)
    result = wan.generate(recipe.plan, SamplingSettings(steps=3, seed=1, max_sequence_length=16))
    from engine.generate.media_io import read_image

    encoded = wan.encode_frames(read_image(image)[None])
    assert torch.allclose(result.latents[:, :, :1], encoded, atol=1e-6)  # pinned to the source at the end
    assert not torch.allclose(result.latents[:, :, 1:2], encoded, atol=1e-2)


def test_per_frame_prompts_in_one_pass(wan):
    def latents(spans):
        recipe = tools.storyboard(wan.caps, num_frames=9, prompt="a quiet lake", prompts=spans, **SIZE)
        return wan.generate(recipe.plan, SamplingSettings(steps=1, seed=4, max_sequence_length=16), decode=False).latents

    alone = latents([])
    board = latents([tools.PromptSpan(5, 9, "a volcano erupts")])
    # the tiny Wan has two blocks, so other frames may change through self-attention, but the
    # frames under the second prompt must see it
    assert (alone[:, :, 2] - board[:, :, 2]).abs().max() > 1e-3
    assert all(p.bias is None for p in wan.processors)  # the gate is cleared after each job


def test_wan22_per_token_timesteps(tmp_path, tmp_path_factory):
    folder = save_tiny_wan(tmp_path / "ti2v", expand_timesteps=True)
    backend = load_backend(resolve(str(folder)), device="cpu")
    assert backend.caps.per_token_timesteps
    image = write_png(tmp_path / "first.png", moving_square(1, size=16, seed=6)[0])
    recipe = tools.image_to_video(backend.caps, str(image), frame=0, num_frames=9, prompt="waves", **SIZE)
    result = backend.generate(recipe.plan, SamplingSettings(steps=2, seed=1, max_sequence_length=16))
    from engine.generate.media_io import read_image

    assert torch.equal(result.latents[:, :, :1], backend.encode_frames(read_image(image)[None]))
    assert result.frames.shape == (1, 9, 16, 16, 3)


def test_the_frame_layout_read_from_the_vae_config_is_the_loaded_models(wan, wan_dir, tiny_ltx, tiny_ltx_dir):
    from engine.generate.models import BUNDLED_MODEL, frame_layout, inspect_model

    for backend, folder in ((wan, wan_dir), (tiny_ltx, tiny_ltx_dir)):
        caps = backend.caps
        assert frame_layout(inspect_model(folder)) == (caps.vae_temporal_compression, caps.vae_spatial_compression)
    assert frame_layout(inspect_model(BUNDLED_MODEL)) == (4, 8)  # the bundled model's VAE (see docs/toyworld.md)


def test_outside_the_guidance_interval_the_model_runs_on_the_conditional_half_alone(wan):
    recipe = tools.text_to_video(wan.caps, num_frames=9, prompt="a paper boat", negative="dark", **SIZE)

    def latents(**settings):
        return wan.generate(recipe.plan, SamplingSettings(steps=3, seed=2, max_sequence_length=16, **settings),
                            decode=False).latents

    unguided, guided = latents(guidance=1.0), latents(guidance=5.0)
    assert (guided - unguided).abs().max() > 1e-3
    # No step's level in the interval: every step is the conditional prediction alone.
    assert torch.allclose(latents(guidance=5.0, guidance_interval=(0.0, 0.01)), unguided, atol=1e-5)
    assert torch.allclose(latents(guidance=5.0, guidance_interval=(0.0, 1.0)), guided, atol=1e-5)


def test_a_chain_of_windows_on_the_causal_vae_is_one_decode_of_its_latents(wan):
    """Wan's VAE decodes causally: a span's pictures depend on the latent frames before it. The
    chain decodes each span with the decoder's reach of context and matches one whole decode."""
    import copy
    import dataclasses

    from engine.generate.chain import decode_reach, generate_chain
    from engine.generate.windows import window_layout

    short = copy.copy(wan)
    short.caps = dataclasses.replace(wan.caps, window_frames=13, window_overlap_frames=5)
    plan = tools.text_to_video(short.caps, **SIZE, num_frames=37, rate=16, prompt="a red fox").plan
    assert len(window_layout(37, short.caps)) == 4
    settings = SamplingSettings(steps=2, guidance=1.0, seed=3, max_sequence_length=16)
    result = generate_chain(short, plan, settings)
    assert 0 < decode_reach(short) <= 8
    whole = short.decode(result.latents, settings, torch.Generator().manual_seed(3))
    assert whole.shape == result.frames.shape == (1, 37, 16, 16, 3)
    assert float(np.abs(whole - result.frames).max()) < 2.0 / 255.0


def test_guided_steps_run_the_unconditional_and_conditional_halves_in_two_passes(wan):
    """As WanPipeline does: on a GPU it takes the same time per step as one pass over both halves
    at half the activations (tests/bench/gpu_real_sizes.py), and the result is the same."""
    recipe = tools.text_to_video(wan.caps, num_frames=9, prompt="a paper boat", negative="dark", **SIZE)
    batches = []
    hook = wan.transformer.register_forward_pre_hook(
        lambda _module, _args, kwargs: batches.append(kwargs["hidden_states"].shape[0]), with_kwargs=True)
    try:
        wan.generate(recipe.plan, SamplingSettings(steps=2, guidance=5.0, seed=2, max_sequence_length=16, variations=2),
                     decode=False)
    finally:
        hook.remove()
    assert batches == [2] * 4  # two steps, each an unconditional and a conditional pass over both videos
