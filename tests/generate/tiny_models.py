"""Tiny random-weight models of the real diffusers classes, saved in diffusers format.

They are built the way diffusers' own tests build them, saved with `save_pretrained`, and
loaded back by the tests through Kinora's loader, offline.
"""

from __future__ import annotations

from pathlib import Path


def tiny_ltx_components(seed: int = 0, *, num_layers: int = 1, heads: int = 4, head_dim: int = 8):
    import torch
    import transformers
    from diffusers import AutoencoderKLLTXVideo, FlowMatchEulerDiscreteScheduler, LTXVideoTransformer3DModel

    torch.manual_seed(seed)
    transformer = LTXVideoTransformer3DModel(
        in_channels=8, out_channels=8, patch_size=1, patch_size_t=1,
        num_attention_heads=heads, attention_head_dim=head_dim, cross_attention_dim=heads * head_dim,
        num_layers=num_layers, caption_channels=32,
    )
    torch.manual_seed(seed)
    vae = AutoencoderKLLTXVideo(
        in_channels=3, out_channels=3, latent_channels=8,
        block_out_channels=(8, 8, 8, 8), decoder_block_out_channels=(8, 8, 8, 8),
        layers_per_block=(1, 1, 1, 1, 1), decoder_layers_per_block=(1, 1, 1, 1, 1),
        spatio_temporal_scaling=(True, True, False, False),
        decoder_spatio_temporal_scaling=(True, True, False, False),
        decoder_inject_noise=(False, False, False, False, False),
        upsample_residual=(False, False, False, False), upsample_factor=(1, 1, 1, 1),
        timestep_conditioning=False, patch_size=1, patch_size_t=1,
        encoder_causal=True, decoder_causal=False,
    )
    vae.use_framewise_encoding = False
    vae.use_framewise_decoding = False
    scheduler = FlowMatchEulerDiscreteScheduler(
        use_dynamic_shifting=True, base_shift=0.95, max_shift=2.05,
        base_image_seq_len=1024, max_image_seq_len=4096, shift_terminal=0.1,
    )
    tokenizer = transformers.ByT5Tokenizer()
    torch.manual_seed(seed)
    text_encoder = transformers.T5EncoderModel(transformers.T5Config(
        vocab_size=len(tokenizer), d_model=32, d_kv=8, d_ff=37, num_layers=2, num_heads=4,
        relative_attention_num_buckets=8, is_encoder_decoder=False,
    ))
    return {"transformer": transformer, "vae": vae, "scheduler": scheduler,
            "text_encoder": text_encoder, "tokenizer": tokenizer}


def save_tiny_ltx(folder: Path, seed: int = 0, pipeline: str = "LTXPipeline", **sizes) -> Path:
    import diffusers

    components = tiny_ltx_components(seed, **sizes)
    getattr(diffusers, pipeline)(**components).save_pretrained(folder, safe_serialization=True)
    return folder


def tiny_wan_components(seed: int = 0):
    import torch
    import transformers
    from diffusers import AutoencoderKLWan, FlowMatchEulerDiscreteScheduler, WanTransformer3DModel

    torch.manual_seed(seed)
    vae = AutoencoderKLWan(base_dim=3, z_dim=16, dim_mult=[1, 1, 1, 1], num_res_blocks=1,
                           temperal_downsample=[False, True, True])
    torch.manual_seed(seed)
    transformer = WanTransformer3DModel(
        patch_size=(1, 2, 2), num_attention_heads=2, attention_head_dim=12, in_channels=16, out_channels=16,
        text_dim=32, freq_dim=256, ffn_dim=32, num_layers=2, cross_attn_norm=True,
        qk_norm="rms_norm_across_heads", rope_max_seq_len=32,
    )
    tokenizer = transformers.ByT5Tokenizer()
    torch.manual_seed(seed)
    text_encoder = transformers.T5EncoderModel(transformers.T5Config(
        vocab_size=len(tokenizer), d_model=32, d_kv=8, d_ff=37, num_layers=2, num_heads=4,
        relative_attention_num_buckets=8, is_encoder_decoder=False,
    ))
    return {"transformer": transformer, "vae": vae, "scheduler": FlowMatchEulerDiscreteScheduler(shift=7.0),
            "text_encoder": text_encoder, "tokenizer": tokenizer}


def save_tiny_wan(folder: Path, seed: int = 0, **pipeline_config) -> Path:
    from diffusers import WanPipeline

    WanPipeline(**tiny_wan_components(seed), **pipeline_config).save_pretrained(folder, safe_serialization=True)
    return folder


def tiny_skyreels_components(seed: int = 0, *, num_layers: int = 2):
    """Wan's tiny VAE and text encoder with a tiny diffusion forcing transformer that also has
    the frame-rate embedding (`inject_sample_info`) of the real SkyReels-V2 DF models."""
    import torch
    from diffusers import SkyReelsV2Transformer3DModel, UniPCMultistepScheduler

    components = tiny_wan_components(seed)
    torch.manual_seed(seed)
    components["transformer"] = SkyReelsV2Transformer3DModel(
        patch_size=(1, 2, 2), num_attention_heads=2, attention_head_dim=12, in_channels=16, out_channels=16,
        text_dim=32, freq_dim=256, ffn_dim=32, num_layers=num_layers, cross_attn_norm=True,
        qk_norm="rms_norm_across_heads", rope_max_seq_len=32, inject_sample_info=True,
    )
    # The flow-sigma UniPC scheduler the real models ship with, at first order and without the
    # corrector: then each of its steps is exactly a flow-matching Euler step.
    components["scheduler"] = UniPCMultistepScheduler(prediction_type="flow_prediction", use_flow_sigmas=True,
                                                      flow_shift=8.0, solver_order=1,
                                                      disable_corrector=list(range(1000)))
    return components


def save_tiny_skyreels(folder: Path, seed: int = 0, **sizes) -> Path:
    from diffusers import SkyReelsV2DiffusionForcingPipeline

    SkyReelsV2DiffusionForcingPipeline(**tiny_skyreels_components(seed, **sizes)).save_pretrained(
        folder, safe_serialization=True)
    return folder


def add_tiny_latent_upsampler(model_folder: Path, seed: int = 0, *, listed: bool = True, channels: int = 8) -> Path:
    """Save a tiny LTXLatentUpsamplerModel as the `latent_upsampler` of a tiny LTX model folder,
    listed in its model_index.json the way diffusers writes it, or as a bare folder."""
    import json

    import torch
    from diffusers.pipelines.ltx.modeling_latent_upsampler import LTXLatentUpsamplerModel

    torch.manual_seed(seed)
    upsampler = LTXLatentUpsamplerModel(in_channels=channels, mid_channels=32, num_blocks_per_stage=1, dims=3,
                                        spatial_upsample=True, temporal_upsample=False)
    upsampler.save_pretrained(model_folder / "latent_upsampler", safe_serialization=True)
    if listed:
        index_file = model_folder / "model_index.json"
        index = json.loads(index_file.read_text(encoding="utf-8"))
        index["latent_upsampler"] = ["ltx", "LTXLatentUpsamplerModel"]
        index_file.write_text(json.dumps(index, indent=2), encoding="utf-8")
    return model_folder
