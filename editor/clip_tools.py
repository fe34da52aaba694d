"""The AI tools on a clip (context menu, Tools menu and toolbar): extend forwards or backwards,
upscale, remix at a chosen strength, blend with another clip, loop, retake the marked range,
fill the gap before or after it, variations. Each builds a typed request naming the clip on a
snapshot of the timeline (engine.generate.requests), so the clip's trim, influence curve, the
prompt blocks over it and its neighbours reach the model; nothing runs on the UI thread. The
request says where the result lands: a new track above, a new take of the clip, or the gap."""

from __future__ import annotations

import dataclasses
import random

from PySide6.QtWidgets import QInputDialog, QMenu, QWidget

from editor.creation_bar import output_path_for
from engine.errors import KinoraError
from engine.generate import requests as rq
from engine.model.items import Clip
from engine.model.project import Project

REMIX_STRENGTHS = {"Subtle": 0.25, "Mild": 0.5, "Strong": 0.75}


def clip_ref(project: Project, clip: Clip) -> rq.ClipRef:
    return rq.ClipRef(timeline=rq.TimelineRef.of(project), clip_id=clip.id)


def gaps_beside(project: Project, clip: Clip) -> dict[str, tuple[int, int]]:
    """The empty frames right before and after a clip on its track, between two items
    ({"before": (start, stop), "after": (start, stop)}, where there is such a gap)."""
    track, _ = project.timeline.find(clip.id)
    items = list(track.items)
    index = next(i for i, item in enumerate(items) if item.id == clip.id)
    gaps = {}
    if index > 0 and items[index - 1].range.stop < clip.start:
        gaps["before"] = (items[index - 1].range.stop, clip.start)
    if index + 1 < len(items) and clip.range.stop < items[index + 1].start:
        gaps["after"] = (clip.range.stop, items[index + 1].start)
    return gaps


