"""Running a recipe on a backend and writing what comes out (frames, and the latents for reuse)."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable
from pathlib import Path

import numpy as np

from engine.errors import UserError
from engine.generate.backends.base import GenerationResult
from engine.generate.media_io import to_uint8, write_video
from engine.generate.settings import SamplingSettings
from engine.generate.tools import Preset, Recipe, assemble
from engine.progress import CancelToken, Progress

OUTPUT_SUFFIXES = (".mp4", ".npy")


def run_recipe(backend, recipe: Recipe, settings: SamplingSettings, *, preset: Preset | None = None,
               on_step: Callable[[Progress], None] | None = None,
               cancel: CancelToken | None = None) -> tuple[np.ndarray, GenerationResult]:
    """Generate a recipe; returns the tool's output frames, uint8 (N, F, H, W, 3), and the raw result."""
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


def check_output(path: str) -> Path:
    out = Path(path)
    if out.suffix.lower() not in OUTPUT_SUFFIXES:
        raise UserError(f"output {path} must end in .mp4 or .npy")
    if not out.parent.is_dir():
        raise UserError(f"folder {out.parent} for the output does not exist; create it first")
    return out


def write_output(path: Path, frames: np.ndarray, fps: float, result: GenerationResult, recipe: Recipe,
                 model_name: str = "") -> list[Path]:
    """Write the output: .npy holds (F, H, W, 3), or (N, F, H, W, 3) for several variations; .mp4
    gets one file per variation (name-1.mp4, name-2.mp4, ...). Latents go next to each file
    (`.latents.safetensors`) with the plan summary, so extend and loop can reuse them."""
    written = []
    if path.suffix.lower() == ".npy":
        np.save(path, frames[0] if frames.shape[0] == 1 else frames)
        written.append(path)
    else:
        for i, video in enumerate(frames):
            target = path if frames.shape[0] == 1 else path.with_name(f"{path.stem}-{i + 1}{path.suffix}")
            write_video(target, video, fps)
            written.append(target)
    for i, target in enumerate(written if path.suffix.lower() == ".mp4" else [path]):
        if recipe.keep is None and not recipe.before[1] and not recipe.after[1]:
            # only a video that is exactly the generated frames can reuse its latents later
            _save_latents(target.with_suffix(".latents.safetensors"), result, recipe, model_name,
                          i if path.suffix.lower() == ".mp4" else None)
    return written


def _save_latents(path: Path, result: GenerationResult, recipe: Recipe, model_name: str, index: int | None) -> None:
    from safetensors.torch import save_file

    latents = result.latents if index is None else result.latents[index:index + 1]
    metadata = {"plan": json.dumps({k: v for k, v in recipe.plan.summary().items()
                                    if k in ("width", "height", "num_frames", "num_latent_frames", "rate", "prompts")}),
                "tool": recipe.tool, "model": model_name, "seeds": json.dumps(result.seeds if index is None else [result.seeds[index]])}
    save_file({"latents": latents.detach().float().cpu().contiguous()}, str(path), metadata=metadata)
