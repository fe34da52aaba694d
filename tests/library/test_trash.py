"""Moving files to the freedesktop.org trash and back (engine/library/trash.py)."""

from __future__ import annotations

import os

import pytest

from engine.errors import MediaError
from engine.library.trash import move_to_trash, read_info, restore


@pytest.fixture
def trash_root(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "share"))
    return tmp_path / "share" / "Trash"


def test_a_trashed_file_has_its_info_file_and_comes_back(tmp_path, trash_root):
    folder = tmp_path / "my clips"
    folder.mkdir()
    clip = folder / "take 1 (ä).mp4"
    clip.write_bytes(b"frames")
    trashed = move_to_trash(str(clip))
    assert not clip.exists()
    assert trashed.in_trash == str(trash_root / "files" / clip.name)
    assert (trash_root / "files" / clip.name).read_bytes() == b"frames"
    raw = (trash_root / "info" / (clip.name + ".trashinfo")).read_text(encoding="utf-8")
    assert raw.startswith("[Trash Info]\nPath=") and "%20" in raw and "%C3%A4" in raw  # URL-escaped, as specified
    info = read_info(trashed.info)
    assert info["Path"] == str(clip)
    assert len(info["DeletionDate"]) == 19 and info["DeletionDate"][10] == "T"  # YYYY-MM-DDThh:mm:ss
    restore(trashed)
    assert clip.read_bytes() == b"frames"
    assert not os.listdir(trash_root / "files") and not os.listdir(trash_root / "info")


def test_two_files_of_one_name_get_two_places_in_the_trash(tmp_path, trash_root):
    paths = []
    for folder in ("a", "b"):
        (tmp_path / folder).mkdir()
        path = tmp_path / folder / "out.mp4"
        path.write_text(folder)
        paths.append(path)
    first, second = move_to_trash(str(paths[0])), move_to_trash(str(paths[1]))
    assert os.path.basename(first.in_trash) == "out.mp4" and os.path.basename(second.in_trash) == "out.2.mp4"
    assert read_info(second.info)["Path"] == str(paths[1])
    restore(second)
    restore(first)
    assert [p.read_text() for p in paths] == ["a", "b"]


def test_restore_refuses_to_overwrite_and_missing_files_are_named(tmp_path, trash_root):
    clip = tmp_path / "clip.mp4"
    clip.write_text("old")
    trashed = move_to_trash(str(clip))
    clip.write_text("new")  # something else took its place meanwhile
    with pytest.raises(MediaError, match="another file of that name"):
        restore(trashed)
    assert clip.read_text() == "new" and os.path.exists(trashed.in_trash)
    with pytest.raises(MediaError, match="not there any more"):
        move_to_trash(str(tmp_path / "gone.mp4"))
