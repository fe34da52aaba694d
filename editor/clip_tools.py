"""The AI tools on a clip (context menu and toolbar): re-cut (extend forwards or backwards,
upscale), remix at a chosen strength, blend with another clip, loop, variations. Each one
queues a job with the same options as its `kinora` command; nothing runs on the UI thread."""

from __future__ import annotations

import random

from PySide6.QtWidgets import QInputDialog, QMenu, QWidget

from editor.creation_bar import output_path_for
from engine.errors import KinoraError
from engine.model.items import Clip, MediaRef
from engine.model.project import Project

REMIX_STRENGTHS = {"Subtle": 0.25, "Mild": 0.5, "Strong": 0.75}


def tool_argv(tool: str, sources: list[str], *, prompt: str = "", options: list[str] = (), seed: int | None = None,
              output: str | None = None) -> list[str]:
    """`kinora <tool>` options for clips whose files are `sources`."""
    seed = random.randrange(2**31) if seed is None else seed
    argv = [*sources, *([prompt] if prompt else []), *options, "--seed", str(seed)]
    return [*argv, "-o", output or output_path_for(f"{tool} {prompt}")]


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
        menu = QMenu("AI tools", self.parent)
        recut = menu.addMenu("Re-cut")
        recut.addAction("Extend forwards", lambda: self.run("extend", [ref.path]))
        recut.addAction("Extend backwards", lambda: self.run("extend", [ref.path], options=["--backward"]))
        target = "720p" if (ref.height or 0) < 720 else "1080p"
        recut.addAction(f"Upscale to {target}", lambda: self.run("upscale", [ref.path], options=["--resolution", target]))
        remix = menu.addMenu("Remix")
        for name, strength in REMIX_STRENGTHS.items():
            remix.addAction(f"{name} ({strength:g})", lambda s=strength: self.remix(ref, s))
        remix.addAction("Custom…", lambda: self.remix(ref, None))
        blend = menu.addAction("Blend with the other selected clip",
                               lambda: self.run("blend", [ref.path, videos[1][1].path]))
        blend.setEnabled(len(videos) == 2)
        menu.addAction("Loop", lambda: self.run("loop", [ref.path]))
        menu.addAction("Generate variations", lambda: self.variations(clip, ref))
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

    def remix(self, ref: MediaRef, strength: float | None) -> bool:
        prompt, ok = QInputDialog.getText(self.parent, "Remix", "New prompt for the clip:")
        if not ok:
            return False
        if strength is None:
            strength, ok = QInputDialog.getDouble(self.parent, "Remix", "How much to change (0 = nothing, 1 = all):",
                                                  0.5, 0.0, 1.0, 2)
            if not ok:
                return False
        return self.run("remix", [ref.path], prompt=prompt, options=["--strength", f"{strength:g}"])

    def variations(self, clip: Clip, ref: MediaRef) -> bool:
        """Four new takes: the clip's own recipe with new seeds when Kinora made it, else a
        subtle remix of the clip."""
        recipe = dict(clip.generation or {})
        if recipe.get("kind") and isinstance(recipe.get("params"), dict):
            params = {**recipe["params"], "variations": 4, "seed": random.randrange(2**31),
                      "output": output_path_for(f"variations {recipe['params'].get('prompt', '')}")}
            self.submit(recipe["kind"], params)
            return True
        return self.run("remix", [ref.path], options=["--strength", "0.25", "--variations", "4"])
