"""Edits: each returns its inverse; rules are enforced with clear errors."""

from __future__ import annotations

import dataclasses

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.errors import EditError
from engine.model import edits
from engine.model.curves import Curve, Keyframe
from engine.model.items import Clip, MediaRef, Still, TextBlock, new_id
from engine.model.project import new_project
from engine.time import FrameRange, FrameRate
from tests.model.factories import rich_project


def snapshot(project):
    """Everything a project holds, as immutable values (tracks and items are immutable)."""
    return (project.settings, dict(project.media), tuple(project.timeline.tracks), tuple(project.timeline.markers),
            project.generation)


def assert_invariants(project):
    for track in project.timeline.tracks:
        starts = [item.start for item in track.items]
        assert starts == sorted(starts)
        for a, b in zip(track.items, track.items[1:], strict=False):
            assert a.range.stop <= b.start, f"overlap on {track.name}"
    ids = [item.id for _, item in project.timeline.items()]
    assert len(ids) == len(set(ids))


@st.composite
def edit_steps(draw):
    return draw(st.lists(st.tuples(st.sampled_from(OPS), st.integers(0, 10**6), st.integers(-40, 400),
                                   st.integers(0, 10**6)), min_size=1, max_size=25))


def _pick_item(project, seed):
    items = [item for _, item in project.timeline.items()]
    return items[seed % len(items)] if items else None


def _op_insert(project, seed, frame, other):
    track = project.timeline.tracks[seed % len(project.timeline.tracks)]
    length = 1 + other % 60
    media = list(project.media.values())
    if track.kind == "prompt":
        item = TextBlock(new_id(), frame, length, f"prompt {other}")
    elif track.kind == "audio":
        ref = [m for m in media if m.kind == "audio" or m.has_audio][other % 2]
        item = Clip(new_id(), frame, ref.id, FrameRange(other % 40, other % 40 + length))
    elif other % 3 == 0:
        ref = next(m for m in media if m.kind == "image")
        item = Still(new_id(), frame, length, ref.id)
    else:
        ref = next(m for m in media if m.kind == "video")
        item = Clip(new_id(), frame, ref.id, FrameRange(other % 50, other % 50 + length))
    return edits.insert(project, track.id, item)


def _op_move(project, seed, frame, other):
    item = _pick_item(project, seed)
    track_id = None
    if other % 2:
        track_id = project.timeline.tracks[other % len(project.timeline.tracks)].id
    return edits.move(project, item.id, frame, track_id) if item else None


