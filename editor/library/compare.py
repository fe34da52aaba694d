"""Two takes side by side: one slider scrubs both to the same frame, Play runs them together
at their frame rate, so variations of a generation can be judged frame against frame."""

from __future__ import annotations

import os

from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QImage, QPixmap
from PySide6.QtWidgets import (
    QDialog,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSlider,
    QVBoxLayout,
    QWidget,
)

from engine.errors import KinoraError

VIEW_WIDTH = 360  # each take's picture on screen, in pixels


class CompareDialog(QDialog):
    """Plays or scrubs two video files next to each other (frames past a shorter one's end show its last)."""

    def __init__(self, paths: list[str], titles: list[str], parent: QWidget | None = None):
        super().__init__(parent)
        from engine.media.decode import VideoReader
        from engine.media.probe import probe
        from engine.time import FrameRate

        self.setWindowTitle("Compare takes")
        self.paths = list(paths[:2])
        infos = [probe(path) for path in self.paths]
        self.rate = FrameRate.parse(infos[0].rate or 24)
        self.readers = [VideoReader(path, FrameRate.parse(info.rate) if info.rate else self.rate)
                        for path, info in zip(self.paths, infos, strict=True)]
        self.lengths = [max(info.num_frames or 1, 1) for info in infos]
        self.views = [QLabel() for _ in self.paths]
        grid = QGridLayout()
        for column, (view, title, path) in enumerate(zip(self.views, titles, self.paths, strict=False)):
            caption = QLabel(f"{title}\n{os.path.basename(path)}")
            caption.setAlignment(Qt.AlignmentFlag.AlignCenter)
            view.setAlignment(Qt.AlignmentFlag.AlignCenter)
            view.setMinimumSize(VIEW_WIDTH, VIEW_WIDTH * 9 // 16)
            grid.addWidget(caption, 0, column)
            grid.addWidget(view, 1, column)
        self.slider = QSlider(Qt.Orientation.Horizontal)
        self.slider.setRange(0, max(self.lengths) - 1)
        self.frame_label = QLabel()
        self.play_button = QPushButton("Play")
        self.play_button.setCheckable(True)
        close = QPushButton("Close")
        close.clicked.connect(self.accept)
        controls = QHBoxLayout()
        controls.addWidget(self.play_button)
        controls.addWidget(self.slider, 1)
        controls.addWidget(self.frame_label)
        controls.addWidget(close)
        layout = QVBoxLayout(self)
        layout.addLayout(grid, 1)
        layout.addLayout(controls)
        self.timer = QTimer(self)
        self.timer.setInterval(max(int(1000 / float(self.rate.fps)), 10))
        self.timer.timeout.connect(self._on_timer_timeout)
        self.slider.valueChanged.connect(self.show_frame)
        self.play_button.toggled.connect(self._on_play_button_toggled)
        self.show_frame(0)

    def show_frame(self, frame: int) -> None:
        for reader, view, length in zip(self.readers, self.views, self.lengths, strict=True):
            try:
                rgb = reader.rgb(min(frame, length - 1))
            except KinoraError as error:
                view.setText(str(error))
                continue
            h, w = rgb.shape[:2]
            image = QImage(rgb.data, w, h, rgb.strides[0], QImage.Format.Format_RGB888).copy()
            mode = (Qt.TransformationMode.FastTransformation if w * 2 <= VIEW_WIDTH
                    else Qt.TransformationMode.SmoothTransformation)  # tiny outputs stay sharp squares
            view.setPixmap(QPixmap.fromImage(image.scaledToWidth(VIEW_WIDTH, mode)))
        self.frame_label.setText(f"frame {frame} / {self.slider.maximum()}")

    def _on_play_button_toggled(self, playing: bool) -> None:
        self.play_button.setText("Pause" if playing else "Play")
        self.timer.start() if playing else self.timer.stop()

    def _on_timer_timeout(self) -> None:
        self.slider.setValue((self.slider.value() + 1) % (self.slider.maximum() + 1))

    def done(self, result: int) -> None:
        self.timer.stop()
        for reader in self.readers:
            reader.close()
        super().done(result)
