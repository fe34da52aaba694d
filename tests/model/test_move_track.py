"""Reordering tracks: the track and its items move, undo puts it back exactly."""

from __future__ import annotations

import pytest

from engine.errors import EditError
from engine.model import edits
from engine.model.items import TextBlock
from engine.model.project import new_project


def test_move_track_reorders_and_its_inverse_restores():
    project = new_project(160, 96, 24)
    edits.add_track(project, "video", "V2")
    prompt = project.timeline.tracks[0]
    edits.insert(project, prompt.id, TextBlock("t", 0, 10, "a fox"))
    before = [t.name for t in project.timeline.tracks]
    undo = edits.move_track(project, prompt.id, len(before) - 1)
    after = [t.name for t in project.timeline.tracks]
    assert after == before[1:] + before[:1]
    assert project.timeline.tracks[-1].items[0].text == "a fox"
    edits.apply(project, undo)
    assert [t.name for t in project.timeline.tracks] == before
    with pytest.raises(EditError, match="outside"):
        edits.move_track(project, prompt.id, len(before))
