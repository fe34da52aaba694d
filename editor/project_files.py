"""The project's life cycle in the editor: new, open (offering a newer recovery first), save
(with rolling backups), autosave to a recovery file, recovery at launch, recent projects,
project settings, close with unsaved changes, relink, OpenTimelineIO import/export. The rules
live in engine/model/recovery.py and relink.py; this is where they meet the user's dialogs."""

from __future__ import annotations

import os
import time

from PySide6.QtCore import QObject, QTimer
from PySide6.QtWidgets import QFileDialog, QMainWindow, QMenu, QMessageBox

from editor.document import Document
from engine.errors import KinoraError
from engine.model import recovery
from engine.model.project import new_project
from engine.model.serialize import SUFFIX, load_project

PROJECT_FILTER = f"Kinora projects (*{SUFFIX})"


class ProjectFiles(QObject):
    def __init__(self, window: QMainWindow, document: Document):
        super().__init__(window)
        self.window = window
        self.document = document
        self.autosaver = recovery.Autosaver(document.project.path, self._interval())
        self.timer = QTimer(self)
        self.timer.setInterval(1000)
        self.timer.timeout.connect(self._on_timer_timeout)
        self.timer.start()
        document.undo_stack.indexChanged.connect(self._on_undo_stack_indexChanged)

    @staticmethod
    def _interval() -> float:
        from engine.user_settings import load_settings

        return float(load_settings().autosave_seconds)

    def autosaver_interval_changed(self) -> None:
        self.autosaver.max_interval_s = self._interval()

    # --- autosave ---------------------------------------------------------------------------

    def _on_undo_stack_indexChanged(self, _index: int) -> None:
        try:
            clean = self.document.undo_stack.isClean()
        except RuntimeError:  # the stack clears itself while the window is being destroyed
            return
        if not clean:
            self.autosaver.mark_dirty(time.monotonic())

    def _on_timer_timeout(self) -> None:
        try:
            if self.autosaver.autosave_if_due(self.document.project, time.monotonic()):
                self.window.statusBar().showMessage("Autosaved", 2000)
        except (KinoraError, OSError) as error:  # a full disk must not stop the editing
            self.window.statusBar().showMessage(f"Autosave failed: {error}", 10000)

    # --- opening -------------------------------------------------------------------------------

    def new(self) -> None:
        if self.confirm_close():
            self._adopt(new_project())

    def open_dialog(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self.window, "Open Project", "", PROJECT_FILTER)
        if path and self.confirm_close():
            self.open(path)

    def open(self, path: str) -> bool:
        found = recovery.find_recovery(path)
        if found is not None:
            project = self._offer_recovery(found)
            if project is not None:
                self._adopt(project, dirty=True)
                return True
        try:
            project = load_project(path)
        except KinoraError as error:
            QMessageBox.warning(self.window, "Cannot open project", str(error))
            return False
        self._adopt(project)
        return True

    def offer_recoveries_at_launch(self) -> bool:
        """At start-up: changes to any project (a recent one, or one never saved) that an editor
        which stopped unexpectedly autosaved and nobody saved. True when one was recovered."""
        from editor.dialogs.recover_at_launch import RecoverAtLaunchDialog
        from engine.user_settings import load_recent

        found = recovery.find_recoveries_at_launch([r.path for r in load_recent(existing_only=False)])
        if not found:
            return False
        dialog = RecoverAtLaunchDialog(found, self.window)
        dialog.exec()
        for discarded in dialog.discarded:
            recovery.discard_recovery(discarded)
        if dialog.chosen is None:
            return False
        if dialog.chosen.previous_attempt_crashed:
            return self._offer_recovery(dialog.chosen) is not None  # says why and sets it aside
        try:
            project = recovery.load_recovery(dialog.chosen)
        except KinoraError as error:
            QMessageBox.warning(self.window, "Recovery failed", str(error))
            return False
        self._adopt(project, dirty=True, recovered_from=dialog.chosen)
        return True

    def _offer_recovery(self, found: recovery.Recovery):
        """Ask; returns the recovered project, or None to open the saved one."""
        if found.previous_attempt_crashed:
            QMessageBox.warning(self.window, "Unsaved changes found",
                                "Kinora stopped while loading the recovered changes last time, so they are set "
                                "aside. The project opens as it was last saved.")
            recovery.discard_recovery(found)
            return None
        when = time.strftime("%Y-%m-%d %H:%M", time.localtime(found.saved_at))
        box = QMessageBox(QMessageBox.Icon.Question, "Unsaved changes found",
                          f"Kinora found changes to {os.path.basename(found.project_path or 'Untitled')} from "
                          f"{when} that were never saved (the editor closed unexpectedly). Recover them?",
                          parent=self.window)
        recover = box.addButton("Recover", QMessageBox.ButtonRole.AcceptRole)
        discard = box.addButton("Discard them", QMessageBox.ButtonRole.DestructiveRole)
        box.addButton("Open the saved project", QMessageBox.ButtonRole.RejectRole)
        box.exec()
        if box.clickedButton() is discard:
            recovery.discard_recovery(found)
            return None
        if box.clickedButton() is not recover:
            return None
        try:
            return recovery.load_recovery(found)
        except KinoraError as error:
            QMessageBox.warning(self.window, "Recovery failed", str(error))
            return None

    def _adopt(self, project, dirty: bool = False, recovered_from: recovery.Recovery | None = None) -> None:
        self.autosaver = recovery.Autosaver(project.path, self._interval())
        if recovered_from is not None and recovered_from.project_path is None:
            # go on writing the recovered file, so a save (or the next autosave) replaces it
            # rather than leaving it to be offered again at the next launch
            self.autosaver.untitled_id = recovery.untitled_id_of(recovered_from) or self.autosaver.untitled_id
        if project.path:
            self._remember(project.path)
        self.document.replace_project(project)
        if dirty:  # recovered changes are not in the project file yet
            self.autosaver.mark_dirty(time.monotonic())
            self.document.undo_stack.resetClean()

    # --- saving -----------------------------------------------------------------------------------

    def save(self) -> bool:
        path = self.document.project.path
        return self.save_to(path) if path else self.save_as()

    def save_as(self) -> bool:
        path, _ = QFileDialog.getSaveFileName(self.window, "Save Project", "Untitled" + SUFFIX, PROJECT_FILTER)
        if not path:
            return False
        return self.save_to(path if path.endswith(SUFFIX) else path + SUFFIX)

    def save_to(self, path: str) -> bool:
        try:
            recovery.save_with_backup(self.document.project, path, self.autosaver)
        except (KinoraError, OSError) as error:
            QMessageBox.warning(self.window, "Cannot save project", str(error))
            return False
        self.document.undo_stack.setClean()
        self.document.changed.emit()
        self._remember(path)
        return True

    def confirm_close(self) -> bool:
        """True when the project may close: saved, saved now, or the user chose to discard."""
        if self.document.undo_stack.isClean():
            self.autosaver.close()
            return True
        answer = QMessageBox.question(
            self.window, "Unsaved changes", f"Save the changes to {self.document.title.rstrip(' •')}?",
            QMessageBox.StandardButton.Save | QMessageBox.StandardButton.Discard | QMessageBox.StandardButton.Cancel)
        if answer == QMessageBox.StandardButton.Save:
            return self.save()
        if answer == QMessageBox.StandardButton.Discard:
            self.autosaver.close()
            return True
        return False

    # --- recent projects and settings ------------------------------------------------------

    def _remember(self, path: str) -> None:
        from engine.user_settings import remember_project

        try:
            remember_project(path)
        except OSError as error:  # the list is a convenience: never fail an open or a save for it
            self.window.statusBar().showMessage(f"Cannot update the recent projects: {error}", 6000)

    def fill_recent_menu(self, menu: QMenu) -> None:
        """File > Open Recent: the last projects whose files still exist, and Clear List."""
        from engine.user_settings import load_recent

        menu.clear()
        recents = load_recent()
        for number, recent in enumerate(recents, 1):
            action = menu.addAction(f"&{number % 10} {recent.name}")
            action.setToolTip(recent.path)
            action.setStatusTip(recent.path)
            action.setData(recent.path)
            action.triggered.connect(lambda _checked=False, path=recent.path: self.open_recent(path))
        if not recents:
            menu.addAction("No recent projects").setEnabled(False)
        menu.addSeparator()
        clear = menu.addAction("&Clear List")
        clear.setEnabled(bool(recents))
        clear.triggered.connect(self._on_clear_recent_triggered)

    def open_recent(self, path: str) -> bool:
        if not os.path.isfile(path):
            from engine.user_settings import forget_project

            forget_project(path)
            QMessageBox.warning(self.window, "Cannot open project", f"{path} is no longer there; it was "
                                "removed from the recent projects")
            return False
        return self.confirm_close() and self.open(path)

    def _on_clear_recent_triggered(self) -> None:
        from engine.user_settings import clear_recent

        clear_recent()

    def project_settings_dialog(self) -> None:
        from editor.dialogs.project_settings import ProjectSettingsDialog

        ProjectSettingsDialog(self.document, self.window).exec()

    # --- media and interchange ------------------------------------------------------------------

    def relink_dialog(self) -> None:
        from engine.model import edits
        from engine.model.relink import relink

        if not self.document.offline_media:
            QMessageBox.information(self.window, "Relink", "Every media file of this project is on disk.")
            return
        folder = QFileDialog.getExistingDirectory(self.window, "Search this folder (and its subfolders)")
        if not folder:
            return
        result = relink(self.document.project, folder)
        replacements = result.edits()
        if replacements:
            self.document.perform("Relink media", lambda p: edits.batch(p, replacements))
        self.document.refresh_offline()
        lines = [f"Relinked {len(replacements)} file(s); {len(self.document.offline_media)} still offline.",
                 *result.warnings()]
        QMessageBox.information(self.window, "Relink", "\n\n".join(lines))

    def import_otio(self) -> None:
        from engine.model.otio_io import import_otio

        path, _ = QFileDialog.getOpenFileName(self.window, "Import OpenTimelineIO", "", "OpenTimelineIO (*.otio)")
        if not path or not self.confirm_close():
            return
        try:
            project, warnings = import_otio(path)
        except KinoraError as error:
            QMessageBox.warning(self.window, "Cannot import", str(error))
            return
        self._adopt(project, dirty=True)
        if warnings:
            QMessageBox.information(self.window, "Imported with notes", "\n".join(warnings[:40]))

    def export_otio(self) -> None:
        from engine.model.otio_io import export_otio

        path, _ = QFileDialog.getSaveFileName(self.window, "Export OpenTimelineIO", "cut.otio", "OpenTimelineIO (*.otio)")
        if not path:
            return
        try:
            _, warnings = export_otio(self.document.project, path)
        except KinoraError as error:
            QMessageBox.warning(self.window, "Cannot export", str(error))
            return
        if warnings:
            QMessageBox.information(self.window, "Exported with notes", "\n".join(warnings[:40]))
