"""OpenTimelineIO interchange: timelines built with the opentimelineio library import with the
right frames; Kinora -> otio -> Kinora gives back the same project."""

from __future__ import annotations

import os
from fractions import Fraction
from pathlib import Path

import numpy as np
import opentimelineio as otio
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.errors import EditError, ProjectFileError
from engine.model import edits
from engine.model.curves import Curve, Keyframe
from engine.model.items import Clip, Marker, MediaRef, Still, TextBlock, frozen_mapping, new_id
from engine.model.otio_files import read_otio
from engine.model.otio_io import (
    PARTNER_KEY,
    PROMPT_GENERATOR,
    export_otio,
    import_otio,
    import_otio_string,
)
from engine.model.project import Track, new_project
from engine.model.serialize import load_project, save_project
from engine.time import FrameRange, FrameRate
from tests.model.factories import rich_project
from tests.model.test_edits import edit_steps

NTSC_24 = 24000 / 1001
NTSC_30 = 30000 / 1001


def rt(value, rate):
    return otio.opentime.RationalTime(value, rate)


def tr(start, duration, rate):
    return otio.opentime.TimeRange(rt(start, rate), rt(duration, rate))


def media_clip(name, path, source_start, duration, rate, *, media_frames=None, media_start=0, media_rate=None):
    media_rate = media_rate or rate
    available = tr(media_start, media_frames, media_rate) if media_frames is not None else None
    reference = otio.schema.ExternalReference(target_url=path, available_range=available)
    return otio.schema.Clip(name=name, media_reference=reference, source_range=tr(source_start, duration, rate))


def gap(duration, rate):
    return otio.schema.Gap(source_range=tr(0, duration, rate))


def dissolve(in_frames, out_frames, rate):
    return otio.schema.Transition(transition_type=otio.schema.TransitionTypes.SMPTE_Dissolve,
                                  in_offset=rt(in_frames, rate), out_offset=rt(out_frames, rate))


def track(kind, name, children):
    result = otio.schema.Track(name=name, kind=kind)
    for child in children:
        result.append(child)
    return result


def by_name(project, name):
    return next(t for t in project.timeline.tracks if t.name == name)


def spans(track):
    return [(item.start, item.range.stop) for item in track.items]


def through_a_file(project, tmp_path):
    timeline, warnings = export_otio(project, tmp_path / "cut.otio")
    back, import_warnings = import_otio(tmp_path / "cut.otio")
    return timeline, warnings, back, import_warnings


# --- Kinora -> otio -> Kinora -------------------------------------------------------------------


@pytest.mark.parametrize("rate", [24, "24000/1001", "30000/1001", 25])
def test_rich_project_round_trip_through_an_otio_file_is_identity(tmp_path, rate):
    project = rich_project(rate, root=str(tmp_path / "media"))
    timeline, warnings, back, import_warnings = through_a_file(project, tmp_path)
    assert back == project
    assert back.settings.rate.fps == FrameRate.parse(rate).fps
    assert import_warnings == []
    # the two curved items are announced; everything else maps
    assert warnings == ["2 item(s) have influence curves other editors cannot show; "
                        "the curves travel in the Kinora data of each clip"]
    # what another editor sees: video tracks bottom first, prompts as a video track, audio last
    kinds = [(t.name, t.kind, t.metadata["kinora"]["kind"]) for t in timeline.tracks]
    assert kinds == [("V1", "Video", "video"), ("V2", "Video", "video"), ("P1", "Video", "prompt"),
                     ("A1", "Audio", "audio")]
    v1 = timeline.tracks[0]
    assert [type(c).__name__ for c in v1] == ["Clip", "Gap", "Clip"]
    assert v1[0].media_reference.target_url == (tmp_path / "media" / "shot one.mp4").as_uri()
    assert v1[1].duration().value == 30  # the implicit gap between frames 100 and 130 is written out
    prompts = timeline.tracks[2]
    assert prompts[0].media_reference.generator_kind == PROMPT_GENERATOR
    assert prompts[0].media_reference.parameters["text"] == "a calm sea at dawn"
    assert [m.name for m in timeline.tracks.markers] == ["beat", "fix colour"]
    assert timeline.tracks.markers[0].color == "RED"


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                 HealthCheck.function_scoped_fixture])
@given(steps=edit_steps(), rate=st.sampled_from(["24000/1001", "30000/1001", 24, 30]))
def test_round_trip_after_random_edits_is_identity(tmp_path, steps, rate):
    project = rich_project(rate, root=str(tmp_path / "m"))
    for op, seed, frame, other in steps:
        try:
            op(project, seed, frame, other)
        except EditError:
            pass
    timeline, _ = export_otio(project)
    text = otio.adapters.write_to_string(timeline, "otio_json")  # through JSON, as a file would be
    back, warnings = import_otio_string(text)
    assert warnings == []
    assert back == project


def _ab_project(a_curve, b_curve, rate="30000/1001"):
    project = new_project(1280, 720, rate)
    ref = MediaRef(new_id(), "/footage/long.mov", "video", num_frames=2000, rate=FrameRate.parse(rate))
    edits.add_media(project, ref)
    v1 = project.timeline.tracks_of("video")[0]
    a = Clip(new_id(), 0, ref.id, FrameRange(100, 160), curve=a_curve, name="A")
    b = Clip(new_id(), 48, ref.id, FrameRange(500, 560), curve=b_curve, name="B")
    c = Clip(new_id(), 108, ref.id, FrameRange(900, 930), name="C")
    companion = Track(new_id(), "video", "V1 B", (b,), extra=frozen_mapping({PARTNER_KEY: v1.id}))
    tracks = project.timeline.tracks
    i = tracks.index(v1)
    tracks[i] = Track(v1.id, "video", "V1", (a, c))
    tracks.insert(i, companion)
    return project


