"""The Inspector's effect panels: a title's text, font, colour, place, box and fades; a clip's
or still's transform (position, scale, rotation, crop; keyframes at the playhead); a clip's
speed. Every change is one engine edit; repeated changes of one field merge into one undo step."""

from __future__ import annotations

from PySide6.QtCore import QSize, Qt
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (
    QCheckBox,
    QColorDialog,
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QGroupBox,
    QPlainTextEdit,
    QPushButton,
    QScrollArea,
    QSizePolicy,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from editor.document import Document
from engine.media.text import font_families
from engine.model.effect_edits import set_speed, set_title, set_transform
from engine.model.items import Clip, Still
from engine.model.titles import ANCHOR_PLACES, ANCHORS, MAX_SIZE, Title
from engine.model.transform import IDENTITY, PARAMS

# transform parameters as the panel shows them: (label, unit factor, minimum, maximum, suffix)
_SHOWN = {"x": ("Position X", 100, -1000, 1000, " %"), "y": ("Position Y", 100, -1000, 1000, " %"),
          "scale": ("Scale", 100, 0, 10000, " %"), "rotation": ("Rotation", 1, -3600, 3600, "°"),
          "crop_left": ("Crop left", 100, 0, 100, " %"), "crop_top": ("Crop top", 100, 0, 100, " %"),
          "crop_right": ("Crop right", 100, 0, 100, " %"), "crop_bottom": ("Crop bottom", 100, 0, 100, " %")}


def _spin(minimum: float, maximum: float, decimals: int = 2, suffix: str = "", step: float = 1.0) -> QDoubleSpinBox:
    spin = QDoubleSpinBox()
    spin.setRange(minimum, maximum)
    spin.setDecimals(decimals)
    spin.setSingleStep(step)
    spin.setSuffix(suffix)
    spin.setKeyboardTracking(False)  # one edit when typing is done, not one per digit
    return spin


def _int_spin(minimum: int, maximum: int, suffix: str = "") -> QSpinBox:
    spin = QSpinBox()
    spin.setRange(minimum, maximum)
    spin.setSuffix(suffix)
    spin.setKeyboardTracking(False)
    return spin


class ColorButton(QPushButton):
    """Shows a colour; a click opens a colour dialog whose choice calls `on_chosen(#rrggbb)`."""

    def __init__(self, on_chosen, parent: QWidget | None = None):
        super().__init__(parent)
        self.on_chosen = on_chosen
        self.dialog: QColorDialog | None = None
        self.clicked.connect(self._on_self_clicked)

    def set_color(self, color: str) -> None:
        self.setText(color)
        text = "#000000" if QColor(color).lightness() > 128 else "#ffffff"
        self.setStyleSheet(f"background-color: {color}; color: {text};")

    def _on_self_clicked(self) -> None:
        self.dialog = QColorDialog(QColor(self.text() or "#ffffff"), self)
        self.dialog.colorSelected.connect(lambda color: self.on_chosen(color.name()))
        self.dialog.open()


class TitlePanel(QGroupBox):
    def __init__(self, document: Document, parent: QWidget | None = None):
        super().__init__("Title", parent)
        self.document = document
        self.title: Title | None = None
        form = QFormLayout(self)
        self.text = QPlainTextEdit()
        self.text.setFixedHeight(64)
        self.text.textChanged.connect(lambda: self._set("text", self.text.toPlainText()))
        self.font = QComboBox()
        self.font.setEditable(True)
        self.font.addItems(font_families())
        for combo in (self.font,):  # long font names must not widen the Inspector
            combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
            combo.setMinimumContentsLength(8)
        self.font.activated.connect(lambda _: self._set("font", self.font.currentText()))
        self.font.lineEdit().editingFinished.connect(lambda: self._set("font", self.font.currentText()))
        self.size = _int_spin(1, MAX_SIZE, " px")
        self.size.valueChanged.connect(lambda v: self._set("size", v))
        self.color = ColorButton(lambda c: self._set("color", c))
        self.anchor = QComboBox()
        self.anchor.addItems(ANCHORS)
        self.anchor.activated.connect(self._on_anchor_activated)
        self.x = _spin(-1.0, 2.0, 3, step=0.01)
        self.x.valueChanged.connect(lambda v: self._set("x", v))
        self.y = _spin(-1.0, 2.0, 3, step=0.01)
        self.y.valueChanged.connect(lambda v: self._set("y", v))
        self.box = QCheckBox("Background box")
        self.box.toggled.connect(lambda on: self._set("box", on))
        self.box_color = ColorButton(lambda c: self._set("box_color", c))
        self.box_opacity = _spin(0.0, 1.0, 2, step=0.05)
        self.box_opacity.valueChanged.connect(lambda v: self._set("box_opacity", v))
        self.box_padding = _int_spin(0, MAX_SIZE, " px")
        self.box_padding.valueChanged.connect(lambda v: self._set("box_padding", v))
        self.fade_in = _int_spin(0, 100_000, " frames")
        self.fade_in.valueChanged.connect(lambda v: self._set("fade_in", v))
        self.fade_out = _int_spin(0, 100_000, " frames")
        self.fade_out.valueChanged.connect(lambda v: self._set("fade_out", v))
        for label, widget in (("Text", self.text), ("Font", self.font), ("Size", self.size), ("Colour", self.color),
                              ("Anchor", self.anchor), ("X (of width)", self.x), ("Y (of height)", self.y),
                              ("", self.box), ("Box colour", self.box_color), ("Box opacity", self.box_opacity),
                              ("Box padding", self.box_padding), ("Fade in", self.fade_in), ("Fade out", self.fade_out)):
            form.addRow(label, widget)

    def show_title(self, title: Title) -> None:
        self.title = title
        widgets = (self.text, self.font, self.size, self.anchor, self.x, self.y, self.box, self.box_opacity,
                   self.box_padding, self.fade_in, self.fade_out)
        for widget in widgets:
            widget.blockSignals(True)
        try:
            if self.text.toPlainText() != title.text and not self.text.hasFocus():
                self.text.setPlainText(title.text)
            if not self.font.lineEdit().hasFocus():
                self.font.setCurrentText(title.font)
            self.size.setValue(title.size)
            self.anchor.setCurrentText(title.anchor)
            self.x.setValue(title.x)
            self.y.setValue(title.y)
            self.box.setChecked(title.box)
            self.box_opacity.setValue(title.box_opacity)
            self.box_padding.setValue(title.box_padding)
            self.fade_in.setValue(title.fade_in)
            self.fade_out.setValue(title.fade_out)
        finally:
            for widget in widgets:
                widget.blockSignals(False)
        self.color.set_color(title.color)
        self.box_color.set_color(title.box_color)

    def _on_anchor_activated(self, _index: int) -> None:
        anchor = self.anchor.currentText()
        x, y = ANCHOR_PLACES[anchor]
        self._set("anchor", anchor, x=x, y=y)

    def _set(self, field: str, value, **more) -> None:
        title = self.title
        if title is None or (getattr(title, field) == value and not more):
            return
        changes = {field: value, **more}
        self.document.perform("Edit Title", lambda p: set_title(p, title.id, **changes),
                              merge_key=("title", title.id, field))


class TransformPanel(QGroupBox):
    def __init__(self, document: Document, playhead, parent: QWidget | None = None):
        super().__init__("Transform", parent)
        self.document = document
        self.playhead = playhead
        self.item: Clip | Still | None = None
        form = QFormLayout(self)
        self.spins: dict[str, QDoubleSpinBox] = {}
        for name in PARAMS:
            label, _, low, high, suffix = _SHOWN[name]
            spin = self.spins[name] = _spin(low, high, 1, suffix)
            spin.valueChanged.connect(lambda value, n=name: self._set(n, value))
            form.addRow(label, spin)
        self.keyframe = QCheckBox("Set keyframes at the playhead")
        self.keyframe.setToolTip("On: a change adds a keyframe at the playhead, and the value moves between "
                                 "keyframes. Off: a change sets the value for the whole item.")
        form.addRow("", self.keyframe)
        self.reset = QPushButton("Reset transform")
        self.reset.clicked.connect(self._on_reset_clicked)
        form.addRow("", self.reset)

    def local_frame(self) -> int:
        return min(max(self.playhead() - self.item.start, 0), self.item.range.duration - 1)

    def show_item(self, item: Clip | Still) -> None:
        self.item = item
        values = item.transform.values_at(self.local_frame())
        for name, spin in self.spins.items():
            spin.blockSignals(True)
            spin.setValue(values[name] * _SHOWN[name][1])
            spin.setToolTip(f"{len(getattr(item.transform, name).keys)} keyframe(s)"
                            if getattr(item.transform, name).animated else "")
            spin.blockSignals(False)

    def _set(self, name: str, shown: float) -> None:
        item = self.item
        if item is None:
            return
        value = shown / _SHOWN[name][1]
        frame = self.local_frame() if self.keyframe.isChecked() else None
        try:
            transform = item.transform.with_value(name, value, frame)
        except ValueError as error:
            self.document.editFailed.emit(str(error))
            return
        self.document.perform("Transform", lambda p: set_transform(p, item.id, transform),
                              merge_key=("transform", item.id, name, frame))

    def _on_reset_clicked(self) -> None:
        if self.item is not None and not self.item.transform.is_identity:
            item_id = self.item.id
            self.document.perform("Reset Transform", lambda p: set_transform(p, item_id, IDENTITY))


class EffectsInspector(QScrollArea):
    """The panels that fit the selected item; hidden for other items. They show whole: the
    Inspector around them scrolls in its dock (editor/inspector.py `scrolling`), so a tall panel
    never makes the window taller than the screen, and one scroll bar moves all sections."""

    def __init__(self, document: Document, parent: QWidget | None = None):
        super().__init__(parent)
        self.document = document
        self.item_id: str | None = None
        self.playhead = lambda: 0  # the window sets the timeline's playhead
        self.setWidgetResizable(True)
        self.setFrameShape(QScrollArea.Shape.NoFrame)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Minimum)
        content = QWidget()
        self.setWidget(content)
        layout = QVBoxLayout(content)
        layout.setContentsMargins(0, 0, 0, 0)
        self.title = TitlePanel(document)
        self.transform = TransformPanel(document, lambda: self.playhead())
        self.speed_box = QGroupBox("Speed")
        speed_form = QFormLayout(self.speed_box)
        self.speed = _spin(10, 1000, 1, " %", step=5)
        self.speed.setToolTip("Faster clips get shorter, slower ones longer (frames between blended); "
                              "the start stays")
        self.speed.valueChanged.connect(self._on_speed_valueChanged)
        speed_form.addRow("Speed", self.speed)
        self.reverse = QCheckBox("Reverse")
        self.reverse.toggled.connect(self._on_reverse_toggled)
        speed_form.addRow("", self.reverse)
        for panel in (self.title, self.transform, self.speed_box):
            layout.addWidget(panel)
        layout.addStretch(1)
        document.changed.connect(self.refresh)
        self.refresh()

    def minimumSizeHint(self) -> QSize:
        return QSize(super().minimumSizeHint().width(), self.widget().sizeHint().height())

    def sizeHint(self) -> QSize:
        return self.minimumSizeHint()

    def set_item(self, item_id: str | None) -> None:
        self.item_id = item_id
        self.refresh()

    def _item(self):
        try:
            return self.document.project.timeline.find(self.item_id)[1] if self.item_id else None
        except KeyError:
            return None

    def refresh(self) -> None:
        item = self._item()
        self.title.setVisible(isinstance(item, Title))
        self.transform.setVisible(isinstance(item, (Clip, Still)) and self._on_video_track())
        self.speed_box.setVisible(isinstance(item, Clip))
        self.updateGeometry()  # the panels shown decide its height
        if isinstance(item, Title):
            self.title.show_title(item)
        if isinstance(item, (Clip, Still)):
            self.transform.show_item(item)
        if isinstance(item, Clip):
            for widget in (self.speed, self.reverse):
                widget.blockSignals(True)
            self.speed.setValue(item.speed * 100)
            self.reverse.setChecked(item.reverse)
            for widget in (self.speed, self.reverse):
                widget.blockSignals(False)

    def on_playhead_moved(self, _frame: int) -> None:
        """Keyframed values change along the item: show them at the playhead."""
        item = self._item()
        if isinstance(item, (Clip, Still)) and any(getattr(item.transform, name).animated for name in PARAMS):
            self.transform.show_item(item)

    def _on_video_track(self) -> bool:
        return self.document.project.timeline.find(self.item_id)[0].kind == "video"

    def _on_reverse_toggled(self, on: bool) -> None:
        item = self._item()
        if isinstance(item, Clip) and item.reverse != on:
            self.document.perform("Reverse" if on else "Play Forwards",
                                  lambda p: set_speed(p, item.id, item.speed, reverse=on))

    def _on_speed_valueChanged(self, percent: float) -> None:
        item = self._item()
        if isinstance(item, Clip) and abs(item.speed * 100 - percent) > 1e-6:
            self.document.perform("Set Speed", lambda p: set_speed(p, item.id, percent / 100),
                                  merge_key=("speed", item.id))
