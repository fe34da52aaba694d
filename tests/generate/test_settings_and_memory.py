"""Sizes and frame counts chosen for a model, and recovery from running out of memory."""

import numpy as np
import pytest
import torch

from engine.errors import ModelError, UserError
from engine.generate import tools
from engine.generate.caps import ModelCaps
from engine.generate.settings import SamplingSettings, choose_size

LTX = ModelCaps(family="ltx", vae_temporal_compression=8, vae_spatial_compression=32, size_multiple=32,
                per_token_timesteps=True)


def test_aspect_resolution_and_duration_map_to_what_the_model_accepts():
    chosen = choose_size(LTX, aspect="16:9", resolution="480p", duration=2.0, rate=24)
    assert (chosen.width, chosen.height, chosen.num_frames) == (864, 480, 49)
    assert "853x480 -> 864x480" in chosen.note
    vertical = choose_size(LTX, aspect="9:16", resolution="720p", num_frames=121)
    assert (vertical.width, vertical.height, vertical.num_frames) == (736, 1280, 121)  # 720/32 = 22.5: ties go up
    assert vertical.note == "736x1280, 121 frames (size 720x1280 -> 736x1280 (multiples of 32))"
    square = choose_size(LTX, aspect="1:1", resolution="1080p", num_frames=30)
    assert (square.width, square.height, square.num_frames) == (1088, 1088, 33)
    assert "30 frames -> 33 (8*n+1)" in square.note
    exact = choose_size(LTX, width=704, height=480, num_frames=161)
    assert exact.note == "704x480, 161 frames"
    with pytest.raises(UserError, match="unknown aspect '4:5'"):
        choose_size(LTX, aspect="4:5")
    with pytest.raises(UserError, match="--variations 40 must be between 1 and 16"):
        SamplingSettings(variations=40)
    for interval in ((0.9, 0.2), (-0.1, 0.5), (0.5, 1.5)):
        with pytest.raises(UserError, match=rf"--guidance-interval {interval[0]} {interval[1]}: .*0 <= LOW < HIGH <= 1"):
            SamplingSettings(guidance_interval=interval)


def test_out_of_memory_ends_the_job_with_advice_and_the_backend_stays_healthy(tiny_ltx):
    recipe = tools.text_to_video(tiny_ltx.caps, num_frames=9, prompt="x", width=32, height=32)

    def run_out(module, args, kwargs):
        raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 20.00 GiB")

    hook = tiny_ltx.transformer.register_forward_pre_hook(run_out, with_kwargs=True)
    try:
        with pytest.raises(ModelError, match="out of memory on cpu while generating 1 x 32x32, 9 frames: lower the "
                                             "resolution, the duration or --variations"):
            tiny_ltx.generate(recipe.plan, SamplingSettings(steps=2))
    finally:
        hook.remove()
    assert tiny_ltx.generate(recipe.plan, SamplingSettings(steps=2)).frames.shape == (1, 9, 32, 32, 3)


def test_failed_decode_is_retried_with_vae_tiling_without_sampling_again(tiny_ltx):
    recipe = tools.text_to_video(tiny_ltx.caps, num_frames=9, prompt="x", width=32, height=32)
    result = tiny_ltx.generate(recipe.plan, SamplingSettings(steps=2), decode=False)
    assert result.frames is None and result.latents is not None
    calls = []
    original_decode = tiny_ltx.vae.decode

    def decode_once_out_of_memory(*args, **kwargs):
        calls.append(tiny_ltx.vae.use_tiling)
        if len(calls) == 1:
            raise torch.OutOfMemoryError("CUDA out of memory")
        return original_decode(*args, **kwargs)

    tiny_ltx.vae.decode = decode_once_out_of_memory
    try:
        frames = tiny_ltx.decode(result.latents, SamplingSettings())
    finally:
        del tiny_ltx.vae.decode
        tiny_ltx.vae.disable_tiling()
    assert calls == [False, True] and frames.shape == (1, 9, 32, 32, 3) and np.isfinite(frames).all()
