"""Project files: round trip, upgrades, unknown fields, relative media paths, hostile input."""

from __future__ import annotations

import json
import os

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.errors import EditError, ProjectFileError
from engine.model import checked_json, serialize
from engine.model.serialize import load_project, save_project
from tests.model.factories import rich_project
from tests.model.test_edits import OPS, edit_steps


@pytest.mark.parametrize("rate", [24, "24000/1001", "30000/1001", 25, 60])
def test_save_load_round_trip_is_identity(tmp_path, rate):
    project = rich_project(rate, root=str(tmp_path / "media"))
    save_project(project, tmp_path / "a.kinora")
    loaded = load_project(tmp_path / "a.kinora")
    assert loaded == project
    # and saving the loaded project writes the same bytes
    save_project(loaded, tmp_path / "b.kinora")
    assert (tmp_path / "a.kinora").read_bytes() == (tmp_path / "b.kinora").read_bytes()


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                 HealthCheck.function_scoped_fixture])
@given(steps=edit_steps())
def test_round_trip_after_random_edits(tmp_path, steps):
    project = rich_project(root=str(tmp_path / "m"))
    for op, seed, frame, other in steps:
        try:
            op(project, seed, frame, other)
        except EditError:
            pass
    save_project(project, tmp_path / "p.kinora")
    assert load_project(tmp_path / "p.kinora") == project


def test_media_paths_are_stored_relative_and_follow_a_moved_folder(tmp_path):
    project = rich_project(root=str(tmp_path / "job" / "media"))
    (tmp_path / "job").mkdir()
    save_project(project, tmp_path / "job" / "edit.kinora")
    stored = json.loads((tmp_path / "job" / "edit.kinora").read_text())
    assert {m["path"] for m in stored["media"]} == {"media/shot one.mp4", "media/stills/card.png", "media/music.wav"}
    os.rename(tmp_path / "job", tmp_path / "moved")
    moved = load_project(tmp_path / "moved" / "edit.kinora")
    assert sorted(m.path for m in moved.media.values()) == sorted(
        str(tmp_path / "moved" / "media" / p) for p in ("music.wav", "shot one.mp4", "stills/card.png"))


def test_unknown_fields_survive_a_save(tmp_path):
    project = rich_project(root=str(tmp_path))
    save_project(project, tmp_path / "a.kinora")
    data = json.loads((tmp_path / "a.kinora").read_text())
    data["from_the_future"] = {"x": 1}
    data["timeline"]["tracks"][1]["colour"] = "teal"
    data["timeline"]["tracks"][1]["items"][0]["stabilise"] = [1, 2]
    data["media"][0]["lut"] = "rec709.cube"
    (tmp_path / "a.kinora").write_text(json.dumps(data))
    save_project(load_project(tmp_path / "a.kinora"), tmp_path / "b.kinora")
    again = json.loads((tmp_path / "b.kinora").read_text())
    assert again["from_the_future"] == {"x": 1}
    assert again["timeline"]["tracks"][1]["colour"] == "teal"
    assert again["timeline"]["tracks"][1]["items"][0]["stabilise"] == [1, 2]
    assert again["media"][0]["lut"] == "rec709.cube"


def test_registered_upgrade_functions_run_in_order(tmp_path, monkeypatch):
    """A Text.1 file read by a Kinora whose current Text schema is 3."""
    project = rich_project(root=str(tmp_path))
    save_project(project, tmp_path / "old.kinora")
    monkeypatch.setitem(serialize.CURRENT, "Text", 3)
    calls = []

    def one_to_two(d):
        calls.append(d["schema"])
        d["text"] = d["text"].upper()
        return d

    def two_to_three(d):
        calls.append(d["schema"])
        d["negative"] = d.get("negative") or "none"
        return d

    monkeypatch.setitem(serialize.UPGRADES, ("Text", 1), one_to_two)
    monkeypatch.setitem(serialize.UPGRADES, ("Text", 2), two_to_three)
    loaded = load_project(tmp_path / "old.kinora")
    texts = [item for track in loaded.timeline.tracks_of("prompt") for item in track.items]
    assert [t.text for t in texts] == ["A CALM SEA AT DAWN", "THE SEA TURNS TO GLASS"]
    assert [t.negative for t in texts] == ["blurry", "none"]
    assert calls == ["Text.1", "Text.2", "Text.1", "Text.2"]
    save_project(loaded, tmp_path / "new.kinora")
    assert '"schema":"Text.3"' in (tmp_path / "new.kinora").read_text()


