"""The preview's cache of transition frames (engine/media/render_cache.py): a frame is kept only
while everything its picture is made of stays the same, and what is kept is the picture a fresh
render makes."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from PySide6.QtGui import QImage

from editor.preview.player import preview_image
from engine.media.compositor import Compositor
from engine.media.render_cache import RenderCache, costly_frames, frame_signature
from engine.model.items import Clip, MediaRef
from engine.model.project import Track
from engine.model.transition import Transition
from engine.time import FrameRange, FrameRate
from tests.media.media_factory import index_video
from tests.media.test_compositor import project_of


@pytest.fixture(scope="module")
def media(tmp_path_factory):
    folder = tmp_path_factory.mktemp("render_cache")
    refs = []
    for name in ("a", "b", "c"):
        path = index_video(folder / f"{name}.mp4", 40, width=160, height=96, rate=24)
        refs.append(MediaRef(name, str(path), "video", 40, FrameRate(24), 160, 96))
    return refs


def _project(media, duration: int = 12, hidden: bool = False):
    a = Clip("A", 0, "a", FrameRange(0, 30))
    b = Clip("B", 30, "b", FrameRange(5, 35), transition_in=Transition("dissolve", duration=duration))
    c = Clip("C", 100, "c", FrameRange(0, 20))  # far from the cut
    return project_of([Track("v1", "video", items=(a, b, c), hidden=hidden)], media, width=160, height=96)


def _pixels(image: QImage) -> np.ndarray:
    image = image.convertToFormat(QImage.Format.Format_RGB888)
    raw = np.frombuffer(bytes(image.constBits()), np.uint8).reshape(image.height(), image.bytesPerLine())
    return raw[:, : image.width() * 3].reshape(image.height(), image.width(), 3)


def test_only_transition_frames_are_kept_and_any_change_to_them_is_a_new_key(media):
    project = _project(media)
    assert costly_frames(project, 30, 100) == [30, 29, 31, 28, 32, 27, 33, 26, 34, 25, 35, 24]
    assert frame_signature(project, 10) is None and frame_signature(project, 110) is None  # one decode
    inside = {f: frame_signature(project, f) for f in range(24, 36)}
    assert None not in inside.values() and len(set(inside.values())) == 12
    # what the dissolve is made of changes its frames' keys
    longer = _project(media, duration=14)
    assert all(frame_signature(longer, f) != key for f, key in inside.items())
    hidden = _project(media, hidden=True)
    assert all(frame_signature(hidden, f) is None for f in inside)
    moved = dataclasses.replace(media[1], path=media[2].path)  # the incoming clip's file relinked
    relinked = dataclasses.replace(project, media={**project.media, "b": moved})
    assert all(frame_signature(relinked, f) != key for f, key in inside.items())
    # an edit far from the cut leaves them as they are
    track = project.timeline.tracks[0]
    far = dataclasses.replace(track, items=(*track.items[:2], dataclasses.replace(track.items[2], start=120)))
    elsewhere = dataclasses.replace(project, timeline=dataclasses.replace(project.timeline, tracks=[far]))
    assert {f: frame_signature(elsewhere, f) for f in inside} == inside


def test_a_kept_frame_is_the_picture_a_fresh_render_makes(media, qapp):
    project = _project(media)
    cache = RenderCache()
    compositor = Compositor()
    try:
        first = preview_image(compositor, project, 28, 160, 96, "auto", cache)
        assert len(cache) == 1 and cache.hits == 0
        again = preview_image(compositor, project, 28, 160, 96, "auto", cache)
        assert cache.hits == 1 and again is first
        fresh = preview_image(Compositor(), project, 28, 160, 96, "auto")
        np.testing.assert_array_equal(_pixels(again), _pixels(fresh))
        preview_image(compositor, project, 10, 160, 96, "auto", cache)  # a plain frame is not kept
        assert len(cache) == 1
        # another duration: another picture, made afresh
        other = preview_image(compositor, _project(media, duration=20), 28, 160, 96, "auto", cache)
        assert len(cache) == 2 and not np.array_equal(_pixels(other), _pixels(first))
    finally:
        compositor.close()


def test_the_cache_drops_the_least_recently_used_pictures_when_full():
    cache = RenderCache(max_bytes=300)
    for key in "abc":
        cache.put(key, key.upper(), 100)
    cache.get("a")  # used again: kept
    cache.put("d", "D", 100)
    assert "b" not in cache and all(k in cache for k in "acd") and cache.bytes == 300
