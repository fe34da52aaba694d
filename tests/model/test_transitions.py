"""Transitions on a cut and opacity keyframes: the edits, their inverses, the file format and
the upgrade of projects from before opacity existed."""

from __future__ import annotations

import json

import pytest

from engine.errors import EditError
from engine.model import edits, transition_edits, transitions
from engine.model.curves import Curve, Keyframe
from engine.model.items import Clip, MediaRef, Still
from engine.model.project import new_project
from engine.model.serialize import CURRENT, load_project, project_to_dict, save_project
from engine.model.transition import Transition
from engine.time import FrameRange, FrameRate


def two_clips_at_a_cut(tmp_path):
    """A [10, 34) of a 48-frame file then B [12, 36) of another, touching at frame 24."""
    project = new_project(64, 48, 24)
    for media_id in ("a", "b"):
        edits.add_media(project, MediaRef(media_id, str(tmp_path / f"{media_id}.mp4"), "video", 48, FrameRate(24)))
    v1 = project.timeline.tracks_of("video")[0].id
    edits.insert(project, v1, Clip("A", 0, "a", FrameRange(10, 34)))
    edits.insert(project, v1, Clip("B", 24, "b", FrameRange(12, 36)))
    return project, v1


def test_a_transition_is_centred_on_the_cut_and_undoes(tmp_path):
    project, v1 = two_clips_at_a_cut(tmp_path)
    before = project_to_dict(project, str(tmp_path))
    undo = transition_edits.add_transition(project, "B", Transition("dissolve", 9))
    span = transitions.span_at(project.timeline.track(v1), 24)
    assert span.frames == FrameRange(20, 29) and span.outgoing.id == "A" and span.incoming.id == "B"
    assert span.progress(24) == pytest.approx(0.5)  # odd length: the middle frame is half and half
    assert transitions.span_at(project.timeline.track(v1), 19) is None
    assert transitions.span_at(project.timeline.track(v1), 29) is None
    edits.apply(project, undo)
    assert project_to_dict(project, str(tmp_path)) == before


def test_duration_is_kept_within_the_handles(tmp_path):
    project, _ = two_clips_at_a_cut(tmp_path)
    # A has 48 - 34 = 14 spare frames after it, B has 12 before it: at most 2 * 12 + 1 = 25.
    transition_edits.add_transition(project, "B", Transition("dip", 100))
    assert project.timeline.find("B")[1].transition_in.duration == 25
    edits.trim_start(project, "B", 36)  # B now starts at source frame 24 but no longer touches A
    assert transitions.span_at(project.timeline.tracks_of("video")[0], 30) is None


def test_no_transition_without_a_cut_or_handles(tmp_path):
    project, v1 = two_clips_at_a_cut(tmp_path)
    edits.move(project, "B", 30)
    with pytest.raises(EditError, match="does not start where another item ends"):
        transition_edits.add_transition(project, "B", Transition())
    edits.remove(project, "A")
    edits.remove(project, "B")
    edits.insert(project, v1, Clip("A", 0, "a", FrameRange(24, 48)))  # to the end of its file
    edits.insert(project, v1, Clip("B", 24, "b", FrameRange(0, 24)))  # from the start of its file
    with pytest.raises(EditError, match="no spare frames"):
        transition_edits.add_transition(project, "B", Transition())
    with pytest.raises(EditError, match="no cut"):
        transition_edits.incoming_at_cut(project, project.timeline.tracks_of("prompt")[0].id, 0)


def test_split_leaves_the_transition_on_the_left_part_and_shifts_opacity(tmp_path):
    project, _ = two_clips_at_a_cut(tmp_path)
    transition_edits.add_transition(project, "B", Transition("wipe", 8, direction="up"))
    transition_edits.set_opacity(project, "B", Curve.ramp(0, 20, 1.0, 0.0))
    edits.split(project, "B", 34, "B2")
    left, right = project.timeline.find("B")[1], project.timeline.find("B2")[1]
    assert left.transition_in == Transition("wipe", 8, direction="up") and right.transition_in is None
    assert right.opacity.evaluate(0) == pytest.approx(0.5)  # frame 34 is 10 frames into B's ramp
    assert left.curve.is_default and right.curve.is_default  # the hold curve is separate


