"""The architecture of the bundled default model: small instances of the real LTX-Video classes.

The components are the ones Kinora's LTX backend runs for real LTX-Video models
(LTXVideoTransformer3DModel, AutoencoderKLLTXVideo, a T5 encoder over ByT5 bytes and
FlowMatchEulerDiscreteScheduler), only small enough to train on a CPU.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path


@dataclass(frozen=True, slots=True)
class ModelConfig:
    width: int = 64
    height: int = 64
    num_frames: int = 25
    fps: int = 25
    # VAE: pixel patches of 2 then two space-time downsamplings -> 8x spatial, 4x temporal.
    latent_channels: int = 16
    vae_patch: int = 2
    vae_channels: tuple[int, ...] = (32, 64, 64)
    vae_layers: tuple[int, ...] = (1, 1, 1, 1)
    vae_scaling: tuple[bool, ...] = (True, True, False)
    # Transformer over (num_frames // 4 + 1) x (height // 8) x (width // 8) tokens.
    heads: int = 4
    head_dim: int = 32
    layers: int = 4
    # Text encoder over ByT5 byte tokens.
    text_dim: int = 64
    text_heads: int = 4
    text_layers: int = 2
    text_ff: int = 128
    max_sequence_length: int = 128  # what Kinora's sampler pads prompts to

    @property
    def temporal_compression(self) -> int:
        return 2 ** sum(self.vae_scaling)

    @property
    def spatial_compression(self) -> int:
        return self.vae_patch * 2 ** sum(self.vae_scaling)

    @property
    def num_latent_frames(self) -> int:
        return (self.num_frames - 1) // self.temporal_compression + 1

    def to_json(self) -> dict:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict) -> ModelConfig:
        fields = {k: tuple(v) if isinstance(v, list) else v for k, v in data.items() if k in cls.__dataclass_fields__}
        return cls(**fields)


# A model small enough for a test to train two steps in seconds.
MICRO = ModelConfig(width=32, height=32, num_frames=9, latent_channels=4, vae_channels=(8, 8, 8),
                    vae_layers=(1, 1, 1, 1), heads=2, head_dim=8, layers=1, text_dim=16, text_heads=2,
                    text_layers=1, text_ff=32, max_sequence_length=128)


def build_vae(config: ModelConfig):
    from diffusers import AutoencoderKLLTXVideo

    blocks = len(config.vae_channels)
    vae = AutoencoderKLLTXVideo(
        in_channels=3, out_channels=3, latent_channels=config.latent_channels,
        block_out_channels=config.vae_channels, decoder_block_out_channels=config.vae_channels,
        layers_per_block=config.vae_layers, decoder_layers_per_block=config.vae_layers,
        spatio_temporal_scaling=config.vae_scaling, decoder_spatio_temporal_scaling=config.vae_scaling,
        decoder_inject_noise=(False,) * (blocks + 1), upsample_residual=(False,) * blocks,
        upsample_factor=(1,) * blocks, timestep_conditioning=False, patch_size=config.vae_patch, patch_size_t=1,
        encoder_causal=True, decoder_causal=False,
    )
    vae.use_framewise_encoding = False
    vae.use_framewise_decoding = False
    # Start the posterior nearly deterministic: with the default log-variance of 0 the sampled
    # latents are mostly noise and a briefly trained decoder learns only the backgrounds.
    import torch

    with torch.no_grad():
        conv = vae.encoder.conv_out.conv
        conv.weight[-1].zero_()
        conv.bias[-1].fill_(-10.0)
    return vae


def build_transformer(config: ModelConfig):
    from diffusers import LTXVideoTransformer3DModel

    return LTXVideoTransformer3DModel(
        in_channels=config.latent_channels, out_channels=config.latent_channels, patch_size=1, patch_size_t=1,
        num_attention_heads=config.heads, attention_head_dim=config.head_dim,
        cross_attention_dim=config.heads * config.head_dim, num_layers=config.layers,
        caption_channels=config.text_dim,
    )


# The projections that write a block's result into the residual stream: zeroed, they make the block the identity.
BLOCK_OUTPUTS = ("attn1.to_out.0.", "attn2.to_out.0.", "ff.net.2.")


def grow_transformer(transformer, config: ModelConfig):
    """A transformer of `config.layers` blocks computing exactly what `transformer` (fewer blocks) computes.

    Each trained block is followed by copies of itself whose output projections are zero, so a copy
    adds nothing until training moves them; its attention and feed-forward weights start as the
    trained block's, not at random. Everything outside the blocks is taken over as it is.
    """
    old = len(transformer.transformer_blocks)
    if config.layers < old:
        raise ValueError(f"a transformer of {old} blocks cannot shrink to {config.layers} (--layers)")
    grown = build_transformer(config)
    trained = transformer.state_dict()
    state = {k: v for k, v in trained.items() if not k.startswith("transformer_blocks.")}
    for j in range(config.layers):
        source = j * old // config.layers
        copy = j > 0 and (j - 1) * old // config.layers == source
        prefix = f"transformer_blocks.{source}."
        for key, value in trained.items():
            if key.startswith(prefix):
                name = key[len(prefix):]
                zero = copy and name.startswith(BLOCK_OUTPUTS)
                state[f"transformer_blocks.{j}.{name}"] = value.clone().zero_() if zero else value.clone()
    grown.load_state_dict(state)
    return grown.to(next(transformer.parameters()).device)


def build_text_encoder(config: ModelConfig):
    import transformers

    tokenizer = transformers.ByT5Tokenizer()
    encoder = transformers.T5EncoderModel(transformers.T5Config(
        vocab_size=len(tokenizer), d_model=config.text_dim, d_kv=config.text_dim // config.text_heads,
        d_ff=config.text_ff, num_layers=config.text_layers, num_heads=config.text_heads,
        relative_attention_num_buckets=32, relative_attention_max_distance=64, dropout_rate=0.0,
        is_encoder_decoder=False,
    ))
    return tokenizer, encoder


def build_scheduler():
    """The flow-matching schedule settings of LTX-Video itself (resolution-dependent shift)."""
    from diffusers import FlowMatchEulerDiscreteScheduler

    return FlowMatchEulerDiscreteScheduler(
        use_dynamic_shifting=True, base_shift=0.95, max_shift=2.05, base_image_seq_len=1024,
        max_image_seq_len=4096, shift_terminal=0.1,
    )


def schedule_shift(config: ModelConfig) -> float:
    """exp(mu) for this model's token count: the shift the sampler applies, used to pick training noise levels."""
    import math

    scheduler = build_scheduler().config
    tokens = config.num_latent_frames * (config.height // config.spatial_compression) * (
        config.width // config.spatial_compression)
    m = (scheduler.max_shift - scheduler.base_shift) / (scheduler.max_image_seq_len - scheduler.base_image_seq_len)
    mu = tokens * m + (scheduler.base_shift - m * scheduler.base_image_seq_len)
    return math.exp(mu)


# Classifier-free guidance and sampling steps the bundled weights sample best with (docs/quality.md):
# prompt adherence over the harness's 60 prompts was 0.22 / 0.28 / 0.30 / 0.23 at guidance 3 / 5 / 7 / 9
# (22,500-step weights), and 0.37 at 20 steps against 0.32 at 50 (40,000 steps, 4 blocks): more steps only cost time.
GUIDANCE = 7.0
STEPS = 20
# Guided steps only at noise levels in this interval (see engine.generate.sampler.sample), which leaves out
# the two highest and the two lowest of 20 steps. With the 49,000-step weights, on unseen seeds: held-frame
# gap 0.10 dB against 0.22, extend continuity 1.73 against 1.90, storyboard 0.52 against 0.45, prompt
# adherence 0.37 against 0.34 (0.52 against 0.35 on the harness's own seeds, where it was chosen).
GUIDANCE_INTERVAL = (0.2, 0.96)


def save_pipeline(folder, config: ModelConfig, vae, transformer, text_encoder, tokenizer) -> None:
    """Write the model in diffusers format (model_index.json naming LTXPipeline, safetensors weights)."""
    from diffusers import LTXPipeline

    LTXPipeline(transformer=transformer, vae=vae, text_encoder=text_encoder, tokenizer=tokenizer,
                scheduler=build_scheduler()).save_pretrained(str(folder), safe_serialization=True)
    # The size the model was trained at, its guidance scale and steps, for front ends choosing defaults
    # (private keys are skipped by diffusers and by Kinora's loader).
    from engine.toyworld.world import EXAMPLE_CAPTIONS, vocabulary

    index_file = Path(folder) / "model_index.json"
    index = json.loads(index_file.read_text(encoding="utf-8"))
    index["_kinora_defaults"] = {"width": config.width, "height": config.height, "num_frames": config.num_frames,
                                 "rate": config.fps, "guidance": GUIDANCE, "steps": STEPS,
                                 "guidance_interval": list(GUIDANCE_INTERVAL),
                                 # what it understands, for hints and completions (engine.generate.limits)
                                 "example_prompts": list(EXAMPLE_CAPTIONS), "vocabulary": vocabulary(),
                                 # the lengths training drew (engine.toyworld.data.long_batch): 25, and 33 every fourth batch
                                 "trained_frames": [config.num_frames, config.num_frames + 2 * config.temporal_compression],
                                 "trained_sizes": [[config.width, config.height]]}
    index_file.write_text(json.dumps(index, indent=2) + "\n", encoding="utf-8")
