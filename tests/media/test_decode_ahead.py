"""A transition's two pictures decoded at the same time (engine/media/decode_ahead.py): the
frames are the same as when each is made on its own, in order or not, and the second picture
really is made on the decode-ahead thread."""

from __future__ import annotations

import threading

import numpy as np

from engine.media.compositor import Compositor
from engine.media.transition_mix import mix_opaque
from engine.model import edits, transition_edits
from engine.model.items import Clip, MediaRef
from engine.model.project import new_project
from engine.model.transition import Transition
from engine.time import FrameRange, FrameRate
from tests.media.media_factory import write_video

W, H, RATE = 64, 48, 24


def _moving(level: int) -> list[np.ndarray]:
    pictures = []
    for n in range(48):
        picture = np.full((H, W, 3), level, np.uint8)
        picture[:, n % W] = 255 - level  # a line that moves: every frame differs
        pictures.append(picture)
    return pictures


def _dissolve_project(tmp_path):
    project = new_project(W, H, RATE)
    for media_id, level in (("a", 40), ("b", 200)):
        path = write_video(tmp_path / f"{media_id}.mp4", _moving(level), rate=RATE, gop=12)
        edits.add_media(project, MediaRef(media_id, str(path), "video", 48, FrameRate(RATE), W, H))
    v1 = project.timeline.tracks_of("video")[0].id
    edits.insert(project, v1, Clip("A", 0, "a", FrameRange(12, 36)))
    edits.insert(project, v1, Clip("B", 24, "b", FrameRange(12, 36)))
    transition_edits.add_transition(project, "B", Transition("dissolve", 12))
    return project


def test_dissolve_frames_match_pictures_made_one_at_a_time(tmp_path):
    project = _dissolve_project(tmp_path)
    frames = list(range(16, 34))
    compositor = Compositor()
    in_order = {frame: compositor.render(project, frame).copy() for frame in frames}
    assert any(t.name.startswith("kinora-decode-ahead") for t in threading.enumerate())
    compositor.close()
    assert not any(t.name.startswith("kinora-decode-ahead") for t in threading.enumerate())

    rng = np.random.default_rng(3)
    shuffled = Compositor()  # seeks back and forth: the decode-ahead reader is never read meanwhile
    for frame in rng.permutation(frames):
        assert np.array_equal(shuffled.render(project, int(frame)), in_order[int(frame)]), frame
    shuffled.close()

    # the mix of the two pictures read on this thread, each from a compositor of its own
    for frame in (18, 24, 29):
        span_progress = (frame - 18 + 0.5) / 12
        pictures = []
        for clip_id, media_id in (("A", "a"), ("B", "b")):
            alone = Compositor()
            clip = project.timeline.find(clip_id)[1]
            reader = alone._reader(project.media[media_id].path, project.settings.rate)
            pictures.append(reader.rgb(clip.source_range.start + frame - clip.start).copy())
            alone.close()
        expected = mix_opaque(pictures[0], pictures[1], Transition("dissolve", 12), span_progress)
        assert np.array_equal(in_order[frame], expected), frame
