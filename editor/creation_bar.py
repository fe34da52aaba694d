"""The creation bar at the bottom of the window: a prompt (and optionally an image or clip)
becomes a generation job, with the settings a person expects from Sora's composer.

The bar builds the same typed request `kinora generate` builds (engine.generate.requests), so
a generation queued here and one queued from a terminal mean the same thing. With "Timeline"
chosen as the source, the marked range of the timeline is the storyboard: its prompt blocks,
stills and clips, with their influence curves.

What the chosen model declares it understands (engine.generate.limits) is shown before anything
runs: completions from its example prompts and vocabulary, a warning line for a prompt, range or
size outside them, the size it will make next to the aspect choice, a thumbnail of an
attached picture framed as the model will read it (fit, fill or crop), and for a length longer
than the model makes at once how many windows it takes and about how long (editor.length_note).
"""

from __future__ import annotations

import os
import random
import re
import time
from collections.abc import Callable

import numpy as np
from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QImage, QPixmap
from PySide6.QtWidgets import (
    QComboBox,
    QDoubleSpinBox,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSpinBox,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from editor.length_note import LengthNote
from editor.prompt_assist import HINT_STYLE, PromptCompleter, PromptHint, typed_so_far
from engine.errors import KinoraError
from engine.generate.limits import ModelLimits, limits_of, prompt_hints, range_hint, size_note, timeline_hints
from engine.paths import data_dir
from engine.time import round_half_up

ASPECTS = ("16:9", "1:1", "9:16")
MODEL_DEFAULT = "Model's size"
RESOLUTIONS = (MODEL_DEFAULT, "480p", "720p", "1080p", "Project size")
VARIATIONS = ("1", "2", "4")
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".webp", ".bmp", ".tif", ".tiff")
# How an attached picture of another shape than the output is framed (engine.generate.media_io.FIT_MODES)
FIT_CHOICES = (("Fit", "fit", "letterbox: all of the picture, black bars where its shape differs"),
               ("Fill", "fill", "crop to cover: the frame filled, the picture's edges cut"),
               ("Crop", "crop", "centre, no scale: the picture's own pixels, cut or bordered"))
THUMBNAIL_HEIGHT = 40
GENERATE_RATE = 24.0  # the rate a Generate request counts its duration at (engine.generate.requests)


def output_path_for(prompt: str) -> str:
    """Where a new generation is written: the generations folder, named by time and prompt."""
    slug = re.sub(r"[^a-z0-9]+", "-", prompt.lower()).strip("-")[:40] or "generation"
    return os.path.join(data_dir("generations"), f"{time.strftime('%Y%m%d-%H%M%S')}-{slug}.mp4")


