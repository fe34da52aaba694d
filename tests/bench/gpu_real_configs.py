"""The real configs of the models tests/bench/gpu_real_sizes.py times, written out (no download).

Each dict is what the model's component config.json holds (the keys diffusers reads), taken from
the conversion scripts diffusers converts the published checkpoints with (huggingface/diffusers,
scripts/convert_*_to_diffusers.py), which write those config.json files. `TINY` says, per
component, the only keys --tiny changes: widths and depths. Every other key (norms, rope type,
patch sizes, compression layout, timestep conditioning) stays the real one, so the CPU check runs
the same classes down the same code paths.
"""

from __future__ import annotations

# -- LTX-Video 0.9.x --------------------------------------------------------------------------------
# scripts/convert_ltx_to_diffusers.py, get_transformer_config: the 2B models (0.9.0 to 0.9.6,
# Lightricks/LTX-Video transformer/config.json) and, for "0.9.7", the 13B models (0.9.7/0.9.8 13B).
LTX_2B_TRANSFORMER = {
    "in_channels": 128, "out_channels": 128, "patch_size": 1, "patch_size_t": 1, "num_attention_heads": 32,
    "attention_head_dim": 64, "cross_attention_dim": 2048, "num_layers": 28, "activation_fn": "gelu-approximate",
    "qk_norm": "rms_norm_across_heads", "norm_elementwise_affine": False, "norm_eps": 1e-6, "caption_channels": 4096,
    "attention_bias": True, "attention_out_bias": True,
}
LTX_13B_TRANSFORMER = {
    **LTX_2B_TRANSFORMER, "attention_head_dim": 128, "cross_attention_dim": 4096, "num_layers": 48,
}
# get_vae_config "0.9.5" and "0.9.7" (the same VAE: 0.9.5 and later, 2B and 13B)
LTX_095_VAE = {
    "in_channels": 3, "out_channels": 3, "latent_channels": 128, "block_out_channels": (128, 256, 512, 1024, 2048),
    "down_block_types": ("LTXVideo095DownBlock3D",) * 4, "decoder_block_out_channels": (256, 512, 1024),
    "layers_per_block": (4, 6, 6, 2, 2), "decoder_layers_per_block": (5, 5, 5, 5),
    "spatio_temporal_scaling": (True, True, True, True), "decoder_spatio_temporal_scaling": (True, True, True),
    "decoder_inject_noise": (False, False, False, False),
    "downsample_type": ("spatial", "temporal", "spatiotemporal", "spatiotemporal"),
    "upsample_residual": (True, True, True), "upsample_factor": (2, 2, 2), "timestep_conditioning": True,
    "patch_size": 4, "patch_size_t": 1, "resnet_norm_eps": 1e-6, "scaling_factor": 1.0, "encoder_causal": True,
    "decoder_causal": False, "spatial_compression_ratio": 32, "temporal_compression_ratio": 8,
}
# Lightricks/LTX-Video scheduler/scheduler_config.json (also what the conversion script writes)
LTX_SCHEDULER = {
    "use_dynamic_shifting": True, "base_shift": 0.95, "max_shift": 2.05, "base_image_seq_len": 1024,
    "max_image_seq_len": 4096, "shift_terminal": 0.1,
}

