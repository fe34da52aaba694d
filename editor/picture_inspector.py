"""The Inspector's picture section for a clip or still on a video track: its opacity keyframes
(drawn in the Curves panel under "Opacity (picture)") and the transition on the cut where it
starts: type, duration, the colour of a dip, the direction of a wipe. Every change is one
undoable edit (engine/model/transition_edits.py)."""

from __future__ import annotations

import dataclasses

from PySide6.QtWidgets import QComboBox, QFormLayout, QLabel, QLineEdit, QPushButton, QSpinBox, QWidget

from editor.document import Document
from engine.model import transition_edits
from engine.model.transition import KIND_NAMES, WIPE_DIRECTIONS, Transition, parse_color

NO_TRANSITION = "None (cut)"


class PictureSection(QWidget):
    def __init__(self, document: Document, parent: QWidget | None = None):
        super().__init__(parent)
        self.document = document
        self.item_id: str | None = None
        self._showing = False  # set while widgets are filled from the model: no edits then
        form = QFormLayout(self)
        form.setContentsMargins(0, 0, 0, 0)
        self.opacity = QLabel()
        self.opacity.setWordWrap(True)
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
        for label, widget in (("Opacity", self.opacity), ("Transition in", self.kind), ("Duration", self.duration),
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
            if found is not None:
                self.show_item(found)

    def _on_remove_clicked(self) -> None:
        item_id = self.item_id
        self.document.perform("Remove transition", lambda p: transition_edits.set_transition(p, item_id, None))