def test_newer_file_versions_are_refused_clearly(tmp_path):
    project = rich_project(root=str(tmp_path))
    save_project(project, tmp_path / "a.kinora")
    current = f'"schema":"Clip.{serialize.CURRENT["Clip"]}"'
    text = (tmp_path / "a.kinora").read_text().replace(current, '"schema":"Clip.9"', 1)
    (tmp_path / "a.kinora").write_text(text)
    with pytest.raises(ProjectFileError, match=r"a\.kinora .*Clip\.9 was written by a newer Kinora.*update Kinora"):
        load_project(tmp_path / "a.kinora")


@pytest.mark.parametrize(("content", "reason"), [
    (b"", "is empty"),
    (b"\xff\xfe\x00garbage", "not a text file"),
    (b"{\"schema\": \"Project.1\"", "bad JSON at line 1"),
    (b"[1, 2, 3]", "expected a Project object"),
    (b"[" * 10000 + b"]" * 10000, "nested too deeply"),
    (b"{\"schema\": \"Project.1\", \"settings\": {}}", "settings: missing or bad \"schema\""),
    (b"{\"schema\": \"Project.1\", \"settings\": {\"schema\": \"Settings.1\"}}", "settings: missing field \"width\""),
])
def test_bad_files_give_one_clear_error(tmp_path, content, reason):
    path = tmp_path / "bad.kinora"
    path.write_bytes(content)
    with pytest.raises(ProjectFileError, match=reason) as info:
        load_project(path)
    assert str(path) in str(info.value)


def test_missing_and_oversized_files(tmp_path, monkeypatch):
    with pytest.raises(ProjectFileError, match="does not exist"):
        load_project(tmp_path / "nope.kinora")
    monkeypatch.setattr(checked_json, "MAX_FILE_BYTES", 1000)
    (tmp_path / "big.kinora").write_bytes(b" " * 2000)
    with pytest.raises(ProjectFileError, match="refused"):
        load_project(tmp_path / "big.kinora")


def test_deeply_nested_unknown_data_is_refused(tmp_path):
    project = rich_project(root=str(tmp_path))
    save_project(project, tmp_path / "a.kinora")
    data = json.loads((tmp_path / "a.kinora").read_text())
    deep: list = []
    for _ in range(200):
        deep = [deep]
    data["timeline"]["extra_thing"] = deep
    (tmp_path / "a.kinora").write_text(json.dumps(data))
    with pytest.raises(ProjectFileError, match="nested more than"):
        load_project(tmp_path / "a.kinora")


def _mutations():
    leaf = st.one_of(st.none(), st.booleans(), st.integers(-10**12, 10**12), st.floats(allow_nan=True),
                     st.text(max_size=5), st.builds(list), st.builds(dict), st.builds(lambda: [0, -5]))
    return st.lists(st.tuples(st.integers(0, 10**6), st.sampled_from(["replace", "delete", "insert"]), leaf),
                    min_size=1, max_size=6)


def _containers(value, out):
    if isinstance(value, (dict, list)):
        out.append(value)
        for child in (value.values() if isinstance(value, dict) else value):
            _containers(child, out)
    return out


@settings(max_examples=int(os.environ.get("KINORA_FUZZ_EXAMPLES", 300)), deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(mutations=_mutations())
def test_mutated_files_only_ever_raise_project_file_error(tmp_path, mutations):
    project = rich_project(root=str(tmp_path))
    data = serialize.project_to_dict(project, str(tmp_path))
    data = json.loads(json.dumps(data))
    for where, action, value in mutations:
        containers = _containers(data, [])
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


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(blob=st.one_of(st.binary(max_size=300), st.text(max_size=300).map(str.encode),
                      st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=8),
                                   lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner, max_size=4),
                                   max_leaves=30).map(lambda v: json.dumps(v).encode())))
def test_random_bytes_and_json_only_ever_raise_project_file_error(tmp_path, blob):
    path = tmp_path / "r.kinora"
    path.write_bytes(blob)
    with pytest.raises(ProjectFileError):
        load_project(path)


def test_truncated_files_at_every_length_raise_project_file_error(tmp_path):
    project = rich_project(root=str(tmp_path))
    save_project(project, tmp_path / "a.kinora")
    whole = (tmp_path / "a.kinora").read_bytes()
    for cut in range(0, len(whole) - 1, max(1, len(whole) // 97)):
        (tmp_path / "t.kinora").write_bytes(whole[:cut])
        with pytest.raises(ProjectFileError):
            load_project(tmp_path / "t.kinora")


# keep the ops import used: the random-edit strategy draws from them
assert OPS
