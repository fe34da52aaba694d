"""What a media file holds: kind, size, frame rate, duration, rotation, pixel format, audio.

`probe(path)` is what the editor and the CLI call: it runs `probe_in_process` in a child
Python (engine/media/probe_child.py) with a time limit, so a damaged file that hangs or
crashes FFmpeg (a truncated H.264 can segfault the decoder) fails that one file with a clear
message and never takes the editor down. `probe_in_process` is the real work and is also
used directly on files Kinora wrote itself.
"""

from __future__ import annotations

import json
import os
import subprocess
from dataclasses import asdict, dataclass, field
from fractions import Fraction
from pathlib import Path

import numpy as np

from engine.child import child_command
from engine.errors import MediaError
from engine.fsutil import check_readable
from engine.media.stills import exif_orientation, open_header, pixel_format_name, read_pixels
from engine.time import snap_rate

PROBE_TIMEOUT_S = 20.0
# Demuxing (not decoding) every packet gives an exact frame count and tells constant from
# variable frame rate; past this many packets the container's own duration is trusted.
MAX_SCANNED_PACKETS = 200_000
# Frame intervals may differ by this fraction of the median before the rate counts as variable
# (timestamps rounded to the container's time base jitter by one tick).
VFR_TOLERANCE = 0.02
RATE_AGREEMENT = 0.005

STILL_EXTENSIONS = frozenset({".png", ".jpg", ".jpeg", ".webp", ".bmp", ".tif", ".tiff"})


@dataclass(frozen=True, slots=True)
class AudioStreamInfo:
    index: int
    codec: str
    sample_rate: int
    channels: int


@dataclass(frozen=True, slots=True)
class MediaInfo:
    """The facts about one file. Sizes are as displayed (after rotation); `coded_width` and
    `coded_height` are as stored. `rate` is exact; for variable frame rate files it is the
    average rate and `variable_rate` is True. `num_frames` counts frames at `rate`."""

    path: str
    kind: str  # "video", "image" or "audio"
    container: str
    width: int | None = None
    height: int | None = None
    coded_width: int | None = None
    coded_height: int | None = None
    rotation: int = 0  # counter-clockwise degrees applied to show the picture upright
    rate: Fraction | None = None
    variable_rate: bool = False
    num_frames: int | None = None
    duration_s: float | None = None
    codec: str | None = None
    pixel_format: str | None = None
    bit_depth: int | None = None
    has_alpha: bool = False
    audio: tuple[AudioStreamInfo, ...] = field(default=())

    @property
    def has_audio(self) -> bool:
        return bool(self.audio)

    def to_json(self) -> dict:
        data = asdict(self)
        data["rate"] = None if self.rate is None else f"{self.rate.numerator}/{self.rate.denominator}"
        data["audio"] = [asdict(a) for a in self.audio]
        return data

    @classmethod
    def from_json(cls, data: dict) -> MediaInfo:
        data = dict(data)
        data["rate"] = None if data.get("rate") is None else Fraction(data["rate"])
        data["audio"] = tuple(AudioStreamInfo(**a) for a in data.get("audio", ()))
        return cls(**data)


def probe(path: str | os.PathLike, timeout_s: float = PROBE_TIMEOUT_S) -> MediaInfo:
    """Probe an untrusted file in a child process; raise MediaError naming the file on any failure."""
    path = str(path)
    check_readable(path)
    try:
        done = subprocess.run(child_command("engine.media.probe_child", path),
                              capture_output=True, text=True, timeout=timeout_s, check=False)
    except subprocess.TimeoutExpired:
        raise MediaError(f"{path}: reading the file took longer than {timeout_s:.0f} s; it is probably "
                         "damaged - re-encode it (for example with ffmpeg) and import it again") from None
    if done.returncode < 0 or not done.stdout.strip():
        raise MediaError(f"{path}: the decoder crashed while reading this file (signal {-done.returncode}); "
                         "it is probably truncated or damaged - re-encode or replace it")
    try:
        answer = json.loads(done.stdout.strip().splitlines()[-1])
    except json.JSONDecodeError:
        raise MediaError(f"{path}: the file could not be read; re-encode or replace it") from None
    if not answer.get("ok"):
        raise MediaError(answer["error"])
    return MediaInfo.from_json(answer["info"])


