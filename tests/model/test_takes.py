"""Takes of a generated clip: each take has its own recipe, and switching takes swaps the media
and the recipe together, so an export's provenance names the seed that made what it shows."""

from __future__ import annotations

import json

from engine.media.provenance import manifest, read_provenance
from engine.model import edits
from engine.model.items import Clip, MediaRef, frozen_mapping
from engine.model.project import new_project
from engine.model.serialize import CURRENT, load_project, save_project
from engine.time import FrameRange, FrameRate
from tests.model.test_edits import snapshot

SEEDS = (101, 202, 303)


def recipe(seed: int) -> dict:
    return {"model": "toyworld", "seed": seed, "tool": "generate", "prompt": "a red fox", "library_id": seed // 101,
            "weights_hash": "ab" * 16}


def project_with_takes(paths=("/takes/fox-1.mp4", "/takes/fox-2.mp4", "/takes/fox-3.mp4"), num_frames: int = 24):
    """A clip showing the first of three takes, each with its own recipe (as a drop from the Library makes it)."""
    project = new_project(32, 32, 24)
    ids = []
    for i, path in enumerate(paths):
        ref = MediaRef(f"take{i + 1}", str(path), "video", num_frames=num_frames, rate=FrameRate.parse(24))
        edits.add_media(project, ref)
        ids.append(ref.id)
    recipes = {media_id: frozen_mapping(recipe(seed)) for media_id, seed in zip(ids, SEEDS)}
    clip = Clip("clip", 0, ids[0], FrameRange(0, num_frames), generation=recipes[ids[0]], takes=tuple(ids),
                take_recipes=frozen_mapping(recipes))
    edits.insert(project, project.timeline.tracks_of("video")[0].id, clip)
    return project


def shown(project) -> Clip:
    return project.timeline.find("clip")[1]


def test_switching_a_take_swaps_media_and_recipe_and_its_inverse_restores_both():
    project = project_with_takes()
    before = snapshot(project)
    undo = edits.switch_take(project, "clip", "take3")
    clip = shown(project)
    assert clip.media_id == "take3" and clip.generation["seed"] == 303 and clip.generation["library_id"] == 3
    assert clip.takes == ("take1", "take2", "take3")
    assert {media_id: r["seed"] for media_id, r in clip.take_recipes.items()} == dict(zip(clip.takes, SEEDS))
    redo = edits.apply(project, undo)
    assert snapshot(project) == before
    assert shown(project).media_id == "take1" and shown(project).generation["seed"] == 101
    edits.apply(project, redo)
    assert shown(project).media_id == "take3" and shown(project).generation["seed"] == 303
    # and on to another take, and back: each time the recipe of the take shown
    edits.switch_take(project, "clip", "take2")
    assert shown(project).generation["seed"] == 202
    edits.switch_take(project, "clip", "take1")
    assert dict(shown(project).generation) == recipe(101)


def test_a_take_without_a_recorded_recipe_never_borrows_another_takes_seed():
    project = project_with_takes()
    clip = shown(project)  # as a clip made without per-take recipes: takes, one recipe
    edits.apply(project, edits.ReplaceItem(Clip(clip.id, clip.start, clip.media_id, clip.source_range,
                                                generation=clip.generation, takes=clip.takes)))
    edits.switch_take(project, "clip", "take2")
    switched = shown(project)
    assert switched.generation["seed"] is None and switched.generation["library_id"] is None
    assert switched.generation["model"] == "toyworld" and switched.generation["prompt"] == "a red fox"
    # the take shown before kept its recipe, so switching back brings its seed back
    edits.switch_take(project, "clip", "take1")
    assert shown(project).generation["seed"] == 101


def test_take_recipes_survive_a_save(tmp_path):
    project = project_with_takes()
    edits.switch_take(project, "clip", "take2")
    save_project(project, tmp_path / "takes.kinora")
    loaded = load_project(tmp_path / "takes.kinora")
    assert loaded == project
    edits.switch_take(loaded, "clip", "take3")
    assert shown(loaded).generation["seed"] == 303


def test_a_clip_1_file_loads_with_a_recipe_for_every_take(tmp_path):
    """Version 1 files kept one recipe per clip whichever take was shown."""
    project = project_with_takes()
    save_project(project, tmp_path / "new.kinora")
    data = json.loads((tmp_path / "new.kinora").read_text())
    [item] = [item for track in data["timeline"]["tracks"] for item in track["items"]]
    item["schema"] = "Clip.1"
    del item["take_recipes"]
    item["media"] = "take2"  # switched by a Kinora that left the first take's recipe in place
    (tmp_path / "old.kinora").write_text(json.dumps(data))
    clip = shown(load_project(tmp_path / "old.kinora"))
    assert clip.media_id == "take2" and dict(clip.generation) == recipe(101)  # as the file said
    others = {media_id: dict(r) for media_id, r in clip.take_recipes.items() if media_id != "take2"}
    assert others == {media_id: {**recipe(101), "seed": None, "library_id": None} for media_id in ("take1", "take3")}
    loaded = load_project(tmp_path / "old.kinora")
    edits.switch_take(loaded, "clip", "take3")
    assert shown(loaded).generation["seed"] is None  # unknown, not the other take's 101
    save_project(loaded, tmp_path / "upgraded.kinora")
    assert f'"schema":"Clip.{CURRENT["Clip"]}"' in (tmp_path / "upgraded.kinora").read_text()
    assert load_project(tmp_path / "upgraded.kinora") == loaded


def test_provenance_after_a_switch_names_the_new_takes_seed():
    project = project_with_takes()
    assert [r["seed"] for r in manifest(project, FrameRange(0, 24))["generated"]] == [101]
    edits.switch_take(project, "clip", "take2")
    record = manifest(project, FrameRange(0, 24))
    assert record["generated"] == [{"frames": [0, 24], "model": "toyworld", "seed": 202}]


def test_an_export_after_a_switch_carries_the_new_takes_seed(tmp_path):
    from engine.media.export import RenderSettings, export
    from tests.generate.media import write_clip

    paths = [write_clip(tmp_path / f"fox-{i}.mp4", 12, seed=i) for i in (1, 2, 3)]
    project = project_with_takes(paths, num_frames=12)
    edits.switch_take(project, "clip", "take3")
    out = export(project, tmp_path / "out.mp4", RenderSettings(audio=False))
    record = read_provenance(out)
    assert record["generated"] == [{"frames": [0, 12], "model": "toyworld", "seed": 303}]
