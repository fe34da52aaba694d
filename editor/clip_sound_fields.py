"""The Inspector's sound fields of a clip: gain (dB) and fade-in / fade-out lengths (frames),
each change one undoable edit (engine.model.edits.set_clip_audio)."""

from __future__ import annotations

from PySide6.QtWidgets import QDoubleSpinBox, QHBoxLayout, QLabel, QSpinBox, QWidget

from editor.document import Document
from engine.model import edits
from engine.model.items import Clip


class ClipSoundFields(QWidget):
    def __init__(self, document: Document, parent: QWidget | None = None):
        super().__init__(parent)
        self.document = document
        self.clip_id: str | None = None
        self.gain = QDoubleSpinBox()
        self.gain.setRange(edits.MIN_GAIN_DB, edits.MAX_GAIN_DB)
        self.gain.setDecimals(1)
        self.gain.setSingleStep(0.5)
        self.gain.setSuffix(" dB")
        self.gain.setToolTip("Clip gain (also: drag the orange line on the clip)")
        self.fade_in = QSpinBox()
        self.fade_out = QSpinBox()
        for spin, tip in ((self.fade_in, "Fade-in length in frames (also: drag the clip's top-left handle)"),
                          (self.fade_out, "Fade-out length in frames (also: drag the clip's top-right handle)")):
            spin.setSuffix(" f")
            spin.setToolTip(tip)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        for label, widget in (("", self.gain), ("in", self.fade_in), ("out", self.fade_out)):
            if label:
                layout.addWidget(QLabel(label))
            layout.addWidget(widget)
            widget.setKeyboardTracking(False)  # one edit per value typed, not per digit
            widget.valueChanged.connect(self._on_field_valueChanged)

    def show_clip(self, clip: Clip | None) -> None:
        self.clip_id = None  # no edits while the fields are filled in
        if clip is not None:
            self.gain.setValue(clip.gain_db)
            self.fade_in.setRange(0, clip.range.duration)
            self.fade_out.setRange(0, clip.range.duration)
            self.fade_in.setValue(clip.fade_in)
            self.fade_out.setValue(clip.fade_out)
            self.clip_id = clip.id

    def _on_field_valueChanged(self, _value) -> None:
        if self.clip_id is None:
            return
        clip_id = self.clip_id
        try:
            _, clip = self.document.project.timeline.find(clip_id)
        except KeyError:
            return
        change = {"gain_db": round(self.gain.value(), 1), "fade_in": self.fade_in.value(),
                  "fade_out": self.fade_out.value()}
        if (clip.gain_db, clip.fade_in, clip.fade_out) != tuple(change.values()):
            self.document.perform("Clip sound", lambda p: edits.set_clip_audio(p, clip_id, **change))