class ClipTools:
    """Builds the tools menu for the selected clips and submits their requests through `submit(request)`."""

    def __init__(self, parent: QWidget, submit, report_problem, switch_take, marks=lambda: (None, None),
                 place_token=lambda: "", request_of=lambda clip: None,
                 defaults=lambda: (rq.Sampling(), rq.Size())):
        self.parent = parent
        self.submit = submit
        self.report_problem = report_problem
        self.switch_take = switch_take  # (clip id, media id) -> None
        self.marks = marks  # () -> (mark in, mark out) on the timeline
        self.place_token = place_token  # () -> the document a result lands in
        self.request_of = request_of  # clip -> the request JSON that made it (from the library), or None
        self.defaults = defaults  # () -> (Sampling, Size) the creation bar is set to: model, steps, preset, size

    def menu(self, project: Project, clips: list[Clip]) -> QMenu | None:
        videos = [c for c in clips if (ref := project.media.get(c.media_id)) is not None and ref.kind == "video"]
        if not videos:
            return None
        clip = videos[0]
        ref = project.media[clip.media_id]
        menu = QMenu("AI tools", self.parent)
        recut = menu.addMenu("Re-cut")
        recut.addAction("Extend forwards…", lambda: self.extend(project, clip, "forward"))
        recut.addAction("Extend backwards…", lambda: self.extend(project, clip, "backward"))
        target = "720p" if (ref.height or 0) < 720 else "1080p"
        recut.addAction(f"Upscale to {target}", lambda: self.upscale(project, clip, target))
        remix = menu.addMenu("Remix")
        for name, strength in REMIX_STRENGTHS.items():
            remix.addAction(f"{name} ({strength:g})", lambda s=strength: self.remix(project, clip, s))
        remix.addAction("Custom…", lambda: self.remix(project, clip, None))
        blend = menu.addAction("Blend with the other selected clip", lambda: self.blend(project, videos[0], videos[1]))
        blend.setEnabled(len(videos) == 2)
        menu.addAction("Loop…", lambda: self.loop(project, clip))
        mark_in, mark_out = self.marks()
        retake = menu.addAction("Retake the marked range…", lambda: self.retake(project, clip, mark_in, mark_out + 1))
        retake.setEnabled(mark_in is not None and mark_out is not None
                          and clip.range.start <= mark_in <= mark_out < clip.range.stop)
        gaps = gaps_beside(project, clip)
        for side in ("before", "after"):
            action = menu.addAction(f"Fill the gap {side} it…", lambda s=side: self.fill_gap(project, clip, *gaps[s]))
            action.setEnabled(side in gaps)
        menu.addAction("Generate variations", lambda: self.variations(project, clip))
        if len(clip.takes) > 1:
            takes = menu.addMenu("Switch take")
            for number, media_id in enumerate(clip.takes, 1):
                action = takes.addAction(f"Take {number}", lambda m=media_id: self.switch_take(clip.id, m))
                action.setCheckable(True)
                action.setChecked(media_id == clip.media_id)
        return menu

    # -- the tools -------------------------------------------------------------------------------

    def extend(self, project: Project, clip: Clip, direction: str) -> bool:
        prompt = self._ask_prompt(f"Extend {direction}s", clip)
        if prompt is None:
            return False
        track, _ = project.timeline.find(clip.id)
        place = ({"mode": "track_above", "track_id": track.id, "start": clip.start} if direction == "forward"
                 else {"mode": "track_above", "track_id": track.id, "end": clip.range.stop})
        return self.run(lambda: rq.Extend(clip=clip_ref(project, clip), direction=direction, prompt=prompt,
                                          **self._common(f"extend {prompt}", place)))

    def loop(self, project: Project, clip: Clip) -> bool:
        prompt = self._ask_prompt("Loop", clip)
        if prompt is None:
            return False
        track, _ = project.timeline.find(clip.id)
        place = {"mode": "track_above", "track_id": track.id, "start": clip.start}
        return self.run(lambda: rq.Loop(clip=clip_ref(project, clip), prompt=prompt,
                                        **self._common(f"loop {prompt}", place)))

    def upscale(self, project: Project, clip: Clip, resolution: str) -> bool:
        ref = project.media[clip.media_id]
        aspect = "9:16" if (ref.height or 0) > (ref.width or 0) else ("1:1" if ref.height == ref.width else "16:9")
        return self.run(lambda: rq.Upscale(clip=clip_ref(project, clip),
                                           **self._common("upscale", {"mode": "take", "clip_id": clip.id},
                                                          size=rq.Size(aspect=aspect, resolution=resolution))))

    def remix(self, project: Project, clip: Clip, strength: float | None) -> bool:
        prompt, ok = QInputDialog.getText(self.parent, "Remix", "New prompt for the clip:",
                                          text=str((clip.generation or {}).get("prompt") or ""))
        if not ok:
            return False
        if strength is None:
            strength, ok = QInputDialog.getDouble(self.parent, "Remix", "How much to change (0 = nothing, 1 = all):",
                                                  0.5, 0.0, 1.0, 2)
            if not ok:
                return False
        return self.run(lambda: rq.Remix(clip=clip_ref(project, clip), strength=strength, prompt=prompt,
                                         **self._common(f"remix {prompt}", {"mode": "take", "clip_id": clip.id})))

    def blend(self, project: Project, first: Clip, second: Clip) -> bool:
        """Clips that overlap on two tracks blend under the curves drawn on them; for others a
        dialog lays both over the same frames and the user draws (or picks) their curves."""
        from editor.dialogs.blend import BlendDialog

        track_a, _ = project.timeline.find(first.id)
        track_b, _ = project.timeline.find(second.id)
        overlap = first.range.intersection(second.range) if track_a.id != track_b.id else None
        drawn: dict = {}
        if overlap is None:
            dialog = BlendDialog(project, first, second, self.parent)
            if not dialog.exec():
                return False
            first_curve, second_curve = dialog.curves()
            drawn = {"first_curve": first_curve, "second_curve": second_curve, "frames": dialog.frames.value()}
        upper = track_a if project.timeline.tracks.index(track_a) < project.timeline.tracks.index(track_b) else track_b
        start = overlap.start if overlap is not None else first.start
        snapshot = rq.TimelineRef.of(project)
        return self.run(lambda: rq.Blend(
            first=rq.ClipRef(timeline=snapshot, clip_id=first.id),
            second=rq.ClipRef(timeline=snapshot, clip_id=second.id), **drawn,
            **self._common("blend", {"mode": "track_above", "track_id": upper.id, "start": start})))

    def retake(self, project: Project, clip: Clip, start: int, stop: int) -> bool:
        prompt = self._ask_prompt("Retake", clip)
        if prompt is None:
            return False
        return self.run(lambda: rq.Retake(clip=clip_ref(project, clip), start=start, stop=stop, prompt=prompt,
                                          **self._common(f"retake {prompt}", {"mode": "take", "clip_id": clip.id})))

    def fill_gap(self, project: Project, clip: Clip, start: int, stop: int) -> bool:
        prompt, ok = QInputDialog.getText(self.parent, "Fill gap", "Prompt for the frames no prompt block covers:")
        if not ok:
            return False
        track, _ = project.timeline.find(clip.id)
        return self.run(lambda: rq.FillGap(
            timeline=rq.TimelineRef.of(project), track_id=track.id, start=start, stop=stop, prompt=prompt,
            **self._common(f"fill {prompt}", {"mode": "gap", "track_id": track.id, "start": start})))

    def variations(self, project: Project, clip: Clip) -> bool:
        """Four new takes: the clip's own request with new seeds when Kinora made it, else a
        subtle remix of the clip."""
        recipe = self.request_of(clip)
        if isinstance(recipe, dict):
            def build():
                base = rq.request_from_json(recipe, "the clip's recipe")
                return rq.Variations(base=base, **self._common("variations", {"mode": "take", "clip_id": clip.id},
                                                               variations=4))
            return self.run(build)
        return self.run(lambda: rq.Remix(clip=clip_ref(project, clip), strength=0.25,
                                         **self._common("variations", {"mode": "take", "clip_id": clip.id},
                                                        variations=4)))

    # -- helpers ---------------------------------------------------------------------------------

    def run(self, build) -> bool:
        try:
            request = build()
        except KinoraError as error:
            self.report_problem(str(error))
            return False
        self.submit(request)
        return True

    def _common(self, title: str, place: dict, *, size: rq.Size | None = None, variations: int = 1) -> dict:
        """What every tool's request shares: the creation bar's model, steps, preset and size, a
        new seed, where the output goes and where it lands."""
        sampling, bar_size = self.defaults()
        return {"output": output_path_for(title), "size": size or bar_size,
                "sampling": dataclasses.replace(sampling, seed=random.randrange(2**31), variations=variations),
                "place": {**place, "document": self.place_token()}}

    def _ask_prompt(self, title: str, clip: Clip) -> str | None:
        """The prompt for a tool that continues a clip: its own recipe's prompt, to keep or change."""
        current = str((clip.generation or {}).get("prompt") or "")
        text, ok = QInputDialog.getText(self.parent, title, "Prompt (the clip's own, or a new one):", text=current)
        return text if ok else None
