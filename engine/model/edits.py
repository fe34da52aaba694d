"""The only functions that change a project. Each applies a change and returns its inverse.

A change is an `Edit`: a small immutable description that `apply(project, edit)` carries out
and that returns the edit undoing it. The editor keeps both to undo and redo:

    undo_edit = edits.move(project, item_id, 120)     # do
    redo_edit = edits.apply(project, undo_edit)       # undo
    undo_edit = edits.apply(project, redo_edit)       # redo

A handful of primitive edits (put/take/replace an item, a track, a media ref...) check the
timeline's rules: items on a track never overlap, each kind of item goes on its own kind of
track, clips stay inside their media. The public functions below build primitives, so every
rule is checked in one place. A `Batch` applies several edits atomically: if one fails the
ones before it are undone and the project is left as it was.
"""

from __future__ import annotations

import bisect
import dataclasses
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from engine.errors import EditError
from engine.model.curves import Curve
from engine.model.items import (
    Clip,
    Item,
    Marker,
    MediaRef,
    Still,
    TextBlock,
    frozen_mapping,
    label,
    new_id,
    recipe_of_unknown_take,
)
from engine.model.project import GenerationDefaults, Project, ProjectSettings, Track
from engine.model.titles import Title
from engine.model.transform import head_trim, source_frames_for, timeline_length
from engine.time import FrameRange

# --- primitive edits --------------------------------------------------------------------


class Edit:
    """Base of all edits: `_apply(project)` changes the project and returns the inverse."""

    def _apply(self, project: Project) -> Edit:
        raise NotImplementedError


@dataclass(frozen=True)
class PutItem(Edit):
    track_id: str
    item: Item

    def _apply(self, project: Project) -> Edit:
        track = _track(project, self.track_id)
        _check_fits(project, track, self.item)
        starts = [item.start for item in track.items]
        i = bisect.bisect_left(starts, self.item.start)
        _set_track(project, dataclasses.replace(track, items=(*track.items[:i], self.item, *track.items[i:])))
        return TakeItem(self.item.id)


@dataclass(frozen=True)
class TakeItem(Edit):
    item_id: str

    def _apply(self, project: Project) -> Edit:
        track, item = _find(project, self.item_id)
        _set_track(project, dataclasses.replace(track, items=tuple(x for x in track.items if x.id != item.id)))
        return PutItem(track.id, item)


@dataclass(frozen=True)
class ReplaceItem(Edit):
    """Replace the item with the same id on its track (its start and length may change)."""

    item: Item

    def _apply(self, project: Project) -> Edit:
        track, old = _find(project, self.item.id)
        _check_fits(project, track, self.item, ignore_id=old.id)
        others = [x for x in track.items if x.id != old.id]
        starts = [x.start for x in others]
        i = bisect.bisect_left(starts, self.item.start)
        others.insert(i, self.item)
        _set_track(project, dataclasses.replace(track, items=tuple(others)))
        return ReplaceItem(old)


@dataclass(frozen=True)
class PutTrack(Edit):
    index: int
    track: Track

    def _apply(self, project: Project) -> Edit:
        tracks = project.timeline.tracks
        if any(t.id == self.track.id for t in tracks):
            raise EditError(f"a track with id {self.track.id} is already on the timeline")
        if not 0 <= self.index <= len(tracks):
            raise EditError(f"track position {self.index} is outside 0..{len(tracks)}")
        for item in self.track.items:
            check_item_kind(project, self.track, item)
        tracks.insert(self.index, self.track)
        return TakeTrack(self.track.id)


@dataclass(frozen=True)
class TakeTrack(Edit):
    track_id: str

    def _apply(self, project: Project) -> Edit:
        index = _track_index(project, self.track_id)
        track = project.timeline.tracks.pop(index)
        return PutTrack(index, track)


@dataclass(frozen=True)
class ReplaceTrack(Edit):
    """Change a track's own properties (name, muted, locked, hidden); its items stay."""

    track: Track

    def _apply(self, project: Project) -> Edit:
        old = _track(project, self.track.id)
        if self.track.items != old.items or self.track.kind != old.kind:
            raise EditError("ReplaceTrack changes a track's properties only, not its kind or items")
        _set_track(project, self.track)
        return ReplaceTrack(old)