def test_crossfading_companion_track_exports_as_one_track_with_a_dissolve(tmp_path):
    project = _ab_project(Curve.ramp(48, 60, 1.0, 0.0), Curve.ramp(0, 12, 0.0, 1.0))
    timeline, warnings, back, import_warnings = through_a_file(project, tmp_path)
    assert back == project and import_warnings == [] and warnings == []
    video = [t for t in timeline.tracks if t.kind == "Video" and t.metadata["kinora"]["kind"] == "video"]
    assert len(video) == 1
    children = list(video[0])
    assert [type(c).__name__ for c in children] == ["Clip", "Transition", "Clip", "Clip"]
    transition = children[1]
    assert transition.transition_type == otio.schema.TransitionTypes.SMPTE_Dissolve
    assert (transition.in_offset.value, transition.out_offset.value) == (6, 6)  # centred on the 12-frame overlap
    # A shows until the cut at 54, B from 54: the overlap lives only in the transition
    assert children[0].source_range.duration.value == 54
    assert children[2].source_range.start_time.value == 506
    assert video[0].range_of_child_at_index(3).start_time.value == 108


def test_non_crossfade_overlap_exports_separate_tracks_with_a_warning(tmp_path):
    project = _ab_project(Curve(), Curve.ramp(0, 12, 0.0, 0.5))
    timeline, warnings, back, _ = through_a_file(project, tmp_path)
    assert back == project
    assert any("'V1 B'" in w and "separate tracks" in w for w in warnings)
    assert sum(1 for t in timeline.tracks if t.kind == "Video") == 3  # V1, V1 B, P1
    assert not any(isinstance(c, otio.schema.Transition) for t in timeline.tracks for c in t)


@st.composite
def ab_layouts(draw):
    """(project, canonical): a video track with companion tracks holding clips joined by gaps,
    cuts or overlaps. Canonical layouts are what an editor's dissolves import as (linear
    crossfades, A/B roll lanes); the others overlap with any curves on any free lane."""
    canonical = draw(st.booleans())
    project = new_project(640, 360, draw(st.sampled_from(["24000/1001", "30000/1001", 25])))
    ref = MediaRef(new_id(), "/footage/roll.mov", "video", num_frames=5000, rate=project.rate)
    edits.add_media(project, ref)
    spans_, keys, incoming = [], [], 0
    for i in range(draw(st.integers(1, 7))):
        length = draw(st.integers(4, 40))
        start = draw(st.integers(0, 10))
        if spans_:
            previous_start, previous_stop = spans_[-1]
            mode = draw(st.sampled_from(["gap", "cut", "overlap", "overlap"]))
            room = previous_stop - previous_start - (incoming if canonical else 0)
            longest = min(room, length) - 1
            overlap = draw(st.integers(1, longest)) if mode == "overlap" and longest >= 1 else 0
            start = previous_stop + (start + 1 if mode == "gap" else -overlap)
        spans_.append((start, start + length))
        keys.append([])
        incoming = 0
        if i and spans_[-2][1] > start:
            incoming = overlap = spans_[-2][1] - start
            if canonical or draw(st.booleans()):
                keys[-2] += [Keyframe(start - spans_[-2][0], 1.0), Keyframe(spans_[-2][1] - spans_[-2][0], 0.0)]
                keys[-1] += [Keyframe(0, 0.0), Keyframe(overlap, 1.0)]
            else:
                keys[-1] += [Keyframe(draw(st.integers(0, overlap)), draw(st.floats(0, 1)), "smooth")]
    lanes: list[list[Clip]] = []
    previous_lane = None
    for (start, stop), frames in zip(spans_, keys, strict=True):
        clip = Clip(new_id(), start, ref.id, FrameRange(100 + start, 100 + stop), curve=Curve(tuple(frames)))
        free = [lane for lane in lanes if lane[-1].range.stop <= start]
        if canonical:  # the first free lane, never the previous one when they overlap
            free = [lane for lane in free if not (lane is previous_lane and previous_lane[-1].range.stop > start)]
            lane = free[0] if free else None
        else:
            lane = draw(st.sampled_from(free)) if free and draw(st.integers(0, 3)) else None
        if lane is None:
            lanes.append([])
            lane = lanes[-1]
        lane.append(clip)
        previous_lane = lane
    v1 = project.timeline.tracks_of("video")[0]
    companions = [Track(new_id(), "video", f"V1 {chr(66 + i)}", tuple(lane), extra=frozen_mapping({PARTNER_KEY: v1.id}))
                  for i, lane in enumerate(lanes[1:])]
    at = project.timeline.tracks.index(v1)
    project.timeline.tracks[at:at + 1] = [*reversed(companions), Track(v1.id, "video", "V1", tuple(lanes[0]))]
    return project, canonical


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(layout=ab_layouts())
def test_ab_layouts_round_trip_merged_or_separate(layout):
    project, canonical = layout
    timeline, warnings = export_otio(project)
    back, import_warnings = import_otio_string(otio.adapters.write_to_string(timeline, "otio_json"))
    assert back == project and import_warnings == []
    video = [t for t in timeline.tracks if t.metadata["kinora"]["kind"] == "video"]
    separate = any("separate tracks" in w for w in warnings)
    assert not (canonical and separate), warnings
    if not separate:
        assert len(video) == 1  # merged: every overlap went out as a dissolve
        transitions = sum(isinstance(child, otio.schema.Transition) for child in video[0])
        items = sorted((i for t in project.timeline.tracks_of("video") for i in t.items), key=lambda i: i.start)
        assert transitions == sum(a.range.stop > b.start for a, b in zip(items, items[1:], strict=False))
    else:
        assert len(video) == len(project.timeline.tracks_of("video"))


