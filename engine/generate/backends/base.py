"""What every backend provides (the Backend protocol), what it returns, and the one generate
function every family runs: the parts of a generation run that do not depend on the model.

A family adapter supplies only what differs between models: how text conditions the denoiser
(and how each frame is gated to its own prompt), the velocity function, the noise levels, the
layout of the sampler's tokens, keyframe tokens where the model has them, and its VAE. Seeds,
defaults, condition latents, noise, hold strengths, sampling, decoding, cancelling and running
out of memory are handled once, here.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from engine.errors import ModelError
from engine.generate.backends.memory import free_memory, is_out_of_memory
from engine.generate.conditions import FrameReader, condition_latents, load_stored_latents, read_source_frames
from engine.generate.keyframe_fit import fit_keyframes
from engine.progress import CancelToken, Progress

if TYPE_CHECKING:
    import numpy as np

    from engine.generate.caps import ModelCaps
    from engine.generate.models import MemoryOptions, ModelInfo
    from engine.generate.plan import GenerationPlan
    from engine.generate.sampler import Velocity
    from engine.generate.settings import SamplingSettings


@dataclass
class GenerationResult:
    """Latents are kept next to the frames so a failed or changed decode needs no new sampling,
    and extend/loop can reuse them instead of re-encoding pixels."""

    latents: Any  # torch.Tensor (N, C, num_latent_frames, h, w), normalised
    frames: Any  # numpy float32 (N, F, H, W, 3) in [0, 1]; None until decoded
    seeds: list[int]
    # models that make sound (LTX-2): normalised packed audio latents (N, L, D), waveforms float32
    # (N, channels, samples) in [-1, 1] once decoded, and their sample rate
    audio_latents: Any = None
    audio: Any = None
    audio_sample_rate: int | None = None
    # a two-stage model's first stage (LTX-2 with a latent upsampler): its video latents at half the
    # width and height, which the next window of a chain holds in its own first stage
    first_stage_latents: Any = None


def out_of_memory_error(what: str, width: int, height: int, num_frames: int, variations: int,
                        device) -> ModelError:
    free_memory()
    return ModelError(
        f"out of memory on {device} while {what} {variations} x {width}x{height}, {num_frames} frames: lower the "
        "resolution, the duration or --variations, or run on the other device (--device cpu)")


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


# -- what every family provides -------------------------------------------------------------------

@dataclass
class KeyframeTokens:
    """Extra conditioning tokens at exact times (families with `caps.keyframe_tokens`): each one a
    latent frame of tokens put in front of the video's tokens, in the sampler's token layout."""

    cond: Any  # (B, n, D) the keyframes' latents
    noise: Any  # (B, n, D)
    strength: Any  # (B, n, 1) hold strength of each token
    coords: Any  # (1, 3, n) where each token sits, in the units the denoiser's positions take
    prompt: Any  # (B, n) the prompt each token follows

    @property
    def count(self) -> int:
        return self.cond.shape[1]


@dataclass
class GenerationRun:
    """What one generate call has settled before sampling, handed to the family's pieces."""

    plan: GenerationPlan
    settings: SamplingSettings
    seeds: list[int]
    generators: list  # one CPU torch.Generator per video, seeded seeds[i]
    num_latent_frames: int
    height: int  # latent rows
    width: int  # latent columns
    guided: bool  # guidance > 1: the denoiser sees (unconditional, conditional) batches at guided steps
    max_sequence_length: int
    keyframes: KeyframeTokens | None = None

    @property
    def batch(self) -> int:
        return len(self.seeds)

    @property
    def noise_generator(self):
        """What diffusers' randn_tensor is given: the list for a batch, the one generator for one video
        (the reference pipelines' convention; the noise differs between the two)."""
        return self.generators if self.batch > 1 else self.generators[0]


