"""Wan's VAE decoder one latent frame at a time, with a gradient (the keyframe fit).

Wan's decoder is causal in time: it decodes the latents one frame after another, each reading a
cache of the frames before it, so a latent frame's pixels depend on the frames before it and on
none after. The fit of one latent frame therefore decodes the frames before it once, without a
gradient, to fill the cache, and then at each of its steps only that frame, from a copy of the
cache. That is exactly what a decode of those latents gives that frame, at the memory of one frame.

Diffusers cannot checkpoint this decoder (its blocks write the cache as they run, so running a
block again on the way back would read what it wrote). Here each residual and resampling block is
checkpointed with the cache it was given: it runs again on the way back from a copy of the cache
as it found it, so the decode of one frame keeps only each block's input for the gradient.
"""

from __future__ import annotations

import contextlib

CHECKPOINTED = ("WanResidualBlock", "WanResample")  # the blocks of the decoder that read and write the cache


def causal_decoder(vae, prefix, checkpoint: bool):
    """`decode(z)`: the pixels (-1..1, unclamped; (1, 3, n, H, W)) of the latent frame z
    (1, C, 1, h, w), as decoded after `prefix` (1, C, k, h, w; both as the VAE takes them), with
    a gradient to z. n is 1 after an empty prefix (the first frame stands alone), else the VAE's
    temporal compression."""
    import torch
    from diffusers.models.autoencoders.autoencoder_kl_wan import unpatchify

    decoder = vae.decoder
    vae.clear_cache()
    if prefix.shape[2]:
        with torch.no_grad():
            x = vae.post_quant_conv(prefix)
            for i in range(prefix.shape[2]):
                decoder(x[:, :, i:i + 1], feat_cache=vae._feat_map, feat_idx=[0], first_chunk=i == 0)
    primed = list(vae._feat_map)
    vae.clear_cache()
    first = prefix.shape[2] == 0

    def decode(z):
        with checkpointed_blocks(decoder, checkpoint):
            out = decoder(vae.post_quant_conv(z), feat_cache=list(primed), feat_idx=[0], first_chunk=first)
        patch = vae.config.patch_size
        return out if patch is None else unpatchify(out, patch_size=patch)

    return decode


@contextlib.contextmanager
def checkpointed_blocks(decoder, on: bool):
    """Each cache-reading block of `decoder` checkpointed for the duration (when `on` and a
    gradient is being recorded)."""
    import torch

    if not on or not torch.is_grad_enabled():
        yield
        return
    blocks = [module for module in decoder.modules() if type(module).__name__ in CHECKPOINTED]
    for block in blocks:
        block.forward = _checkpointed(block.forward)
    try:
        yield
    finally:
        for block in blocks:
            del block.forward  # back to the class's


def _checkpointed(forward):
    from torch.utils.checkpoint import checkpoint

    def run(x, feat_cache=None, feat_idx=None):
        if feat_cache is None:
            return checkpoint(forward, x, use_reentrant=False)
        # The run again on the way back holds `once`; nothing `once` holds may lead back to this
        # graph (a cycle through autograd's nodes is never collected: a decode whose gradient is
        # not taken would stay in memory). A block reads and writes only its own slots, from
        # `start` on, which hold what the frames before wrote, without a gradient; so it holds
        # those alone, detached, and hands what it wrote on once, by a slot emptied at once.
        start = feat_idx[0]
        found = [None] * start + [_detached(entry) for entry in feat_cache[start:]]
        first = []  # the first run's cache and index; the run again on the way back leaves it alone

        def once(x):
            cache, index = list(found), [start]
            out = forward(x, feat_cache=cache, feat_idx=index)
            if not first:
                first.append((cache, index[0]))
            return out

        out = checkpoint(once, x, use_reentrant=False)
        (cache, feat_idx[0]), first[0] = first[0], None
        feat_cache[start:] = cache[start:]
        return out

    return run


def _detached(entry):
    import torch

    return entry.detach() if isinstance(entry, torch.Tensor) else entry