def _op_trim_start(project, seed, frame, other):
    item = _pick_item(project, seed)
    return edits.trim_start(project, item.id, item.start + frame // 8) if item else None


def _op_trim_end(project, seed, frame, other):
    item = _pick_item(project, seed)
    return edits.trim_end(project, item.id, item.range.stop + frame // 8) if item else None


def _op_split(project, seed, frame, other):
    item = _pick_item(project, seed)
    return edits.split(project, item.id, item.start + frame % (item.range.duration + 2)) if item else None


def _op_remove(project, seed, frame, other):
    item = _pick_item(project, seed)
    return edits.remove(project, item.id) if item else None


def _op_ripple(project, seed, frame, other):
    item = _pick_item(project, seed)
    return edits.ripple_delete(project, item.id) if item else None


def _op_curve(project, seed, frame, other):
    item = _pick_item(project, seed)
    curve = Curve((Keyframe(0, (other % 11) / 10), Keyframe(abs(frame) + 1, (seed % 11) / 10, "smooth")))
    return edits.set_curve(project, item.id, curve) if item else None


def _op_text(project, seed, frame, other):
    item = _pick_item(project, seed)
    return edits.set_text(project, item.id, f"changed {other}") if item else None


def _op_add_track(project, seed, frame, other):
    return edits.add_track(project, ("video", "prompt", "audio")[seed % 3])


def _op_remove_track(project, seed, frame, other):
    tracks = project.timeline.tracks
    return edits.remove_track(project, tracks[seed % len(tracks)].id) if len(tracks) > 1 else None


def _op_lock(project, seed, frame, other):
    tracks = project.timeline.tracks
    track = tracks[seed % len(tracks)]
    return edits.set_track(project, track.id, locked=not track.locked)


OPS = [_op_insert, _op_move, _op_trim_start, _op_trim_end, _op_split, _op_remove, _op_ripple, _op_curve, _op_text,
       _op_add_track, _op_remove_track, _op_lock]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(steps=edit_steps())
def test_random_edits_then_inverses_restore_the_project_exactly(steps):
    project = rich_project()
    original = snapshot(project)
    inverses = []
    for op, seed, frame, other in steps:
        before = snapshot(project)
        try:
            inverse = op(project, seed, frame, other)
        except EditError:
            assert snapshot(project) == before, f"{op.__name__} failed but changed the project"
            continue
        assert_invariants(project)
        if inverse is not None:
            inverses.append((before, inverse))
    for before, inverse in reversed(inverses):
        redo = edits.apply(project, inverse)
        assert snapshot(project) == before
        # and the inverse of the inverse redoes it
        after_undo = snapshot(project)
        undo_again = edits.apply(project, redo)
        edits.apply(project, undo_again)
        assert snapshot(project) == after_undo
    assert snapshot(project) == original


def _simple():
    project = new_project(640, 360, 24)
    ref = MediaRef(new_id(), "/m/a.mp4", "video", num_frames=100, rate=FrameRate.parse(24))
    edits.add_media(project, ref)
    v1 = project.timeline.tracks_of("video")[0]
    clip = Clip(new_id(), 10, ref.id, FrameRange(20, 60))
    edits.insert(project, v1.id, clip)
    return project, ref, v1, clip


def test_overlap_is_refused_with_a_clear_message():
    project, ref, v1, clip = _simple()
    with pytest.raises(EditError, match=r"'a.mp4' at frames 30-39 would overlap 'a.mp4' \(frames 10-49\) on track 'V1'"):
        edits.insert(project, v1.id, Clip(new_id(), 30, ref.id, FrameRange(0, 10)))


def test_move_across_tracks_and_back():
    project, ref, v1, clip = _simple()
    edits.add_track(project, "video", "V2")
    v2 = project.timeline.tracks_of("video")[0]
    undo = edits.move(project, clip.id, 100, v2.id)
    track, moved = project.timeline.find(clip.id)
    assert (track.name, moved.start, moved.source_range) == ("V2", 100, clip.source_range)
    edits.apply(project, undo)
    track, back = project.timeline.find(clip.id)
    assert (track.name, back) == ("V1", clip)


def test_wrong_track_kind_is_refused():
    project, ref, v1, clip = _simple()
    prompt = project.timeline.tracks_of("prompt")[0]
    with pytest.raises(EditError, match="cannot go on prompt track 'P1'; use a video or audio track"):
        edits.move(project, clip.id, 0, prompt.id)
    with pytest.raises(EditError, match="has no sound"):
        edits.move(project, clip.id, 0, project.timeline.tracks_of("audio")[0].id)


def test_trim_keeps_content_in_place_and_respects_the_source():
    project, ref, v1, clip = _simple()
    edits.set_curve(project, clip.id, Curve.ramp(0, 39, 0.0, 1.0))
    edits.trim_start(project, clip.id, 20)
    _, trimmed = project.timeline.find(clip.id)
    assert trimmed.start == 20 and trimmed.source_range == FrameRange(30, 60)
    # the curve stays attached to the same timeline frames
    assert trimmed.curve.evaluate(0) == pytest.approx(10 / 39)
    with pytest.raises(EditError, match="earlier: its media starts 30 frame"):
        edits.trim_start(project, clip.id, -20)
    with pytest.raises(EditError, match=r"needs frames up to 109 of a.mp4, which has 100 frame\(s\)"):
        edits.trim_end(project, clip.id, 100)
    with pytest.raises(EditError, match="to nothing"):
        edits.trim_end(project, clip.id, 20)


def test_split_keeps_every_frame_and_the_curve():
    project, ref, v1, clip = _simple()
    curve = Curve((Keyframe(0, 0.0), Keyframe(39, 1.0, "smooth")))
    edits.set_curve(project, clip.id, curve)
    edits.split(project, clip.id, 25, new_item_id="right")
    _, left = project.timeline.find(clip.id)
    _, right = project.timeline.find("right")
    assert left.range == FrameRange(10, 25) and right.range == FrameRange(25, 50)
    assert left.source_range.stop == right.source_range.start == 35
    import numpy as np

    whole = curve.evaluate(np.arange(40))
    halves = np.concatenate([left.curve.evaluate(np.arange(15)), right.curve.evaluate(np.arange(25))])
    np.testing.assert_allclose(halves, whole)
    with pytest.raises(EditError, match="not inside"):
        edits.split(project, clip.id, 10)


def test_ripple_delete_closes_the_gap_on_its_track_only():
    project, ref, v1, clip = _simple()
    later = Clip(new_id(), 70, ref.id, FrameRange(0, 10))
    edits.insert(project, v1.id, later)
    prompt = project.timeline.tracks_of("prompt")[0]
    text = TextBlock(new_id(), 70, 10, "stays")
    edits.insert(project, prompt.id, text)
    undo = edits.ripple_delete(project, clip.id)
    assert project.timeline.find(later.id)[1].start == 30
    assert project.timeline.find(text.id)[1].start == 70
    edits.apply(project, undo)
    assert project.timeline.find(later.id)[1].start == 70


def test_locked_tracks_refuse_edits_but_undo_still_works():
    project, ref, v1, clip = _simple()
    undo = edits.move(project, clip.id, 0)
    edits.set_track(project, v1.id, locked=True)
    with pytest.raises(EditError, match="track 'V1' is locked"):
        edits.move(project, clip.id, 5)
    edits.apply(project, undo)
    assert project.timeline.find(clip.id)[1].start == 10


def test_batch_is_atomic():
    project, ref, v1, clip = _simple()
    before = snapshot(project)
    good = edits.ReplaceItem(dataclasses.replace(clip, start=0))
    bad = edits.PutItem(v1.id, Clip(new_id(), 5, ref.id, FrameRange(0, 10)))
    with pytest.raises(EditError):
        edits.batch(project, [good, bad])
    assert snapshot(project) == before


def test_media_in_use_cannot_be_removed():
    project, ref, v1, clip = _simple()
    with pytest.raises(EditError, match="used by 1 item"):
        edits.apply(project, edits.TakeMedia(ref.id))
