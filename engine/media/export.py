"""Export: the timeline's pictures (engine/media/compositor.py) and mixed sound
(engine/media/audio.py) encoded into a file other software plays.

The file is written to a temporary name in the target folder and renamed over the target
only when complete, so a cancelled or failed export leaves whatever was there before. A
project's own media files are never overwritten. Pictures are tagged BT.709 (primaries,
transfer, matrix; limited range); 4:2:0 codecs get even dimensions (the last column or row
is dropped from an odd-sized project). ProRes is written as 4444 with alpha (transparent
where no item covers the canvas). Every file carries a provenance tag in its metadata
(`comment`, JSON): generator, version, and which frame ranges a model generated with which
seed (GIF has no metadata to carry it). Given a certificate and key, MP4 and MOV files also
carry a signed C2PA manifest (engine/media/c2pa_sign.py).
"""

from __future__ import annotations

import json
import math
import os
import queue
import threading
from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import numpy as np

from engine import fsutil
from engine.errors import MediaError, UserError
from engine.fsutil import atomic_path
from engine.media import c2pa_sign, provenance
from engine.model.project import Project
from engine.progress import Progress
from engine.time import FrameRange, FrameRate

BT709 = 1
LIMITED_RANGE = 1  # "MPEG" range in FFmpeg's terms
# project colour space -> (primaries, transfer, matrix) as FFmpeg numbers them, and the matrix
# name swscale converts RGB with
COLOR_TAGS = {"bt709": (1, 1, 1), "bt601": (6, 6, 6), "bt2020": (9, 14, 9)}
SWSCALE_MATRIX = {"bt709": "ITU709", "bt601": "SMPTE170M", "bt2020": "BT2020"}
# an output aspect within this many pixels of the picture's is stretched, not barred
FIT_SLACK_PIXELS = 2


@dataclass(frozen=True, slots=True)
class CodecSpec:
    encoder: str
    pixel_format: str
    extensions: tuple[str, ...]
    default_crf: int | None
    even_size: bool
    alpha: bool = False


CODECS: dict[str, CodecSpec] = {
    "h264": CodecSpec("libx264", "yuv420p", (".mp4", ".mov", ".mkv"), 20, True),
    "h265": CodecSpec("libx265", "yuv420p", (".mp4", ".mov", ".mkv"), 24, True),
    "prores": CodecSpec("prores_ks", "yuva444p10le", (".mov",), None, False, alpha=True),
    "vp9": CodecSpec("libvpx-vp9", "yuv420p", (".webm", ".mkv", ".mp4"), 32, True),
    "av1": CodecSpec("libsvtav1", "yuv420p", (".mp4", ".mkv", ".webm"), 32, True),
    "gif": CodecSpec("gif", "rgb8", (".gif",), None, False),  # fixed 3-3-2 palette: a preview format
}
CONTAINER_FORMATS = {".mp4": "mp4", ".mov": "mov", ".mkv": "matroska", ".webm": "webm", ".gif": "gif"}
DEFAULT_CODEC_FOR_EXTENSION = {".mp4": "h264", ".mov": "h264", ".mkv": "h264", ".webm": "vp9", ".gif": "gif"}
AUDIO_CODEC_FOR_EXTENSION = {".mp4": "aac", ".mov": "aac", ".mkv": "libopus", ".webm": "libopus"}
AUDIO_BITRATE = 192_000
X26X_PRESETS = ("ultrafast", "superfast", "veryfast", "faster", "fast", "medium", "slow", "slower", "veryslow")
# x264-style preset names mapped onto encoders that count speed with numbers.
VPX_CPU_USED = dict(zip(X26X_PRESETS, (8, 8, 7, 6, 5, 4, 2, 1, 0), strict=True))
SVT_PRESETS = dict(zip(X26X_PRESETS, (11, 10, 9, 9, 8, 7, 5, 4, 3), strict=True))
AUDIO_SECONDS_PER_CHUNK = 1
# One export is at most a day of pictures: past that a range or an item was typed or damaged
# (a frame number with too many digits), and the work would run for weeks before it failed.
MAX_EXPORT_SECONDS = 24 * 3600
PICTURES_AHEAD = 3


