"""Waveform peaks of a file's sound, computed once and cached on disk by the file's content.

A waveform is the loudest absolute sample value (over all channels, 0..1) of every stretch of
`samples_per_peak` samples of the file's first audio stream at its own sample rate, about
PEAKS_PER_SECOND of them per second of sound: fine enough to draw a clip at any zoom the
timeline allows without touching the file again. The cache lives in the "waveforms" folder of
Kinora's cache (engine/paths.py) and is keyed like thumbnails by engine.fsutil.content_hash, so
a moved file keeps its waveform and a replaced one gets a new one.
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from engine.errors import MediaError
from engine.fsutil import check_readable, content_hash

PEAKS_PER_SECOND = 100
FORMAT_VERSION = 1  # part of the cache name: a change of what is stored makes new entries


@dataclass(frozen=True)
class Waveform:
    peaks: np.ndarray  # float32, one per `samples_per_peak` samples, 0..1 (full scale)
    sample_rate: int
    samples_per_peak: int
    from_cache: bool = False

    @property
    def peaks_per_second(self) -> float:
        return self.sample_rate / self.samples_per_peak

    def peaks_between(self, start_s: float, stop_s: float) -> np.ndarray:
        """The peaks covering source seconds start_s..stop_s (fewer where the sound ends)."""
        first = max(0, int(start_s * self.peaks_per_second))
        last = max(first, int(np.ceil(stop_s * self.peaks_per_second)))
        return self.peaks[first:last]


def cache_dir() -> Path:
    from engine import paths

    return Path(paths.cache_dir("waveforms"))


def waveform(path: str) -> Waveform:
    """The file's waveform: read from the cache, or computed from its sound and cached."""
    path = str(path)
    check_readable(path)
    cached = cache_dir() / f"{content_hash(path)}-v{FORMAT_VERSION}.npz"
    if cached.exists():
        try:
            with np.load(cached) as data:
                return Waveform(data["peaks"].astype(np.float32), int(data["sample_rate"]),
                                int(data["samples_per_peak"]), from_cache=True)
        except (OSError, ValueError, KeyError):
            pass  # a damaged entry is computed again and replaced
    computed = compute_waveform(path)
    temp = cached.with_name(f".{cached.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    with open(temp, "wb") as out:  # atomically: a half-written entry must never be read back
        np.savez(out, peaks=computed.peaks.astype(np.float16), sample_rate=computed.sample_rate,
                 samples_per_peak=computed.samples_per_peak)
    os.replace(temp, cached)
    return computed


def compute_waveform(path: str) -> Waveform:
    import av

    try:
        container = av.open(path, metadata_errors="ignore")
    except av.error.FFmpegError as error:
        raise MediaError(f"{path}: the sound cannot be opened ({error}); re-encode or relink it") from None
    with container:
        if not container.streams.audio:
            raise MediaError(f"{path}: has no audio stream, so it has no waveform")
        stream = container.streams.audio[0]
        sample_rate = stream.codec_context.sample_rate or 48000
        samples_per_peak = max(1, round(sample_rate / PEAKS_PER_SECOND))
        resampler = av.AudioResampler(format="fltp", rate=sample_rate)
        peaks: list[np.ndarray] = []
        leftover = np.zeros(0, np.float32)
        try:
            for decoded in container.decode(stream):
                for resampled in resampler.resample(decoded):
                    loudest = np.abs(resampled.to_ndarray()).max(axis=0)
                    leftover = np.concatenate([leftover, loudest])
                    whole = len(leftover) // samples_per_peak * samples_per_peak
                    if whole:
                        peaks.append(leftover[:whole].reshape(-1, samples_per_peak).max(axis=1))
                        leftover = leftover[whole:]
        except av.error.FFmpegError as error:
            raise MediaError(f"{path}: decoding its sound failed ({error}); re-encode it") from None
        if len(leftover):
            peaks.append(leftover.max(keepdims=True))
    values = np.concatenate(peaks) if peaks else np.zeros(0, np.float32)
    return Waveform(np.clip(values, 0.0, 1.0).astype(np.float32), sample_rate, samples_per_peak)
