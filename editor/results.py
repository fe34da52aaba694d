"""Where a finished generation lands on the timeline, as the request that made it said: on a new
video track above the range it was made from, as new takes of the clip it came from, or in the
gap it filled. All variations come along as takes of one clip, each with its own recipe."""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable

from editor.timeline.drop import generation_summary
from engine.errors import KinoraError
from engine.model import edits
from engine.model.edits import Edit
from engine.model.items import EMPTY, Clip, MediaRef, frozen_mapping, new_id
from engine.model.project import Project
from engine.time import FrameRange


def landing_edit(project: Project, place: dict, outputs: list[str], make_ref: Callable[[str], MediaRef],
                 recipe_for: Callable[[str], dict | None]) -> Callable[[Project], Edit] | None:
    """The edit that puts `outputs` (the takes of one generation) where `place` says; None when
    the place no longer exists (the track or clip was removed meanwhile)."""
    paths = [os.path.abspath(p) for p in outputs if str(p).lower().endswith(".mp4") and os.path.isfile(p)]
    if not paths:
        return None
    refs = [make_ref(path) for path in paths]
    recipes = [recipe_for(path) for path in paths]
    generations = [generation_summary(r) if r else None for r in recipes]
    mode = place.get("mode")
    if mode == "take":
        try:
            _, clip = project.timeline.find(place.get("clip_id", ""))
        except KeyError:
            return None
        if not isinstance(clip, Clip):
            return None
        return lambda p: _as_takes(p, clip.id, refs, generations)
    track_ids = {t.id for t in project.timeline.tracks}
    if place.get("track_id") not in track_ids:
        return None
    rate = project.rate
    length = refs[0].frames_at(rate) or 1
    if "end" in place:
        start = max(0, int(place["end"]) - length)
    else:
        start = max(0, int(place.get("start", 0)))
    several = len(refs) > 1
    clip = Clip(new_id(), start, refs[0].id, FrameRange(0, length), generation=generations[0],
                takes=tuple(r.id for r in refs) if several else (),
                take_recipes=frozen_mapping({r.id: g for r, g in zip(refs, generations) if g}) if several else EMPTY)
    if mode == "gap":
        gap_track = project.timeline.track(place["track_id"])
        following = [i for i in gap_track.items if i.start >= start]
        room = (following[0].start - start) if following else length
        clip = dataclasses.replace(clip, source_range=FrameRange(0, max(1, min(length, room))))
        clip, sound, _ = _sound_steps(project, refs[0], clip)
        return lambda p: edits.together(p, [*(lambda q, r=r: edits.add_media(q, r) for r in refs),
                                            lambda q: edits.insert(q, place["track_id"], clip), *sound])
    if mode == "track_above":
        index = [t.id for t in project.timeline.tracks].index(place["track_id"])
        track_id = new_id()
        clip, sound, _ = _sound_steps(project, refs[0], clip)
        return lambda p: edits.together(p, [*(lambda q, r=r: edits.add_media(q, r) for r in refs),
                                            lambda q: edits.add_track(q, "video", index=index, track_id=track_id),
                                            lambda q: edits.insert(q, track_id, clip), *sound])
    return None


def _sound_steps(project: Project, ref: MediaRef,
                 clip: Clip) -> tuple[Clip, list[Callable[[Project], Edit]], str | None]:
    """A generated clip with sound (LTX-2) lands with its sound on an audio track, linked to it
    (engine.model.links): the first audio track free over its frames, else a new one at the bottom.
    Returns the video clip (linked, its sound playing from the audio clip), the steps placing the
    sound and the sound clip's id."""
    from engine.model.links import SOUND_APART, linked_extra

    if not ref.has_audio:
        return clip, [], None
    link_id = new_id()
    sound = Clip(new_id(), clip.start, clip.media_id, clip.source_range, extra=linked_extra(None, link_id))
    clip = dataclasses.replace(clip, extra=linked_extra(clip.extra, link_id, **{SOUND_APART: True}))
    free = [t for t in project.timeline.tracks_of("audio") if not t.locked and not t.items_in(sound.range)]
    if free:
        return clip, [lambda q: edits.insert(q, free[0].id, sound)], sound.id
    track_id = new_id()
    return clip, [lambda q: edits.add_track(q, "audio", track_id=track_id),
                  lambda q: edits.insert(q, track_id, sound)], sound.id


def _as_takes(project: Project, clip_id: str, refs: list[MediaRef], generations: list[dict | None]) -> Edit:
    """New takes of a clip, the first of them shown; the clip keeps its place and length. Its linked
    sound (engine.model.links) takes the new takes too; takes with sound for a clip without linked
    sound bring their sound, linked, onto an audio track."""
    from engine.model.links import link_of

    steps: list[Callable[[Project], Edit]] = [lambda q, r=r: edits.add_media(q, r) for r in refs]
    steps.append(lambda q: edits.add_takes(q, clip_id, [r.id for r in refs], generations))
    _, clip = project.timeline.find(clip_id)
    link = link_of(clip)
    partners = [other for _, other in project.timeline.items()
                if link is not None and other.id != clip_id and link_of(other) == link]
    for partner in partners:
        if isinstance(partner, Clip) and partner.media_id == clip.media_id:
            steps.append(lambda q, p=partner: edits.add_takes(q, p.id, [r.id for r in refs], generations))
    if not partners and refs[0].has_audio:
        length = max(1, min(clip.duration, refs[0].frames_at(project.rate) or clip.duration))
        shown = dataclasses.replace(clip, media_id=refs[0].id, source_range=FrameRange(0, length))
        _, placing, sound_id = _sound_steps(project, refs[0], shown)
        steps.extend(placing)
        steps.append(lambda q: edits.link(q, [clip_id, sound_id], sound_apart=[clip_id]))
    return edits.together(project, steps)


def place_matches(place: dict | None, token: str, project: Project) -> bool:
    """Whether a result belongs to the project open now (its path, or this session's unsaved one)."""
    if not isinstance(place, dict):
        return False
    return place.get("document") in (token, project.path) and bool(place.get("document"))


def land(document, place: dict, outputs: list[str], recipe_for) -> str:
    """Put a finished job's outputs on the document's timeline (undoable); returns what happened."""
    from engine.media.ingest import media_ref_for

    try:
        edit = landing_edit(document.project, place, outputs, media_ref_for, recipe_for)
    except KinoraError as error:
        return f"the result could not be placed ({error}); drag it from the Library"
    if edit is None:
        return "its place on the timeline is gone; drag the result from the Library"
    where = {"take": "as a new take of its clip", "gap": "in the gap", "track_above": "on a new track"}
    ok = document.perform("Place generated clip", edit)
    return f"placed {where.get(place.get('mode'), '')}" if ok else "the result could not be placed; drag it from the Library"
