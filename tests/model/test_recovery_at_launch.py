"""Which recoveries the editor offers when it starts: those newer than their project file (known
or not), those of never-saved projects, and none an editor still running keeps writing."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from engine.model import recovery
from engine.model.project import new_project
from engine.model.serialize import save_project


def saved(tmp_path, name):
    path = str(tmp_path / f"{name}.kinora")
    save_project(new_project(), path)
    os.utime(path, (1000, 1000))  # saved long before any autosave below
    return path


def autosave(project_path, owner_pid=None):
    project = new_project()
    project.path = project_path
    if project_path:
        target = recovery.recovery_path(project_path)
    else:
        target = recovery.recovery_path(None, "abc123")
    recovery.write_recovery(project, target, project_path)
    if owner_pid is not None:
        with open(target) as handle:
            envelope = json.load(handle)
        envelope["owner"]["pid"] = owner_pid
        with open(target, "w") as handle:
            json.dump(envelope, handle)
    return target


def test_recoveries_newer_than_their_file_and_of_untitled_projects_are_found(tmp_path):
    known, unknown, older = saved(tmp_path, "known"), saved(tmp_path, "unknown"), saved(tmp_path, "older")
    for path in (known, unknown, older):
        autosave(path)
    os.utime(recovery.recovery_path(older), (500, 500))  # the project was saved after this autosave
    untitled = autosave(None)
    found = recovery.find_recoveries_at_launch([known])
    assert {(r.project_path, r.path) for r in found} == {
        (known, recovery.recovery_path(known)), (unknown, recovery.recovery_path(unknown)), (None, untitled)}
    [untitled_found] = [r for r in found if r.project_path is None]
    assert recovery.untitled_id_of(untitled_found) == "abc123"


def test_a_recovery_an_editor_still_writes_is_not_offered(tmp_path):
    path = saved(tmp_path, "film")
    python = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    other_program = subprocess.Popen(["sleep", "60"])
    try:
        autosave(path, owner_pid=python.pid)
        assert recovery.find_recoveries_at_launch([path]) == []  # a live Kinora (Python) process owns it
        autosave(path, owner_pid=other_program.pid)  # the id was reused by another program
        assert [r.project_path for r in recovery.find_recoveries_at_launch([path])] == [path]
    finally:
        for process in (python, other_program):
            process.kill()
            process.wait()
    autosave(path, owner_pid=python.pid)  # its editor has ended
    assert [r.project_path for r in recovery.find_recoveries_at_launch([path])] == [path]


def test_an_unreadable_recovery_is_left_for_opening_to_report(tmp_path):
    path = saved(tmp_path, "film")
    target = autosave(path)
    with open(target, "w") as handle:
        handle.write("{torn")
    assert recovery.find_recoveries_at_launch([path]) == []
    assert recovery.find_recovery(path) is not None  # opening the project still offers and reports it
