"""LTX-Video backend: LTXVideoTransformer3DModel + AutoencoderKLLTXVideo + T5.

Reproduces the math of diffusers' LTXPipeline / LTXImageToVideoPipeline (latent packing,
latents_mean/std normalisation, the `calculate_shift` timestep shift, guidance, decode
timestep and noise) around Kinora's own sampler, and adds what the pipelines lack: per-token
hold strengths anywhere in the video and per-frame prompts in one forward pass.
"""

from __future__ import annotations

import contextlib

import numpy as np

from engine.errors import ModelError
from engine.generate.backends import ltx_attention
from engine.generate.backends.base import (
    BackendBase,
    GenerationRun,
    KeyframeTokens,
    coder_blocks,
    place_components,
    text_encoder_blocks,
    weights_bytes,
)
from engine.generate.backends.memory import on_device
from engine.generate.caps import ModelCaps
from engine.generate.conditions import FrameReader
from engine.generate.models import (
    MemoryOptions,
    ModelInfo,
    choose_memory_options,
    load_component,
    load_components,
    pick_device,
)
from engine.generate.plan import GenerationPlan
from engine.generate.settings import SamplingSettings
from engine.progress import CancelToken


def decode_pixels(backend, latents, settings: SamplingSettings | None = None):
    """Normalised latents (N, C, F, h, w) -> pixels (N, 3, F, H, W), 0-1 but not clamped (a
    gradient flows where they overshoot), a torch tensor on the device, without the decode noise
    (the keyframe fit): an LTX-Video or LTX-2 backend's VAE, with its decode timestep."""
    import torch

    latents = backend._denormalize(latents.to(backend.device, torch.float32)).to(backend.vae.dtype)
    timestep = None
    if backend.vae.config.timestep_conditioning:
        value = (settings or SamplingSettings()).decode_timestep
        timestep = torch.full((latents.shape[0],), value, device=backend.device, dtype=latents.dtype)
    video = backend.vae.decode(latents, timestep, return_dict=False)[0]
    return video.float() * 0.5 + 0.5


def calculate_shift(seq_len: int, base_seq_len: int = 256, max_seq_len: int = 4096, base_shift: float = 0.5,
                    max_shift: float = 1.15) -> float:
    """Resolution-dependent shift `mu` of the flow-matching schedule (linear in the token count)."""
    m = (max_shift - base_shift) / (max_seq_len - base_seq_len)
    return seq_len * m + (base_shift - m * base_seq_len)


