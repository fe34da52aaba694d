"""Media the media tests make for themselves, with PyAV and the ffmpeg command line.

Index-coded videos: every picture shows its own number as a 4x4 grid of black/white cells
(16 bits, most significant first), which survives lossy compression, so a test can read
back which picture a decoder returned.
"""

from __future__ import annotations

import shutil
import subprocess
from fractions import Fraction

import av
import numpy as np

GRID = 4


def index_picture(index: int, width: int, height: int, extra_bits: int = 0) -> np.ndarray:
    """RGB uint8 picture whose cells encode `index`."""
    image = np.zeros((height, width, 3), np.uint8)
    for bit in range(GRID * GRID):
        if (index >> (GRID * GRID - 1 - bit)) & 1:
            row, col = divmod(bit, GRID)
            y0, y1 = row * height // GRID, (row + 1) * height // GRID
            x0, x1 = col * width // GRID, (col + 1) * width // GRID
            image[y0:y1, x0:x1] = 255
    return image


def read_index(image: np.ndarray) -> int:
    """The number an index picture shows (reads the centre of each cell)."""
    height, width = image.shape[:2]
    value = 0
    for bit in range(GRID * GRID):
        row, col = divmod(bit, GRID)
        cy, cx = (2 * row + 1) * height // (2 * GRID), (2 * col + 1) * width // (2 * GRID)
        patch = image[max(cy - 2, 0):cy + 3, max(cx - 2, 0):cx + 3, :3]
        value = (value << 1) | int(patch.mean() > 127)
    return value


def write_video(path, pictures, *, rate=30, codec="libx264", pix_fmt="yuv420p", gop=None, options=None,
                pts=None, time_base=None, rotation=None, input_format="rgb24", audio=None, audio_rate=48000):
    """Encode `pictures` (iterable of arrays). `pts` gives explicit timestamps (in `time_base`
    ticks) for variable frame rate files; `audio` is (channels, samples) float32 to add."""
    pictures = list(pictures)
    height, width = pictures[0].shape[:2]
    with av.open(str(path), "w") as container:
        stream = container.add_stream(codec, rate=Fraction(rate))
        stream.width, stream.height, stream.pix_fmt = width, height, pix_fmt
        if time_base is not None:
            stream.time_base = time_base
            stream.codec_context.time_base = time_base
        if gop is not None:
            stream.codec_context.gop_size = gop
        opts = dict(options or {})
        if codec == "libx264" and gop is not None:
            opts.setdefault("x264-params", f"keyint={gop}:min-keyint={gop}:scenecut=0")
        stream.options = opts
        if rotation:
            stream.set_display_rotation(rotation)
        audio_stream = None
        if audio is not None:
            audio_stream = container.add_stream("aac", rate=audio_rate)
            audio_stream.layout = "stereo" if audio.shape[0] == 2 else "mono"
        for i, picture in enumerate(pictures):
            frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(picture), format=input_format)
            if pts is not None:
                frame.pts = pts[i]
                frame.time_base = time_base
            else:  # one tick a frame, given: an encoder left to number frames itself (libx265 in a
                # process that did other work) was seen to hand the muxer timestamps it refused
                frame.pts = i
                frame.time_base = stream.codec_context.time_base or 1 / Fraction(rate)
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
        if audio_stream is not None:
            chunk = 1024
            for start in range(0, audio.shape[1], chunk):
                block = np.ascontiguousarray(audio[:, start:start + chunk], dtype=np.float32)
                frame = av.AudioFrame.from_ndarray(block, format="fltp", layout=audio_stream.layout.name)
                frame.sample_rate = audio_rate
                frame.pts = start
                for packet in audio_stream.encode(frame):
                    container.mux(packet)
            for packet in audio_stream.encode():
                container.mux(packet)
    return path


def index_video(path, count, width=160, height=96, **kwargs):
    return write_video(path, (index_picture(i, width, height) for i in range(count)), **kwargs)


def ffmpeg(*args) -> None:
    if shutil.which("ffmpeg") is None:
        import pytest

        pytest.skip("the ffmpeg command (Debian package ffmpeg) is needed to make this test's media")
    subprocess.run(["ffmpeg", "-v", "error", "-y", *map(str, args)], check=True, timeout=120)
