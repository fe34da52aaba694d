"""The contract every backend keeps, run on a tiny model of each family in the family table."""

import numpy as np
import pytest
import torch

from engine.generate import tools
from engine.generate.backends import FAMILY_TABLE, backend_class, family_named, load_backend
from engine.generate.backends.base import Backend
from engine.generate.media_io import fit_frames, read_image, read_video
from engine.generate.models import resolve
from engine.generate.settings import SamplingSettings
from engine.progress import CancelToken, JobCancelled
from tests.generate.media import moving_square, write_clip, write_png
from tests.generate.tiny_models import save_tiny_skyreels, save_tiny_wan

pytestmark = pytest.mark.filterwarnings("ignore")
SIZES = {"ltx": 32, "ltx2": 32, "wan": 16, "skyreels": 16}  # small multiples of each tiny model's size_multiple
NUM_FRAMES = 9


@pytest.fixture(scope="module", params=[family.name for family in FAMILY_TABLE])
def backend(request, tmp_path_factory):
    if request.param in ("ltx", "ltx2"):
        return request.getfixturevalue(f"tiny_{request.param}")
    save = {"wan": save_tiny_wan, "skyreels": save_tiny_skyreels}[request.param]
    folder = save(tmp_path_factory.mktemp("models") / f"tiny-{request.param}")
    return load_backend(resolve(str(folder)), device="cpu")


def _size(backend):
    return {"width": SIZES[backend.family], "height": SIZES[backend.family]}


def _settings(**changes):
    return SamplingSettings(**{"steps": 2, "seed": 5, "max_sequence_length": 16, **changes})


def _blocks(backend):
    """The denoiser's blocks, as diffusers names them in each family's transformer."""
    transformer = backend.transformer
    return list(getattr(transformer, "transformer_blocks", None) or transformer.blocks)