@dataclass(frozen=True)
class PutMedia(Edit):
    media: MediaRef

    def _apply(self, project: Project) -> Edit:
        if self.media.id in project.media:
            raise EditError(f"media {self.media.name} is already in the project")
        project.media[self.media.id] = self.media
        return TakeMedia(self.media.id)


@dataclass(frozen=True)
class TakeMedia(Edit):
    media_id: str

    def _apply(self, project: Project) -> Edit:
        ref = project.media.get(self.media_id)
        if ref is None:
            raise EditError(f"no media {self.media_id} in this project")
        users = [item for _, item in project.timeline.items() if getattr(item, "media_id", None) == self.media_id]
        if users:
            raise EditError(f"{ref.name} is used by {len(users)} item(s) on the timeline; remove them first")
        del project.media[self.media_id]
        return PutMedia(ref)


@dataclass(frozen=True)
class ReplaceMedia(Edit):
    """Point a media ref elsewhere (relink) or update what is known about it."""

    media: MediaRef

    def _apply(self, project: Project) -> Edit:
        old = project.media.get(self.media.id)
        if old is None:
            raise EditError(f"no media {self.media.id} in this project")
        project.media[self.media.id] = self.media
        return ReplaceMedia(old)


@dataclass(frozen=True)
class SetMarkers(Edit):
    markers: tuple[Marker, ...]

    def _apply(self, project: Project) -> Edit:
        old = tuple(project.timeline.markers)
        project.timeline.markers = sorted(self.markers, key=lambda m: (m.range.start, m.range.stop, m.name))
        return SetMarkers(old)


@dataclass(frozen=True)
class SetSettings(Edit):
    settings: ProjectSettings

    def _apply(self, project: Project) -> Edit:
        old = project.settings
        project.settings = self.settings
        return SetSettings(old)


@dataclass(frozen=True)
class SetGenerationDefaults(Edit):
    generation: GenerationDefaults

    def _apply(self, project: Project) -> Edit:
        old = project.generation
        project.generation = self.generation
        return SetGenerationDefaults(old)


@dataclass(frozen=True)
class Batch(Edit):
    """Several edits as one: all apply or none does."""

    edits: tuple[Edit, ...]

    def _apply(self, project: Project) -> Edit:
        inverses: list[Edit] = []
        try:
            for edit in self.edits:
                inverses.append(edit._apply(project))
        except Exception:
            for inverse in reversed(inverses):
                inverse._apply(project)
            raise
        return Batch(tuple(reversed(inverses)))


def apply(project: Project, edit: Edit) -> Edit:
    """Carry out `edit` and return the edit that undoes it."""
    return edit._apply(project)


# --- the edits the editor and the CLI use ------------------------------------------------


def insert(project: Project, track_id: str, item: Item) -> Edit:
    _check_unlocked(project, track_id)
    return apply(project, PutItem(track_id, item))


def remove(project: Project, item_id: str) -> Edit:
    track, _ = _find(project, item_id)
    _check_unlocked(project, track.id)
    return apply(project, TakeItem(item_id))


def move(project: Project, item_id: str, start: int, track_id: str | None = None) -> Edit:
    """Move an item to `start`, on another track of the same kind when `track_id` is given; the
    items linked to it (engine.model.links) move by as much on their own tracks."""
    track, item = _find(project, item_id)
    moved = dataclasses.replace(item, start=start)
    _check_unlocked(project, track.id)
    partners = tuple(ReplaceItem(dataclasses.replace(other, start=other.start + start - item.start))
                     for other in _linked(project, item))
    if track_id is None or track_id == track.id:
        return apply(project, Batch((ReplaceItem(moved), *partners)) if partners else ReplaceItem(moved))
    _check_unlocked(project, track_id)
    return apply(project, Batch((TakeItem(item_id), PutItem(track_id, moved), *partners)))


