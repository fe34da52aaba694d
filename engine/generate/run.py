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
               cancel: CancelToken | None = None, windows_dir: Path | None = None) -> tuple[np.ndarray, GenerationResult]:
    """Generate a recipe; returns the tool's output frames, uint8 (N, F, H, W, 3), and the raw
    result. The preset's sampling defaults and LoRA apply here; its words are in the plan's
    prompts already (Preset.apply). A plan longer than one window runs as a chain
    (engine.generate.chain) whose finished windows are kept in `windows_dir` when given."""
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
        result = generate_takes(backend, recipe.plan, settings, on_step, cancel, windows_dir=windows_dir, **upsample)
    return assemble(recipe, to_uint8(result.frames)), result


def generate_takes(backend, plan, settings: SamplingSettings, on_step, cancel, windows_dir: Path | None = None,
                   **options) -> GenerationResult:
    """Each variation sampled on its own, seed after seed: a take is the same picture whether it
    was made alone, among variations, again from its library recipe or on a cluster node (a
    batch gives results one rounding step apart from a single pass on some kernels), and the
    memory needed is one take's."""
    from dataclasses import replace

    take = _take_runner(backend, plan, cancel, windows_dir, options)
    if settings.variations == 1:
        return take(settings, on_step)
    takes = []
    for i in range(settings.variations):
        def step(progress: Progress, i=i) -> None:
            if on_step is None:
                return
            if progress.total <= 0:
                on_step(progress)
                return
            on_step(Progress(i * progress.total + progress.step, settings.variations * progress.total,
                             f"take {i + 1} of {settings.variations}: {progress.message}".rstrip(": "),
                             progress.preview))

        takes.append(take(replace(settings, seed=settings.seed + i, variations=1), step))
    import torch

    def joined(name: str, join):
        parts = [getattr(t, name) for t in takes]
        return None if parts[0] is None else join(parts)

    return GenerationResult(latents=torch.cat([t.latents for t in takes]), frames=joined("frames", np.concatenate),
                            seeds=[seed for t in takes for seed in t.seeds],
                            audio_latents=joined("audio_latents", torch.cat), audio=joined("audio", np.concatenate),
                            audio_sample_rate=takes[0].audio_sample_rate)


def _take_runner(backend, plan, cancel, windows_dir: Path | None, options: dict):
    """take(settings, on_step) -> one take's GenerationResult: one backend call, or a chain of
    windows for a plan longer than the model makes at once."""
    from dataclasses import asdict

    from engine.generate.chain import generate_chain
    from engine.generate.window_store import WindowStore, chain_key
    from engine.generate.windows import window_layout

    windows = window_layout(plan.num_frames, backend.caps)
    if len(windows) == 1:
        return lambda settings, on_step: backend.generate(plan, settings, on_step=on_step, cancel=cancel, **options)

    def chained(settings, on_step):
        store = None
        if windows_dir is not None:
            summary = plan.summary()
            key = chain_key(summary, asdict(settings), backend.name, [w.to_json() for w in windows])
            store = WindowStore(windows_dir / f"seed-{settings.seed}", key, recipe=summary)
        return generate_chain(backend, plan, settings, on_step=on_step, cancel=cancel, store=store, **options)
    return chained


def save_latents(path: Path, result: GenerationResult, recipe: Recipe, model_name: str, index: int | None,
                 video: Path) -> None:
    """The sampled latents beside the file they made, bound to that file's content hash so a
    replaced video never continues from another's latents (engine.generate.conditions). A model
    that makes sound stores its audio latents too ("audio_latents" (1, L, D), with their rate): extend
    and loop continue the sound from them (engine.generate.stored_sound)."""
    from safetensors.torch import save_file

    from engine.fsutil import atomic_path, content_hash

    latents = result.latents if index is None else result.latents[index:index + 1]
    metadata = {"plan": json.dumps({k: v for k, v in recipe.plan.summary().items()
                                    if k in ("width", "height", "num_frames", "num_latent_frames", "rate", "prompts")}),
                "tool": recipe.tool, "model": model_name, "video_hash": content_hash(str(video)),
                "seeds": json.dumps(result.seeds if index is None else [result.seeds[index]])}
    tensors = {"latents": latents.detach().float().cpu().contiguous()}
    if result.audio_latents is not None:
        audio = result.audio_latents if index is None else result.audio_latents[index:index + 1]
        tensors["audio_latents"] = audio.detach().float().cpu().contiguous()
        metadata["audio_latents_per_second"] = repr(float(recipe.plan.audio_latents_per_second or 0.0))
    with atomic_path(path) as temp:
        save_file(tensors, temp, metadata=metadata)
