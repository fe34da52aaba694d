"""The AI tools on a clip (context menu and toolbar): re-cut (extend forwards or backwards,
upscale), remix at a chosen strength, blend with another clip, loop, variations. Each one
queues a job with the same options as its `kinora` command; nothing runs on the UI thread.
A tool works on the clip as trimmed on the timeline: its range of the file goes with the job."""

from __future__ import annotations

import random

from PySide6.QtWidgets import QInputDialog, QMenu, QWidget

from editor.creation_bar import output_path_for
from engine.errors import KinoraError
from engine.model.items import Clip, MediaRef
from engine.model.project import Project
from engine.time import FrameRate

REMIX_STRENGTHS = {"Subtle": 0.25, "Mild": 0.5, "Strong": 0.75}


def tool_argv(tool: str, sources: list[str], *, prompt: str = "", options: list[str] = (), seed: int | None = None,
              output: str | None = None) -> list[str]:
    """`kinora <tool>` options for clips whose files are `sources`."""
    seed = random.randrange(2**31) if seed is None else seed
    argv = [*sources, *([prompt] if prompt else []), *options, "--seed", str(seed)]
    return [*argv, "-o", output or output_path_for(f"{tool} {prompt}")]


def file_range(clip: Clip, ref: MediaRef, project_rate: FrameRate) -> str | None:
    """The clip's trim as frames of its file, "START:END" (at the file's own rate), or None when
    the clip uses the whole file."""
    media_rate = ref.rate or project_rate
    first = project_rate.rescale(clip.source_range.start, media_rate)
    stop = max(first + 1, project_rate.rescale(clip.source_range.stop, media_rate))
    if ref.num_frames:
        stop = min(stop, ref.num_frames)
        if first == 0 and stop == ref.num_frames:
            return None
    return f"{first}:{stop}"


class ClipTools:
    """Builds the tools menu for the selected clips and submits their jobs through `submit(kind, params)`."""

    def __init__(self, parent: QWidget, submit, report_problem, switch_take):
        self.parent = parent
        self.submit = submit
        self.report_problem = report_problem
        self.switch_take = switch_take  # (clip id, media id) -> None

    def menu(self, project: Project, clips: list[Clip]) -> QMenu | None:
        videos = [(clip, project.media.get(clip.media_id)) for clip in clips]
        videos = [(clip, ref) for clip, ref in videos if ref is not None and ref.kind == "video"]
        if not videos:
            return None
        clip, ref = videos[0]
        rate = project.settings.rate
        trims = [file_range(c, r, rate) for c, r in videos]
        trim = ["--range", trims[0]] if trims[0] else []
        menu = QMenu("AI tools", self.parent)
        recut = menu.addMenu("Re-cut")
        recut.addAction("Extend forwards", lambda: self.run("extend", [ref.path], options=trim))
        recut.addAction("Extend backwards", lambda: self.run("extend", [ref.path], options=["--backward", *trim]))
        target = "720p" if (ref.height or 0) < 720 else "1080p"
        recut.addAction(f"Upscale to {target}",
                        lambda: self.run("upscale", [ref.path], options=["--resolution", target, *trim]))
        remix = menu.addMenu("Remix")
        for name, strength in REMIX_STRENGTHS.items():
            remix.addAction(f"{name} ({strength:g})", lambda s=strength: self.remix(ref, s, trim))
        remix.addAction("Custom…", lambda: self.remix(ref, None, trim))
        if len(videos) == 2:
            both = [option for which, t in zip(("--first-range", "--second-range"), trims) if t for option in (which, t)]
            menu.addAction("Blend with the other selected clip",
                           lambda: self.run("blend", [ref.path, videos[1][1].path], options=both))
        else:
            menu.addAction("Blend with the other selected clip").setEnabled(False)
        menu.addAction("Loop", lambda: self.run("loop", [ref.path], options=trim))
        menu.addAction("Generate variations", lambda: self.variations(clip, ref, trim))
        if len(clip.takes) > 1:
            takes = menu.addMenu("Switch take")
            for number, media_id in enumerate(clip.takes, 1):
                action = takes.addAction(f"Take {number}", lambda m=media_id: self.switch_take(clip.id, m))
                action.setCheckable(True)
                action.setChecked(media_id == clip.media_id)
        return menu

    def run(self, tool: str, sources: list[str], *, prompt: str = "", options: list[str] = ()) -> bool:
        from engine.jobs.generate_job import params_from_argv

        try:
            params = params_from_argv(tool_argv(tool, sources, prompt=prompt, options=list(options)), tool)
        except (KinoraError, SystemExit) as error:
            self.report_problem(str(error) or f"{tool} cannot run with these settings")
            return False
        self.submit(tool, params)
        return True

    def remix(self, ref: MediaRef, strength: float | None, trim: list[str] = ()) -> bool:
        prompt, ok = QInputDialog.getText(self.parent, "Remix", "New prompt for the clip:")
        if not ok:
            return False
        if strength is None:
            strength, ok = QInputDialog.getDouble(self.parent, "Remix", "How much to change (0 = nothing, 1 = all):",
                                                  0.5, 0.0, 1.0, 2)
            if not ok:
                return False
        return self.run("remix", [ref.path], prompt=prompt, options=["--strength", f"{strength:g}", *trim])

    def variations(self, clip: Clip, ref: MediaRef, trim: list[str] = ()) -> bool:
        """Four new takes: the clip's own recipe with new seeds when Kinora made it, else a
        subtle remix of the clip."""
        recipe = dict(clip.generation or {})
        if recipe.get("kind") and isinstance(recipe.get("params"), dict):
            params = {**recipe["params"], "variations": 4, "seed": random.randrange(2**31),
                      "output": output_path_for(f"variations {recipe['params'].get('prompt', '')}")}
            self.submit(recipe["kind"], params)
            return True
        return self.run("remix", [ref.path], options=["--strength", "0.25", "--variations", "4", *trim])
