"""The main window: rearrangeable docks around the timeline, menus, project open/save."""

from __future__ import annotations

from PySide6.QtCore import QSettings, Qt, QTimer
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QDockWidget, QFileDialog, QLabel, QMainWindow, QMessageBox, QWidget

from editor.actions import TimelineActions, TransportActions
from editor.curves.editor import CurveEditor
from editor.document import Document
from editor.inspector import Inspector
from editor.preview.player import PreviewPlayer
from editor.timeline.panel import TimelinePanel
from engine.errors import KinoraError
from engine.model.project import Project, new_project
from engine.model.serialize import SUFFIX, load_project, save_project


class MainWindow(QMainWindow):
    def __init__(self, project: Project | None = None):
        super().__init__()
        self.setObjectName("KinoraMainWindow")
        self.setDockNestingEnabled(True)
        self.resize(1440, 900)
        self.document = Document(project or new_project(), self)
        self.timeline = TimelinePanel(self.document)
        self.timeline_dock = self._dock("Timeline", self.timeline, Qt.DockWidgetArea.BottomDockWidgetArea)
        self.preview = PreviewPlayer(self.document)
        self.setCentralWidget(self.preview)
        self.inspector = Inspector(self.document)
        self.inspector_dock = self._dock("Inspector", self.inspector, Qt.DockWidgetArea.RightDockWidgetArea)
        self.curves = CurveEditor(self.document)
        self.curves_dock = self._dock("Curves", self.curves, Qt.DockWidgetArea.RightDockWidgetArea)
        self.tabifyDockWidget(self.inspector_dock, self.curves_dock)
        self.inspector_dock.raise_()
        self.timeline_actions = TimelineActions(self.document, self.timeline.view, self)
        self.transport_actions = TransportActions(self.preview, self)
        view = self.timeline.view
        view.playheadChanged.connect(self.preview.seek)
        self.preview.frameChanged.connect(view.set_playhead)
        view.selectionChangedIds.connect(self.inspector.set_selection)
        view.selectionChangedIds.connect(self._on_view_selectionChangedIds)
        self._make_menus()
        self.project_label = QLabel()
        self.jobs_label = QLabel("No jobs running")
        self.statusBar().addPermanentWidget(self.project_label)
        self.statusBar().addPermanentWidget(self.jobs_label)
        self.document.changed.connect(self._on_document_changed)
        self.document.editFailed.connect(self._on_document_editFailed)
        self.timeline.view.status.connect(self.statusBar().showMessage)
        self.timeline.view.problems.connect(self._on_view_problems)
        self._layout_restored = self._restore_layout()
        self._on_document_changed()

    @property
    def project(self) -> Project:
        return self.document.project

    def _dock(self, title: str, widget: QWidget, area: Qt.DockWidgetArea) -> QDockWidget:
        dock = QDockWidget(title, self)
        dock.setObjectName(title.replace(" ", "") + "Dock")
        dock.setWidget(widget)
        self.addDockWidget(area, dock)
        return dock

    def _on_view_selectionChangedIds(self, ids: list[str]) -> None:
        self.curves.set_item(ids[0] if len(ids) == 1 else None)

    def _make_menus(self) -> None:
        file_menu = self.menuBar().addMenu("&File")
        for text, shortcut, slot in (
            ("&New Project", QKeySequence.StandardKey.New, self._on_new_triggered),
            ("&Open…", QKeySequence.StandardKey.Open, self._on_open_triggered),
            ("&Save", QKeySequence.StandardKey.Save, self._on_save_triggered),
            ("Save &As…", QKeySequence.StandardKey.SaveAs, self._on_save_as_triggered),
            ("&Quit", QKeySequence.StandardKey.Quit, self.close),
        ):
            action = QAction(text, self)
            action.setShortcut(shortcut)
            action.triggered.connect(slot)
            file_menu.addAction(action)
        a = self.timeline_actions
        edit_menu = self.menuBar().addMenu("&Edit")
        for action in (a.undo, a.redo, None, a.copy, a.paste, a.delete, a.ripple_delete):
            edit_menu.addSeparator() if action is None else edit_menu.addAction(action)
        preferences = QAction("&Preferences…", self)
        preferences.setShortcut(QKeySequence.StandardKey.Preferences)
        preferences.triggered.connect(self._on_preferences_triggered)
        edit_menu.addSeparator()
        edit_menu.addAction(preferences)
        timeline_menu = self.menuBar().addMenu("&Timeline")
        for action in (a.split, a.mark_in, a.mark_out, None, a.zoom_in, a.zoom_out, a.snapping):
            timeline_menu.addSeparator() if action is None else timeline_menu.addAction(action)
        playback_menu = self.menuBar().addMenu("&Playback")
        for action in self.transport_actions.all():
            playback_menu.addAction(action)
        self.view_menu = self.menuBar().addMenu("&View")
        for dock in (self.timeline_dock, self.inspector_dock, self.curves_dock):
            self.view_menu.addAction(dock.toggleViewAction())

    def open_project(self, path: str) -> bool:
        try:
            project = load_project(path)
        except KinoraError as error:
            QMessageBox.warning(self, "Cannot open project", str(error))
            return False
        self.document.replace_project(project)
        return True

    def _on_document_changed(self) -> None:
        self.setWindowTitle(f"{self.document.title} — Kinora")
        s = self.project.settings
        self.project_label.setText(f"{s.width}×{s.height} · {s.rate} fps · {len(self.project.media)} media")

    def _on_document_editFailed(self, message: str) -> None:
        self.statusBar().showMessage(message, 6000)

    def _on_preferences_triggered(self) -> None:
        from editor.dialogs.settings import SettingsDialog
        from engine.user_settings import load_settings

        warnings: list[str] = []
        dialog = SettingsDialog(load_settings(warnings), self)
        if warnings:
            self.statusBar().showMessage(warnings[0], 8000)
        dialog.exec()

    def _on_view_problems(self, problems: list[str]) -> None:
        QMessageBox.warning(self, "Some files were not added", "\n\n".join(problems))

    def _on_new_triggered(self) -> None:
        self.document.replace_project(new_project())

    def _on_open_triggered(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Open Project", "", f"Kinora projects (*{SUFFIX})")
        if path:
            self.open_project(path)

    def _on_save_triggered(self) -> None:
        if self.project.path:
            self.save_to(self.project.path)
        else:
            self._on_save_as_triggered()

    def _on_save_as_triggered(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "Save Project", "Untitled" + SUFFIX, f"Kinora projects (*{SUFFIX})")
        if path:
            self.save_to(path if path.endswith(SUFFIX) else path + SUFFIX)

    def save_to(self, path: str) -> bool:
        try:
            save_project(self.project, path)
        except KinoraError as error:
            QMessageBox.warning(self, "Cannot save project", str(error))
            return False
        self.document.undo_stack.setClean()
        self._on_document_changed()
        return True

    def _restore_layout(self) -> bool:
        """The dock layout the user left last time; False when there is none yet."""
        settings = QSettings()
        geometry, state = settings.value("window/geometry"), settings.value("window/state")
        if geometry is not None:
            self.restoreGeometry(geometry)
        return state is not None and self.restoreState(state)

    def showEvent(self, event) -> None:
        super().showEvent(event)
        if not self._layout_restored:  # first start: a roomy timeline and a narrow inspector
            self._layout_restored = True
            QTimer.singleShot(0, self._default_dock_sizes)

    def _default_dock_sizes(self) -> None:
        self.resizeDocks([self.timeline_dock], [max(self.height() * 2 // 5, 300)], Qt.Orientation.Vertical)
        self.resizeDocks([self.inspector_dock], [360], Qt.Orientation.Horizontal)

    def closeEvent(self, event) -> None:
        self.preview.shutdown()
        settings = QSettings()
        settings.setValue("window/geometry", self.saveGeometry())
        settings.setValue("window/state", self.saveState())
        super().closeEvent(event)
