"""How tall a track's row is: the kind's default unless the user resized it.

The height is view state kept in the track's `extra` (written to the project file, so a project
reopens as it was left; old files lack it and get the default). A value a file cannot mean
(text, a negative number) is ignored rather than refused: it only decides how the row looks.
"""

from __future__ import annotations

import dataclasses

from engine.model import edits
from engine.model.items import frozen_mapping
from engine.model.project import Project, Track

ROW_HEIGHT_KEY = "row_height"
MIN_HEIGHT, MAX_HEIGHT = 26, 240  # the smallest still fits a header button; the largest a good thumbnail
# The header menu's sizes, as factors of the kind's default height ("normal" forgets the custom height)
PRESETS = {"small": 0.6, "normal": 1.0, "large": 2.0}


def clamp_height(pixels: float) -> int:
    return int(min(max(round(pixels), MIN_HEIGHT), MAX_HEIGHT))


def track_height(track: Track, default: int) -> int:
    stored = track.extra.get(ROW_HEIGHT_KEY)
    if isinstance(stored, (int, float)) and not isinstance(stored, bool) and stored == stored:
        return clamp_height(stored)
    return default


def preset_height(preset: str, default: int) -> int | None:
    """The pixel height of a menu size; None for "normal" (the default, stored as no value)."""
    return None if preset == "normal" else clamp_height(default * PRESETS[preset])


def preset_of(track: Track, default: int) -> str | None:
    """Which menu size the track has now, if any (a height dragged by hand matches none)."""
    height = track_height(track, default)
    return next((name for name in PRESETS if (preset_height(name, default) or default) == height), None)


def set_track_height(project: Project, track_id: str, height: int | None) -> edits.Edit:
    """The edit giving a track a row height (None: back to its kind's default); returns its inverse.
    Height is view state, so a locked track may be resized too."""
    track = project.timeline.track(track_id)
    extra = {k: v for k, v in track.extra.items() if k != ROW_HEIGHT_KEY}
    if height is not None:
        extra[ROW_HEIGHT_KEY] = clamp_height(height)
    return edits.apply(project, edits.ReplaceTrack(dataclasses.replace(track, extra=frozen_mapping(extra))))
