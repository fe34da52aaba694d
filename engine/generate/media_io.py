"""Reading condition pictures and writing generated videos, for the generation tools.

Deliberately small: frames come in as uint8 RGB arrays (F, H, W, 3) and are fitted to the
generation size by scaling to cover and cropping the centre, so the picture is never stretched.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from engine.errors import MediaError

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".webp", ".bmp", ".tif", ".tiff")


def read_image(path: str | Path) -> np.ndarray:
    import cv2

    path = Path(path)
    if not path.is_file():
        raise MediaError(f"image {path} does not exist; check the path")
    picture = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if picture is None:
        raise MediaError(f"{path} cannot be read as an image; use a PNG or JPEG file")
    return cv2.cvtColor(picture, cv2.COLOR_BGR2RGB)


def probe_video(path: str | Path) -> tuple[int, float]:
    """(number of frames, frames per second) of a video file."""
    import av

    path = Path(path)
    if not path.is_file():
        raise MediaError(f"video {path} does not exist; check the path")
    try:
        with av.open(str(path)) as container:
            stream = container.streams.video[0]
            rate = float(stream.average_rate or 24)
            count = stream.frames or sum(1 for _ in container.decode(video=0))
    except (av.error.FFmpegError, IndexError) as error:
        raise MediaError(f"{path} cannot be read as a video ({error}); use an MP4, MOV or WebM file") from error
    return count, rate


def read_video(path: str | Path, frame_indices: list[int] | None = None) -> np.ndarray:
    """Frames of a video file as uint8 RGB (F, H, W, 3); all of them, or those at `frame_indices`."""
    import av

    path = Path(path)
    if not path.is_file():
        raise MediaError(f"video {path} does not exist; check the path")
    try:
        with av.open(str(path)) as container:
            frames = [frame.to_ndarray(format="rgb24") for frame in container.decode(video=0)]
    except (av.error.FFmpegError, IndexError) as error:
        raise MediaError(f"{path} cannot be decoded as a video ({error}); use an MP4, MOV or WebM file") from error
    if not frames:
        raise MediaError(f"{path} has no video frames")
    video = np.stack(frames)
    if frame_indices is not None:
        video = video[np.clip(np.asarray(frame_indices), 0, len(video) - 1)]
    return video


def fit_frames(frames: np.ndarray, width: int, height: int) -> np.ndarray:
    """Scale (F, H, W, 3) frames to cover width x height and crop the centre."""
    import cv2

    src_h, src_w = frames.shape[1:3]
    if (src_w, src_h) == (width, height):
        return frames
    scale = max(width / src_w, height / src_h)
    new_w, new_h = max(width, round(src_w * scale)), max(height, round(src_h * scale))
    interp = cv2.INTER_AREA if scale < 1 else cv2.INTER_CUBIC
    x0, y0 = (new_w - width) // 2, (new_h - height) // 2
    return np.stack([cv2.resize(f, (new_w, new_h), interpolation=interp)[y0:y0 + height, x0:x0 + width]
                     for f in frames])


def write_video(path: str | Path, frames: np.ndarray, fps: float = 24.0) -> None:
    """Write uint8 RGB frames (F, H, W, 3) as H.264 in an MP4 (yuv420p, so sizes are made even)."""
    from fractions import Fraction

    import av

    path = Path(path)
    frames = frames[:, : frames.shape[1] // 2 * 2, : frames.shape[2] // 2 * 2]
    try:
        with av.open(str(path), mode="w") as container:
            stream = container.add_stream("libx264", rate=Fraction(fps).limit_denominator(1001))
            stream.width, stream.height = frames.shape[2], frames.shape[1]
            stream.pix_fmt = "yuv420p"
            stream.options = {"crf": "18"}
            for picture in frames:
                container.mux(stream.encode(av.VideoFrame.from_ndarray(np.ascontiguousarray(picture), format="rgb24")))
            container.mux(stream.encode())
    except (OSError, av.error.FFmpegError) as error:
        raise MediaError(f"cannot write {path} ({error}); check the folder exists and is writable") from error


def to_uint8(frames) -> np.ndarray:
    """Float frames in [0, 1] to uint8 with rounding (as diffusers' numpy_to_pil does: x * 255 rounded)."""
    return (np.clip(np.asarray(frames, dtype=np.float32), 0.0, 1.0) * 255.0).round().astype(np.uint8)
