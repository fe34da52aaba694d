"""The start page: what the editor shows when it opens without a project, as a project manager
beside the empty window (as DaVinci Resolve's does): a new project, Open…, and the recent
projects with their folder and when they were last opened; a click on one opens it."""

from __future__ import annotations

import os
import time

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
)

from engine.user_settings import load_recent


class StartPage(QDialog):
    """Non-modal: the window behind it is a new untitled project, usable as it is."""

    def __init__(self, window):
        super().__init__(window)
        self.setObjectName("StartPage")
        self.setWindowTitle("Welcome to Kinora")
        self.window_ = window
        title = QLabel("<h2>Kinora</h2>Start a new project, or continue one of yours.")
        self.new_button = QPushButton("New Project")
        self.open_button = QPushButton("Open…")
        buttons = QHBoxLayout()
        buttons.addWidget(self.new_button)
        buttons.addWidget(self.open_button)
        buttons.addStretch(1)
        self.recent = QTreeWidget()
        self.recent.setObjectName("RecentProjects")
        self.recent.setHeaderLabels(["Project", "Folder", "Last opened"])
        self.recent.setRootIsDecorated(False)
        self.recent.setUniformRowHeights(True)
        header = self.recent.header()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        header.setSectionResizeMode(2, QHeaderView.ResizeMode.ResizeToContents)
        self.empty = QLabel("No recent projects yet: the projects you open or save appear here.")
        layout = QVBoxLayout(self)
        layout.addWidget(title)
        layout.addLayout(buttons)
        layout.addWidget(QLabel("Recent projects"))
        layout.addWidget(self.recent, 1)
        layout.addWidget(self.empty)
        self.new_button.clicked.connect(self._on_new_button_clicked)
        self.open_button.clicked.connect(self._on_open_button_clicked)
        self.recent.itemClicked.connect(self._on_recent_itemClicked)
        self.refresh()
        self.resize(720, 420)

    def refresh(self) -> None:
        self.recent.clear()
        for project in load_recent():
            when = time.strftime("%Y-%m-%d %H:%M", time.localtime(project.opened_at))
            item = QTreeWidgetItem([project.name, os.path.dirname(project.path), when])
            item.setToolTip(0, project.path)
            item.setData(0, Qt.ItemDataRole.UserRole, project.path)
            self.recent.addTopLevelItem(item)
        self.empty.setVisible(self.recent.topLevelItemCount() == 0)
        self.recent.setVisible(self.recent.topLevelItemCount() > 0)

    def _on_new_button_clicked(self) -> None:
        self.window_.files.new()
        self.accept()

    def _on_open_button_clicked(self) -> None:
        before = self.window_.document.project
        self.window_.files.open_dialog()
        if self.window_.document.project is not before:
            self.accept()

    def _on_recent_itemClicked(self, item: QTreeWidgetItem, _column: int) -> None:
        if self.window_.files.open_recent(item.data(0, Qt.ItemDataRole.UserRole)):
            self.accept()
        else:
            self.refresh()
