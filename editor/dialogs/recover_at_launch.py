"""At start-up, the projects an editor that stopped unexpectedly left unsaved changes of: pick
one to recover, discard the ones not wanted, or leave them for later (each is offered again
when its project is opened, and at the next start)."""

from __future__ import annotations

import os
import time

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from engine.model.recovery import Recovery


def describe(found: Recovery) -> str:
    when = time.strftime("%Y-%m-%d %H:%M", time.localtime(found.saved_at))
    if found.project_path is None:
        return f"Untitled (never saved) — changes from {when}"
    name = os.path.basename(found.project_path)
    return f"{name} — changes from {when}\n{os.path.dirname(found.project_path)}"


class RecoverAtLaunchDialog(QDialog):
    def __init__(self, recoveries: list[Recovery], parent: QWidget | None = None):
        super().__init__(parent)
        self.setWindowTitle("Recover unsaved changes")
        self.chosen: Recovery | None = None
        self.discarded: list[Recovery] = []
        text = QLabel("Kinora stopped unexpectedly while these projects had changes that were never saved. "
                      "Recover one now, or discard what you do not need. Changes left here are offered again "
                      "when you open their project.")
        text.setWordWrap(True)
        self.list = QListWidget()
        for found in recoveries:
            item = QListWidgetItem(describe(found))
            item.setData(Qt.ItemDataRole.UserRole, found)
            self.list.addItem(item)
        self.list.setCurrentRow(0)
        buttons = QDialogButtonBox()
        self.recover_button = QPushButton("Recover")
        self.recover_button.setDefault(True)
        self.discard_button = QPushButton("Discard")
        self.later_button = QPushButton("Not now")
        buttons.addButton(self.recover_button, QDialogButtonBox.ButtonRole.AcceptRole)
        buttons.addButton(self.discard_button, QDialogButtonBox.ButtonRole.DestructiveRole)
        buttons.addButton(self.later_button, QDialogButtonBox.ButtonRole.RejectRole)
        self.recover_button.clicked.connect(self._on_recover_button_clicked)
        self.discard_button.clicked.connect(self._on_discard_button_clicked)
        self.later_button.clicked.connect(self.reject)
        self.list.itemDoubleClicked.connect(self._on_recover_button_clicked)
        layout = QVBoxLayout(self)
        layout.addWidget(text)
        layout.addWidget(self.list)
        layout.addWidget(buttons)
        self.resize(560, 320)

    def _selected(self) -> QListWidgetItem | None:
        return self.list.currentItem()

    def _on_recover_button_clicked(self) -> None:
        item = self._selected()
        if item is not None:
            self.chosen = item.data(Qt.ItemDataRole.UserRole)
            self.accept()

    def _on_discard_button_clicked(self) -> None:
        item = self._selected()
        if item is None:
            return
        self.discarded.append(item.data(Qt.ItemDataRole.UserRole))
        self.list.takeItem(self.list.row(item))
        if self.list.count() == 0:
            self.reject()
