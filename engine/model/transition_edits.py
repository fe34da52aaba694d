"""Edits of an item's picture: its opacity keyframes and the transition on the cut where it
starts. Like every edit (engine/model/edits.py) each applies the change and returns its inverse."""

from __future__ import annotations

import dataclasses

from engine.errors import EditError
from engine.model import transitions
from engine.model.curves import Curve
from engine.model.edits import Edit, ReplaceItem, apply
from engine.model.items import Clip, Item, Still, label
from engine.model.project import Project, Track
from engine.model.transition import Transition


def set_opacity(project: Project, item_id: str, opacity: Curve) -> Edit:
    """Set the opacity keyframes of a clip or still on a video track (the picture only)."""
    track, item = _picture(project, item_id, "has no opacity")
    return apply(project, ReplaceItem(dataclasses.replace(item, opacity=opacity)))


def incoming_at_cut(project: Project, track_id: str, frame: int) -> Item:
    """The item that starts at the cut nearest `frame` on the track, where another item ends
    exactly; EditError when there is no such cut."""
    track = _track(project, track_id)
    cuts = [b for a, b in zip(track.items, track.items[1:]) if a.range.stop == b.start]
    if not cuts:
        raise EditError(f"track '{track.name}' has no cut where two items touch; move one item against "
                        "the other to put a transition between them")
    return min(cuts, key=lambda b: abs(b.start - frame))


def add_transition(project: Project, item_id: str, transition: Transition) -> Edit:
    """Put `transition` on the cut where `item_id` starts, shortened to what the two items'
    handles allow (see transitions.longest)."""
    track, incoming = _picture(project, item_id, "cannot have a transition")
    outgoing, _ = track.neighbours(incoming.start)
    if outgoing is None or outgoing.range.stop != incoming.start:
        raise EditError(f"{label(incoming, project.media)} does not start where another item ends on track "
                        f"'{track.name}'; move it against its neighbour to add a transition")
    if not isinstance(outgoing, (Clip, Still)):
        raise EditError(f"{label(outgoing, project.media)} is not a picture; a transition joins two pictures")
    longest = transitions.longest(project, outgoing, incoming)
    if longest < 2:
        raise EditError(f"{label(outgoing, project.media)} and {label(incoming, project.media)} have no spare "
                        f"frames at the cut at frame {incoming.start}: a transition shows frames past the end of the "
                        "first and before the start of the second; trim the first's end or the second's start "
                        "by a few frames")
    fitted = dataclasses.replace(transition, duration=min(transition.duration, longest))
    return apply(project, ReplaceItem(dataclasses.replace(incoming, transition_in=fitted)))


def set_transition(project: Project, item_id: str, transition: Transition | None) -> Edit:
    """Change (or with None remove) the transition on the cut where `item_id` starts."""
    if transition is not None:
        return add_transition(project, item_id, transition)
    track, item = _picture(project, item_id, "has no transition")
    if item.transition_in is None:
        raise EditError(f"{label(item, project.media)} has no transition to remove")
    return apply(project, ReplaceItem(dataclasses.replace(item, transition_in=None)))


def _picture(project: Project, item_id: str, what: str) -> tuple[Track, Clip | Still]:
    try:
        track, item = project.timeline.find(item_id)
    except KeyError:
        raise EditError(f"no item {item_id} on the timeline (it may have been deleted)") from None
    if not isinstance(item, (Clip, Still)) or track.kind != "video":
        raise EditError(f"{label(item, project.media)} on {track.kind} track '{track.name}' {what}; "
                        "only pictures on video tracks do")
    if track.locked:
        raise EditError(f"track '{track.name}' is locked; unlock it to edit")
    return track, item


def _track(project: Project, track_id: str) -> Track:
    try:
        return project.timeline.track(track_id)
    except KeyError:
        raise EditError(f"no track {track_id} on the timeline (it may have been deleted)") from None
