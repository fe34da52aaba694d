"""A denoiser's weights stored in float8 (e4m3) and cast up layer by layer as it runs (diffusers'
layerwise casting): half the memory of bfloat16 weights (MemoryOptions.fp8_storage).

A LoRA loaded into such a model gets its adapter layers in the stored dtype of the layer they
wrap; those layers carry no casting of their own, so they are put in the compute dtype."""

from __future__ import annotations


def store_in_fp8(denoiser, compute_dtype) -> None:
    """Keep `denoiser`'s weights in float8, each layer's cast up to `compute_dtype` while it runs
    (the norms and embeddings diffusers lists for the model stay as they are)."""
    import torch

    denoiser.enable_layerwise_casting(storage_dtype=torch.float8_e4m3fn, compute_dtype=compute_dtype)


def lora_layers_in(denoiser, compute_dtype) -> None:
    """Put the adapter weights of the LoRA loaded into a float8-stored `denoiser` in `compute_dtype`."""
    import torch

    for name, parameter in denoiser.named_parameters():
        if "lora_" in name and parameter.dtype == torch.float8_e4m3fn:
            parameter.data = parameter.data.to(compute_dtype)
