"""Finished preview pictures of the frames that cost the most to make, kept while what they are
made of stays the same: what Resolve's smart render cache and Kdenlive's timeline preview do.

A frame inside a transition needs two decodes (the outgoing and the incoming picture) and a mix,
twice the work of a plain frame; the preview renders those frames in the background while
playback is stopped, so playing through a transition shows them at once. A frame is keyed by a
signature of everything its picture is made of (the project's settings, every item that can draw
on it, their media, which tracks are hidden) and by the frame itself: any edit that could change
the picture changes the key, so a stale picture is never shown; entries nobody asks for again are
dropped oldest first when the cache is full.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Hashable
from typing import Any

from engine.model.project import Project
from engine.model.transitions import span_at, spans

DEFAULT_BYTES = 512 * 2**20


def frame_signature(project: Project, frame: int) -> int | None:
    """A key of what `frame`'s picture is made of, or None when the frame is not worth keeping
    (no transition shows on it: one decode, as fast to make again as to keep)."""
    visual = [t for t in project.timeline.tracks if t.kind == "video"]
    if not any(not track.hidden and span_at(track, frame) is not None for track in visual):
        return None
    parts: list[str] = [repr(project.settings)]
    for track in visual:
        parts.append(f"{track.id}:{track.hidden}")
        if track.hidden:
            continue
        span = span_at(track, frame)
        items = [span.outgoing, span.incoming] if span is not None else [track.item_at(frame)]
        for item in items:
            if item is None:
                continue
            parts.append(repr(item))
            media_id = getattr(item, "media_id", None)
            if media_id is not None:
                parts.append(repr(project.media.get(media_id)))
    return hash(("frame", frame, *parts))


def costly_frames(project: Project, around: int, reach: int) -> list[int]:
    """The frames within `reach` of `around` that a transition shows on, nearest first."""
    found: set[int] = set()
    for track in project.timeline.tracks:
        if track.kind != "video" or track.hidden:
            continue
        for span in spans(track):
            found.update(f for f in span.frames if abs(f - around) <= reach)
    return sorted(found, key=lambda f: (abs(f - around), f))


class RenderCache:
    """Pictures by key, up to `max_bytes`, safe to use from the render thread and the UI thread."""

    def __init__(self, max_bytes: int = DEFAULT_BYTES):
        self.max_bytes = max_bytes
        self.bytes = 0
        self.hits = 0
        self._entries: OrderedDict[Hashable, tuple[Any, int]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: Hashable):
        with self._lock:
            entry = self._entries.get(key)
            if entry is None:
                return None
            self._entries.move_to_end(key)
            self.hits += 1
            return entry[0]

    def __contains__(self, key: Hashable) -> bool:
        with self._lock:
            return key in self._entries

    def put(self, key: Hashable, picture, size: int) -> None:
        with self._lock:
            if key in self._entries:
                self.bytes -= self._entries.pop(key)[1]
            self._entries[key] = (picture, size)
            self.bytes += size
            while self.bytes > self.max_bytes and self._entries:
                self.bytes -= self._entries.popitem(last=False)[1][1]

    def __len__(self) -> int:
        with self._lock:
            return len(self._entries)
