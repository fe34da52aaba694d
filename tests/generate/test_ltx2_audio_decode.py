"""LTX-2 sound decoded in pieces along time equals the sound decoded at once: for the tiny model,
for random-weight decoders with the released LTX-2 layouts (the receptive field depends on the
layout, not on the widths, so narrow channels stand in for the real ones), and through the
backend for a sound longer than the whole-decode limit."""

import numpy as np
import pytest
import torch

from engine.generate.backends.ltx2_audio_decode import (
    LONG_SOUND_LATENT_FRAMES,
    MEL_FRAMES_PER_LATENT,
    decode_mel,
    decode_sound_latents,
    vocode,
)

pytestmark = pytest.mark.filterwarnings("ignore")


def _released_audio_vae():
    """The released LTX-2 audio VAE's layout (three resolutions, two resnets each, causal in time,
    pixel norm, 64 mel bins) with 8 base channels instead of 128."""
    from diffusers import AutoencoderKLLTX2Audio

    torch.manual_seed(0)
    return AutoencoderKLLTX2Audio(base_channels=8, output_channels=2, ch_mult=(1, 2, 4), num_res_blocks=2,
                                  attn_resolutions=None, in_channels=2, resolution=256, latent_channels=8,
                                  norm_type="pixel", causality_axis="height", dropout=0.0,
                                  mid_block_add_attention=False, sample_rate=16000, mel_hop_length=160,
                                  is_causal=True, mel_bins=64).eval()


def _released_vocoder():
    """LTX-2.0's vocoder layout (upsampling 6, 5, 2, 2, 2 with kernels 16, 15, 8, 4, 4; resnets of
    kernels 3, 7, 11 at dilations 1, 3, 5) with 64 hidden channels instead of 1024."""
    from diffusers.pipelines.ltx2.vocoder import LTX2Vocoder

    torch.manual_seed(0)
    return LTX2Vocoder(in_channels=128, hidden_channels=64, out_channels=2).eval()


def _released_vocoder_with_bandwidth_extension():
    """LTX-2.3's vocoder layout (snake activations with anti-aliasing, then a causal STFT and a second
    vocoder to 48 kHz) with 64 and 32 hidden channels; its STFT and mel bases get random values
    (the checkpoint's are DFT bases, zeros until loaded)."""
    from diffusers.pipelines.ltx2.vocoder import LTX2VocoderWithBWE

    torch.manual_seed(0)
    vocoder = LTX2VocoderWithBWE(hidden_channels=64, bwe_hidden_channels=32).eval()
    stft = vocoder.mel_stft
    stft.stft_fn.forward_basis.copy_(torch.randn_like(stft.stft_fn.forward_basis) * 0.05)
    stft.mel_basis.copy_(torch.rand_like(stft.mel_basis))
    return vocoder


@pytest.mark.parametrize("which", ["tiny", pytest.param("released layout", marks=pytest.mark.slow)])
def test_audio_vae_decode_in_pieces_equals_decode_at_once(tiny_ltx2, which):
    audio_vae = tiny_ltx2.audio_vae if which == "tiny" else _released_audio_vae()
    channels, mel_bins = audio_vae.config.latent_channels, audio_vae.config.mel_bins // 4
    latents = torch.randn(1, channels, 150, mel_bins, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        whole = decode_mel(audio_vae, latents)
        pieces = decode_mel(audio_vae, latents, piece_frames=32)
        # a piece decoded without the frames before it is not the whole decode's: the context matters
        alone = audio_vae.decode(latents[:, :, 64:96], return_dict=False)[0]
    assert whole.shape == pieces.shape == (1, 2, 150 * MEL_FRAMES_PER_LATENT - 3, audio_vae.config.mel_bins)
    assert (pieces - whole).abs().max() <= 1e-5
    offset = 64 * MEL_FRAMES_PER_LATENT
    assert (alone[:, :, :16] - whole[:, :, offset:offset + 16]).abs().max() > 1e-3


@pytest.mark.parametrize(("which", "frames", "piece"), [
    ("tiny", 300, 64), pytest.param("LTX-2.0 layout", 200, 64, marks=pytest.mark.slow),
    pytest.param("LTX-2.3 layout", 100, 50, marks=pytest.mark.slow)])
def test_vocoder_in_pieces_equals_vocoder_at_once(tiny_ltx2, which, frames, piece):
    vocoder = {"tiny": lambda: tiny_ltx2.vocoder, "LTX-2.0 layout": _released_vocoder,
               "LTX-2.3 layout": _released_vocoder_with_bandwidth_extension}[which]()
    mel = torch.randn(1, 2, frames, vocoder.config.in_channels // 2, generator=torch.Generator().manual_seed(2))
    with torch.no_grad():
        whole = vocoder(mel)
        pieces = vocode(vocoder, mel, piece_frames=piece)
        alone = vocoder(mel[:, :, piece:2 * piece])
    assert pieces.shape == whole.shape
    assert (pieces - whole).abs().max() <= 1e-5
    per_frame = whole.shape[-1] // frames
    assert (alone[..., :per_frame * 4] - whole[..., piece * per_frame:(piece + 4) * per_frame]).abs().max() > 1e-4


def test_long_sound_is_decoded_in_pieces_by_the_backend_and_equals_the_whole(tiny_ltx2):
    """A sound of 12 s (300 latent frames, over the 10 s the backend decodes at once)."""
    frames = LONG_SOUND_LATENT_FRAMES + 50
    tokens = torch.randn(1, frames, tiny_ltx2.audio_channels * tiny_ltx2.audio_mel_bins,
                         generator=torch.Generator().manual_seed(3))
    decoded = tiny_ltx2.decode_audio(tokens)
    raw = tokens * tiny_ltx2.audio_vae.latents_std + tiny_ltx2.audio_vae.latents_mean
    raw = raw.unflatten(2, (-1, tiny_ltx2.audio_mel_bins)).transpose(1, 2)
    with torch.no_grad():
        whole = decode_sound_latents(tiny_ltx2.audio_vae, tiny_ltx2.vocoder, raw, None).numpy()
    samples = (frames * MEL_FRAMES_PER_LATENT - 3) * tiny_ltx2.vocoder.total_upsample_factor
    assert decoded.shape == whole.shape == (1, 2, samples)
    assert np.abs(decoded - whole).max() <= 1e-5
