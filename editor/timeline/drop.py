"""Dropping files on the timeline: from the desktop file manager or from the Library.

A dropped file is probed (in a child process, so a damaged file cannot take the editor
down), added to the media bin unless it is already there, and placed at the drop frame on
the track under the pointer, or on the nearest track that can hold it. The first file's start
(or its end) snaps like a moved clip does. The whole drop is one undo step.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable, Mapping

from engine.errors import KinoraError
from engine.model import edits
from engine.model.edits import Edit
from engine.model.items import Clip, Item, MediaRef, Still, frozen_mapping, new_id, recipe_of_unknown_take
from engine.model.project import Project, Track
from engine.time import FrameRange

MEDIA_MIME = "application/x-kinora-media"  # newline-separated absolute paths, from the Library
STILL_SECONDS = 5


def track_for(project: Project, ref: MediaRef, under: Track | None) -> Track | None:
    wanted = "audio" if ref.kind == "audio" else "video"
    if under is not None and under.kind == wanted and not under.locked:
        return under
    candidates = [t for t in project.timeline.tracks if t.kind == wanted and not t.locked]
    return candidates[0] if candidates else None


def item_for(project: Project, ref: MediaRef, start: int) -> Item:
    if ref.kind == "image":
        return Still(new_id(), start, STILL_SECONDS * project.rate.timebase, ref.id)
    length = ref.frames_at(project.rate) or project.rate.timebase * STILL_SECONDS
    return Clip(new_id(), start, ref.id, FrameRange(0, max(length, 1)))


def drop_files(project: Project, paths: list[str], frame: int, under: Track | None,
               make_ref: Callable[[str], MediaRef], recipe_for: Callable[[str], dict | None] = lambda path: None,
               snap: Callable[[int, int], int] = lambda start, stop: start,
               ) -> tuple[Callable[[Project], Edit] | None, list[str]]:
    """The edit that drops `paths` one after another from `frame`, and messages for files
    that could not be used. `make_ref` probes a file (engine.media.ingest.media_ref_for);
    `recipe_for` finds the library's record of a generated file, so the clip keeps its recipe
    and the other takes of its generation. `snap(start, stop)` moves the first item's start
    where the view snaps (its length is known only once the file is probed); the rest follow."""
    by_path = {os.path.abspath(ref.path): ref for ref in project.media.values()}
    problems: list[str] = []
    steps: list[Callable[[Project], Edit]] = []
    start = max(frame, 0)
    first = True  # the first item placed snaps; the others follow it end to end

    def media(path: str) -> MediaRef | None:
        ref = by_path.get(path)
        if ref is None:
            try:
                ref = make_ref(path)
            except KinoraError as error:
                problems.append(str(error))
                return None
            by_path[path] = ref
            steps.append(lambda p, r=ref: edits.add_media(p, r))
        return ref

    for path in paths:
        path = os.path.abspath(path)
        ref = media(path)
        if ref is None:
            continue
        track = track_for(project, ref, under)
        if track is None:
            problems.append(f"{os.path.basename(path)}: there is no unlocked {ref.kind} track to put it on; add one")
            continue
        item = item_for(project, ref, start)
        if first:
            item = dataclasses.replace(item, start=max(snap(item.start, item.range.stop), 0))
            first = False
        recipe = recipe_for(path) if isinstance(item, Clip) else None
        if recipe is not None:
            generation = generation_summary(recipe)
            take_paths = [os.path.abspath(take) for take in (recipe.get("settings") or {}).get("takes", [])
                          if os.path.isfile(take)]
            takes = [(take_path, media(take_path)) for take_path in take_paths]
            takes = [(take_path, take) for take_path, take in takes if take is not None]
            item = dataclasses.replace(item, generation=generation, takes=tuple(take.id for _, take in takes),
                                       take_recipes=frozen_mapping({
                                           take.id: frozen_mapping(generation if take.id == ref.id else take_recipe(
                                               recipe_for(take_path), generation)) for take_path, take in takes}))
        steps.append(lambda p, t=track.id, i=item: edits.insert(p, t, i))
        start = item.range.stop
    if not steps:
        return None, problems
    return (lambda p: edits.together(p, steps)), problems


def take_recipe(record: dict | None, dropped: dict) -> Mapping:
    """A take's own recipe from its library record; without one (the library lost it), what the
    takes of one generation share, from the dropped take's recipe, with the seed unknown."""
    return generation_summary(record) if record is not None else recipe_of_unknown_take(dropped)


def generation_summary(record: dict) -> dict:
    """What a clip keeps of the library's record of its generation (provenance, variations)."""
    prompts = record.get("prompts") or []
    return {"model": record.get("model_id"), "seed": (record.get("seeds") or [None])[0], "tool": record.get("tool"),
            "prompt": prompts[0].get("text", "") if prompts else "", "library_id": record.get("id"),
            "weights_hash": record.get("weights_hash")}