# --- otio timelines from other editors ------------------------------------------------------------


def test_ntsc_23976_timeline_with_gaps_and_tracks_imports_with_exact_frames(tmp_path):
    # as Resolve writes it: the float rate 23.976 and media with a 01:00:00:00 start timecode
    rate = 23.976
    hour = 86400
    v1 = track("Video", "Video 1", [
        media_clip("a", "file:///footage/a%20b.mov", hour + 10, 48, rate, media_frames=500, media_start=hour),
        gap(24, rate),
        media_clip("b", "/footage/b.mov", 0, 30, rate),
    ])
    v2 = track("Video", "Video 2", [gap(60, rate), media_clip("title", "/footage/card.png", 0, 12, rate)])
    a1 = track("Audio", "Audio 1", [media_clip("a", "file:///footage/a%20b.mov", hour + 10, 102, rate,
                                               media_frames=500, media_start=hour)])
    timeline = otio.schema.Timeline("cut", tracks=[v1, v2, a1])
    project, warnings = import_otio(timeline)
    assert warnings == []
    assert project.rate.fps == Fraction(24000, 1001)
    assert [t.name for t in project.timeline.tracks] == ["Video 2", "Video 1", "Audio 1"]
    assert [t.kind for t in project.timeline.tracks] == ["video", "video", "audio"]
    first, second = by_name(project, "Video 1").items
    assert (first.start, first.source_range) == (0, FrameRange(10, 58))
    assert (second.start, second.source_range) == (72, FrameRange(0, 30))
    (title,) = by_name(project, "Video 2").items
    assert isinstance(title, Still) and title.range == FrameRange(60, 72)
    (sound,) = by_name(project, "Audio 1").items
    assert sound.media_id == first.media_id and sound.source_range == FrameRange(10, 112)
    ref = project.media[first.media_id]
    assert (ref.path, ref.kind, ref.num_frames, ref.rate, ref.has_audio) == (
        "/footage/a b.mov", "video", 500, FrameRate(Fraction(24000, 1001)), True)
    assert project.media[title.media_id].kind == "image"
    # and back out: the media keeps its start timecode
    out, _ = export_otio(project)
    clip = out.tracks[0][0]
    assert clip.source_range.start_time.value == hour + 10
    assert clip.media_reference.available_range.start_time.value == hour


def test_ntsc_2997_transitions_become_ab_tracks_with_crossing_curves():
    rate = NTSC_30
    v1 = track("Video", "V1", [
        media_clip("A", "/f/a.mov", 100, 60, rate, media_frames=1000),
        dissolve(6, 4, rate),
        media_clip("B", "/f/b.mov", 200, 40, rate, media_frames=1000),
        dissolve(5, 5, rate),
        media_clip("C", "/f/c.mov", 300, 50, rate, media_frames=1000),
        gap(10, rate),
        media_clip("D", "/f/d.mov", 0, 20, rate, media_frames=1000),
    ])
    project, warnings = import_otio(otio.schema.Timeline(tracks=[v1]))
    assert warnings == []
    assert project.rate.fps == Fraction(30000, 1001)
    tracks = project.timeline.tracks
    assert [t.name for t in tracks] == ["V1 B", "V1"]  # the companion sits directly above
    companion, original = tracks
    assert companion.extra[PARTNER_KEY] == original.id
    a, c, d = original.items
    (b,) = companion.items
    assert (a.start, a.source_range) == (0, FrameRange(100, 164))  # runs on by out_offset 4
    assert (b.start, b.source_range) == (54, FrameRange(194, 245))  # starts in_offset 6 early, runs on 5
    assert (c.start, c.source_range) == (95, FrameRange(295, 350))
    assert (d.start, d.source_range) == (160, FrameRange(0, 20))
    # crossing linear curves: over each overlap the two influences fall/rise and sum to one
    overlap = np.arange(54, 64)
    fade_out, fade_in = a.curve.evaluate(overlap - a.start), b.curve.evaluate(overlap - b.start)
    assert np.allclose(fade_out + fade_in, 1.0)
    assert fade_out[0] == 1.0 and fade_in[0] == 0.0 and np.all(np.diff(fade_out) < 0)
    second = np.arange(95, 105)
    assert np.allclose(b.curve.evaluate(second - b.start) + c.curve.evaluate(second - c.start), 1.0)
    assert b.curve.evaluate(np.array([20.0]))[0] == 1.0  # full strength between its two dissolves
    assert d.curve.is_default
    # exporting folds the pair back into one track with two dissolves
    out, out_warnings = export_otio(project)
    assert out_warnings == []
    assert [type(x).__name__ for x in out.tracks[0]] == ["Clip", "Transition", "Clip", "Transition", "Clip",
                                                         "Gap", "Clip"]
    again, _ = import_otio(out)
    assert again == project


