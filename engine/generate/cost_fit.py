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
    class this does not know, a config it cannot be built from). `window_latent_frames`: the
    window length of a chain, which bounds what a causal decoder decodes before a keyframe."""
    targets = fit_targets(plan)
    if not targets:
        return 0.0, 0
    folder = str(Path(getattr(model_folder, "path", model_folder)))
    try:
        causal = _vae_class(folder) in CAUSAL
        # a causal decode costs its first frame and then the same for each frame after (the
        # decoder runs frame by frame), so two counts give every length
        counts = {n: _decode_flops(folder, plan.width, plan.height, n)
                  for n in ((1, 2) if causal else range(1, 2 * FIT_REACH + 2))}
    except Exception:  # noqa: BLE001 - an estimate is advice: a VAE it cannot count is left out
        return None
    passes = PASSES.get(device, PASSES["cpu"])
    total = 0.0
    for target in targets:
        k = target.latent_frame
        if causal:
            first, each = counts[1], counts[2] - counts[1]
            before = min(k, window_latent_frames or k)
            prefix = first + (before - 1) * each if before else 0.0
            total += prefix + (FIT_STEPS + 1) * passes * (each if k else first)
        else:
            frames = min(k + FIT_REACH, plan.num_latent_frames - 1) - max(k - FIT_REACH, 0) + 1
            total += (FIT_STEPS + 1) * passes * counts[frames]
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
    """FLOPs of one decode of `latent_frames` latent frames at width x height, counted on the meta
    device by a dispatch mode of this thread alone (torch's FlopCounterMode also hooks every
    module of the process, a generation running beside it included)."""
    import diffusers
    import torch
    from torch.utils._python_dispatch import TorchDispatchMode
    from torch.utils.flop_counter import flop_registry

    from engine.generate.models import ModelInfo, frame_layout

    class Count(TorchDispatchMode):
        total = 0

        def __torch_dispatch__(self, func, types, args=(), kwargs=None):
            kwargs = kwargs or {}
            out = func(*args, **kwargs)
            counter = flop_registry.get(func.overloadpacket)
            if counter is not None:
                self.total += counter(*args, **kwargs, out_val=out)
            return out

    config = _vae_config(folder)
    cls = getattr(diffusers, _vae_class(folder))
    _temporal, spatial = frame_layout(ModelInfo(Path(folder).name, Path(folder), None, "")) or (8, 32)
    with torch.device("meta"):
        vae = cls.from_config(config)
        channels = int(getattr(vae.config, "latent_channels", None) or vae.config.z_dim)
        latents = torch.empty(1, channels, latent_frames, max(1, height // spatial), max(1, width // spatial))
        extra = {"temb": torch.zeros(1)} if getattr(vae.config, "timestep_conditioning", False) else {}
    with Count() as count, torch.no_grad():
        vae.decode(latents, **extra, return_dict=False)
    return float(count.total)
