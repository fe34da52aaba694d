"""What a user does from a Library entry: reuse its prompt and settings in the creation bar,
re-run it with the same seed, extend / loop / remix / upscale it, compare its takes, rename it,
move it to the trash (undoable) and reveal it in the file manager.

The AI tools are the timeline's own (editor.clip_tools.ClipTools) on a one-clip timeline of the
file, exactly what `kinora extend FILE` builds (ClipRef.of_file), so a Library item and a clip on
the timeline take the same path. Their results go to the Library (no place on the timeline).
"""

from __future__ import annotations

import dataclasses
import os

from PySide6.QtCore import QObject, QUrl, Signal
from PySide6.QtGui import QAction, QDesktopServices, QUndoCommand, QUndoStack
from PySide6.QtWidgets import QApplication, QInputDialog, QMenu, QMessageBox

from editor.clip_tools import REMIX_STRENGTHS, ClipTools
from editor.creation_bar import output_path_for
from editor.library.recipe import display_name, recipe_text
from engine.errors import KinoraError


class TrashEntry(QUndoCommand):
    """An entry's files moved to the trash and its record taken out; undo brings back both.
    The work is done before the command is pushed (a failure is reported, nothing pushed)."""

    def __init__(self, panel, removed: dict, trashed: list, name: str):
        super().__init__(f"Move {name} to the trash")
        self.panel, self.removed, self.trashed = panel, removed, trashed
        self._pushed = False

    def redo(self) -> None:
        if not self._pushed:  # done already, before the push
            self._pushed = True
            return
        from engine.library.trash import move_to_trash

        try:
            self.trashed = [move_to_trash(f.original) for f in self.trashed]
            self.panel.library.remove(self.removed["kind"], self.removed["row"]["id"])
        except KinoraError as error:
            QMessageBox.warning(self.panel, "Kinora", str(error))
        self.panel.refresh()

    def undo(self) -> None:
        from engine.library.trash import restore

        try:
            for trashed in self.trashed:
                restore(trashed)
        except KinoraError as error:
            QMessageBox.warning(self.panel, "Kinora", str(error))
        self.panel.library.put_back(self.removed)
        self.panel.undo_banner.setVisible(False)
        self.panel.refresh()
        self.panel.select_entry(self.removed["kind"], self.removed["row"]["id"])


