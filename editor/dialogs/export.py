"""Export: format, codec, quality, size, frame rate, range and file; the render runs as a job on the engine
worker (so it survives a crash of the editor), with progress, cancel, and a button to show
the file when it is done."""

from __future__ import annotations

import os

from PySide6.QtCore import QUrl
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QProgressBar,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from editor.bridge import JobBridge
from engine.jobs.queue import Job
from engine.media.export import CODECS, DEFAULT_CODEC_FOR_EXTENSION, X26X_PRESETS
from engine.model.project import Project
from engine.progress import Progress
from engine.time import FrameRange, FrameRate

FORMATS = {"MP4": ".mp4", "QuickTime (MOV)": ".mov", "WebM": ".webm", "Matroska (MKV)": ".mkv", "GIF": ".gif"}
# output sizes by the length of the picture's short side; the long side keeps the project's aspect
SHORT_SIDES = {"720p": 720, "1080p": 1080, "4K": 2160}
OUTPUT_RATES = ("24000/1001", "24", "25", "30000/1001", "30", "50", "60000/1001", "60")
CODEC_NAMES = {"h264": "H.264", "h265": "H.265 / HEVC", "prores": "ProRes 4444 (keeps alpha)", "vp9": "VP9",
               "av1": "AV1", "gif": "GIF"}