@dataclass(frozen=True, slots=True)
class RenderSettings:
    codec: str | None = None  # None: from the output file's extension
    crf: int | None = None  # None: the codec's default
    preset: str = "medium"
    frame_range: FrameRange | None = None  # None: the whole timeline
    audio: bool = True
    ai_badge: bool = False  # a visible "AI" mark on every generated frame
    sign_cert: str | None = None  # PEM certificate chain: with sign_key, embed a signed C2PA manifest
    sign_key: str | None = None  # PEM private key of sign_cert
    size: tuple[int, int] | None = None  # (width, height) of the file; None: the project's size
    rate: FrameRate | None = None  # frames per second of the file; None: the project's rate


def choose_codec(out_path: str, codec: str | None) -> str:
    extension = Path(out_path).suffix.lower()
    if extension not in CONTAINER_FORMATS:
        raise UserError(f"{out_path}: unknown output type {extension or '(none)'}; "
                        f"name the file with one of {', '.join(CONTAINER_FORMATS)}")
    codec = codec or DEFAULT_CODEC_FOR_EXTENSION[extension]
    if codec not in CODECS:
        raise UserError(f"unknown codec {codec!r}; use one of {', '.join(CODECS)}")
    if extension not in CODECS[codec].extensions:
        raise UserError(f"{out_path}: {codec} cannot be written to a {extension} file; "
                        f"use {' or '.join(CODECS[codec].extensions)}")
    return codec


def check_not_input(project: Project, out_path: str) -> None:
    fsutil.check_not_input(out_path, [project.path, *(ref.path for ref in project.media.values())])


def check_export_range(project: Project, frames: FrameRange, chosen: bool = True) -> None:
    """Refuse, before any work starts, a range that is empty, outside the timeline, or longer than
    MAX_EXPORT_SECONDS: the export loop runs once per frame and would spin for days."""
    if frames.duration <= 0:
        raise UserError("nothing to export: the timeline (or the chosen range) is empty")
    duration = project.timeline.duration
    rate = project.settings.rate
    if chosen and (frames.start < 0 or frames.stop > duration):
        raise UserError(f"the range {frames.start}:{frames.stop} is outside the timeline, which holds frames "
                        f"0:{duration}; choose a range inside it")
    limit = int(rate.fps * MAX_EXPORT_SECONDS)
    if frames.duration > limit:
        where = "the range" if chosen else f"the timeline (it ends at frame {duration}: is an item placed far out?)"
        raise UserError(f"{where} is {frames.duration} frames, {float(frames.duration / rate.fps) / 3600:.0f} hours at "
                        f"{rate.to_json()} fps; one export is at most {MAX_EXPORT_SECONDS // 3600} hours "
                        f"({limit} frames) - export a range of it")


def export(project: Project, out_path: str | os.PathLike, settings: RenderSettings = RenderSettings(), *,
           on_progress: Callable[[Progress], None] | None = None,
           check_cancel: Callable[[], None] | None = None) -> str:
    """Render `project` to `out_path` atomically. `on_progress` gets a Progress (frames done
    of frames total) after every frame; `check_cancel` (a CancelToken's `check`) is called
    before every frame and cancels by raising: the partial file is removed and the exception
    propagates. Returns the output path."""
    out_path = str(out_path)
    codec = choose_codec(out_path, settings.codec)
    spec = CODECS[codec]
    check_not_input(project, out_path)
    frames = settings.frame_range if settings.frame_range is not None else FrameRange(0, project.timeline.duration)
    check_export_range(project, frames, settings.frame_range is not None)
    folder = os.path.dirname(os.path.abspath(out_path))
    if not os.path.isdir(folder):
        raise UserError(f"{out_path}: the folder {folder} does not exist; create it or choose another")
    # written beside the target and renamed at the end: a crash or a cancel leaves the old file
    signing = None
    if settings.sign_cert or settings.sign_key:
        signing = c2pa_sign.load_credentials(out_path, settings.sign_cert, settings.sign_key)
    record = provenance.manifest(project, frames)
    with atomic_path(out_path) as temp_path:
        _encode(project, temp_path, out_path, codec, spec, settings, frames, on_progress, check_cancel, record)
    if signing is not None:
        c2pa_sign.sign(out_path, record, *signing, cert_name=settings.sign_cert, key_name=settings.sign_key)
    provenance.write_sidecar(out_path, record)
    return out_path


