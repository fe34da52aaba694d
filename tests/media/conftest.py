"""Media files shared by the media tests, made once per test session."""

from __future__ import annotations

import numpy as np
import pytest

from tests.media.media_factory import index_picture, index_video, write_video


@pytest.fixture(scope="session")
def media_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("media")


@pytest.fixture(scope="session")
def index_mp4(media_dir):
    """300 index-coded frames at 30 fps, H.264 with a keyframe every 60 frames and B-frames."""
    return index_video(media_dir / "index.mp4", 300, gop=60)


@pytest.fixture(scope="session")
def vfr_mp4(media_dir):
    """Variable frame rate: 40 index pictures at irregular times (timestamps in 1/1000 s)."""
    rng = np.random.default_rng(7)
    intervals = rng.choice([20, 33, 50, 67], size=40)
    pts = np.concatenate([[0], np.cumsum(intervals)[:-1]]).astype(int).tolist()
    from fractions import Fraction

    path = write_video(media_dir / "vfr.mkv", [index_picture(i, 160, 96) for i in range(40)], rate=30,
                       pts=pts, time_base=Fraction(1, 1000), options={"bf": "0"})
    return path, pts


def gradient_pictures(count: int, width: int, height: int) -> list[np.ndarray]:
    """Smooth moving colour fields: what cameras give, and what lossy codecs keep well."""
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    return [np.stack([128 + 100 * np.sin((xx + 3 * i) / 23), 128 + 100 * np.cos((yy + i) / 17),
                      128 + 60 * np.sin((xx + yy - 2 * i) / 31)], -1).astype(np.uint8) for i in range(count)]