# -- LTX-2 (2.0, Lightricks/LTX-2) ------------------------------------------------------------------
# scripts/convert_ltx2_to_diffusers.py, version "2.0": get_ltx2_transformer_config,
# get_ltx2_connectors_config, get_ltx2_video_vae_config (timestep_conditioning left at the script's
# default, False), get_ltx2_audio_vae_config, get_ltx2_vocoder_config, and the scheduler it writes.
LTX2_TRANSFORMER = {
    "in_channels": 128, "out_channels": 128, "patch_size": 1, "patch_size_t": 1, "num_attention_heads": 32,
    "attention_head_dim": 128, "cross_attention_dim": 4096, "vae_scale_factors": (8, 32, 32),
    "pos_embed_max_pos": 20, "base_height": 2048, "base_width": 2048, "gated_attn": False, "cross_attn_mod": False,
    "audio_in_channels": 128, "audio_out_channels": 128, "audio_patch_size": 1, "audio_patch_size_t": 1,
    "audio_num_attention_heads": 32, "audio_attention_head_dim": 64, "audio_cross_attention_dim": 2048,
    "audio_scale_factor": 4, "audio_pos_embed_max_pos": 20, "audio_sampling_rate": 16000, "audio_hop_length": 160,
    "audio_gated_attn": False, "audio_cross_attn_mod": False, "num_layers": 48, "activation_fn": "gelu-approximate",
    "qk_norm": "rms_norm_across_heads", "norm_elementwise_affine": False, "norm_eps": 1e-6, "caption_channels": 3840,
    "attention_bias": True, "attention_out_bias": True, "rope_theta": 10000.0, "rope_double_precision": True,
    "causal_offset": 1, "timestep_scale_multiplier": 1000, "cross_attn_timestep_scale_multiplier": 1000,
    "rope_type": "split", "use_prompt_embeddings": True, "perturbed_attn": False,
}
LTX2_CONNECTORS = {
    "caption_channels": 3840, "text_proj_in_factor": 49, "video_connector_num_attention_heads": 30,
    "video_connector_attention_head_dim": 128, "video_connector_num_layers": 2,
    "video_connector_num_learnable_registers": 128, "video_gated_attn": False,
    "audio_connector_num_attention_heads": 30, "audio_connector_attention_head_dim": 128,
    "audio_connector_num_layers": 2, "audio_connector_num_learnable_registers": 128, "audio_gated_attn": False,
    "connector_rope_base_seq_len": 4096, "rope_theta": 10000.0, "rope_double_precision": True,
    "causal_temporal_positioning": False, "rope_type": "split", "per_modality_projections": False, "proj_bias": False,
}
LTX2_VAE = {
    "in_channels": 3, "out_channels": 3, "latent_channels": 128, "block_out_channels": (256, 512, 1024, 2048),
    "down_block_types": ("LTX2VideoDownBlock3D",) * 4, "decoder_block_out_channels": (256, 512, 1024),
    "layers_per_block": (4, 6, 6, 2, 2), "decoder_layers_per_block": (5, 5, 5, 5),
    "spatio_temporal_scaling": (True, True, True, True), "decoder_spatio_temporal_scaling": (True, True, True),
    "decoder_inject_noise": (False, False, False, False),
    "downsample_type": ("spatial", "temporal", "spatiotemporal", "spatiotemporal"),
    "upsample_type": ("spatiotemporal", "spatiotemporal", "spatiotemporal"), "upsample_residual": (True, True, True),
    "upsample_factor": (2, 2, 2), "timestep_conditioning": False, "patch_size": 4, "patch_size_t": 1,
    "resnet_norm_eps": 1e-6, "encoder_causal": True, "decoder_causal": False,
    "encoder_spatial_padding_mode": "zeros", "decoder_spatial_padding_mode": "reflect",
    "spatial_compression_ratio": 32, "temporal_compression_ratio": 8,
}
LTX2_AUDIO_VAE = {
    "base_channels": 128, "output_channels": 2, "ch_mult": (1, 2, 4), "num_res_blocks": 2, "attn_resolutions": None,
    "in_channels": 2, "resolution": 256, "latent_channels": 8, "norm_type": "pixel", "causality_axis": "height",
    "dropout": 0.0, "mid_block_add_attention": False, "sample_rate": 16000, "mel_hop_length": 160, "is_causal": True,
    "mel_bins": 64, "double_z": True,
}
LTX2_VOCODER = {
    "in_channels": 128, "hidden_channels": 1024, "out_channels": 2, "upsample_kernel_sizes": [16, 15, 8, 4, 4],
    "upsample_factors": [6, 5, 2, 2, 2], "resnet_kernel_sizes": [3, 7, 11],
    "resnet_dilations": [[1, 3, 5], [1, 3, 5], [1, 3, 5]], "act_fn": "leaky_relu", "leaky_relu_negative_slope": 0.1,
    "antialias": False, "final_act_fn": "tanh", "final_bias": True, "output_sampling_rate": 24000,
}
LTX2_SCHEDULER = LTX_SCHEDULER  # the conversion script's scheduler for the non-distilled model
# The text encoder is Gemma 3 12B: hidden size 3840 and 48 layers (the connectors read its 49 stacked
# hidden states). The benchmark builds a Gemma 3 of that width and depth with tiny attention and MLP:
# its output has the real shape, and the text encoder is not what is timed.
LTX2_GEMMA = {"hidden_size": 3840, "num_hidden_layers": 48}