def test_half_frame_times_round_half_up_and_other_rates_are_rescaled():
    v1 = track("Video", "V1", [
        media_clip("a", "/f/a.mov", 0, 24, 24),
        otio.schema.Gap(source_range=tr(0, 1, 48)),  # half a frame at 24 fps
        media_clip("b", "/f/b.mov", 0, 24, 24),
        media_clip("thirty", "/f/c.mov", 15, 25, 30),  # 0.5 s into the media, lasting 25/30 s
    ])
    project, warnings = import_otio(otio.schema.Timeline(tracks=[v1]))
    assert project.rate.fps == 24
    a, b, c = project.timeline.tracks[0].items
    assert spans(project.timeline.tracks[0]) == [(0, 24), (25, 49), (49, 69)]
    # 24.5 rounds up to 25; 48.5 + 20.83 = 69.33 rounds to 69; the source starts at 0.5 s = frame 12
    assert c.source_range == FrameRange(12, 32)
    assert len(warnings) == 2 and all("between frames" in w for w in warnings)
    assert "'b'" in warnings[0] and "'thirty'" in warnings[1]
    forced, _ = import_otio(otio.schema.Timeline(tracks=[v1]), rate=48)
    assert spans(forced.timeline.tracks[0]) == [(0, 48), (49, 97), (97, 137)]


def test_markers_on_stack_tracks_and_clips_become_timeline_markers():
    rate = NTSC_24
    clip = media_clip("shot", "/f/a.mov", 100, 48, rate)
    clip.markers.append(otio.schema.Marker(name="on clip", marked_range=tr(110, 0, rate), color="CYAN"))
    v1 = track("Video", "V1", [gap(12, rate), clip])
    v1.markers.append(otio.schema.Marker(name="on track", marked_range=tr(5, 2, rate), color="YELLOW"))
    timeline = otio.schema.Timeline(tracks=[v1])
    timeline.tracks.markers.append(otio.schema.Marker(name="cut", marked_range=tr(30, 6, rate), color="PURPLE",
                                                      comment="tighten"))
    project, warnings = import_otio(timeline)
    assert project.rate.fps == Fraction(24000, 1001)
    markers = {m.name: m for m in project.timeline.markers}
    assert markers["cut"] == Marker(FrameRange(30, 36), "cut", "purple", "tighten")
    assert markers["on track"].range == FrameRange(5, 7) and markers["on track"].color == "yellow"
    assert markers["on clip"].range == FrameRange(22, 22)  # 12 + (110 - 100)
    assert warnings == ["marker 'on clip' on 'shot' on track 'V1' became a timeline marker at 00:00:00:22"]


def test_what_cannot_be_mapped_is_imported_as_far_as_possible_with_warnings():
    rate = 25
    slowed = media_clip("slow", "/f/a.mov", 0, 25, rate)
    slowed.effects.append(otio.schema.LinearTimeWarp(name="half speed", time_scalar=0.5))
    blurred = media_clip("blurred", "/f/b.mov", 0, 10, rate)
    blurred.effects.append(otio.schema.Effect(name="blur", effect_name="Gaussian Blur"))
    sequence = otio.schema.Clip(name="frames", source_range=tr(0, 10, rate),
                                media_reference=otio.schema.ImageSequenceReference(
                                    target_url_base="/f/seq/", name_prefix="f.", name_suffix=".exr", rate=rate))
    missing = otio.schema.Clip(name="offline", source_range=tr(0, 5, rate))
    solid = otio.schema.Clip(name="bars", source_range=tr(0, 5, rate),
                             media_reference=otio.schema.GeneratorReference(generator_kind="SMPTEBars"))
    nested = otio.schema.Stack(name="compound")
    nested.append(track("Video", "inner", [media_clip("x", "/f/x.mov", 0, 8, rate)]))
    after = media_clip("after", "/f/c.mov", 0, 10, rate)
    v1 = track("Video", "V1", [slowed, blurred, sequence, missing, solid, nested, after])
    project, warnings = import_otio(otio.schema.Timeline(tracks=[v1]))
    items = project.timeline.tracks[0].items
    assert [(i.name, i.start, i.range.stop) for i in items] == [("slow", 0, 25), ("blurred", 25, 35),
                                                               ("offline", 45, 50), ("after", 63, 73)]
    assert project.media[items[2].media_id].path == os.path.join(os.getcwd(), "offline")
    joined = "\n".join(warnings)
    assert len(warnings) == 6
    assert "'slow'" in joined and "LinearTimeWarp 'half speed'" in joined
    assert "'blurred'" in joined and "effect 'blur (Gaussian Blur)'" in joined
    assert "'frames'" in joined and "ImageSequenceReference" in joined
    assert "'offline'" in joined and "MissingReference" in joined and "relink" in joined
    assert "'bars'" in joined and "SMPTEBars" in joined
    assert "nested Stack 'compound'" in joined


