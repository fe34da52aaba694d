"""Features merged from separate branches, used on one clip at once: speed, reverse, opacity,
a transition and sound fades through split, trim and OpenTimelineIO."""

from __future__ import annotations

import opentimelineio as otio
import pytest

from engine.errors import EditError
from engine.model import edits, transition_edits
from engine.model.curves import Curve
from engine.model.effect_edits import set_speed
from engine.model.otio_io import export_otio, import_otio_string
from engine.model.transition import Transition
from tests.model.test_transitions import two_clips_at_a_cut


def fast_clip_against_its_neighbour(tmp_path, speed: float, reverse: bool = False):
    """A [10, 34) of a 48-frame file at `speed` from frame 0, then B from where A now ends, with a
    dissolve on the cut, A's opacity ramping and both A's sound fades set."""
    project, v1 = two_clips_at_a_cut(tmp_path)
    edits.move(project, "B", 200)
    set_speed(project, "A", speed, reverse=reverse)
    edits.move(project, "B", project.timeline.find("A")[1].range.stop)
    transition_edits.add_transition(project, "B", Transition("dissolve", 6))
    transition_edits.set_opacity(project, "A", Curve.ramp(0, 10, 0.0, 1.0))
    edits.set_clip_audio(project, "A", fade_in=3, fade_out=4)
    return project, v1


@pytest.mark.parametrize("speed", [1.5, 2.0, 0.5, 0.75])
@pytest.mark.parametrize("reverse", [False, True])
def test_splitting_a_retimed_clip_never_runs_it_past_its_end(tmp_path, speed, reverse):
    project, v1 = fast_clip_against_its_neighbour(tmp_path, speed, reverse)
    a = project.timeline.find("A")[1]
    for frame in range(a.start + 1, a.range.stop):
        if min(frame - a.start, a.range.stop - frame) * speed < 1:  # inside a slowed clip's first or last source frame
            with pytest.raises(EditError, match="too near one of its ends"):
                edits.split(project, "A", frame, "A2")
            assert project.timeline.find("A")[1] == a
            continue
        undo = edits.split(project, "A", frame, "A2")
        left, right = project.timeline.find("A")[1], project.timeline.find("A2")[1]
        assert left.range.start == a.start and left.range.stop <= frame
        assert right.start == frame and right.range.stop <= a.range.stop
        # the pieces use disjoint source frames of A, in A's order, both at A's speed
        assert a.source_range.start <= min(left.source_range.start, right.source_range.start)
        assert max(left.source_range.stop, right.source_range.stop) <= a.source_range.stop
        first, second = (right, left) if reverse else (left, right)
        assert first.source_range.stop <= second.source_range.start
        assert (left.speed, right.speed, left.reverse, right.reverse) == (speed, speed, reverse, reverse)
        assert (left.fade_in, left.fade_out, right.fade_in, right.fade_out) == (3, 0, 0, 4)
        assert right.opacity.evaluate(0) == pytest.approx(a.opacity.evaluate(frame - a.start))
        # the cut into B keeps its dissolve: the right part still ends where B starts
        assert project.timeline.find("B")[1].transition_in is not None
        edits.apply(project, undo)
        assert project.timeline.find("A")[1] == a


@pytest.mark.parametrize("speed", [1.5, 2.0])
def test_a_split_of_a_sped_up_clip_leaves_no_gap(tmp_path, speed):
    project, _ = fast_clip_against_its_neighbour(tmp_path, speed)
    a = project.timeline.find("A")[1]
    for frame in range(a.start + 1, a.range.stop):
        undo = edits.split(project, "A", frame, "A2")
        left, right = project.timeline.find("A")[1], project.timeline.find("A2")[1]
        assert (left.range.stop, right.range.stop) == (frame, a.range.stop)
        edits.apply(project, undo)


@pytest.mark.parametrize("speed, reverse", [(2.0, False), (1.5, True), (0.5, False), (1.0, True)])
def test_a_retimed_clip_with_a_transition_and_fades_comes_back_from_otio_unchanged(tmp_path, speed, reverse):
    project, _ = fast_clip_against_its_neighbour(tmp_path, speed, reverse)
    timeline, warnings = export_otio(project)
    assert any("1 clip(s) with a speed other than 100% or playing in reverse" in warning for warning in warnings)
    back, import_warnings = import_otio_string(otio.adapters.write_to_string(timeline, "otio_json"))
    assert import_warnings == []
    assert back.timeline == project.timeline