def test_the_family_table_names_this_backend_and_its_caps_are_consistent(backend):
    assert isinstance(backend, Backend)
    family = family_named(backend.family)
    assert family is not None and isinstance(backend, backend_class(family))
    caps = backend.caps
    assert caps.family == backend.family
    assert caps.size_multiple % caps.vae_spatial_compression == 0
    tc = caps.vae_temporal_compression
    assert [n for n in range(1, 3 * tc + 2) if caps.is_valid_frame_count(n)] == [1, tc + 1, 2 * tc + 1, 3 * tc + 1]
    assert all(caps.is_valid_frame_count(caps.nearest_frame_count(n)) for n in range(1, 40))
    assert caps.num_latent_frames(NUM_FRAMES) == (NUM_FRAMES - 1) // tc + 1
    # what the caps promise is what the loaded model takes: an encoded clip has the planned latent grid
    size = SIZES[backend.family]
    latents = backend.encode_frames(moving_square(NUM_FRAMES, size=size), torch.Generator().manual_seed(0))
    assert tuple(latents.shape) == (1, backend.latent_channels, caps.num_latent_frames(NUM_FRAMES),
                                    size // caps.vae_spatial_compression, size // caps.vae_spatial_compression)


def test_a_text_only_plan_generates_frames_of_the_planned_shape_and_seeds(backend):
    recipe = tools.text_to_video(backend.caps, num_frames=NUM_FRAMES, prompt="a paper boat", **_size(backend))
    result = backend.generate(recipe.plan, _settings(variations=2))
    size = SIZES[backend.family]
    assert result.seeds == [5, 6]
    assert result.frames.shape == (2, NUM_FRAMES, size, size, 3) and result.frames.dtype == np.float32
    assert result.frames.min() >= 0.0 and result.frames.max() <= 1.0
    assert result.latents.shape[:3] == (2, backend.latent_channels, recipe.plan.num_latent_frames)
    assert np.abs(result.frames[0] - result.frames[1]).max() > 1e-3  # each variation has its own seed
    again = backend.generate(recipe.plan, _settings(seed=6))
    assert torch.allclose(again.latents[0], result.latents[1], atol=1e-5)  # seed 6 alone is the second variation


def test_a_frame_held_at_strength_one_is_kept(backend, tmp_path):
    size = SIZES[backend.family]
    image = write_png(tmp_path / "first.png", moving_square(1, size=size, seed=6)[0])
    recipe = tools.image_to_video(backend.caps, str(image), frame=0, strength=1.0, num_frames=NUM_FRAMES,
                                  prompt="waves", **_size(backend))
    result = backend.generate(recipe.plan, _settings())
    encoded = backend.encode_frames(read_image(image)[None], torch.Generator().manual_seed(5))
    assert torch.allclose(result.latents[:, :, :1], encoded, atol=1e-5)  # the held latent frame is its source's
    assert not torch.allclose(result.latents[:, :, 1:2], encoded, atol=1e-2)  # the free ones are not


def test_a_clip_held_at_strength_one_decodes_to_its_vae_round_trip(backend, tmp_path):
    # (the tiny decoders mix every latent frame into every picture, so a lone held frame's picture
    # has no round trip of its own to compare with; a wholly held clip does)
    size = SIZES[backend.family]
    clip = write_clip(tmp_path / "clip.mp4", NUM_FRAMES, seed=2)
    recipe = tools.remix(backend.caps, str(clip), strength=0.0, prompt="a storm", **_size(backend))
    assert recipe.plan.latent_strength.min() == 1.0
    result = backend.generate(recipe.plan, _settings())
    source = fit_frames(read_video(clip), size, size)
    round_trip = backend.decode(backend.encode_frames(source, torch.Generator().manual_seed(5)), _settings())
    assert result.frames.shape == round_trip.shape
    assert np.abs(result.frames - round_trip).max() < 1e-4
    free = tools.text_to_video(backend.caps, num_frames=NUM_FRAMES, prompt="a storm", **_size(backend))
    assert np.abs(backend.generate(free.plan, _settings()).frames - round_trip).max() > 1e-2


def test_two_prompts_in_one_plan(backend):
    def latents(spans):
        recipe = tools.storyboard(backend.caps, num_frames=NUM_FRAMES, prompt="a quiet lake", prompts=spans,
                                  **_size(backend))
        return backend.generate(recipe.plan, _settings(steps=1, guidance=3.0), decode=False).latents

    alone = latents([])
    board = latents([tools.PromptSpan(5, NUM_FRAMES, "a volcano erupts")])
    assert (alone[:, :, 2] - board[:, :, 2]).abs().max() > 1e-3  # the frames under the second prompt see it
    assert torch.equal(latents([]), alone)  # and the prompt gate is gone after the job


def test_cancel_between_steps_and_inside_a_step(backend):
    recipe = tools.text_to_video(backend.caps, num_frames=NUM_FRAMES, prompt="fog", **_size(backend))
    token, steps = CancelToken(), []

    def on_step(progress):
        steps.append(progress.step)
        token.cancel()

    with pytest.raises(JobCancelled):
        backend.generate(recipe.plan, _settings(steps=3), on_step=on_step, cancel=token)
    assert steps == [1]

    # cancelled while the denoiser's first block is about to run: no block runs after it
    token, finished = CancelToken(), []
    blocks = _blocks(backend)
    hooks = [blocks[0].register_forward_pre_hook(lambda *_: token.cancel()),
             *(block.register_forward_hook(lambda module, *_: finished.append(module)) for block in blocks)]
    try:
        with pytest.raises(JobCancelled):
            backend.generate(recipe.plan, _settings(steps=3), cancel=token)
    finally:
        for hook in hooks:
            hook.remove()
    assert finished == []
    # the checks are gone with the job, and the backend still works
    assert not any(module._forward_pre_hooks for module in backend.cancel_points())
    assert backend.generate(recipe.plan, _settings(steps=1), cancel=CancelToken()).frames.shape[1] == NUM_FRAMES


def test_decode_false_returns_latents_only(backend):
    recipe = tools.text_to_video(backend.caps, num_frames=NUM_FRAMES, prompt="a lamp", **_size(backend))
    result = backend.generate(recipe.plan, _settings(), decode=False)
    size = SIZES[backend.family] // backend.caps.vae_spatial_compression
    assert result.frames is None and result.seeds == [5]
    assert tuple(result.latents.shape) == (1, backend.latent_channels, recipe.plan.num_latent_frames, size, size)
    decoded = backend.decode(result.latents, _settings())
    assert torch.equal(backend.generate(recipe.plan, _settings(), decode=False).latents, result.latents)
    assert np.array_equal(decoded, backend.generate(recipe.plan, _settings()).frames)
