"""Timeline commands with their shortcuts (Resolve/Premiere conventions where they agree)."""

from __future__ import annotations

import json

from PySide6.QtCore import QMimeData
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QApplication, QWidget

from editor.document import Document
from editor.timeline.view import TimelineView
from engine.errors import KinoraError
from engine.model import edits
from engine.model.serialize import item_from_dict, item_to_dict

CLIPBOARD_MIME = "application/x-kinora-items"


class TimelineActions:
    def __init__(self, document: Document, view: TimelineView, parent: QWidget):
        self.document = document
        self.view = view
        stack = document.undo_stack
        self.undo = stack.createUndoAction(parent, "&Undo")
        self.undo.setShortcut(QKeySequence.StandardKey.Undo)
        self.redo = stack.createRedoAction(parent, "&Redo")
        self.redo.setShortcuts([QKeySequence("Ctrl+Shift+Z"), QKeySequence("Ctrl+Y")])
        # Toolbar twins with a fixed text, so the buttons after them do not shift sideways as
        # "Undo Move" becomes "Undo Ripple Delete"; the full text is in their tooltips.
        self.undo_tool = _stack_button(parent, "Undo", stack.undo, stack.canUndoChanged, stack.undoTextChanged,
                                       stack.canUndo())
        self.redo_tool = _stack_button(parent, "Redo", stack.redo, stack.canRedoChanged, stack.redoTextChanged,
                                       stack.canRedo())
        self.split = _action(parent, "&Split at Playhead", "S", self.split_at_playhead)
        self.delete = _action(parent, "&Delete", "Delete", self.delete_selected)
        self.ripple_delete = _action(parent, "&Ripple Delete", "Shift+Delete", self.ripple_delete_selected)
        self.copy = _action(parent, "&Copy", QKeySequence.StandardKey.Copy, self.copy_selected)
        self.paste = _action(parent, "&Paste", QKeySequence.StandardKey.Paste, self.paste_at_playhead)
        self.mark_in = _action(parent, "Mark &In", "I", lambda: self._mark("in"))
        self.mark_out = _action(parent, "Mark &Out", "O", lambda: self._mark("out"))
        self.zoom_in = _action(parent, "Zoom In", "+", lambda: view.zoom_by(1.5))
        self.zoom_in.setShortcuts([QKeySequence("+"), QKeySequence("="), QKeySequence("Ctrl+=")])
        self.zoom_out = _action(parent, "Zoom Out", "-", lambda: view.zoom_by(1 / 1.5))
        self.snapping = _action(parent, "S&napping", "N", self._toggle_snapping)
        self.snapping.setCheckable(True)
        self.snapping.setChecked(view.snapping)

    def all(self) -> list[QAction]:
        return [self.undo, self.redo, self.split, self.delete, self.ripple_delete, self.copy, self.paste, self.mark_in,
                self.mark_out, self.zoom_in, self.zoom_out, self.snapping]

    def _targets_at_playhead(self) -> list[str]:
        frame = self.view.playhead
        selected = set(self.view.selected_ids())
        under = [item.id for track, item in self.document.project.timeline.items()
                 if item.range.start < frame < item.range.stop and not track.locked]
        return [i for i in under if i in selected] if selected else under

    def split_at_playhead(self) -> None:
        ids, frame = self._targets_at_playhead(), self.view.playhead
        if ids:
            self.document.perform("Split", lambda p: edits.together(p, [
                (lambda q, i=i: edits.split(q, i, frame)) for i in ids]))

    def delete_selected(self) -> None:
        ids = self.view.selected_ids()
        if ids:
            self.document.perform("Delete", lambda p: edits.together(p, [(lambda q, i=i: edits.remove(q, i)) for i in ids]))

    def ripple_delete_selected(self) -> None:
        ids = self.view.selected_ids()
        if ids:
            self.document.perform("Ripple Delete", lambda p: edits.together(
                p, [(lambda q, i=i: edits.ripple_delete(q, i)) for i in ids]))

    def copy_selected(self) -> None:
        ids = set(self.view.selected_ids())
        if not ids:
            return
        entries = [{"track": track.id, "kind": track.kind, "item": item_to_dict(item)}
                   for track, item in self.document.project.timeline.items() if item.id in ids]
        mime = QMimeData()
        mime.setData(CLIPBOARD_MIME, json.dumps(entries).encode())
        QApplication.clipboard().setMimeData(mime)

    def paste_at_playhead(self) -> list[str]:
        """Paste copied items so the earliest starts at the playhead, on their tracks (or the
        first track of the same kind); returns the new ids."""
        import dataclasses

        from engine.model.items import new_id

        mime = QApplication.clipboard().mimeData()
        if mime is None or not mime.hasFormat(CLIPBOARD_MIME):
            return []
        try:
            entries = json.loads(bytes(mime.data(CLIPBOARD_MIME)).decode())
            items = [(entry["track"], entry["kind"], item_from_dict(entry["item"])) for entry in entries]
        except (KinoraError, ValueError, KeyError, TypeError):
            return []
        timeline = self.document.project.timeline
        offset = self.view.playhead - min(item.start for _, _, item in items)
        steps, new_ids = [], []
        for track_id, kind, item in items:
            tracks = [t.id for t in timeline.tracks if t.id == track_id] or [t.id for t in timeline.tracks_of(kind)]
            if not tracks:
                continue
            pasted = dataclasses.replace(item, id=new_id(), start=item.start + offset)
            new_ids.append(pasted.id)
            steps.append(lambda p, t=tracks[0], x=pasted: edits.insert(p, t, x))
        if steps and self.document.perform("Paste", lambda p: edits.together(p, steps)):
            self.view.select_ids(new_ids)
            return new_ids
        return []

    def _mark(self, which: str) -> None:
        frame = self.view.playhead
        if which == "in":
            self.view.mark_in = frame
            if self.view.mark_out is not None and self.view.mark_out <= frame:
                self.view.mark_out = None
        else:
            self.view.mark_out = frame
            if self.view.mark_in is not None and self.view.mark_in >= frame:
                self.view.mark_in = None
        self.view.marksChanged.emit()

    def _toggle_snapping(self) -> None:
        self.view.snapping = not self.view.snapping
        self.snapping.setChecked(self.view.snapping)


