"""Timeline > Add Title (Ctrl+T): a title at the playhead, on the video track of the selected
item, else on the first video track where it fits, else on a new video track on top."""

from __future__ import annotations

from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QWidget

from editor.document import Document
from engine.model import edits
from engine.model.effect_edits import DEFAULT_TITLE_FRAMES, add_title
from engine.model.items import new_id
from engine.model.project import Project
from engine.time import FrameRange


def title_action(document: Document, view, parent: QWidget) -> QAction:
    action = QAction("Add &Title", parent)
    action.setShortcut(QKeySequence("Ctrl+T"))
    action.setToolTip("Add a text title at the playhead (edit it in the Inspector)")
    action.triggered.connect(lambda: add_title_at_playhead(document, view))
    return action


def title_track(project: Project, frame: int, selected: list[str]) -> str | None:
    """The video track a new title at `frame` goes on, or None when no video track has room."""
    wanted = FrameRange(frame, frame + DEFAULT_TITLE_FRAMES)
    video = [t for t in project.timeline.tracks_of("video") if not t.locked]
    for item_id in selected:
        try:
            track, _ = project.timeline.find(item_id)
        except KeyError:
            continue
        if track in video:
            video.remove(track)
            video.insert(0, track)
            break
    for track in video:
        if not any(item.range.overlaps(wanted) for item in track.items):
            return track.id
    return None


def add_title_at_playhead(document: Document, view) -> str | None:
    """Add a title and select it; returns its id (None when the edit was refused)."""
    project = document.project
    frame = view.playhead
    title_id = new_id()
    track_id = title_track(project, frame, view.selected_ids())
    if track_id is not None:
        done = document.perform("Add Title", lambda p: add_title(p, track_id, frame, title_id=title_id))
    else:
        new_track = new_id()
        done = document.perform("Add Title", lambda p: edits.together(p, [
            lambda q: edits.add_track(q, "video", track_id=new_track),
            lambda q: add_title(q, new_track, frame, title_id=title_id)]))
    if not done:
        return None
    view.select_ids([title_id])
    return title_id
