"""The main window: menus, the timeline dock, and project open/save."""

from __future__ import annotations

import os

from PySide6.QtCore import QSettings, Qt
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QDockWidget, QFileDialog, QLabel, QMainWindow, QMessageBox

from editor.timeline.view import TimelinePanel
from engine.errors import KinoraError
from engine.model.project import Project, new_project
from engine.model.serialize import SUFFIX, load_project, save_project


class MainWindow(QMainWindow):
    def __init__(self, project: Project | None = None):
        super().__init__()
        self.setObjectName("KinoraMainWindow")
        self.setWindowTitle("Kinora")
        self.resize(1400, 860)
        self.timeline = TimelinePanel()
        self.timeline.setObjectName("Timeline")
        dock = QDockWidget("Timeline", self)
        dock.setObjectName("TimelineDock")
        dock.setWidget(self.timeline)
        self.addDockWidget(Qt.DockWidgetArea.BottomDockWidgetArea, dock)
        self.resizeDocks([dock], [340], Qt.Orientation.Vertical)
        placeholder = QLabel("Preview")
        placeholder.setAlignment(Qt.AlignmentFlag.AlignCenter)
        placeholder.setStyleSheet("color: #777; background: #18191b;")
        self.setCentralWidget(placeholder)
        self._make_menus()
        self.statusBar().showMessage("Ready")
        self.project: Project = project or new_project()
        self._show_project()
        self._restore_layout()

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

    def open_project(self, path: str) -> bool:
        try:
            self.project = load_project(path)
        except KinoraError as error:
            QMessageBox.warning(self, "Cannot open project", str(error))
            return False
        self._show_project()
        return True

    def _show_project(self) -> None:
        name = os.path.basename(self.project.path) if self.project.path else "Untitled"
        self.setWindowTitle(f"{name} — Kinora")
        self.timeline.set_project(self.project)
        s = self.project.settings
        self.statusBar().showMessage(f"{s.width}×{s.height} · {s.rate} fps · {len(self.project.media)} media")

    def _on_new_triggered(self) -> None:
        self.project = new_project()
        self._show_project()

    def _on_open_triggered(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Open Project", "", f"Kinora projects (*{SUFFIX})")
        if path:
            self.open_project(path)

    def _on_save_triggered(self) -> None:
        if self.project.path:
            self._save_to(self.project.path)
        else:
            self._on_save_as_triggered()

    def _on_save_as_triggered(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "Save Project", "Untitled" + SUFFIX, f"Kinora projects (*{SUFFIX})")
        if path:
            self._save_to(path if path.endswith(SUFFIX) else path + SUFFIX)

    def _save_to(self, path: str) -> None:
        try:
            save_project(self.project, path)
        except KinoraError as error:
            QMessageBox.warning(self, "Cannot save project", str(error))
            return
        self._show_project()

    def _restore_layout(self) -> None:
        settings = QSettings()
        geometry, state = settings.value("window/geometry"), settings.value("window/state")
        if geometry is not None:
            self.restoreGeometry(geometry)
        if state is not None:
            self.restoreState(state)

    def closeEvent(self, event) -> None:
        settings = QSettings()
        settings.setValue("window/geometry", self.saveGeometry())
        settings.setValue("window/state", self.saveState())
        super().closeEvent(event)
