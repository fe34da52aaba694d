"""Turn a plan's layers into condition latents, one latent frame per plan latent frame.

Each layer is encoded in runs of consecutive latent frames it holds. A run is encoded as its
own little video with the model's causal VAE: a run starting at latent frame 0 is the pixel
frames it covers; a later run gets its first pixel frame twice, so that the VAE's lone first
latent frame takes the duplicate and the following latent frames line up with the plan's
groups of pixel frames. Inside a group, frames the layer does not cover repeat the nearest
frame it does, so an image on a single frame becomes a still latent frame.

Where layers share a latent frame, their latents are mixed by their composited weights.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from engine.generate.media_io import frame_to, read_image, read_video
from engine.generate.plan import GenerationPlan, PlanSource

# (source, frame indices[, (width, height)]) -> uint8 frames (n, H, W, 3) of that source, fitted
# to the size when one is given (a reader may ignore it: the frames are fitted again if needed)
FrameReader = Callable[..., np.ndarray]


def read_source_frames(source: PlanSource, frame_indices: list[int],
                       size: tuple[int, int] | None = None) -> np.ndarray:
    """Frames of a source, decoded straight to `size` when given and framed by the source's fit
    mode, so memory follows the generation size and not the file's (an 8K clip is never held at 8K)."""
    if source.kind == "image":
        picture = read_image(source.path)[None]
        if size is not None:
            picture = frame_to(picture, *size, source.fit)
        return np.repeat(picture, len(frame_indices), axis=0)
    return read_video(source.path, frame_indices, size=size, fit=source.fit)


def layer_runs(plan: GenerationPlan, layer_index: int) -> list[tuple[int, list[list[int]]]]:
    """(first latent frame, source frames of each latent frame) for each run of a layer."""
    layer = plan.layers[layer_index]
    held = plan.latent_layer_weight[layer_index] > 0
    runs = []
    k = 0
    while k < plan.num_latent_frames:
        if not held[k]:
            k += 1
            continue
        start = k
        groups: list[list[int]] = []
        while k < plan.num_latent_frames and held[k]:
            group = plan.pixel_frames_of_latent(k)
            present = [p for p in group if layer.pixel_source_frame[p] >= 0]
            groups.append([int(layer.pixel_source_frame[min(present, key=lambda q: (abs(q - p), q))])
                           for p in group])
            k += 1
        runs.append((start, groups))
    return runs


def stored_latent_index(group: list[int], tc: int) -> int | None:
    """Which latent frame of a clip Kinora generated holds exactly these source frames, if one does."""
    if group == [0]:
        return 0
    first = group[0]
    if len(group) == tc and first >= 1 and (first - 1) % tc == 0 and group == list(range(first, first + tc)):
        return (first - 1) // tc + 1
    return None


def load_stored_latents(source: PlanSource, model_name: str, channels: int, height: int, width: int):
    """The latents saved next to a video Kinora generated with this model at this latent size
    (see engine.generate.run), or None."""
    from pathlib import Path

    sidecar = Path(source.path).with_suffix(".latents.safetensors")
    if source.kind != "video" or not sidecar.is_file():
        return None
    try:
        from safetensors import safe_open

        with safe_open(str(sidecar), framework="pt") as f:
            metadata = f.metadata() or {}
            if metadata.get("model") != model_name or metadata.get("video_hash") != _content_hash(source.path):
                return None  # another model's, or the video was replaced since
            latents = f.get_tensor("latents")
    except (OSError, ValueError, RuntimeError):
        return None  # unreadable sidecar: fall back to encoding the pixels
    if latents.ndim != 5 or latents.shape[0] != 1 or tuple(latents.shape[3:]) != (height, width) \
            or latents.shape[1] != channels:
        return None
    return latents


def _content_hash(path: str) -> str | None:
    from engine.errors import KinoraError
    from engine.fsutil import content_hash

    try:
        return content_hash(path)
    except (OSError, KinoraError):
        return None


def _encode_run(groups: list[list[int]], first_is_alone: bool, source: PlanSource, size: tuple[int, int],
                encode: Callable, read: FrameReader):
    """Encode the pixel frames of consecutive latent frames as one causal clip (see the module doc)."""
    frames = [f for group in groups for f in group]
    if not first_is_alone:
        frames.insert(0, frames[0])
    latents = encode(frame_to(read(source, frames, size), *size, source.fit))
    return latents[:, :, 0 if first_is_alone else 1:][:, :, : len(groups)]


def condition_latents(plan: GenerationPlan, encode: Callable, read: FrameReader = read_source_frames,
                      stored: Callable | None = None, size: tuple[int, int] | None = None):
    """(cond, strength): latents (1, C, num_latent_frames, h, w) and hold strength per latent frame.

    Sources are encoded at the plan's size, or at `size` (width, height) when given (the lower
    resolution a latent upsampler starts from).

    `encode(uint8 frames (n, H, W, 3))` returns normalised latents (1, C, n_latent, h, w).
    `stored(source)` may return the saved latents of a clip Kinora generated; latent frames that
    line up with them are taken from there instead of re-encoding (lossy) pixels.
    """
    import torch

    size = size or (plan.width, plan.height)
    cond = None
    total_weight = None
    for i, layer in enumerate(plan.layers):
        source = plan.sources[layer.source]
        saved = stored(source) if stored is not None else None
        for start, groups in layer_runs(plan, i):
            indices = [stored_latent_index(g, plan.vae_temporal_compression) for g in groups]
            if saved is not None and any(m is not None and m < saved.shape[2] for m in indices):
                pieces = []
                for k, (group, m) in enumerate(zip(groups, indices, strict=True)):
                    if m is not None and m < saved.shape[2]:
                        pieces.append(saved[:, :, m:m + 1].to(torch.float32))
                    else:
                        alone = start + k == 0
                        pieces.append(_encode_run([group], alone, source, size, encode, read).float().cpu())
                latents = torch.cat([p.cpu() for p in pieces], dim=2)
            else:
                latents = _encode_run(groups, start == 0, source, size, encode, read).float()
            if cond is None:
                shape = (1, latents.shape[1], plan.num_latent_frames, *latents.shape[3:])
                cond = torch.zeros(shape, device=latents.device)
                total_weight = torch.zeros(plan.num_latent_frames, device=latents.device)
            latents = latents.to(cond.device)
            stop = start + len(groups)
            weight = torch.tensor(np.array(plan.latent_layer_weight[i, start:stop]), device=cond.device)
            if len(plan.layers) == 1:
                cond[:, :, start:stop] = latents  # exact: no mixing arithmetic on a lone layer
            else:
                cond[:, :, start:stop] += latents * weight.view(1, 1, -1, 1, 1)
            total_weight[start:stop] += weight
    if cond is not None and len(plan.layers) > 1:
        cond = cond / total_weight.clamp_min(1e-8).view(1, 1, -1, 1, 1)
    strength = torch.tensor(np.array(plan.latent_strength, np.float32))
    return cond, strength
