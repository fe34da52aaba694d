"""Reading condition pictures and writing generated videos, for the generation tools.

Reading goes through the media engine (EXIF orientation, rotation, frame-accurate decoding,
damaged files probed in a child process); writing raw generated frames is done here.
Frames are uint8 RGB arrays (F, H, W, 3), framed to the generation size by a fit mode, so the
picture is never stretched: "fill" scales to cover and crops the centre (the default), "fit"
scales to fit inside and letterboxes with black, "crop" keeps the pixels unscaled, centred
(the compositor's modes, engine.media.compositor.place).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from engine.errors import MediaError

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".webp", ".bmp", ".tif", ".tiff")
FIT_MODES = ("fill", "fit", "crop")  # the compositor's modes; "fill" first: what generation does by default


def read_image(path: str | Path) -> np.ndarray:
    """An image upright (EXIF orientation applied), RGB uint8, read by the media engine."""
    from engine.media.stills import load_image

    if not Path(path).is_file():
        raise MediaError(f"image {path} does not exist; check the path")
    return load_image(str(path), alpha=False)


def _video_info(path: str | Path):
    """What the media engine's probe finds (in a child process: a damaged file fails only itself)."""
    from engine.media.probe import probe

    info = probe(str(path))
    if info.kind != "video" or not info.num_frames or info.rate is None:
        raise MediaError(f"{path}: has no video to generate from; use an MP4, MOV or WebM file")
    return info


def probe_video(path: str | Path) -> tuple[int, float]:
    """(number of frames, frames per second) of a video file."""
    info = _video_info(path)
    return info.num_frames, float(info.rate)


def read_video(path: str | Path, frame_indices: list[int] | None = None,
               size: tuple[int, int] | None = None, fit: str = "fill") -> np.ndarray:
    """Frames of a video file as uint8 RGB (F, H, W, 3), upright and frame-accurate (the media
    engine's reader at the file's own rate); all of them, or those at `frame_indices`.

    With `size` (width, height) each picture is framed as `frame_to` frames it by `fit`, but scaled
    while it is converted from YUV, so no full-size RGB copy is ever made: memory follows the
    size asked for, not the file's (one second of 8K read at 64x64 holds 64x64 frames)."""
    from engine.media.decode import VideoReader
    from engine.time import FrameRate

    info = _video_info(path)
    count = info.num_frames
    indices = range(count) if frame_indices is None else np.clip(np.asarray(frame_indices), 0, count - 1).tolist()
    # A small YUV cache when fitting: frames are asked for in order, and 8K pictures are 50 MB.
    cache_bytes = None if size is None else SIZED_READ_CACHE_BYTES
    with VideoReader(str(path), FrameRate(info.rate), **({} if cache_bytes is None else
                                                        {"cache_bytes": cache_bytes})) as reader:
        if size is None:
            return np.stack([reader.rgb(int(i)) for i in indices])
        fitted: dict[int, np.ndarray] = {}  # by picture start: repeated frames convert once
        frames = []
        for i in indices:
            start = reader.picture_start(int(i))
            if start not in fitted:
                fitted = {start: _fitted_picture(reader, int(i), *size, fit=fit)}
            frames.append(fitted[start])
        return np.stack(frames)


# Holds a few pictures of any size, enough for the duplicated and repeated frames a plan asks for.
SIZED_READ_CACHE_BYTES = 64 * 1024 * 1024


def _cover_size(src_w: int, src_h: int, width: int, height: int) -> tuple[int, int, float]:
    """(width, height) that covers width x height keeping the picture's shape, and the scale."""
    scale = max(width / src_w, height / src_h)
    return max(width, round(src_w * scale)), max(height, round(src_h * scale)), scale


