"""Kinora transitions on a cut (engine/model/transitions.py) in OpenTimelineIO.

Export: an otio Transition between the two clips, its in/out offsets the frames the transition
shows before and after the cut: SMPTE_Dissolve for a cross-dissolve (Resolve, Premiere and
Kdenlive show it as their own dissolve), Custom for a dip or a wipe, named after it. Its
metadata marks it as Kinora's, and the incoming clip's Kinora data holds the transition itself.
Import: such a transition is left to the incoming clip's Kinora data (a plain cut on the otio
side, so it is not made into an A/B roll as another editor's dissolve is).
"""

from __future__ import annotations

from collections.abc import Mapping

import opentimelineio as otio

from engine.model import transitions
from engine.model.otio_files import METADATA_KEY
from engine.model.project import Track
from engine.time import FrameRate

MARK = "cut_transition"


def cut_transition_to_otio(track: Track, incoming, rate: FrameRate) -> otio.schema.Transition | None:
    """The otio Transition for the transition into `incoming` on `track`, or None when it has
    none that shows (no transition, or it does not start where another item ends)."""
    span = transitions.span_of(track, incoming)
    if span is None:
        return None
    kind = (otio.schema.TransitionTypes.SMPTE_Dissolve if span.transition.kind == "dissolve"
            else otio.schema.TransitionTypes.Custom)
    before, after = span.cut - span.frames.start, span.frames.stop - span.cut
    return otio.schema.Transition(
        name=span.transition.title, transition_type=kind,
        in_offset=otio.opentime.RationalTime(float(before), float(rate.fps)),
        out_offset=otio.opentime.RationalTime(float(after), float(rate.fps)),
        metadata={METADATA_KEY: {MARK: True, "kind": span.transition.kind}})


def cut_transition_kept(entry: otio.schema.Transition, after) -> bool:
    """Whether an imported otio transition is Kinora's own and the clip after it (a RollPiece)
    still carries it in its Kinora data."""
    meta = entry.metadata.get(METADATA_KEY)
    piece_meta = getattr(after, "meta", None)
    # otio metadata are AnyDictionary mappings, not dicts
    return (isinstance(meta, Mapping) and meta.get(MARK) is True and isinstance(piece_meta, Mapping)
            and isinstance(piece_meta.get("transition_in"), Mapping))
