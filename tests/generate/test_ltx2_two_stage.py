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
