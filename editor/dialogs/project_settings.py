"""Project settings: picture size, frame rate, sound sample rate and colour space, applied as
one undoable edit (engine/model/settings_change.py says what a rate change does to items)."""

from __future__ import annotations

import dataclasses
from fractions import Fraction

from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from engine.model.project import COLOR_SPACES, SAMPLE_RATES, ProjectSettings
from engine.model.settings_change import change_settings, rate_change_note
from engine.time import FrameRate

SIZE_PRESETS = {
    "HD 1280×720": (1280, 720),
    "Full HD 1920×1080": (1920, 1080),
    "4K UHD 3840×2160": (3840, 2160),
    "Vertical 1080×1920": (1080, 1920),
    "Square 1080×1080": (1080, 1080),
}
CUSTOM = "Custom"
RATES = ("24000/1001", "24", "25", "30000/1001", "30", "50", "60000/1001", "60")
COLOR_SPACE_NAMES = {"bt709": "Rec. 709 (HD)", "bt601": "Rec. 601 (SD)", "bt2020": "Rec. 2020 (UHD)"}


class ProjectSettingsDialog(QDialog):
    """Edits the settings of `document`'s project; OK performs them as one undo step."""

    def __init__(self, document, parent: QWidget | None = None):
        super().__init__(parent)
        self.setWindowTitle("Project Settings")
        self.document = document
        current = document.project.settings
        self.size_preset = QComboBox()
        self.size_preset.addItems([*SIZE_PRESETS, CUSTOM])
        self.width_box, self.height_box = QSpinBox(), QSpinBox()
        for box, value in ((self.width_box, current.width), (self.height_box, current.height)):
            box.setRange(16, 16384)
            box.setSingleStep(2)
            box.setValue(value)
        size_row = QHBoxLayout()
        size_row.addWidget(self.width_box)
        size_row.addWidget(QLabel("×"))
        size_row.addWidget(self.height_box)
        size_row.addStretch(1)
        self.aspect = QLabel()
        self.rate = QComboBox()
        for text in RATES:
            self.rate.addItem(f"{FrameRate.parse(text)} fps", text)
        if current.rate.to_json() not in [FrameRate.parse(t).to_json() for t in RATES]:
            self.rate.addItem(f"{current.rate} fps", current.rate.to_json())
        self.rate.setCurrentIndex(self._rate_index(current.rate))
        self.sample_rate = QComboBox()
        for value in SAMPLE_RATES:
            self.sample_rate.addItem(f"{value} Hz", value)
        self.sample_rate.setCurrentIndex(self.sample_rate.findData(current.sample_rate))
        self.color_space = QComboBox()
        for value in COLOR_SPACES:
            self.color_space.addItem(COLOR_SPACE_NAMES[value], value)
        self.color_space.setCurrentIndex(self.color_space.findData(current.color_space))
        self.note = QLabel()
        self.note.setWordWrap(True)
        self.note.setObjectName("rateChangeNote")
        self.problem = QLabel()
        self.problem.setWordWrap(True)
        form = QFormLayout()
        form.addRow("Size", self.size_preset)
        form.addRow("", size_row)
        form.addRow("Aspect", self.aspect)
        form.addRow("Frame rate", self.rate)
        form.addRow("Sound sample rate", self.sample_rate)
        form.addRow("Colour space", self.color_space)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.note)
        layout.addWidget(self.problem)
        layout.addWidget(self.buttons)
        self.setMinimumWidth(440)
        self.size_preset.currentTextChanged.connect(self._on_size_preset_currentTextChanged)
        self.width_box.valueChanged.connect(self._on_size_valueChanged)
        self.height_box.valueChanged.connect(self._on_size_valueChanged)
        self.rate.currentIndexChanged.connect(self._on_rate_currentIndexChanged)
        self._on_size_valueChanged()
        self._on_rate_currentIndexChanged()

    def _rate_index(self, rate: FrameRate) -> int:
        for i in range(self.rate.count()):
            if FrameRate.parse(self.rate.itemData(i)) == rate:
                return i
        return 0

    def settings(self) -> ProjectSettings:
        return dataclasses.replace(
            self.document.project.settings, width=self.width_box.value(), height=self.height_box.value(),
            rate=FrameRate.parse(self.rate.currentData()), sample_rate=self.sample_rate.currentData(),
            color_space=self.color_space.currentData())

    def _on_size_preset_currentTextChanged(self, name: str) -> None:
        if name in SIZE_PRESETS:
            width, height = SIZE_PRESETS[name]
            self.width_box.setValue(width)
            self.height_box.setValue(height)

    def _on_size_valueChanged(self) -> None:
        size = (self.width_box.value(), self.height_box.value())
        preset = next((name for name, value in SIZE_PRESETS.items() if value == size), CUSTOM)
        self.size_preset.blockSignals(True)
        self.size_preset.setCurrentText(preset)
        self.size_preset.blockSignals(False)
        ratio = Fraction(*size)
        text = f"{ratio.numerator}:{ratio.denominator} ({float(ratio):.3f})"
        nearest = ProjectSettings(width=size[0], height=size[1]).aspect_name
        if nearest != text.split(" ")[0]:  # what the creation bar's aspect choice will call it
            text += f", nearest {nearest}"
        self.aspect.setText(text)

    def _on_rate_currentIndexChanged(self) -> None:
        note = rate_change_note(self.document.project, FrameRate.parse(self.rate.currentData()))
        self.note.setText(note)
        self.note.setVisible(bool(note))

    def accept(self) -> None:
        settings = self.settings()
        if settings == self.document.project.settings:
            super().accept()
            return
        # a refused change (a clip would run past its file) is said here, where the user is looking
        self.document.editFailed.connect(self.problem.setText)
        try:
            done = self.document.perform("Project settings", lambda project: change_settings(project, settings))
        finally:
            self.document.editFailed.disconnect(self.problem.setText)
        if done:
            super().accept()
