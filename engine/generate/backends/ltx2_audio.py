"""Sound into LTX-2's audio latents: the log-mel front end its audio VAE was trained on, and the
condition latents of a plan's audio layers.

The front end is the reference LTX-2 audio processor's: a magnitude STFT (Hann window of
MEL_N_FFT samples, centred with reflection) at the VAE's hop length, a Slaney-scaled and
Slaney-normalised mel filterbank up to half the sample rate, and log(max(mel, 1e-5)).
"""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np

MEL_N_FFT = 1024  # the reference processor's FFT (and window) length


def _hz_to_mel(hz: np.ndarray) -> np.ndarray:
    """Slaney's mel scale: linear below 1 kHz, logarithmic above."""
    hz = np.asarray(hz, np.float64)
    mel = hz / (200.0 / 3)
    log_part = 1000.0 / (200.0 / 3) + np.log(np.maximum(hz, 1e-10) / 1000.0) / (math.log(6.4) / 27.0)
    return np.where(hz >= 1000.0, log_part, mel)


def _mel_to_hz(mel: np.ndarray) -> np.ndarray:
    mel = np.asarray(mel, np.float64)
    hz = mel * (200.0 / 3)
    log_part = 1000.0 * np.exp((math.log(6.4) / 27.0) * (mel - 1000.0 / (200.0 / 3)))
    return np.where(mel >= 1000.0 / (200.0 / 3), log_part, hz)


def mel_filterbank(sample_rate: int, n_fft: int, n_mels: int) -> np.ndarray:
    """(n_mels, n_fft // 2 + 1) triangular filters, each scaled to unit area (Slaney norm)."""
    fft_freqs = np.linspace(0.0, sample_rate / 2.0, n_fft // 2 + 1)
    hz_points = _mel_to_hz(np.linspace(_hz_to_mel(0.0), _hz_to_mel(sample_rate / 2.0), n_mels + 2))
    widths = np.diff(hz_points)
    ramps = hz_points[:, None] - fft_freqs[None, :]
    lower = -ramps[:-2] / widths[:-1, None]
    upper = ramps[2:] / widths[1:, None]
    filters = np.maximum(0.0, np.minimum(lower, upper))
    filters *= (2.0 / (hz_points[2:n_mels + 2] - hz_points[:n_mels]))[:, None]
    return filters.astype(np.float32)


def log_mel(waveform, sample_rate: int, hop_length: int, n_mels: int):
    """float waveform (channels, samples) tensor -> log-mel (channels, frames, n_mels)."""
    import torch

    window = torch.hann_window(MEL_N_FFT, dtype=torch.float32, device=waveform.device)
    spectrum = torch.stft(waveform.float(), MEL_N_FFT, hop_length=hop_length, win_length=MEL_N_FFT, window=window,
                          center=True, pad_mode="reflect", return_complex=True).abs()
    filters = torch.from_numpy(mel_filterbank(sample_rate, MEL_N_FFT, n_mels)).to(waveform.device)
    mel = torch.matmul(filters, spectrum)
    return torch.log(torch.clamp(mel, min=1e-5)).transpose(1, 2)


def encode_sound(backend, waveform):
    """Stereo float waveform (2, samples) at the audio VAE's sample rate -> normalised packed audio
    latents (1, latent frames, C * M): the posterior's mode, as conditions are encoded."""
    import torch

    from engine.generate.backends.memory import on_device

    vae = backend.audio_vae
    samples = torch.as_tensor(np.ascontiguousarray(waveform), dtype=torch.float32, device=backend.device)
    mel = log_mel(samples, vae.config.sample_rate, vae.config.mel_hop_length, vae.config.mel_bins)
    with on_device(vae, backend.device, backend.memory.offloads), torch.no_grad():
        latents = vae.encode(mel.unsqueeze(0).to(vae.dtype)).latent_dist.mode().float()  # (1, C, L, M)
    packed = latents.transpose(1, 2).flatten(2, 3)
    mean = vae.latents_mean.to(packed.device, torch.float32)
    std = vae.latents_std.to(packed.device, torch.float32)
    return (packed - mean) / std


def read_sound(path: str, start_s: float, seconds: float, sample_rate: int) -> np.ndarray:
    """(2, samples) float32 of a file's sound from `start_s` (silence outside the file)."""
    from engine.media.audio import AudioSource

    source = AudioSource(path, sample_rate, 2)
    try:
        return source.read(Fraction(start_s).limit_denominator(10**6), int(math.ceil(seconds * sample_rate)))
    finally:
        source.close()


def audio_condition(backend, plan):
    """(cond (1, audio frames, D) normalised packed latents, strength (audio frames,)) of the plan's
    audio layers. Each layer is encoded once over the stretch of its source it covers; where layers
    share an audio frame their latents mix by their composited weights."""
    import torch

    rate = plan.audio_latents_per_second
    frames, dim = plan.num_audio_frames, backend.audio_channels * backend.audio_mel_bins
    cond = torch.zeros(frames, dim, device=backend.device)
    total = torch.zeros(frames, device=backend.device)
    sample_rate = backend.audio_vae.config.sample_rate
    for layer in plan.audio_layers:
        present = ~np.isnan(layer.audio_source_time)
        if not present.any():
            continue
        times = layer.audio_source_time[present]
        path = plan.sources[layer.source].path
        held = _stored_or_encoded(backend, path, times, rate, sample_rate)
        where = torch.from_numpy(np.flatnonzero(present)).to(backend.device)
        weight = torch.from_numpy(layer.audio_weight[present]).to(backend.device)
        cond[where] += weight[:, None] * held
        total[where] += weight
    cond = torch.where(total[:, None] > 0, cond / total.clamp_min(1e-12)[:, None], cond)
    if plan.held_audio_latents is not None:  # a chain's window continues the sound of the one before
        held = torch.from_numpy(np.asarray(plan.held_audio_latents, np.float32)).to(cond.device)
        cond[: held.shape[0]] = held[: cond.shape[0]]
    return cond.unsqueeze(0), torch.from_numpy(np.array(plan.audio_strength)).to(backend.device)


def _stored_or_encoded(backend, path: str, times: np.ndarray, rate: float, sample_rate: int):
    """The audio latents (n, D) of a source at `times` (seconds): taken from the audio latents stored
    beside a clip this model generated where they line up (exact: the sound continues from what the
    model made), else encoded from the file's sound over the stretch the times cover."""
    import torch

    from engine.generate.stored_sound import load_stored_audio, stored_indices

    stored = load_stored_audio(path, backend.name, rate)
    index = stored_indices(times, rate, 0 if stored is None else stored.shape[0])
    held = torch.zeros(len(times), backend.audio_channels * backend.audio_mel_bins, device=backend.device)
    if stored is not None and (index >= 0).any():
        found = torch.from_numpy(np.flatnonzero(index >= 0))
        held[found.to(backend.device)] = stored[torch.from_numpy(index[index >= 0])].to(backend.device)
    missing = index < 0
    if missing.any():
        start = float(times[missing].min())
        waveform = read_sound(path, start, float(times[missing].max()) - start + 1.0 / rate, sample_rate)
        latents = encode_sound(backend, waveform)[0]
        at = np.clip(np.round((times[missing] - start) * rate).astype(np.int64), 0, latents.shape[0] - 1)
        held[torch.from_numpy(np.flatnonzero(missing)).to(backend.device)] = latents[torch.from_numpy(at).to(backend.device)]
    return held