class CreationBar(QWidget):
    submitted = Signal(object)  # a typed request (engine.generate.requests)
    timelineRequested = Signal()  # generate the timeline's marked range
    problem = Signal(str)

    def __init__(self, parent: QWidget | None = None, project_size=lambda: (1280, 720)):
        super().__init__(parent)
        self.project_size = project_size  # () -> (width, height), for "Project size"
        # () -> (project, FrameRange or None): what "Timeline" would generate, for its hints
        self.timeline_range: Callable[[], tuple] | None = None
        self.attachment: str | None = None
        self._attached_picture: np.ndarray | None = None  # its first frame, for the framed thumbnail
        self._limits = ModelLimits()
        self.prompt = QLineEdit()
        self.prompt.setPlaceholderText("Describe a video…   (Enter to generate)")
        self.prompt.setMinimumWidth(160)
        self.prompt.returnPressed.connect(self._on_prompt_returnPressed)
        self.completer = PromptCompleter(self.prompt, self.limits)
        self.hint = PromptHint()
        self.length_note = LengthNote()
        self.aspect_note = QLabel()
        self.aspect_note.setWordWrap(True)
        self.aspect_note.setMaximumWidth(440)
        self.fit = QComboBox()
        for index, (label, mode, tip) in enumerate(FIT_CHOICES):
            self.fit.addItem(label, mode)
            self.fit.setItemData(index, f"{label}: {tip}", Qt.ItemDataRole.ToolTipRole)
        self.fit.setToolTip("How the image or clip is framed when its shape differs from the output: fit keeps "
                            "all of it (black bars), fill covers the frame (edges cropped), crop keeps its pixels "
                            "unscaled")
        self.framed = QLabel()
        self.framed.setToolTip("The attached picture as the model will see it")
        self.attach = QToolButton()
        self.attach.setText("+ Image/clip")
        self.attach.setToolTip("Start from an image or a clip (it is held at the first frame)")
        self.attach.clicked.connect(self._on_attach_clicked)
        self.attached = QLabel()
        self.source = _combo(("Prompt", "Timeline"), "Source: the prompt above, or the timeline's marked range "
                                                     "(its prompt blocks, stills and clips)")
        self.aspect = _combo(ASPECTS, "Aspect ratio")
        self.resolution = _combo(RESOLUTIONS, "Resolution (the model's nearest size is used and shown)")
        self.duration = QDoubleSpinBox()
        self.duration.setRange(0.0, 20.0)
        self.duration.setSingleStep(0.5)
        self.duration.setSpecialValueText("model's length")
        self.duration.setValue(0.0)
        self.duration.setSuffix(" s")
        self.duration.setToolTip("Duration (the model's nearest frame count is used); at 0 the length the model "
                                 "was made for")
        self.variations = _combo(VARIATIONS, "Variations: several takes with different seeds")
        self.steps = QSpinBox()
        self.steps.setRange(0, 200)
        self.steps.setSpecialValueText("auto steps")
        self.steps.setSuffix(" steps")
        self.steps.setToolTip("Sampling steps: fewer is faster, more is finer; auto uses the model's default")
        self.preset = QComboBox()
        self.preset.setToolTip("Style preset")
        self.model = QComboBox()
        self.model.setToolTip("Model (the bundled default, or one found in your model folders)")
        self.generate_button = QPushButton("Generate")
        self.generate_button.setDefault(True)
        self.generate_button.clicked.connect(self.generate)
        rows = QVBoxLayout(self)
        rows.setContentsMargins(6, 4, 6, 4)
        rows.setSpacing(2)
        layout = QHBoxLayout()
        layout.addWidget(self.prompt, 1)
        layout.addWidget(self.attach)
        layout.addWidget(self.attached)
        layout.addWidget(self.framed)
        layout.addWidget(self.fit)
        for widget in (self.source, self.aspect, self.resolution, self.duration, self.variations, self.steps,
                       self.preset, self.model, self.generate_button):
            layout.addWidget(widget)
        notes = QHBoxLayout()
        notes.addWidget(self.hint, 1)
        notes.addWidget(self.length_note, 0, Qt.AlignmentFlag.AlignRight)
        notes.addWidget(self.aspect_note, 0, Qt.AlignmentFlag.AlignRight)
        rows.addLayout(layout)
        rows.addLayout(notes)
        self.fit.hide()
        self.framed.hide()
        self.model.currentIndexChanged.connect(self._on_model_currentIndexChanged)
        self.prompt.textChanged.connect(self.refresh_hints)
        for combo in (self.source, self.aspect, self.resolution, self.fit):
            combo.currentIndexChanged.connect(self.refresh_hints)
        self.duration.valueChanged.connect(self.refresh_hints)
        self.reload_choices()
        self._on_model_currentIndexChanged()

    def reload_choices(self) -> None:
        """Presets from resources/presets, models found on disk (offline, quick)."""
        from engine.generate.models import discover
        from engine.generate.tools import preset_names

        self.preset.clear()
        self.preset.addItem("No preset", None)
        for name in preset_names():
            self.preset.addItem(name, name)
        self.model.clear()
        self.model.addItem("Default model", None)
        try:
            models = discover()
        except KinoraError as error:
            self.problem.emit(str(error))
            models = []
        for info in models:
            self.model.addItem(f"{info.name} ({info.family})", str(info.path))

    def _on_attach_clicked(self) -> None:
        if self.attachment:
            self.set_attachment(None)
            return
        path, _ = QFileDialog.getOpenFileName(self, "Start from an image or clip", "",
                                              "Images and videos (*.png *.jpg *.jpeg *.webp *.mp4 *.mov *.mkv *.webm)")
        if path:
            self.set_attachment(path)

    def set_attachment(self, path: str | None) -> None:
        self.attachment = path
        name = os.path.basename(path) if path else ""
        self.attached.setText(self.attached.fontMetrics().elidedText(name, Qt.TextElideMode.ElideMiddle, 90))
        self.attached.setToolTip(path or "")
        self.attach.setText("✕ Remove" if path else "+ Image/clip")
        self._attached_picture = None
        if path:
            try:
                self._attached_picture = _first_picture(path)
            except KinoraError as error:
                self.problem.emit(str(error))
        self.fit.setVisible(bool(path))
        self.refresh_hints()

    def limits(self) -> ModelLimits:
        """What the chosen model declares it understands (read when the model is chosen)."""
        return self._limits

    def _on_model_currentIndexChanged(self, _index: int = 0) -> None:
        from engine.generate.limits import aspect_name

        self._limits = limits_of(self.model.currentData())
        native = self._limits.native_size
        if native and self.resolution.currentText() == MODEL_DEFAULT and aspect_name(*native) in ASPECTS:
            # the aspect shown is the one the model makes; choosing another says it cannot be made
            self.aspect.blockSignals(True)
            self.aspect.setCurrentText(aspect_name(*native))
            self.aspect.blockSignals(False)
        self.refresh_hints()

    def _on_prompt_returnPressed(self) -> None:
        if self.completer.takes_enter():
            return  # Enter chose a completion; it does not generate
        self.generate()

    def refresh_hints(self) -> None:
        """The warning line, the size note and the framed thumbnail for the settings as they are now."""
        if not hasattr(self, "fit"):
            return  # a signal while the bar is still being built
        limits = self._limits
        prompt = self.prompt.text()
        timeline = None
        if self.source.currentText() == "Timeline":
            project, frames = self.timeline_range() if self.timeline_range else (None, None)
            hints = timeline_hints(limits, project, frames, prompt) if frames else []
            length = frames.duration if frames else None
            timeline = (project, frames) if frames else None
        else:
            hints = prompt_hints(limits, typed_so_far(limits, prompt)) if prompt.strip() or self.attachment else []
            seconds = self.duration.value()
            length = round_half_up(seconds * GENERATE_RATE) + 1 if seconds else None
            if length and (hint := range_hint(limits, length)):
                hints.append(hint)
        self.hint.show_hints(hints)
        self._show_length(length, timeline)
        chosen_aspect = self.aspect.currentText() if self.resolution.currentText() == MODEL_DEFAULT else None
        try:
            note, size_hint = size_note(limits, self.size(), chosen_aspect)
        except KinoraError as error:
            note, size_hint = "", str(error)
        self.aspect_note.setText(f"⚠ {size_hint}" if size_hint else note)
        # as wide as its text up to the maximum: a wrapped label asks for less and broke even a short
        # note into two lines, whose second the bar cut off
        self.aspect_note.setMinimumWidth(min(self.aspect_note.maximumWidth(), self.aspect_note.fontMetrics()
                                             .horizontalAdvance(self.aspect_note.text()) + 2))
        self.aspect_note.setToolTip(f"What the model will make with these settings: {note}"
                                    + (f"\n{size_hint}" if size_hint else ""))
        self.aspect_note.setStyleSheet(HINT_STYLE if size_hint else "")
        self._show_framed()

    def _show_length(self, frames: int | None, timeline: tuple | None = None) -> None:
        """How `frames` frames will be made when the model makes fewer at once: "7 windows, about
        2 minutes on this CPU", estimated for a request of that length with the bar's settings;
        for a timeline range (`timeline`: its project and frames), the range's own storyboard,
        whose pictures the keyframe fit holds."""
        from engine.generate.requests import Generate

        try:
            request = Generate(output="estimate.mp4", prompt="estimate", sampling=self.sampling(),
                               size=self.size(), frames=frames) if frames else None
        except KinoraError:
            request = None  # settings the bar cannot make: generating says what is wrong
        if request is None or timeline is None:
            self.length_note.show_for(frames if request is not None else None, request)
            return
        project, span = timeline
        self.length_note.show_for(frames, request, held_pictures(project, span),
                                  lambda: self.storyboard(project, span, "estimate.mp4"))

    def storyboard(self, project, frames, output: str, place: dict | None = None):
        """The Storyboard request of `frames` of `project`'s timeline with the bar's prompt and settings."""
        from engine.generate.requests import Storyboard, TimelineRef

        return Storyboard(output=output, prompt=self.prompt.text().strip(), sampling=self.sampling(), size=self.size(),
                          timeline=TimelineRef.of(project), start=frames.start, stop=frames.stop, place=place)

    def framed_picture(self) -> np.ndarray | None:
        """The attached picture framed to the output size by the chosen fit mode: what the model reads."""
        from engine.generate.limits import planned_size
        from engine.generate.media_io import frame_to

        if self._attached_picture is None:
            return None
        try:
            chosen = planned_size(self._limits, self.size())
        except KinoraError:
            return None
        return frame_to(self._attached_picture[None], chosen.width, chosen.height, self.fit.currentData())[0]

    def _show_framed(self) -> None:
        picture = self.framed_picture()
        self.framed.setVisible(picture is not None)
        if picture is None:
            self.framed.clear()
            return
        height, width = picture.shape[:2]
        image = QImage(np.ascontiguousarray(picture).data, width, height, 3 * width, QImage.Format.Format_RGB888)
        pixmap = QPixmap.fromImage(image.copy())
        self.framed.setPixmap(pixmap.scaledToHeight(THUMBNAIL_HEIGHT, Qt.TransformationMode.FastTransformation))

    def sampling(self):
        """The Sampling the bar's settings stand for, with a new seed."""
        from engine.generate.requests import Sampling

        return Sampling(seed=random.randrange(2**31), variations=int(self.variations.currentText()),
                        steps=self.steps.value() or None, preset=self.preset.currentData(),
                        model=self.model.currentData())

    def size(self):
        """The size the bar asks for: the model's own, the project's, or an aspect and resolution."""
        from engine.generate.requests import Size

        choice = self.resolution.currentText()
        if choice == "Project size":
            width, height = self.project_size()
            return Size(width=width, height=height)
        if choice == MODEL_DEFAULT:
            # a model with a size of its own makes that (the note beside the aspect says so); others
            # make the chosen aspect at their default resolution
            return Size() if self._limits.native_size else Size(aspect=self.aspect.currentText())
        return Size(aspect=self.aspect.currentText(), resolution=choice)

    def request(self, output: str | None = None):
        """The Generate request this bar stands for (a prompt, and the attached image or clip held
        at the first frame)."""
        from engine.generate.requests import Generate, Placement

        prompt = self.prompt.text().strip()
        held = ()
        if self.attachment:
            held = (Placement(path=os.path.abspath(self.attachment), frame=0, fit=self.fit.currentData()),)
        is_image = bool(self.attachment) and self.attachment.lower().endswith(IMAGE_SUFFIXES)
        return Generate(output=output or output_path_for(prompt), prompt=prompt, sampling=self.sampling(),
                        size=self.size(), duration=self.duration.value() or None,
                        images=held if is_image else (), videos=() if is_image else held)

    def load_recipe(self, recipe: dict) -> None:
        """Fill the bar from a generation's recipe (a library record, or the request JSON it keeps):
        prompt, model, size, duration, steps, preset, variations and the image or clip it started
        from, where the recipe says. The seed is not kept: the bar always makes new takes (the
        Library's Re-run keeps it)."""
        request = ((recipe.get("settings") or {}).get("request") or {}) if "settings" in recipe else recipe
        sampling = dict(request.get("sampling") or {})
        if str(request.get("schema", "")).startswith("Variations."):
            request = {**(request.get("base") or {}), "sampling": sampling}
        spans = request.get("prompts_at") or recipe.get("prompts") or []
        text = request.get("prompt") or "; ".join(str(s.get("text", "")) for s in spans if isinstance(s, dict))
        self.source.setCurrentText("Prompt")
        self.prompt.setText(str(text))
        model = sampling.get("model")
        if self.model.findData(model) < 0 and model:
            self.model.addItem(os.path.basename(str(model).rstrip("/\\")) or str(model), model)
        self.model.setCurrentIndex(max(self.model.findData(model), 0))
        self.steps.setValue(int(sampling.get("steps") or 0))
        preset = sampling.get("preset") or recipe.get("preset")
        if self.preset.findData(preset) < 0 and preset:
            self.preset.addItem(str(preset), preset)
        self.preset.setCurrentIndex(max(self.preset.findData(preset), 0))
        if str(sampling.get("variations")) in VARIATIONS:
            self.variations.setCurrentText(str(sampling["variations"]))
        size = request.get("size") or {}
        width, height = size.get("width"), size.get("height")
        if width and height and (width, height) == tuple(self.project_size()):
            self.resolution.setCurrentText("Project size")
        elif size.get("aspect") in ASPECTS and size.get("resolution") in RESOLUTIONS:
            self.aspect.setCurrentText(size["aspect"])
            self.resolution.setCurrentText(size["resolution"])
        else:  # the model's own size, or a custom one the bar cannot name: the model's nearest
            self.resolution.setCurrentText(MODEL_DEFAULT)
        frames, rate = request.get("frames"), request.get("rate") or 24.0
        self.duration.setValue(float(request.get("duration") or (frames / rate if frames else 0.0)))
        held = [p.get("path") for p in (*(request.get("images") or ()), *(request.get("videos") or ()))
                if isinstance(p, dict)]
        self.set_attachment(held[0] if held and held[0] and os.path.exists(held[0]) else None)
        fits = [p.get("fit") for p in (*(request.get("images") or ()), *(request.get("videos") or ()))
                if isinstance(p, dict) and p.get("fit")]
        if fits and self.fit.findData(fits[0]) >= 0:
            self.fit.setCurrentIndex(self.fit.findData(fits[0]))

    def generate(self) -> None:
        if self.source.currentText() == "Timeline":
            self.timelineRequested.emit()  # the window builds the storyboard of its marked range
            return
        if not self.prompt.text().strip() and not self.attachment:
            self.problem.emit("Type a prompt (or attach an image or clip) to generate")
            return
        try:
            request = self.request()
        except KinoraError as error:
            self.problem.emit(str(error))
            return
        self.submitted.emit(request)


def _first_picture(path: str) -> np.ndarray:
    """The first picture of an image or clip, upright RGB, as the generation reads it."""
    from engine.generate.media_io import read_image, read_video

    return read_image(path) if path.lower().endswith(IMAGE_SUFFIXES) else read_video(path, [0])[0]


def _combo(values: tuple[str, ...], tip: str) -> QComboBox:
    combo = QComboBox()
    combo.addItems(values)
    combo.setToolTip(tip)
    return combo


def held_pictures(project, span) -> tuple:
    """What of the range `span` the time of the keyframe fit depends on: the stills and clips of
    each video track (where they sit, their influence curves) and whether the track is heard and
    seen, so a change of any of it is estimated again."""
    from engine.model.items import Clip, Still

    return tuple((track.id, track.hidden, track.muted,
                  tuple(repr(item) for item in track.items_in(span) if isinstance(item, Clip | Still)))
                 for track in project.timeline.tracks_of("video"))