def trim_start(project: Project, item_id: str, new_start: int) -> Edit:
    """Move the item's left edge to `new_start`; the frames that stay keep their place and content.
    Items linked to it have their left edge moved by as much."""
    _, item = _find(project, item_id)
    delta = new_start - item.start
    return _with_linked(project, item, _trim_start(project, item_id, new_start),
                        lambda other: _trim_start(project, other.id, other.start + delta))


def _trim_start(project: Project, item_id: str, new_start: int) -> Edit:
    track, item = _find(project, item_id)
    _check_unlocked(project, track.id)
    delta = new_start - item.start
    if delta >= item.range.duration:
        raise EditError(f"cannot trim {_label(project, item)} to nothing: its last frame is {item.range.stop - 1}")
    if isinstance(item, Clip):
        source, source_delta = item.source_range, delta
        if item.speed != 1.0:  # whole source frames: the start may land a little off new_start
            source_delta, delta = head_trim(source.stop - source.start, item.speed, delta)
            new_start = item.start + delta
        if source.start + source_delta < 0 and not item.reverse:
            raise EditError(f"cannot extend {_label(project, item)} earlier: its media starts "
                            f"{source.start} frame(s) before the clip")
        kept = (FrameRange(source.start, source.stop - source_delta) if item.reverse  # its left edge is the source's end
                else FrameRange(source.start + source_delta, source.stop))
        trimmed = dataclasses.replace(item, start=new_start, curve=item.curve.shifted(-delta), source_range=kept,
                                      transform=item.transform.shifted(-delta), opacity=item.opacity.shifted(-delta))
    elif isinstance(item, Still):
        trimmed = dataclasses.replace(item, start=new_start, duration=item.duration - delta,
                                      curve=item.curve.shifted(-delta), transform=item.transform.shifted(-delta),
                                      opacity=item.opacity.shifted(-delta))
    else:
        trimmed = dataclasses.replace(item, start=new_start, duration=item.duration - delta)
    return ReplaceItem(trimmed)


def trim_end(project: Project, item_id: str, new_stop: int) -> Edit:
    """Move the item's right edge so that it ends just before `new_stop`; items linked to it have
    their right edge moved by as much."""
    _, item = _find(project, item_id)
    delta = new_stop - item.range.stop
    return _with_linked(project, item, _trim_end(project, item_id, new_stop),
                        lambda other: _trim_end(project, other.id, other.range.stop + delta))


def _trim_end(project: Project, item_id: str, new_stop: int) -> Edit:
    track, item = _find(project, item_id)
    _check_unlocked(project, track.id)
    length = new_stop - item.start
    if length < 1:
        raise EditError(f"cannot trim {_label(project, item)} to nothing: it starts at frame {item.start}")
    if isinstance(item, Clip):
        source, count = item.source_range, source_frames_for(length, item.speed)
        trimmed = dataclasses.replace(item, source_range=FrameRange(source.stop - count, source.stop) if item.reverse
                                      else FrameRange(source.start, source.start + count))
    else:
        trimmed = dataclasses.replace(item, duration=length)
    return ReplaceItem(trimmed)


def _linked(project: Project, item: Item) -> list[Item]:
    """The other items sharing the item's link (engine.model.links)."""
    from engine.model.links import link_of

    link = link_of(item)
    if link is None:
        return []
    return [other for _, other in project.timeline.items() if other.id != item.id and link_of(other) == link]


def _with_linked(project: Project, item: Item, edit: Edit, partner_edit: Callable[[Item], Edit]) -> Edit:
    """Apply `edit` and the same change to each item linked to `item`, all or none."""
    partners = _linked(project, item)
    if not partners:
        return apply(project, edit)
    return apply(project, Batch((edit, *(partner_edit(other) for other in partners))))


def link(project: Project, item_ids: Sequence[str], sound_apart: Sequence[str] = ()) -> Edit:
    """Link items (a generated clip and its sound): moving or trimming one moves or trims the others.
    The video clips named in `sound_apart` play their sound from the linked audio clip, not their own."""
    from engine.model.links import SOUND_APART, linked_extra

    if len(item_ids) < 2:
        raise EditError("select at least two items to link")
    link_id = new_id()
    changes = []
    for item_id in item_ids:
        track, item = _find(project, item_id)
        _check_unlocked(project, track.id)
        more = {SOUND_APART: True} if item_id in sound_apart else {}
        changes.append(ReplaceItem(dataclasses.replace(item, extra=linked_extra(item.extra, link_id, **more))))
    return apply(project, Batch(tuple(changes)))