@runtime_checkable
class Backend(Protocol):
    """A loaded model of one family. engine.generate.backends.FAMILY_TABLE maps pipelines to these.

    The sampler's state is "tokens" in the family's own layout: `pack` turns latents
    (B, C, F, h, w) into it and `unpack` back. Families with `caps.keyframe_tokens` pack to
    (B, tokens, D) so that keyframe tokens can be put in front.
    """

    family: str
    name: str  # the model's folder: what stored latents and outputs are labelled with
    caps: ModelCaps
    device: Any
    dtype: Any
    memory: MemoryOptions
    latent_channels: int
    default_max_sequence_length: int

    @classmethod
    def load(cls, info: ModelInfo, device=None, memory: MemoryOptions | None = None,
             cancel: CancelToken | None = None) -> Backend: ...

    def generate(self, plan: GenerationPlan, settings: SamplingSettings, *,
                 on_step: Callable[[Progress], None] | None = None, cancel: CancelToken | None = None,
                 read: FrameReader = read_source_frames, decode: bool = True,
                 upsample_conditions: bool = False, steer: Callable | None = None,
                 frame_guidance=None) -> GenerationResult: ...

    # pictures
    def encode_frames(self, frames: np.ndarray, generator=None):
        """uint8 RGB frames (n, H, W, 3) -> normalised latents (1, C, latent frames, h, w)."""

    def decode(self, latents, settings: SamplingSettings, generators=None) -> np.ndarray:
        """Normalised latents (N, C, F, h, w) -> float frames (N, F, H, W, 3) in [0, 1]."""

    def decode_pixels(self, latents, settings: SamplingSettings | None = None):
        """Normalised latents (N, C, F, h, w) -> torch pixels (N, 3, F, H, W) on the device, 0-1
        but not clamped, differentiable, without decode noise (engine.generate.keyframe_fit)."""

    def upsample_latents(self, latents):
        """(N, C, F, h, w) -> (N, C, F, 2h, 2w); only where `caps.latent_upsampler`."""

    def lora(self, path: str, weight: float = 1.0) -> AbstractContextManager:
        """A LoRA applied for one job; only where `caps.lora`."""

    # the family's pieces of the shared generate()
    def pack(self, latents): ...

    def unpack(self, tokens, num_latent_frames: int, height: int, width: int): ...

    def pack_strength(self, latent_strength, batch: int, height: int, width: int):
        """Hold strength per latent frame (F,) -> per token, broadcastable to `pack(latents)`."""

    def keyframe_tokens(self, run: GenerationRun, read: FrameReader) -> KeyframeTokens:
        """Only where `caps.keyframe_tokens`."""

    def text_conditioning(self, run: GenerationRun) -> AbstractContextManager:
        """Encodes the plan's prompts (and negatives when `run.guided`) and gates each frame to its own
        prompt for as long as the context lasts; yields what `denoising` needs."""

    def sigmas(self, num_steps: int, seq_len: int):
        """The noise levels (num_steps + 1, ending at 0) for a video of `seq_len` latent cells."""

    def denoising(self, run: GenerationRun, text) -> AbstractContextManager[Velocity]:
        """Yields velocity(x, sigma) for engine.generate.sampler.sample, the denoiser ready to run."""

    def cancel_points(self) -> list:
        """The modules (denoiser blocks, VAE and text encoder blocks) before each of which a job's
        cancel is checked."""


def coder_blocks(coder) -> list:
    """The blocks of a VAE's encoder or decoder (down, mid and up blocks, and each of their resnets)."""
    import torch

    blocks = []
    for name in ("down_blocks", "mid_block", "up_blocks"):
        part = getattr(coder, name, None)
        for block in part if isinstance(part, torch.nn.ModuleList) else [] if part is None else [part]:
            blocks.append(block)
            blocks.extend(getattr(block, "resnets", None) or ())
    return blocks


def text_encoder_blocks(text_encoder) -> list:
    """The layers of a transformers text encoder (T5/UMT5 `encoder.block`, others `layers`)."""
    encoder = getattr(text_encoder, "encoder", text_encoder)
    return list(getattr(encoder, "block", None) or getattr(encoder, "layers", None) or ())


@contextlib.contextmanager
def cancel_checks(modules, cancel: CancelToken | None) -> Iterator[None]:
    """`cancel.check()` before each of `modules` runs, for the duration of one job: one sampler step
    of a large model, or one decode, can take minutes, and a cancel must not wait for it."""
    if cancel is None:
        yield
        return

    def check(_module, _args) -> None:
        cancel.check()

    handles = [module.register_forward_pre_hook(check) for module in modules]
    try:
        yield
    finally:
        for handle in handles:
            handle.remove()