def test_round_trip_keeps_transitions_and_opacity(tmp_path):
    project, _ = two_clips_at_a_cut(tmp_path)
    edits.add_media(project, MediaRef("img", str(tmp_path / "still.png"), "image"))
    edits.insert(project, project.timeline.tracks_of("video")[0].id, Still("S", 48, 10, "img"))
    transition_edits.add_transition(project, "B", Transition("dip", 10, color="#ffffff"))
    transition_edits.add_transition(project, "S", Transition("wipe", 6, direction="left"))
    transition_edits.set_opacity(project, "A", Curve((Keyframe(0, 0.0), Keyframe(6, 1.0, "smooth"))))
    edits.set_curve(project, "A", Curve.flat(0.4))
    save_project(project, tmp_path / "p.kinora")
    data = json.loads((tmp_path / "p.kinora").read_text())
    items = data["timeline"]["tracks"][1]["items"]
    assert items[1]["transition_in"] == {"schema": "Transition.1", "kind": "dip", "duration": 10,
                                         "color": "#ffffff", "direction": "right"}
    loaded = load_project(tmp_path / "p.kinora")
    assert loaded.timeline == project.timeline
    assert loaded.timeline.find("A")[1].opacity != loaded.timeline.find("A")[1].curve


def test_a_bad_transition_in_a_file_is_named(tmp_path):
    project, _ = two_clips_at_a_cut(tmp_path)
    transition_edits.add_transition(project, "B", Transition())
    save_project(project, tmp_path / "p.kinora")
    text = (tmp_path / "p.kinora").read_text().replace('"kind":"dissolve"', '"kind":"spin"')
    (tmp_path / "p.kinora").write_text(text)
    with pytest.raises(Exception, match=r"items\[1\].transition_in: unknown transition 'spin'"):
        load_project(tmp_path / "p.kinora")


def old_item_file(tmp_path, items, version="Clip.2"):
    """A project file as Kinora wrote it before opacity (Clip.2, Still.1)."""
    project, _ = two_clips_at_a_cut(tmp_path)
    edits.add_media(project, MediaRef("img", str(tmp_path / "still.png"), "image"))
    data = project_to_dict(project, str(tmp_path))
    data["timeline"]["tracks"][1]["items"] = items
    path = tmp_path / "old.kinora"
    path.write_text(json.dumps(data))
    return path


def test_old_curves_that_changed_the_picture_become_opacity(tmp_path):
    fade = [[0, 0.0, "linear"], [23, 1.0, "linear"]]
    beyond_the_end = [[0, 1.0, "hold"], [30, 0.0, "linear"]]  # below 1 only after the clip's 24 frames
    path = old_item_file(tmp_path, [
        {"schema": "Clip.2", "id": "A", "start": 0, "media": "a", "source": [10, 34], "curve": fade},
        {"schema": "Clip.2", "id": "B", "start": 24, "media": "b", "source": [12, 36], "curve": beyond_the_end},
        {"schema": "Still.1", "id": "S", "start": 48, "duration": 5, "media": "img", "curve": [[0, 0.5, "hold"]]},
        {"schema": "Clip.1", "id": "C", "start": 60, "media": "a", "source": [0, 5]},
    ])
    loaded = load_project(path)
    a, b, s, c = (loaded.timeline.find(i)[1] for i in "ABSC")
    assert a.opacity == a.curve and a.opacity.evaluate(0) == 0.0  # a fade: its look is kept
    assert b.opacity.is_default and not b.curve.is_default  # never below 1 on its frames
    assert s.opacity == Curve.flat(0.5) == s.curve
    assert c.opacity.is_default and c.curve.is_default
    save_project(loaded, tmp_path / "new.kinora")
    text = (tmp_path / "new.kinora").read_text()
    assert f'"schema":"Clip.{CURRENT["Clip"]}"' in text and f'"schema":"Still.{CURRENT["Still"]}"' in text
    assert load_project(tmp_path / "new.kinora").timeline == loaded.timeline


def test_otio_export_puts_a_dissolve_on_the_cut_and_kinora_reads_it_back(tmp_path):
    import opentimelineio as otio

    from engine.model.otio_io import export_otio, import_otio

    project, _ = two_clips_at_a_cut(tmp_path)
    transition_edits.add_transition(project, "B", Transition("dissolve", 9))
    timeline, _ = export_otio(project, tmp_path / "cut.otio")
    video = next(t for t in timeline.tracks if t.kind == otio.schema.TrackKind.Video and len(t))
    kinds = [type(child).__name__ for child in video]
    assert kinds == ["Clip", "Transition", "Clip"]
    dissolve = video[1]
    assert dissolve.transition_type == otio.schema.TransitionTypes.SMPTE_Dissolve
    assert (dissolve.in_offset.value, dissolve.out_offset.value) == (4, 5)  # 9 frames centred on the cut
    back, warnings = import_otio(tmp_path / "cut.otio")
    tracks = back.timeline.tracks_of("video")
    assert len(tracks) == 1 and [item.id for item in tracks[0].items] == ["A", "B"]  # no A/B roll
    assert tracks[0].items[1].transition_in == Transition("dissolve", 9)
