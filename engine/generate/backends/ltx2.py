"""LTX-2 backend: video and sound from one plan, in one forward pass per step.

Components: LTX2VideoTransformer3DModel (a video and an audio stream that attend to each other),
AutoencoderKLLTX2Video, AutoencoderKLLTX2Audio (mel spectrograms), the vocoder (mel -> waveform),
a Gemma 3 text encoder and LTX2TextConnectors (Gemma's stacked hidden states -> one context for
each stream). Reproduces the math of diffusers' LTX2Pipeline and LTX2ConditionPipeline (latent
packing, normalisation, the `calculate_shift` schedule, keyframe tokens appended after the video
tokens with their own positions, image re-compression before encoding) around Kinora's sampler,
and adds per-token hold strengths anywhere in both streams and per-frame prompts for both.

The sampler's state is the two streams flattened and put side by side, (B, video + audio
values), so the one sampler steps both with their own per-token noise levels: a token's level
is the same for each of its channels, and the velocity function reads it back per token.
"""

from __future__ import annotations

import contextlib

import numpy as np

from engine.errors import ModelError
from engine.generate.backends import ltx2_attention
from engine.generate.backends.base import (
    BackendBase,
    GenerationResult,
    GenerationRun,
    KeyframeTokens,
    cancel_checks,
    coder_blocks,
    out_of_memory_reported,
    place_components,
    text_encoder_blocks,
    weights_bytes,
)
from engine.generate.backends.fp8_storage import lora_layers_in, store_in_fp8
from engine.generate.backends.ltx import (
    _embed_each_timestep_once,
    calculate_shift,
    decode_pixels,
    pack,
    unpack,
)
from engine.generate.backends.ltx_attention import segments
from engine.generate.backends.memory import on_device
from engine.generate.caps import ModelCaps
from engine.generate.models import (
    MemoryOptions,
    ModelInfo,
    choose_memory_options,
    load_component,
    load_components,
    pick_device,
)
from engine.generate.settings import SamplingSettings
from engine.progress import CancelToken

NEEDED = {"transformer": "LTX2VideoTransformer3DModel", "vae": "AutoencoderKLLTX2Video",
          "audio_vae": "AutoencoderKLLTX2Audio", "vocoder": "a vocoder (LTX2Vocoder)",
          "connectors": "LTX2TextConnectors", "text_encoder": "a Gemma text encoder", "tokenizer": "its tokenizer"}


