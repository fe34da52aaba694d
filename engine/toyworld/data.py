"""What the training script sees: clips rendered by engine.toyworld.world from seeds, as pixels, object
masks and latents, and the latent cache that encodes them once for the transformer stage."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Protocol

import numpy as np

from engine.toyworld.model import ModelConfig

LATENT_CACHE = "latent_cache.safetensors"


class CacheSettings(Protocol):
    """What the latent cache needs of a run's settings (engine.toyworld.train.TrainConfig has it)."""

    @property
    def seed(self) -> int: ...

    @property
    def latent_cache(self) -> int: ...  # how many clips the cache holds


def clip_seed(seed: int, stage: int, step: int, index: int) -> int:
    """The world seed of one training clip: fixed by the run seed, so a resumed run sees the same data."""
    return (seed * 1_000_003 + stage * 10_000_019 + step * 1009 + index) % (2**63)


def to_pixels(frames: np.ndarray):
    """uint8 (B, F, H, W, 3) -> float (B, 3, F, H, W) in [-1, 1], as the backend feeds the VAE."""
    import torch

    return torch.from_numpy(frames).float().div(127.5).sub(1.0).permute(0, 4, 1, 2, 3).contiguous()


def render_batch(seeds: list[int], config: ModelConfig, num_frames: int):
    from engine.toyworld.world import random_clip

    clips = [random_clip(s, config.width, config.height, num_frames, config.temporal_compression) for s in seeds]
    return clips, np.stack([c.frames for c in clips])


def object_weights(frames: np.ndarray, object_weight: float):
    """Per-pixel loss weights (B, 1, F, H, W): objects are a few percent of the picture but all of
    the caption, so their pixels (saturated and bright, grown by a pixel) weigh `object_weight` more."""
    import cv2
    import torch

    flat = frames.reshape(-1, *frames.shape[2:])
    masks = np.empty(flat.shape[:3], np.float32)
    for i, frame in enumerate(flat):
        hsv = cv2.cvtColor(frame, cv2.COLOR_RGB2HSV)
        mask = ((hsv[..., 1] >= 100) & (hsv[..., 2] >= 120)).astype(np.uint8)
        masks[i] = cv2.dilate(mask, np.ones((3, 3), np.uint8))
    weights = 1.0 + object_weight * masks.reshape(frames.shape[:4])
    return torch.from_numpy(weights)[:, None]


