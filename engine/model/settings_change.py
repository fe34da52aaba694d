"""Changing a project's settings (size, frame rate, sample rate, colour space) as one edit.

Items keep their frame positions when the frame rate changes, as every position in a project
is an integer frame: a clip of 48 frames lasts 2 s at 24 fps and 1.6 s at 30 fps, and shows
the first 1.6 s of its source. That is what DaVinci Resolve avoids by locking the rate once
media is on a timeline and Kdenlive warns about; Kinora allows it with the same warning
(`rate_change_note`), and refuses a lower rate under which a clip would need more frames than
its file has (trim the clip first).
"""

from __future__ import annotations

from engine.errors import EditError
from engine.model.edits import Edit, SetSettings, apply
from engine.model.items import Clip, label
from engine.model.project import Project, ProjectSettings
from engine.time import FrameRate


def change_settings(project: Project, settings: ProjectSettings) -> Edit:
    """Apply new settings; returns the edit that restores the old ones."""
    if settings.rate != project.rate:
        too_long = clips_past_their_media(project, settings.rate)
        if too_long:
            names = ", ".join(too_long[:3]) + (f" and {len(too_long) - 3} more" if len(too_long) > 3 else "")
            raise EditError(f"at {settings.rate} fps {names} would need more frames than the file has; "
                            "trim them shorter first or keep the frame rate")
    return apply(project, SetSettings(settings))


def clips_past_their_media(project: Project, rate: FrameRate) -> list[str]:
    """Labels of the clips whose source range runs past the end of their file at `rate`."""
    found = []
    for _, item in project.timeline.items():
        if not isinstance(item, Clip):
            continue
        media = project.media.get(item.media_id)
        available = media.frames_at(rate) if media is not None else None
        if available is not None and item.source_range.stop > available:
            found.append(label(item, project.media))
    return found


def rate_change_note(project: Project, rate: FrameRate) -> str:
    """What happens to the timeline's items when the rate becomes `rate` ("" when nothing changes)."""
    count = sum(1 for _ in project.timeline.items())
    if rate == project.rate or count == 0:
        return ""
    frames = 2 * project.rate.timebase
    return (f"The timeline's {count} item(s) keep their frame positions: a clip of {frames} frames lasts "
            f"{float(project.rate.seconds(frames)):.3g} s now and {float(rate.seconds(frames)):.3g} s at {rate} fps, "
            "and everything moves in time accordingly.")
