"""Wan's causal decoder one latent frame at a time, with a gradient (the keyframe fit's decode),
on tiny random VAEs of both of Wan's layouts."""

import gc
import weakref

import pytest
import torch

from engine.generate.backends.wan_decode import causal_decoder
from tests.bench.gpu_real_configs import TINY, WAN22_VAE
from tests.generate.tiny_models import tiny_wan_components


def _wan21():
    return tiny_wan_components(0)["vae"].eval()


def _wan22():  # Wan 2.2's residual VAE with its 2x2 patches, scaled down
    from diffusers import AutoencoderKLWan

    torch.manual_seed(0)
    return AutoencoderKLWan(**{**WAN22_VAE, **TINY["wan22_vae"]}).eval()


def _saved_bytes(run) -> int:
    """What autograd keeps for the backward pass while `run()` records it."""
    kept = []

    def pack(tensor):
        kept.append(tensor.numel() * tensor.element_size())
        return tensor

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda tensor: tensor):
        run()
    return sum(kept)


@pytest.mark.parametrize("make", [_wan21, _wan22], ids=["wan2.1", "wan2.2"])
def test_one_frame_after_its_prefix_is_what_the_whole_decode_gives_it(make):
    """Exactly the pixels of a whole decode, for the first frame and those after it, with the same
    gradient whether the blocks are checkpointed or not; the checkpointed decode keeps far less
    for the gradient."""
    vae = make()
    channels = vae.config.z_dim
    torch.manual_seed(1)
    latents = torch.randn(1, channels, 4, 4, 4)
    with torch.no_grad():
        whole = vae.decode(latents, return_dict=False)[0]  # (1, 3, 13, H, W), clamped to -1..1
    for k in range(4):
        grads, kept = [], []
        for checkpoint in (False, True):
            decode = causal_decoder(vae, latents[:, :, :k], checkpoint)
            z = latents[:, :, k:k + 1].clone().requires_grad_(True)
            with torch.enable_grad():
                out = []
                kept.append(_saved_bytes(lambda: out.append(decode(z))))  # noqa: B023
                (out[0] ** 2).mean().backward()
            first, count = (0, 1) if k == 0 else (4 * k - 3, 4)
            assert out[0].shape[2] == count
            torch.testing.assert_close(out[0].detach().clamp(-1, 1), whole[:, :, first:first + count],
                                       atol=1e-5, rtol=0)
            grads.append(z.grad)
        assert grads[0].abs().sum() > 0
        torch.testing.assert_close(grads[1], grads[0], atol=1e-6, rtol=1e-5)
        print(f"k={k}: kept for the gradient {kept[0]} -> {kept[1]} bytes checkpointed")
        assert kept[1] < kept[0] / 3, kept
    assert not any("forward" in vars(module) for module in vae.modules())  # the blocks are as they were


def test_the_decoder_cache_of_the_vae_is_left_empty():
    """The decode reads a copy of the cache its prefix filled: decoding z twice gives the same
    pixels, and the VAE's own decode afterwards is unchanged."""
    vae = _wan21()
    torch.manual_seed(2)
    latents = torch.randn(1, 16, 3, 4, 4)
    with torch.no_grad():
        before = vae.decode(latents, return_dict=False)[0]
        decode = causal_decoder(vae, latents[:, :, :2], True)
        torch.testing.assert_close(decode(latents[:, :, 2:]), decode(latents[:, :, 2:]))
        torch.testing.assert_close(vae.decode(latents, return_dict=False)[0], before)


@pytest.mark.parametrize("checkpoint", [False, True])
@pytest.mark.parametrize("backward", [False, True])
def test_a_decode_is_freed_whether_or_not_its_gradient_is_taken(checkpoint, backward):
    """The fit's last decode of a frame takes no gradient. A checkpointed decode whose graph held
    a way back to itself was never freed (a whole decode's memory per keyframe, seen on a GPU)."""
    vae = _wan21()
    latents = torch.randn(1, 16, 3, 4, 4)
    decode = causal_decoder(vae, latents[:, :, :2], checkpoint)
    z = latents[:, :, 2:].clone().requires_grad_(True)
    with torch.enable_grad():
        loss = (decode(z) ** 2).mean()
        if backward:
            loss.backward()
    alive = weakref.ref(z)
    del z, loss, decode
    gc.collect()
    assert alive() is None