class BackendBase:
    """What the families share beyond generate(): the public generate method and a decode that
    retries with VAE tiling. Subclasses provide the rest of `Backend`, and `_decode`."""

    def generate(self, plan: GenerationPlan, settings: SamplingSettings, *,
                 on_step: Callable[[Progress], None] | None = None, cancel: CancelToken | None = None,
                 read: FrameReader = read_source_frames, decode: bool = True,
                 upsample_conditions: bool = False, steer: Callable | None = None,
                 frame_guidance=None) -> GenerationResult:
        """Run `plan`. With `upsample_conditions`, sources are encoded at half the plan's width and
        height and their latents doubled by the latent upsampler (the upscale tool's latent path).
        `steer(latents) -> latents` changes the clean estimate of every sampling step (latents
        (N, C, F, h, w) of the plan's grid; engine.generate.sampler.sample). `frame_guidance`, one
        weight in [0, 1] per latent frame, is the share of the guidance above 1 each latent frame
        gets (1 everywhere when not given)."""
        return generate(self, plan, settings, on_step=on_step, cancel=cancel, read=read, decode=decode,
                        upsample_conditions=upsample_conditions, steer=steer, frame_guidance=frame_guidance)

    def decode(self, latents, settings: SamplingSettings, generators=None) -> np.ndarray:
        """Normalised latents (N, C, F, h, w) -> float frames (N, F, H, W, 3) in [0, 1]; retried with
        VAE tiling when memory runs out, so the sampled latents are never lost."""
        try:
            return self._decode(latents, settings, generators)
        except (RuntimeError, MemoryError) as error:
            if not is_out_of_memory(error) or self.memory.vae_tiling:
                raise
            free_memory()
            self.vae.enable_tiling()
            return self._decode(latents, settings, generators)

    def lora(self, path: str, weight: float = 1.0):
        """Context manager: a LoRA applied to the (first) denoiser for one job."""
        return lora_applied(self.lora_loader(), self.transformer, path, weight)

    def upsample_latents(self, latents):
        raise ModelError(f"{self.name} has no latent upsampler; upscale its pixels instead")

    def keyframe_tokens(self, run: GenerationRun, read: FrameReader) -> KeyframeTokens:
        raise ModelError(f"{self.name} cannot place keyframes between latent frames; compile the plan for its caps")


# -- the one generate -----------------------------------------------------------------------------

def generate(backend: Backend, plan: GenerationPlan, settings: SamplingSettings, *,
             on_step: Callable[[Progress], None] | None = None, cancel: CancelToken | None = None,
             read: FrameReader = read_source_frames, decode: bool = True,
             upsample_conditions: bool = False, steer: Callable | None = None,
             frame_guidance=None) -> GenerationResult:
    """Sample `plan` on `backend`: condition latents and hold strengths from the plan's layers,
    keyframe tokens, gated text, the model's noise levels, engine.generate.sampler.sample, then
    the latent frames holding full-strength pictures refitted (engine.generate.keyframe_fit) and
    the VAE decode. `cancel` is checked before every step and before every block of the denoiser,
    the VAE and the text encoder, and raises engine.progress.JobCancelled."""
    with out_of_memory_reported(plan, settings, backend.device), cancel_checks(backend.cancel_points(), cancel):
        return _generate(backend, plan, settings, on_step, cancel, read, decode, upsample_conditions, steer,
                         frame_guidance)