class LibraryActions(QObject):
    """The actions on the Library's current entry; the panel's recipe buttons and its context
    menu show the same QActions."""

    reuseRequested = Signal(dict)  # a generation record: fill the creation bar from it
    requestSubmitted = Signal(object)  # a typed request to queue

    def __init__(self, panel):
        super().__init__(panel)
        self.panel = panel
        self.undo_stack = QUndoStack(self)
        self.tool_defaults = None  # () -> (Sampling, Size) of the creation bar; None: the defaults
        self.clip_tools = ClipTools(panel, self._submit_tool_request, self._problem, switch_take=lambda *a: None,
                                    defaults=self._defaults)
        self.reuse = self._action("Reuse", "Put this generation's prompt and settings in the creation bar",
                                  self.reuse_current)
        self.rerun = self._action("Re-run", "Generate this recipe again with the same seed", self.rerun_current)
        self.tools = self._action("AI tools", "Extend, loop, remix or upscale this video", None)
        self.tools_menu = QMenu(panel)
        self.tools_menu.addAction("Extend forwards…", lambda: self.run_tool("extend_forward"))
        self.tools_menu.addAction("Extend backwards…", lambda: self.run_tool("extend_backward"))
        self.tools_menu.addAction("Loop…", lambda: self.run_tool("loop"))
        for name in REMIX_STRENGTHS:
            self.tools_menu.addAction(f"Remix ({name.lower()})…", lambda n=name: self.run_tool(f"remix_{n}"))
        self.tools_menu.addAction("Upscale", lambda: self.run_tool("upscale"))
        self.tools.setMenu(self.tools_menu)
        self.compare = self._action("Compare", "Play two takes of this generation side by side", self.compare_takes)
        self.rename = self._action("Rename…", "Give this entry a name of your own", self.rename_current)
        self.trash = self._action("Trash", "Move the file to the trash (undo brings it back)", self.trash_current)
        self.reveal = self._action("Reveal", "Show the file's folder in the file manager", self.reveal_current)
        self.copy = self._action("Copy", "Copy the full recipe as text", self.copy_recipe)
        self.undo = self.undo_stack.createUndoAction(self, "Undo")
        self.update_enabled()

    def _action(self, text: str, tip: str, slot) -> QAction:
        action = QAction(text, self)
        action.setToolTip(tip)
        if slot is not None:
            action.triggered.connect(slot)
        return action

    # -- state ---------------------------------------------------------------------------------

    def update_enabled(self) -> None:
        kind, entry, _ = self.panel.current_entry()
        generation = kind == "generation"
        path = self.panel.current_path()
        is_video = bool(path) and os.path.isfile(path) and (
            generation and path.lower().endswith(".mp4")
            or (entry or {}).get("probe", {}).get("kind") == "video")
        self.reuse.setEnabled(generation)
        self.rerun.setEnabled(generation and bool((entry.get("settings") or {}).get("request")))
        self.tools.setEnabled(is_video)
        self.compare.setEnabled(len(self.panel.current_takes()) > 1)
        for action in (self.rename, self.trash, self.reveal, self.copy):
            action.setEnabled(entry is not None)
        # a generation is Kinora's own file; an imported file is the user's and stays where it is
        self.trash.setText("Trash" if kind != "media" else "Remove")
        self.trash.setToolTip("Move the file to the trash (undo brings it back)" if kind != "media"
                              else "Take it out of the Library; the file stays where it is (undo brings it back)")

    # -- reuse and re-run ------------------------------------------------------------------------

    def reuse_current(self) -> None:
        kind, entry, _ = self.panel.current_entry()
        if kind == "generation":
            self.reuseRequested.emit(entry)

    def rerun_request(self, entry: dict):
        """The stored request again, with its seed; a take of several re-runs as that one take
        (its own seed, one variation). The output is a new file: the original stays."""
        from engine.generate.requests import request_from_json

        request = request_from_json((entry.get("settings") or {}).get("request"), "the library recipe")
        seeds = entry.get("seeds") or []
        if request.sampling.variations > 1 and len(seeds) == 1:
            request = request.with_sampling(seed=seeds[0], variations=1)
        title = display_name("generation", entry)
        return dataclasses.replace(request, output=output_path_for(f"{request.tool} {title}"), place=None)

    def rerun_current(self) -> None:
        kind, entry, _ = self.panel.current_entry()
        if kind != "generation":
            return
        try:
            request = self.rerun_request(entry)
        except KinoraError as error:
            self._problem(str(error))
            return
        self.requestSubmitted.emit(request)

    # -- the AI tools ------------------------------------------------------------------------------

    def run_tool(self, tool: str) -> bool:
        """Extend / loop / remix / upscale the current entry's file, as the clip tools do on the timeline."""
        from engine.generate.tools import one_clip_project

        kind, entry, path = self.panel.current_entry()
        if entry is None:
            return False
        try:
            project, clip_id = one_clip_project(path)
        except KinoraError as error:
            self._problem(str(error))
            return False
        _, clip = project.timeline.find(clip_id)
        # the tools' prompt dialogs start from the entry's own prompt, as they do for a generated clip
        prompt = next((p.get("text", "") for p in entry.get("prompts") or [] if isinstance(p, dict)), "")
        clip = dataclasses.replace(clip, generation={"prompt": prompt} if prompt else None)
        tools = self.clip_tools
        if tool in ("extend_forward", "extend_backward"):
            return tools.extend(project, clip, tool.removeprefix("extend_"))
        if tool == "loop":
            return tools.loop(project, clip)
        if tool.startswith("remix_"):
            return tools.remix(project, clip, REMIX_STRENGTHS[tool.removeprefix("remix_")])
        if tool == "upscale":
            height = ((entry.get("plan_summary") or {}).get("height") if kind == "generation"
                      else (entry.get("probe") or {}).get("height")) or 0
            return tools.upscale(project, clip, "720p" if height < 720 else "1080p")
        raise ValueError(f"unknown library tool {tool!r}")

    def _submit_tool_request(self, request) -> None:
        self.requestSubmitted.emit(dataclasses.replace(request, place=None))  # results go to the Library

    def _defaults(self):
        from engine.generate.requests import Sampling, Size

        return self.tool_defaults() if self.tool_defaults is not None else (Sampling(), Size())

    # -- takes ---------------------------------------------------------------------------------------

    def compare_takes(self) -> None:
        from editor.library.compare import CompareDialog

        takes = self.panel.current_takes()
        if len(takes) < 2:
            return
        index = self.panel.current_take_index()
        pair = [takes[index], takes[(index + 1) % len(takes)]]
        try:
            dialog = CompareDialog([e["output_path"] for e in pair],
                                   [f"take {takes.index(e) + 1}: seed {', '.join(map(str, e.get('seeds') or []))}"
                                    for e in pair], self.panel)
        except KinoraError as error:
            self._problem(str(error))
            return
        self.panel.compare_dialog = dialog  # kept for whoever looks (tests, a second click)
        dialog.open()

    # -- organising ------------------------------------------------------------------------------------

    def rename_current(self) -> None:
        kind, entry, _ = self.panel.current_entry()
        if entry is None:
            return
        name, ok = QInputDialog.getText(self.panel, "Rename", "Name in the Library (empty: its prompt or file name):",
                                        text=entry.get("name") or display_name(kind, entry))
        if not ok:
            return
        try:
            self.panel.library.rename(kind, entry["id"], name)
        except KinoraError as error:
            self._problem(str(error))
            return
        self.panel.refresh()
        self.panel.select_entry(kind, entry["id"])

    def trash_current(self) -> None:
        """A generation's file (with its provenance and latents files beside it) to the desktop
        trash and its entry out of the Library; an imported file only out of the Library. Undo
        (the banner's button, or Ctrl+Z in the Library) restores both."""
        from engine.library.trash import move_to_trash, restore

        kind, entry, path = self.panel.current_entry()
        if entry is None:
            return
        from engine.media.provenance import SIDECAR_SUFFIX

        files = [path, path + SIDECAR_SUFFIX, entry.get("latents_path") or ""] if kind == "generation" else []
        trashed = []
        try:
            for file in files:
                if file and os.path.lexists(file):
                    trashed.append(move_to_trash(file))
            removed = self.panel.library.remove(kind, entry["id"])
        except KinoraError as error:
            for done in reversed(trashed):
                restore(done)
            self._problem(str(error))
            return
        name = display_name(kind, entry)
        self.undo_stack.push(TrashEntry(self.panel, removed, trashed, name))
        self.panel.refresh()
        self.panel.show_undo_banner(f"Moved “{name[:40]}” to the trash" if kind == "generation"
                                    else f"Removed “{name[:40]}” from the Library")

    def reveal_current(self) -> None:
        path = self.panel.current_path()
        if path:
            QDesktopServices.openUrl(QUrl.fromLocalFile(os.path.dirname(os.path.abspath(path))))

    def copy_recipe(self) -> None:
        kind, entry, _ = self.panel.current_entry()
        if entry is not None:
            QApplication.clipboard().setText(recipe_text(kind, entry))

    def _problem(self, message: str) -> None:
        QMessageBox.warning(self.panel, "Kinora", message)