def probe_in_process(path: str | os.PathLike) -> MediaInfo:
    """Probe in this process. Only for trusted files (Kinora's own output) or inside the child."""
    path = str(path)
    check_readable(path)
    if Path(path).suffix.lower() in STILL_EXTENSIONS:
        return _probe_image(path)
    return _probe_av(path)


def _probe_image(path: str) -> MediaInfo:
    with open_header(path) as image:
        orientation = exif_orientation(image)
        width, height = image.size
        container = (image.format or "image").lower()
    pixels = read_pixels(path)
    if orientation in (5, 6, 7, 8):
        width, height = height, width
    channels = 1 if pixels.ndim == 2 else pixels.shape[2]
    return MediaInfo(
        path=path, kind="image", container=container, width=width, height=height,
        coded_width=pixels.shape[1], coded_height=pixels.shape[0],
        rotation=0, codec=container, pixel_format=pixel_format_name(pixels),
        bit_depth=16 if pixels.dtype == np.uint16 else 8,
        has_alpha=channels in (2, 4), num_frames=None)


def _probe_av(path: str) -> MediaInfo:
    import av

    try:
        container = av.open(path, metadata_errors="ignore")
    except (av.error.FFmpegError, UnicodeDecodeError) as error:
        raise MediaError(f"{path}: not a video, audio or image file FFmpeg can read ({_reason(error)}); "
                         "check the file or convert it to MP4 (H.264) or WAV") from None
    with container:
        audio = tuple(
            AudioStreamInfo(s.index, _codec_name(s.codec_context) if s.codec_context else "unknown",
                            int(s.codec_context.sample_rate or 0), int(s.codec_context.channels or 0))
            for s in container.streams.audio if s.codec_context is not None)
        videos = [s for s in container.streams.video if not _is_cover_art(s)]
        if not videos:
            if not audio:
                raise MediaError(f"{path}: has no video or audio stream Kinora can use; "
                                 "convert it to MP4 (H.264) or WAV")
            _check_audio_decodes(path, container)
            return MediaInfo(path=path, kind="audio", container=container.format.name,
                             duration_s=_container_seconds(container), audio=audio)
        stream = videos[0]
        if stream.codec_context is None or not _has_decoder(stream):
            codec = stream.codec_context.name if stream.codec_context else "unknown"
            raise MediaError(f"{path}: the video codec ({codec}) is not supported by this FFmpeg; "
                             "convert the file to H.264, HEVC, ProRes or VP9 and import it again")
        first = _first_frame(path, container, stream)
        pts_list = _scan_pts(container, stream)
        # Inside the `with`: stream fields read through the open container (PyAV crashes after).
        rate, variable, num_frames, seconds = _timing(stream, pts_list)
        codec = _codec_name(stream.codec_context)
        container_name = container.format.name
    fmt = first.format
    rotation = int(round(getattr(first, "rotation", 0) or 0)) % 360
    rotation = 90 * round(rotation / 90) % 360
    coded_w, coded_h = first.width, first.height
    display_w, display_h = (coded_h, coded_w) if rotation in (90, 270) else (coded_w, coded_h)
    bits = max(c.bits for c in fmt.components) if fmt.components else 8
    return MediaInfo(
        path=path, kind="video", container=container_name,
        width=display_w, height=display_h, coded_width=coded_w, coded_height=coded_h,
        rotation=rotation, rate=rate, variable_rate=variable, num_frames=num_frames,
        duration_s=seconds, codec=codec, pixel_format=fmt.name,
        bit_depth=bits, has_alpha=any(c.is_alpha for c in fmt.components), audio=audio)


