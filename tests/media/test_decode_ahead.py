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
    def decode_ahead_threads() -> set:
        return {t for t in threading.enumerate() if t.name.startswith("kinora-decode-ahead")}

    before = decode_ahead_threads()
    compositor = Compositor()
    in_order = {frame: compositor.render(project, frame).copy() for frame in frames}
    ours = decode_ahead_threads() - before
    assert ours  # the outgoing pictures were made on a thread of their own
    compositor.close()
    assert not ours & decode_ahead_threads()  # and closing the compositor ends it

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


def test_a_title_over_a_dissolve_is_drawn_on_the_mix_alone(tmp_path):
    """The title is blended straight onto the dissolve's mix (made for that frame), never onto
    a picture the readers keep: rendering a frame again gives the same pixels, and the title's
    pixels are the overlay of the title on the mix."""
    from engine.media.effects import overlay
    from engine.media.text import title_layer
    from engine.model.titles import Title

    plain = _dissolve_project(tmp_path)
    project = _dissolve_project(tmp_path)
    edits.add_track(project, "video", track_id="titles", index=0)  # above the clips' track
    title = Title("T", 0, 48, "OVER", size=20, y=0.7, box=True)
    edits.insert(project, "titles", title)
    compositor = Compositor()
    for frame in (17, 18, 24, 29, 30):
        first = compositor.render(project, frame).copy()
        assert np.array_equal(compositor.render(project, frame), first), frame
        mix = Compositor().render(plain, frame)
        expected = overlay([(*title_layer(title, W, H), 1.0), (mix, 0, 0, 1.0)], W, H)
        assert np.array_equal(first, expected), frame
        assert not np.array_equal(first, mix), frame  # the title shows
    compositor.close()
