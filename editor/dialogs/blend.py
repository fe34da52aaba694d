"""Blending two clips that do not overlap on the timeline: both clips laid over the same frames
in a scratch project, each with the real curve editor (presets and free drawing), and the
curves the user draws go into the Blend request. Clips that do overlap need no dialog: the
curves drawn on them on the timeline are the blend."""

from __future__ import annotations

from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QGridLayout,
    QLabel,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from editor.curves.editor import CurveEditor
from editor.document import Document
from engine.model import edits
from engine.model.curves import Curve
from engine.model.items import Clip
from engine.model.project import Project, Timeline, Track
from engine.time import FrameRange

PRESETS = {"Transition (the first fades into the second)": "transition", "Mix (both held at one half)": "mix"}


class BlendDialog(QDialog):
    def __init__(self, project: Project, first: Clip, second: Clip, parent: QWidget | None = None):
        super().__init__(parent)
        self.setWindowTitle("Blend two clips")
        self.length = max(2, min(first.duration, second.duration))
        # the two clips over the same frames, the second on the upper track, as the plan composites them
        scratch = Project(settings=project.settings, media=project.media, timeline=Timeline(tracks=[
            Track("upper", "video", "second", (Clip("second", 0, second.media_id, _first(second, self.length)),)),
            Track("lower", "video", "first", (Clip("first", 0, first.media_id, _first(first, self.length)),))]))
        self.document = Document(scratch, self)
        self.first_curve = CurveEditor(self.document)
        self.second_curve = CurveEditor(self.document)
        self.first_curve.set_item("first")
        self.second_curve.set_item("second")
        self.preset = QComboBox()
        self.preset.addItems(list(PRESETS))
        self.preset.currentTextChanged.connect(self._on_preset_currentTextChanged)
        self.frames = QSpinBox()
        self.frames.setRange(2, self.length)
        self.frames.setValue(self.length)
        self.frames.setSuffix(" frames")
        grid = QGridLayout()
        grid.addWidget(QLabel(f"How strongly the model holds {_name(project, first)}"), 0, 0)
        grid.addWidget(QLabel(f"How strongly the model holds {_name(project, second)}"), 0, 1)
        grid.addWidget(self.first_curve, 1, 0)
        grid.addWidget(self.second_curve, 1, 1)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        buttons.button(QDialogButtonBox.StandardButton.Ok).setText("Blend")
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        row = QGridLayout()
        row.addWidget(QLabel("Start from"), 0, 0)
        row.addWidget(self.preset, 0, 1)
        row.addWidget(QLabel("Length"), 0, 2)
        row.addWidget(self.frames, 0, 3)
        layout.addLayout(row)
        layout.addLayout(grid)
        layout.addWidget(buttons)
        self._on_preset_currentTextChanged(self.preset.currentText())

    def _on_preset_currentTextChanged(self, text: str) -> None:
        last = self.length - 1
        if PRESETS.get(text) == "mix":
            curves = (Curve.flat(0.5), Curve.flat(0.5))
        else:
            curves = (Curve.ramp(0, last, 1.0, 0.0, "smooth"), Curve.ramp(0, last, 0.0, 1.0, "smooth"))
        self.document.perform("Blend preset", lambda p: edits.together(p, [
            lambda q: edits.set_curve(q, "first", curves[0]), lambda q: edits.set_curve(q, "second", curves[1])]))
        self.first_curve.refresh()
        self.second_curve.refresh()

    def curves(self) -> tuple[tuple, tuple]:
        """The drawn curves as the Blend request takes them ([[frame, value, interp], ...])."""
        timeline = self.document.project.timeline
        return tuple(tuple((k.frame, k.value, k.interp) for k in timeline.find(name)[1].curve.keyframes)
                     or ((0.0, 1.0, "hold"),) for name in ("first", "second"))


def _first(clip: Clip, length: int) -> FrameRange:
    return FrameRange(clip.source_range.start, clip.source_range.start + length)


def _name(project: Project, clip: Clip) -> str:
    from engine.model.items import label

    return label(clip, project.media)
