"""The SkyReels-V2 diffusion forcing backend: conformance with diffusers'
SkyReelsV2DiffusionForcingPipeline, held frames at their own timestep, per-frame prompts."""

import numpy as np
import pytest
import torch

from engine.generate import tools
from engine.generate.backends import load_backend
from engine.generate.media_io import read_image
from engine.generate.models import resolve
from engine.generate.settings import SamplingSettings
from tests.generate.media import moving_square, write_png
from tests.generate.tiny_models import save_tiny_skyreels

pytestmark = pytest.mark.filterwarnings("ignore")
SIZE = {"width": 16, "height": 16}


@pytest.fixture(scope="module")
def skyreels_dir(tmp_path_factory):
    return save_tiny_skyreels(tmp_path_factory.mktemp("models") / "tiny-skyreels")


@pytest.fixture(scope="module")
def skyreels(skyreels_dir):
    return load_backend(resolve(str(skyreels_dir)), device="cpu")


def test_text_to_video_equals_the_diffusion_forcing_pipeline(skyreels, skyreels_dir):
    from diffusers import SkyReelsV2DiffusionForcingPipeline, WanPipeline

    info = resolve(str(skyreels_dir))
    assert info.family == "skyreels" and info.usable
    assert skyreels.caps.family == "skyreels" and skyreels.caps.per_token_timesteps
    recipe = tools.text_to_video(skyreels.caps, num_frames=9, prompt="a paper boat", negative="dark", **SIZE)
    ours = skyreels.generate(recipe.plan, SamplingSettings(steps=3, guidance=6.0, seed=2,
                                                           max_sequence_length=16)).frames
    pipe = SkyReelsV2DiffusionForcingPipeline.from_pretrained(skyreels_dir, local_files_only=True)

    # The pipeline's own prompt cleaning needs the optional ftfy package; WanPipeline's copy of the
    # same encoder code does without it, so the reference embeddings come from there.
    def embed(text):
        return WanPipeline._get_t5_prompt_embeds(pipe, prompt=text, max_sequence_length=16,
                                                 device=torch.device("cpu"), dtype=torch.float32)

    reference = pipe(None, prompt_embeds=embed("a paper boat"), negative_prompt_embeds=embed("dark"), height=16,
                     width=16, num_frames=9, num_inference_steps=3, guidance_scale=6.0,
                     generator=torch.Generator().manual_seed(2), output_type="np").frames
    assert ours.shape == reference.shape == (1, 9, 16, 16, 3)
    assert np.abs(ours - reference).max() <= 1e-4
    assert ours.std() > 1e-3  # a real picture, not a constant one that would match anything


def test_held_first_frame_never_moves(skyreels, tmp_path):
    image = write_png(tmp_path / "first.png", moving_square(1, size=16, seed=6)[0])
    recipe = tools.image_to_video(skyreels.caps, str(image), frame=0, num_frames=9, prompt="waves", **SIZE)
    seen = []

    def record(_module, _args, kwargs):
        seen.append((kwargs["hidden_states"][:, :, :1].clone(), kwargs["timestep"].clone()))

    hook = skyreels.transformer.register_forward_pre_hook(record, with_kwargs=True)
    try:
        result = skyreels.generate(recipe.plan, SamplingSettings(steps=3, seed=1, max_sequence_length=16))
    finally:
        hook.remove()
    encoded = skyreels.encode_frames(read_image(image)[None])
    # per-token timesteps: the held frame is told timestep 0 and is its condition latent, bit for
    # bit, at every step (not re-noised and replaced), while the free frames are at the schedule's level
    assert len(seen) == 3 * 2  # three steps, each video of the guided batch on its own (fps embedding)
    for frame, timestep in seen:
        assert torch.equal(frame, encoded) and bool((timestep[:, 0] == 0).all()) and bool((timestep[:, 1:] > 0).all())
    assert torch.equal(result.latents[:, :, :1], encoded)
    assert not torch.allclose(result.latents[:, :, 1:2], encoded, atol=1e-2)
    assert result.frames.shape == (1, 9, 16, 16, 3)


def test_each_prompt_reaches_only_its_own_frames_at_the_first_step(tmp_path):
    # With one block, self-attention comes before cross-attention, so a frame's first velocity
    # depends on no other frame's prompt: frames outside the edited span must not change at all.
    folder = save_tiny_skyreels(tmp_path / "one-block", num_layers=1)
    backend = load_backend(resolve(str(folder)), device="cpu")

    def first_step(spans):
        recipe = tools.storyboard(backend.caps, num_frames=9, prompt="a quiet lake", prompts=spans, **SIZE)
        return backend.generate(recipe.plan, SamplingSettings(steps=1, seed=4, max_sequence_length=16),
                                decode=False).latents

    alone = first_step([])
    board = first_step([tools.PromptSpan(5, 9, "a volcano erupts")])
    assert torch.allclose(alone[:, :, :2], board[:, :, :2], atol=1e-5)  # latent frames 0-1: pixel frames 0-4
    assert (alone[:, :, 2] - board[:, :, 2]).abs().max() > 1e-3  # latent frame 2: pixel frames 5-8
    assert all(p.bias is None for p in backend.processors)
