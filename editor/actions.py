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
        if self.view.transitions.remove_selected():  # a selected transition, not the clip it sits on
            return
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


MARKER_COLOURS = ("green", "red", "orange", "yellow", "blue", "purple", "white")


class NavigationActions:
    """Moving about the timeline (Shotcut/Kdenlive keys): start and end, previous and next edit,
    markers, clearing the In/Out marks and playing between them."""

    def __init__(self, document: Document, view: TimelineView, player, parent: QWidget):
        self.document, self.view, self.player, self.parent = document, view, player, parent
        self.start = _action(parent, "Go to &Start", "Home", lambda: self._go(0))
        self.end = _action(parent, "Go to &End", "End", lambda: self._go(document.project.timeline.duration))
        self.previous_edit = _action(parent, "&Previous Edit", "Up", lambda: self._go(self.edit_before(view.playhead)))
        self.next_edit = _action(parent, "&Next Edit", "Down", lambda: self._go(self.edit_after(view.playhead)))
        self.add_marker = _action(parent, "Add &Marker", "M", self.add_marker_at_playhead)
        self.edit_marker = _action(parent, "Edit Marker at Playhead…", "Shift+M", self.edit_marker_at_playhead)
        self.previous_marker = _action(parent, "Previous Marker", "Shift+Up",
                                       lambda: self._go(_before(self._marker_frames(), view.playhead)))
        self.next_marker = _action(parent, "Next Marker", "Shift+Down",
                                   lambda: self._go(_after(self._marker_frames(), view.playhead)))
        self.clear_marks = _action(parent, "Clear In and Out", "Alt+X", self.clear_in_out)
        self.play_in_out = _action(parent, "Play In to Out", "Ctrl+Space", self.play_between_marks)

    def all(self) -> list[QAction]:
        return [self.start, self.end, self.previous_edit, self.next_edit, self.add_marker, self.edit_marker,
                self.previous_marker, self.next_marker, self.clear_marks, self.play_in_out]

    def _go(self, frame: int | None) -> None:
        if frame is not None:
            self.view.set_playhead(frame)

    def _edges(self) -> list[int]:
        return sorted({edge for _, item in self.document.project.timeline.items()
                       for edge in (item.range.start, item.range.stop)})

    def edit_before(self, frame: int) -> int | None:
        return _before(self._edges(), frame)

    def edit_after(self, frame: int) -> int | None:
        return _after(self._edges(), frame)

    def _marker_frames(self) -> list[int]:
        return [m.range.start for m in self.document.project.timeline.markers]

    def marker_at_playhead(self):
        return next((m for m in self.document.project.timeline.markers if m.range.start == self.view.playhead), None)

    def add_marker_at_playhead(self) -> None:
        from engine.model.items import Marker
        from engine.time import FrameRange

        if self.marker_at_playhead() is not None:
            return
        frame = self.view.playhead
        marker = Marker(FrameRange(frame, frame + 1), f"Marker {len(self.document.project.timeline.markers) + 1}")
        self.document.perform("Add marker", lambda p: edits.add_marker(p, marker))

    def edit_marker_at_playhead(self, name: str | None = None, colour: str | None = None) -> bool:
        """Rename and recolour the marker at the playhead; without arguments, ask."""
        import dataclasses

        from PySide6.QtWidgets import QInputDialog

        marker = self.marker_at_playhead()
        if marker is None:
            return False
        if name is None:
            name, ok = QInputDialog.getText(self.parent, "Marker", "Name:", text=marker.name)
            if not ok:
                return False
            current = MARKER_COLOURS.index(marker.color) if marker.color in MARKER_COLOURS else 0
            colour, ok = QInputDialog.getItem(self.parent, "Marker", "Colour:", MARKER_COLOURS, current, False)
            if not ok:
                return False
        changed = dataclasses.replace(marker, name=name, color=colour or marker.color)
        return self.document.perform("Edit marker", lambda p: edits.together(p, [
            lambda q: edits.remove_marker(q, marker), lambda q: edits.add_marker(q, changed)]))

    def fill_marker_menu(self, menu) -> None:
        """One entry per marker: choosing it moves the playhead there."""
        menu.clear()
        rate = self.document.project.rate
        for marker in self.document.project.timeline.markers:
            action = menu.addAction(f"{rate.timecode(marker.range.start)}  {marker.name}")
            action.triggered.connect(lambda _=False, f=marker.range.start: self._go(f))
        if menu.isEmpty():
            menu.addAction("No markers: press M to add one at the playhead").setEnabled(False)

    def clear_in_out(self) -> None:
        self.view.mark_in = self.view.mark_out = None
        self.view.marksChanged.emit()

    def play_between_marks(self) -> None:
        first = self.view.mark_in if self.view.mark_in is not None else 0
        last = self.view.mark_out if self.view.mark_out is not None else max(
            self.document.project.timeline.duration - 1, 0)
        self.player.play_range(first, last)


def _before(frames: list[int], frame: int) -> int | None:
    earlier = [f for f in frames if f < frame]
    return max(earlier) if earlier else None


def _after(frames: list[int], frame: int) -> int | None:
    later = [f for f in frames if f > frame]
    return min(later) if later else None


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


def shortcut_rows(window: QWidget) -> list[tuple[str, str]]:
    """(command, keys) for every action of the window that has a shortcut, read from the actions
    themselves so the list cannot drift from the keys that work."""
    rows = set()
    for action in window.findChildren(QAction):
        keys = ", ".join(s.toString(QKeySequence.SequenceFormat.NativeText) for s in action.shortcuts())
        if keys:
            rows.add((action.text().replace("&", "").rstrip("…").strip(), keys))
    return sorted(rows, key=lambda row: row[0].lower())


def shortcuts_dialog(window: QWidget):
    from PySide6.QtWidgets import QDialog, QDialogButtonBox, QTableWidget, QTableWidgetItem, QVBoxLayout

    rows = shortcut_rows(window)
    dialog = QDialog(window)
    dialog.setWindowTitle("Keyboard Shortcuts")
    table = QTableWidget(len(rows), 2, dialog)
    table.setObjectName("ShortcutTable")
    table.setHorizontalHeaderLabels(["Command", "Keys"])
    table.verticalHeader().setVisible(False)
    table.verticalHeader().setDefaultSectionSize(table.fontMetrics().height() + 8)  # one line a row
    table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
    for i, (command, keys) in enumerate(rows):
        table.setItem(i, 0, QTableWidgetItem(command))
        table.setItem(i, 1, QTableWidgetItem(keys))
    table.resizeColumnsToContents()
    table.horizontalHeader().setStretchLastSection(True)
    buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close, dialog)
    buttons.rejected.connect(dialog.reject)
    layout = QVBoxLayout(dialog)
    layout.addWidget(table)
    layout.addWidget(buttons)
    dialog.resize(520, 600)
    return dialog


def about_text() -> str:
    from engine.version import kinora_version

    return (f"<b>Kinora</b> {kinora_version()}<br>A video editor whose timeline is a storyboard for video "
            "diffusion models that run on this computer.")