def _encode(project, temp_path, out_path, codec, spec: CodecSpec, settings, frames, on_progress, check_cancel,
            record: dict):
    import av

    extension = Path(out_path).suffix.lower()
    from engine.media.audio import AudioMixer

    width, height = settings.size or (project.settings.width, project.settings.height)
    check_output_size(width, height)
    if spec.even_size:
        width, height = width - width % 2, height - height % 2
    rate = (settings.rate or project.settings.rate).fps
    shown = output_frames(frames, project.settings.rate.fps, rate)
    mixer = AudioMixer(project, sample_rate=project.settings.sample_rate) if settings.audio and extension in AUDIO_CODEC_FOR_EXTENSION else None
    if mixer is not None and not mixer.has_sound:
        mixer = None
    try:
        container = av.open(temp_path, "w", format=CONTAINER_FORMATS[extension])
    except av.error.FFmpegError as error:
        raise MediaError(f"{out_path}: cannot be written ({error}); check that the folder is writable "
                         "and has free space") from None
    pictures = None
    try:
        container.metadata[provenance.TAG] = json.dumps(record, separators=(",", ":"))
        video = _add_video_stream(container, codec, spec, settings, width, height, rate, project.settings.color_space)
        audio = _add_audio_stream(container, extension, mixer) if mixer else None
        audio_chunk = max(1, int(project.settings.rate.fps * AUDIO_SECONDS_PER_CHUNK))
        audio_done_until = frames.start
        badged = provenance.generated_frames(record, frames) if settings.ai_badge else frozenset()
        pictures = _PictureProducer(project, shown, spec, width, height, badged)
        pictures.start()
        for index, frame in enumerate(shown):
            if check_cancel is not None:
                check_cancel()
            if audio is not None and frame >= audio_done_until:
                stop = min(frames.stop, audio_done_until + audio_chunk)
                _encode_audio(container, audio, mixer, FrameRange(audio_done_until, stop), frames.start)
                audio_done_until = stop
            picture = pictures.next()
            picture.pts = index
            picture.time_base = video.codec_context.time_base  # a source picture keeps its file's
            for packet in video.encode(picture):
                container.mux(packet)
            if on_progress is not None:
                on_progress(Progress(index + 1, len(shown), "exporting"))
        for packet in video.encode():
            container.mux(packet)
        if audio is not None and audio_done_until < frames.stop:  # a lower output rate ends early
            _encode_audio(container, audio, mixer, FrameRange(audio_done_until, frames.stop), frames.start)
        if audio is not None:
            for packet in audio.encode():
                container.mux(packet)
    except av.error.FFmpegError as error:
        raise MediaError(f"{out_path}: encoding with {spec.encoder} failed ({error}); check the free "
                         "space, or try another codec or size") from None
    finally:
        if pictures is not None:
            pictures.stop()
        container.close()
        if mixer is not None:
            mixer.close()


def output_frames(frames: FrameRange, project_fps: Fraction, output_fps: Fraction) -> list[int]:
    """The project frame each frame of the file shows: the one on screen at its time, for as
    many output frames as cover the range's duration."""
    if output_fps == project_fps:
        return list(frames)
    count = math.ceil(frames.duration * output_fps / project_fps)
    return [frames.start + math.floor(index * project_fps / output_fps) for index in range(count)]


def check_output_size(width: int, height: int) -> None:
    if not (isinstance(width, int) and isinstance(height, int)) or not (2 <= width <= 16384 and 2 <= height <= 16384):
        raise UserError(f"export size {width}x{height} must be between 2 and 16384 pixels each way; "
                        "choose another size")


def parse_output_size(text: str | None) -> tuple[int, int] | None:
    """`--size 1920x1080` as (1920, 1080); None when not given."""
    if text is None:
        return None
    width, _, height = text.lower().replace("×", "x").partition("x")
    try:
        size = int(width), int(height)
    except ValueError:
        raise UserError(f"--size {text!r} is not a size; write it as WIDTHxHEIGHT, e.g. 1920x1080") from None
    check_output_size(*size)
    return size


def parse_output_rate(text: str | None) -> FrameRate | None:
    if text is None:
        return None
    try:
        return FrameRate.parse(text)
    except (ValueError, ZeroDivisionError):
        raise UserError(f"--fps {text!r} is not a frame rate; use e.g. 25, 29.97 or 30000/1001") from None


