"""Thumbnails and filmstrips, cached on disk and made in the background.

The cache lives in the "thumbnails" folder of Kinora's cache (engine/paths.py: the user
cache folder, or $KINORA_CACHE_DIR). Entries are keyed by the file's content, not its name, so a
moved or renamed file keeps its thumbnails and a replaced file gets new ones. Hashing a
whole multi-gigabyte video would take longer than decoding a thumbnail, so the key hashes
the size and three 1 MiB samples (start, middle, end): a change inside a file that keeps its
size and those samples would go unnoticed, which in practice no editing tool produces.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

import numpy as np

from engine.fsutil import SAMPLE_BYTES, check_readable, content_hash  # noqa: F401 (content_hash re-exported)
from engine.media.probe import STILL_EXTENSIONS
from engine.time import FrameRate

DEFAULT_HEIGHT = 90
JPEG_QUALITY = 88
ANY_RATE = FrameRate(24)  # stills ignore the rate


def cache_dir() -> Path:
    from engine import paths

    return Path(paths.cache_dir("thumbnails"))



def _scaled(pixels: np.ndarray, height: int) -> np.ndarray:
    import cv2

    src_h, src_w = pixels.shape[:2]
    width = max(1, round(src_w * height / src_h))
    return cv2.resize(np.ascontiguousarray(pixels), (width, height), interpolation=cv2.INTER_AREA)


def _write(path: Path, pixels: np.ndarray) -> None:
    """Atomically: a half-written thumbnail must never be read back as a whole one."""
    import cv2

    code = cv2.COLOR_RGBA2BGRA if pixels.shape[2] == 4 else cv2.COLOR_RGB2BGR
    params = [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY] if path.suffix == ".jpg" else []
    ok, data = cv2.imencode(path.suffix, cv2.cvtColor(pixels, code), params)
    if not ok:
        raise OSError(f"could not encode thumbnail {path}")
    temp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    temp.write_bytes(data.tobytes())
    os.replace(temp, path)


def _read(path: Path) -> np.ndarray:
    import cv2

    pixels = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    code = cv2.COLOR_BGRA2RGBA if pixels.shape[2] == 4 else cv2.COLOR_BGR2RGB
    return cv2.cvtColor(pixels, code)


def _picture(path: str, frame: int, rate: FrameRate) -> np.ndarray:
    if Path(path).suffix.lower() in STILL_EXTENSIONS:
        from engine.media.stills import load_image

        return load_image(path)
    from engine.media.decode import reader_for

    reader = reader_for(path, rate)
    return reader.rgba(frame) if reader.has_alpha else reader.rgb(frame)


def thumbnail(path: str, frame: int = 0, rate: FrameRate = ANY_RATE, height: int = DEFAULT_HEIGHT) -> Path:
    """The cached image file of `frame` (at `rate`) of a video, or of a still, `height` tall."""
    path = str(path)
    key = content_hash(path)
    still = Path(path).suffix.lower() in STILL_EXTENSIONS
    name = f"{key}-still-h{height}" if still else f"{key}-f{frame}-r{rate.to_json().replace('/', '_')}-h{height}"
    for suffix in (".jpg", ".png"):
        cached = cache_dir() / (name + suffix)
        if cached.exists():
            return cached
    pixels = _scaled(_picture(path, 0 if still else frame, rate), height)
    target = cache_dir() / (name + (".png" if pixels.shape[2] == 4 else ".jpg"))
    _write(target, pixels)
    return target


def filmstrip_frames(num_frames: int, count: int) -> list[int]:
    """`count` frames evenly spread over a clip, each the middle of its share."""
    count = max(1, min(count, num_frames))
    return [(2 * i + 1) * num_frames // (2 * count) for i in range(count)]


def filmstrip(path: str, rate: FrameRate, num_frames: int, count: int, height: int = DEFAULT_HEIGHT) -> Path:
    """One cached image of `count` thumbnails side by side, spread over the first `num_frames`."""
    path = str(path)
    frames = filmstrip_frames(num_frames, count)
    name = f"{content_hash(path)}-strip{len(frames)}of{num_frames}-r{rate.to_json().replace('/', '_')}-h{height}"
    for suffix in (".jpg", ".png"):
        cached = cache_dir() / (name + suffix)
        if cached.exists():
            return cached
    tiles = [_scaled(_picture(path, frame, rate), height) for frame in frames]
    channels = max(tile.shape[2] for tile in tiles)
    tiles = [tile if tile.shape[2] == channels else np.dstack([tile, np.full(tile.shape[:2], 255, np.uint8)])
             for tile in tiles]
    strip = np.concatenate(tiles, axis=1)
    target = cache_dir() / (name + (".png" if channels == 4 else ".jpg"))
    _write(target, strip)
    return target


def load_thumbnail(path: Path) -> np.ndarray:
    """A cached thumbnail's pixels as RGB(A) uint8."""
    return _read(Path(path))


class ThumbnailService:
    """Makes thumbnails on a background thread. Callbacks run on that thread, or at once on the
    caller's when the picture is already made (the editor turns them into queued signals); a
    request already in flight is not made twice."""

    def __init__(self, workers: int = 1):
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="kinora-thumbnails")
        self._in_flight: dict[tuple, Future] = {}
        self._lock = threading.Lock()

    def request(self, make: Callable[..., Path], *args, on_done: Callable[[Future], None] | None = None) -> Future:
        """Run `make(*args)` (thumbnail or filmstrip) in the background; returns its Future."""
        key = (make.__name__, *args)
        with self._lock:
            future = self._in_flight.get(key)
            new = future is None
            if new:
                future = self._pool.submit(make, *args)
                self._in_flight[key] = future
        if new:
            # outside the lock: a future that is already done runs its callbacks right here
            future.add_done_callback(lambda done, key=key: self._forget(key, done))
        if on_done is not None:
            future.add_done_callback(on_done)
        return future

    def _forget(self, key: tuple, done: Future) -> None:
        with self._lock:
            if self._in_flight.get(key) is done:
                del self._in_flight[key]

    def shutdown(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)
        # The worker threads' decoders die with them; nothing else holds files open.