def pack(latents, patch: int, patch_t: int):
    """(B, C, F, H, W) -> (B, tokens, C * patch_t * patch * patch), token order frame, row, column."""
    b, c, f, h, w = latents.shape
    latents = latents.reshape(b, c, f // patch_t, patch_t, h // patch, patch, w // patch, patch)
    return latents.permute(0, 2, 4, 6, 1, 3, 5, 7).flatten(4, 7).flatten(1, 3)


def unpack(tokens, num_frames: int, height: int, width: int, patch: int, patch_t: int):
    b = tokens.size(0)
    tokens = tokens.reshape(b, num_frames, height, width, -1, patch_t, patch, patch)
    return tokens.permute(0, 4, 1, 5, 2, 6, 3, 7).flatten(6, 7).flatten(4, 5).flatten(2, 3)


def _embed_each_timestep_once(time_embed) -> None:
    """With a timestep per token, the transformer embeds thousands of copies of a few values (one
    per held strength); embed each distinct value once and gather. Row-wise, so the result is the
    same. Done on the instance so the module, its weights and their names stay as they are."""
    import torch

    if getattr(time_embed.emb, "use_additional_conditions", False):
        return
    original = time_embed.forward

    def forward(timestep, *args, **kwargs):
        if timestep.numel() <= 64:
            return original(timestep, *args, **kwargs)
        values, inverse = torch.unique(timestep, return_inverse=True)
        temb, embedded = original(values, *args, **kwargs)
        return temb[inverse], embedded[inverse]

    time_embed.forward = forward


class LTXBackend(BackendBase):
    family = "ltx"
    default_max_sequence_length = 128  # LTXPipeline's

    def __init__(self, components: dict, device, dtype, memory: MemoryOptions, name: str = "ltx") -> None:
        from diffusers import (
            AutoencoderKLLTXVideo,
            FlowMatchEulerDiscreteScheduler,
            LTXVideoTransformer3DModel,
        )

        self.transformer = components.get("transformer")
        self.vae = components.get("vae")
        self.text_encoder = components.get("text_encoder")
        self.tokenizer = components.get("tokenizer")
        scheduler = components.get("scheduler")
        if not isinstance(self.transformer, LTXVideoTransformer3DModel) or not isinstance(self.vae, AutoencoderKLLTXVideo):
            raise ModelError(f"{name} is not an LTX-Video model (needs LTXVideoTransformer3DModel and AutoencoderKLLTXVideo)")
        if not isinstance(scheduler, FlowMatchEulerDiscreteScheduler):
            raise ModelError(f"{name} uses {type(scheduler).__name__}; Kinora samples LTX-Video with "
                             "FlowMatchEulerDiscreteScheduler settings only")
        if self.text_encoder is None or self.tokenizer is None:
            raise ModelError(f"{name} has no text encoder or tokenizer; download the complete model")
        self.scheduler_class = type(scheduler)
        self.scheduler_config = scheduler.config
        self.device, self.dtype, self.memory, self.name = device, dtype, memory, name
        self.latent_upsampler = self._spatial_upsampler(components.get("latent_upsampler"), name)
        place_components(device, memory, (self.transformer,), (self.vae, self.text_encoder, self.latent_upsampler))
        if memory.vae_tiling:
            self.vae.enable_tiling()
        self.patch = self.transformer.config.patch_size
        self.cross_attention = ltx_attention.install(self.transformer)
        _embed_each_timestep_once(self.transformer.time_embed)
        self.patch_t = self.transformer.config.patch_size_t
        self.latent_channels = self.transformer.config.in_channels
        self.caps = ModelCaps(
            family="ltx",
            vae_temporal_compression=self.vae.temporal_compression_ratio,
            vae_spatial_compression=self.vae.spatial_compression_ratio,
            size_multiple=self.vae.spatial_compression_ratio * self.patch,
            per_token_timesteps=True, keyframe_tokens=True, lora=True,
            latent_upsampler=self.latent_upsampler is not None, default_steps=50, default_guidance=3.0, default_rate=25,
        )

    @classmethod
    def load(cls, info: ModelInfo, device=None, memory: MemoryOptions | None = None,
             cancel: CancelToken | None = None) -> LTXBackend:
        device, dtype = pick_device(device)
        components = load_components(info, dtype, cancel)
        upsampler = info.path / "latent_upsampler"
        if "latent_upsampler" not in components and (upsampler / "config.json").is_file():
            if cancel is not None:
                cancel.check()
            # the upsampler ships as a model of its own; a copy in the model folder is used too
            components["latent_upsampler"] = load_component(upsampler, "ltx", "LTXLatentUpsamplerModel", dtype)
        memory = choose_memory_options(weights_bytes(components), device, 0, memory)
        return cls(components, device, dtype, memory, name=str(info.path))

    def _spatial_upsampler(self, upsampler, name: str):
        """The model's latent upsampler when it doubles width and height only; Kinora keeps frame
        counts as planned, so one that also upsamples time is left unused."""
        if upsampler is None:
            return None
        from diffusers.pipelines.ltx.modeling_latent_upsampler import LTXLatentUpsamplerModel

        if not isinstance(upsampler, LTXLatentUpsamplerModel):
            raise ModelError(f"{name}/latent_upsampler is a {type(upsampler).__name__}, not an LTXLatentUpsamplerModel")
        if upsampler.config.in_channels != self.vae.config.latent_channels:
            raise ModelError(f"{name}/latent_upsampler is for {upsampler.config.in_channels}-channel latents but this "
                             f"model's VAE makes {self.vae.config.latent_channels}; use the upsampler made for it")
        if upsampler.config.temporal_upsample or not upsampler.config.spatial_upsample:
            return None
        return upsampler

    def upsample_latents(self, latents):
        """Normalised latents (N, C, F, h, w) -> (N, C, F, 2h, 2w), as LTXLatentUpsamplePipeline
        does with its default arguments (upsampled in the VAE's raw latent space)."""
        import torch

        with on_device(self.latent_upsampler, self.device, self.memory.offloads), torch.no_grad():
            raw = self._denormalize(latents.to(self.device, torch.float32)).to(self.latent_upsampler.dtype)
            return self._normalize(self.latent_upsampler(raw).float())

    @staticmethod
    def lora_loader():
        from diffusers.loaders.lora_pipeline import LTXVideoLoraLoaderMixin

        return LTXVideoLoraLoaderMixin

    def cancel_points(self) -> list:
        upsampler = self.latent_upsampler
        return [*self.transformer.transformer_blocks, *coder_blocks(self.vae.encoder), *coder_blocks(self.vae.decoder),
                *text_encoder_blocks(self.text_encoder),
                *([] if upsampler is None else [*upsampler.res_blocks, *upsampler.post_upsample_res_blocks])]

    # -- text ---------------------------------------------------------------------------------

    def encode_text(self, texts: list[str], max_sequence_length: int):
        """T5 embeddings (len(texts), max_sequence_length, D) and the padding mask, as LTXPipeline makes them."""
        import torch

        inputs = self.tokenizer(texts, padding="max_length", max_length=max_sequence_length, truncation=True,
                                add_special_tokens=True, return_tensors="pt")
        with on_device(self.text_encoder, self.device, self.memory.offloads), torch.no_grad():
            embeds = self.text_encoder(inputs.input_ids.to(self.device))[0]
        return embeds.to(dtype=self.dtype, device=self.device), inputs.attention_mask.bool().to(self.device)

    @contextlib.contextmanager
    def text_conditioning(self, run: GenerationRun):
        """Concatenated prompt embeddings and their padding mask (B, text) for the (uncond, cond) batch.

        One prompt: exactly what the pipelines pass. Several: every prompt's tokens in a row, and
        the cross-attention processors told which runs of video tokens read which prompt (see
        ltx_attention), so each frame sees only its own prompt in a single forward pass. Padding
        that every half masks is left out, so a storyboard's text is no longer than its prompts.
        """
        import torch

        plan, batch, max_sequence_length = run.plan, run.batch, run.max_sequence_length
        halves = [list(plan.negatives), list(plan.prompts)] if run.guided else [list(plan.prompts)]
        encoded = [self.encode_text(texts, max_sequence_length) for texts in halves]
        if len(plan.prompts) > 1:
            lengths = torch.stack([m.sum(dim=1) for _, m in encoded]).amax(dim=0).clamp_min(1)
            keep = torch.cat([torch.arange(int(n), device=self.device) + i * max_sequence_length
                              for i, n in enumerate(lengths)])
            slot = torch.repeat_interleave(torch.arange(len(lengths), device=self.device), lengths.to(self.device))
        embeds, masks = [], []
        for e, m in encoded:
            e, m = e.reshape(1, -1, e.shape[-1]), m.reshape(1, -1)
            if len(plan.prompts) > 1:
                e, m = e[:, keep], m[:, keep]
            embeds.append(e.repeat(batch, 1, 1))
            masks.append(m.repeat(batch, 1))
        context, text_mask = torch.cat(embeds), torch.cat(masks)
        try:
            if len(plan.prompts) > 1:
                # the same token -> prompt runs for every video of the batch
                runs = ltx_attention.segments(self._token_prompt(run), slot)
                for processor in self.cross_attention:
                    processor.segments = runs
            yield context, text_mask
        finally:
            for processor in self.cross_attention:
                processor.segments = None

    def _token_prompt(self, run: GenerationRun):
        """The prompt each token of one video follows (tokens,), keyframe tokens first."""
        import torch

        prompt_map = torch.tensor(np.array(run.plan.latent_prompt), device=self.device).view(1, 1, -1, 1, 1)
        token_prompt = pack(prompt_map.expand(1, 1, -1, run.height, run.width), self.patch, self.patch_t)[0, :, 0]
        if run.keyframes is not None:
            token_prompt = torch.cat([run.keyframes.prompt[0], token_prompt])
        return token_prompt

    # -- pictures -----------------------------------------------------------------------------

    def _normalize(self, latents):
        mean = self.vae.latents_mean.view(1, -1, 1, 1, 1).to(latents.device, latents.dtype)
        std = self.vae.latents_std.view(1, -1, 1, 1, 1).to(latents.device, latents.dtype)
        return (latents - mean) * self.vae.config.scaling_factor / std

    def _denormalize(self, latents):
        mean = self.vae.latents_mean.view(1, -1, 1, 1, 1).to(latents.device, latents.dtype)
        std = self.vae.latents_std.view(1, -1, 1, 1, 1).to(latents.device, latents.dtype)
        return latents * std / self.vae.config.scaling_factor + mean

    def encode_frames(self, frames: np.ndarray, generator=None):
        """uint8 RGB frames (n, H, W, 3) -> normalised latents (1, C, latent frames, h, w), sampled
        from the VAE's posterior with `generator` as the reference pipelines do."""
        import torch

        pixels = torch.from_numpy(np.ascontiguousarray(frames)).to(self.device, torch.float32) / 255.0
        pixels = (pixels * 2.0 - 1.0).permute(3, 0, 1, 2).unsqueeze(0).to(self.dtype)
        with on_device(self.vae, self.device, self.memory.offloads), torch.no_grad():
            latents = self.vae.encode(pixels).latent_dist.sample(generator)
        return self._normalize(latents.to(torch.float32))

    def _decode(self, latents, settings: SamplingSettings, generators) -> np.ndarray:
        import torch
        from diffusers.utils.torch_utils import randn_tensor

        latents = self._denormalize(latents.to(self.device, torch.float32)).to(self.dtype)
        timestep = None
        if self.vae.config.timestep_conditioning:
            batch = latents.shape[0]
            noise = randn_tensor(latents.shape, generator=generators, device=self.device, dtype=latents.dtype)
            scale = settings.decode_timestep if settings.decode_noise_scale is None else settings.decode_noise_scale
            timestep = torch.tensor([settings.decode_timestep] * batch, device=self.device, dtype=latents.dtype)
            scale_t = torch.tensor([scale] * batch, device=self.device, dtype=latents.dtype)[:, None, None, None, None]
            latents = (1 - scale_t) * latents + scale_t * noise
        with on_device(self.vae, self.device, self.memory.offloads), torch.no_grad():
            video = self.vae.decode(latents.to(self.vae.dtype), timestep, return_dict=False)[0]
        video = (video * 0.5 + 0.5).clamp(0, 1)
        return video.permute(0, 2, 3, 4, 1).float().cpu().numpy()

    def decode_pixels(self, latents, settings: SamplingSettings | None = None):
        return decode_pixels(self, latents, settings)

    # -- sampling -----------------------------------------------------------------------------

    def sigmas(self, num_steps: int, seq_len: int):
        """The shifted flow-matching noise levels (num_steps + 1, ending at 0), as LTXPipeline sets them."""
        import torch

        if num_steps == 1:
            # One Euler step from pure noise; the schedule's terminal stretch is undefined for a single level.
            return torch.tensor([1.0, 0.0], device=self.device)
        config = self.scheduler_config
        mu = calculate_shift(seq_len, config.get("base_image_seq_len", 256), config.get("max_image_seq_len", 4096),
                             config.get("base_shift", 0.5), config.get("max_shift", 1.15))
        scheduler = self.scheduler_class.from_config(config)
        scheduler.set_timesteps(sigmas=np.linspace(1.0, 1 / num_steps, num_steps), mu=mu, device=self.device)
        return scheduler.sigmas.to(self.device)

    def pack(self, latents):
        return pack(latents, self.patch, self.patch_t)

    def unpack(self, tokens, num_latent_frames: int, height: int, width: int):
        return unpack(tokens, num_latent_frames // self.patch_t, height // self.patch, width // self.patch, self.patch,
                      self.patch_t)

    def pack_strength(self, latent_strength, batch: int, height: int, width: int):
        """(B, tokens, 1): a token patched over several latent frames is held as its most held one."""
        strength_map = latent_strength.to(self.device).view(1, 1, -1, 1, 1).expand(batch, 1, -1, height, width)
        return pack(strength_map, self.patch, self.patch_t).amax(-1, keepdim=True)

    def _grid_coords(self, num_latent_frames: int, h: int, w: int, plan: GenerationPlan):
        """Positions (1, 3, tokens) of the latent grid, in the units `video_coords` takes, equal to the
        positions the transformer derives itself when it gets none (time in seconds, space in pixels)."""
        import torch

        tc, sc = self.caps.vae_temporal_compression, self.caps.vae_spatial_compression
        f = torch.arange(num_latent_frames // self.patch_t, dtype=torch.float32) * (tc / float(plan.rate.fps)) * self.patch_t
        y = torch.arange(h // self.patch, dtype=torch.float32) * sc * self.patch
        x = torch.arange(w // self.patch, dtype=torch.float32) * sc * self.patch
        grid = torch.stack(torch.meshgrid(f, y, x, indexing="ij")).flatten(1)
        return grid.unsqueeze(0).to(self.device)

    def keyframe_tokens(self, run: GenerationRun, read: FrameReader) -> KeyframeTokens:
        """One latent frame of tokens per keyframe, placed at its exact pixel time."""
        import torch
        from diffusers.utils.torch_utils import randn_tensor

        from engine.generate.media_io import frame_to

        plan, generators, batch, h, w = run.plan, run.generators, run.batch, run.height, run.width
        parts = {"cond": [], "strength": [], "coords": [], "prompt": []}
        fps = float(plan.rate.fps)
        for key in plan.keyframes:
            source = plan.sources[key.source]
            frames = frame_to(read(source, [key.source_frame]), plan.width, plan.height, source.fit)
            tokens = pack(self.encode_frames(frames, generators[0]), self.patch, 1)  # a single frame: no time patch
            n = tokens.shape[1]
            grid = self._grid_coords(1, h, w, plan)
            grid[:, 0] = key.pixel_frame / fps
            parts["cond"].append(tokens)
            parts["strength"].append(torch.full((1, n, 1), key.strength, device=self.device))
            parts["coords"].append(grid)
            parts["prompt"].append(torch.full((1, n), int(plan.pixel_prompt[key.pixel_frame]), device=self.device))
        cond = torch.cat(parts["cond"], dim=1).expand(batch, -1, -1)
        noise = randn_tensor(cond.shape, generator=run.noise_generator, device=self.device, dtype=torch.float32)
        return KeyframeTokens(cond=cond, noise=noise, strength=torch.cat(parts["strength"], dim=1).expand(batch, -1, -1),
                              coords=torch.cat(parts["coords"], dim=2),
                              prompt=torch.cat(parts["prompt"], dim=1).expand(batch, -1))

    @contextlib.contextmanager
    def denoising(self, run: GenerationRun, text):
        """The transformer's velocity, as LTXPipeline calls it (timesteps scaled to the training range,
        the RoPE scale of the VAE's compression), with keyframe tokens at their own positions."""
        import torch

        context, attention = text
        h, w = run.height, run.width
        rope_scale = (self.caps.vae_temporal_compression / float(run.plan.rate.fps),
                      self.caps.vae_spatial_compression, self.caps.vae_spatial_compression)
        num_train_timesteps = self.scheduler_config.get("num_train_timesteps", 1000)
        post_frames, post_h, post_w = run.num_latent_frames // self.patch_t, h // self.patch, w // self.patch
        video_coords = None
        if run.keyframes is not None:
            video_coords = torch.cat([run.keyframes.coords, self._grid_coords(run.num_latent_frames, h, w, run.plan)],
                                     dim=2)

        def velocity(x, sigma):
            timestep = sigma * num_train_timesteps
            if timestep.ndim == 0:
                timestep = timestep.expand(x.shape[0])
            else:
                timestep = timestep.squeeze(-1)
                if bool((timestep == timestep[:, :1]).all()):
                    timestep = timestep[:, 0]  # one level per video: the pipelines' cheaper call
            coords = None if video_coords is None else video_coords.expand(x.shape[0], -1, -1)
            rows = x.shape[0]  # the whole (uncond, cond) batch, or its conditional half alone
            return self.transformer(
                hidden_states=x.to(self.dtype), encoder_hidden_states=context[-rows:], timestep=timestep,
                encoder_attention_mask=attention[-rows:], num_frames=post_frames, height=post_h, width=post_w,
                rope_interpolation_scale=rope_scale, video_coords=coords, return_dict=False)[0]

        with on_device(self.transformer, self.device, self.memory.cpu_offload):
            yield velocity