def unlink(project: Project, item_id: str) -> Edit:
    """Undo a link: the item and those linked to it move and trim on their own again."""
    from engine.model.links import linked_extra

    _, item = _find(project, item_id)
    group = [item, *_linked(project, item)]
    if len(group) < 2:
        raise EditError(f"{_label(project, item)} is not linked to anything")
    for member in group:
        _check_unlocked(project, _find(project, member.id)[0].id)
    return apply(project, Batch(tuple(ReplaceItem(dataclasses.replace(m, extra=linked_extra(m.extra, None)))
                                      for m in group)))


def split(project: Project, item_id: str, frame: int, new_item_id: str | None = None) -> Edit:
    """Cut the item in two at `frame`: the left part keeps the id, the right part is new."""
    track, item = _find(project, item_id)
    _check_unlocked(project, track.id)
    if not item.range.start < frame < item.range.stop:
        raise EditError(f"frame {frame} is not inside {_label(project, item)} "
                        f"(frames {item.range.start}-{item.range.stop - 1}); move the playhead onto it")
    offset = frame - item.start
    right_id = new_item_id or new_id()
    if isinstance(item, Clip):
        source = item.source_range
        count = source_frames_for(offset, item.speed)  # a slowed clip's left part may end a frame early
        cut = source.stop - count if item.reverse else source.start + count
        # the right part's source frames fill at most the frames it has left, so it never runs
        # past the clip's end (at a fractional cut a slowed clip leaves out a frame instead)
        right_count = min(cut - source.start if item.reverse else source.stop - cut,
                          source_frames_for(item.range.stop - frame, item.speed))
        left_source = FrameRange(cut, source.stop) if item.reverse else FrameRange(source.start, cut)
        right_source = FrameRange(cut - right_count, cut) if item.reverse else FrameRange(cut, cut + right_count)
        if (timeline_length(left_source.duration, item.speed) > offset or right_count < 1
                or timeline_length(right_count, item.speed) > item.range.stop - frame):
            raise EditError(f"{_label(project, item)} runs at {item.speed:g}x, so each of its source frames lasts "
                            f"more than one frame: frame {frame} is too near one of its ends to split it there; "
                            "split it further in")
        # the fade-in stays with the left part and the fade-out with the right
        left = dataclasses.replace(item, source_range=left_source, fade_out=0)
        right = dataclasses.replace(item, id=right_id, start=frame, curve=item.curve.shifted(-offset),
                                    source_range=right_source, transform=item.transform.shifted(-offset),
                                    opacity=item.opacity.shifted(-offset), transition_in=None, fade_in=0)
    elif isinstance(item, Still):
        left = dataclasses.replace(item, duration=offset)
        right = dataclasses.replace(item, id=right_id, start=frame, duration=item.duration - offset,
                                    curve=item.curve.shifted(-offset), transform=item.transform.shifted(-offset),
                                    opacity=item.opacity.shifted(-offset), transition_in=None)
    elif isinstance(item, Title):  # like a clip's sound: the fade-in stays left, the fade-out goes right
        left = dataclasses.replace(item, duration=offset, fade_out=0)
        right = dataclasses.replace(item, id=right_id, start=frame, duration=item.duration - offset, fade_in=0)
    else:
        left = dataclasses.replace(item, duration=offset)
        right = dataclasses.replace(item, id=right_id, start=frame, duration=item.duration - offset)
    from engine.model.links import link_of, linked_extra

    if link_of(right) is not None:  # the link stays with the left part (its partners were not split)
        right = dataclasses.replace(right, extra=linked_extra(right.extra, None))
    return apply(project, Batch((ReplaceItem(left), PutItem(track.id, right))))