def test_transitions_without_handles_or_next_to_gaps_import_as_cuts_with_warnings():
    rate = 24
    v1 = track("Video", "V1", [
        media_clip("a", "/f/a.mov", 0, 24, rate, media_frames=26),  # only 2 frames after its end
        dissolve(4, 4, rate),
        media_clip("b", "/f/b.mov", 50, 24, rate),
        dissolve(3, 3, rate),
        media_clip("c", "/f/c.mov", 2, 24, rate),  # only 2 frames before its start
        dissolve(2, 2, rate),
        gap(10, rate),
    ])
    project, warnings = import_otio(otio.schema.Timeline(tracks=[v1]))
    assert len(project.timeline.tracks) == 1
    assert spans(project.timeline.tracks[0]) == [(0, 24), (24, 48), (48, 72)]
    assert all(item.curve.is_default for item in project.timeline.tracks[0].items)
    assert len(warnings) == 3
    assert "'a' lacks 2 frame(s) of media after its end" in warnings[0]
    assert "'c' lacks 1 frame(s) of media before its start" in warnings[1]
    assert "gap" in warnings[2]


def test_kinora_data_fills_in_when_another_editor_trimmed_and_duplicated(tmp_path):
    project = rich_project(24, root=str(tmp_path))
    timeline, _ = export_otio(project)
    v2 = next(t for t in timeline.tracks if t.name == "V2")
    generated = next(c for c in v2 if isinstance(c, otio.schema.Clip))
    original = project.timeline.find(generated.metadata["kinora"]["id"])[1]
    # the other editor trims 5 frames off the head and pastes a copy (metadata and all) later on
    generated.source_range = tr(5, 55, 24)
    v2.insert(0, gap(5, 24))
    v2.append(gap(100, 24))
    v2.append(generated.deepcopy())
    back, warnings = import_otio(timeline)
    assert warnings == []
    trimmed, copy = by_name(back, "V2").items
    assert (trimmed.start, trimmed.source_range) == (95, FrameRange(5, 60))  # the otio timing wins
    assert trimmed.id == original.id and trimmed.generation == original.generation
    assert trimmed.extra == original.extra and trimmed.name == original.name
    # the curve stays on the same source frames: local frame 15 now is local frame 20 before
    assert trimmed.curve.evaluate(np.array([15.0]))[0] == original.curve.evaluate(np.array([20.0]))[0]
    assert copy.id != trimmed.id and copy.generation == original.generation


def test_renamed_and_recoloured_in_another_editor_keeps_the_new_names(tmp_path):
    project = rich_project(24, root=str(tmp_path))
    timeline, _ = export_otio(project)
    clip = timeline.tracks[0][0]
    clip.name = "renamed"
    timeline.tracks.markers[0].color = "GREEN"
    back, _ = import_otio(timeline)
    assert back.timeline.find(clip.metadata["kinora"]["id"])[1].name == "renamed"
    assert back.timeline.markers[0].color == "green" and back.timeline.markers[1].color == "blue"


def test_hidden_and_muted_tracks_map_to_disabled_otio_tracks(tmp_path):
    project = rich_project(24, root=str(tmp_path))
    tracks = project.timeline.tracks
    for i, t in enumerate(tracks):
        tracks[i] = Track(t.id, t.kind, t.name, t.items, muted=t.kind == "audio", hidden=t.name == "V2")
    timeline, _ = export_otio(project)
    assert {t.name: t.enabled for t in timeline.tracks} == {"V1": True, "V2": False, "P1": True, "A1": False}
    for t in timeline.tracks:
        t.metadata.pop("kinora")
    back, _ = import_otio(timeline)
    assert by_name(back, "V2").hidden and by_name(back, "A1").muted and not by_name(back, "V1").hidden


# --- files --------------------------------------------------------------------------------------


def test_export_writes_atomically_and_replaces_an_old_file(tmp_path):
    target = tmp_path / "cut.otio"
    target.write_text("old")
    export_otio(rich_project(24, root=str(tmp_path)), target)
    assert isinstance(read_otio(target), otio.schema.Timeline)
    assert os.listdir(tmp_path) == ["cut.otio"]


@pytest.mark.parametrize(("content", "reason"), [
    ("", "not a readable OpenTimelineIO file"),
    ("{not json", "not a readable OpenTimelineIO file"),
    (otio.adapters.write_to_string(otio.schema.Clip(name="x"), "otio_json"), "holds no timeline"),
])
def test_bad_otio_files_raise_project_file_error_naming_the_file(tmp_path, content, reason):
    path = tmp_path / "bad.otio"
    path.write_text(content)
    with pytest.raises(ProjectFileError, match=reason) as info:
        import_otio(path)
    assert str(path) in str(info.value)


def test_missing_otio_file_is_a_project_file_error(tmp_path):
    with pytest.raises(ProjectFileError, match=r"nothere\.otio does not exist"):
        import_otio(tmp_path / "nothere.otio")


def test_relative_media_paths_resolve_against_the_otio_file(tmp_path):
    v1 = track("Video", "V1", [media_clip("a", "media/a.mov", 0, 10, 24)])
    otio.adapters.write_to_file(otio.schema.Timeline(tracks=[v1]), str(tmp_path / "cut.otio"))
    project, _ = import_otio(tmp_path / "cut.otio")
    assert [ref.path for ref in project.media.values()] == [str(tmp_path / "media" / "a.mov")]


def test_prompt_clip_outside_a_prompt_track_is_reported():
    prompt = otio.schema.Clip(name="p", source_range=tr(0, 10, 24), media_reference=otio.schema.GeneratorReference(
        generator_kind=PROMPT_GENERATOR, parameters={"text": "a cat"}))
    project, warnings = import_otio(otio.schema.Timeline(tracks=[track("Video", "V1", [prompt])]))
    assert project.timeline.tracks[0].items == ()
    assert len(warnings) == 1 and "prompt on a video track" in warnings[0]


