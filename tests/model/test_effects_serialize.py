"""Titles, transforms and speed in project files: round trip, defaults, hostile values."""

from __future__ import annotations

import json
import os

import pytest
from hypothesis import HealthCheck, given, settings

from engine.errors import ProjectFileError
from engine.model import edits, serialize
from engine.model.effect_edits import add_title, set_speed, set_transform
from engine.model.items import Clip, Still
from engine.model.serialize import item_from_dict, item_to_dict, load_project, save_project
from engine.model.titles import Title
from engine.model.transform import IDENTITY, Param, Transform
from tests.model.factories import rich_project
from tests.model.test_serialize import _containers, _mutations


def project_with_effects(root: str):
    project = rich_project(root=root)
    v1 = project.timeline.tracks_of("video")[-1].id
    clip = next(item for _, item in project.timeline.items() if isinstance(item, Clip) and item.name == "opening")
    still = next(item for _, item in project.timeline.items() if isinstance(item, Still))
    set_speed(project, clip.id, 1.25, reverse=True)
    set_transform(project, clip.id, Transform(x=Param(((0, -0.2), (30, 0.1))), scale=Param.constant(0.5)))
    set_transform(project, still.id, Transform(rotation=Param.constant(12.5), crop_left=Param.constant(0.1)))
    edits.add_track(project, "video", "Titles", track_id="titles")
    add_title(project, "titles", 5, "Line one\nLine two", title_id="t1", font="DejaVu Sans Bold", size=48,
              color="#FFCC00", x=0.5, y=0.9, anchor="bottom", box=True, box_color="#101010", box_opacity=0.4,
              box_padding=12, fade_in=6, fade_out=8, name="opening title")
    add_title(project, "titles", 200, "plain", title_id="t2")
    assert project.timeline.track(v1)  # the clips stay on their track
    return project


def test_titles_transforms_and_speed_survive_a_save_unchanged(tmp_path):
    project = project_with_effects(str(tmp_path / "media"))
    save_project(project, tmp_path / "a.kinora")
    loaded = load_project(tmp_path / "a.kinora")
    assert loaded == project
    title = loaded.timeline.find("t1")[1]
    assert (title.text, title.color, title.anchor, title.fade_out) == ("Line one\nLine two", "#ffcc00", "bottom", 8)
    save_project(loaded, tmp_path / "b.kinora")
    assert (tmp_path / "a.kinora").read_bytes() == (tmp_path / "b.kinora").read_bytes()
    data = json.loads((tmp_path / "a.kinora").read_text())
    schemas = {item["schema"] for track in data["timeline"]["tracks"] for item in track["items"]}
    assert "Title.1" in schemas
    clip = next(item for track in data["timeline"]["tracks"] for item in track["items"] if item.get("speed"))
    assert clip["speed"] == 1.25 and set(clip["transform"]) == {"x", "scale"}  # defaults are not written


def test_items_without_effects_are_written_as_before(tmp_path):
    project = rich_project(root=str(tmp_path))
    data = serialize.project_to_dict(project, str(tmp_path))
    for track in data["timeline"]["tracks"]:
        for item in track["items"]:
            assert "transform" not in item and "speed" not in item
    loaded = serialize.project_from_dict(json.loads(json.dumps(data)), str(tmp_path))
    assert all(getattr(item, "transform", IDENTITY).is_identity for _, item in loaded.timeline.items())


def test_a_title_is_copied_and_pasted_as_data():
    title = Title("t", 3, 10, "Hello", size=30, box=True)
    assert item_from_dict(json.loads(json.dumps(item_to_dict(title)))) == title