def fitted_size(source: tuple[int, int], target: tuple[int, int]) -> tuple[int, int]:
    """The size a `source`-sized picture scales to inside `target`, keeping its aspect; the
    target itself when the two aspects are that close that bars would be a pixel or two."""
    (sw, sh), (tw, th) = source, target
    width, height = (tw, max(1, round(tw * sh / sw))) if tw * sh <= th * sw else (max(1, round(th * sw / sh)), th)
    if tw - width <= FIT_SLACK_PIXELS and th - height <= FIT_SLACK_PIXELS:
        return target
    return width, height


def _add_video_stream(container, codec: str, spec: CodecSpec, settings: RenderSettings,
                      width: int, height: int, rate: Fraction, color_space: str = "bt709"):
    stream = container.add_stream(spec.encoder, rate=rate)
    stream.width, stream.height, stream.pix_fmt = width, height, spec.pixel_format
    stream.codec_context.time_base = 1 / rate
    # PyAV asks for slice threads, which makes x264/x265 several times slower than the frame
    # threads FFmpeg's own command uses; AUTO lets each encoder pick as FFmpeg would.
    stream.codec_context.thread_type = "AUTO"
    options: dict[str, str] = {}
    crf = settings.crf if settings.crf is not None else spec.default_crf
    preset = settings.preset
    if codec in ("h264", "h265"):
        if preset not in X26X_PRESETS:
            raise UserError(f"unknown preset {preset!r}; use one of {', '.join(X26X_PRESETS)}")
        options.update(crf=str(crf), preset=preset)
        if codec == "h265":
            stream.codec_context.codec_tag = "hvc1"  # what Apple players require to open HEVC in MP4/MOV
            options["x265-params"] = "log-level=error"
    elif codec == "vp9":
        options.update(crf=str(crf), b="0", deadline="good", **{"cpu-used": str(VPX_CPU_USED.get(preset, 4))},
                       **{"row-mt": "1"})
    elif codec == "av1":
        # SVT-AV1 prints its whole configuration to stderr unless told to log errors only; it
        # reads this from the environment when the encoder opens.
        os.environ.setdefault("SVT_LOG", "1")
        options.update(crf=str(crf), preset=str(SVT_PRESETS.get(preset, 8)))
    elif codec == "prores":
        options.update(profile="4", vendor="apl0")  # 4 = 4444, the profile with alpha
    if spec.pixel_format.startswith("yuv"):
        context = stream.codec_context
        context.color_primaries, context.color_trc, context.colorspace = COLOR_TAGS[color_space]
        context.color_range = LIMITED_RANGE
    stream.options = options
    return stream


class _PictureProducer(threading.Thread):
    """Makes the export's pictures on a thread of its own, a few frames ahead, so decoding and
    compositing overlap with the encoder instead of taking turns with it. The compositor and
    its decoders live and die on this thread."""

    def __init__(self, project, frames: list[int], spec: CodecSpec, width: int, height: int,
                 badged: frozenset[int] = frozenset()):
        super().__init__(name="kinora-export-pictures", daemon=True)
        self._project, self._frames, self._spec, self._size = project, frames, spec, (width, height)
        self._badged = badged
        self._queue: queue.Queue = queue.Queue(maxsize=PICTURES_AHEAD)
        self._stopping = threading.Event()

    def run(self) -> None:
        from engine.media.compositor import Compositor

        compositor = Compositor()
        try:
            for frame in self._frames:
                if self._stopping.is_set():
                    return
                self._put((True, _make_picture(compositor, self._project, frame, self._spec, *self._size,
                                               badge=frame in self._badged)))
        except BaseException as error:  # noqa: BLE001 - handed to the encoding thread, raised there
            self._put((False, error))
        finally:
            compositor.close()

    def _put(self, item) -> None:
        while not self._stopping.is_set():
            try:
                self._queue.put(item, timeout=0.1)
                return
            except queue.Full:
                continue

    def next(self):
        ok, value = self._queue.get()
        if not ok:
            raise value
        return value

    def stop(self) -> None:
        self._stopping.set()
        self.join()


