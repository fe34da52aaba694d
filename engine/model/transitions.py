"""Classic transitions: a cross-dissolve, a dip to a colour or a wipe on the cut between two
items that touch on one video track.

The model is the one Resolve, Kdenlive and Premiere use for a transition on one track: it
belongs to the cut, lasts `duration` frames and is centred on it. A transition is stored on
the incoming item (`Clip.transition_in`, `Still.transition_in`), so it moves with the cut: it
shows only while another item ends exactly where that item starts (after a move that opens a
gap it stays on the item, inactive, and comes back when the items touch again).

Over the frames [cut - duration // 2, cut + duration - duration // 2) the outgoing item runs on
past its end and the incoming one starts early: both draw on the handles of their source media
(the frames outside their trimmed range). `transition_edits` keeps a transition within the
handles the media has; if a later trim takes them away the last (or first) frame available is
held. A still has unlimited handles.

engine/model/transition.py holds the record; this module the frame arithmetic; engine/media/transition_mix.py mixes
the pictures and engine/model/transition_edits.py changes transitions.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from engine.model.items import Clip, Still
from engine.model.project import Project, Track
from engine.model.transform import speed_fraction
from engine.model.transition import Transition
from engine.time import FrameRange


@dataclass(frozen=True, slots=True)
class TransitionSpan:
    """An active transition: where it shows on the timeline and the two items it joins."""

    outgoing: Clip | Still
    incoming: Clip | Still
    transition: Transition
    frames: FrameRange

    @property
    def cut(self) -> int:
        return self.incoming.start

    def progress(self, frame: int) -> float:
        """0 -> 1 across the span, sampled at frame centres, so it is symmetric about the
        middle (an odd duration has a frame at exactly 0.5) and never shows pure A or pure B."""
        return (frame - self.frames.start + 0.5) / self.frames.duration

    def item_at(self, frame: int) -> Clip | Still:
        """The item the frame belongs to on the track (the one showing without the transition)."""
        return self.outgoing if frame < self.cut else self.incoming


def span_of(track: Track, incoming) -> TransitionSpan | None:
    """The active transition into `incoming` on `track`, or None (no transition, or no item
    ends where it starts). The span never reaches past either item's own range."""
    transition = getattr(incoming, "transition_in", None)
    if transition is None or track.kind != "video":
        return None
    outgoing, _ = track.neighbours(incoming.start)
    if outgoing is None or outgoing.range.stop != incoming.start or not hasattr(outgoing, "media_id"):
        return None
    cut = incoming.start
    frames = FrameRange(max(outgoing.start, cut - transition.frames_before_cut),
                        min(incoming.range.stop, cut + transition.frames_after_cut))
    return TransitionSpan(outgoing, incoming, transition, frames)


def span_at(track: Track, frame: int) -> TransitionSpan | None:
    """The transition showing at `frame` on `track`, if any."""
    item = track.item_at(frame)
    if item is None:
        return None
    for candidate in (item, track.neighbours(item.range.stop)[1]):
        if candidate is None:
            continue
        span = span_of(track, candidate)
        if span is not None and frame in span.frames:
            return span
    return None


def spans(track: Track) -> list[TransitionSpan]:
    """Every active transition on the track, in time order (for drawing)."""
    found = (span_of(track, item) for item in track.items)
    return [span for span in found if span is not None]


def handles(project: Project, outgoing, incoming) -> tuple[int | None, int | None]:
    """Spare frames, in timeline frames (after the outgoing item's end, before the incoming
    item's start); None where unlimited (a still, or media of unknown length). A reversed clip
    runs on into the source frames before its range and starts early with those after it; a
    clip with a speed uses `speed` of them a frame."""
    after = before = None
    if hasattr(outgoing, "source_range"):
        after = _spare(project, outgoing, past_end=True)
    if hasattr(incoming, "source_range"):
        before = _spare(project, incoming, past_end=False)
    return after, before


def _spare(project: Project, clip: Clip, past_end: bool) -> int | None:
    """Timeline frames of media a clip has past its end (or before its start)."""
    if past_end != clip.reverse:  # the source frames after its range
        ref = project.media.get(clip.media_id)
        available = ref.frames_at(project.rate) if ref is not None else None
        spare = None if available is None else max(0, available - clip.source_range.stop)
    else:
        spare = max(0, clip.source_range.start)
    if spare is None or clip.speed == 1.0:
        return spare
    return math.floor(spare / speed_fraction(clip.speed))


def longest(project: Project, outgoing, incoming) -> int:
    """The longest centred transition the two items' handles and lengths allow."""
    after, before = handles(project, outgoing, incoming)
    # frames_before_cut = d // 2 must fit the incoming handle and the outgoing item;
    # frames_after_cut = d - d // 2 must fit the outgoing handle and the incoming item.
    limits = [2 * outgoing.range.duration + 1, 2 * incoming.range.duration]
    if before is not None:
        limits.append(2 * before + 1)
    if after is not None:
        limits.append(2 * after)
    return min(limits)


def source_frame(project: Project, item, frame: int) -> int:
    """The timeline frame to show of `item` at `frame` during a transition: `frame` itself while
    the media has it, else the nearest frame the media has (held)."""
    if not hasattr(item, "source_range") or item.speed != 1.0 or item.reverse:
        return frame  # a still; or a clip the compositor holds in source frames (effects.retimed_picture)
    first = item.start - item.source_range.start  # the timeline frame of source frame 0
    ref = project.media.get(item.media_id)
    available = ref.frames_at(project.rate) if ref is not None else None
    last = None if available is None else first + available - 1
    frame = max(frame, first)
    return frame if last is None else min(frame, last)
