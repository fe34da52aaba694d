"""The Inspector's picture section for a clip or still on a video track: its opacity keyframes
(drawn in the Curves panel under "Opacity (picture)") and the transition on the cut where it
starts: type, duration, the colour of a dip, the direction of a wipe. Every change is one
undoable edit (engine/model/transition_edits.py)."""

from __future__ import annotations

import dataclasses

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QComboBox,
    QFormLayout,
    QGridLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSpinBox,
    QWidget,
)

from editor.document import Document
from engine.model import transition_edits
from engine.model.curves import Curve
from engine.model.transition import KIND_NAMES, WIPE_DIRECTIONS, Transition, parse_color

NO_TRANSITION = "None (cut)"


class PictureSection(QWidget):
    editOpacityRequested = Signal()  # "Edit…": show the opacity in the Curves panel

    def __init__(self, document: Document, parent: QWidget | None = None):
        super().__init__(parent)
        self.document = document
        self.item_id: str | None = None
        self._showing = False  # set while widgets are filled from the model: no edits then
        form = QFormLayout(self)
        form.setContentsMargins(0, 0, 0, 0)
        self.opacity = QLabel()
        self.opacity.setWordWrap(True)
        fades = QWidget()
        fade_row = QGridLayout(fades)  # two by two: four buttons in a row made the Inspector too wide for its dock
        fade_row.setContentsMargins(0, 0, 0, 0)
        self.fade_buttons = {}
        fade_choices = (("Fade in", "The picture fades in over its first second (at most half of it)"),
                        ("Fade out", "The picture fades out over its last second (at most half of it)"),
                        ("Full", "Fully shown on every frame"), ("Edit…", "Draw the opacity in the Curves panel"))
        for index, (name, tip) in enumerate(fade_choices):
            button = QPushButton(name)
            button.setToolTip(tip)
            fade_row.addWidget(button, index // 2, index % 2)
            self.fade_buttons[name] = button
        self.fade_buttons["Fade in"].clicked.connect(lambda: self._set_fade(True))
        self.fade_buttons["Fade out"].clicked.connect(lambda: self._set_fade(False))
        self.fade_buttons["Full"].clicked.connect(lambda: self._set_opacity("Full opacity", Curve()))
        self.fade_buttons["Edit…"].clicked.connect(self.editOpacityRequested)
        self.kind = QComboBox()
        self.kind.addItem(NO_TRANSITION, None)
        for kind, name in KIND_NAMES.items():
            self.kind.addItem(name, kind)
        self.duration = QSpinBox()
        self.duration.setRange(2, 100000)
        self.duration.setSuffix(" frames")
        self.color = QLineEdit()
        self.color.setPlaceholderText("#000000")
        self.color.setToolTip("The colour a dip passes through, as #rrggbb (black #000000, white #ffffff)")
        self.direction = QComboBox()
        self.direction.addItems(WIPE_DIRECTIONS)
        self.remove = QPushButton("Remove transition")
        self.rows = {}
        for label, widget in (("Opacity", self.opacity), ("", fades), ("Transition in", self.kind), ("Duration", self.duration),
                              ("Colour", self.color), ("Wipe towards", self.direction), ("", self.remove)):
            form.addRow(label, widget)
            self.rows[widget] = form
        self.form = form
        self.kind.currentIndexChanged.connect(self._on_fields_changed)
        self.duration.editingFinished.connect(self._on_fields_changed)
        self.color.editingFinished.connect(self._on_fields_changed)
        self.direction.currentIndexChanged.connect(self._on_fields_changed)
        self.remove.clicked.connect(self._on_remove_clicked)

    def show_item(self, item) -> None:
        """Fill the fields from a clip or still (on a video track)."""
        self.item_id = item.id
        self._showing = True
        try:
            keys = item.opacity.keyframes
            self.opacity.setText("flat 1.0 (fully shown)" if not keys else
                                 f"{len(keys)} keyframes (Curves panel: Opacity)")
            transition = item.transition_in
            self.kind.setCurrentIndex(self.kind.findData(transition.kind if transition else None))
            for widget in (self.duration, self.color, self.direction, self.remove):
                self.form.setRowVisible(widget, transition is not None)
            if transition is not None:
                self.duration.setValue(transition.duration)
                if not self.color.hasFocus():
                    self.color.setText(transition.color)
                self.direction.setCurrentText(transition.direction)
                self.form.setRowVisible(self.color, transition.kind == "dip")
                self.form.setRowVisible(self.direction, transition.kind == "wipe")
        finally:
            self._showing = False

    def _current(self):
        try:
            return self.document.project.timeline.find(self.item_id)[1]
        except KeyError:
            return None

    def _on_fields_changed(self, *_args) -> None:
        item = self._current()
        if self._showing or item is None:
            return
        kind = self.kind.currentData()
        old = item.transition_in
        if kind is None:
            if old is not None:
                self._on_remove_clicked()
            return
        try:
            parse_color(self.color.text())
            color = self.color.text()
        except ValueError:
            color = old.color if old is not None else "#000000"
        base = old or Transition()
        wanted = dataclasses.replace(base, kind=kind, duration=self.duration.value() if old else base.duration,
                                     color=color, direction=self.direction.currentText())
        if wanted != old:
            item_id = item.id
            self.document.perform("Edit transition", lambda p: transition_edits.add_transition(p, item_id, wanted))
            found = self._current()
            if found is not None:  # what the edit made (shortened to the handles), or, when refused, what was
                self.show_item(found)

    def _set_fade(self, fade_in: bool) -> None:
        item = self._current()
        if item is None:
            return
        length = item.range.duration
        # a second, but at most half the item, so a fade in and a fade out fit together
        ramp = max(1, min((length - 1) // 2, round(float(self.document.project.rate.fps))))
        curve = item.opacity
        if fade_in:
            kept = tuple(k for k in curve.keyframes if k.frame > ramp)  # a fade out at the end stays
            curve = Curve(kept).with_point(0, 0.0).with_point(ramp, 1.0)
        else:
            kept = tuple(k for k in curve.keyframes if k.frame < length - 1 - ramp)
            curve = Curve(kept).with_point(length - 1 - ramp, 1.0).with_point(length - 1, 0.0)
        self._set_opacity("Fade in" if fade_in else "Fade out", curve)

    def _set_opacity(self, text: str, curve: Curve) -> None:
        item_id = self.item_id
        self.document.perform(text, lambda p: transition_edits.set_opacity(p, item_id, curve))

    def _on_remove_clicked(self) -> None:
        item_id = self.item_id
        self.document.perform("Remove transition", lambda p: transition_edits.set_transition(p, item_id, None))
