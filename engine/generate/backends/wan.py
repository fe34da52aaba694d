"""Wan 2.1 / 2.2 backend: WanTransformer3DModel (+ transformer_2 for the two-expert 2.2 models),
AutoencoderKLWan and a UMT5/T5 text encoder.

Reproduces the math of diffusers' WanPipeline (prompt cleaning and zero-padded embeddings,
latents_mean/std, the scheduler's shifted sigmas, guidance in two passes, the 2.2 boundary between
experts) around Kinora's own sampler. Wan 2.2 TI2V (`expand_timesteps`) takes a timestep per
token and runs held frames natively; the other Wan models were trained with one timestep per
video, so held frames use the sampler's re-noise-and-replace fallback. Per-frame prompts use an
attention processor that adds a prompt-gating bias to cross-attention.
"""

from __future__ import annotations

import contextlib
import json

import numpy as np

from engine.errors import ModelError
from engine.generate.backends import wan_decode
from engine.generate.backends.base import (
    BackendBase,
    GenerationRun,
    coder_blocks,
    place_components,
    text_encoder_blocks,
    weights_bytes,
)
from engine.generate.backends.memory import on_device
from engine.generate.caps import ModelCaps
from engine.generate.models import (
    MemoryOptions,
    ModelInfo,
    choose_memory_options,
    load_components,
    pick_device,
)
from engine.generate.plan import GenerationPlan
from engine.generate.settings import SamplingSettings
from engine.progress import CancelToken

MASKED = -10000.0


def _gated_processor_class(base):
    """`base` is the family's attention processor (WanAttnProcessor or one with its signature)."""

    class PromptGatedAttnProcessor(base):
        """Wan-style cross-attention with an additive bias (B, 1, video tokens, text tokens) so each
        video token attends only to the text of its own frame's prompt."""

        def __init__(self) -> None:
            super().__init__()
            self.bias = None

        def __call__(self, attn, hidden_states, encoder_hidden_states=None, attention_mask=None, rotary_emb=None):
            if attention_mask is None and encoder_hidden_states is not None and self.bias is not None:
                attention_mask = self.bias.to(hidden_states.dtype)
            return super().__call__(attn, hidden_states, encoder_hidden_states, attention_mask, rotary_emb)

    return PromptGatedAttnProcessor


