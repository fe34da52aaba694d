"""The upscale tool on an LTX model with a latent upsampler: the clip's latents are doubled by
the upsampler, then re-denoised at low strength; without one, the pixel path stays."""

import pytest
import torch

from engine.errors import ModelError
from engine.generate import tools
from engine.generate.backends import load_backend
from engine.generate.media_io import fit_frames, read_video
from engine.generate.models import resolve
from engine.generate.run import run_recipe
from engine.generate.settings import SamplingSettings
from tests.generate.media import write_clip
from tests.generate.tiny_models import add_tiny_latent_upsampler, save_tiny_ltx

pytestmark = pytest.mark.filterwarnings("ignore")
SEED = 3


@pytest.fixture(scope="module")
def upsampling_ltx(tmp_path_factory):
    folder = add_tiny_latent_upsampler(save_tiny_ltx(tmp_path_factory.mktemp("models") / "tiny-ltx-up"))
    return load_backend(resolve(str(folder)), device="cpu")


@pytest.fixture(scope="module")
def clip(tmp_path_factory):
    return str(write_clip(tmp_path_factory.mktemp("media") / "clip.mp4", 17))  # 32x32


def test_held_upscale_is_exactly_the_upsampled_latents(upsampling_ltx, clip):
    assert upsampling_ltx.caps.latent_upsampler
    recipe = tools.upscale(upsampling_ltx.caps, clip, width=64, height=64, strength=0.0)
    assert recipe.latent_upsample and any("latent upsampler" in note for note in recipe.notes)
    frames, result = run_recipe(upsampling_ltx, recipe, SamplingSettings(steps=2, seed=SEED))
    assert frames.shape == (1, 17, 64, 64, 3)

    source = read_video(clip)
    encoded = upsampling_ltx.encode_frames(source, torch.Generator().manual_seed(SEED))  # at 32x32
    upsampled = upsampling_ltx.upsample_latents(encoded)
    assert upsampled.shape == (1, 8, 5, 16, 16) and encoded.shape == (1, 8, 5, 8, 8)
    # held at strength 1 with per-token timesteps: the result is the upsampler's output, untouched
    assert torch.equal(result.latents, upsampled)
    pixel_path = upsampling_ltx.encode_frames(fit_frames(source, 64, 64), torch.Generator().manual_seed(SEED))
    assert not torch.allclose(result.latents, pixel_path, atol=1e-2)


def test_upscale_re_denoises_the_upsampled_latents(upsampling_ltx, clip):
    recipe = tools.upscale(upsampling_ltx.caps, clip, width=64, height=64, strength=0.3)
    frames, result = run_recipe(upsampling_ltx, recipe, SamplingSettings(steps=4, seed=SEED))
    assert frames.shape == (1, 17, 64, 64, 3)
    upsampled = upsampling_ltx.upsample_latents(
        upsampling_ltx.encode_frames(read_video(clip), torch.Generator().manual_seed(SEED)))
    change = (result.latents - upsampled).abs().mean()
    assert 1e-3 < change < (torch.randn_like(upsampled) - upsampled).abs().mean()  # moved, but stays near


def test_pixel_path_without_an_upsampler_or_for_sizes_it_cannot_double(tiny_ltx, upsampling_ltx, clip):
    assert not tiny_ltx.caps.latent_upsampler
    assert not tools.upscale(tiny_ltx.caps, clip, width=64, height=64).latent_upsample
    # 44 is a valid size for this model (multiple of 4) but half of it is not
    assert not tools.upscale(upsampling_ltx.caps, clip, width=44, height=44).latent_upsample


def test_a_bare_latent_upsampler_folder_is_used_and_a_mismatched_one_refused(tmp_path):
    bare = add_tiny_latent_upsampler(save_tiny_ltx(tmp_path / "bare"), listed=False)
    assert load_backend(resolve(str(bare)), device="cpu").caps.latent_upsampler
    wrong = add_tiny_latent_upsampler(save_tiny_ltx(tmp_path / "wrong"), channels=4)
    with pytest.raises(ModelError, match="latent_upsampler is for 4-channel latents"):
        load_backend(resolve(str(wrong)), device="cpu")
