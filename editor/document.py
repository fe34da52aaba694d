"""The open project and its undo history.

Every change to the project goes through `Document.perform`, which runs one engine edit
(engine/model/edits.py), wraps its inverse in a QUndoCommand and tells the views. A drag
performs many small edits with the same `merge_key` (unique to that drag); they merge into
one undo step.
"""

from __future__ import annotations

import os
from collections.abc import Callable

from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QUndoCommand, QUndoStack

from engine.errors import EditError
from engine.model import edits
from engine.model.edits import Batch, Edit
from engine.model.project import Project

_MERGE_ID = 1


class EditCommand(QUndoCommand):
    """One undo step. It is pushed after its edit was applied, so the first redo() does nothing."""

    def __init__(self, document: Document, text: str, undo_edit: Edit, merge_key: object = None):
        super().__init__(text)
        self.document = document
        self.undo_edit: Edit | None = undo_edit
        self.redo_edit: Edit | None = None
        self.merge_key = merge_key
        self._applied = True

    def redo(self) -> None:
        if self._applied:
            return
        self.undo_edit = edits.apply(self.document.project, self.redo_edit)
        self._applied = True
        self.document.changed.emit()

    def undo(self) -> None:
        self.redo_edit = edits.apply(self.document.project, self.undo_edit)
        self._applied = False
        self.document.changed.emit()

    def id(self) -> int:
        return _MERGE_ID if self.merge_key is not None else -1

    def mergeWith(self, other: QUndoCommand) -> bool:
        if not isinstance(other, EditCommand) or other.merge_key != self.merge_key or self.merge_key is None:
            return False
        # undo the later step first, then this one
        self.undo_edit = Batch((other.undo_edit, self.undo_edit))
        return True


class Document(QObject):
    """A project open in the editor: the model, its undo stack, and change notifications."""

    changed = Signal()
    editFailed = Signal(str)
    projectReplaced = Signal()

    def __init__(self, project: Project, parent: QObject | None = None):
        super().__init__(parent)
        self.project = project
        self.offline_media: set[str] = self._missing()
        self.undo_stack = QUndoStack(self)
        self.undo_stack.cleanChanged.connect(self._on_undo_stack_cleanChanged)

    def _on_undo_stack_cleanChanged(self, _clean: bool) -> None:
        self.changed.emit()

    @property
    def title(self) -> str:
        name = os.path.basename(self.project.path) if self.project.path else "Untitled"
        return name + ("" if self.undo_stack.isClean() else " •")

    def perform(self, text: str, edit: Callable[[Project], Edit], merge_key: object = None) -> bool:
        """Run `edit(project)` (an engine edit function); on success record it for undo."""
        try:
            undo_edit = edit(self.project)
        except EditError as error:
            self.editFailed.emit(str(error))
            return False
        self.undo_stack.push(EditCommand(self, text, undo_edit, merge_key))
        self.changed.emit()
        return True

    def _missing(self) -> set[str]:
        from engine.model.relink import missing_media

        return {ref.id for ref in missing_media(self.project)}

    def refresh_offline(self) -> None:
        """Look again for media files on disk (after a relink, or when files came back)."""
        self.offline_media = self._missing()
        self.changed.emit()

    def replace_project(self, project: Project) -> None:
        self.project = project
        self.offline_media = self._missing()
        self.undo_stack.clear()
        self.projectReplaced.emit()
        self.changed.emit()
