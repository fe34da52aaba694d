"""Where a plan longer than the model makes at once is cut into windows (engine.generate.windows),
as the plan strip marks it: a line at each window's start and a band over the frames a window
shares with the one before (the latent frames the new window holds), with a sentence per window for its tooltip.

Everything is in plan frames, made from the plan and the model's caps when the plan is compiled;
the strip only scales it to the zoom."""

from __future__ import annotations

from dataclasses import dataclass

from engine.generate.caps import ModelCaps
from engine.generate.plan import GenerationPlan
from engine.generate.windows import window_layout


@dataclass(frozen=True, slots=True)
class WindowMark:
    """Window `index` (0-based) of `count`: plan frames [start, stop), of which [start, first_new)
    the window before made too."""

    index: int
    count: int
    start: int
    stop: int
    first_new: int
    timeline_start: int  # the plan's first frame on the timeline

    @property
    def shared(self) -> int:
        return self.first_new - self.start

    def describe(self) -> str:
        """"window 2 of 7: frames 24-56 (shares 9 frames with the one before)", in timeline frames."""
        first, last = self.timeline_start + self.start, self.timeline_start + self.stop - 1
        text = f"window {self.index + 1} of {self.count}: frames {first}-{last}"
        if self.shared:
            text += f" (shares {self.shared} frame{'s' if self.shared != 1 else ''} with the one before)"
        return text


def window_marks(plan: GenerationPlan | None, caps: ModelCaps) -> list[WindowMark]:
    """The windows of `plan` on `caps`'s model; empty when the model makes it at once (nothing to mark)."""
    if plan is None:
        return []
    windows = window_layout(plan.num_frames, caps)
    if len(windows) < 2:
        return []
    return [WindowMark(w.index, len(windows), w.start, w.stop, w.first_new_frame, plan.frame_range.start)
            for w in windows]


def mark_at(marks: list[WindowMark], frame: float) -> WindowMark | None:
    """The window plan frame `frame` belongs to: the latest one starting at or before it (in a
    shared band, the window that continues from there)."""
    found = None
    for mark in marks:
        if mark.start <= frame < mark.stop:
            found = mark
    return found
