"""The items of a track inside a frame range, for the compilers of the plan's picture
(engine/generate/compiler.py) and sound (engine/generate/audio_plan.py)."""

from __future__ import annotations

import bisect
from operator import attrgetter

from engine.model.items import Item
from engine.model.project import Track
from engine.time import FrameRange


def items_overlapping(track: Track, frame_range: FrameRange) -> list[Item]:
    """The track's items that share a frame with `frame_range`, in time order (Track.items_in),
    found by bisection: a track's items are sorted and never overlap, so only the item starting
    last at or before the range's start can reach into it from the left. A timeline of thousands
    of items is compiled after every edit, so a scan of every item would dominate."""
    items = track.items
    first = max(bisect.bisect_right(items, frame_range.start, key=attrgetter("start")) - 1, 0)
    found = []
    for item in items[first:]:
        if item.start >= frame_range.stop:
            break
        if item.range.overlaps(frame_range):
            found.append(item)
    return found
