"""From per-pixel-frame arrays to per-latent-frame ones: how the compiler and a chain's windows
(engine.generate.windows) turn what each frame holds into what each latent frame holds.

A latent frame is held as strongly as the most strongly held pixel frame of its group, so an
image placed on any single frame is honoured by the latent frame that contains it; it follows the
prompt most of its pixel frames follow (the first such on a tie).
"""

from __future__ import annotations

import numpy as np


def latent_groups(num_frames: int, tc: int) -> list[range]:
    """The pixel frames of each latent frame of a causal video VAE: [0], [1..tc], [tc+1..2tc], ..."""
    count = (num_frames - 1) // tc + 1
    return [range(0, 1)] + [range((k - 1) * tc + 1, min(k * tc + 1, num_frames)) for k in range(1, count)]


def latent_arrays(num_frames: int, tc: int, layer_weights: list[np.ndarray], pixel_prompt: np.ndarray,
                  num_prompts: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(pixel_strength, latent_strength, latent_layer_weight, latent_prompt) of layers whose
    composited weights per pixel frame are `layer_weights`, and of the prompt of each pixel frame."""
    groups = latent_groups(num_frames, tc)
    starts = np.array([g.start for g in groups], np.int64)  # groups are contiguous and cover every frame
    pixel_strength = np.clip(np.sum(layer_weights, axis=0) if layer_weights else np.zeros(num_frames),
                             0.0, 1.0).astype(np.float32)
    latent_strength = np.maximum.reduceat(pixel_strength, starts).astype(np.float32)
    latent_layer_weight = (np.maximum.reduceat(np.stack(layer_weights), starts, axis=1) if layer_weights
                           else np.zeros((0, len(groups)))).astype(np.float32)
    latent_of_pixel = np.repeat(np.arange(len(groups)), [len(g) for g in groups])
    votes = np.zeros((len(groups), num_prompts), np.int64)
    np.add.at(votes, (latent_of_pixel, pixel_prompt), 1)
    return pixel_strength, latent_strength, latent_layer_weight, votes.argmax(axis=1).astype(np.int64)
