"""The curve editor: draw how strongly a clip holds its frames for the model (its influence),
or its opacity in the picture, with the mouse; a choice at the top says which.

Click on empty space to add a point, drag a point to move it, right-click a point to delete
it; preset buttons replace the whole curve. The x axis is the item's own frames (0 = its
first frame), the y axis influence from 0 (free) to 1 (held exactly). Each change is an
engine edit through the Document; a drag is one undo step.
"""

from __future__ import annotations

import itertools

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QPointF, Qt
from PySide6.QtWidgets import QComboBox, QGridLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from editor.document import Document
from engine.model import edits, transition_edits
from engine.model.curves import INTERPOLATIONS, PRESET_NAMES, Curve, Keyframe, preset
from engine.model.items import Clip, Still

PICK_PIXELS = 10
# What the editor can show: (choice text, item field, y-axis label)
CURVE_KINDS = (("Hold strength (for the model)", "curve", "influence"), ("Opacity (picture)", "opacity", "opacity"))
_drag_serial = itertools.count()


class _CurveViewBox(pg.ViewBox):
    """Turns clicks and drags inside the plot into curve edits on the owning editor."""

    def __init__(self, owner: CurveEditor):
        super().__init__(enableMenu=False)
        self.owner = owner
        self.setMouseEnabled(x=False, y=False)
        self._dragging: tuple[float, tuple] | None = None  # (frame of the point being dragged, merge key)

    def mouseClickEvent(self, ev) -> None:
        frame, value = self._data_at(ev.pos())
        hit = self.owner.point_near(ev.pos(), self)
        if ev.button() == Qt.MouseButton.LeftButton and hit is None:
            self.owner.add_point(frame, value)
            ev.accept()
        elif ev.button() == Qt.MouseButton.RightButton and hit is not None:
            self.owner.remove_point(hit)
            ev.accept()
        else:
            ev.ignore()

    def mouseDragEvent(self, ev, axis=None) -> None:
        if ev.button() != Qt.MouseButton.LeftButton:
            ev.ignore()
            return
        if ev.isStart():
            hit = self.owner.point_near(ev.buttonDownPos(), self)
            if hit is None:
                ev.ignore()
                return
            self._dragging = (hit, ("curve-drag", next(_drag_serial)))
        if self._dragging is None:
            ev.ignore()
            return
        ev.accept()
        frame, value = self._data_at(ev.pos())
        old_frame, key = self._dragging
        new_frame = self.owner.move_point(old_frame, frame, value, key)
        self._dragging = None if ev.isFinish() else (new_frame, key)

    def _data_at(self, pos) -> tuple[float, float]:
        point = self.mapToView(pos)
        return point.x(), point.y()