class ExportDialog(QDialog):
    def __init__(self, project: Project, bridge: JobBridge, marked: FrameRange | None = None,
                 parent: QWidget | None = None):
        super().__init__(parent)
        self.setWindowTitle("Export")
        self.project, self.bridge, self.marked = project, bridge, marked
        self.job_id: int | None = None
        self.format = QComboBox()
        self.format.addItems(FORMATS)
        self.codec = QComboBox()
        self.quality = QSpinBox()
        self.quality.setRange(0, 63)
        self.quality.setToolTip("Constant rate factor: lower is better quality and bigger files")
        self.speed = QComboBox()
        self.speed.addItems(X26X_PRESETS)
        self.speed.setCurrentText("medium")
        self.size = QComboBox()
        self.size.setObjectName("exportSize")
        width, height = project.settings.width, project.settings.height
        self.size.addItem(f"Project size ({width}×{height})", (width, height))
        for name, short_side in SHORT_SIDES.items():
            size = size_with_short_side((width, height), short_side)
            self.size.addItem(f"{name} ({size[0]}×{size[1]})", size)
        half = (max(2, width // 2 - width // 2 % 2), max(2, height // 2 - height // 2 % 2))
        self.size.addItem(f"Half ({half[0]}×{half[1]})", half)
        self.size.addItem("Custom", None)
        self.custom_width, self.custom_height = QSpinBox(), QSpinBox()
        for box, value in ((self.custom_width, width), (self.custom_height, height)):
            box.setRange(16, 16384)
            box.setSingleStep(2)
            box.setValue(value)
        self.custom_size = QWidget()
        custom_row = QHBoxLayout(self.custom_size)
        custom_row.setContentsMargins(0, 0, 0, 0)
        custom_row.addWidget(self.custom_width)
        custom_row.addWidget(QLabel("×"))
        custom_row.addWidget(self.custom_height)
        custom_row.addWidget(QLabel("(another aspect gets black bars)"))
        custom_row.addStretch(1)
        self.custom_size.setVisible(False)
        self.rate = QComboBox()
        self.rate.setObjectName("exportRate")
        self.rate.addItem(f"Project rate ({project.rate} fps)", None)
        for text in OUTPUT_RATES:
            if FrameRate.parse(text) != project.rate:
                self.rate.addItem(f"{FrameRate.parse(text)} fps", text)
        self.range = QComboBox()
        self.range.addItem("Whole timeline", None)
        if marked is not None:
            rate = project.rate
            self.range.addItem(f"Marked range {rate.timecode(marked.start)} – {rate.timecode(marked.stop)}", marked)
        self.badge = QCheckBox("Mark generated frames with a visible AI badge")
        self.path = QLineEdit(self._default_path(".mp4"))
        browse = QPushButton("Browse…")
        browse.clicked.connect(self._on_browse_clicked)
        path_row = QHBoxLayout()
        path_row.addWidget(self.path, 1)
        path_row.addWidget(browse)
        form = QFormLayout()
        form.addRow("Format", self.format)
        form.addRow("Codec", self.codec)
        form.addRow("Quality (CRF)", self.quality)
        form.addRow("Encoder speed", self.speed)
        form.addRow("Size", self.size)
        form.addRow("", self.custom_size)
        form.addRow("Frame rate", self.rate)
        form.addRow("Range", self.range)
        form.addRow("File", path_row)
        form.addRow("", self.badge)
        self.progress = QProgressBar()
        self.status = QLabel()
        self.status.setWordWrap(True)
        self.export_button = QPushButton("Export")
        self.export_button.setDefault(True)
        self.cancel_button = QPushButton("Cancel")
        self.reveal_button = QPushButton("Show in folder")
        self.reveal_button.setVisible(False)
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        for button in (self.reveal_button, self.cancel_button, self.export_button):
            buttons.addWidget(button)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.progress)
        layout.addWidget(self.status)
        layout.addLayout(buttons)
        self.format.currentTextChanged.connect(self._on_format_currentTextChanged)
        self.codec.currentIndexChanged.connect(self._on_codec_currentIndexChanged)
        self.size.currentIndexChanged.connect(self._on_size_currentIndexChanged)
        self.export_button.clicked.connect(self.start)
        self.cancel_button.clicked.connect(self._on_cancel_clicked)
        self.reveal_button.clicked.connect(self._on_reveal_clicked)
        bridge.jobChanged.connect(self._on_bridge_jobChanged)
        bridge.jobProgress.connect(self._on_bridge_jobProgress)
        self._on_format_currentTextChanged(self.format.currentText())

    def _default_path(self, extension: str) -> str:
        folder = os.path.dirname(self.project.path) if self.project.path else os.path.expanduser("~")
        stem = os.path.splitext(os.path.basename(self.project.path))[0] if self.project.path else "export"
        return os.path.join(folder, stem + extension)

    def _on_format_currentTextChanged(self, name: str) -> None:
        extension = FORMATS[name]
        self.codec.clear()
        for codec, spec in CODECS.items():
            if extension in spec.extensions:
                self.codec.addItem(CODEC_NAMES[codec], codec)
        self.codec.setCurrentIndex(max(self.codec.findData(DEFAULT_CODEC_FOR_EXTENSION[extension]), 0))
        self.path.setText(os.path.splitext(self.path.text())[0] + extension)

    def _on_codec_currentIndexChanged(self) -> None:
        spec = CODECS.get(self.codec.currentData())
        has_crf = spec is not None and spec.default_crf is not None
        self.quality.setEnabled(has_crf)
        if has_crf:
            self.quality.setValue(spec.default_crf)

    def _on_size_currentIndexChanged(self) -> None:
        self.custom_size.setVisible(self.size.currentData() is None)

    def output_size(self) -> tuple[int, int] | None:
        """The chosen size; None when it is the project's own."""
        size = self.size.currentData() or (self.custom_width.value(), self.custom_height.value())
        return None if size == (self.project.settings.width, self.project.settings.height) else tuple(size)

    def output_rate(self) -> FrameRate | None:
        text = self.rate.currentData()
        return FrameRate.parse(text) if text else None

    def _on_browse_clicked(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "Export to", self.path.text())
        if path:
            self.path.setText(path)

    def start(self) -> None:
        from engine.jobs.render_job import render_params

        spec = CODECS[self.codec.currentData()]
        params = render_params(self.project, self.path.text(), codec=self.codec.currentData(),
                               crf=self.quality.value() if spec.default_crf is not None else None,
                               preset=self.speed.currentText(), frame_range=self.range.currentData(),
                               ai_badge=self.badge.isChecked(), size=self.output_size(), rate=self.output_rate())
        job = self.bridge.submit("render", params)
        self.job_id = job.id
        self.export_button.setEnabled(False)
        self.status.setText("Waiting for the worker…")

    def _on_cancel_clicked(self) -> None:
        if self.job_id is not None and self.export_button.isEnabled() is False:
            self.bridge.cancel(self.job_id)
        else:
            self.reject()

    def _on_bridge_jobChanged(self, job: Job) -> None:
        if job.id != self.job_id:
            return
        if job.state == "done":
            self.progress.setValue(self.progress.maximum())
            self.status.setText(f"Exported {job.outputs[0]}")
            self.reveal_button.setVisible(True)
            self.cancel_button.setText("Close")
            self.job_id = None
        elif job.state in ("failed", "cancelled"):
            self.status.setText(job.error or job.state)
            self.export_button.setEnabled(True)
            self.job_id = None
        elif job.state == "running":
            self.status.setText("Exporting…")

    def _on_bridge_jobProgress(self, job_id: int, progress: Progress) -> None:
        if job_id == self.job_id:
            self.progress.setMaximum(max(progress.total, 1))
            self.progress.setValue(progress.step)

    def _on_reveal_clicked(self) -> None:
        QDesktopServices.openUrl(QUrl.fromLocalFile(os.path.dirname(os.path.abspath(self.path.text()))))


def size_with_short_side(size: tuple[int, int], short_side: int) -> tuple[int, int]:
    """`size` scaled so its shorter side is `short_side` (1080p of a vertical project is
    1080×1920), rounded to even numbers as 4:2:0 video needs."""
    width, height = size
    if width >= height:
        long_side = round(short_side * width / height)
        return long_side - long_side % 2, short_side
    long_side = round(short_side * height / width)
    return short_side, long_side - long_side % 2
