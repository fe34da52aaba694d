"""LTX-2 sound decoded in pieces along time, so a long sound (or a small GPU) never needs the
whole spectrogram and waveform in the audio decoders at once.

AutoencoderKLLTX2Audio has no tiling of its own (only slicing over the batch), but both of its
decoders work locally in time, so a piece decoded with enough neighbouring context gives the
same values as the whole:

- The audio VAE's decoder is causal in time (`causality_axis="height"`, the released configs:
  causal convolutions, pixel norm, no attention): a mel frame depends only on latent frames at or
  before its own, within VAE_CONTEXT of them. Latent frame k >= 1 decodes to mel frames
  [4k - 3, 4k + 1) and frame 0 to mel frame 0, so a piece that starts at latent frame s gives
  the whole decode's mel frames shifted by 4 s: a piece needs context before it only.
  (A decoder not causal in time gets the same context after the piece too.)
- The vocoder (and its bandwidth-extension variant) is convolutional both ways: each mel frame
  becomes a fixed number of samples, which depend on the mel frames within VOCODER_CONTEXT on
  either side.

Pieces are cut where the whole decode would put the same values and joined without blending.
"""

from __future__ import annotations

from engine.generate.backends.memory import free_memory, is_out_of_memory

# Latent frames of context before a piece: the released audio VAE's decoder sees 33 (3x3 causal
# convolutions: 22 at the latent rate, 7 at twice it, 4 at four times it, counted in latent frames;
# with 34 pieces equal the whole exactly).
VAE_CONTEXT = 40
# Mel frames of context on each side of a piece: with 16, pieces of the LTX-2.0 vocoder and of the
# LTX-2.3 one with its bandwidth extension (STFT, second vocoder at 48 kHz) equal the whole to
# float rounding (measured on their layouts with random weights); twice that for margin.
VOCODER_CONTEXT = 32
MEL_FRAMES_PER_LATENT = 4  # the audio VAE's fixed time compression (AutoencoderKLLTX2Audio)
LONG_SOUND_LATENT_FRAMES = 250  # 10 s at the released 25 latent frames a second: longer is decoded in pieces
SMALLEST_PIECE = 16  # latent frames: below this the context would cost more than the piece


def decode_mel(audio_vae, latents, piece_frames: int | None = None):
    """Raw audio latents (N, C, L, M) -> mel spectrograms (N, channels, 4 L - 3, mel bins), in pieces
    of `piece_frames` latent frames (None: at once)."""
    import torch

    num_frames = latents.shape[2]
    if piece_frames is None or num_frames <= piece_frames:
        return audio_vae.decode(latents, return_dict=False)[0]
    causal = audio_vae.config.causality_axis == "height"

    def mel_start(k: int) -> int:  # the whole decode's first mel frame of latent frame k
        if k == num_frames:
            return MEL_FRAMES_PER_LATENT * num_frames - (MEL_FRAMES_PER_LATENT - 1)
        return max(MEL_FRAMES_PER_LATENT * k - (MEL_FRAMES_PER_LATENT - 1), 0) if causal else MEL_FRAMES_PER_LATENT * k

    pieces = []
    for first in range(0, num_frames, piece_frames):
        last = min(first + piece_frames, num_frames)
        start = max(first - VAE_CONTEXT, 0)
        stop = last if causal else min(last + VAE_CONTEXT, num_frames)
        mel = audio_vae.decode(latents[:, :, start:stop], return_dict=False)[0]
        offset = MEL_FRAMES_PER_LATENT * start
        pieces.append(mel[:, :, mel_start(first) - offset:mel_start(last) - offset])
    return torch.cat(pieces, dim=2)


def vocode(vocoder, mel, piece_frames: int | None = None):
    """Mel spectrograms (N, channels, T, mel bins) -> waveforms (N, channels, samples), in pieces of
    `piece_frames` mel frames (None: at once)."""
    import torch

    num_frames = mel.shape[2]
    if piece_frames is None or num_frames <= piece_frames:
        return vocoder(mel)
    pieces, samples_per_frame = [], None
    for first in range(0, num_frames, piece_frames):
        last = min(first + piece_frames, num_frames)
        start, stop = max(first - VOCODER_CONTEXT, 0), min(last + VOCODER_CONTEXT, num_frames)
        waveform = vocoder(mel[:, :, start:stop])
        if samples_per_frame is None:
            samples_per_frame, rest = divmod(waveform.shape[-1], stop - start)
            if rest:  # not a whole number of samples per frame: pieces would not line up
                return vocoder(mel)
        pieces.append(waveform[..., (first - start) * samples_per_frame:(last - start) * samples_per_frame])
    return torch.cat(pieces, dim=-1)


def decode_sound_latents(audio_vae, vocoder, latents, piece_frames: int | None):
    """Raw audio latents (N, C, L, M) -> waveforms; `piece_frames` latent frames at a time (None: at once)."""
    mel = decode_mel(audio_vae, latents, piece_frames)
    mel_piece = None if piece_frames is None else piece_frames * MEL_FRAMES_PER_LATENT
    return vocode(vocoder, mel.to(vocoder.dtype), mel_piece)


def decode_with_fallback(audio_vae, vocoder, latents, tiled: bool):
    """Whole when short, in pieces when long or `tiled`; when memory runs out, again in pieces half
    as long each time, down to SMALLEST_PIECE, so the sampled sound is not lost to a decode."""
    num_frames = latents.shape[2]
    piece = LONG_SOUND_LATENT_FRAMES if (tiled or num_frames > LONG_SOUND_LATENT_FRAMES) else None
    while True:
        try:
            return decode_sound_latents(audio_vae, vocoder, latents, piece)
        except (RuntimeError, MemoryError) as error:
            if not is_out_of_memory(error):
                raise
            smaller = min(piece or num_frames, num_frames) // 2
            if smaller < SMALLEST_PIECE:
                raise
            free_memory()
            piece = smaller
