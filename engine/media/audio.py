"""Timeline audio: each clip's sound decoded, resampled to one rate and layout, mixed.

Which clips sound: clips on audio tracks, and clips on video tracks whose file has sound (a
video clip carries its own audio), unless their track is muted (a soloed track mutes the
others). `Clip.gain_db` scales a clip, and its `fade_in` / `fade_out` frames ramp it linearly
from and to silence at its edges; the mix is clipped to [-1, 1] only when it is encoded.

Timeline frame f starts at sample round_half_up(f * sample_rate / rate), so audio and
pictures share one clock; within a clip, sample s plays the media at source time
source_range.start / rate + (s - clip's first sample) / sample_rate.
"""

from __future__ import annotations

from fractions import Fraction

import numpy as np

from engine.errors import MediaError
from engine.media.probe import check_readable
from engine.model.items import Clip
from engine.model.project import Project
from engine.time import FrameRange, round_half_up

DEFAULT_SAMPLE_RATE = 48000
DEFAULT_CHANNELS = 2


def sample_of_frame(frame: int, rate_fps: Fraction, sample_rate: int) -> int:
    return round_half_up(Fraction(frame) * sample_rate / rate_fps)


def fade_envelope(clip: Clip, rate_fps: Fraction, sample_rate: int, lo: int, hi: int) -> np.ndarray | None:
    """The clip's fade gain (0..1) for timeline samples lo..hi, or None where no fade reaches.
    Fades longer than a trimmed clip are shortened to fit it, the fade-in first."""
    fade_in = min(clip.fade_in, clip.range.duration)
    fade_out = min(clip.fade_out, clip.range.duration - fade_in)
    if not fade_in and not fade_out:
        return None
    clip_first = sample_of_frame(clip.start, rate_fps, sample_rate)
    clip_last = sample_of_frame(clip.range.stop, rate_fps, sample_rate)
    in_end = sample_of_frame(clip.start + fade_in, rate_fps, sample_rate)
    out_start = sample_of_frame(clip.range.stop - fade_out, rate_fps, sample_rate)
    if lo >= in_end and hi <= out_start:
        return None
    samples = np.arange(lo, hi, dtype=np.float64) + 0.5  # each sample's middle: a ramp never quite 0 or 1
    envelope = np.ones(hi - lo, np.float64)
    if in_end > clip_first:
        envelope = np.minimum(envelope, (samples - clip_first) / (in_end - clip_first))
    if clip_last > out_start:
        envelope = np.minimum(envelope, (clip_last - samples) / (clip_last - out_start))
    return np.clip(envelope, 0.0, 1.0).astype(np.float32)