def test_text_block_survives_when_the_prompt_track_comes_back():
    project = new_project(640, 360, 24)
    prompt_track = project.timeline.tracks_of("prompt")[0]
    edits.insert(project, prompt_track.id, TextBlock(new_id(), 12, 30, "a cat", "dog"))
    timeline, _ = export_otio(project)
    back, warnings = import_otio(timeline)
    assert back == project and warnings == []
    (text,) = back.timeline.tracks_of("prompt")[0].items
    assert (text.range, text.text, text.negative) == (FrameRange(12, 42), "a cat", "dog")


def test_keyframe_shapes_survive_exactly():
    project = _ab_project(Curve((Keyframe(0, 0.25, "hold"), Keyframe(7.5, 0.75, "smooth"), Keyframe(30, 1.0))),
                          Curve.ramp(0, 12, 0.0, 1.0))
    back, _ = import_otio(export_otio(project)[0])
    assert back == project


# --- command line -------------------------------------------------------------------------------


def test_cli_export_then_import_gives_the_project_back_and_prints_warnings(tmp_path, capsys):
    from engine.cli import main
    from engine.model.serialize import load_project, save_project

    project = rich_project("24000/1001", root=str(tmp_path / "media"))
    save_project(project, tmp_path / "in.kinora")
    assert main(["otio", "export", str(tmp_path / "in.kinora"), "-o", str(tmp_path / "cut.otio")]) == 0
    out, err = capsys.readouterr()
    assert "cut.otio" in out
    assert err.splitlines() == ["warning: 2 item(s) have influence curves other editors cannot show; "
                                "the curves travel in the Kinora data of each clip"]
    assert main(["otio", "import", str(tmp_path / "cut.otio"), "-o", str(tmp_path / "back.kinora")]) == 0
    out, err = capsys.readouterr()
    assert err == "" and "back.kinora" in out
    assert load_project(tmp_path / "back.kinora") == project