def _codec_name(context) -> str:
    """The format's name ("av1"), not the decoder's ("libdav1d")."""
    codec = getattr(context, "codec", None)
    return getattr(codec, "canonical_name", None) or context.name


def _reason(error: Exception) -> str:
    text = getattr(error, "strerror", None) or str(error)
    return text.split(":")[0].strip().lower() or "unknown format"


def _is_cover_art(stream) -> bool:
    disposition = getattr(stream, "disposition", None)
    try:
        return bool(disposition and disposition & getattr(type(disposition), "attached_pic", 0))
    except TypeError:
        return False


def _has_decoder(stream) -> bool:
    import av

    try:
        av.codec.Codec(stream.codec_context.name, "r")
    except (av.error.FFmpegError, ValueError, av.codec.codec.UnknownCodecError):
        return False
    return True


def _first_frame(path: str, container, stream):
    import av

    try:
        for frame in container.decode(stream):
            return frame
    except av.error.FFmpegError as error:
        raise MediaError(f"{path}: the video cannot be decoded ({_reason(error)}); the file is probably "
                         "truncated or damaged - re-encode or replace it") from None
    raise MediaError(f"{path}: the video stream holds no pictures; the file is probably truncated - "
                     "copy it again from its source")


def _check_audio_decodes(path: str, container) -> None:
    import av

    try:
        for _ in container.decode(audio=0):
            return
    except av.error.FFmpegError as error:
        raise MediaError(f"{path}: the audio cannot be decoded ({_reason(error)}); convert it to WAV") from None
    raise MediaError(f"{path}: the audio stream holds no samples; the file is probably truncated")


def _scan_pts(container, stream) -> list[int]:
    """Every video packet's presentation time, in stream time-base ticks, sorted."""
    import av

    try:
        container.seek(0)
    except av.error.FFmpegError:
        pass  # unseekable input: the packets after the first picture are still counted
    pts: list[int] = []
    try:
        for packet in container.demux(stream):
            if packet.pts is not None and packet.size:
                pts.append(packet.pts)
                if len(pts) >= MAX_SCANNED_PACKETS:
                    break
    except av.error.FFmpegError:
        pass  # a truncated tail still leaves every complete packet counted
    return sorted(set(pts))


def _timing(stream, pts_list: list[int]) -> tuple[Fraction, bool, int, float]:
    time_base = stream.time_base
    rate_guess = stream.guessed_rate or stream.average_rate or stream.base_rate or Fraction(25)
    if len(pts_list) >= 2:
        intervals = [b - a for a, b in zip(pts_list, pts_list[1:], strict=False)]
        ordered = sorted(intervals)
        median = ordered[len(ordered) // 2]
        tolerance = max(1, median * VFR_TOLERANCE)
        variable = (ordered[-1] - ordered[0]) > 2 * tolerance
        span = Fraction(pts_list[-1] - pts_list[0] + median) * time_base
        if variable:
            rate = Fraction(len(pts_list)) / span if span > 0 else Fraction(rate_guess)
            rate = rate.limit_denominator(1001)
        else:
            # From the whole span, not one interval: millisecond timestamps (Matroska) give
            # intervals of 33 and 34 ms at 29.97 fps, and only their average snaps correctly.
            measured = (len(pts_list) - 1) / (Fraction(pts_list[-1] - pts_list[0]) * time_base)
            declared = Fraction(rate_guess)
            # Coarse ticks blur the measurement (29.964 for 29.97); the rate the container
            # declares is exact, so it wins when the timestamps agree with it.
            close = declared > 0 and abs(declared - measured) / measured < RATE_AGREEMENT
            rate = declared if close else snap_rate(float(measured))
        return rate, variable, len(pts_list), float(span)
    rate = snap_rate(float(rate_guess))
    return rate, False, max(1, len(pts_list)), float(1 / rate)


def _container_seconds(container) -> float | None:
    return None if container.duration is None else container.duration / 1_000_000
