"""Running a recipe on a backend, and the latents Kinora keeps beside what it generated."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable
from pathlib import Path

import numpy as np

from engine.errors import UserError
from engine.generate.backends.base import GenerationResult
from engine.generate.media_io import to_uint8
from engine.generate.settings import SamplingSettings
from engine.generate.tools import Preset, Recipe, assemble
from engine.progress import CancelToken, Progress


def run_recipe(backend, recipe: Recipe, settings: SamplingSettings, *, preset: Preset | None = None,
               on_step: Callable[[Progress], None] | None = None,
               cancel: CancelToken | None = None) -> tuple[np.ndarray, GenerationResult]:
    """Generate a recipe; returns the tool's output frames, uint8 (N, F, H, W, 3), and the raw
    result. The preset's sampling defaults and LoRA apply here; its words are in the plan's
    prompts already (Preset.apply)."""
    lora = contextlib.nullcontext()
    if preset is not None:
        settings = preset.settings(settings)
        if preset.lora:
            if not backend.caps.lora:
                raise UserError(f"preset {preset.name!r} uses a LoRA, which this {backend.caps.family} model "
                                "cannot load; remove `lora` from the preset")
            lora = backend.lora(preset.lora, preset.lora_weight)
    with lora:
        upsample = {"upsample_conditions": True} if recipe.latent_upsample else {}
        result = backend.generate(recipe.plan, settings, on_step=on_step, cancel=cancel, **upsample)
    return assemble(recipe, to_uint8(result.frames)), result


def save_latents(path: Path, result: GenerationResult, recipe: Recipe, model_name: str, index: int | None,
                 video: Path) -> None:
    """The sampled latents beside the file they made, bound to that file's content hash so a
    replaced video never continues from another's latents (engine.generate.conditions)."""
    from safetensors.torch import save_file

    from engine.fsutil import atomic_path, content_hash

    latents = result.latents if index is None else result.latents[index:index + 1]
    metadata = {"plan": json.dumps({k: v for k, v in recipe.plan.summary().items()
                                    if k in ("width", "height", "num_frames", "num_latent_frames", "rate", "prompts")}),
                "tool": recipe.tool, "model": model_name, "video_hash": content_hash(str(video)),
                "seeds": json.dumps(result.seeds if index is None else [result.seeds[index]])}
    with atomic_path(path) as temp:
        save_file({"latents": latents.detach().float().cpu().contiguous()}, temp, metadata=metadata)
