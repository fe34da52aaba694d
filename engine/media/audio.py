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
from engine.model.links import sound_apart
from engine.model.project import Project
from engine.model.transform import speed_fraction
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


CONTINUE_SAMPLES = 48000  # a read up to this far past the last one decodes on instead of seeking
KEEP_BEHIND_SAMPLES = 4096


class _DecodeRun:
    """One stretch of continuous decoding from a seek: samples kept from `kept_from` (counted
    from `first_time`, the time of the first decoded frame) and the decoder to read on with."""

    def __init__(self, first_time: Fraction, first_chunk: np.ndarray, more, channels: int):
        self.first_time = first_time
        self.kept = first_chunk
        self.kept_from = 0
        self.more = more
        self.channels = channels

    def take(self, offset: int, count: int) -> np.ndarray:
        """`count` samples from `offset` on (silence before the first decoded sample and after
        the end); what lies before `offset` is let go, so memory stays one block or so."""
        chunks = [self.kept]
        have = self.kept_from + self.kept.shape[1]
        while have < offset + count:
            following = next(self.more, None)
            if following is None:
                break
            chunks.append(following[1])
            have += following[1].shape[1]
        kept = np.concatenate(chunks, axis=1) if len(chunks) > 1 else self.kept
        out = np.zeros((self.channels, count), np.float32)
        src_start, dst_start = max(offset - self.kept_from, 0), max(self.kept_from - offset, 0)
        available = min(count - dst_start, kept.shape[1] - src_start)
        if available > 0:
            out[:, dst_start:dst_start + available] = kept[:, src_start:src_start + available]
        # keep a little of what was read: a read starting slightly earlier still goes on
        drop = min(max(offset + count - KEEP_BEHIND_SAMPLES - self.kept_from, 0), kept.shape[1])
        self.kept, self.kept_from = kept[:, drop:], self.kept_from + drop
        return out


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
        self._run: _DecodeRun | None = None  # what the last read decoded, to go on from

    def read(self, start_s: Fraction, num_samples: int) -> np.ndarray:
        """`num_samples` samples from `start_s` seconds into the file (silence outside it)."""
        out = np.zeros((self.channels, num_samples), np.float32)
        if num_samples > 0:
            # Broadcasting copies a mono read to every output channel.
            out[:] = self._read(start_s, num_samples, 1 if self._mono_source else self.channels)
        return out

    def _read(self, start_s: Fraction, num_samples: int, channels: int) -> np.ndarray:
        """Samples from the decoded stretch kept from the last read when `start_s` lies in or
        just after it (playback reads the file block after block: decoding goes on where it
        stopped, with no seek and no resampler restart between blocks); else after a seek."""
        run = self._run
        if run is not None and run.channels == channels:
            offset = round_half_up((start_s - run.first_time) * self.sample_rate)
            if run.kept_from <= offset <= run.kept_from + run.kept.shape[1] + CONTINUE_SAMPLES:
                return run.take(offset, num_samples)
        self._run = run = self._start_run(start_s, channels)
        if run is None:
            return np.zeros((channels, num_samples), np.float32)
        return run.take(round_half_up((start_s - run.first_time) * self.sample_rate), num_samples)

    def _start_run(self, start_s: Fraction, channels: int) -> _DecodeRun | None:
        import av

        time_base = Fraction(self._stream.time_base)
        origin = self._stream.start_time or 0
        # Seek a little early: the demuxer lands on the packet at or before the target.
        target = origin + int((start_s - Fraction(1, 10)) / time_base)
        try:
            self._container.seek(max(target, origin), stream=self._stream, backward=True)
        except av.error.FFmpegError:
            self._container.seek(0)
        layout = "mono" if channels == 1 else self._layout
        resampler = av.AudioResampler(format="fltp", layout=layout, rate=self.sample_rate)

        def chunks():
            try:
                for decoded in self._container.decode(self._stream):
                    pts = decoded.pts if decoded.pts is not None else origin
                    for resampled in resampler.resample(decoded):
                        yield (pts - origin) * time_base, resampled.to_ndarray()
            except av.error.FFmpegError as error:
                raise MediaError(f"{self.path}: decoding its audio failed ({error}); re-encode it") from None

        decoded = chunks()
        first = next(decoded, None)
        if first is None:
            return None
        return _DecodeRun(first[0], first[1], decoded, channels)

    def close(self) -> None:
        self._run = None
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
                if track.kind == "video" and sound_apart(item):
                    continue  # its sound plays from its own audio clip (engine.model.links)
                if ref is not None and (ref.kind == "audio" or (ref.kind == "video" and ref.has_audio)):
                    clips.append(item)
        return clips

    @property
    def has_sound(self) -> bool:
        return bool(self.sounding_clips())

    def mix(self, frames: FrameRange) -> np.ndarray:
        """float32 (channels, samples) for the timeline frames `frames`."""
        fps = self.project.settings.rate.fps
        return self.mix_samples(sample_of_frame(frames.start, fps, self.sample_rate),
                                sample_of_frame(frames.stop, fps, self.sample_rate))

    def mix_samples(self, first: int, last: int) -> np.ndarray:
        """float32 (channels, samples) for the timeline samples first..last (playback mixes
        block after block this way; reading on where the last block ended costs no seek)."""
        fps = self.project.settings.rate.fps
        out = np.zeros((self.channels, last - first), np.float32)
        for clip in self.sounding_clips():
            clip_first = sample_of_frame(clip.start, fps, self.sample_rate)
            clip_last = sample_of_frame(clip.range.stop, fps, self.sample_rate)
            lo, hi = max(first, clip_first), min(last, clip_last)
            if lo >= hi:
                continue
            if clip.speed != 1.0 or clip.reverse:
                samples = self._retimed(clip, lo - clip_first, hi - lo)
            else:
                source_s = Fraction(clip.source_range.start) / fps + Fraction(lo - clip_first, self.sample_rate)
                samples = self._source(self.project.media[clip.media_id].path).read(source_s, hi - lo)
            gain = np.float32(10.0 ** (clip.gain_db / 20.0))
            envelope = fade_envelope(clip, fps, self.sample_rate, lo, hi)
            out[:, lo - first:hi - first] += samples * (gain if envelope is None else gain * envelope)
        return out

    def _retimed(self, clip: Clip, offset: int, count: int) -> np.ndarray:
        """`count` samples of a clip with a speed, from `offset` samples into it: the source read
        `speed` times as fast and resampled linearly (the pitch follows the speed, as on tape);
        a reversed clip's sound runs backwards from the end of its source range."""
        speed = speed_fraction(clip.speed)
        fps = self.project.settings.rate.fps
        if clip.reverse:
            end = Fraction(clip.source_range.stop) / fps * self.sample_rate - offset * speed
            first = end - count * speed
        else:
            first = Fraction(clip.source_range.start) / fps * self.sample_rate + offset * speed
        start = max(int(first), 0)
        needed = int(first + count * speed) - start + 2
        raw = self._source(self.project.media[clip.media_id].path).read(Fraction(start, self.sample_rate), needed)
        where = float(first - start) + np.arange(count) * float(speed)
        if clip.reverse:
            where = where[::-1]
        return np.stack([np.interp(where, np.arange(raw.shape[1]), channel) for channel in raw]).astype(np.float32)

    def _source(self, path: str) -> AudioSource:
        source = self._sources.get(path)
        if source is None:
            source = self._sources[path] = AudioSource(path, self.sample_rate, self.channels)
        return source

    def close(self) -> None:
        for source in self._sources.values():
            source.close()
        self._sources.clear()
