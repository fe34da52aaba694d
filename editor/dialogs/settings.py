"""Preferences: where models live, which device and memory strategy to use, autosave, and
the consent policy for conditioning media that shows people."""

from __future__ import annotations

import dataclasses

from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLineEdit,
    QListWidget,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from engine.user_settings import CONSENT_POLICIES, DEVICES, MEMORY_MODES, UserSettings, save_settings

TILING = {"auto": None, "on": True, "off": False}
CONSENT_TEXT = {"off": "off: never ask", "warn": "warn: show a notice", "require": "require: ask every time"}


class SettingsDialog(QDialog):
    def __init__(self, settings: UserSettings, parent: QWidget | None = None):
        super().__init__(parent)
        self.setWindowTitle("Kinora Settings")
        self.original = settings
        self.folders = QListWidget()
        self.folders.addItems(settings.model_folders)
        add, remove = QPushButton("Add…"), QPushButton("Remove")
        add.clicked.connect(self._on_add_clicked)
        remove.clicked.connect(self._on_remove_clicked)
        folder_buttons = QHBoxLayout()
        folder_buttons.addWidget(add)
        folder_buttons.addWidget(remove)
        folder_buttons.addStretch(1)
        folder_box = QVBoxLayout()
        folder_box.addWidget(self.folders)
        folder_box.addLayout(folder_buttons)
        self.device = _combo(DEVICES, settings.device)
        self.memory = _combo(MEMORY_MODES, settings.memory)
        self.memory.setToolTip("auto picks offloading from free memory; the others force a strategy")
        self.tiling = _combo(tuple(TILING), next(k for k, v in TILING.items() if v == settings.vae_tiling))
        self.fp8 = _combo(tuple(TILING), next(k for k, v in TILING.items() if v == settings.fp8_storage))
        self.fp8.setToolTip("Keep the video model's weights in 8-bit floats (LTX-2): half the memory, slightly "
                            "less precise; auto does it only when they would not fit otherwise")
        self.autosave = QSpinBox()
        self.autosave.setRange(5, 3600)
        self.autosave.setSuffix(" s")
        self.autosave.setValue(settings.autosave_seconds)
        self.consent = QComboBox()
        for policy in CONSENT_POLICIES:
            self.consent.addItem(CONSENT_TEXT[policy], policy)
        self.consent.setCurrentIndex(CONSENT_POLICIES.index(settings.face_consent))
        self.cluster = QLineEdit(settings.cluster or "")
        self.cluster.setPlaceholderText("this machine — or a Ray head node, e.g. 10.0.0.5:6379")
        # wide enough for the whole hint: cut short, it lost the example address
        self.cluster.setMinimumWidth(self.cluster.fontMetrics().horizontalAdvance(self.cluster.placeholderText()) + 16)
        self.cluster.setToolTip("Generations run on the Ray cluster at this address (see the README); "
                                "empty: on this machine. The Jobs panel says where each job runs.")
        self.reopen_last = QCheckBox("Reopen the last project when Kinora starts")
        self.reopen_last.setChecked(settings.reopen_last_project)
        form = QFormLayout()
        form.addRow("Model folders", folder_box)
        form.addRow("Device", self.device)
        form.addRow("Memory", self.memory)
        form.addRow("VAE tiling", self.tiling)
        form.addRow("Weights in fp8", self.fp8)
        form.addRow("Autosave at least every", self.autosave)
        form.addRow("People in conditioning media", self.consent)
        form.addRow("Projects", self.reopen_last)
        form.addRow("Cluster", self.cluster)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(buttons)

    def settings(self) -> UserSettings:
        return dataclasses.replace(
            self.original,
            model_folders=tuple(self.folders.item(i).text() for i in range(self.folders.count())),
            device=self.device.currentText(), memory=self.memory.currentText(),
            vae_tiling=TILING[self.tiling.currentText()], fp8_storage=TILING[self.fp8.currentText()],
            autosave_seconds=self.autosave.value(),
            face_consent=self.consent.currentData(), reopen_last_project=self.reopen_last.isChecked(),
            cluster=self.cluster.text().strip() or None)

    def accept(self) -> None:
        save_settings(self.settings())
        super().accept()

    def _on_add_clicked(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Folder with diffusers models")
        if folder:
            self.folders.addItem(folder)

    def _on_remove_clicked(self) -> None:
        for item in self.folders.selectedItems():
            self.folders.takeItem(self.folders.row(item))


def _combo(values: tuple[str, ...], current: str) -> QComboBox:
    combo = QComboBox()
    combo.addItems(values)
    combo.setCurrentText(current)
    return combo
