"""The creation bar at the bottom of the window: a prompt (and optionally an image or clip)
becomes a generation job, with the settings a person expects from Sora's composer.

The bar builds the same typed request `kinora generate` builds (engine.generate.requests), so
a generation queued here and one queued from a terminal mean the same thing. With "Timeline"
chosen as the source, the marked range of the timeline is the storyboard: its prompt blocks,
stills and clips, with their influence curves.
"""

from __future__ import annotations

import os
import random
import re
import time

from PySide6.QtCore import Signal
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
    QWidget,
)

from engine.errors import KinoraError
from engine.paths import data_dir

ASPECTS = ("16:9", "1:1", "9:16")
MODEL_DEFAULT = "Model's size"
RESOLUTIONS = (MODEL_DEFAULT, "480p", "720p", "1080p", "Project size")
VARIATIONS = ("1", "2", "4")
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".webp", ".bmp", ".tif", ".tiff")


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
        self.attachment: str | None = None
        self.prompt = QLineEdit()
        self.prompt.setPlaceholderText("Describe a video…   (Enter to generate)")
        self.prompt.returnPressed.connect(self.generate)
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
        layout = QHBoxLayout(self)
        layout.setContentsMargins(6, 4, 6, 4)
        layout.addWidget(self.prompt, 1)
        layout.addWidget(self.attach)
        layout.addWidget(self.attached)
        for widget in (self.source, self.aspect, self.resolution, self.duration, self.variations, self.steps,
                       self.preset, self.model, self.generate_button):
            layout.addWidget(widget)
        self.reload_choices()

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
        self.attached.setText(os.path.basename(path) if path else "")
        self.attach.setText("✕ Remove" if path else "+ Image/clip")

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
            return Size()
        return Size(aspect=self.aspect.currentText(), resolution=choice)

    def request(self, output: str | None = None):
        """The Generate request this bar stands for (a prompt, and the attached image or clip held
        at the first frame)."""
        from engine.generate.requests import Generate, Placement

        prompt = self.prompt.text().strip()
        held = ()
        if self.attachment:
            held = (Placement(path=os.path.abspath(self.attachment), frame=0),)
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


def _combo(values: tuple[str, ...], tip: str) -> QComboBox:
    combo = QComboBox()
    combo.addItems(values)
    combo.setToolTip(tip)
    return combo