@pytest.mark.parametrize("field, value, reason", [
    ("speed", 0, "speed 0 is outside"),
    ("speed", True, "speed\" should be a number"),
    ("transform", {"scale": [[0, "HUGE"]]}, "not a usable number"),
    ("transform", {"scale": [[0, -1]]}, "scale -1 is outside"),
    ("transform", {"zoom": [[0, 1]]}, "unknown parameter"),
    ("transform", {"x": []}, "list of \\[frame, value\\]"),
])
def test_bad_effect_values_name_the_item(tmp_path, field, value, reason):
    project = project_with_effects(str(tmp_path))
    data = json.loads(json.dumps(serialize.project_to_dict(project, str(tmp_path))))
    clip = next(item for track in data["timeline"]["tracks"] for item in track["items"] if item.get("speed"))
    clip[field] = value
    (tmp_path / "bad.kinora").write_text(json.dumps(data).replace('"HUGE"', "1e400"))
    with pytest.raises(ProjectFileError, match=f"track\\[\\d\\]\\.items\\[\\d\\]: .*{reason}"):
        load_project(tmp_path / "bad.kinora")


@pytest.mark.parametrize("field, value, reason", [
    ("color", "red", "not a colour"), ("size", 0, "size 0 is outside"), ("anchor", "middle", "anchor"),
    ("box", 1, "should be bool"), ("x", "1", "should be float"), ("text", None, "should be str"),
    ("box_padding", 10**9, "padding"),
])
def test_bad_title_values_name_the_title(tmp_path, field, value, reason):
    project = project_with_effects(str(tmp_path))
    data = json.loads(json.dumps(serialize.project_to_dict(project, str(tmp_path))))
    title = next(item for track in data["timeline"]["tracks"] for item in track["items"] if item["id"] == "t1")
    title[field] = value
    (tmp_path / "bad.kinora").write_text(json.dumps(data))
    with pytest.raises(ProjectFileError, match=reason):
        load_project(tmp_path / "bad.kinora")


@settings(max_examples=int(os.environ.get("KINORA_FUZZ_EXAMPLES", 150)), deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(mutations=_mutations())
def test_mutated_titles_and_transforms_only_ever_raise_project_file_error(tmp_path, mutations):
    data = json.loads(json.dumps(serialize.project_to_dict(project_with_effects(str(tmp_path)), str(tmp_path))))
    effect_items = [item for track in data["timeline"]["tracks"] for item in track["items"]
                    if item["schema"] == "Title.1" or "transform" in item]
    for where, action, value in mutations:
        containers = _containers(effect_items, [])[1:]
        target = containers[where % len(containers)]
        if isinstance(target, dict) and target:
            key = sorted(target)[where % len(target)]
            if action == "delete":
                del target[key]
            else:
                target[key] = value
        elif isinstance(target, list):
            if action == "insert" or not target:
                target.insert(where % (len(target) + 1), value)
            elif action == "delete":
                del target[where % len(target)]
            else:
                target[where % len(target)] = value
    path = tmp_path / "m.kinora"
    path.write_text(json.dumps(data))
    try:
        load_project(path)
    except ProjectFileError as error:
        assert str(path) in str(error)


def test_an_otio_export_leaves_titles_out_and_says_so(tmp_path):
    from engine.model.otio_io import export_otio

    project = project_with_effects(str(tmp_path / "media"))
    _, warnings = export_otio(project, tmp_path / "cut.otio")
    assert any("2 title(s) are not exported" in w for w in warnings)
    assert any("speed" in w for w in warnings)


@pytest.mark.parametrize("schema", ["Still", "Text", "Title"])
@pytest.mark.parametrize("duration", [-1, 0])
def test_an_item_lasting_no_frames_is_a_project_file_error(tmp_path, schema, duration):
    project = project_with_effects(str(tmp_path))
    data = json.loads(json.dumps(serialize.project_to_dict(project, str(tmp_path))))
    item = next(item for track in data["timeline"]["tracks"] for item in track["items"]
                if item["schema"].startswith(schema + "."))
    item["duration"] = duration
    (tmp_path / "bad.kinora").write_text(json.dumps(data))
    with pytest.raises(ProjectFileError, match="bad placement|duration"):
        load_project(tmp_path / "bad.kinora")