def _action(parent: QWidget, text: str, shortcut, slot) -> QAction:
    action = QAction(text, parent)
    action.setShortcut(QKeySequence(shortcut) if isinstance(shortcut, str) else shortcut)
    action.triggered.connect(slot)
    return action


def _stack_button(parent: QWidget, text: str, slot, can_changed, text_changed, enabled: bool) -> QAction:
    action = QAction(text, parent)
    action.setToolTip(text)
    action.setEnabled(enabled)
    action.triggered.connect(slot)
    can_changed.connect(action.setEnabled)
    text_changed.connect(lambda what: action.setToolTip(f"{text} {what}".strip()))
    return action


class TransportActions:
    """Playback keys: Space plays/pauses, J/K/L shuttle, arrows step one frame, F full screen."""

    def __init__(self, player, parent: QWidget):
        self.play = _action(parent, "Play / Pause", "Space", player.toggle_play)
        self.reverse = _action(parent, "Play Backwards (J)", "J", lambda: player.shuttle(-1))
        self.stop = _action(parent, "Stop (K)", "K", player.pause)
        self.forward = _action(parent, "Play Forwards (L)", "L", lambda: player.shuttle(1))
        self.back_one = _action(parent, "Previous Frame", "Left", lambda: player.step(-1))
        self.next_one = _action(parent, "Next Frame", "Right", lambda: player.step(1))
        self.full_screen = _action(parent, "Full Screen Preview", "F", player.toggle_full_screen)

    def all(self) -> list[QAction]:
        return [self.play, self.reverse, self.stop, self.forward, self.back_one, self.next_one, self.full_screen]
