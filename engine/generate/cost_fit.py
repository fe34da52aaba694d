"""What the keyframe fit (engine.generate.keyframe_fit) adds to a generation's time, before it runs.

Each latent frame the fit refits costs at most FIT_STEPS + 1 decodes with their gradient: of that
frame and FIT_REACH latent frames either side, or, for a causal decoder (Wan's), of that one frame
after the frames before it, which are decoded once without a gradient. The decodes' arithmetic is
counted by running the model folder's VAE class, built from its config on torch's meta device
(shapes only: no weights, no memory, a fraction of a second), under torch's FLOP counter at the
plan's size. Seconds are those FLOPs over the rate the calibration measured for a decoder's
convolution blocks (engine.generate.cost). Like guidance, which is counted at every step, this is
the fit's bound: it stops once a frame is as close to its picture as the picture's own round trip
through the VAE, after about half its steps for a keyframe inside the video.
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

from engine.generate.keyframe_fit import FIT_REACH, FIT_STEPS, fit_targets

VAE_CLASSES = frozenset({"AutoencoderKLLTXVideo", "AutoencoderKLLTX2Video", "AutoencoderKLWan"})
CAUSAL = frozenset({"AutoencoderKLWan"})
# A decode with its gradient, in decodes: the forward and the backward (twice the forward's
# arithmetic), and on a GPU, which checkpoints the decoder, the forward once more on the way back.
PASSES = {"cpu": 3.0, "cuda": 4.0}


def fit_flops(plan, model_folder, device: str, variations: int = 1,
              window_latent_frames: int | None = None) -> tuple[float, int] | None:
    """The FLOPs the fit of `plan` takes at most with the VAE of `model_folder` on `device` ("cpu"
    or "cuda"), and how many latent frames it refits; None when the VAE cannot be counted (a
    class this does not know, or no readable config). `window_latent_frames`: the window length
    of a chain, which bounds what a causal decoder decodes before a keyframe."""
    targets = fit_targets(plan)
    if not targets:
        return 0.0, 0
    folder = str(Path(getattr(model_folder, "path", model_folder)))
    try:
        causal = _vae_class(folder) in CAUSAL
        if causal:
            step = _decode_flops(folder, plan.width, plan.height, 2) - _decode_flops(folder, plan.width, plan.height, 1)
            first = _decode_flops(folder, plan.width, plan.height, 1)
    except (OSError, ValueError, KeyError, TypeError, RuntimeError):
        return None
    passes = PASSES.get(device, PASSES["cpu"])
    total = 0.0
    for target in targets:
        k = target.latent_frame
        if causal:
            before = min(k, window_latent_frames or k)
            prefix = _decode_flops(folder, plan.width, plan.height, before) if before else 0.0
            total += prefix + (FIT_STEPS + 1) * passes * (step if k else first)
        else:
            frames = min(k + FIT_REACH, plan.num_latent_frames - 1) - max(k - FIT_REACH, 0) + 1
            total += (FIT_STEPS + 1) * passes * _decode_flops(folder, plan.width, plan.height, frames)
    return total * max(1, variations), len(targets)


def _vae_class(folder: str) -> str:
    config = _vae_config(folder)
    name = config.get("_class_name")
    if name not in VAE_CLASSES:
        raise ValueError(f"{folder}: a VAE of class {name!r} is not counted")
    return name


@lru_cache(maxsize=8)
def _vae_config(folder: str) -> dict:
    value = json.loads((Path(folder) / "vae" / "config.json").read_text(encoding="utf-8"))
    if not isinstance(value, dict):
        raise ValueError(f"{folder}/vae/config.json is not a JSON object")
    return value


@lru_cache(maxsize=64)
def _decode_flops(folder: str, width: int, height: int, latent_frames: int) -> float:
    """FLOPs of one decode of `latent_frames` latent frames at width x height, counted on the meta device."""
    import diffusers
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    from engine.generate.models import ModelInfo, frame_layout

    config = _vae_config(folder)
    cls = getattr(diffusers, _vae_class(folder))
    _temporal, spatial = frame_layout(ModelInfo(Path(folder).name, Path(folder), None, "")) or (8, 32)
    channels = int(config.get("latent_channels") or config.get("z_dim"))
    with torch.device("meta"):
        vae = cls.from_config(config)
        latents = torch.empty(1, channels, latent_frames, max(1, height // spatial), max(1, width // spatial))
        extra = {"temb": torch.zeros(1)} if config.get("timestep_conditioning") else {}
    with FlopCounterMode(display=False) as counter, torch.no_grad():
        vae.decode(latents, **extra, return_dict=False)
    return float(counter.get_total_flops())