class CurveEditor(QWidget):
    def __init__(self, document: Document, parent: QWidget | None = None):
        super().__init__(parent)
        self.document = document
        self.item_id: str | None = None
        self.viewbox = _CurveViewBox(self)
        self.plot = pg.PlotWidget(viewBox=self.viewbox, background=(24, 25, 27))
        self.plot.showGrid(x=True, y=True, alpha=0.15)
        self.plot.setLabel("left", "influence")
        self.plot.setLabel("bottom", "frame of the item")
        self.line = self.plot.plot([], [], pen=pg.mkPen((255, 214, 102), width=2))
        self.points = pg.ScatterPlotItem(size=11, brush=pg.mkBrush(255, 214, 102), pen=pg.mkPen("w"))
        self.plot.addItem(self.points)
        self.title = QLabel("Select a clip or still to edit its influence curve")
        self.title.setWordWrap(True)
        self.kind = QComboBox()
        for text, field, _ in CURVE_KINDS:
            self.kind.addItem(text, field)
        self.kind.setToolTip("Hold strength tells the model how strongly to keep the frames; opacity is how much "
                             "of the picture shows in the classic composite and the export")
        self.kind.currentIndexChanged.connect(self.refresh)
        self.interp = QComboBox()
        self.interp.addItems(INTERPOLATIONS)
        self.interp.setToolTip("Shape of the segments new points start: linear, smooth (ease) or hold")
        presets = QGridLayout()
        presets.addWidget(QLabel("new points"), 0, 0)
        presets.addWidget(self.interp, 0, 1, 1, 2)
        self.preset_buttons = {}
        for index, name in enumerate(PRESET_NAMES):
            button = QPushButton(name)
            button.setToolTip(f"Replace the curve with '{name}'")
            button.clicked.connect(lambda _=False, n=name: self.apply_preset(n))
            presets.addWidget(button, 1 + index // 3, index % 3)
            self.preset_buttons[name] = button
        hint = QLabel("Click adds a point · drag moves it · right-click deletes")
        hint.setStyleSheet("color: #888;")
        hint.setWordWrap(True)  # a narrow dock wraps the hint instead of being held wide by it
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(self.kind)
        layout.addWidget(self.title)
        layout.addLayout(presets)
        layout.addWidget(self.plot, 1)
        layout.addWidget(hint)
        document.changed.connect(self.refresh)
        self.refresh()

    # --- what is shown -----------------------------------------------------------------------

    def set_item(self, item_id: str | None) -> None:
        self.item_id = item_id
        self.refresh()

    def current(self) -> Clip | Still | None:
        if self.item_id is None:
            return None
        try:
            _, item = self.document.project.timeline.find(self.item_id)
        except KeyError:
            return None
        return item if isinstance(item, (Clip, Still)) else None

    @property
    def field(self) -> str:
        """"curve" (hold strength) or "opacity": which of the item's curves is shown and edited."""
        return self.kind.currentData()

    def shown(self, item: Clip | Still) -> Curve:
        return getattr(item, self.field)

    def refresh(self) -> None:
        self.plot.setLabel("left", CURVE_KINDS[self.kind.currentIndex()][2])
        item = self.current()
        enabled = item is not None
        for button in self.preset_buttons.values():
            button.setEnabled(enabled)
        if item is None:
            self.line.setData([], [])
            self.points.setData([], [])
            self.title.setText("Select a clip or still to edit its influence curve")
            return
        length = item.range.duration
        frames = np.linspace(0, max(length - 1, 1), min(max(length, 2), 400))
        self.line.setData(frames, self.shown(item).evaluate(frames))
        keys = self.shown(item).keyframes
        self.points.setData([k.frame for k in keys], [k.value for k in keys])
        # padding: room for the points at 0 and 1, which a short plot (a laptop's screen) cut in half
        self.viewbox.setRange(xRange=(0, max(length - 1, 1)), yRange=(0, 1), padding=0.08)
        what = "Influence" if self.field == "curve" else "Opacity"
        self.title.setText(f"{what} of {item.name or 'the selected item'} over its {length} frames")

    # --- editing ---------------------------------------------------------------------------------

    def point_near(self, pos, viewbox: pg.ViewBox) -> float | None:
        """Frame of the keyframe within PICK_PIXELS of a position in viewbox coordinates."""
        item = self.current()
        if item is None:
            return None
        best, best_distance = None, PICK_PIXELS
        for key in self.shown(item).keyframes:
            at = viewbox.mapFromView(QPointF(key.frame, key.value))
            distance = ((at.x() - pos.x()) ** 2 + (at.y() - pos.y()) ** 2) ** 0.5
            if distance <= best_distance:
                best, best_distance = key.frame, distance
        return best

    def _set_curve(self, text: str, curve: Curve, merge_key: object = None) -> None:
        item_id = self.item_id
        if self.field == "opacity":
            self.document.perform(text.replace("Curve", "Opacity").replace("curve", "opacity"),
                                  lambda p: transition_edits.set_opacity(p, item_id, curve), merge_key)
        else:
            self.document.perform(text, lambda p: edits.set_curve(p, item_id, curve), merge_key)

    def _clamped(self, frame: float, value: float) -> tuple[float, float]:
        item = self.current()
        return round(min(max(frame, 0.0), item.range.duration - 1)), min(max(value, 0.0), 1.0)

    def add_point(self, frame: float, value: float) -> None:
        item = self.current()
        if item is None:
            return
        frame, value = self._clamped(frame, value)
        curve = self.shown(item)
        if not curve.keyframes:  # the default flat 1.0 is implicit; make it explicit at both ends first
            last = item.range.duration - 1
            curve = Curve((Keyframe(0, 1.0), Keyframe(last, 1.0))) if last > 0 else Curve((Keyframe(0, 1.0),))
        self._set_curve("Add curve point", curve.with_point(frame, value, self.interp.currentText()))

    def move_point(self, old_frame: float, frame: float, value: float, merge_key: object) -> float:
        item = self.current()
        if item is None:
            return old_frame
        frame, value = self._clamped(frame, value)
        old = next((k for k in self.shown(item).keyframes if k.frame == old_frame), None)
        if old is None:
            return old_frame
        others = [k for k in self.shown(item).keyframes if k.frame != old_frame]
        if any(k.frame == frame for k in others):  # never drag a point onto another one
            return old_frame
        self._set_curve("Move curve point", Curve((*others, Keyframe(frame, value, old.interp))), merge_key)
        return frame

    def remove_point(self, frame: float) -> None:
        item = self.current()
        if item is not None:
            self._set_curve("Delete curve point", self.shown(item).without_point(frame))

    def apply_preset(self, name: str) -> None:
        item = self.current()
        if item is not None:
            self._set_curve(f"Curve: {name}", preset(name, item.range.duration))