def test_a_retimed_clip_trimmed_in_another_editor_keeps_its_speed_and_source_frames(tmp_path):
    project, _ = fast_clip_against_its_neighbour(tmp_path, 2.0)
    timeline, _ = export_otio(project)
    video = next(t for t in timeline.tracks if t.kind == otio.schema.TrackKind.Video and len(t))
    clip = video[0]  # A: 12 frames on the timeline from source frame 10 at 2x
    trimmed = otio.opentime.TimeRange(clip.source_range.start_time + otio.opentime.RationalTime(2, 24),
                                      otio.opentime.RationalTime(8, 24))
    clip.source_range = trimmed  # the other editor trims 2 frames off the head and 2 off the tail
    video.insert(0, otio.schema.Gap(source_range=otio.opentime.TimeRange(duration=otio.opentime.RationalTime(2, 24))))
    back, _ = import_otio_string(otio.adapters.write_to_string(timeline, "otio_json"))
    a = back.timeline.find("A")[1]
    assert (a.range.start, a.range.stop, a.speed) == (2, 10, 2.0)
    assert a.source_range == edits.FrameRange(14, 30)  # 4 source frames fewer at each end


@pytest.mark.parametrize("speed", [1.5, 2.0, 0.5, 0.75])
@pytest.mark.parametrize("reverse", [False, True])
def test_trimming_a_retimed_clip_s_start_keeps_its_end_against_the_next_item(tmp_path, speed, reverse):
    project, v1 = fast_clip_against_its_neighbour(tmp_path, speed, reverse)
    edits.move(project, "B", 200)
    edits.move(project, "A", 10)
    edits.move(project, "B", project.timeline.find("A")[1].range.stop)
    a = project.timeline.find("A")[1]
    for new_start in range(a.start - 4, a.range.stop):
        if new_start == a.start:
            continue
        try:
            undo = edits.trim_start(project, "A", new_start)
        except EditError as error:  # extending past the media's first frame
            assert new_start < a.start and "earlier" in str(error) and reverse is False
            continue
        trimmed = project.timeline.find("A")[1]
        assert trimmed.range.stop == a.range.stop, new_start
        assert abs(trimmed.start - new_start) < 1 / speed  # as near as whole source frames allow
        if speed >= 1:
            assert trimmed.start == new_start
        # the content stays on its frames: the source position shown at the new start is unchanged
        shown = a.source_range.stop - 1 - (trimmed.start - a.start) * speed if reverse \
            else a.source_range.start + (trimmed.start - a.start) * speed
        first = trimmed.source_range.stop - 1 if reverse else trimmed.source_range.start
        assert abs(first - shown) < 1
        assert trimmed.opacity.evaluate(0) == pytest.approx(a.opacity.evaluate(trimmed.start - a.start))
        assert project.timeline.find("B")[1].transition_in is not None
        edits.apply(project, undo)
        assert project.timeline.find("A")[1] == a


def test_an_old_slowed_clip_fading_out_keeps_its_fade_as_opacity():
    """Clip.2 files could hold a speed (it needed no new version); the picture faded by the
    curve over the clip's frames on the timeline, which a slowed clip has more of than source frames."""
    from engine.model.serialize import item_from_dict

    fade_out = [[0, 1.0, "linear"], [15, 1.0, "linear"], [19, 0.0, "linear"]]  # over timeline frames 15..19
    old = {"schema": "Clip.2", "id": "c", "start": 0, "media": "m", "source": [0, 10], "curve": fade_out}
    slowed = item_from_dict({**old, "speed": 0.5})  # 20 frames on the timeline: the fade showed
    assert slowed.range.duration == 20 and slowed.opacity == slowed.curve
    assert item_from_dict(old).opacity.is_default  # 10 frames: the curve was 1 on all of them
    fast = item_from_dict({**old, "speed": 2.0, "curve": [[0, 1.0, "linear"], [6, 0.0, "linear"]]})
    assert fast.range.duration == 5 and fast.opacity == fast.curve  # below 1 from frame 1 on


def test_a_split_title_fades_in_and_out_once_not_at_the_cut(tmp_path):
    from engine.model.effect_edits import add_title

    project, v1 = two_clips_at_a_cut(tmp_path)
    edits.add_track(project, "video", "Titles", track_id="titles")
    add_title(project, "titles", 10, "Hello", duration=40, title_id="t", fade_in=6, fade_out=8)
    title = project.timeline.find("t")[1]
    seen = [title.opacity_at(f - title.start) for f in range(10, 50)]
    edits.split(project, "t", 30, "t2")
    left, right = project.timeline.find("t")[1], project.timeline.find("t2")[1]
    parts = [left.opacity_at(f - left.start) if f < 30 else right.opacity_at(f - right.start) for f in range(10, 50)]
    assert parts == seen
    assert (left.fade_in, left.fade_out, right.fade_in, right.fade_out) == (6, 0, 0, 8)
