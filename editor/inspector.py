"""The Inspector dock: what the selected item is, where it sits, and its editable fields."""

from __future__ import annotations

from PySide6.QtCore import QEvent, Signal
from PySide6.QtWidgets import QFormLayout, QFrame, QLabel, QLineEdit, QScrollArea, QVBoxLayout, QWidget

from editor.clip_sound_fields import ClipSoundFields
from editor.document import Document
from editor.inspector_effects import EffectsInspector
from editor.picture_inspector import PictureSection
from editor.prompt_assist import PromptHint, assist
from engine.model import edits
from engine.model.items import Clip, Still, TextBlock


class Inspector(QWidget):
    rowsChanged = Signal()  # after a selection or an edit changed which rows show

    def __init__(self, document: Document, parent: QWidget | None = None):
        super().__init__(parent)
        self.document = document
        self.item_id: str | None = None
        self.form = QFormLayout(self)
        self.kind = QLabel()
        self.place = QLabel()
        self.source = QLabel()
        self.media = QLabel()
        self.media.setWordWrap(True)
        self.curve = QLabel()
        self.recipe = QLabel()
        self.recipe.setWordWrap(True)
        self.text = QLineEdit()
        self.text.setPlaceholderText("prompt for these frames")
        self.text.editingFinished.connect(self._on_text_editingFinished)
        # completions and a warning line from what the chosen model understands (set by the window)
        self.prompt_limits = None
        self.text_hint = PromptHint()
        self.text_completer = assist(self.text, self.text_hint, lambda: self._prompt_limits())
        prompt_box = QWidget()
        box = QVBoxLayout(prompt_box)
        box.setContentsMargins(0, 0, 0, 0)
        box.addWidget(self.text)
        box.addWidget(self.text_hint)
        self.negative = QLineEdit()
        self.negative.setPlaceholderText("what to avoid")
        self.negative.editingFinished.connect(self._on_text_editingFinished)
        self.sound = ClipSoundFields(document)
        for label, widget in (("Item", self.kind), ("Timeline", self.place), ("Source", self.source),
                              ("Media", self.media), ("Influence", self.curve), ("Generated", self.recipe),
                              ("Prompt", prompt_box), ("Negative", self.negative), ("Sound", self.sound)):
            self.form.addRow(label, widget)
        self.effects = EffectsInspector(document, self)  # title, transform and speed panels
        self.form.addRow(self.effects)
        self.picture = PictureSection(document)  # opacity and the transition in (editor/picture_inspector.py)
        self.form.addRow(self.picture)
        document.changed.connect(self.refresh)
        self.refresh()

    def _prompt_limits(self):
        from engine.generate.limits import limits_of

        return self.prompt_limits() if self.prompt_limits else limits_of(None)

    def set_selection(self, ids: list[str]) -> None:
        self.item_id = ids[0] if len(ids) == 1 else None
        self.effects.set_item(self.item_id)
        self.refresh()

    def _item(self):
        if self.item_id is None:
            return None
        try:
            return self.document.project.timeline.find(self.item_id)
        except KeyError:
            return None

    def refresh(self) -> None:
        found = self._item()
        for row in range(self.form.rowCount()):
            self.form.setRowVisible(row, found is not None)
        if found is not None:
            self._show(*found)
        self.rowsChanged.emit()

    def _show(self, track, item) -> None:
        rate = self.document.project.rate
        self.kind.setText(f"{type(item).__name__} on {track.kind} track '{track.name}'")
        self.place.setText(f"{rate.timecode(item.start)} – {rate.timecode(item.range.stop)}  "
                           f"({item.range.duration} frames)")
        is_picture = isinstance(item, (Clip, Still))
        ref = self.document.project.media.get(getattr(item, "media_id", ""))
        self.source.setText(f"frames {item.source_range.start}–{item.source_range.stop - 1}" if isinstance(item, Clip)
                            else "")
        self.media.setText(ref.path if ref else "")
        keys = item.curve.keyframes if is_picture else ()
        self.curve.setText("flat 1.0 (held fully)" if is_picture and not keys else f"{len(keys)} keyframes")
        generation = getattr(item, "generation", None)
        self.recipe.setText(", ".join(f"{k}: {v}" for k, v in generation.items() if k in ("model", "seed", "prompt"))
                            if generation else "")
        for row, visible in ((2, isinstance(item, Clip)), (3, is_picture), (4, is_picture), (5, bool(generation)),
                             (6, isinstance(item, TextBlock)), (7, isinstance(item, TextBlock)),
                             (8, isinstance(item, Clip) and ref is not None and (ref.kind == "audio" or ref.has_audio))):
            self.form.setRowVisible(row, visible)
        self.form.setRowVisible(self.picture, is_picture and track.kind == "video")
        if is_picture and track.kind == "video":
            self.picture.show_item(item)
        self.sound.show_clip(item if isinstance(item, Clip) else None)
        if isinstance(item, TextBlock):
            if not self.text.hasFocus():
                self.text.setText(item.text)
            if not self.negative.hasFocus():
                self.negative.setText(item.negative)

    def _on_text_editingFinished(self) -> None:
        found = self._item()
        if found is None or not isinstance(found[1], TextBlock):
            return
        item = found[1]
        text, negative = self.text.text(), self.negative.text()
        if (text, negative) != (item.text, item.negative):
            self.document.perform("Edit prompt", lambda p: edits.set_text(p, item.id, text, negative))


class _InspectorScroll(QScrollArea):
    """Fits the Inspector again whenever its rows change: a scroll area fits its widget only when
    it is itself resized, and a clip's sections shown in a panel sized for a prompt were squeezed
    to nothing."""

    def setWidget(self, inspector: Inspector) -> None:
        super().setWidget(inspector)
        inspector.rowsChanged.connect(self.fit)  # at once, so the next click lands on laid-out fields

    def fit(self) -> None:
        inspector = self.widget()
        # the sections' own layouts first: an invalidated layout ignores resizes until it is activated
        for child in inspector.findChildren(QWidget):
            if child.layout() is not None and child.isVisible():
                child.layout().activate()
        self.setWidgetResizable(True)  # the viewport's size, and at least the widget's new minimum
        inspector.layout().activate()

    def eventFilter(self, watched, event) -> bool:
        if watched is self.widget() and event.type() == QEvent.Type.LayoutRequest:  # rows a section changed
            self.fit()
        return super().eventFilter(watched, event)


def scrolling(inspector: Inspector) -> QScrollArea:
    """The Inspector in a scroll area, as its dock holds it: a clip's sections (sound, effects,
    opacity, transition) scroll inside the dock instead of making the window taller than a
    laptop's screen or the dock wider than a side panel."""
    area = _InspectorScroll()
    area.setObjectName("InspectorScroll")
    area.setWidgetResizable(True)
    area.setFrameShape(QFrame.Shape.NoFrame)
    area.setWidget(inspector)
    return area