class LTX2Backend(BackendBase):
    family = "ltx2"
    default_max_sequence_length = 1024  # LTX2Pipeline's
    use_cross_timestep = True  # LTX2Pipeline's default: each stream's cross-modal attention follows the other's level

    def __init__(self, components: dict, device, dtype, memory: MemoryOptions, name: str = "ltx2") -> None:
        from diffusers import (
            AutoencoderKLLTX2Audio,
            AutoencoderKLLTX2Video,
            FlowMatchEulerDiscreteScheduler,
            LTX2VideoTransformer3DModel,
        )
        from diffusers.pipelines.ltx2 import LTX2TextConnectors

        missing = [f"{part} ({what})" for part, what in NEEDED.items() if components.get(part) is None]
        if missing:
            raise ModelError(f"{name} has no {', '.join(missing)}; download the complete LTX-2 model")
        self.transformer, self.vae = components["transformer"], components["vae"]
        self.audio_vae, self.vocoder = components["audio_vae"], components["vocoder"]
        self.connectors, self.text_encoder = components["connectors"], components["text_encoder"]
        self.tokenizer = components["tokenizer"]
        for part, cls in (("transformer", LTX2VideoTransformer3DModel), ("vae", AutoencoderKLLTX2Video),
                          ("audio_vae", AutoencoderKLLTX2Audio), ("connectors", LTX2TextConnectors)):
            if not isinstance(components[part], cls):
                raise ModelError(f"{name}/{part} is a {type(components[part]).__name__}, not the {cls.__name__} an "
                                 "LTX-2 model has; download the model again")
        if not hasattr(self.vocoder, "config") or not hasattr(self.vocoder.config, "output_sampling_rate"):
            raise ModelError(f"{name}/vocoder is a {type(self.vocoder).__name__}, not an LTX-2 vocoder")
        self._check_text_encoder(name)
        scheduler = components.get("scheduler")
        if not isinstance(scheduler, FlowMatchEulerDiscreteScheduler):
            raise ModelError(f"{name} uses {type(scheduler).__name__}; Kinora samples LTX-2 with "
                             "FlowMatchEulerDiscreteScheduler settings only")
        self.scheduler_class, self.scheduler_config = type(scheduler), scheduler.config
        self.device, self.dtype, self.memory, self.name = device, dtype, memory, name
        self.latent_upsampler = self._spatial_upsampler(components.get("latent_upsampler"), name)
        if memory.fp8_storage:
            store_in_fp8(self.transformer, dtype)
        place_components(device, memory, (self.transformer,), (self.vae, self.audio_vae, self.vocoder,
                                                               self.connectors, self.text_encoder, self.latent_upsampler))
        if memory.vae_tiling:
            self.vae.enable_tiling()
        config = self.transformer.config
        self.patch, self.patch_t = config.patch_size, config.patch_size_t
        self.latent_channels = config.in_channels
        audio = self.audio_vae.config
        self.audio_channels = audio.latent_channels
        self.audio_mel_bins = audio.mel_bins // self.audio_vae.mel_compression_ratio  # latent mel bins
        self.audio_sample_rate = int(self.vocoder.config.output_sampling_rate)
        self.audio_latents_per_second = audio.sample_rate / audio.mel_hop_length / self.audio_vae.temporal_compression_ratio
        self._text_cache: dict = {}  # (prompt, max length) -> Gemma's embeddings; ("contexts", max length) -> contexts
        _embed_each_timestep_once(self.transformer.time_embed)
        self.video_text_attention, self.audio_text_attention = ltx2_attention.install(self.transformer)
        _embed_each_timestep_once(self.transformer.audio_time_embed)
        self.caps = ModelCaps(
            family="ltx2", vae_temporal_compression=self.vae.temporal_compression_ratio,
            vae_spatial_compression=self.vae.spatial_compression_ratio,
            size_multiple=self.vae.spatial_compression_ratio * self.patch, per_token_timesteps=True,
            keyframe_tokens=True, lora=True, latent_upsampler=self.latent_upsampler is not None, default_steps=30, default_guidance=3.0, default_rate=24,
            audio_sample_rate=self.audio_sample_rate, audio_latents_per_second=self.audio_latents_per_second)

    def _check_text_encoder(self, name: str) -> None:
        """The connectors read every hidden state of the text encoder stacked: another encoder (T5, a
        Gemma of another size) would fail deep inside the first step; say so at load instead."""
        text_config = getattr(self.text_encoder.config, "text_config", self.text_encoder.config)
        hidden, layers = getattr(text_config, "hidden_size", None), getattr(text_config, "num_hidden_layers", None)
        config = self.connectors.config
        if (not type(self.text_encoder).__name__.startswith("Gemma") or hidden != config.caption_channels
                or layers is None or (layers + 1) != config.text_proj_in_factor):
            raise ModelError(
                f"{name}/text_encoder is a {type(self.text_encoder).__name__} (hidden size {hidden}, {layers} layers) "
                f"but the connectors expect a Gemma text encoder of hidden size {config.caption_channels} with "
                f"{config.text_proj_in_factor - 1} layers; put the model's own Gemma text encoder in text_encoder/")

    def _spatial_upsampler(self, upsampler, name: str):
        """The folder's latent upsampler when it doubles width and height only (Kinora keeps frame
        counts as planned, so one that also upsamples time is left unused)."""
        if upsampler is None:
            return None
        from diffusers.pipelines.ltx2 import LTX2LatentUpsamplerModel

        if not isinstance(upsampler, LTX2LatentUpsamplerModel):
            raise ModelError(f"{name}/latent_upsampler is a {type(upsampler).__name__}, not an "
                             "LTX2LatentUpsamplerModel")
        if upsampler.config.in_channels != self.vae.config.latent_channels:
            raise ModelError(f"{name}/latent_upsampler is for {upsampler.config.in_channels}-channel latents but this "
                             f"model's VAE makes {self.vae.config.latent_channels}; use the upsampler made for it")
        if upsampler.config.temporal_upsample or not upsampler.config.spatial_upsample:
            return None
        return upsampler

    def upsample_latents(self, latents):
        """Normalised latents (N, C, F, h, w) -> (N, C, F, 2h, 2w), as LTX2LatentUpsamplePipeline does
        (upsampled in the VAE's raw latent space)."""
        import torch

        if self.latent_upsampler is None:
            return super().upsample_latents(latents)
        with on_device(self.latent_upsampler, self.device, self.memory.offloads), torch.no_grad():
            raw = self._denormalize(latents.to(self.device, torch.float32)).to(self.latent_upsampler.dtype)
            return self._normalize(self.latent_upsampler(raw).float())

    @classmethod
    def load(cls, info: ModelInfo, device=None, memory: MemoryOptions | None = None,
             cancel: CancelToken | None = None) -> LTX2Backend:
        device, dtype = pick_device(device)
        components = load_components(info, dtype, cancel)
        upsampler = info.path / "latent_upsampler"
        if "latent_upsampler" not in components and (upsampler / "config.json").is_file():
            if cancel is not None:
                cancel.check()
            # the upsampler ships as a model of its own; a copy in the model folder is used too
            components["latent_upsampler"] = load_component(upsampler, "ltx2", "LTX2LatentUpsamplerModel", dtype)
        transformer = components.get("transformer")
        memory = choose_memory_options(weights_bytes(components), device, 0, memory,
                                       fp8_bytes=weights_bytes({"transformer": transformer}) if transformer else 0)
        return cls(components, device, dtype, memory, name=str(info.path))

    @contextlib.contextmanager
    def lora(self, path: str, weight: float = 1.0):
        with super().lora(path, weight):
            if self.memory.fp8_storage:
                lora_layers_in(self.transformer, self.dtype)
            yield

    @staticmethod
    def lora_loader():
        from diffusers.loaders.lora_pipeline import LTX2LoraLoaderMixin

        return LTX2LoraLoaderMixin

    def cancel_points(self) -> list:
        """Transformer blocks, video VAE blocks, Gemma's decoder layers, the audio VAE's and the
        vocoder's stages: a cancel never waits for more than one of them."""
        model = getattr(self.text_encoder, "model", self.text_encoder)
        gemma = getattr(model, "language_model", model)
        # the audio VAE's stages are containers its forward indexes into: their resnets are what runs
        audio_parts = [m for m in self.audio_vae.modules() if type(m).__name__.endswith(("ResnetBlock", "sample"))]
        vocoder_parts = list(getattr(self.vocoder, "resnets", None) or ())
        return [*self.transformer.transformer_blocks, *coder_blocks(self.vae.encoder), *coder_blocks(self.vae.decoder),
                *text_encoder_blocks(gemma), *audio_parts, *vocoder_parts]

    # -- text ---------------------------------------------------------------------------------

    def encode_text(self, texts: list[str], max_sequence_length: int):
        """Gemma's hidden states of every layer stacked (n, L, D * layers) and the padding mask (n, L),
        as LTX2Pipeline makes them (left padding). Each prompt is encoded once per model and kept:
        a storyboard re-run after an edit encodes only the prompts that changed."""
        import torch

        missing = [t for t in dict.fromkeys(texts) if (t, max_sequence_length) not in self._text_cache]
        if missing:
            self.tokenizer.padding_side = "left"
            if self.tokenizer.pad_token is None:
                self.tokenizer.pad_token = self.tokenizer.eos_token
            # the encoder is moved in, used and moved out again, before the transformer runs: with the
            # embeddings cached it is needed again only for a prompt it has not seen
            with on_device(self.text_encoder, self.device, True), torch.no_grad():
                for text in missing:
                    inputs = self.tokenizer([text.strip()], padding="max_length", max_length=max_sequence_length,
                                            truncation=True, add_special_tokens=True, return_tensors="pt")
                    ids, mask = inputs.input_ids.to(self.device), inputs.attention_mask.to(self.device)
                    states = self.text_encoder(input_ids=ids, attention_mask=mask, output_hidden_states=True).hidden_states
                    embeds = torch.stack(states, dim=-1).flatten(2, 3).to(self.dtype)
                    self._text_cache[(text, max_sequence_length)] = (embeds.cpu(), mask.cpu())
        pairs = [self._text_cache[(t, max_sequence_length)] for t in texts]
        return (torch.cat([e for e, _ in pairs]).to(self.device), torch.cat([m for _, m in pairs]).to(self.device))

    def prompt_contexts(self, texts: list[str], max_sequence_length: int):
        """Each text's contexts for the two streams and their mask, as the connectors make them from
        Gemma's hidden states: (n, L, Dv), (n, L, Da), (n, L). Kept per prompt like the embeddings
        (the connectors work on each prompt's own tokens, so a prompt's context is the same in any batch)."""
        import torch

        key = ("contexts", max_sequence_length)
        cache = self._text_cache.setdefault(key, {})
        missing = [t for t in dict.fromkeys(texts) if t not in cache]
        if missing:
            embeds, masks = self.encode_text(missing, max_sequence_length)
            with on_device(self.connectors, self.device, self.memory.offloads), torch.no_grad():
                video_ctx, audio_ctx, ctx_mask = self.connectors(embeds, masks, padding_side="left")
            for i, text in enumerate(missing):
                cache[text] = (video_ctx[i:i + 1], audio_ctx[i:i + 1], ctx_mask[i:i + 1])
        rows = [cache[t] for t in texts]
        return tuple(torch.cat([row[part] for row in rows]) for part in range(3))

    @contextlib.contextmanager
    def text_conditioning(self, run: GenerationRun):
        """(video context, audio context, video mask, audio mask) for the (uncond, cond) batch.

        One prompt: exactly what LTX2Pipeline passes (the connectors' mask). Several: every prompt's
        context in a row, and the text cross-attention of both streams told which runs of tokens
        read which prompt (see ltx2_attention), so each video token and each audio token sees only
        the prompt of its own time span, in one forward pass."""
        import torch

        plan, batch = run.plan, run.batch
        halves = [list(plan.negatives), list(plan.prompts)] if run.guided else [list(plan.prompts)]
        texts = [t for half in halves for t in half]
        video_ctx, audio_ctx, ctx_mask = self.prompt_contexts(texts, run.max_sequence_length)
        count = len(plan.prompts)
        rows_v, rows_a, rows_m = [], [], []
        for h in range(len(halves)):
            part = slice(h * count, (h + 1) * count)
            # every prompt's context in a row: (1, count * L, D)
            rows_v.append(video_ctx[part].reshape(1, -1, video_ctx.shape[-1]).repeat(batch, 1, 1))
            rows_a.append(audio_ctx[part].reshape(1, -1, audio_ctx.shape[-1]).repeat(batch, 1, 1))
            rows_m.append(ctx_mask[part].reshape(1, -1).repeat(batch, 1))
        video_ctx, audio_ctx, ctx_mask = torch.cat(rows_v), torch.cat(rows_a), torch.cat(rows_m)
        if count == 1:
            yield video_ctx, audio_ctx, ctx_mask, ctx_mask
            return
        text_len = ctx_mask.shape[1] // count
        slot = torch.arange(count, device=self.device).repeat_interleave(text_len)  # prompt of each text token
        # the same token -> prompt runs for every row of the batch, in each stream's own token order
        streams = ((self.video_text_attention, self._video_token_prompt(run)),
                   (self.audio_text_attention, self.audio_token_prompt(run.plan)))
        try:
            for processors, token_prompt in streams:
                runs = segments(token_prompt.to(self.device), slot)
                for processor in processors:
                    processor.segments = runs
            yield video_ctx, audio_ctx, ctx_mask, ctx_mask
        finally:
            for processor in (*self.video_text_attention, *self.audio_text_attention):
                processor.segments = None

    def _video_token_prompt(self, run: GenerationRun):
        import torch

        prompt_map = torch.tensor(np.array(run.plan.latent_prompt)).view(1, 1, -1, 1, 1)
        token_prompt = pack(prompt_map.expand(1, 1, -1, run.height, run.width), self.patch, self.patch_t)[0, :, 0]
        if run.keyframes is not None:
            token_prompt = torch.cat([token_prompt, run.keyframes.prompt[0].cpu()])
        return token_prompt

    def audio_token_prompt(self, plan):
        """The prompt each audio latent frame follows (audio frames,): the prompt of the pixel frame at its time."""
        import torch

        if plan.audio_latents_per_second:  # compiled for a model that makes sound: the plan says
            return torch.from_numpy(np.array(plan.audio_prompt))
        times = np.arange(self.num_audio_frames(plan)) / self.audio_latents_per_second
        pixel = np.clip(np.floor(times * float(plan.rate.fps)).astype(np.int64), 0, plan.num_frames - 1)
        return torch.from_numpy(np.ascontiguousarray(plan.pixel_prompt[pixel]))

    # -- pictures and sound -----------------------------------------------------------------

    def num_audio_frames(self, plan) -> int:
        """Audio latent frames for the plan's duration, as LTX2Pipeline counts them."""
        if plan.audio_latents_per_second:
            return plan.num_audio_frames
        return round(plan.num_frames / float(plan.rate.fps) * self.audio_latents_per_second)

    def _normalize(self, latents):
        mean = self.vae.latents_mean.view(1, -1, 1, 1, 1).to(latents.device, latents.dtype)
        std = self.vae.latents_std.view(1, -1, 1, 1, 1).to(latents.device, latents.dtype)
        return (latents - mean) * self.vae.config.scaling_factor / std

    def _denormalize(self, latents):
        mean = self.vae.latents_mean.view(1, -1, 1, 1, 1).to(latents.device, latents.dtype)
        std = self.vae.latents_std.view(1, -1, 1, 1, 1).to(latents.device, latents.dtype)
        return latents * std / self.vae.config.scaling_factor + mean

    def encode_frames(self, frames: np.ndarray, generator=None):
        """uint8 RGB frames (n, H, W, 3) -> normalised latents (1, C, latent frames, h, w): the posterior's
        mode, as LTX2ConditionPipeline encodes conditions. A single picture is first re-compressed the
        way the model's training images were (H.264 at the model's CRF)."""
        import torch

        if frames.shape[0] == 1:
            from diffusers.pipelines.ltx2.utils import apply_image_conditioning_crf, resolve_default_image_crf

            frames = apply_image_conditioning_crf(np.ascontiguousarray(frames[0]),
                                                  resolve_default_image_crf(self.text_encoder))[None]
        pixels = torch.from_numpy(np.ascontiguousarray(frames)).to(self.device, torch.float32)
        pixels = (pixels / 127.5 - 1.0).permute(3, 0, 1, 2).unsqueeze(0).to(self.vae.dtype)
        with on_device(self.vae, self.device, self.memory.offloads), torch.no_grad():
            latents = self.vae.encode(pixels).latent_dist.mode()
        return self._normalize(latents.to(torch.float32))

    def _decode(self, latents, settings: SamplingSettings, generators) -> np.ndarray:
        import torch
        from diffusers.utils.torch_utils import randn_tensor

        latents = latents.to(self.device, torch.float32)
        timestep = None
        if self.vae.config.timestep_conditioning:
            batch = latents.shape[0]
            noise = randn_tensor(latents.shape, generator=generators, device=self.device, dtype=latents.dtype)
            scale = settings.decode_timestep if settings.decode_noise_scale is None else settings.decode_noise_scale
            timestep = torch.tensor([settings.decode_timestep] * batch, device=self.device, dtype=latents.dtype)
            scale_t = torch.tensor([scale] * batch, device=self.device, dtype=latents.dtype)[:, None, None, None, None]
            latents = (1 - scale_t) * latents + scale_t * noise
        latents = self._denormalize(latents)
        with on_device(self.vae, self.device, self.memory.offloads), torch.no_grad():
            video = self.vae.decode(latents.to(self.vae.dtype), timestep, return_dict=False)[0]
        video = (video.float() * 0.5 + 0.5).clamp(0, 1)
        return video.permute(0, 2, 3, 4, 1).cpu().numpy()

    def decode_pixels(self, latents, settings: SamplingSettings | None = None):
        return decode_pixels(self, latents, settings)

    def encode_audio(self, waveform):
        """Stereo float waveform (2, samples) at the audio VAE's sample rate -> normalised packed audio
        latents (1, latent frames, C * M)."""
        from engine.generate.backends.ltx2_audio import encode_sound

        return encode_sound(self, waveform)

    def decode_audio(self, audio_tokens):
        """Normalised packed audio latents (N, L, C * M) -> waveforms float32 (N, channels, samples).
        Long sound, VAE tiling or running out of memory decode it in pieces along time
        (engine.generate.backends.ltx2_audio_decode)."""
        import torch

        from engine.generate.backends.ltx2_audio_decode import decode_with_fallback

        mean = self.audio_vae.latents_mean.to(self.device, torch.float32)
        std = self.audio_vae.latents_std.to(self.device, torch.float32)
        raw = audio_tokens.to(self.device, torch.float32) * std + mean
        latents = raw.unflatten(2, (-1, self.audio_mel_bins)).transpose(1, 2)  # (N, C, L, M)
        with on_device(self.audio_vae, self.device, self.memory.offloads), \
                on_device(self.vocoder, self.device, self.memory.offloads), torch.no_grad():
            waveform = decode_with_fallback(self.audio_vae, self.vocoder, latents.to(self.audio_vae.dtype),
                                            tiled=self.memory.vae_tiling)
        return waveform.float().cpu().numpy()

    # -- sampling -----------------------------------------------------------------------------

    def sigmas(self, num_steps: int, seq_len: int, values=None, shifted: bool = True):
        """The shifted flow-matching levels (num_steps + 1, ending at 0) as LTX2Pipeline sets them;
        `seq_len` is the number of video tokens (keyframe tokens included, as LTX2ConditionPipeline counts).
        `values` with `shifted=False`: those levels as they are (a distilled schedule: the scheduler's
        dynamic shift and terminal stretch off, as the reference two-stage recipe sets it)."""
        import torch

        if num_steps == 1 and values is None:
            return torch.tensor([1.0, 0.0], device=self.device)
        config = self.scheduler_config
        mu = calculate_shift(seq_len, config.get("base_image_seq_len", 1024), config.get("max_image_seq_len", 4096),
                             config.get("base_shift", 0.95), config.get("max_shift", 2.05))
        if shifted:
            scheduler = self.scheduler_class.from_config(config)
        else:
            scheduler = self.scheduler_class.from_config(config, use_dynamic_shifting=False, shift_terminal=None)
            mu = None
        levels = np.linspace(1.0, 1 / num_steps, num_steps) if values is None else np.array(values, np.float64)
        scheduler.set_timesteps(sigmas=levels, mu=mu, device=self.device)
        return scheduler.sigmas.to(self.device)

    def pack(self, latents):
        return pack(latents, self.patch, self.patch_t)

    def unpack(self, tokens, num_latent_frames: int, height: int, width: int):
        return unpack(tokens, num_latent_frames // self.patch_t, height // self.patch, width // self.patch, self.patch,
                      self.patch_t)

    def pack_strength(self, latent_strength, batch: int, height: int, width: int):
        strength_map = latent_strength.to(self.device).view(1, 1, -1, 1, 1).expand(batch, 1, -1, height, width)
        return pack(strength_map, self.patch, self.patch_t).amax(-1, keepdim=True)

    def keyframe_tokens(self, run: GenerationRun, read) -> KeyframeTokens:
        """One latent frame of tokens per keyframe, appended after the video's tokens and placed at its
        exact pixel frame, as LTX2ConditionPipeline places a keyframe (a single pixel frame: its time
        span clamped to [frame, frame + 1))."""
        import torch

        from engine.generate.media_io import fit_frames

        plan, batch = run.plan, run.batch
        fps = float(plan.rate.fps)
        parts = {"cond": [], "strength": [], "coords": [], "prompt": []}
        for key in plan.keyframes:
            frames = fit_frames(read(plan.sources[key.source], [key.source_frame]), plan.width, plan.height)
            latents = self.encode_frames(frames, run.generators[0])
            tokens = pack(latents, self.patch, self.patch_t)
            n = tokens.shape[1]
            # the reference's keyframe coordinates: no causal shift of the first frame, offset to the frame
            grid = self._keyframe_coords(run.height, run.width, key.pixel_frame, fps)
            parts["cond"].append(tokens)
            parts["strength"].append(torch.full((1, n, 1), key.strength, device=self.device))
            parts["coords"].append(grid)
            parts["prompt"].append(torch.full((1, n), int(plan.pixel_prompt[key.pixel_frame]), device=self.device))
        cond = torch.cat(parts["cond"], dim=1).expand(batch, -1, -1)
        return KeyframeTokens(cond=cond, noise=None, strength=torch.cat(parts["strength"], dim=1).expand(batch, -1, -1),
                              coords=torch.cat(parts["coords"], dim=2),
                              prompt=torch.cat(parts["prompt"], dim=1).expand(batch, -1))

    def _keyframe_coords(self, h: int, w: int, pixel_frame: int, fps: float):
        """(1, 3, tokens, 2) [start, end) positions of one keyframe latent frame: pixels in space and
        seconds in time."""
        import torch

        grid = torch.stack(torch.meshgrid(torch.arange(0, 1, self.patch_t, dtype=torch.float32),
                                          torch.arange(0, h, self.patch, dtype=torch.float32),
                                          torch.arange(0, w, self.patch, dtype=torch.float32), indexing="ij"))
        delta = torch.tensor((self.patch_t, self.patch, self.patch), dtype=torch.float32).view(3, 1, 1, 1)
        coords = torch.stack([grid, grid + delta], dim=-1).flatten(1, 3).unsqueeze(0)
        scale = torch.tensor((self.caps.vae_temporal_compression, self.caps.vae_spatial_compression,
                              self.caps.vae_spatial_compression), dtype=torch.float32).view(1, 3, 1, 1)
        coords = coords * scale
        coords[:, 0] = coords[:, 0] + pixel_frame
        coords[:, 0, :, 1:] = coords[:, 0, :, :1] + 1  # a single pixel frame
        coords[:, 0] = coords[:, 0] / fps
        return coords.to(self.device)

    @contextlib.contextmanager
    def denoising(self, run: GenerationRun, text, layout):
        """velocity(x, sigma) over the joint state (see the module docstring): the transformer run as
        LTX2ConditionPipeline runs it, with per-token levels for both streams and the step's level
        (the most any token of the stream is noised) for the modulation that takes one per video."""
        import torch

        video_ctx, audio_ctx, video_bias, audio_bias = text
        num_train_timesteps = self.scheduler_config.get("num_train_timesteps", 1000)
        fps = float(run.plan.rate.fps)
        video_coords = self.transformer.rope.prepare_video_coords(1, run.num_latent_frames // self.patch_t,
                                                                  run.height // self.patch, run.width // self.patch,
                                                                  self.device, fps=fps)
        if run.keyframes is not None:
            video_coords = torch.cat([video_coords, run.keyframes.coords], dim=2)
        audio_coords = self.transformer.audio_rope.prepare_audio_coords(1, layout.audio_tokens, self.device)

        def velocity(x, sigma, stg_blocks=None, isolate=False):
            rows = x.shape[0]
            video, audio = layout.split(x)
            if sigma.ndim == 0:
                video_t = sigma.expand(rows, video.shape[1])
                audio_t = sigma.expand(rows, audio.shape[1])
            else:
                video_t, audio_t = (s[..., 0] for s in layout.split(sigma.expand_as(x)))
            video_t, audio_t = video_t * num_train_timesteps, audio_t * num_train_timesteps
            sigma_v, sigma_a = video_t.amax(dim=1), audio_t.amax(dim=1)
            # one level for every token of a row: the pipelines' cheaper (B, 1) modulation
            if bool((video_t == video_t[:, :1]).all()):
                video_t = video_t[:, :1]
            if bool((audio_t == audio_t[:, :1]).all()):
                audio_t = audio_t[:, :1]
            video_v, audio_v = self.transformer(
                hidden_states=video.to(self.dtype), audio_hidden_states=audio.to(self.dtype),
                encoder_hidden_states=video_ctx[-rows:], audio_encoder_hidden_states=audio_ctx[-rows:],
                timestep=video_t, audio_timestep=audio_t, sigma=sigma_v, audio_sigma=sigma_a,
                encoder_attention_mask=video_bias[-rows:], audio_encoder_attention_mask=audio_bias[-rows:],
                num_frames=run.num_latent_frames, height=run.height, width=run.width, fps=fps,
                audio_num_frames=layout.audio_tokens, video_coords=video_coords.expand(rows, -1, -1, -1),
                audio_coords=audio_coords.expand(rows, -1, -1, -1), use_cross_timestep=self.use_cross_timestep,
                spatio_temporal_guidance_blocks=list(stg_blocks) if stg_blocks else None,
                isolate_modalities=isolate, return_dict=False)
            return layout.join(video_v.float(), audio_v.float())

        with on_device(self.transformer, self.device, self.memory.cpu_offload):
            yield velocity

    # -- the run ------------------------------------------------------------------------------

    def generate(self, plan, settings, *, on_step=None, cancel=None, read=None, decode=True,
                 upsample_conditions=False, steer=None, frame_guidance=None) -> GenerationResult:
        from engine.generate.conditions import read_source_frames

        read = read or read_source_frames
        with out_of_memory_reported(plan, settings, self.device), cancel_checks(self.cancel_points(), cancel):
            from engine.generate.backends.ltx2_run import run_ltx2

            return run_ltx2(self, plan, settings, on_step, cancel, read, decode, upsample_conditions, steer,
                            frame_guidance)
