"""The recent projects list: newest first, ten at most, no duplicates, files that are gone left
out, a damaged list read as empty, and every write a whole file."""

from __future__ import annotations

import json
import os

from engine import user_settings
from engine.user_settings import (
    RECENT_LIMIT,
    clear_recent,
    forget_project,
    load_recent,
    recent_projects_path,
    remember_project,
)


def project_file(folder, name):
    path = folder / f"{name}.kinora"
    path.write_text("{}")
    return str(path)


def test_newest_first_at_most_ten_without_duplicates(tmp_path):
    paths = [project_file(tmp_path, f"p{i}") for i in range(12)]
    for i, path in enumerate(paths):
        remember_project(path, now=1000.0 + i)
    remember_project(paths[5], now=2000.0)  # opened again: moves to the top, not listed twice
    recents = load_recent()
    assert [r.path for r in recents] == [paths[5], *paths[11:5:-1], *paths[4:1:-1]]
    assert len(recents) == RECENT_LIMIT and recents[0].name == "p5" and recents[0].opened_at == 2000.0


def test_files_that_are_gone_are_left_out_and_forgotten_on_the_next_write(tmp_path):
    kept, gone = project_file(tmp_path, "kept"), project_file(tmp_path, "gone")
    remember_project(gone, now=1.0)
    remember_project(kept, now=2.0)
    os.unlink(gone)
    assert [r.path for r in load_recent()] == [kept]
    assert [r.path for r in load_recent(existing_only=False)] == [kept, gone]
    remember_project(kept, now=3.0)
    assert [r.path for r in load_recent(existing_only=False)] == [kept]
    forget_project(kept)
    assert load_recent(existing_only=False) == []
    remember_project(kept)
    clear_recent()
    assert load_recent(existing_only=False) == []


def test_a_damaged_list_reads_as_empty_and_is_replaced_whole(tmp_path, monkeypatch):
    path = project_file(tmp_path, "film")
    with open(recent_projects_path(), "w") as handle:
        handle.write('{"projects": [{"path": 3}, "x", {"path": "' + path + '", "opened_at": "soon"}')
    assert load_recent() == []
    with open(recent_projects_path(), "w") as handle:
        json.dump({"projects": [{"path": 3}, "x", {"path": path, "opened_at": 5}]}, handle)
    assert [r.path for r in load_recent()] == [path]
    written = []
    real_write = user_settings.atomic_write_bytes
    monkeypatch.setattr(user_settings, "atomic_write_bytes",
                        lambda target, data: (written.append(target), real_write(target, data)))
    remember_project(path)
    assert written == [recent_projects_path()]  # through the temporary-file-and-rename writer
    with open(recent_projects_path()) as handle:
        assert json.load(handle)["schema"] == "RecentProjects.1"