class WanBackend(BackendBase):
    """Families built on Wan's VAE and text encoder (SkyReels-V2) subclass this and change the
    class attributes below, the processor base, the LoRA loader, `per_token_timesteps`, `sigmas`
    and `forward`."""

    family = "wan"
    label = "Wan"
    transformer_class_name = "WanTransformer3DModel"
    default_steps, default_guidance, default_rate = 50, 5.0, 16
    # Wan makes 81 frames (5 s at 16 fps) at once; longer ranges run as windows sharing 17 frames
    window_frames, window_overlap_frames = 81, 17
    default_max_sequence_length = 512  # WanPipeline's

    @staticmethod
    def attention_processor_base():
        from diffusers.models.transformers.transformer_wan import WanAttnProcessor

        return WanAttnProcessor

    def __init__(self, components: dict, index: dict, device, dtype, memory: MemoryOptions, name: str = "wan"):
        import diffusers
        from diffusers import AutoencoderKLWan, FlowMatchEulerDiscreteScheduler

        transformer_class = getattr(diffusers, self.transformer_class_name)
        self.transformer = components.get("transformer")
        self.transformer_2 = components.get("transformer_2")
        self.vae = components.get("vae")
        self.text_encoder = components.get("text_encoder")
        self.tokenizer = components.get("tokenizer")
        if not isinstance(self.transformer, transformer_class) or not isinstance(self.vae, AutoencoderKLWan):
            raise ModelError(f"{name} is not a {self.label} model (needs {self.transformer_class_name} and "
                             "AutoencoderKLWan)")
        if self.text_encoder is None or self.tokenizer is None:
            raise ModelError(f"{name} has no text encoder or tokenizer; download the complete model")
        if self.transformer.config.get("image_dim") or self.transformer.config.get("added_kv_proj_dim"):
            raise ModelError(f"{name} is a {self.label} image-to-video model (CLIP image conditioning), which this "
                             f"version of Kinora cannot run yet; use a {self.label} text-to-video model")
        # the model's own scheduler is kept for families that follow its schedule (SkyReels-V2)
        scheduler = self.shipped_scheduler = components.get("scheduler")
        if isinstance(scheduler, FlowMatchEulerDiscreteScheduler):
            self.scheduler = scheduler
        else:
            # Kinora samples every model with its flow-matching Euler loop at the model's own shift.
            shift = getattr(scheduler, "config", {}).get("flow_shift", 5.0) if scheduler is not None else 5.0
            self.scheduler = FlowMatchEulerDiscreteScheduler(shift=shift)
        self.boundary_ratio = index.get("boundary_ratio")
        self.expand_timesteps = bool(index.get("expand_timesteps", False))
        self.device, self.dtype, self.memory, self.name = device, dtype, memory, name
        place_components(device, memory, (self.transformer, self.transformer_2), (self.vae, self.text_encoder))
        if memory.vae_tiling:
            self.vae.enable_tiling()
        self.patch_t, self.patch_h, self.patch_w = self.transformer.config.patch_size
        self.latent_channels = self.transformer.config.in_channels
        self.processors = []
        gated = _gated_processor_class(self.attention_processor_base())
        for model in (self.transformer, self.transformer_2):
            if model is not None:
                for block in model.blocks:
                    processor = gated()
                    block.attn2.set_processor(processor)
                    self.processors.append(processor)
        temporal = self.vae.config.scale_factor_temporal
        spatial = self.vae.config.scale_factor_spatial
        self.caps = ModelCaps(
            family=self.family, vae_temporal_compression=temporal, vae_spatial_compression=spatial,
            size_multiple=spatial * max(self.patch_h, self.patch_w), per_token_timesteps=self.per_token_timesteps,
            keyframe_tokens=False, lora=True, default_steps=self.default_steps,
            default_guidance=self.default_guidance, default_rate=self.default_rate,
            window_frames=self.window_frames, window_overlap_frames=self.window_overlap_frames,
        )

    @property
    def per_token_timesteps(self) -> bool:
        """Wan 2.2 TI2V takes a timestep per token; the other Wan models one per video."""
        return self.expand_timesteps

    @classmethod
    def load(cls, info: ModelInfo, device=None, memory: MemoryOptions | None = None,
             cancel: CancelToken | None = None) -> WanBackend:
        device, dtype = pick_device(device)
        components = load_components(info, dtype, cancel)
        index = json.loads((info.path / "model_index.json").read_text(encoding="utf-8"))
        return cls(components, index, device, dtype, choose_memory_options(weights_bytes(components), device, 0, memory),
                   name=str(info.path))

    @staticmethod
    def lora_loader():
        from diffusers.loaders.lora_pipeline import WanLoraLoaderMixin

        return WanLoraLoaderMixin

    def cancel_points(self) -> list:
        return [*(block for model in (self.transformer, self.transformer_2) if model is not None
                  for block in model.blocks),
                *coder_blocks(self.vae.encoder), *coder_blocks(self.vae.decoder), *text_encoder_blocks(self.text_encoder)]

    # -- text ---------------------------------------------------------------------------------

    def encode_text(self, texts: list[str], max_sequence_length: int):
        """Zero-padded embeddings (len(texts), max_sequence_length, D), as WanPipeline makes them."""
        import torch
        from diffusers.pipelines.wan.pipeline_wan import prompt_clean

        inputs = self.tokenizer([prompt_clean(t) for t in texts], padding="max_length", max_length=max_sequence_length,
                                truncation=True, add_special_tokens=True, return_attention_mask=True,
                                return_tensors="pt")
        ids, mask = inputs.input_ids.to(self.device), inputs.attention_mask.to(self.device)
        seq_lens = mask.gt(0).sum(dim=1).long()
        with on_device(self.text_encoder, self.device, self.memory.offloads), torch.no_grad():
            embeds = self.text_encoder(ids, mask).last_hidden_state
        embeds = embeds.to(dtype=self.dtype, device=self.device)
        return torch.stack([torch.cat([u[:n], u.new_zeros(max_sequence_length - int(n), u.size(1))])
                            for u, n in zip(embeds, seq_lens, strict=True)])

    # -- pictures -----------------------------------------------------------------------------

    def _mean_std(self, like):
        import torch

        z = self.vae.config.z_dim
        mean = torch.tensor(self.vae.config.latents_mean).view(1, z, 1, 1, 1).to(like.device, like.dtype)
        inv_std = 1.0 / torch.tensor(self.vae.config.latents_std).view(1, z, 1, 1, 1).to(like.device, like.dtype)
        return mean, inv_std

    def encode_frames(self, frames: np.ndarray, generator=None):
        """uint8 RGB frames (n, H, W, 3) -> normalised latents (1, C, latent frames, h, w) (posterior mode)."""
        import torch

        pixels = torch.from_numpy(np.ascontiguousarray(frames)).to(self.device, torch.float32) / 255.0
        pixels = (pixels * 2.0 - 1.0).permute(3, 0, 1, 2).unsqueeze(0).to(self.vae.dtype)
        with on_device(self.vae, self.device, self.memory.offloads), torch.no_grad():
            latents = self.vae.encode(pixels).latent_dist.mode().float()
        mean, inv_std = self._mean_std(latents)
        return (latents - mean) * inv_std

    def _decode(self, latents, settings: SamplingSettings, generators=None) -> np.ndarray:
        import torch

        latents = latents.to(self.device, dtype=self.vae.dtype)
        mean, inv_std = self._mean_std(latents)
        with on_device(self.vae, self.device, self.memory.offloads), torch.no_grad():
            video = self.vae.decode(latents / inv_std + mean, return_dict=False)[0]
        video = (video * 0.5 + 0.5).clamp(0, 1)
        return video.permute(0, 2, 3, 4, 1).float().cpu().numpy()

    def decode_pixels(self, latents, settings: SamplingSettings | None = None):
        """Normalised latents (N, C, F, h, w) -> pixels (N, 3, F, H, W), 0-1 but not clamped
        (a gradient flows where they overshoot), a torch tensor on the device (the keyframe fit)."""
        latents = latents.to(self.device, dtype=self.vae.dtype)
        mean, inv_std = self._mean_std(latents)
        video = self.vae.decode(latents / inv_std + mean, return_dict=False)[0]
        return video.float() * 0.5 + 0.5

    def causal_decoder(self, prefix, settings: SamplingSettings | None = None, checkpoint: bool = False):
        """For the keyframe fit: `decode(z)`, the pixels (1, 3, n, H, W; 0-1, unclamped, with a
        gradient) of the normalised latent frame z (1, C, 1, h, w) following the normalised
        latents `prefix` (1, C, k, h, w), which are decoded once, without a gradient (the decoder
        is causal: later frames do not change these pixels). Untiled, whatever the VAE's tiling:
        one latent frame with its blocks checkpointed takes less than a tiled decode's gradient.
        engine.generate.backends.wan_decode."""
        prefix = prefix.to(self.device, dtype=self.vae.dtype)
        mean, inv_std = self._mean_std(prefix)
        decode = wan_decode.causal_decoder(self.vae, prefix / inv_std + mean, checkpoint)
        return lambda z: decode(z.to(self.device, self.vae.dtype) / inv_std + mean).float() * 0.5 + 0.5

    # -- sampling -----------------------------------------------------------------------------

    def forward(self, model, x, timestep, context, plan: GenerationPlan):
        """The transformer's velocity for `x` at `timestep` (0-d, or per token shaped (B, 1, L, 1, 1))."""
        if timestep.ndim == 0:
            timestep = timestep.expand(x.shape[0])
        else:  # one timestep per token: (B, frames * rows * columns) after patching
            _b, _c, frames, h, w = x.shape
            per_token = timestep.expand(x.shape[0], 1, frames, h, w)
            timestep = per_token[:, 0, ::self.patch_t, ::self.patch_h, ::self.patch_w].flatten(1)
        return model(hidden_states=x.to(model.dtype), timestep=timestep, encoder_hidden_states=context,
                     return_dict=False)[0]

    def sigmas(self, num_steps: int, seq_len: int | None = None):
        """The scheduler's shifted sigmas (its shift does not depend on the video's size)."""
        scheduler = type(self.scheduler).from_config(self.scheduler.config)
        scheduler.set_timesteps(num_steps, device=self.device)
        return scheduler.sigmas.to(self.device)

    # -- the pieces of the shared generate (engine.generate.backends.base.generate) -------------

    def pack(self, latents):
        return latents  # the sampler works on the latents as they are; the transformer patches them

    def unpack(self, tokens, num_latent_frames: int, height: int, width: int):
        return tokens

    def pack_strength(self, latent_strength, batch: int, height: int, width: int):
        frames = latent_strength.shape[0]
        return latent_strength.to(self.device).view(1, 1, frames, 1, 1).expand(batch, 1, frames, 1, 1).contiguous()

    @contextlib.contextmanager
    def text_conditioning(self, run: GenerationRun):
        """The prompts' zero-padded embeddings in a row, (uncond, cond) batch; with several prompts,
        each transformer token's cross-attention gated to its own frame's prompt."""
        import torch

        plan, max_len = run.plan, run.max_sequence_length
        halves = [list(plan.negatives), list(plan.prompts)] if run.guided else [list(plan.prompts)]
        context = torch.cat([self.encode_text(texts, max_len).reshape(1, len(texts) * max_len, -1)
                             .repeat(run.batch, 1, 1) for texts in halves])
        try:
            if len(plan.prompts) > 1:
                tokens_per_frame = (run.height // self.patch_h) * (run.width // self.patch_w)
                token_frame = torch.arange(run.num_latent_frames // self.patch_t * tokens_per_frame,
                                           device=self.device) // tokens_per_frame
                token_prompt = torch.tensor(np.array(plan.latent_prompt), device=self.device)[token_frame * self.patch_t]
                slot = torch.arange(context.shape[1], device=self.device) // max_len
                allowed = slot[None, :] == token_prompt[:, None]
                bias = ((~allowed).to(torch.float32) * MASKED)[None, None]
                for processor in self.processors:
                    processor.bias = bias
            yield context
        finally:
            for processor in self.processors:
                processor.bias = None

    @contextlib.contextmanager
    def denoising(self, run: GenerationRun, context):
        """The velocity of the expert for the current level: the two-expert Wan 2.2 models hand over
        from `transformer` to `transformer_2` below the boundary, each moved in for its call when offloading."""
        import torch

        num_train = self.scheduler.config.num_train_timesteps
        boundary = None if self.boundary_ratio is None else self.boundary_ratio * num_train

        def velocity(x, sigma):
            level = float(sigma.max()) * num_train
            model = self.transformer
            if boundary is not None and level < boundary and self.transformer_2 is not None:
                model = self.transformer_2
            timestep, texts, n = sigma * num_train, context[-x.shape[0]:], run.batch
            with on_device(model, self.device, self.memory.cpu_offload):
                if x.shape[0] == n:  # unguided, or the conditional half alone
                    return self.forward(model, x, timestep, texts, run.plan)
                # (uncond, cond) in two passes, as WanPipeline runs them: at real sizes the same time
                # per step as one pass over both (measured), at half the activations' memory
                each = timestep.ndim > 0 and timestep.shape[0] == x.shape[0]
                return torch.cat([self.forward(model, x[i:i + n], timestep[i:i + n] if each else timestep,
                                               texts[i:i + n], run.plan) for i in range(0, x.shape[0], n)])

        yield velocity