class AudioSource:
    """Reads stretches of one file's first audio stream as float32 (channels, samples)."""

    def __init__(self, path: str, sample_rate: int, channels: int):
        import av

        self.path = path
        check_readable(path)
        try:
            self._container = av.open(path, metadata_errors="ignore")
        except av.error.FFmpegError as error:
            raise MediaError(f"{path}: the audio cannot be opened ({error}); re-encode or relink it") from None
        if not self._container.streams.audio:
            self._container.close()
            raise MediaError(f"{path}: has no audio stream; mark its clip as silent or use another file")
        self._stream = self._container.streams.audio[0]
        self.sample_rate = sample_rate
        self.channels = channels
        # A mono source is read as mono and copied to every channel at full level; FFmpeg's
        # own up-mix would put it 3 dB lower on each side, quieter than the file plays alone.
        self._mono_source = (self._stream.codec_context.channels or 0) == 1
        self._layout = "mono" if self._mono_source or channels == 1 else "stereo"

    def read(self, start_s: Fraction, num_samples: int) -> np.ndarray:
        """`num_samples` samples from `start_s` seconds into the file (silence outside it)."""
        out = np.zeros((self.channels, num_samples), np.float32)
        if num_samples > 0:
            # Broadcasting copies a mono read to every output channel.
            out[:] = self._read(start_s, num_samples, 1 if self._mono_source else self.channels)
        return out

    def _read(self, start_s: Fraction, num_samples: int, channels: int) -> np.ndarray:
        import av

        out = np.zeros((channels, num_samples), np.float32)
        time_base = Fraction(self._stream.time_base)
        origin = self._stream.start_time or 0
        # Seek a little early: the demuxer lands on the packet at or before the target.
        target = origin + int((start_s - Fraction(1, 10)) / time_base)
        try:
            self._container.seek(max(target, origin), stream=self._stream, backward=True)
        except av.error.FFmpegError:
            self._container.seek(0)
        resampler = av.AudioResampler(format="fltp", layout=self._layout, rate=self.sample_rate)
        chunks: list[np.ndarray] = []
        first_time: Fraction | None = None
        have = 0
        end_s = start_s + Fraction(num_samples, self.sample_rate)
        try:
            for decoded in self._container.decode(self._stream):
                if first_time is None:
                    pts = decoded.pts if decoded.pts is not None else origin
                    first_time = (pts - origin) * time_base
                for resampled in resampler.resample(decoded):
                    chunks.append(resampled.to_ndarray())
                    have += chunks[-1].shape[1]
                if first_time + Fraction(have, self.sample_rate) >= end_s:
                    break
        except av.error.FFmpegError as error:
            raise MediaError(f"{self.path}: decoding its audio failed ({error}); re-encode it") from None
        if first_time is None or not chunks:
            return out
        samples = np.concatenate(chunks, axis=1)
        offset = round_half_up((start_s - first_time) * self.sample_rate)
        src_start, dst_start = max(offset, 0), max(-offset, 0)
        count = min(num_samples - dst_start, samples.shape[1] - src_start)
        if count > 0:
            out[:, dst_start:dst_start + count] = samples[:, src_start:src_start + count]
        return out

    def close(self) -> None:
        self._container.close()


class AudioMixer:
    """Mixes a project's sounding clips over stretches of the timeline."""

    def __init__(self, project: Project, sample_rate: int = DEFAULT_SAMPLE_RATE,
                 channels: int = DEFAULT_CHANNELS):
        self.project = project
        self.sample_rate = sample_rate
        self.channels = channels
        self._sources: dict[str, AudioSource] = {}

    def sounding_clips(self) -> list[Clip]:
        clips = []
        for track in self.project.timeline.tracks:
            if track.muted or track.kind not in ("audio", "video"):
                continue
            for item in track.items:
                if not isinstance(item, Clip):
                    continue
                ref = self.project.media.get(item.media_id)
                if ref is not None and (ref.kind == "audio" or (ref.kind == "video" and ref.has_audio)):
                    clips.append(item)
        return clips

    @property
    def has_sound(self) -> bool:
        return bool(self.sounding_clips())

    def mix(self, frames: FrameRange) -> np.ndarray:
        """float32 (channels, samples) for the timeline frames `frames`."""
        fps = self.project.settings.rate.fps
        first = sample_of_frame(frames.start, fps, self.sample_rate)
        last = sample_of_frame(frames.stop, fps, self.sample_rate)
        out = np.zeros((self.channels, last - first), np.float32)
        for clip in self.sounding_clips():
            clip_first = sample_of_frame(clip.start, fps, self.sample_rate)
            clip_last = sample_of_frame(clip.range.stop, fps, self.sample_rate)
            lo, hi = max(first, clip_first), min(last, clip_last)
            if lo >= hi:
                continue
            source_s = Fraction(clip.source_range.start) / fps + Fraction(lo - clip_first, self.sample_rate)
            samples = self._source(self.project.media[clip.media_id].path).read(source_s, hi - lo)
            gain = np.float32(10.0 ** (clip.gain_db / 20.0))
            envelope = fade_envelope(clip, fps, self.sample_rate, lo, hi)
            out[:, lo - first:hi - first] += samples * (gain if envelope is None else gain * envelope)
        return out

    def _source(self, path: str) -> AudioSource:
        source = self._sources.get(path)
        if source is None:
            source = self._sources[path] = AudioSource(path, self.sample_rate, self.channels)
        return source

    def close(self) -> None:
        for source in self._sources.values():
            source.close()
        self._sources.clear()
