"""Edits of titles, picture transforms and clip speed; each returns its inverse, like every edit
in engine/model/edits.py (whose rules they go through: ReplaceItem checks overlaps)."""

from __future__ import annotations

import dataclasses

from engine.errors import EditError
from engine.model.edits import Edit, ReplaceItem, _check_unlocked, _find, _label, apply, insert
from engine.model.items import Clip, Still, new_id
from engine.model.project import Project
from engine.model.titles import Title
from engine.model.transform import Transform, check_speed

TITLE_FIELDS = frozenset(f.name for f in dataclasses.fields(Title)) - {"id", "start", "duration", "extra"}
DEFAULT_TITLE_FRAMES = 72  # three seconds at 24 fps


def add_title(project: Project, track_id: str, start: int, text: str = "Title",
              duration: int | None = None, title_id: str | None = None, **fields) -> Edit:
    """A new title on a video track at `start` (three seconds unless `duration` is given)."""
    try:
        title = Title(title_id or new_id(), start, duration or DEFAULT_TITLE_FRAMES, text, **fields)
    except (TypeError, ValueError) as error:
        raise EditError(str(error)) from None
    return insert(project, track_id, title)


def set_title(project: Project, item_id: str, **changes) -> Edit:
    """Change a title's text, font, size, colour, place, box or fades (keyword arguments)."""
    track, item = _find(project, item_id)
    if not isinstance(item, Title):
        raise EditError(f"{_label(project, item)} is not a title")
    unknown = set(changes) - TITLE_FIELDS
    if unknown:
        raise EditError(f"titles have no setting {', '.join(sorted(unknown))}")
    _check_unlocked(project, track.id)
    try:
        changed = dataclasses.replace(item, **changes)
    except ValueError as error:
        raise EditError(str(error)) from None
    return apply(project, ReplaceItem(changed))


def set_transform(project: Project, item_id: str, transform: Transform) -> Edit:
    """Position, scale, rotation and crop of a clip or still on the canvas."""
    track, item = _find(project, item_id)
    if not isinstance(item, (Clip, Still)):
        raise EditError(f"{_label(project, item)} has no picture to transform")
    _check_unlocked(project, track.id)
    return apply(project, ReplaceItem(dataclasses.replace(item, transform=transform)))


def set_speed(project: Project, item_id: str, speed: float, reverse: bool | None = None) -> Edit:
    """Play a clip `speed` times as fast (backwards with `reverse`, unchanged when None); it
    keeps its start and source frames, so its length on the timeline follows (an edit that would
    make it run into the next item is refused)."""
    track, item = _find(project, item_id)
    if not isinstance(item, Clip):
        raise EditError(f"{_label(project, item)} is not a clip; only clips have a speed")
    _check_unlocked(project, track.id)
    try:
        speed = check_speed(speed)
    except ValueError as error:
        raise EditError(f"{_label(project, item)}: {error}") from None
    reverse = item.reverse if reverse is None else bool(reverse)
    return apply(project, ReplaceItem(dataclasses.replace(item, speed=speed, reverse=reverse)))