def test_cli_import_reports_a_bad_file_or_rate_in_one_line(tmp_path, capsys):
    from engine.cli import main

    (tmp_path / "bad.otio").write_text("{not json")
    assert main(["otio", "import", str(tmp_path / "bad.otio"), "-o", str(tmp_path / "x.kinora")]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "bad.otio is not a readable OpenTimelineIO file" in err
    timeline = otio.schema.Timeline(tracks=[track("Video", "V1", [media_clip("a", "/f/a.mov", 0, 10, 24)])])
    otio.adapters.write_to_file(timeline, str(tmp_path / "ok.otio"))
    assert main(["otio", "import", str(tmp_path / "ok.otio"), "-o", str(tmp_path / "x.kinora"), "--rate", "fast"]) == 2
    assert "--rate 'fast' is not a frame rate" in capsys.readouterr().err
    assert not (tmp_path / "x.kinora").exists()
    assert main(["otio", "import", str(tmp_path / "ok.otio"), "-o", str(tmp_path / "x.kinora"), "--rate", "29.97"]) == 0
    assert "at 29.97 fps" in capsys.readouterr().out


def test_unnamed_tracks_get_kinora_names_and_a_collection_imports_its_first_timeline(tmp_path):
    first = otio.schema.Timeline("first", tracks=[track("Video", "", [media_clip("a", "/f/a.mov", 0, 10, 24)]),
                                                  track("Video", "", []), track("Audio", "", [])])
    collection = otio.schema.SerializableCollection(children=[first, otio.schema.Timeline("second")])
    otio.adapters.write_to_file(collection, str(tmp_path / "two.otio"))
    project, warnings = import_otio(tmp_path / "two.otio")
    assert [t.name for t in project.timeline.tracks] == ["V2", "V1", "A1"]
    assert warnings == [f"{tmp_path / 'two.otio'} holds 2 timelines; imported the first, 'first'"]


def test_media_relinked_or_lost_in_another_editor(tmp_path):
    project = rich_project(24, root=str(tmp_path))
    timeline, _ = export_otio(project)
    v1 = timeline.tracks[0]
    opening, still = v1[0], v1[2]
    opening.media_reference = otio.schema.MissingReference()  # the path was lost: Kinora's data knows the media
    still.media_reference.target_url = "/elsewhere/new card.png"  # relinked: the new file wins
    back, warnings = import_otio(timeline)
    assert warnings == []
    kept = back.timeline.find(opening.metadata["kinora"]["id"])[1]
    assert kept.media_id == opening.metadata["kinora"]["media"]
    relinked = back.timeline.find(still.metadata["kinora"]["id"])[1]
    assert back.media[relinked.media_id].path == "/elsewhere/new card.png"
    assert back.media[relinked.media_id].kind == "image" and isinstance(relinked, Still)
    assert len(back.media) == len(project.media) + 1  # the old card stays in the bin


def test_empty_companion_track_and_flags_survive_a_merged_export():
    project = _ab_project(Curve.ramp(48, 60, 1.0, 0.0), Curve.ramp(0, 12, 0.0, 1.0))
    tracks = project.timeline.tracks
    v1 = next(t for t in tracks if t.name == "V1")
    tracks.insert(0, Track(new_id(), "video", "V1 C", (), locked=True, extra=frozen_mapping({PARTNER_KEY: v1.id})))
    timeline, warnings = export_otio(project)
    assert warnings == []
    assert [t.name for t in timeline.tracks] == ["V1", "P1", "A1"]
    back, _ = import_otio(timeline)
    assert back == project


def test_items_kinora_refuses_are_trimmed_or_left_out_with_warnings(tmp_path):
    rate = 24
    v1 = track("Video", "V1", [media_clip("long", "/f/a.mov", 90, 30, rate, media_frames=100)])
    a1 = track("Audio", "A1", [media_clip("card", "/f/card.png", 0, 10, rate),
                               media_clip("late", "/f/a.mov", 120, 10, rate, media_frames=100)])
    project, warnings = import_otio(otio.schema.Timeline(tracks=[v1, a1]))
    (clip,) = by_name(project, "V1").items
    assert (clip.start, clip.source_range) == (0, FrameRange(90, 100))  # the media has 100 frames
    assert by_name(project, "A1").items == ()
    assert len(warnings) == 3
    assert "'long'" in warnings[0] and "trimmed to end at frame 10" in warnings[0]
    assert "'late'" in warnings[1] and "starts after the end of its media" in warnings[1]
    assert "track 'A1'" in warnings[2] and "it was not imported" in warnings[2]
    save_path = tmp_path / "p.kinora"
    from engine.model.serialize import load_project, save_project
    save_project(project, save_path)
    assert load_project(save_path) == project


def test_impossible_rates_are_a_project_file_error(tmp_path):
    v1 = track("Video", "V1", [media_clip("a", "/f/a.mov", 0, 10, 24)])
    v1.markers.append(otio.schema.Marker(name="bad", marked_range=tr(5, 1, -24)))
    otio.adapters.write_to_file(otio.schema.Timeline(tracks=[v1]), str(tmp_path / "bad rate.otio"))
    with pytest.raises(ProjectFileError, match=r"bad rate\.otio holds times Kinora cannot use"):
        import_otio(tmp_path / "bad rate.otio")


def test_project_rate_is_the_rate_most_of_the_cut_uses():
    # Premiere writes a 15 fps file's clip at 15 fps inside a 30 fps sequence
    v1 = track("Video", "V1", [gap(536, 30), media_clip("anim", "/f/anim.mov", 0, 50, 15, media_frames=100,
                                                          media_rate=30), gap(10, 30)])
    timeline = otio.schema.Timeline(tracks=[v1], global_start_time=rt(0, 30))
    project, warnings = import_otio(timeline)
    assert project.rate.fps == 30 and warnings == []
    (clip,) = project.timeline.tracks[0].items
    assert (clip.start, clip.source_range) == (536, FrameRange(0, 100))
    alone, _ = import_otio(otio.schema.Timeline(tracks=[track("Video", "V1", [media_clip("a", "/f/a.mov", 0, 5, 15)])]))
    assert alone.rate.fps == 15


def test_fcp7_xml_from_other_editors_imports(tmp_path):
    from engine.model.otio_io import import_otio

    rate = 24
    track = otio.schema.Track(kind=otio.schema.TrackKind.Video)
    for name, start, length in (("a", 0, 48), ("b", 10, 24)):
        track.append(otio.schema.Clip(
            name=name, media_reference=otio.schema.ExternalReference(
                target_url=f"file://{tmp_path}/{name}.mov",
                available_range=otio.opentime.TimeRange(otio.opentime.RationalTime(0, rate),
                                                        otio.opentime.RationalTime(200, rate))),
            source_range=otio.opentime.TimeRange(otio.opentime.RationalTime(start, rate),
                                                 otio.opentime.RationalTime(length, rate))))
    timeline = otio.schema.Timeline(name="cut")
    timeline.tracks.append(track)
    otio.adapters.write_to_file(timeline, str(tmp_path / "cut.xml"))
    project, _ = import_otio(str(tmp_path / "cut.xml"))
    [video] = project.timeline.tracks_of("video")
    assert [(i.start, i.source_range) for i in video.items] == [(0, FrameRange(0, 48)), (48, FrameRange(10, 34))]


def test_xml_with_entities_is_refused_before_parsing(tmp_path):
    from engine.model.otio_io import import_otio

    laughs = "".join(f'<!ENTITY lol{i} "{f"&lol{i - 1};" * 10 if i else "lol"}">' for i in range(10))
    (tmp_path / "bomb.xml").write_text(f'<?xml version="1.0"?><!DOCTYPE xmeml [{laughs}]><xmeml>&lol9;</xmeml>')
    with pytest.raises(ProjectFileError, match="declares XML entities"):
        import_otio(str(tmp_path / "bomb.xml"))


@pytest.mark.parametrize("rate", [24, NTSC_30])
def test_a_still_keeps_its_source_start_through_import_and_export(tmp_path, rate):
    """A still shows the same picture wherever its source starts, but the other editor's cut
    names a start (5 frames in): it comes back out unchanged, not moved to 0."""
    title = media_clip("title", "/footage/card.png", 5, 12, rate)
    card = media_clip("card", "/footage/card.png", 0, 6, rate)
    timeline = otio.schema.Timeline("cut", tracks=[track("Video", "V1", [title, gap(3, rate), card])])
    project, warnings = import_otio(timeline)
    assert warnings == []
    first, second = by_name(project, "V1").items
    assert isinstance(first, Still) and first.range == FrameRange(0, 12)
    save_project(project, tmp_path / "cut.kinora")  # the start survives the project file too
    out, warnings = export_otio(load_project(tmp_path / "cut.kinora"))
    assert warnings == []
    out_title, _, out_card = out.tracks[0]
    assert out_title.source_range == tr(5, 12, rate)
    assert out_card.source_range == tr(0, 6, rate)
    assert "otio" not in str(dict(second.extra))  # a still starting at 0 carries nothing extra
    again, _ = import_otio(out)
    assert [(i.start, i.duration, dict(i.extra)) for i in by_name(again, "V1").items] == [
        (i.start, i.duration, dict(i.extra)) for i in by_name(project, "V1").items]


def test_a_still_moved_in_its_source_by_another_editor_takes_the_new_start(tmp_path):
    project, _ = import_otio(otio.schema.Timeline("cut", tracks=[
        track("Video", "V1", [media_clip("title", "/footage/card.png", 5, 12, 24)])]))
    out, _ = export_otio(project)
    out.tracks[0][0].source_range = tr(8, 12, 24)  # the other editor slips the still: its data says 5
    back, _ = import_otio(out)
    out_again, _ = export_otio(back)
    assert out_again.tracks[0][0].source_range == tr(8, 12, 24)


# --- hostile files and outputs that are inputs --------------------------------------------------


def _kinora(*argv: str):
    import subprocess
    import sys

    repo = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    # a child process: before the depth check these inputs crashed the interpreter (SIGSEGV)
    return subprocess.run([sys.executable, "-m", "engine.cli", *argv], capture_output=True, text=True, cwd=repo,
                          timeout=120)


def _deep_timeline_text(levels: int) -> str:
    return '{"OTIO_SCHEMA": "Timeline.1", "metadata": ' + '{"a": ' * levels + "1" + "}" * levels + "}"


def test_deeply_nested_otio_is_refused_before_otio_parses_it(tmp_path):
    import zipfile

    (tmp_path / "deep.otio").write_text(_deep_timeline_text(50_000))  # 300 KB
    result = _kinora("otio", "import", str(tmp_path / "deep.otio"), "-o", str(tmp_path / "x.kinora"))
    assert result.returncode == 2 and "nested more than 256 levels" in result.stderr
    assert result.stderr.count("\n") == 1 and not (tmp_path / "x.kinora").exists()
    with zipfile.ZipFile(tmp_path / "deep.otioz", "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("content.otio", _deep_timeline_text(50_000))
    with pytest.raises(ProjectFileError, match="deep.otioz is refused: its data is nested"):
        import_otio(tmp_path / "deep.otioz")
    (tmp_path / "deep.otiod").mkdir()
    (tmp_path / "deep.otiod" / "content.otio").write_text(_deep_timeline_text(50_000))
    with pytest.raises(ProjectFileError, match="deep.otiod is refused"):
        import_otio(tmp_path / "deep.otiod")
    with pytest.raises(ProjectFileError, match="the OpenTimelineIO text is refused"):
        import_otio_string(_deep_timeline_text(50_000))
    # strings may hold any brackets: only structure counts
    timeline = otio.schema.Timeline("[[[[" * 100, tracks=[track("Video", "V1", [])])
    assert import_otio_string(otio.adapters.write_to_string(timeline, "otio_json"))[0].timeline.tracks


def test_an_otioz_whose_timeline_expands_past_the_cap_is_refused_unread(tmp_path):
    import zipfile

    from engine.model.otio_files import MAX_OTIO_BYTES

    with zipfile.ZipFile(tmp_path / "bomb.otioz", "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("content.otio", b" " * (MAX_OTIO_BYTES + 1))
    assert os.path.getsize(tmp_path / "bomb.otioz") < 200_000
    result = _kinora("otio", "import", str(tmp_path / "bomb.otioz"), "-o", str(tmp_path / "x.kinora"))
    assert result.returncode == 2 and "expands to 64 MiB" in result.stderr and result.stderr.count("\n") == 1


def test_otio_commands_never_write_over_their_own_inputs(tmp_path):
    from engine.model.serialize import save_project

    project = rich_project("24", root=str(tmp_path / "media"))
    save_project(project, tmp_path / "in.kinora")
    assert _kinora("otio", "export", str(tmp_path / "in.kinora"), "-o", str(tmp_path / "cut.otio")).returncode == 0
    os.symlink(tmp_path / "cut.otio", tmp_path / "link.otio")
    media_file = next(iter(project.media.values())).path
    os.makedirs(os.path.dirname(media_file), exist_ok=True)
    Path(media_file).write_bytes(b"footage")
    before = {path: Path(path).read_bytes() for path in (tmp_path / "in.kinora", tmp_path / "cut.otio", media_file)}
    for argv in (("import", str(tmp_path / "cut.otio"), "-o", str(tmp_path / "cut.otio")),
                 ("import", str(tmp_path / "link.otio"), "-o", str(tmp_path / "cut.otio")),
                 ("import", str(tmp_path / "cut.otio"), "-o", media_file),
                 ("export", str(tmp_path / "in.kinora"), "-o", str(tmp_path / "in.kinora")),
                 ("export", str(tmp_path / "in.kinora"), "-o", media_file)):
        result = _kinora("otio", *argv)
        assert result.returncode == 2 and "own files" in result.stderr and result.stderr.count("\n") == 1, argv
    assert {path: Path(path).read_bytes() for path in before} == before