def ripple_delete(project: Project, item_id: str) -> Edit:
    """Remove the item and close the gap: later items on the same track move left by its length."""
    track, item = _find(project, item_id)
    _check_unlocked(project, track.id)
    length = item.range.duration
    later = [x for x in track.items if x.start >= item.range.stop]
    shifted = [ReplaceItem(dataclasses.replace(x, start=x.start - length)) for x in later]
    return apply(project, Batch((TakeItem(item_id), *shifted)))


def set_curve(project: Project, item_id: str, curve: Curve) -> Edit:
    track, item = _find(project, item_id)
    if not isinstance(item, (Clip, Still)):
        raise EditError(f"{_label(project, item)} is a prompt and has no influence curve")
    _check_unlocked(project, track.id)
    return apply(project, ReplaceItem(dataclasses.replace(item, curve=curve)))


MIN_GAIN_DB, MAX_GAIN_DB = -60.0, 24.0


def set_clip_audio(project: Project, item_id: str, *, gain_db: float | None = None, fade_in: int | None = None,
                   fade_out: int | None = None) -> Edit:
    """A clip's sound: its gain in dB (-60..+24) and its fade-in and fade-out lengths in frames
    (together at most the clip's length). Arguments left out keep their value."""
    track, item = _find(project, item_id)
    if not isinstance(item, Clip):
        raise EditError(f"{_label(project, item)} has no sound; gain and fades belong to clips")
    _check_unlocked(project, track.id)
    gain_db = item.gain_db if gain_db is None else float(gain_db)
    # fades kept from before a trim may be longer than the clip now: kept ones are shortened to fit
    fade_in = min(item.fade_in, item.range.duration) if fade_in is None else int(fade_in)
    fade_out = min(item.fade_out, item.range.duration - fade_in) if fade_out is None else int(fade_out)
    if not MIN_GAIN_DB <= gain_db <= MAX_GAIN_DB:
        raise EditError(f"gain {gain_db:g} dB of {_label(project, item)} is outside {MIN_GAIN_DB:g}..{MAX_GAIN_DB:g} dB")
    if fade_in < 0 or fade_out < 0 or fade_in + fade_out > item.range.duration:
        raise EditError(f"fades of {fade_in} and {fade_out} frames do not fit {_label(project, item)} "
                        f"({item.range.duration} frames); shorten them")
    return apply(project, ReplaceItem(dataclasses.replace(item, gain_db=gain_db, fade_in=fade_in, fade_out=fade_out)))


def switch_take(project: Project, item_id: str, media_id: str) -> Edit:
    """Show another take (variation) of a generated clip in its place, with that take's own
    recipe, so what the clip says made it (provenance, variations of it) names that take's seed.
    The take shown until now keeps its recipe among the clip's `take_recipes`."""
    track, item = _find(project, item_id)
    if not isinstance(item, Clip) or media_id not in item.takes:
        raise EditError(f"{_label(project, item)} has no take {media_id}; generate variations first")
    _check_unlocked(project, track.id)
    recipes = dict(item.take_recipes)
    if item.generation is not None or item.media_id in recipes:
        recipes[item.media_id] = item.generation
    if media_id in recipes:  # its own recipe, or None for a take Kinora did not generate
        recipe = recipes[media_id]
    else:  # a take nobody recorded: never another take's seed
        recipe = None if item.generation is None else recipe_of_unknown_take(item.generation)
    return apply(project, ReplaceItem(dataclasses.replace(item, media_id=media_id, generation=recipe,
                                                          take_recipes=frozen_mapping(recipes))))


def add_takes(project: Project, item_id: str, media_ids: Sequence[str], generations: Sequence) -> Edit:
    """New takes (variations, a remix, a retake) of a clip, the first of them shown in its place
    with its recipe; the clip keeps its start and, where the new media is long enough, its length."""
    track, item = _find(project, item_id)
    if not isinstance(item, Clip):
        raise EditError(f"{_label(project, item)} is not a clip; takes belong to clips")
    _check_unlocked(project, track.id)
    refs = [project.media.get(m) for m in media_ids]
    if not refs or any(r is None for r in refs):
        raise EditError("the new takes are not in the project's media bin")
    takes = tuple(dict.fromkeys((*(item.takes or (item.media_id,)), *media_ids)))
    recipes = dict(item.take_recipes)
    recipes[item.media_id] = item.generation  # None: the clip shown until now was not generated
    for media_id, recipe in zip(media_ids, generations):
        if recipe is not None:
            recipes[media_id] = recipe
    length = refs[0].frames_at(project.rate) or item.duration
    duration = max(1, min(item.duration, length))
    changed = dataclasses.replace(item, media_id=media_ids[0], takes=takes, source_range=FrameRange(0, duration),
                                  generation=recipes.get(media_ids[0]), take_recipes=frozen_mapping(recipes))
    return apply(project, ReplaceItem(changed))


