"""Full-strength pictures held on part of a latent frame's pixel frames are refitted after sampling,
so that they decode as their picture and not as a still mixed with the motion around it."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch
from PIL import Image, ImageDraw

from engine.generate import tools
from engine.generate.caps import ModelCaps
from engine.generate.compiler import compile
from engine.generate.executor import load_backend_cached
from engine.generate.keyframe_fit import fit_keyframes, fit_targets
from engine.generate.media_io import read_image
from engine.generate.settings import SamplingSettings
from engine.model.curves import Curve
from engine.model.items import Clip, MediaRef, Still
from engine.model.project import Track, new_project
from engine.time import FrameRange
from engine.toyworld.evaluate import psnr

pytestmark = pytest.mark.filterwarnings("ignore")

CAPS = ModelCaps(family="ltx", vae_temporal_compression=4, vae_spatial_compression=8, size_multiple=8,
                 per_token_timesteps=True, keyframe_tokens=True)


def _project(items, media):
    project = new_project(64, 64, 24)
    video = project.timeline.tracks_of("video")[0]
    project.timeline.tracks[project.timeline.track_index(video.id)] = Track(video.id, "video", "V1", tuple(items))
    project.media = {m.id: m for m in media}
    return project


def test_targets_are_full_strength_pictures_on_part_of_a_latent_frame_golden():
    image = MediaRef("img", "/media/cat.png", "image")
    clip = MediaRef("vid", "/media/walk.mp4", "video", num_frames=100)
    items = [Still("on_grid", 8, 1, "img"),  # latent frame 2 (pixels 5-8): one of its four frames
             Still("weak", 11, 1, "img", curve=Curve.flat(0.6)),  # not asked for as itself
             Clip("whole", 13, "vid", FrameRange(0, 8)),  # pixels 13-20: latent frames 4 and 5 whole
             Clip("part", 23, "vid", FrameRange(40, 43)),  # pixels 23-25: 23, 24 of latent frame 6, 25 of 7
             Still("between", 30, 1, "img")]  # off the grid: a keyframe token
    plan = compile(_project(items, [image, clip]), FrameRange(0, 33), CAPS)
    assert [k.pixel_frame for k in plan.keyframes] == [11, 30]
    got = [(t.latent_frame, t.pixel_frames, [frame for _source, frame in t.pictures]) for t in fit_targets(plan)]
    assert got == [(2, (8,), [0]), (6, (23, 24), [40, 41]), (7, (25,), [42]), (8, (30,), [0])]
    # a chain's window refits nothing it holds from the window before: that window fitted it
    held = dataclasses.replace(plan, held_latents=np.zeros((1, 8, 7, 8, 8), np.float32))
    assert [t.latent_frame for t in fit_targets(held)] == [7, 8]


def _circle(path, x: int) -> str:
    image = Image.new("RGB", (64, 64), (0, 0, 0))
    ImageDraw.Draw(image).ellipse((x - 9, 23, x + 9, 41), fill=(230, 30, 30))
    image.save(path)
    return str(path)


def _steps(frames) -> np.ndarray:
    return np.abs(np.diff(frames.astype(np.float64), axis=0)).mean(axis=(1, 2, 3))


@pytest.fixture(scope="module")
def bundled():
    return load_backend_cached(None, "cpu")[1]


def test_a_keyframe_in_motion_is_held_within_1_db_of_its_round_trip_without_a_pop(bundled, tmp_path):
    """A red circle moving right, its picture at frame 12 (one frame of its latent frame) and on the
    last frame (a keyframe token): fitted, each is within 1 dB of the picture's VAE round trip,
    against 2-8 dB short unfitted (the same sampling, decoded without the fit), and the frames
    around them change gradually: no step next to a keyframe grows past the largest step the
    unfitted video already has there."""
    pictures = {12: _circle(tmp_path / "a.png", 14), 32: _circle(tmp_path / "b.png", 22)}
    recipe = tools.storyboard(bundled.caps, width=64, height=64, num_frames=33, rate=25,
                              prompt="a red circle moving right on a black background",
                              cards=[tools.Card(path, frame) for frame, path in pictures.items()])
    settings = SamplingSettings(steps=4, seed=3)
    raw = bundled.generate(recipe.plan, settings, decode=False).latents
    plain = (bundled.decode(raw, settings)[0] * 255 + 0.5).astype(np.uint8)
    fitted = fit_keyframes(bundled, recipe.plan, raw, settings)
    frames = (bundled.decode(fitted, settings)[0] * 255 + 0.5).astype(np.uint8)
    # the fit is what generate does before it decodes
    told = []
    made = bundled.generate(recipe.plan, settings, on_step=told.append)
    np.testing.assert_allclose(made.latents, fitted, atol=1e-4)
    assert told[-1].message == "holding 2 keyframes as their pictures" and told[-1].fraction == 1.0
    changed = (fitted - raw).abs().amax(dim=(0, 1, 3, 4))
    assert changed.nonzero().flatten().tolist() == [3, 8]  # the latent frames of pixels 12 and 32 only
    median = np.median(_steps(plain))
    for frame, path in pictures.items():
        source = read_image(path)
        with torch.no_grad():
            round_trip = bundled.decode(bundled.encode_frames(source[None]), settings)[0, 0]
        ceiling = psnr((np.clip(round_trip, 0, 1) * 255 + 0.5).astype(np.uint8), source)
        before, after = psnr(plain[frame], source), psnr(frames[frame], source)
        print(f"frame {frame}: {before:.2f} dB -> {after:.2f} dB, round trip {ceiling:.2f} dB")
        assert after >= ceiling - 1.0 and after > before + 1.0
        near = slice(max(frame - 4, 0), frame + 4)
        print("  steps near it / median:", np.round(_steps(plain)[near] / median, 2), "->",
              np.round(_steps(frames)[near] / median, 2))
        assert _steps(frames)[near].max() <= _steps(plain)[near].max() * 1.25


@pytest.fixture(scope="module")
def tiny_wan(tmp_path_factory):
    from engine.generate.backends import load_backend
    from engine.generate.models import resolve
    from tests.generate.tiny_models import save_tiny_wan

    return load_backend(resolve(str(save_tiny_wan(tmp_path_factory.mktemp("models") / "tiny-wan"))), device="cpu")


# the share of the squared error left after the fit at most; tiny Wan's random decoder hardly reads
# its latents (its pictures vary by a few percent whatever the latents): any gain shows the gradient flows
@pytest.mark.parametrize(("family", "left"), [("tiny_ltx", 0.95), ("tiny_ltx2", 0.9), ("tiny_wan", 1.0)])
def test_every_family_refits_through_its_own_decoder(family, left, request, tmp_path):
    """On random tiny models of the real classes: the decode the fit steps through is the family's
    decode (without its noise), and the fit brings the held frame closer to its picture."""
    backend = request.getfixturevalue(family)
    rng = np.random.default_rng(0)
    picture = (rng.random((32, 32, 3)) * 255).astype(np.uint8)
    path = tmp_path / "p.png"
    Image.fromarray(picture).save(path)
    caps = backend.caps
    tc = caps.vae_temporal_compression
    frame = tc * 2 - tc // 2  # inside latent frame 2, not its last pixel frame
    recipe = tools.storyboard(caps, width=32, height=32, num_frames=4 * tc + 1, rate=25, prompt="a cat",
                              cards=[tools.Card(str(path), frame)])
    settings = SamplingSettings(steps=2, seed=1)
    raw = backend.generate(recipe.plan, settings, decode=False).latents
    with torch.no_grad():
        np.testing.assert_allclose(backend.decode_pixels(raw, settings)[0].clamp(0, 1).permute(1, 2, 3, 0).cpu().numpy(),
                                   backend.decode(raw, settings)[0], atol=2e-3)
    # (all its steps: a random VAE's own round trip of the picture is no closer than a random frame)
    fitted = fit_keyframes(backend, recipe.plan, raw, settings, stop_at_round_trip=False)
    target = picture / 255.0
    before = np.mean((backend.decode(raw, settings)[0, frame] - target) ** 2)
    after = np.mean((backend.decode(fitted, settings)[0, frame] - target) ** 2)
    print(f"{family}: squared error {before:.5f} -> {after:.5f}")
    assert after < before * left, (before, after)


def _one_keyframe(backend, tmp_path):
    picture = (np.random.default_rng(0).random((32, 32, 3)) * 255).astype(np.uint8)
    Image.fromarray(picture).save(tmp_path / "p.png")
    tc = backend.caps.vae_temporal_compression
    return tools.storyboard(backend.caps, width=32, height=32, num_frames=4 * tc + 1, rate=25, prompt="a cat",
                            cards=[tools.Card(str(tmp_path / "p.png"), 2 * tc)]).plan


def test_a_checkpointed_decoder_fits_the_same(tiny_ltx, tmp_path):
    """On a GPU the fit holds the decoder's activations in checkpoints; the result is the same."""
    plan = _one_keyframe(tiny_ltx, tmp_path)
    settings = SamplingSettings(steps=2, seed=4)
    raw = tiny_ltx.generate(plan, settings, decode=False).latents
    plain = fit_keyframes(tiny_ltx, plan, raw, settings, steps=4, checkpoint=False, stop_at_round_trip=False)
    checkpointed = fit_keyframes(tiny_ltx, plan, raw, settings, steps=4, checkpoint=True, stop_at_round_trip=False)
    assert not tiny_ltx.vae.is_gradient_checkpointing  # and it is off again after
    assert (plain - raw).abs().max() > 1e-3
    np.testing.assert_allclose(checkpointed, plain, atol=1e-4)