def object_token_mask(frames: np.ndarray, config: ModelConfig):
    """(B, latent frames, h, w): 1 where any pixel of a latent token's space-time block shows an object.

    Latent frame 0 is pixel frame 0 and latent frame k covers frames 4k-3 .. 4k (the causal VAE's layout).
    """
    import torch

    mask = object_weights(frames, 1.0)[:, 0] - 1.0  # (B, F, H, W) in {0, 1}
    tc, sc = config.temporal_compression, config.spatial_compression
    b, f, h, w = mask.shape
    first = mask[:, :1].reshape(b, 1, h // sc, sc, w // sc, sc).amax(dim=(3, 5))
    rest = mask[:, 1:].reshape(b, (f - 1) // tc, tc, h // sc, sc, w // sc, sc).amax(dim=(2, 4, 6))
    return torch.cat([first, rest], 1)


def normalise_latents(vae, latents, config: ModelConfig):
    mean = vae.latents_mean.view(1, -1, 1, 1, 1)
    std = vae.latents_std.view(1, -1, 1, 1, 1)
    return (latents - mean) * vae.config.scaling_factor / std


def long_batch(step: int) -> bool:
    """Every fourth batch is two latent frames longer, so longer plans (loops) are not new to the model."""
    return step % 4 == 3


def render_for_encoding(seeds: list[int], config: ModelConfig, num_frames: int):
    """Frames (B, F, H, W, 3), object token masks and per-frame captions of the clips of `seeds`:
    all of a clip's CPU work, so that processes can do it side by side (see LatentCache.build)."""
    clips, frames = render_batch(seeds, config, num_frames)
    return frames, object_token_mask(frames, config), [c.captions for c in clips]


def encode_clips(vae, seeds: list[int], config: ModelConfig, num_frames: int, device: str, generator, rendered=None):
    """Render (unless `rendered` by render_for_encoding) and encode clips: normalised latents
    (B, C, F, h, w), object token masks and per-frame captions."""
    import torch

    frames, masks, captions = rendered if rendered is not None else render_for_encoding(seeds, config, num_frames)
    with torch.no_grad():
        latents = vae.encode(to_pixels(frames).to(device)).latent_dist.sample(generator)
        latents = normalise_latents(vae, latents, config)
    return latents, masks.to(device), captions


class LatentCache:
    """Clips rendered and encoded once (a quarter of them two latent frames longer), drawn from at random.

    The VAE is frozen in stage 2, so encoding every clip again each time it is seen is wasted work:
    on a CPU it is about 40% of a transformer step. Saved next to the checkpoint (one safetensors
    file) so a resumed run does not encode again; removed whenever the VAE trains.
    """

    def __init__(self, parts: dict):
        self.parts = parts  # "short"/"long" -> (latents, masks, captions)

    @classmethod
    def build(cls, vae, config: ModelConfig, train: CacheSettings, device: str, workers: int = 0) -> LatentCache:
        """Render and encode the cache's clips; with `workers` > 1 that many processes render while
        this one encodes (the same clips, in the same order)."""
        import multiprocessing
        from functools import partial

        import torch

        parts = {}
        counts = {"short": train.latent_cache - train.latent_cache // 4, "long": train.latent_cache // 4}
        pool = multiprocessing.get_context("spawn").Pool(workers) if workers > 1 else None
        try:
            for stage, (name, count) in enumerate(counts.items(), start=3):
                num_frames = config.num_frames + (2 * config.temporal_compression if name == "long" else 0)
                chunks = [[clip_seed(train.seed, stage, start, i) for i in range(min(16, count - start))]
                          for start in range(0, count, 16)]
                render = partial(render_for_encoding, config=config, num_frames=num_frames)
                rendered = pool.imap(render, chunks) if pool is not None else (None for _ in chunks)
                latents, masks, captions = [], [], []
                for index, (seeds, done) in enumerate(zip(chunks, rendered)):
                    generator = torch.Generator().manual_seed(seeds[0])
                    lat, mask, caps = encode_clips(vae, seeds, config, num_frames, device, generator, done)
                    latents.append(lat.cpu())
                    masks.append(mask.cpu())
                    captions.extend(caps)
                    if index % 64 == 0:
                        log(f"latent cache: {name} {index * 16}/{count}")
                parts[name] = (torch.cat(latents), torch.cat(masks), captions)
        finally:
            if pool is not None:
                pool.terminate()
        return cls(parts)

    def to(self, device: str) -> LatentCache:
        """The cache with its tensors on `device` (on a GPU, batches are then drawn without copies)."""
        return LatentCache({name: (latents.to(device), masks.to(device), captions)
                            for name, (latents, masks, captions) in self.parts.items()})

    def draw(self, step: int, batch: int, generator):
        import torch

        latents, masks, captions = self.parts["long" if long_batch(step) else "short"]
        index = torch.randint(0, len(captions), (batch,), generator=generator)
        on_device = index.to(latents.device)
        return latents[on_device], masks[on_device], [captions[i] for i in index.tolist()]

    def save(self, folder: Path) -> None:
        """One safetensors file: latents, masks and each frame's caption as an index into the
        distinct captions (in the header: a caption per frame of 100,000 clips would not fit)."""
        import torch
        from safetensors.torch import save_file

        tensors, table = {}, {}
        for name, (latents, masks, caps) in self.parts.items():
            tensors[f"{name}.latents"], tensors[f"{name}.masks"] = latents.contiguous(), masks.contiguous()
            indices = [[table.setdefault(c, len(table)) for c in clip] for clip in caps]
            tensors[f"{name}.captions"] = torch.tensor(indices, dtype=torch.int32).reshape(len(caps), -1)
        tmp = folder / (LATENT_CACHE + ".tmp")
        metadata = {"caption_table": json.dumps(list(table)), "parts": json.dumps(list(self.parts))}
        save_file(tensors, str(tmp), metadata=metadata)
        os.replace(tmp, folder / LATENT_CACHE)

    @classmethod
    def load(cls, folder: Path, expected: int) -> LatentCache | None:
        """The cache saved in `folder` if it holds `expected` clips (None if it is missing, of another
        size, or from an older version)."""
        from safetensors import safe_open

        path = folder / LATENT_CACHE
        if not path.is_file():
            return None
        with safe_open(str(path), "pt") as f:
            metadata = f.metadata() or {}
            if "caption_table" not in metadata:
                return None
            table = json.loads(metadata["caption_table"])
            parts = {name: (f.get_tensor(f"{name}.latents"), f.get_tensor(f"{name}.masks"),
                            [tuple(table[i] for i in clip) for clip in f.get_tensor(f"{name}.captions").tolist()])
                     for name in json.loads(metadata["parts"])}
        return cls(parts) if sum(len(p[2]) for p in parts.values()) == expected else None


def log(message: str) -> None:
    print(f"{time.strftime('%H:%M:%S')} {message}", flush=True)