# -- Wan 2.1 / 2.2 ----------------------------------------------------------------------------------
# scripts/convert_wan_to_diffusers.py, get_transformer_config "Wan-T2V-1.3B", "Wan-T2V-14B"
# (Wan-AI/Wan2.1-T2V-1.3B-Diffusers, -14B-Diffusers) and "Wan2.2-TI2V-5B" (Wan-AI/Wan2.2-TI2V-5B-Diffusers).
WAN_13B_TRANSFORMER = {
    "added_kv_proj_dim": None, "attention_head_dim": 128, "cross_attn_norm": True, "eps": 1e-06, "ffn_dim": 8960,
    "freq_dim": 256, "in_channels": 16, "num_attention_heads": 12, "num_layers": 30, "out_channels": 16,
    "patch_size": [1, 2, 2], "qk_norm": "rms_norm_across_heads", "text_dim": 4096,
}
WAN_14B_TRANSFORMER = {**WAN_13B_TRANSFORMER, "ffn_dim": 13824, "num_attention_heads": 40, "num_layers": 40}
WAN22_5B_TRANSFORMER = {
    **WAN_13B_TRANSFORMER, "ffn_dim": 14336, "in_channels": 48, "out_channels": 48, "num_attention_heads": 24,
}
# Wan2.1's VAE (the script's AutoencoderKLWan(), whose defaults are Wan2.1's vae/config.json)
WAN21_VAE = {
    "base_dim": 96, "z_dim": 16, "dim_mult": [1, 2, 4, 4], "num_res_blocks": 2, "attn_scales": [],
    "temperal_downsample": [False, True, True], "dropout": 0.0,
    "latents_mean": [-0.7571, -0.7089, -0.9113, 0.1075, -0.1745, 0.9653, -0.1517, 1.5508, 0.4134, -0.0715, 0.5517,
                     -0.3632, -0.1922, -0.9497, 0.2503, -0.2921],
    "latents_std": [2.8184, 1.4541, 2.3275, 2.6558, 1.2196, 1.7708, 2.6052, 2.0743, 3.2687, 2.1526, 2.8652, 1.5579,
                    1.6382, 1.1253, 2.8251, 1.916],
}
# the script's vae22_diffusers_config (Wan2.2-TI2V-5B: 16x spatial, 48 latent channels)
WAN22_VAE = {
    "base_dim": 160, "z_dim": 48, "is_residual": True, "in_channels": 12, "out_channels": 12, "decoder_base_dim": 256,
    "scale_factor_temporal": 4, "scale_factor_spatial": 16, "patch_size": 2,
    "latents_mean": [-0.2289, -0.0052, -0.1323, -0.2339, -0.2799, 0.0174, 0.1838, 0.1557, -0.1382, 0.0542, 0.2813,
                     0.0891, 0.157, -0.0098, 0.0375, -0.1825, -0.2246, -0.1207, -0.0698, 0.5109, 0.2665, -0.2108,
                     -0.2158, 0.2502, -0.2055, -0.0322, 0.1109, 0.1567, -0.0729, 0.0899, -0.2799, -0.123, -0.0313,
                     -0.1649, 0.0117, 0.0723, -0.2839, -0.2083, -0.052, 0.3748, 0.0152, 0.1957, 0.1433, -0.2944,
                     0.3573, -0.0548, -0.1681, -0.0667],
    "latents_std": [0.4765, 1.0364, 0.4514, 1.1677, 0.5313, 0.499, 0.4818, 0.5013, 0.8158, 1.0344, 0.5894, 1.0901,
                    0.6885, 0.6165, 0.8454, 0.4978, 0.5759, 0.3523, 0.7135, 0.6804, 0.5833, 1.4146, 0.8986, 0.5659,
                    0.7069, 0.5338, 0.4889, 0.4917, 0.4069, 0.4999, 0.6866, 0.4093, 0.5709, 0.6065, 0.6415, 0.4944,
                    0.5726, 1.2042, 0.5458, 1.6887, 0.3971, 1.06, 0.3943, 0.5537, 0.5444, 0.4089, 0.7468, 0.7744],
}


