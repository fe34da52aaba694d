"""Tiny random-weight LTX-2 models of the real diffusers classes, saved in diffusers format.

The sizes follow diffusers' own LTX-2 tests. The text encoder is a tiny Gemma 3 built from a
config and its tokenizer a BPE trained in a moment with the `tokenizers` library, so nothing is
downloaded. Kinora loads the saved folder back through its own loader, offline.
"""

from __future__ import annotations

from pathlib import Path

SENTENCES = [
    "a robot dancing in the rain", "a cat walks across a sunny kitchen", "waves crash on a rocky shore",
    "a man speaks to the camera", "music plays while the city lights flicker at night",
    "a red ball bounces", "birds sing in the forest", "the quick brown fox jumps over the lazy dog",
]


def tiny_gemma_tokenizer():
    """A GemmaTokenizerFast over a BPE vocabulary trained on a few sentences."""
    from tokenizers import Tokenizer, models, normalizers, pre_tokenizers, trainers
    from transformers import GemmaTokenizerFast

    specials = ["<pad>", "<eos>", "<bos>", "<unk>", "<mask>"]
    bpe = Tokenizer(models.BPE(unk_token="<unk>"))
    bpe.normalizer = normalizers.Replace(" ", "\u2581")
    bpe.pre_tokenizer = pre_tokenizers.Split(pattern="\u2581", behavior="merged_with_previous")
    bpe.train_from_iterator(SENTENCES, trainers.BpeTrainer(vocab_size=200, special_tokens=specials,
                                                           show_progress=False))
    import json

    model = json.loads(bpe.to_str())["model"]
    merges = [tuple(m) if isinstance(m, list) else tuple(m.split(" ")) for m in model["merges"]]
    return GemmaTokenizerFast(vocab=model["vocab"], merges=merges, add_bos_token=True)


def tiny_gemma_text_encoder(vocab_size: int, seed: int = 0):
    import torch
    from transformers import (
        Gemma3Config,
        Gemma3ForConditionalGeneration,
        Gemma3TextConfig,
        SiglipVisionConfig,
    )

    torch.manual_seed(seed)
    config = Gemma3Config(
        text_config=Gemma3TextConfig(vocab_size=vocab_size, hidden_size=32, intermediate_size=37, num_hidden_layers=2,
                                     num_attention_heads=4, num_key_value_heads=2, head_dim=8,
                                     max_position_embeddings=256, sliding_window=16),
        vision_config=SiglipVisionConfig(hidden_size=16, intermediate_size=32, num_hidden_layers=1,
                                         num_attention_heads=2, image_size=8, patch_size=4),
        mm_tokens_per_image=4, boi_token_index=1, eoi_token_index=1, image_token_index=4)
    return Gemma3ForConditionalGeneration(config).eval()