def _generate(backend: Backend, plan, settings, on_step, cancel, read, decode, upsample_conditions, steer=None,
              frame_guidance=None):
    import torch
    from diffusers.utils.torch_utils import randn_tensor

    from engine.generate.sampler import sample

    caps = backend.caps
    if plan.width % caps.size_multiple or plan.height % caps.size_multiple:
        raise ModelError(f"plan size {plan.width}x{plan.height} is not a multiple of {caps.size_multiple}")
    if plan.vae_temporal_compression != caps.vae_temporal_compression:
        raise ModelError("the plan was compiled for another model's frame layout; compile it for this model")
    if cancel is not None:
        cancel.check()
    seeds = [settings.seed + i for i in range(settings.variations)]
    guidance = caps.default_guidance if settings.guidance is None else settings.guidance
    run = GenerationRun(
        plan=plan, settings=settings, seeds=seeds,
        generators=[torch.Generator(device="cpu").manual_seed(s) for s in seeds],
        num_latent_frames=plan.num_latent_frames, height=plan.height // caps.vae_spatial_compression,
        width=plan.width // caps.vae_spatial_compression, guided=guidance > 1.0,
        max_sequence_length=settings.max_sequence_length or backend.default_max_sequence_length)
    batch, frames, h, w = run.batch, run.num_latent_frames, run.height, run.width

    with torch.no_grad():
        cond, strength = _condition_latents(backend, run, read, upsample_conditions)
        noise = randn_tensor((batch, backend.latent_channels, frames, h, w), generator=run.noise_generator,
                             device=backend.device, dtype=torch.float32)
        noise_tokens = backend.pack(noise)
        if cond is None:
            cond_tokens = torch.zeros_like(noise_tokens)
            strength_tokens = backend.pack_strength(torch.zeros(frames), batch, h, w)
        else:
            cond_tokens = backend.pack(cond.to(backend.device).expand(batch, -1, -1, -1, -1))
            strength_tokens = backend.pack_strength(strength, batch, h, w)
        num_key_tokens = 0
        if plan.keyframes and caps.keyframe_tokens:
            run.keyframes = keys = backend.keyframe_tokens(run, read)
            num_key_tokens = keys.count
            noise_tokens = torch.cat([keys.noise, noise_tokens], dim=1)
            cond_tokens = torch.cat([keys.cond, cond_tokens], dim=1)
            strength_tokens = torch.cat([keys.strength, strength_tokens], dim=1)

        def preview(x0_tokens):
            latents = backend.unpack(x0_tokens[:1, num_key_tokens:], frames, h, w)[0, :3]
            low, high = latents.amin(dim=(1, 2, 3), keepdim=True), latents.amax(dim=(1, 2, 3), keepdim=True)
            picture = (latents - low) / (high - low).clamp_min(1e-6) * 255.0
            return picture.permute(1, 2, 3, 0).to(torch.uint8).cpu().numpy()

        def steered(x0_tokens):  # the clean estimate of the grid's tokens, as latents
            latents = steer(backend.unpack(x0_tokens[:, num_key_tokens:], frames, h, w))
            return torch.cat([x0_tokens[:, :num_key_tokens], backend.pack(latents)], dim=1)

        if frame_guidance is not None and guidance > 1.0:  # a scale per token: 1 + (guidance - 1) * weight
            weight = backend.pack_strength(torch.tensor([float(x) for x in frame_guidance]), batch, h, w)
            weight = torch.cat([torch.ones_like(weight[:, :num_key_tokens]), weight], dim=1)
            guidance = 1.0 + (guidance - 1.0) * weight

        with backend.text_conditioning(run) as text:
            sigmas = backend.sigmas(settings.steps or caps.default_steps, frames * h * w)
            with backend.denoising(run, text) as velocity:
                tokens = sample(velocity, noise_tokens, cond_tokens, strength_tokens, sigmas, guidance=guidance,
                                guidance_interval=settings.guidance_interval or caps.default_guidance_interval,
                                per_token_timesteps=caps.per_token_timesteps, on_step=on_step,
                                preview=preview if on_step else None, cancel=cancel,
                                steer=None if steer is None else steered)
        latents = backend.unpack(tokens[:, num_key_tokens:], frames, h, w)
        if decode:  # (a caller that decodes later, a chain, fits them itself)
            done = len(sigmas) - 1
            latents = fit_keyframes(backend, plan, latents, settings, read, cancel, report=None if on_step is None
                                    else lambda message: on_step(Progress(done, done, message)))
        result = GenerationResult(latents=latents, frames=None, seeds=seeds)
        if decode:
            result.frames = backend.decode(latents, settings, run.noise_generator)
    return result


def _condition_latents(backend: Backend, run: GenerationRun, read: FrameReader, upsample: bool):
    """(cond latents (1, C, F, h, w), strength (F,)) of the plan's layers, or (None, None)."""
    plan = run.plan
    if not plan.has_conditions:
        return None, None

    def encode(frames):
        return backend.encode_frames(frames, run.generators[0])

    if not upsample:
        cond, strength = condition_latents(plan, encode, read, stored=lambda source: load_stored_latents(
            source, backend.name, backend.latent_channels, run.height, run.width))
        return _with_held_latents(plan, cond, strength)
    if plan.held_latents is not None:
        raise ModelError("a window of a chain cannot upsample its conditions; upscale the whole video instead")
    if not backend.caps.latent_upsampler:
        raise ModelError(f"{backend.name} has no latent upsampler (a latent_upsampler folder); upscale its pixels "
                         "instead")
    multiple = 2 * backend.caps.size_multiple
    if plan.width % multiple or plan.height % multiple:
        raise ModelError(f"the latent upsampler doubles the size: {plan.width}x{plan.height} must be a multiple "
                         f"of {multiple}")
    cond, strength = condition_latents(
        plan, encode, read, size=(plan.width // 2, plan.height // 2), stored=lambda source: load_stored_latents(
            source, backend.name, backend.latent_channels, run.height // 2, run.width // 2))
    return backend.upsample_latents(cond), strength


def _with_held_latents(plan, cond, strength):
    """A chain's window holds the latents the window before made at its first latent frames (at
    the plan's strength there, 1 as the windows module compiles it), over whatever layers say."""
    if plan.held_latents is None:
        return cond, strength
    import numpy as np
    import torch

    held = torch.from_numpy(np.asarray(plan.held_latents, np.float32))
    count = held.shape[2]
    if cond is None:
        cond = torch.zeros((1, held.shape[1], plan.num_latent_frames, *held.shape[3:]))
    cond = cond.clone()
    cond[:, :, :count] = held.to(cond.device, cond.dtype)
    return cond, torch.tensor(np.array(plan.latent_strength, np.float32))