def set_text(project: Project, item_id: str, text: str, negative: str | None = None) -> Edit:
    track, item = _find(project, item_id)
    if not isinstance(item, TextBlock):
        raise EditError(f"{_label(project, item)} is not a text block")
    _check_unlocked(project, track.id)
    negative = item.negative if negative is None else negative
    return apply(project, ReplaceItem(dataclasses.replace(item, text=text, negative=negative)))


def add_track(project: Project, kind: str, name: str | None = None, index: int | None = None,
              track_id: str | None = None) -> Edit:
    """Add an empty track; by default video tracks go above the top video track, prompt tracks
    on top of everything, audio tracks at the bottom."""
    tracks = project.timeline.tracks
    if name is None:
        prefix = {"video": "V", "prompt": "P", "audio": "A"}.get(kind, "T")
        name = f"{prefix}{sum(t.kind == kind for t in tracks) + 1}"
    if index is None:
        same = [i for i, t in enumerate(tracks) if t.kind == kind]
        index = (same[0] if kind != "audio" else same[-1] + 1) if same else (len(tracks) if kind == "audio" else 0)
    try:
        track = Track(track_id or new_id(), kind, name)
    except ValueError as error:
        raise EditError(str(error)) from None
    return apply(project, PutTrack(index, track))


def remove_track(project: Project, track_id: str) -> Edit:
    _check_unlocked(project, track_id)
    return apply(project, TakeTrack(track_id))


def move_track(project: Project, track_id: str, index: int) -> Edit:
    """Put a track at another place in the display order (0 is the top); its items go with it."""
    tracks = project.timeline.tracks
    track = _track(project, track_id)
    if not 0 <= index < len(tracks):
        raise EditError(f"track position {index} is outside 0..{len(tracks) - 1}")
    return apply(project, Batch((TakeTrack(track_id), PutTrack(index, track))))


def set_track(project: Project, track_id: str, **changes) -> Edit:
    """Rename, mute, lock or hide a track (keyword arguments name the fields)."""
    unknown = set(changes) - {"name", "muted", "locked", "hidden"}
    if unknown:
        raise EditError(f"tracks have no setting {', '.join(sorted(unknown))}")
    return apply(project, ReplaceTrack(dataclasses.replace(_track(project, track_id), **changes)))


def add_media(project: Project, media: MediaRef) -> Edit:
    return apply(project, PutMedia(media))


def add_marker(project: Project, marker: Marker) -> Edit:
    return apply(project, SetMarkers((*project.timeline.markers, marker)))


def remove_marker(project: Project, marker: Marker) -> Edit:
    if marker not in project.timeline.markers:
        raise EditError(f"no marker '{marker.name}' at frame {marker.range.start}")
    kept = list(project.timeline.markers)
    kept.remove(marker)
    return apply(project, SetMarkers(tuple(kept)))


def batch(project: Project, edits: Sequence[Edit]) -> Edit:
    """Apply prepared primitive edits as one undo step."""
    return apply(project, Batch(tuple(edits)))


def together(project: Project, steps: Sequence[Callable[[Project], Edit]]) -> Edit:
    """Run several edit functions as one step: if one fails, the ones before are undone."""
    inverses: list[Edit] = []
    try:
        for step in steps:
            inverses.append(step(project))
    except Exception:
        for inverse in reversed(inverses):
            apply(project, inverse)
        raise
    return Batch(tuple(reversed(inverses)))


# --- rules -------------------------------------------------------------------------------

