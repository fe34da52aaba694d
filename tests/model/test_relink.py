"""Missing media and relinking by name and content hash, on real files."""

from __future__ import annotations

import os
import shutil

from engine.fsutil import content_hash
from engine.model import edits
from engine.model.items import MediaRef, new_id
from engine.model.project import new_project
from engine.model.relink import missing_media, relink
from engine.model.serialize import load_project, save_project


def _media_file(path, size=2 * 2**20 + 5) -> str:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(os.urandom(size))
    return str(path)


def _project_with(tmp_path, names, hashed=True):
    project = new_project()
    refs = {}
    for name in names:
        path = _media_file(tmp_path / "old" / name)
        ref = MediaRef(new_id(), path, "video", content_hash=content_hash(path) if hashed else None)
        edits.add_media(project, ref)
        refs[name] = ref
    return project, refs


def test_moved_renamed_and_lookalike_files(tmp_path):
    project, refs = _project_with(tmp_path, ["beach.mp4", "forest.mp4", "city.mp4", "lost.mp4"])
    assert missing_media(project) == []
    shutil.move(tmp_path / "old", tmp_path / "moved")
    assert {r.id for r in missing_media(project)} == {r.id for r in refs.values()}
    new_root = tmp_path / "moved"
    (new_root / "deep" / "er").mkdir(parents=True)
    shutil.move(new_root / "beach.mp4", new_root / "deep" / "er" / "beach.mp4")  # moved deeper
    shutil.move(new_root / "forest.mp4", new_root / "forest-final.mp4")  # renamed
    os.unlink(new_root / "city.mp4")
    _media_file(new_root / "city.mp4")  # same name, other content
    os.unlink(new_root / "lost.mp4")

    result = relink(project, str(tmp_path))
    found = {m.media_id: m for m in result.matches}
    assert found[refs["beach.mp4"].id].new_path == str(new_root / "deep" / "er" / "beach.mp4")
    assert found[refs["beach.mp4"].id].how == "name and content"
    assert found[refs["forest.mp4"].id].new_path == str(new_root / "forest-final.mp4")
    assert found[refs["forest.mp4"].id].how == "content"
    lookalike = found[refs["city.mp4"].id]
    assert lookalike.how == "name only" and "different content" in lookalike.warning
    assert [r.id for r in result.still_missing] == [refs["lost.mp4"].id]
    assert len(result.edits) == 2 and len(result.warnings) == 1  # the look-alike is not applied silently

    edits.batch(project, result.edits)
    assert {r.id for r in missing_media(project)} == {refs["city.mp4"].id, refs["lost.mp4"].id}
    assert project.media[refs["forest.mp4"].id].content_hash == refs["forest.mp4"].content_hash


def test_a_project_with_missing_files_still_opens_and_relinks(tmp_path):
    project, refs = _project_with(tmp_path, ["shot.mov"])
    save_project(project, tmp_path / "film.kinora")
    shutil.move(tmp_path / "old", tmp_path / "archive")
    reopened = load_project(tmp_path / "film.kinora")  # opens; the item shows offline
    assert [r.id for r in missing_media(reopened)] == [refs["shot.mov"].id]
    [match] = relink(reopened, str(tmp_path / "archive")).matches
    edits.apply(reopened, match.edit)
    assert missing_media(reopened) == []


def test_refs_without_a_hash_match_by_name_and_warn_when_ambiguous(tmp_path):
    project, refs = _project_with(tmp_path, ["a.png", "b.png"], hashed=False)
    shutil.rmtree(tmp_path / "old")
    _media_file(tmp_path / "new" / "a.png")
    _media_file(tmp_path / "new" / "one" / "b.png")
    _media_file(tmp_path / "new" / "two" / "b.png")
    found = {m.media_id: m for m in relink(project, str(tmp_path / "new")).matches}
    assert found[refs["a.png"].id].how == "name" and found[refs["a.png"].id].warning is None
    assert "2 files have this name" in found[refs["b.png"].id].warning
    assert relink(new_project(), str(tmp_path)).matches == ()
