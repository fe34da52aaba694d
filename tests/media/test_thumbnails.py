"""Thumbnails and filmstrips: cached on disk by content, made on a background thread."""

from __future__ import annotations

import os
import shutil
import threading

import numpy as np

from engine.media.thumbnails import (
    ThumbnailService,
    cache_dir,
    content_hash,
    filmstrip,
    filmstrip_frames,
    load_thumbnail,
    thumbnail,
)
from engine.time import FrameRate
from tests.media.media_factory import index_video, read_index


def test_thumbnail_is_cached_by_content(tmp_path, index_mp4):
    first = thumbnail(str(index_mp4), 42, FrameRate(30), height=96)
    assert first.parent == cache_dir() and str(first).startswith(os.environ["KINORA_CACHE_DIR"])
    pixels = load_thumbnail(first)
    assert pixels.shape == (96, 160, 3) and read_index(pixels) == 42
    stamp = first.stat().st_mtime_ns
    # A renamed copy of the same file finds the same entry without decoding again.
    copy = tmp_path / "renamed.mp4"
    shutil.copy(index_mp4, copy)
    again = thumbnail(str(copy), 42, FrameRate(30), height=96)
    assert again == first and again.stat().st_mtime_ns == stamp
    # Different content: different key.
    other = index_video(tmp_path / "other.mp4", 50, gop=10)
    assert content_hash(str(other)) != content_hash(str(index_mp4))
    assert read_index(load_thumbnail(thumbnail(str(other), 7, FrameRate(30), height=96))) == 7


def test_filmstrip_spreads_frames_over_the_clip(index_mp4):
    assert filmstrip_frames(300, 5) == [30, 90, 150, 210, 270]
    strip = load_thumbnail(filmstrip(str(index_mp4), FrameRate(30), 300, 5, height=96))
    assert strip.shape == (96, 5 * 160, 3)
    assert [read_index(strip[:, i * 160:(i + 1) * 160]) for i in range(5)] == [30, 90, 150, 210, 270]


def test_service_makes_thumbnails_in_the_background(index_mp4):
    service = ThumbnailService()
    done = threading.Event()
    seen = {}

    def on_done(future):
        seen["thread"] = threading.current_thread().name
        seen["path"] = future.result()
        done.set()

    future = service.request(thumbnail, str(index_mp4), 11, FrameRate(30), 96, on_done=on_done)
    twin = service.request(thumbnail, str(index_mp4), 11, FrameRate(30), 96)
    assert done.wait(30)
    assert twin is future or twin.result() == future.result()
    assert seen["thread"].startswith("kinora-thumbnails")
    assert read_index(load_thumbnail(seen["path"])) == 11
    service.shutdown()


def test_still_thumbnail_keeps_alpha(tmp_path):
    from PIL import Image

    rgba = np.zeros((100, 200, 4), np.uint8)
    rgba[:, 100:] = (255, 0, 0, 255)
    Image.fromarray(rgba, "RGBA").save(tmp_path / "logo.png")
    path = thumbnail(str(tmp_path / "logo.png"), height=50)
    pixels = load_thumbnail(path)
    assert path.suffix == ".png" and pixels.shape == (50, 100, 4)
    assert pixels[25, 10, 3] == 0 and pixels[25, 90].tolist() == [255, 0, 0, 255]


def test_a_request_that_finishes_at_once_does_not_deadlock(tmp_path):
    """A cached thumbnail can be done before its callbacks are attached; they then run at once."""
    import threading

    from engine.media.thumbnails import ThumbnailService

    service = ThumbnailService()
    finished = threading.Event()
    try:
        for i in range(200):
            future = service.request(lambda i: i, i, on_done=lambda done: None)
            future.result(timeout=5)
            service.request(lambda i: i, i)  # same key again, racing with its completion
        finished.set()
    finally:
        service.shutdown()
    assert finished.is_set()
