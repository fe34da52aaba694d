"""Every keyframe of a six-window storyboard is held in the output, as well as the VAE can hold
a picture at all, wherever its window falls (inside a window, in the frames two windows share,
the last frame)."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image, ImageDraw

from engine.generate import tools
from engine.generate.executor import load_backend_cached
from engine.generate.media_io import read_image
from engine.generate.run import run_recipe
from engine.generate.settings import SamplingSettings
from engine.generate.windows import window_layout
from engine.toyworld.evaluate import psnr

# shapes of the bundled model's world, each at the frame it is placed at
KEYFRAMES = {10: ("red", (0, 0, 0)), 28: ("blue", (255, 255, 255)), 70: ("yellow", (120, 180, 240)),
             100: ("green", (0, 0, 0)), 124: ("orange", (255, 255, 255)), 152: ("purple", (0, 0, 0))}


def _picture(path, colour: str, background) -> str:
    image = Image.new("RGB", (64, 64), background)
    ImageDraw.Draw(image).ellipse((18, 18, 46, 46), fill=colour)
    image.save(path)
    return str(path)


@pytest.fixture(scope="module")
def bundled():
    return load_backend_cached(None, "cpu")[1]


def test_each_keyframe_of_six_windows_is_held_as_well_as_the_vae_round_trip(bundled, tmp_path):
    caps = bundled.caps
    windows = window_layout(153, caps)
    assert len(windows) == 6
    # one keyframe in each window, frame 28 in the frames the first two share
    assert [sum(w.start <= f < w.stop for w in windows) for f in KEYFRAMES] == [1, 2, 1, 1, 1, 1]
    pictures = {f: _picture(tmp_path / f"{f}.png", *spec) for f, spec in KEYFRAMES.items()}
    recipe = tools.storyboard(caps, width=64, height=64, num_frames=153, rate=25,
                              prompt="a red circle moving right on a black background",
                              cards=[tools.Card(path, frame, 1.0) for frame, path in pictures.items()])
    frames, result = run_recipe(bundled, recipe, SamplingSettings(steps=4, seed=2))
    assert frames.shape == (1, 153, 64, 64, 3)
    assert result.latents.shape[2] == (153 - 1) // caps.vae_temporal_compression + 1
    import torch

    for frame, path in pictures.items():
        source = read_image(path)
        with torch.no_grad():
            latents = bundled.encode_frames(source[None])
            round_trip = bundled.decode(latents, SamplingSettings(seed=2))[0, 0]
        ceiling = psnr((np.clip(round_trip, 0, 1) * 255 + 0.5).astype(np.uint8), source)
        held = psnr(frames[0, frame], source)
        assert held >= ceiling - 1.0, f"frame {frame}: {held:.2f} dB, the VAE round trip {ceiling:.2f} dB"
