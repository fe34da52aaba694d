"""Linked items: a generated clip and its sound on an audio track move and trim together.

A link is an id kept in each linked item's `extra` (LINK_KEY); the edits that move or trim an
item (engine.model.edits) change the items sharing its link the same way. A video clip whose
sound plays from a linked audio clip carries SOUND_APART, so the mix does not play it twice;
it keeps that after an unlink, as an NLE keeps a detached sound apart.
"""

from __future__ import annotations

from collections.abc import Mapping

from engine.model.items import frozen_mapping

LINK_KEY = "link"
SOUND_APART = "sound_apart"


def link_of(item) -> str | None:
    extra = getattr(item, "extra", None)
    value = extra.get(LINK_KEY) if extra else None
    return value if isinstance(value, str) and value else None


def linked_extra(extra: Mapping | None, link_id: str | None, **more) -> Mapping:
    """`extra` with the link set to `link_id` (removed when None) and `more` added."""
    values = dict(extra or {})
    if link_id is None:
        values.pop(LINK_KEY, None)
    else:
        values[LINK_KEY] = link_id
    values.update(more)
    return frozen_mapping(values)


def sound_apart(item) -> bool:
    """Whether a video clip's sound plays from an audio clip of its own (not from the video track)."""
    extra = getattr(item, "extra", None)
    return bool(extra and extra.get(SOUND_APART))


def with_partners(timeline, item_ids) -> list[str]:
    """`item_ids` followed by the ids of the items linked to any of them and not among them: what
    moves when those items are dragged together."""
    links = {link_of(timeline.find(item_id)[1]) for item_id in item_ids} - {None}
    if not links:
        return list(item_ids)
    chosen = set(item_ids)
    return [*item_ids, *(item.id for _track, item in timeline.items()
                         if item.id not in chosen and link_of(item) in links)]
