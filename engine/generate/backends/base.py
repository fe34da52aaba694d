"""What every backend returns, and the parts of a generation run that do not depend on the model."""

from __future__ import annotations

import contextlib
import gc
from dataclasses import dataclass
from typing import Any

from engine.errors import ModelError


@dataclass
class GenerationResult:
    """Latents are kept next to the frames so a failed or changed decode needs no new sampling,
    and extend/loop can reuse them instead of re-encoding pixels."""

    latents: Any  # torch.Tensor (N, C, num_latent_frames, h, w), normalised
    frames: Any  # numpy float32 (N, F, H, W, 3) in [0, 1]; None until decoded
    seeds: list[int]


def is_out_of_memory(error: BaseException) -> bool:
    import torch

    return isinstance(error, torch.OutOfMemoryError) or "out of memory" in str(error).lower()


def free_memory() -> None:
    import torch

    gc.collect()
    if torch.cuda.is_available():
        torch.cuda.empty_cache()


def out_of_memory_error(what: str, width: int, height: int, num_frames: int, variations: int,
                        device) -> ModelError:
    free_memory()
    return ModelError(
        f"out of memory on {device} while {what} {variations} x {width}x{height}, {num_frames} frames: lower the "
        "resolution, the duration or --variations, or run on the other device (--device cpu)")


@contextlib.contextmanager
def on_device(module, device, offload: bool):
    """Move a component to `device` for the duration of its use when offloading; else leave it."""
    if not offload or module is None:
        yield module
        return
    module.to(device)
    try:
        yield module
    finally:
        module.to("cpu")
        free_memory()


@contextlib.contextmanager
def out_of_memory_reported(plan, settings, device):
    """Running out of memory while generating becomes one message saying what to lower."""
    try:
        yield
    except (RuntimeError, MemoryError) as error:
        if not is_out_of_memory(error):
            raise
        raise out_of_memory_error("generating", plan.width, plan.height, plan.num_frames, settings.variations,
                                  device) from None


def weights_bytes(components: dict) -> int:
    """How much memory a model's weights take, for choosing memory options."""
    return sum(p.numel() * p.element_size() for c in components.values() if hasattr(c, "parameters")
               for p in c.parameters())


def place_components(device, memory, denoisers, others) -> None:
    """Put a model's components where `memory` says: all on the device; or all on the CPU,
    each moved in for its turn (on_device); or, with group offloading, the denoisers streamed
    to the device block by block and the rest moved in for their turn."""
    for module in (*denoisers, *others):
        if module is not None:
            module.eval().requires_grad_(False)
    if memory.group_offload:
        from diffusers.hooks import apply_group_offloading

        for module in denoisers:
            if module is not None:
                apply_group_offloading(module, onload_device=device, offload_type="block_level",
                                       num_blocks_per_group=1)
    elif not memory.cpu_offload:
        for module in (*denoisers, *others):
            if module is not None:
                module.to(device)


@contextlib.contextmanager
def lora_applied(loader, transformer, path: str, weight: float):
    """A LoRA (.safetensors) loaded into `transformer` through diffusers' LoRA loader `loader`
    (the model family's LoraLoaderMixin) for the duration of one job, then removed again."""
    from pathlib import Path

    from engine.errors import UserError

    file = Path(path)
    if file.suffix != ".safetensors" or not file.is_file():
        raise UserError(f"LoRA {path} does not exist or is not a .safetensors file")
    try:
        import peft  # noqa: F401
    except ImportError:
        raise ModelError("LoRA presets need the peft package; install it (pip install peft)") from None
    try:
        state_dict, metadata = loader.lora_state_dict(str(file), use_safetensors=True, local_files_only=True,
                                                      return_lora_metadata=True)
    except (OSError, ValueError) as error:
        raise ModelError(f"LoRA {file} cannot be read ({error})") from error
    if not state_dict or not all("lora" in key for key in state_dict):
        raise ModelError(f"{file} is not a LoRA: its weight names must contain 'lora'")
    name = f"kinora_{file.stem}"
    try:
        loader.load_lora_into_transformer(state_dict, transformer=transformer, adapter_name=name, metadata=metadata)
    except (ValueError, RuntimeError, KeyError) as error:
        raise ModelError(f"LoRA {file} does not fit this model ({str(error).splitlines()[0]}); use a LoRA "
                         "trained for it") from error
    try:
        transformer.set_adapters([name], weights=[weight])
        yield
    finally:
        transformer.delete_adapters(name)