_TRACK_KIND_OF = {Clip: ("video", "audio"), Still: ("video",), TextBlock: ("prompt",), Title: ("video",)}


def _check_fits(project: Project, track: Track, item: Item, ignore_id: str | None = None) -> None:
    check_item_kind(project, track, item)
    if item.start < 0:
        raise EditError(f"{_label(project, item)} cannot start before frame 0 (asked for {item.start})")
    if item.range.duration < 1:
        raise EditError(f"{_label(project, item)} must last at least one frame")
    if ignore_id is None and any(x.id == item.id for _, x in project.timeline.items()):
        raise EditError(f"an item with id {item.id} is already on the timeline")
    before, after = _neighbours(track, item, ignore_id)
    for other in (before, after):
        if other is not None and other.range.overlaps(item.range):
            raise EditError(
                f"{_label(project, item)} at frames {item.range.start}-{item.range.stop - 1} would overlap "
                f"{_label(project, other)} (frames {other.range.start}-{other.range.stop - 1}) on track "
                f"'{track.name}'; put it on another track or move it")


def check_item_kind(project: Project, track: Track, item: Item) -> None:
    kinds = _TRACK_KIND_OF.get(type(item))
    if kinds is None:
        raise EditError(f"{type(item).__name__} cannot go on a timeline")
    if track.kind not in kinds:
        raise EditError(f"{_label(project, item)} cannot go on {track.kind} track '{track.name}'; "
                        f"use a {' or '.join(kinds)} track")
    if isinstance(item, (Clip, Still)):
        media = project.media.get(item.media_id)
        if media is None:
            raise EditError(f"{_label(project, item)} refers to media {item.media_id} that is not in the project; "
                            "import the file first")
        if isinstance(item, Still) and media.kind != "image":
            raise EditError(f"{media.name} is a {media.kind} file; a still needs an image")
        if isinstance(item, Clip):
            _check_clip_media(project, track, item, media)


def _check_clip_media(project: Project, track: Track, clip: Clip, media: MediaRef) -> None:
    if track.kind == "audio" and not (media.kind == "audio" or media.has_audio):
        raise EditError(f"{media.name} has no sound; it cannot go on audio track '{track.name}'")
    if track.kind == "video" and media.kind == "audio":
        raise EditError(f"{media.name} is an audio file; put it on an audio track")
    if clip.source_range.start < 0:
        raise EditError(f"{_label(project, clip)} cannot start before the beginning of {media.name}")
    available = media.frames_at(project.rate)
    if available is not None and clip.source_range.stop > available:
        raise EditError(f"{_label(project, clip)} needs frames up to {clip.source_range.stop - 1} of {media.name}, "
                        f"which has {available} frame(s) at {project.rate} fps; trim it shorter")


def _neighbours(track: Track, item: Item, ignore_id: str | None) -> tuple[Item | None, Item | None]:
    items = [x for x in track.items if x.id != ignore_id] if ignore_id else track.items
    starts = [x.start for x in items]
    i = bisect.bisect_left(starts, item.start)
    return (items[i - 1] if i > 0 else None, items[i] if i < len(items) else None)


def _check_unlocked(project: Project, track_id: str) -> None:
    track = _track(project, track_id)
    if track.locked:
        raise EditError(f"track '{track.name}' is locked; unlock it to edit")


def _find(project: Project, item_id: str) -> tuple[Track, Item]:
    try:
        return project.timeline.find(item_id)
    except KeyError:
        raise EditError(f"no item {item_id} on the timeline (it may have been deleted)") from None


def _track(project: Project, track_id: str) -> Track:
    try:
        return project.timeline.track(track_id)
    except KeyError:
        raise EditError(f"no track {track_id} on the timeline (it may have been deleted)") from None


def _track_index(project: Project, track_id: str) -> int:
    try:
        return project.timeline.track_index(track_id)
    except KeyError:
        raise EditError(f"no track {track_id} on the timeline (it may have been deleted)") from None


def _set_track(project: Project, track: Track) -> None:
    project.timeline.tracks[_track_index(project, track.id)] = track


def _label(project: Project, item: Item) -> str:
    return label(item, project.media)