def _make_picture(compositor, project, frame: int, spec: CodecSpec, width: int, height: int, badge: bool = False):
    import av

    picture = None if badge else _passthrough_picture(compositor, project, frame, spec, width, height)
    if picture is None:
        pixels = compositor.render(project, frame, alpha=spec.alpha)
        source_size = (project.settings.width, project.settings.height)
        if (width, height) == (source_size[0] - source_size[0] % 2, source_size[1] - source_size[1] % 2):
            pixels = pixels[:height, :width]  # the project's size (less an odd last column or row)
        else:
            pixels = _scaled_to_fit(pixels, width, height, spec.alpha)
        if badge:
            pixels = provenance.draw_ai_badge(pixels)
        picture = av.VideoFrame.from_ndarray(np.ascontiguousarray(pixels), format="rgba" if spec.alpha else "rgb24")
        picture = _to_encoder_format(picture, spec, project.settings.color_space)
    return picture


def _scaled_to_fit(pixels: np.ndarray, width: int, height: int, alpha: bool) -> np.ndarray:
    """The picture scaled into width x height keeping its aspect, centred on black (or
    transparent) bars where the aspects differ."""
    import av

    pixel_format = "rgba" if alpha else "rgb24"
    inner_width, inner_height = fitted_size((pixels.shape[1], pixels.shape[0]), (width, height))
    shrinking = inner_width < pixels.shape[1]
    scaled = av.VideoFrame.from_ndarray(np.ascontiguousarray(pixels), format=pixel_format).reformat(
        width=inner_width, height=inner_height, interpolation="AREA" if shrinking else "BICUBIC").to_ndarray()
    if (inner_width, inner_height) == (width, height):
        return scaled
    canvas = np.zeros((height, width, pixels.shape[2]), np.uint8)
    top, left = (height - inner_height) // 2, (width - inner_width) // 2
    canvas[top:top + inner_height, left:left + inner_width] = scaled
    return canvas


def _passthrough_picture(compositor, project, frame: int, spec: CodecSpec, width: int, height: int):
    """The source picture itself when it can go to the encoder as it is: same pixel format
    and size, read as BT.709 limited range (what the export is tagged with), no alpha wanted."""
    from engine.media.decode import BT709 as MATRIX_BT709

    if (spec.alpha or (width, height) != (project.settings.width, project.settings.height)
            or project.settings.color_space != "bt709"):
        return None
    found = compositor.passthrough(project, frame)
    if found is None:
        return None
    picture, reader = found
    if picture.format.name != spec.pixel_format or reader.colorspace != MATRIX_BT709 or reader.full_range:
        return None
    picture.pict_type = 0  # let the encoder choose the frame type, not copy the source's
    return picture


def _to_encoder_format(picture, spec: CodecSpec, color_space: str = "bt709"):
    if not spec.pixel_format.startswith("yuv"):
        return picture.reformat(format=spec.pixel_format)
    primaries, transfer, _ = COLOR_TAGS[color_space]
    matrix = SWSCALE_MATRIX[color_space]
    return picture.reformat(format=spec.pixel_format, src_colorspace=matrix, dst_colorspace=matrix,
                            dst_color_range="MPEG", dst_color_trc=transfer, dst_color_primaries=primaries)


def _add_audio_stream(container, extension: str, mixer):
    encoder = AUDIO_CODEC_FOR_EXTENSION[extension]
    stream = container.add_stream(encoder, rate=mixer.sample_rate)
    stream.layout = "stereo" if mixer.channels == 2 else "mono"
    stream.bit_rate = AUDIO_BITRATE
    stream.codec_context.time_base = Fraction(1, mixer.sample_rate)
    return stream


def _encode_audio(container, stream, mixer, frames: FrameRange, export_start: int) -> None:
    import av

    from engine.media.audio import sample_of_frame

    samples = np.clip(mixer.mix(frames), -1.0, 1.0)
    fps = mixer.project.settings.rate.fps
    block = av.AudioFrame.from_ndarray(np.ascontiguousarray(samples), format="fltp", layout=stream.layout.name)
    block.sample_rate = mixer.sample_rate
    block.pts = sample_of_frame(frames.start, fps, mixer.sample_rate) - sample_of_frame(export_start, fps,
                                                                                       mixer.sample_rate)
    block.time_base = Fraction(1, mixer.sample_rate)
    for packet in stream.encode(block):
        container.mux(packet)