def wan_scheduler(flow_shift: float) -> dict:
    """UniPCMultistepScheduler as the Wan conversion script writes it: flow_shift 3.0 for Wan2.1 T2V,
    5.0 for Wan2.2 TI2V."""
    return {"prediction_type": "flow_prediction", "use_flow_sigmas": True, "num_train_timesteps": 1000,
            "flow_shift": flow_shift}


# The text encoder is UMT5-XXL (d_model 4096, the transformers' text_dim); built with tiny layers as for LTX-2.
UMT5_WIDTH = 4096

# -- SkyReels-V2 diffusion forcing -----------------------------------------------------------------
# scripts/convert_skyreelsv2_to_diffusers.py, get_transformer_config "SkyReels-V2-DF-1.3B-540P"
# (Skywork/SkyReels-V2-DF-1.3B-540P-Diffusers); its VAE is Wan2.1's. Its scheduler: UniPC flow sigmas
# at flow_shift 8.0, the shift diffusers' SkyReels-V2 docs set for the 540P models.
SKYREELS_DF_13B_TRANSFORMER = {**WAN_13B_TRANSFORMER, "inject_sample_info": True}
SKYREELS_SCHEDULER = wan_scheduler(8.0)

# -- --tiny: the keys changed per component (same classes, same structure, a few channels) ----------
TINY = {
    "ltx_transformer": {"num_attention_heads": 2, "attention_head_dim": 8, "cross_attention_dim": 16,
                        "num_layers": 1, "caption_channels": 16},
    "ltx_vae": {"block_out_channels": (4, 8, 16, 32, 64), "decoder_block_out_channels": (8, 16, 32),
                "layers_per_block": (1, 1, 1, 1, 1), "decoder_layers_per_block": (1, 1, 1, 1)},
    "ltx2_transformer": {"num_attention_heads": 2, "attention_head_dim": 8, "cross_attention_dim": 16,
                         "audio_num_attention_heads": 2, "audio_attention_head_dim": 4, "audio_cross_attention_dim": 8,
                         "num_layers": 2, "caption_channels": 32},
    "ltx2_connectors": {"caption_channels": 32, "text_proj_in_factor": 3, "video_connector_num_attention_heads": 4,
                        "video_connector_attention_head_dim": 8, "video_connector_num_layers": 1,
                        "audio_connector_num_attention_heads": 4, "audio_connector_attention_head_dim": 8,
                        "audio_connector_num_layers": 1},
    "ltx2_gemma": {"hidden_size": 32, "num_hidden_layers": 2},
    "ltx2_vae": {"block_out_channels": (8, 16, 32, 64), "decoder_block_out_channels": (8, 16, 32),
                 "layers_per_block": (1, 1, 1, 1, 1), "decoder_layers_per_block": (1, 1, 1, 1)},
    # base_channels stays: the audio latents' normalisation has one value per packed channel (latent
    # channels x latent mel bins = 128), sized by it
    "ltx2_audio_vae": {"num_res_blocks": 1},
    "ltx2_vocoder": {"hidden_channels": 64},
    "wan_transformer": {"num_attention_heads": 2, "attention_head_dim": 12, "ffn_dim": 32, "num_layers": 1,
                        "text_dim": 32},
    "wan_vae": {"base_dim": 8, "num_res_blocks": 1},
    "wan22_vae": {"base_dim": 16, "decoder_base_dim": 16, "num_res_blocks": 1},
}