def tiny_ltx2_components(seed: int = 0, *, num_layers: int = 2, mel_bins: int = 8, heads: int = 2, head_dim: int = 8):
    import torch
    from diffusers import (
        AutoencoderKLLTX2Audio,
        AutoencoderKLLTX2Video,
        FlowMatchEulerDiscreteScheduler,
        LTX2VideoTransformer3DModel,
    )
    from diffusers.pipelines.ltx2 import LTX2TextConnectors
    from diffusers.pipelines.ltx2.vocoder import LTX2Vocoder

    tokenizer = tiny_gemma_tokenizer()
    text_encoder = tiny_gemma_text_encoder(len(tokenizer), seed)
    hidden = text_encoder.config.text_config.hidden_size
    torch.manual_seed(seed)
    transformer = LTX2VideoTransformer3DModel(
        in_channels=4, out_channels=4, patch_size=1, patch_size_t=1, num_attention_heads=heads,
        attention_head_dim=head_dim, cross_attention_dim=heads * head_dim, audio_in_channels=4, audio_out_channels=4, audio_num_attention_heads=2,
        audio_attention_head_dim=4, audio_cross_attention_dim=8, num_layers=num_layers,
        qk_norm="rms_norm_across_heads", caption_channels=hidden, rope_double_precision=False, rope_type="split",
        vae_scale_factors=(2, 2, 2))
    torch.manual_seed(seed)
    connectors = LTX2TextConnectors(
        caption_channels=hidden, text_proj_in_factor=text_encoder.config.text_config.num_hidden_layers + 1,
        video_connector_num_attention_heads=4, video_connector_attention_head_dim=8, video_connector_num_layers=1,
        video_connector_num_learnable_registers=None, audio_connector_num_attention_heads=4,
        audio_connector_attention_head_dim=8, audio_connector_num_layers=1,
        audio_connector_num_learnable_registers=None, connector_rope_base_seq_len=32, rope_theta=10000.0,
        rope_double_precision=False, causal_temporal_positioning=False, rope_type="split")
    torch.manual_seed(seed)
    # one spatio-temporal down-sampling block: 2 pixel frames and 2x2 pixels per latent cell,
    # compression ratios given explicitly as the real configs do
    vae = AutoencoderKLLTX2Video(
        in_channels=3, out_channels=3, latent_channels=4, block_out_channels=(8,), decoder_block_out_channels=(8,),
        layers_per_block=(1, 1), decoder_layers_per_block=(1, 1), spatio_temporal_scaling=(True,),
        decoder_spatio_temporal_scaling=(True,), decoder_inject_noise=(False, False),
        downsample_type=("spatiotemporal",), upsample_type=("spatiotemporal",), upsample_residual=(False,),
        upsample_factor=(1,), timestep_conditioning=False, patch_size=1, patch_size_t=1, encoder_causal=True,
        decoder_causal=False, spatial_compression_ratio=2, temporal_compression_ratio=2)
    vae.use_framewise_encoding = False
    vae.use_framewise_decoding = False
    torch.manual_seed(seed)
    # three resolutions: the encoder halves time and mel bins twice, the 4x its pipeline assumes
    audio_vae = AutoencoderKLLTX2Audio(
        base_channels=4, output_channels=2, ch_mult=(1, 1, 1), num_res_blocks=1, attn_resolutions=None, in_channels=2,
        resolution=32, latent_channels=2, norm_type="pixel", causality_axis="height", dropout=0.0,
        mid_block_add_attention=False, sample_rate=16000, mel_hop_length=160, is_causal=True, mel_bins=mel_bins)
    torch.manual_seed(seed)
    vocoder = LTX2Vocoder(
        in_channels=audio_vae.config.output_channels * audio_vae.config.mel_bins, hidden_channels=32,
        out_channels=2, upsample_kernel_sizes=[4, 4], upsample_factors=[2, 2], resnet_kernel_sizes=[3],
        resnet_dilations=[[1, 3, 5]], leaky_relu_negative_slope=0.1, output_sampling_rate=16000)
    return {"transformer": transformer, "vae": vae, "audio_vae": audio_vae,
            "scheduler": FlowMatchEulerDiscreteScheduler(use_dynamic_shifting=True, base_shift=0.95, max_shift=2.05,
                                                         base_image_seq_len=1024, max_image_seq_len=4096,
                                                         shift_terminal=0.1),
            "text_encoder": text_encoder, "tokenizer": tokenizer, "connectors": connectors, "vocoder": vocoder}


def save_tiny_ltx2(folder: Path, seed: int = 0, pipeline: str = "LTX2Pipeline", **sizes) -> Path:
    import diffusers

    components = tiny_ltx2_components(seed, **sizes)
    getattr(diffusers, pipeline)(**components).save_pretrained(folder, safe_serialization=True)
    return folder


def add_tiny_ltx2_upsampler(model_folder: Path, seed: int = 0) -> Path:
    """Save a tiny LTX2LatentUpsamplerModel (x2 in width and height) as the folder's `latent_upsampler`,
    listed in its model_index.json the way diffusers writes a component."""
    import json

    import torch
    from diffusers.pipelines.ltx2 import LTX2LatentUpsamplerModel

    torch.manual_seed(seed)
    upsampler = LTX2LatentUpsamplerModel(in_channels=4, mid_channels=32, num_blocks_per_stage=1, dims=3,
                                         spatial_upsample=True, temporal_upsample=False, use_rational_resampler=False)
    upsampler.save_pretrained(model_folder / "latent_upsampler", safe_serialization=True)
    index_file = model_folder / "model_index.json"
    index = json.loads(index_file.read_text(encoding="utf-8"))
    index["latent_upsampler"] = ["ltx2", "LTX2LatentUpsamplerModel"]
    index_file.write_text(json.dumps(index, indent=2), encoding="utf-8")
    return model_folder