def _fitted_picture(reader, frame: int, width: int, height: int, fit: str = "fill") -> np.ndarray:
    """What frame_to makes of reader.rgb(frame), without a full-size RGB copy of a large picture
    (but for "crop", which keeps the picture's own pixels).

    A picture more than twice the cover size is first scaled down while it is converted from
    YUV, to twice the cover size; the last step is always fit_frames' own (OpenCV's area
    average), so a picture already near the size wanted comes out exactly as fit_frames makes
    it, and a large one differs only by the chroma rounding of the first step, far below a
    pixel of the result."""
    from engine.media.decode import FULL_RANGE, LIMITED_RANGE

    src_w, src_h = reader.size
    new_w, new_h, _ = _cover_size(src_w, src_h, width, height)  # "fit" scales to less than this
    step_w, step_h = new_w * PRESCALE_FACTOR, new_h * PRESCALE_FACTOR
    if fit == "crop" or src_w <= step_w or src_h <= step_h:
        return frame_to(reader.rgb(frame)[None], width, height, fit)[0]
    coded_w, coded_h = (step_h, step_w) if reader.rotation in (90, 270) else (step_w, step_h)
    array = reader.decoded(frame).to_ndarray(
        format="rgb24", width=coded_w, height=coded_h, interpolation="AREA",
        src_colorspace=reader.colorspace, src_color_range=FULL_RANGE if reader.full_range else LIMITED_RANGE)
    if reader.rotation:
        array = np.ascontiguousarray(np.rot90(array, k=reader.rotation // 90))
    return frame_to(array[None], width, height, fit)[0]


# How much larger than the cover size a picture is converted before the last, exact scaling.
PRESCALE_FACTOR = 2


def fit_frames(frames: np.ndarray, width: int, height: int) -> np.ndarray:
    """Scale (F, H, W, 3) frames to cover width x height and crop the centre."""
    import cv2

    src_h, src_w = frames.shape[1:3]
    if (src_w, src_h) == (width, height):
        return frames
    new_w, new_h, scale = _cover_size(src_w, src_h, width, height)
    interp = cv2.INTER_AREA if scale < 1 else cv2.INTER_CUBIC
    x0, y0 = (new_w - width) // 2, (new_h - height) // 2
    return np.stack([cv2.resize(f, (new_w, new_h), interpolation=interp)[y0:y0 + height, x0:x0 + width]
                     for f in frames])


def frame_to(frames: np.ndarray, width: int, height: int, fit: str = "fill") -> np.ndarray:
    """(F, H, W, 3) frames framed to width x height by a fit mode (see the module doc): "fill" is
    fit_frames; "fit" and "crop" place each picture as the compositor does, on black."""
    if fit not in FIT_MODES:
        raise MediaError(f"unknown fit mode {fit!r}; use one of {', '.join(FIT_MODES)}")
    if fit == "fill" or frames.shape[1:3] == (height, width):
        return fit_frames(frames, width, height)
    from engine.media.compositor import place

    out = np.zeros((len(frames), height, width, 3), np.uint8)
    for index, picture in enumerate(frames):
        pixels, y0, x0 = place(picture, width, height, fit)
        out[index, y0:y0 + pixels.shape[0], x0:x0 + pixels.shape[1]] = pixels[..., :3]
    return out


def write_video(path: str | Path, frames: np.ndarray, fps: float = 24.0, metadata: dict | None = None,
                audio: np.ndarray | None = None, sample_rate: int | None = None) -> None:
    """Write uint8 RGB frames (F, H, W, 3) as H.264 in an MP4 (yuv420p, so sizes are made even),
    with `metadata` as container tags, and `audio` (channels, samples) float in [-1, 1] at
    `sample_rate` as AAC beside it when given (what a model that makes sound made with the frames).
    Callers write to a temporary path and rename (fsutil)."""
    from fractions import Fraction

    import av

    path = Path(path)
    frames = frames[:, : frames.shape[1] // 2 * 2, : frames.shape[2] // 2 * 2]
    try:
        with av.open(str(path), mode="w", format="mp4") as container:
            for key, value in (metadata or {}).items():
                container.metadata[key] = value
            rate = Fraction(fps).limit_denominator(1001)
            stream = container.add_stream("libx264", rate=rate)
            stream.width, stream.height = frames.shape[2], frames.shape[1]
            stream.pix_fmt = "yuv420p"
            stream.codec_context.time_base = 1 / rate
            # PyAV's own thread count (0, "auto") wins over the "threads" option: set it too
            stream.codec_context.thread_count = 1
            stream.options = dict(X264_OPTIONS)
            # every stream is added before the first packet is written (the header is written then)
            audio_stream = None if audio is None else _add_audio_stream(container, audio, sample_rate)
            for index, picture in enumerate(frames):
                # Converted here, with explicit timestamps, so the same frames always make the same
                # file (a recipe re-run is bit for bit): the encoder's own first conversion in a
                # process came out differently from its later ones.
                frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(picture), format="rgb24").reformat(
                    format="yuv420p")
                frame.pts, frame.time_base = index, 1 / rate
                container.mux(stream.encode(frame))
            container.mux(stream.encode())
            if audio_stream is not None:
                _write_audio(container, audio_stream, audio, sample_rate)
    except (OSError, av.error.FFmpegError) as error:
        raise MediaError(f"cannot write {path} ({error}); check the folder exists and is writable") from error


# The same frames must make the same file in any process, at any time (a recipe re-run, the
# second run of a request in one session, a cluster node's job against a local run):
# - mbtree off: x264's AVX-512 macroblock-tree code reads memory it never wrote, so with it on
#   the encode depends on what earlier work left on the heap: the same frames came out up to
#   tens of levels apart in a second run of a request in one process, now and then, and only
#   on CPUs with AVX-512. Off, files at crf 18 are 3-35% larger and as close to the frames.
# - one thread: x264's output depends on its thread count, which follows the machine's cores.
X264_OPTIONS = {"crf": "18", "threads": "1", "x264-params": "mbtree=0"}


def _add_audio_stream(container, audio: np.ndarray, sample_rate: int):
    """An AAC stream at the bit rate the timeline export uses."""
    from fractions import Fraction

    from engine.media.export import AUDIO_BITRATE

    stream = container.add_stream("aac", rate=sample_rate)
    stream.layout = "stereo" if audio.shape[0] >= 2 else "mono"
    stream.bit_rate = AUDIO_BITRATE
    stream.codec_context.time_base = Fraction(1, sample_rate)
    return stream


def _write_audio(container, stream, audio: np.ndarray, sample_rate: int) -> None:
    """The whole sound as one block from the start of the video."""
    from fractions import Fraction

    import av

    samples = np.clip(np.asarray(audio, dtype=np.float32), -1.0, 1.0)
    samples = np.ascontiguousarray(samples[:2] if stream.layout.name == "stereo" else samples[:1])
    block = av.AudioFrame.from_ndarray(samples, format="fltp", layout=stream.layout.name)
    block.sample_rate, block.pts, block.time_base = sample_rate, 0, Fraction(1, sample_rate)
    for packet in stream.encode(block):
        container.mux(packet)
    container.mux(stream.encode())


def to_uint8(frames) -> np.ndarray:
    """Float frames in [0, 1] to uint8 with rounding (as diffusers' numpy_to_pil does: x * 255 rounded)."""
    return (np.clip(np.asarray(frames, dtype=np.float32), 0.0, 1.0) * 255.0).round().astype(np.uint8)
