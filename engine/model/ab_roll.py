"""A/B roll: how dissolves between clips live on Kinora tracks, which never overlap items, and
how a clip from another editor becomes a Kinora item.

Another editor's dissolve between clips A and B on one track becomes A on the track and B on
a companion track, each running into the other's time by the dissolve's handles, with crossing
linear influence curves over the overlap (A 1 -> 0, B 0 -> 1, summing to 1 on every frame), and the
same ramps as their opacity, so the picture dissolves as it did in the other editor.
This module holds the frame arithmetic of both directions; engine/model/otio_io.py does the
OpenTimelineIO side.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from engine.model.curves import Curve, Keyframe
from engine.model.items import Clip, Item, Still, TextBlock
from engine.model.project import Track
from engine.model.transform import source_frames_for, speed_fraction
from engine.time import FrameRange

PARTNER_KEY = "transition_partner"  # Track.extra of a companion track: the id of the track it pairs with


@dataclass
class RollPiece:
    """A clip on its way from an editor's track to a Kinora track: its visible range
    [start, stop) on the editor's track, the frames dissolves add before (lead_in) and after
    (tail_out) it, the crossfade lengths (fade_in, fade_out) and the lane it lands on."""

    name: str
    kind: str  # "clip", "still" or "text"
    start: int
    stop: int
    meta: dict
    media_id: str | None = None
    source_start: int = 0
    text: str = ""
    negative: str = ""
    lead_in: int = 0
    tail_out: int = 0
    fade_in: int = 0
    fade_out: int = 0
    linked_to_previous: bool = False  # a dissolve joins it to the piece before
    lane: int = 0

    @property
    def full_start(self) -> int:
        return self.start - self.lead_in

    @property
    def full_stop(self) -> int:
        return self.stop + self.tail_out

    def item(self) -> Item:
        """The Kinora item this piece makes (id left empty), dissolve handles and curves included."""
        start, length = self.full_start, self.full_stop - self.full_start
        if self.kind == "clip":
            source = FrameRange(self.source_start - self.lead_in, self.source_start - self.lead_in + length)
            return Clip(id="", start=start, media_id=self.media_id, source_range=source, curve=self.crossfade(),
                        name=self.name, opacity=self.crossfade())
        if self.kind == "still":
            return Still(id="", start=start, duration=length, media_id=self.media_id, curve=self.crossfade(),
                         name=self.name, opacity=self.crossfade())
        return TextBlock(id="", start=start, duration=length, text=self.text, negative=self.negative)

    def restored(self, made: Item, stored: Item, exported_name: str) -> Item:
        """`made` (the editor's timing and media) with the Kinora data Kinora wrote (`stored`)
        filling in the rest. When the timing changed, dissolves decide the curve, or else the
        stored curve stays on the same source frames."""
        if isinstance(made, TextBlock):
            return replace(stored, start=made.start, duration=made.duration, text=made.text, negative=made.negative)
        if made.range == stored.range and (not isinstance(made, Clip) or made.source_range == stored.source_range):
            curve, opacity = stored.curve, stored.opacity
        elif self.fade_in or self.fade_out:
            curve, opacity = made.curve, made.opacity
        elif isinstance(made, Clip):
            shift = stored.source_range.start - made.source_range.start
            curve, opacity = stored.curve.shifted(shift), stored.opacity.shifted(shift)
        else:
            curve, opacity = stored.curve, stored.opacity
        name = stored.name if self.name == exported_name else self.name
        changes = {"start": made.start, "media_id": made.media_id, "curve": curve, "opacity": opacity, "name": name}
        if isinstance(made, Clip):
            changes["source_range"] = _retimed_source(made, stored) if stored.speed != 1.0 or stored.reverse \
                else made.source_range
        else:
            changes["duration"] = made.duration
        return replace(stored, **changes)

    def crossfade(self) -> Curve:
        """Linear ramps over the dissolves at either end, in item-local frames."""
        length = self.full_stop - self.full_start
        keys = []
        if self.fade_in:
            keys += [Keyframe(0.0, 0.0), Keyframe(float(self.fade_in), 1.0)]
        if self.fade_out:
            keys += [Keyframe(float(length - self.fade_out), 1.0), Keyframe(float(length), 0.0)]
        return Curve(tuple(keys))


def assign_lanes(pieces: list[RollPiece]) -> None:
    """Classic A/B roll: a piece that a dissolve joins to the previous one goes to another lane;
    any other piece to the first lane (the original track, then its companions) where it fits."""
    lane_ends: list[int] = []
    previous = None
    for piece in pieces:
        lanes = [lane for lane in range(len(lane_ends))
                 if not (piece.linked_to_previous and previous is not None and lane == previous.lane)]
        piece.lane = next((lane for lane in lanes if lane_ends[lane] <= piece.full_start), len(lane_ends))
        if piece.lane == len(lane_ends):
            lane_ends.append(piece.full_stop)
        lane_ends[piece.lane] = piece.full_stop
        previous = piece


def plan_dissolves(items: list[Item]) -> tuple[list[tuple[int, int]], dict[int, tuple[int, int]]] | None:
    """For items of a track and its companions sorted by start: each one's visible range on a
    single track, and {i: (in_offset, out_offset)} for a dissolve from item i to item i + 1,
    cut in the middle of their overlap as editors draw it. None when some overlap is not a
    linear crossfade between neighbours (then the tracks cannot become one)."""
    visible = [[item.start, item.range.stop] for item in items]
    dissolves: dict[int, tuple[int, int]] = {}
    for i in range(len(items) - 1):
        a, b = items[i], items[i + 1]
        if a.range.stop <= b.start:
            continue
        if not is_linear_crossfade(items, i):
            return None
        overlap = a.range.stop - b.start
        cut = b.start + overlap // 2
        visible[i][1] = visible[i + 1][0] = cut
        dissolves[i] = (cut - b.start, a.range.stop - cut)
    if any(stop <= start for start, stop in visible):
        return None
    return [(start, stop) for start, stop in visible], dissolves


def is_linear_crossfade(items: list[Item], i: int) -> bool:
    """Whether items i and i + 1 overlap as a linear crossfade (i: 1 -> 0, i + 1: 0 -> 1) that
    touches no other item."""
    a, b = items[i], items[i + 1]
    if isinstance(a, TextBlock) or isinstance(b, TextBlock):
        return False
    if not (a.start < b.start and a.range.stop <= b.range.stop):
        return False
    if i + 2 < len(items) and items[i + 2].start < a.range.stop:
        return False
    overlap = a.range.stop - b.start
    steps = np.arange(overlap, dtype=np.float64)
    fading_out = a.curve.evaluate(steps + (b.start - a.start))
    fading_in = b.curve.evaluate(steps)
    return bool(np.allclose(fading_out, 1.0 - steps / overlap) and np.allclose(fading_in, steps / overlap))


def companion_groups(tracks: list[Track]) -> list[list[Track]]:
    """Each track with the companion tracks that pair with it (Track.extra[PARTNER_KEY]), the
    original first, then its companions nearest first. Prompt tracks have no companions."""
    by_id = {track.id: track for track in tracks}
    index = {track.id: i for i, track in enumerate(tracks)}

    def original_of(track: Track) -> Track:
        seen = {track.id}
        while track.kind != "prompt":
            partner = by_id.get(track.extra.get(PARTNER_KEY))
            if partner is None or partner.kind != track.kind or partner.id in seen:
                break
            seen.add(partner.id)
            track = partner
        return track

    groups: dict[str, list[Track]] = {}
    for track in tracks:
        groups.setdefault(original_of(track).id, []).append(track)
    return [[by_id[first], *sorted((t for t in members if t.id != first), key=lambda t: abs(index[t.id] - index[first]))]
            for first, members in groups.items()]


def _retimed_source(made: Clip, stored: Clip) -> FrameRange:
    """The source frames of a clip with a speed or reversed, after another editor's timing.
    Such a clip goes out at normal speed (otio_io's export), its otio source starting at the
    stored source start plus the timeline frames trimmed off its head, so what the other editor
    trimmed is counted in timeline frames and turned back into source frames at the speed."""
    trimmed, length = made.source_range.start - stored.source_range.start, made.range.duration
    if trimmed == 0 and length == stored.range.duration:
        return stored.source_range
    source, count = stored.source_range, source_frames_for(length, stored.speed)
    step = round(trimmed * speed_fraction(stored.speed))
    if stored.reverse:  # its head shows the end of its source range
        return FrameRange(source.stop - step - count, source.stop - step)
    return FrameRange(source.start + step, source.start + step + count)