def test_running_out_of_memory_in_the_fit_keeps_the_sampled_video(tiny_ltx, tmp_path, caplog):
    """The fit needs the decoder's gradient; where even a checkpointed one does not fit in memory,
    the video is made as sampled, with a warning, and nothing sampled is lost."""
    plan = _one_keyframe(tiny_ltx, tmp_path)
    settings = SamplingSettings(steps=2, seed=4)
    attempts = []

    def run_out_with_a_gradient(module, args):
        if torch.is_grad_enabled():
            attempts.append(tiny_ltx.vae.is_gradient_checkpointing)
            raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 9.00 GiB")

    hook = tiny_ltx.vae.decoder.register_forward_pre_hook(run_out_with_a_gradient)
    try:
        result = tiny_ltx.generate(plan, settings)
    finally:
        hook.remove()
    assert attempts == [False, True]  # tried again with the decoder checkpointed
    unfitted = tiny_ltx.generate(plan, settings, decode=False).latents
    np.testing.assert_allclose(result.latents, unfitted, atol=1e-6)
    assert result.frames.shape == (1, 4 * tiny_ltx.caps.vae_temporal_compression + 1, 32, 32, 3)
    assert "ran out of memory refitting the keyframes" in caplog.text


def test_a_component_held_on_the_device_stays_there_through_an_inner_block():
    """With offloading, the fit holds the VAE on the device for its decodes and encodes each
    picture (another on_device block for the VAE) in between: the inner block must not send the
    VAE back to the CPU under the outer one."""
    from engine.generate.backends.memory import on_device

    class Recorded(torch.nn.Linear):  # records where it is sent; stays on the CPU (no GPU here)
        def __init__(self):
            super().__init__(2, 2)
            self.moves = []

        def to(self, *args, **kwargs):
            self.moves.append(str(args[0]))
            return super().to("cpu")

    vae = Recorded()
    with on_device(vae, "cuda", True):
        with on_device(vae, "cuda", True):
            pass
        assert vae.moves == ["cuda"]  # still on the device for the rest of the outer block
    assert vae.moves == ["cuda", "cpu"]
    with on_device(vae, "cuda", False):  # not offloading: never moved
        pass
    assert vae.moves == ["cuda", "cpu"]
